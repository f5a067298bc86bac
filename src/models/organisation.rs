//! The company itself and its distributors.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::{contains_pattern, order_by_name_sort, ListParams};
use crate::db::DbConnection;
use crate::schema::organisations;

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = organisations)]
pub struct OrganisationRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &OrganisationRow) -> QueryResult<OrganisationRow> {
    diesel::insert_into(organisations::table)
        .values(row)
        .returning(organisations::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .find(id.to_string())
        .first(conn)
        .optional()
}

/// One page of organisations, optionally only one (a scoped caller's own) or one kind.
pub fn list(
    conn: &mut DbConnection,
    only: Option<Uuid>,
    kind: Option<&str>,
    params: &ListParams,
) -> QueryResult<(Vec<OrganisationRow>, i64)> {
    let filtered = || {
        let mut query = organisations::table.into_boxed();
        if let Some(id) = only {
            query = query.filter(organisations::id.eq(id.to_string()));
        }
        if let Some(kind) = kind {
            query = query.filter(organisations::kind.eq(kind.to_owned()));
        }
        if let Some(part) = &params.name_contains {
            query = query.filter(
                organisations::name
                    .like(contains_pattern(part))
                    .escape('\\'),
            );
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = order_by_name_sort!(filtered(), organisations, params.sort)
        .limit(params.limit)
        .offset(params.offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Renames an organisation; names show in standings, so the change is recorded in the log.
pub fn update_name(
    conn: &mut DbConnection,
    id: Uuid,
    name: &str,
) -> QueryResult<Option<OrganisationRow>> {
    conn.write_transaction(|conn| {
        super::change::record(conn, &super::change::Change::Organisation { id })?;
        diesel::update(organisations::table.find(id.to_string()))
            .set(organisations::name.eq(name))
            .returning(organisations::all_columns)
            .get_result(conn)
            .optional()
    })
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<OrganisationRow>> {
    organisations::table.load(conn)
}
