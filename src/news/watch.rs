//! The watcher: notices what changed in running challenges and records it as news.
//!
//! A background task on every instance looks at the running challenges each time the
//! standings engine says a table changed, and at least every
//! `PODIUM_NEWS_WATCH_INTERVAL_MS`. It computes nothing: it takes the engine's current
//! table and compares it with what the database remembers of the challenge
//! (`challenge_watch`): a new leader, a participant past the threshold or at its target
//! become news. The remembered state moves forward conditionally on the change (`seq`)
//! the table was current at, so with several instances, which all serve the same table
//! at the same change, exactly one records each piece of news. It also records, once,
//! that a challenge ends soon, and keeps rank snapshots for digests. What changed is
//! decided by plain functions ([`state_of`], [`changes`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::bus::EventBus;
use super::{record, score_text, Draft, Kind, Subject};
use crate::challenges::engine::Engine;
use crate::challenges::lifecycle::Status;
use crate::challenges::standings::{Challenge, EntrantLine, Table};
use crate::db::{DbConnection, Pool};
use crate::error::AppError;
use crate::models::watch::{self as rows, SnapshotRow, WatchRow};
use crate::models::{challenge, now};

/// What the watcher remembers of a challenge: who leads, who passed the threshold, who
/// reached the target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub leaders: BTreeSet<Uuid>,
    pub passed: BTreeSet<Uuid>,
    pub reached: BTreeSet<Uuid>,
}

/// The state a table shows. A leader is ranked first with a positive score (before the
/// first sale everybody is "first" with nothing); passing the threshold counts only when
/// the challenge has one.
pub fn state_of(lines: &[Arc<EntrantLine>], has_threshold: bool) -> State {
    let mut state = State::default();
    for line in lines {
        let l = &line.line;
        if l.rank == Some(1) && l.score.is_some_and(|s| s.is_positive()) {
            state.leaders.insert(l.entrant_id);
        }
        if has_threshold && l.passed_threshold && l.raw_value.is_some() {
            state.passed.insert(l.entrant_id);
        }
        if l.reached == Some(true) {
            state.reached.insert(l.entrant_id);
        }
    }
    state
}

/// What is new in `after` compared with `before`, in the table's order: new leaders,
/// then newly passed thresholds, then newly reached targets.
pub fn changes<'a>(
    before: &State,
    after: &State,
    lines: &'a [Arc<EntrantLine>],
) -> Vec<(Kind, &'a EntrantLine)> {
    let mut found = Vec::new();
    for (kind, was, is) in [
        (Kind::LeaderChanged, &before.leaders, &after.leaders),
        (Kind::ThresholdPassed, &before.passed, &after.passed),
        (Kind::TargetReached, &before.reached, &after.reached),
    ] {
        for line in lines {
            let id = line.entrant_id();
            if is.contains(&id) && !was.contains(&id) {
                found.push((kind, &**line));
            }
        }
    }
    found
}

/// The news item for one change.
pub fn draft_for(challenge: &Challenge, kind: Kind, line: &EntrantLine) -> Draft {
    let name = &line.entrant_name;
    let unit = challenge.definition.objective.unit();
    let score = line
        .line
        .score
        .map(|s| score_text(s, unit, &challenge.currency))
        .unwrap_or_default();
    let message = match kind {
        Kind::LeaderChanged => {
            format!("{name} leads “{}” with a score of {score}.", challenge.name)
        }
        Kind::ThresholdPassed => format!("{name} passed the threshold of “{}”.", challenge.name),
        _ => format!(
            "{name} reached the target of “{}” ({}%).",
            challenge.name,
            line.line
                .progress_percent
                .map(|p| format!("{p:.0}"))
                .unwrap_or_default()
        ),
    };
    let mut draft = Draft::new(kind, challenge.id, message);
    draft.subject = Some(Subject {
        entrant_id: line.entrant_id(),
        name: name.clone(),
        region_id: line.region_id,
        organisation_id: line.organisation_id,
    });
    draft.details = serde_json::json!({
        "rank": line.line.rank,
        "score": line.line.score,
        "raw_value": line.line.raw_value,
        "progress_percent": line.line.progress_percent,
    });
    draft
}

/// How the watcher works, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct WatchSettings {
    pub interval: Duration,
    /// Least time between two rank snapshots of a challenge.
    pub snapshot_every: chrono::Duration,
    /// How long before its end a challenge is "ending soon".
    pub ending_soon: chrono::Duration,
}

pub struct Watcher {
    pub pool: Pool,
    pub engine: Arc<Engine>,
    pub bus: Arc<EventBus>,
    pub settings: WatchSettings,
}

/// The change each challenge's table was observed at, on this instance.
type Seen = HashMap<Uuid, i64>;

