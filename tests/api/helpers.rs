//! Starts the real server on port 0 against a fresh database per test: a temporary
//! SQLite file, or, when `TEST_DATABASE_URL` names a PostgreSQL server, a new database
//! created for the test and dropped afterwards. Gives a signed-in caller per role.

use std::sync::Once;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use podium::settings::{Secret, Settings};
use podium::startup::Application;
use reqwest::{RequestBuilder, Response};
use serde_json::{json, Value};
use uuid::Uuid;

pub const ADMIN_EMAIL: &str = "admin@podium.test";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const JWT_SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";
pub const ISSUER: &str = "podium-test";
pub const AUDIENCE: &str = "podium-test-api";

/// Where a test's database lives; dropping it removes the database.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { server_url: String, name: String },
}

impl TestDb {
    fn create() -> (Self, String) {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(server_url) if !server_url.is_empty() => {
                let name = format!("podium_test_{}", Uuid::new_v4().simple());
                let mut conn = diesel::PgConnection::establish(&server_url)
                    .expect("TEST_DATABASE_URL must point at a reachable PostgreSQL server");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create the test database");
                let url = with_database(&server_url, &name);
                (TestDb::Postgres { server_url, name }, url)
            }
            _ => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = dir.path().join("podium.db").to_string_lossy().into_owned();
                (TestDb::Sqlite(dir), url)
            }
        }
    }

    /// Makes the database unreachable, as an outage would.
    pub fn destroy(&self) {
        match self {
            TestDb::Sqlite(dir) => {
                for entry in std::fs::read_dir(dir.path()).expect("list the test directory") {
                    let path = entry.expect("directory entry").path();
                    if path.to_string_lossy().contains("podium.db")
                        && !path.to_string_lossy().ends_with("jwt-secret")
                    {
                        std::fs::remove_file(path).expect("remove a database file");
                    }
                }
            }
            TestDb::Postgres { server_url, name } => drop_database(server_url, name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { server_url, name } = self {
            drop_database(server_url, name);
        }
    }
}

fn drop_database(server_url: &str, name: &str) {
    if let Ok(mut conn) = diesel::PgConnection::establish(server_url) {
        let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

/// The same server URL with another database name.
fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server_url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

/// A signed-in caller of some role.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: String,
    /// The user's (or API client's) id.
    pub id: Uuid,
    /// The region, participant or organisation the role is scoped to.
    pub scope_id: Option<Uuid>,
}

pub struct TestApp {
    pub address: String,
    pub database_url: String,
    pub http: reqwest::Client,
    pub db: TestDb,
    handle: actix_web::dev::ServerHandle,
    /// Stops the server as SIGTERM does.
    pub stopper: podium::shutdown::Stopper,
    /// The server's standings engine, for [`TestApp::settled`].
    pub engine: std::sync::Arc<podium::challenges::engine::Engine>,
    /// A connection to the change log, for [`TestApp::get_as`].
    log: std::sync::Mutex<Option<podium::db::DbConnection>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting and drop the workers; the database goes with `db`.
        drop(self.handle.stop(false));
    }
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            podium::telemetry::init("debug", "text");
        }
    });
}

/// The settings of a test server on `database_url`.
pub fn test_settings(database_url: String) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url,
        db_pool_size: 4,
        db_timeout_seconds: 2,
        jwt_secret: Secret::new(JWT_SECRET),
        jwt_issuer: ISSUER.into(),
        jwt_audience: AUDIENCE.into(),
        jwt_leeway_seconds: 5,
        admin_email: ADMIN_EMAIL.into(),
        admin_password: Secret::new(ADMIN_PASSWORD),
        cors_origins: "https://ui.example.com".into(),
        workers: 1,
        shutdown_timeout_seconds: 1,
        // News, streams and webhooks at test speed.
        news_watch_interval_ms: 100,
        change_poll_ms: 50,
        news_snapshot_interval_seconds: 0,
        webhook_poll_ms: 100,
        webhook_retry_base_ms: 300,
        webhook_max_attempts: 3,
        webhook_timeout_seconds: 2,
        // The receivers of the tests listen on 127.0.0.1.
        webhook_allow_private_networks: true,
        // Tests sign in many times from one address; the throttling tests set their own.
        sign_in_account_burst: 1_000,
        sign_in_address_burst: 10_000,
        ..Settings::default()
    }
}

