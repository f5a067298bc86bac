//! Typed settings, layered: built-in defaults, then an optional TOML file, then the
//! environment (`PODIUM_*`, plus the conventional `DATABASE_URL`).
//!
//! `Settings::load()` is called once by `main`; tests build a `Settings` by hand and pass
//! it to `startup::Application::build`, so nothing here is global. Secrets are wrapped in
//! [`Secret`], whose `Debug` never prints the value.

use std::fmt;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// A value that must never reach a log line.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every setting of the server. The README lists each one with its variable.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on (`PODIUM_BIND`).
    pub bind: String,
    /// `postgres://…` selects PostgreSQL; anything else is a SQLite path (`DATABASE_URL`).
    pub database_url: String,
    /// Maximum connections in the pool (`PODIUM_DB_POOL_SIZE`).
    pub db_pool_size: u32,
    /// How long a request waits for a connection before answering 503
    /// (`PODIUM_DB_TIMEOUT_SECONDS`).
    pub db_timeout_seconds: u64,
    /// HS256 signing secret, at least 32 bytes (`PODIUM_JWT_SECRET`). Empty means: with
    /// SQLite, generate one and keep it beside the database; with PostgreSQL, refuse to
    /// start, since several instances must share it.
    pub jwt_secret: Secret,
    /// Lifetime of access tokens (`PODIUM_JWT_TTL_SECONDS`); short, since a refresh
    /// gets the next one.
    pub jwt_ttl_seconds: u64,
    /// How long a refresh token stays usable when it is not used
    /// (`PODIUM_REFRESH_TTL_SECONDS`); each refresh starts the time again.
    pub refresh_ttl_seconds: u64,
    /// Sign-in attempts an account may make at once (`PODIUM_SIGN_IN_ACCOUNT_BURST`).
    pub sign_in_account_burst: u32,
    /// Seconds that give an account one attempt back
    /// (`PODIUM_SIGN_IN_ACCOUNT_REFILL_SECONDS`).
    pub sign_in_account_refill_seconds: u64,
    /// Sign-in attempts (any grant) one client address may make at once
    /// (`PODIUM_SIGN_IN_ADDRESS_BURST`).
    pub sign_in_address_burst: u32,
    /// Seconds that give an address one attempt back
    /// (`PODIUM_SIGN_IN_ADDRESS_REFILL_SECONDS`).
    pub sign_in_address_refill_seconds: u64,
    /// Whether the client address is read from `Forwarded`/`X-Forwarded-For`, set by a
    /// proxy in front of Podium (`PODIUM_TRUST_FORWARDED_FOR`); off, it is the TCP peer,
    /// which a client cannot forge.
    pub trust_forwarded_for: bool,
    /// The bearer token `GET /metrics` requires (`PODIUM_METRICS_TOKEN`); empty, the
    /// metrics are not served (404).
    pub metrics_token: Secret,
    /// `iss` of issued tokens, required on incoming ones (`PODIUM_JWT_ISSUER`).
    pub jwt_issuer: String,
    /// `aud` of issued tokens, required on incoming ones (`PODIUM_JWT_AUDIENCE`).
    pub jwt_audience: String,
    /// Clock skew tolerated on `exp` and `nbf` (`PODIUM_JWT_LEEWAY_SECONDS`).
    pub jwt_leeway_seconds: u64,
    /// How long an account found active is trusted before the database is asked again
    /// (`PODIUM_AUTH_RECHECK_SECONDS`). Disabling takes effect at once on the instance
    /// that did it, and within this time on the others; 0 checks every request.
    pub auth_recheck_seconds: u64,
    /// Comma-separated browser origins allowed by CORS (`PODIUM_CORS_ORIGINS`); empty
    /// allows none.
    pub cors_origins: String,
    /// A tracing filter such as `info` or `podium=debug,info` (`PODIUM_LOG_LEVEL`).
    pub log_level: String,
    /// `text` or `json` (`PODIUM_LOG_FORMAT`).
    pub log_format: String,
    /// E-mail of the admin created on the first start (`PODIUM_ADMIN_EMAIL`).
    pub admin_email: String,
    /// Password of that admin; empty means generate one and print it once
    /// (`PODIUM_ADMIN_PASSWORD`).
    pub admin_password: Secret,
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT
    /// (`PODIUM_SHUTDOWN_TIMEOUT_SECONDS`).
    pub shutdown_timeout_seconds: u64,
    /// HTTP worker threads; 0 means one per core (`PODIUM_WORKERS`).
    pub workers: usize,
    /// Operations one rule evaluation may run (`PODIUM_RULE_MAX_OPERATIONS`).
    pub rule_max_operations: u64,
    /// Wall-clock milliseconds one rule evaluation may take (`PODIUM_RULE_TIMEOUT_MS`).
    pub rule_timeout_ms: u64,
    /// Rule evaluations (tables scored, allocations, tests) running at once; 0 means one
    /// per core (`PODIUM_RULE_CONCURRENCY`).
    pub rule_concurrency: usize,
    /// How often the news watcher looks at the running challenges when no table changed,
    /// in milliseconds (`PODIUM_NEWS_WATCH_INTERVAL_MS`).
    pub news_watch_interval_ms: u64,
    /// How often the standings engine reads the change log when nothing woke it, in
    /// milliseconds (`PODIUM_CHANGE_POLL_MS`): how late another instance's write can show
    /// in this instance's streams when a PostgreSQL notification is lost. Reads never
    /// wait for it: they wake the engine.
    pub change_poll_ms: u64,
    /// Least time between two rank snapshots of a challenge, which digests compare with
    /// (`PODIUM_NEWS_SNAPSHOT_INTERVAL_SECONDS`).
    pub news_snapshot_interval_seconds: u64,
    /// How long before its end a challenge is announced as ending soon
    /// (`PODIUM_NEWS_ENDING_SOON_HOURS`).
    pub news_ending_soon_hours: u64,
    /// How often the webhook dispatcher looks for due deliveries, in milliseconds, when no
    /// news wakes it earlier (`PODIUM_WEBHOOK_POLL_MS`).
    pub webhook_poll_ms: u64,
    /// How long one delivery attempt may take (`PODIUM_WEBHOOK_TIMEOUT_SECONDS`).
    pub webhook_timeout_seconds: u64,
    /// Wait after the first failed attempt, doubled after each further one, in
    /// milliseconds (`PODIUM_WEBHOOK_RETRY_BASE_MS`).
    pub webhook_retry_base_ms: u64,
    /// Attempts before a delivery is marked failed (`PODIUM_WEBHOOK_MAX_ATTEMPTS`).
    pub webhook_max_attempts: u32,
    /// Whether webhook URLs may lead to loopback and private addresses
    /// (`PODIUM_WEBHOOK_ALLOW_PRIVATE_NETWORKS`); off, a partner's URL cannot reach into
    /// the network Podium runs in.
    pub webhook_allow_private_networks: bool,
    /// How often the public results page of a running challenge reloads itself, in
    /// seconds (`PODIUM_SHARE_REFRESH_SECONDS`).
    pub share_refresh_seconds: u64,
    /// How old a sale may be when it is recorded, in days (`PODIUM_SALE_MAX_AGE_DAYS`);
    /// older lines are refused, naming the line. The default, 10 years (3,653 days),
    /// leaves room for baselines and late corrections while catching mistyped years.
    pub sale_max_age_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            database_url: "podium.db".into(),
            db_pool_size: 10,
            db_timeout_seconds: 5,
            jwt_secret: Secret::default(),
            jwt_ttl_seconds: 900,
            refresh_ttl_seconds: 14 * 24 * 3600,
            sign_in_account_burst: 5,
            sign_in_account_refill_seconds: 60,
            sign_in_address_burst: 30,
            sign_in_address_refill_seconds: 2,
            trust_forwarded_for: false,
            metrics_token: Secret::default(),
            jwt_issuer: "podium".into(),
            jwt_audience: "podium-api".into(),
            jwt_leeway_seconds: 30,
            auth_recheck_seconds: 2,
            cors_origins: String::new(),
            log_level: "info".into(),
            log_format: "text".into(),
            admin_email: "admin@podium.local".into(),
            admin_password: Secret::default(),
            shutdown_timeout_seconds: 30,
            workers: 0,
            rule_max_operations: 1_000_000,
            rule_timeout_ms: 500,
            rule_concurrency: 0,
            news_watch_interval_ms: 1000,
            change_poll_ms: 250,
            news_snapshot_interval_seconds: 3600,
            news_ending_soon_hours: 24,
            webhook_poll_ms: 1000,
            webhook_timeout_seconds: 10,
            webhook_retry_base_ms: 5000,
            webhook_max_attempts: 8,
            webhook_allow_private_networks: false,
            sale_max_age_days: 3_653,
            share_refresh_seconds: 60,
        }
    }
}

