//! The standings engine against a whole computation: random histories of sale batches,
//! reversals, moves between teams and regions, sector changes, key-account changes and
//! rule-version changes, through the real server, for every ranking unit, built-in
//! objectives and a rule objective. After every step each live table the server serves
//! equals `standings::compute` on the same database, line for line. And a one-line sale
//! re-scores one entrant of a rule-scored challenge, not the table.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, Caller, TestApp};
use crate::rules::{new_rule, uploaded};

/// A small deterministic generator (xorshift64*), so a failing history can be replayed
/// from its seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

async fn id_of(app: &TestApp, path: &str, body: Value) -> Uuid {
    app.create(path, body).await["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an id")
}

async fn send(_app: &TestApp, request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.expect("sent");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn patch(app: &TestApp, admin: &Caller, path: &str, body: Value) {
    send(
        app,
        app.http
            .patch(app.url(path))
            .bearer_auth(&admin.token)
            .json(&body),
    )
    .await;
}

async fn start(app: &TestApp, admin: &Caller, body: Value) -> Uuid {
    let id = id_of(app, "/api/v1/challenges", body).await;
    for action in ["schedule", "start"] {
        send(
            app,
            app.post_as(admin, &format!("/api/v1/challenges/{id}/{action}")),
        )
        .await;
    }
    id
}

fn challenge(name: &str, extra: Value) -> Value {
    let mut body = json!({
        "name": name, "kind": "competition", "rules_text": "For the engine's tests.",
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z",
        "objective": {"type": "revenue"},
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

/// What must be equal between the served table and a whole computation.
fn essence(lines: &[Value]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| {
            json!([
                l["entrant"]["id"],
                l["entrant"]["name"],
                l["rank"],
                l["raw_value"],
                l["score"],
                l["qualified"],
                l["tied"],
                l["tie_break"],
                l["progress_percent"],
                l["totals"]
            ])
        })
        .collect()
}

/// The whole table through the server (pages of 200).
async fn served(app: &TestApp, admin: &Caller, id: Uuid) -> Vec<Value> {
    let mut lines = Vec::new();
    loop {
        let page: Value = app
            .get_json(
                admin,
                &format!(
                    "/api/v1/challenges/{id}/standings?limit=200&offset={}",
                    lines.len()
                ),
            )
            .await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let done = items.len() < 200;
        lines.extend(items);
        if done {
            return lines;
        }
    }
}

/// The whole table computed from scratch on the database, as the API shows it.
fn from_scratch(app: &TestApp, runner: &podium::rules::RuleRunner, id: Uuid) -> Vec<Value> {
    use podium::challenges::standings::{self, Challenge};
    let mut conn = app.connect();
    let row = podium::models::challenge::find(&mut conn, id)
        .expect("read")
        .expect("challenge");
    let challenge = Challenge::try_from(&row).expect("challenge");
    let table = standings::compute(&mut conn, &challenge, runner).expect("computed");
    let unit = challenge.definition.objective.unit();
    table
        .lines
        .into_iter()
        .map(|line| {
            let line = podium::challenges::standings::EntrantLine::clone(&line);
            serde_json::to_value(podium::api::standings::StandingLineDto::new(line, unit))
                .expect("JSON")
        })
        .collect()
}

/// An engine of our own on the app's database, whose rule runner we can count.
fn counted_engine(
    app: &TestApp,
) -> (
    Arc<podium::challenges::engine::Engine>,
    Arc<podium::rules::RuleRunner>,
) {
    let url = podium::db::DatabaseUrl::parse(&app.database_url);
    let pool = podium::db::Pool::connect(&url, 2, Duration::from_secs(5)).expect("pool");
    let runner = Arc::new(runner());
    let engine = podium::challenges::engine::Engine::start(
        pool,
        Arc::clone(&runner),
        podium::news::bus::shared(),
        Duration::from_millis(20),
    )
    .expect("engine");
    (engine, runner)
}

fn runner() -> podium::rules::RuleRunner {
    let settings = crate::helpers::test_settings(String::new());
    podium::rules::RuleRunner::new(settings.rule_limits(), 1)
}

fn sale(participant: Uuid, external_id: &str, day: u32, customer: &str, amount: i64) -> Value {
    json!({
        "participant_id": participant, "sold_at": format!("2025-12-{:02}T10:00:00Z", 1 + day % 28),
        "product_sku": "ESP-200", "customer_reference": customer, "quantity": 1 + amount % 3,
        "amount_cents": amount, "currency": "EUR", "source": "erp", "external_id": external_id,
    })
}

#[actix_web::test]
async fn live_tables_equal_a_whole_computation_after_every_change() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let company = app.organisation("company").await;
    let distributor = app.organisation("distributor").await;
    let regions = [
        app.region("1.0", "0.2").await,
        app.region("1.6", "0.5").await,
        app.region("0.8", "0.1").await,
    ];
    let teams = [
        id_of(
            &app,
            "/api/v1/teams",
            json!({"name": "Nord", "organisation_id": company}),
        )
        .await,
        id_of(
            &app,
            "/api/v1/teams",
            json!({"name": "Sud", "organisation_id": company}),
        )
        .await,
    ];
    app.espresso_and_hotel().await;
    let customers = ["C-1", "C-2", "C-3", "C-4"];
    for reference in &customers[1..] {
        app.create(
            "/api/v1/customers",
            json!({"reference": reference, "name": format!("Client {reference}")}),
        )
        .await;
    }
    let mut reps = Vec::new();
    for n in 0..8 {
        let organisation = if n < 6 { company } else { distributor };
        let team = (n < 6).then(|| teams[n % 2]);
        reps.push(
            app.named_participant(
                &format!("Rep {n}"),
                organisation,
                Some(regions[n % 3]),
                team,
            )
            .await,
        );
    }
    let rule = new_rule(&app, &admin, "units and customers", "objective").await;
    let v1 = uploaded(
        &app,
        &admin,
        rule,
        "fn score(participant, sales, ctx) { sales.quantity() * 100 + sales.new_customers().len() }",
    )
    .await;
    let v2 = uploaded(
        &app,
        &admin,
        rule,
        "fn score(participant, sales, ctx) { sales.amount() / 3 }",
    )
    .await;
    let challenges = [
        start(
            &app,
            &admin,
            challenge(
                "fair revenue",
                json!({"fairness": {"divide_by_potential": true}, "tie_break": ["first_to_reach", "more_units"],
                       "starts_at": "2025-12-10T00:00:00Z",
                       "baseline_starts_at": "2025-12-01T00:00:00Z", "baseline_ends_at": "2025-12-10T00:00:00Z"}),
            ),
        )
        .await,
        start(
            &app,
            &admin,
            challenge(
                "team units",
                json!({"objective": {"type": "units"}, "ranking_unit": "team", "starts_at": "2025-12-01T00:00:00Z"}),
            ),
        )
        .await,
        start(
            &app,
            &admin,
            challenge(
                "region key accounts",
                json!({"objective": {"type": "key_account_revenue"}, "ranking_unit": "region", "starts_at": "2025-12-01T00:00:00Z"}),
            ),
        )
        .await,
        start(
            &app,
            &admin,
            challenge(
                "organisations win customers",
                json!({"objective": {"type": "new_customers"}, "ranking_unit": "organisation", "starts_at": "2025-12-15T00:00:00Z",
                       "tie_break": ["more_new_customers"]}),
            ),
        )
        .await,
        start(
            &app,
            &admin,
            challenge(
                "scripted",
                json!({"objective": {"type": "script", "rule_id": rule, "version": v1}, "starts_at": "2025-12-05T00:00:00Z",
                       "threshold": {"basis": "raw", "minimum": "150"}}),
            ),
        )
        .await,
    ];
    let scripted = challenges[4];
    let runner = runner();
    let mut random = Random(0x5eed_0f7a_b1e5);
    let mut recorded: Vec<(String, Uuid, i64)> = Vec::new();
    for step in 0..60 {
        match random.below(10) {
            0..=4 => {
                let lines: Vec<Value> = (0..1 + random.below(3))
                    .map(|i| {
                        let rep = *random.pick(&reps);
                        let id = format!("S-{step}-{i}");
                        let amount = 100 + (random.next() % 50_000) as i64;
                        recorded.push((id.clone(), rep, amount));
                        sale(
                            rep,
                            &id,
                            random.below(31) as u32,
                            customers[random.below(customers.len())],
                            amount,
                        )
                    })
                    .collect();
                send(
                    &app,
                    app.post_as(&admin, "/api/v1/sales")
                        .json(&json!({"sales": lines})),
                )
                .await;
            }
            5 if !recorded.is_empty() => {
                let (original, rep, amount) = random.pick(&recorded).clone();
                let mut reversal = sale(rep, &format!("R-{step}"), 27, "C-1", -amount);
                reversal["quantity"] = json!(0);
                reversal["reverses_external_id"] = json!(original);
                // A second reversal of the same line may exceed it: then it is refused.
                let _ = app
                    .post_as(&admin, "/api/v1/sales")
                    .json(&json!({"sales": [reversal]}))
                    .send()
                    .await
                    .expect("sent");
            }
            6 => {
                let rep = *random.pick(&reps[..6]);
                patch(
                    &app,
                    &admin,
                    &format!("/api/v1/participants/{rep}"),
                    json!({"team_id": random.pick(&teams), "region_id": random.pick(&regions)}),
                )
                .await;
            }
            7 => {
                let index = ["0.9", "1.25", "2.5", "1.0"];
                patch(
                    &app,
                    &admin,
                    &format!("/api/v1/regions/{}", random.pick(&regions)),
                    json!({"potential_index": random.pick(&index)}),
                )
                .await;
            }
            8 => {
                let customers: Value = app.get_json(&admin, "/api/v1/customers").await;
                let items = customers["items"].as_array().cloned().unwrap_or_default();
                let customer = random.pick(&items).clone();
                let flag = customer["key_account"].as_bool().unwrap_or(false);
                patch(
                    &app,
                    &admin,
                    &format!("/api/v1/customers/{}", customer["id"].as_str().expect("id")),
                    json!({"key_account": !flag}),
                )
                .await;
            }
            _ => {
                let version = if random.below(2) == 0 { v1 } else { v2 };
                let _ = app
                    .post_as(
                        &admin,
                        &format!("/api/v1/challenges/{scripted}/rule-version"),
                    )
                    .json(&json!({"version": version, "reason": "engine test"}))
                    .send()
                    .await
                    .expect("sent");
            }
        }
        for id in challenges {
            let live = served(&app, &admin, id).await;
            let whole = from_scratch(&app, &runner, id);
            assert_eq!(
                essence(&live),
                essence(&whole),
                "step {step}: the live table of {id} differs from a whole computation"
            );
        }
    }
    // The history moved every table.
    for id in challenges {
        assert!(!served(&app, &admin, id).await.is_empty());
    }
}

#[actix_web::test]
async fn a_one_line_sale_rescores_one_entrant_of_a_rule_scored_challenge() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let company = app.organisation("company").await;
    app.espresso_and_hotel().await;
    let mut reps = Vec::new();
    for n in 0..20 {
        reps.push(
            app.named_participant(&format!("Rep {n}"), company, None, None)
                .await,
        );
    }
    let rule = new_rule(&app, &admin, "revenue", "objective").await;
    let version = uploaded(
        &app,
        &admin,
        rule,
        "fn score(participant, sales, ctx) { sales.amount() }",
    )
    .await;
    let id = start(
        &app,
        &admin,
        challenge(
            "scripted",
            json!({"objective": {"type": "script", "rule_id": rule, "version": version}, "starts_at": "2025-12-01T00:00:00Z"}),
        ),
    )
    .await;
    let (engine, runner) = counted_engine(&app);
    let current = || async {
        engine
            .caught_up(app.latest_change())
            .await
            .expect("caught up");
        let live = engine.snapshot(id).expect("a live table");
        live.outcome.clone().expect("the rule runs")
    };
    let table = current().await;
    assert_eq!(table.lines.len(), 20);
    let built = runner.evaluations();
    assert_eq!(built, 20, "the build scores every entrant once");
    send(
        &app,
        app.post_as(&admin, "/api/v1/sales")
            .json(&json!({"sales": [sale(reps[7], "ONE", 12, "C-1", 4_200)]})),
    )
    .await;
    let table = current().await;
    assert_eq!(runner.evaluations() - built, 1, "one entrant re-scored");
    assert_eq!(table.lines[0].entrant_id(), reps[7]);
    assert_eq!(
        table.lines[0].line.score.map(|s| s.to_string()),
        Some("4200".to_owned())
    );
}

/// A rule that hits a limit of the sandbox as a live objective is reported (with where)
/// and then left alone: new sales do not run it again, as they would only hit the same
/// limit; a new rule version builds the table again.
#[actix_web::test]
async fn a_rule_that_hits_a_sandbox_limit_is_reported_and_not_run_on_every_sale() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let company = app.organisation("company").await;
    app.espresso_and_hotel().await;
    let rep = app.named_participant("Rep", company, None, None).await;
    let rule = new_rule(&app, &admin, "hoarder", "objective").await;
    let hoarder = "fn score(participant, sales, ctx) {\n  let k = \"\"; k.pad(1000000, \"k\");\n  let m = #{}; let i = 0;\n  loop { m[k + i] = i; i += 1; }\n}";
    let version = uploaded(&app, &admin, rule, hoarder).await;
    let id = start(
        &app,
        &admin,
        challenge(
            "hoarding",
            json!({"objective": {"type": "script", "rule_id": rule, "version": version}, "starts_at": "2025-12-01T00:00:00Z"}),
        ),
    )
    .await;
    let (engine, runner) = counted_engine(&app);
    let failure = || async {
        engine
            .caught_up(app.latest_change())
            .await
            .expect("caught up");
        let live = engine.snapshot(id).expect("a live state");
        live.outcome.clone().expect_err("the rule fails")
    };
    let first = failure().await;
    // Memory or time, whichever of the test settings' limits it reaches first.
    assert!(first.error.limit, "{first:?}");
    assert_eq!(first.error.line, Some(4), "{first:?}");
    let runs = runner.evaluations();
    for n in 0..3 {
        send(
            &app,
            app.post_as(&admin, "/api/v1/sales")
                .json(&json!({"sales": [sale(rep, &format!("S-{n}"), n, "C-1", 100)]})),
        )
        .await;
        assert_eq!(failure().await, first);
    }
    assert_eq!(runner.evaluations(), runs, "not run again on new sales");
    let fixed = uploaded(
        &app,
        &admin,
        rule,
        "fn score(participant, sales, ctx) { sales.amount() }",
    )
    .await;
    send(
        &app,
        app.post_as(&admin, &format!("/api/v1/challenges/{id}/rule-version"))
            .json(&json!({"version": fixed, "reason": "fix the hoarder"})),
    )
    .await;
    engine
        .caught_up(app.latest_change())
        .await
        .expect("caught up");
    let table = engine
        .snapshot(id)
        .expect("a live table")
        .outcome
        .clone()
        .expect("the fixed rule runs");
    assert_eq!(
        table.lines[0].line.score.map(|s| s.to_string()),
        Some("300".to_owned())
    );
}

