//! Share links (`/challenges/{id}/share-links`, `/share-links/{id}/revoke`) and the public
//! results page they open (`/share/{token}`, outside `/api/v1`: no login).
//!
//! A link's token is signed with the server's key for its own audience and carries the
//! link's id and expiry; the page answers 410 once it has expired or was revoked, and 404
//! for anything that is not one of our tokens.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::api::challenges::visible_challenge;
use crate::audit::{self, Action, Actor};
use crate::auth::jwt::{ShareTokenError, TokenIssuer};
use crate::auth::{AuthUser, Scope};
use crate::challenges::engine::Engine;
use crate::challenges::lifecycle::Status;
use crate::challenges::standings::{Challenge, EntrantLine, View};
use crate::db::{DbConnection, Pool};
use crate::error::{AppError, FieldError, Problem};
use crate::models::share_link::{self, ShareLinkRow};
use crate::models::standing::{self, StandingFilter};
use crate::models::{now, parse_id, utc};
use crate::news::score_text;
use crate::settings::Settings;
use crate::share::{self, PublicPage, Row};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_share_link)
        .service(list_share_links)
        .service(revoke_share_link);
}

/// The public page lives outside `/api/v1`.
pub fn configure_public(cfg: &mut ServiceConfig) {
    cfg.service(public_page);
}

/// Lines on the page's leaderboard at most.
const LEADERBOARD: usize = 50;
/// Longest a link may live.
const MAX_LIFETIME_DAYS: i64 = 366;
/// A link's default life after the challenge's end.
const DEFAULT_AFTER_END_DAYS: i64 = 7;

/// A share link.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b7a2-7e3a-7f6b-9c0d-4e5f6a7b8c9d", "challenge_id": "0193b7a2-5c1e-7d4f-9a8b-2c3d4e5f6a7b",
    "url": "/share/eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwMTkzYjdhMi03ZTNhIn0.c2lnbmF0dXJl",
    "status": "active", "expires_at": "2026-06-07T00:00:00Z", "created_at": "2026-05-02T08:00:00Z",
    "created_by": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "revoked_at": null
}))]
pub struct ShareLinkDto {
    pub id: Uuid,
    pub challenge_id: Uuid,
    /// The page's path on this server (`/share/<token>`); anyone with it sees the page.
    pub url: String,
    pub status: LinkStatus,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub created_by: Uuid,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    Active,
    Expired,
    Revoked,
}

impl ShareLinkDto {
    fn new(row: ShareLinkRow, issuer: &TokenIssuer) -> Result<Self, AppError> {
        let id = parse_id(&row.id)?;
        let token = issuer.share_token(id, utc(row.expires_at))?;
        let status = if row.revoked_at.is_some() {
            LinkStatus::Revoked
        } else if row.expires_at <= now() {
            LinkStatus::Expired
        } else {
            LinkStatus::Active
        };
        Ok(Self {
            id,
            challenge_id: parse_id(&row.challenge_id)?,
            url: format!("/share/{token}"),
            status,
            expires_at: utc(row.expires_at),
            created_at: utc(row.created_at),
            created_by: parse_id(&row.created_by)?,
            revoked_at: row.revoked_at.map(utc),
        })
    }
}

