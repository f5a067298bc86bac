//! Rows of the audit log (`audit_events`); see [`crate::audit`] for what goes in them.
//! Only inserts and reads: the table's triggers refuse updates and deletes anyway.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::schema::audit_events;

#[derive(Debug, Clone, Queryable)]
pub struct AuditEventRow {
    pub seq: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before_digest: Option<String>,
    pub after_digest: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent {
    pub occurred_at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before_digest: Option<String>,
    pub after_digest: Option<String>,
    pub request_id: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &NewAuditEvent) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Which entries a list shows; every filter is optional and they combine with "and".
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub request_id: Option<String>,
    /// Entries at or after this time.
    pub from: Option<NaiveDateTime>,
    /// Entries strictly before this time.
    pub to: Option<NaiveDateTime>,
    /// Oldest first when true; newest first otherwise.
    pub oldest_first: bool,
}

/// One page of entries in log order (`seq`), and how many match in all.
pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<AuditEventRow>, i64)> {
    let filtered = || {
        let mut query = audit_events::table.into_boxed();
        if let Some(actor) = &filter.actor_id {
            query = query.filter(audit_events::actor_id.eq(actor.clone()));
        }
        if let Some(action) = &filter.action {
            query = query.filter(audit_events::action.eq(action.clone()));
        }
        if let Some(object_type) = &filter.object_type {
            query = query.filter(audit_events::object_type.eq(object_type.clone()));
        }
        if let Some(object_id) = &filter.object_id {
            query = query.filter(audit_events::object_id.eq(object_id.clone()));
        }
        if let Some(request_id) = &filter.request_id {
            query = query.filter(audit_events::request_id.eq(request_id.clone()));
        }
        if let Some(from) = filter.from {
            query = query.filter(audit_events::occurred_at.ge(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(audit_events::occurred_at.lt(to));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let ordered = if filter.oldest_first {
        filtered().order(audit_events::seq.asc())
    } else {
        filtered().order(audit_events::seq.desc())
    };
    let rows = ordered.limit(limit).offset(offset).load(conn)?;
    Ok((rows, total))
}
