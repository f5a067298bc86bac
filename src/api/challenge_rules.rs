//! A challenge's rules after it is published: changing the rule version of a scheduled
//! or running challenge (an explicit, recorded action), the record of those changes, and
//! simulation (the standings under other rules, compared with the current ones; nothing
//! is written). Admins only.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::api::challenges::{check_rule_version, ChallengeDto};
use crate::api::pagination::{Page, PageRequest};
use crate::api::standings::EntrantDto;
use crate::audit::{self, Action, Actor};
use crate::auth::Admin;
use crate::challenges::definition::{self, Proposal};
use crate::challenges::engine::Engine;
use crate::challenges::lifecycle::Status;
use crate::challenges::reading::parse_line;
use crate::challenges::simulation::{self, Change, Placing};
use crate::challenges::standings::{self, Challenge};
use crate::db::Pool;
use crate::error::{AppError, FieldError};
use crate::models::challenge;
use crate::models::rule::{self, RuleChangeRow};
use crate::models::{now, parse_id, standing, utc};
use crate::rules::{RuleRunner, ScriptError};
use crate::scoring::{Exact, Fairness, Objective, ScoringRules, Target, Threshold, TieBreak};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(change_rule_version)
        .service(list_rule_changes)
        .service(simulate);
}

/// A new rule version for a scheduled or running challenge, and why.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"version": 3, "reason": "Version 2 counted reversals twice; fixed in 3."}))]
pub struct RuleVersionChange {
    /// A version of the rule the challenge's objective already names.
    pub version: i32,
    /// Recorded with the change, for participants' questions and audits.
    #[schema(min_length = 1, max_length = 1000)]
    #[validate(length(min = 1, max = 1000, message = "must be 1 to 1,000 characters"))]
    pub reason: String,
}

/// One recorded change of a challenge's rule version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "019ac1d2-7e3f-7a10-9b2c-3d4e5f6a7b8c", "challenge_id": "2d7e9f10-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
    "rule_id": "0b6f3a52-1f9e-4c1e-9a47-5d2c8e1f0a11", "from_version": 2, "to_version": 3,
    "reason": "Version 2 counted reversals twice; fixed in 3.",
    "changed_by": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "changed_at": "2026-03-10T09:30:00Z"
}))]
pub struct RuleChangeDto {
    pub id: Uuid,
    pub challenge_id: Uuid,
    pub rule_id: Uuid,
    pub from_version: i32,
    pub to_version: i32,
    pub reason: String,
    pub changed_by: Uuid,
    pub changed_at: DateTime<Utc>,
}

impl TryFrom<RuleChangeRow> for RuleChangeDto {
    type Error = AppError;

    fn try_from(row: RuleChangeRow) -> Result<Self, AppError> {
        Ok(Self {
            id: parse_id(&row.id)?,
            challenge_id: parse_id(&row.challenge_id)?,
            rule_id: parse_id(&row.rule_id)?,
            from_version: row.from_version,
            to_version: row.to_version,
            reason: row.reason,
            changed_by: parse_id(&row.changed_by)?,
            changed_at: utc(row.changed_at),
        })
    }
}