impl Settings {
    /// How long access and refresh tokens live.
    pub fn session_lifetimes(&self) -> crate::auth::sessions::Lifetimes {
        let seconds = |s: u64| {
            i64::try_from(s)
                .ok()
                .and_then(chrono::Duration::try_seconds)
                .unwrap_or(chrono::Duration::days(36_500))
        };
        crate::auth::sessions::Lifetimes {
            access: seconds(self.jwt_ttl_seconds),
            refresh: seconds(self.refresh_ttl_seconds),
        }
    }

    /// The sandbox limits of rule evaluations.
    pub fn rule_limits(&self) -> crate::rules::Limits {
        crate::rules::Limits {
            max_operations: self.rule_max_operations,
            timeout: std::time::Duration::from_millis(self.rule_timeout_ms),
            ..crate::rules::Limits::default()
        }
    }

    /// How the news watcher works.
    pub fn watch_settings(&self) -> crate::news::watch::WatchSettings {
        crate::news::watch::WatchSettings {
            interval: std::time::Duration::from_millis(self.news_watch_interval_ms.max(10)),
            // Out-of-range values (beyond chrono's 292 million years) mean "never".
            snapshot_every: i64::try_from(self.news_snapshot_interval_seconds)
                .ok()
                .and_then(chrono::Duration::try_seconds)
                .unwrap_or(chrono::Duration::MAX),
            ending_soon: i64::try_from(self.news_ending_soon_hours)
                .ok()
                .and_then(chrono::Duration::try_hours)
                .unwrap_or(chrono::Duration::MAX),
        }
    }

