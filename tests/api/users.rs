//! Admins create, list, read, disable and enable users.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, fields_at_fault, spawn_app, Caller, TestApp, ADMIN_EMAIL};

async fn user_total(app: &TestApp, admin: &Caller) -> i64 {
    let page: Value = app.get_json(admin, "/api/v1/users").await;
    page["total"].as_i64().expect("a total")
}

#[actix_web::test]
async fn an_admin_creates_and_reads_a_user_without_ever_seeing_the_password() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let region = app.region("1.2", "0.3").await;
    let response = app
        .post_as(&admin, "/api/v1/users")
        .json(&json!({
            "email": "Claire.Martin@Example.com", "display_name": "Claire Martin",
            "password": "a long passphrase of hers", "role": "manager", "region_id": region,
        }))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"]
        .to_str()
        .expect("text")
        .to_owned();
    let created: Value = response.json().await.expect("JSON");
    assert_eq!(created["email"], "claire.martin@example.com");
    assert_eq!(created["region_id"], region.to_string());
    assert_eq!(created["active"], true);
    assert!(created.get("password").is_none() && created.get("password_hash").is_none());
    assert_eq!(
        location,
        format!("/api/v1/users/{}", created["id"].as_str().expect("id"))
    );

    let fetched: Value = app.get_json(&admin, &location).await;
    assert_eq!(fetched, created);
    app.sign_in("claire.martin@example.com", "a long passphrase of hers")
        .await;
}

#[actix_web::test]
async fn invalid_users_are_refused_field_by_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let before = user_total(&app, &admin).await;

    let response = app
        .post_as(&admin, "/api/v1/users")
        .json(&json!({
            "email": "not-an-email", "display_name": "", "password": "short",
            "role": "manager", "organisation_id": Uuid::new_v4(),
        }))
        .send()
        .await
        .expect("request sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(
        fields_at_fault(&problem),
        [
            "display_name",
            "email",
            "organisation_id",
            "password",
            "region_id"
        ]
    );
    assert_eq!(user_total(&app, &admin).await, before);
}

#[actix_web::test]
async fn mass_assignment_of_unknown_fields_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let before = user_total(&app, &admin).await;
    let response = app
        .post_as(&admin, "/api/v1/users")
        .json(&json!({
            "email": "eve@podium.test", "display_name": "Eve", "password": "a long enough password",
            "role": "admin", "active": false, "id": Uuid::new_v4(),
        }))
        .send()
        .await
        .expect("request sent");
    let problem = assert_problem(response, 400, "invalid_body").await;
    assert!(problem["detail"]
        .as_str()
        .expect("detail")
        .contains("unknown field"));
    assert_eq!(user_total(&app, &admin).await, before);
}

#[actix_web::test]
async fn a_scope_must_name_something_that_exists() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let company = app.organisation("company").await;
    for (role, field, id, code) in [
        ("manager", "region_id", Uuid::new_v4(), "unknown_region"),
        (
            "participant",
            "participant_id",
            Uuid::new_v4(),
            "unknown_participant",
        ),
        (
            "partner",
            "organisation_id",
            Uuid::new_v4(),
            "unknown_organisation",
        ),
        ("partner", "organisation_id", company, "not_a_distributor"),
    ] {
        let mut body = json!({"email": format!("{}@podium.test", Uuid::new_v4().simple()), "display_name": "X", "password": "a long enough password", "role": role});
        body[field] = json!(id);
        let response = app
            .post_as(&admin, "/api/v1/users")
            .json(&body)
            .send()
            .await
            .expect("request sent");
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(
            (
                problem["errors"][0]["field"].as_str(),
                problem["errors"][0]["code"].as_str()
            ),
            (Some(field), Some(code))
        );
    }
}

#[actix_web::test]
async fn a_taken_email_is_a_conflict() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let response = app
        .post_as(&admin, "/api/v1/users")
        .json(&json!({
            "email": ADMIN_EMAIL.to_uppercase(), "display_name": "Twin", "password": "a long enough password",
            "role": "admin",
        }))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 409, "email_taken").await;
}

#[actix_web::test]
async fn lists_are_paginated_filtered_and_sorted() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for _ in 0..3 {
        app.user("participant").await;
    }
    app.user("manager").await;

    let page: Value = app.get_json(&admin, "/api/v1/users?limit=2&offset=1").await;
    assert_eq!(page["total"], 5);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["offset"], 1);
    assert_eq!(page["items"].as_array().expect("items").len(), 2);

    let participants: Value = app
        .get_json(&admin, "/api/v1/users?role=participant&sort=-email")
        .await;
    assert_eq!(participants["total"], 3);
    let emails: Vec<&str> = participants["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["email"].as_str().expect("email"))
        .collect();
    let mut sorted = emails.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(emails, sorted);

    let by_email: Value = app.get_json(&admin, "/api/v1/users?email=ADMIN@").await;
    assert_eq!(by_email["total"], 1);

    let response = app
        .get_as(&admin, "/api/v1/users?limit=1000")
        .send()
        .await
        .expect("request sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(fields_at_fault(&problem), ["limit"]);

    let response = app
        .get_as(&admin, "/api/v1/users?limit=ten")
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 400, "invalid_query").await;
    let response = app
        .get_as(&admin, "/api/v1/users?colour=red")
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 400, "invalid_query").await;
}

#[actix_web::test]
async fn unknown_and_malformed_ids() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let response = app
        .get_as(&admin, &format!("/api/v1/users/{}", Uuid::new_v4()))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 404, "not_found").await;
    let response = app
        .get_as(&admin, "/api/v1/users/not-a-uuid")
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 400, "invalid_path").await;
}

#[actix_web::test]
async fn a_disabled_user_cannot_sign_in_until_enabled_again() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let email = "rep@podium.test";
    let org = app.organisation("company").await;
    let participant = app.participant(org, None, None).await;
    let created: Value = app
        .post_as(&admin, "/api/v1/users")
        .json(&json!({
            "email": email, "display_name": "Rep", "password": "a long enough password",
            "role": "participant", "participant_id": participant,
        }))
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON");
    let id = created["id"].as_str().expect("id");

    let disabled: Value = app
        .post_as(&admin, &format!("/api/v1/users/{id}/disable"))
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(disabled["active"], false);
    assert!(disabled["disabled_at"].is_string());
    let response = app
        .post("/api/v1/auth/token")
        .json(&json!({"grant_type": "password", "email": email, "password": "a long enough password"}))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 401, "invalid_credentials").await;

    let enabled: Value = app
        .post_as(&admin, &format!("/api/v1/users/{id}/enable"))
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(enabled["active"], true);
    assert!(enabled["disabled_at"].is_null());
    app.sign_in(email, "a long enough password").await;
}

#[actix_web::test]
async fn the_last_admin_cannot_be_disabled() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let response = app
        .post_as(&admin, &format!("/api/v1/users/{}/disable", admin.id))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 409, "last_admin").await;

    // With a second admin, the first one may go.
    app.user("admin").await;
    let response = app
        .post_as(&admin, &format!("/api/v1/users/{}/disable", admin.id))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
}
