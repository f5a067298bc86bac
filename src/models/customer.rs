//! Customers of the sales force, so that objectives can speak of new customers and key
//! accounts.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::{contains_pattern, order_by_name_sort, ListParams};
use crate::db::DbConnection;
use crate::schema::customers;

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = customers)]
pub struct CustomerRow {
    pub id: String,
    pub reference: String,
    pub name: String,
    pub key_account: bool,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &CustomerRow) -> QueryResult<CustomerRow> {
    diesel::insert_into(customers::table)
        .values(row)
        .returning(customers::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<CustomerRow>> {
    customers::table.find(id.to_string()).first(conn).optional()
}

/// `(reference, id)` of the given references that exist.
pub fn ids_by_reference(
    conn: &mut DbConnection,
    references: &[String],
) -> QueryResult<Vec<(String, String)>> {
    let mut found = Vec::new();
    for chunk in references.chunks(super::IN_LIST_CHUNK) {
        found.extend(
            customers::table
                .filter(customers::reference.eq_any(chunk))
                .select((customers::reference, customers::id))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(found)
}

pub fn list(
    conn: &mut DbConnection,
    key_account: Option<bool>,
    params: &ListParams,
) -> QueryResult<(Vec<CustomerRow>, i64)> {
    let filtered = || {
        let mut query = customers::table.into_boxed();
        if let Some(flag) = key_account {
            query = query.filter(customers::key_account.eq(flag));
        }
        if let Some(part) = &params.name_contains {
            query = query.filter(customers::name.like(contains_pattern(part)).escape('\\'));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = order_by_name_sort!(filtered(), customers, params.sort)
        .limit(params.limit)
        .offset(params.offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Sets the key-account flag; `None` when there is no such customer. Scores may depend
/// on it, so the change is recorded in the log, and live tables follow it.
pub fn set_key_account(
    conn: &mut DbConnection,
    id: Uuid,
    key_account: bool,
) -> QueryResult<Option<CustomerRow>> {
    conn.write_transaction(|conn| {
        super::change::record(conn, &super::change::Change::Customer { id })?;
        diesel::update(customers::table.find(id.to_string()))
            .set(customers::key_account.eq(key_account))
            .returning(customers::all_columns)
            .get_result(conn)
            .optional()
    })
}

/// The participants who have sold to a customer (whose sums depend on its key-account
/// flag).
pub fn participants_with_sales(conn: &mut DbConnection, id: Uuid) -> QueryResult<Vec<Uuid>> {
    use crate::schema::sales;
    let ids: Vec<String> = sales::table
        .filter(sales::customer_id.eq(id.to_string()))
        .select(sales::participant_id)
        .distinct()
        .load(conn)?;
    Ok(ids
        .iter()
        .filter_map(|id| Uuid::parse_str(id).ok())
        .collect())
}
