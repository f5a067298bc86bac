//! Webhook subscriptions and their deliveries. A delivery is claimed by one dispatcher at a
//! time with a conditional update (its `next_attempt_at` moves forward by a lease), so
//! several API instances never send the same attempt twice.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{DbConnection, MultiBackend};
use crate::schema::{webhook_deliveries, webhooks};

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: String,
    pub url: String,
    /// JSON array of news kinds; empty means every kind.
    pub kinds: String,
    pub description: String,
    /// The partner's organisation, or `None` for an admin's subscription.
    pub organisation_id: Option<String>,
    pub secret: String,
    pub active: bool,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub kinds: Option<String>,
    pub description: Option<String>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &WebhookRow) -> QueryResult<()> {
    diesel::insert_into(webhooks::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<WebhookRow>> {
    webhooks::table.find(id.to_string()).first(conn).optional()
}

pub fn update(
    conn: &mut DbConnection,
    id: Uuid,
    changes: &WebhookChanges,
) -> QueryResult<WebhookRow> {
    diesel::update(webhooks::table.find(id.to_string()))
        .set(changes)
        .returning(webhooks::all_columns)
        .get_result(conn)
}

/// Subscriptions, oldest first; one organisation's only when given.
pub fn page(
    conn: &mut DbConnection,
    organisation_id: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<WebhookRow>, i64)> {
    let query = || {
        let mut q = webhooks::table.into_boxed::<MultiBackend>();
        if let Some(org) = organisation_id {
            q = q.filter(webhooks::organisation_id.eq(org.to_string()));
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let rows = query()
        .order((webhooks::created_at.asc(), webhooks::id.asc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

pub fn active(conn: &mut DbConnection) -> QueryResult<Vec<WebhookRow>> {
    webhooks::table.filter(webhooks::active.eq(true)).load(conn)
}

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub news_id: i64,
    pub kind: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub replays: i32,
    pub created_at: NaiveDateTime,
}

pub fn insert_delivery(conn: &mut DbConnection, row: &DeliveryRow) -> QueryResult<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_delivery(
    conn: &mut DbConnection,
    webhook_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<DeliveryRow>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(id.to_string()))
        .filter(webhook_deliveries::webhook_id.eq(webhook_id.to_string()))
        .first(conn)
        .optional()
}

/// A subscription's deliveries, newest first, of one status when given.
pub fn deliveries(
    conn: &mut DbConnection,
    webhook_id: Uuid,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<DeliveryRow>, i64)> {
    let status = status.map(str::to_owned);
    let query = || {
        let mut q = webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(webhook_id.to_string()))
            .into_boxed::<MultiBackend>();
        if let Some(s) = status.clone() {
            q = q.filter(webhook_deliveries::status.eq(s));
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let rows = query()
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Pending deliveries whose time has come, oldest first.
pub fn due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .order(webhook_deliveries::next_attempt_at.asc())
        .limit(limit)
        .load(conn)
}

/// Takes a due delivery for one attempt: moves its next attempt to `lease_until` if it is
/// still as read. `false` when another dispatcher took it.
pub fn claim(
    conn: &mut DbConnection,
    row: &DeliveryRow,
    lease_until: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(&row.id))
            .filter(webhook_deliveries::status.eq("pending"))
            .filter(webhook_deliveries::next_attempt_at.eq(row.next_attempt_at)),
    )
    .set(webhook_deliveries::next_attempt_at.eq(Some(lease_until)))
    .execute(conn)
    .map(|n| n == 1)
}

/// The outcome of one attempt.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = webhook_deliveries, treat_none_as_null = true)]
pub struct AttemptOutcome {
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
}

/// Records an attempt's outcome if the delivery is still held by the lease this
/// dispatcher took (`false` otherwise: it was replayed meanwhile, and the replay wins).
pub fn record_attempt(
    conn: &mut DbConnection,
    id: &str,
    lease_until: NaiveDateTime,
    outcome: &AttemptOutcome,
) -> QueryResult<bool> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(id))
            .filter(webhook_deliveries::status.eq("pending"))
            .filter(webhook_deliveries::next_attempt_at.eq(Some(lease_until))),
    )
    .set(outcome)
    .execute(conn)
    .map(|n| n == 1)
}

/// Sends a delivered or failed delivery again from its first attempt; `None` when it is
/// still pending (queued or being sent).
pub fn replay(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<DeliveryRow>> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(id))
            .filter(webhook_deliveries::status.ne("pending")),
    )
    .set((
        webhook_deliveries::status.eq("pending"),
        webhook_deliveries::attempts.eq(0),
        webhook_deliveries::next_attempt_at.eq(Some(now)),
        webhook_deliveries::replays.eq(webhook_deliveries::replays + 1),
    ))
    .returning(webhook_deliveries::all_columns)
    .get_result(conn)
    .optional()
}

/// How many deliveries there are in each status (`pending` is the queue).
pub fn count_by_status(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    webhook_deliveries::table
        .group_by(webhook_deliveries::status)
        .select((webhook_deliveries::status, diesel::dsl::count_star()))
        .load(conn)
}
