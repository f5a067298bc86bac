//! Awards: what a closed challenge gave, one row per award, and their life (allocated →
//! announced → fulfilled, or cancelled), each step with who and when.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{bulk_insert, DbConnection, MultiBackend};
use crate::schema::awards;

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = awards)]
pub struct AwardRow {
    pub id: String,
    pub challenge_id: String,
    pub entrant_id: String,
    pub entrant_name: String,
    pub region_id: Option<String>,
    pub organisation_id: Option<String>,
    pub reward_id: String,
    pub quantity: i64,
    pub stock_taken: i64,
    pub value_cents: i64,
    pub currency: String,
    pub reason: String,
    pub rank: Option<i32>,
    pub position: i32,
    pub note: String,
    pub plan_hash: String,
    pub rule_id: Option<String>,
    pub rule_version: Option<i32>,
    pub inputs_hash: String,
    pub status: String,
    pub allocated_at: NaiveDateTime,
    pub allocated_by: String,
    pub announced_at: Option<NaiveDateTime>,
    pub announced_by: Option<String>,
    pub fulfilled_at: Option<NaiveDateTime>,
    pub fulfilled_by: Option<String>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
}

/// Which awards a list shows; scope filters come from the caller's token.
#[derive(Debug, Clone, Default)]
pub struct AwardFilter {
    pub challenge_id: Option<Uuid>,
    /// Only awards to one of these entrants, when set.
    pub entrant_ids: Option<Vec<Uuid>>,
    pub region_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub statuses: Vec<String>,
    pub reward_id: Option<Uuid>,
    pub reason: Option<String>,
    /// Only awards announced (participants and partners see nothing before).
    pub announced_only: bool,
}

pub fn insert_all(conn: &mut DbConnection, rows: &[AwardRow]) -> QueryResult<()> {
    bulk_insert!(conn, awards::table, rows, 500)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<AwardRow>> {
    awards::table.find(id.to_string()).first(conn).optional()
}

fn filtered(filter: &AwardFilter) -> awards::BoxedQuery<'static, MultiBackend> {
    let mut query = awards::table.into_boxed();
    if let Some(id) = filter.challenge_id {
        query = query.filter(awards::challenge_id.eq(id.to_string()));
    }
    if let Some(ids) = &filter.entrant_ids {
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        query = query.filter(awards::entrant_id.eq_any(ids));
    }
    if let Some(id) = filter.region_id {
        query = query.filter(awards::region_id.eq(id.to_string()));
    }
    if let Some(id) = filter.organisation_id {
        query = query.filter(awards::organisation_id.eq(id.to_string()));
    }
    if !filter.statuses.is_empty() {
        query = query.filter(awards::status.eq_any(filter.statuses.clone()));
    }
    if let Some(id) = filter.reward_id {
        query = query.filter(awards::reward_id.eq(id.to_string()));
    }
    if let Some(reason) = &filter.reason {
        query = query.filter(awards::reason.eq(reason.clone()));
    }
    if filter.announced_only {
        query = query.filter(awards::announced_at.is_not_null());
    }
    query
}

/// One page of awards: by challenge, then standings position.
pub fn list(
    conn: &mut DbConnection,
    filter: &AwardFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<AwardRow>, i64)> {
    let total = filtered(filter).count().get_result(conn)?;
    let rows = filtered(filter)
        .order((
            awards::challenge_id.asc(),
            awards::position.asc(),
            awards::id.asc(),
        ))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Every allocated award of a challenge becomes announced.
pub fn announce_all(
    conn: &mut DbConnection,
    challenge_id: Uuid,
    now: NaiveDateTime,
    by: Uuid,
) -> QueryResult<usize> {
    diesel::update(
        awards::table
            .filter(awards::challenge_id.eq(challenge_id.to_string()))
            .filter(awards::status.eq("allocated")),
    )
    .set((
        awards::status.eq("announced"),
        awards::announced_at.eq(Some(now)),
        awards::announced_by.eq(Some(by.to_string())),
    ))
    .execute(conn)
}

/// Marks an announced award fulfilled; `None` when it was not announced.
pub fn fulfil(
    conn: &mut DbConnection,
    id: Uuid,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<AwardRow>> {
    diesel::update(
        awards::table
            .filter(awards::id.eq(id.to_string()))
            .filter(awards::status.eq("announced")),
    )
    .set((
        awards::status.eq("fulfilled"),
        awards::fulfilled_at.eq(Some(now)),
        awards::fulfilled_by.eq(Some(by)),
    ))
    .returning(awards::all_columns)
    .get_result(conn)
    .optional()
}

/// Cancels an award not yet fulfilled; `None` when it was fulfilled or cancelled.
pub fn cancel(
    conn: &mut DbConnection,
    id: Uuid,
    by: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<AwardRow>> {
    diesel::update(
        awards::table
            .filter(awards::id.eq(id.to_string()))
            .filter(awards::status.eq_any(["allocated", "announced"])),
    )
    .set((
        awards::status.eq("cancelled"),
        awards::cancelled_at.eq(Some(now)),
        awards::cancelled_by.eq(Some(by)),
        awards::cancel_reason.eq(Some(reason)),
    ))
    .returning(awards::all_columns)
    .get_result(conn)
    .optional()
}
