//! `GET /api/v1/audit`: the audit log, for admins. What goes in it, and why it holds
//! digests rather than copies, is in [`crate::audit`].

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::api::pagination::{Page, PageRequest};
use crate::audit::{Action, ActorKind, ObjectType};
use crate::auth::{Admin, Role};
use crate::db::Pool;
use crate::error::{AppError, FieldError};
use crate::models::audit::{self, AuditEventRow, AuditFilter};
use crate::models::utc;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_audit);
}

/// One write, as the audit log recorded it in the write's own transaction.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "seq": 1042,
    "occurred_at": "2026-12-02T17:05:09.120431Z",
    "actor_kind": "user",
    "actor_id": "0193a1c4-6a3e-7c2d-9a51-7b0c2f8e4d11",
    "actor_role": "admin",
    "action": "challenge.closed",
    "object_type": "challenge",
    "object_id": "5b7d9c1e-2f3a-4b5c-8d6e-7f8091a2b3c4",
    "before_digest": "sha256:3f0c5e8a4b1d2c9e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e",
    "after_digest": "sha256:9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b",
    "request_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
}))]
pub struct AuditEntryDto {
    /// The entry's place in the log, in the order writes drew it: increasing, with holes
    /// where a write rolled back.
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_kind: ActorKind,
    /// The user's or API client's id; `null` for the server itself.
    pub actor_id: Option<Uuid>,
    /// The actor's role when it wrote; `null` for the server, and for whoever presented
    /// an already used refresh token (`session.revoked`).
    pub actor_role: Option<Role>,
    pub action: Action,
    pub object_type: ObjectType,
    /// The object's id: a UUID, or for `sales` the key namespace (`company`,
    /// `region:<id>` or an organisation's id), for `installation` `demo`.
    pub object_id: String,
    /// `sha256:` and 64 hex digits over the JSON of the stored object before the write;
    /// `null` for a creation.
    pub before_digest: Option<String>,
    /// The same after the write; `null` when the write left nothing to show (a sign-out).
    pub after_digest: Option<String>,
    /// The `X-Request-Id` of the request that wrote; `null` for the server's own writes.
    pub request_id: Option<String>,
}

impl TryFrom<AuditEventRow> for AuditEntryDto {
    type Error = AppError;

    fn try_from(row: AuditEventRow) -> Result<Self, AppError> {
        let stored = |what: &str, value: &str| {
            AppError::internal(anyhow::anyhow!("stored audit {what} `{value}` is unknown"))
        };
        Ok(Self {
            seq: row.seq,
            occurred_at: utc(row.occurred_at),
            actor_kind: ActorKind::parse(&row.actor_kind)
                .ok_or_else(|| stored("actor kind", &row.actor_kind))?,
            actor_id: row
                .actor_id
                .as_deref()
                .map(crate::models::parse_id)
                .transpose()?,
            actor_role: row
                .actor_role
                .as_deref()
                .map(|r| Role::parse(r).ok_or_else(|| stored("role", r)))
                .transpose()?,
            action: Action::parse(&row.action).ok_or_else(|| stored("action", &row.action))?,
            object_type: ObjectType::parse(&row.object_type)
                .ok_or_else(|| stored("object type", &row.object_type))?,
            object_id: row.object_id,
            before_digest: row.before_digest,
            after_digest: row.after_digest,
            request_id: row.request_id,
        })
    }
}

/// The order of the log: newest first (default) or oldest first.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
pub enum AuditSort {
    #[default]
    #[serde(rename = "-occurred_at")]
    NewestFirst,
    #[serde(rename = "occurred_at")]
    OldestFirst,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Entries to skip (default 0).
    pub offset: Option<i64>,
    /// Only writes by this user or API client.
    pub actor_id: Option<Uuid>,
    /// Only this action.
    #[param(inline)]
    pub action: Option<Action>,
    /// Only writes to this kind of object.
    #[param(inline)]
    pub object_type: Option<ObjectType>,
    /// Only writes to the object with this id (with or without `object_type`).
    #[param(max_length = 200)]
    pub object_id: Option<String>,
    /// Only the writes of the request with this `X-Request-Id`.
    #[param(max_length = 100)]
    pub request_id: Option<String>,
    /// Only writes at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only writes before this time (RFC 3339); before `from`, the range selects nothing.
    /// Set it to the time of a first page to walk newest-first pages that later writes do
    /// not shift.
    pub to: Option<DateTime<Utc>>,
    /// `-occurred_at` (newest first, default) or `occurred_at` (oldest first: later
    /// writes add entries at the end, so pages read so far stay as they were; with
    /// PostgreSQL, a write still committing may land its entry just before the newest
    /// ones).
    #[param(inline)]
    pub sort: Option<AuditSort>,
}

impl AuditQuery {
    fn filter(self) -> Result<(AuditFilter, PageRequest), AppError> {
        let page = PageRequest::parse(self.limit, self.offset)?;
        let mut errors = Vec::new();
        if self.object_id.as_ref().is_some_and(|id| id.len() > 200) {
            errors.push(FieldError::new(
                "object_id",
                "too_long",
                "must be at most 200 bytes",
            ));
        }
        if self.request_id.as_ref().is_some_and(|id| id.len() > 100) {
            errors.push(FieldError::new(
                "request_id",
                "too_long",
                "must be at most 100 bytes",
            ));
        }
        for (field, value) in [
            ("object_id", &self.object_id),
            ("request_id", &self.request_id),
        ] {
            if value
                .as_deref()
                .is_some_and(|v| !crate::api::json::printable(v))
            {
                errors.push(FieldError::new(
                    field,
                    "control_character",
                    crate::api::json::CONTROL_CHARACTER_MESSAGE,
                ));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let filter = AuditFilter {
            actor_id: self.actor_id.map(|id| id.to_string()),
            action: self.action.map(|a| a.as_str().to_owned()),
            object_type: self.object_type.map(|t| t.as_str().to_owned()),
            object_id: self.object_id,
            request_id: self.request_id,
            from: self.from.map(|t| t.naive_utc()),
            to: self.to.map(|t| t.naive_utc()),
            oldest_first: matches!(self.sort.unwrap_or_default(), AuditSort::OldestFirst),
        };
        Ok((filter, page))
    }
}

/// The audit log: every write by a signed-in caller (and the server's own first admin and
/// demo data), newest first. Each entry names who wrote, when, what, the object, digests
/// of its state before and after, and the request id; it was recorded in the write's own
/// transaction, so every committed write has its entry and a refused one has none. The
/// log is append-only. Admins only.
#[utoipa::path(
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of entries", body = Page<AuditEntryDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/audit")]
async fn list_audit(
    _admin: Admin,
    pool: web::Data<Pool>,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<Page<AuditEntryDto>>, AppError> {
    let (filter, page) = query.into_inner().filter()?;
    let (rows, total) = pool
        .run(move |conn| Ok(audit::list(conn, &filter, page.limit, page.offset)?))
        .await?;
    let items = rows
        .into_iter()
        .map(AuditEntryDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, page)))
}
