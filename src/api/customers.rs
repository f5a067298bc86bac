//! `/customers`: the customers that new-customer and key-account objectives speak of.
//! Admins write; every signed-in caller reads (sale lines name customers by reference).

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::api::pagination::{list_params, NameSortParam, Page};
use crate::audit::{self, Action, Actor};
use crate::auth::{Admin, AuthUser};
use crate::db::Pool;
use crate::error::AppError;
use crate::models::customer::{self, CustomerRow};
use crate::models::{now, parse_id, utc};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_customer)
        .service(list_customers)
        .service(get_customer)
        .service(update_customer);
}

/// A customer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "reference": "C-0042", "name": "Hôtel du Parc", "key_account": true, "created_at": "2026-11-27T09:00:00Z"}))]
pub struct CustomerDto {
    pub id: Uuid,
    /// Unique; sale lines name customers by reference.
    pub reference: String,
    pub name: String,
    /// A key account: key-account objectives count only these.
    pub key_account: bool,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<CustomerRow> for CustomerDto {
    type Error = AppError;

    fn try_from(row: CustomerRow) -> Result<Self, AppError> {
        Ok(Self {
            id: parse_id(&row.id)?,
            reference: row.reference,
            name: row.name,
            key_account: row.key_account,
            created_at: utc(row.created_at),
        })
    }
}

/// A new customer.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reference": "C-0042", "name": "Hôtel du Parc", "key_account": true}))]
pub struct CreateCustomer {
    #[schema(min_length = 1, max_length = 64)]
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    pub reference: String,
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    #[serde(default)]
    pub key_account: bool,
}

/// Marks a customer as key account, or not.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomer {
    pub key_account: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    /// Only names containing this text.
    pub name: Option<String>,
    pub key_account: Option<bool>,
    /// `name` (default), `-name`, `created_at`, `-created_at`.
    #[param(inline)]
    pub sort: Option<NameSortParam>,
}

/// Create a customer.
#[utoipa::path(
    tag = "customers",
    request_body = CreateCustomer,
    responses(
        (status = 201, description = "Created", body = CustomerDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/customers")]
async fn create_customer(
    admin: Admin,
    pool: web::Data<Pool>,
    body: crate::api::json::Json<CreateCustomer>,
) -> Result<HttpResponse, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let row = CustomerRow {
        id: Uuid::new_v4().to_string(),
        reference: form.reference,
        name: form.name,
        key_account: form.key_account,
        created_at: now(),
    };
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::CustomerCreated, |conn, entry| {
                let row = customer::insert(conn, &row)?;
                entry.object(&row.id).after(&row)?;
                Ok(row)
            })
        })
        .await?;
    let dto = CustomerDto::try_from(row)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/customers/{}", dto.id)))
        .json(dto))
}

/// List customers.
#[utoipa::path(
    tag = "customers",
    params(CustomerListQuery),
    responses(
        (status = 200, description = "One page", body = Page<CustomerDto>),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/customers")]
async fn list_customers(
    _caller: AuthUser,
    pool: web::Data<Pool>,
    query: web::Query<CustomerListQuery>,
) -> Result<web::Json<Page<CustomerDto>>, AppError> {
    let query = query.into_inner();
    let params = list_params(query.limit, query.offset, query.name, query.sort)?;
    let (list, key_account) = (params.clone(), query.key_account);
    let (rows, total) = pool
        .run(move |conn| Ok(customer::list(conn, key_account, &list)?))
        .await?;
    let items = rows
        .into_iter()
        .map(CustomerDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, (&params).into())))
}

/// One customer.
#[utoipa::path(
    tag = "customers",
    params(("id" = Uuid, Path, description = "The customer's id")),
    responses(
        (status = 200, description = "The customer", body = CustomerDto),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/customers/{id}")]
async fn get_customer(
    _caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<CustomerDto>, AppError> {
    let id = id.into_inner();
    let row = pool
        .run(move |conn| customer::find(conn, id)?.ok_or(AppError::NotFound("customer")))
        .await?;
    Ok(web::Json(CustomerDto::try_from(row)?))
}

/// Mark a customer as key account or not; live standings of key-account objectives follow.
#[utoipa::path(
    tag = "customers",
    params(("id" = Uuid, Path, description = "The customer's id")),
    request_body = UpdateCustomer,
    responses(
        (status = 200, description = "Changed", body = CustomerDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[patch("/customers/{id}")]
async fn update_customer(
    admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
    body: crate::api::json::Json<UpdateCustomer>,
) -> Result<web::Json<CustomerDto>, AppError> {
    let id = id.into_inner();
    let key_account = body.into_inner().key_account;
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::CustomerUpdated, |conn, entry| {
                let before = customer::find(conn, id)?.ok_or(AppError::NotFound("customer"))?;
                entry.object(id).before(&before)?;
                let row = customer::set_key_account(conn, id, key_account)?
                    .ok_or(AppError::NotFound("customer"))?;
                entry.after(&row)?;
                Ok(row)
            })
        })
        .await?;
    Ok(web::Json(CustomerDto::try_from(row)?))
}
