//! Running a rule on sample inputs: the API's test endpoint runs one input, and
//! `podium rules test DIR` runs every `name.rhai` in DIR against the cases of the
//! `name.test.json` beside it, so admins can keep their rules in git with their own CI.
//!
//! A fixture file: `{"kind": "objective", "cases": [{"name": …, "input": {…}, "expect":
//! {…}}]}`. `expect` is either a part of the output (every key it names must be in the
//! output with the same value; numbers within 1e-9) or `{"error": "text"}`: the rule must
//! fail with a message containing the text.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::allocation::{RewardInput, StandingInput};
use super::engine::ScriptError;
use super::objective::{ChallengeContext, ScoreInput};
use super::runner::RunError;
use super::values::{Entrant, Sale, SaleInput, Sales};
use super::{RuleKind, RuleRunner};

fn eur() -> String {
    "EUR".into()
}

fn competition() -> String {
    "competition".into()
}

fn first_day() -> String {
    "2026-01-01".into()
}

fn day_after() -> String {
    "2027-01-01".into()
}

/// Sample inputs for one evaluation. Objective rules read `participant`, `sales` and
/// `baseline`; allocation rules read `standings` and `rewards`; both read the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "participant": {"id": "rep-1", "name": "Julie Moreau", "potential_index": 1.25, "market_share": 0.18},
    "sales": [{"product": "ESP-01", "category": "espresso", "customer": "C-1042", "quantity": 3, "amount": 45000, "sold_on": "2026-03-14"}],
    "params": {"sku": "ESP-01"}
}))]
pub struct TestInput {
    /// Who is scored (objective rules); a neutral participant when absent.
    #[serde(default)]
    pub participant: Option<Entrant>,
    /// The participant's sales in the period (objective rules).
    #[serde(default)]
    pub sales: Vec<SaleInput>,
    /// The participant's sales in the baseline period, `ctx.baseline` (objective rules).
    #[serde(default)]
    pub baseline: Vec<SaleInput>,
    /// The standings lines, in display order (allocation rules).
    #[serde(default)]
    pub standings: Vec<StandingInput>,
    /// The rewards that may be given (allocation rules).
    #[serde(default)]
    pub rewards: Vec<RewardInput>,
    /// The challenge's parameters, `ctx.params`: an object.
    #[serde(default)]
    #[schema(value_type = crate::rules::RuleParams)]
    pub params: serde_json::Map<String, Value>,
    /// `ctx.starts_on`, default `2026-01-01`.
    #[serde(default = "first_day")]
    pub starts_on: String,
    /// `ctx.ends_on`, default `2027-01-01`.
    #[serde(default = "day_after")]
    pub ends_on: String,
    /// `ctx.currency`, default `EUR`.
    #[serde(default = "eur")]
    pub currency: String,
    /// `ctx.kind`, default `competition`.
    #[serde(default = "competition")]
    pub kind: String,
}

/// Runs one rule on one input: a [`super::objective::ScoreOutput`] or `{"awards": […]}`
/// as JSON.
pub fn run(
    runner: &RuleRunner,
    kind: RuleKind,
    source: &str,
    input: &TestInput,
) -> Result<Value, Vec<ScriptError>> {
    let ast = runner.compile(source, kind)?;
    let challenge = Arc::new(
        ChallengeContext::new(
            &Value::Object(input.params.clone()),
            &input.starts_on,
            &input.ends_on,
            &input.currency,
            &input.kind,
        )
        .map_err(|e| vec![e])?,
    );
    let lines = |sales: &[SaleInput]| Sales::new(sales.iter().map(Sale::from).collect());
    let output = match kind {
        RuleKind::Objective => {
            let entrant = input.participant.clone().unwrap_or_else(|| Entrant {
                id: "participant".into(),
                name: "Participant".into(),
                unit: "participant".into(),
                potential_index: 1.0,
                market_share: 0.0,
                region: String::new(),
                organisation: String::new(),
            });
            let scored = runner
                .score_all(
                    &ast,
                    &challenge,
                    vec![ScoreInput {
                        entrant,
                        sales: lines(&input.sales),
                        baseline: lines(&input.baseline),
                    }],
                )
                .map_err(run_errors)?;
            serde_json::to_value(scored.into_iter().next())
        }
        RuleKind::Allocation => {
            let awards = runner
                .allocate(&ast, &challenge, &input.standings, &input.rewards)
                .map_err(run_errors)?;
            serde_json::to_value(serde_json::json!({ "awards": awards }))
        }
    };
    output.map_err(|e| vec![ScriptError::general(format!("output: {e}"))])
}

fn run_errors(error: RunError) -> Vec<ScriptError> {
    match error {
        RunError::Failed(failure) => vec![failure.error],
        RunError::Busy => vec![ScriptError::general(
            "too many rules are running at once; try again in a moment",
        )],
    }
}

