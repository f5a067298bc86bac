//! Standings frozen when a challenge closes: one row per line, in display order, with the
//! whole line as JSON and the region and organisation that scoped readers filter on.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{bulk_insert, DbConnection, MultiBackend};
use crate::schema::standing_lines;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = standing_lines)]
pub struct StandingRow {
    pub challenge_id: String,
    pub entrant_id: String,
    pub position: i32,
    pub rank: Option<i32>,
    pub region_id: Option<String>,
    pub organisation_id: Option<String>,
    pub line: String,
}

/// Which frozen lines a reader may see.
#[derive(Debug, Clone, Default)]
pub struct StandingFilter {
    pub region_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub entrant_id: Option<Uuid>,
}

pub fn insert_all(conn: &mut DbConnection, rows: &[StandingRow]) -> QueryResult<()> {
    bulk_insert!(conn, standing_lines::table, rows, 1_000)
}

fn filtered(
    challenge_id: Uuid,
    filter: &StandingFilter,
) -> standing_lines::BoxedQuery<'static, MultiBackend> {
    let mut query = standing_lines::table
        .filter(standing_lines::challenge_id.eq(challenge_id.to_string()))
        .into_boxed();
    if let Some(region) = filter.region_id {
        query = query.filter(standing_lines::region_id.eq(region.to_string()));
    }
    if let Some(org) = filter.organisation_id {
        query = query.filter(standing_lines::organisation_id.eq(org.to_string()));
    }
    if let Some(entrant) = filter.entrant_id {
        query = query.filter(standing_lines::entrant_id.eq(entrant.to_string()));
    }
    query
}

/// One page of a challenge's frozen lines, in display order, and the total.
pub fn page(
    conn: &mut DbConnection,
    challenge_id: Uuid,
    filter: &StandingFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<StandingRow>, i64)> {
    let total = filtered(challenge_id, filter).count().get_result(conn)?;
    let rows = filtered(challenge_id, filter)
        .order(standing_lines::position.asc())
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// How many lines a frozen table has in all.
pub fn count(conn: &mut DbConnection, challenge_id: Uuid) -> QueryResult<i64> {
    standing_lines::table
        .filter(standing_lines::challenge_id.eq(challenge_id.to_string()))
        .count()
        .get_result(conn)
}

/// Every frozen line of a challenge, in display order.
pub fn all(conn: &mut DbConnection, challenge_id: Uuid) -> QueryResult<Vec<StandingRow>> {
    standing_lines::table
        .filter(standing_lines::challenge_id.eq(challenge_id.to_string()))
        .order(standing_lines::position.asc())
        .load(conn)
}
