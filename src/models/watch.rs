//! What the news watcher remembers of each running challenge (`challenge_watch`) and the
//! rank snapshots a digest compares with (`standings_snapshots`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{challenge_watch, standings_snapshots};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = challenge_watch)]
pub struct WatchRow {
    pub challenge_id: String,
    /// The change (`changes.seq`) the remembered state was observed at; -1 before the
    /// first look.
    pub change_seq: i64,
    /// JSON arrays of entrant ids.
    pub leaders: String,
    pub passed: String,
    pub reached: String,
    pub observed_at: NaiveDateTime,
}

/// Takes the row lock of a challenge's watch state before reading it (PostgreSQL; SQLite
/// has one writer anyway): two instances never compare the same change at once.
pub fn lock(conn: &mut DbConnection, challenge_id: Uuid) -> QueryResult<()> {
    diesel::update(challenge_watch::table.find(challenge_id.to_string()))
        .set(challenge_watch::observed_at.eq(challenge_watch::observed_at))
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, challenge_id: Uuid) -> QueryResult<Option<WatchRow>> {
    challenge_watch::table
        .find(challenge_id.to_string())
        .first(conn)
        .optional()
}

/// The remembered state, created empty the first time.
pub fn find_or_create(
    conn: &mut DbConnection,
    challenge_id: Uuid,
    now: NaiveDateTime,
) -> QueryResult<WatchRow> {
    if let Some(row) = find(conn, challenge_id)? {
        return Ok(row);
    }
    let row = WatchRow {
        challenge_id: challenge_id.to_string(),
        change_seq: -1,
        leaders: "[]".into(),
        passed: "[]".into(),
        reached: "[]".into(),
        observed_at: now,
    };
    // Another instance may create it at the same moment: a savepoint keeps the unique
    // violation from spoiling the caller's transaction.
    let created = conn.write_transaction(|conn| {
        diesel::insert_into(challenge_watch::table)
            .values(&row)
            .execute(conn)
    });
    match created {
        Ok(_) => Ok(row),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => find(conn, challenge_id)?.ok_or(diesel::result::Error::NotFound),
        Err(e) => Err(e),
    }
}

/// Moves the state forward if nobody did since `seen_seq` was read; `false` when another
/// instance got there first.
pub fn advance(conn: &mut DbConnection, seen_seq: i64, next: &WatchRow) -> QueryResult<bool> {
    diesel::update(
        challenge_watch::table
            .filter(challenge_watch::challenge_id.eq(&next.challenge_id))
            .filter(challenge_watch::change_seq.eq(seen_seq)),
    )
    .set((
        challenge_watch::change_seq.eq(next.change_seq),
        challenge_watch::leaders.eq(&next.leaders),
        challenge_watch::passed.eq(&next.passed),
        challenge_watch::reached.eq(&next.reached),
        challenge_watch::observed_at.eq(next.observed_at),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = standings_snapshots)]
pub struct SnapshotRow {
    pub id: String,
    pub challenge_id: String,
    pub taken_at: NaiveDateTime,
    /// JSON object: entrant id → rank.
    pub ranks: String,
}

pub fn latest_snapshot_time(
    conn: &mut DbConnection,
    challenge_id: Uuid,
) -> QueryResult<Option<NaiveDateTime>> {
    standings_snapshots::table
        .filter(standings_snapshots::challenge_id.eq(challenge_id.to_string()))
        .select(diesel::dsl::max(standings_snapshots::taken_at))
        .first(conn)
}

pub fn insert_snapshot(conn: &mut DbConnection, row: &SnapshotRow) -> QueryResult<()> {
    diesel::insert_into(standings_snapshots::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The ranks as they were at `at`: the last snapshot taken then or before, else the
/// first one taken after (the challenge had not been watched yet).
pub fn snapshot_at(
    conn: &mut DbConnection,
    challenge_id: Uuid,
    at: NaiveDateTime,
) -> QueryResult<Option<SnapshotRow>> {
    let of_challenge = || {
        standings_snapshots::table
            .filter(standings_snapshots::challenge_id.eq(challenge_id.to_string()))
    };
    let before = of_challenge()
        .filter(standings_snapshots::taken_at.le(at))
        .order(standings_snapshots::taken_at.desc())
        .first(conn)
        .optional()?;
    if before.is_some() {
        return Ok(before);
    }
    of_challenge()
        .order(standings_snapshots::taken_at.asc())
        .first(conn)
        .optional()
}
