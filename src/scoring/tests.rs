//! Scoring as a whole: thresholds, ties, tie-breaks, incentives, and properties that must
//! hold for any input.

use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;

fn d(text: &str) -> Exact {
    Exact::parse(text).expect("a decimal")
}

fn sector(index: &str, share: &str) -> Sector {
    Sector {
        potential_index: d(index),
        market_share: d(share),
    }
}

fn rules(kind: ChallengeKind) -> ScoringRules {
    ScoringRules {
        kind,
        objective: Objective::Revenue {},
        fairness: Fairness::default(),
        threshold: None,
        tie_break: Vec::new(),
        target: None,
    }
}

fn entrant(n: u128, revenue: i64) -> Entrant {
    Entrant {
        id: Uuid::from_u128(n),
        totals: Totals {
            revenue_cents: revenue,
            units: revenue / 100,
            ..Totals::default()
        },
        sector: Sector::NEUTRAL,
    }
}

fn ranks(lines: &[Line]) -> Vec<(u128, Option<u32>)> {
    lines
        .iter()
        .map(|l| (l.entrant_id.as_u128(), l.rank))
        .collect()
}

#[test]
fn equal_scores_share_a_rank_without_tie_break() {
    let lines = standings(
        &rules(ChallengeKind::Competition),
        &[
            entrant(1, 500),
            entrant(2, 300),
            entrant(3, 300),
            entrant(4, 100),
        ],
    );
    assert_eq!(
        ranks(&lines),
        [(1, Some(1)), (2, Some(2)), (3, Some(2)), (4, Some(4))]
    );
}

#[test]
fn the_tie_break_chain_separates_ties_in_order() {
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 3, d).and_then(|d| d.and_hms_opt(9, 0, 0));
    let mut a = entrant(1, 300);
    a.totals.last_sale_at = day(20);
    let mut b = entrant(2, 300);
    b.totals.last_sale_at = day(10);
    let mut c = entrant(3, 300);
    c.totals.last_sale_at = day(10);
    c.totals.units = 99;
    let mut r = rules(ChallengeKind::Competition);
    r.tie_break = vec![TieBreak::FirstToReach, TieBreak::MoreUnits];
    let lines = standings(&r, &[a, b, c]);
    assert_eq!(ranks(&lines), [(3, Some(1)), (2, Some(2)), (1, Some(3))]);
}

#[test]
fn fairness_can_reverse_the_raw_order() {
    let mut rich = entrant(1, 1_200);
    rich.sector = sector("1.5", "0");
    let mut poor = entrant(2, 1_000);
    poor.sector = sector("0.8", "0");
    let mut r = rules(ChallengeKind::Competition);
    r.fairness.divide_by_potential = true;
    let lines = standings(&r, &[rich, poor]);
    assert_eq!(ranks(&lines), [(2, Some(1)), (1, Some(2))]);
    assert_eq!(lines[0].score, Some(d("1250")));
    assert_eq!(lines[1].score, Some(d("800")));
    assert_eq!(lines[1].raw_value, Some(d("1200")));
}

#[test]
fn below_the_threshold_is_listed_last_and_unranked() {
    let mut r = rules(ChallengeKind::Competition);
    r.threshold = Some(Threshold {
        basis: ThresholdBasis::Raw,
        minimum: d("250"),
    });
    let lines = standings(&r, &[entrant(1, 100), entrant(2, 300), entrant(3, 250)]);
    assert_eq!(ranks(&lines), [(2, Some(1)), (3, Some(2)), (1, None)]);
    assert!(!lines[2].qualified && !lines[2].passed_threshold);
}

#[test]
fn growth_without_a_baseline_is_not_ranked() {
    let mut r = rules(ChallengeKind::Competition);
    r.objective = Objective::RevenueGrowth {};
    let mut with_baseline = entrant(1, 1_100);
    with_baseline.totals.baseline_revenue_cents = 1_000;
    let lines = standings(&r, &[entrant(2, 5_000), with_baseline]);
    assert_eq!(ranks(&lines), [(1, Some(1)), (2, None)]);
    assert!(lines[1].score.is_none());
    assert_eq!(lines[0].raw_value, Some(d("10")));
}

#[test]
fn incentives_qualify_whoever_reaches_the_target() {
    let mut r = rules(ChallengeKind::Incentive);
    r.target = Some(Target::Absolute {
        value: d("1000"),
        per_entrant: BTreeMap::from([(Uuid::from_u128(3), d("200"))]),
    });
    let lines = standings(&r, &[entrant(1, 1_500), entrant(2, 800), entrant(3, 300)]);
    let by_id = |id: u128| {
        lines
            .iter()
            .find(|l| l.entrant_id.as_u128() == id)
            .expect("line")
    };
    assert!(by_id(1).qualified && by_id(3).qualified && !by_id(2).qualified);
    assert_eq!(by_id(3).progress_percent, Some(d("150")));
    assert_eq!(by_id(2).reached, Some(false));
    // Ranked by progress: 3 (150 %) then 1 (150 %) share the top; 2 (80 %) follows.
    assert_eq!(by_id(1).rank, Some(1));
    assert_eq!(by_id(3).rank, Some(1));
    assert_eq!(by_id(2).rank, Some(3));
}