/// Switch a scheduled or running challenge to another version of its rule. The change is
/// recorded with its reason, and live standings follow at once. Drafts are edited with
/// `PUT`; closed challenges keep the version they closed with.
#[utoipa::path(
    tag = "challenges",
    params(("id" = Uuid, Path, description = "The challenge's id")),
    request_body = RuleVersionChange,
    responses(
        (status = 200, description = "The challenge, with its new rule version", body = ChallengeDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/challenges/{id}/rule-version")]
async fn change_rule_version(
    admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
    body: crate::api::json::Json<RuleVersionChange>,
) -> Result<web::Json<ChallengeDto>, AppError> {
    let form = body.into_inner();
    form.validate()?;
    let id = id.into_inner();
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(
                conn,
                &actor,
                Action::ChallengeRuleVersionChanged,
                |conn, entry| {
                    let row = challenge::find(conn, id)?.ok_or(AppError::NotFound("challenge"))?;
                    entry.object(id).before(&row)?;
                    let current = Challenge::try_from(&row)?;
                    match current.status {
                        Status::Scheduled | Status::Running => {}
                        Status::Draft => {
                            return Err(AppError::conflict(
                                "not_published",
                                "a draft is changed with PUT /challenges/{id}",
                            ))
                        }
                        Status::Closed | Status::Announced => {
                            return Err(AppError::conflict(
                                "frozen",
                                format!(
                                    "the challenge is {}: it keeps the rule version it closed with",
                                    current.status.as_str()
                                ),
                            ))
                        }
                    }
                    let mut definition = current.definition.clone();
                    let Objective::Script {
                        rule_id,
                        version: from_version,
                        ..
                    } = &mut definition.objective
                    else {
                        return Err(AppError::conflict(
                            "no_rule",
                            "the challenge's objective is built in, not a rule",
                        ));
                    };
                    let (rule_id, old) = (*rule_id, *from_version);
                    if old == form.version {
                        return Err(AppError::invalid_field(
                            "version",
                            "unchanged",
                            &format!("the challenge already uses version {old}"),
                        ));
                    }
                    if rule::find_version(conn, rule_id, form.version)?.is_none() {
                        return Err(AppError::invalid_field(
                            "version",
                            "unknown_version",
                            &format!("the rule has no version {}", form.version),
                        ));
                    }
                    *from_version = form.version;
                    let json = serde_json::to_string(&definition).map_err(AppError::internal)?;
                    let now = now();
                    let updated = challenge::set_definition(
                        conn,
                        id,
                        current.status.as_str(),
                        &row.definition,
                        &json,
                        now,
                    )?
                    .ok_or_else(|| {
                        AppError::conflict(
                            "invalid_transition",
                            "the challenge changed meanwhile; read it again",
                        )
                    })?;
                    rule::insert_change(
                        conn,
                        &RuleChangeRow {
                            id: Uuid::now_v7().to_string(),
                            challenge_id: id.to_string(),
                            rule_id: rule_id.to_string(),
                            from_version: old,
                            to_version: form.version,
                            reason: form.reason,
                            changed_by: admin.0.id.to_string(),
                            changed_at: now,
                        },
                    )?;
                    entry.after(&updated)?;
                    Ok(updated)
                },
            )
        })
        .await?;
    Ok(web::Json(ChallengeDto::try_from(row)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
}

/// The record of a challenge's rule-version changes, oldest first.
#[utoipa::path(
    tag = "challenges",
    params(("id" = Uuid, Path, description = "The challenge's id"), ChangesQuery),
    responses(
        (status = 200, description = "One page", body = Page<RuleChangeDto>),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/challenges/{id}/rule-changes")]
async fn list_rule_changes(
    _admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
    query: web::Query<ChangesQuery>,
) -> Result<web::Json<Page<RuleChangeDto>>, AppError> {
    let id = id.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let rows = pool
        .run(move |conn| {
            challenge::find(conn, id)?.ok_or(AppError::NotFound("challenge"))?;
            Ok(rule::changes(conn, id)?)
        })
        .await?;
    let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let items = rows
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(0))
        .map(RuleChangeDto::try_from)
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, page)))
}

/// `Some(value)` whenever the field is present, `null` included, so that `"threshold":
/// null` removes the threshold while an absent field keeps it.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Other rules to try: each field given replaces the challenge's own; absent fields keep
/// it. `threshold` and `target` may be `null` to try without.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "objective": {"type": "script", "rule_id": "0b6f3a52-1f9e-4c1e-9a47-5d2c8e1f0a11", "version": 3, "params": {"skus": ["ESP-01"]}},
    "threshold": null
}))]
pub struct SimulationForm {
    pub objective: Option<Objective>,
    pub fairness: Option<Fairness>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Threshold>)]
    pub threshold: Option<Option<Threshold>>,
    pub tie_break: Option<Vec<TieBreak>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Target>)]
    pub target: Option<Option<Target>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SimulationQuery {
    /// Changed lines per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Changed lines to skip (default 0).
    pub offset: Option<i64>,
}

