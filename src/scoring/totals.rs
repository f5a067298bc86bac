//! What an objective measures, summed from sale lines: the sums over the challenge period
//! and the baseline period, the customers won, and when the last counted sale happened.
//!
//! [`Totals::from_sales`] is the definition. The database computes the same sums with
//! `GROUP BY` for speed (`models::sale::totals`), and a test checks that both agree.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A half-open period `[starts_at, ends_at)`, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
}

impl Window {
    pub fn contains(&self, at: NaiveDateTime) -> bool {
        self.starts_at <= at && at < self.ends_at
    }
}

/// Which sale lines count at all for a challenge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaleFilter {
    /// Only sales in this currency count (sums across currencies mean nothing).
    pub currency: String,
    /// When set, only sales of these products count.
    pub products: Option<BTreeSet<Uuid>>,
    /// Only sales to key-account customers count.
    pub key_accounts_only: bool,
    /// When set, only these participants' sales are read: a live table computes again
    /// just the entrants a change touched. It never changes what a line counts.
    pub participants: Option<BTreeSet<Uuid>>,
}

/// One sale line as scoring sees it. Reversal lines carry negative quantity and amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleFact {
    pub participant_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub key_account: bool,
    pub currency: String,
    pub sold_at: NaiveDateTime,
    pub quantity: i64,
    pub amount_cents: i64,
}

impl SaleFilter {
    pub fn admits(&self, sale: &SaleFact) -> bool {
        sale.currency == self.currency
            && (!self.key_accounts_only || sale.key_account)
            && match &self.products {
                Some(products) => sale.product_id.is_some_and(|p| products.contains(&p)),
                None => true,
            }
            && self
                .participants
                .as_ref()
                .is_none_or(|only| only.contains(&sale.participant_id))
    }
}

/// The sums of one entrant (a participant, or a team, region or organisation of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Totals {
    /// Net amount in the period, in minor units (sales minus reversals).
    pub revenue_cents: i64,
    /// Net units in the period.
    pub units: i64,
    /// Net amount in the baseline period, in minor units.
    pub baseline_revenue_cents: i64,
    /// Customers with net positive sales in the period and none before it; `null` when the
    /// challenge does not count them (only a `new_customers` objective or a
    /// `more_new_customers` tie-break does), never a 0 that was not computed.
    pub new_customers: Option<i64>,
    /// Date of the last counted line in the period: who reached their result first. RFC
    /// 3339 in UTC (`Z`).
    #[serde(default, with = "utc_timestamp")]
    #[schema(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub last_sale_at: Option<NaiveDateTime>,
}

