//! Rows and the queries over them, one file per table. Functions take a
//! `&mut DbConnection`, return `QueryResult` (or `AppError` where a rule of the model is
//! checked), and know nothing of HTTP. Ids are stored as TEXT (hyphenated UUIDs), times
//! as UTC `TIMESTAMP`s.

pub mod api_client;
pub mod user;

use chrono::{DateTime, NaiveDateTime, Utc};
use uuid::Uuid;

/// Now, as stored: UTC without a zone, to the microsecond (both backends keep that much).
pub fn now() -> NaiveDateTime {
    use chrono::Timelike;
    let now = Utc::now().naive_utc();
    now.with_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

/// A stored time as the API shows it.
pub fn utc(time: NaiveDateTime) -> DateTime<Utc> {
    time.and_utc()
}

/// A stored id back to a UUID; a malformed one is a corrupt row, not a client error.
pub fn parse_id(value: &str) -> Result<Uuid, crate::error::AppError> {
    Uuid::parse_str(value).map_err(|e| {
        crate::error::AppError::internal(anyhow::anyhow!("stored id {value:?} is not a UUID: {e}"))
    })
}
