//! `/challenges/{id}/standings`: the ranked, explained lines of a challenge, live while
//! it runs and frozen once closed, each caller seeing only the lines of its scope.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::api::challenges::visible_challenge;
use crate::api::consistency::{self, MinChange, MinChangeHeader};
use crate::api::export::{self, Format};
use crate::api::pagination::PageRequest;
use crate::auth::AuthUser;
use crate::challenges::definition::RankingUnit;
use crate::challenges::engine::Engine;
use crate::challenges::lifecycle::Status;
use crate::challenges::reading::{self, Slice};
use crate::challenges::standings::{Challenge, EntrantLine};
use crate::db::{DbConnection, Pool};
use crate::error::AppError;
use crate::models::utc;
use crate::scoring::fairness::AdjustmentKind;
use crate::scoring::objective::ValueUnit;
use crate::scoring::{self, Adjustment, Exact, Totals};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_standings).service(get_standing);
}

/// Who a line is about.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EntrantDto {
    /// A participant's, team's, region's or organisation's id, after the ranking unit.
    pub id: Uuid,
    pub name: String,
    pub unit: RankingUnit,
}

/// One step from the raw value to the score.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "kind": "divide_by_potential", "factor": "1.25", "before": "1250000", "after": "1000000",
    "explanation": "divided by the region's potential index 1.25"
}))]
pub struct AdjustmentDto {
    pub kind: AdjustmentKind,
    /// The potential index divided by, or the weight (1 + market share) multiplied by.
    pub factor: Exact,
    pub before: Exact,
    pub after: Exact,
    /// The step in words.
    pub explanation: String,
}

impl From<&Adjustment> for AdjustmentDto {
    fn from(a: &Adjustment) -> Self {
        Self {
            kind: a.kind,
            factor: a.factor,
            before: a.before,
            after: a.after,
            explanation: a.explanation(),
        }
    }
}

/// One line of the standings, with everything needed to explain it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "rank": 1,
    "entrant": {"id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "name": "Julie Moreau", "unit": "participant"},
    "raw_value": "1250000", "value_unit": "cents",
    "adjustments": [{"kind": "divide_by_potential", "factor": "1.25", "before": "1250000", "after": "1000000", "explanation": "divided by the region's potential index 1.25"}],
    "score": "1000000", "passed_threshold": true, "qualified": true,
    "target": null, "progress_percent": null, "reached": null, "tied": false, "tie_break": null,
    "totals": {"revenue_cents": 1250000, "units": 42, "baseline_revenue_cents": 0, "new_customers": null, "last_sale_at": "2026-05-28T16:20:00Z"}
}))]
pub struct StandingLineDto {
    /// 1-based; tied lines share a rank (1, 2, 2, 4); `null` when not ranked (below the
    /// threshold, or the value is undefined).
    pub rank: Option<u32>,
    pub entrant: EntrantDto,
    /// The objective's value before fairness adjustments; `null` when undefined (growth
    /// without baseline revenue).
    pub raw_value: Option<Exact>,
    pub value_unit: ValueUnit,
    /// Each fairness step from the raw value to the score.
    pub adjustments: Vec<AdjustmentDto>,
    /// The value the line is ranked on (competitions), after fairness adjustments, to 4
    /// decimals.
    pub score: Option<Exact>,
    /// Passed the threshold (or there is none) and the value is defined.
    pub passed_threshold: bool,
    /// Passed the threshold and, for incentives, reached the target.
    pub qualified: bool,
    /// Incentives: the target in the objective's unit, to 4 decimals.
    pub target: Option<Exact>,
    /// Incentives: raw value / target × 100, to 4 decimals (what incentives rank on).
    pub progress_percent: Option<Exact>,
    /// Incentives: whether the target is reached (raw value ≥ target, exactly).
    pub reached: Option<bool>,
    /// The line's score (or progress, for incentives) equals a neighbouring ranked
    /// line's: the tie-break chain decided between them, or they share a rank.
    pub tied: bool,
    /// The tie-break rule that placed this line apart from an equal neighbour; `null`
    /// when no tie-break was needed or none separated them.
    pub tie_break: Option<crate::scoring::TieBreak>,
    /// The sums behind the value.
    pub totals: Totals,
    /// Script objectives: the rule's own explanation of the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The line in words, step by step (in the single-line answer only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Vec<String>>,
}

