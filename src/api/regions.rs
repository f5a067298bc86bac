//! `/regions`: sectors with their potential index (IRV) and the company's market share,
//! which fairness adjustments use. Admins write; admins read all, a manager its region, a
//! participant its own region; partners see none (sector figures are the company's).

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::api::pagination::{list_params, nullable, NameSortParam, Page};
use crate::audit::{self, Action, Actor};
use crate::auth::{Admin, AuthUser, Role, Scope};
use crate::db::{DbConnection, Pool};
use crate::error::AppError;
use crate::models::region::{self, RegionChanges, RegionRow};
use crate::models::{now, parse_id, participant, user, utc};
use crate::scoring::Exact;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_region)
        .service(list_regions)
        .service(get_region)
        .service(update_region);
}

/// A sector.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "5d0c2b8e-2a57-4e0b-a7a4-4f4f3f1c9e21", "name": "Île-de-France", "potential_index": "1.35", "market_share": "0.42", "manager_id": null, "created_at": "2026-11-27T09:00:00Z"}))]
pub struct RegionDto {
    pub id: Uuid,
    pub name: String,
    /// The "Indice de Richesse Vive": 1 is average purchasing power.
    pub potential_index: Exact,
    /// The company's market share in the region, 0 to 1.
    pub market_share: Exact,
    /// The manager user who follows the region.
    pub manager_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<RegionRow> for RegionDto {
    type Error = AppError;

    fn try_from(row: RegionRow) -> Result<Self, AppError> {
        Ok(Self {
            id: parse_id(&row.id)?,
            manager_id: row.manager_id.as_deref().map(parse_id).transpose()?,
            potential_index: row.potential_index(),
            market_share: row.market_share(),
            name: row.name,
            created_at: utc(row.created_at),
        })
    }
}

fn default_potential() -> Exact {
    Exact::ONE
}

fn potential_range(value: &Exact) -> Result<(), ValidationError> {
    if value.is_positive() && *value <= Exact::HUNDRED {
        Ok(())
    } else {
        Err(ValidationError::new("range").with_message("must be above 0 and at most 100".into()))
    }
}

fn share_range(value: &Exact) -> Result<(), ValidationError> {
    if *value >= Exact::ZERO && *value <= Exact::ONE {
        Ok(())
    } else {
        Err(ValidationError::new("range").with_message("must be between 0 and 1".into()))
    }
}

/// A new region.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Île-de-France", "potential_index": "1.35", "market_share": "0.42"}))]
pub struct CreateRegion {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    /// Default 1; above 0 and at most 100, at most 4 decimals.
    #[serde(default = "default_potential")]
    #[validate(custom(function = "potential_range"))]
    pub potential_index: Exact,
    /// Default 0; from 0 to 1, at most 4 decimals.
    #[serde(default)]
    #[validate(custom(function = "share_range"))]
    pub market_share: Exact,
    /// A user with the manager role.
    pub manager_id: Option<Uuid>,
}

/// Changes to a region; absent fields stay as they are, `manager_id: null` removes the
/// manager.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRegion {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: Option<String>,
    /// Above 0 and at most 100, at most 4 decimals.
    #[validate(custom(function = "potential_range"))]
    pub potential_index: Option<Exact>,
    /// From 0 to 1, at most 4 decimals.
    #[validate(custom(function = "share_range"))]
    pub market_share: Option<Exact>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub manager_id: Option<Option<Uuid>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegionListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    /// Only names containing this text.
    pub name: Option<String>,
    /// `name` (default), `-name`, `created_at`, `-created_at`.
    #[param(inline)]
    pub sort: Option<NameSortParam>,
}

/// `None`: every region; `Some(None)`: none; `Some(Some(id))`: that one.
fn visible_region(
    conn: &mut DbConnection,
    caller: &AuthUser,
) -> Result<Option<Option<Uuid>>, AppError> {
    Ok(match caller.scope {
        Scope::Everything => None,
        Scope::Region(id) => Some(Some(id)),
        Scope::Organisation(_) => {
            return Err(AppError::Forbidden(
                "partners do not see the company's regions".into(),
            ))
        }
        Scope::Participant(id) => Some(
            participant::find(conn, id)?
                .and_then(|p| p.region_id)
                .as_deref()
                .map(parse_id)
                .transpose()?,
        ),
    })
}

