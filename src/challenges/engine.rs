//! The standings engine: every challenge that is not frozen (draft, scheduled, running)
//! has its table kept current in memory by applying what each committed write changed.
//!
//! **One ordered log.** Writes record a [`Change`] in their transaction
//! (`models::change`). One thread per instance follows the log in `seq` order, woken by
//! a reader that needs a newer change, by PostgreSQL's `NOTIFY` (other instances' writes)
//! or by a short poll, so a lost notification delays an update by one poll and never loses
//! it. Every instance applies the same changes in the same order to tables built from the
//! same database, so all serve the same table at the same `seq`.
//!
//! **Per challenge, per entrant.** A table is built from the database when the engine
//! starts and when its challenge changes (definition, rule version, status). A sale batch
//! touches only the entrants of its participants, in the challenges whose audience they
//! belong to and whose period the lines can still count for; a participant, region, team,
//! organisation or customer change touches only the entrants it is about. Touched
//! entrants' lines are computed again by [`standings::compute_part`], the same code as a
//! whole table restricted to their participants and sales (so a rule runs again for
//! those entrants only), then every line is ranked again. A line never depends on the
//! others, so the result equals a whole computation; the property test in
//! `tests/api/engine.rs` checks it on random histories, on both databases.
//!
//! Recomputing an entrant from the database, rather than adding a change's amounts in
//! memory, makes every application idempotent: applying a change twice, or after a build
//! that already saw it, gives the same table. That is what lets a build run while writes
//! continue, and a failed application simply run again.
//!
//! **Reads** take the challenge's current snapshot, an `Arc` swapped in whole, never
//! locked while it is computed, and never wait for the changes in flight: under steady
//! ingestion there always are some, and a reader that waited for each would be served
//! at the pace of the engine's rounds (375 reads/s against 2,000 without writes, see
//! `BENCHMARKS.md`). A table is behind the log by the engine's lag, a few milliseconds on
//! one instance. A reader that must see a given write (its own, read back, possibly on
//! another instance) names that write's change, which every write's answer carries
//! (`api::consistency`): the read then waits, without a database connection, until the
//! engine has applied it. This is session consistency in the manner of causally
//! consistent reads elsewhere (a read "after" a cluster time); a reader loading a
//! challenge newer than the engine's table (just created or changed) waits likewise.

use std::collections::{BTreeSet, HashMap};
use std::sync::{mpsc, Arc, RwLock, Weak};
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::watch;
use uuid::Uuid;

use super::definition::RankingUnit;
use super::standings::{self, Challenge, EntrantLine, Table};
use crate::db::{DbConnection, Pool};
use crate::error::AppError;
use crate::models::change::{self, Change};
use crate::models::{challenge, customer, parse_id, participant};
use crate::news::bus::EventBus;
use crate::rules::runner::RuleFailure;
use crate::rules::RuleRunner;
use crate::scoring::{ranking, ScoringRules};

/// Changes read from the log at once.
const BATCH: i64 = 1_000;

/// How long the log keeps a change, and how often an instance forgets older ones. An
/// instance that fell further behind (stalled that long) builds its tables again.
const KEEP: chrono::Duration = chrono::Duration::hours(1);
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// How long a reader waits for the engine to apply a change before it is told to try
/// again (503): only a stalled database makes it wait that long.
const READ_WAIT: Duration = Duration::from_secs(10);

/// The current table of one challenge, as readers get it.
#[derive(Debug, Clone)]
pub struct Live {
    /// The table, or why its rule failed (kept until something changes, so a failing
    /// rule is not run again by every reader).
    pub outcome: Result<Arc<Table>, RuleFailure>,
    /// The change after which this table last changed.
    pub changed_at: i64,
    /// The challenge's revision the table was computed for: a reader that loaded a newer
    /// one waits for the engine to apply its change.
    pub revision: NaiveDateTime,
}

