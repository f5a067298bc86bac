//! Reading one's writes back, on any instance, without making every read wait.
//!
//! Live standings are the engine's current tables (`challenges::engine`): a read never
//! waits for the writes in flight, so under steady ingestion it may be a few milliseconds
//! behind the log. Every successful write answers `Podium-Change: <n>`, a position of the
//! change log at or after what it recorded; a read that sends `Podium-Min-Change: <n>`
//! is served once the engine has applied change `n` (waiting at most the engine's read
//! wait, then 503), and every live standings read answers the `Podium-Change` its lines
//! reflect. A client that passes on the highest number it has seen reads what it wrote,
//! and never goes back in time, whichever instance answers.
//!
//! The number is read from the log after the write answered (one indexed query): it may
//! be past the write's own change, never before it, and that costs a write nothing in its
//! transaction. The same step wakes the instance's engine: with reads no longer waking it,
//! a local write would otherwise wait for the engine's poll.

use std::future::{ready, Ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpRequest, HttpResponseBuilder};
use utoipa::IntoParams;

use crate::challenges::engine::Engine;
use crate::db::Pool;
use crate::error::AppError;
use crate::models::change;

/// The response header: the change log position a write reached, or a read reflects.
pub const CHANGE: &str = "Podium-Change";
/// The request header: serve this read once the engine has applied that change.
pub const MIN_CHANGE: &str = "Podium-Min-Change";

/// The request header in the OpenAPI document of the reads that honour it.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct MinChangeHeader {
    /// Serve this read once the engine has applied this change: a write's
    /// `Podium-Change`, to read that write back (400 when past the log's last change).
    #[param(rename = "Podium-Min-Change", minimum = 0)]
    podium_min_change: Option<i64>,
}

/// `Podium-Min-Change`, when the request has one.
#[derive(Debug, Clone, Copy, Default)]
pub struct MinChange(pub Option<i64>);

impl MinChange {
    fn parse(req: &HttpRequest) -> Result<Self, AppError> {
        let Some(value) = req.headers().get(MIN_CHANGE) else {
            return Ok(Self(None));
        };
        value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .map(|n| Self(Some(n)))
            .ok_or_else(|| {
                AppError::bad_request(
                    "invalid_header",
                    format!("{MIN_CHANGE} must be a whole number from 0, as a Podium-Change header gave it"),
                )
            })
    }
}

impl FromRequest for MinChange {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::parse(req))
    }
}

/// Adds `Podium-Change` to an answer, when it has one.
pub fn stamp(response: &mut HttpResponseBuilder, change: Option<i64>) {
    if let Some(change) = change {
        response.insert_header((CHANGE, change.to_string()));
    }
}

/// Stamps every successful write with the log's position after it, and wakes this
/// instance's engine to apply it now (other instances hear of it by `NOTIFY` or their
/// poll).
pub async fn stamp_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let write = !req.method().is_safe();
    let pool = req.app_data::<web::Data<Pool>>().cloned();
    let engine = req.app_data::<web::Data<Engine>>().cloned();
    let mut response = next.call(req).await?;
    if !write || !response.status().is_success() {
        return Ok(response);
    }
    if let Some(engine) = engine {
        engine.wake();
    }
    let Some(pool) = pool else {
        return Ok(response);
    };
    // A write that answered has committed; failing to read the log only loses the header.
    match pool.run(|conn| Ok(change::latest(conn)?)).await {
        Ok(seq) => {
            if let Ok(value) = HeaderValue::from_str(&seq.to_string()) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static("podium-change"), value);
            }
        }
        Err(e) => tracing::warn!(error = %e, "the change log could not be read after a write"),
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn parse(value: Option<&str>) -> Result<Option<i64>, AppError> {
        let mut req = TestRequest::default();
        if let Some(value) = value {
            req = req.insert_header((MIN_CHANGE, value));
        }
        MinChange::parse(&req.to_http_request()).map(|m| m.0)
    }

    #[test]
    fn the_header_is_a_whole_number_from_zero() {
        assert_eq!(parse(None).ok(), Some(None));
        assert_eq!(parse(Some("0")).ok(), Some(Some(0)));
        assert_eq!(parse(Some(" 1234 ")).ok(), Some(Some(1234)));
        for bad in ["-1", "1.5", "abc", "", "99999999999999999999"] {
            assert!(parse(Some(bad)).is_err(), "{bad:?} must be refused");
        }
    }
}
