//! One objective scored three ways over 1,000,000 sale lines of 100,000 participants
//! (already grouped by participant, as the standings computation hands them over): the
//! built-in revenue objective, the same objective as a Rhai rule (with the `amount()`
//! helper, and with a loop over the lines), and plain Rust. Each ends with the same
//! ranking, so the difference is the objective's cost.
//!
//! `cargo bench --bench rules`

use std::hint::black_box;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use criterion::{criterion_group, criterion_main, Criterion};
use uuid::Uuid;

use podium::rules::objective::{ChallengeContext, ScoreInput};
use podium::rules::values::{Entrant as ScriptEntrant, Sale, Sales};
use podium::rules::{RuleKind, RuleRunner};
use podium::scoring::{
    standings, standings_measured, ChallengeKind, Entrant, Exact, Fairness, Measure, Objective,
    SaleFact, SaleFilter, ScoringRules, Sector, Totals, Window,
};

const PARTICIPANTS: usize = 100_000;
const LINES: usize = 1_000_000;

fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

struct Group {
    id: Uuid,
    facts: Vec<SaleFact>,
    sales: Vec<Sale>,
}

fn data(start: NaiveDateTime) -> Vec<Group> {
    let mut state = 7;
    let skus: Vec<rhai::ImmutableString> = (0..50).map(|i| format!("SKU-{i}").into()).collect();
    let mut groups: Vec<Group> = (0..PARTICIPANTS as u128)
        .map(|n| Group {
            id: Uuid::from_u128(n),
            facts: Vec::new(),
            sales: Vec::new(),
        })
        .collect();
    for _ in 0..LINES {
        let participant = (lcg(&mut state) % PARTICIPANTS as u64) as usize;
        let product = (lcg(&mut state) % 50) as usize;
        let amount = (lcg(&mut state) % 100_000) as i64;
        let quantity = 1 + (lcg(&mut state) % 10) as i64;
        let sold_at = start + Duration::minutes((lcg(&mut state) % 40_000) as i64);
        let id = groups[participant].id;
        groups[participant].facts.push(SaleFact {
            participant_id: id,
            customer_id: None,
            product_id: Some(Uuid::from_u128(product as u128)),
            key_account: false,
            currency: "EUR".into(),
            sold_at,
            quantity,
            amount_cents: amount,
        });
        groups[participant].sales.push(Sale {
            product: skus[product].clone(),
            category: "coffee".into(),
            customer: "".into(),
            key_account: false,
            new_customer: false,
            quantity,
            amount,
            sold_on: "2026-01-15".into(),
        });
    }
    groups
}

fn sector(id: Uuid) -> Sector {
    Sector {
        potential_index: Exact::from_parts(600 + (id.as_u128() % 20) as i64 * 50, 3),
        market_share: Exact::from_parts(3, 1),
    }
}

fn bench(c: &mut Criterion) {
    let start = NaiveDate::from_ymd_opt(2026, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date");
    let period = Window {
        starts_at: start,
        ends_at: start + Duration::days(60),
    };
    let filter = SaleFilter {
        currency: "EUR".into(),
        products: None,
        key_accounts_only: false,
        participants: None,
    };
    let groups = data(start);
    let rules = |objective| ScoringRules {
        kind: ChallengeKind::Competition,
        objective,
        fairness: Fairness::default(),
        threshold: None,
        tie_break: Vec::new(),
        target: None,
    };
    let builtin = rules(Objective::Revenue {});
    let scripted = rules(Objective::Script {
        rule_id: Uuid::nil(),
        version: 1,
        params: Default::default(),
    });
    let runner = RuleRunner::default();
    let context = Arc::new(
        ChallengeContext::new(
            &serde_json::Value::Null,
            "2026-01-01",
            "2026-03-02",
            "EUR",
            "competition",
        )
        .expect("context"),
    );

    let mut group = c.benchmark_group("1M sales over 100k participants");
    group.sample_size(10);

    group.bench_function("built-in revenue objective", |b| {
        b.iter(|| {
            let entrants: Vec<Entrant> = groups
                .iter()
                .map(|g| Entrant {
                    id: g.id,
                    totals: Totals::from_sales(&g.facts, &filter, period, None),
                    sector: sector(g.id),
                })
                .collect();
            standings(black_box(&builtin), &entrants)
        })
    });

    let plain = |g: &Group| Exact::from_int(g.sales.iter().map(|s| s.amount).sum::<i64>());
    group.bench_function("plain Rust", |b| {
        b.iter(|| {
            let measured = groups
                .iter()
                .map(|g| {
                    (
                        Entrant {
                            id: g.id,
                            totals: Totals::default(),
                            sector: sector(g.id),
                        },
                        Measure {
                            raw_value: Some(black_box(plain(g))),
                            ..Measure::default()
                        },
                    )
                })
                .collect();
            standings_measured(&scripted, measured)
        })
    });

    for (name, source) in [
        ("Rhai rule, sales.amount()", "fn score(participant, sales, ctx) { sales.amount() }"),
        (
            "Rhai rule, loop over the lines",
            "fn score(participant, sales, ctx) { let total = 0; for sale in sales { total += sale.amount; } total }",
        ),
    ] {
        let ast = runner.compile(source, RuleKind::Objective).expect("compiles");
        group.bench_function(name, |b| {
            b.iter(|| {
                let inputs: Vec<ScoreInput> = groups
                    .iter()
                    .map(|g| ScoreInput {
                        entrant: ScriptEntrant {
                            id: g.id.to_string(),
                            name: String::new(),
                            unit: "participant".into(),
                            potential_index: sector(g.id).potential_index.to_script(),
                            market_share: sector(g.id).market_share.to_script(),
                            region: String::new(),
                            organisation: String::new(),
                        },
                        sales: Sales::new(g.sales.clone()),
                        baseline: Sales::default(),
                    })
                    .collect();
                let outputs = runner.score_all(&ast, &context, inputs).expect("scores");
                let measured = groups
                    .iter()
                    .zip(outputs)
                    .map(|(g, o)| {
                        (
                            Entrant {
                                id: g.id,
                                totals: Totals::default(),
                                sector: sector(g.id),
                            },
                            Measure {
                                raw_value: o.score,
                                rule_qualified: Some(o.qualified),
                                detail: o.detail,
                            },
                        )
                    })
                    .collect();
                standings_measured(&scripted, measured)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
