//! Share links: who opened a challenge's public results page to the world, until when, and
//! whether it was revoked since.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::share_links;

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = share_links)]
pub struct ShareLinkRow {
    pub id: String,
    pub challenge_id: String,
    /// A manager's link shows that manager's region only; `None` shows every line.
    pub region_id: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_by: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &ShareLinkRow) -> QueryResult<()> {
    diesel::insert_into(share_links::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<ShareLinkRow>> {
    share_links::table
        .find(id.to_string())
        .first(conn)
        .optional()
}

/// A challenge's links, newest first; only those created by `created_by` when given.
pub fn for_challenge(
    conn: &mut DbConnection,
    challenge_id: Uuid,
    created_by: Option<Uuid>,
) -> QueryResult<Vec<ShareLinkRow>> {
    let mut query = share_links::table
        .filter(share_links::challenge_id.eq(challenge_id.to_string()))
        .into_boxed();
    if let Some(by) = created_by {
        query = query.filter(share_links::created_by.eq(by.to_string()));
    }
    query
        .order((share_links::created_at.desc(), share_links::id.desc()))
        .load(conn)
}

/// Revokes a link not yet revoked; `None` when it already was.
pub fn revoke(
    conn: &mut DbConnection,
    id: Uuid,
    by: Uuid,
    now: NaiveDateTime,
) -> QueryResult<Option<ShareLinkRow>> {
    diesel::update(
        share_links::table
            .filter(share_links::id.eq(id.to_string()))
            .filter(share_links::revoked_at.is_null()),
    )
    .set((
        share_links::revoked_at.eq(Some(now)),
        share_links::revoked_by.eq(Some(by.to_string())),
    ))
    .returning(share_links::all_columns)
    .get_result(conn)
    .optional()
}
