//! Rules in Rhai: admins' scripts for custom objectives and reward allocation.
//!
//! - [`engine`]: the sandboxed engine, its limits, compilation and the errors admins see;
//! - [`values`]: the typed values and helpers scripts get (sales, participant);
//! - [`objective`]: `fn score(participant, sales, ctx)` and what it may return;
//! - [`allocation`]: `fn allocate(standings, rewards, ctx)` and the awards it returns;
//! - [`runner`]: the one engine of the server, the compiled-AST cache and the bounded
//!   concurrency evaluations run under;
//! - [`fixtures`]: sample inputs with expected outputs, for `podium rules test DIR` and
//!   the API's test endpoint.
//!
//! Rules are stored as immutable versions (`models::rule`); a challenge names a rule
//! version in its objective (`scoring::Objective::Script`).

pub mod allocation;
pub mod bounded;
pub mod engine;
pub mod fixtures;
pub mod memory;
pub mod objective;
pub mod runner;
pub mod values;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use engine::{Limits, ScriptError};

/// The schema of a rule's parameters (`ctx.params` in the script): a JSON object of any
/// values, which the rule itself reads and checks. A named component, so that generated
/// clients make one type of it (`Record<string, unknown>` in TypeScript).
pub struct RuleParams;

impl utoipa::PartialSchema for RuleParams {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some(
                "A rule's parameters, `ctx.params` in the script: any JSON values by name.",
            ))
            .examples([serde_json::json!({"category": "espresso", "minimum": 3})])
            .into()
    }
}

impl utoipa::ToSchema for RuleParams {}
pub use runner::RuleRunner;

/// What a rule computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A custom objective: `fn score(participant, sales, ctx)`.
    Objective,
    /// A reward allocation: `fn allocate(standings, rewards, ctx)`.
    Allocation,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Objective => "objective",
            RuleKind::Allocation => "allocation",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [RuleKind::Objective, RuleKind::Allocation]
            .into_iter()
            .find(|k| k.as_str() == value)
    }
}

/// The SHA-256 of a text, hex: a rule version's content hash, and the audit hashes of
/// awards.
pub fn content_hash(source: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(source.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
