//! Challenges through their life, fair standings, visibility per role, frozen results.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, fields_at_fault, spawn_app, Caller, TestApp};
use crate::sales::{line, post_sales};

/// A revenue competition over January 2026 (in the past, so it can be started and
/// closed), adjusted by potential.
fn revenue_competition() -> Value {
    json!({
        "name": "January push",
        "kind": "competition",
        "rules_text": "Net revenue in January, divided by your region's potential index.",
        "starts_at": "2026-01-01T00:00:00Z",
        "ends_at": "2026-02-01T00:00:00Z",
        "objective": {"type": "revenue"},
        "fairness": {"divide_by_potential": true},
        "tie_break": ["first_to_reach"],
        "standings_visible": false
    })
}

async fn create_challenge(app: &TestApp, body: Value) -> Uuid {
    let created = app.create("/api/v1/challenges", body).await;
    created["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an id")
}

async fn act(app: &TestApp, admin: &Caller, id: Uuid, action: &str) -> reqwest::Response {
    app.post_as(admin, &format!("/api/v1/challenges/{id}/{action}"))
        .send()
        .await
        .expect("request sent")
}

async fn standings(app: &TestApp, caller: &Caller, id: Uuid) -> Value {
    let response = app
        .get_as(caller, &format!("/api/v1/challenges/{id}/standings"))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

fn entrants(page: &Value) -> Vec<(String, Option<u64>)> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| {
            (
                l["entrant"]["name"].as_str().expect("name").to_owned(),
                l["rank"].as_u64(),
            )
        })
        .collect()
}

/// Two reps of equal raw revenue in regions of different potential, and a distributor rep.
struct League {
    rich_region: Uuid,
    rich_rep: Uuid,
    poor_rep: Uuid,
    distributor: Uuid,
    distributor_rep: Uuid,
}

impl League {
    async fn new(app: &TestApp) -> Self {
        let company = app.organisation("company").await;
        let distributor = app.organisation("distributor").await;
        let rich_region = app.region("1.6", "0.5").await;
        let poor_region = app.region("0.8", "0.1").await;
        let rich_rep = app
            .named_participant("Rich", company, Some(rich_region), None)
            .await;
        let poor_rep = app
            .named_participant("Poor", company, Some(poor_region), None)
            .await;
        let distributor_rep = app
            .named_participant("Distri", distributor, Some(poor_region), None)
            .await;
        app.espresso_and_hotel().await;
        Self {
            rich_region,
            rich_rep,
            poor_rep,
            distributor,
            distributor_rep,
        }
    }
}

#[actix_web::test]
async fn fair_standings_move_with_each_sale_and_explain_themselves() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let league = League::new(&app).await;
    let id = create_challenge(&app, revenue_competition()).await;
    assert_eq!(act(&app, &admin, id, "schedule").await.status(), 200);
    assert_eq!(act(&app, &admin, id, "start").await.status(), 200);

    post_sales(
        &app,
        &admin,
        vec![
            line(league.rich_rep, "S-1", 160_000),
            line(league.poor_rep, "S-2", 160_000),
        ],
    )
    .await;
    let page = standings(&app, &admin, id).await;
    assert_eq!(page["frozen"], false);
    assert_eq!(
        entrants(&page),
        [
            ("Poor".into(), Some(1)),
            ("Rich".into(), Some(2)),
            ("Distri".into(), Some(3))
        ]
    );
    let poor = &page["items"][0];
    assert_eq!(poor["raw_value"], "160000");
    assert_eq!(poor["score"], "200000");
    assert_eq!(poor["adjustments"][0]["factor"], "0.8");

    // An acknowledged sale shows in the next read.
    post_sales(&app, &admin, vec![line(league.rich_rep, "S-3", 400_000)]).await;
    let page = standings(&app, &admin, id).await;
    assert_eq!(entrants(&page)[0], ("Rich".into(), Some(1)));

    let response = app
        .get_as(
            &admin,
            &format!("/api/v1/challenges/{id}/standings/{}", league.rich_rep),
        )
        .send()
        .await
        .expect("request sent");
    let line: Value = response.json().await.expect("JSON");
    assert_eq!(line["totals"]["revenue_cents"], 560_000);
    let explanation: Vec<&str> = line["explanation"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(explanation[0], "raw value: 560000 minor units");
    assert!(explanation[1].contains("potential index 1.6"));
    assert_eq!(explanation.last(), Some(&"rank: 1"));
}

