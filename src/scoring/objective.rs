//! The built-in objectives: what a challenge measures, and the exact value each one takes
//! from an entrant's [`Totals`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::exact::Exact;
use super::totals::Totals;

/// What a challenge measures over its period. Every amount is net of reversals (returns
/// and cancellations), and only sales in the challenge's currency and of its audience's
/// products count. A sale counts in the period when `sold_at` is at or after `starts_at`
/// and before `ends_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Objective {
    /// Net revenue in the period, in minor units.
    Revenue {},
    /// Net units sold in the period.
    Units {},
    /// Customers won: customers with net positive revenue in the period and no net
    /// positive revenue with the same entrant at any time before the period.
    NewCustomers {},
    /// Revenue growth in percent: (period − baseline) / baseline × 100, rounded to 4
    /// decimals, with the baseline period of the challenge. Undefined (not ranked) when the
    /// baseline revenue is zero or less.
    RevenueGrowth {},
    /// Product placement: net units of the given products in the period.
    ProductUnits {
        #[schema(min_items = 1)]
        #[serde(deserialize_with = "unique_ids")]
        product_ids: BTreeSet<Uuid>,
    },
    /// Product placement: net revenue of the given products in the period.
    ProductRevenue {
        #[schema(min_items = 1)]
        #[serde(deserialize_with = "unique_ids")]
        product_ids: BTreeSet<Uuid>,
    },
    /// Net revenue with key-account customers in the period.
    KeyAccountRevenue {},
    /// Revenue growth in percent on key-account customers, as `revenue_growth`.
    KeyAccountGrowth {},
    /// A custom objective: a version of an admin's Rhai rule of kind `objective`, called
    /// once per entrant with its sales in the period (see `rules/README.md`). The version
    /// is fixed: a new upload does not change the challenge.
    Script {
        rule_id: Uuid,
        #[schema(minimum = 1)]
        version: i32,
        /// The rule's parameters, `ctx.params` in the script.
        #[serde(default)]
        #[schema(value_type = crate::rules::RuleParams)]
        params: serde_json::Map<String, serde_json::Value>,
    },
}

/// A set of ids given as a list: a repeated id is refused (the schema says `uniqueItems`)
/// rather than silently merged.
fn unique_ids<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeSet<Uuid>, D::Error> {
    let ids = Vec::<Uuid>::deserialize(deserializer)?;
    let set: BTreeSet<Uuid> = ids.iter().copied().collect();
    if set.len() == ids.len() {
        Ok(set)
    } else {
        Err(serde::de::Error::custom("an id is listed twice"))
    }
}

/// The unit of an objective's raw value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueUnit {
    /// Minor units of the challenge's currency.
    Cents,
    Units,
    Customers,
    Percent,
    /// Whatever a script objective computes.
    Points,
}

impl Objective {
    /// Growth objectives compare the period with the baseline period.
    pub fn is_growth(&self) -> bool {
        matches!(
            self,
            Objective::RevenueGrowth {} | Objective::KeyAccountGrowth {}
        )
    }

    pub fn unit(&self) -> ValueUnit {
        match self {
            Objective::Revenue {}
            | Objective::ProductRevenue { .. }
            | Objective::KeyAccountRevenue {} => ValueUnit::Cents,
            Objective::Units {} | Objective::ProductUnits { .. } => ValueUnit::Units,
            Objective::NewCustomers {} => ValueUnit::Customers,
            Objective::RevenueGrowth {} | Objective::KeyAccountGrowth {} => ValueUnit::Percent,
            Objective::Script { .. } => ValueUnit::Points,
        }
    }

    /// The products this objective restricts sales to, if any.
    pub fn products(&self) -> Option<&BTreeSet<Uuid>> {
        match self {
            Objective::ProductUnits { product_ids } | Objective::ProductRevenue { product_ids } => {
                Some(product_ids)
            }
            _ => None,
        }
    }

    /// Whether only key-account sales count.
    pub fn key_accounts_only(&self) -> bool {
        matches!(
            self,
            Objective::KeyAccountRevenue {} | Objective::KeyAccountGrowth {}
        )
    }

    /// The rule version a script objective names.
    pub fn script(&self) -> Option<(Uuid, i32)> {
        match self {
            Objective::Script {
                rule_id, version, ..
            } => Some((*rule_id, *version)),
            _ => None,
        }
    }

    /// The raw value, or `None` where it is undefined (growth without a baseline, or a
    /// script objective, whose value the rule computes).
    pub fn value(&self, totals: &Totals) -> Option<Exact> {
        match self {
            Objective::Revenue {}
            | Objective::ProductRevenue { .. }
            | Objective::KeyAccountRevenue {} => Some(Exact::from_int(totals.revenue_cents)),
            Objective::Units {} | Objective::ProductUnits { .. } => {
                Some(Exact::from_int(totals.units))
            }
            Objective::NewCustomers {} => totals.new_customers.map(Exact::from_int),
            Objective::RevenueGrowth {} | Objective::KeyAccountGrowth {} => {
                growth_percent(totals.revenue_cents, totals.baseline_revenue_cents)
            }
            Objective::Script { .. } => None,
        }
    }
}

/// (current − baseline) / baseline × 100, exact then rounded to 4 decimals; undefined when
/// the baseline is not positive.
pub fn growth_percent(current: i64, baseline: i64) -> Option<Exact> {
    if baseline <= 0 {
        return None;
    }
    Exact::percent_of(
        Exact::from_int(current.checked_sub(baseline)?),
        Exact::from_int(baseline),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(revenue: i64, baseline: i64) -> Totals {
        Totals {
            revenue_cents: revenue,
            units: 7,
            baseline_revenue_cents: baseline,
            new_customers: Some(2),
            last_sale_at: None,
        }
    }

    #[test]
    fn values_follow_their_definition() {
        let t = totals(15_000, 10_000);
        assert_eq!(
            Objective::Revenue {}.value(&t),
            Some(Exact::from_int(15_000))
        );
        assert_eq!(Objective::Units {}.value(&t), Some(Exact::from_int(7)));
        assert_eq!(
            Objective::NewCustomers {}.value(&t),
            Some(Exact::from_int(2))
        );
        assert_eq!(
            Objective::RevenueGrowth {}.value(&t),
            Some(Exact::from_int(50))
        );
        assert_eq!(Objective::RevenueGrowth {}.value(&totals(50, 0)), None);
        assert_eq!(
            Objective::KeyAccountGrowth {}.value(&totals(50, 100)),
            Some(Exact::from_int(-50))
        );
        assert_eq!(
            growth_percent(1_000_000, 700_000),
            Exact::parse("42.8571").ok(),
            "rounded to 4 decimals, half away from zero"
        );
    }

    #[test]
    fn the_wire_format_is_tagged() {
        let parsed: Objective = serde_json::from_str(
            r#"{"type":"product_units","product_ids":["00000000-0000-0000-0000-000000000001"]}"#,
        )
        .expect("valid");
        assert_eq!(parsed.unit(), ValueUnit::Units);
        assert!(parsed.products().is_some());
        assert!(serde_json::from_str::<Objective>(r#"{"type":"revenue","extra":1}"#).is_err());
        assert!(serde_json::from_str::<Objective>(
            r#"{"type":"product_units","product_ids":[],"x":1}"#
        )
        .is_err());
        assert_eq!(
            serde_json::from_str::<Objective>(r#"{"type":"revenue"}"#).expect("valid"),
            Objective::Revenue {}
        );
    }
}
