//! Both grants, and every way a token can be wrong.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{
    assert_problem, spawn_app, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, AUDIENCE, ISSUER, JWT_SECRET,
};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The session a token of ours names.
fn session_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64"),
    )
    .expect("JSON claims");
    claims["sid"].clone()
}

/// Valid admin claims for `sub`, to be spoiled one field at a time.
fn admin_claims(sub: Uuid) -> Value {
    json!({
        "sub": sub.to_string(), "kind": "user", "role": "admin",
        "iss": ISSUER, "aud": AUDIENCE,
        "iat": now(), "nbf": now() - 10, "exp": now() + 600, "jti": Uuid::new_v4().to_string(),
        "sid": Uuid::new_v4().to_string(),
    })
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &str) -> String {
    encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signed")
}

async fn me_with(app: &TestApp, token: &str) -> reqwest::Response {
    app.get("/api/v1/me")
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent")
}

#[actix_web::test]
async fn the_password_grant_gives_a_working_token() {
    let app = spawn_app().await;
    let response = app
        .post("/api/v1/auth/token")
        .json(&json!({"grant_type": "password", "email": ADMIN_EMAIL.to_uppercase(), "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["role"], "admin");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"]
        .as_str()
        .expect("a person gets a refresh token")
        .starts_with("prt_"));

    let me: Value = me_with(&app, body["access_token"].as_str().expect("token"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["kind"], "user");
}

#[actix_web::test]
async fn the_client_credentials_grant_gives_a_partner_token_scoped_to_its_organisation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let organisation = app.organisation("distributor").await;
    let created: Value = app
        .post_as(&admin, "/api/v1/api-clients")
        .json(&json!({"name": "Dupont ERP", "organisation_id": organisation}))
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON");
    let response = app
        .post("/api/v1/auth/token")
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": created["client"]["id"],
            "client_secret": created["client_secret"],
        }))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["role"], "partner");
    let me: Value = me_with(&app, body["access_token"].as_str().expect("token"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["kind"], "api_client");
    assert_eq!(me["organisation_id"], organisation.to_string());
}

#[actix_web::test]
async fn wrong_credentials_are_refused_alike() {
    let app = spawn_app().await;
    for body in [
        json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": "not the password"}),
        json!({"grant_type": "password", "email": "nobody@podium.test", "password": ADMIN_PASSWORD}),
        json!({"grant_type": "client_credentials", "client_id": Uuid::new_v4(), "client_secret": "nope"}),
    ] {
        let response = app
            .post("/api/v1/auth/token")
            .json(&body)
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_problem(response, 401, "invalid_credentials").await;
    }
}

#[actix_web::test]
async fn an_unknown_grant_or_an_extra_field_is_a_bad_request() {
    let app = spawn_app().await;
    for body in [
        json!({"grant_type": "magic", "email": ADMIN_EMAIL}),
        json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "role": "admin"}),
        json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    ] {
        let response = app
            .post("/api/v1/auth/token")
            .json(&body)
            .send()
            .await
            .expect("request sent");
        assert_problem(response, 400, "invalid_body").await;
    }
}

#[actix_web::test]
async fn a_missing_or_malformed_authorization_is_401() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/me").send().await.expect("request sent");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, 401, "missing_token").await;

    for header in [
        "Bearer",
        "Bearer not.a.jwt",
        "Basic YWRtaW46YWRtaW4=",
        "Token abc",
    ] {
        let response = app
            .get("/api/v1/me")
            .header("Authorization", header)
            .send()
            .await
            .expect("request sent");
        assert_problem(response, 401, "invalid_token").await;
    }
}

