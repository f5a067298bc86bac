//! The reward catalogue. A reward's kind is stored twice: its name in `kind` (for
//! filters) and the kind with its fields as JSON in `kind_details`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::rewards;

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = rewards)]
pub struct RewardRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub kind: String,
    pub kind_details: String,
    pub value_cents: i64,
    pub currency: String,
    pub stock: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Which rewards a list shows.
#[derive(Debug, Clone, Default)]
pub struct RewardFilter {
    pub category: Option<String>,
    pub kind: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &RewardRow) -> QueryResult<RewardRow> {
    diesel::insert_into(rewards::table)
        .values(row)
        .returning(rewards::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<RewardRow>> {
    rewards::table.find(id.to_string()).first(conn).optional()
}

/// The rewards among `ids` that exist.
pub fn find_all(conn: &mut DbConnection, ids: &[Uuid]) -> QueryResult<Vec<RewardRow>> {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    rewards::table
        .filter(rewards::id.eq_any(ids))
        .order(rewards::id.asc())
        .load(conn)
}

pub fn list(
    conn: &mut DbConnection,
    filter: &RewardFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<RewardRow>, i64)> {
    let filtered = || {
        let mut query = rewards::table.into_boxed();
        if let Some(category) = &filter.category {
            query = query.filter(rewards::category.eq(category.clone()));
        }
        if let Some(kind) = &filter.kind {
            query = query.filter(rewards::kind.eq(kind.clone()));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((rewards::name.asc(), rewards::id.asc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Replaces a reward's fields (all but its id and creation time).
pub fn replace(conn: &mut DbConnection, row: &RewardRow) -> QueryResult<Option<RewardRow>> {
    diesel::update(rewards::table.find(&row.id))
        .set((
            rewards::name.eq(&row.name),
            rewards::description.eq(&row.description),
            rewards::category.eq(&row.category),
            rewards::kind.eq(&row.kind),
            rewards::kind_details.eq(&row.kind_details),
            rewards::value_cents.eq(row.value_cents),
            rewards::currency.eq(&row.currency),
            rewards::stock.eq(row.stock),
            rewards::updated_at.eq(row.updated_at),
        ))
        .returning(rewards::all_columns)
        .get_result(conn)
        .optional()
}

/// Takes `quantity` units from a reward's stock, only if that many are left (unlimited
/// stock is left alone). `false` when the stock was short.
pub fn take_stock(
    conn: &mut DbConnection,
    id: Uuid,
    quantity: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let limited = diesel::update(
        rewards::table
            .filter(rewards::id.eq(id.to_string()))
            .filter(rewards::stock.ge(quantity)),
    )
    .set((
        rewards::stock.eq(rewards::stock - quantity),
        rewards::updated_at.eq(now),
    ))
    .execute(conn)?;
    if limited == 1 {
        return Ok(true);
    }
    let unlimited = rewards::table
        .filter(rewards::id.eq(id.to_string()))
        .filter(rewards::stock.is_null())
        .count()
        .get_result::<i64>(conn)?;
    Ok(unlimited == 1)
}

/// Puts units back into a limited stock (a cancelled award).
pub fn return_stock(
    conn: &mut DbConnection,
    id: Uuid,
    quantity: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        rewards::table
            .filter(rewards::id.eq(id.to_string()))
            .filter(rewards::stock.is_not_null()),
    )
    .set((
        rewards::stock.eq(rewards::stock + quantity),
        rewards::updated_at.eq(now),
    ))
    .execute(conn)
    .map(|_| ())
}
