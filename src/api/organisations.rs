//! `/organisations`: the company itself and its distributors. Admins write; admins and
//! managers read all; a partner or participant reads its own.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::api::pagination::{list_params, NameSortParam, Page};
use crate::audit::{self, Action, Actor};
use crate::auth::{Admin, AuthUser, Scope};
use crate::db::{DbConnection, Pool};
use crate::error::AppError;
use crate::models::organisation::{self, OrganisationRow};
use crate::models::{now, parse_id, participant, utc};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_organisation)
        .service(list_organisations)
        .service(get_organisation)
        .service(update_organisation);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    /// The manufacturer running the programmes.
    Company,
    /// A distributor relaying its products.
    Distributor,
}

impl OrganisationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrganisationKind::Company => "company",
            OrganisationKind::Distributor => "distributor",
        }
    }
}

/// An organisation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "name": "Dupont Distribution", "kind": "distributor", "created_at": "2026-11-27T09:00:00Z"}))]
pub struct OrganisationDto {
    pub id: Uuid,
    pub name: String,
    pub kind: OrganisationKind,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<OrganisationRow> for OrganisationDto {
    type Error = AppError;

    fn try_from(row: OrganisationRow) -> Result<Self, AppError> {
        Ok(Self {
            id: parse_id(&row.id)?,
            kind: if row.kind == "company" {
                OrganisationKind::Company
            } else {
                OrganisationKind::Distributor
            },
            name: row.name,
            created_at: utc(row.created_at),
        })
    }
}

/// A new organisation; names are unique.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Dupont Distribution", "kind": "distributor"}))]
pub struct CreateOrganisation {
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    pub kind: OrganisationKind,
}

/// A renaming.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganisation {
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrganisationListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    /// Only names containing this text.
    pub name: Option<String>,
    /// Only this kind.
    pub kind: Option<OrganisationKind>,
    /// `name` (default), `-name`, `created_at`, `-created_at`.
    #[param(inline)]
    pub sort: Option<NameSortParam>,
}

/// The one organisation a scoped caller may see, or `None` for all.
fn visible_organisation(
    conn: &mut DbConnection,
    caller: &AuthUser,
) -> Result<Option<Option<Uuid>>, AppError> {
    Ok(match caller.scope {
        Scope::Everything | Scope::Region(_) => None,
        Scope::Organisation(id) => Some(Some(id)),
        Scope::Participant(id) => Some(
            participant::find(conn, id)?
                .map(|p| parse_id(&p.organisation_id))
                .transpose()?,
        ),
    })
}

/// Create an organisation.
#[utoipa::path(
    tag = "organisations",
    request_body = CreateOrganisation,
    responses(
        (status = 201, description = "Created", body = OrganisationDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/organisations")]
async fn create_organisation(
    admin: Admin,
    pool: web::Data<Pool>,
    body: crate::api::json::Json<CreateOrganisation>,
) -> Result<HttpResponse, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let row = OrganisationRow {
        id: Uuid::new_v4().to_string(),
        name: form.name,
        kind: form.kind.as_str().to_owned(),
        created_at: now(),
    };
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::OrganisationCreated, |conn, entry| {
                let row = organisation::insert(conn, &row)?;
                entry.object(&row.id).after(&row)?;
                Ok(row)
            })
        })
        .await?;
    let dto = OrganisationDto::try_from(row)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/organisations/{}", dto.id)))
        .json(dto))
}

/// List the organisations the caller may see.
#[utoipa::path(
    tag = "organisations",
    params(OrganisationListQuery),
    responses(
        (status = 200, description = "One page", body = Page<OrganisationDto>),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/organisations")]
async fn list_organisations(
    caller: AuthUser,
    pool: web::Data<Pool>,
    query: web::Query<OrganisationListQuery>,
) -> Result<web::Json<Page<OrganisationDto>>, AppError> {
    let query = query.into_inner();
    let params = list_params(query.limit, query.offset, query.name, query.sort)?;
    let kind = query.kind.map(|k| k.as_str());
    let list = params.clone();
    let (rows, total) = pool
        .run(move |conn| match visible_organisation(conn, &caller)? {
            Some(None) => Ok((Vec::new(), 0)),
            Some(Some(only)) => Ok(organisation::list(conn, Some(only), kind, &list)?),
            None => Ok(organisation::list(conn, None, kind, &list)?),
        })
        .await?;
    let items = rows
        .into_iter()
        .map(OrganisationDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, (&params).into())))
}

/// One organisation.
#[utoipa::path(
    tag = "organisations",
    params(("id" = Uuid, Path, description = "The organisation's id")),
    responses(
        (status = 200, description = "The organisation", body = OrganisationDto),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/organisations/{id}")]
async fn get_organisation(
    caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<OrganisationDto>, AppError> {
    let id = id.into_inner();
    let row = pool
        .run(move |conn| {
            let visible = match visible_organisation(conn, &caller)? {
                None => true,
                Some(only) => only == Some(id),
            };
            organisation::find(conn, id)?
                .filter(|_| visible)
                .ok_or(AppError::NotFound("organisation"))
        })
        .await?;
    Ok(web::Json(OrganisationDto::try_from(row)?))
}

/// Rename an organisation.
#[utoipa::path(
    tag = "organisations",
    params(("id" = Uuid, Path, description = "The organisation's id")),
    request_body = UpdateOrganisation,
    responses(
        (status = 200, description = "Renamed", body = OrganisationDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[patch("/organisations/{id}")]
async fn update_organisation(
    admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
    body: crate::api::json::Json<UpdateOrganisation>,
) -> Result<web::Json<OrganisationDto>, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let id = id.into_inner();
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::OrganisationUpdated, |conn, entry| {
                let before =
                    organisation::find(conn, id)?.ok_or(AppError::NotFound("organisation"))?;
                entry.object(id).before(&before)?;
                let row = organisation::update_name(conn, id, &form.name)?
                    .ok_or(AppError::NotFound("organisation"))?;
                entry.after(&row)?;
                Ok(row)
            })
        })
        .await?;
    Ok(web::Json(OrganisationDto::try_from(row)?))
}