#[actix_web::test]
async fn spoiled_tokens_are_401() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut good = admin_claims(admin.id);
    good["sid"] = session_of(&admin.token);
    // The untouched claims pass, so each failure below is due to its one change.
    assert_eq!(
        me_with(&app, &sign(&good, Algorithm::HS256, JWT_SECRET))
            .await
            .status(),
        200
    );

    let expired = {
        let mut c = good.clone();
        c["exp"] = json!(now() - 3600);
        sign(&c, Algorithm::HS256, JWT_SECRET)
    };
    assert_problem(me_with(&app, &expired).await, 401, "token_expired").await;

    let mut cases: Vec<(&str, String)> = Vec::new();
    let mut wrong_issuer = good.clone();
    wrong_issuer["iss"] = json!("someone-else");
    cases.push((
        "wrong issuer",
        sign(&wrong_issuer, Algorithm::HS256, JWT_SECRET),
    ));
    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = json!("another-api");
    cases.push((
        "wrong audience",
        sign(&wrong_audience, Algorithm::HS256, JWT_SECRET),
    ));
    let mut no_subject = good.clone();
    no_subject.as_object_mut().expect("object").remove("sub");
    cases.push(("no sub", sign(&no_subject, Algorithm::HS256, JWT_SECRET)));
    let mut no_session = good.clone();
    no_session.as_object_mut().expect("object").remove("sid");
    cases.push(("no sid", sign(&no_session, Algorithm::HS256, JWT_SECRET)));
    let mut no_expiry = good.clone();
    no_expiry.as_object_mut().expect("object").remove("exp");
    cases.push(("no exp", sign(&no_expiry, Algorithm::HS256, JWT_SECRET)));
    let mut not_yet = good.clone();
    not_yet["nbf"] = json!(now() + 3600);
    cases.push((
        "not valid yet",
        sign(&not_yet, Algorithm::HS256, JWT_SECRET),
    ));
    cases.push(("wrong algorithm", sign(&good, Algorithm::HS512, JWT_SECRET)));
    cases.push((
        "wrong secret",
        sign(
            &good,
            Algorithm::HS256,
            "another-secret-that-is-long-enough-too",
        ),
    ));
    cases.push(("alg none", unsigned_token(&good)));
    let mut manager_without_region = good.clone();
    manager_without_region["role"] = json!("manager");
    cases.push((
        "scope missing",
        sign(&manager_without_region, Algorithm::HS256, JWT_SECRET),
    ));

    for (case, token) in cases {
        let response = me_with(&app, &token).await;
        assert_eq!(response.status(), 401, "{case}");
        assert_problem(response, 401, "invalid_token").await;
    }
}

/// A token with `"alg": "none"` and no signature.
fn unsigned_token(claims: &Value) -> String {
    use base64::Engine;
    let encode = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "typ": "JWT"})),
        encode(claims)
    )
}

#[actix_web::test]
async fn a_token_of_a_disabled_user_stops_working_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let manager = app.user("manager").await;
    assert_eq!(me_with(&app, &manager.token).await.status(), 200);

    let response = app
        .post_as(&admin, &format!("/api/v1/users/{}/disable", manager.id))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
    assert_problem(me_with(&app, &manager.token).await, 401, "token_revoked").await;

    let token_for_a_stranger = sign(&admin_claims(Uuid::new_v4()), Algorithm::HS256, JWT_SECRET);
    // A well-signed token of a live account whose session is not one of ours.
    let admin_without_session = sign(&admin_claims(admin.id), Algorithm::HS256, JWT_SECRET);
    assert_problem(
        me_with(&app, &admin_without_session).await,
        401,
        "token_revoked",
    )
    .await;
    assert_problem(
        me_with(&app, &token_for_a_stranger).await,
        401,
        "token_revoked",
    )
    .await;
}

#[actix_web::test]
async fn each_role_gets_its_scope_in_the_token() {
    let app = spawn_app().await;
    for (role, field) in [
        ("manager", "region_id"),
        ("participant", "participant_id"),
        ("partner", "organisation_id"),
    ] {
        let caller = app.user(role).await;
        let me: Value = me_with(&app, &caller.token)
            .await
            .json()
            .await
            .expect("JSON");
        assert_eq!(me["role"], role);
        assert_eq!(me[field], caller.scope_id.expect("scoped").to_string());
    }
}

#[actix_web::test]
async fn other_roles_get_403_on_admin_endpoints() {
    let app = spawn_app().await;
    for role in ["manager", "participant", "partner"] {
        let caller = app.user(role).await;
        for path in ["/api/v1/users", "/api/v1/api-clients"] {
            let response = app
                .get_as(&caller, path)
                .send()
                .await
                .expect("request sent");
            assert_problem(response, 403, "forbidden").await;
        }
        let response = app
            .post_as(&caller, "/api/v1/users")
            .json(&json!({"email": "x@podium.test", "display_name": "X", "password": "long enough password", "role": "admin"}))
            .send()
            .await
            .expect("request sent");
        assert_problem(response, 403, "forbidden").await;
    }
}