/// Whether `actual` has everything `expected` names, with equal values.
pub fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|got| matches(v, got))),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| matches(e, a))
        }
        (Value::Number(e), Value::Number(a)) => match (e.as_f64(), a.as_f64()) {
            (Some(e), Some(a)) => (e - a).abs() <= 1e-9 * e.abs().max(1.0),
            _ => e == a,
        },
        // A score is a decimal string in the output; a case may expect it as a string or as
        // a JSON number, compared exactly (`23.6` matches `"23.6"`, not `"23.6001"`).
        (Value::Number(e), Value::String(a)) => {
            let expected = crate::scoring::Exact::parse(&e.to_string());
            expected.is_ok() && expected == crate::scoring::Exact::parse(a)
        }
        _ => expected == actual,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    kind: RuleKind,
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    input: TestInput,
    expect: Value,
}

/// What a directory run found.
#[derive(Debug, Default)]
pub struct Report {
    pub rules: usize,
    pub passed: usize,
    /// One line per failed case or unusable file.
    pub failures: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.rules > 0
    }
}

fn errors_text(errors: &[ScriptError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs one case; `Err` says how it failed.
fn check_case(
    runner: &RuleRunner,
    kind: RuleKind,
    source: &str,
    case: &Case,
) -> Result<(), String> {
    let outcome = run(runner, kind, source, &case.input);
    let expected_error = case.expect.get("error").and_then(Value::as_str);
    match (outcome, expected_error) {
        (Ok(output), None) if matches(&case.expect, &output) => Ok(()),
        (Ok(output), None) => Err(format!("expected {} but got {output}", case.expect)),
        (Ok(output), Some(text)) => Err(format!(
            "expected an error containing {text:?} but got {output}"
        )),
        (Err(errors), Some(text)) if errors.iter().any(|e| e.message.contains(text)) => Ok(()),
        (Err(errors), _) => Err(format!("failed: {}", errors_text(&errors))),
    }
}

/// Runs every `*.rhai` of `dir` against its fixtures, writing one line per case to `out`.
pub fn run_dir(
    runner: &RuleRunner,
    dir: &Path,
    out: &mut dyn std::io::Write,
) -> std::io::Result<Report> {
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
        .collect();
    scripts.sort();
    let mut report = Report::default();
    for script in scripts {
        report.rules += 1;
        let name = script.display().to_string();
        let fixture_path = script.with_extension("test.json");
        let loaded = std::fs::read_to_string(&script).and_then(|source| {
            let fixtures = std::fs::read_to_string(&fixture_path)?;
            Ok((source, fixtures))
        });
        let (source, fixtures) = match loaded {
            Ok(pair) => pair,
            Err(e) => {
                let line = format!("{name}: cannot read it or {}: {e}", fixture_path.display());
                writeln!(out, "FAIL {line}")?;
                report.failures.push(line);
                continue;
            }
        };
        let file: FixtureFile = match serde_json::from_str(&fixtures) {
            Ok(file) => file,
            Err(e) => {
                let line = format!("{}: {e}", fixture_path.display());
                writeln!(out, "FAIL {line}")?;
                report.failures.push(line);
                continue;
            }
        };
        if let Err(errors) = runner.compile(&source, file.kind) {
            let line = format!("{name}: does not compile: {}", errors_text(&errors));
            writeln!(out, "FAIL {line}")?;
            report.failures.push(line);
            continue;
        }
        if file.cases.is_empty() {
            let line = format!("{}: no cases", fixture_path.display());
            writeln!(out, "FAIL {line}")?;
            report.failures.push(line);
        }
        for case in &file.cases {
            match check_case(runner, file.kind, &source, case) {
                Ok(()) => {
                    report.passed += 1;
                    writeln!(out, "ok   {name}: {}", case.name)?;
                }
                Err(why) => {
                    let line = format!("{name}: {}: {why}", case.name);
                    writeln!(out, "FAIL {line}")?;
                    report.failures.push(line);
                }
            }
        }
    }
    writeln!(
        out,
        "{} rules, {} cases passed, {} failed",
        report.rules,
        report.passed,
        report.failures.len()
    )?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_expectation_is_a_part_of_the_output() {
        let output = json!({"score": 42.0, "qualified": true, "detail": "x"});
        assert!(matches(&json!({"score": 42}), &output));
        assert!(matches(&json!({"score": 42.0000000000001}), &output));
        assert!(!matches(&json!({"score": 41}), &output));
        assert!(!matches(&json!({"missing": 1}), &output));
        assert!(!matches(&json!({"awards": []}), &json!({"awards": [1]})));
    }

    #[test]
    fn the_examples_in_rules_pass() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut out = Vec::new();
        let report = run_dir(&RuleRunner::default(), &dir, &mut out).expect("readable");
        let printed = String::from_utf8_lossy(&out);
        assert!(report.ok(), "{printed}");
        assert!(report.rules >= 6, "{printed}");
    }
}
