//! The dispatcher: a background task on every instance that sends due deliveries.
//!
//! It wakes when this instance records news (through the bus) and at least every poll
//! interval, takes up to a batch of due deliveries with a conditional update (a lease, so
//! another instance never sends the same attempt), sends each with a timeout and no
//! redirect (an attempt goes to the subscribed URL and nowhere else), and records the
//! outcome: delivered on a 2xx answer, else attempted again after a backoff, and failed
//! after the last attempt.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use tokio::sync::broadcast::error::RecvError;
use url::Host;

use super::{backoff, signature_header, SIGNATURE_HEADER};
use crate::api::webhooks::WebhookPayload;
use crate::db::Pool;
use crate::error::AppError;
use crate::models::news::{self, NewsRow};
use crate::models::webhook::{self, AttemptOutcome, DeliveryRow, WebhookRow};
use crate::models::{now, parse_id};
use crate::news::bus::EventBus;

/// Deliveries taken per round.
const BATCH: i64 = 16;
/// How long a taken delivery is left alone by other dispatchers: well over an attempt's
/// timeout (and the address look-up before it).
fn lease(settings: &DeliverySettings) -> chrono::Duration {
    chrono::Duration::from_std(settings.timeout.saturating_mul(2))
        .unwrap_or(chrono::Duration::hours(1))
        + chrono::Duration::seconds(60)
}

#[derive(Debug, Clone, Copy)]
pub struct DeliverySettings {
    pub poll: Duration,
    pub timeout: Duration,
    pub retry_base: Duration,
    pub max_attempts: i32,
    /// Whether deliveries may go to loopback and private addresses (tests, or an
    /// installation whose receivers live on its own network).
    pub allow_private_networks: bool,
}

fn client_builder(settings: &DeliverySettings) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .user_agent(concat!("Podium-Webhooks/", env!("CARGO_PKG_VERSION")))
        // Straight to the checked address: a proxy from the environment would not be.
        .no_proxy()
}

pub struct Dispatcher {
    pub pool: Pool,
    pub bus: Arc<EventBus>,
    pub client: reqwest::Client,
    pub settings: DeliverySettings,
}

/// One taken delivery with what it needs to be sent, and the lease it is held by.
type Work = (DeliveryRow, WebhookRow, NewsRow, NaiveDateTime);

impl Dispatcher {
    pub fn new(pool: Pool, bus: Arc<EventBus>, settings: DeliverySettings) -> anyhow::Result<Self> {
        let client = client_builder(&settings).build()?;
        Ok(Self {
            pool,
            bus,
            client,
            settings,
        })
    }

    /// Runs until the server's runtime stops.
    pub async fn run(self) {
        let mut signals = self.bus.subscribe();
        loop {
            match self.round().await {
                // A full batch: there may be more due at once.
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the webhook dispatcher could not run"),
            }
            tokio::select! {
                signal = signals.recv() => {
                    if let Err(RecvError::Closed) = signal {
                        return;
                    }
                }
                () = tokio::time::sleep(self.settings.poll) => {}
            }
        }
    }

    /// Sends what is due; answers how many deliveries it took.
    async fn round(&self) -> Result<usize, AppError> {
        let lease = lease(&self.settings);
        let taken: Vec<Work> = self
            .pool
            .run(move |conn| {
                let now = now();
                let lease_until = now + lease;
                let mut taken = Vec::new();
                for row in webhook::due(conn, now, BATCH)? {
                    if !webhook::claim(conn, &row, lease_until)? {
                        continue;
                    }
                    let hook = webhook::find(conn, parse_id(&row.webhook_id)?)?;
                    let item = news::find(conn, row.news_id)?;
                    if let (Some(hook), Some(item)) = (hook, item) {
                        taken.push((row, hook, item, lease_until));
                    }
                }
                Ok(taken)
            })
            .await?;
        let count = taken.len();
        let sends = taken.into_iter().map(|work| self.attempt(work));
        let outcomes = futures_util::future::join_all(sends).await;
        self.pool
            .run(move |conn| {
                for (id, lease_until, outcome) in outcomes {
                    if !webhook::record_attempt(conn, &id, lease_until, &outcome)? {
                        tracing::info!(delivery = %id, "replayed while being sent; the replay goes on");
                    }
                }
                Ok(())
            })
            .await?;
        Ok(count)
    }

