//! Simulation: the standings a challenge would have under other rules (another rule
//! version, other parameters, another threshold…), compared line by line with its current
//! ones. Nothing is written; the comparison is a plain function.

use std::sync::Arc;

use std::collections::HashMap;

use uuid::Uuid;

use super::standings::EntrantLine;
use crate::scoring::Exact;

/// Where an entrant stands in one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Placing {
    pub rank: Option<u32>,
    pub score: Option<Exact>,
    pub qualified: bool,
    pub detail: Option<String>,
}

impl From<&EntrantLine> for Placing {
    fn from(line: &EntrantLine) -> Self {
        Self {
            rank: line.line.rank,
            score: line.line.score,
            qualified: line.line.qualified,
            detail: line.line.detail.clone(),
        }
    }
}

/// One entrant whose line differs between the current and the simulated standings.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub entrant_id: Uuid,
    pub entrant_name: String,
    /// `None` when the entrant is not in that table.
    pub current: Option<Placing>,
    pub simulated: Option<Placing>,
    /// Places gained (positive) or lost (negative); `None` unless ranked in both.
    pub rank_change: Option<i64>,
    /// Simulated score − current score; `None` unless both are defined.
    pub score_change: Option<Exact>,
}

/// What a simulation changes, in the simulated table's order (then entrants only in the
/// current one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    pub entrants: usize,
    /// Entrants whose rank changed (including ranked ↔ not ranked).
    pub moved: usize,
    pub newly_qualified: usize,
    pub no_longer_qualified: usize,
    pub changes: Vec<Change>,
}

/// Compares two standings tables line by line.
pub fn compare(current: &[Arc<EntrantLine>], simulated: &[Arc<EntrantLine>]) -> Comparison {
    let before: HashMap<Uuid, &EntrantLine> =
        current.iter().map(|l| (l.entrant_id(), &**l)).collect();
    let in_simulation: std::collections::HashSet<Uuid> =
        simulated.iter().map(|l| l.entrant_id()).collect();
    let mut seen = std::collections::HashSet::new();
    let mut comparison = Comparison::default();
    let pairs = simulated
        .iter()
        .map(|after| {
            (
                after.entrant_id(),
                before.get(&after.entrant_id()).copied(),
                Some(&**after),
            )
        })
        .chain(
            current
                .iter()
                .filter(|l| !in_simulation.contains(&l.entrant_id()))
                .map(|l| (l.entrant_id(), Some(&**l), None)),
        )
        .collect::<Vec<_>>();
    for (id, old, new) in pairs {
        if !seen.insert(id) {
            continue;
        }
        comparison.entrants += 1;
        let current = old.map(Placing::from);
        let simulated = new.map(Placing::from);
        let old_rank = current.as_ref().and_then(|p| p.rank);
        let new_rank = simulated.as_ref().and_then(|p| p.rank);
        let old_qualified = current.as_ref().is_some_and(|p| p.qualified);
        let new_qualified = simulated.as_ref().is_some_and(|p| p.qualified);
        if old_rank != new_rank {
            comparison.moved += 1;
        }
        match (old_qualified, new_qualified) {
            (false, true) => comparison.newly_qualified += 1,
            (true, false) => comparison.no_longer_qualified += 1,
            _ => {}
        }
        if current == simulated {
            continue;
        }
        let rank_change = match (old_rank, new_rank) {
            (Some(o), Some(n)) => Some(i64::from(o) - i64::from(n)),
            _ => None,
        };
        let score_change = match (
            current.as_ref().and_then(|p| p.score),
            simulated.as_ref().and_then(|p| p.score),
        ) {
            (Some(o), Some(n)) => n.checked_add(-o),
            _ => None,
        };
        let name = new
            .or(old)
            .map(|l| l.entrant_name.clone())
            .unwrap_or_default();
        comparison.changes.push(Change {
            entrant_id: id,
            entrant_name: name,
            current,
            simulated,
            rank_change,
            score_change,
        });
    }
    comparison
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenges::definition::RankingUnit;
    use crate::scoring::{Exact, Line, Totals};

    fn line(id: u128, rank: Option<u32>, score: i64, qualified: bool) -> Arc<EntrantLine> {
        Arc::new(EntrantLine {
            entrant_name: format!("E{id}"),
            unit: RankingUnit::Participant,
            region_id: None,
            organisation_id: None,
            line: Line {
                entrant_id: Uuid::from_u128(id),
                rank,
                raw_value: Some(Exact::from_int(score)),
                adjustments: Vec::new(),
                score: Some(Exact::from_int(score)),
                passed_threshold: qualified,
                qualified,
                target: None,
                progress_percent: None,
                reached: None,
                tie_break: None,
                tied: false,
                totals: Totals::default(),
                rule_qualified: None,
                detail: None,
            },
        })
    }

    #[test]
    fn only_changed_lines_are_listed_with_their_moves() {
        let current = vec![
            line(1, Some(1), 30, true),
            line(2, Some(2), 20, true),
            line(3, Some(3), 10, true),
        ];
        let simulated = vec![
            line(2, Some(1), 40, true),
            line(1, Some(2), 30, true),
            line(3, None, 5, false),
        ];
        let c = compare(&current, &simulated);
        assert_eq!(
            (
                c.entrants,
                c.moved,
                c.newly_qualified,
                c.no_longer_qualified
            ),
            (3, 3, 0, 1)
        );
        assert_eq!(c.changes.len(), 3);
        assert_eq!(c.changes[0].entrant_id, Uuid::from_u128(2));
        assert_eq!(c.changes[0].rank_change, Some(1));
        assert_eq!(c.changes[0].score_change, Some(Exact::from_int(20)));
        assert_eq!(c.changes[1].rank_change, Some(-1));
        assert_eq!(c.changes[1].score_change, Some(Exact::from_int(0)));
        assert_eq!(c.changes[2].rank_change, None);
    }

    #[test]
    fn identical_tables_have_no_changes() {
        let table = vec![line(1, Some(1), 3, true), line(2, Some(2), 2, true)];
        let c = compare(&table, &table);
        assert_eq!((c.entrants, c.moved, c.changes.len()), (2, 0, 0));
    }

    #[test]
    fn entrants_missing_from_one_side_are_changes() {
        let c = compare(&[line(1, Some(1), 3, true)], &[line(2, Some(1), 3, true)]);
        assert_eq!(c.entrants, 2);
        assert_eq!(c.changes.len(), 2);
        assert!(c.changes[0].current.is_none());
        assert!(c.changes[1].simulated.is_none());
        assert_eq!((c.newly_qualified, c.no_longer_qualified), (1, 1));
    }
}
