//! Every write operation of the OpenAPI document leaves exactly one audit entry, with the
//! request's id, its action, its object and its actor. The list of operations comes from
//! the committed document: a new write operation fails this test until it is audited and
//! exercised here.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, Caller, TestApp};

/// The writes that write nothing, and the one exercised in its own test.
const NOT_HERE: &[(&str, &str)] = &[
    ("simulate", "writes nothing"),
    ("test_version", "writes nothing"),
    (
        "replay_delivery",
        "needs a failed delivery: webhooks::a_failed_delivery_is_retried_signed_recorded_and_replayable checks its entry",
    ),
];

/// One write sent, and what its entry must say.
struct Call {
    operation: &'static str,
    request_id: String,
    action: &'static str,
    object_id: Option<String>,
    actor: Option<Uuid>,
}

struct Writes<'a> {
    app: &'a TestApp,
    calls: Vec<Call>,
}

impl<'a> Writes<'a> {
    /// Sends `request`, asserts a 2xx, records the call and returns the body (or null).
    async fn send(
        &mut self,
        operation: &'static str,
        action: &'static str,
        actor: Option<&Caller>,
        request: reqwest::RequestBuilder,
    ) -> Value {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .expect("ASCII")
            .to_owned();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{operation}: {status} {body}");
        self.calls.push(Call {
            operation,
            request_id,
            action,
            object_id: body["id"].as_str().map(str::to_owned),
            actor: actor.map(|c| c.id),
        });
        body
    }

    /// The object id of the last call, when the body's `id` is not it.
    fn object(&mut self, id: impl ToString) {
        if let Some(last) = self.calls.last_mut() {
            last.object_id = Some(id.to_string());
        }
    }

    fn post(&self, caller: &Caller, path: &str, body: Value) -> reqwest::RequestBuilder {
        self.app.post_as(caller, path).json(&body)
    }

    fn patch(&self, caller: &Caller, path: &str, body: Value) -> reqwest::RequestBuilder {
        self.app
            .http
            .patch(self.app.url(path))
            .bearer_auth(&caller.token)
            .json(&body)
    }
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

#[actix_web::test]
async fn every_write_operation_leaves_one_entry_with_its_request_id() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    podium::demo::load_demo(&mut app.connect()).expect("the demo loads");
    let mut w = Writes {
        app: &app,
        calls: Vec::new(),
    };
    let a = Some(&admin);

