//! `/products`: the catalogue that placement objectives and sale lines refer to. Admins
//! write; every signed-in caller reads (partners need the SKUs to send sales).

use actix_web::{get, post, web, HttpResponse};
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
use crate::models::product::{self, ProductRow};
use crate::models::{now, parse_id, utc};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_product)
        .service(list_products)
        .service(get_product);
}

/// A product.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "sku": "ESP-200", "name": "Espresso machine 200", "category": "coffee", "created_at": "2026-11-27T09:00:00Z"}))]
pub struct ProductDto {
    pub id: Uuid,
    /// Unique; sale lines name products by SKU.
    pub sku: String,
    pub name: String,
    pub category: String,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<ProductRow> for ProductDto {
    type Error = AppError;

    fn try_from(row: ProductRow) -> Result<Self, AppError> {
        Ok(Self {
            id: parse_id(&row.id)?,
            sku: row.sku,
            name: row.name,
            category: row.category,
            created_at: utc(row.created_at),
        })
    }
}

/// A new product.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"sku": "ESP-200", "name": "Espresso machine 200", "category": "coffee"}))]
pub struct CreateProduct {
    #[schema(min_length = 1, max_length = 64)]
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    pub sku: String,
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    #[schema(min_length = 1, max_length = 100)]
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    pub category: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    /// Only names containing this text.
    pub name: Option<String>,
    pub category: Option<String>,
    /// `name` (default), `-name`, `created_at`, `-created_at`.
    #[param(inline)]
    pub sort: Option<NameSortParam>,
}

/// Create a product.
#[utoipa::path(
    tag = "products",
    request_body = CreateProduct,
    responses(
        (status = 201, description = "Created", body = ProductDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/products")]
async fn create_product(
    admin: Admin,
    pool: web::Data<Pool>,
    body: crate::api::json::Json<CreateProduct>,
) -> Result<HttpResponse, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let row = ProductRow {
        id: Uuid::new_v4().to_string(),
        sku: form.sku,
        name: form.name,
        category: form.category,
        created_at: now(),
    };
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::ProductCreated, |conn, entry| {
                let row = product::insert(conn, &row)?;
                entry.object(&row.id).after(&row)?;
                Ok(row)
            })
        })
        .await?;
    let dto = ProductDto::try_from(row)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/products/{}", dto.id)))
        .json(dto))
}

/// List products.
#[utoipa::path(
    tag = "products",
    params(ProductListQuery),
    responses(
        (status = 200, description = "One page", body = Page<ProductDto>),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/products")]
async fn list_products(
    _caller: AuthUser,
    pool: web::Data<Pool>,
    query: web::Query<ProductListQuery>,
) -> Result<web::Json<Page<ProductDto>>, AppError> {
    let query = query.into_inner();
    let params = list_params(query.limit, query.offset, query.name, query.sort)?;
    let (list, category) = (params.clone(), query.category);
    let (rows, total) = pool
        .run(move |conn| Ok(product::list(conn, category.as_deref(), &list)?))
        .await?;
    let items = rows
        .into_iter()
        .map(ProductDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, (&params).into())))
}

/// One product.
#[utoipa::path(
    tag = "products",
    params(("id" = Uuid, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The product", body = ProductDto),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/products/{id}")]
async fn get_product(
    _caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<ProductDto>, AppError> {
    let id = id.into_inner();
    let row = pool
        .run(move |conn| product::find(conn, id)?.ok_or(AppError::NotFound("product")))
        .await?;
    Ok(web::Json(ProductDto::try_from(row)?))
}
