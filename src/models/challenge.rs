//! Challenge rows. The scoring definition is stored as JSON in `definition`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::challenges;

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = challenges)]
pub struct ChallengeRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub rules_text: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub baseline_starts_at: Option<NaiveDateTime>,
    pub baseline_ends_at: Option<NaiveDateTime>,
    pub currency: String,
    pub ranking_unit: String,
    pub definition: String,
    pub standings_visible: bool,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub announced_at: Option<NaiveDateTime>,
}

/// Which challenges a list shows.
#[derive(Debug, Clone, Default)]
pub struct ChallengeFilter {
    pub statuses: Vec<String>,
    pub kind: Option<String>,
    pub name_contains: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &ChallengeRow) -> QueryResult<ChallengeRow> {
    let inserted: ChallengeRow = diesel::insert_into(challenges::table)
        .values(row)
        .returning(challenges::all_columns)
        .get_result(conn)?;
    changed(conn, &inserted)?;
    Ok(inserted)
}

/// Records in the change log that a challenge changed (its tables are built again).
fn changed(conn: &mut DbConnection, row: &ChallengeRow) -> QueryResult<()> {
    match Uuid::parse_str(&row.id) {
        Ok(id) => super::change::record(conn, &super::change::Change::Challenge { id }).map(|_| ()),
        Err(_) => Ok(()),
    }
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<ChallengeRow>> {
    challenges::table
        .find(id.to_string())
        .first(conn)
        .optional()
}

/// Every challenge in one status (the news watcher's running challenges).
pub fn with_status(conn: &mut DbConnection, status: &str) -> QueryResult<Vec<ChallengeRow>> {
    challenges::table
        .filter(challenges::status.eq(status))
        .order(challenges::id.asc())
        .load(conn)
}

/// One page of challenges, newest period first.
pub fn list(
    conn: &mut DbConnection,
    filter: &ChallengeFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<ChallengeRow>, i64)> {
    let filtered = || {
        let mut query = challenges::table.into_boxed();
        if !filter.statuses.is_empty() {
            query = query.filter(challenges::status.eq_any(filter.statuses.clone()));
        }
        if let Some(kind) = &filter.kind {
            query = query.filter(challenges::kind.eq(kind.clone()));
        }
        if let Some(part) = &filter.name_contains {
            query = query.filter(
                challenges::name
                    .like(super::contains_pattern(part))
                    .escape('\\'),
            );
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((challenges::starts_at.desc(), challenges::id.asc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Replaces a draft's editable fields; `None` when it is no longer a draft (or gone).
pub fn replace_draft(
    conn: &mut DbConnection,
    row: &ChallengeRow,
) -> QueryResult<Option<ChallengeRow>> {
    conn.write_transaction(|conn| {
        changed(conn, row)?;
        diesel::update(
            challenges::table
                .filter(challenges::id.eq(&row.id))
                .filter(challenges::status.eq("draft")),
        )
        .set((
            challenges::name.eq(&row.name),
            challenges::kind.eq(&row.kind),
            challenges::rules_text.eq(&row.rules_text),
            challenges::starts_at.eq(row.starts_at),
            challenges::ends_at.eq(row.ends_at),
            challenges::baseline_starts_at.eq(row.baseline_starts_at),
            challenges::baseline_ends_at.eq(row.baseline_ends_at),
            challenges::currency.eq(&row.currency),
            challenges::ranking_unit.eq(&row.ranking_unit),
            challenges::definition.eq(&row.definition),
            challenges::standings_visible.eq(row.standings_visible),
            challenges::updated_at.eq(row.updated_at),
        ))
        .returning(challenges::all_columns)
        .get_result(conn)
        .optional()
    })
}

/// The columns a status move sets; `None` leaves a timestamp as it is.
#[derive(AsChangeset)]
#[diesel(table_name = challenges)]
struct StatusChange<'a> {
    status: &'a str,
    updated_at: NaiveDateTime,
    closed_at: Option<NaiveDateTime>,
    announced_at: Option<NaiveDateTime>,
}

/// Moves a challenge from `from` to `to`, only if it is still in `from`: two concurrent
/// moves cannot both succeed. `None` when it was not in `from`.
pub fn move_status(
    conn: &mut DbConnection,
    id: Uuid,
    from: &str,
    to: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<ChallengeRow>> {
    let change = StatusChange {
        status: to,
        updated_at: now,
        closed_at: (to == "closed").then_some(now),
        announced_at: (to == "announced").then_some(now),
    };
    let moved: Option<ChallengeRow> = diesel::update(
        challenges::table
            .filter(challenges::id.eq(id.to_string()))
            .filter(challenges::status.eq(from)),
    )
    .set(&change)
    .returning(challenges::all_columns)
    .get_result(conn)
    .optional()?;
    if let Some(row) = &moved {
        changed(conn, row)?;
    }
    Ok(moved)
}

/// Replaces the scoring definition of a challenge still in `status` with the definition
/// `previous` (the rule version of a scheduled or running one); `None` when it moved or
/// changed meanwhile, so two concurrent changes cannot both succeed.
pub fn set_definition(
    conn: &mut DbConnection,
    id: Uuid,
    status: &str,
    previous: &str,
    definition: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<ChallengeRow>> {
    let replaced: Option<ChallengeRow> = diesel::update(
        challenges::table
            .filter(challenges::id.eq(id.to_string()))
            .filter(challenges::status.eq(status))
            .filter(challenges::definition.eq(previous)),
    )
    .set((
        challenges::definition.eq(definition),
        challenges::updated_at.eq(now),
    ))
    .returning(challenges::all_columns)
    .get_result(conn)
    .optional()?;
    if let Some(row) = &replaced {
        changed(conn, row)?;
    }
    Ok(replaced)
}
