//! Probes for orchestrators: `/healthz` says the process answers, `/readyz` that it can
//! reach its database.

use actix_web::{get, web, HttpResponse};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::db::Pool;
use crate::error::AppError;
use crate::schema::users;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(healthz).service(readyz);
}

/// A probe's answer.
#[derive(Serialize, ToSchema)]
#[schema(as = HealthStatus)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Alive", body = Status)))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// Readiness: the database answers a query on Podium's own tables, with SQLite its file is
/// still the one opened, and no write was refused for lack of space in the last 30 s.
/// Otherwise 503 `database_unavailable` or `storage_full`.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Status),
        (status = 503, response = crate::api::docs::Unavailable),
    )
)]
#[get("/readyz")]
async fn readyz(pool: web::Data<Pool>) -> Result<HttpResponse, AppError> {
    if pool.storage().recently_full() {
        return Err(AppError::StorageFull);
    }
    pool.run(|conn| {
        users::table
            .select(users::id)
            .limit(1)
            .load::<String>(conn)
            .map_err(|e| {
                tracing::error!(error = %e, "readiness query failed");
                AppError::DatabaseUnavailable
            })
    })
    .await?;
    Ok(HttpResponse::Ok().json(Status { status: "ready" }))
}