#[test]
fn a_growth_target_builds_on_the_baseline() {
    let mut r = rules(ChallengeKind::Incentive);
    r.target = Some(Target::GrowthPercent { percent: d("10") });
    let mut grower = entrant(1, 1_100);
    grower.totals.baseline_revenue_cents = 1_000;
    let mut newcomer = entrant(2, 1_100);
    newcomer.totals.baseline_revenue_cents = 0;
    let lines = standings(&r, &[grower, newcomer]);
    let grower = lines
        .iter()
        .find(|l| l.entrant_id.as_u128() == 1)
        .expect("line");
    assert!(grower.reached == Some(true) && grower.qualified);
    assert_eq!(grower.target, Some(d("1100")));
    let newcomer = lines
        .iter()
        .find(|l| l.entrant_id.as_u128() == 2)
        .expect("line");
    assert_eq!(newcomer.reached, Some(false));
    assert!(!newcomer.qualified);
    // Without a target there is no progress: ranked after, never by its score in cents.
    assert_eq!(newcomer.rank, Some(2));
}

fn arb_entrants() -> impl Strategy<Value = Vec<Entrant>> {
    prop::collection::vec((0i64..20, 1u8..4, 0u32..5), 0..25).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (revenue, potential, day))| {
                let mut e = entrant(i as u128 + 1, revenue * 100);
                e.sector = Sector {
                    potential_index: Exact::from_parts(i64::from(potential) * 5, 1),
                    market_share: d("0.2"),
                };
                e.totals.last_sale_at =
                    NaiveDate::from_ymd_opt(2026, 5, day + 1).and_then(|d| d.and_hms_opt(0, 0, 0));
                e
            })
            .collect()
    })
}

fn arb_rules() -> impl Strategy<Value = ScoringRules> {
    (
        any::<bool>(),
        prop::option::of(0i64..1_500),
        prop::collection::vec(
            prop_oneof![
                Just(TieBreak::HigherRawValue),
                Just(TieBreak::FirstToReach),
                Just(TieBreak::MoreUnits)
            ],
            0..3,
        ),
    )
        .prop_map(|(fair, minimum, tie_break)| ScoringRules {
            kind: ChallengeKind::Competition,
            objective: Objective::Revenue {},
            fairness: Fairness {
                divide_by_potential: fair,
                weight_growth_by_market_share: false,
            },
            threshold: minimum.map(|minimum| Threshold {
                basis: ThresholdBasis::Score,
                minimum: Exact::from_int(minimum),
            }),
            tie_break,
            target: None,
        })
}

proptest! {
    #[test]
    fn input_order_never_changes_the_standings(entrants in arb_entrants(), r in arb_rules()) {
        let forward = standings(&r, &entrants);
        let mut reversed_input = entrants.clone();
        reversed_input.reverse();
        prop_assert_eq!(&forward, &standings(&r, &reversed_input));
        let mut rotated = entrants.clone();
        if !rotated.is_empty() {
            rotated.rotate_left(entrants.len() / 2);
        }
        prop_assert_eq!(forward, standings(&r, &rotated));
    }

    #[test]
    fn ranks_are_competition_ranks(entrants in arb_entrants(), r in arb_rules()) {
        let lines = standings(&r, &entrants);
        prop_assert_eq!(lines.len(), entrants.len());
        let ranked: Vec<&Line> = lines.iter().take_while(|l| l.rank.is_some()).collect();
        prop_assert!(lines[ranked.len()..].iter().all(|l| l.rank.is_none()), "unranked lines come last");
        for (index, line) in ranked.iter().enumerate() {
            let rank = line.rank.unwrap_or_default() as usize;
            // A rank is one more than the number of lines strictly ahead.
            prop_assert!(rank <= index + 1);
            if index > 0 {
                let previous = ranked[index - 1].rank.unwrap_or_default() as usize;
                prop_assert!(rank == previous || rank == index + 1);
            } else {
                prop_assert_eq!(rank, 1);
            }
            // Nobody ranked has a lower score than someone ranked after them.
            if index > 0 {
                prop_assert!(ranked[index - 1].score >= line.score);
            }
        }
    }

    #[test]
    fn the_threshold_decides_who_is_ranked(entrants in arb_entrants(), r in arb_rules()) {
        for line in standings(&r, &entrants) {
            let passes = match r.threshold {
                Some(t) => line.score.is_some_and(|s| s >= t.minimum),
                None => line.score.is_some(),
            };
            prop_assert_eq!(line.rank.is_some(), passes);
            prop_assert_eq!(line.qualified, passes);
        }
    }

    #[test]
    fn without_tie_break_equal_scores_share_a_rank(entrants in arb_entrants()) {
        let mut r = rules(ChallengeKind::Competition);
        r.tie_break.clear();
        let lines = standings(&r, &entrants);
        for pair in lines.windows(2) {
            if pair[0].score == pair[1].score {
                prop_assert_eq!(pair[0].rank, pair[1].rank);
            }
        }
    }
}

