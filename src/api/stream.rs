//! `/challenges/{id}/standings/stream`: the standings and news of a challenge as
//! Server-Sent Events, for live leaderboards.
//!
//! A stream starts with every line the caller may see (`event: standings`, `full: true`),
//! then, each time the challenge changes (the [`EventBus`] says so, on this instance or,
//! through PostgreSQL, on another), the lines whose content changed and the ids of lines
//! that left the caller's view, then each new news item the caller may see
//! (`event: news`, with the news id as the event id, so a reconnecting client sends
//! `Last-Event-ID` and misses nothing). A comment is sent every 15 seconds to keep proxies
//! from closing an idle stream. What is sent is read again for the caller on every change:
//! a signal carries no data.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::{error::RecvError, Receiver};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::api::challenges::visible_challenge;
use crate::api::news::{dtos, NewsDto};
use crate::api::standings::StandingLineDto;
use crate::auth::jwt::TokenIssuer;
use crate::auth::{app_data, bearer_token, still_live, AuthUser};
use crate::challenges::engine::Engine;
use crate::challenges::lifecycle::Status;
use crate::challenges::reading::{self, Slice};
use crate::challenges::standings::Challenge;
use crate::db::Pool;
use crate::error::AppError;
use crate::models::news::{self, NewsFilter};
use crate::models::utc;
use crate::news::audience_for;
use crate::news::bus::EventBus;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(stream_standings);
}

const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Least time between two reads of one stream: while sales pour in, the engine's table
/// changes every few milliseconds, and a leaderboard needs a few frames a second, not a
/// read per change for each open stream. What changed meanwhile is read at once after.
const PACE: Duration = Duration::from_millis(200);
/// How often a quiet stream checks that its caller's account is still active.
const RECHECK: Duration = Duration::from_secs(15);
/// News read per query, and sent per change at most (the rest follow at the next change).
const NEWS_PAGE: i64 = 200;
const NEWS_MAX: usize = 5_000;

/// The data of an `event: standings`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StandingsEvent {
    pub challenge_id: Uuid,
    pub status: Status,
    pub frozen: bool,
    pub computed_at: Option<DateTime<Utc>>,
    /// `true` on the first event: `lines` is every line followed (the first `limit` lines
    /// the caller may see, in rank order). Afterwards `lines` holds only those that changed.
    pub full: bool,
    pub lines: Vec<StandingLineDto>,
    /// Entrants whose lines are no longer followed (out of the caller's view, or pushed
    /// out of the first `limit`).
    pub removed: Vec<Uuid>,
    /// Lines the caller may see in all, followed or not.
    pub total: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// How many lines to follow, from the top of the caller's view: 1 to 10,000 (default
    /// 100; a leaderboard shows the top).
    pub limit: Option<i64>,
}

const DEFAULT_LINES: i64 = 100;
const MAX_LINES: i64 = 10_000;

/// One event of the stream, as its `event:` name and JSON `data:`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum StreamEvent {
    /// Changed lines (`event: standings`).
    Standings(StandingsEvent),
    /// A news item (`event: news`, `id:` the news id).
    News(NewsDto),
    /// The standings could not be computed (`event: problem`); the stream goes on.
    Problem(crate::error::Problem),
    /// The server is stopping (`event: reconnect`, the last one): open the stream again,
    /// with `Last-Event-ID`, after `retry_after_ms`.
    Reconnect(ReconnectEvent),
}

/// The data of an `event: reconnect`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReconnectEvent {
    #[schema(example = "the server is restarting")]
    pub reason: String,
    /// Milliseconds to wait before reconnecting (also sent as the SSE `retry:` field).
    #[schema(example = 1000)]
    pub retry_after_ms: u64,
}

/// How long a client waits before reconnecting after `event: reconnect`.
const RECONNECT_AFTER_MS: u64 = 1_000;