impl StandingLineDto {
    pub fn new(entrant: EntrantLine, value_unit: ValueUnit) -> Self {
        let line = entrant.line;
        Self {
            rank: line.rank,
            entrant: EntrantDto {
                id: line.entrant_id,
                name: entrant.entrant_name,
                unit: entrant.unit,
            },
            raw_value: line.raw_value,
            value_unit,
            adjustments: line.adjustments.iter().map(AdjustmentDto::from).collect(),
            score: line.score,
            passed_threshold: line.passed_threshold,
            qualified: line.qualified,
            target: line.target,
            progress_percent: line.progress_percent,
            reached: line.reached,
            tied: line.tied,
            tie_break: line.tie_break,
            totals: line.totals,
            detail: line.detail,
            explanation: None,
        }
    }
}

/// A page of standings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StandingsPage {
    pub challenge_id: Uuid,
    pub status: Status,
    /// `true` once the challenge is closed: the lines no longer change.
    pub frozen: bool,
    /// When live lines were computed. They include every write up to the change in the
    /// `Podium-Change` header (send a write's `Podium-Change` as `Podium-Min-Change` to
    /// read that write back).
    pub computed_at: Option<DateTime<Utc>>,
    pub items: Vec<StandingLineDto>,
    /// Lines the caller may see, over all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StandingsQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Lines to skip (default 0).
    pub offset: Option<i64>,
}

/// Finds a challenge for a read, if `caller` may see it.
pub(crate) fn visible(
    caller: &AuthUser,
    id: Uuid,
) -> impl FnOnce(&mut DbConnection) -> Result<Challenge, AppError> + Send + 'static {
    let caller = caller.clone();
    move |conn| Challenge::try_from(&visible_challenge(conn, &caller, id)?)
}

/// Admins see why a rule failed; participants, managers and partners only that it did.
fn rule_details_for(admin: bool, error: AppError) -> AppError {
    error.revealed_to(admin)
}

