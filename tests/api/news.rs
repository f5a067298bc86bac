//! News, the live stream and the digest: recorded as things happen, each reader seeing
//! only what it may see — partners never another organisation's entrants.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, Caller, TestApp};
use crate::sales::post_sales;

/// A company with two reps in two regions, and two distributors with one rep each; a
/// revenue competition over January whose standings are not visible to all.
pub struct Arena {
    pub region: Uuid,
    pub alice: Uuid,
    pub bruno: Uuid,
    pub dist_one: Uuid,
    pub denis: Uuid,
    pub dist_two: Uuid,
    pub diane: Uuid,
    pub challenge: Uuid,
}

impl Arena {
    pub async fn new(app: &TestApp, extra: Value) -> Self {
        let company = app.organisation("company").await;
        let dist_one = app.organisation("distributor").await;
        let dist_two = app.organisation("distributor").await;
        let region = app.region("1.0", "0.2").await;
        let other_region = app.region("1.0", "0.2").await;
        let alice = app
            .named_participant("Alice Martin", company, Some(region), None)
            .await;
        let bruno = app
            .named_participant("Bruno Petit", company, Some(other_region), None)
            .await;
        let denis = app
            .named_participant("Denis Un", dist_one, None, None)
            .await;
        let diane = app
            .named_participant("Diane Deux", dist_two, None, None)
            .await;
        app.espresso_and_hotel().await;
        let mut body = json!({
            "name": "January push",
            "kind": "competition",
            "rules_text": "Net revenue in January. The best three win.",
            "starts_at": "2026-01-01T00:00:00Z",
            "ends_at": "2026-02-01T00:00:00Z",
            "objective": {"type": "revenue"},
            "tie_break": ["first_to_reach"],
            "standings_visible": false
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                body.insert(k.clone(), v.clone());
            }
        }
        let created = app.create("/api/v1/challenges", body).await;
        let challenge = created["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("an id");
        Self {
            region,
            alice,
            bruno,
            dist_one,
            denis,
            dist_two,
            diane,
            challenge,
        }
    }

    pub async fn act(&self, app: &TestApp, admin: &Caller, action: &str) {
        let response = app
            .post_as(
                admin,
                &format!("/api/v1/challenges/{}/{action}", self.challenge),
            )
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status(), 200, "{action} failed");
    }

    pub async fn start(&self, app: &TestApp, admin: &Caller) {
        self.act(app, admin, "schedule").await;
        self.act(app, admin, "start").await;
    }

    pub async fn sell(&self, app: &TestApp, admin: &Caller, who: Uuid, amount: i64) {
        self.sell_all(app, admin, &[(who, amount)]).await;
    }

    /// Several sales in one batch: one change of the standings.
    pub async fn sell_all(&self, app: &TestApp, admin: &Caller, sales: &[(Uuid, i64)]) {
        let lines = sales
            .iter()
            .map(|(who, amount)| {
                json!({
                    "participant_id": who, "sold_at": "2026-01-15T10:00:00Z", "product_sku": "ESP-200",
                    "customer_reference": "C-1", "quantity": 1, "amount_cents": amount, "currency": "EUR",
                    "source": "erp", "external_id": Uuid::new_v4().to_string(),
                })
            })
            .collect();
        let response = post_sales(app, admin, lines).await;
        assert_eq!(response.status(), 201, "recording sales failed");
    }
}

/// Polls `check` until it answers `Some`, for at most `seconds`.
pub async fn eventually<T, F, Fut>(seconds: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The caller's news of a challenge, oldest first, as (kind, entrant id).
pub async fn news_of(
    app: &TestApp,
    caller: &Caller,
    challenge: Uuid,
) -> Vec<(String, Option<String>)> {
    let page = app
        .get_json(
            caller,
            &format!("/api/v1/news?challenge_id={challenge}&limit=200"),
        )
        .await;
    let mut items: Vec<(String, Option<String>)> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().expect("kind").to_owned(),
                n["entrant"]["id"].as_str().map(str::to_owned),
            )
        })
        .collect();
    items.reverse();
    items
}

fn count(news: &[(String, Option<String>)], kind: &str) -> usize {
    news.iter().filter(|(k, _)| k == kind).count()
}

/// A Server-Sent Events reader over a real HTTP response.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
    /// Everything received, to check what never arrived.
    pub raw: String,
}

/// One event: its name, its data and its id.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub data: Value,
    pub id: Option<i64>,
}