/// What the engine keeps of one challenge beyond its snapshot.
struct State {
    challenge: Challenge,
    rules: ScoringRules,
    /// Lines dated at or after this never count (the period's and the baseline's end).
    horizon: NaiveDateTime,
    /// Which entrant each participant of the audience adds to.
    member_of: HashMap<Uuid, Uuid>,
    live: Arc<Live>,
}

/// The engine, shared by the app and the background tasks.
pub struct Engine {
    pool: Pool,
    runner: Arc<RuleRunner>,
    bus: Arc<EventBus>,
    snapshots: RwLock<HashMap<Uuid, Arc<Live>>>,
    /// The last change applied; -1 until the tables are first built.
    applied: watch::Sender<i64>,
    wake: std::sync::Mutex<mpsc::Sender<()>>,
    /// Challenges whose table could not be built or updated: built again at every round
    /// until it works. One challenge that fails never holds up the others.
    broken: std::sync::Mutex<BTreeSet<Uuid>>,
    /// Seconds to build one table from the database.
    build_seconds: prometheus::Histogram,
    /// Seconds to apply one batch of changes to the tables.
    apply_seconds: prometheus::Histogram,
}

/// A poisoned lock only means another thread panicked while holding it; the maps it
/// guards stay valid (snapshots are swapped whole).
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Engine {
    /// Starts the engine's thread; it builds every table, then follows the log, polling it
    /// every `poll` when nothing wakes it, until the engine is dropped.
    pub fn start(
        pool: Pool,
        runner: Arc<RuleRunner>,
        bus: Arc<EventBus>,
        poll: Duration,
    ) -> std::io::Result<Arc<Engine>> {
        let (wake, woken) = mpsc::channel();
        let engine = Arc::new(Engine {
            pool,
            runner,
            bus,
            snapshots: RwLock::new(HashMap::new()),
            applied: watch::channel(-1).0,
            wake: std::sync::Mutex::new(wake),
            broken: std::sync::Mutex::new(BTreeSet::new()),
            build_seconds: crate::metrics::histogram(
                "standings_build_seconds",
                "Time to build one live standings table from the database",
                crate::metrics::ENGINE_BUCKETS,
            ),
            apply_seconds: crate::metrics::histogram(
                "standings_apply_seconds",
                "Time to apply one batch of changes to the live standings tables",
                crate::metrics::ENGINE_BUCKETS,
            ),
        });
        let weak = Arc::downgrade(&engine);
        std::thread::Builder::new()
            .name("podium-standings".into())
            .spawn(move || follow(weak, woken, poll))?;
        Ok(engine)
    }

    /// Asks the engine's thread to read the log now.
    pub fn wake(&self) {
        if let Ok(sender) = self.wake.lock() {
            // The thread is gone only when the server stops.
            let _ = sender.send(());
        }
    }

    pub fn runner(&self) -> &RuleRunner {
        &self.runner
    }

    /// What the engine measures, for `/metrics`.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.build_seconds.clone()),
            Box::new(self.apply_seconds.clone()),
        ]
    }

    /// The last change applied (-1 before the first build).
    pub fn applied(&self) -> i64 {
        *self.applied.borrow()
    }

    /// Waits, without holding anything, until change `seq` is applied.
    pub async fn caught_up(&self, seq: i64) -> Result<(), AppError> {
        if self.applied() >= seq {
            return Ok(());
        }
        let mut applied = self.applied.subscribe();
        self.wake();
        let reached = matches!(
            tokio::time::timeout(READ_WAIT, applied.wait_for(|a| *a >= seq)).await,
            Ok(Ok(_))
        );
        if reached {
            Ok(())
        } else {
            tracing::warn!(
                seq,
                applied = self.applied(),
                "the standings engine is behind"
            );
            Err(AppError::DatabaseUnavailable)
        }
    }

    /// The current table of `challenge` (not frozen, as the caller just loaded it) and the
    /// change it reflects, without waiting for changes in flight: once change `min` is
    /// applied when the caller asks for it (its own write's, for reading it back), and
    /// otherwise at once, unless the engine has no table yet for this revision of the
    /// challenge (just created or changed: then once `latest`, read with it, is applied).
    pub async fn live(
        &self,
        challenge: &Challenge,
        min: Option<i64>,
        latest: i64,
    ) -> Result<(Arc<Table>, i64), AppError> {
        if let Some(min) = min {
            // A number past the log never came from a write's answer: waiting for it
            // would hold the request for nothing.
            if min > latest {
                return Err(AppError::bad_request(
                    "invalid_header",
                    format!("Podium-Min-Change names change {min}, past the last one recorded ({latest})"),
                ));
            }
            self.caught_up(min).await?;
        }
        // Snapshots are published before `applied` moves: this one reflects `applied`.
        let mut applied = self.applied();
        let live = match self.snapshot(challenge.id) {
            Some(live) if live.revision == challenge.revision => live,
            _ => {
                self.caught_up(latest).await?;
                applied = self.applied();
                self.snapshot(challenge.id).ok_or_else(|| {
                    tracing::warn!(challenge = %challenge.id, "no live table (its build failed)");
                    AppError::DatabaseUnavailable
                })?
            }
        };
        let table = live.outcome.clone().map_err(AppError::rule_failed)?;
        Ok((table, applied))
    }

    /// The current snapshot of a challenge, as it is now.
    pub fn snapshot(&self, id: Uuid) -> Option<Arc<Live>> {
        read(&self.snapshots).get(&id).cloned()
    }

    /// Keeps a challenge's failure to itself: its table is dropped (its readers are told to
    /// try again) and built again at the next round.
    fn isolate(&self, states: &mut HashMap<Uuid, State>, id: Uuid, result: Result<(), AppError>) {
        if let Err(e) = result {
            tracing::warn!(challenge = %id, error = %e, "a live table could not be kept; building it again");
            states.remove(&id);
            self.publish(id, None);
            if let Ok(mut broken) = self.broken.lock() {
                broken.insert(id);
            }
        }
    }

    fn publish(&self, id: Uuid, live: Option<Arc<Live>>) {
        let mut snapshots = write(&self.snapshots);
        match live {
            Some(live) => snapshots.insert(id, live),
            None => snapshots.remove(&id),
        };
    }
}

