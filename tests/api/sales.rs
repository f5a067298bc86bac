//! Recording and reading sales: batches, duplicates, reversals, CSV, idempotency keys and
//! each role's scope.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, fields_at_fault, spawn_app, Caller, TestApp};

/// A small world: a company with a rep, a distributor with a rep, a product, a customer.
pub struct World {
    pub company: Uuid,
    pub distributor: Uuid,
    pub region: Uuid,
    pub rep: Uuid,
    pub distributor_rep: Uuid,
}

impl World {
    pub async fn new(app: &TestApp) -> Self {
        let company = app.organisation("company").await;
        let distributor = app.organisation("distributor").await;
        let region = app.region("1.0", "0.2").await;
        let rep = app.participant(company, Some(region), None).await;
        let distributor_rep = app.participant(distributor, None, None).await;
        app.espresso_and_hotel().await;
        Self {
            company,
            distributor,
            region,
            rep,
            distributor_rep,
        }
    }
}

pub fn line(participant: Uuid, external_id: &str, amount: i64) -> Value {
    json!({
        "participant_id": participant, "sold_at": "2026-01-15T10:00:00Z", "product_sku": "ESP-200",
        "customer_reference": "C-1", "quantity": 1, "amount_cents": amount, "currency": "EUR",
        "source": "erp", "external_id": external_id,
    })
}

pub async fn post_sales(app: &TestApp, caller: &Caller, lines: Vec<Value>) -> reqwest::Response {
    app.post_as(caller, "/api/v1/sales")
        .json(&json!({"sales": lines}))
        .send()
        .await
        .expect("request sent")
}

async fn total_sales(app: &TestApp, caller: &Caller) -> i64 {
    let page: Value = app.get_json(caller, "/api/v1/sales").await;
    page["total"].as_i64().expect("a total")
}

#[actix_web::test]
async fn a_batch_is_recorded_and_a_resent_line_never_counts_twice() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    let response = post_sales(
        &app,
        &admin,
        vec![line(world.rep, "A-1", 1_000), line(world.rep, "A-2", 2_000)],
    )
    .await;
    assert_eq!(response.status(), 201);
    let receipt: Value = response.json().await.expect("JSON");
    assert_eq!(
        receipt,
        json!({"received": 2, "recorded": 2, "duplicates": []})
    );

    let response = post_sales(
        &app,
        &admin,
        vec![line(world.rep, "A-2", 2_000), line(world.rep, "A-3", 3_000)],
    )
    .await;
    let receipt: Value = response.json().await.expect("JSON");
    assert_eq!(
        receipt,
        json!({"received": 2, "recorded": 1, "duplicates": [0]})
    );

    let response = post_sales(&app, &admin, vec![line(world.rep, "A-1", 1_000)]).await;
    assert_eq!(response.status(), 200, "nothing new was recorded");
    assert_eq!(total_sales(&app, &admin).await, 3);

    // A time finer than the microsecond is stored to the microsecond, so a resend is
    // still the same line on both backends.
    let mut precise = line(world.rep, "A-9", 500);
    precise["sold_at"] = json!("2026-01-15T10:00:00.123456789Z");
    assert_eq!(
        post_sales(&app, &admin, vec![precise.clone()])
            .await
            .status(),
        201
    );
    let response = post_sales(&app, &admin, vec![precise]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("JSON")["duplicates"],
        json!([0])
    );

    // The same key with other content is refused, not silently ignored.
    let response = post_sales(&app, &admin, vec![line(world.rep, "A-1", 9_999)]).await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "conflicting_duplicate");
}

#[actix_web::test]
async fn a_batch_with_bad_lines_is_rejected_whole_listing_each_line() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    let mut unknown_product = line(world.rep, "B-2", 100);
    unknown_product["product_sku"] = json!("NOPE");
    let mut negative = line(world.rep, "B-3", -100);
    negative["quantity"] = json!(-1);
    let mut bad_currency = line(world.rep, "B-4", 100);
    bad_currency["currency"] = json!("euro");
    let mut future = line(world.rep, "B-5", 100);
    future["sold_at"] = json!("2999-01-01T00:00:00Z");
    let lines = vec![
        line(world.rep, "B-1", 100),
        unknown_product,
        negative,
        bad_currency,
        future,
        line(Uuid::new_v4(), "B-6", 100),
        line(world.rep, "B-1", 100),
    ];
    let response = post_sales(&app, &admin, lines).await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(
        fields_at_fault(&problem),
        [
            "sales[1].product_sku",
            "sales[2].amount_cents",
            "sales[2].quantity",
            "sales[3].currency",
            "sales[4].sold_at",
            "sales[5].participant_id",
            "sales[6].external_id",
        ]
    );
    assert_eq!(
        total_sales(&app, &admin).await,
        0,
        "nothing of the batch was written"
    );

    let response = post_sales(&app, &admin, Vec::new()).await;
    assert_problem(response, 422, "validation_failed").await;
    let response = app
        .post_as(&admin, "/api/v1/sales")
        .json(&json!({"sales": [line(world.rep, "B-7", 1)], "partner": "x"}))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 400, "invalid_body").await;
    let response = app
        .post_as(&admin, "/api/v1/sales")
        .header("content-type", "application/xml")
        .body("<sales/>")
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 415, "unsupported_media_type").await;
}

