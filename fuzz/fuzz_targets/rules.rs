//! Arbitrary text as a rule: compiled and, when it compiles, run as an objective and as
//! an allocation, through the same sandboxed engine the server builds. Any panic, hang
//! past the limits or crash is a finding.
//!
//! `mkdir -p corpus/rules && cargo +nightly fuzz run rules corpus/rules seeds/rules --sanitizer none -- -max_total_time=60`
//! (the hostile seeds are committed in `seeds/rules/`; `corpus/` is what libFuzzer finds)

#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use podium::rules::allocation::{RewardInput, StandingInput};
use podium::rules::fixtures::{run, TestInput};
use podium::rules::values::SaleInput;
use podium::rules::{Limits, RuleKind, RuleRunner};

fn runner() -> &'static RuleRunner {
    static RUNNER: OnceLock<RuleRunner> = OnceLock::new();
    RUNNER.get_or_init(|| {
        RuleRunner::new(
            Limits {
                max_operations: 20_000,
                timeout: Duration::from_millis(100),
                allocation_timeout: Duration::from_millis(100),
                ..Limits::default()
            },
            1,
        )
    })
}

fn input() -> &'static TestInput {
    static INPUT: OnceLock<TestInput> = OnceLock::new();
    INPUT.get_or_init(|| TestInput {
        sales: vec![
            SaleInput {
                product: "ESP-01".into(),
                category: "espresso".into(),
                customer: "C-1".into(),
                quantity: 3,
                amount: 45_000,
                sold_on: "2026-03-14".into(),
                ..SaleInput::default()
            },
            SaleInput {
                product: "ESP-01".into(),
                quantity: -1,
                amount: -15_000,
                ..SaleInput::default()
            },
        ],
        standings: vec![StandingInput {
            participant: "p1".into(),
            name: "P1".into(),
            rank: Some(1),
            score: Some(1.0),
            raw_value: Some(1.0),
            qualified: true,
        }],
        rewards: vec![RewardInput {
            id: "mug".into(),
            name: "Mug".into(),
            kind: "gift".into(),
            value: 900,
            stock: Some(1),
        }],
        params: match serde_json::json!({"sku": "ESP-01", "tiers": [1, 2, 3]}) {
            serde_json::Value::Object(params) => params,
            _ => serde_json::Map::new(),
        },
        ..TestInput::default()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    for kind in [RuleKind::Objective, RuleKind::Allocation] {
        let _ = run(runner(), kind, source, input());
    }
});
