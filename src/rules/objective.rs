//! Objective rules: `fn score(participant, sales, ctx)`, called once per entrant.
//!
//! The script returns a number (the raw value), `()` (undefined: the line is not ranked),
//! or a map with `score` (a number or `()`), optional `qualified` (a bool; `false` keeps
//! the line out of the ranking, like a threshold) and optional `detail` (shown in the
//! standings explanation).

use std::sync::Arc;

use rhai::{Dynamic, Engine, ImmutableString, Map, AST};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::engine::{Limits, Sandbox, ScriptError};
use super::values::{Entrant, Sales};
use crate::scoring::Exact;

/// Longest `detail` kept, in characters.
const MAX_DETAIL_CHARS: usize = 500;

/// What a challenge tells its rule: its parameters, period and currency. Shared by every
/// evaluation of one table.
#[derive(Debug, Clone)]
pub struct ChallengeContext {
    /// The challenge's `params`, as given in its objective.
    pub params: Dynamic,
    /// `YYYY-MM-DD` of the first day counted, and of the day after the last.
    pub starts_on: ImmutableString,
    pub ends_on: ImmutableString,
    pub currency: ImmutableString,
    /// `competition` or `incentive`.
    pub kind: ImmutableString,
}

impl ChallengeContext {
    /// From JSON parameters; they must be an object.
    pub fn new(
        params: &serde_json::Value,
        starts_on: &str,
        ends_on: &str,
        currency: &str,
        kind: &str,
    ) -> Result<Self, ScriptError> {
        let params = match params {
            serde_json::Value::Null => Dynamic::from_map(Map::new()),
            serde_json::Value::Object(_) => rhai::serde::to_dynamic(params)
                .map_err(|e| ScriptError::general(format!("params: {e}")))?,
            _ => return Err(ScriptError::general("params must be an object")),
        };
        Ok(Self {
            params,
            starts_on: starts_on.into(),
            ends_on: ends_on.into(),
            currency: currency.into(),
            kind: kind.into(),
        })
    }
}

/// `ctx` as scripts see it: the challenge's context and, for objectives, the entrant's
/// sales in the baseline period.
#[derive(Debug, Clone)]
pub struct Context {
    pub challenge: Arc<ChallengeContext>,
    pub baseline: Sales,
}

/// Registers `ctx`'s getters.
pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Context>("Context")
        .register_get("params", |c: &mut Context| c.challenge.params.clone())
        .register_get("starts_on", |c: &mut Context| c.challenge.starts_on.clone())
        .register_get("ends_on", |c: &mut Context| c.challenge.ends_on.clone())
        .register_get("currency", |c: &mut Context| c.challenge.currency.clone())
        .register_get("kind", |c: &mut Context| c.challenge.kind.clone())
        .register_get("baseline", |c: &mut Context| c.baseline.clone());
}

/// What one evaluation of `score` gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"score": "42", "qualified": true, "detail": "42 units of ESP-01 at 7 new customers"}))]
pub struct ScoreOutput {
    /// The raw value, rounded to 4 decimals where it leaves the script; `null` when
    /// undefined (the line is not ranked).
    pub score: Option<Exact>,
    /// `false` when the rule keeps the line out of the ranking.
    pub qualified: bool,
    /// The rule's own explanation of the line.
    pub detail: Option<String>,
}

/// One entrant's inputs.
#[derive(Debug, Clone)]
pub struct ScoreInput {
    pub entrant: Entrant,
    pub sales: Sales,
    pub baseline: Sales,
}

/// Calls `score` once, under the limits, and reads its result.
pub fn evaluate(
    sandbox: &Sandbox,
    ast: &AST,
    limits: &Limits,
    challenge: &Arc<ChallengeContext>,
    input: ScoreInput,
) -> Result<ScoreOutput, ScriptError> {
    let ctx = Context {
        challenge: Arc::clone(challenge),
        baseline: input.baseline,
    };
    let options = || {
        rhai::CallFnOptions::new()
            .eval_ast(false)
            .rewind_scope(true)
    };
    let result: Dynamic = sandbox.run_located(limits.timeout, limits, |engine| {
        engine.call_fn_with_options(
            options(),
            &mut rhai::Scope::new(),
            ast,
            "score",
            (input.entrant.clone(), input.sales.clone(), ctx.clone()),
        )
    })?;
    read_output(result)
}

fn number(value: &Dynamic, what: &str) -> Result<Option<Exact>, ScriptError> {
    let n = if value.is_unit() {
        return Ok(None);
    } else if let Ok(i) = value.as_int() {
        i as f64
    } else if let Ok(f) = value.as_float() {
        f
    } else {
        return Err(ScriptError::general(format!(
            "{what} must be a number or (), not {}",
            value.type_name()
        )));
    };
    if !n.is_finite() {
        return Err(ScriptError::general(format!(
            "{what} must be finite, not {n}"
        )));
    }
    Exact::from_script(n).map(Some).ok_or_else(|| {
        ScriptError::general(format!("{what} must be between -10^15 and 10^15, not {n}"))
    })
}

/// Reads what `score` returned.
pub fn read_output(value: Dynamic) -> Result<ScoreOutput, ScriptError> {
    if value.is_map() {
        let map = value.cast::<Map>();
        let score = match map.get("score") {
            Some(v) => number(v, "score")?,
            None => {
                return Err(ScriptError::general(
                    "the map returned by score must have a `score` entry",
                ))
            }
        };
        let qualified = match map.get("qualified") {
            None => true,
            Some(v) => v.as_bool().map_err(|t| {
                ScriptError::general(format!("qualified must be true or false, not {t}"))
            })?,
        };
        if let Some(key) = map
            .keys()
            .find(|k| !["score", "qualified", "detail"].contains(&k.as_str()))
        {
            return Err(ScriptError::general(format!(
                "unknown entry `{key}` in the map returned by score (expected score, qualified, detail)"
            )));
        }
        let detail = map.get("detail").filter(|d| !d.is_unit()).map(|d| {
            let text = if d.is_string() {
                d.clone().into_string().unwrap_or_default()
            } else {
                d.to_string()
            };
            text.chars().take(MAX_DETAIL_CHARS).collect()
        });
        Ok(ScoreOutput {
            score,
            qualified,
            detail,
        })
    } else {
        Ok(ScoreOutput {
            score: number(&value, "the value returned by score")?,
            qualified: true,
            detail: None,
        })
    }
}
