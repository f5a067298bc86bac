//! What a challenge is made of besides its name and dates: objective, fairness,
//! threshold, tie-break chain, target and audience, stored together as JSON, and the rules
//! that keep them coherent.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::FieldError;
use crate::rewards::plan::RewardPlan;
use crate::scoring::{ChallengeKind, Exact, Fairness, Objective, Target, Threshold, TieBreak};

/// Who competes as one line of the standings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RankingUnit {
    /// Each participant on its own.
    Participant,
    /// Participants summed by team.
    Team,
    /// Participants summed by region.
    Region,
    /// Participants summed by organisation (a distributor and its reps).
    Organisation,
}

impl RankingUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            RankingUnit::Participant => "participant",
            RankingUnit::Team => "team",
            RankingUnit::Region => "region",
            RankingUnit::Organisation => "organisation",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            RankingUnit::Participant,
            RankingUnit::Team,
            RankingUnit::Region,
            RankingUnit::Organisation,
        ]
        .into_iter()
        .find(|u| u.as_str() == value)
    }
}

/// What a participant is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantKind {
    /// An individual sales rep.
    Rep,
    /// A team taken as one participant.
    Team,
    /// A whole distributor.
    Distributor,
}

impl ParticipantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantKind::Rep => "rep",
            ParticipantKind::Team => "team",
            ParticipantKind::Distributor => "distributor",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            ParticipantKind::Rep,
            ParticipantKind::Team,
            ParticipantKind::Distributor,
        ]
        .into_iter()
        .find(|k| k.as_str() == value)
    }
}

/// Who takes part and which products count. Each list, when not empty, restricts; all
/// restrictions apply together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    #[serde(default)]
    pub organisation_ids: BTreeSet<Uuid>,
    #[serde(default)]
    pub region_ids: BTreeSet<Uuid>,
    #[serde(default)]
    pub team_ids: BTreeSet<Uuid>,
    #[serde(default)]
    pub participant_kinds: BTreeSet<ParticipantKind>,
    /// Only sales of these products count.
    #[serde(default)]
    pub product_ids: BTreeSet<Uuid>,
}

/// The scoring part of a challenge, stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    pub objective: Objective,
    pub fairness: Fairness,
    pub threshold: Option<Threshold>,
    pub tie_break: Vec<TieBreak>,
    pub target: Option<Target>,
    pub audience: Audience,
    /// What the challenge gives when it closes (absent in challenges stored before
    /// rewards existed).
    #[serde(default)]
    pub reward_plan: Option<RewardPlan>,
}

/// Everything about a challenge that its coherence rules look at.
pub struct Proposal<'a> {
    pub kind: ChallengeKind,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub baseline: Option<(NaiveDateTime, NaiveDateTime)>,
    pub currency: &'a str,
    pub definition: &'a Definition,
}

