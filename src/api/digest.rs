//! `/challenges/{id}/digest`: what changed in a challenge since a date — the leader, who
//! moved, who passed the threshold or reached the target, the days left and the news — as
//! JSON, or as simple HTML a mailing tool can send. Within the caller's view, like the
//! standings.

use std::collections::BTreeMap;

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::api::consistency::{self, MinChange, MinChangeHeader};
use crate::api::news::{dtos, NewsDto, NewsEntrant};
use crate::api::standings::visible;
use crate::auth::AuthUser;
use crate::challenges::engine::Engine;
use crate::challenges::lifecycle::Status;
use crate::challenges::reading::{self, Slice};
use crate::db::Pool;
use crate::error::AppError;
use crate::models::news::{self, NewsFilter};
use crate::models::{now, utc, watch};
use crate::news::{audience_for, digest, score_text, Kind};
use crate::rewards::certificate::escape;
use crate::scoring::objective::ValueUnit;
use crate::scoring::Exact;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_digest);
}

/// Movers listed at most.
const MOVERS: usize = 10;
/// News listed at most.
const NEWS: i64 = 100;

/// An entrant in a digest, with where it stands now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DigestEntrant {
    pub id: Uuid,
    pub name: String,
    pub rank: Option<u32>,
    pub score: Option<Exact>,
}

/// An entrant whose rank changed since the date.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Mover {
    pub entrant: NewsEntrant,
    pub rank_before: u32,
    pub rank_now: u32,
    /// Places gained; negative when lost.
    pub places: i64,
}

