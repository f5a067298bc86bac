//! Exact numbers through the real server: growth of exactly the target percentage reaches
//! it, values are decimal strings, the same live, simulated and frozen; ties say what
//! decided them; sale dates outside the window and wrong signs are refused under the
//! field at fault; timestamps carry their offset.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, fields_at_fault, spawn_app, Caller, TestApp};
use crate::sales::{post_sales, World};

fn sale(participant: Uuid, external_id: &str, sold_at: &str, amount: i64) -> Value {
    json!({
        "participant_id": participant, "sold_at": sold_at, "product_sku": "ESP-200",
        "customer_reference": "C-1", "quantity": 1, "amount_cents": amount, "currency": "EUR",
        "source": "erp", "external_id": external_id,
    })
}

async fn created_id(app: &TestApp, path: &str, body: Value) -> Uuid {
    app.create(path, body)
        .await
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .expect("an id")
}

async fn act(app: &TestApp, admin: &Caller, id: Uuid, action: &str) -> u16 {
    app.post_as(admin, &format!("/api/v1/challenges/{id}/{action}"))
        .send()
        .await
        .expect("request sent")
        .status()
        .as_u16()
}

/// The lines without `computed_at` and page fields: what must not differ between reads.
async fn lines(app: &TestApp, caller: &Caller, id: Uuid) -> Value {
    let page: Value = app
        .get_json(caller, &format!("/api/v1/challenges/{id}/standings"))
        .await;
    page["items"].clone()
}

