//! Giving the awards when a challenge closes, inside the close's transaction: the plan
//! (and its allocation rule, if any) applied to the frozen table, the stock of every
//! reward taken, and one row per award with what it came from. Any refusal (not enough
//! stock, a failing or invalid rule) rolls the whole close back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use uuid::Uuid;

use super::standings::{Challenge, Table};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::award::{self, AwardRow};
use crate::models::reward::{self, RewardRow};
use crate::models::{parse_id, rule};
use crate::rewards::allocation::{self, Decided, Refusal, Standing};
use crate::rewards::plan::RewardPlan;
use crate::rewards::{Reward, RewardKind};
use crate::rules::allocation::{Award as RuleAward, RewardInput, StandingInput};
use crate::rules::runner::RuleFailure;
use crate::rules::{content_hash, RuleKind, RuleRunner};
use crate::scoring::Exact;

/// A catalogue row as allocation reads it.
pub fn reward_of(row: &RewardRow) -> Result<Reward, AppError> {
    Ok(Reward {
        id: parse_id(&row.id)?,
        name: row.name.clone(),
        kind: serde_json::from_str::<RewardKind>(&row.kind_details).map_err(|_| {
            AppError::internal(anyhow::anyhow!("reward {} has an invalid kind", row.id))
        })?,
        value_cents: row.value_cents,
        currency: row.currency.clone(),
        stock: row.stock,
    })
}

/// Runs the plan's allocation rule on the frozen table.
fn run_rule(
    conn: &mut DbConnection,
    runner: &RuleRunner,
    challenge: &Challenge,
    plan: &RewardPlan,
    standings: &[StandingInput],
    catalogue: &HashMap<Uuid, Reward>,
) -> Result<(Vec<RuleAward>, Option<String>), AppError> {
    let Some(planned) = &plan.rule else {
        return Ok((Vec::new(), None));
    };
    let version = rule::find_version(conn, planned.rule_id, planned.version)?.ok_or_else(|| {
        AppError::conflict(
            "unknown_rule_version",
            format!(
                "the reward plan's rule {} has no version {}",
                planned.rule_id, planned.version
            ),
        )
    })?;
    let ast = runner
        .compile(&version.source, RuleKind::Allocation)
        .map_err(|errors| AppError::rule_failed(RuleFailure::compile(errors)).blocking())?;
    let context = Arc::new(
        challenge
            .rule_context(&planned.params)
            .map_err(|failure| AppError::rule_failed(failure).blocking())?,
    );
    let rewards: Vec<RewardInput> = planned
        .reward_ids
        .iter()
        .filter_map(|id| catalogue.get(id))
        .map(reward_input)
        .collect();
    let awards = runner
        .allocate(&ast, &context, standings, &rewards)
        .map_err(|e| AppError::from(e).blocking())?;
    Ok((awards, Some(version.content_hash)))
}

/// A reward as an allocation rule (and the audit hash) sees it.
fn reward_input(r: &Reward) -> RewardInput {
    RewardInput {
        id: r.id.to_string(),
        name: r.name.clone(),
        kind: r.kind.name().to_owned(),
        value: r.value_cents,
        stock: r.stock,
    }
}

