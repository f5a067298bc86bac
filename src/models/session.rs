//! Sessions (one per sign-in) and their refresh tokens.
//!
//! A refresh token is 256 random bits, so its SHA-256 digest is stored rather than a slow
//! password hash: finding it is one primary-key look-up, and the table leaks nothing.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{refresh_tokens, sessions};

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub principal_kind: String,
    pub principal_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub token_digest: String,
    pub session_id: String,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// Why a session ended before its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    SignedOut,
    AccountDisabled,
    RefreshTokenReused,
}

impl Revocation {
    pub fn as_str(self) -> &'static str {
        match self {
            Revocation::SignedOut => "signed_out",
            Revocation::AccountDisabled => "account_disabled",
            Revocation::RefreshTokenReused => "refresh_token_reused",
        }
    }
}

pub fn insert(conn: &mut DbConnection, row: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<SessionRow>> {
    sessions::table.find(id.to_string()).first(conn).optional()
}

/// Whether session `id` belongs to `principal`, is not revoked and has not expired.
pub fn is_live(
    conn: &mut DbConnection,
    id: Uuid,
    principal: Uuid,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sessions::table
            .filter(sessions::id.eq(id.to_string()))
            .filter(sessions::principal_id.eq(principal.to_string()))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now)),
    ))
    .get_result(conn)
}

/// Revokes one session if it is not revoked yet; whether it was live.
pub fn revoke(
    conn: &mut DbConnection,
    id: Uuid,
    why: Revocation,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(id.to_string()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Some(now)),
        sessions::revoked_reason.eq(Some(why.as_str())),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// Revokes every live session of an account; how many there were.
pub fn revoke_all_of(
    conn: &mut DbConnection,
    principal: Uuid,
    why: Revocation,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::principal_id.eq(principal.to_string()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Some(now)),
        sessions::revoked_reason.eq(Some(why.as_str())),
    ))
    .execute(conn)
}

/// Moves a session's end to `expires_at` (a refresh issued a later token).
pub fn extend(conn: &mut DbConnection, id: Uuid, expires_at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id.to_string()))
        .set(sessions::expires_at.eq(expires_at))
        .execute(conn)
        .map(|_| ())
}

/// Forgets an account's sessions that ended (expired or revoked) before `before`, with
/// their refresh tokens, so the tables hold what is live plus a short history.
pub fn purge_ended(
    conn: &mut DbConnection,
    principal: Uuid,
    before: NaiveDateTime,
) -> QueryResult<usize> {
    let ended = sessions::table
        .filter(sessions::principal_id.eq(principal.to_string()))
        .filter(
            sessions::expires_at
                .lt(before)
                .or(sessions::revoked_at.lt(before)),
        )
        .select(sessions::id);
    let ended: Vec<String> = ended.load(conn)?;
    if ended.is_empty() {
        return Ok(0);
    }
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::session_id.eq_any(&ended)))
        .execute(conn)?;
    diesel::delete(sessions::table.filter(sessions::id.eq_any(&ended))).execute(conn)
}

pub fn insert_refresh_token(conn: &mut DbConnection, row: &RefreshTokenRow) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_refresh_token(
    conn: &mut DbConnection,
    digest: &str,
) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table.find(digest).first(conn).optional()
}

/// Marks a refresh token used, if nobody used it first: `false` means another request
/// took it (a concurrent reuse).
pub fn use_refresh_token(
    conn: &mut DbConnection,
    digest: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_digest.eq(digest))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(Some(now)))
    .execute(conn)
    .map(|n| n == 1)
}