#[actix_web::test]
async fn each_role_sees_only_its_lines() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let league = League::new(&app).await;
    let id = create_challenge(&app, revenue_competition()).await;
    act(&app, &admin, id, "schedule").await;
    act(&app, &admin, id, "start").await;
    post_sales(
        &app,
        &admin,
        vec![
            line(league.rich_rep, "V-1", 1_000),
            line(league.poor_rep, "V-2", 2_000),
        ],
    )
    .await;

    let rich = app.user_scoped("participant", Some(league.rich_rep)).await;
    let page = standings(&app, &rich, id).await;
    assert_eq!(
        entrants(&page),
        [("Rich".into(), Some(2))],
        "standings are not visible to all"
    );
    let response = app
        .get_as(
            &rich,
            &format!("/api/v1/challenges/{id}/standings/{}", league.poor_rep),
        )
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 404, "not_found").await;

    let manager = app.user_scoped("manager", Some(league.rich_region)).await;
    assert_eq!(
        entrants(&standings(&app, &manager, id).await),
        [("Rich".into(), Some(2))]
    );

    let partner = app.user_scoped("partner", Some(league.distributor)).await;
    assert_eq!(
        entrants(&standings(&app, &partner, id).await),
        [("Distri".into(), Some(3))]
    );

    // Drafts are the admins' alone.
    let draft = create_challenge(&app, revenue_competition()).await;
    let response = app
        .get_as(&rich, &format!("/api/v1/challenges/{draft}"))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 404, "not_found").await;
    let listed: Value = app.get_json(&rich, "/api/v1/challenges").await;
    assert_eq!(listed["total"], 1);
    let response = app
        .post_as(&rich, &format!("/api/v1/challenges/{draft}/schedule"))
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 403, "forbidden").await;
}

#[actix_web::test]
async fn closing_freezes_the_standings() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let league = League::new(&app).await;
    let mut body = revenue_competition();
    body["standings_visible"] = json!(true);
    let id = create_challenge(&app, body).await;
    let response = act(&app, &admin, id, "close").await;
    assert_problem(response, 409, "invalid_transition").await;
    act(&app, &admin, id, "schedule").await;
    act(&app, &admin, id, "start").await;
    post_sales(&app, &admin, vec![line(league.poor_rep, "F-1", 1_000)]).await;
    assert_eq!(act(&app, &admin, id, "close").await.status(), 200);
    let frozen = standings(&app, &admin, id).await;
    assert_eq!(frozen["frozen"], true);

    // A backdated sale after the close changes nothing.
    post_sales(&app, &admin, vec![line(league.rich_rep, "F-2", 9_000_000)]).await;
    let after = standings(&app, &admin, id).await;
    assert_eq!(after["items"], frozen["items"]);
    assert_eq!(entrants(&after)[0], ("Poor".into(), Some(1)));

    let response = act(&app, &admin, id, "close").await;
    assert_problem(response, 409, "invalid_transition").await;
    assert_eq!(act(&app, &admin, id, "announce").await.status(), 200);

    // Frozen lines keep their scope rules.
    let partner = app.user_scoped("partner", Some(league.distributor)).await;
    assert_eq!(
        entrants(&standings(&app, &partner, id).await),
        [("Distri".into(), Some(2))]
    );
    let rep = app
        .user_scoped("participant", Some(league.distributor_rep))
        .await;
    assert_eq!(
        standings(&app, &rep, id).await["total"],
        3,
        "standings_visible shows every line"
    );
}

#[actix_web::test]
async fn a_challenge_cannot_start_or_close_before_its_dates() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut body = revenue_competition();
    body["starts_at"] = json!("2099-01-01T00:00:00Z");
    body["ends_at"] = json!("2099-02-01T00:00:00Z");
    let id = create_challenge(&app, body).await;
    act(&app, &admin, id, "schedule").await;
    assert_problem(act(&app, &admin, id, "start").await, 409, "not_started_yet").await;

    let mut body = revenue_competition();
    body["ends_at"] = json!("2099-02-01T00:00:00Z");
    let id = create_challenge(&app, body).await;
    act(&app, &admin, id, "schedule").await;
    act(&app, &admin, id, "start").await;
    assert_problem(act(&app, &admin, id, "close").await, 409, "not_over_yet").await;

    // Only drafts change.
    let response = app
        .http
        .put(app.url(&format!("/api/v1/challenges/{id}")))
        .bearer_auth(&admin.token)
        .json(&revenue_competition())
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 409, "not_a_draft").await;
}

#[actix_web::test]
async fn incoherent_challenges_are_refused_field_by_field() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = json!({
        "name": "", "kind": "incentive", "rules_text": "r",
        "starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z",
        "currency": "euro",
        "objective": {"type": "revenue_growth"},
        "fairness": {"divide_by_potential": true},
        "audience": {"region_ids": [Uuid::new_v4()]}
    });
    let response = app
        .post_as(&admin, "/api/v1/challenges")
        .json(&body)
        .send()
        .await
        .expect("request sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(
        fields_at_fault(&problem),
        [
            "baseline_starts_at",
            "currency",
            "ends_at",
            "fairness.divide_by_potential",
            "name",
            "target"
        ]
    );
    let listed: Value = app.get_json(&admin, "/api/v1/challenges").await;
    assert_eq!(listed["total"], 0);

    let mut unknown_region = revenue_competition();
    unknown_region["audience"] = json!({"region_ids": [Uuid::new_v4()]});
    let response = app
        .post_as(&admin, "/api/v1/challenges")
        .json(&unknown_region)
        .send()
        .await
        .expect("request sent");
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "unknown_region");

    let mut unknown_objective = revenue_competition();
    unknown_objective["objective"] = json!({"type": "happiness"});
    let response = app
        .post_as(&admin, "/api/v1/challenges")
        .json(&unknown_objective)
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 400, "invalid_body").await;
}