    // Reference data.
    let company = w
        .send(
            "create_organisation",
            "organisation.created",
            a,
            w.post(
                &admin,
                "/api/v1/organisations",
                json!({"name": "Audit Co", "kind": "company"}),
            ),
        )
        .await;
    let company = id(&company);
    w.send(
        "update_organisation",
        "organisation.updated",
        a,
        w.patch(
            &admin,
            &format!("/api/v1/organisations/{company}"),
            json!({"name": "Audit Co."}),
        ),
    )
    .await;
    let distributor = w
        .send(
            "create_organisation",
            "organisation.created",
            a,
            w.post(
                &admin,
                "/api/v1/organisations",
                json!({"name": "Audit Dist", "kind": "distributor"}),
            ),
        )
        .await;
    let distributor = id(&distributor);
    let region = w
        .send(
            "create_region",
            "region.created",
            a,
            w.post(
                &admin,
                "/api/v1/regions",
                json!({"name": "Audit", "potential_index": "1.0", "market_share": "0.1"}),
            ),
        )
        .await;
    let region = id(&region);
    w.send(
        "update_region",
        "region.updated",
        a,
        w.patch(
            &admin,
            &format!("/api/v1/regions/{region}"),
            json!({"name": "Audit region"}),
        ),
    )
    .await;
    let team = w
        .send(
            "create_team",
            "team.created",
            a,
            w.post(
                &admin,
                "/api/v1/teams",
                json!({"name": "Audit team", "organisation_id": company, "region_id": region}),
            ),
        )
        .await;
    let participant = w
        .send(
            "create_participant",
            "participant.created",
            a,
            w.post(
                &admin,
                "/api/v1/participants",
                json!({
                    "name": "Audit rep", "kind": "rep", "organisation_id": company,
                    "region_id": region, "team_id": id(&team),
                }),
            ),
        )
        .await;
    let participant = id(&participant);
    w.send(
        "update_participant",
        "participant.updated",
        a,
        w.patch(
            &admin,
            &format!("/api/v1/participants/{participant}"),
            json!({"name": "Audit rep 2"}),
        ),
    )
    .await;
    w.send(
        "create_product",
        "product.created",
        a,
        w.post(
            &admin,
            "/api/v1/products",
            json!({"sku": "AUD-1", "name": "Audit", "category": "coffee"}),
        ),
    )
    .await;
    let customer = w
        .send(
            "create_customer",
            "customer.created",
            a,
            w.post(
                &admin,
                "/api/v1/customers",
                json!({"reference": "AUD-C", "name": "Audit client", "key_account": false}),
            ),
        )
        .await;
    w.send(
        "update_customer",
        "customer.updated",
        a,
        w.patch(
            &admin,
            &format!("/api/v1/customers/{}", id(&customer)),
            json!({"key_account": true}),
        ),
    )
    .await;
    w.send(
        "record_sales",
        "sales.recorded",
        a,
        w.post(
            &admin,
            "/api/v1/sales",
            json!({"sales": [{
                "participant_id": participant, "sold_at": chrono::Utc::now().to_rfc3339(),
                "customer_reference": "AUD-C", "product_sku": "AUD-1", "quantity": 1,
                "amount_cents": 100, "currency": "EUR", "external_id": "AUD-1",
            }]}),
        ),
    )
    .await;
    w.object("company");

    // People and integrations, and their sessions.
    let password = "an audited password";
    let user = w
        .send(
            "create_user",
            "user.created",
            a,
            w.post(
                &admin,
                "/api/v1/users",
                json!({
                    "email": "audited@podium.test", "display_name": "Audited",
                    "password": password, "role": "admin",
                }),
            ),
        )
        .await;
    let user_id: Uuid = id(&user).parse().expect("uuid");
    let person = Caller {
        token: String::new(),
        id: user_id,
        scope_id: None,
    };
    let signed_in = w
        .send(
            "issue_token",
            "session.opened",
            Some(&person),
            app.post("/api/v1/auth/token").json(&json!({
                "grant_type": "password", "email": "audited@podium.test", "password": password,
            })),
        )
        .await;
    let session = signed_in["session_id"]
        .as_str()
        .expect("session")
        .to_owned();
    w.object(&session);
    let refreshed = w
        .send(
            "issue_token",
            "session.refreshed",
            Some(&person),
            app.post("/api/v1/auth/token").json(&json!({
                "grant_type": "refresh_token", "refresh_token": signed_in["refresh_token"],
            })),
        )
        .await;
    w.object(&session);
    let signed = Caller {
        token: refreshed["access_token"]
            .as_str()
            .expect("token")
            .to_owned(),
        id: user_id,
        scope_id: None,
    };
    w.send(
        "sign_out",
        "session.closed",
        Some(&signed),
        app.post_as(&signed, "/api/v1/auth/sign-out"),
    )
    .await;
    w.object(&session);
    w.send(
        "disable_user",
        "user.disabled",
        a,
        app.post_as(&admin, &format!("/api/v1/users/{user_id}/disable")),
    )
    .await;
    w.send(
        "enable_user",
        "user.enabled",
        a,
        app.post_as(&admin, &format!("/api/v1/users/{user_id}/enable")),
    )
    .await;
    let client = w
        .send(
            "create_api_client",
            "api_client.created",
            a,
            w.post(
                &admin,
                "/api/v1/api-clients",
                json!({"name": "Audit ERP", "organisation_id": distributor}),
            ),
        )
        .await;
    let client = client["client"]["id"]
        .as_str()
        .expect("client id")
        .to_owned();
    w.object(&client);
    w.send(
        "disable_api_client",
        "api_client.disabled",
        a,
        app.post_as(&admin, &format!("/api/v1/api-clients/{client}/disable")),
    )
    .await;