#[actix_web::test]
async fn reversals_point_at_their_original_and_cannot_exceed_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    let mut partial_return = line(world.rep, "R-2", -400);
    partial_return["quantity"] = json!(0);
    partial_return["reverses_external_id"] = json!("R-1");
    let response = post_sales(
        &app,
        &admin,
        vec![line(world.rep, "R-1", 1_000), partial_return],
    )
    .await;
    assert_eq!(response.status(), 201);
    // A return of all that remains is allowed; sending it again is a duplicate, not a
    // second return.
    let mut rest = line(world.rep, "R-5", -600);
    rest["quantity"] = json!(-1);
    rest["reverses_external_id"] = json!("R-1");
    assert_eq!(
        post_sales(&app, &admin, vec![rest.clone()]).await.status(),
        201
    );
    let response = post_sales(&app, &admin, vec![rest]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("JSON")["duplicates"],
        json!([0])
    );

    // Sending the same two lines again is harmless: both are duplicates.
    let mut resent_return = line(world.rep, "R-2", -400);
    resent_return["quantity"] = json!(0);
    resent_return["reverses_external_id"] = json!("R-1");
    let response = post_sales(
        &app,
        &admin,
        vec![line(world.rep, "R-1", 1_000), resent_return],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("JSON")["duplicates"],
        json!([0, 1])
    );

    let mut too_much = line(world.rep, "R-3", -700);
    too_much["quantity"] = json!(0);
    too_much["reverses_external_id"] = json!("R-1");
    let problem = assert_problem(
        post_sales(&app, &admin, vec![too_much]).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["code"], "exceeds_original");

    let mut orphan = line(world.rep, "R-4", -1);
    orphan["quantity"] = json!(0);
    orphan["reverses_external_id"] = json!("NOPE");
    let problem = assert_problem(
        post_sales(&app, &admin, vec![orphan]).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["code"], "unknown_sale");

    let page: Value = app.get_json(&admin, "/api/v1/sales?sort=-sold_at").await;
    let reversal = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|s| s["external_id"] == "R-2")
        .expect("the reversal");
    let original = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|s| s["external_id"] == "R-1")
        .expect("original");
    assert_eq!(reversal["reverses_id"], original["id"]);
}

#[actix_web::test]
async fn csv_bodies_are_accepted_with_the_same_columns() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    let csv = format!(
        "participant_id,sold_at,product_sku,customer_reference,quantity,amount_cents,currency,source,external_id,reverses_external_id\n\
         {rep},2026-01-10T09:00:00Z,ESP-200,C-1,2,5000,EUR,pos,C-1,\n\
         {rep},2026-01-11T09:00:00Z,,,1,2500,EUR,pos,C-2,\n",
        rep = world.rep
    );
    let response = app
        .post_as(&admin, "/api/v1/sales")
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 201);
    let receipt: Value = response.json().await.expect("JSON");
    assert_eq!(receipt["recorded"], 2);

    let broken = format!("participant_id,sold_at,quantity,amount_cents,currency,external_id\n{},yesterday,1,1,EUR,X\n", world.rep);
    let response = app
        .post_as(&admin, "/api/v1/sales")
        .header("content-type", "text/csv")
        .body(broken)
        .send()
        .await
        .expect("request sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(fields_at_fault(&problem), ["sales[0]"]);
}