/// A link to create.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"expires_at": "2026-06-07T00:00:00Z"}))]
pub struct ShareLinkForm {
    /// When the page stops answering (410); in the future, within a year. Default: a week
    /// after the challenge's end.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Who shares: an admin (every line, every link) or a manager (the lines of its region,
/// its own links).
#[derive(Debug, Clone, Copy)]
struct Sharer {
    /// The manager's region: its links show that region's lines only.
    region: Option<Uuid>,
    /// The links the caller manages are those it created (`None`: all).
    own: Option<Uuid>,
}

fn sharer(caller: &AuthUser) -> Result<Sharer, AppError> {
    match caller.scope {
        Scope::Everything => Ok(Sharer {
            region: None,
            own: None,
        }),
        Scope::Region(region) => Ok(Sharer {
            region: Some(region),
            own: Some(caller.id),
        }),
        _ => Err(AppError::Forbidden(
            "only admins and managers share challenges".into(),
        )),
    }
}

/// Open a challenge's public results page to anyone with the link, until it expires. An
/// admin's link shows every line; a manager's, the lines of its region (what it sees). The
/// body is optional.
#[utoipa::path(
    tag = "share",
    params(("id" = Uuid, Path, description = "The challenge's id")),
    request_body = Option<ShareLinkForm>,
    responses(
        (status = 201, description = "Created", body = ShareLinkDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/challenges/{id}/share-links")]
async fn create_share_link(
    caller: AuthUser,
    pool: web::Data<Pool>,
    issuer: web::Data<TokenIssuer>,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let sharer = sharer(&caller)?;
    let id = id.into_inner();
    // The body is optional; when there is one, it must be a valid form.
    let form: ShareLinkForm = if body.iter().all(u8::is_ascii_whitespace) {
        ShareLinkForm::default()
    } else {
        crate::api::json::parse(&body)?
    };
    let actor = Actor::of(&caller);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::ShareLinkCreated, |conn, entry| {
                let challenge = visible_challenge(conn, &caller, id)?;
                if challenge.status == Status::Draft.as_str() {
                    return Err(AppError::conflict(
                        "challenge_not_published",
                        "a draft cannot be shared; schedule it first",
                    ));
                }
                let now = now();
                let latest = now + Duration::days(MAX_LIFETIME_DAYS);
                let expires_at = match form.expires_at {
                    Some(at) => {
                        let at = crate::models::to_micros(at.naive_utc());
                        if at <= now || at > latest {
                            return Err(AppError::Validation(vec![FieldError::new(
                                "expires_at",
                                "range",
                                "must be in the future and within a year",
                            )]));
                        }
                        at
                    }
                    None => (challenge.ends_at.max(now) + Duration::days(DEFAULT_AFTER_END_DAYS))
                        .min(latest),
                };
                let row = ShareLinkRow {
                    id: Uuid::now_v7().to_string(),
                    challenge_id: id.to_string(),
                    region_id: sharer.region.map(|r| r.to_string()),
                    created_by: caller.id.to_string(),
                    created_at: now,
                    // Whole seconds: the token's expiry is in seconds.
                    expires_at: {
                        use chrono::Timelike;
                        expires_at.with_nanosecond(0).unwrap_or(expires_at)
                    },
                    revoked_at: None,
                    revoked_by: None,
                };
                share_link::insert(conn, &row)?;
                entry.object(&row.id).after(&row)?;
                Ok(row)
            })
        })
        .await?;
    let dto = ShareLinkDto::new(row, &issuer)?;
    // The link has no page of its own in the API; its public page is what it made.
    Ok(HttpResponse::Created()
        .insert_header(("Location", dto.url.clone()))
        .json(dto))
}