    /// How webhook deliveries are sent.
    pub fn delivery_settings(&self) -> crate::webhooks::dispatch::DeliverySettings {
        crate::webhooks::dispatch::DeliverySettings {
            poll: std::time::Duration::from_millis(self.webhook_poll_ms.max(10)),
            timeout: std::time::Duration::from_secs(self.webhook_timeout_seconds.max(1)),
            retry_base: std::time::Duration::from_millis(self.webhook_retry_base_ms),
            max_attempts: i32::try_from(self.webhook_max_attempts.max(1)).unwrap_or(i32::MAX),
            allow_private_networks: self.webhook_allow_private_networks,
        }
    }

    /// How many rule evaluations may run at once.
    pub fn rule_concurrency(&self) -> usize {
        match self.rule_concurrency {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            n => n,
        }
    }

    /// Defaults, then the file named by `PODIUM_CONFIG` (or `podium.toml` when it exists),
    /// then `DATABASE_URL` and `PODIUM_*` variables.
    pub fn load() -> Result<Self, Box<figment::Error>> {
        Self::from_sources(std::env::vars())
    }

    /// [`Settings::load`] over the given variables instead of the process environment.
    pub fn from_sources(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Box<figment::Error>> {
        let mut file = PathBuf::from("podium.toml");
        let mut env = BTreeMap::new();
        for (name, value) in vars {
            if name == "PODIUM_CONFIG" {
                file = PathBuf::from(value);
            } else if name == "DATABASE_URL" {
                // `PODIUM_DATABASE_URL`, when also set, wins.
                env.entry("database_url".to_owned()).or_insert(value);
            } else if let Some(key) = name.strip_prefix("PODIUM_") {
                env.insert(key.to_ascii_lowercase(), value);
            }
        }
        // Variables are taken as written: figment's own `Env` provider would turn a
        // password of digits into a number (and drop its leading zeros). `extract_lossy`
        // then reads numbers and booleans out of those strings where a setting wants one.
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Serialized::defaults(env))
            .extract_lossy()
            .map_err(Box::new)
    }