#[actix_web::test]
async fn growth_of_exactly_the_target_reaches_it_live_simulated_and_frozen() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    let body = json!({
        "name": "Grow by 10 %", "kind": "incentive",
        "rules_text": "Grow your revenue by at least 10 % over January 2025.",
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z",
        "baseline_starts_at": "2025-01-01T00:00:00Z", "baseline_ends_at": "2025-02-01T00:00:00Z",
        "objective": {"type": "revenue"},
        "target": {"type": "growth_percent", "percent": "10"},
        "ranking_unit": "participant",
    });
    let id = created_id(&app, "/api/v1/challenges", body).await;
    assert_eq!(act(&app, &admin, id, "schedule").await, 200);
    assert_eq!(act(&app, &admin, id, "start").await, 200);
    let response = post_sales(
        &app,
        &admin,
        vec![
            sale(world.rep, "B-1", "2025-01-10T09:00:00Z", 700_000),
            sale(world.rep, "P-1", "2026-01-10T09:00:00.250Z", 770_000),
        ],
    )
    .await;
    assert_eq!(response.status(), 201);

    let live = lines(&app, &admin, id).await;
    let rep = live
        .as_array()
        .expect("items")
        .iter()
        .find(|l| l["entrant"]["id"] == world.rep.to_string())
        .cloned()
        .expect("the rep's line");
    assert_eq!(rep["raw_value"], "770000");
    assert_eq!(rep["target"], "770000", "700,000 × 110 / 100 exactly");
    assert_eq!(rep["reached"], true);
    assert_eq!(rep["qualified"], true);
    assert_eq!(rep["progress_percent"], "100");
    assert_eq!(rep["totals"]["last_sale_at"], "2026-01-10T09:00:00.250Z");
    assert!(rep["totals"]["new_customers"].is_null(), "not counted here");

    // The same rules simulated change nothing.
    let simulation: Value = app
        .post_as(&admin, &format!("/api/v1/challenges/{id}/simulate"))
        .json(&json!({"target": {"type": "growth_percent", "percent": "10"}}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(simulation["moved"], 0, "{simulation}");
    assert_eq!(simulation["total_changes"], 0, "{simulation}");
    // One hundredth of a percent more is out of reach by a whole cent.
    let simulation: Value = app
        .post_as(&admin, &format!("/api/v1/challenges/{id}/simulate"))
        .json(&json!({"target": {"type": "growth_percent", "percent": "10.01"}}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(simulation["no_longer_qualified"], 1, "{simulation}");

    // Frozen at the close: the very same lines.
    assert_eq!(act(&app, &admin, id, "close").await, 200);
    let frozen = lines(&app, &admin, id).await;
    assert_eq!(frozen, live);
    let one: Value = app
        .get_json(
            &admin,
            &format!("/api/v1/challenges/{id}/standings/{}", world.rep),
        )
        .await;
    let explanation = one["explanation"].as_array().expect("an explanation");
    assert!(
        explanation
            .iter()
            .any(|s| s == "target: 770000 minor units, progress 100 %: reached"),
        "{explanation:?}"
    );
}

#[actix_web::test]
async fn a_tie_break_that_decided_a_rank_is_on_the_line() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    let second = app
        .participant(world.company, Some(world.region), None)
        .await;
    let body = json!({
        "name": "Ties", "kind": "competition", "rules_text": "Revenue; first to reach wins ties.",
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z",
        "objective": {"type": "revenue"}, "tie_break": ["first_to_reach"],
    });
    let id = created_id(&app, "/api/v1/challenges", body).await;
    act(&app, &admin, id, "schedule").await;
    act(&app, &admin, id, "start").await;
    let response = post_sales(
        &app,
        &admin,
        vec![
            sale(world.rep, "T-1", "2026-01-20T09:00:00Z", 50_000),
            sale(second, "T-2", "2026-01-05T09:00:00Z", 50_000),
        ],
    )
    .await;
    assert_eq!(response.status(), 201);
    let items = lines(&app, &admin, id).await;
    let ranked: Vec<&Value> = items
        .as_array()
        .expect("items")
        .iter()
        .filter(|l| l["score"] == "50000")
        .collect();
    assert_eq!(ranked.len(), 2);
    assert_eq!(ranked[0]["entrant"]["id"], second.to_string());
    assert_eq!(
        (ranked[0]["rank"].as_u64(), ranked[1]["rank"].as_u64()),
        (Some(1), Some(2))
    );
    for line in &ranked {
        assert_eq!(line["tied"], true);
        assert_eq!(line["tie_break"], "first_to_reach");
    }
    let one: Value = app
        .get_json(
            &admin,
            &format!("/api/v1/challenges/{id}/standings/{}", world.rep),
        )
        .await;
    assert_eq!(
        one["explanation"].as_array().and_then(|e| e.last()),
        Some(&json!(
            "rank: 2 (same score as another line; decided by the tie-break first_to_reach)"
        ))
    );
}

#[actix_web::test]
async fn decimals_are_strings_and_a_number_or_too_many_decimals_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (body, field) in [
        (
            json!({"name": "N", "potential_index": 1.25}),
            "potential_index",
        ),
        (
            json!({"name": "N", "potential_index": "1.23456"}),
            "potential_index",
        ),
        (json!({"name": "N", "market_share": "1e-1"}), "market_share"),
    ] {
        let response = app
            .post_as(&admin, "/api/v1/regions")
            .json(&body)
            .send()
            .await
            .expect("sent");
        let problem = assert_problem(response, 400, "invalid_body").await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(field)),
            "{problem}"
        );
    }
    let regions: Value = app.get_json(&admin, "/api/v1/regions").await;
    assert_eq!(regions["total"], 0, "nothing was written");
    let created = app
        .create(
            "/api/v1/regions",
            json!({"name": "Exact", "potential_index": "1.0500", "market_share": "0.3333"}),
        )
        .await;
    assert_eq!(created["potential_index"], "1.05");
    assert_eq!(created["market_share"], "0.3333");
}

#[actix_web::test]
async fn sale_dates_outside_the_window_and_wrong_signs_are_named() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    let mut negative_quantity = sale(world.rep, "S-3", "2026-01-10T09:00:00Z", 100);
    negative_quantity["quantity"] = json!(-1);
    let mut negative_amount = sale(world.rep, "S-4", "2026-01-10T09:00:00Z", -100);
    negative_amount["quantity"] = json!(1);
    let response = post_sales(
        &app,
        &admin,
        vec![
            sale(world.rep, "S-1", "1999-03-01T09:00:00Z", 100),
            sale(world.rep, "S-2", "0001-01-01T00:00:00Z", 100),
            negative_quantity,
            negative_amount,
        ],
    )
    .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(
        fields_at_fault(&problem),
        [
            "sales[0].sold_at",
            "sales[1].sold_at",
            "sales[2].quantity",
            "sales[3].amount_cents"
        ]
    );
    let errors = problem["errors"].as_array().expect("errors");
    assert_eq!(errors[0]["code"], "too_old");
    let sales: Value = app.get_json(&admin, "/api/v1/sales").await;
    assert_eq!(sales["total"], 0, "nothing was written");
}

