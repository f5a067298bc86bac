//! `/challenges`: competitions and incentives, their life (schedule, start, close,
//! announce) and their rules. Admins write; every signed-in caller reads challenges that
//! are no longer drafts.

use actix_web::{get, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::api::pagination::{Page, PageRequest};
use crate::audit::{self, Actor};
use crate::auth::{Admin, AuthUser};
use crate::challenges::actions;
use crate::challenges::definition::{self, Audience, Definition, Proposal, RankingUnit};
use crate::challenges::lifecycle::{Action, Status};
use crate::challenges::standings::Challenge;
use crate::db::{DbConnection, Pool};
use crate::error::{AppError, FieldError};
use crate::models::challenge::{self, ChallengeFilter, ChallengeRow};
use crate::models::{now, organisation, product, region, reward, rule, team, utc};
use crate::news::bus::EventBus;
use crate::rewards::plan::RewardPlan;
use crate::rules::{RuleKind, RuleRunner};
use crate::scoring::{ChallengeKind, Fairness, Objective, Target, Threshold, TieBreak};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_challenge)
        .service(list_challenges)
        .service(get_challenge)
        .service(replace_challenge)
        .service(schedule_challenge)
        .service(start_challenge)
        .service(close_challenge)
        .service(announce_challenge);
}

/// A challenge (competition) or incentive, with its clear and precise conditions.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChallengeDto {
    pub id: Uuid,
    pub name: String,
    pub kind: ChallengeKind,
    pub status: Status,
    /// The conditions as participants read them.
    pub rules_text: String,
    /// Sales count from this instant (inclusive)…
    pub starts_at: DateTime<Utc>,
    /// …to this one (exclusive).
    pub ends_at: DateTime<Utc>,
    /// The baseline period of growth objectives and growth targets.
    pub baseline_starts_at: Option<DateTime<Utc>>,
    pub baseline_ends_at: Option<DateTime<Utc>>,
    /// Only sales in this currency count.
    pub currency: String,
    pub ranking_unit: RankingUnit,
    pub objective: Objective,
    pub fairness: Fairness,
    pub threshold: Option<Threshold>,
    /// Applied in order to separate equal scores; tied lines left share a rank.
    pub tie_break: Vec<TieBreak>,
    pub target: Option<Target>,
    pub audience: Audience,
    /// What the challenge gives when it closes, shown with the rules text.
    pub reward_plan: Option<RewardPlan>,
    /// Whether participants see every line of the standings while it runs, or only their
    /// own.
    pub standings_visible: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub announced_at: Option<DateTime<Utc>>,
}

impl ChallengeDto {
    /// Individual targets are between an entrant and the admins: others see the general
    /// target only (each entrant sees its own in its standings line). Likewise a rule's
    /// parameters.
    fn for_caller(mut self, caller: &AuthUser) -> Self {
        if !caller.is_admin() {
            if let Some(Target::Absolute { per_entrant, .. }) = &mut self.target {
                per_entrant.clear();
            }
            // A rule's parameters are its internals (tiers, lists of SKUs): participants
            // read the conditions in `rules_text`.
            if let Objective::Script { params, .. } = &mut self.objective {
                params.clear();
            }
            if let Some(rule) = self.reward_plan.as_mut().and_then(|p| p.rule.as_mut()) {
                rule.params.clear();
            }
        }
        self
    }
}

impl TryFrom<ChallengeRow> for ChallengeDto {
    type Error = AppError;

    fn try_from(row: ChallengeRow) -> Result<Self, AppError> {
        let c = Challenge::try_from(&row)?;
        Ok(Self {
            id: c.id,
            name: c.name,
            kind: c.kind,
            status: c.status,
            rules_text: row.rules_text,
            starts_at: utc(row.starts_at),
            ends_at: utc(row.ends_at),
            baseline_starts_at: row.baseline_starts_at.map(utc),
            baseline_ends_at: row.baseline_ends_at.map(utc),
            currency: c.currency,
            ranking_unit: c.unit,
            objective: c.definition.objective,
            fairness: c.definition.fairness,
            threshold: c.definition.threshold,
            tie_break: c.definition.tie_break,
            target: c.definition.target,
            audience: c.definition.audience,
            reward_plan: c.definition.reward_plan,
            standings_visible: c.standings_visible,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            closed_at: row.closed_at.map(utc),
            announced_at: row.announced_at.map(utc),
        })
    }
}

fn default_currency() -> String {
    "EUR".into()
}

fn default_unit() -> RankingUnit {
    RankingUnit::Participant
}

fn default_true() -> bool {
    true
}

