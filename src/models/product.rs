//! The product catalogue, so that objectives can speak of product placement.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::{contains_pattern, order_by_name_sort, ListParams};
use crate::db::DbConnection;
use crate::schema::products;

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = products)]
pub struct ProductRow {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub category: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &ProductRow) -> QueryResult<ProductRow> {
    diesel::insert_into(products::table)
        .values(row)
        .returning(products::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<ProductRow>> {
    products::table.find(id.to_string()).first(conn).optional()
}

/// `(sku, id)` of the given SKUs that exist.
pub fn ids_by_sku(conn: &mut DbConnection, skus: &[String]) -> QueryResult<Vec<(String, String)>> {
    let mut found = Vec::new();
    for chunk in skus.chunks(super::IN_LIST_CHUNK) {
        found.extend(
            products::table
                .filter(products::sku.eq_any(chunk))
                .select((products::sku, products::id))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(found)
}

/// How many of `ids` exist.
pub fn count_existing(conn: &mut DbConnection, ids: &[String]) -> QueryResult<i64> {
    products::table
        .filter(products::id.eq_any(ids))
        .count()
        .get_result(conn)
}

pub fn list(
    conn: &mut DbConnection,
    category: Option<&str>,
    params: &ListParams,
) -> QueryResult<(Vec<ProductRow>, i64)> {
    let filtered = || {
        let mut query = products::table.into_boxed();
        if let Some(category) = category {
            query = query.filter(products::category.eq(category.to_owned()));
        }
        if let Some(part) = &params.name_contains {
            query = query.filter(products::name.like(contains_pattern(part)).escape('\\'));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = order_by_name_sort!(filtered(), products, params.sort)
        .limit(params.limit)
        .offset(params.offset)
        .load(conn)?;
    Ok((rows, total))
}
