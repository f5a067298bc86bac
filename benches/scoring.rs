//! Scoring without the database: 100,000 entrants ranked with fairness and a tie-break
//! chain, and the definition of the sums (`Totals::from_sales`) over 1,000,000 lines.
//!
//! `cargo bench --bench scoring`

use std::hint::black_box;

use chrono::{Duration, NaiveDate};
use criterion::{criterion_group, criterion_main, Criterion};
use uuid::Uuid;

use podium::scoring::{
    standings, ChallengeKind, Entrant, Exact, Fairness, Objective, SaleFact, SaleFilter,
    ScoringRules, Sector, TieBreak, Totals, Window,
};

fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

fn bench(c: &mut Criterion) {
    let start = NaiveDate::from_ymd_opt(2026, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date");
    let mut state = 1;
    let entrants: Vec<Entrant> = (0..100_000u128)
        .map(|n| Entrant {
            id: Uuid::from_u128(n),
            totals: Totals {
                revenue_cents: (lcg(&mut state) % 5_000_000) as i64,
                units: (lcg(&mut state) % 500) as i64,
                last_sale_at: Some(start + Duration::minutes((lcg(&mut state) % 100_000) as i64)),
                ..Totals::default()
            },
            sector: Sector {
                potential_index: Exact::from_parts(600 + (n % 20) as i64 * 50, 3),
                market_share: Exact::from_parts(3, 1),
            },
        })
        .collect();
    let rules = ScoringRules {
        kind: ChallengeKind::Competition,
        objective: Objective::Revenue {},
        fairness: Fairness {
            divide_by_potential: true,
            weight_growth_by_market_share: false,
        },
        threshold: None,
        tie_break: vec![TieBreak::HigherRawValue, TieBreak::FirstToReach],
        target: None,
    };
    c.bench_function("standings of 100k entrants", |b| {
        b.iter(|| standings(black_box(&rules), black_box(&entrants)))
    });

    let facts: Vec<SaleFact> = (0..1_000_000)
        .map(|_| SaleFact {
            participant_id: Uuid::nil(),
            customer_id: Some(Uuid::from_u128(u128::from(lcg(&mut state) % 2_000))),
            product_id: None,
            key_account: false,
            currency: "EUR".into(),
            sold_at: start + Duration::minutes((lcg(&mut state) % 200_000) as i64),
            quantity: 1,
            amount_cents: (lcg(&mut state) % 10_000) as i64,
        })
        .collect();
    let filter = SaleFilter {
        currency: "EUR".into(),
        ..SaleFilter::default()
    };
    let period = Window {
        starts_at: start + Duration::days(30),
        ends_at: start + Duration::days(120),
    };
    let mut group = c.benchmark_group("sums");
    group.sample_size(20);
    group.bench_function("Totals::from_sales over 1M lines", |b| {
        b.iter(|| Totals::from_sales(black_box(&facts), &filter, period, None))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
