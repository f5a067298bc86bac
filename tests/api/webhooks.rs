//! Webhooks: a real receiver on 127.0.0.1 gets signed deliveries, a failed one is retried
//! and recorded, a delivery can be replayed, and a partner's subscription never carries
//! another organisation's news.

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use uuid::Uuid;

use crate::helpers::{assert_problem, fields_at_fault, spawn_app, Caller, TestApp};
use crate::news::{eventually, Arena};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Call {
    signature: String,
    timestamp: String,
    event: String,
    delivery: String,
    body: Vec<u8>,
}

/// An HTTP server on 127.0.0.1 that records every call and answers 503 to the first
/// `failures` of them, 200 afterwards.
struct Receiver {
    url: String,
    calls: Arc<Mutex<Vec<Call>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start(failures: usize) -> Self {
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let recorded = Arc::clone(&calls);
        let server = HttpServer::new(move || {
            let recorded = Arc::clone(&recorded);
            App::new().default_service(web::to(move |request: HttpRequest, body: web::Bytes| {
                let recorded = Arc::clone(&recorded);
                async move {
                    let header = |name: &str| {
                        request
                            .headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let mut calls = recorded.lock().expect("calls");
                    calls.push(Call {
                        signature: header("podium-signature"),
                        timestamp: header("podium-timestamp"),
                        event: header("podium-event"),
                        delivery: header("podium-delivery"),
                        body: body.to_vec(),
                    });
                    if calls.len() <= failures {
                        HttpResponse::ServiceUnavailable().finish()
                    } else {
                        HttpResponse::Ok().finish()
                    }
                }
            }))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("the receiver binds");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/hooks/podium"),
            calls,
            handle,
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls").clone()
    }
}

/// What a receiver does: recompute the HMAC over "<t>.<body>" and compare.
fn signature_holds(secret: &str, call: &Call) -> bool {
    let Some((t, v1)) = call
        .signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&call.body);
    let Ok(expected) = hex::decode(v1) else {
        return false;
    };
    t == call.timestamp && mac.verify_slice(&expected).is_ok()
}

async fn subscribe(app: &TestApp, caller: &Caller, body: Value) -> Value {
    let response = app
        .post_as(caller, "/api/v1/webhooks")
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 201);
    response.json().await.expect("JSON")
}

async fn replay(app: &TestApp, caller: &Caller, hook: &str, delivery: &str) -> reqwest::Response {
    app.post_as(
        caller,
        &format!("/api/v1/webhooks/{hook}/deliveries/{delivery}/replay"),
    )
    .send()
    .await
    .expect("sent")
}

async fn deliveries(app: &TestApp, caller: &Caller, hook: &str) -> Vec<Value> {
    app.get_json(caller, &format!("/api/v1/webhooks/{hook}/deliveries"))
        .await["items"]
        .as_array()
        .expect("items")
        .clone()
}

#[actix_web::test]
async fn a_failed_delivery_is_retried_signed_recorded_and_replayable() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    let receiver = Receiver::start(1).await;
    let created = subscribe(
        &app,
        &admin,
        json!({"url": receiver.url, "kinds": ["challenge_started"], "description": "ops"}),
    )
    .await;
    let secret = created["secret"]
        .as_str()
        .expect("the secret, once")
        .to_owned();
    assert!(secret.starts_with("whsec_"));
    let hook = created["id"].as_str().expect("id").to_owned();
    let read = app
        .get_json(&admin, &format!("/api/v1/webhooks/{hook}"))
        .await;
    assert!(read.get("secret").is_none(), "the secret is shown once");
    assert_eq!(read["kinds"], json!(["challenge_started"]));

    arena.start(&app, &admin).await;
    // First attempt: 503; the retry after the backoff: 200.
    eventually(15, "a delivered retry", || async {
        (receiver.calls().len() >= 2).then_some(())
    })
    .await;
    // Longer than the next backoff: a success is not tried again.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(800)).await;
    let calls = receiver.calls();
    assert_eq!(calls.len(), 2, "no call after a success");
    for call in &calls {
        assert!(signature_holds(&secret, call), "signature of {call:?}");
        assert!(!signature_holds("whsec_wrong", call));
        assert_eq!(call.event, "challenge_started");
    }
    assert_eq!(
        calls[0].delivery, calls[1].delivery,
        "one delivery, two attempts"
    );
    let payload: Value = serde_json::from_slice(&calls[1].body).expect("JSON body");
    assert_eq!(payload["kind"], "challenge_started");
    assert_eq!(payload["news"]["challenge_id"], arena.challenge.to_string());
    assert_eq!(payload["delivery_id"], calls[1].delivery.as_str());

