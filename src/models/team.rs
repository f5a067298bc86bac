//! Teams of reps, in an organisation and optionally a region.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::{contains_pattern, order_by_name_sort, ListParams};
use crate::db::DbConnection;
use crate::schema::teams;

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = teams)]
pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub organisation_id: String,
    pub region_id: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Which teams a list may show.
#[derive(Debug, Clone, Default)]
pub struct TeamFilter {
    pub organisation_id: Option<Uuid>,
    pub region_id: Option<Uuid>,
    pub only: Option<Uuid>,
}

pub fn insert(conn: &mut DbConnection, row: &TeamRow) -> QueryResult<TeamRow> {
    conn.write_transaction(|conn| {
        if let Ok(id) = Uuid::parse_str(&row.id) {
            super::change::record(conn, &super::change::Change::Team { id })?;
        }
        diesel::insert_into(teams::table)
            .values(row)
            .returning(teams::all_columns)
            .get_result(conn)
    })
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<TeamRow>> {
    teams::table.find(id.to_string()).first(conn).optional()
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<TeamRow>> {
    teams::table.load(conn)
}

pub fn list(
    conn: &mut DbConnection,
    filter: &TeamFilter,
    params: &ListParams,
) -> QueryResult<(Vec<TeamRow>, i64)> {
    let filtered = || {
        let mut query = teams::table.into_boxed();
        if let Some(id) = filter.organisation_id {
            query = query.filter(teams::organisation_id.eq(id.to_string()));
        }
        if let Some(id) = filter.region_id {
            query = query.filter(teams::region_id.eq(id.to_string()));
        }
        if let Some(id) = filter.only {
            query = query.filter(teams::id.eq(id.to_string()));
        }
        if let Some(part) = &params.name_contains {
            query = query.filter(teams::name.like(contains_pattern(part)).escape('\\'));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = order_by_name_sort!(filtered(), teams, params.sort)
        .limit(params.limit)
        .offset(params.offset)
        .load(conn)?;
    Ok((rows, total))
}