#[actix_web::test]
async fn an_idempotency_key_replays_refuses_reuse_and_reports_in_flight() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    let body = json!({"sales": [line(world.rep, "I-1", 1_000)]});
    let send = |key: &'static str, body: Value| {
        app.post_as(&admin, "/api/v1/sales")
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = send("key-1", body.clone()).await.expect("request sent");
    assert_eq!(first.status(), 201);
    let first_body: Value = first.json().await.expect("JSON");

    let replay = send("key-1", body.clone()).await.expect("request sent");
    assert_eq!(
        replay.status(),
        201,
        "the stored answer, not a new one (which would be 200)"
    );
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.expect("JSON"), first_body);

    let other = send("key-1", json!({"sales": [line(world.rep, "I-2", 5)]}))
        .await
        .expect("request sent");
    let problem = assert_problem(other, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "idempotency_key_reused");
    assert_eq!(total_sales(&app, &admin).await, 1);

    // A first request still running: its claim is in place, its answer not yet.
    let in_flight_body = json!({"sales": [line(world.rep, "I-3", 7)]});
    let bytes = serde_json::to_vec(&in_flight_body).expect("JSON");
    let hash = podium::api::idempotency::fingerprint_of(
        "POST",
        "/api/v1/sales",
        b"application/json",
        &bytes,
    );
    {
        use diesel::prelude::*;
        use podium::schema::idempotency_keys::dsl;
        let mut conn = app.connect();
        diesel::insert_into(dsl::idempotency_keys)
            .values((
                dsl::principal_id.eq(admin.id.to_string()),
                dsl::idempotency_key.eq("key-2"),
                dsl::request_hash.eq(hash),
                dsl::state.eq("in_flight"),
                dsl::created_at.eq(podium::models::now()),
            ))
            .execute(&mut conn)
            .expect("claim inserted");
    }
    let response = app
        .post_as(&admin, "/api/v1/sales")
        .header("Idempotency-Key", "key-2")
        .header("content-type", "application/json")
        .body(bytes.clone())
        .send()
        .await
        .expect("request sent");
    let retry_after: i64 = response.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!(
        (1..=podium::api::idempotency::LEASE_SECONDS).contains(&retry_after),
        "retry when the claim lapses: {retry_after}"
    );
    assert_problem(response, 409, "idempotency_in_flight").await;
    assert_eq!(total_sales(&app, &admin).await, 1);

    // The request behind the claim died: it stopped renewing, and once its lease is over
    // the next attempt runs at once instead of waiting a minute.
    {
        use diesel::prelude::*;
        use podium::schema::idempotency_keys::dsl;
        let lapsed = podium::models::now()
            - chrono::Duration::seconds(podium::api::idempotency::LEASE_SECONDS + 1);
        diesel::update(dsl::idempotency_keys.filter(dsl::idempotency_key.eq("key-2")))
            .set(dsl::created_at.eq(lapsed))
            .execute(&mut app.connect())
            .expect("claim aged");
    }
    let response = app
        .post_as(&admin, "/api/v1/sales")
        .header("Idempotency-Key", "key-2")
        .header("content-type", "application/json")
        .body(bytes)
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 201);
    assert_eq!(total_sales(&app, &admin).await, 2);
}

/// One process owns a SQLite database: at its start, the claims of requests that died
/// with the last one are released, so their retries run at once.
#[actix_web::test]
async fn a_sqlite_restart_releases_the_claims_of_the_last_run() {
    use diesel::prelude::*;
    use podium::schema::idempotency_keys::dsl;
    let (db, settings) = crate::helpers::test_database();
    if !matches!(db, crate::helpers::TestDb::Sqlite(_)) {
        return; // PostgreSQL instances share the database: the lease covers them.
    }
    let pool = podium::startup::prepare_database(&settings).expect("prepared");
    let mut conn = pool.get().expect("connection");
    for (key, state) in [("dead", "in_flight"), ("done", "done")] {
        diesel::insert_into(dsl::idempotency_keys)
            .values((
                dsl::principal_id.eq("someone"),
                dsl::idempotency_key.eq(key),
                dsl::request_hash.eq("h"),
                dsl::state.eq(state),
                dsl::created_at.eq(podium::models::now()),
            ))
            .execute(&mut conn)
            .expect("claim inserted");
    }
    drop(conn);
    drop(pool);
    let pool = podium::startup::prepare_database(&settings).expect("restarted");
    let left: Vec<String> = dsl::idempotency_keys
        .select(dsl::idempotency_key)
        .load(&mut pool.get().expect("connection"))
        .expect("keys");
    assert_eq!(left, ["done"], "answers stay; dead claims go");
}

