//! The audit log: admins list it with filters; an entry is written in its write's own
//! transaction (a refused write leaves none, a write whose entry cannot be stored does not
//! commit); the database refuses to change or delete entries; a digest is that of the
//! stored row. That every write operation has its entry is `audit_coverage`'s test.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::helpers::{assert_problem, spawn_app, Caller, TestApp};

/// The entries `query` selects, as the admin sees them.
async fn entries(app: &TestApp, admin: &Caller, query: &str) -> Value {
    let response = app
        .get_as(admin, &format!("/api/v1/audit?{query}"))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200, "GET /audit?{query}");
    response.json().await.expect("JSON")
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .expect("ASCII")
        .to_owned()
}

async fn create_region(app: &TestApp, admin: &Caller, name: &str) -> (Value, String) {
    let response = app
        .post_as(admin, "/api/v1/regions")
        .json(&json!({"name": name, "potential_index": "1.0", "market_share": "0.1"}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 201);
    let id = request_id(&response);
    (response.json().await.expect("JSON"), id)
}

#[actix_web::test]
async fn admins_list_the_log_with_filters_by_actor_object_action_and_time() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let before = chrono::Utc::now();
    let (region, created_by_request) = create_region(&app, &admin, "North").await;
    let region_id = region["id"].as_str().expect("id").to_owned();
    let response = app
        .http
        .patch(app.url(&format!("/api/v1/regions/{region_id}")))
        .bearer_auth(&admin.token)
        .json(&json!({"name": "North-East"}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
    let updated_by_request = request_id(&response);

    // The object's history, newest first.
    let history = entries(&app, &admin, &format!("object_id={region_id}")).await;
    assert_eq!(history["total"], 2, "{history}");
    let (updated, created) = (&history["items"][0], &history["items"][1]);
    assert_eq!(updated["action"], "region.updated");
    assert_eq!(updated["object_type"], "region");
    assert_eq!(updated["actor_kind"], "user");
    assert_eq!(updated["actor_id"], admin.id.to_string());
    assert_eq!(updated["actor_role"], "admin");
    assert_eq!(updated["request_id"], updated_by_request.as_str());
    assert_eq!(created["action"], "region.created");
    assert_eq!(created["request_id"], created_by_request.as_str());
    assert!(created["before_digest"].is_null());
    assert_eq!(created["after_digest"], updated["before_digest"]);
    assert_ne!(updated["before_digest"], updated["after_digest"]);
    assert!(created["seq"].as_i64() < updated["seq"].as_i64());
    assert!(
        chrono::DateTime::parse_from_rfc3339(updated["occurred_at"].as_str().expect("time"))
            .is_ok()
    );

    // Oldest first, one per page.
    let first = entries(
        &app,
        &admin,
        &format!("object_id={region_id}&sort=occurred_at&limit=1"),
    )
    .await;
    assert_eq!(first["items"][0]["action"], "region.created");
    assert_eq!(first["total"], 2);

    // By action and object type, by actor, by request, by time.
    let by_action = entries(&app, &admin, "action=region.updated&object_type=region").await;
    assert_eq!(by_action["total"], 1);
    let by_actor = entries(&app, &admin, &format!("actor_id={}", admin.id)).await;
    let actions: Vec<&str> = by_actor["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert!(actions.contains(&"region.created") && actions.contains(&"session.opened"));
    let nobody = entries(&app, &admin, &format!("actor_id={}", Uuid::new_v4())).await;
    assert_eq!(nobody["total"], 0);
    let by_request = entries(&app, &admin, &format!("request_id={created_by_request}")).await;
    assert_eq!(by_request["total"], 1);
    let since = before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let recent = entries(
        &app,
        &admin,
        &format!("object_type=region&from={}", urlencode(&since)),
    )
    .await;
    assert_eq!(recent["total"], 2);
    let earlier = entries(
        &app,
        &admin,
        &format!("object_type=region&to={}", urlencode(&since)),
    )
    .await;
    assert_eq!(earlier["total"], 0);

    // The server's own write: the first admin.
    let system = entries(&app, &admin, &format!("object_id={}", admin.id)).await;
    let created = system["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "user.created")
        .expect("the first admin's creation");
    assert_eq!(created["actor_kind"], "system");
    assert!(created["actor_id"].is_null() && created["request_id"].is_null());
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[actix_web::test]
async fn only_admins_read_the_log_and_bad_filters_are_named() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for role in ["manager", "participant", "partner"] {
        let caller = app.user(role).await;
        let response = app
            .get_as(&caller, "/api/v1/audit")
            .send()
            .await
            .expect("request sent");
        assert_problem(response, 403, "forbidden").await;
    }
    let response = app.get("/api/v1/audit").send().await.expect("request sent");
    assert_problem(response, 401, "missing_token").await;

    // An empty range selects nothing; it is not an error.
    let empty = entries(
        &app,
        &admin,
        "from=2026-12-02T10%3A00%3A00Z&to=2026-12-01T10%3A00%3A00Z",
    )
    .await;
    assert_eq!(empty["total"], 0);
    let response = app
        .get_as(
            &admin,
            &format!("/api/v1/audit?object_id={}", "x".repeat(201)),
        )
        .send()
        .await
        .expect("request sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "object_id", "{problem}");
    let response = app
        .get_as(&admin, "/api/v1/audit?object_id=a%00b")
        .send()
        .await
        .expect("request sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "object_id", "{problem}");
    assert_eq!(
        problem["errors"][0]["code"], "control_character",
        "{problem}"
    );
    for query in [
        "action=challenge.deleted",
        "object_type=planet",
        "actor_id=42",
        "sort=seq",
    ] {
        let response = app
            .get_as(&admin, &format!("/api/v1/audit?{query}"))
            .send()
            .await
            .expect("request sent");
        assert_problem(response, 400, "invalid_query").await;
    }
}

#[actix_web::test]
async fn a_refused_write_leaves_no_entry() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let total = |log: &Value| log["total"].as_i64().expect("total");
    let before = total(&entries(&app, &admin, "object_type=region").await);
    // Refused inside the write's transaction: the manager does not exist.
    let response = app
        .post_as(&admin, "/api/v1/regions")
        .json(&json!({
            "name": "South", "potential_index": "1.0", "market_share": "0.1",
            "manager_id": Uuid::new_v4(),
        }))
        .send()
        .await
        .expect("request sent");
    let refused = request_id(&response);
    assert_problem(response, 422, "validation_failed").await;
    assert_eq!(
        total(&entries(&app, &admin, "object_type=region").await),
        before
    );
    assert_eq!(
        total(&entries(&app, &admin, &format!("request_id={refused}")).await),
        0
    );
    // Refused for want of the object.
    let response = app
        .http
        .patch(app.url(&format!("/api/v1/regions/{}", Uuid::new_v4())))
        .bearer_auth(&admin.token)
        .json(&json!({"name": "Nowhere"}))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 404, "not_found").await;
    assert_eq!(
        total(&entries(&app, &admin, "object_type=region").await),
        before
    );
    // Refused by a rule of the domain: the last active admin stays.
    let response = app
        .post_as(&admin, &format!("/api/v1/users/{}/disable", admin.id))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 409, "last_admin").await;
    assert_eq!(
        total(&entries(&app, &admin, "action=user.disabled").await),
        0
    );
}

#[actix_web::test]
async fn a_write_whose_entry_cannot_be_stored_does_not_commit() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // The entry's insert fails: the table is gone (an operator's mistake, a full disk).
    app.connect()
        .batch_execute("ALTER TABLE audit_events RENAME TO audit_events_away")
        .expect("rename the log");
    let response = app
        .post_as(&admin, "/api/v1/regions")
        .json(&json!({"name": "Lost", "potential_index": "1.0", "market_share": "0.1"}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 500);
    app.connect()
        .batch_execute("ALTER TABLE audit_events_away RENAME TO audit_events")
        .expect("put the log back");
    let regions = app.get_json(&admin, "/api/v1/regions?name=Lost").await;
    assert_eq!(
        regions["total"], 0,
        "the region was written without its entry"
    );
}

#[actix_web::test]
async fn the_database_refuses_to_change_or_delete_entries() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    create_region(&app, &admin, "East").await;
    let mut conn = app.connect();
    let count = |conn: &mut podium::db::DbConnection| -> i64 {
        podium::schema::audit_events::table
            .count()
            .get_result(conn)
            .expect("count")
    };
    let stored = count(&mut conn);
    assert!(stored >= 2);
    for statement in [
        "UPDATE audit_events SET action = 'region.deleted'",
        "UPDATE audit_events SET after_digest = NULL WHERE object_type = 'region'",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE object_type = 'region'",
    ] {
        let error = conn.batch_execute(statement).expect_err(statement);
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    if matches!(conn, podium::db::DbConnection::Postgresql(_)) {
        let error = conn
            .batch_execute("TRUNCATE audit_events")
            .expect_err("TRUNCATE");
        assert!(error.to_string().contains("append-only"), "{error}");
    }
    assert_eq!(count(&mut conn), stored);
    let log = entries(&app, &admin, "action=region.created").await;
    assert_eq!(log["items"][0]["object_type"], "region");
}

#[actix_web::test]
async fn a_digest_is_sha256_over_the_stored_row() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (region, _) = create_region(&app, &admin, "Centre").await;
    let id: Uuid = region["id"].as_str().expect("id").parse().expect("uuid");
    let log = entries(&app, &admin, &format!("object_id={id}")).await;
    let row = podium::models::region::find(&mut app.connect(), id)
        .expect("read")
        .expect("the region");
    let json = serde_json::to_vec(&row).expect("JSON");
    let expected = format!("sha256:{}", hex::encode(Sha256::digest(json)));
    assert_eq!(log["items"][0]["after_digest"], expected.as_str());
}

#[actix_web::test]
async fn sessions_are_recorded_and_a_reused_refresh_token_names_no_role() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let signed_in: Value = app
        .post("/api/v1/auth/token")
        .json(&json!({
            "grant_type": "password",
            "email": crate::helpers::ADMIN_EMAIL,
            "password": crate::helpers::ADMIN_PASSWORD,
        }))
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON");
    let session = signed_in["session_id"]
        .as_str()
        .expect("session")
        .to_owned();
    let refresh = |token: Value| {
        app.post("/api/v1/auth/token")
            .json(&json!({"grant_type": "refresh_token", "refresh_token": token}))
            .send()
    };
    let first = refresh(signed_in["refresh_token"].clone())
        .await
        .expect("request sent");
    assert_eq!(first.status(), 200);
    let again = refresh(signed_in["refresh_token"].clone())
        .await
        .expect("request sent");
    assert_problem(again, 401, "refresh_token_reused").await;

    let log = entries(
        &app,
        &admin,
        &format!("object_id={session}&sort=occurred_at"),
    )
    .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        ["session.opened", "session.refreshed", "session.revoked"]
    );
    let revoked = &log["items"][2];
    assert_eq!(revoked["actor_id"], admin.id.to_string());
    assert!(revoked["actor_role"].is_null());
    assert_eq!(log["items"][0]["actor_role"], "admin");
}
