//! Rules, their immutable versions, and the recorded changes of a challenge's rule
//! version.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{challenge_rule_changes, rule_versions, rules};

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = rules)]
pub struct RuleRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub description: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = rule_versions)]
pub struct RuleVersionRow {
    pub rule_id: String,
    pub version: i32,
    pub source: String,
    pub content_hash: String,
    pub uploaded_by: String,
    pub uploaded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
#[diesel(table_name = challenge_rule_changes)]
pub struct RuleChangeRow {
    pub id: String,
    pub challenge_id: String,
    pub rule_id: String,
    pub from_version: i32,
    pub to_version: i32,
    pub reason: String,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &RuleRow) -> QueryResult<RuleRow> {
    diesel::insert_into(rules::table)
        .values(row)
        .returning(rules::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> QueryResult<Option<RuleRow>> {
    rules::table.find(id.to_string()).first(conn).optional()
}

/// One page of rules by name, optionally of one kind, and the total.
pub fn list(
    conn: &mut DbConnection,
    kind: Option<&str>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<RuleRow>, i64)> {
    let filtered = || {
        let mut query = rules::table.into_boxed();
        if let Some(kind) = kind {
            query = query.filter(rules::kind.eq(kind.to_owned()));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((rules::name.asc(), rules::id.asc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// The latest version number of each rule in `ids`.
pub fn latest_versions(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<Vec<(String, Option<i32>)>> {
    use diesel::dsl::max;
    rule_versions::table
        .filter(rule_versions::rule_id.eq_any(ids))
        .group_by(rule_versions::rule_id)
        .select((rule_versions::rule_id, max(rule_versions::version)))
        .load(conn)
}

pub fn latest_version(
    conn: &mut DbConnection,
    rule_id: Uuid,
) -> QueryResult<Option<RuleVersionRow>> {
    rule_versions::table
        .filter(rule_versions::rule_id.eq(rule_id.to_string()))
        .order(rule_versions::version.desc())
        .first(conn)
        .optional()
}

/// Adds the next version of a rule. Two concurrent uploads cannot take the same number:
/// the loser gets a unique violation (409).
pub fn insert_version(
    conn: &mut DbConnection,
    rule_id: Uuid,
    source: &str,
    content_hash: &str,
    uploaded_by: &str,
    now: NaiveDateTime,
) -> QueryResult<RuleVersionRow> {
    conn.write_transaction(|conn| {
        let next = latest_version(conn, rule_id)?.map_or(1, |v| v.version + 1);
        diesel::insert_into(rule_versions::table)
            .values(&RuleVersionRow {
                rule_id: rule_id.to_string(),
                version: next,
                source: source.to_owned(),
                content_hash: content_hash.to_owned(),
                uploaded_by: uploaded_by.to_owned(),
                uploaded_at: now,
            })
            .returning(rule_versions::all_columns)
            .get_result(conn)
    })
}

pub fn find_version(
    conn: &mut DbConnection,
    rule_id: Uuid,
    version: i32,
) -> QueryResult<Option<RuleVersionRow>> {
    rule_versions::table
        .find((rule_id.to_string(), version))
        .first(conn)
        .optional()
}

/// One page of a rule's versions, newest first, and the total.
pub fn versions(
    conn: &mut DbConnection,
    rule_id: Uuid,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<RuleVersionRow>, i64)> {
    let filtered = || {
        rule_versions::table
            .filter(rule_versions::rule_id.eq(rule_id.to_string()))
            .into_boxed()
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order(rule_versions::version.desc())
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

pub fn insert_change(conn: &mut DbConnection, row: &RuleChangeRow) -> QueryResult<()> {
    diesel::insert_into(challenge_rule_changes::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A challenge's rule-version changes, oldest first.
pub fn changes(conn: &mut DbConnection, challenge_id: Uuid) -> QueryResult<Vec<RuleChangeRow>> {
    challenge_rule_changes::table
        .filter(challenge_rule_changes::challenge_id.eq(challenge_id.to_string()))
        .order((
            challenge_rule_changes::changed_at.asc(),
            challenge_rule_changes::id.asc(),
        ))
        .load(conn)
}
