//! `/api-clients`: partner integrations that sign in with the client-credentials grant.
//! Each is scoped to one distributor organisation. The secret is shown once, in the answer
//! to its creation, and stored only as a hash.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::api::pagination::{Page, PageRequest};
use crate::audit::{self, Action, Actor};
use crate::auth::{secrets, Admin, LiveSessions};
use crate::db::Pool;
use crate::error::AppError;
use crate::models::api_client::{self, ApiClientRow, NewApiClient};
use crate::models::{now, parse_id, utc};

/// Length of generated client secrets, in letters and digits (about 285 bits).
const SECRET_LENGTH: usize = 48;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_api_client)
        .service(list_api_clients)
        .service(get_api_client)
        .service(disable_api_client);
}

/// A partner's API client. Its `id` is the `client_id` of the client-credentials grant.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "3f2b8c9d-0a1e-4b5c-8d7e-6f5a4b3c2d1e",
    "name": "Dupont Distribution ERP",
    "organisation_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
    "active": true,
    "created_by": "0b7f3c1e-8f2a-4c43-9d55-2b1f0f6f2a10",
    "created_at": "2026-11-27T09:00:00Z",
    "disabled_at": null
}))]
pub struct ApiClientDto {
    pub id: Uuid,
    pub name: String,
    /// The distributor organisation whose data this client may read and write.
    pub organisation_id: Uuid,
    /// A disabled client cannot sign in, and its tokens stop working at once.
    pub active: bool,
    /// The admin who created it.
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl TryFrom<ApiClientRow> for ApiClientDto {
    type Error = AppError;

    fn try_from(row: ApiClientRow) -> Result<Self, AppError> {
        Ok(Self {
            id: parse_id(&row.id)?,
            organisation_id: parse_id(&row.organisation_id)?,
            created_by: parse_id(&row.created_by)?,
            name: row.name,
            active: row.active,
            created_at: utc(row.created_at),
            disabled_at: row.disabled_at.map(utc),
        })
    }
}

/// A new API client for a distributor organisation (which must exist).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Dupont Distribution ERP", "organisation_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"}))]
pub struct CreateApiClient {
    /// What the integration is, for the admins' eyes.
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    pub organisation_id: Uuid,
}

/// A new API client with its secret. The secret is shown here only: store it now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedApiClient {
    pub client: ApiClientDto,
    /// The `client_secret` of the client-credentials grant.
    #[schema(example = "Q2x3T0pLbV9xR3Z5dVN3a3BoZ1hNbE5aQ2JvZ2FkZWpI")]
    pub client_secret: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ApiClientListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    /// Only the clients of this organisation.
    pub organisation_id: Option<Uuid>,
}

/// Create an API client; the answer holds its secret, shown once.
#[utoipa::path(
    tag = "api-clients",
    request_body = CreateApiClient,
    responses(
        (status = 201, description = "Created; keep the secret", body = CreatedApiClient,
            headers(("Location" = String, description = "The new client's URL"))),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/api-clients")]
async fn create_api_client(
    admin: Admin,
    pool: web::Data<Pool>,
    body: crate::api::json::Json<CreateApiClient>,
) -> Result<HttpResponse, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let secret = secrets::random_token(SECRET_LENGTH);
    let plain = secret.clone();
    let created_by = admin.0.id.to_string();
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::ApiClientCreated, |conn, entry| {
                crate::api::users::check_scope_exists(
                    conn,
                    None,
                    None,
                    Some(form.organisation_id),
                )?;
                let new = NewApiClient {
                    id: Uuid::new_v4().to_string(),
                    name: form.name,
                    secret_hash: secrets::hash(&plain)?,
                    organisation_id: form.organisation_id.to_string(),
                    active: true,
                    created_by,
                    created_at: now(),
                };
                let row = api_client::insert(conn, &new)?;
                entry.object(&row.id).after(&row)?;
                Ok(row)
            })
        })
        .await?;
    let client = ApiClientDto::try_from(row)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/api-clients/{}", client.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedApiClient {
            client,
            client_secret: secret,
        }))
}

/// List API clients, oldest first.
#[utoipa::path(
    tag = "api-clients",
    params(ApiClientListQuery),
    responses(
        (status = 200, description = "One page of API clients", body = Page<ApiClientDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/api-clients")]
async fn list_api_clients(
    _admin: Admin,
    pool: web::Data<Pool>,
    query: web::Query<ApiClientListQuery>,
) -> Result<web::Json<Page<ApiClientDto>>, AppError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let organisation_id = query.organisation_id;
    let (rows, total) = pool
        .run(move |conn| {
            Ok(api_client::list(
                conn,
                organisation_id,
                page.limit,
                page.offset,
            )?)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(ApiClientDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, page)))
}

/// One API client (never its secret).
#[utoipa::path(
    tag = "api-clients",
    params(("id" = Uuid, Path, description = "The API client's id")),
    responses(
        (status = 200, description = "The API client", body = ApiClientDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/api-clients/{id}")]
async fn get_api_client(
    _admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<ApiClientDto>, AppError> {
    let id = id.into_inner();
    let row = pool
        .run(move |conn| api_client::find(conn, id)?.ok_or(AppError::NotFound("API client")))
        .await?;
    Ok(web::Json(ApiClientDto::try_from(row)?))
}

/// Disable an API client: it can no longer sign in and its tokens stop working at once.
#[utoipa::path(
    tag = "api-clients",
    params(("id" = Uuid, Path, description = "The API client's id")),
    responses(
        (status = 200, description = "The API client, disabled", body = ApiClientDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[post("/api-clients/{id}/disable")]
async fn disable_api_client(
    admin: Admin,
    pool: web::Data<Pool>,
    sessions: web::Data<LiveSessions>,
    id: web::Path<Uuid>,
) -> Result<web::Json<ApiClientDto>, AppError> {
    let id = id.into_inner();
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::ApiClientDisabled, |conn, entry| {
                let before = api_client::find(conn, id)?.ok_or(AppError::NotFound("API client"))?;
                entry.object(id).before(&before)?;
                let row = api_client::disable(conn, id)?.ok_or(AppError::NotFound("API client"))?;
                entry.after(&row)?;
                Ok(row)
            })
        })
        .await?;
    sessions.forget_account(id);
    Ok(web::Json(ApiClientDto::try_from(row)?))
}
