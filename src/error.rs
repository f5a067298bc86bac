//! The one error type of the API, [`AppError`], and its `application/problem+json`
//! body (RFC 9457), [`Problem`].
//!
//! Which variant to use where:
//! - a body, query or path the server cannot read: [`AppError::BadRequest`] (400); a body
//!   that is not JSON (415) or too large (413);
//! - a well-formed request with invalid values: [`AppError::Validation`] (422), naming each
//!   field at fault;
//! - no or bad credentials: [`AppError::Unauthorized`] (401); a valid caller without the
//!   right: [`AppError::Forbidden`] (403);
//! - a missing object: [`AppError::NotFound`] (404), only ever from an explicit check
//!   (`.optional()`), never from a failed query;
//! - a state clash (duplicate e-mail, last admin): [`AppError::Conflict`] (409);
//! - a rule's script that does not compile: [`AppError::InvalidScript`] (422, each error
//!   with line and column); a rule that fails while scoring: [`AppError::RuleFailed`]
//!   (500 `rule_failed`, or 409 when it stops a close; the script's error shown to
//!   admins only); too many rules running at once: [`AppError::RulesBusy`] (503);
//! - the database is out of reach: [`AppError::DatabaseUnavailable`] (503);
//! - anything else: [`AppError::Internal`] (500). Its cause goes to the log; the body says
//!   nothing of it.
//!
//! Every body carries a stable machine-readable `code` that clients may match on.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::rules::runner::RuleFailure;
use crate::rules::ScriptError;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One field at fault in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"field": "email", "code": "email", "message": "must be a valid e-mail address"}))]
pub struct FieldError {
    /// The field, as named in the request body or query (dotted for nested fields).
    pub field: String,
    /// A stable code for the rule that failed (`required`, `length`, `email`, `range`…).
    pub code: String,
    /// A sentence for humans.
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// An error, as every 4xx and 5xx answer of the API carries it (RFC 9457).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:podium:problem:validation_failed",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "the request has 1 invalid field",
    "code": "validation_failed",
    "errors": [{"field": "email", "code": "email", "message": "must be a valid e-mail address"}]
}))]
pub struct Problem {
    /// `urn:podium:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The HTTP reason phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for humans.
    pub detail: String,
    /// Stable machine-readable code, e.g. `validation_failed`, `invalid_token`, `not_found`.
    pub code: String,
    /// The fields at fault, for `validation_failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The errors in a rule's script, with line and column, for `invalid_script` and (for
    /// admins) `rule_failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub script_errors: Vec<ScriptError>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("urn:podium:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            errors: Vec::new(),
            script_errors: Vec::new(),
        }
    }

    pub fn into_response(self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status)
            .content_type(PROBLEM_JSON)
            .json(self)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    /// A body value that cannot be read (`invalid_body`), with the field at fault.
    #[error("{detail}")]
    BadBody {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// What was asked existed but is no longer available (an expired or revoked share link).
    #[error("{detail}")]
    Gone { code: &'static str, detail: String },
    #[error("the script has {} error(s)", .0.len())]
    InvalidScript(Vec<ScriptError>),
    /// A rule failed while computing something. `reveal`: the caller may see the script's
    /// error (admins; off unless a handler turns it on). `blocking`: it stopped an admin's
    /// action (a close), which is a 409 rather than a 500.
    #[error("the challenge's rule failed")]
    RuleFailed {
        failure: RuleFailure,
        reveal: bool,
        blocking: bool,
    },
    /// Too many attempts from one caller: 429 with `Retry-After` (whole seconds).
    #[error("{detail}")]
    TooManyRequests {
        code: &'static str,
        detail: String,
        retry_after: u64,
    },
    #[error("too many rules are being evaluated at once; try again in a moment")]
    RulesBusy,
    #[error("the database is unavailable")]
    DatabaseUnavailable,
    /// The database has no space left: writes are refused until an operator frees some.
    #[error("the database has no space left; nothing of this request was kept, try again later")]
    StorageFull,
    /// A request with the same `Idempotency-Key` is still running (or died and its claim
    /// has not lapsed yet): 409 with `Retry-After`.
    #[error("a request with this Idempotency-Key is still being processed; retry after the time in Retry-After")]
    InFlight { retry_after: u64 },
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl AppError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            detail: detail.into(),
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(cause.into())
    }

    /// A rule's evaluation failed. Hidden from the caller until [`AppError::revealed_to`]
    /// says it is an admin.
    pub fn rule_failed(failure: RuleFailure) -> Self {
        Self::RuleFailed {
            failure,
            reveal: false,
            blocking: false,
        }
    }

    /// The same error, with the script's error shown when the caller is an admin.
    pub fn revealed_to(self, admin: bool) -> Self {
        match self {
            AppError::RuleFailed {
                failure, blocking, ..
            } => AppError::RuleFailed {
                failure,
                reveal: admin,
                blocking,
            },
            other => other,
        }
    }

    /// The same error as the refusal of an admin's action (409).
    pub fn blocking(self) -> Self {
        match self {
            AppError::RuleFailed { failure, .. } => AppError::RuleFailed {
                failure,
                reveal: true,
                blocking: true,
            },
            other => other,
        }
    }

    /// A single-field validation error.
    pub fn invalid_field(field: &str, code: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    /// The seconds a client should wait before trying again, for the answers that say
    /// "later" (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests { retry_after, .. } | AppError::InFlight { retry_after } => {
                Some(*retry_after)
            }
            AppError::StorageFull => Some(crate::storage::FULL_FOR.as_secs()),
            AppError::DatabaseUnavailable | AppError::RulesBusy => Some(5),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. } => code,
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::Validation(_) => "validation_failed",
            AppError::BadBody { .. } => "invalid_body",
            AppError::Unauthorized { code, .. } => code,
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict { code, .. } => code,
            AppError::Gone { code, .. } => code,
            AppError::InvalidScript(_) => "invalid_script",
            AppError::RuleFailed { .. } => "rule_failed",
            AppError::TooManyRequests { code, .. } => code,
            AppError::RulesBusy => "rules_busy",
            AppError::DatabaseUnavailable => "database_unavailable",
            AppError::StorageFull => "storage_full",
            AppError::InFlight { .. } => "idempotency_in_flight",
            AppError::Internal(_) => "internal_error",
        }
    }

    /// The problem body; a 5xx says nothing of its cause.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        match self {
            AppError::Validation(errors) => {
                let detail = match errors.len() {
                    1 => "the request has 1 invalid field".to_owned(),
                    n => format!("the request has {n} invalid fields"),
                };
                Problem {
                    errors: errors.clone(),
                    ..Problem::new(status, self.code(), detail)
                }
            }
            AppError::BadBody { detail, errors } => Problem {
                errors: errors.clone(),
                ..Problem::new(status, self.code(), detail.clone())
            },
            AppError::InvalidScript(errors) => Problem {
                script_errors: errors.clone(),
                ..Problem::new(
                    status,
                    self.code(),
                    match errors.as_slice() {
                        [one] => format!("the script does not compile: {one}"),
                        many => format!("the script has {} errors", many.len()),
                    },
                )
            },
            AppError::RuleFailed {
                failure,
                reveal: true,
                ..
            } => Problem {
                script_errors: vec![failure.error.clone()],
                ..Problem::new(
                    status,
                    self.code(),
                    format!("the challenge's rule failed: {failure}"),
                )
            },
            AppError::RuleFailed { reveal: false, .. } => Problem::new(
                status,
                self.code(),
                "the challenge's rule failed; the admins can see why",
            ),
            AppError::Internal(_) => Problem::new(
                status,
                self.code(),
                "an unexpected error occurred; it has been logged",
            ),
            other => Problem::new(status, self.code(), other.to_string()),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } | AppError::BadBody { .. } => StatusCode::BAD_REQUEST,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Gone { .. } => StatusCode::GONE,
            AppError::InvalidScript(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RuleFailed { blocking: true, .. } => StatusCode::CONFLICT,
            AppError::RuleFailed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::RulesBusy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::DatabaseUnavailable | AppError::StorageFull => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::InFlight { .. } => StatusCode::CONFLICT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = self {
            tracing::error!(error = ?cause, "request failed");
        }
        let mut response = self.problem().into_response();
        if matches!(self, AppError::Unauthorized { .. }) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

impl From<crate::rules::runner::RunError> for AppError {
    fn from(error: crate::rules::runner::RunError) -> Self {
        match error {
            crate::rules::runner::RunError::Failed(failure) => AppError::rule_failed(failure),
            crate::rules::runner::RunError::Busy => AppError::RulesBusy,
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                tracing::info!(message = info.message(), "unique violation");
                AppError::conflict(
                    "already_exists",
                    "an object with the same identity already exists",
                )
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                AppError::DatabaseUnavailable
            }
            Error::DatabaseError(_, info) if crate::storage::says_full(info.message()) => {
                tracing::error!(message = info.message(), "the database has no space left");
                AppError::StorageFull
            }
            other => AppError::internal(other),
        }
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(errors: validator::ValidationErrors) -> Self {
        AppError::Validation(field_errors(&errors))
    }
}

/// Flattens validator's errors into our field list, sorted by field for stable output.
fn field_errors(errors: &validator::ValidationErrors) -> Vec<FieldError> {
    let mut out: Vec<FieldError> = errors
        .field_errors()
        .into_iter()
        .flat_map(|(field, errs)| {
            errs.iter().map(move |e| {
                let message = e
                    .message
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| format!("is invalid ({})", e.code));
                FieldError::new(field.to_string(), e.code.to_string(), message)
            })
        })
        .collect();
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let error = AppError::internal(anyhow::anyhow!("password=secret at db.rs:12"));
        let problem = error.problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("secret"));
        assert_eq!(problem.code, "internal_error");
    }

    #[test]
    fn a_failed_query_is_never_not_found() {
        let error: AppError = diesel::result::Error::NotFound.into();
        assert_eq!(error.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn validation_lists_each_field() {
        let error = AppError::Validation(vec![
            FieldError::new("email", "email", "bad"),
            FieldError::new("password", "length", "short"),
        ]);
        let problem = error.problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors.len(), 2);
        assert_eq!(problem.problem_type, "urn:podium:problem:validation_failed");
    }
}
