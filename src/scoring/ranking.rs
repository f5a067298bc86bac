//! Ranking scored lines: by score (competitions) or by progress towards the target
//! (incentives), then by the declared tie-break chain. Lines still equal after the chain
//! share a rank (1, 2, 2, 4). Lines that did not pass the threshold are not ranked and
//! come last. Ties are listed by entrant id, so the order never depends on the input's.
//!
//! Scores are compared exactly ([`Exact`](super::Exact) values, already rounded by the
//! one rule), so two lines that show the same score are tied, and two that differ are
//! not. Each ranked line records whether it is tied with a neighbour and which tie-break
//! rule, if any, placed it: the explanation says so.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ChallengeKind, Exact, Line, ScoringRules};

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

impl TieBreak {
    pub fn as_str(self) -> &'static str {
        match self {
            TieBreak::HigherRawValue => "higher_raw_value",
            TieBreak::FirstToReach => "first_to_reach",
            TieBreak::MoreUnits => "more_units",
            TieBreak::MoreNewCustomers => "more_new_customers",
        }
    }
}

/// Without a value (`None`), a line comes after every line with one: `Option`'s order
/// puts `None` first, so comparisons below read "b against a" for best first.
fn primary(kind: ChallengeKind, line: &Line) -> Option<Exact> {
    match kind {
        ChallengeKind::Competition => line.score,
        // Without a target (a growth target without baseline) there is no progress: such
        // lines come after every line with one, never mixed with percentages.
        ChallengeKind::Incentive => line.progress_percent,
    }
}

/// One tie-break rule between two lines, best first.
fn break_tie(rule: TieBreak, a: &Line, b: &Line) -> Ordering {
    match rule {
        TieBreak::HigherRawValue => b.raw_value.cmp(&a.raw_value),
        TieBreak::FirstToReach => match (a.totals.last_sale_at, b.totals.last_sale_at) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
        TieBreak::MoreUnits => b.totals.units.cmp(&a.totals.units),
        TieBreak::MoreNewCustomers => b.totals.new_customers.cmp(&a.totals.new_customers),
    }
}

/// How two lines compare: the order (best first; `Equal` means tied after the whole
/// chain), whether their primary values are equal, and the rule that separated them.
fn compare_explained(
    rules: &ScoringRules,
    a: &Line,
    b: &Line,
) -> (Ordering, bool, Option<TieBreak>) {
    let ordering = primary(rules.kind, b).cmp(&primary(rules.kind, a));
    if ordering != Ordering::Equal {
        return (ordering, false, None);
    }
    for &rule in &rules.tie_break {
        let ordering = break_tie(rule, a, b);
        if ordering != Ordering::Equal {
            return (ordering, true, Some(rule));
        }
    }
    (Ordering::Equal, true, None)
}

/// Orders two lines by primary value then the tie-break chain, best first; `Equal` means
/// tied.
fn compare(rules: &ScoringRules, a: &Line, b: &Line) -> Ordering {
    compare_explained(rules, a, b).0
}

/// What can be ranked: a [`Line`], or anything that carries one (a line with who it is
/// about), so a live table ranks its own lines without taking them apart.
pub trait Ranked {
    fn line(&self) -> &Line;
    fn line_mut(&mut self) -> &mut Line;
}

impl Ranked for Line {
    fn line(&self) -> &Line {
        self
    }
    fn line_mut(&mut self) -> &mut Line {
        self
    }
}

/// Ranks the lines and returns them in display order. Only the ranks, ties and
/// tie-breaks are written: the rest of each line is its own. The sort is stable and
/// adaptive, so lines already nearly in order (a live table after a few changes) cost
/// about one pass.
pub fn rank<T: Ranked>(rules: &ScoringRules, lines: Vec<T>) -> Vec<T> {
    let (mut ranked, mut others): (Vec<T>, Vec<T>) =
        lines.into_iter().partition(|l| l.line().passed_threshold);
    ranked.sort_by(|a, b| {
        let (a, b) = (a.line(), b.line());
        compare(rules, a, b).then(a.entrant_id.cmp(&b.entrant_id))
    });
    // Each pair of neighbours is compared once: what a line is to the next is what the
    // next is to its previous.
    let mut with_previous = None;
    for index in 0..ranked.len() {
        let with_next = ranked
            .get(index + 1)
            .map(|next| compare_explained(rules, ranked[index].line(), next.line()));
        let tied_with_previous = with_previous.is_some_and(|(o, _, _)| o == Ordering::Equal);
        let rank = if tied_with_previous {
            ranked[index - 1].line().rank
        } else {
            Some(index as u32 + 1)
        };
        // The rule that set this line apart from an equal neighbour: the one above
        // first (it decided this line's rank), else the one below.
        let separated = |c: Option<(Ordering, bool, Option<TieBreak>)>| {
            c.and_then(|(_, equal, rule)| equal.then_some(rule).flatten())
        };
        let tied = with_previous.is_some_and(|(_, equal, _)| equal)
            || with_next.is_some_and(|(_, equal, _)| equal);
        let tie_break = separated(with_previous).or(separated(with_next));
        // Written only when different: a shared line is copied only if its rank moved.
        let current = ranked[index].line();
        if (current.rank, current.tied, current.tie_break) != (rank, tied, tie_break) {
            let line = ranked[index].line_mut();
            line.rank = rank;
            line.tied = tied;
            line.tie_break = tie_break;
        }
        with_previous = with_next;
    }
    others.sort_by(|a, b| {
        let (a, b) = (a.line(), b.line());
        b.score.cmp(&a.score).then(a.entrant_id.cmp(&b.entrant_id))
    });
    for line in &mut others {
        let current = line.line();
        if (current.rank, current.tied, current.tie_break) != (None, false, None) {
            let line = line.line_mut();
            line.rank = None;
            line.tied = false;
            line.tie_break = None;
        }
    }
    ranked.extend(others);
    ranked
}