impl Watcher {
    /// Runs until the server's runtime stops.
    pub async fn run(self) {
        let mut seen = Seen::new();
        let mut changed = self.bus.subscribe();
        // While tables change continuously, one look per this much time at most.
        let least = self.settings.interval.min(Duration::from_millis(200));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.settings.interval) => {}
                // A changed table (or a lag, which says the same): look now.
                _ = changed.recv() => {}
            }
            // What else changed meanwhile is seen by this one look.
            while changed.try_recv().is_ok() {}
            match self.tick(seen.clone()).await {
                Ok(next) => seen = next,
                Err(e) => tracing::warn!(error = %e, "the news watcher could not look"),
            }
            tokio::time::sleep(least).await;
        }
    }

    /// One look at every running challenge; answers what it saw.
    async fn tick(&self, mut seen: Seen) -> Result<Seen, AppError> {
        let engine = Arc::clone(&self.engine);
        let settings = self.settings;
        self.pool
            .run(move |conn| {
                for row in challenge::with_status(conn, Status::Running.as_str())? {
                    // One challenge that cannot be looked at never stops the others.
                    if let Err(e) = look(conn, &row, &mut seen, &engine, settings) {
                        tracing::warn!(challenge = %row.id, error = %e, "the news watcher could not look at a challenge");
                    }
                }
                Ok(seen)
            })
            .await
    }
}

/// One look at one running challenge.
fn look(
    conn: &mut DbConnection,
    row: &crate::models::challenge::ChallengeRow,
    seen: &mut Seen,
    engine: &Engine,
    settings: WatchSettings,
) -> Result<(), AppError> {
    let challenge = Challenge::try_from(row)?;
    let now = now();
    ending_soon(conn, &challenge, now, settings.ending_soon)?;
    let Some(live) = engine.snapshot(challenge.id) else {
        return Ok(());
    };
    if seen.get(&challenge.id) == Some(&live.changed_at) {
        return Ok(());
    }
    // A failing rule: nothing to compare until something changes.
    if let Ok(table) = &live.outcome {
        observe(
            conn,
            &challenge,
            table,
            live.changed_at,
            now,
            settings.snapshot_every,
        )?;
    }
    // Only once observed: a failed look is tried again at the next tick.
    seen.insert(challenge.id, live.changed_at);
    Ok(())
}

/// Compares a table, current at change `seq`, with the remembered state and records what
/// changed; the number of news recorded (0 when this or another instance already
/// observed that change or a later one).
pub fn observe(
    conn: &mut DbConnection,
    challenge: &Challenge,
    table: &Table,
    seq: i64,
    now: NaiveDateTime,
    snapshot_every: chrono::Duration,
) -> Result<usize, AppError> {
    // Most changes move scores, not who leads or qualifies: answered by a read, so the
    // watcher takes the write lock (SQLite's only one) only when there is something to
    // remember.
    if let Some(row) = rows::find(conn, challenge.id)? {
        let after = state_of(&table.lines, challenge.definition.threshold.is_some());
        let snapshot_due = rows::latest_snapshot_time(conn, challenge.id)?
            .is_none_or(|last| now - last >= snapshot_every);
        if row.change_seq >= seq || (remembered(&row)? == after && !snapshot_due) {
            return Ok(0);
        }
    }
    conn.write_transaction(|conn| {
        rows::lock(conn, challenge.id)?;
        let row = rows::find_or_create(conn, challenge.id, now)?;
        if row.change_seq >= seq {
            return Ok(0);
        }
        let before = remembered(&row)?;
        let after = state_of(&table.lines, challenge.definition.threshold.is_some());
        let next = WatchRow {
            challenge_id: row.challenge_id.clone(),
            change_seq: seq,
            leaders: ids_json(&after.leaders)?,
            passed: ids_json(&after.passed)?,
            reached: ids_json(&after.reached)?,
            observed_at: now,
        };
        if !rows::advance(conn, row.change_seq, &next)? {
            return Ok(0);
        }
        let found = changes(&before, &after, &table.lines);
        for (kind, line) in &found {
            record(conn, draft_for(challenge, *kind, line), now)?;
        }
        let due = rows::latest_snapshot_time(conn, challenge.id)?
            .is_none_or(|last| now - last >= snapshot_every);
        if due {
            rows::insert_snapshot(conn, &snapshot(challenge.id, &table.lines, now)?)?;
        }
        Ok(found.len())
    })
}

fn remembered(row: &WatchRow) -> Result<State, AppError> {
    let set = |json: &str| {
        serde_json::from_str::<BTreeSet<Uuid>>(json)
            .map_err(|e| AppError::internal(anyhow::anyhow!("unreadable watch state: {e}")))
    };
    Ok(State {
        leaders: set(&row.leaders)?,
        passed: set(&row.passed)?,
        reached: set(&row.reached)?,
    })
}

fn ids_json(ids: &BTreeSet<Uuid>) -> Result<String, AppError> {
    serde_json::to_string(ids).map_err(AppError::internal)
}