/// The standings of a challenge, in rank order (unranked lines last).
///
/// While the challenge runs, lines are the engine's current table, kept from the sales
/// as they are recorded: a read never waits for the writes in flight, and answers the
/// change its lines reflect in `Podium-Change`. To read a write back (a `POST /sales`
/// just answered, possibly by another instance), send its `Podium-Change` as
/// `Podium-Min-Change`: the lines then include it. Once closed, the lines are frozen. A participant sees its own line, and every line when the
/// challenge has `standings_visible`; a manager sees its region's lines; a partner its
/// organisation's.
///
/// With `Accept: text/csv` or `Accept: application/x-ndjson`, the whole table in the
/// caller's view (every line unless `limit`/`offset` are given), for spreadsheets and BI:
/// CSV with a header row (`rank, entrant_id, entrant_name, unit, raw_value, value_unit,
/// score, passed_threshold, qualified, target, progress_percent, reached, tied,
/// tie_break, revenue_cents, units, baseline_revenue_cents, new_customers,
/// last_sale_at`), or one `StandingLine` JSON object per line.
#[utoipa::path(
    tag = "standings",
    params(("id" = Uuid, Path, description = "The challenge's id"), StandingsQuery, MinChangeHeader),
    responses(
        (status = 200, description = "One page of standings; or the caller's whole table as CSV or NDJSON, after `Accept`",
            content(
                (StandingsPage = "application/json"),
                (String = "text/csv", example = "rank,entrant_id,entrant_name,unit,raw_value,value_unit,score,passed_threshold,qualified,target,progress_percent,reached,tied,tie_break,revenue_cents,units,baseline_revenue_cents,new_customers,last_sale_at\n1,6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f,Camille Martin,participant,1250000,cents,1041666.6667,true,true,,,,false,,1250000,42,0,,2026-05-28T16:20:00Z\n"),
                (String = "application/x-ndjson"),
            ),
            headers(
                ("X-Total-Count" = i64, description = "With CSV or NDJSON: the lines the caller may see in all (the export may hold fewer with `limit`/`offset`)"),
                ("Podium-Change" = i64, description = "Live lines: the last change of the log they reflect (absent once frozen)"),
            )),
        (status = 400, response = crate::api::docs::BadRequest),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/challenges/{id}/standings")]
async fn list_standings(
    caller: AuthUser,
    pool: web::Data<Pool>,
    engine: web::Data<Engine>,
    id: web::Path<Uuid>,
    query: web::Query<StandingsQuery>,
    min: MinChange,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let format = export::format_of(&req);
    let admin = caller.is_admin();
    let slice = match (format, query.limit) {
        // An export is the whole table unless a page is asked for.
        (Format::Csv | Format::Ndjson, None) => Slice {
            limit: i64::MAX,
            offset: page.offset,
        },
        _ => Slice {
            limit: page.limit,
            offset: page.offset,
        },
    };
    let (challenge, read) =
        reading::page(&pool, &engine, &caller, visible(&caller, id), slice, min.0)
            .await
            .map_err(|e| rule_details_for(admin, e))?;
    let (lines, total, computed_at) = (read.lines, read.total, read.computed_at.map(utc));
    let unit = challenge.definition.objective.unit();
    let items: Vec<StandingLineDto> = lines
        .into_iter()
        .map(|l| StandingLineDto::new(l, unit))
        .collect();
    let mut response = HttpResponse::Ok();
    consistency::stamp(&mut response, read.change);
    let mut exported = |content_type: &str, body: Vec<u8>| {
        response
            .content_type(content_type)
            .insert_header(("X-Total-Count", total.to_string()))
            .body(body)
    };
    Ok(match format {
        Format::Csv => exported("text/csv; charset=utf-8", export::csv(&items)?),
        Format::Ndjson => exported(export::NDJSON, export::ndjson(&items)?),
        Format::Json => response.json(StandingsPage {
            challenge_id: challenge.id,
            status: challenge.status,
            frozen: challenge.status.is_frozen(),
            computed_at,
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        }),
    })
}

/// One line with its whole explanation: raw value, each adjustment, score, threshold,
/// target, rank. `entrant_id` is a participant's id (or a team's, region's or
/// organisation's, after the challenge's ranking unit).
#[utoipa::path(
    tag = "standings",
    params(
        ("id" = Uuid, Path, description = "The challenge's id"),
        ("entrant_id" = Uuid, Path, description = "The participant (or team, region, organisation)"),
        MinChangeHeader,
    ),
    responses(
        (status = 200, description = "The line, explained", body = StandingLineDto,
            headers(("Podium-Change" = i64, description = "A live line: the last change of the log it reflects (absent once frozen)"))),
        (status = 400, response = crate::api::docs::BadRequest),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/challenges/{id}/standings/{entrant_id}")]
async fn get_standing(
    caller: AuthUser,
    pool: web::Data<Pool>,
    engine: web::Data<Engine>,
    path: web::Path<(Uuid, Uuid)>,
    min: MinChange,
) -> Result<HttpResponse, AppError> {
    let (id, entrant_id) = path.into_inner();
    let admin = caller.is_admin();
    let (challenge, line, change) = reading::line(
        &pool,
        &engine,
        &caller,
        visible(&caller, id),
        entrant_id,
        min.0,
    )
    .await
    .map_err(|e| rule_details_for(admin, e))?;
    let line = line.ok_or(AppError::NotFound("standing"))?;
    let rules = challenge.scoring_rules();
    let explanation = scoring::explain(&rules, &line.line);
    let mut dto = StandingLineDto::new(line, rules.objective.unit());
    dto.explanation = Some(explanation);
    let mut response = HttpResponse::Ok();
    consistency::stamp(&mut response, change);
    Ok(response.json(dto))
}