#[actix_web::test]
async fn a_partner_writes_and_reads_only_its_own_organisations_sales() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    let partner = app.user_scoped("partner", Some(world.distributor)).await;
    let other_partner = app.user("partner").await;

    let response = post_sales(
        &app,
        &partner,
        vec![line(world.distributor_rep, "P-1", 500)],
    )
    .await;
    assert_eq!(response.status(), 201);
    // Another company's participant: refused as unknown, and nothing is written.
    let response = post_sales(&app, &partner, vec![line(world.rep, "P-2", 500)]).await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "unknown_participant");
    assert_eq!(total_sales(&app, &admin).await, 1);

    // The same source and external id from another owner is its own line.
    post_sales(&app, &admin, vec![line(world.rep, "P-1", 800)]).await;
    assert_eq!(total_sales(&app, &admin).await, 2);

    assert_eq!(total_sales(&app, &partner).await, 1);
    assert_eq!(total_sales(&app, &other_partner).await, 0);
    let response = app
        .get_as(
            &partner,
            &format!("/api/v1/sales?organisation_id={}", world.company),
        )
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 403, "forbidden").await;

    let page: Value = app.get_json(&admin, "/api/v1/sales").await;
    let company_sale = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|s| s["participant_id"] == world.rep.to_string())
        .expect("the company's sale");
    let response = app
        .get_as(
            &partner,
            &format!("/api/v1/sales/{}", company_sale["id"].as_str().expect("id")),
        )
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 404, "not_found").await;
}

#[actix_web::test]
async fn managers_see_their_region_and_participants_cannot_record() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    let manager = app.user_scoped("manager", Some(world.region)).await;
    let outsider_manager = app.user("manager").await;
    let rep = app.user_scoped("participant", Some(world.rep)).await;

    post_sales(
        &app,
        &admin,
        vec![
            line(world.rep, "M-1", 100),
            line(world.distributor_rep, "M-2", 100),
        ],
    )
    .await;
    assert_eq!(total_sales(&app, &manager).await, 1);
    assert_eq!(total_sales(&app, &outsider_manager).await, 0);
    assert_eq!(total_sales(&app, &rep).await, 1);

    let response = post_sales(&app, &rep, vec![line(world.rep, "M-3", 100)]).await;
    assert_problem(response, 403, "forbidden").await;
    let response = post_sales(
        &app,
        &manager,
        vec![line(world.distributor_rep, "M-4", 100)],
    )
    .await;
    assert_problem(response, 422, "validation_failed").await;
    assert_eq!(total_sales(&app, &admin).await, 2);
}

/// Keys are owned per scope: the company's feed is deduplicated company-wide, while a
/// manager can neither learn of nor block a key recorded outside its region.
#[actix_web::test]
async fn a_manager_can_neither_see_nor_block_keys_outside_its_region() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    let company = world.company;
    let region_b = app.region("1.0", "0.2").await;
    let rep_b = app.participant(company, Some(region_b), None).await;
    let manager_a = app.user_scoped("manager", Some(world.region)).await;
    let manager_b = app.user_scoped("manager", Some(region_b)).await;

    // Company-wide: one ERP feeds both regions, and one invoice line is one line
    // whichever region it is for.
    let response = post_sales(&app, &admin, vec![line(world.rep, "ERP-1", 1_000)]).await;
    assert_eq!(response.status(), 201);
    let response = post_sales(&app, &admin, vec![line(rep_b, "ERP-1", 2_000)]).await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "conflicting_duplicate");

    // Manager B's batch: region B's keys, whatever exists elsewhere. Region A's manager
    // recording the same key first neither tells it whether B has it nor makes B's batch
    // fail.
    let response = post_sales(&app, &manager_a, vec![line(world.rep, "B-7", 100)]).await;
    assert_eq!(response.status(), 201, "A learns nothing of B's keys");
    let batch: Vec<Value> = (0..3)
        .map(|n| line(rep_b, &format!("B-{}", n + 6), 300))
        .collect();
    let response = post_sales(&app, &manager_b, batch).await;
    assert_eq!(response.status(), 201, "A cannot squat B's keys");
    let receipt: Value = response.json().await.expect("JSON");
    assert_eq!(receipt["recorded"], 3);
    // Nor the company's: the ERP key is the company's, not the region's.
    let response = post_sales(&app, &manager_a, vec![line(world.rep, "ERP-1", 5)]).await;
    assert_eq!(response.status(), 201);

    // Within a region, the manager's own keys are deduplicated as any others.
    let response = post_sales(&app, &manager_b, vec![line(rep_b, "B-7", 300)]).await;
    assert_eq!(response.status(), 200);
    let response = post_sales(&app, &manager_b, vec![line(rep_b, "B-7", 999)]).await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "conflicting_duplicate");
    // A reversal names a line of the same namespace: manager A cannot reverse B's line.
    let mut reversal = line(world.rep, "R-1", -300);
    reversal["quantity"] = json!(-1);
    reversal["reverses_external_id"] = json!("B-6");
    let response = post_sales(&app, &manager_a, vec![reversal]).await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "unknown_sale");
    assert_eq!(total_sales(&app, &admin).await, 6);
}