/// A new challenge, or the whole new content of a draft.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Spring espresso push",
    "kind": "competition",
    "rules_text": "Net revenue from 1 March to 31 May, divided by your region's potential index. At least 5,000 EUR to be ranked. Ties: first to reach.",
    "starts_at": "2026-03-01T00:00:00Z",
    "ends_at": "2026-06-01T00:00:00Z",
    "currency": "EUR",
    "ranking_unit": "participant",
    "objective": {"type": "revenue"},
    "fairness": {"divide_by_potential": true},
    "threshold": {"basis": "raw", "minimum": "500000"},
    "tie_break": ["first_to_reach"],
    "standings_visible": true
}))]
pub struct ChallengeForm {
    #[schema(min_length = 1, max_length = 200)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    pub kind: ChallengeKind,
    #[schema(min_length = 1, max_length = 20000)]
    #[validate(length(min = 1, max = 20000, message = "must be 1 to 20,000 characters"))]
    pub rules_text: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub baseline_starts_at: Option<DateTime<Utc>>,
    pub baseline_ends_at: Option<DateTime<Utc>>,
    /// Default `EUR`.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Default `participant`.
    #[serde(default = "default_unit")]
    pub ranking_unit: RankingUnit,
    pub objective: Objective,
    #[serde(default)]
    pub fairness: Fairness,
    pub threshold: Option<Threshold>,
    #[serde(default)]
    pub tie_break: Vec<TieBreak>,
    /// Required for incentives, refused for competitions.
    pub target: Option<Target>,
    #[serde(default)]
    pub audience: Audience,
    /// What the challenge gives when it closes: a podium by rank, rewards for every
    /// qualified entrant or for everyone, an allocation rule; fixed once scheduled.
    pub reward_plan: Option<RewardPlan>,
    /// Default `true`.
    #[serde(default = "default_true")]
    pub standings_visible: bool,
}

impl ChallengeForm {
    fn definition(&self) -> Definition {
        Definition {
            objective: self.objective.clone(),
            fairness: self.fairness,
            threshold: self.threshold,
            tie_break: self.tie_break.clone(),
            target: self.target.clone(),
            audience: self.audience.clone(),
            reward_plan: self.reward_plan.clone().filter(|p| !p.is_empty()),
        }
    }

    /// Field rules and coherence rules, every error at once.
    fn check(&self) -> Result<(), AppError> {
        let mut errors = match self.validate() {
            Ok(()) => Vec::new(),
            Err(e) => match AppError::from(e) {
                AppError::Validation(errors) => errors,
                other => return Err(other),
            },
        };
        let baseline = match (self.baseline_starts_at, self.baseline_ends_at) {
            (Some(s), Some(e)) => Some((s.naive_utc(), e.naive_utc())),
            (None, None) => None,
            _ => {
                errors.push(FieldError::new(
                    "baseline_ends_at",
                    "required",
                    "give both baseline_starts_at and baseline_ends_at, or neither",
                ));
                None
            }
        };
        let definition = self.definition();
        errors.extend(definition::check(&Proposal {
            kind: self.kind,
            starts_at: self.starts_at.naive_utc(),
            ends_at: self.ends_at.naive_utc(),
            baseline,
            currency: &self.currency,
            definition: &definition,
        }));
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(errors))
        }
    }

    fn into_row(self, id: Uuid, created_by: String) -> Result<ChallengeRow, AppError> {
        let definition = serde_json::to_string(&self.definition()).map_err(AppError::internal)?;
        let now = now();
        Ok(ChallengeRow {
            id: id.to_string(),
            name: self.name,
            kind: self.kind.as_str().into(),
            status: Status::Draft.as_str().into(),
            rules_text: self.rules_text,
            starts_at: self.starts_at.naive_utc(),
            ends_at: self.ends_at.naive_utc(),
            baseline_starts_at: self.baseline_starts_at.map(|t| t.naive_utc()),
            baseline_ends_at: self.baseline_ends_at.map(|t| t.naive_utc()),
            currency: self.currency,
            ranking_unit: self.ranking_unit.as_str().into(),
            definition,
            standings_visible: self.standings_visible,
            created_by,
            created_at: now,
            updated_at: now,
            closed_at: None,
            announced_at: None,
        })
    }
}