/// Where an entrant stands in one table.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlacingDto {
    pub rank: Option<u32>,
    pub score: Option<Exact>,
    pub qualified: bool,
    /// A script objective's explanation of the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl From<Placing> for PlacingDto {
    fn from(p: Placing) -> Self {
        Self {
            rank: p.rank,
            score: p.score,
            qualified: p.qualified,
            detail: p.detail,
        }
    }
}

/// One entrant whose line would change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SimulatedChangeDto {
    pub entrant: EntrantDto,
    /// `null` when the entrant is not in the current standings.
    pub current: Option<PlacingDto>,
    /// `null` when the entrant would not be in the simulated standings.
    pub simulated: Option<PlacingDto>,
    /// Places gained (positive) or lost (negative); `null` unless ranked in both.
    pub rank_change: Option<i64>,
    /// Simulated score − current score; `null` unless both are defined.
    pub score_change: Option<Exact>,
}

/// The difference the other rules would make.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "challenge_id": "2d7e9f10-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "entrants": 40, "moved": 2,
    "newly_qualified": 0, "no_longer_qualified": 0, "current_error": null, "simulated_error": null,
    "changes": [{
        "entrant": {"id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "name": "Julie Moreau", "unit": "participant"},
        "current": {"rank": 2, "score": "31", "qualified": true},
        "simulated": {"rank": 1, "score": "42", "qualified": true, "detail": "42 units of ESP-01"},
        "rank_change": 1, "score_change": "11"
    }],
    "total_changes": 2, "limit": 50, "offset": 0
}))]
pub struct SimulationDto {
    pub challenge_id: Uuid,
    /// Entrants in either table.
    pub entrants: usize,
    /// Entrants whose rank would change (including ranked ↔ not ranked).
    pub moved: usize,
    pub newly_qualified: usize,
    pub no_longer_qualified: usize,
    /// The current rule fails on the live data: every simulated line is then new.
    pub current_error: Option<ScriptError>,
    /// The simulated rules fail on the live data: nothing is compared, and this says why.
    pub simulated_error: Option<ScriptError>,
    /// The changed lines, in the simulated table's order: one page.
    pub changes: Vec<SimulatedChangeDto>,
    /// Changed lines over all pages.
    pub total_changes: i64,
    pub limit: i64,
    pub offset: i64,
}

fn change_dto(
    change: Change,
    unit: crate::challenges::definition::RankingUnit,
) -> SimulatedChangeDto {
    SimulatedChangeDto {
        entrant: EntrantDto {
            id: change.entrant_id,
            name: change.entrant_name,
            unit,
        },
        current: change.current.map(PlacingDto::from),
        simulated: change.simulated.map(PlacingDto::from),
        rank_change: change.rank_change,
        score_change: change.score_change,
    }
}

/// The challenge's rules with the form's replacements, checked like a new challenge's.
fn proposed_rules(challenge: &Challenge, form: SimulationForm) -> Result<ScoringRules, AppError> {
    let mut d = challenge.definition.clone();
    if let Some(objective) = form.objective {
        d.objective = objective;
    }
    if let Some(fairness) = form.fairness {
        d.fairness = fairness;
    }
    if let Some(threshold) = form.threshold {
        d.threshold = threshold;
    }
    if let Some(tie_break) = form.tie_break {
        d.tie_break = tie_break;
    }
    if let Some(target) = form.target {
        d.target = target;
    }
    let errors: Vec<FieldError> = definition::check(&Proposal {
        kind: challenge.kind,
        starts_at: challenge.period.starts_at,
        ends_at: challenge.period.ends_at,
        baseline: challenge.baseline.map(|b| (b.starts_at, b.ends_at)),
        currency: &challenge.currency,
        definition: &d,
    });
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(ScoringRules {
        kind: challenge.kind,
        objective: d.objective,
        fairness: d.fairness,
        threshold: d.threshold,
        tie_break: d.tie_break,
        target: d.target,
    })
}

