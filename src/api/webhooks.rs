//! `/webhooks`: subscriptions that push news to a URL, and their deliveries.
//!
//! An admin subscribes for everything; a partner for its own organisation only (its
//! subscriptions see what the partner sees through the API, and other partners' are
//! invisible to it). The secret is shown once, at creation: receivers check each
//! delivery's `Podium-Signature: t=<unix seconds>,v1=<hex>`, the HMAC-SHA256 of
//! `"<t>.<body>"` under the secret, and should refuse a `t` older than a few minutes.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::api::news::NewsDto;
use crate::api::pagination::{Page, PageRequest};
use crate::audit::{self, Action, Actor};
use crate::auth::{secrets, AuthUser, Scope};
use crate::db::{DbConnection, Pool};
use crate::error::{AppError, FieldError};
use crate::models::news::NewsRow;
use crate::models::webhook::{self, DeliveryRow, WebhookChanges, WebhookRow};
use crate::models::{now, parse_id, utc};
use crate::news::bus::EventBus;
use crate::news::Kind;
use crate::settings::Settings;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_webhook)
        .service(list_webhooks)
        .service(get_webhook)
        .service(update_webhook)
        .service(list_deliveries)
        .service(replay_delivery);
}

const MAX_URL: usize = 2000;

/// A subscription.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b7a2-5c1e-7d4f-9a8b-2c3d4e5f6a7b", "url": "https://erp.distributor.example/podium",
    "kinds": ["leader_changed", "results_announced"], "description": "ERP integration",
    "organisation_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "active": true,
    "created_by": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "created_at": "2026-05-01T09:00:00Z", "updated_at": "2026-05-01T09:00:00Z"
}))]
pub struct WebhookDto {
    pub id: Uuid,
    pub url: String,
    /// The news kinds sent; empty means every kind.
    pub kinds: Vec<Kind>,
    pub description: String,
    /// The partner organisation whose view the subscription has; `null` for an admin's,
    /// which sees everything.
    pub organisation_id: Option<Uuid>,
    pub active: bool,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<WebhookRow> for WebhookDto {
    type Error = AppError;

    fn try_from(row: WebhookRow) -> Result<Self, AppError> {
        Ok(Self {
            id: parse_id(&row.id)?,
            kinds: crate::webhooks::kinds_of(&row)
                .iter()
                .filter_map(|k| Kind::parse(k))
                .collect(),
            url: row.url,
            description: row.description,
            organisation_id: row.organisation_id.as_deref().map(parse_id).transpose()?,
            active: row.active,
            created_by: parse_id(&row.created_by)?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

/// A new subscription, with its signing secret: shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookDto,
    /// The HMAC-SHA256 key of the signatures. Keep it: it is never shown again.
    pub secret: String,
}

/// A subscription to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://erp.distributor.example/podium",
    "kinds": ["leader_changed", "results_announced"], "description": "ERP integration"
}))]
pub struct WebhookForm {
    /// `http` or `https`, without credentials, leading to a public address (unless the
    /// server allows private networks); deliveries go to this URL only (redirects are not
    /// followed).
    #[schema(pattern = r"^https?://[^\s/@]+", max_length = 2000)]
    pub url: String,
    /// The news kinds to send; empty or absent means every kind.
    #[serde(default)]
    pub kinds: Vec<Kind>,
    #[serde(default)]
    pub description: String,
}

/// Changes to a subscription; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct WebhookPatch {
    /// As on creation.
    #[schema(pattern = r"^https?://[^\s/@]+", max_length = 2000)]
    pub url: Option<String>,
    pub kinds: Option<Vec<Kind>>,
    pub description: Option<String>,
    /// `false` stops deliveries (pending ones fail at their next attempt).
    pub active: Option<bool>,
}

/// One news item for one subscription, and what became of it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b7a2-6d2f-7e5a-8b9c-3d4e5f6a7b8c", "webhook_id": "0193b7a2-5c1e-7d4f-9a8b-2c3d4e5f6a7b",
    "news_id": 42, "kind": "leader_changed", "status": "pending", "attempts": 1,
    "next_attempt_at": "2026-05-12T09:30:10Z", "last_attempt_at": "2026-05-12T09:30:05Z",
    "last_status_code": 503, "last_error": "the receiver answered 503 Service Unavailable",
    "delivered_at": null, "replays": 0, "created_at": "2026-05-12T09:30:05Z"
}))]
pub struct DeliveryDto {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub news_id: i64,
    pub kind: Kind,
    pub status: DeliveryStatus,
    /// Attempts since it was created or last replayed.
    pub attempts: i32,
    /// When it will be tried next (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's HTTP status at the last attempt, if it answered.
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// How many times it was replayed.
    pub replays: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed (or the subscription was disabled); can be replayed.
    Failed,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl TryFrom<DeliveryRow> for DeliveryDto {
    type Error = AppError;

    fn try_from(row: DeliveryRow) -> Result<Self, AppError> {
        let corrupt = |what: &str| {
            AppError::internal(anyhow::anyhow!("delivery {} has an unknown {what}", row.id))
        };
        let status = match row.status.as_str() {
            "pending" => DeliveryStatus::Pending,
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            _ => return Err(corrupt("status")),
        };
        Ok(Self {
            id: parse_id(&row.id)?,
            webhook_id: parse_id(&row.webhook_id)?,
            news_id: row.news_id,
            kind: Kind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?,
            status,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at.map(utc),
            last_attempt_at: row.last_attempt_at.map(utc),
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            delivered_at: row.delivered_at.map(utc),
            replays: row.replays,
            created_at: utc(row.created_at),
        })
    }
}

/// The body of every delivery (`POST` to the subscribed URL, `application/json`), with
/// the headers `Podium-Event` (the kind), `Podium-Delivery` (the delivery id, the same
/// on every attempt and replay: receivers deduplicate on it), `Podium-Timestamp` and
/// `Podium-Signature`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookPayload {
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    pub kind: Kind,
    pub news: NewsDto,
}