#[test]
fn a_line_is_explained_step_by_step() {
    let mut r = rules(ChallengeKind::Competition);
    r.fairness.divide_by_potential = true;
    r.threshold = Some(Threshold {
        basis: ThresholdBasis::Raw,
        minimum: d("100"),
    });
    let mut e = entrant(1, 1_250);
    e.sector = sector("1.25", "0");
    let lines = standings(&r, &[e]);
    let steps = explain(&r, &lines[0]);
    assert_eq!(
        steps,
        [
            "raw value: 1250 minor units",
            "divided by the region's potential index 1.25: 1250 → 1000",
            "score: 1000",
            "threshold: raw value at least 100: passed",
            "rank: 1",
        ]
    );
}

#[test]
fn growth_of_exactly_ten_percent_reaches_a_ten_percent_target() {
    // The case that f64 got wrong: 700,000 × 1.1 was 770,000.0000000001.
    let mut r = rules(ChallengeKind::Incentive);
    r.target = Some(Target::GrowthPercent { percent: d("10") });
    let mut e = entrant(1, 770_000);
    e.totals.baseline_revenue_cents = 700_000;
    let line = &standings(&r, &[e])[0];
    assert_eq!(line.target, Some(d("770000")));
    assert_eq!(line.reached, Some(true));
    assert_eq!(line.progress_percent, Some(d("100")));
}

#[test]
fn a_tie_break_that_decided_is_said() {
    let mut r = rules(ChallengeKind::Competition);
    r.tie_break = vec![TieBreak::MoreUnits];
    let mut a = entrant(1, 300);
    a.totals.units = 5;
    let mut b = entrant(2, 300);
    b.totals.units = 9;
    let c = entrant(3, 100);
    let lines = standings(&r, &[a, b, c]);
    assert_eq!(ranks(&lines), [(2, Some(1)), (1, Some(2)), (3, Some(3))]);
    assert!(lines[0].tied && lines[1].tied && !lines[2].tied);
    assert_eq!(lines[0].tie_break, Some(TieBreak::MoreUnits));
    assert_eq!(lines[1].tie_break, Some(TieBreak::MoreUnits));
    assert_eq!(lines[2].tie_break, None);
    let steps = explain(&r, &lines[1]);
    assert_eq!(
        steps.last().map(String::as_str),
        Some("rank: 2 (same score as another line; decided by the tie-break more_units)")
    );
    // Without a tie-break, the same two share the rank and the line says so.
    r.tie_break.clear();
    let lines = standings(&r, &[entrant(1, 300), entrant(2, 300)]);
    assert_eq!(ranks(&lines), [(1, Some(1)), (2, Some(1))]);
    assert!(explain(&r, &lines[0])
        .last()
        .is_some_and(|s| s.contains("the rank is shared")));
}

proptest! {
    /// Growth of exactly p % over any baseline reaches a p % target; one minor unit less
    /// does not, whenever the exact target is above it.
    #[test]
    fn exact_growth_reaches_its_target(baseline in 1i64..10_000_000_000, percent_hundredths in 1i64..50_000) {
        let percent = Exact::from_parts(percent_hundredths, 2);
        let mut r = rules(ChallengeKind::Incentive);
        r.target = Some(Target::GrowthPercent { percent });
        // The smallest whole revenue at or above baseline × (100 + p) / 100.
        let numerator = i128::from(baseline) * (10_000 + i128::from(percent_hundredths));
        let revenue = i64::try_from((numerator + 9_999) / 10_000).expect("fits");
        let mut e = entrant(1, revenue);
        e.totals.baseline_revenue_cents = baseline;
        let line = &standings(&r, &[e.clone()])[0];
        prop_assert_eq!(line.reached, Some(true), "target {:?} revenue {}", line.target, revenue);
        e.totals.revenue_cents = revenue - 1;
        let below = &standings(&r, &[e])[0];
        if below.target.is_some_and(|t| t > Exact::from_int(revenue - 1)) {
            prop_assert_eq!(below.reached, Some(false));
        }
    }

    /// Two ranked lines with equal scores share a rank, unless the line records the
    /// tie-break rule that separated them.
    #[test]
    fn equal_scores_differ_in_rank_only_with_a_tie_break_reason(entrants in arb_entrants(), r in arb_rules()) {
        let lines = standings(&r, &entrants);
        for pair in lines.windows(2) {
            if pair[0].rank.is_some() && pair[1].rank.is_some() && pair[0].score == pair[1].score {
                prop_assert!(pair[0].tied && pair[1].tied);
                if pair[0].rank != pair[1].rank {
                    prop_assert!(pair[1].tie_break.is_some(), "{:?}", pair);
                }
            }
        }
    }

    /// A frozen line is the live line written and read back: the same exact values.
    #[test]
    fn frozen_lines_read_back_equal(entrants in arb_entrants(), r in arb_rules()) {
        for line in standings(&r, &entrants) {
            let text = serde_json::to_string(&line).expect("json");
            prop_assert_eq!(serde_json::from_str::<Line>(&text).expect("read back"), line);
        }
    }
}
