//! The typed values scripts see, with getters and a small library of helpers written in
//! Rust, so rules stay short and fast: `sales.amount()` sums a participant's lines
//! natively instead of looping in the script.
//!
//! Money is always integer minor units (`amount`), quantities integers. Lists of sales
//! are one shared, immutable [`Sales`] value: filtering makes a new list, never changes
//! the one the script was given.

use std::collections::BTreeSet;
use std::sync::Arc;

use rhai::{
    Array, Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, Map, NativeCallContext, INT,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::engine::charge_copies;

/// One sale line as a script sees it. Reversals (returns, cancellations) are lines with
/// negative quantity and amount.
#[derive(Debug, Clone, PartialEq)]
pub struct Sale {
    /// The product's SKU, empty when the line names none.
    pub product: ImmutableString,
    /// The product's category, empty when the line names no product.
    pub category: ImmutableString,
    /// The customer's reference, empty when the line names none.
    pub customer: ImmutableString,
    pub key_account: bool,
    /// The customer had no net positive revenue with this participant before the
    /// challenge's period.
    pub new_customer: bool,
    pub quantity: INT,
    /// In minor units of the challenge's currency.
    pub amount: INT,
    /// The day of the sale, `YYYY-MM-DD` (UTC).
    pub sold_on: ImmutableString,
}

/// A sale line as given in test inputs and fixtures.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RuleSaleInput)]
#[schema(example = json!({
    "product": "ESP-01", "category": "espresso", "customer": "C-1042", "key_account": true,
    "new_customer": false, "quantity": 3, "amount": 45000, "sold_on": "2026-03-14"
}))]
pub struct SaleInput {
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub customer: String,
    #[serde(default)]
    pub key_account: bool,
    #[serde(default)]
    pub new_customer: bool,
    #[serde(default)]
    pub quantity: i64,
    /// Minor units.
    #[serde(default)]
    pub amount: i64,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub sold_on: String,
}

impl From<&SaleInput> for Sale {
    fn from(s: &SaleInput) -> Self {
        Self {
            product: s.product.as_str().into(),
            category: s.category.as_str().into(),
            customer: s.customer.as_str().into(),
            key_account: s.key_account,
            new_customer: s.new_customer,
            quantity: s.quantity,
            amount: s.amount,
            sold_on: s.sold_on.as_str().into(),
        }
    }
}

/// An immutable list of sale lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sales(pub Arc<Vec<Sale>>);

impl Sales {
    pub fn new(lines: Vec<Sale>) -> Self {
        Self(Arc::new(lines))
    }

    /// The lines that pass, as a new list (charged to the evaluation's copy budget).
    fn keep(&self, predicate: impl Fn(&Sale) -> bool) -> Result<Sales, Box<EvalAltResult>> {
        let kept: Vec<Sale> = self.0.iter().filter(|s| predicate(s)).cloned().collect();
        charge_copies(kept.len())?;
        Ok(Sales::new(kept))
    }

    fn amount(&self) -> INT {
        self.0.iter().map(|s| s.amount).fold(0, INT::saturating_add)
    }

    fn quantity(&self) -> INT {
        self.0
            .iter()
            .map(|s| s.quantity)
            .fold(0, INT::saturating_add)
    }

    fn distinct(&self, key: impl Fn(&Sale) -> &ImmutableString) -> INT {
        let set: BTreeSet<&str> = self
            .0
            .iter()
            .map(|s| key(s).as_str())
            .filter(|k| !k.is_empty())
            .collect();
        INT::try_from(set.len()).unwrap_or(INT::MAX)
    }

    /// Lines grouped by a key, in key order; lines with an empty key are left out.
    fn group(&self, key: impl Fn(&Sale) -> &ImmutableString) -> Result<Map, Box<EvalAltResult>> {
        charge_copies(self.0.len())?;
        let mut groups: std::collections::BTreeMap<&str, Vec<Sale>> = Default::default();
        for sale in self.0.iter() {
            let k = key(sale).as_str();
            if !k.is_empty() {
                groups.entry(k).or_default().push(sale.clone());
            }
        }
        Ok(groups
            .into_iter()
            .map(|(k, lines)| (k.into(), Dynamic::from(Sales::new(lines))))
            .collect())
    }

    fn len(&self) -> INT {
        INT::try_from(self.0.len()).unwrap_or(INT::MAX)
    }
}

/// `for sale in sales`: the lines one by one; the loop is charged to the copy budget.
pub struct SalesIter {
    lines: Arc<Vec<Sale>>,
    next: usize,
    charged: bool,
}

impl Iterator for SalesIter {
    type Item = Result<Sale, Box<EvalAltResult>>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.charged {
            self.charged = true;
            if let Err(e) = charge_copies(self.lines.len()) {
                self.next = usize::MAX;
                return Some(Err(e));
            }
        }
        let sale = self.lines.get(self.next)?.clone();
        self.next += 1;
        Some(Ok(sale))
    }
}

impl IntoIterator for Sales {
    type Item = Result<Sale, Box<EvalAltResult>>;
    type IntoIter = SalesIter;

    fn into_iter(self) -> Self::IntoIter {
        SalesIter {
            lines: self.0,
            next: 0,
            charged: false,
        }
    }
}

