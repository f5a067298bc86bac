//! `/sales`: the facts objectives measure. Admins and managers record and read sales of
//! their scope; partners those of their own organisation's participants, decided by the
//! token, never by the body; participants read their own.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::api::idempotency;
use crate::api::pagination::{Page, PageRequest};
use crate::auth::{within_scope, AuthUser, Scope};
use crate::db::Pool;
use crate::error::AppError;
use crate::ingestion::{self, IngestionLock, SaleBatch, SalesReceipt};
use crate::models::sale::{self, SaleListFilter, SaleRow};
use crate::models::{parse_id, participant, utc};
use crate::settings::Settings;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(record_sales)
        .service(list_sales)
        .service(get_sale);
}

/// A recorded sale line.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SaleDto {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub sold_at: DateTime<Utc>,
    /// Negative on a reversal line.
    pub quantity: i64,
    /// Minor units; negative on a reversal line.
    pub amount_cents: i64,
    pub currency: String,
    pub source: String,
    pub external_id: String,
    /// The line this one reverses, for returns and cancellations.
    pub reverses_id: Option<Uuid>,
    /// When Podium acknowledged it.
    pub recorded_at: DateTime<Utc>,
}

impl TryFrom<SaleRow> for SaleDto {
    type Error = AppError;

    fn try_from(row: SaleRow) -> Result<Self, AppError> {
        let opt = |v: &Option<String>| v.as_deref().map(parse_id).transpose();
        Ok(Self {
            id: parse_id(&row.id)?,
            participant_id: parse_id(&row.participant_id)?,
            customer_id: opt(&row.customer_id)?,
            product_id: opt(&row.product_id)?,
            reverses_id: opt(&row.reverses_id)?,
            sold_at: utc(row.sold_at),
            quantity: row.quantity,
            amount_cents: row.amount_cents,
            currency: row.currency,
            source: row.source,
            external_id: row.external_id,
            recorded_at: utc(row.recorded_at),
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SaleListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    pub participant_id: Option<Uuid>,
    /// Only participants of this organisation.
    pub organisation_id: Option<Uuid>,
    /// Only participants of this region.
    pub region_id: Option<Uuid>,
    pub source: Option<String>,
    /// Sold at or after.
    pub sold_from: Option<DateTime<Utc>>,
    /// Sold before.
    pub sold_before: Option<DateTime<Utc>>,
    /// `sold_at` (default, oldest first) or `-sold_at`.
    #[param(inline)]
    pub sort: Option<SaleSort>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum SaleSort {
    #[serde(rename = "sold_at")]
    SoldAt,
    #[serde(rename = "-sold_at")]
    SoldAtDesc,
}

/// Record sale lines, one or a batch of up to 10,000.
///
/// The body is JSON (`{"sales": [...]}`) or CSV (`Content-Type: text/csv`, a header row
/// naming the same fields). A batch is atomic: every line is recorded, or none and the
/// answer lists each bad line (`sales[i].field`). A line whose source and external id were
/// already recorded with the same content is skipped and reported in `duplicates`, so
/// sending a line again never counts it twice. With an `Idempotency-Key` header, the same
/// key and body replay the stored answer; the same key with another body is 422; while
/// the first request runs, 409. An acknowledged line is durable, and shows in the next
/// read of any standings.
#[utoipa::path(
    tag = "sales",
    request_body(content(
        (SaleBatch = "application/json"),
        (String = "text/csv", example = "participant_id,sold_at,product_sku,customer_reference,quantity,amount_cents,currency,source,external_id\n6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f,2026-11-20T10:30:00Z,ESP-200,C-0042,3,89700,EUR,erp,INV-1187-1\n")
    )),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1 to 255 characters, unique per request")),
    responses(
        (status = 201, description = "Recorded (some lines may be duplicates)", body = SalesReceipt),
        (status = 200, description = "Every line was already recorded", body = SalesReceipt),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 413, description = "Body over 16 MiB", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor CSV", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/sales")]
async fn record_sales(
    caller: AuthUser,
    pool: web::Data<Pool>,
    lock: web::Data<IngestionLock>,
    settings: web::Data<Settings>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<actix_web::HttpResponse, AppError> {
    if matches!(caller.scope, Scope::Participant(_)) {
        return Err(AppError::Forbidden(
            "participants cannot record sales".into(),
        ));
    }
    let key = idempotency::key_of(&req)?;
    let fingerprint = idempotency::fingerprint(&req, &body);
    let content_type = crate::api::json::media_type(&req);
    let work_pool = pool.clone();
    let principal = caller.id.to_string();
    let work = async move {
        let lines = match content_type.as_str() {
            "application/json" => crate::api::json::parse::<SaleBatch>(&body)?.sales,
            "text/csv" => ingestion::parse_csv(&body)?,
            _ => {
                return Err(AppError::UnsupportedMediaType(
                    "send application/json or text/csv".into(),
                ))
            }
        };
        let lock = lock.into_inner();
        let age = ingestion::SaleAge {
            max_days: settings.sale_max_age_days,
        };
        let receipt = work_pool
            .run(move |conn| ingestion::record_batch(conn, &lock, &caller, lines, age))
            .await?;
        let status = if receipt.recorded > 0 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(idempotency::Answer {
            status,
            body: serde_json::to_string(&receipt).map_err(AppError::internal)?,
        })
    };
    idempotency::run_once(&pool, principal, key, fingerprint, work).await
}

/// The caller's scope applied to a sales filter.
fn scoped(caller: &AuthUser, mut filter: SaleListFilter) -> Result<SaleListFilter, AppError> {
    match caller.scope {
        Scope::Everything => {}
        Scope::Region(id) => filter.region_id = Some(within_scope(filter.region_id, id)?),
        Scope::Organisation(id) => {
            filter.organisation_id = Some(within_scope(filter.organisation_id, id)?)
        }
        Scope::Participant(id) => {
            filter.participant_id = Some(within_scope(filter.participant_id, id)?)
        }
    }
    Ok(filter)
}

/// List the sale lines the caller may see.
#[utoipa::path(
    tag = "sales",
    params(SaleListQuery),
    responses(
        (status = 200, description = "One page", body = Page<SaleDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/sales")]
async fn list_sales(
    caller: AuthUser,
    pool: web::Data<Pool>,
    query: web::Query<SaleListQuery>,
) -> Result<web::Json<Page<SaleDto>>, AppError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let filter = scoped(
        &caller,
        SaleListFilter {
            organisation_id: query.organisation_id,
            region_id: query.region_id,
            participant_id: query.participant_id,
            source: query.source,
            sold_from: query.sold_from.map(|t| t.naive_utc()),
            sold_before: query.sold_before.map(|t| t.naive_utc()),
            newest_first: matches!(query.sort, Some(SaleSort::SoldAtDesc)),
        },
    )?;
    let (rows, total) = pool
        .run(move |conn| Ok(sale::list(conn, &filter, page.limit, page.offset)?))
        .await?;
    let items = rows
        .into_iter()
        .map(SaleDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, page)))
}

/// One sale line.
#[utoipa::path(
    tag = "sales",
    params(("id" = Uuid, Path, description = "The sale line's id")),
    responses(
        (status = 200, description = "The line", body = SaleDto),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/sales/{id}")]
async fn get_sale(
    caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<SaleDto>, AppError> {
    let id = id.into_inner();
    let row = pool
        .run(move |conn| {
            let row = sale::find(conn, id)?.ok_or(AppError::NotFound("sale"))?;
            let owner = participant::find(conn, parse_id(&row.participant_id)?)?;
            match owner {
                Some(p) if ingestion::in_scope(&caller, &p) => Ok(row),
                _ => Err(AppError::NotFound("sale")),
            }
        })
        .await?;
    Ok(web::Json(SaleDto::try_from(row)?))
}