#[actix_web::test]
async fn the_whole_table_exports_as_csv_and_ndjson_in_the_callers_view() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let company = app.organisation("company").await;
    let north = app.region("1.0", "0.2").await;
    let south = app.region("1.0", "0.2").await;
    app.espresso_and_hotel().await;
    let mut reps = Vec::new();
    for n in 0..205 {
        reps.push(
            app.named_participant(&format!("Rep {n:03}"), company, Some(north), None)
                .await,
        );
    }
    let formula = app
        .named_participant("=HYPERLINK(\"http://x\")", company, Some(south), None)
        .await;
    let lines: Vec<Value> = reps
        .iter()
        .chain([&formula])
        .enumerate()
        .map(|(n, rep)| sale(*rep, &format!("E-{n}"), 12, "C-1", 1_000 + n as i64))
        .collect();
    send(
        &app,
        app.post_as(&admin, "/api/v1/sales")
            .json(&json!({"sales": lines})),
    )
    .await;
    let id = start(
        &app,
        &admin,
        challenge("export", json!({"starts_at": "2025-12-01T00:00:00Z"})),
    )
    .await;
    let path = format!("/api/v1/challenges/{id}/standings");
    let export = |caller: &Caller, accept: &'static str| {
        app.get_as(caller, &path).header("accept", accept).send()
    };

    let response = export(&admin, "text/csv").await.expect("sent");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/csv"));
    assert_eq!(response.headers()["x-total-count"], "206");
    let text = response.text().await.expect("text");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 206, "every line, past the 200 of a page");
    assert_eq!(&rows[0][0], "1");
    assert_eq!(
        &rows[0][2], "'=HYPERLINK(\"http://x\")",
        "a formula is defused"
    );
    assert_eq!(&rows[0][6], "1205", "decimals as in JSON");

    // NDJSON: the same lines in the same order as the JSON pages.
    let response = export(&admin, "application/x-ndjson").await.expect("sent");
    let text = response.text().await.expect("text");
    let exported: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(essence(&exported), essence(&served(&app, &admin, id).await));

    // A manager exports its region only.
    let manager = app.user_scoped("manager", Some(south)).await;
    let text = export(&manager, "text/csv")
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert_eq!(text.lines().count(), 2, "{text}");
    // JSON stays the default.
    let page: Value = export(&admin, "*/*")
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(50));
}

