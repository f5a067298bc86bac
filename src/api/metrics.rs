//! `GET /metrics`: the server's metrics in the Prometheus text format
//! ([`crate::metrics`]), behind their own token.

use actix_web::{get, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::db::Pool;
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::models::webhook;
use crate::settings::Settings;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(metrics);
}

/// Whether two secrets are equal, in a time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The server's metrics (Prometheus text format): requests by route template, method and
/// status with latency histograms; database pool connections in use, idle and waited
/// for; standings build and apply times; open streams; webhook deliveries by status (the
/// queue is `pending`); rule evaluations and sandbox limit hits; sign-in attempts by
/// outcome (`signed_in`, `refused`, `throttled`).
///
/// It needs `Authorization: Bearer <PODIUM_METRICS_TOKEN>` (a token of its own, not an
/// API token); without a configured token the metrics are not served (401
/// `metrics_disabled`).
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "The metrics", content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, description = "No token or not the metrics token (`invalid_metrics_token`), or no `PODIUM_METRICS_TOKEN` is configured (`metrics_disabled`)",
            body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("metrics" = []))
)]
#[get("/metrics")]
async fn metrics(
    req: HttpRequest,
    settings: web::Data<Settings>,
    metrics: web::Data<Metrics>,
    pool: web::Data<Pool>,
) -> Result<HttpResponse, AppError> {
    let expected = settings.metrics_token.expose();
    if expected.is_empty() {
        return Err(AppError::unauthorized(
            "metrics_disabled",
            "metrics are not served: no PODIUM_METRICS_TOKEN is set",
        ));
    }
    let given = crate::auth::bearer_token(&req).unwrap_or_default();
    if !same_secret(given.as_bytes(), expected.as_bytes()) {
        return Err(AppError::unauthorized(
            "invalid_metrics_token",
            "/metrics needs Authorization: Bearer <PODIUM_METRICS_TOKEN>",
        ));
    }
    let deliveries = pool.run(|conn| Ok(webhook::count_by_status(conn)?)).await?;
    metrics.set_gauges(pool.state(), &deliveries);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(metrics.render()?))
}