/// Checks that every id the form names exists.
fn check_references(conn: &mut DbConnection, form: &ChallengeForm) -> Result<(), AppError> {
    let mut errors = Vec::new();
    for id in &form.audience.organisation_ids {
        if organisation::find(conn, *id)?.is_none() {
            errors.push(FieldError::new(
                "audience.organisation_ids",
                "unknown_organisation",
                format!("no organisation {id}"),
            ));
        }
    }
    for id in &form.audience.region_ids {
        if region::find(conn, *id)?.is_none() {
            errors.push(FieldError::new(
                "audience.region_ids",
                "unknown_region",
                format!("no region {id}"),
            ));
        }
    }
    for id in &form.audience.team_ids {
        if team::find(conn, *id)?.is_none() {
            errors.push(FieldError::new(
                "audience.team_ids",
                "unknown_team",
                format!("no team {id}"),
            ));
        }
    }
    let mut products: Vec<(&str, &Uuid)> = form
        .audience
        .product_ids
        .iter()
        .map(|id| ("audience.product_ids", id))
        .collect();
    if let Some(ids) = form.objective.products() {
        products.extend(ids.iter().map(|id| ("objective.product_ids", id)));
    }
    for (field, id) in products {
        if product::find(conn, *id)?.is_none() {
            errors.push(FieldError::new(
                field,
                "unknown_product",
                format!("no product {id}"),
            ));
        }
    }
    errors.extend(check_rule_version(conn, &form.objective)?);
    if let Some(plan) = &form.reward_plan {
        errors.extend(check_plan_references(conn, plan)?);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// A reward plan must name existing rewards and an existing version of an allocation
/// rule.
pub fn check_plan_references(
    conn: &mut DbConnection,
    plan: &RewardPlan,
) -> Result<Vec<FieldError>, AppError> {
    let mut errors = Vec::new();
    let wanted: Vec<Uuid> = plan.reward_ids().into_iter().collect();
    let found: std::collections::BTreeSet<String> = reward::find_all(conn, &wanted)?
        .into_iter()
        .map(|r| r.id)
        .collect();
    for id in wanted.iter().filter(|id| !found.contains(&id.to_string())) {
        errors.push(FieldError::new(
            "reward_plan",
            "unknown_reward",
            format!("no reward {id}"),
        ));
    }
    if let Some(planned) = &plan.rule {
        match rule::find(conn, planned.rule_id)? {
            None => errors.push(FieldError::new(
                "reward_plan.rule.rule_id",
                "unknown_rule",
                format!("no rule {}", planned.rule_id),
            )),
            Some(found) if found.kind != RuleKind::Allocation.as_str() => {
                errors.push(FieldError::new(
                    "reward_plan.rule.rule_id",
                    "wrong_kind",
                    format!(
                        "rule {} is of kind {}; a reward plan needs a rule of kind allocation",
                        found.name, found.kind
                    ),
                ))
            }
            Some(found) => {
                if rule::find_version(conn, planned.rule_id, planned.version)?.is_none() {
                    errors.push(FieldError::new(
                        "reward_plan.rule.version",
                        "unknown_version",
                        format!("rule {} has no version {}", found.name, planned.version),
                    ));
                }
            }
        }
    }
    Ok(errors)
}

/// A script objective must name an existing version of an objective rule.
pub fn check_rule_version(
    conn: &mut DbConnection,
    objective: &Objective,
) -> Result<Vec<FieldError>, AppError> {
    let Some((rule_id, version)) = objective.script() else {
        return Ok(Vec::new());
    };
    let Some(found) = rule::find(conn, rule_id)? else {
        return Ok(vec![FieldError::new(
            "objective.rule_id",
            "unknown_rule",
            format!("no rule {rule_id}"),
        )]);
    };
    if found.kind != RuleKind::Objective.as_str() {
        return Ok(vec![FieldError::new(
            "objective.rule_id",
            "wrong_kind",
            format!(
                "rule {} is of kind {}; an objective needs a rule of kind objective",
                found.name, found.kind
            ),
        )]);
    }
    if rule::find_version(conn, rule_id, version)?.is_none() {
        return Ok(vec![FieldError::new(
            "objective.version",
            "unknown_version",
            format!("rule {} has no version {version}", found.name),
        )]);
    }
    Ok(Vec::new())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChallengeListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Objects to skip (default 0).
    pub offset: Option<i64>,
    pub status: Option<Status>,
    pub kind: Option<ChallengeKind>,
    /// Only names containing this text.
    pub name: Option<String>,
}

/// Create a challenge, as a draft.
#[utoipa::path(
    tag = "challenges",
    request_body = ChallengeForm,
    responses(
        (status = 201, description = "Created as a draft", body = ChallengeDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[post("/challenges")]
async fn create_challenge(
    admin: Admin,
    pool: web::Data<Pool>,
    body: crate::api::json::Json<ChallengeForm>,
) -> Result<HttpResponse, AppError> {
    let form = body.into_inner();
    form.check()?;
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(
                conn,
                &actor,
                audit::Action::ChallengeCreated,
                |conn, entry| {
                    check_references(conn, &form)?;
                    let row = form.into_row(Uuid::new_v4(), admin.0.id.to_string())?;
                    let row = challenge::insert(conn, &row)?;
                    entry.object(&row.id).after(&row)?;
                    Ok(row)
                },
            )
        })
        .await?;
    let dto = ChallengeDto::try_from(row)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/challenges/{}", dto.id)))
        .json(dto))
}

/// Replace a draft's content. Once scheduled, a challenge's rules no longer change.
#[utoipa::path(
    tag = "challenges",
    params(("id" = Uuid, Path, description = "The challenge's id")),
    request_body = ChallengeForm,
    responses(
        (status = 200, description = "Replaced", body = ChallengeDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[put("/challenges/{id}")]
async fn replace_challenge(
    admin: Admin,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
    body: crate::api::json::Json<ChallengeForm>,
) -> Result<web::Json<ChallengeDto>, AppError> {
    let form = body.into_inner();
    form.check()?;
    let id = id.into_inner();
    let actor = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| {
            audit::write(
                conn,
                &actor,
                audit::Action::ChallengeReplaced,
                |conn, entry| {
                    let current =
                        challenge::find(conn, id)?.ok_or(AppError::NotFound("challenge"))?;
                    entry.object(id).before(&current)?;
                    check_references(conn, &form)?;
                    let mut row = form.into_row(id, admin.0.id.to_string())?;
                    row.created_by = current.created_by.clone();
                    row.created_at = current.created_at;
                    let row = challenge::replace_draft(conn, &row)?.ok_or_else(|| {
                        AppError::conflict(
                            "not_a_draft",
                            format!(
                                "the challenge is {}; only drafts can be changed",
                                current.status
                            ),
                        )
                    })?;
                    entry.after(&row)?;
                    Ok(row)
                },
            )
        })
        .await?;
    Ok(web::Json(ChallengeDto::try_from(row)?))
}

/// List challenges: all for admins, all but drafts for everyone else; latest period first.
#[utoipa::path(
    tag = "challenges",
    params(ChallengeListQuery),
    responses(
        (status = 200, description = "One page", body = Page<ChallengeDto>),
        (status = 422, response = crate::api::docs::ValidationFailed),
    ),
    security(("bearer" = []))
)]
#[get("/challenges")]
async fn list_challenges(
    caller: AuthUser,
    pool: web::Data<Pool>,
    query: web::Query<ChallengeListQuery>,
) -> Result<web::Json<Page<ChallengeDto>>, AppError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.offset)?;
    let visible: Vec<Status> = if caller.is_admin() {
        vec![
            Status::Draft,
            Status::Scheduled,
            Status::Running,
            Status::Closed,
            Status::Announced,
        ]
    } else {
        vec![
            Status::Scheduled,
            Status::Running,
            Status::Closed,
            Status::Announced,
        ]
    };
    let statuses = match query.status {
        Some(s) if visible.contains(&s) => vec![s.as_str().to_owned()],
        Some(_) => return Ok(web::Json(Page::new(Vec::new(), 0, page))),
        None => visible.iter().map(|s| s.as_str().to_owned()).collect(),
    };
    let filter = ChallengeFilter {
        statuses,
        kind: query.kind.map(|k| k.as_str().to_owned()),
        name_contains: query.name,
    };
    let (rows, total) = pool
        .run(move |conn| Ok(challenge::list(conn, &filter, page.limit, page.offset)?))
        .await?;
    let items = rows
        .into_iter()
        .map(|row| ChallengeDto::try_from(row).map(|dto| dto.for_caller(&caller)))
        .collect::<Result<_, _>>()?;
    Ok(web::Json(Page::new(items, total, page)))
}