/// A fresh database and the test settings that point at it.
pub fn test_database() -> (TestDb, Settings) {
    let (db, url) = TestDb::create();
    (db, test_settings(url))
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server with test settings changed by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    init_logs();
    let (db, mut settings) = test_database();
    adjust(&mut settings);
    let database_url = settings.database_url.clone();
    let app = Application::build(settings).expect("the server starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let stopper = app.stopper();
    let engine = app.engine();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        database_url,
        // Idle connections are dropped before the server's 5 s keep-alive ends: a request
        // sent after a pause (a browser screenshot) would otherwise reuse a connection the
        // server has just closed, and fail with an incomplete message.
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("HTTP client"),
        db,
        handle,
        stopper,
        engine,
        log: std::sync::Mutex::new(None),
    }
}

impl TestApp {
    /// A direct connection to the test's database, for checks the API does not offer.
    pub fn connect(&self) -> podium::db::DbConnection {
        podium::db::DatabaseUrl::parse(&self.database_url)
            .connect()
            .expect("database connection")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.http.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.http.post(self.url(path))
    }

    /// A GET as `caller` that reads every write committed so far: it names the change
    /// log's last change in `Podium-Min-Change`, as a client passing on the highest
    /// `Podium-Change` it has seen would (live standings do not otherwise wait for the
    /// writes in flight).
    pub fn get_as(&self, caller: &Caller, path: &str) -> RequestBuilder {
        self.get(path)
            .bearer_auth(&caller.token)
            .header("Podium-Min-Change", self.latest_change().to_string())
    }

    /// Waits until the server's engine has applied every write committed so far: for
    /// reads that take the live tables as they are (share pages, streams).
    pub async fn settled(&self) {
        self.engine
            .caught_up(self.latest_change())
            .await
            .expect("the engine applies the log");
    }

    /// The change log's last change, as the database has it now.
    pub fn latest_change(&self) -> i64 {
        let mut log = self.log.lock().expect("the log connection");
        let conn = log.get_or_insert_with(|| self.connect());
        podium::models::change::latest(conn).expect("the change log's last change")
    }

    /// GETs `path` as `caller` and returns the JSON body, whatever the status.
    pub async fn get_json(&self, caller: &Caller, path: &str) -> Value {
        self.get_as(caller, path)
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON body")
    }

    pub fn post_as(&self, caller: &Caller, path: &str) -> RequestBuilder {
        self.post(path).bearer_auth(&caller.token)
    }

    /// A PUT as `caller`.
    pub fn put(&self, caller: &Caller, path: &str) -> RequestBuilder {
        self.http.put(self.url(path)).bearer_auth(&caller.token)
    }