/// Who is scored: a participant, or a team, region or organisation of them, with its
/// sector for fairness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "name": "Julie Moreau", "unit": "participant",
    "potential_index": 1.25, "market_share": 0.18
}))]
pub struct Entrant {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `participant`, `team`, `region` or `organisation`.
    #[serde(default = "default_unit")]
    pub unit: String,
    /// The region's potential index (1 when it has none).
    #[serde(default = "one")]
    pub potential_index: f64,
    /// The region's market share, 0 to 1 (0 when it has none).
    #[serde(default)]
    pub market_share: f64,
    /// The region's id, empty when it has none.
    #[serde(default)]
    pub region: String,
    /// The organisation's id, empty for a region.
    #[serde(default)]
    pub organisation: String,
}

fn default_unit() -> String {
    "participant".into()
}

fn one() -> f64 {
    1.0
}

fn index_error(index: INT, len: usize) -> Box<EvalAltResult> {
    format!("sale index {index} out of bounds (the list has {len} line(s))").into()
}

/// Registers the types and helpers above, and `sum` over arrays of numbers.
pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Sale>("Sale")
        .register_get("product", |s: &mut Sale| s.product.clone())
        .register_get("category", |s: &mut Sale| s.category.clone())
        .register_get("customer", |s: &mut Sale| s.customer.clone())
        .register_get("key_account", |s: &mut Sale| s.key_account)
        .register_get("new_customer", |s: &mut Sale| s.new_customer)
        .register_get("quantity", |s: &mut Sale| s.quantity)
        .register_get("amount", |s: &mut Sale| s.amount)
        .register_get("sold_on", |s: &mut Sale| s.sold_on.clone());

    engine
        .register_type_with_name::<Sales>("Sales")
        .register_iterator_result::<Sales, Sale>()
        .register_fn("len", |s: &mut Sales| s.len())
        .register_fn("count", |s: &mut Sales| s.len())
        .register_fn("is_empty", |s: &mut Sales| s.0.is_empty())
        .register_get("len", |s: &mut Sales| s.len())
        .register_fn("amount", |s: &mut Sales| s.amount())
        .register_fn("quantity", |s: &mut Sales| s.quantity())
        .register_fn("distinct_customers", |s: &mut Sales| {
            s.distinct(|l| &l.customer)
        })
        .register_fn("distinct_products", |s: &mut Sales| {
            s.distinct(|l| &l.product)
        })
        .register_fn("for_product", |s: &mut Sales, sku: ImmutableString| {
            s.keep(|l| l.product == sku)
        })
        .register_fn("for_products", |s: &mut Sales, sku: ImmutableString| {
            s.keep(|l| l.product == sku)
        })
        .register_fn("for_products", |s: &mut Sales, skus: Array| {
            let skus: BTreeSet<String> = skus.iter().map(|d| d.to_string()).collect();
            s.keep(|l| skus.contains(l.product.as_str()))
        })
        .register_fn(
            "for_category",
            |s: &mut Sales, category: ImmutableString| s.keep(|l| l.category == category),
        )
        .register_fn(
            "for_customer",
            |s: &mut Sales, customer: ImmutableString| s.keep(|l| l.customer == customer),
        )
        .register_fn("key_accounts", |s: &mut Sales| s.keep(|l| l.key_account))
        .register_fn("new_customers", |s: &mut Sales| s.keep(|l| l.new_customer))
        .register_fn("by_customer", |s: &mut Sales| s.group(|l| &l.customer))
        .register_fn("by_product", |s: &mut Sales| s.group(|l| &l.product))
        .register_fn("by_category", |s: &mut Sales| s.group(|l| &l.category))
        .register_fn(
            "filter",
            |ctx: NativeCallContext,
             s: &mut Sales,
             predicate: FnPtr|
             -> Result<Sales, Box<EvalAltResult>> {
                charge_copies(s.0.len())?;
                let mut kept = Vec::new();
                for sale in s.0.iter() {
                    if predicate.call_within_context::<bool>(&ctx, (sale.clone(),))? {
                        kept.push(sale.clone());
                    }
                }
                Ok(Sales::new(kept))
            },
        )
        .register_indexer_get(
            |s: &mut Sales, index: INT| -> Result<Sale, Box<EvalAltResult>> {
                // Negative indices count from the end, as in Rhai's arrays.
                let len = INT::try_from(s.0.len()).unwrap_or(INT::MAX);
                let from_start = if index < 0 { index + len } else { index };
                usize::try_from(from_start)
                    .ok()
                    .and_then(|i| s.0.get(i))
                    .cloned()
                    .ok_or_else(|| index_error(index, s.0.len()))
            },
        );

    engine
        .register_type_with_name::<Entrant>("Participant")
        .register_get("id", |e: &mut Entrant| e.id.clone())
        .register_get("name", |e: &mut Entrant| e.name.clone())
        .register_get("unit", |e: &mut Entrant| e.unit.clone())
        .register_get("potential_index", |e: &mut Entrant| e.potential_index)
        .register_get("market_share", |e: &mut Entrant| e.market_share)
        .register_get("region", |e: &mut Entrant| e.region.clone())
        .register_get("organisation", |e: &mut Entrant| e.organisation.clone());

    engine.register_fn(
        "sum",
        |values: Array| -> Result<Dynamic, Box<EvalAltResult>> {
            let mut int: INT = 0;
            let mut float = 0.0_f64;
            let mut any_float = false;
            for value in &values {
                if let Ok(i) = value.as_int() {
                    int = int.saturating_add(i);
                } else if let Ok(f) = value.as_float() {
                    float += f;
                    any_float = true;
                } else {
                    return Err(format!("sum: {} is not a number", value.type_name()).into());
                }
            }
            Ok(if any_float {
                Dynamic::from_float(float + int as f64)
            } else {
                Dynamic::from_int(int)
            })
        },
    );
}
