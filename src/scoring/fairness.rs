//! Fairness across sectors of different potential. Each adjustment is recorded with its
//! factor and the value before and after, so that a score is explainable line by line.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    /// The region's potential index (IRV), > 0; 1.0 is average.
    pub potential_index: f64,
    /// The company's market share in the region, 0 to 1.
    pub market_share: f64,
}

impl Sector {
    /// For entrants without a region (and distributor organisations): no adjustment.
    pub const NEUTRAL: Sector = Sector {
        potential_index: 1.0,
        market_share: 0.0,
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
    pub factor: f64,
    pub before: f64,
    pub after: f64,
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
pub fn adjust(
    raw: f64,
    objective: &Objective,
    fairness: &Fairness,
    sector: Sector,
) -> (Vec<Adjustment>, f64) {
    let mut steps = Vec::new();
    let mut value = raw;
    if fairness.divide_by_potential && !objective.is_growth() && sector.potential_index > 0.0 {
        let after = value / sector.potential_index;
        steps.push(Adjustment {
            kind: AdjustmentKind::DivideByPotential,
            factor: sector.potential_index,
            before: value,
            after,
        });
        value = after;
    }
    if fairness.weight_growth_by_market_share && objective.is_growth() && value > 0.0 {
        let factor = 1.0 + sector.market_share;
        let after = value * factor;
        steps.push(Adjustment {
            kind: AdjustmentKind::WeightGrowthByMarketShare,
            factor,
            before: value,
            after,
        });
        value = after;
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

    #[test]
    fn volume_is_divided_by_potential() {
        let sector = Sector {
            potential_index: 1.25,
            market_share: 0.3,
        };
        let (steps, score) = adjust(1_250_000.0, &Objective::Revenue {}, &BOTH, sector);
        assert_eq!(score, 1_000_000.0);
        assert_eq!(steps.len(), 1, "market share does not touch volume");
        assert_eq!(steps[0].kind, AdjustmentKind::DivideByPotential);
    }

    #[test]
    fn positive_growth_is_weighted_by_market_share_and_negative_growth_is_not() {
        let sector = Sector {
            potential_index: 2.0,
            market_share: 0.5,
        };
        let (steps, score) = adjust(10.0, &Objective::RevenueGrowth {}, &BOTH, sector);
        assert_eq!(score, 15.0);
        assert_eq!(steps.len(), 1, "potential does not touch growth");
        let (steps, score) = adjust(-10.0, &Objective::RevenueGrowth {}, &BOTH, sector);
        assert_eq!((steps.len(), score), (0, -10.0));
    }

    #[test]
    fn without_fairness_the_score_is_the_raw_value() {
        let sector = Sector {
            potential_index: 3.0,
            market_share: 0.9,
        };
        let (steps, score) = adjust(42.0, &Objective::Units {}, &Fairness::default(), sector);
        assert!(steps.is_empty());
        assert_eq!(score, 42.0);
    }

    proptest! {
        /// Between two equal raw values, the richer sector never gets the higher score.
        #[test]
        fn a_richer_sector_never_scores_higher(raw in 0.0f64..1e9, poor in 0.2f64..5.0, extra in 0.0f64..5.0) {
            let rich = poor + extra;
            let fairness = Fairness { divide_by_potential: true, weight_growth_by_market_share: false };
            let (_, poor_score) = adjust(raw, &Objective::Revenue {}, &fairness, Sector { potential_index: poor, market_share: 0.0 });
            let (_, rich_score) = adjust(raw, &Objective::Revenue {}, &fairness, Sector { potential_index: rich, market_share: 0.0 });
            prop_assert!(rich_score <= poor_score);
        }

        /// Each step's `after` is the next step's `before`, and the last one is the score.
        #[test]
        fn steps_chain_up_to_the_score(raw in -1e6f64..1e6, index in 0.1f64..5.0, share in 0.0f64..1.0, growth in any::<bool>()) {
            let objective = if growth { Objective::RevenueGrowth {} } else { Objective::Revenue {} };
            let (steps, score) = adjust(raw, &objective, &BOTH, Sector { potential_index: index, market_share: share });
            let mut value = raw;
            for step in &steps {
                prop_assert_eq!(step.before, value);
                value = step.after;
            }
            prop_assert_eq!(value, score);
        }
    }
}
