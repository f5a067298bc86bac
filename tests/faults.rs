//! Faults of the storage under the real binary: a disk that fills up. The server runs on
//! SQLite in a small tmpfs of its own mount namespace (`unshare --mount --map-root-user`),
//! so filling it touches nothing else on the machine.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ADMIN_PASSWORD: &str = "a password for the fault test";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts the server on a SQLite file in a tmpfs of `size`.
async fn start_on_tmpfs(size: &str) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let script = format!("mount -t tmpfs -o size={size} tmpfs \"$1\" && exec \"$2\" serve",);
    let child = Command::new("unshare")
        .args(["--mount", "--map-root-user", "sh", "-c", &script, "sh"])
        .arg(dir.path())
        .arg(env!("CARGO_BIN_EXE_podium"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", dir.path().join("podium.db"))
        .env("PODIUM_CONFIG", "/nonexistent/podium.toml")
        .env("PODIUM_BIND", format!("127.0.0.1:{port}"))
        .env("PODIUM_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("PODIUM_LOG_LEVEL", "warn")
        .env("PODIUM_WORKERS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("unshare runs (util-linux)");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await {
            if r.status() == 200 {
                return server;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the server did not start in its tmpfs (are user namespaces allowed here?)"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn a_full_disk_refuses_writes_with_503_keeps_what_was_acknowledged_and_reports_not_ready() {
    let server = start_on_tmpfs("6m").await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base);
    let token: Value = http
        .post(url("/api/v1/auth/token"))
        .json(&json!({"grant_type": "password", "email": "admin@podium.local", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let token = token["access_token"].as_str().expect("a token").to_owned();
    let create = |path: &'static str, body: Value| {
        let request = http.post(url(path)).bearer_auth(&token).json(&body);
        async move {
            let created: Value = request
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("JSON");
            created["id"].as_str().expect("an id").to_owned()
        }
    };
    let company = create(
        "/api/v1/organisations",
        json!({"name": "Podium SA", "kind": "company"}),
    )
    .await;
    let rep = create(
        "/api/v1/participants",
        json!({"name": "Rep", "kind": "rep", "organisation_id": company}),
    )
    .await;

    // Batches of 5,000 lines until the disk is full.
    let mut acknowledged = 0_i64;
    let mut refused = None;
    for batch in 0..40 {
        let lines: Vec<Value> = (0..5_000)
            .map(|n| {
                json!({
                    "participant_id": rep, "sold_at": "2026-01-15T10:00:00Z", "quantity": 1,
                    "amount_cents": 100, "currency": "EUR", "source": "erp",
                    "external_id": format!("FULL-{batch}-{n}-padding-to-fill-the-disk-faster"),
                })
            })
            .collect();
        let response = http
            .post(url("/api/v1/sales"))
            .bearer_auth(&token)
            .json(&json!({"sales": lines}))
            .send()
            .await
            .expect("sent");
        match response.status().as_u16() {
            201 => acknowledged += 5_000,
            503 => {
                refused = Some(response);
                break;
            }
            other => panic!(
                "batch {batch}: {other} {}",
                response.text().await.unwrap_or_default()
            ),
        }
    }
    let refused = refused.expect("the disk filled up");
    assert!(acknowledged > 0, "some batches fit");
    assert_eq!(refused.headers()["retry-after"], "30");
    let problem: Value = refused.json().await.expect("problem JSON");
    assert_eq!(problem["code"], "storage_full", "{problem}");

    let ready = http.get(url("/readyz")).send().await.expect("sent");
    assert_eq!(ready.status(), 503, "not ready while the disk is full");
    let problem: Value = ready.json().await.expect("problem JSON");
    assert_eq!(problem["code"], "storage_full");

    // What was acknowledged is there, and nothing of the refused batch.
    let page: Value = http
        .get(url("/api/v1/sales?limit=1"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(page["total"], acknowledged, "{page}");
}