/// The engine's thread: builds, then applies the log as it grows.
fn follow(engine: Weak<Engine>, woken: mpsc::Receiver<()>, poll: Duration) {
    let mut states: HashMap<Uuid, State> = HashMap::new();
    let mut applied: i64 = -1;
    let mut pruned = std::time::Instant::now();
    loop {
        let Some(strong) = engine.upgrade() else {
            return;
        };
        if let Err(e) = catch_up(&strong, &mut states, &mut applied) {
            tracing::warn!(error = %e, "the standings engine could not read the change log");
        }
        if pruned.elapsed() >= PRUNE_EVERY {
            pruned = std::time::Instant::now();
            let forgotten = strong
                .pool
                .get()
                .and_then(|mut conn| Ok(change::prune(&mut conn, crate::models::now() - KEEP)?));
            if let Err(e) = forgotten {
                tracing::warn!(error = %e, "the standings engine could not prune the change log");
            }
        }
        drop(strong);
        match woken.recv_timeout(poll) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {
                // Wake-ups that queued meanwhile are served by this one read.
                while woken.try_recv().is_ok() {}
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Applies every change after `applied`, building all tables first when needed.
fn catch_up(
    engine: &Engine,
    states: &mut HashMap<Uuid, State>,
    applied: &mut i64,
) -> Result<(), AppError> {
    let mut conn = engine.pool.get()?;
    let conn: &mut DbConnection = &mut conn;
    let mut build = *applied < 0;
    if !build {
        let broken =
            std::mem::take(&mut *engine.broken.lock().map_err(|_| {
                AppError::internal(anyhow::anyhow!("the engine's lock is poisoned"))
            })?);
        for id in broken {
            let built = build_one(engine, conn, states, id, *applied);
            engine.isolate(states, id, built);
        }
    }
    loop {
        if build {
            // Read before building: a change committed during the build is applied after
            // it (applying it again is harmless, see the module's notes).
            let start = change::latest(conn)?;
            build_all(engine, conn, states, start)?;
            *applied = start;
            engine.applied.send_replace(start);
        }
        let batch = change::after(conn, *applied, BATCH)?;
        let Some(&(last, _)) = batch.last() else {
            return Ok(());
        };
        // A number skipped is usually a rolled-back write; but when the log no longer
        // holds the change after the last one applied, it was pruned: build again.
        build = batch[0].0 > *applied + 1
            && change::oldest(conn)?.is_some_and(|oldest| oldest > *applied + 1);
        if build {
            continue;
        }
        let started = std::time::Instant::now();
        apply(engine, conn, states, &batch, last)?;
        engine
            .apply_seconds
            .observe(started.elapsed().as_secs_f64());
        *applied = last;
        engine.applied.send_replace(last);
    }
}

/// Builds the table of every challenge that is not frozen.
fn build_all(
    engine: &Engine,
    conn: &mut DbConnection,
    states: &mut HashMap<Uuid, State>,
    seq: i64,
) -> Result<(), AppError> {
    let mut ids: BTreeSet<Uuid> = states.keys().copied().collect();
    for status in ["draft", "scheduled", "running"] {
        for row in challenge::with_status(conn, status)? {
            ids.insert(parse_id(&row.id)?);
        }
    }
    for id in ids {
        let built = build_one(engine, conn, states, id, seq);
        engine.isolate(states, id, built);
    }
    Ok(())
}

/// Builds one challenge's table from the database, or forgets it when it is frozen or
/// gone.
fn build_one(
    engine: &Engine,
    conn: &mut DbConnection,
    states: &mut HashMap<Uuid, State>,
    id: Uuid,
    seq: i64,
) -> Result<(), AppError> {
    let row = challenge::find(conn, id)?;
    let challenge = match row.as_ref().map(Challenge::try_from).transpose()? {
        Some(challenge) if !challenge.status.is_frozen() => challenge,
        _ => {
            states.remove(&id);
            engine.publish(id, None);
            return Ok(());
        }
    };
    let rules = challenge.scoring_rules();
    let started = std::time::Instant::now();
    let (outcome, member_of) =
        match standings::compute_part(conn, &challenge, &rules, &engine.runner, None) {
            Ok(part) => {
                let member_of = part.members.iter().map(|(e, p)| (*p, *e)).collect();
                let lines = part.lines.into_iter().map(Arc::new).collect();
                (Ok(table(lines)), member_of)
            }
            Err(AppError::RuleFailed { failure, .. }) => (Err(failure), HashMap::new()),
            Err(other) => {
                states.remove(&id);
                engine.publish(id, None);
                return Err(other);
            }
        };
    engine
        .build_seconds
        .observe(started.elapsed().as_secs_f64());
    tracing::debug!(challenge = %id, ms = started.elapsed().as_millis(), "built a live table");
    let horizon = challenge.baseline.map_or(challenge.period.ends_at, |b| {
        b.ends_at.max(challenge.period.ends_at)
    });
    let live = Arc::new(Live {
        outcome,
        changed_at: seq,
        revision: challenge.revision,
    });
    engine.publish(id, Some(Arc::clone(&live)));
    engine.bus.publish(id);
    states.insert(
        id,
        State {
            challenge,
            rules,
            horizon,
            member_of,
            live,
        },
    );
    Ok(())
}

fn table(lines: Vec<Arc<EntrantLine>>) -> Arc<Table> {
    Arc::new(Table {
        lines,
        computed_at: Some(crate::models::now()),
    })
}

/// What a batch of changes asks of the tables.
#[derive(Default)]
struct Work {
    everything: bool,
    rebuild: BTreeSet<Uuid>,
    /// Per challenge, the entrants to compute again.
    touched: HashMap<Uuid, BTreeSet<Uuid>>,
    /// Participants whose membership may have changed.
    moved: BTreeSet<Uuid>,
    news: BTreeSet<Uuid>,
}

impl Work {
    fn touch(&mut self, challenge: Uuid, entrant: Uuid) {
        self.touched.entry(challenge).or_default().insert(entrant);
    }

    fn sales(
        &mut self,
        states: &HashMap<Uuid, State>,
        participants: &[Uuid],
        first: NaiveDateTime,
    ) {
        for (id, state) in states {
            if first >= state.horizon {
                continue;
            }
            for p in participants {
                if let Some(entrant) = state.member_of.get(p) {
                    self.touch(*id, *entrant);
                }
            }
        }
    }
}

/// Applies one batch of changes: reads what each is about, then computes the touched
/// entrants of each table once, whatever the number of changes that touched them.
fn apply(
    engine: &Engine,
    conn: &mut DbConnection,
    states: &mut HashMap<Uuid, State>,
    batch: &[(i64, Change)],
    seq: i64,
) -> Result<(), AppError> {
    let mut work = Work::default();
    for (_, change) in batch {
        match change {
            Change::Everything => work.everything = true,
            Change::Challenge { id } => {
                work.rebuild.insert(*id);
            }
            Change::News { challenge } => {
                work.news.insert(*challenge);
            }
            Change::Sales {
                participants,
                first_sold_at,
            } => work.sales(states, participants, *first_sold_at),
            Change::Customer { id } => {
                let participants = customer::participants_with_sales(conn, *id)?;
                // A key account's past sales count for challenges of any period.
                work.sales(states, &participants, NaiveDateTime::MIN);
            }
            Change::Participant { id } => {
                work.moved.insert(*id);
                let row = participant::find(conn, *id)?;
                for (challenge_id, state) in states.iter() {
                    if let Some(old) = state.member_of.get(id) {
                        work.touch(*challenge_id, *old);
                    }
                    let now = match (&row, state.challenge.unit) {
                        (None, _) => None,
                        (Some(_), RankingUnit::Participant) => Some(*id),
                        (Some(p), RankingUnit::Team) => standings::opt_id(&p.team_id)?,
                        (Some(p), RankingUnit::Region) => standings::opt_id(&p.region_id)?,
                        (Some(p), RankingUnit::Organisation) => Some(parse_id(&p.organisation_id)?),
                    };
                    if let Some(entrant) = now {
                        work.touch(*challenge_id, entrant);
                    }
                }
            }
            Change::Region { id } => {
                for (challenge_id, state) in states.iter() {
                    if state.challenge.unit == RankingUnit::Region {
                        work.touch(*challenge_id, *id);
                    }
                    let Ok(table) = &state.live.outcome else {
                        work.rebuild.insert(*challenge_id);
                        continue;
                    };
                    for line in table.lines.iter().filter(|l| l.region_id == Some(*id)) {
                        work.touch(*challenge_id, line.entrant_id());
                    }
                }
            }
            Change::Team { id } => {
                for (challenge_id, state) in states.iter() {
                    if state.challenge.unit == RankingUnit::Team {
                        work.touch(*challenge_id, *id);
                    }
                }
            }
            Change::Organisation { id } => {
                for (challenge_id, state) in states.iter() {
                    if state.challenge.unit == RankingUnit::Organisation {
                        work.touch(*challenge_id, *id);
                    }
                }
            }
        }
    }
    if work.everything {
        build_all(engine, conn, states, seq)?;
    } else {
        for id in &work.rebuild {
            let built = build_one(engine, conn, states, *id, seq);
            engine.isolate(states, *id, built);
        }
        for (id, entrants) in &work.touched {
            if work.rebuild.contains(id) {
                continue;
            }
            let updated = update(engine, conn, states, *id, entrants, &work.moved, seq);
            engine.isolate(states, *id, updated);
        }
    }
    for id in work.news {
        engine.bus.publish(id);
    }
    Ok(())
}

/// Computes the touched entrants of one table again and ranks every line.
fn update(
    engine: &Engine,
    conn: &mut DbConnection,
    states: &mut HashMap<Uuid, State>,
    id: Uuid,
    entrants: &BTreeSet<Uuid>,
    moved: &BTreeSet<Uuid>,
    seq: i64,
) -> Result<(), AppError> {
    let Some(state) = states.get_mut(&id) else {
        return Ok(());
    };
    // Without a table (its rule failed), there is nothing to patch: build it whole; but a
    // rule that hit a limit of the sandbox (time, memory, operations, sizes) would only
    // hit it again on more data, so it stays reported and is not run again until the
    // challenge changes (a new version or new parameters rebuild it).
    let previous = match &state.live.outcome {
        Ok(previous) => Arc::clone(previous),
        Err(failure) if failure.error.limit => return Ok(()),
        Err(_) => return build_one(engine, conn, states, id, seq),
    };
    let part = match standings::compute_part(
        conn,
        &state.challenge,
        &state.rules,
        &engine.runner,
        Some(entrants),
    ) {
        Ok(part) => part,
        Err(AppError::RuleFailed { failure, .. }) => {
            let live = Arc::new(Live {
                outcome: Err(failure),
                changed_at: seq,
                revision: state.challenge.revision,
            });
            state.live = Arc::clone(&live);
            engine.publish(id, Some(live));
            engine.bus.publish(id);
            return Ok(());
        }
        Err(other) => return Err(other),
    };
    for participant in moved {
        state.member_of.remove(participant);
    }
    state
        .member_of
        .extend(part.members.iter().map(|(entrant, p)| (*p, *entrant)));
    // Every line that did not change is the previous table's own (a pointer); a
    // recomputed line equal to the one it replaces is the old one too, so an unchanged
    // table is recognised by pointers alone.
    let old: HashMap<Uuid, &Arc<EntrantLine>> = previous
        .lines
        .iter()
        .filter(|line| entrants.contains(&line.entrant_id()))
        .map(|line| (line.entrant_id(), line))
        .collect();
    let mut lines: Vec<Arc<EntrantLine>> =
        Vec::with_capacity(previous.lines.len() + part.lines.len());
    lines.extend(
        previous
            .lines
            .iter()
            .filter(|line| !entrants.contains(&line.entrant_id()))
            .cloned(),
    );
    lines.extend(part.lines.into_iter().map(|mut line| {
        match old.get(&line.entrant_id()) {
            Some(old) => {
                // Compared without the rank fields, which ranking sets below.
                line.line.rank = old.line.rank;
                line.line.tied = old.line.tied;
                line.line.tie_break = old.line.tie_break;
                if ***old == line {
                    Arc::clone(old)
                } else {
                    Arc::new(line)
                }
            }
            None => Arc::new(line),
        }
    }));
    let lines = ranking::rank(&state.rules, lines);
    let unchanged = lines.len() == previous.lines.len()
        && lines
            .iter()
            .zip(&previous.lines)
            .all(|(a, b)| Arc::ptr_eq(a, b));
    if unchanged {
        return Ok(());
    }
    let live = Arc::new(Live {
        outcome: Ok(table(lines)),
        changed_at: seq,
        revision: state.challenge.revision,
    });
    state.live = Arc::clone(&live);
    engine.publish(id, Some(live));
    engine.bus.publish(id);
    Ok(())
}
