//! Standings of a challenge whose objective is a rule: each entrant's sale lines are
//! loaded and handed to the rule's `score`, whose value then goes through the same
//! threshold, target and ranking as a built-in objective's.
//!
//! A participant's lines go to the rule in a fixed order (day, product, customer, amount,
//! quantity), and entrants are scored in id order, so the same data always gives the same
//! table.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use super::standings::{Challenge, Entrants};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::rule;
use crate::models::sale::{self, ScriptLine};
use crate::rules::objective::{ChallengeContext, ScoreInput};
use crate::rules::runner::RuleFailure;
use crate::rules::values::{Entrant as ScriptEntrant, Sale, Sales};
use crate::rules::{RuleKind, RuleRunner};
use crate::scoring::{self, Entrant, Line, Measure, Objective, ScoringRules, Sector, Totals};

/// One participant's lines, ready for a script.
#[derive(Default)]
struct ParticipantSales {
    period: Vec<Sale>,
    baseline: Vec<Sale>,
    totals: Totals,
}

fn day(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// The compiled rule a script objective names.
pub fn compiled(
    conn: &mut DbConnection,
    runner: &RuleRunner,
    rule_id: Uuid,
    version: i32,
) -> Result<Arc<rhai::AST>, AppError> {
    let row = rule::find_version(conn, rule_id, version)?.ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "rule {rule_id} version {version} named by a challenge is missing"
        ))
    })?;
    runner
        .compile(&row.source, RuleKind::Objective)
        .map_err(|errors| {
            AppError::rule_failed(RuleFailure {
                entrant: None,
                error: errors.into_iter().next().unwrap_or_else(|| {
                    crate::rules::ScriptError::general("the rule does not compile")
                }),
            })
        })
}

/// Groups the lines by participant: the period's and baseline's lines for the script, the
/// totals for the standings line, and whether each customer is new to the participant.
fn by_participant(
    lines: Vec<ScriptLine>,
    challenge: &Challenge,
    objective: &Objective,
) -> HashMap<Uuid, ParticipantSales> {
    let filter = challenge.sale_filter_for(objective);
    let mut grouped: HashMap<Uuid, Vec<ScriptLine>> = HashMap::new();
    for line in lines.into_iter().filter(|l| filter.admits(&l.fact)) {
        grouped
            .entry(line.fact.participant_id)
            .or_default()
            .push(line);
    }
    grouped
        .into_iter()
        .map(|(participant, mut lines)| {
            lines.sort_by(|a, b| {
                (
                    a.fact.sold_at,
                    &a.sku,
                    &a.customer_reference,
                    a.fact.amount_cents,
                    a.fact.quantity,
                )
                    .cmp(&(
                        b.fact.sold_at,
                        &b.sku,
                        &b.customer_reference,
                        b.fact.amount_cents,
                        b.fact.quantity,
                    ))
            });
            let totals = Totals::from_sales(
                lines.iter().map(|l| &l.fact),
                &filter,
                challenge.period,
                challenge.baseline,
            );
            // Net revenue per customer before the period: positive means not new.
            let mut before: HashMap<Uuid, i64> = HashMap::new();
            for line in &lines {
                if let (Some(customer), true) = (
                    line.fact.customer_id,
                    line.fact.sold_at < challenge.period.starts_at,
                ) {
                    *before.entry(customer).or_default() += line.fact.amount_cents;
                }
            }
            let mut sales = ParticipantSales {
                totals,
                ..ParticipantSales::default()
            };
            for line in &lines {
                let at = line.fact.sold_at;
                let in_period = challenge.period.contains(at);
                let in_baseline = challenge.baseline.is_some_and(|b| b.contains(at));
                if !in_period && !in_baseline {
                    continue;
                }
                let sale = Sale {
                    product: line.sku.as_str().into(),
                    category: line.category.as_str().into(),
                    customer: line.customer_reference.as_str().into(),
                    key_account: line.fact.key_account,
                    new_customer: line
                        .fact
                        .customer_id
                        .is_some_and(|c| before.get(&c).copied().unwrap_or(0) <= 0),
                    quantity: line.fact.quantity,
                    amount: line.fact.amount_cents,
                    sold_on: day(at).into(),
                };
                if in_baseline {
                    sales.baseline.push(sale.clone());
                }
                if in_period {
                    sales.period.push(sale);
                }
            }
            (participant, sales)
        })
        .collect()
}

