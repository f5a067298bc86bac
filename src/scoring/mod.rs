//! Scoring: from each entrant's sums to a ranked, explained standings table. Plain
//! functions, without HTTP or SQL, so they are unit- and property-tested directly.
//!
//! The path of one line: [`Totals`] (sums of sales) → the objective's raw value
//! ([`objective`]) → fairness adjustments ([`fairness`]) → score → threshold → target and
//! progress (incentives) → rank among the others ([`ranking`]).

pub mod exact;
pub mod fairness;
pub mod objective;
pub mod ranking;
pub mod totals;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use exact::Exact;
pub use fairness::{Adjustment, Fairness, Sector};
pub use objective::Objective;
pub use ranking::TieBreak;
pub use totals::{SaleFact, SaleFilter, Totals, Window};

/// Competition (participants against each other) or incentive (each against its target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeKind {
    Competition,
    Incentive,
}

impl ChallengeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Competition => "competition",
            ChallengeKind::Incentive => "incentive",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [ChallengeKind::Competition, ChallengeKind::Incentive]
            .into_iter()
            .find(|k| k.as_str() == value)
    }
}

/// What a threshold is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdBasis {
    /// The objective's raw value.
    Raw,
    /// The score after fairness adjustments.
    Score,
}

/// The minimum to be ranked (competitions) or to qualify (incentives).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"basis": "raw", "minimum": "500000"}))]
pub struct Threshold {
    pub basis: ThresholdBasis,
    /// In the objective's unit (minor units for revenue), compared with the exact value.
    pub minimum: Exact,
}

/// An incentive's target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// The same value for everyone, in the objective's unit, with optional values per
    /// entrant (participant, team, region or organisation id).
    Absolute {
        value: Exact,
        #[serde(default)]
        #[schema(value_type = PerEntrantTargets)]
        per_entrant: BTreeMap<Uuid, Exact>,
    },
    /// The baseline revenue plus this percentage (revenue objectives only): the target is
    /// `baseline × (100 + percent) / 100` minor units, exactly (rounded to 4 decimals).
    GrowthPercent { percent: Exact },
}

/// The schema of an incentive's individual targets: entrant id → target, a named
/// component so that generated clients make one type of it.
pub struct PerEntrantTargets;

impl utoipa::PartialSchema for PerEntrantTargets {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
        use utoipa::openapi::Ref;
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::RefOr(
                Ref::from_schema_name("Decimal").into(),
            )))
            .property_names(Some(ObjectBuilder::new().schema_type(Type::String).format(
                Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                    utoipa::openapi::schema::KnownFormat::Uuid,
                )),
            )))
            .description(Some(
                "Targets of single entrants, by participant, team, region or organisation id.",
            ))
            .examples([serde_json::json!({"6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f": "500000"})])
            .into()
    }
}

impl ToSchema for PerEntrantTargets {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push((Exact::name().into_owned(), Exact::schema()));
    }
}

impl Target {
    /// The target of one entrant; `None` where a growth target has no baseline.
    pub fn for_entrant(&self, id: Uuid, totals: &Totals) -> Option<Exact> {
        match self {
            Target::Absolute { value, per_entrant } => Some(*per_entrant.get(&id).unwrap_or(value)),
            Target::GrowthPercent { percent } => {
                if totals.baseline_revenue_cents <= 0 {
                    return None;
                }
                let baseline = Exact::from_int(totals.baseline_revenue_cents);
                baseline
                    .checked_mul(Exact::HUNDRED.checked_add(*percent)?)?
                    .checked_div(Exact::HUNDRED)
            }
        }
    }
}

/// Everything that decides a challenge's standings.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringRules {
    pub kind: ChallengeKind,
    pub objective: Objective,
    pub fairness: Fairness,
    pub threshold: Option<Threshold>,
    pub tie_break: Vec<TieBreak>,
    pub target: Option<Target>,
}

/// One entrant to score.
#[derive(Debug, Clone, PartialEq)]
pub struct Entrant {
    pub id: Uuid,
    pub totals: Totals,
    pub sector: Sector,
}

/// One scored line, before or after ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub entrant_id: Uuid,
    /// 1-based; tied lines share a rank (1, 2, 2, 4); `None` when not ranked (below the
    /// threshold, or the value is undefined).
    pub rank: Option<u32>,
    pub raw_value: Option<Exact>,
    pub adjustments: Vec<Adjustment>,
    pub score: Option<Exact>,
    /// The value is defined and passes the threshold (if any): the line is ranked.
    pub passed_threshold: bool,
    /// Passed the threshold (and, for incentives, reached the target).
    pub qualified: bool,
    pub target: Option<Exact>,
    pub progress_percent: Option<Exact>,
    pub reached: Option<bool>,
    /// The tie-break rule that placed this line apart from a line with the same score (or
    /// progress); `None` when no tie-break was needed, or none separated them (then they
    /// share a rank).
    #[serde(default)]
    pub tie_break: Option<TieBreak>,
    /// The line's score (or progress) equals another ranked line's.
    #[serde(default)]
    pub tied: bool,
    pub totals: Totals,
    /// A script objective's verdict on qualification (`None` for built-in objectives).
    #[serde(default)]
    pub rule_qualified: Option<bool>,
    /// A script objective's own explanation of the line.
    #[serde(default)]
    pub detail: Option<String>,
}

/// What the objective measured for one entrant: a built-in's value, or a rule's output.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Measure {
    pub raw_value: Option<Exact>,
    /// The rule's verdict; `None` for built-in objectives.
    pub rule_qualified: Option<bool>,
    pub detail: Option<String>,
}