    // Rules, rewards, challenges.
    let rule = w
        .send(
            "create_rule",
            "rule.created",
            a,
            w.post(
                &admin,
                "/api/v1/rules",
                json!({"name": "Audit rule", "kind": "objective", "description": "revenue"}),
            ),
        )
        .await;
    let rule = id(&rule);
    w.send(
        "upload_version",
        "rule.version_uploaded",
        a,
        w.post(
            &admin,
            &format!("/api/v1/rules/{rule}/versions"),
            json!({"source": "fn score(participant, sales, ctx) { sales.amount() }"}),
        ),
    )
    .await;
    w.object(&rule);
    w.send(
        "upload_version",
        "rule.version_uploaded",
        a,
        w.post(
            &admin,
            &format!("/api/v1/rules/{rule}/versions"),
            json!({"source": "fn score(participant, sales, ctx) { sales.quantity() }"}),
        ),
    )
    .await;
    w.object(&rule);
    let reward_body = json!({"name": "Audit mug", "category": "goodie", "kind": {"type": "gift"}, "value_cents": 1_000});
    let reward = w
        .send(
            "create_reward",
            "reward.created",
            a,
            w.post(&admin, "/api/v1/rewards", reward_body.clone()),
        )
        .await;
    w.send(
        "replace_reward",
        "reward.replaced",
        a,
        app.put(&admin, &format!("/api/v1/rewards/{}", id(&reward)))
            .json(&reward_body),
    )
    .await;
    let now = chrono::Utc::now();
    let challenge_body = json!({
        "name": "Audit push", "kind": "competition", "rules_text": "Units.",
        "starts_at": (now - chrono::Duration::days(1)).to_rfc3339(),
        "ends_at": (now + chrono::Duration::days(30)).to_rfc3339(),
        "objective": {"type": "script", "rule_id": rule, "version": 1, "params": {}},
        "tie_break": ["first_to_reach"], "standings_visible": true,
    });
    let challenge = w
        .send(
            "create_challenge",
            "challenge.created",
            a,
            w.post(&admin, "/api/v1/challenges", challenge_body.clone()),
        )
        .await;
    let challenge = id(&challenge);
    w.send(
        "replace_challenge",
        "challenge.replaced",
        a,
        app.put(&admin, &format!("/api/v1/challenges/{challenge}"))
            .json(&challenge_body),
    )
    .await;
    w.send(
        "schedule_challenge",
        "challenge.scheduled",
        a,
        app.post_as(&admin, &format!("/api/v1/challenges/{challenge}/schedule")),
    )
    .await;
    w.send(
        "start_challenge",
        "challenge.started",
        a,
        app.post_as(&admin, &format!("/api/v1/challenges/{challenge}/start")),
    )
    .await;
    w.send(
        "change_rule_version",
        "challenge.rule_version_changed",
        a,
        w.post(
            &admin,
            &format!("/api/v1/challenges/{challenge}/rule-version"),
            json!({"version": 2, "reason": "count units"}),
        ),
    )
    .await;
    let link = w
        .send(
            "create_share_link",
            "share_link.created",
            a,
            app.post_as(
                &admin,
                &format!("/api/v1/challenges/{challenge}/share-links"),
            ),
        )
        .await;
    w.send(
        "revoke_share_link",
        "share_link.revoked",
        a,
        app.post_as(&admin, &format!("/api/v1/share-links/{}/revoke", id(&link))),
    )
    .await;
    let hook = w
        .send(
            "create_webhook",
            "webhook.created",
            a,
            w.post(
                &admin,
                "/api/v1/webhooks",
                json!({"url": "https://example.com/podium", "kinds": ["challenge_closed"]}),
            ),
        )
        .await;
    let hook = hook["id"].as_str().expect("webhook id").to_owned();
    w.object(&hook);
    w.send(
        "update_webhook",
        "webhook.updated",
        a,
        w.patch(
            &admin,
            &format!("/api/v1/webhooks/{hook}"),
            json!({"active": false}),
        ),
    )
    .await;