/// Live standings and news of a challenge, as Server-Sent Events (`text/event-stream`).
///
/// The stream follows the first `limit` lines of the caller's view (default 100), so a
/// leaderboard of a large challenge stays cheap; `total` says how many there are in all.
/// Events: `standings` (first every visible line, then changed lines and removed ids),
/// `news` (each news item the caller may see, its id as the SSE id), `problem` (the
/// standings could not be computed, and the stream goes on; or, as its last event, the
/// token expired or the account was disabled), `reconnect` (the last event when the
/// server stops: open the stream again, after `retry_after_ms`). Send `Last-Event-ID` to receive
/// the news recorded since that id. The caller's view is the one of
/// `GET /challenges/{id}/standings`: a partner sees its organisation's lines and news only.
#[utoipa::path(
    tag = "standings",
    params(
        ("id" = Uuid, Path, description = "The challenge's id"),
        ("Last-Event-ID" = Option<i64>, Header, description = "The last news id received, to resume"),
        StreamQuery,
    ),
    responses(
        (status = 200, description = "An endless stream of events; each is `event: <name>` and `data: <JSON>` as the schema shows",
            content_type = "text/event-stream", body = StreamEvent),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/challenges/{id}/standings/stream")]
async fn stream_standings(
    caller: AuthUser,
    request: HttpRequest,
    pool: web::Data<Pool>,
    engine: web::Data<Engine>,
    id: web::Path<Uuid>,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let limit = query.limit.unwrap_or(DEFAULT_LINES);
    if !(1..=MAX_LINES).contains(&limit) {
        return Err(AppError::invalid_field(
            "limit",
            "range",
            "must be between 1 and 10,000",
        ));
    }
    // The stream ends when the token does.
    let expires_at = app_data::<TokenIssuer>(&request)?.expiry(&bearer_token(&request)?)?;
    let bus = app_data::<EventBus>(&request)?;
    let resume = request
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    // Subscribe before the first read, so nothing happening in between is missed.
    let signals = bus.subscribe();
    let reader = caller.clone();
    let cursor = pool
        .run(move |conn| {
            visible_challenge(conn, &reader, id)?;
            match resume {
                Some(last) => Ok(last),
                None => Ok(news::latest_id(conn)?),
            }
        })
        .await?;
    let follower = Follower {
        caller,
        challenge_id: id,
        pool: pool.get_ref().clone(),
        engine: engine.into_inner(),
        signals,
        stopping: app_data::<crate::shutdown::Shutdown>(&request)?.subscribe(),
        _counted: crate::metrics::StreamGuard::new(
            &app_data::<crate::metrics::Metrics>(&request)?.streams_open,
        ),
        shown: HashMap::new(),
        cursor,
        limit,
        started: false,
        expires_at,
        keep_alive_at: tokio::time::Instant::now() + KEEP_ALIVE,
        read_at: tokio::time::Instant::now(),
        checked_at: tokio::time::Instant::now(),
        ended: false,
    };
    let events = futures_util::stream::unfold(follower, |mut follower| async move {
        let chunk = follower.next_chunk().await?;
        Some((Ok::<Bytes, actix_web::Error>(chunk), follower))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(events))
}

/// One client's stream: what it was last sent.
struct Follower {
    caller: AuthUser,
    challenge_id: Uuid,
    pool: Pool,
    engine: Arc<Engine>,
    signals: Receiver<Uuid>,
    /// Becomes `true` when the server stops.
    stopping: tokio::sync::watch::Receiver<bool>,
    /// Counts the stream as open while it lives.
    _counted: crate::metrics::StreamGuard,
    /// Lines sent, by entrant, as a hash of their JSON (a stream of 100 lines keeps 100
    /// numbers, not 100 documents).
    shown: HashMap<Uuid, u64>,
    /// The last news id sent.
    cursor: i64,
    /// Lines followed, from the top of the caller's view.
    limit: i64,
    started: bool,
    /// When the caller's token expires (Unix seconds): the stream ends then.
    expires_at: i64,
    /// When to send a keep-alive comment if nothing else was sent.
    keep_alive_at: tokio::time::Instant,
    /// When the stream last read the table (see [`PACE`]).
    read_at: tokio::time::Instant,
    /// When the account was last found active.
    checked_at: tokio::time::Instant,
    /// The last event (why the stream ends) was sent.
    ended: bool,
}

/// What the caller may see now.
struct Reading {
    challenge: Challenge,
    lines: Vec<StandingLineDto>,
    total: i64,
    computed_at: Option<DateTime<Utc>>,
    news: Vec<NewsDto>,
}

impl Follower {
    /// The next bytes to send; `None` ends the stream: the server is stopping, or the
    /// caller's token expired or its account was disabled (said in a last `problem`).
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if self.ended {
            return None;
        }
        if *self.stopping.borrow() {
            return Some(self.reconnect());
        }
        if !self.started {
            self.started = true;
            let first = self.changes(true).await;
            return Some(self.sent(first));
        }
        loop {
            let expiry = self.expiry_deadline();
            tokio::select! {
                signal = self.signals.recv() => match signal {
                    Ok(id) if id != self.challenge_id => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                },
                () = tokio::time::sleep_until(self.keep_alive_at) => {
                    if let Some(end) = self.recheck().await {
                        return Some(end);
                    }
                    return Some(self.sent(Bytes::from_static(b": keep-alive\n\n")));
                }
                changed = self.stopping.changed() => {
                    // A dropped sender means the server is gone too.
                    let _ = changed;
                    return Some(self.reconnect());
                }
                () = tokio::time::sleep_until(expiry) => {
                    self.ended = true;
                    let problem = AppError::unauthorized("token_expired", "the token has expired; open the stream again with a new one").problem();
                    return Some(sse(None, "problem", &problem));
                }
            }
            tokio::time::sleep_until(self.read_at + PACE).await;
            // Several signals in a row are one change to read.
            while self.signals.try_recv().is_ok() {}
            self.read_at = tokio::time::Instant::now();
            let chunk = self.changes(false).await;
            if !chunk.is_empty() {
                return Some(self.sent(chunk));
            }
        }
    }

    /// Notes that bytes were sent: the keep-alive waits again.
    fn sent(&mut self, chunk: Bytes) -> Bytes {
        self.keep_alive_at = tokio::time::Instant::now() + KEEP_ALIVE;
        chunk
    }

    /// The last event when the server stops.
    fn reconnect(&mut self) -> Bytes {
        self.ended = true;
        let event = ReconnectEvent {
            reason: "the server is restarting".into(),
            retry_after_ms: RECONNECT_AFTER_MS,
        };
        let json = serde_json::to_string(&event).unwrap_or_else(|_| "null".into());
        Bytes::from(format!(
            "retry: {RECONNECT_AFTER_MS}\nevent: reconnect\ndata: {json}\n\n"
        ))
    }

    fn expiry_deadline(&self) -> tokio::time::Instant {
        let left = self.expires_at - Utc::now().timestamp();
        tokio::time::Instant::now() + Duration::from_secs(u64::try_from(left).unwrap_or(0))
    }

    /// Ends the stream (with a last `problem`) when the account was disabled or the session
    /// ended meanwhile.
    async fn recheck(&mut self) -> Option<Bytes> {
        if self.checked_at.elapsed() < RECHECK {
            return None;
        }
        let caller = self.caller.clone();
        // A database that cannot answer does not end the stream; a refusal does.
        let refused = match self.pool.run(move |conn| still_live(conn, &caller)).await {
            Err(refusal @ AppError::Unauthorized { .. }) => refusal,
            _ => {
                self.checked_at = tokio::time::Instant::now();
                return None;
            }
        };
        self.checked_at = tokio::time::Instant::now();
        self.ended = true;
        Some(sse(None, "problem", &refused.problem()))
    }

    /// The events for what changed since the last ones (everything when `full`).
    async fn changes(&mut self, full: bool) -> Bytes {
        match self.read().await {
            Ok(reading) => self.events(reading, full),
            Err(error) => {
                if matches!(error, AppError::Unauthorized { .. }) {
                    self.ended = true;
                }
                let problem = error.revealed_to(self.caller.is_admin()).problem();
                sse(None, "problem", &problem)
            }
        }
    }

    async fn read(&self) -> Result<Reading, AppError> {
        let caller = self.caller.clone();
        let id = self.challenge_id;
        let cursor = self.cursor;
        let limit = self.limit;
        let load = {
            let caller = caller.clone();
            move |conn: &mut crate::db::DbConnection| {
                still_live(conn, &caller)?;
                Challenge::try_from(&visible_challenge(conn, &caller, id)?)
            }
        };
        let top = Slice { limit, offset: 0 };
        let (challenge, page) =
            reading::page(&self.pool, &self.engine, &caller, load, top, None).await?;
        let (lines, total, computed_at) = (page.lines, page.total, page.computed_at.map(utc));
        self.pool
            .run(move |conn| {
                let unit = challenge.definition.objective.unit();
                let mut filter = NewsFilter {
                    audience: audience_for(conn, &caller)?,
                    challenge_id: Some(id),
                    after_id: Some(cursor),
                    ..NewsFilter::default()
                };
                // Every news item since the cursor, a page at a time.
                let mut news = Vec::new();
                loop {
                    let page = news::in_order(conn, &filter, NEWS_PAGE)?;
                    let full_page = page.len() as i64 == NEWS_PAGE;
                    filter.after_id = page.last().map(|n| n.id).or(filter.after_id);
                    news.extend(dtos(page)?);
                    if !full_page || news.len() >= NEWS_MAX {
                        break;
                    }
                }
                Ok(Reading {
                    lines: lines
                        .into_iter()
                        .map(|l| StandingLineDto::new(l, unit))
                        .collect(),
                    total,
                    challenge,
                    computed_at,
                    news,
                })
            })
            .await
    }

    fn events(&mut self, reading: Reading, full: bool) -> Bytes {
        let mut out = Vec::new();
        let mut shown = HashMap::with_capacity(reading.lines.len());
        let mut lines = Vec::new();
        // In the table's order.
        for line in reading.lines {
            let digest = fingerprint(&line);
            let id = line.entrant.id;
            if full || self.shown.get(&id) != Some(&digest) {
                lines.push(line);
            }
            shown.insert(id, digest);
        }
        let removed: Vec<Uuid> = self
            .shown
            .keys()
            .filter(|id| !shown.contains_key(id))
            .copied()
            .collect();
        self.shown = shown;
        if full || !lines.is_empty() || !removed.is_empty() {
            let event = StandingsEvent {
                challenge_id: reading.challenge.id,
                status: reading.challenge.status,
                frozen: reading.challenge.status.is_frozen(),
                computed_at: reading.computed_at,
                full,
                lines,
                removed,
                total: reading.total,
            };
            out.extend_from_slice(&sse(None, "standings", &event));
        }
        for item in reading.news {
            self.cursor = self.cursor.max(item.id);
            out.extend_from_slice(&sse(Some(item.id), "news", &item));
        }
        Bytes::from(out)
    }
}

/// A line's content as a number: equal lines, equal numbers.
fn fingerprint(line: &StandingLineDto) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(line)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

/// One Server-Sent Event: JSON on one `data:` line (JSON has no raw newlines).
fn sse(id: Option<i64>, event: &str, data: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    let id = id.map(|id| format!("id: {id}\n")).unwrap_or_default();
    Bytes::from(format!("{id}event: {event}\ndata: {json}\n\n"))
}
