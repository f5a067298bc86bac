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
use crate::rules::objective::ScoreInput;
use crate::rules::runner::RuleFailure;
use crate::rules::values::{Entrant as ScriptEntrant, Sale, Sales};
use crate::rules::{RuleKind, RuleRunner};
use crate::scoring::SaleFact;
use crate::scoring::{self, Entrant, Line, Measure, Objective, ScoringRules, Sector, Totals};
use rhai::ImmutableString;

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
        .map_err(|errors| AppError::rule_failed(RuleFailure::compile(errors)))
}

/// One line as kept in memory between loading and scoring: no heap of its own (the texts
/// are shared through the interner).
struct Compact {
    customer_id: Option<Uuid>,
    product_id: Option<Uuid>,
    key_account: bool,
    sold_at: chrono::NaiveDateTime,
    quantity: i64,
    amount: i64,
    sku: ImmutableString,
    category: ImmutableString,
    customer: ImmutableString,
}

/// One shared copy of each distinct text (SKUs, categories, customer references, days).
#[derive(Default)]
struct Interner(HashMap<String, ImmutableString>);

impl Interner {
    fn get(&mut self, text: &str) -> ImmutableString {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared = ImmutableString::from(text);
        self.0.insert(text.to_owned(), shared.clone());
        shared
    }
}

/// Loads the lines that count, grouped by participant, in compact form.
fn load(
    conn: &mut DbConnection,
    challenge: &Challenge,
    objective: &Objective,
    interner: &mut Interner,
    sales_of: Option<&std::collections::BTreeSet<Uuid>>,
) -> Result<HashMap<Uuid, Vec<Compact>>, AppError> {
    let mut filter = challenge.sale_filter_for(objective);
    filter.participants = sales_of.cloned();
    let mut grouped: HashMap<Uuid, Vec<Compact>> = HashMap::new();
    sale::each_script_line(
        conn,
        &challenge.currency,
        challenge.period.ends_at,
        filter.participants.as_ref(),
        |line: ScriptLine| {
            if !filter.admits(&line.fact) {
                return;
            }
            let f = line.fact;
            grouped.entry(f.participant_id).or_default().push(Compact {
                customer_id: f.customer_id,
                product_id: f.product_id,
                key_account: f.key_account,
                sold_at: f.sold_at,
                quantity: f.quantity,
                amount: f.amount_cents,
                sku: interner.get(&line.sku),
                category: interner.get(&line.category),
                customer: interner.get(&line.customer_reference),
            });
        },
    )?;
    Ok(grouped)
}

/// One participant's lines for the script (period and baseline), its totals for the
/// standings line, and whether each customer is new to the participant.
fn participant_sales(
    participant: Uuid,
    mut lines: Vec<Compact>,
    challenge: &Challenge,
    objective: &Objective,
    interner: &mut Interner,
) -> ParticipantSales {
    lines.sort_by(|a, b| {
        (a.sold_at, &a.sku, &a.customer, a.amount, a.quantity).cmp(&(
            b.sold_at,
            &b.sku,
            &b.customer,
            b.amount,
            b.quantity,
        ))
    });
    let facts: Vec<SaleFact> = lines
        .iter()
        .map(|l| SaleFact {
            participant_id: participant,
            customer_id: l.customer_id,
            product_id: l.product_id,
            key_account: l.key_account,
            currency: challenge.currency.clone(),
            sold_at: l.sold_at,
            quantity: l.quantity,
            amount_cents: l.amount,
        })
        .collect();
    let totals = Totals::from_sales(
        &facts,
        &challenge.sale_filter_for(objective),
        challenge.period,
        challenge.baseline,
    );
    // Net revenue per customer before the period: positive means not new.
    let mut before: HashMap<Uuid, i64> = HashMap::new();
    for line in &lines {
        if let (Some(customer), true) =
            (line.customer_id, line.sold_at < challenge.period.starts_at)
        {
            *before.entry(customer).or_default() += line.amount;
        }
    }
    let mut sales = ParticipantSales {
        totals,
        ..ParticipantSales::default()
    };
    for line in lines {
        let at = line.sold_at;
        let in_period = challenge.period.contains(at);
        let in_baseline = challenge.baseline.is_some_and(|b| b.contains(at));
        if !in_period && !in_baseline {
            continue;
        }
        let sale = Sale {
            new_customer: line
                .customer_id
                .is_some_and(|c| before.get(&c).copied().unwrap_or(0) <= 0),
            product: line.sku,
            category: line.category,
            customer: line.customer,
            key_account: line.key_account,
            quantity: line.quantity,
            amount: line.amount,
            sold_on: interner.get(&day(at)),
        };
        if in_baseline {
            sales.baseline.push(sale.clone());
        }
        if in_period {
            sales.period.push(sale);
        }
    }
    sales
}

/// Scores every entrant with the rule and ranks them.
pub(super) fn standings(
    conn: &mut DbConnection,
    challenge: &Challenge,
    rules: &ScoringRules,
    entrants: &Entrants<'_>,
    runner: &RuleRunner,
    sales_of: Option<&std::collections::BTreeSet<Uuid>>,
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
        challenge
            .rule_context(params)
            .map_err(AppError::rule_failed)?,
    );
    let mut interner = Interner::default();
    let mut per_participant = load(conn, challenge, &rules.objective, &mut interner, sales_of)?;

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
        if let Some(lines) = per_participant.remove(&participant) {
            let sales = participant_sales(
                participant,
                lines,
                challenge,
                &rules.objective,
                &mut interner,
            );
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
                potential_index: sector.potential_index.to_script(),
                market_share: sector.market_share.to_script(),
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
    let outputs = runner.score_all(&ast, &context, inputs).map_err(|error| {
        if let crate::rules::runner::RunError::Failed(failure) = &error {
            tracing::warn!(
                challenge = %challenge.id,
                rule = %rule_id,
                version,
                entrant = failure.entrant.as_deref().unwrap_or("-"),
                error = %failure.error,
                trace = %failure.error.trace,
                "a rule failed while scoring"
            );
        }
        AppError::from(error)
    })?;
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
