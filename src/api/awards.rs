//! `/awards`: what closed challenges gave, each caller seeing its scope (a participant
//! its own, a partner its organisation's, a manager its region's, admins all). Before a
//! challenge is announced only admins and managers see its awards. Admins fulfil or
//! cancel them; a certificate prints one. `/challenges/{id}/podium` shows the places.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::api::challenges::visible_challenge;
use crate::api::pagination::{Page, PageRequest};
use crate::audit::{self, Action, Actor, Entry};
use crate::auth::{Admin, AuthUser, Scope};
use crate::challenges::standings::{self, Challenge, View};
use crate::db::{DbConnection, Pool};
use crate::error::AppError;
use crate::models::award::{self, AwardFilter, AwardRow};
use crate::models::{challenge, now, parse_id, reward, utc};
use crate::news::bus::EventBus;
use crate::news::{self, Draft, Kind, Subject};
use crate::rewards::allocation::Reason;
use crate::rewards::certificate::{self, Certificate};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_awards)
        .service(get_award)
        .service(fulfil_award)
        .service(cancel_award)
        .service(award_certificate)
        .service(podium);
}

/// Where an award in its life is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AwardStatus {
    /// Given at the close, not yet announced.
    Allocated,
    /// The results are announced: the winner knows.
    Announced,
    /// Handed over (delivered, credited, applied).
    Fulfilled,
    Cancelled,
}

impl AwardStatus {
    fn as_str(self) -> &'static str {
        match self {
            AwardStatus::Allocated => "allocated",
            AwardStatus::Announced => "announced",
            AwardStatus::Fulfilled => "fulfilled",
            AwardStatus::Cancelled => "cancelled",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [
            AwardStatus::Allocated,
            AwardStatus::Announced,
            AwardStatus::Fulfilled,
            AwardStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// Where an award came from, so that it can be recomputed and checked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AwardAudit {
    /// The frozen standings line it came from (0-based position in the table).
    pub position: i32,
    /// SHA-256 of the reward plan as it was at the close.
    pub plan_hash: String,
    /// The allocation rule and version, for awards given by a rule.
    pub rule_id: Option<Uuid>,
    pub rule_version: Option<i32>,
    /// SHA-256 of every input of the allocation: the plan, the rule version's content
    /// hash, the frozen lines (entrant, position, rank, qualified) and the rewards (value,
    /// stock) at the close. The same for every award of one close.
    pub inputs_hash: String,
}

/// One award.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "019ac1d2-7e3f-7a10-9b2c-3d4e5f6a7b8c", "challenge_id": "2d7e9f10-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
    "entrant": {"id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "name": "Julie Moreau"},
    "reward_id": "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e41", "reward_name": "Espresso machine",
    "quantity": 1, "value_cents": 45000, "currency": "EUR", "reason": "rank", "rank": 1,
    "note": "1st place", "status": "announced",
    "audit": {"position": 0, "plan_hash": "5f1c…", "rule_id": null, "rule_version": null, "inputs_hash": "a93e…"},
    "allocated_at": "2026-06-01T08:00:00Z", "allocated_by": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "announced_at": "2026-06-02T09:00:00Z", "announced_by": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "fulfilled_at": null, "fulfilled_by": null, "cancelled_at": null, "cancelled_by": null, "cancel_reason": null
}))]
pub struct AwardDto {
    pub id: Uuid,
    pub challenge_id: Uuid,
    pub entrant: AwardEntrant,
    pub reward_id: Uuid,
    pub reward_name: String,
    pub quantity: i64,
    /// In minor units of `currency`.
    pub value_cents: i64,
    pub currency: String,
    pub reason: Reason,
    /// The entrant's rank in the frozen standings.
    pub rank: Option<i32>,
    pub note: String,
    pub status: AwardStatus,
    pub audit: AwardAudit,
    /// When the close gave it, and the admin who closed.
    pub allocated_at: DateTime<Utc>,
    pub allocated_by: Uuid,
    /// When the results were announced, and by whom.
    pub announced_at: Option<DateTime<Utc>>,
    pub announced_by: Option<Uuid>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub fulfilled_by: Option<Uuid>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancelled_by: Option<Uuid>,
    pub cancel_reason: Option<String>,
}

/// Who got an award (a participant, or a team, region or organisation).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AwardEntrant {
    pub id: Uuid,
    pub name: String,
}

fn opt_id(value: Option<&str>) -> Result<Option<Uuid>, AppError> {
    value.map(parse_id).transpose()
}