/// Times are kept in UTC without an offset inside Podium and written with one (`Z`), as
/// RFC 3339 asks; both forms are read, so lines frozen before this rule stay readable.
mod utc_timestamp {
    use chrono::{DateTime, NaiveDateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<NaiveDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(at) => serializer.serialize_some(
                &at.and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<NaiveDateTime>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        if let Ok(at) = DateTime::parse_from_rfc3339(&text) {
            return Ok(Some(at.with_timezone(&Utc).naive_utc()));
        }
        text.parse::<NaiveDateTime>()
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

impl Totals {
    /// The definition: sums the sales of one entrant. `sales` may hold the entrant's
    /// whole history; lines outside the windows count only for new customers.
    pub fn from_sales<'a>(
        sales: impl IntoIterator<Item = &'a SaleFact>,
        filter: &SaleFilter,
        period: Window,
        baseline: Option<Window>,
    ) -> Self {
        let mut totals = Totals::default();
        // Per customer: net amount before the period, net amount during it.
        let mut ledger: HashMap<Uuid, (i64, i64)> = HashMap::new();
        for sale in sales.into_iter().filter(|s| filter.admits(s)) {
            if period.contains(sale.sold_at) {
                totals.revenue_cents += sale.amount_cents;
                totals.units += sale.quantity;
                totals.last_sale_at = totals.last_sale_at.max(Some(sale.sold_at));
            }
            if baseline.is_some_and(|b| b.contains(sale.sold_at)) {
                totals.baseline_revenue_cents += sale.amount_cents;
            }
            if let Some(customer) = sale.customer_id {
                let entry = ledger.entry(customer).or_default();
                if sale.sold_at < period.starts_at {
                    entry.0 += sale.amount_cents;
                } else if period.contains(sale.sold_at) {
                    entry.1 += sale.amount_cents;
                }
            }
        }
        totals.new_customers = Some(count_new_customers(ledger.values().copied()));
        totals
    }

    /// The totals of a group of entrants (a team, a region, an organisation).
    pub fn merge(self, other: Totals) -> Totals {
        Totals {
            revenue_cents: self.revenue_cents + other.revenue_cents,
            units: self.units + other.units,
            baseline_revenue_cents: self.baseline_revenue_cents + other.baseline_revenue_cents,
            new_customers: match (self.new_customers, other.new_customers) {
                (Some(a), Some(b)) => Some(a + b),
                (one, None) | (None, one) => one,
            },
            last_sale_at: self.last_sale_at.max(other.last_sale_at),
        }
    }
}

/// A customer is new when the entrant had no net positive sales with it before the period
/// and has net positive sales with it during the period. Input: per customer, the net
/// amount before and during the period.
pub fn count_new_customers(ledger: impl IntoIterator<Item = (i64, i64)>) -> i64 {
    ledger
        .into_iter()
        .filter(|&(before, during)| before <= 0 && during > 0)
        .count() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn at(day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 1)
            .and_then(|d| d.checked_add_days(chrono::Days::new(u64::from(day))))
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("valid date")
    }

    fn filter() -> SaleFilter {
        SaleFilter {
            currency: "EUR".into(),
            ..SaleFilter::default()
        }
    }

    fn period() -> Window {
        Window {
            starts_at: at(100),
            ends_at: at(200),
        }
    }

    fn baseline() -> Window {
        Window {
            starts_at: at(0),
            ends_at: at(100),
        }
    }

    fn sale(customer: u8, day: u32, quantity: i64, amount: i64) -> SaleFact {
        SaleFact {
            participant_id: Uuid::nil(),
            customer_id: Some(Uuid::from_u128(u128::from(customer) + 1)),
            product_id: Some(Uuid::from_u128(u128::from(customer % 3) + 100)),
            key_account: customer.is_multiple_of(2),
            currency: "EUR".into(),
            sold_at: at(day),
            quantity,
            amount_cents: amount,
        }
    }

    #[test]
    fn sums_follow_the_windows() {
        let sales = [
            sale(1, 50, 1, 1_000),
            sale(1, 150, 2, 5_000),
            sale(2, 199, 3, 7_000),
            sale(2, 200, 9, 9_000),
        ];
        let totals = Totals::from_sales(&sales, &filter(), period(), Some(baseline()));
        assert_eq!(totals.revenue_cents, 12_000);
        assert_eq!(totals.units, 5);
        assert_eq!(totals.baseline_revenue_cents, 1_000);
        assert_eq!(
            totals.new_customers,
            Some(1),
            "customer 1 was already served before"
        );
        assert_eq!(totals.last_sale_at, Some(at(199)));
    }

    #[test]
    fn a_customer_fully_refunded_before_the_period_is_new_again() {
        let sales = [
            sale(1, 10, 1, 1_000),
            sale(1, 20, -1, -1_000),
            sale(1, 120, 1, 2_000),
        ];
        let totals = Totals::from_sales(&sales, &filter(), period(), None);
        assert_eq!(totals.new_customers, Some(1));
    }

    #[test]
    fn filters_restrict_products_key_accounts_and_currency() {
        let mut other_currency = sale(4, 150, 1, 1_000);
        other_currency.currency = "USD".into();
        let sales = [
            sale(1, 150, 1, 100),
            sale(2, 150, 1, 200),
            sale(4, 150, 1, 400),
            other_currency,
        ];
        let key_accounts = SaleFilter {
            key_accounts_only: true,
            ..filter()
        };
        assert_eq!(
            Totals::from_sales(&sales, &key_accounts, period(), None).revenue_cents,
            600
        );
        let one_product = SaleFilter {
            products: Some(BTreeSet::from([Uuid::from_u128(102)])),
            ..filter()
        };
        // Customer n buys product 100 + n % 3: only customer 2 buys product 102.
        assert_eq!(
            Totals::from_sales(&sales, &one_product, period(), None).revenue_cents,
            200
        );
    }

    fn arb_sale() -> impl Strategy<Value = SaleFact> {
        (0u8..6, 0u32..260, -5i64..20, -5_000i64..50_000)
            .prop_map(|(customer, day, quantity, amount)| sale(customer, day, quantity, amount))
    }

    proptest! {
        #[test]
        fn order_never_changes_totals(mut sales in prop::collection::vec(arb_sale(), 0..60), seed in any::<u64>()) {
            let before = Totals::from_sales(&sales, &filter(), period(), Some(baseline()));
            // A deterministic shuffle driven by the seed.
            let n = sales.len();
            if n > 1 {
                let mut state = seed;
                for i in (1..n).rev() {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    sales.swap(i, (state >> 33) as usize % (i + 1));
                }
            }
            prop_assert_eq!(before, Totals::from_sales(&sales, &filter(), period(), Some(baseline())));
        }

        #[test]
        fn a_reversed_sale_cancels_out(sales in prop::collection::vec(arb_sale(), 0..40), extra in arb_sale()) {
            let base = Totals::from_sales(&sales, &filter(), period(), Some(baseline()));
            let mut reversal = extra.clone();
            reversal.quantity = -extra.quantity;
            reversal.amount_cents = -extra.amount_cents;
            let mut with_both = sales.clone();
            with_both.push(extra);
            with_both.push(reversal);
            let after = Totals::from_sales(&with_both, &filter(), period(), Some(baseline()));
            prop_assert_eq!(base.revenue_cents, after.revenue_cents);
            prop_assert_eq!(base.units, after.units);
            prop_assert_eq!(base.baseline_revenue_cents, after.baseline_revenue_cents);
            prop_assert_eq!(base.new_customers, after.new_customers);
        }

        #[test]
        fn merging_is_summing(a in prop::collection::vec(arb_sale(), 0..30), b in prop::collection::vec(arb_sale(), 0..30)) {
            let ta = Totals::from_sales(&a, &filter(), period(), Some(baseline()));
            let tb = Totals::from_sales(&b, &filter(), period(), Some(baseline()));
            let merged = ta.merge(tb);
            prop_assert_eq!(merged.revenue_cents, ta.revenue_cents + tb.revenue_cents);
            prop_assert_eq!(merged, tb.merge(ta));
        }
    }
}
