//! The database's `GROUP BY` sums agree with the definition (`Totals::from_sales`) on a
//! varied data set with reversals, on whichever backend the suite runs.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde_json::{json, Value};
use uuid::Uuid;

use podium::scoring::{SaleFilter, Totals, Window};

use crate::helpers::spawn_app;
use crate::sales::post_sales;

fn at(year: i32, month: u32, day: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("valid date")
}

#[actix_web::test]
async fn the_database_sums_like_the_definition() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let company = app.organisation("company").await;
    let mut participants = Vec::new();
    for _ in 0..4 {
        participants.push(app.participant(company, None, None).await);
    }
    let mut products = Vec::new();
    for sku in ["P-1", "P-2"] {
        let created = app
            .create(
                "/api/v1/products",
                json!({"sku": sku, "name": sku, "category": "c"}),
            )
            .await;
        products.push(
            created["id"]
                .as_str()
                .and_then(|s| s.parse::<Uuid>().ok())
                .expect("id"),
        );
    }
    for (reference, key) in [("K-1", true), ("N-1", false), ("N-2", false)] {
        app.create(
            "/api/v1/customers",
            json!({"reference": reference, "name": reference, "key_account": key}),
        )
        .await;
    }

    // A deterministic spread of lines from November 2025 to March 2026, some in USD,
    // some without customer or product, and partial returns.
    let mut state: u64 = 42;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let mut lines: Vec<Value> = Vec::new();
    for i in 0..240 {
        let participant = participants[next(4) as usize];
        let day = at(2025, 11, 1) + chrono::Duration::hours(next(150 * 24) as i64);
        let mut line = json!({
            "participant_id": participant,
            "sold_at": format!("{}Z", day.format("%Y-%m-%dT%H:%M:%S")),
            "quantity": next(5) as i64 + 1,
            "amount_cents": next(100_000) as i64 + 1,
            "currency": if next(10) == 0 { "USD" } else { "EUR" },
            "source": "gen",
            "external_id": format!("L-{i}"),
        });
        match next(4) {
            0 => {}
            1 => line["customer_reference"] = json!("K-1"),
            2 => line["customer_reference"] = json!("N-1"),
            _ => line["customer_reference"] = json!("N-2"),
        }
        if next(3) > 0 {
            line["product_sku"] = json!(if next(2) == 0 { "P-1" } else { "P-2" });
        }
        if i % 7 == 6 {
            // Return half of the previous line.
            let previous = lines.last().cloned().expect("a previous line");
            let mut reversal = previous.clone();
            reversal["external_id"] = json!(format!("L-{i}"));
            reversal["reverses_external_id"] = previous["external_id"].clone();
            reversal["quantity"] = json!(0);
            reversal["amount_cents"] =
                json!(-(previous["amount_cents"].as_i64().expect("amount") / 2));
            lines.push(reversal);
        } else {
            lines.push(line);
        }
    }
    let response = post_sales(&app, &admin, lines).await;
    assert_eq!(
        response.status(),
        201,
        "{}",
        response.text().await.unwrap_or_default()
    );

    let period = Window {
        starts_at: at(2026, 1, 1),
        ends_at: at(2026, 3, 1),
    };
    let baseline = Window {
        starts_at: at(2025, 11, 1),
        ends_at: at(2026, 1, 1),
    };
    let filters = [
        SaleFilter {
            currency: "EUR".into(),
            ..SaleFilter::default()
        },
        SaleFilter {
            currency: "USD".into(),
            ..SaleFilter::default()
        },
        SaleFilter {
            currency: "EUR".into(),
            products: Some(BTreeSet::from([products[0]])),
            ..SaleFilter::default()
        },
        SaleFilter {
            currency: "EUR".into(),
            key_accounts_only: true,
            ..SaleFilter::default()
        },
    ];
    let mut conn = app.connect();
    let facts = podium::models::sale::facts(&mut conn).expect("facts");
    assert_eq!(facts.len(), 240);
    let mut compared = 0;
    for filter in &filters {
        let sums = podium::models::sale::totals(&mut conn, filter, period, Some(baseline), true)
            .expect("sums");
        for participant in &participants {
            let mine = facts.iter().filter(|f| f.participant_id == *participant);
            let expected = Totals::from_sales(mine, filter, period, Some(baseline));
            let actual = sums
                .get(&participant.to_string())
                .copied()
                .unwrap_or_default();
            assert_eq!(
                actual, expected,
                "participant {participant} with {filter:?}"
            );
            compared += usize::from(expected != Totals::default());
        }
    }
    assert!(
        compared >= 8,
        "the data set exercises the sums ({compared} non-empty comparisons)"
    );
}