impl WebhookPayload {
    pub fn new(delivery: &DeliveryRow, hook: &WebhookRow, news: NewsRow) -> Result<Self, AppError> {
        let news = NewsDto::try_from(news)?;
        Ok(Self {
            delivery_id: parse_id(&delivery.id)?,
            webhook_id: parse_id(&hook.id)?,
            kind: news.kind,
            news,
        })
    }
}

/// Who may subscribe: admins (for everything, `None`) and partners (for their
/// organisation).
fn subscriber(caller: &AuthUser) -> Result<Option<Uuid>, AppError> {
    match caller.scope {
        Scope::Everything => Ok(None),
        Scope::Organisation(org) => Ok(Some(org)),
        _ => Err(AppError::Forbidden(
            "only admins and partners manage webhooks".into(),
        )),
    }
}

/// A subscription the caller may manage; another organisation's is not found.
fn owned(conn: &mut DbConnection, caller: &AuthUser, id: Uuid) -> Result<WebhookRow, AppError> {
    let scope = subscriber(caller)?;
    match webhook::find(conn, id)? {
        Some(row)
            if scope.is_none()
                || row.organisation_id.as_deref() == scope.map(|o| o.to_string()).as_deref() =>
        {
            Ok(row)
        }
        _ => Err(AppError::NotFound("webhook")),
    }
}

