//! Rows and the queries over them, one file per table. Functions take a
//! `&mut DbConnection`, return `QueryResult` (or `AppError` where a rule of the model is
//! checked), and know nothing of HTTP. Ids are stored as TEXT (hyphenated UUIDs), times
//! as UTC `TIMESTAMP`s.

pub mod api_client;
pub mod audit;
pub mod award;
pub mod challenge;
pub mod change;
pub mod customer;
pub mod idempotency;
pub mod news;
pub mod organisation;
pub mod participant;
pub mod product;
pub mod region;
pub mod reward;
pub mod rule;
pub mod sale;
pub mod session;
pub mod share_link;
pub mod standing;
pub mod team;
pub mod user;
pub mod watch;
pub mod webhook;

use chrono::{DateTime, NaiveDateTime, Utc};
use uuid::Uuid;

/// Now, as stored: UTC without a zone, to the microsecond (both backends keep that much).
pub fn now() -> NaiveDateTime {
    to_micros(Utc::now().naive_utc())
}

/// A time cut to the microsecond, the precision both backends store.
pub fn to_micros(time: NaiveDateTime) -> NaiveDateTime {
    use chrono::Timelike;
    time.with_nanosecond(time.nanosecond() / 1_000 * 1_000)
        .unwrap_or(time)
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

/// How a list of named objects is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NameSort {
    #[default]
    Name,
    NameDesc,
    CreatedAt,
    CreatedAtDesc,
}

/// The page and the common filters of a list of named objects.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub limit: i64,
    pub offset: i64,
    /// A part of the name, case-insensitive.
    pub name_contains: Option<String>,
    pub sort: NameSort,
}

/// A `LIKE` pattern matching values that contain `part`, with `\` as the escape.
pub fn contains_pattern(part: &str) -> String {
    let escaped = part
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Orders a boxed query of a table with `name`, `created_at` and `id` columns.
macro_rules! order_by_name_sort {
    ($query:expr, $table:ident, $sort:expr) => {
        match $sort {
            $crate::models::NameSort::Name => $query.order(($table::name.asc(), $table::id.asc())),
            $crate::models::NameSort::NameDesc => {
                $query.order(($table::name.desc(), $table::id.desc()))
            }
            $crate::models::NameSort::CreatedAt => {
                $query.order(($table::created_at.asc(), $table::id.asc()))
            }
            $crate::models::NameSort::CreatedAtDesc => {
                $query.order(($table::created_at.desc(), $table::id.desc()))
            }
        }
    };
}
pub(crate) use order_by_name_sort;

/// How many values go in one `IN (…)` list: well under SQLite's limit of bound values.
pub const IN_LIST_CHUNK: usize = 5_000;