    /// Sends one attempt and says what became of it.
    async fn attempt(
        &self,
        (delivery, hook, item, lease_until): Work,
    ) -> (String, NaiveDateTime, AttemptOutcome) {
        let attempts = delivery.attempts.saturating_add(1);
        let started = now();
        let result = if hook.active {
            self.send(&delivery, &hook, item).await
        } else {
            Err((None, "the subscription is disabled".to_owned()))
        };
        let outcome = match result {
            Ok(code) => AttemptOutcome {
                status: "delivered".into(),
                attempts,
                next_attempt_at: None,
                last_attempt_at: Some(started),
                last_status_code: Some(code),
                last_error: None,
                delivered_at: Some(now()),
            },
            Err((code, error)) => {
                let last = attempts >= self.settings.max_attempts || !hook.active;
                let wait = backoff(attempts, self.settings.retry_base);
                tracing::info!(
                    delivery = %delivery.id, webhook = %hook.id, attempts, error = %error,
                    "webhook attempt failed"
                );
                AttemptOutcome {
                    status: if last { "failed" } else { "pending" }.into(),
                    attempts,
                    next_attempt_at: (!last).then(|| {
                        now()
                            + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))
                    }),
                    last_attempt_at: Some(started),
                    last_status_code: code,
                    last_error: Some(error),
                    delivered_at: None,
                }
            }
        };
        (delivery.id, lease_until, outcome)
    }

    /// One signed POST; the HTTP status on a 2xx answer, else the status (if any) and why.
    async fn send(
        &self,
        delivery: &DeliveryRow,
        hook: &WebhookRow,
        item: NewsRow,
    ) -> Result<i32, (Option<i32>, String)> {
        let payload =
            WebhookPayload::new(delivery, hook, item).map_err(|e| (None, e.to_string()))?;
        let body = serde_json::to_vec(&payload).map_err(|e| (None, e.to_string()))?;
        let client = self.client_for(&hook.url).await.map_err(|e| (None, e))?;
        let timestamp = Utc::now().timestamp();
        let response = client
            .post(&hook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("podium-event", &delivery.kind)
            .header("podium-delivery", &delivery.id)
            .header("podium-timestamp", timestamp.to_string())
            .header(
                SIGNATURE_HEADER,
                signature_header(&hook.secret, timestamp, &body),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| (None, describe(&e)))?;
        let status = response.status();
        let code = i32::from(status.as_u16());
        if status.is_success() {
            Ok(code)
        } else {
            Err((Some(code), format!("the receiver answered {status}")))
        }
    }
}

impl Dispatcher {
    /// The client for one attempt. The host's addresses are looked up here and checked
    /// (no private or local address unless allowed); a name is then pinned to the
    /// addresses checked, so a second lookup cannot lead the request elsewhere.
    async fn client_for(&self, url: &str) -> Result<reqwest::Client, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("the URL is invalid: {e}"))?;
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| "the URL has no port".to_owned())?;
        let (domain, addresses): (Option<&str>, Vec<SocketAddr>) = match parsed.host() {
            Some(Host::Ipv4(ip)) => (None, vec![SocketAddr::new(ip.into(), port)]),
            Some(Host::Ipv6(ip)) => (None, vec![SocketAddr::new(ip.into(), port)]),
            Some(Host::Domain(name)) => {
                let found = tokio::net::lookup_host((name, port))
                    .await
                    .map_err(|e| format!("the host cannot be resolved: {e}"))?
                    .collect();
                (Some(name), found)
            }
            None => return Err("the URL has no host".into()),
        };
        if addresses.is_empty() {
            return Err("the host has no address".into());
        }
        if !self.settings.allow_private_networks
            && addresses.iter().any(|a| super::is_internal(a.ip()))
        {
            return Err("the URL leads to a private or local address".into());
        }
        match domain {
            None => Ok(self.client.clone()),
            Some(name) => client_builder(&self.settings)
                .resolve_to_addrs(name, &addresses)
                .build()
                .map_err(|e| format!("the request cannot be prepared: {e}")),
        }
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the receiver did not answer in time".into()
    } else if error.is_connect() {
        "the receiver could not be reached".into()
    } else {
        format!("the request failed: {error}")
    }
}