fn check_manager(conn: &mut DbConnection, manager_id: Option<Uuid>) -> Result<(), AppError> {
    if let Some(id) = manager_id {
        let is_manager = user::find(conn, id)?.is_some_and(|u| u.role == Role::Manager.as_str());
        if !is_manager {
            return Err(AppError::invalid_field(
                "manager_id",
                "unknown_manager",
                "no user with the manager role has this id",
            ));
        }
    }
    Ok(())
}

/// Create a region.
#[utoipa::path(
    tag = "regions",
    request_body = CreateRegion,
    responses(
        (status = 201, description = "Created", body = RegionDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/regions")]
async fn create_region(
    admin: Admin,
    pool: web::Data<Pool>,
    body: crate::api::json::Json<CreateRegion>,
) -> Result<HttpResponse, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::RegionCreated, |conn, entry| {
                check_manager(conn, form.manager_id)?;
                let row = RegionRow {
                    id: Uuid::new_v4().to_string(),
                    name: form.name,
                    potential_index_e4: region::to_e4(form.potential_index),
                    market_share_e4: region::to_e4(form.market_share),
                    manager_id: form.manager_id.map(|id| id.to_string()),
                    created_at: now(),
                };
                let row = region::insert(conn, &row)?;
                entry.object(&row.id).after(&row)?;
                Ok(row)
            })
        })
        .await?;
    let dto = RegionDto::try_from(row)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/regions/{}", dto.id)))
        .json(dto))
}

/// List the regions the caller may see.
#[utoipa::path(
    tag = "regions",
    params(RegionListQuery),
    responses(
        (status = 200, description = "One page", body = Page<RegionDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/regions")]
async fn list_regions(
    caller: AuthUser,
    pool: web::Data<Pool>,
    query: web::Query<RegionListQuery>,
) -> Result<web::Json<Page<RegionDto>>, AppError> {
    let query = query.into_inner();
    let params = list_params(query.limit, query.offset, query.name, query.sort)?;
    let list = params.clone();
    let (rows, total) = pool
        .run(move |conn| match visible_region(conn, &caller)? {
            Some(None) => Ok((Vec::new(), 0)),
            Some(only) => Ok(region::list(conn, only, &list)?),
            None => Ok(region::list(conn, None, &list)?),
        })
        .await?;
    let items = rows
        .into_iter()
        .map(RegionDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, (&params).into())))
}

/// One region.
#[utoipa::path(
    tag = "regions",
    params(("id" = Uuid, Path, description = "The region's id")),
    responses(
        (status = 200, description = "The region", body = RegionDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/regions/{id}")]
async fn get_region(
    caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<RegionDto>, AppError> {
    let id = id.into_inner();
    let row = pool
        .run(move |conn| {
            let visible = match visible_region(conn, &caller)? {
                None => true,
                Some(only) => only == Some(id),
            };
            region::find(conn, id)?
                .filter(|_| visible)
                .ok_or(AppError::NotFound("region"))
        })
        .await?;
    Ok(web::Json(RegionDto::try_from(row)?))
}

/// Change a region. A new potential index or market share changes live standings at once.
#[utoipa::path(
    tag = "regions",
    params(("id" = Uuid, Path, description = "The region's id")),
    request_body = UpdateRegion,
    responses(
        (status = 200, description = "Changed", body = RegionDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[patch("/regions/{id}")]
async fn update_region(
    admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
    body: crate::api::json::Json<UpdateRegion>,
) -> Result<web::Json<RegionDto>, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let id = id.into_inner();
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::RegionUpdated, |conn, entry| {
                let before = region::find(conn, id)?.ok_or(AppError::NotFound("region"))?;
                entry.object(id).before(&before)?;
                check_manager(conn, form.manager_id.flatten())?;
                let changes = RegionChanges {
                    name: form.name,
                    potential_index_e4: form.potential_index.map(region::to_e4),
                    market_share_e4: form.market_share.map(region::to_e4),
                    manager_id: form.manager_id.map(|m| m.map(|id| id.to_string())),
                };
                let row =
                    region::update(conn, id, &changes)?.ok_or(AppError::NotFound("region"))?;
                entry.after(&row)?;
                Ok(row)
            })
        })
        .await?;
    Ok(web::Json(RegionDto::try_from(row)?))
}
