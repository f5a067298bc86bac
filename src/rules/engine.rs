//! The sandbox: one Rhai [`Engine`] built from nothing (`Engine::new_raw`), with only the
//! packages a rule needs, our own types and helpers ([`super::values`]), and explicit
//! limits that hold the same in debug and release builds.
//!
//! What a script cannot do: sleep, read the clock, draw random numbers, print, load a
//! module, `eval` code, or touch any file or socket: none of those functions is
//! registered. What it cannot exceed: [`Limits`], checked by Rhai on every operation; a
//! wall-clock deadline checked by the progress callback against a per-thread deadline
//! that [`Deadline`] sets around each evaluation; and a memory budget, read off the
//! allocator by the same callback on every operation ([`super::memory`]). The native
//! functions that could allocate past the value limits in one call are replaced by
//! bounded twins ([`super::bounded`]), so no single step can outrun the checks.

use std::cell::Cell;
use std::time::{Duration, Instant};

use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicFnPackage, BasicIteratorPackage, BasicMapPackage,
    BasicMathPackage, BasicStringPackage, LogicPackage, MoreStringPackage, Package,
};
use rhai::{Engine, EvalAltResult, ParseError, Position, AST};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::memory::Meter;
use super::RuleKind;

/// Largest script source accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 32 * 1024;

/// The limits every evaluation runs under. One evaluation is one call of the entry
/// function (one entrant's score, or one allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Operations (roughly, expressions and statements evaluated) per evaluation.
    pub max_operations: u64,
    /// Wall-clock time per evaluation of `score` (called once per entrant).
    pub timeout: Duration,
    /// Wall-clock time of one `allocate` (called once per challenge, on every line).
    pub allocation_timeout: Duration,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Nesting of expressions, at global level and inside functions.
    pub max_expr_depth: usize,
    pub max_function_expr_depth: usize,
    /// Bytes of text in one value. Rhai counts an array's or map's strings together, so
    /// this also bounds the text of a whole list of awards or groups.
    pub max_string_size: usize,
    /// Items in one array.
    pub max_array_size: usize,
    /// Entries in one object map.
    pub max_map_size: usize,
    /// Variables alive at once.
    pub max_variables: usize,
    /// Functions a script may define.
    pub max_functions: usize,
    /// Bytes one evaluation may hold at once beyond its inputs: what the size limits do
    /// not see (map keys, many values alive together) is bounded by this.
    pub max_memory: usize,
    /// Sale lines the helpers may copy in one evaluation (each filter, group or loop over
    /// a list copies its lines; Rhai's own size limits do not see inside our types).
    pub max_sale_copies: usize,
    /// Wall-clock time to score a whole standings table, all entrants together.
    pub table_timeout: Duration,
    /// How long a table waits for its turn to be scored before giving up.
    pub queue_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 1_000_000,
            timeout: Duration::from_millis(500),
            allocation_timeout: Duration::from_secs(10),
            max_call_levels: 32,
            max_expr_depth: 64,
            max_function_expr_depth: 48,
            max_string_size: 1024 * 1024,
            max_array_size: 100_000,
            max_map_size: 100_000,
            max_variables: 256,
            max_functions: 64,
            max_memory: 64 * 1024 * 1024,
            max_sale_copies: 1_000_000,
            table_timeout: Duration::from_secs(60),
            queue_timeout: Duration::from_secs(10),
        }
    }
}

thread_local! {
    /// Where a locating run on this thread is: the position of the last expression it
    /// began.
    static POSITION: Cell<Position> = const { Cell::new(Position::NONE) };
    /// When the evaluation running on this thread must stop.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Sale lines the helpers may still copy in the evaluation running on this thread.
    static COPY_BUDGET: Cell<usize> = const { Cell::new(0) };
}

/// Sets this thread's deadline and copy budget for the time it lives; evaluations run
/// synchronously on the thread that created it.
/// The memory meter starts with it.
pub struct Deadline {
    previous: Option<Instant>,
    previous_budget: usize,
    _meter: Meter,
}

