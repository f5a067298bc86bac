//! Who gets what when a challenge closes: the plan applied to the frozen standings, as a
//! plain function. All awards are decided before anything is written, and the stock of
//! every reward is checked against all of them together: either the whole list fits, or
//! the close is refused and nothing is written.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::plan::RewardPlan;
use super::Reward;
use crate::rules::allocation::Award as RuleAward;

/// One frozen standings line, as allocation reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub entrant_id: Uuid,
    /// 0-based place in the frozen table.
    pub position: u32,
    pub rank: Option<u32>,
    pub qualified: bool,
}

/// Why an award was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A place on the podium.
    Rank,
    /// Passed the threshold or reached the target.
    Qualified,
    /// Took part.
    Everyone,
    /// Given by the plan's allocation rule.
    Rule,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Rank => "rank",
            Reason::Qualified => "qualified",
            Reason::Everyone => "everyone",
            Reason::Rule => "rule",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Reason::Rank,
            Reason::Qualified,
            Reason::Everyone,
            Reason::Rule,
        ]
        .into_iter()
        .find(|r| r.as_str() == value)
    }
}

/// An award decided, not yet written.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub entrant_id: Uuid,
    pub position: u32,
    pub rank: Option<u32>,
    pub reward_id: Uuid,
    pub quantity: i64,
    pub value_cents: i64,
    pub currency: String,
    pub reason: Reason,
    pub note: String,
}

/// Why the awards cannot be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The plan or the rule names a reward that is not in the catalogue.
    UnknownReward(Uuid),
    /// The rule names an entrant who is not in the standings.
    UnknownEntrant(String),
    /// The awards need more units than the stock holds.
    NotEnoughStock {
        reward_id: Uuid,
        name: String,
        needed: i64,
        available: i64,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::UnknownReward(id) => write!(f, "reward {id} is not in the catalogue"),
            Refusal::UnknownEntrant(id) => write!(f, "{id} is not in the standings"),
            Refusal::NotEnoughStock {
                name,
                needed,
                available,
                ..
            } => write!(
                f,
                "not enough stock of {name}: the awards need {needed}, {available} left"
            ),
        }
    }
}

