//! Who competes: a rep, a team taken as one, or a whole distributor, each in an
//! organisation and optionally a region and a team.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::{contains_pattern, order_by_name_sort, ListParams, IN_LIST_CHUNK};
use crate::db::{DbConnection, MultiBackend};
use crate::schema::participants;

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = participants)]
pub struct ParticipantRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub organisation_id: String,
    pub region_id: Option<String>,
    pub team_id: Option<String>,
    pub created_at: NaiveDateTime,
}

/// The changes of a participant update; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = participants)]
pub struct ParticipantChanges {
    pub name: Option<String>,
    pub region_id: Option<Option<String>>,
    pub team_id: Option<Option<String>>,
}

/// Which participants a query may see or should return.
#[derive(Debug, Clone, Default)]
pub struct ParticipantFilter {
    pub only: Option<Uuid>,
    /// When not empty, only these participants.
    pub ids: Vec<Uuid>,
    pub organisation_ids: Vec<Uuid>,
    pub region_ids: Vec<Uuid>,
    pub team_ids: Vec<Uuid>,
    pub kinds: Vec<String>,
}

impl ParticipantChanges {
    /// Nothing to change (diesel refuses an empty `SET`).
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.region_id.is_none() && self.team_id.is_none()
    }
}

fn strings(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

fn filtered(filter: &ParticipantFilter) -> participants::BoxedQuery<'static, MultiBackend> {
    let mut query = participants::table.into_boxed();
    if let Some(id) = filter.only {
        query = query.filter(participants::id.eq(id.to_string()));
    }
    if !filter.ids.is_empty() {
        query = query.filter(participants::id.eq_any(strings(&filter.ids)));
    }
    if !filter.organisation_ids.is_empty() {
        query =
            query.filter(participants::organisation_id.eq_any(strings(&filter.organisation_ids)));
    }
    if !filter.region_ids.is_empty() {
        query = query.filter(participants::region_id.eq_any(strings(&filter.region_ids)));
    }
    if !filter.team_ids.is_empty() {
        query = query.filter(participants::team_id.eq_any(strings(&filter.team_ids)));
    }
    if !filter.kinds.is_empty() {
        query = query.filter(participants::kind.eq_any(filter.kinds.clone()));
    }
    query
}

pub fn insert(conn: &mut DbConnection, row: &ParticipantRow) -> QueryResult<ParticipantRow> {
    conn.write_transaction(|conn| {
        if let Ok(id) = Uuid::parse_str(&row.id) {
            super::change::record(conn, &super::change::Change::Participant { id })?;
        }
        diesel::insert_into(participants::table)
            .values(row)
            .returning(participants::all_columns)
            .get_result(conn)
    })
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<ParticipantRow>> {
    participants::table
        .find(id.to_string())
        .first(conn)
        .optional()
}

/// The participants among `ids` that exist.
pub fn find_many(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<ParticipantRow>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IN_LIST_CHUNK) {
        found.extend(
            participants::table
                .filter(participants::id.eq_any(chunk))
                .load::<ParticipantRow>(conn)?,
        );
    }
    Ok(found)
}

/// Every participant matching the filter (a challenge's audience).
pub fn all(
    conn: &mut DbConnection,
    filter: &ParticipantFilter,
) -> QueryResult<Vec<ParticipantRow>> {
    filtered(filter).load(conn)
}

pub fn list(
    conn: &mut DbConnection,
    filter: &ParticipantFilter,
    params: &ListParams,
) -> QueryResult<(Vec<ParticipantRow>, i64)> {
    let with_name = || {
        let query = filtered(filter);
        match &params.name_contains {
            Some(part) => {
                query.filter(participants::name.like(contains_pattern(part)).escape('\\'))
            }
            None => query,
        }
    };
    let total = with_name().count().get_result(conn)?;
    let rows = order_by_name_sort!(with_name(), participants, params.sort)
        .limit(params.limit)
        .offset(params.offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Applies changes; `None` when there is no such participant. Moving a participant can
/// change scores, so the change is recorded in the log, and live tables follow it.
pub fn update(
    conn: &mut DbConnection,
    id: Uuid,
    changes: &ParticipantChanges,
) -> QueryResult<Option<ParticipantRow>> {
    conn.write_transaction(|conn| {
        let Some(current) = find(conn, id)? else {
            return Ok(None);
        };
        if changes.is_empty() {
            return Ok(Some(current));
        }
        super::change::record(conn, &super::change::Change::Participant { id })?;
        diesel::update(participants::table.find(id.to_string()))
            .set(changes)
            .returning(participants::all_columns)
            .get_result(conn)
            .map(Some)
    })
}