impl Deadline {
    pub fn start(timeout: Duration, limits: &Limits) -> Self {
        let previous = DEADLINE.get();
        let previous_budget = COPY_BUDGET.get();
        DEADLINE.set(Some(Instant::now() + timeout));
        COPY_BUDGET.set(limits.max_sale_copies);
        Self {
            previous,
            previous_budget,
            _meter: Meter::start(limits.max_memory),
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        DEADLINE.set(self.previous);
        COPY_BUDGET.set(self.previous_budget);
    }
}

/// Takes `lines` from this evaluation's copy budget, or fails the script.
pub fn charge_copies(lines: usize) -> Result<(), Box<EvalAltResult>> {
    let left = COPY_BUDGET.get();
    if lines > left {
        return Err(
            "the rule copied too many sale lines in one evaluation (each filter, group and loop copies its lines): filter once and reuse the result"
                .into(),
        );
    }
    COPY_BUDGET.set(left - lines);
    Ok(())
}

/// The value the progress callback stops a script with when its time is up.
pub const DEADLINE_MESSAGE: &str = "the rule ran out of time";

/// The sandbox: the engine rules run on, and its twin that locates failures.
pub struct Sandbox {
    engine: Engine,
    /// The same engine with a step callback that records where a script is. Rhai's size
    /// checks, and the stops of the progress callback, come without a position; recording
    /// where a script is at every step would slow every evaluation about fivefold (even a
    /// step callback that does nothing costs that much), so only a failed evaluation
    /// without a position runs again on this twin to find where it failed.
    locator: Engine,
}

/// Builds the sandbox. Built once per server and shared (the `sync` feature makes it
/// `Send + Sync`).
///
/// # Panics
/// At start-up, when the allocator does not expose the counters the memory budget reads:
/// a sandbox without its memory bound must not run.
pub fn build(limits: &Limits) -> Sandbox {
    let mut locator = configure(limits);
    #[allow(deprecated)] // "volatile", not deprecated: pinned with the crate's version.
    locator.register_debugger(
        |_, debugger| debugger,
        |_, event, _, _, position| {
            use rhai::debugger::{DebuggerCommand, DebuggerEvent};
            if matches!(event, DebuggerEvent::Step) && !position.is_none() {
                POSITION.set(position);
            }
            Ok(DebuggerCommand::StepInto)
        },
    );
    Sandbox {
        engine: configure(limits),
        locator,
    }
}

fn configure(limits: &Limits) -> Engine {
    assert!(
        super::memory::available(),
        "the rule sandbox needs jemalloc's per-thread counters for its memory budget"
    );
    let mut engine = Engine::new_raw();
    // Only what rules need. Deliberately absent: LanguageCorePackage (sleep, exit,
    // parse_json), BasicTimePackage (timestamp), BasicBlobPackage, DebuggingPackage.
    for package in [
        ArithmeticPackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BasicStringPackage::new().as_shared_module(),
        MoreStringPackage::new().as_shared_module(),
        BasicIteratorPackage::new().as_shared_module(),
        BasicFnPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
    ] {
        engine.register_global_module(package);
    }
    super::values::register(&mut engine);
    super::objective::register(&mut engine);
    super::bounded::register(&mut engine, limits.max_string_size, limits.max_array_size);

    engine
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true)
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_variables(limits.max_variables)
        .set_max_functions(limits.max_functions)
        .set_max_modules(0);
    for symbol in ["eval", "import", "export"] {
        engine.disable_symbol(symbol);
    }
    // `print` and `debug` are part of the language; they go nowhere.
    engine.on_print(|_| {}).on_debug(|_, _, _| {});
    let memory_message = format!(
        "the rule held more than {} MiB of memory at once",
        limits.max_memory / (1024 * 1024)
    );
    engine.on_progress(move |operations| {
        if super::memory::over_budget() {
            return Some(memory_message.as_str().into());
        }
        if operations % 128 != 0 {
            return None;
        }
        match DEADLINE.get() {
            Some(deadline) if Instant::now() >= deadline => Some(DEADLINE_MESSAGE.into()),
            _ => None,
        }
    });
    engine
}

/// The longest a locating run may take: a failure that took longer to happen (a rule
/// that ran out of time) is located where the second run has got to by then.
const LOCATING_TIMEOUT: Duration = Duration::from_secs(1);

impl Sandbox {
    /// The engine, for compiling.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs one evaluation (`call`, the entry function's call on the engine it is given)
    /// under the limits with `timeout`. When it fails at no known position, runs it once
    /// more on the locator and gives the error the last position that run reached: a
    /// script is deterministic, so it fails at the same place again (a run stopped by its
    /// deadline is located where the second run was stopped).
    pub fn run_located<T>(
        &self,
        timeout: Duration,
        limits: &Limits,
        mut call: impl FnMut(&Engine) -> Result<T, Box<EvalAltResult>>,
    ) -> Result<T, ScriptError> {
        let error = {
            let _deadline = Deadline::start(timeout, limits);
            match call(&self.engine) {
                Ok(value) => return Ok(value),
                Err(error) => error,
            }
        };
        let mut located = ScriptError::from_eval(&error);
        if located.line.is_none() {
            POSITION.set(Position::NONE);
            {
                let _deadline = Deadline::start(timeout.min(LOCATING_TIMEOUT), limits);
                let _ = call(&self.locator);
            }
            let position = POSITION.get();
            located.line = position.line();
            located.column = position.position();
        }
        Err(located)
    }
}

