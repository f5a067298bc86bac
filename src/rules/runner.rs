//! The server's one rule engine, shared as app data: the engine is built once, compiled
//! ASTs are cached by content hash (a version's source never changes, so its hash names
//! it), and evaluations run under a counting gate, so at most `concurrency` tables are
//! being scored at once whatever the number of requests.
//!
//! Every method is blocking: call them from `Pool::run` or `web::block`, never on an async
//! worker.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rhai::AST;

use super::allocation::{self, Award, RewardInput, StandingInput};
use super::engine::{self, Limits, ScriptError};
use super::objective::{self, ChallengeContext, ScoreInput, ScoreOutput};
use super::RuleKind;

/// Compiled ASTs kept at most; the cache starts over beyond.
const MAX_CACHED: usize = 1_000;

/// A failed evaluation: which entrant it was about (if any) and the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFailure {
    pub entrant: Option<String>,
    pub error: ScriptError,
}

impl RuleFailure {
    /// A version that no longer compiles (the engine's limits changed since its upload):
    /// its first error.
    pub fn compile(errors: Vec<ScriptError>) -> Self {
        Self {
            entrant: None,
            error: errors
                .into_iter()
                .next()
                .unwrap_or_else(|| ScriptError::general("the rule does not compile")),
        }
    }
}

impl std::fmt::Display for RuleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.entrant {
            Some(entrant) => write!(f, "{} (scoring {entrant})", self.error),
            None => self.error.fmt(f),
        }
    }
}

/// Why a run did not give a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The rule failed (or exceeded a limit).
    Failed(RuleFailure),
    /// Every permit stayed taken for the queue timeout: too many rules running at once.
    Busy,
}

impl From<RuleFailure> for RunError {
    fn from(failure: RuleFailure) -> Self {
        RunError::Failed(failure)
    }
}

/// A counting semaphore for blocking threads.
struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

struct Permit<'a>(&'a Gate);

impl Gate {
    fn new(permits: usize) -> Self {
        Self {
            free: Mutex::new(permits.max(1)),
            freed: Condvar::new(),
        }
    }

    /// A permit, or `None` when none came free within `timeout`.
    fn acquire(&self, timeout: Duration) -> Option<Permit<'_>> {
        let deadline = Instant::now() + timeout;
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            let left = deadline.checked_duration_since(Instant::now())?;
            free = self
                .freed
                .wait_timeout(free, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *free -= 1;
        Some(Permit(self))
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

pub struct RuleRunner {
    sandbox: engine::Sandbox,
    limits: Limits,
    cache: Mutex<HashMap<(String, RuleKind), Arc<AST>>>,
    gate: Gate,
    /// Objective evaluations run so far (one per entrant scored): how the engine's tests
    /// see that a change re-scores only the entrants it touched.
    evaluations: std::sync::atomic::AtomicU64,
    metrics: crate::metrics::RuleMetrics,
}

impl RuleRunner {
    pub fn new(limits: Limits, concurrency: usize) -> Self {
        Self {
            sandbox: engine::build(&limits),
            limits,
            cache: Mutex::new(HashMap::new()),
            gate: Gate::new(concurrency),
            evaluations: std::sync::atomic::AtomicU64::new(0),
            metrics: crate::metrics::RuleMetrics::default(),
        }
    }

    /// What the runner measures, for `/metrics`.
    pub fn metrics(&self) -> &crate::metrics::RuleMetrics {
        &self.metrics
    }

    fn count_failure(&self, error: &ScriptError) {
        if error.limit {
            self.metrics.limit_hits.inc();
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Compiles a source (or takes it from the cache), with every error found.
    pub fn compile(&self, source: &str, kind: RuleKind) -> Result<Arc<AST>, Vec<ScriptError>> {
        let key = (super::content_hash(source), kind);
        if let Some(ast) = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(Arc::clone(ast));
        }
        let ast = Arc::new(engine::compile(self.sandbox.engine(), source, kind)?);
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&ast));
        Ok(ast)
    }

    /// Scores every entrant, in order, within the table's time budget; the first failure
    /// stops the table.
    pub fn score_all(
        &self,
        ast: &AST,
        challenge: &Arc<ChallengeContext>,
        inputs: Vec<ScoreInput>,
    ) -> Result<Vec<ScoreOutput>, RunError> {
        let _permit = self
            .gate
            .acquire(self.limits.queue_timeout)
            .ok_or(RunError::Busy)?;
        let started = Instant::now();
        let mut outputs = Vec::with_capacity(inputs.len());
        for input in inputs {
            let entrant = input.entrant.id.clone();
            if started.elapsed() > self.limits.table_timeout {
                return Err(RunError::Failed(RuleFailure {
                    entrant: Some(entrant),
                    error: ScriptError::general(format!(
                        "scoring the whole table took longer than {} s",
                        self.limits.table_timeout.as_secs()
                    )),
                }));
            }
            self.evaluations
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.metrics
                .evaluations
                .with_label_values(&["objective"])
                .inc();
            let output = objective::evaluate(&self.sandbox, ast, &self.limits, challenge, input)
                .map_err(|error| {
                    self.count_failure(&error);
                    RuleFailure {
                        entrant: Some(entrant),
                        error,
                    }
                })?;
            outputs.push(output);
        }
        Ok(outputs)
    }

    /// Objective evaluations run so far.
    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs an allocation rule once.
    pub fn allocate(
        &self,
        ast: &AST,
        challenge: &Arc<ChallengeContext>,
        standings: &[StandingInput],
        rewards: &[RewardInput],
    ) -> Result<Vec<Award>, RunError> {
        let _permit = self
            .gate
            .acquire(self.limits.queue_timeout)
            .ok_or(RunError::Busy)?;
        self.metrics
            .evaluations
            .with_label_values(&["allocation"])
            .inc();
        allocation::evaluate(
            &self.sandbox,
            ast,
            &self.limits,
            challenge,
            standings,
            rewards,
        )
        .map_err(|error| {
            self.count_failure(&error);
            RunError::Failed(RuleFailure {
                entrant: None,
                error,
            })
        })
    }
}

impl Default for RuleRunner {
    fn default() -> Self {
        Self::new(Limits::default(), 2)
    }
}