/// The ranks of a table, for a later digest.
fn snapshot(
    challenge_id: Uuid,
    lines: &[Arc<EntrantLine>],
    now: NaiveDateTime,
) -> Result<SnapshotRow, AppError> {
    let ranks: BTreeMap<Uuid, u32> = lines
        .iter()
        .filter_map(|l| l.line.rank.map(|r| (l.entrant_id(), r)))
        .collect();
    Ok(SnapshotRow {
        id: Uuid::now_v7().to_string(),
        challenge_id: challenge_id.to_string(),
        taken_at: now,
        ranks: serde_json::to_string(&ranks).map_err(AppError::internal)?,
    })
}

/// Records once that a running challenge ends within `window`; whether it did now.
fn ending_soon(
    conn: &mut DbConnection,
    challenge: &Challenge,
    now: NaiveDateTime,
    window: chrono::Duration,
) -> Result<bool, AppError> {
    let ends_at = challenge.period.ends_at;
    if ends_at <= now || ends_at - now > window {
        return Ok(false);
    }
    let key = format!("ending_soon:{}:{}", challenge.id, ends_at);
    // Said already: no need to take the news lock to find out.
    if crate::models::news::exists_with_key(conn, &key)? {
        return Ok(false);
    }
    let left = ends_at - now;
    let in_words = if left.num_hours() >= 48 {
        format!("{} days", left.num_days())
    } else if left.num_hours() >= 1 {
        format!("{} hours", left.num_hours())
    } else {
        format!("{} minutes", left.num_minutes().max(1))
    };
    let mut draft = Draft::new(
        Kind::EndingSoon,
        challenge.id,
        format!(
            "“{}” ends in {in_words}, on {} UTC.",
            challenge.name,
            ends_at.format("%Y-%m-%d %H:%M")
        ),
    );
    draft.details = serde_json::json!({ "ends_at": crate::models::utc(ends_at) });
    draft.dedupe_key = Some(key);
    Ok(record(conn, draft, now)?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenges::definition::RankingUnit;
    use crate::scoring::{Exact, Line, Totals};

    fn line(
        rank: Option<u32>,
        score: i64,
        passed: bool,
        reached: Option<bool>,
    ) -> Arc<EntrantLine> {
        Arc::new(EntrantLine {
            entrant_name: format!("E{}", rank.unwrap_or(0)),
            unit: RankingUnit::Participant,
            region_id: None,
            organisation_id: None,
            line: Line {
                entrant_id: Uuid::new_v4(),
                rank,
                raw_value: Some(Exact::from_int(score)),
                adjustments: Vec::new(),
                score: Some(Exact::from_int(score)),
                passed_threshold: passed,
                qualified: passed,
                target: None,
                progress_percent: None,
                reached,
                tie_break: None,
                tied: false,
                totals: Totals::default(),
                rule_qualified: None,
                detail: None,
            },
        })
    }

    #[test]
    fn nobody_leads_with_nothing() {
        let lines = vec![line(Some(1), 0, true, None), line(Some(1), 0, true, None)];
        assert!(state_of(&lines, false).leaders.is_empty());
    }

    #[test]
    fn a_new_leader_is_news_once() {
        let a = line(Some(1), 10, true, None);
        let b = line(Some(2), 5, true, None);
        let first = state_of(&[a.clone(), b.clone()], false);
        let news = changes(&State::default(), &first, std::slice::from_ref(&a));
        assert_eq!(news.len(), 1);
        assert_eq!(news[0].0, Kind::LeaderChanged);
        // The same table again: nothing new.
        let lines = vec![a.clone(), b.clone()];
        assert!(changes(&first, &state_of(&lines, false), &lines).is_empty());
        // B overtakes A.
        let mut b2 = EntrantLine::clone(&b);
        b2.line.rank = Some(1);
        b2.line.score = Some(Exact::from_int(20));
        let mut a2 = EntrantLine::clone(&a);
        a2.line.rank = Some(2);
        let lines = vec![Arc::new(b2), Arc::new(a2)];
        let after = state_of(&lines, false);
        let news = changes(&first, &after, &lines);
        assert_eq!(news.len(), 1);
        assert_eq!(news[0].1.entrant_id(), b.entrant_id());
    }

    #[test]
    fn thresholds_count_only_when_the_challenge_has_one() {
        let lines = vec![line(Some(1), 10, true, None)];
        assert!(state_of(&lines, false).passed.is_empty());
        let with = state_of(&lines, true);
        assert_eq!(with.passed.len(), 1);
        let news = changes(&State::default(), &with, &lines);
        assert!(news.iter().any(|(k, _)| *k == Kind::ThresholdPassed));
    }

    #[test]
    fn reached_targets_are_news() {
        let lines = vec![
            line(None, 3, true, Some(true)),
            line(None, 1, true, Some(false)),
        ];
        let after = state_of(&lines, false);
        let news = changes(&State::default(), &after, &lines);
        let reached: Vec<_> = news
            .iter()
            .filter(|(k, _)| *k == Kind::TargetReached)
            .collect();
        assert_eq!(reached.len(), 1);
        assert_eq!(reached[0].1.entrant_id(), lines[0].entrant_id());
    }
}