impl AwardDto {
    fn new(row: AwardRow, reward_name: String) -> Result<Self, AppError> {
        let corrupt = |what: &str| {
            AppError::internal(anyhow::anyhow!("award {} has an invalid {what}", row.id))
        };
        Ok(Self {
            id: parse_id(&row.id)?,
            challenge_id: parse_id(&row.challenge_id)?,
            entrant: AwardEntrant {
                id: parse_id(&row.entrant_id)?,
                name: row.entrant_name.clone(),
            },
            reward_id: parse_id(&row.reward_id)?,
            reward_name,
            quantity: row.quantity,
            value_cents: row.value_cents,
            currency: row.currency.clone(),
            reason: Reason::parse(&row.reason).ok_or_else(|| corrupt("reason"))?,
            rank: row.rank,
            note: row.note.clone(),
            status: AwardStatus::parse(&row.status).ok_or_else(|| corrupt("status"))?,
            audit: AwardAudit {
                position: row.position,
                plan_hash: row.plan_hash.clone(),
                rule_id: opt_id(row.rule_id.as_deref())?,
                rule_version: row.rule_version,
                inputs_hash: row.inputs_hash.clone(),
            },
            allocated_at: utc(row.allocated_at),
            allocated_by: parse_id(&row.allocated_by)?,
            announced_at: row.announced_at.map(utc),
            announced_by: opt_id(row.announced_by.as_deref())?,
            fulfilled_at: row.fulfilled_at.map(utc),
            fulfilled_by: opt_id(row.fulfilled_by.as_deref())?,
            cancelled_at: row.cancelled_at.map(utc),
            cancelled_by: opt_id(row.cancelled_by.as_deref())?,
            cancel_reason: row.cancel_reason,
        })
    }
}

/// Narrows a filter to what the caller may see.
fn scoped(
    conn: &mut DbConnection,
    caller: &AuthUser,
    mut filter: AwardFilter,
) -> Result<AwardFilter, AppError> {
    match caller.scope {
        Scope::Everything => {}
        Scope::Region(id) => filter.region_id = Some(id),
        Scope::Organisation(id) => {
            filter.organisation_id = Some(id);
            filter.announced_only = true;
        }
        Scope::Participant(id) => {
            filter.entrant_ids = Some(crate::news::own_entrants(conn, id)?);
            filter.announced_only = true;
        }
    }
    Ok(filter)
}

/// Whether a stored id is `id`.
fn is(value: &Option<String>, id: Uuid) -> bool {
    value.as_deref() == Some(id.to_string().as_str())
}

/// Whether the caller may see this award.
fn may_see(conn: &mut DbConnection, caller: &AuthUser, row: &AwardRow) -> Result<bool, AppError> {
    let announced = row.announced_at.is_some();
    Ok(match caller.scope {
        Scope::Everything => true,
        Scope::Region(id) => is(&row.region_id, id),
        Scope::Organisation(id) => announced && is(&row.organisation_id, id),
        Scope::Participant(id) => {
            announced
                && crate::news::own_entrants(conn, id)?
                    .iter()
                    .any(|e| row.entrant_id == e.to_string())
        }
    })
}

/// The awards with their rewards' names.
fn with_names(conn: &mut DbConnection, rows: Vec<AwardRow>) -> Result<Vec<AwardDto>, AppError> {
    let ids: Vec<Uuid> = rows
        .iter()
        .map(|r| parse_id(&r.reward_id))
        .collect::<Result<_, _>>()?;
    let names: std::collections::HashMap<String, String> = reward::find_all(conn, &ids)?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    rows.into_iter()
        .map(|row| {
            let name = names.get(&row.reward_id).cloned().unwrap_or_default();
            AwardDto::new(row, name)
        })
        .collect()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AwardListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    pub challenge_id: Option<Uuid>,
    pub status: Option<AwardStatus>,
    pub reward_id: Option<Uuid>,
    pub reason: Option<Reason>,
}

/// Awards the caller may see: by challenge, then standings position.
#[utoipa::path(
    tag = "awards",
    params(AwardListQuery),
    responses(
        (status = 200, description = "One page", body = Page<AwardDto>),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/awards")]
async fn list_awards(
    caller: AuthUser,
    pool: web::Data<Pool>,
    query: web::Query<AwardListQuery>,
) -> Result<web::Json<Page<AwardDto>>, AppError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let filter = AwardFilter {
        challenge_id: query.challenge_id,
        statuses: query
            .status
            .map(|s| vec![s.as_str().to_owned()])
            .unwrap_or_default(),
        reward_id: query.reward_id,
        reason: query.reason.map(|r| r.as_str().to_owned()),
        ..AwardFilter::default()
    };
    let (items, total) = pool
        .run(move |conn| {
            let filter = scoped(conn, &caller, filter)?;
            let (rows, total) = award::list(conn, &filter, page.limit, page.offset)?;
            Ok((with_names(conn, rows)?, total))
        })
        .await?;
    Ok(web::Json(Page::new(items, total, page)))
}

