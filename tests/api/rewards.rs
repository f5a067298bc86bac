//! Rewards: the catalogue, reward plans, allocation at close (all or nothing), the
//! announcement, fulfilment and cancellation, certificates and the podium, per role.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, fields_at_fault, spawn_app, Caller, TestApp};
use crate::rules::{new_rule, uploaded};
use crate::sales::{post_sales, World};

async fn reward(app: &TestApp, name: &str, kind: Value, stock: Option<i64>) -> Uuid {
    let created = app
        .create(
            "/api/v1/rewards",
            json!({"name": name, "category": "classic", "kind": kind, "value_cents": 10_000, "stock": stock}),
        )
        .await;
    created["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an id")
}

#[actix_web::test]
async fn the_catalogue_holds_every_kind_and_refuses_bad_ones() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let product = app
        .create(
            "/api/v1/products",
            json!({"sku": "CAP-1", "name": "Capsules", "category": "capsules"}),
        )
        .await;
    let kinds = [
        json!({"type": "gift"}),
        json!({"type": "voucher", "provider": "Fnac"}),
        json!({"type": "free_goods", "product_id": product["id"], "quantity": 12}),
        json!({"type": "payment_terms", "days": 30}),
        json!({"type": "discount", "percent": "5"}),
        json!({"type": "premium", "amount_cents": 50_000}),
    ];
    for (n, kind) in kinds.iter().enumerate() {
        reward(&app, &format!("reward {n}"), kind.clone(), None).await;
    }
    let post = |body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            app.post_as(admin, "/api/v1/rewards")
                .json(&body)
                .send()
                .await
                .expect("sent")
        }
    };
    let bad = [
        (json!({"type": "discount", "percent": "0"}), "kind.percent"),
        (json!({"type": "payment_terms", "days": 400}), "kind.days"),
        (
            json!({"type": "premium", "amount_cents": 0}),
            "kind.amount_cents",
        ),
        (
            json!({"type": "free_goods", "product_id": Uuid::new_v4(), "quantity": 1}),
            "kind.product_id",
        ),
        (
            json!({"type": "free_goods", "product_id": product["id"], "quantity": 0}),
            "kind.quantity",
        ),
    ];
    for (kind, field) in bad {
        let body = json!({"name": "bad", "category": "trade", "kind": kind, "value_cents": 1});
        let problem = assert_problem(post(body).await, 422, "validation_failed").await;
        assert_eq!(fields_at_fault(&problem), [field], "{problem}");
    }
    let body = json!({"name": "bad", "category": "trade", "kind": {"type": "gift"}, "value_cents": -1, "currency": "eur", "stock": -2});
    let problem = assert_problem(post(body).await, 422, "validation_failed").await;
    assert_eq!(
        fields_at_fault(&problem),
        ["currency", "stock", "value_cents"]
    );
    let unknown_kind =
        json!({"name": "bad", "category": "trade", "kind": {"type": "car"}, "value_cents": 1});
    assert_problem(post(unknown_kind).await, 400, "invalid_body").await;

    let listed = app
        .get_json(&admin, "/api/v1/rewards?kind=free_goods")
        .await;
    assert_eq!(listed["total"], 1);
    let all = app.get_json(&admin, "/api/v1/rewards").await;
    assert_eq!(all["total"], 6, "nothing bad was written");

    // Everyone signed in reads the catalogue; only admins write it.
    let participant = app.user("participant").await;
    assert_eq!(
        app.get_json(&participant, "/api/v1/rewards").await["total"],
        6
    );
    let refused = app
        .post_as(&participant, "/api/v1/rewards")
        .json(&json!({"name": "mine", "category": "goodie", "kind": {"type": "gift"}, "value_cents": 1}))
        .send()
        .await
        .expect("sent");
    assert_problem(refused, 403, "forbidden").await;

    // Restocking replaces the reward's content.
    let id = all["items"][0]["id"].as_str().expect("id").to_owned();
    let response = app
        .put(&admin, &format!("/api/v1/rewards/{id}"))
        .json(&json!({"name": "restocked", "category": "goodie", "kind": {"type": "gift"}, "value_cents": 900, "stock": 40}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let replaced: Value = response.json().await.expect("JSON");
    assert_eq!(replaced["stock"], 40);
}

/// Three reps with 3,000, 2,000 and 1,000 of revenue in January 2026 and one without sales.
struct Contest {
    world: World,
    reps: Vec<Uuid>,
}

async fn contest(app: &TestApp, admin: &Caller) -> Contest {
    let world = World::new(app).await;
    let mut reps = Vec::new();
    let mut lines = Vec::new();
    for (n, amount) in [300_000, 200_000, 100_000, 0].into_iter().enumerate() {
        let rep = app
            .named_participant(&format!("Rep {n}"), world.company, Some(world.region), None)
            .await;
        if amount > 0 {
            lines.push(json!({
                "participant_id": rep, "sold_at": "2026-01-15T10:00:00Z", "product_sku": "ESP-200",
                "customer_reference": "C-1", "quantity": 1, "amount_cents": amount, "currency": "EUR",
                "source": "erp", "external_id": format!("s{n}"),
            }));
        }
        reps.push(rep);
    }
    assert_eq!(post_sales(app, admin, lines).await.status(), 201);
    Contest { world, reps }
}

async fn running_challenge(app: &TestApp, admin: &Caller, plan: Value) -> String {
    let created = app
        .create(
            "/api/v1/challenges",
            json!({
                "name": "January podium",
                "kind": "competition",
                "rules_text": "Net revenue in January. A podium of three and a mug for everyone.",
                "starts_at": "2026-01-01T00:00:00Z",
                "ends_at": "2026-02-01T00:00:00Z",
                "objective": {"type": "revenue"},
                "threshold": {"basis": "raw", "minimum": "150000"},
                "reward_plan": plan,
            }),
        )
        .await;
    let id = created["id"].as_str().expect("an id").to_owned();
    for action in ["schedule", "start"] {
        let response = act(app, admin, &id, action).await;
        assert_eq!(response.status(), 200, "{action}");
    }
    id
}

async fn act(app: &TestApp, caller: &Caller, id: &str, action: &str) -> reqwest::Response {
    app.post_as(caller, &format!("/api/v1/challenges/{id}/{action}"))
        .send()
        .await
        .expect("sent")
}

async fn stock(app: &TestApp, admin: &Caller, id: Uuid) -> Value {
    app.get_json(admin, &format!("/api/v1/rewards/{id}")).await["stock"].clone()
}

#[actix_web::test]
async fn closing_gives_the_podium_and_the_thank_you_then_announce_and_fulfil() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let contest = contest(&app, &admin).await;
    let gold = reward(&app, "Weekend", json!({"type": "gift"}), Some(1)).await;
    let silver = reward(&app, "Machine", json!({"type": "gift"}), Some(1)).await;
    let bronze = reward(&app, "Headphones", json!({"type": "gift"}), Some(5)).await;
    let mug = reward(&app, "Mug", json!({"type": "gift"}), None).await;
    let voucher = reward(&app, "Voucher", json!({"type": "voucher"}), Some(10)).await;
    let plan = json!({
        "by_rank": [
            {"rank": 1, "reward_id": gold}, {"rank": 2, "reward_id": silver}, {"rank": 3, "reward_id": bronze}
        ],
        "qualified": [{"reward_id": voucher, "quantity": 2}],
        "everyone": [{"reward_id": mug}],
    });
    let id = running_challenge(&app, &admin, plan).await;
    let shown = app
        .get_json(&admin, &format!("/api/v1/challenges/{id}"))
        .await;
    assert_eq!(
        shown["reward_plan"]["by_rank"][0]["reward_id"],
        gold.to_string()
    );

    assert_eq!(act(&app, &admin, &id, "close").await.status(), 200);
    let awards = app
        .get_json(
            &admin,
            &format!("/api/v1/awards?challenge_id={id}&limit=200"),
        )
        .await;
    // The threshold (1,500) ranks only the reps at 3,000 and 2,000: two places (nobody is
    // third), two vouchers for the qualified, and a mug for each of the six participants.
    let reasons: Vec<(&str, &str, i64)> = awards["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            (
                a["entrant"]["name"].as_str().unwrap_or_default(),
                a["reason"].as_str().unwrap_or_default(),
                a["quantity"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        reasons.iter().filter(|(_, r, _)| *r == "rank").count(),
        2,
        "only ranked lines win places: {reasons:?}"
    );
    assert!(reasons.contains(&("Rep 0", "rank", 1)));
    assert!(reasons.contains(&("Rep 1", "rank", 1)));
    assert_eq!(
        reasons.iter().filter(|(_, r, _)| *r == "qualified").count(),
        2
    );
    assert_eq!(
        reasons.iter().filter(|(_, r, _)| *r == "everyone").count(),
        6,
        "four reps and World's two"
    );
    let first = awards["items"][0].clone();
    assert_eq!(first["status"], "allocated");
    assert_eq!(first["allocated_by"], admin.id.to_string());
    assert_eq!(first["note"], "1st place");
    assert_eq!(first["audit"]["position"], 0);
    assert_eq!(
        first["audit"]["inputs_hash"].as_str().map(str::len),
        Some(64)
    );
    assert_eq!(stock(&app, &admin, gold).await, 0);
    assert_eq!(stock(&app, &admin, silver).await, 0);
    assert_eq!(stock(&app, &admin, bronze).await, 5, "nobody is third");
    assert_eq!(stock(&app, &admin, voucher).await, 6);

    // Closing twice does not allocate twice.
    assert_problem(
        act(&app, &admin, &id, "close").await,
        409,
        "invalid_transition",
    )
    .await;
    let again = app
        .get_json(&admin, &format!("/api/v1/awards?challenge_id={id}"))
        .await;
    assert_eq!(again["total"], awards["total"]);

    // Before the announcement: managers see their region's awards, participants nothing.
    let winner = app.user_scoped("participant", Some(contest.reps[0])).await;
    let manager = app.user_scoped("manager", Some(contest.world.region)).await;
    assert_eq!(app.get_json(&winner, "/api/v1/awards").await["total"], 0);
    assert_eq!(
        app.get_json(&winner, &format!("/api/v1/challenges/{id}/podium"))
            .await["places"],
        json!([])
    );
    assert!(app.get_json(&manager, "/api/v1/awards").await["total"].as_i64() > Some(0));
    let first_id = first["id"].as_str().expect("id").to_owned();
    let hidden = app
        .get_as(&winner, &format!("/api/v1/awards/{first_id}"))
        .send()
        .await
        .expect("sent");
    assert_problem(hidden, 404, "not_found").await;
    let early = app
        .post_as(&admin, &format!("/api/v1/awards/{first_id}/fulfil"))
        .send()
        .await
        .expect("sent");
    assert_problem(early, 409, "invalid_transition").await;

    assert_eq!(act(&app, &admin, &id, "announce").await.status(), 200);
    let mine = app.get_json(&winner, "/api/v1/awards").await;
    assert_eq!(mine["total"], 3, "a place, a voucher and a mug");
    assert!(mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|a| a["status"] == "announced"));
    assert_eq!(mine["items"][0]["announced_by"], admin.id.to_string());
    let podium = app
        .get_json(&winner, &format!("/api/v1/challenges/{id}/podium"))
        .await;
    assert_eq!(podium["places"][0]["entrant"]["name"], "Rep 0");
    assert_eq!(podium["places"][0]["reward_name"], "Weekend");
    assert_eq!(podium["places"][1]["rank"], 2);

    // A partner of another organisation sees none of it.
    let partner = app
        .user_scoped("partner", Some(contest.world.distributor))
        .await;
    let theirs = app.get_json(&partner, "/api/v1/awards").await;
    assert!(theirs["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|a| a["entrant"]["id"] == contest.world.distributor_rep.to_string()));

    // The certificate, for the winner; not for another participant.
    let page = app
        .get_as(&winner, &format!("/api/v1/awards/{first_id}/certificate"))
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/html"));
    crate::helpers::assert_secure_page(page.headers());
    let html = page.text().await.expect("text");
    assert!(
        html.contains("Rep 0") && html.contains("1st place") && html.contains("January podium")
    );
    let other = app.user_scoped("participant", Some(contest.reps[1])).await;
    let refused = app
        .get_as(&other, &format!("/api/v1/awards/{first_id}/certificate"))
        .send()
        .await
        .expect("sent");
    assert_problem(refused, 404, "not_found").await;

    // Fulfil once; then neither fulfil nor cancel again.
    let participant_refused = app
        .post_as(&winner, &format!("/api/v1/awards/{first_id}/fulfil"))
        .send()
        .await
        .expect("sent");
    assert_problem(participant_refused, 403, "forbidden").await;
    let fulfilled = app
        .post_as(&admin, &format!("/api/v1/awards/{first_id}/fulfil"))
        .send()
        .await
        .expect("sent");
    assert_eq!(fulfilled.status(), 200);
    let fulfilled: Value = fulfilled.json().await.expect("JSON");
    assert_eq!(fulfilled["status"], "fulfilled");
    assert_eq!(fulfilled["fulfilled_by"], admin.id.to_string());
    let twice = app
        .post_as(&admin, &format!("/api/v1/awards/{first_id}/fulfil"))
        .send()
        .await
        .expect("sent");
    assert_problem(twice, 409, "invalid_transition").await;
    let late = app
        .post_as(&admin, &format!("/api/v1/awards/{first_id}/cancel"))
        .json(&json!({"reason": "too late"}))
        .send()
        .await
        .expect("sent");
    assert_problem(late, 409, "invalid_transition").await;

    // Cancelling a voucher award returns its units to the stock.
    let vouchers = app
        .get_json(
            &admin,
            &format!("/api/v1/awards?challenge_id={id}&reason=qualified"),
        )
        .await;
    let voucher_award = vouchers["items"][0]["id"].as_str().expect("id").to_owned();
    let no_reason = app
        .post_as(&admin, &format!("/api/v1/awards/{voucher_award}/cancel"))
        .json(&json!({"reason": ""}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        fields_at_fault(&assert_problem(no_reason, 422, "validation_failed").await),
        ["reason"]
    );
    let cancelled = app
        .post_as(&admin, &format!("/api/v1/awards/{voucher_award}/cancel"))
        .json(&json!({"reason": "left the company"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(cancelled.status(), 200);
    assert_eq!(stock(&app, &admin, voucher).await, 8);
}

#[actix_web::test]
async fn not_enough_stock_refuses_the_close_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contest(&app, &admin).await;
    let gold = reward(&app, "Weekend", json!({"type": "gift"}), Some(1)).await;
    let mugs = reward(&app, "Mugs", json!({"type": "gift"}), Some(3)).await;
    let plan =
        json!({"by_rank": [{"rank": 1, "reward_id": gold}], "everyone": [{"reward_id": mugs}]});
    let id = running_challenge(&app, &admin, plan).await;
    let problem = assert_problem(
        act(&app, &admin, &id, "close").await,
        409,
        "not_enough_stock",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Mugs")),
        "{problem}"
    );
    let challenge = app
        .get_json(&admin, &format!("/api/v1/challenges/{id}"))
        .await;
    assert_eq!(challenge["status"], "running");
    let standings = app
        .get_json(&admin, &format!("/api/v1/challenges/{id}/standings"))
        .await;
    assert_eq!(standings["frozen"], false);
    assert_eq!(app.get_json(&admin, "/api/v1/awards").await["total"], 0);
    assert_eq!(stock(&app, &admin, gold).await, 1, "no stock taken");
    assert_eq!(stock(&app, &admin, mugs).await, 3);

    // Restock, and the close goes through.
    let response = app
        .put(&admin, &format!("/api/v1/rewards/{mugs}"))
        .json(&json!({"name": "Mugs", "category": "goodie", "kind": {"type": "gift"}, "value_cents": 900, "stock": 10}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(act(&app, &admin, &id, "close").await.status(), 200);
    assert_eq!(stock(&app, &admin, mugs).await, 4);
}

#[actix_web::test]
async fn a_reward_plan_is_checked_when_it_is_set() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let gift = reward(&app, "Gift", json!({"type": "gift"}), None).await;
    let objective_rule = app
        .create("/api/v1/rules", json!({"name": "obj", "kind": "objective"}))
        .await;
    let post = |plan: Value, kind: &str| {
        let app = &app;
        let admin = &admin;
        let mut body = json!({
            "name": "Plan", "kind": kind, "rules_text": "x",
            "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z",
            "objective": {"type": "revenue"}, "reward_plan": plan,
        });
        if kind == "incentive" {
            body["target"] = json!({"type": "absolute", "value": "10"});
        }
        async move {
            app.post_as(admin, "/api/v1/challenges")
                .json(&body)
                .send()
                .await
                .expect("sent")
        }
    };
    let cases = [
        (
            json!({"everyone": [{"reward_id": Uuid::new_v4()}]}),
            "competition",
            "reward_plan",
        ),
        (
            json!({"by_rank": [{"rank": 1, "reward_id": gift}, {"rank": 3, "reward_id": gift}]}),
            "competition",
            "reward_plan.by_rank",
        ),
        (
            json!({"by_rank": [{"rank": 1, "reward_id": gift}]}),
            "incentive",
            "reward_plan.by_rank",
        ),
        (
            json!({"qualified": [{"reward_id": gift, "quantity": 0}]}),
            "competition",
            "reward_plan.qualified",
        ),
        (
            json!({"rule": {"rule_id": objective_rule["id"], "version": 1, "reward_ids": [gift]}}),
            "competition",
            "reward_plan.rule.rule_id",
        ),
        (
            json!({"rule": {"rule_id": Uuid::new_v4(), "version": 1, "reward_ids": []}}),
            "competition",
            "reward_plan.rule.reward_ids",
        ),
    ];
    for (plan, kind, field) in cases {
        let problem = assert_problem(post(plan, kind).await, 422, "validation_failed").await;
        assert!(
            fields_at_fault(&problem).contains(&field.to_owned()),
            "{field}: {problem}"
        );
    }
    assert_eq!(app.get_json(&admin, "/api/v1/challenges").await["total"], 0);
}

#[actix_web::test]
async fn an_allocation_rule_gives_awards_at_close_or_stops_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contest(&app, &admin).await;
    let goods = reward(&app, "Free capsules", json!({"type": "gift"}), Some(100)).await;
    let rule_id = new_rule(&app, &admin, "by revenue", "allocation").await;
    // One unit per 1,000 of revenue, for ranked lines.
    let source = "fn allocate(standings, rewards, ctx) {\n    let awards = [];\n    for line in standings {\n        if line.rank != () {\n            let units = (line.raw_value / 100000.0).to_int();\n            if units > 0 { awards.push(#{ participant: line.participant, reward: rewards[0].id, quantity: units, note: `${units} per revenue` }); }\n        }\n    }\n    awards\n}";
    assert_eq!(uploaded(&app, &admin, rule_id, source).await, 1);
    let broken = "fn allocate(standings, rewards, ctx) {\n    [#{ participant: standings[0].participant, reward: \"nothing\" }]\n}";
    assert_eq!(uploaded(&app, &admin, rule_id, broken).await, 2);

    // Version 2 names an unknown reward: the close is refused, nothing is written.
    let plan = json!({"rule": {"rule_id": rule_id, "version": 2, "reward_ids": [goods]}});
    let id = running_challenge(&app, &admin, plan).await;
    let problem = assert_problem(act(&app, &admin, &id, "close").await, 409, "rule_failed").await;
    assert!(
        problem["script_errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown reward")),
        "{problem}"
    );
    assert_eq!(
        app.get_json(&admin, &format!("/api/v1/challenges/{id}"))
            .await["status"],
        "running"
    );
    assert_eq!(stock(&app, &admin, goods).await, 100);

    let plan = json!({"rule": {"rule_id": rule_id, "version": 1, "reward_ids": [goods]}});
    let id = running_challenge(&app, &admin, plan).await;
    assert_eq!(act(&app, &admin, &id, "close").await.status(), 200);
    let awards = app
        .get_json(&admin, &format!("/api/v1/awards?challenge_id={id}"))
        .await;
    let given: Vec<(i64, &str)> = awards["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            (
                a["quantity"].as_i64().unwrap_or_default(),
                a["reason"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(given, [(3, "rule"), (2, "rule")]);
    assert_eq!(awards["items"][0]["audit"]["rule_version"], 1);
    assert_eq!(awards["items"][0]["audit"]["rule_id"], rule_id.to_string());
    assert_eq!(awards["items"][0]["value_cents"], 30_000);
    assert_eq!(stock(&app, &admin, goods).await, 95);
}

#[actix_web::test]
async fn the_demo_sprint_is_closed_announced_and_fulfilled() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    podium::demo::load_demo(&mut app.connect()).expect("the demo loads");
    let challenges = app.get_json(&admin, "/api/v1/challenges?name=sprint").await;
    let id = challenges["items"][0]["id"]
        .as_str()
        .expect("the sprint")
        .to_owned();
    assert_eq!(act(&app, &admin, &id, "close").await.status(), 200);
    assert_eq!(act(&app, &admin, &id, "announce").await.status(), 200);
    let awards = app
        .get_json(
            &admin,
            &format!("/api/v1/awards?challenge_id={id}&reason=rank"),
        )
        .await;
    assert_eq!(awards["total"], 3);
    let award = awards["items"][0]["id"].as_str().expect("id").to_owned();
    let fulfilled = app
        .post_as(&admin, &format!("/api/v1/awards/{award}/fulfil"))
        .send()
        .await
        .expect("sent");
    assert_eq!(fulfilled.status(), 200);
    let julie = app
        .sign_in("julie.moreau@podium.local", podium::demo::DEMO_PASSWORD)
        .await;
    let podium: Value = app
        .get(&format!("/api/v1/challenges/{id}/podium"))
        .bearer_auth(&julie)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(podium["places"].as_array().map(Vec::len), Some(3));
}

#[actix_web::test]
async fn team_prizes_reach_their_members_and_plans_stay_internal() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let contest = contest(&app, &admin).await;
    let team = app
        .create(
            "/api/v1/teams",
            json!({"name": "North", "organisation_id": contest.world.company, "region_id": contest.world.region}),
        )
        .await;
    let member = app
        .named_participant(
            "Member",
            contest.world.company,
            Some(contest.world.region),
            Some(
                team["id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .expect("id"),
            ),
        )
        .await;
    let line = json!({
        "participant_id": member, "sold_at": "2026-01-20T10:00:00Z", "product_sku": "ESP-200",
        "customer_reference": "C-1", "quantity": 1, "amount_cents": 500_000, "currency": "EUR",
        "source": "erp", "external_id": "member-1",
    });
    assert_eq!(post_sales(&app, &admin, vec![line]).await.status(), 201);
    let cup = reward(&app, "Team cup", json!({"type": "gift"}), None).await;
    let rule = new_rule(&app, &admin, "alloc", "allocation").await;
    let version = uploaded(
        &app,
        &admin,
        rule,
        "fn allocate(standings, rewards, ctx) { [] }",
    )
    .await;
    assert_eq!(version, 1);
    let created = app
        .create(
            "/api/v1/challenges",
            json!({
                "name": "Team January", "kind": "competition", "rules_text": "Team revenue.",
                "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z",
                "objective": {"type": "revenue"}, "ranking_unit": "team",
                "reward_plan": {
                    "by_rank": [{"rank": 1, "reward_id": cup}],
                    "rule": {"rule_id": rule, "version": 1, "params": {"budget": 90000}, "reward_ids": [cup]}
                },
            }),
        )
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let participant = app.user_scoped("participant", Some(member)).await;
    for action in ["schedule", "start"] {
        assert_eq!(act(&app, &admin, &id, action).await.status(), 200);
    }
    // The rule's parameters are internals: participants see the plan without them.
    let seen = app
        .get_json(&participant, &format!("/api/v1/challenges/{id}"))
        .await;
    assert_eq!(seen["reward_plan"]["rule"]["params"], json!({}));
    assert_eq!(
        seen["reward_plan"]["by_rank"][0]["reward_id"],
        cup.to_string()
    );
    let seen = app
        .get_json(&admin, &format!("/api/v1/challenges/{id}"))
        .await;
    assert_eq!(seen["reward_plan"]["rule"]["params"]["budget"], 90000);

    for action in ["close", "announce"] {
        assert_eq!(act(&app, &admin, &id, action).await.status(), 200);
    }
    // The team won; its member sees the team's prize and its certificate.
    let mine = app
        .get_json(&participant, &format!("/api/v1/awards?challenge_id={id}"))
        .await;
    assert_eq!(mine["total"], 1, "{mine}");
    assert_eq!(mine["items"][0]["entrant"]["name"], "North");
    let award = mine["items"][0]["id"].as_str().expect("id").to_owned();
    let certificate = app
        .get_as(&participant, &format!("/api/v1/awards/{award}/certificate"))
        .send()
        .await
        .expect("sent");
    assert_eq!(certificate.status(), 200);
    // A rep outside the team does not.
    let outsider = app.user_scoped("participant", Some(contest.reps[3])).await;
    assert_eq!(
        app.get_json(&outsider, &format!("/api/v1/awards?challenge_id={id}"))
            .await["total"],
        0
    );
}

#[actix_web::test]
async fn cancelling_gives_back_only_what_was_taken_and_quantities_are_bounded() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    contest(&app, &admin).await;
    let mug = reward(&app, "Mug", json!({"type": "gift"}), None).await;
    let huge = json!({"everyone": [{"reward_id": mug, "quantity": 4_611_686_018_427_387_904_i64}]});
    let refused = app
        .post_as(&admin, "/api/v1/challenges")
        .json(&json!({
            "name": "Huge", "kind": "competition", "rules_text": "x",
            "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z",
            "objective": {"type": "revenue"}, "reward_plan": huge,
        }))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        fields_at_fault(&assert_problem(refused, 422, "validation_failed").await),
        ["reward_plan.everyone"]
    );

    // Given while unlimited, cancelled after the reward became limited: no stock appears.
    let id = running_challenge(&app, &admin, json!({"everyone": [{"reward_id": mug}]})).await;
    assert_eq!(act(&app, &admin, &id, "close").await.status(), 200);
    let response = app
        .put(&admin, &format!("/api/v1/rewards/{mug}"))
        .json(&json!({"name": "Mug", "category": "goodie", "kind": {"type": "gift"}, "value_cents": 900, "stock": 0}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let awards = app
        .get_json(&admin, &format!("/api/v1/awards?challenge_id={id}"))
        .await;
    let award = awards["items"][0]["id"].as_str().expect("id").to_owned();
    let cancelled = app
        .post_as(&admin, &format!("/api/v1/awards/{award}/cancel"))
        .json(&json!({"reason": "duplicate"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(cancelled.status(), 200);
    assert_eq!(stock(&app, &admin, mug).await, 0);
}
