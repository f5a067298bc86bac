//! Fairness across sectors of different potential. Each adjustment is recorded with its
//! factor and the value before and after, so that a score is explainable line by line.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::exact::Exact;
use super::objective::Objective;

/// Which fairness adjustments a challenge applies; each is optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fairness {
    /// Divide volume values (revenue, units, customers) by the region's potential index
    /// (1.0 = average purchasing power), so a rich sector does not win only by being rich.
    /// Not applied to growth objectives.
    #[serde(default)]
    pub divide_by_potential: bool,
    /// Multiply positive growth by (1 + the region's market share): growing is harder where
    /// the company already holds a large share. Negative growth is left as it is. Only for
    /// growth objectives.
    #[serde(default)]
    pub weight_growth_by_market_share: bool,
}

/// The sector figures an entrant is judged against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sector {
    /// The region's potential index (IRV), > 0; 1 is average.
    pub potential_index: Exact,
    /// The company's market share in the region, 0 to 1.
    pub market_share: Exact,
}

impl Sector {
    /// For entrants without a region (and distributor organisations): no adjustment.
    pub const NEUTRAL: Sector = Sector {
        potential_index: Exact::ONE,
        market_share: Exact::ZERO,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    DivideByPotential,
    WeightGrowthByMarketShare,
}

/// One step from the raw value to the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adjustment {
    pub kind: AdjustmentKind,
    /// The potential index divided by, or the weight multiplied by.
    pub factor: Exact,
    pub before: Exact,
    pub after: Exact,
}

impl Adjustment {
    /// The step in words, for the people who read the standings.
    pub fn explanation(&self) -> String {
        match self.kind {
            AdjustmentKind::DivideByPotential => {
                format!("divided by the region's potential index {}", self.factor)
            }
            AdjustmentKind::WeightGrowthByMarketShare => format!(
                "positive growth multiplied by 1 + the region's market share ({})",
                self.factor
            ),
        }
    }
}

/// Applies the challenge's adjustments to a raw value: the steps and the final score.
/// Each step's `after` is rounded by the one rule of [`Exact`] and is the next step's
/// `before`, so the chain can be recomputed from what is shown. A step that would leave
/// the range of exact decimals (beyond 28 digits, far past any real sum) is not applied.
pub fn adjust(
    raw: Exact,
    objective: &Objective,
    fairness: &Fairness,
    sector: Sector,
) -> (Vec<Adjustment>, Exact) {
    let mut steps = Vec::new();
    let mut value = raw;
    if fairness.divide_by_potential
        && !objective.is_growth()
        && sector.potential_index.is_positive()
    {
        if let Some(after) = value.checked_div(sector.potential_index) {
            steps.push(Adjustment {
                kind: AdjustmentKind::DivideByPotential,
                factor: sector.potential_index,
                before: value,
                after,
            });
            value = after;
        }
    }
    if fairness.weight_growth_by_market_share && objective.is_growth() && value.is_positive() {
        let weighted = Exact::ONE
            .checked_add(sector.market_share)
            .and_then(|factor| Some((factor, value.checked_mul(factor)?)));
        if let Some((factor, after)) = weighted {
            steps.push(Adjustment {
                kind: AdjustmentKind::WeightGrowthByMarketShare,
                factor,
                before: value,
                after,
            });
            value = after;
        }
    }
    (steps, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BOTH: Fairness = Fairness {
        divide_by_potential: true,
        weight_growth_by_market_share: true,
    };

    fn d(text: &str) -> Exact {
        Exact::parse(text).expect("a decimal")
    }

    fn sector(index: &str, share: &str) -> Sector {
        Sector {
            potential_index: d(index),
            market_share: d(share),
        }
    }

    #[test]
    fn volume_is_divided_by_potential() {
        let (steps, score) = adjust(
            d("1250000"),
            &Objective::Revenue {},
            &BOTH,
            sector("1.25", "0.3"),
        );
        assert_eq!(score, d("1000000"));
        assert_eq!(steps.len(), 1, "market share does not touch volume");
        assert_eq!(steps[0].kind, AdjustmentKind::DivideByPotential);
    }

    #[test]
    fn a_division_is_rounded_to_four_places_once() {
        let (steps, score) = adjust(
            d("1000000"),
            &Objective::Revenue {},
            &BOTH,
            sector("0.7", "0"),
        );
        assert_eq!(score, d("1428571.4286"));
        assert_eq!(steps[0].after, score);
    }

    #[test]
    fn positive_growth_is_weighted_by_market_share_and_negative_growth_is_not() {
        let s = sector("2", "0.5");
        let (steps, score) = adjust(d("10"), &Objective::RevenueGrowth {}, &BOTH, s);
        assert_eq!(score, d("15"));
        assert_eq!(steps.len(), 1, "potential does not touch growth");
        let (steps, score) = adjust(d("-10"), &Objective::RevenueGrowth {}, &BOTH, s);
        assert_eq!((steps.len(), score), (0, d("-10")));
    }

    #[test]
    fn without_fairness_the_score_is_the_raw_value() {
        let (steps, score) = adjust(
            d("42"),
            &Objective::Units {},
            &Fairness::default(),
            sector("3", "0.9"),
        );
        assert!(steps.is_empty());
        assert_eq!(score, d("42"));
    }

    proptest! {
        /// Between two equal raw values, the richer sector never gets the higher score.
        #[test]
        fn a_richer_sector_never_scores_higher(raw in 0i64..1_000_000_000_000, poor in 2_000i64..50_000, extra in 0i64..50_000) {
            let fairness = Fairness { divide_by_potential: true, weight_growth_by_market_share: false };
            let at = |index: i64| Sector { potential_index: Exact::from_parts(index, 4), market_share: Exact::ZERO };
            let raw = Exact::from_int(raw);
            let (_, poor_score) = adjust(raw, &Objective::Revenue {}, &fairness, at(poor));
            let (_, rich_score) = adjust(raw, &Objective::Revenue {}, &fairness, at(poor + extra));
            prop_assert!(rich_score <= poor_score);
        }

        /// Each step's `after` is the next step's `before`, and the last one is the score.
        #[test]
        fn steps_chain_up_to_the_score(raw in -1_000_000_000i64..1_000_000_000, index in 1_000i64..50_000, share in 0i64..=10_000, growth in any::<bool>()) {
            let objective = if growth { Objective::RevenueGrowth {} } else { Objective::Revenue {} };
            let raw = Exact::from_parts(raw, 2);
            let s = Sector { potential_index: Exact::from_parts(index, 4), market_share: Exact::from_parts(share, 4) };
            let (steps, score) = adjust(raw, &objective, &BOTH, s);
            let mut value = raw;
            for step in &steps {
                prop_assert_eq!(step.before, value);
                value = step.after;
            }
            prop_assert_eq!(value, score);
        }
    }
}
