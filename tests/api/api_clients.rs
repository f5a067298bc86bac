//! Admins create partner API clients; the secret is shown once and stored hashed.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, fields_at_fault, spawn_app};

#[actix_web::test]
async fn the_secret_is_shown_once_and_disabling_revokes_the_client() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let organisation = app.organisation("distributor").await;
    let response = app
        .post_as(&admin, "/api/v1/api-clients")
        .json(&json!({"name": "Dupont ERP", "organisation_id": organisation}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("JSON");
    let id = created["client"]["id"].as_str().expect("id").to_owned();
    let secret = created["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert!(secret.len() >= 32);
    assert_eq!(created["client"]["created_by"], admin.id.to_string());

    let fetched: Value = app
        .get_json(&admin, &format!("/api/v1/api-clients/{id}"))
        .await;
    assert_eq!(fetched, created["client"]);
    assert!(!fetched.to_string().contains(&secret));

    let listed: Value = app
        .get_json(
            &admin,
            &format!("/api/v1/api-clients?organisation_id={organisation}"),
        )
        .await;
    assert_eq!(listed["total"], 1);
    assert!(!listed.to_string().contains(&secret));

    let grant =
        json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret});
    let token: Value = app
        .post("/api/v1/auth/token")
        .json(&grant)
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON");
    let token = token["access_token"].as_str().expect("token").to_owned();

    let disabled = app
        .post_as(&admin, &format!("/api/v1/api-clients/{id}/disable"))
        .send()
        .await
        .expect("request sent");
    assert_eq!(disabled.status(), 200);
    let response = app
        .post("/api/v1/auth/token")
        .json(&grant)
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 401, "invalid_credentials").await;
    let response = app
        .get("/api/v1/me")
        .bearer_auth(&token)
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 401, "token_revoked").await;
}

#[actix_web::test]
async fn an_invalid_client_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let response = app
        .post_as(&admin, "/api/v1/api-clients")
        .json(&json!({"name": "", "organisation_id": Uuid::new_v4()}))
        .send()
        .await
        .expect("request sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(fields_at_fault(&problem), ["name"]);

    let company = app.organisation("company").await;
    for (organisation, code) in [
        (Uuid::new_v4(), "unknown_organisation"),
        (company, "not_a_distributor"),
    ] {
        let response = app
            .post_as(&admin, "/api/v1/api-clients")
            .json(&json!({"name": "ERP", "organisation_id": organisation}))
            .send()
            .await
            .expect("request sent");
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["code"], code);
    }

    let response = app
        .post_as(&admin, "/api/v1/api-clients")
        .json(&json!({"name": "ERP", "organisation_id": "not-a-uuid"}))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 400, "invalid_body").await;

    let listed: Value = app.get_json(&admin, "/api/v1/api-clients").await;
    assert_eq!(listed["total"], 0);

    let response = app
        .get_as(&admin, &format!("/api/v1/api-clients/{}", Uuid::new_v4()))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 404, "not_found").await;
}