/// What changed in a challenge since a date.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Digest {
    pub challenge_id: Uuid,
    pub challenge_name: String,
    pub status: Status,
    /// The unit of the scores below, and the challenge's currency (for `cents`).
    pub value_unit: ValueUnit,
    pub currency: String,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Whole days until the end, while it runs; `null` otherwise.
    pub days_left: Option<i64>,
    /// Who leads now (several when tied); empty before the first sale.
    pub leaders: Vec<DigestEntrant>,
    /// Whether the lead changed hands since the date.
    pub new_leader: bool,
    /// Who moved since the date, biggest moves first. Compared with the rank snapshot
    /// taken at or before the date (the first one when the date is earlier).
    pub movers: Vec<Mover>,
    /// Who passed the threshold since the date.
    pub passed_threshold: Vec<NewsEntrant>,
    /// Who reached the target since the date.
    pub reached_target: Vec<NewsEntrant>,
    /// Every news item since the date, oldest first.
    pub news: Vec<NewsDto>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DigestFormat {
    #[default]
    Json,
    Html,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DigestQuery {
    /// The start of the period covered (default: 7 days ago); not in the future.
    pub since: Option<DateTime<Utc>>,
    /// `json` (default) or `html`.
    #[param(inline)]
    pub format: Option<DigestFormat>,
}

/// What changed in a challenge since a date: new leader, movers, thresholds passed,
/// targets reached, days left, news. `format=html` answers a simple HTML newsletter.
#[utoipa::path(
    tag = "news",
    params(("id" = Uuid, Path, description = "The challenge's id"), DigestQuery, MinChangeHeader),
    responses(
        (status = 200, description = "The digest, as JSON or (with `format=html`) HTML",
            content(
                (Digest = "application/json"),
                (String = "text/html")
            ),
            headers(("Podium-Change" = i64, description = "A live challenge: the last change of the log its standings reflect"))
        ),
        (status = 400, response = crate::api::docs::BadRequest),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/challenges/{id}/digest")]
async fn get_digest(
    caller: AuthUser,
    pool: web::Data<Pool>,
    engine: web::Data<Engine>,
    id: web::Path<Uuid>,
    query: web::Query<DigestQuery>,
    min: MinChange,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let until = utc(now());
    let since = query.since.unwrap_or(until - Duration::days(7));
    if since > until {
        return Err(AppError::invalid_field(
            "since",
            "range",
            "must not be in the future",
        ));
    }
    let format = query.format.unwrap_or_default();
    let admin = caller.is_admin();
    let (challenge, page) = reading::page(
        &pool,
        &engine,
        &caller,
        visible(&caller, id),
        Slice::ALL,
        min.0,
    )
    .await
    .map_err(|e| e.revealed_to(admin))?;
    let change = page.change;
    let lines = page.lines;
    let digest = pool
        .run(move |conn| {
            let before: BTreeMap<Uuid, u32> = match watch::snapshot_at(conn, id, since.naive_utc())?
            {
                Some(snapshot) => serde_json::from_str(&snapshot.ranks)
                    .map_err(|e| AppError::internal(anyhow::anyhow!("unreadable snapshot: {e}")))?,
                None => BTreeMap::new(),
            };
            let names: BTreeMap<Uuid, String> = lines
                .iter()
                .map(|l| (l.entrant_id(), l.entrant_name.clone()))
                .collect();
            let movers = digest::movers(&before, &lines, MOVERS)
                .into_iter()
                .map(|m| Mover {
                    places: m.places(),
                    entrant: NewsEntrant {
                        id: m.entrant_id,
                        name: names.get(&m.entrant_id).cloned().unwrap_or_default(),
                    },
                    rank_before: m.rank_before,
                    rank_now: m.rank_now,
                })
                .collect();
            let leaders = lines
                .iter()
                .filter(|l| l.line.rank == Some(1) && l.line.score.is_some_and(|s| s.is_positive()))
                .map(|l| DigestEntrant {
                    id: l.entrant_id(),
                    name: l.entrant_name.clone(),
                    rank: l.line.rank,
                    score: l.line.score,
                })
                .collect();
            let filter = NewsFilter {
                audience: audience_for(conn, &caller)?,
                challenge_id: Some(id),
                since: Some(since.naive_utc()),
                ..NewsFilter::default()
            };
            let news = dtos(news::in_order(conn, &filter, NEWS)?)?;
            let of_kind = |kind: Kind| -> Vec<NewsEntrant> {
                news.iter()
                    .filter(|n| n.kind == kind)
                    .filter_map(|n| n.entrant.clone())
                    .collect()
            };
            let now = now();
            Ok(Digest {
                challenge_id: id,
                challenge_name: challenge.name.clone(),
                status: challenge.status,
                value_unit: challenge.definition.objective.unit(),
                currency: challenge.currency.clone(),
                since,
                until,
                ends_at: utc(challenge.period.ends_at),
                days_left: (challenge.status == Status::Running && challenge.period.ends_at > now)
                    .then(|| (challenge.period.ends_at - now).num_days()),
                leaders,
                new_leader: news.iter().any(|n| n.kind == Kind::LeaderChanged),
                movers,
                passed_threshold: of_kind(Kind::ThresholdPassed),
                reached_target: of_kind(Kind::TargetReached),
                news,
            })
        })
        .await
        .map_err(|e| e.revealed_to(admin))?;
    let mut response = HttpResponse::Ok();
    consistency::stamp(&mut response, change);
    Ok(match format {
        DigestFormat::Json => response.json(digest),
        DigestFormat::Html => response
            .content_type("text/html; charset=utf-8")
            .body(render_html(&digest)),
    })
}

/// The digest as a simple e-mail-friendly HTML page: tables and inline styles only.
pub fn render_html(d: &Digest) -> String {
    let mut body = String::new();
    let para = |text: String| format!("<p style=\"margin:0 0 12px\">{text}</p>");
    let leaders: Vec<String> = d
        .leaders
        .iter()
        .map(|l| {
            format!(
                "<strong>{}</strong> ({})",
                escape(&l.name),
                l.score
                    .map(|s| score_text(s, d.value_unit, &d.currency))
                    .unwrap_or_default()
            )
        })
        .collect();
    if leaders.is_empty() {
        body.push_str(&para("Nobody leads yet.".into()));
    } else {
        let verb = if d.new_leader { "New leader" } else { "Leader" };
        body.push_str(&para(format!("{verb}: {}.", leaders.join(", "))));
    }
    if let Some(days) = d.days_left {
        body.push_str(&para(format!(
            "{days} days left, until {} UTC.",
            d.ends_at.format("%Y-%m-%d %H:%M")
        )));
    }
    if !d.movers.is_empty() {
        body.push_str("<h2 style=\"font-size:16px;margin:16px 0 8px\">Movers</h2><table cellpadding=\"6\" style=\"border-collapse:collapse\">");
        for m in &d.movers {
            let arrow = if m.places > 0 { "▲" } else { "▼" };
            body.push_str(&format!(
                "<tr><td>{}</td><td>{arrow} {}</td><td>#{} → #{}</td></tr>",
                escape(&m.entrant.name),
                m.places.abs(),
                m.rank_before,
                m.rank_now
            ));
        }
        body.push_str("</table>");
    }
    for (title, list) in [
        ("Passed the threshold", &d.passed_threshold),
        ("Reached the target", &d.reached_target),
    ] {
        if !list.is_empty() {
            let names: Vec<String> = list.iter().map(|e| escape(&e.name)).collect();
            body.push_str(&para(format!("{title}: {}.", names.join(", "))));
        }
    }
    if !d.news.is_empty() {
        body.push_str("<h2 style=\"font-size:16px;margin:16px 0 8px\">News</h2><ul>");
        for n in &d.news {
            body.push_str(&format!(
                "<li>{} — {}</li>",
                n.occurred_at.format("%Y-%m-%d %H:%M"),
                escape(&n.message)
            ));
        }
        body.push_str("</ul>");
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name} — digest</title></head>\
<body style=\"font-family:Arial,Helvetica,sans-serif;color:#1d2433\">\
<table width=\"100%\" cellpadding=\"0\" cellspacing=\"0\"><tr><td style=\"max-width:640px;padding:16px\">\
<h1 style=\"font-size:20px;margin:0 0 4px\">{name}</h1>\
<p style=\"color:#5b6475;margin:0 0 16px\">Since {since} UTC</p>{body}</td></tr></table></body></html>\n",
        name = escape(&d.challenge_name),
        since = d.since.format("%Y-%m-%d %H:%M"),
    )
}