impl EventStream {
    pub async fn open(
        app: &TestApp,
        caller: &Caller,
        challenge: Uuid,
        last_id: Option<i64>,
    ) -> Self {
        Self::open_with(app, caller, challenge, "", last_id).await
    }

    /// Opens the stream with a query string (`?limit=…`).
    pub async fn open_with(
        app: &TestApp,
        caller: &Caller,
        challenge: Uuid,
        query: &str,
        last_id: Option<i64>,
    ) -> Self {
        let mut request = app.get_as(
            caller,
            &format!("/api/v1/challenges/{challenge}/standings/stream{query}"),
        );
        if let Some(id) = last_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.expect("stream opened");
        if response.status() != 200 {
            panic!(
                "the stream did not open: {}",
                response.text().await.unwrap_or_default()
            );
        }
        assert_eq!(
            response.headers()["content-type"].to_str().expect("ASCII"),
            "text/event-stream"
        );
        Self {
            response,
            buffer: String::new(),
            raw: String::new(),
        }
    }

    /// The next event (comments skipped), or `None` after `seconds` of silence.
    pub async fn next(&mut self, seconds: u64) -> Option<Event> {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut name, mut data, mut id) = (String::new(), String::new(), None);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().ok();
                    }
                }
                if name.is_empty() {
                    continue;
                }
                let data = serde_json::from_str(&data).expect("JSON data");
                return Some(Event { name, data, id });
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match actix_web::rt::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.raw.push_str(&text);
                    self.buffer.push_str(&text);
                }
                Ok(_) | Err(_) => return None,
            }
        }
    }

    /// Reads events until one satisfies `want`; panics after `seconds`.
    pub async fn until(
        &mut self,
        seconds: u64,
        what: &str,
        want: impl Fn(&Event) -> bool,
    ) -> Event {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("timed out waiting for {what}; received: {}", self.raw));
            match self.next(left.as_secs().max(1)).await {
                Some(event) if want(&event) => return event,
                Some(_) => {}
                None => panic!("timed out waiting for {what}; received: {}", self.raw),
            }
        }
    }
}

fn is_news(kind: &'static str) -> impl Fn(&Event) -> bool {
    move |e| e.name == "news" && e.data["kind"] == kind
}

#[actix_web::test]
async fn news_follow_the_challenge_and_each_reader_sees_only_its_own() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    let partner_one = app.user_scoped("partner", Some(arena.dist_one)).await;
    let alice = app.user_scoped("participant", Some(arena.alice)).await;
    let manager = app.user_scoped("manager", Some(arena.region)).await;

    arena.start(&app, &admin).await;
    arena.sell(&app, &admin, arena.denis, 5_000).await;
    eventually(10, "Denis to lead", || async {
        let news = news_of(&app, &admin, arena.challenge).await;
        (count(&news, "leader_changed") == 1).then_some(())
    })
    .await;
    arena.sell(&app, &admin, arena.diane, 9_000).await;
    let all = eventually(10, "Diane to lead", || async {
        let news = news_of(&app, &admin, arena.challenge).await;
        (count(&news, "leader_changed") == 2).then_some(news)
    })
    .await;
    let denis = arena.denis.to_string();
    let diane = arena.diane.to_string();
    assert_eq!(
        all,
        [
            ("challenge_started".to_owned(), None),
            ("leader_changed".to_owned(), Some(denis.clone())),
            ("leader_changed".to_owned(), Some(diane.clone())),
        ]
    );
    // A sale that changes no leader records nothing; the next lead does, once.
    arena.sell(&app, &admin, arena.alice, 1_000).await;
    arena.sell(&app, &admin, arena.denis, 10_000).await;
    let all = eventually(10, "Denis to lead again", || async {
        let news = news_of(&app, &admin, arena.challenge).await;
        (count(&news, "leader_changed") == 3).then_some(news)
    })
    .await;
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(all[3], ("leader_changed".to_owned(), Some(denis.clone())));

    // The first distributor's partner: the start and its own rep's leads, never Diane's.
    assert_eq!(
        news_of(&app, &partner_one, arena.challenge).await,
        [
            ("challenge_started".to_owned(), None),
            ("leader_changed".to_owned(), Some(denis.clone())),
            ("leader_changed".to_owned(), Some(denis.clone())),
        ]
    );
    // A participant whose standings are private, and a manager of a region with no
    // leader: the start only.
    for reader in [&alice, &manager] {
        assert_eq!(
            news_of(&app, reader, arena.challenge).await,
            [("challenge_started".to_owned(), None)]
        );
    }

    // Filters and pagination.
    let page = app
        .get_json(&admin, "/api/v1/news?kind=leader_changed&limit=1&offset=1")
        .await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["items"][0]["entrant"]["id"], diane.as_str());
    assert_eq!(page["items"][0]["entrant"]["name"], "Diane Deux");
    assert!(page["items"][0]["message"]
        .as_str()
        .expect("message")
        .contains("Diane Deux leads “January push” with a score of 90 EUR."));
    let page = app
        .get_json(&admin, "/api/v1/news?kind=leader_changed&limit=1")
        .await;
    let latest = page["items"][0]["id"].as_i64().expect("id");
    let after = app
        .get_json(&admin, &format!("/api/v1/news?after_id={latest}"))
        .await;
    assert_eq!(after["total"], 0);
    let response = app
        .get_as(&admin, "/api/v1/news?kind=weather")
        .send()
        .await
        .expect("sent");
    assert_problem(response, 400, "invalid_query").await;
    let response = app
        .get_as(&admin, "/api/v1/news?limit=0")
        .send()
        .await
        .expect("sent");
    assert_problem(response, 422, "validation_failed").await;

    // Closing and announcing are news for everyone.
    arena.act(&app, &admin, "close").await;
    arena.act(&app, &admin, "announce").await;
    let news = news_of(&app, &partner_one, arena.challenge).await;
    assert_eq!(count(&news, "challenge_closed"), 1);
    assert_eq!(count(&news, "results_announced"), 1);
}