/// Batches of two lines (one unit each for two reps) pour in while the challenge closes:
/// the frozen table holds whole batches only, and at least those acknowledged before the
/// close was asked for.
#[actix_web::test]
async fn a_close_during_ingestion_freezes_one_consistent_table() {
    let app = Arc::new(spawn_app().await);
    let admin = Arc::new(app.admin().await);
    let company = app.organisation("company").await;
    app.espresso_and_hotel().await;
    let a = app.named_participant("A", company, None, None).await;
    let b = app.named_participant("B", company, None, None).await;
    let id = start(
        &app,
        &admin,
        challenge("closing", json!({"objective": {"type": "units"}, "starts_at": "2025-12-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"})),
    )
    .await;
    let acknowledged = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (app, admin, acknowledged, stop) = (
            Arc::clone(&app),
            Arc::clone(&admin),
            Arc::clone(&acknowledged),
            Arc::clone(&stop),
        );
        actix_web::rt::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let one = |rep: Uuid, side: &str| {
                    let mut line = sale(rep, &format!("K-{n}-{side}"), 12, "C-1", 100);
                    line["quantity"] = json!(1);
                    line
                };
                let lines = vec![one(a, "a"), one(b, "b")];
                let response = app
                    .post_as(&admin, "/api/v1/sales")
                    .json(&json!({"sales": lines}))
                    .send()
                    .await
                    .expect("sent");
                assert_eq!(response.status(), 201);
                acknowledged.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                n += 1;
            }
        })
    };
    while acknowledged.load(std::sync::atomic::Ordering::SeqCst) < 20 {
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    let before = acknowledged.load(std::sync::atomic::Ordering::SeqCst);
    send(
        &app,
        app.post_as(&admin, &format!("/api/v1/challenges/{id}/close")),
    )
    .await;
    let after = acknowledged.load(std::sync::atomic::Ordering::SeqCst);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.await.expect("the writer stopped");
    let frozen = served(&app, &admin, id).await;
    let units = |rep: Uuid| {
        frozen
            .iter()
            .find(|l| l["entrant"]["id"] == rep.to_string())
            .and_then(|l| l["totals"]["units"].as_i64())
            .expect("a line")
    };
    assert_eq!(units(a), units(b), "whole batches only");
    // Every batch acknowledged before the close was asked for is in; a batch committed
    // just before the close may be acknowledged just after its answer, so the upper
    // bound is what was acknowledged in all.
    let total = acknowledged.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        before <= units(a) && units(a) <= total,
        "{before} ≤ {} ≤ {total} (acknowledged at the close's answer: {after})",
        units(a)
    );
    // Later sales do not move a frozen table.
    assert_eq!(served(&app, &admin, id).await, frozen);
}

