//! `/teams`: teams of reps, in an organisation and optionally a region. Admins write;
//! admins read all, a manager its region's teams, a partner its organisation's, a
//! participant its own team.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::api::pagination::{list_params, NameSortParam, Page};
use crate::audit::{self, Action, Actor};
use crate::auth::{within_scope, Admin, AuthUser, Scope};
use crate::db::{DbConnection, Pool};
use crate::error::{AppError, FieldError};
use crate::models::team::{self, TeamFilter, TeamRow};
use crate::models::{now, organisation, parse_id, participant, region, utc};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_team)
        .service(list_teams)
        .service(get_team);
}

/// A team.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "name": "Paris Nord", "organisation_id": "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b", "region_id": "5d0c2b8e-2a57-4e0b-a7a4-4f4f3f1c9e21", "created_at": "2026-11-27T09:00:00Z"}))]
pub struct TeamDto {
    pub id: Uuid,
    pub name: String,
    pub organisation_id: Uuid,
    pub region_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<TeamRow> for TeamDto {
    type Error = AppError;

    fn try_from(row: TeamRow) -> Result<Self, AppError> {
        Ok(Self {
            id: parse_id(&row.id)?,
            organisation_id: parse_id(&row.organisation_id)?,
            region_id: row.region_id.as_deref().map(parse_id).transpose()?,
            name: row.name,
            created_at: utc(row.created_at),
        })
    }
}

/// A new team.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Paris Nord", "organisation_id": "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b", "region_id": "5d0c2b8e-2a57-4e0b-a7a4-4f4f3f1c9e21"}))]
pub struct CreateTeam {
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    pub organisation_id: Uuid,
    pub region_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TeamListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    /// Only names containing this text.
    pub name: Option<String>,
    pub organisation_id: Option<Uuid>,
    pub region_id: Option<Uuid>,
    /// `name` (default), `-name`, `created_at`, `-created_at`.
    #[param(inline)]
    pub sort: Option<NameSortParam>,
}

/// The caller's scope as a team filter; `None` when the caller may see no team.
fn scoped(
    conn: &mut DbConnection,
    caller: &AuthUser,
    mut filter: TeamFilter,
) -> Result<Option<TeamFilter>, AppError> {
    match caller.scope {
        Scope::Everything => {}
        Scope::Region(id) => filter.region_id = Some(within_scope(filter.region_id, id)?),
        Scope::Organisation(id) => {
            filter.organisation_id = Some(within_scope(filter.organisation_id, id)?)
        }
        Scope::Participant(id) => {
            let Some(team) = participant::find(conn, id)?.and_then(|p| p.team_id) else {
                return Ok(None);
            };
            let own = parse_id(&team)?;
            if filter.only.is_some_and(|asked| asked != own) {
                return Ok(None);
            }
            filter.only = Some(own);
        }
    }
    Ok(Some(filter))
}

/// Create a team.
#[utoipa::path(
    tag = "teams",
    request_body = CreateTeam,
    responses(
        (status = 201, description = "Created", body = TeamDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/teams")]
async fn create_team(
    admin: Admin,
    pool: web::Data<Pool>,
    body: crate::api::json::Json<CreateTeam>,
) -> Result<HttpResponse, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::TeamCreated, |conn, entry| {
                let mut errors = Vec::new();
                if organisation::find(conn, form.organisation_id)?.is_none() {
                    errors.push(FieldError::new(
                        "organisation_id",
                        "unknown_organisation",
                        "no organisation has this id",
                    ));
                }
                if let Some(region_id) = form.region_id {
                    if region::find(conn, region_id)?.is_none() {
                        errors.push(FieldError::new(
                            "region_id",
                            "unknown_region",
                            "no region has this id",
                        ));
                    }
                }
                if !errors.is_empty() {
                    return Err(AppError::Validation(errors));
                }
                let row = TeamRow {
                    id: Uuid::new_v4().to_string(),
                    name: form.name,
                    organisation_id: form.organisation_id.to_string(),
                    region_id: form.region_id.map(|id| id.to_string()),
                    created_at: now(),
                };
                let row = team::insert(conn, &row)?;
                entry.object(&row.id).after(&row)?;
                Ok(row)
            })
        })
        .await?;
    let dto = TeamDto::try_from(row)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/teams/{}", dto.id)))
        .json(dto))
}

/// List the teams the caller may see.
#[utoipa::path(
    tag = "teams",
    params(TeamListQuery),
    responses(
        (status = 200, description = "One page", body = Page<TeamDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/teams")]
async fn list_teams(
    caller: AuthUser,
    pool: web::Data<Pool>,
    query: web::Query<TeamListQuery>,
) -> Result<web::Json<Page<TeamDto>>, AppError> {
    let query = query.into_inner();
    let params = list_params(query.limit, query.offset, query.name, query.sort)?;
    let asked = TeamFilter {
        organisation_id: query.organisation_id,
        region_id: query.region_id,
        only: None,
    };
    let list = params.clone();
    let (rows, total) = pool
        .run(move |conn| match scoped(conn, &caller, asked)? {
            Some(filter) => Ok(team::list(conn, &filter, &list)?),
            None => Ok((Vec::new(), 0)),
        })
        .await?;
    let items = rows
        .into_iter()
        .map(TeamDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, (&params).into())))
}

/// One team.
#[utoipa::path(
    tag = "teams",
    params(("id" = Uuid, Path, description = "The team's id")),
    responses(
        (status = 200, description = "The team", body = TeamDto),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/teams/{id}")]
async fn get_team(
    caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<TeamDto>, AppError> {
    let id = id.into_inner();
    let row = pool
        .run(move |conn| {
            let asked = TeamFilter {
                only: Some(id),
                ..TeamFilter::default()
            };
            let filter = scoped(conn, &caller, asked)?.ok_or(AppError::NotFound("team"))?;
            let (mut rows, _) = team::list(
                conn,
                &filter,
                &crate::models::ListParams {
                    limit: 1,
                    ..Default::default()
                },
            )?;
            rows.pop().ok_or(AppError::NotFound("team"))
        })
        .await?;
    Ok(web::Json(TeamDto::try_from(row)?))
}
