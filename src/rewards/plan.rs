//! A challenge's reward plan: what it gives by rank (a podium), to every qualified
//! entrant, to everyone who took part, and through an allocation rule. Every part is
//! optional and they add up: a podium plus a goodie for all is one plan.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::FieldError;
use crate::scoring::ChallengeKind;

fn one() -> i64 {
    1
}

/// Most units one award may give.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// A reward and how many units of it each award gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedReward {
    pub reward_id: Uuid,
    /// Units per award, default 1.
    #[serde(default = "one")]
    #[schema(minimum = 1)]
    pub quantity: i64,
}

/// What one rank of the podium gets. Tied entrants sharing the rank each get it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RankReward {
    /// 1 for the first place, 2 for the second…
    #[schema(minimum = 1)]
    pub rank: u32,
    pub reward_id: Uuid,
    #[serde(default = "one")]
    #[schema(minimum = 1)]
    pub quantity: i64,
}

/// An allocation rule for what the other parts cannot say (free goods per volume,
/// payment terms by tier, a budget shared in proportion to results).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedRule {
    pub rule_id: Uuid,
    #[schema(minimum = 1)]
    pub version: i32,
    /// The rule's `ctx.params`.
    #[serde(default)]
    #[schema(value_type = crate::rules::RuleParams)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The rewards the rule may give (its `rewards` argument).
    #[schema(min_items = 1)]
    pub reward_ids: Vec<Uuid>,
}

/// What a challenge gives when it closes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "by_rank": [
        {"rank": 1, "reward_id": "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e41"},
        {"rank": 2, "reward_id": "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e42"},
        {"rank": 3, "reward_id": "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e43"}
    ],
    "everyone": [{"reward_id": "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e44", "quantity": 1}]
}))]
pub struct RewardPlan {
    /// The podium: ranks 1, 2, 3… each with its reward (competitions).
    #[serde(default)]
    pub by_rank: Vec<RankReward>,
    /// For every qualified entrant (passed the threshold, or reached the target).
    #[serde(default)]
    pub qualified: Vec<PlannedReward>,
    /// For every entrant who took part: a goodie, a certificate, a thank-you.
    #[serde(default)]
    pub everyone: Vec<PlannedReward>,
    /// An allocation rule for anything else.
    #[serde(default)]
    pub rule: Option<PlannedRule>,
}

impl RewardPlan {
    pub fn is_empty(&self) -> bool {
        self.by_rank.is_empty()
            && self.qualified.is_empty()
            && self.everyone.is_empty()
            && self.rule.is_none()
    }

    /// Every reward the plan names.
    pub fn reward_ids(&self) -> BTreeSet<Uuid> {
        let mut ids: BTreeSet<Uuid> = self.by_rank.iter().map(|r| r.reward_id).collect();
        ids.extend(self.qualified.iter().map(|r| r.reward_id));
        ids.extend(self.everyone.iter().map(|r| r.reward_id));
        if let Some(rule) = &self.rule {
            ids.extend(rule.reward_ids.iter().copied());
        }
        ids
    }

    /// The plan's own coherence, every error at once (whether its rewards and rule
    /// exist is checked against the database by the caller).
    pub fn check(&self, kind: ChallengeKind) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let ranks: Vec<u32> = self.by_rank.iter().map(|r| r.rank).collect();
        if !ranks.is_empty() && kind == ChallengeKind::Incentive {
            errors.push(FieldError::new(
                "reward_plan.by_rank",
                "not_allowed",
                "an incentive rewards each participant against its own target: use qualified",
            ));
        }
        let distinct: BTreeSet<u32> = ranks.iter().copied().collect();
        if distinct.len() != ranks.len() {
            errors.push(FieldError::new(
                "reward_plan.by_rank",
                "duplicate",
                "each rank may appear once",
            ));
        }
        if ranks.contains(&0) {
            errors.push(FieldError::new(
                "reward_plan.by_rank",
                "range",
                "ranks start at 1",
            ));
        } else if distinct.iter().copied().ne(1..=distinct.len() as u32) {
            errors.push(FieldError::new(
                "reward_plan.by_rank",
                "gap",
                "ranks must follow each other from 1 (1, 2, 3…)",
            ));
        }
        let quantities = self
            .by_rank
            .iter()
            .map(|r| ("reward_plan.by_rank", r.quantity))
            .chain(
                self.qualified
                    .iter()
                    .map(|r| ("reward_plan.qualified", r.quantity)),
            )
            .chain(
                self.everyone
                    .iter()
                    .map(|r| ("reward_plan.everyone", r.quantity)),
            );
        for (field, quantity) in quantities {
            if !(1..=MAX_QUANTITY).contains(&quantity) {
                errors.push(FieldError::new(
                    field,
                    "range",
                    "quantities must be 1 to 1,000,000",
                ));
            }
        }
        if let Some(rule) = &self.rule {
            if rule.reward_ids.is_empty() {
                errors.push(FieldError::new(
                    "reward_plan.rule.reward_ids",
                    "length",
                    "name at least one reward the rule may give",
                ));
            }
            if rule.version < 1 {
                errors.push(FieldError::new(
                    "reward_plan.rule.version",
                    "range",
                    "rule versions start at 1",
                ));
            }
        }
        errors.dedup();
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(rank: u32) -> RankReward {
        RankReward {
            rank,
            reward_id: Uuid::from_u128(u128::from(rank)),
            quantity: 1,
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect()
    }

    #[test]
    fn a_podium_follows_from_the_first_place() {
        let plan = RewardPlan {
            by_rank: vec![rank(2), rank(1), rank(3)],
            ..RewardPlan::default()
        };
        assert!(plan.check(ChallengeKind::Competition).is_empty());
        let gap = RewardPlan {
            by_rank: vec![rank(1), rank(3)],
            ..RewardPlan::default()
        };
        assert_eq!(
            fields(&gap.check(ChallengeKind::Competition)),
            [("reward_plan.by_rank", "gap")]
        );
        let twice = RewardPlan {
            by_rank: vec![rank(1), rank(1)],
            ..RewardPlan::default()
        };
        assert_eq!(
            fields(&twice.check(ChallengeKind::Competition)),
            [("reward_plan.by_rank", "duplicate")]
        );
        let zero = RewardPlan {
            by_rank: vec![rank(0)],
            ..RewardPlan::default()
        };
        assert_eq!(
            fields(&zero.check(ChallengeKind::Competition)),
            [("reward_plan.by_rank", "range")]
        );
        assert_eq!(
            fields(&plan.check(ChallengeKind::Incentive)),
            [("reward_plan.by_rank", "not_allowed")]
        );
    }
}
