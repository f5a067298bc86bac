//! The change log (`changes`): what each committed write changed under the standings, in
//! commit order.
//!
//! Every write that can move a score records one [`Change`] in its own transaction, so a
//! change is in the log if and only if the write committed. `seq` is the order: on
//! SQLite there is one writer at a time; on PostgreSQL, [`record`] first takes a
//! transaction-scoped advisory lock that is held until commit, so the next writer cannot
//! draw a number before this one is committed: nobody reading the log ever sees seq `n + 1`
//! while `n` is still to come. A rolled-back write leaves a hole, which readers skip.
//!
//! Every instance follows the log (`challenges::engine`); on PostgreSQL [`record`] also
//! sends a `NOTIFY` on [`CHANNEL`] that wakes the others at once. The notification only
//! says "read the log": a lost one delays an update by one poll, never loses it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::changes;

/// The PostgreSQL channel of change notifications.
pub const CHANNEL: &str = "podium_changes";

/// The advisory lock key that orders the log (any constant unique to Podium).
const ORDER_LOCK: i64 = 0x706f_6469_756d;

/// What a write changed. Each variant names what a live table must look at again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// Sale lines (a batch, or reversals) of these participants; `first_sold_at` is the
    /// earliest line, so challenges that ended before it skip the change.
    Sales {
        participants: Vec<Uuid>,
        first_sold_at: NaiveDateTime,
    },
    /// A participant was created or changed (name, team, region, activity).
    Participant { id: Uuid },
    /// A region's name or sector figures changed.
    Region { id: Uuid },
    /// A team was created or changed.
    Team { id: Uuid },
    /// An organisation was renamed.
    Organisation { id: Uuid },
    /// A customer became, or stopped being, a key account.
    Customer { id: Uuid },
    /// A challenge was created, or its definition, rule version or status changed.
    Challenge { id: Uuid },
    /// News was recorded for a challenge (streams read it).
    News { challenge: Uuid },
    /// Anything may have changed (a bulk load): every table is built again.
    Everything,
}

#[derive(Debug, Clone, Queryable)]
pub struct ChangeRow {
    pub seq: i64,
    pub payload: String,
    pub recorded_at: NaiveDateTime,
}

/// Records `change` in the caller's transaction; its sequence number.
pub fn record(conn: &mut DbConnection, change: &Change) -> QueryResult<i64> {
    let payload = serde_json::to_string(change)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    conn.advisory_xact_lock(ORDER_LOCK)?;
    diesel::insert_into(changes::table)
        .values((
            changes::payload.eq(payload),
            changes::recorded_at.eq(super::now()),
        ))
        .execute(conn)?;
    // Under the order (one SQLite writer; the advisory lock on PostgreSQL) the highest
    // number is this row's.
    let seq = latest(conn)?;
    if matches!(conn, DbConnection::Postgresql(_)) {
        diesel::sql_query("SELECT pg_notify($1, '')")
            .bind::<diesel::sql_types::Text, _>(CHANNEL)
            .execute(conn)?;
    }
    Ok(seq)
}

/// The last recorded change's number; 0 before the first.
pub fn latest(conn: &mut DbConnection) -> QueryResult<i64> {
    changes::table
        .select(diesel::dsl::max(changes::seq))
        .first::<Option<i64>>(conn)
        .map(Option::unwrap_or_default)
}

/// The first recorded change still in the log, if any.
pub fn oldest(conn: &mut DbConnection) -> QueryResult<Option<i64>> {
    changes::table
        .select(diesel::dsl::min(changes::seq))
        .first::<Option<i64>>(conn)
}

/// Up to `limit` changes after `after`, in order. An unreadable payload (written by a
/// newer version) reads as [`Change::Everything`]: rebuilding is always correct.
pub fn after(conn: &mut DbConnection, after: i64, limit: i64) -> QueryResult<Vec<(i64, Change)>> {
    let rows: Vec<ChangeRow> = changes::table
        .filter(changes::seq.gt(after))
        .order(changes::seq.asc())
        .limit(limit)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let change = serde_json::from_str(&row.payload).unwrap_or(Change::Everything);
            (row.seq, change)
        })
        .collect())
}

/// Forgets changes recorded before `before`, keeping the last one (the log's position);
/// how many were removed. An instance that was behind them builds its tables again.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    let last = latest(conn)?;
    diesel::delete(
        changes::table
            .filter(changes::recorded_at.lt(before))
            .filter(changes::seq.lt(last)),
    )
    .execute(conn)
}
