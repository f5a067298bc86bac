//! Metrics in the Prometheus text format, at `GET /metrics` behind their own token.
//!
//! Decisions:
//! - The `prometheus` crate (TiKV's), without its protobuf feature: a registry per server,
//!   not a global recorder, so each test server (and each instance) counts only its own.
//! - The components that measure own their metrics and hand them over to the registry:
//!   the rule runner its evaluations and limit hits, the standings engine its build and
//!   apply times; what only a scrape can tell (pool connections, the webhook queue) is
//!   read at the scrape.
//! - Routes are labelled by their template (`/api/v1/challenges/{id}`), never by the path,
//!   so ids and share tokens never become labels and the series stay bounded.
//! - `/metrics` answers only with `Authorization: Bearer <PODIUM_METRICS_TOKEN>`; without a
//!   configured token every request is refused (401 `metrics_disabled`), so an
//!   installation exposes nothing it did not ask for.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::error::AppError;

/// Latency buckets of HTTP requests, in seconds.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets of standings builds and applies, in seconds.
pub const ENGINE_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

fn built<T>(metric: Result<T, prometheus::Error>) -> T {
    // The names and labels below are constants: a failure is a programming error caught
    // by the unit test, at start-up.
    metric.unwrap_or_else(|e| panic!("an invalid metric definition: {e}"))
}

/// A counter family, for the components that own theirs.
pub fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    built(IntCounterVec::new(Opts::new(name, help), labels))
}

/// A histogram, for the components that own theirs.
pub fn histogram(name: &str, help: &str, buckets: &[f64]) -> Histogram {
    built(Histogram::with_opts(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
    ))
}

/// The server's metrics; registered as app data.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    /// Live standings streams open now.
    pub streams_open: IntGauge,
    /// Sign-in attempts by outcome: `signed_in`, `refused`, `throttled`.
    pub sign_ins: IntCounterVec,
    pool_connections: IntGaugeVec,
    pool_waiting: IntGauge,
    webhook_deliveries: IntGaugeVec,
}

impl Metrics {
    /// The metrics of a server whose rule runner and engine measure with `owned`.
    pub fn new(owned: Vec<Box<dyn prometheus::core::Collector>>) -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("podium".into()), None)?;
        let http_requests = counter_vec(
            "http_requests_total",
            "HTTP requests answered, by route template, method and status",
            &["route", "method", "status"],
        );
        let http_seconds = built(HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request (to the first byte of a stream)",
            )
            .buckets(HTTP_BUCKETS.to_vec()),
            &["route", "method"],
        ));
        let streams_open = built(IntGauge::new("streams_open", "Live standings streams open"));
        let sign_ins = counter_vec(
            "sign_in_attempts_total",
            "Sign-in attempts by outcome: signed_in, refused (wrong credentials), throttled (429)",
            &["outcome"],
        );
        let pool_connections = built(IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database connections of the pool, by state: in_use, idle",
            ),
            &["state"],
        ));
        let pool_waiting = built(IntGauge::new(
            "db_pool_waiting",
            "Requests waiting for a database connection",
        ));
        let webhook_deliveries = built(IntGaugeVec::new(
            Opts::new(
                "webhook_deliveries",
                "Webhook deliveries by status: pending (the queue), failed, delivered",
            ),
            &["status"],
        ));
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_seconds.clone()),
            Box::new(streams_open.clone()),
            Box::new(sign_ins.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_waiting.clone()),
            Box::new(webhook_deliveries.clone()),
        ]
        .into_iter()
        .chain(owned)
        {
            registry.register(collector)?;
        }
        Ok(Self {
            registry,
            http_requests,
            http_seconds,
            streams_open,
            sign_ins,
            pool_connections,
            pool_waiting,
            webhook_deliveries,
        })
    }

    /// Counts one answered request.
    pub fn observe_request(&self, route: &str, method: &str, status: u16, started: Instant) {
        self.http_requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.http_seconds
            .with_label_values(&[route, method])
            .observe(started.elapsed().as_secs_f64());
    }

    /// Counts a sign-in attempt.
    pub fn sign_in(&self, outcome: &str) {
        self.sign_ins.with_label_values(&[outcome]).inc();
    }

    /// Sets what a scrape reads from elsewhere.
    pub fn set_gauges(&self, pool: crate::db::PoolState, deliveries: &[(String, i64)]) {
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(i64::from(pool.connections - pool.idle));
        self.pool_connections
            .with_label_values(&["idle"])
            .set(i64::from(pool.idle));
        self.pool_waiting.set(pool.waiting);
        for status in ["pending", "failed", "delivered"] {
            let count = deliveries
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            self.webhook_deliveries
                .with_label_values(&[status])
                .set(count);
        }
    }

    /// Every metric in the text format.
    pub fn render(&self) -> Result<Vec<u8>, AppError> {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(AppError::internal)?;
        Ok(out)
    }
}

/// Keeps the open-streams gauge right: one guard per stream, dropped with it.
pub struct StreamGuard(IntGauge);

impl StreamGuard {
    pub fn new(gauge: &IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Middleware: counts each request by route template, method and status, with its time.
pub async fn measure(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<actix_web::web::Data<Metrics>>()
        .map(|m| m.clone().into_inner());
    let method = req.method().as_str().to_owned();
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        metrics.observe_request(&route, &method, response.status().as_u16(), started);
    }
    Ok(response)
}

/// A rule runner's own metrics.
#[derive(Clone)]
pub struct RuleMetrics {
    /// Evaluations by kind: `objective` (one per entrant scored), `allocation`.
    pub evaluations: IntCounterVec,
    /// Evaluations stopped by a sandbox limit (time, memory, operations, sizes, depth).
    pub limit_hits: IntCounter,
}

impl Default for RuleMetrics {
    fn default() -> Self {
        Self {
            evaluations: counter_vec(
                "rule_evaluations_total",
                "Rule evaluations by kind: objective (one per entrant scored), allocation",
                &["kind"],
            ),
            limit_hits: built(IntCounter::new(
                "rule_limit_hits_total",
                "Rule evaluations stopped by a sandbox limit (time, memory, operations, sizes, depth)",
            )),
        }
    }
}

impl RuleMetrics {
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.evaluations.clone()),
            Box::new(self.limit_hits.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_defined_and_rendered() {
        let rules = RuleMetrics::default();
        let metrics = Metrics::new(rules.collectors()).expect("registered");
        metrics.observe_request("/api/v1/challenges/{id}", "GET", 200, Instant::now());
        metrics.sign_in("throttled");
        rules
            .evaluations
            .with_label_values(&["objective"])
            .inc_by(3);
        let _stream = StreamGuard::new(&metrics.streams_open);
        metrics.set_gauges(
            crate::db::PoolState {
                connections: 3,
                idle: 1,
                waiting: 0,
            },
            &[("pending".into(), 4)],
        );
        let text = String::from_utf8(metrics.render().expect("rendered")).expect("UTF-8");
        for line in [
            "podium_http_requests_total{method=\"GET\",route=\"/api/v1/challenges/{id}\",status=\"200\"} 1",
            "podium_sign_in_attempts_total{outcome=\"throttled\"} 1",
            "podium_rule_evaluations_total{kind=\"objective\"} 3",
            "podium_streams_open 1",
            "podium_db_pool_connections{state=\"in_use\"} 2",
            "podium_webhook_deliveries{status=\"pending\"} 4",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        drop(_stream);
        let text = String::from_utf8(metrics.render().expect("rendered")).expect("UTF-8");
        assert!(text.contains("podium_streams_open 0"));
    }
}
