//! Rules through the API: upload and validation of versions, tests on sample data, a
//! challenge scored by a rule, simulation, version changes of a running challenge, and a
//! failing rule (admins see why, others only that it failed).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, fields_at_fault, spawn_app, Caller, TestApp};
use crate::sales::{post_sales, World};

const UNITS_OF_SKU: &str = r#"
// Units of the product named in params.sku, with a detail line.
fn score(participant, sales, ctx) {
    let units = sales.for_product(ctx.params.sku).quantity();
    #{ score: units, detail: `${units} units of ${ctx.params.sku}` }
}
"#;

const REVENUE: &str = "fn score(participant, sales, ctx) { sales.amount() }";

pub async fn new_rule(app: &TestApp, admin: &Caller, name: &str, kind: &str) -> Uuid {
    let response = app
        .post_as(admin, "/api/v1/rules")
        .json(&json!({"name": name, "kind": kind, "description": "for tests"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("JSON");
    body["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an id")
}

async fn upload(app: &TestApp, admin: &Caller, rule: Uuid, source: &str) -> reqwest::Response {
    app.post_as(admin, &format!("/api/v1/rules/{rule}/versions"))
        .json(&json!({ "source": source }))
        .send()
        .await
        .expect("sent")
}

pub async fn uploaded(app: &TestApp, admin: &Caller, rule: Uuid, source: &str) -> i64 {
    let response = upload(app, admin, rule, source).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("JSON");
    body["version"].as_i64().expect("a version")
}

async fn version_count(app: &TestApp, admin: &Caller, rule: Uuid) -> i64 {
    app.get_json(admin, &format!("/api/v1/rules/{rule}/versions"))
        .await["total"]
        .as_i64()
        .expect("a total")
}

#[actix_web::test]
async fn versions_are_immutable_numbered_and_hashed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rule = new_rule(&app, &admin, "Units of a SKU", "objective").await;
    let first: Value = upload(&app, &admin, rule, UNITS_OF_SKU)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(first["version"], 1);
    assert_eq!(first["content_hash"].as_str().map(str::len), Some(64));
    assert_eq!(first["source"], UNITS_OF_SKU);

    // The same source again is the same version, not a new one.
    let again = upload(&app, &admin, rule, UNITS_OF_SKU).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.expect("JSON");
    assert_eq!(again["version"], 1);

    assert_eq!(uploaded(&app, &admin, rule, REVENUE).await, 2);
    let listed = app
        .get_json(&admin, &format!("/api/v1/rules/{rule}/versions"))
        .await;
    assert_eq!(listed["total"], 2);
    assert_eq!(listed["items"][0]["version"], 2);
    let one = app
        .get_json(&admin, &format!("/api/v1/rules/{rule}/versions/1"))
        .await;
    assert_eq!(one["source"], UNITS_OF_SKU);
    let rule_dto = app.get_json(&admin, &format!("/api/v1/rules/{rule}")).await;
    assert_eq!(rule_dto["latest_version"], 2);
    let rules = app.get_json(&admin, "/api/v1/rules?kind=objective").await;
    assert_eq!(rules["total"], 1);
    assert_eq!(rules["items"][0]["latest_version"], 2);

    let missing = app
        .get_as(&admin, &format!("/api/v1/rules/{rule}/versions/9"))
        .send()
        .await
        .expect("sent");
    assert_problem(missing, 404, "not_found").await;
}

#[actix_web::test]
async fn a_version_that_does_not_compile_is_refused_with_line_and_column() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rule = new_rule(&app, &admin, "Broken", "objective").await;
    let cases = [
        (
            "fn score(participant, sales, ctx) {\n    let x = ;\n}",
            Some(2),
        ),
        (
            "fn score(participant, sales, ctx) {\n    let total = 1;\n    totl\n}",
            Some(3),
        ),
        ("fn points(participant, sales, ctx) { 1 }", None),
        ("fn score(participant) { 1 }", None),
        ("fn score(participant, sales, ctx) { eval(\"1\") }", Some(1)),
        (
            "let limit = 5;\nfn score(participant, sales, ctx) { 1 }",
            Some(1),
        ),
    ];
    for (source, line) in cases {
        let problem = assert_problem(
            upload(&app, &admin, rule, source).await,
            422,
            "invalid_script",
        )
        .await;
        let errors = problem["script_errors"].as_array().expect("script errors");
        assert!(!errors.is_empty(), "{source}: {problem}");
        assert_eq!(
            errors[0]["line"].as_u64(),
            line.map(|l: u64| l),
            "{source}: {problem}"
        );
        assert!(errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let problem = assert_problem(
        upload(&app, &admin, rule, "fn points(a) { 1 }\nlet x = 1;").await,
        422,
        "invalid_script",
    )
    .await;
    assert_eq!(
        problem["script_errors"].as_array().map(Vec::len),
        Some(2),
        "{problem}"
    );

    let too_big = format!(
        "fn score(participant, sales, ctx) {{ 1 }}\n{}",
        "// padding\n".repeat(4_000)
    );
    let problem = assert_problem(
        upload(&app, &admin, rule, &too_big).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(fields_at_fault(&problem), ["source"]);
    assert_eq!(
        version_count(&app, &admin, rule).await,
        0,
        "nothing written"
    );

    // An allocation rule needs allocate, not score.
    let allocation = new_rule(&app, &admin, "Podium", "allocation").await;
    let problem = assert_problem(
        upload(&app, &admin, allocation, REVENUE).await,
        422,
        "invalid_script",
    )
    .await;
    assert!(problem["script_errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("fn allocate")));
}

#[actix_web::test]
async fn only_admins_see_or_write_rules() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rule = new_rule(&app, &admin, "Secret sauce", "objective").await;
    for role in ["manager", "participant", "partner"] {
        let caller = app.user(role).await;
        let listed = app
            .get_as(&caller, "/api/v1/rules")
            .send()
            .await
            .expect("sent");
        assert_problem(listed, 403, "forbidden").await;
        let read = app
            .get_as(&caller, &format!("/api/v1/rules/{rule}"))
            .send()
            .await
            .expect("sent");
        assert_problem(read, 403, "forbidden").await;
        let created = app
            .post_as(&caller, "/api/v1/rules")
            .json(&json!({"name": "mine", "kind": "objective"}))
            .send()
            .await
            .expect("sent");
        assert_problem(created, 403, "forbidden").await;
        assert_problem(upload(&app, &caller, rule, REVENUE).await, 403, "forbidden").await;
    }
    let duplicate = app
        .post_as(&admin, "/api/v1/rules")
        .json(&json!({"name": "Secret sauce", "kind": "objective"}))
        .send()
        .await
        .expect("sent");
    assert_problem(duplicate, 409, "already_exists").await;
    let bad_kind = app
        .post_as(&admin, "/api/v1/rules")
        .json(&json!({"name": "x", "kind": "magic"}))
        .send()
        .await
        .expect("sent");
    assert_problem(bad_kind, 400, "invalid_body").await;
}

async fn run_test(app: &TestApp, admin: &Caller, rule: Uuid, version: i64, input: Value) -> Value {
    let response = app
        .post_as(
            admin,
            &format!("/api/v1/rules/{rule}/versions/{version}/test"),
        )
        .json(&input)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

#[actix_web::test]
async fn a_version_runs_on_sample_data_without_writing_anything() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rule = new_rule(&app, &admin, "Units", "objective").await;
    let v = uploaded(&app, &admin, rule, UNITS_OF_SKU).await;
    let outcome = run_test(
        &app,
        &admin,
        rule,
        v,
        json!({
            "params": {"sku": "ESP-01"},
            "sales": [
                {"product": "ESP-01", "quantity": 3, "amount": 4500},
                {"product": "ESP-01", "quantity": -1, "amount": -1500},
                {"product": "MILK", "quantity": 9, "amount": 900}
            ]
        }),
    )
    .await;
    assert_eq!(outcome["ok"], true, "{outcome}");
    assert_eq!(
        outcome["output"],
        json!({"score": "2", "qualified": true, "detail": "2 units of ESP-01"})
    );

    // A parameter the script needs and the test did not give: a runtime error, located.
    let outcome = run_test(&app, &admin, rule, v, json!({"sales": []})).await;
    assert_eq!(outcome["ok"], false);
    assert_eq!(outcome["errors"][0]["line"], 4, "{outcome}");

    let allocation = new_rule(&app, &admin, "Winner takes the machine", "allocation").await;
    let source = "fn allocate(standings, rewards, ctx) {\n    [#{ participant: standings[0].participant, reward: rewards[0].id, note: \"1st\" }]\n}";
    let v = uploaded(&app, &admin, allocation, source).await;
    let outcome = run_test(
        &app,
        &admin,
        allocation,
        v,
        json!({
            "standings": [{"participant": "p1", "rank": 1, "qualified": true}, {"participant": "p2", "rank": 2, "qualified": true}],
            "rewards": [{"id": "machine", "kind": "gift", "value": 45000, "stock": 1}]
        }),
    )
    .await;
    assert_eq!(
        outcome["output"]["awards"],
        json!([{"participant": "p1", "reward": "machine", "quantity": 1, "value": 45000, "note": "1st"}])
    );
    // Not enough stock: refused, with the reason.
    let outcome = run_test(
        &app,
        &admin,
        allocation,
        v,
        json!({"standings": [{"participant": "p1"}], "rewards": [{"id": "machine", "stock": 0}]}),
    )
    .await;
    assert_eq!(outcome["ok"], false);
    assert!(
        outcome["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("stock")),
        "{outcome}"
    );

    let bad = app
        .post_as(
            &admin,
            &format!("/api/v1/rules/{allocation}/versions/{v}/test"),
        )
        .json(&json!({"params": [1, 2]}))
        .send()
        .await
        .expect("sent");
    // `params` is an object in the schema: anything else cannot be read, named.
    assert_eq!(
        fields_at_fault(&assert_problem(bad, 400, "invalid_body").await),
        ["params"]
    );
}

#[actix_web::test]
async fn an_endless_rule_stops_fast_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rule = new_rule(&app, &admin, "Forever", "objective").await;
    let v = uploaded(
        &app,
        &admin,
        rule,
        "fn score(participant, sales, ctx) { let n = 0; loop { n += 1; } }",
    )
    .await;
    let started = Instant::now();
    let (outcome, health) =
        futures_util::future::join(run_test(&app, &admin, rule, v, json!({})), async {
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
            app.get("/healthz").send().await.expect("sent").status()
        })
        .await;
    assert_eq!(health, 200);
    assert_eq!(outcome["ok"], false);
    let message = outcome["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("operations") || message.contains("time"),
        "{outcome}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The finding that took the server down: a rule that asked for 1.6 GB in one `replace`
/// aborted the process. Now it is refused at once, with where, and the server keeps
/// serving; as does a rule that hoards memory in map keys, which no size limit counts.
#[actix_web::test]
async fn a_rule_that_would_exhaust_memory_is_stopped_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let objective = new_rule(&app, &admin, "Bomb", "objective").await;
    // As an allocation (10 s to run), the hoarder meets the memory budget, not its time.
    let allocation = new_rule(&app, &admin, "Hoarder", "allocation").await;
    for (rule, source, expected, line) in [
        (
            objective,
            "fn score(participant, sales, ctx) {\n  let s = \"\";\n  s.pad(40000, \"y\");\n  let t = s;\n  t.replace(\"y\", s);\n  t.len()\n}",
            "too large",
            5,
        ),
        (
            allocation,
            "fn allocate(standings, rewards, ctx) {\n  let k = \"\"; k.pad(1000000, \"k\");\n  let m = #{}; let i = 0;\n  loop { m[k + i] = i; i += 1; }\n}",
            "memory",
            4,
        ),
    ] {
        let v = uploaded(&app, &admin, rule, source).await;
        let outcome = run_test(&app, &admin, rule, v, json!({})).await;
        assert_eq!(outcome["ok"], false);
        let error = &outcome["errors"][0];
        assert!(
            error["message"].as_str().is_some_and(|m| m.contains(expected)),
            "{outcome}"
        );
        assert_eq!(error["line"], line, "{outcome}");
        assert!(error["column"].as_u64().is_some(), "{outcome}");
        let health = app.get("/healthz").send().await.expect("the server still answers");
        assert_eq!(health.status(), 200);
    }
}

/// A January 2026 competition scored by a rule version.
fn scripted_competition(rule: Uuid, version: i64) -> Value {
    json!({
        "name": "Espresso units",
        "kind": "competition",
        "rules_text": "Units of ESP-200 sold in January.",
        "starts_at": "2026-01-01T00:00:00Z",
        "ends_at": "2026-02-01T00:00:00Z",
        "objective": {"type": "script", "rule_id": rule, "version": version, "params": {"sku": "ESP-200"}},
        "standings_visible": true
    })
}

fn sale(participant: Uuid, external_id: &str, quantity: i64, amount: i64) -> Value {
    json!({
        "participant_id": participant, "sold_at": "2026-01-15T10:00:00Z", "product_sku": "ESP-200",
        "customer_reference": "C-1", "quantity": quantity, "amount_cents": amount, "currency": "EUR",
        "source": "erp", "external_id": external_id,
    })
}

/// Two reps: `many` sold 3 units for 300, `rich` 1 unit for 5,000.
struct Race {
    world: World,
    many: Uuid,
    rich: Uuid,
    rule: Uuid,
    challenge: Uuid,
}

async fn race(app: &TestApp, admin: &Caller) -> Race {
    let world = World::new(app).await;
    let many = app
        .named_participant("Many", world.company, Some(world.region), None)
        .await;
    let rich = app
        .named_participant("Rich", world.company, Some(world.region), None)
        .await;
    let response = post_sales(
        app,
        admin,
        vec![sale(many, "m1", 3, 300), sale(rich, "r1", 1, 5_000)],
    )
    .await;
    assert_eq!(response.status(), 201);
    let rule = new_rule(app, admin, "Units of a SKU", "objective").await;
    let v = uploaded(app, admin, rule, UNITS_OF_SKU).await;
    let created = app
        .create("/api/v1/challenges", scripted_competition(rule, v))
        .await;
    let challenge = created["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an id");
    for action in ["schedule", "start"] {
        let response = app
            .post_as(admin, &format!("/api/v1/challenges/{challenge}/{action}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200, "{action}");
    }
    Race {
        world,
        many,
        rich,
        rule,
        challenge,
    }
}

fn ranks(page: &Value) -> Vec<(String, Option<u64>, Option<String>)> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| {
            (
                l["entrant"]["name"].as_str().unwrap_or_default().to_owned(),
                l["rank"].as_u64(),
                l["score"].as_str().map(str::to_owned),
            )
        })
        .filter(|(name, ..)| name == "Many" || name == "Rich")
        .collect()
}

#[actix_web::test]
async fn a_challenge_is_scored_by_its_rule_version_and_explained() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let race = race(&app, &admin).await;
    let page = app
        .get_json(
            &admin,
            &format!("/api/v1/challenges/{}/standings", race.challenge),
        )
        .await;
    assert_eq!(
        ranks(&page),
        [
            ("Many".to_owned(), Some(1), Some("3".to_owned())),
            ("Rich".to_owned(), Some(2), Some("1".to_owned()))
        ]
    );
    assert_eq!(page["items"][0]["value_unit"], "points");
    assert_eq!(page["items"][0]["detail"], "3 units of ESP-200");

    let participant = app.user_scoped("participant", Some(race.many)).await;
    let line = app
        .get_json(
            &participant,
            &format!(
                "/api/v1/challenges/{}/standings/{}",
                race.challenge, race.many
            ),
        )
        .await;
    let explanation: Vec<&str> = line["explanation"]
        .as_array()
        .expect("explanation")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        explanation.contains(&"rule: 3 units of ESP-200"),
        "{explanation:?}"
    );

    // A new upload does not change the challenge: it names version 1.
    uploaded(&app, &admin, race.rule, REVENUE).await;
    let page = app
        .get_json(
            &admin,
            &format!("/api/v1/challenges/{}/standings", race.challenge),
        )
        .await;
    assert_eq!(ranks(&page)[0].0, "Many");

    // A sale shows in the next read.
    let response = post_sales(&app, &admin, vec![sale(race.rich, "r2", 5, 100)]).await;
    assert_eq!(response.status(), 201);
    let page = app
        .get_json(
            &admin,
            &format!("/api/v1/challenges/{}/standings", race.challenge),
        )
        .await;
    assert_eq!(
        ranks(&page)[0],
        ("Rich".to_owned(), Some(1), Some("6".to_owned()))
    );
    let _ = race.world;
}

#[actix_web::test]
async fn a_challenge_refuses_a_rule_that_does_not_fit() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let objective = new_rule(&app, &admin, "Units", "objective").await;
    uploaded(&app, &admin, objective, UNITS_OF_SKU).await;
    let allocation = new_rule(&app, &admin, "Podium", "allocation").await;
    let post = |body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            app.post_as(admin, "/api/v1/challenges")
                .json(&body)
                .send()
                .await
                .expect("sent")
        }
    };
    let cases = [
        (scripted_competition(Uuid::new_v4(), 1), "objective.rule_id"),
        (scripted_competition(allocation, 1), "objective.rule_id"),
        (scripted_competition(objective, 7), "objective.version"),
        (scripted_competition(objective, 0), "objective.version"),
    ];
    for (body, field) in cases {
        let problem = assert_problem(post(body).await, 422, "validation_failed").await;
        assert_eq!(fields_at_fault(&problem), [field], "{problem}");
    }
    let mut fair = scripted_competition(objective, 1);
    fair["fairness"] = json!({"divide_by_potential": true});
    let problem = assert_problem(post(fair).await, 422, "validation_failed").await;
    assert_eq!(fields_at_fault(&problem), ["fairness.divide_by_potential"]);
    let listed = app.get_json(&admin, "/api/v1/challenges").await;
    assert_eq!(listed["total"], 0, "nothing written");
}

#[actix_web::test]
async fn a_simulation_shows_who_moves_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let race = race(&app, &admin).await;
    let revenue = uploaded(&app, &admin, race.rule, REVENUE).await;
    let path = format!("/api/v1/challenges/{}/simulate", race.challenge);
    let response = app
        .post_as(&admin, &path)
        .json(&json!({"objective": {"type": "script", "rule_id": race.rule, "version": revenue}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let simulation: Value = response.json().await.expect("JSON");
    assert_eq!(simulation["moved"], 2, "{simulation}");
    // The two reps without sales keep their rank; only their rule detail changes.
    let changes = simulation["changes"].as_array().expect("changes");
    assert_eq!(simulation["total_changes"], 4);
    assert_eq!(changes[2]["rank_change"], 0);
    assert_eq!(changes[0]["entrant"]["id"], race.rich.to_string());
    assert_eq!(changes[0]["rank_change"], 1);
    assert_eq!(changes[0]["current"]["rank"], 2);
    assert_eq!(changes[0]["simulated"]["rank"], 1);
    assert_eq!(changes[0]["score_change"], "4999");
    assert_eq!(changes[1]["entrant"]["id"], race.many.to_string());
    assert_eq!(changes[1]["rank_change"], -1);

    // A threshold of 2 units with the challenge's own rule: only Many (3 units) passes.
    let response = app
        .post_as(&admin, &path)
        .json(&json!({"threshold": {"basis": "raw", "minimum": "2"}}))
        .send()
        .await
        .expect("sent");
    let simulation: Value = response.json().await.expect("JSON");
    assert_eq!(simulation["no_longer_qualified"], 3, "{simulation}");
    assert_eq!(simulation["changes"][0]["entrant"]["name"], "Rich");
    assert_eq!(simulation["changes"][0]["simulated"]["rank"], Value::Null);

    let page = app
        .get_json(
            &admin,
            &format!("/api/v1/challenges/{}/standings", race.challenge),
        )
        .await;
    assert_eq!(ranks(&page)[0].0, "Many", "the challenge is unchanged");
    let challenge = app
        .get_json(&admin, &format!("/api/v1/challenges/{}", race.challenge))
        .await;
    assert_eq!(challenge["objective"]["version"], 1);

    let bad = app
        .post_as(&admin, &path)
        .json(&json!({"objective": {"type": "script", "rule_id": race.rule, "version": 42}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        fields_at_fault(&assert_problem(bad, 422, "validation_failed").await),
        ["objective.version"]
    );
    let participant = app.user_scoped("participant", Some(race.many)).await;
    let forbidden = app
        .post_as(&participant, &path)
        .json(&json!({}))
        .send()
        .await
        .expect("sent");
    assert_problem(forbidden, 403, "forbidden").await;
}

#[actix_web::test]
async fn changing_the_version_of_a_running_challenge_is_recorded() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let race = race(&app, &admin).await;
    let revenue = uploaded(&app, &admin, race.rule, REVENUE).await;
    let path = format!("/api/v1/challenges/{}/rule-version", race.challenge);

    let missing_reason = app
        .post_as(&admin, &path)
        .json(&json!({"version": revenue, "reason": ""}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        fields_at_fault(&assert_problem(missing_reason, 422, "validation_failed").await),
        ["reason"]
    );
    for version in [9, 0, 1] {
        let refused = app
            .post_as(&admin, &path)
            .json(&json!({"version": version, "reason": "typo"}))
            .send()
            .await
            .expect("sent");
        assert_eq!(
            fields_at_fault(&assert_problem(refused, 422, "validation_failed").await),
            ["version"]
        );
    }

    // A built-in objective has no rule to change; a draft is edited with PUT.
    let mut builtin = scripted_competition(race.rule, 1);
    builtin["objective"] = json!({"type": "units"});
    let created = app.create("/api/v1/challenges", builtin).await;
    let builtin = created["id"].as_str().expect("an id").to_owned();
    let change = |id: String| {
        let app = &app;
        let admin = &admin;
        async move {
            app.post_as(admin, &format!("/api/v1/challenges/{id}/rule-version"))
                .json(&json!({"version": 1, "reason": "x"}))
                .send()
                .await
                .expect("sent")
        }
    };
    assert_problem(change(builtin.clone()).await, 409, "not_published").await;
    let scheduled = app
        .post_as(&admin, &format!("/api/v1/challenges/{builtin}/schedule"))
        .send()
        .await
        .expect("sent");
    assert_eq!(scheduled.status(), 200);
    assert_problem(change(builtin).await, 409, "no_rule").await;
    let participant = app.user_scoped("participant", Some(race.many)).await;
    let forbidden = app
        .post_as(&participant, &path)
        .json(&json!({"version": revenue, "reason": "x"}))
        .send()
        .await
        .expect("sent");
    assert_problem(forbidden, 403, "forbidden").await;

    let response = app
        .post_as(&admin, &path)
        .json(&json!({"version": revenue, "reason": "Revenue is what we meant"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let challenge: Value = response.json().await.expect("JSON");
    assert_eq!(challenge["objective"]["version"], revenue);
    let page = app
        .get_json(
            &admin,
            &format!("/api/v1/challenges/{}/standings", race.challenge),
        )
        .await;
    assert_eq!(
        ranks(&page)[0],
        ("Rich".to_owned(), Some(1), Some("5000".to_owned()))
    );

    let changes = app
        .get_json(
            &admin,
            &format!("/api/v1/challenges/{}/rule-changes", race.challenge),
        )
        .await;
    assert_eq!(changes["total"], 1);
    assert_eq!(changes["items"][0]["from_version"], 1);
    assert_eq!(changes["items"][0]["to_version"], revenue);
    assert_eq!(changes["items"][0]["reason"], "Revenue is what we meant");
    assert_eq!(changes["items"][0]["changed_by"], admin.id.to_string());

    // Participants see the rule's name and version, never its parameters.
    let seen = app
        .get_json(
            &participant,
            &format!("/api/v1/challenges/{}", race.challenge),
        )
        .await;
    assert_eq!(seen["objective"]["version"], revenue);
    assert_eq!(seen["objective"]["params"], json!({}));
    let seen = app
        .get_json(&admin, &format!("/api/v1/challenges/{}", race.challenge))
        .await;
    assert_eq!(seen["objective"]["params"], json!({"sku": "ESP-200"}));

    let close = app
        .post_as(
            &admin,
            &format!("/api/v1/challenges/{}/close", race.challenge),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(close.status(), 200);
    let frozen = app
        .post_as(&admin, &path)
        .json(&json!({"version": 1, "reason": "too late"}))
        .send()
        .await
        .expect("sent");
    assert_problem(frozen, 409, "frozen").await;
    let page = app
        .get_json(
            &participant,
            &format!("/api/v1/challenges/{}/standings", race.challenge),
        )
        .await;
    assert_eq!(page["frozen"], true);
    assert_eq!(ranks(&page)[0].0, "Rich");
}

#[actix_web::test]
async fn a_failing_rule_is_explained_to_admins_only_and_blocks_the_close() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let race = race(&app, &admin).await;
    // Fails only for an entrant with sales above 1,000: live data can break a rule.
    let fragile = "fn score(participant, sales, ctx) {\n    if sales.amount() > 1000 { throw \"too rich for this rule\"; }\n    sales.quantity()\n}";
    let v = uploaded(&app, &admin, race.rule, fragile).await;
    let response = app
        .post_as(
            &admin,
            &format!("/api/v1/challenges/{}/rule-version", race.challenge),
        )
        .json(&json!({"version": v, "reason": "try the fragile one"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);

    let standings = format!("/api/v1/challenges/{}/standings", race.challenge);
    let for_admin = app.get_as(&admin, &standings).send().await.expect("sent");
    let problem = assert_problem(for_admin, 500, "rule_failed").await;
    assert_eq!(problem["script_errors"][0]["line"], 2, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("too rich")),
        "{problem}"
    );

    let participant = app.user_scoped("participant", Some(race.many)).await;
    let manager = app.user_scoped("manager", Some(race.world.region)).await;
    for caller in [&participant, &manager] {
        for path in [standings.clone(), format!("{standings}/{}", race.many)] {
            let response = app.get_as(caller, &path).send().await.expect("sent");
            let problem = assert_problem(response, 500, "rule_failed").await;
            assert!(problem.get("script_errors").is_none(), "{problem}");
            assert!(!problem.to_string().contains("too rich"), "{problem}");
        }
    }

    let close = app
        .post_as(
            &admin,
            &format!("/api/v1/challenges/{}/close", race.challenge),
        )
        .send()
        .await
        .expect("sent");
    // Closing is refused (409) with the reason, and nothing is frozen.
    let problem = assert_problem(close, 409, "rule_failed").await;
    assert_eq!(problem["script_errors"][0]["line"], 2, "{problem}");

    // Simulating the fix works even though the current rule fails.
    let response = app
        .post_as(&admin, &format!("/api/v1/challenges/{}/simulate", race.challenge))
        .json(&json!({"objective": {"type": "script", "rule_id": race.rule, "version": 1, "params": {"sku": "ESP-200"}}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let simulation: Value = response.json().await.expect("JSON");
    assert_eq!(simulation["current_error"]["line"], 2, "{simulation}");
    assert_eq!(simulation["changes"][0]["entrant"]["name"], "Many");

    // Simulating a candidate that fails says why, with a 200: nothing moves.
    let response = app
        .post_as(
            &admin,
            &format!("/api/v1/challenges/{}/simulate", race.challenge),
        )
        .json(&json!({"objective": {"type": "script", "rule_id": race.rule, "version": v}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let simulation: Value = response.json().await.expect("JSON");
    assert_eq!(simulation["simulated_error"]["line"], 2, "{simulation}");
    assert_eq!(simulation["total_changes"], 0);
    let challenge = app
        .get_json(&admin, &format!("/api/v1/challenges/{}", race.challenge))
        .await;
    assert_eq!(
        challenge["status"], "running",
        "nothing frozen, nothing moved"
    );
}

fn rules_test(dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_podium"))
        .args(["rules", "test"])
        .arg(dir)
        .output()
        .expect("podium runs")
}

#[test]
fn podium_rules_test_passes_the_examples_and_fails_on_a_mismatch() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let output = rules_test(&examples);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains(" 0 failed"), "{printed}");

    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        dir.path().join("units.rhai"),
        "fn score(participant, sales, ctx) { sales.quantity() }",
    )
    .expect("written");
    let fixture = |expected: i64| {
        json!({"kind": "objective", "cases": [{
            "name": "two lines",
            "input": {"sales": [{"quantity": 2}, {"quantity": 3}]},
            "expect": {"score": expected}
        }]})
        .to_string()
    };
    std::fs::write(dir.path().join("units.test.json"), fixture(5)).expect("written");
    assert!(rules_test(dir.path()).status.success());

    std::fs::write(dir.path().join("units.test.json"), fixture(6)).expect("written");
    let output = rules_test(dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("FAIL"));

    // A rule without fixtures is a failure, not a silent pass.
    std::fs::write(dir.path().join("units.test.json"), fixture(5)).expect("written");
    std::fs::write(
        dir.path().join("lonely.rhai"),
        "fn score(participant, sales, ctx) { 1 }",
    )
    .expect("written");
    assert_eq!(rules_test(dir.path()).status.code(), Some(1));
}

#[actix_web::test]
async fn a_team_rule_sees_its_members_lines_new_customers_and_baseline() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = World::new(&app).await;
    app.create(
        "/api/v1/customers",
        json!({"reference": "C-2", "name": "Café de la Gare", "key_account": false}),
    )
    .await;
    let team = app
        .create(
            "/api/v1/teams",
            json!({"name": "North", "organisation_id": world.company, "region_id": world.region}),
        )
        .await;
    let team: Uuid = team["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an id");
    let a = app
        .named_participant("A", world.company, Some(world.region), Some(team))
        .await;
    let b = app
        .named_participant("B", world.company, Some(world.region), Some(team))
        .await;
    let line = |who: Uuid, id: &str, at: &str, customer: &str, amount: i64| {
        json!({
            "participant_id": who, "sold_at": at, "product_sku": "ESP-200",
            "customer_reference": customer, "quantity": 1, "amount_cents": amount,
            "currency": "EUR", "source": "erp", "external_id": id,
        })
    };
    let response = post_sales(
        &app,
        &admin,
        vec![
            // Before the period, in the baseline: A already sells to C-1.
            line(a, "a0", "2025-12-10T10:00:00Z", "C-1", 100),
            // In the period: C-1 is not new to A, but new to B; C-2 is new to B.
            line(a, "a1", "2026-01-10T10:00:00Z", "C-1", 200),
            line(b, "b1", "2026-01-11T10:00:00Z", "C-2", 300),
            line(b, "b2", "2026-01-12T10:00:00Z", "C-1", 400),
        ],
    )
    .await;
    assert_eq!(response.status(), 201);
    let rule = new_rule(&app, &admin, "New customer lines", "objective").await;
    let source = "fn score(participant, sales, ctx) {\n    let new_lines = sales.new_customers();\n    #{ score: new_lines.len(), detail: `${participant.unit} ${sales.len()} lines, ${new_lines.amount()} new, baseline ${ctx.baseline.amount()}, from ${ctx.starts_on}` }\n}";
    let v = uploaded(&app, &admin, rule, source).await;
    let mut body = scripted_competition(rule, v);
    body["ranking_unit"] = json!("team");
    body["baseline_starts_at"] = json!("2025-12-01T00:00:00Z");
    body["baseline_ends_at"] = json!("2026-01-01T00:00:00Z");
    let created = app.create("/api/v1/challenges", body).await;
    let challenge = created["id"].as_str().expect("an id").to_owned();
    for action in ["schedule", "start"] {
        let response = app
            .post_as(&admin, &format!("/api/v1/challenges/{challenge}/{action}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200);
    }
    let page = app
        .get_json(&admin, &format!("/api/v1/challenges/{challenge}/standings"))
        .await;
    let north = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|l| l["entrant"]["id"] == team.to_string())
        .expect("the team's line")
        .clone();
    assert_eq!(north["score"], "2", "{north}");
    assert_eq!(
        north["detail"], "team 3 lines, 700 new, baseline 100, from 2026-01-01",
        "{north}"
    );
    assert_eq!(north["totals"]["revenue_cents"], 900);
    assert_eq!(north["totals"]["baseline_revenue_cents"], 100);
}