fn visible_award(
    conn: &mut DbConnection,
    caller: &AuthUser,
    id: Uuid,
) -> Result<AwardRow, AppError> {
    match award::find(conn, id)? {
        Some(row) if may_see(conn, caller, &row)? => Ok(row),
        _ => Err(AppError::NotFound("award")),
    }
}

/// One award.
#[utoipa::path(
    tag = "awards",
    params(("id" = Uuid, Path, description = "The award's id")),
    responses(
        (status = 200, description = "The award", body = AwardDto),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/awards/{id}")]
async fn get_award(
    caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<AwardDto>, AppError> {
    let id = id.into_inner();
    let dto = pool
        .run(move |conn| {
            let row = visible_award(conn, &caller, id)?;
            Ok(with_names(conn, vec![row])?.remove(0))
        })
        .await?;
    Ok(web::Json(dto))
}

/// Mark an announced award as handed over (delivered, credited, applied).
#[utoipa::path(
    tag = "awards",
    params(("id" = Uuid, Path, description = "The award's id")),
    responses(
        (status = 200, description = "Fulfilled", body = AwardDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
    ),
    security(("bearer" = []))
)]
#[post("/awards/{id}/fulfil")]
async fn fulfil_award(
    admin: Admin,
    pool: web::Data<Pool>,
    bus: web::Data<EventBus>,
    id: web::Path<Uuid>,
) -> Result<web::Json<AwardDto>, AppError> {
    let id = id.into_inner();
    let actor = Actor::of(&admin.0);
    let dto = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::AwardFulfilled, |conn, entry| {
                fulfil(conn, id, admin.0.id, entry)
            })
        })
        .await?;
    bus.publish(dto.challenge_id);
    Ok(web::Json(dto))
}

/// Fulfils an announced award and records the news, in the caller's transaction.
fn fulfil(
    conn: &mut DbConnection,
    id: Uuid,
    by: Uuid,
    entry: &mut Entry,
) -> Result<AwardDto, AppError> {
    let now = now();
    let current = award::find(conn, id)?.ok_or(AppError::NotFound("award"))?;
    entry.object(id).before(&current)?;
    let Some(row) = award::fulfil(conn, id, &by.to_string(), now)? else {
        return Err(AppError::conflict(
            "invalid_transition",
            format!(
                "the award is {}; only announced awards are fulfilled",
                current.status
            ),
        ));
    };
    entry.after(&row)?;
    let dto = with_names(conn, vec![row.clone()])?.remove(0);
    let mut draft = Draft::new(
        Kind::AwardFulfilled,
        dto.challenge_id,
        format!(
            "{} received {} × {}.",
            row.entrant_name, dto.quantity, dto.reward_name
        ),
    );
    draft.subject = Some(Subject {
        entrant_id: parse_id(&row.entrant_id)?,
        name: row.entrant_name.clone(),
        region_id: row.region_id.as_deref().map(parse_id).transpose()?,
        organisation_id: row.organisation_id.as_deref().map(parse_id).transpose()?,
    });
    draft.award_id = Some(id);
    draft.details = serde_json::json!({
        "reward_id": dto.reward_id,
        "reward_name": dto.reward_name,
        "quantity": dto.quantity,
    });
    news::record(conn, draft, now)?;
    Ok(dto)
}

/// Why an award is cancelled.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "The winner left the company before the announcement."}))]
pub struct CancelForm {
    #[schema(min_length = 1, max_length = 1000)]
    #[validate(length(min = 1, max = 1000, message = "must be 1 to 1,000 characters"))]
    pub reason: String,
}

/// Cancel an award not yet fulfilled; the units it took from a limited stock go back.
#[utoipa::path(
    tag = "awards",
    params(("id" = Uuid, Path, description = "The award's id")),
    request_body = CancelForm,
    responses(
        (status = 200, description = "Cancelled", body = AwardDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/awards/{id}/cancel")]
async fn cancel_award(
    admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
    body: crate::api::json::Json<CancelForm>,
) -> Result<web::Json<AwardDto>, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let id = id.into_inner();
    let actor = Actor::of(&admin.0);
    let dto = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::AwardCancelled, |conn, entry| {
                let current = award::find(conn, id)?.ok_or(AppError::NotFound("award"))?;
                entry.object(id).before(&current)?;
                let now = now();
                let row = award::cancel(conn, id, &admin.0.id.to_string(), &form.reason, now)?
                    .ok_or_else(|| {
                        AppError::conflict(
                            "invalid_transition",
                            format!(
                                "the award is {}; only awards not yet fulfilled are cancelled",
                                current.status
                            ),
                        )
                    })?;
                if row.stock_taken > 0 {
                    reward::return_stock(conn, parse_id(&row.reward_id)?, row.stock_taken, now)?;
                }
                entry.after(&row)?;
                Ok(with_names(conn, vec![row])?.remove(0))
            })
        })
        .await?;
    Ok(web::Json(dto))
}