    // The demo's finished sprint: close, announce, fulfil one award, cancel another.
    let sprint = app.get_json(&admin, "/api/v1/challenges?name=sprint").await;
    let sprint = id(&sprint["items"][0]);
    w.send(
        "close_challenge",
        "challenge.closed",
        a,
        app.post_as(&admin, &format!("/api/v1/challenges/{sprint}/close")),
    )
    .await;
    w.send(
        "announce_challenge",
        "challenge.announced",
        a,
        app.post_as(&admin, &format!("/api/v1/challenges/{sprint}/announce")),
    )
    .await;
    let awards = app
        .get_json(&admin, &format!("/api/v1/awards?challenge_id={sprint}"))
        .await;
    let (first, second) = (id(&awards["items"][0]), id(&awards["items"][1]));
    w.send(
        "fulfil_award",
        "award.fulfilled",
        a,
        app.post_as(&admin, &format!("/api/v1/awards/{first}/fulfil")),
    )
    .await;
    w.send(
        "cancel_award",
        "award.cancelled",
        a,
        w.post(
            &admin,
            &format!("/api/v1/awards/{second}/cancel"),
            json!({"reason": "left the company"}),
        ),
    )
    .await;

    // Each call has exactly its entry.
    for call in &w.calls {
        let log = app
            .get_json(
                &admin,
                &format!("/api/v1/audit?request_id={}", call.request_id),
            )
            .await;
        assert_eq!(log["total"], 1, "{}: {log}", call.operation);
        let entry = &log["items"][0];
        assert_eq!(entry["action"], call.action, "{}", call.operation);
        let object_type = call.action.split('.').next().expect("a dotted action");
        assert_eq!(entry["object_type"], object_type, "{}", call.operation);
        if let Some(object) = &call.object_id {
            assert_eq!(entry["object_id"], object.as_str(), "{}", call.operation);
        }
        if let Some(actor) = call.actor {
            assert_eq!(entry["actor_id"], actor.to_string(), "{}", call.operation);
        }
        let digest = |v: &Value| {
            v.as_str()
                .is_some_and(|d| d.starts_with("sha256:") && d.len() == 71)
        };
        if call.action.ends_with(".created") {
            assert!(entry["before_digest"].is_null(), "{}", call.operation);
            assert!(
                digest(&entry["after_digest"]),
                "{}: {entry}",
                call.operation
            );
        }
        if call.action.ends_with(".updated") || call.action.ends_with(".replaced") {
            assert!(
                digest(&entry["before_digest"]) && digest(&entry["after_digest"]),
                "{}",
                call.operation
            );
            assert_ne!(
                entry["before_digest"], entry["after_digest"],
                "{}",
                call.operation
            );
        }
    }

    // Every write operation of the document is here, or said why not.
    let document: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("the committed document"),
    )
    .expect("JSON");
    let writes: BTreeSet<String> = document["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|item| {
            ["post", "put", "patch", "delete"]
                .into_iter()
                .filter_map(|method| item[method]["operationId"].as_str().map(str::to_owned))
        })
        .filter(|op| !NOT_HERE.iter().any(|(skipped, _)| skipped == op))
        .collect();
    let exercised: BTreeSet<String> = w.calls.iter().map(|c| c.operation.to_owned()).collect();
    let missing: Vec<_> = writes.difference(&exercised).collect();
    assert!(
        missing.is_empty(),
        "write operations with no audit check: {missing:?}"
    );
    let unknown: Vec<_> = exercised.difference(&writes).collect();
    assert!(
        unknown.is_empty(),
        "not write operations of the document: {unknown:?}"
    );
}
