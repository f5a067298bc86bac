//! Share links and the public results page, checked over HTTP and in headless Chromium
//! (Debian's `chromium`, installed by `tests/browser/install-chromium.sh` when missing):
//! the page renders the podium, and answers 410 once revoked or expired.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, fields_at_fault, spawn_app, Caller, TestApp};
use crate::news::Arena;

/// Debian's Chromium, installed on first use by the project's script when missing.
fn chromium() -> &'static Path {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND.get_or_init(|| {
        let find = || {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        };
        if let Some(path) = find() {
            return path;
        }
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/install-chromium.sh");
        let status = Command::new("bash").arg(&script).status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "Chromium is missing and {} could not install it",
            script.display()
        );
        find().expect("Chromium installed")
    })
}

/// Runs headless Chromium with `args` on `url`; answers its standard output.
async fn run_chromium(args: Vec<String>, url: String) -> String {
    let binary = chromium().to_path_buf();
    actix_web::rt::task::spawn_blocking(move || {
        let profile = tempfile::tempdir().expect("a profile directory");
        let output = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(url)
            .output()
            .expect("Chromium runs");
        assert!(
            output.status.success(),
            "Chromium failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    })
    .await
    .expect("Chromium's thread")
}

/// Pixels of a PNG close to an RGB colour.
fn pixels_of(png_path: &Path, colour: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).expect("the screenshot"));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).expect("a frame");
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected colour type {other:?}"),
    };
    buffer[..info.buffer_size()]
        .chunks_exact(step)
        .filter(|p| (0..3).all(|i| p[i].abs_diff(colour[i]) <= 3))
        .count()
}

async fn share(app: &TestApp, caller: &Caller, challenge: Uuid, body: Value) -> reqwest::Response {
    app.post_as(
        caller,
        &format!("/api/v1/challenges/{challenge}/share-links"),
    )
    .json(&body)
    .send()
    .await
    .expect("sent")
}

async fn page(app: &TestApp, url: &str, html: bool) -> reqwest::Response {
    app.settled().await;
    let mut request = app.http.get(app.url(url));
    if html {
        request = request.header("Accept", "text/html,application/xhtml+xml");
    }
    request.send().await.expect("sent")
}

/// The API docs run under their content security policy: the Swagger UI loads its
/// scripts, reads the document and lists the operations.
#[actix_web::test]
async fn the_api_docs_render_in_a_browser_under_their_policy() {
    let app = spawn_app().await;
    let dom = run_chromium(
        vec!["--dump-dom".into(), "--virtual-time-budget=10000".into()],
        app.url("/docs/"),
    )
    .await;
    assert!(dom.contains("Podium API"), "{dom}");
    assert!(dom.contains("/api/v1/auth/token"), "{dom}");
}

