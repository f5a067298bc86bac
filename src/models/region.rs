//! Sectors, each with its potential index (IRV) and the company's market share there.
//! Both are stored exactly, as integers in ten-thousandths (`1.25` is `12500`); the row
//! turns them into [`Exact`] values and back, and nothing else sees the stored form.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::{contains_pattern, order_by_name_sort, ListParams};
use crate::db::DbConnection;
use crate::schema::regions;
use crate::scoring::Exact;

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = regions)]
pub struct RegionRow {
    pub id: String,
    pub name: String,
    pub potential_index_e4: i64,
    pub market_share_e4: i64,
    pub manager_id: Option<String>,
    pub created_at: NaiveDateTime,
}

/// An exact sector figure (at most 4 decimals) in its stored form.
pub fn to_e4(value: Exact) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    (value.decimal() * rust_decimal::Decimal::from(10_000))
        .trunc()
        .to_i64()
        .unwrap_or(i64::MAX)
}

impl RegionRow {
    pub fn potential_index(&self) -> Exact {
        Exact::from_parts(self.potential_index_e4, 4)
    }

    pub fn market_share(&self) -> Exact {
        Exact::from_parts(self.market_share_e4, 4)
    }
}

/// The changes of a region update; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = regions)]
pub struct RegionChanges {
    pub name: Option<String>,
    pub potential_index_e4: Option<i64>,
    pub market_share_e4: Option<i64>,
    pub manager_id: Option<Option<String>>,
}

impl RegionChanges {
    /// Nothing to change (diesel refuses an empty `SET`).
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.potential_index_e4.is_none()
            && self.market_share_e4.is_none()
            && self.manager_id.is_none()
    }
}

pub fn insert(conn: &mut DbConnection, row: &RegionRow) -> QueryResult<RegionRow> {
    diesel::insert_into(regions::table)
        .values(row)
        .returning(regions::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<RegionRow>> {
    regions::table.find(id.to_string()).first(conn).optional()
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<RegionRow>> {
    regions::table.load(conn)
}

/// One page of regions, optionally only one (a scoped caller's own).
pub fn list(
    conn: &mut DbConnection,
    only: Option<Uuid>,
    params: &ListParams,
) -> QueryResult<(Vec<RegionRow>, i64)> {
    let filtered = || {
        let mut query = regions::table.into_boxed();
        if let Some(id) = only {
            query = query.filter(regions::id.eq(id.to_string()));
        }
        if let Some(part) = &params.name_contains {
            query = query.filter(regions::name.like(contains_pattern(part)).escape('\\'));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = order_by_name_sort!(filtered(), regions, params.sort)
        .limit(params.limit)
        .offset(params.offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Applies changes; `None` when there is no such region. Scores depend on regions, so
/// the change is recorded in the log, and live tables follow it.
pub fn update(
    conn: &mut DbConnection,
    id: Uuid,
    changes: &RegionChanges,
) -> QueryResult<Option<RegionRow>> {
    conn.write_transaction(|conn| {
        let Some(current) = find(conn, id)? else {
            return Ok(None);
        };
        if changes.is_empty() {
            return Ok(Some(current));
        }
        super::change::record(conn, &super::change::Change::Region { id })?;
        diesel::update(regions::table.find(id.to_string()))
            .set(changes)
            .returning(regions::all_columns)
            .get_result(conn)
            .map(Some)
    })
}
