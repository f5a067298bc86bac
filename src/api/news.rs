//! `/news`: what happened in the challenges, newest first, each caller seeing only news
//! about lines it may see (and news about a challenge as a whole).

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::api::pagination::{Page, PageRequest};
use crate::auth::AuthUser;
use crate::db::Pool;
use crate::error::AppError;
use crate::models::news::{self, NewsFilter, NewsRow};
use crate::models::{parse_id, utc};
use crate::news::{audience_for, Kind};
use crate::scoring::Exact;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_news);
}

/// The entrant a news item is about.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewsEntrant {
    /// A participant's, team's, region's or organisation's id, after the challenge's
    /// ranking unit.
    pub id: Uuid,
    pub name: String,
}

/// One thing that happened.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 42, "kind": "leader_changed",
    "challenge_id": "0193b7a2-5c1e-7d4f-9a8b-2c3d4e5f6a7b",
    "entrant": {"id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "name": "Julie Moreau"},
    "award_id": null,
    "message": "Julie Moreau leads “Spring espresso push” with a score of 10000.",
    "details": {"rank": 1, "score": "10000", "raw_value": "1250000"},
    "occurred_at": "2026-05-12T09:30:00Z"
}))]
pub struct NewsDto {
    /// Increasing in the order news were recorded: a stream's `Last-Event-ID`.
    pub id: i64,
    pub kind: Kind,
    pub challenge_id: Uuid,
    /// Who it is about; `null` for news about the challenge as a whole.
    pub entrant: Option<NewsEntrant>,
    /// For `award_fulfilled`: the award.
    pub award_id: Option<Uuid>,
    /// The news in words.
    pub message: String,
    /// The figures behind it, after the kind.
    pub details: NewsDetails,
    pub occurred_at: DateTime<Utc>,
}

/// The figures behind a news item; which are present depends on its kind:
/// - `leader_changed`, `threshold_passed`, `target_reached`: `rank`, `score`, `raw_value`,
///   `progress_percent` of the entrant's line then (each may be absent when undefined);
/// - `challenge_started`: `starts_at`, `ends_at`; `ending_soon`: `ends_at`;
/// - `award_fulfilled`: `reward_id`, `reward_name`, `quantity`;
/// - `challenge_closed`, `results_announced`: none.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewsDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Exact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_value: Option<Exact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_percent: Option<Exact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
}

impl TryFrom<NewsRow> for NewsDto {
    type Error = AppError;

    fn try_from(row: NewsRow) -> Result<Self, AppError> {
        let kind = Kind::parse(&row.kind).ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("news {} has an unknown kind", row.id))
        })?;
        let entrant = match (row.entrant_id.as_deref(), row.entrant_name) {
            (Some(id), name) => Some(NewsEntrant {
                id: parse_id(id)?,
                name: name.unwrap_or_default(),
            }),
            (None, _) => None,
        };
        Ok(Self {
            id: row.id,
            kind,
            challenge_id: parse_id(&row.challenge_id)?,
            entrant,
            award_id: row.award_id.as_deref().map(parse_id).transpose()?,
            message: row.message,
            details: serde_json::from_str(&row.details).map_err(|e| {
                AppError::internal(anyhow::anyhow!(
                    "news {} has unreadable details: {e}",
                    row.id
                ))
            })?,
            occurred_at: utc(row.occurred_at),
        })
    }
}

pub fn dtos(rows: Vec<NewsRow>) -> Result<Vec<NewsDto>, AppError> {
    rows.into_iter().map(NewsDto::try_from).collect()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NewsQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
    /// Only this challenge's news.
    pub challenge_id: Option<Uuid>,
    /// Only news of this kind.
    pub kind: Option<Kind>,
    /// Only news that happened at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only news recorded after this id (to catch up from the last one seen).
    pub after_id: Option<i64>,
}

/// News, newest first: challenges started, new leaders, thresholds passed, targets
/// reached, challenges ending soon, closed and announced, awards fulfilled.
///
/// News about an entrant are listed only for callers who may see its standings line
/// (a manager its region's, a partner its organisation's, a participant its own, or every
/// line of a challenge whose standings are visible to all); news about a challenge as a
/// whole are listed for everyone.
#[utoipa::path(
    tag = "news",
    params(NewsQuery),
    responses(
        (status = 200, description = "One page of news", body = Page<NewsDto>),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/news")]
async fn list_news(
    caller: AuthUser,
    pool: web::Data<Pool>,
    query: web::Query<NewsQuery>,
) -> Result<web::Json<Page<NewsDto>>, AppError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let (rows, total) = pool
        .run(move |conn| {
            let filter = NewsFilter {
                audience: audience_for(conn, &caller)?,
                challenge_id: query.challenge_id,
                kinds: query
                    .kind
                    .map(|k| vec![k.as_str().to_owned()])
                    .unwrap_or_default(),
                after_id: query.after_id,
                since: query.since.map(|t| t.naive_utc()),
            };
            Ok(news::page(conn, &filter, page.limit, page.offset)?)
        })
        .await?;
    Ok(web::Json(Page::new(dtos(rows)?, total, page)))
}