/// Compute the standings of a challenge under other rules (another rule version, other
/// parameters, threshold, target…) on the live data, and compare them with the current
/// standings (frozen ones once closed): who moves, by how much, who qualifies. Nothing is
/// written.
#[utoipa::path(
    tag = "challenges",
    params(("id" = Uuid, Path, description = "The challenge's id"), SimulationQuery),
    request_body = SimulationForm,
    responses(
        (status = 200, description = "The difference", body = SimulationDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 422, response = crate::api::docs::ValidationFailed),
        (status = 503, response = crate::api::docs::Unavailable),
    ),
    security(("bearer" = []))
)]
#[post("/challenges/{id}/simulate")]
async fn simulate(
    _admin: Admin,
    pool: web::Data<Pool>,
    engine: web::Data<Engine>,
    runner: web::Data<RuleRunner>,
    id: web::Path<Uuid>,
    query: web::Query<SimulationQuery>,
    body: crate::api::json::Json<SimulationForm>,
) -> Result<web::Json<SimulationDto>, AppError> {
    let id = id.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let form = body.into_inner();
    let engine = engine.into_inner();
    crate::challenges::reading::caught_up(&pool, &engine).await?;
    let (challenge, comparison, current_error, simulated_error) = pool
        .run(move |conn| {
            let row = challenge::find(conn, id)?.ok_or(AppError::NotFound("challenge"))?;
            let challenge = Challenge::try_from(&row)?;
            let rules = proposed_rules(&challenge, form)?;
            let errors = check_rule_version(conn, &rules.objective)?;
            if !errors.is_empty() {
                return Err(AppError::Validation(errors));
            }
            // A failing current rule is what a simulation is often for: compare with an
            // empty table and say why.
            let (current, current_error) = if challenge.status.is_frozen() {
                let lines = standing::all(conn, id)?
                    .iter()
                    .map(|r| parse_line(&r.line).map(std::sync::Arc::new))
                    .collect::<Result<Vec<_>, _>>()?;
                (lines, None)
            } else {
                match crate::challenges::reading::live_table_on(conn, &engine, &challenge) {
                    Ok(table) => (table.lines.clone(), None),
                    Err(AppError::RuleFailed { failure, .. }) => (Vec::new(), Some(failure.error)),
                    Err(other) => return Err(other),
                }
            };
            // A failing candidate is an answer too: the admin learns why, nothing moves.
            match standings::compute_with(conn, &challenge, &rules, &runner) {
                Ok(simulated) => Ok((
                    challenge,
                    simulation::compare(&current, &simulated.lines),
                    current_error,
                    None,
                )),
                Err(AppError::RuleFailed { failure, .. }) => Ok((
                    challenge,
                    simulation::Comparison::default(),
                    current_error,
                    Some(failure.error),
                )),
                Err(other) => Err(other),
            }
        })
        .await?;
    let total_changes = i64::try_from(comparison.changes.len()).unwrap_or(i64::MAX);
    let changes = comparison
        .changes
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(0))
        .map(|c| change_dto(c, challenge.unit))
        .collect();
    Ok(web::Json(SimulationDto {
        challenge_id: challenge.id,
        entrants: comparison.entrants,
        moved: comparison.moved,
        newly_qualified: comparison.newly_qualified,
        no_longer_qualified: comparison.no_longer_qualified,
        current_error,
        simulated_error,
        changes,
        total_changes,
        limit: page.limit,
        offset: page.offset,
    }))
}