#[actix_web::test]
async fn an_incentive_rewards_whoever_reaches_the_target_and_teams_add_up() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let league = League::new(&app).await;
    let body = json!({
        "name": "Ten thousand club", "kind": "incentive", "rules_text": "Reach 10,000 EUR in January.",
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z",
        "objective": {"type": "revenue"},
        "target": {"type": "absolute", "value": "1000000", "per_entrant": {league.poor_rep.to_string(): "500000"}},
    });
    let id = create_challenge(&app, body).await;
    act(&app, &admin, id, "schedule").await;
    act(&app, &admin, id, "start").await;
    // Individual targets stay between an entrant and the admins.
    let rich = app.user_scoped("participant", Some(league.rich_rep)).await;
    let seen: Value = app
        .get_json(&rich, &format!("/api/v1/challenges/{id}"))
        .await;
    assert_eq!(seen["target"]["per_entrant"], json!({}));
    assert_eq!(seen["target"]["value"], "1000000");
    post_sales(
        &app,
        &admin,
        vec![
            line(league.rich_rep, "T-1", 900_000),
            line(league.poor_rep, "T-2", 600_000),
        ],
    )
    .await;
    let page = standings(&app, &admin, id).await;
    let by_name = |name: &str| {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|l| l["entrant"]["name"] == name)
            .cloned()
            .expect("line")
    };
    assert_eq!(by_name("Poor")["qualified"], true);
    assert_eq!(by_name("Poor")["progress_percent"], "120");
    assert_eq!(by_name("Rich")["qualified"], false);
    assert_eq!(by_name("Rich")["reached"], false);

    // New customers, ranked by organisation.
    let body = json!({
        "name": "Conquest", "kind": "competition", "rules_text": "New customers in January.",
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z",
        "objective": {"type": "new_customers"}, "ranking_unit": "organisation",
    });
    let id = create_challenge(&app, body).await;
    act(&app, &admin, id, "schedule").await;
    act(&app, &admin, id, "start").await;
    post_sales(&app, &admin, vec![line(league.distributor_rep, "T-3", 100)]).await;
    // The company's two reps each won C-1 (2); the distributor's rep won it too (1).
    let page = standings(&app, &admin, id).await;
    assert_eq!(page["items"][0]["raw_value"], "2");
    assert_eq!(page["items"][0]["totals"]["new_customers"], 2);
    assert_eq!(
        page["items"][1]["entrant"]["id"],
        league.distributor.to_string()
    );
    assert_eq!(page["items"][1]["raw_value"], "1");
    assert_eq!(page["items"][1]["entrant"]["unit"], "organisation");
}

#[actix_web::test]
async fn standings_follow_renames_and_survive_disjoint_product_lists() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let league = League::new(&app).await;
    let other = app
        .create(
            "/api/v1/products",
            json!({"sku": "GRD-10", "name": "Grinder", "category": "machines"}),
        )
        .await;
    let espresso: Value = app.get_json(&admin, "/api/v1/products?name=Espresso").await;
    // The audience counts only the espresso machine; the objective only the grinder.
    let body = json!({
        "name": "Nothing in common", "kind": "competition", "rules_text": "Grinders among espresso sales.",
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z",
        "objective": {"type": "product_units", "product_ids": [other["id"]]},
        "audience": {"product_ids": [espresso["items"][0]["id"]]},
        "ranking_unit": "organisation",
    });
    let id = create_challenge(&app, body).await;
    act(&app, &admin, id, "schedule").await;
    act(&app, &admin, id, "start").await;
    post_sales(&app, &admin, vec![line(league.distributor_rep, "D-1", 100)]).await;
    let page = standings(&app, &admin, id).await;
    assert_eq!(page["total"], 2);
    assert!(page["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|l| l["raw_value"] == "0" && l["totals"]["new_customers"].is_null()));

    // A renamed organisation shows under its new name at the next read.
    let response = app
        .http
        .patch(app.url(&format!("/api/v1/organisations/{}", league.distributor)))
        .bearer_auth(&admin.token)
        .json(&json!({"name": "Dupont & Fils"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let page = standings(&app, &admin, id).await;
    let names: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|l| l["entrant"]["name"].as_str())
        .collect();
    assert!(names.contains(&"Dupont & Fils"), "{names:?}");
}