/// An error in a rule, where it happened: what admins see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"line": 3, "column": 12, "message": "Variable not found: totl"}))]
pub struct ScriptError {
    /// 1-based; absent when the error is not at one place in the source.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// Whether the rule hit a limit of the sandbox (time, memory, operations, sizes,
    /// nesting) rather than failing on its data: more data will not make it pass.
    #[serde(skip)]
    #[schema(ignore)]
    pub limit: bool,
    /// Rhai's whole error, with the chain of function calls, for the log only.
    #[serde(skip)]
    #[schema(ignore)]
    pub trace: String,
}

impl ScriptError {
    pub fn new(position: Position, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            line: position.line(),
            column: position.position(),
            limit: false,
            trace: message.clone(),
            message,
        }
    }

    /// An error about the rule as a whole (a missing function, a wrong result).
    pub fn general(message: impl Into<String>) -> Self {
        Self::new(Position::NONE, message)
    }

    pub fn from_parse(error: &ParseError) -> Self {
        Self::new(error.position(), error.err_type().to_string())
    }

    /// A runtime error, at the innermost position known: inside the function that
    /// failed, or where it was called when the failure itself has none (Rhai's size checks
    /// and some operators report no position).
    pub fn from_eval(error: &EvalAltResult) -> Self {
        let inner = error.unwrap_inner();
        let message = match inner {
            EvalAltResult::ErrorTerminated(token, _) => token
                .clone()
                .into_string()
                .unwrap_or_else(|_| DEADLINE_MESSAGE.to_owned()),
            EvalAltResult::ErrorTooManyOperations(_) => {
                "the rule ran too many operations (an endless loop?)".to_owned()
            }
            other => strip_position(&other.to_string()),
        };
        let position = if inner.position().is_none() {
            error.position()
        } else {
            inner.position()
        };
        let limit = matches!(
            inner,
            EvalAltResult::ErrorTerminated(..)
                | EvalAltResult::ErrorTooManyOperations(_)
                | EvalAltResult::ErrorDataTooLarge(..)
                | EvalAltResult::ErrorStackOverflow(_)
                | EvalAltResult::ErrorTooManyVariables(_)
                | EvalAltResult::ErrorTooManyModules(_)
        );
        Self {
            limit,
            trace: error.to_string(),
            ..Self::new(position, message)
        }
    }
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Rhai's messages end with " (line l, position c)"; the position is given apart.
fn strip_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(at) if message.ends_with(')') => message[..at].to_owned(),
        _ => message.to_owned(),
    }
}

/// The entry function of each kind of rule, with its parameters.
pub fn entry_point(kind: RuleKind) -> (&'static str, &'static [&'static str]) {
    match kind {
        RuleKind::Objective => ("score", &["participant", "sales", "ctx"]),
        RuleKind::Allocation => ("allocate", &["standings", "rewards", "ctx"]),
    }
}

/// Compiles a rule's source: every error found, with its line and column, or the AST.
///
/// Rhai's parser stops at the first syntax error (and, variables being strict, at the
/// first unknown variable); the contract checks after it are each reported.
pub fn compile(engine: &Engine, source: &str, kind: RuleKind) -> Result<AST, Vec<ScriptError>> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(vec![ScriptError::general(format!(
            "the source is {} bytes; a rule may have at most {MAX_SOURCE_BYTES}",
            source.len()
        ))]);
    }
    let ast = engine
        .compile(source)
        .map_err(|e| vec![ScriptError::from_parse(&e)])?;
    let mut errors = Vec::new();
    for statement in ast.statements() {
        errors.push(ScriptError::new(
            statement.position(),
            "only function definitions may stand at the top level: move this into a function, or pass the value in the challenge's parameters",
        ));
    }
    let (name, params) = entry_point(kind);
    let candidates: Vec<_> = ast.iter_functions().filter(|f| f.name == name).collect();
    if candidates.is_empty() {
        errors.push(ScriptError::general(format!(
            "a rule of kind {} must define fn {name}({})",
            kind.as_str(),
            params.join(", ")
        )));
    } else if !candidates.iter().any(|f| f.params.len() == params.len()) {
        errors.push(ScriptError::general(format!(
            "fn {name} takes {} parameters ({}), not {}",
            params.len(),
            params.join(", "),
            candidates[0].params.len()
        )));
    }
    if errors.is_empty() {
        Ok(ast)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_given_apart_from_the_message() {
        assert_eq!(
            strip_position("Variable not found: x (line 2, position 5)"),
            "Variable not found: x"
        );
        assert_eq!(strip_position("no position"), "no position");
    }
}