/// A challenge the caller may see: drafts are for admins only.
pub fn visible_challenge(
    conn: &mut DbConnection,
    caller: &AuthUser,
    id: Uuid,
) -> Result<ChallengeRow, AppError> {
    match challenge::find(conn, id)? {
        Some(row) if caller.is_admin() || row.status != Status::Draft.as_str() => Ok(row),
        _ => Err(AppError::NotFound("challenge")),
    }
}

/// One challenge.
#[utoipa::path(
    tag = "challenges",
    params(("id" = Uuid, Path, description = "The challenge's id")),
    responses(
        (status = 200, description = "The challenge", body = ChallengeDto),
        (status = 404, response = crate::api::docs::NotFound),
    ),
    security(("bearer" = []))
)]
#[get("/challenges/{id}")]
async fn get_challenge(
    caller: AuthUser,
    pool: web::Data<Pool>,
    id: web::Path<Uuid>,
) -> Result<web::Json<ChallengeDto>, AppError> {
    let id = id.into_inner();
    let reader = caller.clone();
    let row = pool
        .run(move |conn| visible_challenge(conn, &reader, id))
        .await?;
    Ok(web::Json(ChallengeDto::try_from(row)?.for_caller(&caller)))
}

async fn act(
    pool: &Pool,
    bus: &EventBus,
    runner: web::Data<RuleRunner>,
    admin: Admin,
    id: Uuid,
    action: Action,
) -> Result<web::Json<ChallengeDto>, AppError> {
    let by = Actor::of(&admin.0);
    let row = pool
        .run(move |conn| actions::apply(conn, id, action, &runner, &by))
        .await
        .map_err(AppError::blocking)?;
    bus.publish(id);
    Ok(web::Json(ChallengeDto::try_from(row)?))
}

