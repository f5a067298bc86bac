//! Sessions: throttled sign-in, refresh tokens that rotate, signing out, what disabling an
//! account ends, and authentication answered before any validation.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{
    assert_problem, spawn_app, spawn_app_with, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD,
};

async fn token_request(app: &TestApp, body: Value) -> reqwest::Response {
    app.post("/api/v1/auth/token")
        .json(&body)
        .send()
        .await
        .expect("request sent")
}

/// Signs in with a password and returns the whole answer.
async fn signed_in(app: &TestApp, email: &str, password: &str) -> Value {
    let response = token_request(
        app,
        json!({"grant_type": "password", "email": email, "password": password}),
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

async fn refreshed(app: &TestApp, refresh_token: &Value) -> reqwest::Response {
    token_request(
        app,
        json!({"grant_type": "refresh_token", "refresh_token": refresh_token}),
    )
    .await
}

async fn me(app: &TestApp, token: &Value) -> reqwest::Response {
    app.get("/api/v1/me")
        .bearer_auth(token.as_str().expect("a token"))
        .send()
        .await
        .expect("request sent")
}

/// Creates a person who can sign in, without signing them in.
async fn person(app: &TestApp, admin: &crate::helpers::Caller) -> (String, Uuid) {
    let email = format!("ana-{}@podium.test", Uuid::new_v4().simple());
    let created: Value = app
        .post_as(admin, "/api/v1/users")
        .json(&json!({"email": email, "display_name": "Ana", "password": "a long enough password", "role": "admin"}))
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON");
    (
        email,
        created["id"].as_str().expect("id").parse().expect("uuid"),
    )
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("whole seconds")
}

#[actix_web::test]
async fn sign_in_is_throttled_per_account_and_alike_for_unknown_accounts() {
    let app = spawn_app_with(|s| {
        s.sign_in_account_burst = 3;
        s.sign_in_account_refill_seconds = 3600;
    })
    .await;
    let admin = app.admin().await;
    let (ana, _) = person(&app, &admin).await;
    for email in [ana.as_str(), "nobody@podium.test"] {
        for _ in 0..3 {
            let response = token_request(
                &app,
                json!({"grant_type": "password", "email": email, "password": "wrong guess"}),
            )
            .await;
            assert_problem(response, 401, "invalid_credentials").await;
        }
        // Even the right password waits now: the budget is spent, not the guesses judged.
        let response = token_request(
            &app,
            json!({"grant_type": "password", "email": email.to_uppercase(), "password": "a long enough password"}),
        )
        .await;
        let wait = retry_after(&response);
        assert!((1..=3600).contains(&wait), "Retry-After {wait}");
        let problem = assert_problem(response, 429, "sign_in_throttled").await;
        assert!(problem["detail"]
            .as_str()
            .expect("detail")
            .contains("Retry-After"));
    }
    // Another account from the same address is not held back.
    signed_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[actix_web::test]
async fn sign_in_is_throttled_per_client_address_across_accounts_and_grants() {
    let app = spawn_app_with(|s| {
        s.sign_in_address_burst = 4;
        s.sign_in_address_refill_seconds = 3600;
    })
    .await;
    for n in 0..4 {
        let response = token_request(
            &app,
            json!({"grant_type": "password", "email": format!("guess-{n}@podium.test"), "password": "x"}),
        )
        .await;
        assert_problem(response, 401, "invalid_credentials").await;
    }
    for body in [
        json!({"grant_type": "client_credentials", "client_id": Uuid::new_v4(), "client_secret": "x"}),
        json!({"grant_type": "refresh_token", "refresh_token": "prt_guess"}),
        json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    ] {
        let response = token_request(&app, body).await;
        assert!(retry_after(&response) >= 1);
        assert_problem(response, 429, "sign_in_throttled").await;
    }
}

#[actix_web::test]
async fn a_refresh_token_works_once_and_its_reuse_revokes_the_session() {
    let app = spawn_app().await;
    let first = signed_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(first["refresh_expires_at"].is_string());

    let response = refreshed(&app, &first["refresh_token"]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let second: Value = response.json().await.expect("JSON");
    assert_ne!(
        second["refresh_token"], first["refresh_token"],
        "it rotates"
    );
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(second["session_id"], first["session_id"]);
    assert_eq!(second["role"], "admin");
    assert_eq!(me(&app, &second["access_token"]).await.status(), 200);

    // The first refresh token again: someone holds a copy, so the session ends.
    let response = refreshed(&app, &first["refresh_token"]).await;
    assert_problem(response, 401, "refresh_token_reused").await;
    for token in [&first["access_token"], &second["access_token"]] {
        assert_problem(me(&app, token).await, 401, "token_revoked").await;
    }
    let response = refreshed(&app, &second["refresh_token"]).await;
    assert_problem(response, 401, "invalid_grant").await;

    let response = refreshed(&app, &json!("prt_not-one-of-ours")).await;
    assert_problem(response, 401, "invalid_grant").await;
    // A new sign-in opens a new session.
    let again = signed_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_ne!(again["session_id"], first["session_id"]);
    assert_eq!(me(&app, &again["access_token"]).await.status(), 200);
}

#[actix_web::test]
async fn api_clients_get_no_refresh_token() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let organisation = app.organisation("distributor").await;
    let created: Value = app
        .post_as(&admin, "/api/v1/api-clients")
        .json(&json!({"name": "ERP", "organisation_id": organisation}))
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON");
    let response = token_request(
        &app,
        json!({"grant_type": "client_credentials", "client_id": created["client"]["id"], "client_secret": created["client_secret"]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert!(body.get("refresh_token").is_none());
    assert!(body["session_id"].is_string());
}

#[actix_web::test]
async fn signing_out_ends_this_session_or_every_session() {
    let app = spawn_app().await;
    let one = signed_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let two = signed_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let three = signed_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let sign_out = |token: &Value, query: &str| {
        app.post(&format!("/api/v1/auth/sign-out{query}"))
            .bearer_auth(token.as_str().expect("token"))
            .send()
    };

    let response = sign_out(&one["access_token"], "").await.expect("sent");
    assert_eq!(response.status(), 204);
    assert_problem(me(&app, &one["access_token"]).await, 401, "token_revoked").await;
    assert_problem(
        refreshed(&app, &one["refresh_token"]).await,
        401,
        "invalid_grant",
    )
    .await;
    assert_eq!(me(&app, &two["access_token"]).await.status(), 200);
    assert_eq!(me(&app, &three["access_token"]).await.status(), 200);
    let again = sign_out(&one["access_token"], "").await.expect("sent");
    assert_problem(again, 401, "token_revoked").await;

    let bad = sign_out(&two["access_token"], "?everywhere=maybe")
        .await
        .expect("sent");
    assert_eq!(bad.status(), 400);
    let response = sign_out(&two["access_token"], "?everywhere=true")
        .await
        .expect("sent");
    assert_eq!(response.status(), 204);
    for session in [&two, &three] {
        assert_problem(
            me(&app, &session["access_token"]).await,
            401,
            "token_revoked",
        )
        .await;
        assert_problem(
            refreshed(&app, &session["refresh_token"]).await,
            401,
            "invalid_grant",
        )
        .await;
    }
}

#[actix_web::test]
async fn re_enabling_an_account_revives_none_of_its_earlier_tokens() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (ana, id) = person(&app, &admin).await;
    let before = signed_in(&app, &ana, "a long enough password").await;
    for action in ["disable", "enable"] {
        let response = app
            .post_as(&admin, &format!("/api/v1/users/{id}/{action}"))
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status(), 200);
    }
    assert_problem(
        me(&app, &before["access_token"]).await,
        401,
        "token_revoked",
    )
    .await;
    assert_problem(
        refreshed(&app, &before["refresh_token"]).await,
        401,
        "invalid_grant",
    )
    .await;
    let after = signed_in(&app, &ana, "a long enough password").await;
    assert_eq!(me(&app, &after["access_token"]).await.status(), 200);
}

/// A value no typed parameter accepts.
const NONSENSE: &str = "%%not-a-value";

/// Every secured operation of the served document, called with nonsense in each path,
/// query parameter and body, must answer 401 with `code`.
async fn every_secured_operation_answers(app: &TestApp, token: Option<&str>, code: &str) {
    let document: Value = app
        .get("/openapi.json")
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON");
    let mut checked = 0;
    for (template, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            // Operations behind an API token (`/metrics` has a token of its own).
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|scheme| scheme.get("bearer").is_some()));
            if !secured {
                continue;
            }
            let mut path = String::new();
            for segment in template.split('/') {
                if !path.is_empty() || !segment.is_empty() {
                    path.push('/');
                }
                if segment.starts_with('{') {
                    path.push_str("not-an-id");
                } else {
                    path.push_str(segment);
                }
            }
            let query: Vec<(String, &str)> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| (p["name"].as_str().expect("name").to_owned(), NONSENSE))
                .collect();
            let mut request = app
                .http
                .request(method.clone(), app.url(&path))
                .query(&query);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if operation.get("requestBody").is_some() {
                request = request
                    .header("content-type", "application/json")
                    .body("{\"not\": json");
            }
            let response = request.send().await.expect("request sent");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(
                (status, body["code"].as_str()),
                (401, Some(code)),
                "{method} {template} answered {body}"
            );
            checked += 1;
        }
    }
    assert!(checked > 70, "only {checked} operations were checked");
}

#[actix_web::test]
async fn authentication_is_answered_before_any_validation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (ana, id) = person(&app, &admin).await;
    let token = signed_in(&app, &ana, "a long enough password").await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let response = app
        .post_as(&admin, &format!("/api/v1/users/{id}/disable"))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);

    // The two the report found, then every secured operation of the document.
    let response = app
        .get("/api/v1/awards?participant_id=nope")
        .bearer_auth(&token)
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 401, "token_revoked").await;
    let response = app
        .post("/api/v1/rewards")
        .bearer_auth(&token)
        .json(&json!({"name": ""}))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 401, "token_revoked").await;
    every_secured_operation_answers(&app, Some(&token), "token_revoked").await;
    every_secured_operation_answers(&app, None, "missing_token").await;
    every_secured_operation_answers(&app, Some("not.a.jwt"), "invalid_token").await;
}