    let recorded = eventually(5, "the delivery recorded", || async {
        let list = deliveries(&app, &admin, &hook).await;
        (list.first().is_some_and(|d| d["status"] == "delivered")).then_some(list)
    })
    .await;
    assert_eq!(recorded.len(), 1, "only the kinds asked for");
    let delivery = &recorded[0];
    assert_eq!(delivery["attempts"], 2);
    assert_eq!(delivery["last_status_code"], 200);
    assert!(delivery["delivered_at"].is_string());

    // Replay: the same body and delivery id, a fresh signature.
    let id = delivery["id"].as_str().expect("id");
    let response = replay(&app, &admin, &hook, id).await;
    assert_eq!(response.status(), 202);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    let log = app
        .get_json(&admin, &format!("/api/v1/audit?request_id={request_id}"))
        .await;
    assert_eq!(log["total"], 1, "{log}");
    assert_eq!(log["items"][0]["action"], "webhook_delivery.replayed");
    assert_eq!(log["items"][0]["object_id"], id);
    let calls = eventually(10, "the replay", || async {
        let calls = receiver.calls();
        (calls.len() >= 3).then_some(calls)
    })
    .await;
    assert_eq!(calls[2].delivery, calls[1].delivery);
    assert_eq!(calls[2].body, calls[1].body);
    assert!(signature_holds(&secret, &calls[2]));
    let replayed = eventually(5, "the replay recorded", || async {
        let list = deliveries(&app, &admin, &hook).await;
        (list[0]["status"] == "delivered" && list[0]["replays"] == 1).then(|| list[0].clone())
    })
    .await;
    assert_eq!(replayed["attempts"], 1);

    // Unknown delivery, unknown subscription.
    let unknown = Uuid::new_v4().to_string();
    let response = replay(&app, &admin, &hook, &unknown).await;
    assert_problem(response, 404, "not_found").await;
    let response = replay(&app, &admin, &unknown, id).await;
    assert_problem(response, 404, "not_found").await;
    receiver.handle.stop(false).await;
}

