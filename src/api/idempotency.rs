//! The `Idempotency-Key` header on writes that partners retry (sales).
//!
//! The first request with a key claims it and its answer is stored; the same key with the
//! same body replays that answer (with `Idempotent-Replayed: true`); the same key with
//! another body is 422 `idempotency_key_reused`; a key whose first request is still
//! running is 409 `idempotency_in_flight`. Keys are per caller. An answer of 409 or 5xx is
//! not stored (both say "try again"), so the request can be retried.
//!
//! A claim is a lease of [`LEASE_SECONDS`], renewed every [`RENEW_EVERY`] while its request
//! runs. A request that died (a crash, a kill) stops renewing, and its claim is taken over
//! by the next request with the key at most [`LEASE_SECONDS`] later; on SQLite, where one
//! process owns the database, the next start releases them at once. The 409 always says
//! in `Retry-After` when the claim lapses if it is not renewed. Taking over a claim whose
//! request did commit is safe: the lines are recorded again as duplicates of themselves.

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::db::Pool;
use crate::error::{AppError, PROBLEM_JSON};
use crate::models::idempotency::{self, Claim, IdempotencyRow, IN_FLIGHT};
use crate::models::now;

pub const HEADER: &str = "Idempotency-Key";
/// How long a claim holds without being renewed.
pub const LEASE_SECONDS: i64 = 10;
/// How often a running request renews its claim.
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(3);
pub const MAX_KEY_LENGTH: usize = 255;

/// The key of a request, if it has one; a malformed key is 400.
pub fn key_of(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| {
            AppError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be visible ASCII",
            )
        })?
        .trim();
    if key.is_empty() || key.len() > MAX_KEY_LENGTH {
        return Err(AppError::bad_request(
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters"),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// A fingerprint of what a request asks: method, path, content type and body.
pub fn fingerprint(req: &HttpRequest, body: &[u8]) -> String {
    let content_type = req
        .headers()
        .get("content-type")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    fingerprint_of(req.method().as_str(), req.path(), content_type, body)
}

/// [`fingerprint`] from its parts.
pub fn fingerprint_of(method: &str, path: &str, content_type: &[u8], body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), content_type, body] {
        hasher.update(part);
        hasher.update([0]);
    }
    format!("{:x}", hasher.finalize())
}

/// An answer to store and send: status and JSON body.
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
}

fn respond(status: StatusCode, body: String, replayed: bool) -> HttpResponse {
    let content_type = if status.is_success() {
        "application/json"
    } else {
        PROBLEM_JSON
    };
    let mut response = HttpResponse::build(status);
    response.content_type(content_type);
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.body(body)
}

/// Runs `work` at most once per key: see the module documentation.
pub async fn run_once<F>(
    pool: &Pool,
    principal: String,
    key: Option<String>,
    fingerprint: String,
    work: F,
) -> Result<HttpResponse, AppError>
where
    F: Future<Output = Result<Answer, AppError>>,
{
    let Some(key) = key else {
        let answer = work.await?;
        return Ok(respond(answer.status, answer.body, false));
    };
    let claim_row = IdempotencyRow {
        principal_id: principal.clone(),
        idempotency_key: key.clone(),
        request_hash: fingerprint.clone(),
        state: IN_FLIGHT.into(),
        response_status: None,
        response_body: None,
        created_at: now(),
    };
    let claimed_at = claim_row.created_at;
    let stale_before = claimed_at - chrono::Duration::seconds(LEASE_SECONDS);
    let claim = pool
        .run(
            move |conn| match idempotency::claim(conn, &claim_row, stale_before) {
                // Another request inserted the claim a moment before this one.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => Err(AppError::InFlight {
                    retry_after: u64::try_from(LEASE_SECONDS).unwrap_or(10),
                }),
                other => Ok(other?),
            },
        )
        .await?;
    if let Claim::Existing(existing) = claim {
        if existing.request_hash != fingerprint {
            return Err(AppError::Validation(vec![crate::error::FieldError::new(
                HEADER,
                "idempotency_key_reused",
                "this key was used with another request; use a new key for a new request",
            )]));
        }
        return match (existing.response_status, existing.response_body) {
            (Some(status), Some(body)) if existing.state == idempotency::DONE => {
                let status = StatusCode::from_u16(u16::try_from(status).unwrap_or(500))
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Ok(respond(status, body, true))
            }
            _ => Err(in_flight(existing.created_at, claimed_at)),
        };
    }
    let outcome = {
        let (pool, principal, key) = (pool.clone(), principal.clone(), key.clone());
        let renewing = async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                let (principal, key) = (principal.clone(), key.clone());
                let renewed = pool
                    .run(move |conn| Ok(idempotency::renew(conn, &principal, &key, now())?))
                    .await;
                if let Err(error) = renewed {
                    tracing::warn!(%error, "an idempotency claim could not be renewed");
                }
            }
        };
        tokio::select! {
            outcome = work => outcome,
            () = renewing => Err(AppError::internal(anyhow::anyhow!("the claim renewal stopped"))),
        }
    };
    let (stored, result) = match outcome {
        Ok(answer) => (
            Some((answer.status, answer.body.clone())),
            Ok(respond(answer.status, answer.body, false)),
        ),
        Err(error)
            if !actix_web::ResponseError::status_code(&error).is_server_error()
                && actix_web::ResponseError::status_code(&error) != StatusCode::CONFLICT =>
        {
            let problem = serde_json::to_string(&error.problem()).map_err(AppError::internal)?;
            (
                Some((actix_web::ResponseError::status_code(&error), problem)),
                Err(error),
            )
        }
        Err(error) => (None, Err(error)),
    };
    pool.run(move |conn| {
        match stored {
            Some((status, body)) => {
                idempotency::complete(conn, &principal, &key, i32::from(status.as_u16()), &body)?
            }
            None => idempotency::release(conn, &principal, &key)?,
        }
        Ok(())
    })
    .await?;
    result
}

/// The 409 for a claim made (or last renewed) at `claimed`: retry when it would lapse.
fn in_flight(claimed: chrono::NaiveDateTime, now: chrono::NaiveDateTime) -> AppError {
    let lapses_in = LEASE_SECONDS - (now - claimed).num_seconds();
    AppError::InFlight {
        retry_after: u64::try_from(lapses_in.clamp(1, LEASE_SECONDS)).unwrap_or(1),
    }
}
