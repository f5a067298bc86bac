//! Stored answers of requests sent with an `Idempotency-Key`, per caller.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::schema::idempotency_keys;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRow {
    pub principal_id: String,
    pub idempotency_key: String,
    pub request_hash: String,
    pub state: String,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    /// When the key was claimed, or its claim last renewed while its request ran.
    pub created_at: NaiveDateTime,
}

pub const IN_FLIGHT: &str = "in_flight";
pub const DONE: &str = "done";

/// What claiming a key found.
pub enum Claim {
    /// The key is ours: run the request.
    Claimed,
    /// Someone used the key before.
    Existing(IdempotencyRow),
}

/// Claims a key for a request, or returns what is stored under it. An in-flight claim
/// older than `stale_before` is taken over: its request died without an answer.
pub fn claim(
    conn: &mut DbConnection,
    row: &IdempotencyRow,
    stale_before: NaiveDateTime,
) -> QueryResult<Claim> {
    conn.write_transaction(|conn| {
        let existing: Option<IdempotencyRow> = idempotency_keys::table
            .find((&row.principal_id, &row.idempotency_key))
            .first(conn)
            .optional()?;
        match existing {
            Some(e)
                if e.state == IN_FLIGHT
                    && e.created_at < stale_before
                    && e.request_hash == row.request_hash =>
            {
                diesel::update(
                    idempotency_keys::table.find((&row.principal_id, &row.idempotency_key)),
                )
                .set(idempotency_keys::created_at.eq(row.created_at))
                .execute(conn)?;
                Ok(Claim::Claimed)
            }
            Some(e) => Ok(Claim::Existing(e)),
            None => {
                diesel::insert_into(idempotency_keys::table)
                    .values(row)
                    .execute(conn)?;
                Ok(Claim::Claimed)
            }
        }
    })
}

/// Stores the answer of a claimed key.
pub fn complete(
    conn: &mut DbConnection,
    principal_id: &str,
    key: &str,
    status: i32,
    body: &str,
) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find((principal_id, key)))
        .set((
            idempotency_keys::state.eq(DONE),
            idempotency_keys::response_status.eq(Some(status)),
            idempotency_keys::response_body.eq(Some(body)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Renews the claim of a request still running, so that it does not lapse.
pub fn renew(
    conn: &mut DbConnection,
    principal_id: &str,
    key: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        idempotency_keys::table
            .find((principal_id, key))
            .filter(idempotency_keys::state.eq(IN_FLIGHT)),
    )
    .set(idempotency_keys::created_at.eq(at))
    .execute(conn)
    .map(|_| ())
}

/// Releases every in-flight claim: at the start of a SQLite server, whose requests all
/// died with the last process. Returns how many there were.
pub fn release_all_in_flight(conn: &mut DbConnection) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::state.eq(IN_FLIGHT)))
        .execute(conn)
}

/// Releases a claimed key after a failure that may be retried.
pub fn release(conn: &mut DbConnection, principal_id: &str, key: &str) -> QueryResult<()> {
    diesel::delete(idempotency_keys::table.find((principal_id, key)))
        .execute(conn)
        .map(|_| ())
}