fn ordinal(rank: u32) -> String {
    let suffix = match (rank % 10, rank % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{rank}{suffix} place")
}

/// Applies the plan to the frozen lines (in display order), adds the allocation rule's
/// awards (already run, already checked against its inputs), and checks the stock of
/// every reward against all awards together.
pub fn decide(
    plan: &RewardPlan,
    lines: &[Standing],
    catalogue: &HashMap<Uuid, Reward>,
    rule_awards: &[RuleAward],
) -> Result<Vec<Decided>, Refusal> {
    let reward = |id: Uuid| catalogue.get(&id).ok_or(Refusal::UnknownReward(id));
    let mut decided = Vec::new();
    let mut give = |line: &Standing,
                    reward: &Reward,
                    quantity: i64,
                    reason: Reason,
                    note: String,
                    value: Option<i64>| {
        decided.push(Decided {
            entrant_id: line.entrant_id,
            position: line.position,
            rank: line.rank,
            reward_id: reward.id,
            quantity,
            value_cents: value.unwrap_or_else(|| reward.value_cents.saturating_mul(quantity)),
            currency: reward.currency.clone(),
            reason,
            note,
        })
    };
    for line in lines {
        for planned in plan.by_rank.iter().filter(|p| Some(p.rank) == line.rank) {
            give(
                line,
                reward(planned.reward_id)?,
                planned.quantity,
                Reason::Rank,
                ordinal(planned.rank),
                None,
            );
        }
    }
    for line in lines.iter().filter(|l| l.qualified) {
        for planned in &plan.qualified {
            give(
                line,
                reward(planned.reward_id)?,
                planned.quantity,
                Reason::Qualified,
                "qualified".to_owned(),
                None,
            );
        }
    }
    for line in lines {
        for planned in &plan.everyone {
            give(
                line,
                reward(planned.reward_id)?,
                planned.quantity,
                Reason::Everyone,
                "thank you for taking part".to_owned(),
                None,
            );
        }
    }
    let by_id: HashMap<String, &Standing> = lines
        .iter()
        .map(|l| (l.entrant_id.to_string(), l))
        .collect();
    for award in rule_awards {
        let line = by_id
            .get(&award.participant)
            .ok_or_else(|| Refusal::UnknownEntrant(award.participant.clone()))?;
        let id = Uuid::parse_str(&award.reward).map_err(|_| Refusal::UnknownReward(Uuid::nil()))?;
        give(
            line,
            reward(id)?,
            award.quantity,
            Reason::Rule,
            award.note.clone(),
            Some(award.value),
        );
    }
    let mut needed: BTreeMap<Uuid, i64> = BTreeMap::new();
    for award in &decided {
        let total = needed.entry(award.reward_id).or_default();
        *total = total.saturating_add(award.quantity);
    }
    for (id, needed) in needed {
        let reward = reward(id)?;
        if let Some(available) = reward.stock {
            if needed > available {
                return Err(Refusal::NotEnoughStock {
                    reward_id: id,
                    name: reward.name.clone(),
                    needed,
                    available,
                });
            }
        }
    }
    Ok(decided)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewards::plan::{PlannedReward, RankReward};
    use crate::rewards::RewardKind;
    use proptest::prelude::*;

    fn reward(n: u128, stock: Option<i64>) -> Reward {
        Reward {
            id: Uuid::from_u128(n),
            name: format!("reward {n}"),
            kind: RewardKind::Gift {},
            value_cents: 1_000 * n as i64,
            currency: "EUR".into(),
            stock,
        }
    }

    /// Lines in display order with competition ranks from the given scores' order.
    fn table(ranks: &[Option<u32>], qualified: &[bool]) -> Vec<Standing> {
        ranks
            .iter()
            .zip(qualified)
            .enumerate()
            .map(|(i, (rank, qualified))| Standing {
                entrant_id: Uuid::from_u128(1_000 + i as u128),
                position: i as u32,
                rank: *rank,
                qualified: *qualified,
            })
            .collect()
    }

    fn podium_plan() -> RewardPlan {
        RewardPlan {
            by_rank: (1..=3)
                .map(|rank| RankReward {
                    rank,
                    reward_id: Uuid::from_u128(u128::from(rank)),
                    quantity: 1,
                })
                .collect(),
            qualified: vec![PlannedReward {
                reward_id: Uuid::from_u128(4),
                quantity: 2,
            }],
            everyone: vec![PlannedReward {
                reward_id: Uuid::from_u128(5),
                quantity: 1,
            }],
            rule: None,
        }
    }

    fn catalogue(stocks: [Option<i64>; 5]) -> HashMap<Uuid, Reward> {
        (1..=5u128)
            .map(|n| (Uuid::from_u128(n), reward(n, stocks[n as usize - 1])))
            .collect()
    }

    #[test]
    fn a_podium_with_a_tie_and_a_thank_you_for_all() {
        let lines = table(
            &[Some(1), Some(2), Some(2), Some(4), None],
            &[true, true, true, true, false],
        );
        let awards = decide(&podium_plan(), &lines, &catalogue([None; 5]), &[]).expect("fits");
        let ranked: Vec<(u32, u128)> = awards
            .iter()
            .filter(|a| a.reason == Reason::Rank)
            .map(|a| (a.position, a.reward_id.as_u128()))
            .collect();
        // Both second places get the second prize; nobody is third.
        assert_eq!(ranked, [(0, 1), (1, 2), (2, 2)]);
        assert_eq!(
            awards
                .iter()
                .filter(|a| a.reason == Reason::Qualified)
                .count(),
            4
        );
        assert_eq!(
            awards
                .iter()
                .filter(|a| a.reason == Reason::Everyone)
                .count(),
            5
        );
        assert_eq!(awards[0].note, "1st place");
        assert_eq!(awards[0].value_cents, 1_000);
    }

    #[test]
    fn not_enough_stock_refuses_everything() {
        let lines = table(&[Some(1), Some(2), Some(3)], &[true, true, true]);
        let refused = decide(
            &podium_plan(),
            &lines,
            &catalogue([None, None, None, None, Some(2)]),
            &[],
        );
        assert!(matches!(
            refused,
            Err(Refusal::NotEnoughStock {
                needed: 3,
                available: 2,
                ..
            })
        ));
    }

    #[test]
    fn unknown_rewards_and_entrants_are_refused() {
        let lines = table(&[Some(1)], &[true]);
        let mut plan = podium_plan();
        plan.everyone[0].reward_id = Uuid::from_u128(99);
        assert_eq!(
            decide(&plan, &lines, &catalogue([None; 5]), &[]),
            Err(Refusal::UnknownReward(Uuid::from_u128(99)))
        );
        let stranger = RuleAward {
            participant: Uuid::from_u128(7).to_string(),
            reward: Uuid::from_u128(1).to_string(),
            quantity: 1,
            value: 0,
            note: String::new(),
        };
        assert!(matches!(
            decide(
                &RewardPlan::default(),
                &lines,
                &catalogue([None; 5]),
                &[stranger]
            ),
            Err(Refusal::UnknownEntrant(_))
        ));
    }

    fn ranks_from_scores(scores: &[u8]) -> Vec<Option<u32>> {
        // Competition ranks (1, 2, 2, 4) of scores already sorted descending.
        let mut ranks = Vec::with_capacity(scores.len());
        for (i, score) in scores.iter().enumerate() {
            let rank = if i > 0 && scores[i - 1] == *score {
                ranks[i - 1]
            } else {
                Some(i as u32 + 1)
            };
            ranks.push(rank);
        }
        ranks
    }

    proptest! {
        #[test]
        fn the_invariants_hold(
            mut scores in prop::collection::vec(0u8..6, 0..40),
            qualified in prop::collection::vec(any::<bool>(), 40),
            stocks in prop::array::uniform5(prop::option::of(0i64..30)),
            podium_size in 0u32..4,
            for_qualified in any::<bool>(),
            for_everyone in any::<bool>(),
        ) {
            scores.sort_unstable_by(|a, b| b.cmp(a));
            let ranks = ranks_from_scores(&scores);
            let lines = table(&ranks, &qualified[..scores.len()]);
            let catalogue = catalogue(stocks);
            let mut plan = podium_plan();
            plan.by_rank.truncate(podium_size as usize);
            if !for_qualified {
                plan.qualified.clear();
            }
            if !for_everyone {
                plan.everyone.clear();
            }
            let first = decide(&plan, &lines, &catalogue, &[]);
            // The same inputs give the same awards.
            prop_assert_eq!(&first, &decide(&plan, &lines, &catalogue, &[]));
            match first {
                Ok(awards) => {
                    let by_entrant: HashMap<Uuid, &Standing> =
                        lines.iter().map(|l| (l.entrant_id, l)).collect();
                    for award in &awards {
                        let line = by_entrant[&award.entrant_id];
                        match award.reason {
                            // Ranked rewards follow the frozen ranking.
                            Reason::Rank => prop_assert!(plan
                                .by_rank
                                .iter()
                                .any(|p| Some(p.rank) == line.rank && p.reward_id == award.reward_id)),
                            // No award for qualifying to someone who did not.
                            Reason::Qualified => prop_assert!(line.qualified),
                            _ => {}
                        }
                        prop_assert!(award.quantity >= 1);
                    }
                    // Stock never goes negative.
                    for reward in catalogue.values() {
                        let given: i64 = awards
                            .iter()
                            .filter(|a| a.reward_id == reward.id)
                            .map(|a| a.quantity)
                            .sum();
                        if let Some(stock) = reward.stock {
                            prop_assert!(given <= stock);
                        }
                    }
                    // Every line on a planned rank got its prize.
                    for line in &lines {
                        if let Some(rank) = line.rank.filter(|r| *r <= podium_size) {
                            prop_assert!(awards.iter().any(|a| a.entrant_id == line.entrant_id
                                && a.reason == Reason::Rank
                                && a.reward_id == Uuid::from_u128(u128::from(rank))));
                        }
                    }
                }
                Err(Refusal::NotEnoughStock { reward_id, needed, available, .. }) => {
                    prop_assert!(needed > available);
                    prop_assert_eq!(catalogue[&reward_id].stock, Some(available));
                }
                Err(other) => prop_assert!(false, "unexpected refusal {:?}", other),
            }
        }
    }
}