    /// Signs in with a password; panics unless it works.
    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let response = self
            .post("/api/v1/auth/token")
            .json(&json!({"grant_type": "password", "email": email, "password": password}))
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status(), 200, "sign-in of {email} failed");
        let body: Value = response.json().await.expect("JSON body");
        body["access_token"].as_str().expect("a token").to_owned()
    }

    pub async fn admin(&self) -> Caller {
        let token = self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let me: Value = self
            .get("/api/v1/me")
            .bearer_auth(&token)
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON body");
        Caller {
            token,
            id: me["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("an id"),
            scope_id: None,
        }
    }

    /// Creates a user of `role` (with a new region, participant or distributor for the
    /// roles that need one) and signs them in.
    pub async fn user(&self, role: &str) -> Caller {
        let scope = match role {
            "manager" => Some(self.region("1.0", "0.0").await),
            "participant" => {
                let org = self.organisation("company").await;
                Some(self.participant(org, None, None).await)
            }
            "partner" => Some(self.organisation("distributor").await),
            _ => None,
        };
        self.user_scoped(role, scope).await
    }

    /// POSTs `body` as the admin and returns the created object; panics unless 201.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let admin = self.admin().await;
        let response = self
            .post_as(&admin, path)
            .json(&body)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let created: Value = response.json().await.expect("JSON body");
        assert_eq!(status, 201, "POST {path} failed: {created}");
        created
    }

    fn id_of(created: &Value) -> Uuid {
        created["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("an id")
    }

    pub async fn organisation(&self, kind: &str) -> Uuid {
        let name = format!("{kind} {}", Uuid::new_v4().simple());
        Self::id_of(
            &self
                .create("/api/v1/organisations", json!({"name": name, "kind": kind}))
                .await,
        )
    }

    /// The product (`ESP-200`) and the key-account customer (`C-1`) that sale lines of
    /// the tests name.
    pub async fn espresso_and_hotel(&self) {
        self.create(
            "/api/v1/products",
            json!({"sku": "ESP-200", "name": "Espresso 200", "category": "coffee"}),
        )
        .await;
        self.create(
            "/api/v1/customers",
            json!({"reference": "C-1", "name": "Hôtel du Parc", "key_account": true}),
        )
        .await;
    }

    /// A region with its potential index and market share, as decimal strings ("1.25").
    pub async fn region(&self, potential_index: &str, market_share: &str) -> Uuid {
        let name = format!("region {}", Uuid::new_v4().simple());
        let body =
            json!({"name": name, "potential_index": potential_index, "market_share": market_share});
        Self::id_of(&self.create("/api/v1/regions", body).await)
    }

    pub async fn participant(
        &self,
        organisation: Uuid,
        region: Option<Uuid>,
        team: Option<Uuid>,
    ) -> Uuid {
        self.named_participant(
            &format!("rep {}", Uuid::new_v4().simple()),
            organisation,
            region,
            team,
        )
        .await
    }

    pub async fn named_participant(
        &self,
        name: &str,
        organisation: Uuid,
        region: Option<Uuid>,
        team: Option<Uuid>,
    ) -> Uuid {
        let body = json!({"name": name, "kind": "rep", "organisation_id": organisation, "region_id": region, "team_id": team});
        Self::id_of(&self.create("/api/v1/participants", body).await)
    }

    pub async fn user_scoped(&self, role: &str, scope_id: Option<Uuid>) -> Caller {
        let admin = self.admin().await;
        let email = format!("{role}-{}@podium.test", Uuid::new_v4().simple());
        let password = "a long enough password";
        let mut body = json!({
            "email": email, "display_name": format!("A {role}"), "password": password, "role": role,
        });
        let scope_field = match role {
            "manager" => Some("region_id"),
            "participant" => Some("participant_id"),
            "partner" => Some("organisation_id"),
            _ => None,
        };
        if let Some(field) = scope_field {
            body[field] = json!(scope_id);
        }
        let response = self
            .post_as(&admin, "/api/v1/users")
            .json(&body)
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status(), 201, "creating a {role} failed");
        let created: Value = response.json().await.expect("JSON body");
        Caller {
            token: self.sign_in(&email, password).await,
            id: created["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("an id"),
            scope_id: scope_field.and(scope_id),
        }
    }
}

/// Asserts the headers every HTML page of Podium carries: a policy that runs no script
/// and allows no framing, `nosniff`, no referrer.
pub fn assert_secure_page(headers: &reqwest::header::HeaderMap) {
    let policy = headers["content-security-policy"].to_str().expect("ASCII");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("script-src"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
}

/// Asserts a problem+json answer with this status and code, and returns its body.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/problem+json"),
        "content type was {content_type:?}"
    );
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:podium:problem:{code}"));
    body
}

/// The fields named in a validation problem, sorted.
pub fn fields_at_fault(problem: &Value) -> Vec<String> {
    let mut fields: Vec<String> = problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

#[test]
fn database_names_are_swapped_in_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://127.0.0.1/test?sslmode=disable", "x"),
        "postgres://127.0.0.1/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://127.0.0.1", "x"),
        "postgres://127.0.0.1/x"
    );
}
