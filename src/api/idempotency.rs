//! The `Idempotency-Key` header on writes that partners retry (sales).
//!
//! The first request with a key claims it and its answer is stored; the same key with the
//! same body replays that answer (with `Idempotent-Replayed: true`); the same key with
//! another body is 422 `idempotency_key_reused`; a key whose first request is still
//! running is 409 `idempotency_in_flight`. Keys are per caller. An answer of 409 or 5xx is
//! not stored (both say "try again"), so the request can be retried; a claim left by a request that died is taken
//! over after [`STALE_AFTER_SECONDS`].

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::db::Pool;
use crate::error::{AppError, PROBLEM_JSON};
use crate::models::idempotency::{self, Claim, IdempotencyRow, IN_FLIGHT};
use crate::models::now;

pub const HEADER: &str = "Idempotency-Key";
pub const STALE_AFTER_SECONDS: i64 = 60;
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
    let stale_before = now() - chrono::Duration::seconds(STALE_AFTER_SECONDS);
    let claim = pool
        .run(
            move |conn| match idempotency::claim(conn, &claim_row, stale_before) {
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => Err(in_flight()),
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
            _ => Err(in_flight()),
        };
    }
    let outcome = work.await;
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

fn in_flight() -> AppError {
    AppError::conflict(
        "idempotency_in_flight",
        "a request with this Idempotency-Key is still being processed; retry later",
    )
}