/// Whether a currency code looks like ISO 4217 (three capital letters).
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// The coherence rules, every error at once.
pub fn check(p: &Proposal<'_>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let d = p.definition;
    if p.ends_at <= p.starts_at {
        errors.push(FieldError::new(
            "ends_at",
            "range",
            "must be after starts_at",
        ));
    }
    if !is_currency_code(p.currency) {
        errors.push(FieldError::new(
            "currency",
            "currency",
            "must be an ISO 4217 code such as EUR",
        ));
    }
    let needs_baseline =
        d.objective.is_growth() || matches!(d.target, Some(Target::GrowthPercent { .. }));
    match p.baseline {
        Some((start, end)) => {
            if end <= start {
                errors.push(FieldError::new("baseline_ends_at", "range", "must be after baseline_starts_at"));
            }
            if end > p.starts_at {
                errors.push(FieldError::new("baseline_ends_at", "range", "the baseline must end by the period's start"));
            }
        }
        None if needs_baseline => errors.push(FieldError::new(
            "baseline_starts_at",
            "required",
            "a growth objective or target needs a baseline period (baseline_starts_at and baseline_ends_at)",
        )),
        None => {}
    }
    if d.objective.products().is_some_and(BTreeSet::is_empty) {
        errors.push(FieldError::new(
            "objective.product_ids",
            "length",
            "must name at least one product",
        ));
    }
    if d.fairness.divide_by_potential && d.objective.is_growth() {
        errors.push(FieldError::new(
            "fairness.divide_by_potential",
            "not_allowed",
            "applies to volume objectives; use weight_growth_by_market_share for growth",
        ));
    }
    if let Some((_, version)) = d.objective.script() {
        if version < 1 {
            errors.push(FieldError::new(
                "objective.version",
                "range",
                "rule versions start at 1",
            ));
        }
        if d.fairness.divide_by_potential {
            errors.push(FieldError::new(
                "fairness.divide_by_potential",
                "not_allowed",
                "a script objective applies its own fairness: use participant.potential_index and participant.market_share in the rule",
            ));
        }
    }
    if d.fairness.weight_growth_by_market_share && !d.objective.is_growth() {
        errors.push(FieldError::new(
            "fairness.weight_growth_by_market_share",
            "not_allowed",
            "applies to growth objectives only",
        ));
    }
    let mut seen = BTreeSet::new();
    if d.tie_break
        .iter()
        .any(|rule| !seen.insert(format!("{rule:?}")))
    {
        errors.push(FieldError::new(
            "tie_break",
            "duplicate",
            "each rule may appear once",
        ));
    }
    match (p.kind, &d.target) {
        (ChallengeKind::Incentive, None) => errors.push(FieldError::new(
            "target",
            "required",
            "an incentive needs a target",
        )),
        (ChallengeKind::Competition, Some(_)) => errors.push(FieldError::new(
            "target",
            "not_allowed",
            "a competition ranks participants against each other; targets are for incentives",
        )),
        (ChallengeKind::Incentive, Some(Target::GrowthPercent { .. }))
            if d.objective.unit() != crate::scoring::objective::ValueUnit::Cents =>
        {
            errors.push(FieldError::new(
                "target",
                "not_allowed",
                "a growth-percent target needs a revenue objective",
            ))
        }
        (ChallengeKind::Incentive, Some(Target::Absolute { value, per_entrant }))
            if !value.is_positive() || per_entrant.values().any(|v| !v.is_positive()) =>
        {
            errors.push(FieldError::new(
                "target",
                "range",
                "targets must be positive",
            ))
        }
        _ => {}
    }
    if let Some(plan) = &d.reward_plan {
        errors.extend(plan.check(p.kind));
    }
    if let Some(Target::GrowthPercent { percent }) = &d.target {
        if *percent <= -Exact::HUNDRED {
            errors.push(FieldError::new(
                "target.percent",
                "range",
                "must be above -100 (the target must stay positive)",
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 6, d)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("valid date")
    }

    fn definition(objective: Objective) -> Definition {
        Definition {
            objective,
            fairness: Fairness::default(),
            threshold: None,
            tie_break: Vec::new(),
            target: None,
            audience: Audience::default(),
            reward_plan: None,
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_plain_revenue_competition_is_coherent() {
        let d = definition(Objective::Revenue {});
        let p = Proposal {
            kind: ChallengeKind::Competition,
            starts_at: day(1),
            ends_at: day(30),
            baseline: None,
            currency: "EUR",
            definition: &d,
        };
        assert!(check(&p).is_empty());
    }

    #[test]
    fn growth_needs_a_baseline_before_the_period() {
        let d = definition(Objective::RevenueGrowth {});
        let p = Proposal {
            kind: ChallengeKind::Competition,
            starts_at: day(10),
            ends_at: day(20),
            baseline: None,
            currency: "EUR",
            definition: &d,
        };
        assert_eq!(fields(&check(&p)), ["baseline_starts_at"]);
        let p = Proposal {
            baseline: Some((day(1), day(15))),
            ..p
        };
        assert_eq!(fields(&check(&p)), ["baseline_ends_at"]);
    }

    #[test]
    fn incentives_need_targets_and_competitions_refuse_them() {
        let d = definition(Objective::Units {});
        let p = Proposal {
            kind: ChallengeKind::Incentive,
            starts_at: day(1),
            ends_at: day(2),
            baseline: None,
            currency: "eur",
            definition: &d,
        };
        assert_eq!(fields(&check(&p)), ["currency", "target"]);
        let mut d = definition(Objective::Units {});
        d.target = Some(Target::GrowthPercent {
            percent: Exact::from_int(5),
        });
        d.fairness.weight_growth_by_market_share = true;
        let p = Proposal {
            kind: ChallengeKind::Competition,
            starts_at: day(2),
            ends_at: day(1),
            baseline: Some((day(1), day(2))),
            currency: "EUR",
            definition: &d,
        };
        assert_eq!(
            fields(&check(&p)),
            [
                "ends_at",
                "fairness.weight_growth_by_market_share",
                "target"
            ]
        );
    }
}
