//! Probes, error shapes outside the handlers, CORS, request ids, the OpenAPI contract and
//! the migration folders.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, test_database, ADMIN_EMAIL};

#[actix_web::test]
async fn probes_answer_and_readiness_follows_the_database() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let world = crate::sales::World::new(&app).await;
    let health = app.get("/healthz").send().await.expect("request sent");
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz").send().await.expect("request sent");
    assert_eq!(ready.status(), 200);

    app.db.destroy();
    let response = app.get("/readyz").send().await.expect("request sent");
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 503, "database_unavailable").await;
    if matches!(app.db, crate::helpers::TestDb::Sqlite(_)) {
        // The open connections could still write to the deleted file, and every line
        // acknowledged would be lost at the next start: writes are refused instead.
        let response = crate::sales::post_sales(
            &app,
            &admin,
            vec![crate::sales::line(world.rep, "LOST-1", 100)],
        )
        .await;
        assert_eq!(response.headers()["retry-after"], "5");
        assert_problem(response, 503, "database_unavailable").await;
        // A new file at the same path is not the one the server opened either.
        if let crate::helpers::TestDb::Sqlite(dir) = &app.db {
            let path = app.database_url.trim_start_matches("sqlite://");
            assert!(path.starts_with(&*dir.path().to_string_lossy()));
            std::fs::write(path, b"").expect("an empty file in its place");
        }
        let response = app.get("/readyz").send().await.expect("request sent");
        assert_problem(response, 503, "database_unavailable").await;
    }
    let health = app.get("/healthz").send().await.expect("request sent");
    assert_eq!(
        health.status(),
        200,
        "liveness does not depend on the database"
    );
}

#[actix_web::test]
async fn errors_outside_handlers_are_problems_too() {
    let app = spawn_app().await;
    let response = app
        .get("/api/v1/nothing-here")
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 404, "route_not_found").await;

    let response = app
        .http
        .delete(app.url("/api/v1/auth/token"))
        .send()
        .await
        .expect("request sent");
    assert!([404, 405].contains(&response.status().as_u16()));
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(content_type.starts_with("application/problem+json"));

    let response = app
        .post("/api/v1/auth/token")
        .header("content-type", "text/plain")
        .body("grant_type=password")
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 415, "unsupported_media_type").await;

    let response = app
        .post("/api/v1/auth/token")
        .header("content-type", "application/json")
        .body("{\"grant_type\": ")
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 400, "invalid_body").await;

    let response = app
        .post("/api/v1/auth/token")
        .header("content-type", "application/json")
        .body(vec![b' '; 17 * 1024 * 1024])
        .send()
        .await
        .expect("request sent");
    assert_problem(response, 413, "payload_too_large").await;
}

#[actix_web::test]
async fn each_answer_carries_a_request_id() {
    let app = spawn_app().await;
    let first = app.get("/healthz").send().await.expect("request sent");
    let second = app.get("/healthz").send().await.expect("request sent");
    let id = |r: &reqwest::Response| {
        r.headers()["x-request-id"]
            .to_str()
            .expect("text")
            .to_owned()
    };
    assert_ne!(id(&first), id(&second));
}

#[actix_web::test]
async fn cors_allows_only_configured_origins() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "authorization")
            .send()
    };
    let allowed = preflight("https://ui.example.com")
        .await
        .expect("request sent");
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://ui.example.com"
    );
    let refused = preflight("https://evil.example.com")
        .await
        .expect("request sent");
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[actix_web::test]
async fn the_served_document_is_the_committed_contract() {
    let app = spawn_app().await;
    let served: Value = app
        .get("/openapi.json")
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON");
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json"),
        )
        .expect("openapi/openapi.json is committed"),
    )
    .expect("valid JSON");
    assert!(
        served == committed,
        "the served OpenAPI document differs from openapi/openapi.json; \
         run `cargo run -- openapi > openapi/openapi.json` and commit it"
    );
}