#[actix_web::test]
async fn the_threshold_and_the_end_coming_are_news_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let now = chrono::Utc::now();
    let arena = Arena::new(
        &app,
        json!({
            "threshold": {"basis": "raw", "minimum": "4000"},
            "starts_at": "2026-01-01T00:00:00Z",
            "ends_at": (now + chrono::Duration::hours(3)).to_rfc3339(),
        }),
    )
    .await;
    arena.start(&app, &admin).await;
    arena.sell(&app, &admin, arena.alice, 3_000).await;
    arena.sell(&app, &admin, arena.alice, 2_000).await;
    let news = eventually(10, "the threshold passed", || async {
        let news = news_of(&app, &admin, arena.challenge).await;
        (count(&news, "threshold_passed") == 1).then_some(news)
    })
    .await;
    assert_eq!(count(&news, "ending_soon"), 1, "{news:?}");
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let news = news_of(&app, &admin, arena.challenge).await;
    assert_eq!(count(&news, "ending_soon"), 1, "said once: {news:?}");
    assert_eq!(count(&news, "threshold_passed"), 1);
}

#[actix_web::test]
async fn the_stream_sends_lines_and_news_within_the_callers_view() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    let partner_one = app.user_scoped("partner", Some(arena.dist_one)).await;
    arena.start(&app, &admin).await;

    let mut partner_stream = EventStream::open(&app, &partner_one, arena.challenge, None).await;
    let mut admin_stream = EventStream::open(&app, &admin, arena.challenge, None).await;
    let first = partner_stream.next(5).await.expect("a first event");
    assert_eq!(first.name, "standings");
    assert_eq!(first.data["full"], true);
    let lines = first.data["lines"].as_array().expect("lines");
    assert_eq!(
        lines.len(),
        1,
        "a partner sees its organisation's line only"
    );
    assert_eq!(lines[0]["entrant"]["id"], arena.denis.to_string());

    arena.sell(&app, &admin, arena.diane, 9_000).await;
    arena.sell(&app, &admin, arena.denis, 5_000).await;
    // The admin sees Diane take the lead.
    let lead = admin_stream
        .until(10, "Diane's lead", |e| {
            e.name == "news" && e.data["entrant"]["id"] == arena.diane.to_string()
        })
        .await;
    assert!(lead.id.is_some(), "news carry their id");
    // The partner sees its own line change and nothing of Diane.
    let changed = partner_stream
        .until(10, "Denis's line to change", |e| {
            e.name == "standings"
                && e.data["lines"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|l| l["totals"]["revenue_cents"] == 5_000))
        })
        .await;
    assert_eq!(changed.data["full"], false);
    assert_eq!(changed.data["lines"].as_array().map(Vec::len), Some(1));
    arena.sell(&app, &admin, arena.denis, 10_000).await;
    partner_stream
        .until(10, "Denis's lead", is_news("leader_changed"))
        .await;
    assert!(
        !partner_stream.raw.contains(&arena.diane.to_string())
            && !partner_stream.raw.contains("Diane"),
        "a partner's stream never shows another organisation: {}",
        partner_stream.raw
    );

    // A stream follows the top of the view only when asked: the leader, of four.
    let mut top = EventStream::open_with(&app, &admin, arena.challenge, "?limit=1", None).await;
    let first = top
        .until(5, "the top line", |e| e.name == "standings")
        .await;
    assert_eq!(first.data["lines"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        first.data["lines"][0]["entrant"]["id"],
        arena.denis.to_string()
    );
    assert_eq!(first.data["total"], 4);
    let response = app
        .get_as(
            &admin,
            &format!(
                "/api/v1/challenges/{}/standings/stream?limit=0",
                arena.challenge
            ),
        )
        .send()
        .await
        .expect("sent");
    assert_problem(response, 422, "validation_failed").await;

    // Reconnecting with Last-Event-ID replays what came after it.
    let mut resumed =
        EventStream::open(&app, &admin, arena.challenge, lead.id.map(|id| id - 1)).await;
    resumed
        .until(5, "the replayed lead", |e| e.id == lead.id)
        .await;

    // A closed challenge's stream says so.
    arena.act(&app, &admin, "close").await;
    let closed = admin_stream
        .until(10, "the close", is_news("challenge_closed"))
        .await;
    assert_eq!(closed.data["challenge_id"], arena.challenge.to_string());

    // Unknown challenge, no token.
    let response = app
        .get_as(
            &admin,
            &format!("/api/v1/challenges/{}/standings/stream", Uuid::new_v4()),
        )
        .send()
        .await
        .expect("sent");
    assert_problem(response, 404, "not_found").await;
    let response = app
        .get(&format!(
            "/api/v1/challenges/{}/standings/stream",
            arena.challenge
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 401);
}

/// A second instance of the server on `app`'s database, with its settings changed by
/// `adjust`, and a stream opened on it as `admin`; its listener has had a moment to LISTEN.
async fn second_instance(
    app: &TestApp,
    admin: &Caller,
    challenge: Uuid,
    adjust: impl FnOnce(&mut podium::settings::Settings),
) -> (String, actix_web::dev::ServerHandle, EventStream) {
    let mut settings = crate::helpers::test_settings(app.database_url.clone());
    adjust(&mut settings);
    let other = podium::startup::Application::build(settings).expect("a second instance");
    let address = format!("http://127.0.0.1:{}", other.port());
    let handle = other.handle();
    actix_web::rt::spawn(other.run_until_stopped());
    // Its listener connects on its own thread: give it a moment to LISTEN.
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let response = app
        .http
        .get(format!(
            "{address}/api/v1/challenges/{challenge}/standings/stream"
        ))
        .bearer_auth(&admin.token)
        .send()
        .await
        .expect("stream opened on the second instance");
    assert_eq!(response.status(), 200);
    let mut stream = EventStream {
        response,
        buffer: String::new(),
        raw: String::new(),
    };
    stream
        .until(5, "the first lines", |e| e.name == "standings")
        .await;
    (address, handle, stream)
}

/// Two API instances on one PostgreSQL database: news recorded on one reach the streams
/// of the other through LISTEN/NOTIFY. The second instance's watcher is slowed down to an
/// hour, so only the notification can wake its streams. (SQLite is one instance only.)
#[actix_web::test]
async fn news_reach_the_streams_of_another_instance() {
    let app = spawn_app().await;
    if !app.database_url.starts_with("postgres") {
        eprintln!("skipped: several instances need PostgreSQL");
        return;
    }
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    let (_, handle, mut stream) = second_instance(&app, &admin, arena.challenge, |s| {
        s.news_watch_interval_ms = 3_600_000;
    })
    .await;
    arena.start(&app, &admin).await;
    stream
        .until(
            10,
            "the start, recorded by the first instance",
            is_news("challenge_started"),
        )
        .await;
    handle.stop(false).await;
}

/// Two instances on one PostgreSQL database, the listeners' connections terminated: a
/// sale and the news it makes, committed on the first instance while the second cannot
/// hear notifications, still reach the second instance's open stream (its engine polls the
/// change log), and both instances then serve the same table.
#[actix_web::test]
async fn a_lost_notification_loses_no_update_on_another_instance() {
    let app = spawn_app().await;
    if !app.database_url.starts_with("postgres") {
        eprintln!("skipped: several instances need PostgreSQL");
        return;
    }
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    arena.start(&app, &admin).await;
    let (other_address, handle, mut stream) =
        second_instance(&app, &admin, arena.challenge, |s| s.change_poll_ms = 300).await;

    // Every LISTEN connection of this database goes; the listeners reconnect later, and
    // what was notified meanwhile is lost.
    let mut conn = app.connect();
    let killed: Vec<bool> = {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Killed {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            killed: bool,
        }
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND (query LIKE 'LISTEN%' OR query = 'SELECT 1')",
        )
        .load::<Killed>(&mut conn)
        .expect("terminated")
        .into_iter()
        .map(|k| k.killed)
        .collect()
    };
    assert!(killed.iter().any(|k| *k), "a listener was connected");
    arena.sell(&app, &admin, arena.alice, 7_700).await;
    stream
        .until(10, "the sale, on the second instance", |e| {
            e.name == "standings"
                && e.data["lines"]
                    .as_array()
                    .is_some_and(|lines| lines.iter().any(|l| l["score"] == "7700"))
        })
        .await;
    stream
        .until(
            10,
            "the new leader, on the second instance",
            is_news("leader_changed"),
        )
        .await;
    let path = format!("/api/v1/challenges/{}/standings?limit=200", arena.challenge);
    let here: Value = app.get_json(&admin, &path).await;
    let there: Value = app
        .http
        .get(format!("{other_address}{path}"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        here["items"], there["items"],
        "both instances serve the same table"
    );
    handle.stop(false).await;
}

#[actix_web::test]
async fn the_digest_tells_who_leads_who_moved_and_what_happened() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    let partner_one = app.user_scoped("partner", Some(arena.dist_one)).await;
    arena.start(&app, &admin).await;
    // One batch, one change: the watcher's look that records Denis's lead keeps the ranks
    // of both (snapshots are kept at every look in tests).
    arena
        .sell_all(&app, &admin, &[(arena.denis, 5_000), (arena.diane, 3_000)])
        .await;
    eventually(10, "Denis to lead", || async {
        let news = news_of(&app, &admin, arena.challenge).await;
        (count(&news, "leader_changed") == 1).then_some(())
    })
    .await;
    let since = chrono::Utc::now();
    actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    arena.sell(&app, &admin, arena.diane, 9_000).await;
    eventually(10, "Diane to lead", || async {
        let news = news_of(&app, &admin, arena.challenge).await;
        (count(&news, "leader_changed") == 2).then_some(())
    })
    .await;

    let path = format!(
        "/api/v1/challenges/{}/digest?since={}",
        arena.challenge,
        since.format("%Y-%m-%dT%H:%M:%S%.6fZ")
    );
    let digest = app.get_json(&admin, &path).await;
    assert_eq!(digest["new_leader"], true, "{digest}");
    assert_eq!(digest["leaders"][0]["name"], "Diane Deux");
    let movers = digest["movers"].as_array().expect("movers");
    let diane = movers
        .iter()
        .find(|m| m["entrant"]["name"] == "Diane Deux")
        .expect("Diane moved");
    assert_eq!(
        (diane["rank_before"].as_u64(), diane["rank_now"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(diane["places"], 1);
    assert_eq!(digest["news"].as_array().map(Vec::len), Some(1));
    assert!(digest["days_left"].is_null(), "January is over");

    let html = app
        .get_as(&admin, &format!("{path}&format=html"))
        .send()
        .await
        .expect("sent");
    assert_eq!(html.status(), 200);
    assert!(html.headers()["content-type"]
        .to_str()
        .expect("ASCII")
        .starts_with("text/html"));
    crate::helpers::assert_secure_page(html.headers());
    let html = html.text().await.expect("text");
    assert!(
        html.contains("New leader: <strong>Diane Deux</strong>"),
        "{html}"
    );
    assert!(html.contains("Movers"));

    // The partner's digest: its own rep only.
    let digest = app.get_json(&partner_one, &path).await;
    assert!(!digest.to_string().contains("Diane"), "{digest}");
    assert_eq!(digest["new_leader"], false);

    let future = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let response = app
        .get_as(
            &admin,
            &format!(
                "/api/v1/challenges/{}/digest?since={future}",
                arena.challenge
            ),
        )
        .send()
        .await
        .expect("sent");
    assert_problem(response, 422, "validation_failed").await;
}

#[actix_web::test]
async fn award_news_are_for_whoever_may_see_the_award() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let reward = app
        .create(
            "/api/v1/rewards",
            json!({"name": "Weekend", "category": "classic", "kind": {"type": "gift"}, "value_cents": 10_000}),
        )
        .await;
    let plan = json!({"by_rank": [{"rank": 1, "reward_id": reward["id"]}]});
    let arena = Arena::new(
        &app,
        json!({"standings_visible": true, "reward_plan": plan}),
    )
    .await;
    let alice = app.user_scoped("participant", Some(arena.alice)).await;
    let bruno = app.user_scoped("participant", Some(arena.bruno)).await;
    let partner = app.user_scoped("partner", Some(arena.dist_one)).await;
    arena.start(&app, &admin).await;
    arena.sell(&app, &admin, arena.alice, 9_000).await;
    eventually(10, "Alice to lead", || async {
        let news = news_of(&app, &admin, arena.challenge).await;
        (count(&news, "leader_changed") == 1).then_some(())
    })
    .await;
    arena.act(&app, &admin, "close").await;
    arena.act(&app, &admin, "announce").await;
    let awards = app
        .get_json(
            &admin,
            &format!("/api/v1/awards?challenge_id={}", arena.challenge),
        )
        .await;
    let award = awards["items"][0]["id"]
        .as_str()
        .expect("an award")
        .to_owned();
    let response = app
        .post_as(&admin, &format!("/api/v1/awards/{award}/fulfil"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);

    let news = news_of(&app, &alice, arena.challenge).await;
    assert_eq!(
        count(&news, "award_fulfilled"),
        1,
        "the winner sees its own award"
    );
    let page = app
        .get_json(&alice, "/api/v1/news?kind=award_fulfilled")
        .await;
    assert_eq!(page["items"][0]["award_id"], award.as_str());
    assert!(page["items"][0]["message"]
        .as_str()
        .expect("message")
        .contains("Alice Martin received 1 × Weekend"));
    // Standings visible to all show Alice's lead to Bruno, never her award.
    let news = news_of(&app, &bruno, arena.challenge).await;
    assert_eq!(count(&news, "leader_changed"), 1);
    assert_eq!(count(&news, "award_fulfilled"), 0, "{news:?}");
    assert_eq!(
        count(
            &news_of(&app, &partner, arena.challenge).await,
            "award_fulfilled"
        ),
        0
    );
}

#[actix_web::test]
async fn a_stream_ends_when_its_account_is_disabled() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    let partner = app.user_scoped("partner", Some(arena.dist_one)).await;
    arena.start(&app, &admin).await;
    let mut stream = EventStream::open(&app, &partner, arena.challenge, None).await;
    stream
        .until(5, "the first lines", |e| e.name == "standings")
        .await;
    let response = app
        .post_as(&admin, &format!("/api/v1/users/{}/disable", partner.id))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    arena.sell(&app, &admin, arena.denis, 5_000).await;
    let last = stream
        .until(10, "the stream to refuse", |e| e.name == "problem")
        .await;
    assert_eq!(last.data["code"], "token_revoked");
    assert!(stream.next(2).await.is_none(), "the stream ended");
}

#[actix_web::test]
async fn stopping_the_server_closes_streams_at_once_with_a_reconnect_event() {
    let app = spawn_app_with(|s| s.shutdown_timeout_seconds = 30).await;
    let admin = app.admin().await;
    let arena = Arena::new(&app, json!({})).await;
    arena.start(&app, &admin).await;
    let mut stream = EventStream::open(&app, &admin, arena.challenge, None).await;
    stream
        .until(5, "the first lines", |e| e.name == "standings")
        .await;

    let stopper = app.stopper.clone();
    let stopping = actix_web::rt::spawn(async move { stopper.stop().await });
    let last = stream
        .until(5, "the reconnect event", |e| e.name == "reconnect")
        .await;
    assert_eq!(last.data["retry_after_ms"], 1000);
    assert!(stream.raw.contains("retry: 1000\n"), "{}", stream.raw);
    assert!(stream.next(2).await.is_none(), "the stream ended");
    // The server does not wait out its 30 s for a stream that never ends.
    actix_web::rt::time::timeout(Duration::from_secs(20), stopping)
        .await
        .expect("the server stopped before its shutdown timeout")
        .expect("the stop task");
}