/// The log forgets old changes but keeps its position (the last change), so numbering
/// goes on and an instance that fell behind the pruned part builds again.
#[actix_web::test]
async fn pruning_keeps_the_position_of_the_log() {
    use podium::models::change::{self, Change};
    let app = spawn_app().await;
    let mut conn = app.connect();
    let mut last = 0;
    for _ in 0..3 {
        last = conn
            .write_transaction(|conn| change::record(conn, &Change::Everything))
            .expect("recorded");
    }
    let removed = change::prune(
        &mut conn,
        podium::models::now() + chrono::Duration::hours(1),
    )
    .expect("pruned");
    assert!(removed >= 2, "{removed}");
    assert_eq!(change::latest(&mut conn).expect("latest"), last);
    assert_eq!(change::oldest(&mut conn).expect("oldest"), Some(last));
    let next = conn
        .write_transaction(|conn| change::record(conn, &Change::Everything))
        .expect("recorded");
    assert_eq!(next, last + 1, "numbering goes on after a prune");
    // The server's engine still serves (it applied or rebuilt).
    let admin = app.admin().await;
    let page: Value = app.get_json(&admin, "/api/v1/challenges").await;
    assert_eq!(page["total"], 0);
}

/// A challenge whose table cannot be built (its stored definition is corrupt) answers
/// 5xx on its own and never holds up the tables of the others.
#[actix_web::test]
async fn one_broken_challenge_never_stops_the_others() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    let admin = app.admin().await;
    let company = app.organisation("company").await;
    app.espresso_and_hotel().await;
    let rep = app.named_participant("Rep", company, None, None).await;
    let broken = start(
        &app,
        &admin,
        challenge("broken", json!({"starts_at": "2025-12-01T00:00:00Z"})),
    )
    .await;
    let healthy = start(
        &app,
        &admin,
        challenge("healthy", json!({"starts_at": "2025-12-01T00:00:00Z"})),
    )
    .await;
    let mut conn = app.connect();
    diesel::sql_query(format!(
        "UPDATE challenges SET definition = 'not json' WHERE id = '{broken}'"
    ))
    .execute(&mut conn)
    .expect("corrupted");
    // Tell the engine, as a write would.
    conn.write_transaction(|conn| {
        podium::models::change::record(
            conn,
            &podium::models::change::Change::Challenge { id: broken },
        )
    })
    .expect("recorded");
    send(
        &app,
        app.post_as(&admin, "/api/v1/sales")
            .json(&json!({"sales": [sale(rep, "B-1", 12, "C-1", 5_000)]})),
    )
    .await;
    let lines = served(&app, &admin, healthy).await;
    assert_eq!(lines[0]["score"], "5000");
    let response = app
        .get_as(&admin, &format!("/api/v1/challenges/{broken}/standings"))
        .send()
        .await
        .expect("sent");
    assert!(response.status().is_server_error(), "{}", response.status());
}

