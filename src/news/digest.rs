//! The digest's arithmetic: who moved between a rank snapshot and now.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::challenges::standings::EntrantLine;

/// An entrant whose rank changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub entrant_id: Uuid,
    pub rank_before: u32,
    pub rank_now: u32,
}

impl Move {
    /// Places gained (negative when lost).
    pub fn places(&self) -> i64 {
        i64::from(self.rank_before) - i64::from(self.rank_now)
    }
}

/// The lines ranked both then and now whose rank changed, biggest moves first (then by
/// rank now), at most `limit`.
pub fn movers(before: &BTreeMap<Uuid, u32>, lines: &[EntrantLine], limit: usize) -> Vec<Move> {
    let mut moves: Vec<Move> = lines
        .iter()
        .filter_map(|line| {
            let now = line.line.rank?;
            let then = *before.get(&line.entrant_id())?;
            (now != then).then_some(Move {
                entrant_id: line.entrant_id(),
                rank_before: then,
                rank_now: now,
            })
        })
        .collect();
    moves.sort_by(|a, b| {
        b.places()
            .abs()
            .cmp(&a.places().abs())
            .then(a.rank_now.cmp(&b.rank_now))
            .then(a.entrant_id.cmp(&b.entrant_id))
    });
    moves.truncate(limit);
    moves
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenges::definition::RankingUnit;
    use crate::scoring::{Exact, Line, Totals};

    fn line(id: Uuid, rank: Option<u32>) -> EntrantLine {
        EntrantLine {
            entrant_name: String::new(),
            unit: RankingUnit::Participant,
            region_id: None,
            organisation_id: None,
            line: Line {
                entrant_id: id,
                rank,
                raw_value: Some(Exact::ONE),
                adjustments: Vec::new(),
                score: Some(Exact::ONE),
                passed_threshold: true,
                qualified: true,
                target: None,
                progress_percent: None,
                reached: None,
                tie_break: None,
                tied: false,
                totals: Totals::default(),
                rule_qualified: None,
                detail: None,
            },
        }
    }

    #[test]
    fn biggest_moves_come_first_and_the_unmoved_are_left_out() {
        let (a, b, c, d) = (
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        );
        let before = BTreeMap::from([(a, 1), (b, 2), (c, 3), (d, 4)]);
        // d climbs 3 places, a loses 1, b and c lose 1.
        let now = vec![
            line(d, Some(1)),
            line(a, Some(2)),
            line(b, Some(3)),
            line(c, Some(4)),
        ];
        let moves = movers(&before, &now, 10);
        assert_eq!(moves[0].entrant_id, d);
        assert_eq!(moves[0].places(), 3);
        assert_eq!(moves.len(), 4);
        assert!(moves[1..].iter().all(|m| m.places() == -1));
        assert_eq!(movers(&before, &now, 2).len(), 2);
    }

    #[test]
    fn entrants_not_ranked_then_or_now_do_not_move() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let before = BTreeMap::from([(a, 1)]);
        let now = vec![line(b, Some(1)), line(a, None)];
        assert!(movers(&before, &now, 10).is_empty());
    }
}
