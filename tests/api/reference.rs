//! Organisations, regions, teams, participants, products and customers: validation and
//! who may read what.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, fields_at_fault, spawn_app};

#[actix_web::test]
async fn reference_data_is_validated_and_nothing_bad_is_written() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let post = |path: &'static str, body: Value| app.post_as(&admin, path).json(&body).send();

    let response = post(
        "/api/v1/regions",
        json!({"name": "", "potential_index": "0", "market_share": "1.5"}),
    )
    .await
    .expect("sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(
        fields_at_fault(&problem),
        ["market_share", "name", "potential_index"]
    );

    let org = app.organisation("company").await;
    let name: Value = app
        .get_json(&admin, &format!("/api/v1/organisations/{org}"))
        .await;
    let response = post(
        "/api/v1/organisations",
        json!({"name": name["name"], "kind": "company"}),
    )
    .await
    .expect("sent");
    assert_problem(response, 409, "already_exists").await;
    let response = post(
        "/api/v1/organisations",
        json!({"name": "X", "kind": "supplier"}),
    )
    .await
    .expect("sent");
    assert_problem(response, 400, "invalid_body").await;

    let other_org = app.organisation("distributor").await;
    let team = app
        .create(
            "/api/v1/teams",
            json!({"name": "Nord", "organisation_id": other_org}),
        )
        .await;
    let response = post(
        "/api/v1/participants",
        json!({"name": "Rep", "kind": "rep", "organisation_id": org, "team_id": team["id"], "region_id": Uuid::new_v4()}),
    )
    .await
    .expect("sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(fields_at_fault(&problem), ["region_id", "team_id"]);

    app.create(
        "/api/v1/products",
        json!({"sku": "A", "name": "A", "category": "c"}),
    )
    .await;
    let response = post(
        "/api/v1/products",
        json!({"sku": "A", "name": "Again", "category": "c"}),
    )
    .await
    .expect("sent");
    assert_problem(response, 409, "already_exists").await;

    let listed: Value = app.get_json(&admin, "/api/v1/participants").await;
    assert_eq!(listed["total"], 0);
}

#[actix_web::test]
async fn each_role_reads_only_its_scope() {
    let app = spawn_app().await;
    let company = app.organisation("company").await;
    let distributor = app.organisation("distributor").await;
    let north = app.region("1.2", "0.3").await;
    let south = app.region("0.9", "0.1").await;
    let alice = app
        .named_participant("Alice", company, Some(north), None)
        .await;
    let bob = app
        .named_participant("Bob", company, Some(south), None)
        .await;
    let dave = app
        .named_participant("Dave", distributor, Some(north), None)
        .await;

    let alice_user = app.user_scoped("participant", Some(alice)).await;
    let response = app
        .get_as(&alice_user, &format!("/api/v1/participants/{bob}"))
        .send()
        .await
        .expect("sent");
    assert_problem(response, 404, "not_found").await;
    let own: Value = app
        .get_json(&alice_user, &format!("/api/v1/participants/{alice}"))
        .await;
    assert_eq!(own["name"], "Alice");
    let listed: Value = app.get_json(&alice_user, "/api/v1/participants").await;
    assert_eq!(listed["total"], 1);
    let regions: Value = app.get_json(&alice_user, "/api/v1/regions").await;
    assert_eq!(regions["items"][0]["id"], north.to_string());
    assert_eq!(regions["total"], 1);

    let manager = app.user_scoped("manager", Some(north)).await;
    let listed: Value = app
        .get_json(&manager, "/api/v1/participants?sort=name")
        .await;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["Alice", "Dave"]);
    let response = app
        .get_as(&manager, &format!("/api/v1/participants?region_id={south}"))
        .send()
        .await
        .expect("sent");
    assert_problem(response, 403, "forbidden").await;

    let partner = app.user_scoped("partner", Some(distributor)).await;
    let listed: Value = app.get_json(&partner, "/api/v1/participants").await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["id"], dave.to_string());
    let response = app
        .get_as(&partner, &format!("/api/v1/participants/{alice}"))
        .send()
        .await
        .expect("sent");
    assert_problem(response, 404, "not_found").await;
    let response = app
        .get_as(&partner, "/api/v1/regions")
        .send()
        .await
        .expect("sent");
    assert_problem(response, 403, "forbidden").await;
    let orgs: Value = app.get_json(&partner, "/api/v1/organisations").await;
    assert_eq!(orgs["total"], 1);
    let response = app
        .get_as(&partner, &format!("/api/v1/organisations/{company}"))
        .send()
        .await
        .expect("sent");
    assert_problem(response, 404, "not_found").await;
    // Writes are the admins'.
    let response = app
        .post_as(&partner, "/api/v1/participants")
        .json(&json!({"name": "Mallory", "kind": "rep", "organisation_id": distributor}))
        .send()
        .await
        .expect("sent");
    assert_problem(response, 403, "forbidden").await;
}

#[actix_web::test]
async fn updates_apply_and_nulls_clear() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let org = app.organisation("company").await;
    let region = app.region("1.0", "0.0").await;
    let rep = app.participant(org, Some(region), None).await;

    let response = app
        .http
        .patch(app.url(&format!("/api/v1/regions/{region}")))
        .bearer_auth(&admin.token)
        .json(&json!({"potential_index": "1.4"}))
        .send()
        .await
        .expect("sent");
    let changed: Value = response.json().await.expect("JSON");
    assert_eq!(changed["potential_index"], "1.4");
    assert_eq!(changed["market_share"], "0");

    let response = app
        .http
        .patch(app.url(&format!("/api/v1/participants/{rep}")))
        .bearer_auth(&admin.token)
        .json(&json!({"region_id": null}))
        .send()
        .await
        .expect("sent");
    let moved: Value = response.json().await.expect("JSON");
    assert!(moved["region_id"].is_null());

    let customer = app
        .create(
            "/api/v1/customers",
            json!({"reference": "C-9", "name": "Café"}),
        )
        .await;
    assert_eq!(customer["key_account"], false);
    let response = app
        .http
        .patch(app.url(&format!(
            "/api/v1/customers/{}",
            customer["id"].as_str().expect("id")
        )))
        .bearer_auth(&admin.token)
        .json(&json!({"key_account": true}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        response.json::<Value>().await.expect("JSON")["key_account"],
        true
    );
}