#[actix_web::test]
async fn the_shared_page_shows_the_podium_in_a_browser_until_revoked() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    let manager = app.user_scoped("manager", Some(arena.region)).await;
    arena.start(&app, &admin).await;
    for (who, amount) in [
        (arena.alice, 9_000),
        (arena.bruno, 5_000),
        (arena.denis, 3_000),
        (arena.diane, 1_000),
    ] {
        arena.sell(&app, &admin, who, amount).await;
    }

    let response = share(&app, &admin, arena.challenge, json!({})).await;
    assert_eq!(response.status(), 201);
    let link: Value = response.json().await.expect("JSON");
    assert_eq!(link["status"], "active");
    let url = link["url"].as_str().expect("url").to_owned();
    assert!(url.starts_with("/share/"));

    let response = page(&app, &url, true).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert!(headers["content-type"]
        .to_str()
        .expect("ASCII")
        .starts_with("text/html"));
    crate::helpers::assert_secure_page(&headers);
    assert_eq!(headers["cache-control"], "no-store");
    let html = response.text().await.expect("text");
    assert!(html.contains("January push"));
    assert!(html.contains("Net revenue in January. The best three win."));
    assert!(
        html.contains(r#"http-equiv="refresh""#),
        "it reloads while running"
    );
    // Standings are not visible to all: initials only.
    assert!(html.contains("A. M.") && html.contains("B. P."));
    assert!(
        html.contains("90 EUR"),
        "scores read in the objective's unit"
    );
    assert!(
        !html.contains("Alice") && !html.contains("Martin"),
        "{html}"
    );

    // In a real browser: the DOM has the podium with the leader on the first step…
    let address = app.url(&url);
    let dom = run_chromium(vec!["--dump-dom".into()], address.clone()).await;
    assert!(dom.contains(r#"class="podium""#), "{dom}");
    assert!(dom.contains(r#"data-rank="1""#) && dom.contains("A. M."));
    assert!(
        dom.contains("<td>D. D.</td>"),
        "the leaderboard lists everyone"
    );
    // …and the screenshot shows it: gold, silver and bronze steps.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("share-{}.png", Uuid::new_v4()));
    run_chromium(
        vec![
            format!("--screenshot={}", shot.display()),
            "--window-size=1000,1000".into(),
        ],
        address.clone(),
    )
    .await;
    for (step, colour) in [
        ("gold", [0xd4, 0xaf, 0x37]),
        ("silver", [0xa8, 0xb0, 0xb8]),
        ("bronze", [0xcd, 0x7f, 0x32]),
    ] {
        let count = pixels_of(&shot, colour);
        assert!(
            count > 10_000,
            "the {step} step is not on the screenshot ({count} pixels)"
        );
    }

    // A manager's link shows its region's lines only, with their ranks in the whole table.
    let mine: Value = share(&app, &manager, arena.challenge, json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    let html = page(&app, mine["url"].as_str().expect("url"), true)
        .await
        .text()
        .await
        .expect("text");
    assert!(html.contains("A. M."));
    assert!(
        !html.contains("B. P.") && !html.contains("D. U.") && !html.contains("D. D."),
        "{html}"
    );

    // Revoked: 410, as a page for browsers and as a problem for programs.
    let id = link["id"].as_str().expect("id");
    let response = app
        .post_as(&admin, &format!("/api/v1/share-links/{id}/revoke"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_problem(page(&app, &url, false).await, 410, "link_revoked").await;
    let response = page(&app, &url, true).await;
    assert_eq!(response.status(), 410);
    assert!(response.text().await.expect("text").contains("revoked"));
    let response = app
        .post_as(&admin, &format!("/api/v1/share-links/{id}/revoke"))
        .send()
        .await
        .expect("sent");
    assert_problem(response, 409, "already_revoked").await;
    let _ = std::fs::remove_file(shot);
}

#[actix_web::test]
async fn a_link_expires_and_tampered_links_are_not_found() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    arena.start(&app, &admin).await;
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let response = share(&app, &admin, arena.challenge, json!({"expires_at": soon})).await;
    assert_eq!(response.status(), 201);
    let link: Value = response.json().await.expect("JSON");
    let url = link["url"].as_str().expect("url").to_owned();
    assert_eq!(page(&app, &url, false).await.status(), 200);
    actix_web::rt::time::sleep(Duration::from_millis(3_100)).await;
    assert_problem(page(&app, &url, false).await, 410, "link_expired").await;
    let listed = app
        .get_json(
            &admin,
            &format!("/api/v1/challenges/{}/share-links", arena.challenge),
        )
        .await;
    assert_eq!(listed[0]["status"], "expired");

    let mut tampered = url.clone();
    tampered.pop();
    tampered.push(if url.ends_with('A') { 'B' } else { 'A' });
    assert_problem(page(&app, &tampered, false).await, 404, "not_found").await;
    assert_problem(
        page(&app, "/share/not-a-token", false).await,
        404,
        "not_found",
    )
    .await;
    // An API token is not a share token.
    assert_problem(
        page(&app, &format!("/share/{}", admin.token), false).await,
        404,
        "not_found",
    )
    .await;
}

#[actix_web::test]
async fn results_stay_hidden_between_the_close_and_the_announcement() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({"standings_visible": true})).await;
    arena.start(&app, &admin).await;
    arena.sell(&app, &admin, arena.alice, 9_000).await;
    let link: Value = share(&app, &admin, arena.challenge, json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    let url = link["url"].as_str().expect("url").to_owned();
    arena.act(&app, &admin, "close").await;
    let html = page(&app, &url, true).await.text().await.expect("text");
    assert!(html.contains("will be announced soon"));
    assert!(!html.contains(r#"class="podium""#) && !html.contains("Alice"));
    assert!(!html.contains(r#"http-equiv="refresh""#));
    arena.act(&app, &admin, "announce").await;
    let html = page(&app, &url, true).await.text().await.expect("text");
    assert!(html.contains(r#"class="podium""#) && html.contains("Final results"));
    assert!(
        html.contains("Alice Martin"),
        "names in full when standings are visible to all"
    );
}

#[actix_web::test]
async fn only_admins_and_managers_share_and_bad_links_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    let participant = app.user_scoped("participant", Some(arena.alice)).await;
    let partner = app.user_scoped("partner", Some(arena.dist_one)).await;
    let manager = app.user_scoped("manager", Some(arena.region)).await;
    // A draft cannot be shared.
    assert_problem(
        share(&app, &admin, arena.challenge, json!({})).await,
        409,
        "challenge_not_published",
    )
    .await;
    arena.start(&app, &admin).await;
    for caller in [&participant, &partner] {
        assert_problem(
            share(&app, caller, arena.challenge, json!({})).await,
            403,
            "forbidden",
        )
        .await;
    }
    for at in [
        (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
        (chrono::Utc::now() + chrono::Duration::days(400)).to_rfc3339(),
    ] {
        let problem = assert_problem(
            share(&app, &admin, arena.challenge, json!({"expires_at": at})).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(fields_at_fault(&problem), ["expires_at"]);
    }
    // A body, when there is one, must be a valid form.
    for body in [
        r#"{"expires_at": "tomorrow"}"#,
        r#"{"expire_at": null}"#,
        "[1",
    ] {
        let response = app
            .post_as(
                &admin,
                &format!("/api/v1/challenges/{}/share-links", arena.challenge),
            )
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_problem(response, 400, "invalid_body").await;
    }
    let response = app
        .post_as(
            &admin,
            &format!("/api/v1/challenges/{}/share-links", arena.challenge),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 201, "no body: the default expiry");
    // A manager manages its own links, not the admin's.
    let admins: Value = share(&app, &admin, arena.challenge, json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    share(&app, &manager, arena.challenge, json!({})).await;
    let id = admins["id"].as_str().expect("id");
    let response = app
        .post_as(&manager, &format!("/api/v1/share-links/{id}/revoke"))
        .send()
        .await
        .expect("sent");
    assert_problem(response, 404, "not_found").await;
    let mine = app
        .get_json(
            &manager,
            &format!("/api/v1/challenges/{}/share-links", arena.challenge),
        )
        .await;
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    let all = app
        .get_json(
            &admin,
            &format!("/api/v1/challenges/{}/share-links", arena.challenge),
        )
        .await;
    assert_eq!(all.as_array().map(Vec::len), Some(3));
}