/// A printable certificate of an award (HTML; print it or save it as PDF from a browser).
#[utoipa::path(
    tag = "awards",
    params(("id" = Uuid, Path, description = "The award's id")),
    responses(
        (status = 200, description = "The certificate", content_type = "text/html", body = String),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
    ),
    security(("bearer" = []))
)]
#[get("/awards/{id}/certificate")]
async fn award_certificate(
    caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let html = pool
        .run(move |conn| {
            let row = visible_award(conn, &caller, id)?;
            if row.status == "cancelled" {
                return Err(AppError::conflict(
                    "cancelled",
                    "a cancelled award has no certificate",
                ));
            }
            let challenge = challenge::find(conn, parse_id(&row.challenge_id)?)?
                .ok_or(AppError::NotFound("challenge"))?;
            let reward_name = reward::find(conn, parse_id(&row.reward_id)?)?
                .map(|r| r.name)
                .unwrap_or_default();
            let date = row.announced_at.unwrap_or(row.allocated_at);
            Ok(certificate::render(&Certificate {
                entrant_name: row.entrant_name,
                challenge_name: challenge.name,
                achievement: row.note,
                reward_name,
                date: date.format("%Y-%m-%d").to_string(),
            }))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// One place of the podium.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PodiumPlace {
    pub rank: Option<i32>,
    pub entrant: AwardEntrant,
    pub reward_name: String,
    pub quantity: i64,
}

/// The podium of a challenge.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "challenge_id": "2d7e9f10-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "announced": true,
    "places": [{"rank": 1, "entrant": {"id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "name": "Julie Moreau"}, "reward_name": "Espresso machine", "quantity": 1}]
}))]
pub struct PodiumDto {
    pub challenge_id: Uuid,
    pub announced: bool,
    /// The awards given by rank, first place first (tied entrants share a place).
    pub places: Vec<PodiumPlace>,
}

/// The podium of a closed challenge: who won which place and what. Before the
/// announcement only admins and managers see it; then everyone who sees the challenge's
/// standings, within the same limits (a partner its organisation's places).
#[utoipa::path(
    tag = "awards",
    params(("id" = Uuid, Path, description = "The challenge's id")),
    responses(
        (status = 200, description = "The podium", body = PodiumDto),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/challenges/{id}/podium")]
async fn podium(
    caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<PodiumDto>, AppError> {
    let id = id.into_inner();
    let dto = pool
        .run(move |conn| {
            let row = visible_challenge(conn, &caller, id)?;
            let challenge = Challenge::try_from(&row)?;
            let announced = row.announced_at.is_some();
            let staff = matches!(caller.scope, Scope::Everything | Scope::Region(_));
            if !announced && !staff {
                return Ok(PodiumDto {
                    challenge_id: id,
                    announced,
                    places: Vec::new(),
                });
            }
            let view = standings::view_for(conn, &caller, &challenge)?;
            let filter = AwardFilter {
                challenge_id: Some(id),
                reason: Some(Reason::Rank.as_str().to_owned()),
                statuses: vec!["allocated".into(), "announced".into(), "fulfilled".into()],
                ..AwardFilter::default()
            };
            let (rows, _) = award::list(conn, &filter, 1_000, 0)?;
            let shown: Vec<AwardRow> = rows.into_iter().filter(|r| shows(view, r)).collect();
            let places = with_names(conn, shown)?
                .into_iter()
                .map(|a| PodiumPlace {
                    rank: a.rank,
                    entrant: a.entrant,
                    reward_name: a.reward_name,
                    quantity: a.quantity,
                })
                .collect();
            Ok(PodiumDto {
                challenge_id: id,
                announced,
                places,
            })
        })
        .await?;
    Ok(web::Json(dto))
}

/// The standings view applied to an award's entrant.
fn shows(view: View, row: &AwardRow) -> bool {
    match view {
        View::All => true,
        View::Region(id) => is(&row.region_id, id),
        View::Organisation(id) => is(&row.organisation_id, id),
        View::Entrant(id) => row.entrant_id == id.to_string(),
        View::Nothing => false,
    }
}
