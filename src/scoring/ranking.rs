//! Ranking scored lines: by score (competitions) or by progress towards the target
//! (incentives), then by the declared tie-break chain. Lines still equal after the chain
//! share a rank (1, 2, 2, 4). Lines that did not pass the threshold are not ranked and
//! come last. Ties are listed by entrant id, so the order never depends on the input's.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ChallengeKind, Line, ScoringRules};

/// One rule to separate tied lines, declared up front with the challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    /// The higher raw value (before fairness adjustments) wins.
    HigherRawValue,
    /// Who reached their result first: the earlier last counted sale wins.
    FirstToReach,
    /// The more units sold in the period wins.
    MoreUnits,
    /// The more new customers won in the period wins.
    MoreNewCustomers,
}

/// Scores are compared to the millionth, so that float noise never splits a tie.
fn quantized(value: Option<f64>) -> f64 {
    value.map_or(f64::NEG_INFINITY, |v| (v * 1e6).round())
}

fn primary(kind: ChallengeKind, line: &Line) -> f64 {
    match kind {
        ChallengeKind::Competition => quantized(line.score),
        // Without a target (a growth target without baseline) there is no progress: such
        // lines come after every line with one, never mixed with percentages.
        ChallengeKind::Incentive => quantized(line.progress_percent),
    }
}

/// Orders two lines by primary value then the tie-break chain, best first; `Equal` means
/// tied.
fn compare(rules: &ScoringRules, a: &Line, b: &Line) -> Ordering {
    let mut ordering = primary(rules.kind, b).total_cmp(&primary(rules.kind, a));
    for rule in &rules.tie_break {
        if ordering != Ordering::Equal {
            break;
        }
        ordering = match rule {
            TieBreak::HigherRawValue => quantized(b.raw_value).total_cmp(&quantized(a.raw_value)),
            TieBreak::FirstToReach => match (a.totals.last_sale_at, b.totals.last_sale_at) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
            TieBreak::MoreUnits => b.totals.units.cmp(&a.totals.units),
            TieBreak::MoreNewCustomers => b.totals.new_customers.cmp(&a.totals.new_customers),
        };
    }
    ordering
}

/// Ranks the lines and returns them in display order.
pub fn rank(rules: &ScoringRules, lines: Vec<Line>) -> Vec<Line> {
    let (mut ranked, mut others): (Vec<Line>, Vec<Line>) =
        lines.into_iter().partition(|l| l.passed_threshold);
    ranked.sort_by(|a, b| compare(rules, a, b).then(a.entrant_id.cmp(&b.entrant_id)));
    for index in 0..ranked.len() {
        let tied_with_previous =
            index > 0 && compare(rules, &ranked[index - 1], &ranked[index]) == Ordering::Equal;
        ranked[index].rank = if tied_with_previous {
            ranked[index - 1].rank
        } else {
            Some(index as u32 + 1)
        };
    }
    others.sort_by(|a, b| {
        quantized(b.score)
            .total_cmp(&quantized(a.score))
            .then(a.entrant_id.cmp(&b.entrant_id))
    });
    for line in &mut others {
        line.rank = None;
    }
    ranked.extend(others);
    ranked
}