/// Schedule a draft: its rules are fixed from now on.
#[utoipa::path(
    tag = "challenges",
    params(("id" = Uuid, Path, description = "The challenge's id")),
    responses(
        (status = 200, description = "Scheduled", body = ChallengeDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
    ),
    security(("bearer" = []))
)]
#[post("/challenges/{id}/schedule")]
async fn schedule_challenge(
    admin: Admin,
    pool: web::Data<Pool>,
    bus: web::Data<EventBus>,
    runner: web::Data<RuleRunner>,
    id: web::Path<Uuid>,
) -> Result<web::Json<ChallengeDto>, AppError> {
    act(
        &pool,
        &bus,
        runner,
        admin,
        id.into_inner(),
        Action::Schedule,
    )
    .await
}

/// Start a scheduled challenge, from its `starts_at` on (409 `not_started_yet` before).
#[utoipa::path(
    tag = "challenges",
    params(("id" = Uuid, Path, description = "The challenge's id")),
    responses(
        (status = 200, description = "Running", body = ChallengeDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
    ),
    security(("bearer" = []))
)]
#[post("/challenges/{id}/start")]
async fn start_challenge(
    admin: Admin,
    pool: web::Data<Pool>,
    bus: web::Data<EventBus>,
    runner: web::Data<RuleRunner>,
    id: web::Path<Uuid>,
) -> Result<web::Json<ChallengeDto>, AppError> {
    act(&pool, &bus, runner, admin, id.into_inner(), Action::Start).await
}

/// Close a running challenge, from its `ends_at` on (409 `not_over_yet` before). Its
/// standings are frozen as they are at this moment (later or backdated sales no longer
/// change them) and its reward plan's awards are given, in one transaction: all awards
/// and stock changes, or nothing. Refusals are 409: `not_enough_stock`, `unknown_reward`,
/// `invalid_award`, `rule_failed` (a failing objective or allocation rule, with its
/// error); 503 `rules_busy`. Closing twice is 409 `invalid_transition`.
#[utoipa::path(
    tag = "challenges",
    params(("id" = Uuid, Path, description = "The challenge's id")),
    responses(
        (status = 200, description = "Closed, standings frozen, awards given", body = ChallengeDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
        (status = 503, response = crate::api::docs::Unavailable),
    ),
    security(("bearer" = []))
)]
#[post("/challenges/{id}/close")]
async fn close_challenge(
    admin: Admin,
    pool: web::Data<Pool>,
    bus: web::Data<EventBus>,
    runner: web::Data<RuleRunner>,
    id: web::Path<Uuid>,
) -> Result<web::Json<ChallengeDto>, AppError> {
    act(&pool, &bus, runner, admin, id.into_inner(), Action::Close).await
}

/// Announce a closed challenge's results: the official announcement. Its awards become
/// `announced`: participants and partners see them, and the podium, from now on.
#[utoipa::path(
    tag = "challenges",
    params(("id" = Uuid, Path, description = "The challenge's id")),
    responses(
        (status = 200, description = "Announced", body = ChallengeDto),
        (status = 403, response = crate::api::docs::Forbidden),
        (status = 404, response = crate::api::docs::NotFound),
        (status = 409, response = crate::api::docs::Conflict),
    ),
    security(("bearer" = []))
)]
#[post("/challenges/{id}/announce")]
async fn announce_challenge(
    admin: Admin,
    pool: web::Data<Pool>,
    bus: web::Data<EventBus>,
    runner: web::Data<RuleRunner>,
    id: web::Path<Uuid>,
) -> Result<web::Json<ChallengeDto>, AppError> {
    act(
        &pool,
        &bus,
        runner,
        admin,
        id.into_inner(),
        Action::Announce,
    )
    .await
}