#[actix_web::test]
async fn the_sale_age_window_is_configurable() {
    let app = crate::helpers::spawn_app_with(|s| s.sale_max_age_days = 36_500).await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    let response = post_sales(
        &app,
        &admin,
        vec![sale(world.rep, "OLD-1", "1999-03-01T09:00:00Z", 100)],
    )
    .await;
    assert_eq!(response.status(), 201);
}

#[actix_web::test]
async fn control_characters_are_refused_under_the_field_whatever_the_media_type() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // JSON: a NUL in a reward's name (PostgreSQL cannot store it; SQLite would).
    let response = app
        .post_as(&admin, "/api/v1/rewards")
        .json(&json!({"name": "Mug\u{0}", "kind": {"type": "goods", "value_cents": 900}}))
        .send()
        .await
        .expect("sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(fields_at_fault(&problem), ["name"]);
    assert_eq!(problem["errors"][0]["code"], "control_character");
    let rewards: Value = app.get_json(&admin, "/api/v1/rewards").await;
    assert_eq!(rewards["total"], 0, "nothing was written");
    // A bidirectional override or isolate would show a name reversed on a certificate.
    for (path, body, field) in [
        (
            "/api/v1/rewards",
            json!({"name": "Mug \u{202E}gum", "kind": {"type": "goods", "value_cents": 900}}),
            "name",
        ),
        (
            "/api/v1/users",
            json!({"email": "x@podium.test", "display_name": "\u{2067}Ana", "password": "a long enough password", "role": "admin"}),
            "display_name",
        ),
    ] {
        let response = app
            .post_as(&admin, path)
            .json(&body)
            .send()
            .await
            .expect("sent");
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(fields_at_fault(&problem), [field], "{path}");
        assert_eq!(problem["errors"][0]["code"], "control_character");
    }
    let rewards: Value = app.get_json(&admin, "/api/v1/rewards").await;
    assert_eq!(rewards["total"], 0, "nothing was written");

    // CSV: an escape character in the second row's customer reference.
    let world = World::new(&app).await;
    let csv = format!(
        "participant_id,sold_at,product_sku,customer_reference,quantity,amount_cents,currency,source,external_id\n\
         {rep},2026-01-10T09:00:00Z,ESP-200,C-1,1,100,EUR,erp,X-1\n\
         {rep},2026-01-10T09:00:00Z,ESP-200,C-\u{1b}2,1,100,EUR,erp,X-2\n",
        rep = world.rep
    );
    let response = app
        .post_as(&admin, "/api/v1/sales")
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(fields_at_fault(&problem), ["sales[1].customer_reference"]);
    let sales: Value = app.get_json(&admin, "/api/v1/sales").await;
    assert_eq!(sales["total"], 0, "nothing was written");

    // Plain text: a rule source with a NUL; tabs and line breaks are fine.
    let rule = created_id(
        &app,
        "/api/v1/rules",
        json!({"name": "R", "kind": "objective"}),
    )
    .await;
    let response = app
        .post_as(&admin, &format!("/api/v1/rules/{rule}/versions"))
        .header("content-type", "text/plain")
        .body("fn score(participant, sales, ctx) {\n\t1\u{0}\n}\n")
        .send()
        .await
        .expect("sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(fields_at_fault(&problem), ["source"]);
    // Trojan Source: a line of the script that reads otherwise than it runs.
    let response = app
        .post_as(&admin, &format!("/api/v1/rules/{rule}/versions"))
        .header("content-type", "text/plain")
        .body("fn score(participant, sales, ctx) {\n\t1 // \u{202E} }\u{2066}\n}\n")
        .send()
        .await
        .expect("sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(fields_at_fault(&problem), ["source"]);
    let response = app
        .post_as(&admin, &format!("/api/v1/rules/{rule}/versions"))
        .header("content-type", "text/plain")
        .body("fn score(participant, sales, ctx) {\r\n\t1\r\n}\r\n")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 201);
}