    /// The allowed CORS origins, trimmed, without empty entries.
    pub fn cors_origin_list(&self) -> Vec<String> {
        self.cors_origins
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Where a generated JWT secret is kept in local (SQLite) mode: beside the database.
    pub fn local_secret_path(sqlite_path: &Path) -> PathBuf {
        let mut name = sqlite_path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "podium.db".into());
        name.push(".jwt-secret");
        sqlite_path.with_file_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let settings = Settings {
            jwt_secret: Secret::new("super-secret-value-that-is-long-enough"),
            admin_password: Secret::new("hunter2hunter2"),
            ..Settings::default()
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("super-secret"));
        assert!(!printed.contains("hunter2"));
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_overrides_defaults_and_keeps_strings_as_written() {
        let settings = Settings::from_sources(vars(&[
            ("PODIUM_CONFIG", "/nonexistent/podium.toml"),
            ("PODIUM_BIND", "0.0.0.0:9000"),
            ("PODIUM_DB_POOL_SIZE", "3"),
            ("PODIUM_ADMIN_PASSWORD", "0012345678901"),
            ("DATABASE_URL", "postgres://db/podium"),
            ("HOME", "/root"),
        ]))
        .expect("valid settings");
        assert_eq!(settings.bind, "0.0.0.0:9000");
        assert_eq!(settings.db_pool_size, 3);
        assert_eq!(settings.admin_password.expose(), "0012345678901");
        assert_eq!(settings.database_url, "postgres://db/podium");
        assert_eq!(settings.jwt_ttl_seconds, 900);
    }

    #[test]
    fn a_file_sits_between_defaults_and_environment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("podium.toml");
        std::fs::write(&file, "bind = \"127.0.0.1:7000\"\njwt_ttl_seconds = 60\n")
            .expect("written");
        let settings = Settings::from_sources(vars(&[
            ("PODIUM_CONFIG", file.to_str().expect("utf-8")),
            ("PODIUM_JWT_TTL_SECONDS", "120"),
        ]))
        .expect("valid settings");
        assert_eq!(settings.bind, "127.0.0.1:7000");
        assert_eq!(settings.jwt_ttl_seconds, 120);
    }

    #[test]
    fn a_bad_number_is_an_error_naming_the_setting() {
        let error =
            Settings::from_sources(vars(&[("PODIUM_DB_POOL_SIZE", "many")])).expect_err("refused");
        assert!(error.to_string().contains("db_pool_size"), "{error}");
    }

    #[test]
    fn cors_origins_are_split_and_trimmed() {
        let settings = Settings {
            cors_origins: " https://a.example , ,https://b.example".into(),
            ..Settings::default()
        };
        assert_eq!(
            settings.cors_origin_list(),
            vec!["https://a.example", "https://b.example"]
        );
    }

    #[test]
    fn secret_file_sits_beside_the_database() {
        assert_eq!(
            Settings::local_secret_path(Path::new("/data/podium.db")),
            PathBuf::from("/data/podium.db.jwt-secret")
        );
    }
}