/// Scores every entrant with the rule and ranks them.
pub(super) fn standings(
    conn: &mut DbConnection,
    challenge: &Challenge,
    rules: &ScoringRules,
    entrants: &Entrants<'_>,
    runner: &RuleRunner,
) -> Result<Vec<Line>, AppError> {
    let Objective::Script {
        rule_id,
        version,
        params,
    } = &rules.objective
    else {
        return Err(AppError::internal(anyhow::anyhow!(
            "not a script objective"
        )));
    };
    let ast = compiled(conn, runner, *rule_id, *version)?;
    let context = Arc::new(
        ChallengeContext::new(
            &serde_json::Value::Object(params.clone()),
            &day(challenge.period.starts_at),
            &day(challenge.period.ends_at),
            &challenge.currency,
            match challenge.kind {
                scoring::ChallengeKind::Competition => "competition",
                scoring::ChallengeKind::Incentive => "incentive",
            },
        )
        .map_err(|error| {
            AppError::rule_failed(RuleFailure {
                entrant: None,
                error,
            })
        })?,
    );
    let mut per_participant = by_participant(
        sale::script_lines(conn, &challenge.currency, challenge.period.ends_at)?,
        challenge,
        &rules.objective,
    );

    // Each entrant's lines: its members' in participant-id order.
    let mut members: Vec<(Uuid, Uuid)> = Vec::with_capacity(entrants.members.len());
    for (entrant, p) in &entrants.members {
        members.push((*entrant, crate::models::parse_id(&p.id)?));
    }
    members.sort();
    let mut gathered: HashMap<Uuid, ParticipantSales> = entrants
        .infos
        .keys()
        .map(|id| (*id, ParticipantSales::default()))
        .collect();
    for (entrant, participant) in members {
        if let Some(sales) = per_participant.remove(&participant) {
            let into = gathered.entry(entrant).or_default();
            into.period.extend(sales.period);
            into.baseline.extend(sales.baseline);
            into.totals = into.totals.merge(sales.totals);
        }
    }
    let mut ordered: Vec<(Uuid, ParticipantSales)> = gathered.into_iter().collect();
    ordered.sort_by_key(|(id, _)| *id);

    let mut scored = Vec::with_capacity(ordered.len());
    let mut inputs = Vec::with_capacity(ordered.len());
    for (id, sales) in ordered {
        let info = entrants.infos.get(&id);
        let sector = info.map_or(Sector::NEUTRAL, |i| i.sector);
        inputs.push(ScoreInput {
            entrant: ScriptEntrant {
                id: id.to_string(),
                name: info.map(|i| i.name.clone()).unwrap_or_default(),
                unit: challenge.unit.as_str().to_owned(),
                potential_index: sector.potential_index,
                market_share: sector.market_share,
                region: info
                    .and_then(|i| i.region_id)
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
                organisation: info
                    .and_then(|i| i.organisation_id)
                    .map(|o| o.to_string())
                    .unwrap_or_default(),
            },
            sales: Sales::new(sales.period),
            baseline: Sales::new(sales.baseline),
        });
        scored.push(Entrant {
            id,
            totals: sales.totals,
            sector,
        });
    }
    let outputs = runner
        .score_all(&ast, &context, inputs)
        .map_err(AppError::rule_failed)?;
    let measured = scored
        .into_iter()
        .zip(outputs)
        .map(|(entrant, output)| {
            (
                entrant,
                Measure {
                    raw_value: output.score,
                    rule_qualified: Some(output.qualified),
                    detail: output.detail,
                },
            )
        })
        .collect();
    Ok(scoring::standings_measured(rules, measured))
}