/// A challenge's share links: all of them for admins, their own for managers.
#[utoipa::path(
    tag = "share",
    params(("id" = Uuid, Path, description = "The challenge's id")),
    responses(
        (status = 200, description = "Newest first", body = Vec<ShareLinkDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/challenges/{id}/share-links")]
async fn list_share_links(
    caller: AuthUser,
    pool: web::Data<Pool>,
    issuer: web::Data<TokenIssuer>,
    id: web::Path<Uuid>,
) -> Result<web::Json<Vec<ShareLinkDto>>, AppError> {
    let own = sharer(&caller)?.own;
    let id = id.into_inner();
    let rows = pool
        .run(move |conn| {
            visible_challenge(conn, &caller, id)?;
            Ok(share_link::for_challenge(conn, id, own)?)
        })
        .await?;
    rows.into_iter()
        .map(|r| ShareLinkDto::new(r, &issuer))
        .collect::<Result<Vec<_>, _>>()
        .map(web::Json)
}

/// Close a share link now: its page answers 410 from this moment.
#[utoipa::path(
    tag = "share",
    params(("id" = Uuid, Path, description = "The link's id")),
    responses(
        (status = 200, description = "Revoked", body = ShareLinkDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
    ),
    security(("bearer" = []))
)]
#[post("/share-links/{id}/revoke")]
async fn revoke_share_link(
    caller: AuthUser,
    pool: web::Data<Pool>,
    issuer: web::Data<TokenIssuer>,
    id: web::Path<Uuid>,
) -> Result<web::Json<ShareLinkDto>, AppError> {
    let own = sharer(&caller)?.own;
    let id = id.into_inner();
    let by = caller.id;
    let actor = Actor::of(&caller);
    let row = pool
        .run(move |conn| {
            audit::write(conn, &actor, Action::ShareLinkRevoked, |conn, entry| {
                match share_link::find(conn, id)? {
                    Some(row) if own.is_none_or(|me| row.created_by == me.to_string()) => {
                        entry.object(id).before(&row)?;
                    }
                    _ => return Err(AppError::NotFound("share link")),
                }
                let row = share_link::revoke(conn, id, by, now())?.ok_or_else(|| {
                    AppError::conflict("already_revoked", "the link is already revoked")
                })?;
                entry.after(&row)?;
                Ok(row)
            })
        })
        .await?;
    Ok(web::Json(ShareLinkDto::new(row, &issuer)?))
}

/// A challenge's public results page (HTML, no login): the challenge, its rules, the
/// podium and the leaderboard, reloading itself while the challenge runs. Entrants are
/// named in full when the challenge shows its standings to all, by initials otherwise. A
/// manager's link shows the lines of its region only, with their ranks in the whole table.
#[utoipa::path(
    tag = "share",
    params(("token" = String, Path, description = "The token of a share link")),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 404, description = "Not one of our links: a problem, or a small HTML page when the client accepts `text/html`",
            content((Problem = "application/problem+json"), (String = "text/html"))),
        (status = 410, description = "The link expired (`link_expired`) or was revoked (`link_revoked`): a problem, or a small HTML page when the client accepts `text/html`",
            content((Problem = "application/problem+json"), (String = "text/html"))),
    )
)]
#[get("/share/{token}")]
async fn public_page(
    request: HttpRequest,
    pool: web::Data<Pool>,
    issuer: web::Data<TokenIssuer>,
    engine: web::Data<Engine>,
    settings: web::Data<Settings>,
    token: web::Path<String>,
) -> HttpResponse {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let refresh = settings.share_refresh_seconds;
    let page = match issuer.verify_share(&token) {
        Err(ShareTokenError::Expired) => Err(AppError::Gone {
            code: "link_expired",
            detail: "this share link has expired".into(),
        }),
        Err(ShareTokenError::Invalid) => Err(AppError::NotFound("share link")),
        Ok(link) => {
            // The engine's current table, as every reader gets it: a page shown on a
            // screen and refreshed every minute waits for no write.
            let engine = engine.into_inner();
            pool.run(move |conn| page_of(conn, &engine, link, refresh))
                .await
        }
    };
    let mut response = match page {
        Ok(page) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(share::render(&page)),
        Err(error) if wants_html => {
            let problem = error.problem();
            HttpResponse::build(
                actix_web::http::StatusCode::from_u16(problem.status)
                    .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
            )
            .content_type("text/html; charset=utf-8")
            .body(share::render_unavailable(&problem.detail))
        }
        Err(error) => actix_web::ResponseError::error_response(&error),
    };
    let headers = response.headers_mut();
    // The security headers of every page are set by `api::security_headers`.
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::HeaderName::from_static("x-robots-tag"),
        header::HeaderValue::from_static("noindex"),
    );
    response
}