fn check_url(url: &str, allow_private: bool) -> Result<String, FieldError> {
    let url = url.trim();
    let invalid = |message: &str| FieldError::new("url", "url", message);
    if url.len() > MAX_URL {
        return Err(invalid("must be at most 2,000 characters"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(&format!("is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("must be an http or https URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("must name a host"));
    }
    let literal = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    };
    if !allow_private && literal.is_some_and(crate::webhooks::is_internal) {
        return Err(invalid("must not lead to a private or local address"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "must not carry credentials; the signature authenticates us",
        ));
    }
    Ok(url.to_owned())
}

fn check_description(description: &str) -> Result<(), FieldError> {
    if description.chars().count() > 500 {
        return Err(FieldError::new(
            "description",
            "length",
            "must be at most 500 characters",
        ));
    }
    Ok(())
}

fn kinds_json(kinds: &[Kind]) -> Result<String, AppError> {
    let mut names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    serde_json::to_string(&names).map_err(AppError::internal)
}

/// Subscribe a URL to news. The answer carries the signing secret, shown this once.
#[utoipa::path(
    tag = "webhooks",
    request_body = WebhookForm,
    responses(
        (status = 201, description = "Created; keep the secret", body = CreatedWebhook),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/webhooks")]
async fn create_webhook(
    caller: AuthUser,
    pool: web::Data<Pool>,
    settings: web::Data<Settings>,
    body: crate::api::json::Json<WebhookForm>,
) -> Result<HttpResponse, AppError> {
    let organisation = subscriber(&caller)?;
    let form = body.into_inner();
    let mut errors = Vec::new();
    let url = check_url(&form.url, settings.webhook_allow_private_networks)
        .map_err(|e| errors.push(e))
        .ok();
    if let Err(e) = check_description(&form.description) {
        errors.push(e);
    }
    let Some(url) = url.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let secret = format!("whsec_{}", secrets::random_token(40));
    let now = now();
    let row = WebhookRow {
        id: Uuid::now_v7().to_string(),
        url,
        kinds: kinds_json(&form.kinds)?,
        description: form.description,
        organisation_id: organisation.map(|o| o.to_string()),
        secret: secret.clone(),
        active: true,
        created_by: caller.id.to_string(),
        created_at: now,
        updated_at: now,
    };
    let stored = row.clone();
    let actor = Actor::of(&caller);
    pool.run(move |conn| {
        audit::write(conn, &actor, Action::WebhookCreated, |conn, entry| {
            webhook::insert(conn, &stored)?;
            entry.object(&stored.id).after(&stored)?;
            Ok(())
        })
    })
    .await?;
    let dto = WebhookDto::try_from(row)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/webhooks/{}", dto.id)))
        .json(CreatedWebhook {
            webhook: dto,
            secret,
        }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WebhookListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
}

/// The subscriptions the caller manages (a partner's own organisation's), oldest first.
#[utoipa::path(
    tag = "webhooks",
    params(WebhookListQuery),
    responses(
        (status = 200, description = "One page", body = Page<WebhookDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/webhooks")]
async fn list_webhooks(
    caller: AuthUser,
    pool: web::Data<Pool>,
    query: web::Query<WebhookListQuery>,
) -> Result<web::Json<Page<WebhookDto>>, AppError> {
    let organisation = subscriber(&caller)?;
    let page = PageRequest::parse(query.limit, query.offset)?;
    let (rows, total) = pool
        .run(move |conn| Ok(webhook::page(conn, organisation, page.limit, page.offset)?))
        .await?;
    let items = rows
        .into_iter()
        .map(WebhookDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, page)))
}

/// One subscription (never its secret).
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    responses(
        (status = 200, description = "The subscription", body = WebhookDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}")]
async fn get_webhook(
    caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<WebhookDto>, AppError> {
    let id = id.into_inner();
    let row = pool.run(move |conn| owned(conn, &caller, id)).await?;
    Ok(web::Json(WebhookDto::try_from(row)?))
}

/// Change a subscription's URL, kinds or description, or turn it off and on.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "Changed", body = WebhookDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[patch("/webhooks/{id}")]
async fn update_webhook(
    caller: AuthUser,
    pool: web::Data<Pool>,
    settings: web::Data<Settings>,
    id: web::Path<Uuid>,
    body: crate::api::json::Json<WebhookPatch>,
) -> Result<web::Json<WebhookDto>, AppError> {
    subscriber(&caller)?;
    let id = id.into_inner();
    let patch = body.into_inner();
    let mut errors = Vec::new();
    let allow_private = settings.webhook_allow_private_networks;
    let url = match patch.url.as_deref().map(|u| check_url(u, allow_private)) {
        Some(Ok(url)) => Some(url),
        Some(Err(e)) => {
            errors.push(e);
            None
        }
        None => None,
    };
    if let Some(Err(e)) = patch.description.as_deref().map(check_description) {
        errors.push(e);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let changes = WebhookChanges {
        url,
        kinds: patch.kinds.as_deref().map(kinds_json).transpose()?,
        description: patch.description,
        active: patch.active,
        updated_at: Some(now()),
    };
    let actor = Actor::of(&caller);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::WebhookUpdated, |conn, entry| {
                let before = owned(conn, &caller, id)?;
                entry.object(id).before(&before)?;
                let row = webhook::update(conn, id, &changes)?;
                entry.after(&row)?;
                Ok(row)
            })
        })
        .await?;
    Ok(web::Json(WebhookDto::try_from(row)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    pub status: Option<DeliveryStatus>,
}

/// A subscription's deliveries, newest first, with their attempts and outcome.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The subscription's id"), DeliveryListQuery),
    responses(
        (status = 200, description = "One page", body = Page<DeliveryDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}/deliveries")]
async fn list_deliveries(
    caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
    query: web::Query<DeliveryListQuery>,
) -> Result<web::Json<Page<DeliveryDto>>, AppError> {
    let id = id.into_inner();
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let (rows, total) = pool
        .run(move |conn| {
            owned(conn, &caller, id)?;
            let status = query.status.map(DeliveryStatus::as_str);
            Ok(webhook::deliveries(
                conn,
                id,
                status,
                page.limit,
                page.offset,
            )?)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(DeliveryDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, page)))
}

/// Send a delivered or failed delivery again, from a first attempt (one the receiver lost
/// or could not take). The body and delivery id are the same; the timestamp and signature
/// are new. A pending delivery is 409 `delivery_pending`.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("id" = Uuid, Path, description = "The subscription's id"),
        ("delivery_id" = Uuid, Path, description = "The delivery's id"),
    ),
    responses(
        (status = 202, description = "Queued for sending", body = DeliveryDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
    ),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/replay")]
async fn replay_delivery(
    caller: AuthUser,
    pool: web::Data<Pool>,
    bus: web::Data<EventBus>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (id, delivery_id) = path.into_inner();
    let actor = Actor::of(&caller);
    let row = pool
        .run(move |conn| {
            audit::write(
                conn,
                &actor,
                Action::WebhookDeliveryReplayed,
                |conn, entry| {
                    let hook = owned(conn, &caller, id)?;
                    if !hook.active {
                        return Err(AppError::conflict(
                            "webhook_inactive",
                            "the subscription is turned off; turn it on before replaying",
                        ));
                    }
                    let delivery = webhook::find_delivery(conn, id, delivery_id)?
                        .ok_or(AppError::NotFound("delivery"))?;
                    entry.object(delivery_id).before(&delivery)?;
                    let row = webhook::replay(conn, &delivery.id, now())?.ok_or_else(|| {
                        AppError::conflict(
                            "delivery_pending",
                            "the delivery is still pending: it will be sent, or is being sent",
                        )
                    })?;
                    entry.after(&row)?;
                    Ok(row)
                },
            )
        })
        .await?;
    // Wakes the dispatcher; streams ignore a signal for no challenge.
    bus.publish(Uuid::nil());
    Ok(HttpResponse::Accepted().json(DeliveryDto::try_from(row)?))
}