/// Scores one entrant with a built-in objective, without its rank.
pub fn score(rules: &ScoringRules, entrant: &Entrant) -> Line {
    let measure = Measure {
        raw_value: rules.objective.value(&entrant.totals),
        ..Measure::default()
    };
    score_measured(rules, entrant, measure)
}

/// Scores one entrant from what its objective measured, without its rank: fairness,
/// threshold (and the rule's own verdict), target, progress.
pub fn score_measured(rules: &ScoringRules, entrant: &Entrant, measure: Measure) -> Line {
    let raw_value = measure.raw_value;
    let (adjustments, score) = match raw_value {
        Some(raw) => {
            let (steps, score) =
                fairness::adjust(raw, &rules.objective, &rules.fairness, entrant.sector);
            (steps, Some(score))
        }
        None => (Vec::new(), None),
    };
    let threshold_ok = match (rules.threshold, raw_value, score) {
        (_, None, _) | (_, _, None) => false,
        (None, _, _) => true,
        (Some(t), Some(raw), Some(score)) => match t.basis {
            ThresholdBasis::Raw => raw >= t.minimum,
            ThresholdBasis::Score => score >= t.minimum,
        },
    };
    let passes_threshold = threshold_ok && measure.rule_qualified.unwrap_or(true);
    let target = rules
        .target
        .as_ref()
        .and_then(|t| t.for_entrant(entrant.id, &entrant.totals));
    let progress_percent = match (raw_value, target) {
        (Some(raw), Some(target)) if target.is_positive() => Exact::percent_of(raw, target),
        _ => None,
    };
    let reached = match (raw_value, target) {
        (Some(raw), Some(target)) => Some(raw >= target),
        (_, _) if rules.target.is_some() => Some(false),
        _ => None,
    };
    let qualified = passes_threshold
        && match rules.kind {
            ChallengeKind::Competition => true,
            ChallengeKind::Incentive => reached.unwrap_or(false),
        };
    Line {
        entrant_id: entrant.id,
        rank: None,
        raw_value,
        adjustments,
        score,
        passed_threshold: passes_threshold,
        qualified,
        target,
        progress_percent,
        reached,
        tie_break: None,
        tied: false,
        totals: entrant.totals,
        rule_qualified: measure.rule_qualified,
        detail: measure.detail,
    }
}

/// The standings: every entrant scored, ranked lines first in rank order, then the
/// others. The result does not depend on the order of `entrants`.
pub fn standings(rules: &ScoringRules, entrants: &[Entrant]) -> Vec<Line> {
    let lines: Vec<Line> = entrants.iter().map(|e| score(rules, e)).collect();
    ranking::rank(rules, lines)
}

/// The standings from what a script objective measured, one measure per entrant.
pub fn standings_measured(rules: &ScoringRules, measured: Vec<(Entrant, Measure)>) -> Vec<Line> {
    let lines: Vec<Line> = measured
        .into_iter()
        .map(|(entrant, measure)| score_measured(rules, &entrant, measure))
        .collect();
    ranking::rank(rules, lines)
}

/// The line in words, step by step: raw value, each adjustment, threshold, target, rank.
pub fn explain(rules: &ScoringRules, line: &Line) -> Vec<String> {
    use objective::ValueUnit;
    let unit = match rules.objective.unit() {
        ValueUnit::Cents => "minor units",
        ValueUnit::Units => "units",
        ValueUnit::Customers => "new customers",
        ValueUnit::Percent => "% growth",
        ValueUnit::Points => "points",
    };
    let mut steps = Vec::new();
    match line.raw_value {
        Some(raw) => steps.push(format!("raw value: {raw} {unit}")),
        None if rules.objective.script().is_some() => {
            steps.push("raw value: undefined (the rule gave none)".to_owned())
        }
        None => steps.push("raw value: undefined (no baseline revenue to grow from)".to_owned()),
    }
    if let Some(detail) = &line.detail {
        steps.push(format!("rule: {detail}"));
    }
    if line.rule_qualified == Some(false) {
        steps.push("the rule did not qualify this line".to_owned());
    }
    for adjustment in &line.adjustments {
        steps.push(format!(
            "{}: {} → {}",
            adjustment.explanation(),
            adjustment.before,
            adjustment.after
        ));
    }
    if let Some(score) = line.score {
        steps.push(format!("score: {score}"));
    }
    if let Some(t) = rules.threshold {
        let basis = match t.basis {
            ThresholdBasis::Raw => "raw value",
            ThresholdBasis::Score => "score",
        };
        let verdict = if line.passed_threshold {
            "passed"
        } else {
            "not reached"
        };
        steps.push(format!(
            "threshold: {basis} at least {}: {verdict}",
            t.minimum
        ));
    }
    if let Some(target) = line.target {
        let progress = line
            .progress_percent
            .map_or_else(String::new, |p| format!(", progress {p} %"));
        let verdict = if line.reached == Some(true) {
            "reached"
        } else {
            "not reached yet"
        };
        steps.push(format!("target: {target} {unit}{progress}: {verdict}"));
    } else if rules.target.is_some() {
        steps.push("target: undefined (no baseline revenue to grow from)".to_owned());
    }
    let compared = match rules.kind {
        ChallengeKind::Competition => "score",
        ChallengeKind::Incentive => "progress",
    };
    match (line.rank, line.tie_break) {
        (Some(rank), Some(rule)) => steps.push(format!(
            "rank: {rank} (same {compared} as another line; decided by the tie-break {})",
            rule.as_str()
        )),
        (Some(rank), None) if line.tied => steps.push(format!(
            "rank: {rank} (same {compared} as another line, and the tie-breaks did not separate them: the rank is shared)"
        )),
        (Some(rank), None) => steps.push(format!("rank: {rank}")),
        (None, _) => steps.push("not ranked".to_owned()),
    }
    steps
}

#[cfg(test)]
mod tests;