/// Decides, checks and writes the awards of a challenge closing with `table`.
pub fn give(
    conn: &mut DbConnection,
    runner: &RuleRunner,
    challenge: &Challenge,
    table: &Table,
    now: chrono::NaiveDateTime,
    by: Uuid,
) -> Result<usize, AppError> {
    let Some(plan) = challenge
        .definition
        .reward_plan
        .as_ref()
        .filter(|p| !p.is_empty())
    else {
        return Ok(0);
    };
    let ids: Vec<Uuid> = plan.reward_ids().into_iter().collect();
    let catalogue: HashMap<Uuid, Reward> = reward::find_all(conn, &ids)?
        .iter()
        .map(|row| reward_of(row).map(|r| (r.id, r)))
        .collect::<Result<_, _>>()?;
    // The frozen lines as allocation (and the audit hash) sees them.
    let standings: Vec<StandingInput> = table
        .lines
        .iter()
        .map(|l| StandingInput {
            participant: l.entrant_id().to_string(),
            name: l.entrant_name.clone(),
            rank: l.line.rank.map(i64::from),
            score: l.line.score.map(Exact::to_script),
            raw_value: l.line.raw_value.map(Exact::to_script),
            qualified: l.line.qualified,
        })
        .collect();
    let (rule_awards, rule_hash) = run_rule(conn, runner, challenge, plan, &standings, &catalogue)?;
    let lines: Vec<Standing> = table
        .lines
        .iter()
        .enumerate()
        .map(|(position, l)| Standing {
            entrant_id: l.entrant_id(),
            position: u32::try_from(position).unwrap_or(u32::MAX),
            rank: l.line.rank,
            qualified: l.line.qualified,
        })
        .collect();
    let decided = allocation::decide(plan, &lines, &catalogue, &rule_awards).map_err(refusal)?;

    // Stock: every reward's units at once, conditionally, so a concurrent change of the
    // catalogue cannot make it negative.
    let mut needed: BTreeMap<Uuid, i64> = BTreeMap::new();
    for award in &decided {
        let total = needed.entry(award.reward_id).or_default();
        *total = total.saturating_add(award.quantity);
    }
    for (id, quantity) in needed {
        if !reward::take_stock(conn, id, quantity, now)? {
            let name = catalogue
                .get(&id)
                .map_or_else(String::new, |r| r.name.clone());
            return Err(AppError::conflict(
                "not_enough_stock",
                format!("not enough stock of {name}: the awards need {quantity}"),
            ));
        }
    }

    let plan_json = serde_json::to_string(plan).map_err(AppError::internal)?;
    // Everything the allocation read: recomputing it later from the same inputs must give
    // the same hash, and any other input another one.
    let inputs = serde_json::json!({
        "challenge": challenge.id,
        "period": [challenge.period.starts_at, challenge.period.ends_at],
        "currency": challenge.currency,
        "plan": plan,
        "rule": plan.rule.as_ref().map(|r| serde_json::json!({
            "rule_id": r.rule_id, "version": r.version, "content_hash": rule_hash,
        })),
        "standings": standings,
        "rewards": ids.iter().filter_map(|id| catalogue.get(id)).map(|r| serde_json::json!({
            "reward": reward_input(r), "currency": r.currency, "kind": r.kind,
        })).collect::<Vec<_>>(),
    });
    let plan_hash = content_hash(&plan_json);
    let inputs_hash = content_hash(&inputs.to_string());
    let infos: HashMap<Uuid, &super::standings::EntrantLine> =
        table.lines.iter().map(|l| (l.entrant_id(), &**l)).collect();
    let rows: Vec<AwardRow> = decided
        .iter()
        .map(|d: &Decided| {
            let info = infos.get(&d.entrant_id);
            AwardRow {
                id: Uuid::now_v7().to_string(),
                challenge_id: challenge.id.to_string(),
                entrant_id: d.entrant_id.to_string(),
                entrant_name: info.map(|i| i.entrant_name.clone()).unwrap_or_default(),
                region_id: info.and_then(|i| i.region_id).map(|r| r.to_string()),
                organisation_id: info.and_then(|i| i.organisation_id).map(|o| o.to_string()),
                reward_id: d.reward_id.to_string(),
                quantity: d.quantity,
                stock_taken: catalogue
                    .get(&d.reward_id)
                    .and_then(|r| r.stock)
                    .map_or(0, |_| d.quantity),
                value_cents: d.value_cents,
                currency: d.currency.clone(),
                reason: d.reason.as_str().to_owned(),
                rank: d.rank.map(|r| i32::try_from(r).unwrap_or(i32::MAX)),
                position: i32::try_from(d.position).unwrap_or(i32::MAX),
                note: d.note.clone(),
                plan_hash: plan_hash.clone(),
                rule_id: (d.reason == allocation::Reason::Rule)
                    .then(|| plan.rule.as_ref().map(|r| r.rule_id.to_string()))
                    .flatten(),
                rule_version: (d.reason == allocation::Reason::Rule)
                    .then(|| plan.rule.as_ref().map(|r| r.version))
                    .flatten(),
                inputs_hash: inputs_hash.clone(),
                status: "allocated".into(),
                allocated_at: now,
                allocated_by: by.to_string(),
                announced_at: None,
                announced_by: None,
                fulfilled_at: None,
                fulfilled_by: None,
                cancelled_at: None,
                cancelled_by: None,
                cancel_reason: None,
            }
        })
        .collect();
    award::insert_all(conn, &rows)?;
    Ok(rows.len())
}

fn refusal(refusal: Refusal) -> AppError {
    let code = match refusal {
        Refusal::NotEnoughStock { .. } => "not_enough_stock",
        Refusal::UnknownReward(_) => "unknown_reward",
        Refusal::UnknownEntrant(_) => "invalid_award",
    };
    AppError::conflict(code, refusal.to_string())
}
