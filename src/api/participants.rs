//! `/participants`: who competes: reps, teams taken as one, or whole distributors. Admins
//! write; admins read all, a manager its region's participants, a partner its
//! organisation's, a participant itself.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::api::pagination::{list_params, nullable, NameSortParam, Page};
use crate::audit::{self, Action, Actor};
use crate::auth::{within_scope, Admin, AuthUser, Scope};
use crate::challenges::definition::ParticipantKind;
use crate::db::{DbConnection, Pool};
use crate::error::{AppError, FieldError};
use crate::models::participant::{self, ParticipantChanges, ParticipantFilter, ParticipantRow};
use crate::models::{now, organisation, parse_id, region, team, utc};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_participant)
        .service(list_participants)
        .service(get_participant)
        .service(update_participant);
}

/// A participant.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "name": "Julie Moreau", "kind": "rep", "organisation_id": "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b", "region_id": "5d0c2b8e-2a57-4e0b-a7a4-4f4f3f1c9e21", "team_id": null, "created_at": "2026-11-27T09:00:00Z"}))]
pub struct ParticipantDto {
    pub id: Uuid,
    pub name: String,
    pub kind: ParticipantKind,
    pub organisation_id: Uuid,
    pub region_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<ParticipantRow> for ParticipantDto {
    type Error = AppError;

    fn try_from(row: ParticipantRow) -> Result<Self, AppError> {
        Ok(Self {
            id: parse_id(&row.id)?,
            kind: ParticipantKind::parse(&row.kind).ok_or_else(|| {
                AppError::internal(anyhow::anyhow!(
                    "participant {} has kind {:?}",
                    row.id,
                    row.kind
                ))
            })?,
            organisation_id: parse_id(&row.organisation_id)?,
            region_id: row.region_id.as_deref().map(parse_id).transpose()?,
            team_id: row.team_id.as_deref().map(parse_id).transpose()?,
            name: row.name,
            created_at: utc(row.created_at),
        })
    }
}

/// A new participant. A team, when given, must belong to the same organisation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Julie Moreau", "kind": "rep", "organisation_id": "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b", "region_id": "5d0c2b8e-2a57-4e0b-a7a4-4f4f3f1c9e21"}))]
pub struct CreateParticipant {
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    pub kind: ParticipantKind,
    pub organisation_id: Uuid,
    pub region_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
}

/// Changes to a participant; absent fields stay, `null` removes a region or team.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateParticipant {
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub region_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub team_id: Option<Option<Uuid>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ParticipantListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    /// Only names containing this text.
    pub name: Option<String>,
    pub organisation_id: Option<Uuid>,
    pub region_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub kind: Option<ParticipantKind>,
    /// `name` (default), `-name`, `created_at`, `-created_at`.
    #[param(inline)]
    pub sort: Option<NameSortParam>,
}

/// The caller's scope applied to a participant filter.
fn scoped(caller: &AuthUser, mut filter: ParticipantFilter) -> Result<ParticipantFilter, AppError> {
    let single = |ids: &[Uuid]| ids.first().copied();
    match caller.scope {
        Scope::Everything => {}
        Scope::Region(id) => {
            filter.region_ids = vec![within_scope(single(&filter.region_ids), id)?]
        }
        Scope::Organisation(id) => {
            filter.organisation_ids = vec![within_scope(single(&filter.organisation_ids), id)?]
        }
        Scope::Participant(id) => {
            if filter.only.is_some_and(|asked| asked != id) {
                return Err(AppError::NotFound("participant"));
            }
            filter.only = Some(id);
        }
    }
    Ok(filter)
}

