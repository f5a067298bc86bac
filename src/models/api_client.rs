//! Partner integrations that sign in with the client-credentials grant. Each is scoped to
//! one distributor organisation; its secret is stored hashed and shown once, at creation.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::api_clients;

/// A row of `api_clients`.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct ApiClientRow {
    pub id: String,
    pub name: String,
    pub secret_hash: String,
    pub organisation_id: String,
    pub active: bool,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub disabled_at: Option<NaiveDateTime>,
}

/// The write form of a new API client; the secret is already hashed.
#[derive(Debug, Insertable)]
#[diesel(table_name = api_clients)]
pub struct NewApiClient {
    pub id: String,
    pub name: String,
    pub secret_hash: String,
    pub organisation_id: String,
    pub active: bool,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewApiClient) -> QueryResult<ApiClientRow> {
    diesel::insert_into(api_clients::table)
        .values(new)
        .returning(api_clients::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<ApiClientRow>> {
    api_clients::table
        .find(id.to_string())
        .first(conn)
        .optional()
}

/// One page of API clients, optionally of one organisation, oldest first, and the total.
pub fn list(
    conn: &mut DbConnection,
    organisation_id: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<ApiClientRow>, i64)> {
    let filtered = || {
        let mut query = api_clients::table.into_boxed();
        if let Some(org) = organisation_id {
            query = query.filter(api_clients::organisation_id.eq(org.to_string()));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((api_clients::created_at.asc(), api_clients::id.asc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

pub fn is_active(conn: &mut DbConnection, id: Uuid) -> Result<bool, AppError> {
    let active: Option<bool> = api_clients::table
        .find(id.to_string())
        .select(api_clients::active)
        .first(conn)
        .optional()?;
    Ok(active.unwrap_or(false))
}

/// Disables an API client and ends its sessions; `None` when there is no such client.
pub fn disable(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<ApiClientRow>> {
    conn.write_transaction(|conn| {
        let now = super::now();
        let row = diesel::update(api_clients::table.find(id.to_string()))
            .set((
                api_clients::active.eq(false),
                api_clients::disabled_at.eq(Some(now)),
            ))
            .returning(api_clients::all_columns)
            .get_result(conn)
            .optional()?;
        if row.is_some() {
            super::session::revoke_all_of(
                conn,
                id,
                super::session::Revocation::AccountDisabled,
                now,
            )?;
        }
        Ok(row)
    })
}