#[actix_web::test]
async fn a_receiver_that_never_answers_fails_after_the_last_attempt() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    // A port nobody listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let created = subscribe(
        &app,
        &admin,
        json!({"url": format!("http://127.0.0.1:{port}/gone")}),
    )
    .await;
    let hook = created["id"].as_str().expect("id").to_owned();
    arena.start(&app, &admin).await;
    // Between attempts the delivery is pending: it cannot be replayed then.
    let pending = deliveries(&app, &admin, &hook).await;
    assert_eq!(pending[0]["status"], "pending");
    let id = pending[0]["id"].as_str().expect("id");
    let response = replay(&app, &admin, &hook, id).await;
    assert_problem(response, 409, "delivery_pending").await;
    let failed = eventually(20, "the delivery to fail", || async {
        let list = deliveries(&app, &admin, &hook).await;
        list.first().filter(|d| d["status"] == "failed").cloned()
    })
    .await;
    assert_eq!(
        failed["attempts"], 3,
        "PODIUM_WEBHOOK_MAX_ATTEMPTS in tests"
    );
    assert_eq!(failed["last_error"], "the receiver could not be reached");
    assert!(failed["next_attempt_at"].is_null());
    let listed = app
        .get_json(
            &admin,
            &format!("/api/v1/webhooks/{hook}/deliveries?status=failed"),
        )
        .await;
    assert_eq!(listed["total"], 1);

    // Turned off, it cannot be replayed.
    let response = app
        .http
        .patch(app.url(&format!("/api/v1/webhooks/{hook}")))
        .bearer_auth(&admin.token)
        .json(&json!({"active": false}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let id = failed["id"].as_str().expect("id");
    let response = replay(&app, &admin, &hook, id).await;
    assert_problem(response, 409, "webhook_inactive").await;
}

#[actix_web::test]
async fn a_partners_webhook_never_carries_another_organisations_news() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    let partner_one = app.user_scoped("partner", Some(arena.dist_one)).await;
    let partner_two = app.user_scoped("partner", Some(arena.dist_two)).await;
    let receiver = Receiver::start(0).await;
    let created = subscribe(&app, &partner_one, json!({"url": receiver.url})).await;
    assert_eq!(created["organisation_id"], arena.dist_one.to_string());
    let hook = created["id"].as_str().expect("id").to_owned();

    arena.start(&app, &admin).await;
    arena.sell(&app, &admin, arena.diane, 9_000).await;
    crate::news::eventually(10, "Diane to lead", || async {
        let news = crate::news::news_of(&app, &admin, arena.challenge).await;
        news.iter()
            .any(|(k, _)| k == "leader_changed")
            .then_some(())
    })
    .await;
    arena.sell(&app, &admin, arena.denis, 5_000).await;
    arena.sell(&app, &admin, arena.denis, 10_000).await;
    let calls = eventually(10, "Denis's lead delivered", || async {
        let calls = receiver.calls();
        calls
            .iter()
            .any(|c| c.event == "leader_changed")
            .then_some(calls)
    })
    .await;
    let bodies: Vec<Value> = calls
        .iter()
        .map(|c| serde_json::from_slice(&c.body).expect("JSON"))
        .collect();
    let kinds: Vec<&str> = bodies.iter().filter_map(|b| b["kind"].as_str()).collect();
    assert_eq!(kinds, ["challenge_started", "leader_changed"]);
    assert_eq!(bodies[1]["news"]["entrant"]["id"], arena.denis.to_string());
    let everything = bodies.iter().map(Value::to_string).collect::<String>();
    assert!(
        !everything.contains(&arena.diane.to_string()) && !everything.contains("Diane"),
        "another organisation's news reached a partner: {everything}"
    );

    // The other partner does not see this subscription; a participant cannot subscribe.
    for path in [
        format!("/api/v1/webhooks/{hook}"),
        format!("/api/v1/webhooks/{hook}/deliveries"),
    ] {
        let response = app.get_as(&partner_two, &path).send().await.expect("sent");
        assert_problem(response, 404, "not_found").await;
    }
    assert_eq!(
        app.get_json(&partner_two, "/api/v1/webhooks").await["total"],
        0
    );
    assert_eq!(app.get_json(&admin, "/api/v1/webhooks").await["total"], 1);
    let participant = app.user_scoped("participant", Some(arena.alice)).await;
    let response = app
        .post_as(&participant, "/api/v1/webhooks")
        .json(&json!({"url": receiver.url}))
        .send()
        .await
        .expect("sent");
    assert_problem(response, 403, "forbidden").await;
    receiver.handle.stop(false).await;
}

#[actix_web::test]
async fn bad_subscriptions_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (url, why) in [
        ("ftp://example.com/x", "scheme"),
        ("not a url", "syntax"),
        ("https://user:pw@example.com/x", "credentials"),
    ] {
        let response = app
            .post_as(&admin, "/api/v1/webhooks")
            .json(&json!({"url": url}))
            .send()
            .await
            .expect("sent");
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(fields_at_fault(&problem), ["url"], "{why}");
    }
    let response = app
        .post_as(&admin, "/api/v1/webhooks")
        .json(&json!({"url": "https://example.com/x", "kinds": ["weather"]}))
        .send()
        .await
        .expect("sent");
    assert_problem(response, 400, "invalid_body").await;
    assert_eq!(app.get_json(&admin, "/api/v1/webhooks").await["total"], 0);
}

#[actix_web::test]
async fn webhooks_cannot_reach_into_the_servers_network() {
    // The production default: private and local addresses are refused.
    let app = crate::helpers::spawn_app_with(|s| s.webhook_allow_private_networks = false).await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    let receiver = Receiver::start(0).await;
    for url in [
        receiver.url.clone(),
        "http://[::1]/x".into(),
        "http://169.254.169.254/latest".into(),
    ] {
        let response = app
            .post_as(&admin, "/api/v1/webhooks")
            .json(&json!({"url": url}))
            .send()
            .await
            .expect("sent");
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(fields_at_fault(&problem), ["url"]);
    }
    // A name is checked where it leads, at each attempt: localhost is refused and the
    // receiver never called.
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let created = subscribe(&app, &admin, json!({"url": by_name})).await;
    let hook = created["id"].as_str().expect("id").to_owned();
    arena.start(&app, &admin).await;
    let failed = eventually(20, "the delivery to fail", || async {
        let list = deliveries(&app, &admin, &hook).await;
        list.first().filter(|d| d["status"] == "failed").cloned()
    })
    .await;
    assert_eq!(
        failed["last_error"],
        "the URL leads to a private or local address"
    );
    assert!(
        receiver.calls().is_empty(),
        "nothing reached the private address"
    );
    receiver.handle.stop(false).await;
}