/// What the page of a valid link shows.
fn page_of(
    conn: &mut DbConnection,
    engine: &Engine,
    link_id: Uuid,
    refresh: u64,
) -> Result<PublicPage, AppError> {
    let link = share_link::find(conn, link_id)?.ok_or(AppError::NotFound("share link"))?;
    if link.revoked_at.is_some() {
        return Err(AppError::Gone {
            code: "link_revoked",
            detail: "this share link was revoked".into(),
        });
    }
    let now = now();
    if link.expires_at <= now {
        return Err(AppError::Gone {
            code: "link_expired",
            detail: "this share link has expired".into(),
        });
    }
    let row = crate::models::challenge::find(conn, parse_id(&link.challenge_id)?)?
        .ok_or(AppError::NotFound("share link"))?;
    let challenge = Challenge::try_from(&row)?;
    let region = link.region_id.as_deref().map(parse_id).transpose()?;
    let view = region.map_or(View::All, View::Region);
    // The first lines of the view only: a large table is neither copied nor read whole.
    let live;
    let frozen: Vec<std::sync::Arc<EntrantLine>>;
    let lines: &[std::sync::Arc<EntrantLine>] = match challenge.status {
        Status::Draft | Status::Scheduled => &[],
        Status::Running => {
            live = crate::challenges::reading::live_table_on(conn, engine, &challenge)?;
            &live.lines
        }
        Status::Closed | Status::Announced => {
            let filter = StandingFilter {
                region_id: region,
                ..StandingFilter::default()
            };
            let limit = i64::try_from(LEADERBOARD).unwrap_or(i64::MAX);
            let (rows, _) = standing::page(conn, challenge.id, &filter, limit, 0)?;
            frozen = rows
                .iter()
                .map(|r| crate::challenges::reading::parse_line(&r.line).map(std::sync::Arc::new))
                .collect::<Result<_, _>>()?;
            &frozen
        }
    };
    let name_of = |line: &EntrantLine| {
        if challenge.standings_visible {
            line.entrant_name.clone()
        } else {
            share::initials(&line.entrant_name)
        }
    };
    let unit = challenge.definition.objective.unit();
    let rows: Vec<Row> = lines
        .iter()
        .filter(|l| view.shows(l) && l.line.score.is_some_and(|s| s.is_positive()))
        .take(LEADERBOARD)
        .map(|l| Row {
            rank: l.line.rank,
            name: name_of(l),
            score: l
                .line
                .score
                .map(|s| score_text(s, unit, &challenge.currency))
                .unwrap_or_default(),
        })
        .collect();
    let days_left = (challenge.period.ends_at - now).num_days();
    let status_line = match challenge.status {
        Status::Draft | Status::Scheduled => format!(
            "Starts on {}",
            challenge.period.starts_at.format("%Y-%m-%d")
        ),
        Status::Running if challenge.period.ends_at <= now => {
            "Running — ended, closing soon".into()
        }
        Status::Running if days_left >= 1 => format!("Running — {days_left} days left"),
        Status::Running => "Running — last day".into(),
        Status::Closed => "Closed — results to be announced".into(),
        Status::Announced => "Final results".into(),
    };
    Ok(PublicPage {
        challenge_name: challenge.name.clone(),
        rules_text: row.rules_text.clone(),
        period: format!(
            "{} → {}",
            challenge.period.starts_at.format("%Y-%m-%d"),
            challenge.period.ends_at.format("%Y-%m-%d")
        ),
        status_line,
        refresh_seconds: matches!(challenge.status, Status::Scheduled | Status::Running)
            .then_some(refresh.max(5)),
        show_results: challenge.status != Status::Closed,
        // The whole table's podium is ranks 1 to 3; a region's, its three best places.
        podium: share::podium_of(&rows, view == View::All),
        leaderboard: rows,
        updated: format!("Updated {} UTC", now.format("%Y-%m-%d %H:%M")),
    })
}