/// Checks that the region and team exist and the team belongs to the organisation.
fn check_links(
    conn: &mut DbConnection,
    organisation_id: &str,
    region_id: Option<Uuid>,
    team_id: Option<Uuid>,
) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if let Some(id) = region_id {
        if region::find(conn, id)?.is_none() {
            errors.push(FieldError::new(
                "region_id",
                "unknown_region",
                "no region has this id",
            ));
        }
    }
    if let Some(id) = team_id {
        match team::find(conn, id)? {
            None => errors.push(FieldError::new(
                "team_id",
                "unknown_team",
                "no team has this id",
            )),
            Some(t) if t.organisation_id != organisation_id => errors.push(FieldError::new(
                "team_id",
                "other_organisation",
                "the team belongs to another organisation",
            )),
            Some(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Create a participant.
#[utoipa::path(
    tag = "participants",
    request_body = CreateParticipant,
    responses(
        (status = 201, description = "Created", body = ParticipantDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/participants")]
async fn create_participant(
    admin: Admin,
    pool: web::Data<Pool>,
    body: crate::api::json::Json<CreateParticipant>,
) -> Result<HttpResponse, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::ParticipantCreated, |conn, entry| {
                if organisation::find(conn, form.organisation_id)?.is_none() {
                    return Err(AppError::invalid_field(
                        "organisation_id",
                        "unknown_organisation",
                        "no organisation has this id",
                    ));
                }
                let organisation_id = form.organisation_id.to_string();
                check_links(conn, &organisation_id, form.region_id, form.team_id)?;
                let row = ParticipantRow {
                    id: Uuid::new_v4().to_string(),
                    name: form.name,
                    kind: form.kind.as_str().to_owned(),
                    organisation_id,
                    region_id: form.region_id.map(|id| id.to_string()),
                    team_id: form.team_id.map(|id| id.to_string()),
                    created_at: now(),
                };
                let row = participant::insert(conn, &row)?;
                entry.object(&row.id).after(&row)?;
                Ok(row)
            })
        })
        .await?;
    let dto = ParticipantDto::try_from(row)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/participants/{}", dto.id)))
        .json(dto))
}

/// List the participants the caller may see.
#[utoipa::path(
    tag = "participants",
    params(ParticipantListQuery),
    responses(
        (status = 200, description = "One page", body = Page<ParticipantDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/participants")]
async fn list_participants(
    caller: AuthUser,
    pool: web::Data<Pool>,
    query: web::Query<ParticipantListQuery>,
) -> Result<web::Json<Page<ParticipantDto>>, AppError> {
    let query = query.into_inner();
    let params = list_params(query.limit, query.offset, query.name, query.sort)?;
    let filter = scoped(
        &caller,
        ParticipantFilter {
            only: None,
            ids: Vec::new(),
            organisation_ids: query.organisation_id.into_iter().collect(),
            region_ids: query.region_id.into_iter().collect(),
            team_ids: query.team_id.into_iter().collect(),
            kinds: query
                .kind
                .map(|k| k.as_str().to_owned())
                .into_iter()
                .collect(),
        },
    )?;
    let list = params.clone();
    let (rows, total) = pool
        .run(move |conn| Ok(participant::list(conn, &filter, &list)?))
        .await?;
    let items = rows
        .into_iter()
        .map(ParticipantDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, (&params).into())))
}

/// One participant.
#[utoipa::path(
    tag = "participants",
    params(("id" = Uuid, Path, description = "The participant's id")),
    responses(
        (status = 200, description = "The participant", body = ParticipantDto),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/participants/{id}")]
async fn get_participant(
    caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<ParticipantDto>, AppError> {
    let id = id.into_inner();
    let row = pool
        .run(move |conn| {
            let row = participant::find(conn, id)?.ok_or(AppError::NotFound("participant"))?;
            if crate::ingestion::in_scope(&caller, &row) {
                Ok(row)
            } else {
                Err(AppError::NotFound("participant"))
            }
        })
        .await?;
    Ok(web::Json(ParticipantDto::try_from(row)?))
}

/// Change a participant: rename it, or move it to another region or team. Live standings
/// follow at once.
#[utoipa::path(
    tag = "participants",
    params(("id" = Uuid, Path, description = "The participant's id")),
    request_body = UpdateParticipant,
    responses(
        (status = 200, description = "Changed", body = ParticipantDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[patch("/participants/{id}")]
async fn update_participant(
    admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
    body: crate::api::json::Json<UpdateParticipant>,
) -> Result<web::Json<ParticipantDto>, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let id = id.into_inner();
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::ParticipantUpdated, |conn, entry| {
                let current =
                    participant::find(conn, id)?.ok_or(AppError::NotFound("participant"))?;
                entry.object(id).before(&current)?;
                check_links(
                    conn,
                    &current.organisation_id,
                    form.region_id.flatten(),
                    form.team_id.flatten(),
                )?;
                let changes = ParticipantChanges {
                    name: form.name,
                    region_id: form.region_id.map(|r| r.map(|id| id.to_string())),
                    team_id: form.team_id.map(|t| t.map(|id| id.to_string())),
                };
                let row = participant::update(conn, id, &changes)?
                    .ok_or(AppError::NotFound("participant"))?;
                entry.after(&row)?;
                Ok(row)
            })
        })
        .await?;
    Ok(web::Json(ParticipantDto::try_from(row)?))
}