/// The `Podium-Change` a response carries.
fn change_of(response: &reqwest::Response) -> Option<i64> {
    response
        .headers()
        .get("Podium-Change")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

#[actix_web::test]
async fn a_write_is_read_back_by_naming_its_change_on_any_instance() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let company = app.organisation("company").await;
    app.espresso_and_hotel().await;
    let rep = app.named_participant("Rep", company, None, None).await;
    let id = start(
        &app,
        &admin,
        challenge("read back", json!({"starts_at": "2025-12-01T00:00:00Z"})),
    )
    .await;
    // A second instance on the same database: it follows the same log.
    let other = podium::startup::Application::build(crate::helpers::test_settings(
        app.database_url.clone(),
    ))
    .expect("a second instance");
    let other_address = format!("http://127.0.0.1:{}", other.port());
    let other_handle = other.handle();
    actix_web::rt::spawn(other.run_until_stopped());
    let standings = format!("/api/v1/challenges/{id}/standings");

    let written = app
        .post_as(&admin, "/api/v1/sales")
        .json(&json!({"sales": [sale(rep, "R-1", 12, "C-1", 5_000)]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(written.status(), 201);
    let change = change_of(&written).expect("a write answers its change");
    assert!(change >= 1 && change <= app.latest_change());

    // Named, the write shows on either instance, and the answer says what it reflects.
    for address in [app.address.clone(), other_address.clone()] {
        let read = app
            .http
            .get(format!("{address}{standings}"))
            .bearer_auth(&admin.token)
            .header("Podium-Min-Change", change.to_string())
            .send()
            .await
            .expect("sent");
        assert_eq!(read.status(), 200);
        assert!(change_of(&read).expect("a live read answers its change") >= change);
        let page: Value = read.json().await.expect("JSON");
        assert_eq!(page["items"][0]["score"], "5000", "on {address}");
        let line = app
            .http
            .get(format!("{address}{standings}/{rep}"))
            .bearer_auth(&admin.token)
            .header("Podium-Min-Change", change.to_string())
            .send()
            .await
            .expect("sent");
        assert!(change_of(&line).expect("one line answers its change") >= change);
        assert_eq!(line.json::<Value>().await.expect("JSON")["score"], "5000");
    }

    // Unnamed, a read is served at once from the table as it is, and says which.
    let read = app
        .http
        .get(app.url(&standings))
        .bearer_auth(&admin.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(read.status(), 200);
    assert!(change_of(&read).expect("its change") <= app.latest_change());

    // A number no write gave, or no number, is refused without waiting.
    let past = (app.latest_change() + 1_000).to_string();
    for bad in [past.as_str(), "-3", "soon"] {
        let refused = app
            .get(&standings)
            .bearer_auth(&admin.token)
            .header("Podium-Min-Change", bad)
            .send()
            .await
            .expect("sent");
        let problem = crate::helpers::assert_problem(refused, 400, "invalid_header").await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("Podium-Min-Change")),
            "{problem}"
        );
    }

    // A frozen table no longer changes: it names no change.
    send(
        &app,
        app.post_as(&admin, &format!("/api/v1/challenges/{id}/close")),
    )
    .await;
    let frozen = app.get_as(&admin, &standings).send().await.expect("sent");
    assert_eq!(frozen.status(), 200);
    assert_eq!(change_of(&frozen), None);
    drop(other_handle.stop(false));
}