/// Every `$ref` resolves, and every operation has an id, a tag and a 500 answer.
#[test]
fn the_document_is_complete() {
    let document = serde_json::to_value(podium::api::openapi()).expect("serialisable");
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"#/").skip(1) {
        let pointer = reference.split('"').next().expect("a pointer");
        assert!(
            document.pointer(&format!("/{pointer}")).is_some(),
            "dangling reference #/{pointer}"
        );
    }
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            assert!(
                operation["operationId"].is_string(),
                "{method} {path} has no id"
            );
            assert!(operation["tags"].is_array(), "{method} {path} has no tag");
            assert!(
                operation["responses"]["500"].is_object(),
                "{method} {path} lacks 500"
            );
        }
    }
}

#[actix_web::test]
async fn swagger_ui_is_served_under_docs() {
    let app = spawn_app().await;
    let redirect = app.get("/docs").send().await.expect("request sent");
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers()["location"], "/docs/");
    let page = app.get("/docs/").send().await.expect("request sent");
    assert_eq!(page.status(), 200);
    // Its own scripts and styles only, and never in a frame.
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert!(page.text().await.expect("text").contains("swagger"));
}

#[actix_web::test]
async fn every_answer_is_nosniff_and_sends_no_referrer() {
    let app = spawn_app().await;
    for path in [
        "/healthz",
        "/api/v1/me",
        "/api/v1/nothing-here",
        "/openapi.json",
    ] {
        let response = app.get(path).send().await.expect("request sent");
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        assert_eq!(
            response.headers()["referrer-policy"],
            "no-referrer",
            "{path}"
        );
        assert!(
            response.headers().get("content-security-policy").is_none(),
            "{path}: a policy is for pages"
        );
    }
    // The page a browser gets for a link that is not ours is a page too.
    let response = app
        .get("/share/not-a-link")
        .header("Accept", "text/html")
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 404);
    crate::helpers::assert_secure_page(response.headers());
}

#[actix_web::test]
async fn the_first_admin_comes_from_the_settings_and_only_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let page: Value = app.get_json(&admin, "/api/v1/users?role=admin").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["email"], ADMIN_EMAIL);
}

#[actix_web::test]
async fn a_short_secret_refuses_to_start() {
    let (_db, mut settings) = test_database();
    settings.jwt_secret = podium::settings::Secret::new("short");
    let error = podium::startup::Application::build(settings)
        .err()
        .expect("the server refused a 5-byte secret");
    assert!(error.to_string().contains("at least 32 bytes"), "{error}");
}

fn migration_names(backend: &str) -> BTreeSet<String> {
    std::fs::read_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend),
    )
    .expect("the migrations folder exists")
    .map(|entry| {
        entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned()
    })
    .collect()
}

#[test]
fn both_backends_have_the_same_migrations() {
    let sqlite = migration_names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migration_names("postgres"));
}

#[actix_web::test]
async fn metrics_are_served_in_the_prometheus_format_behind_their_own_token() {
    let app = spawn_app().await;
    let response = app.get("/metrics").send().await.expect("request sent");
    assert_problem(response, 401, "metrics_disabled").await;

    let app = crate::helpers::spawn_app_with(|s| {
        s.metrics_token = podium::settings::Secret::new("metrics-token-for-the-test");
    })
    .await;
    let admin = app.admin().await;
    let response = app
        .post("/api/v1/auth/token")
        .json(&serde_json::json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": "wrong"}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 401);
    app.get_json(&admin, "/api/v1/me").await;
    app.get("/share/a-secret-share-token")
        .send()
        .await
        .expect("request sent");

    for token in [None, Some(admin.token.as_str())] {
        let mut request = app.get("/metrics");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        assert_problem(response, 401, "invalid_metrics_token").await;
    }
    let response = app
        .get("/metrics")
        .bearer_auth("metrics-token-for-the-test")
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("ASCII")
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.expect("text");
    for expected in [
        "podium_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"} 2", // the admin helper reads /me too
        "podium_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/me\",le=\"",
        "route=\"/share/{token}\"",
        "podium_sign_in_attempts_total{outcome=\"refused\"} 1",
        "podium_sign_in_attempts_total{outcome=\"signed_in\"} 1",
        "podium_db_pool_connections{state=\"idle\"}",
        "podium_db_pool_waiting 0",
        "podium_streams_open 0",
        "podium_webhook_deliveries{status=\"pending\"} 0",
        "podium_standings_apply_seconds_count",
        "# TYPE podium_rule_limit_hits_total counter",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(
        !text.contains("a-secret-share-token"),
        "paths never become labels"
    );
}
