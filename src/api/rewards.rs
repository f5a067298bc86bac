//! `/rewards`: the reward catalogue. Admins manage it; everyone signed in reads it (a
//! participant wants to see what they can win).

use actix_web::{get, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::api::pagination::{Page, PageRequest};
use crate::audit::{self, Action, Actor};
use crate::auth::{Admin, AuthUser};
use crate::challenges::definition::is_currency_code;
use crate::db::{DbConnection, Pool};
use crate::error::{AppError, FieldError};
use crate::models::reward::{self, RewardFilter, RewardRow};
use crate::models::{now, parse_id, product, utc};
use crate::rewards::{Category, RewardKind};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_reward)
        .service(list_rewards)
        .service(get_reward)
        .service(replace_reward);
}

/// A reward of the catalogue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e41", "name": "Espresso machine",
    "description": "A bean-to-cup machine for the office.", "category": "classic",
    "kind": {"type": "gift"}, "value_cents": 45000, "currency": "EUR", "stock": 3,
    "created_at": "2026-02-01T09:00:00Z", "updated_at": "2026-02-01T09:00:00Z"
}))]
pub struct RewardDto {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub kind: RewardKind,
    /// Value of one unit, in minor units of `currency`.
    pub value_cents: i64,
    pub currency: String,
    /// Units left; `null` for unlimited.
    pub stock: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<RewardRow> for RewardDto {
    type Error = AppError;

    fn try_from(row: RewardRow) -> Result<Self, AppError> {
        let corrupt = |what: &str| {
            AppError::internal(anyhow::anyhow!("reward {} has an invalid {what}", row.id))
        };
        Ok(Self {
            id: parse_id(&row.id)?,
            category: Category::parse(&row.category).ok_or_else(|| corrupt("category"))?,
            kind: serde_json::from_str(&row.kind_details).map_err(|_| corrupt("kind"))?,
            name: row.name,
            description: row.description,
            value_cents: row.value_cents,
            currency: row.currency,
            stock: row.stock,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

fn default_currency() -> String {
    "EUR".into()
}

/// A new reward, or the whole new content of one.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "30 extra days of payment terms", "category": "trade",
    "description": "For distributors above 50,000 EUR in the period.",
    "kind": {"type": "payment_terms", "days": 30}, "value_cents": 120000, "currency": "EUR"
}))]
pub struct RewardForm {
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    #[validate(length(max = 2000, message = "must be at most 2,000 characters"))]
    pub description: String,
    pub category: Category,
    pub kind: RewardKind,
    /// Value of one unit in minor units (what it costs the company), at least 0.
    #[schema(minimum = 0)]
    #[validate(range(min = 0, message = "must not be negative"))]
    pub value_cents: i64,
    /// Default `EUR`.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Units available; absent or `null` for unlimited.
    #[schema(minimum = 0)]
    #[validate(range(min = 0, message = "must not be negative"))]
    pub stock: Option<i64>,
}

impl RewardForm {
    fn check(&self, conn: &mut DbConnection) -> Result<(), AppError> {
        let mut errors = match self.validate() {
            Ok(()) => Vec::new(),
            Err(e) => match AppError::from(e) {
                AppError::Validation(errors) => errors,
                other => return Err(other),
            },
        };
        if !is_currency_code(&self.currency) {
            errors.push(FieldError::new(
                "currency",
                "currency",
                "must be an ISO 4217 code such as EUR",
            ));
        }
        for (field, message) in self.kind.problems() {
            errors.push(FieldError::new(field, "range", message));
        }
        if let Some(product_id) = self.kind.product() {
            if product::find(conn, product_id)?.is_none() {
                errors.push(FieldError::new(
                    "kind.product_id",
                    "unknown_product",
                    format!("no product {product_id}"),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(errors))
        }
    }

    fn into_row(self, id: Uuid, created_at: chrono::NaiveDateTime) -> Result<RewardRow, AppError> {
        Ok(RewardRow {
            id: id.to_string(),
            name: self.name.trim().to_owned(),
            description: self.description,
            category: self.category.as_str().to_owned(),
            kind: self.kind.name().to_owned(),
            kind_details: serde_json::to_string(&self.kind).map_err(AppError::internal)?,
            value_cents: self.value_cents,
            currency: self.currency,
            stock: self.stock,
            created_at,
            updated_at: now(),
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RewardListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    pub category: Option<Category>,
    /// A kind's name: `gift`, `voucher`, `free_goods`, `payment_terms`, `discount`,
    /// `premium`.
    pub kind: Option<String>,
}

/// Add a reward to the catalogue.
#[utoipa::path(
    tag = "rewards",
    request_body = RewardForm,
    responses(
        (status = 201, description = "Created", body = RewardDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/rewards")]
async fn create_reward(
    admin: Admin,
    pool: web::Data<Pool>,
    body: crate::api::json::Json<RewardForm>,
) -> Result<HttpResponse, AppError> {
    let form = body.into_inner();
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::RewardCreated, |conn, entry| {
                form.check(conn)?;
                let row = form.into_row(Uuid::new_v4(), now())?;
                let row = reward::insert(conn, &row)?;
                entry.object(&row.id).after(&row)?;
                Ok(row)
            })
        })
        .await?;
    let dto = RewardDto::try_from(row)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/rewards/{}", dto.id)))
        .json(dto))
}

/// The catalogue, by name.
#[utoipa::path(
    tag = "rewards",
    params(RewardListQuery),
    responses(
        (status = 200, description = "One page", body = Page<RewardDto>),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/rewards")]
async fn list_rewards(
    _caller: AuthUser,
    pool: web::Data<Pool>,
    query: web::Query<RewardListQuery>,
) -> Result<web::Json<Page<RewardDto>>, AppError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let filter = RewardFilter {
        category: query.category.map(|c| c.as_str().to_owned()),
        kind: query.kind,
    };
    let (rows, total) = pool
        .run(move |conn| Ok(reward::list(conn, &filter, page.limit, page.offset)?))
        .await?;
    let items = rows
        .into_iter()
        .map(RewardDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, page)))
}

/// One reward.
#[utoipa::path(
    tag = "rewards",
    params(("id" = Uuid, Path, description = "The reward's id")),
    responses(
        (status = 200, description = "The reward", body = RewardDto),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/rewards/{id}")]
async fn get_reward(
    _caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<RewardDto>, AppError> {
    let id = id.into_inner();
    let row = pool
        .run(move |conn| reward::find(conn, id)?.ok_or(AppError::NotFound("reward")))
        .await?;
    Ok(web::Json(RewardDto::try_from(row)?))
}

/// Replace a reward's content, stock included (restocking, correcting a value). Awards
/// already given keep the value they were given with.
#[utoipa::path(
    tag = "rewards",
    params(("id" = Uuid, Path, description = "The reward's id")),
    request_body = RewardForm,
    responses(
        (status = 200, description = "Replaced", body = RewardDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[put("/rewards/{id}")]
async fn replace_reward(
    admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
    body: crate::api::json::Json<RewardForm>,
) -> Result<web::Json<RewardDto>, AppError> {
    let id = id.into_inner();
    let form = body.into_inner();
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::RewardReplaced, |conn, entry| {
                let current = reward::find(conn, id)?.ok_or(AppError::NotFound("reward"))?;
                entry.object(id).before(&current)?;
                form.check(conn)?;
                let row = form.into_row(id, current.created_at)?;
                let row = reward::replace(conn, &row)?.ok_or(AppError::NotFound("reward"))?;
                entry.after(&row)?;
                Ok(row)
            })
        })
        .await?;
    Ok(web::Json(RewardDto::try_from(row)?))
}
