//! Rewards as the domain sees them: what a reward is ([`Reward`], its [`RewardKind`] and
//! [`Category`]), what a challenge gives ([`plan::RewardPlan`]), and who gets what when it
//! closes ([`allocation`], plain functions with property tests). Certificates are
//! rendered by [`certificate`].

pub mod allocation;
pub mod certificate;
pub mod plan;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The kind of prize, after the article's advice: classic, surprising or trendy prizes,
/// a goodie or certificate for everyone, and trade terms for distributors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Classic,
    Surprising,
    Trendy,
    Goodie,
    Certificate,
    Trade,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Classic => "classic",
            Category::Surprising => "surprising",
            Category::Trendy => "trendy",
            Category::Goodie => "goodie",
            Category::Certificate => "certificate",
            Category::Trade => "trade",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Category::Classic,
            Category::Surprising,
            Category::Trendy,
            Category::Goodie,
            Category::Certificate,
            Category::Trade,
        ]
        .into_iter()
        .find(|c| c.as_str() == value)
    }
}

/// What the reward is, with the fields of its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[schema(example = json!({"type": "free_goods", "product_id": "3a1f6c2e-8b7d-4e5f-9a0b-1c2d3e4f5a6b", "quantity": 12}))]
pub enum RewardKind {
    /// An object: a coffee machine, a weekend, a watch.
    #[schema(example = json!({"type": "gift"}))]
    Gift {},
    /// A voucher from a provider.
    #[schema(example = json!({"type": "voucher", "provider": "Fnac"}))]
    Voucher {
        #[serde(default)]
        provider: String,
    },
    /// Units of one of our products, free (distributors).
    #[schema(example = json!({"type": "free_goods", "product_id": "3a1f6c2e-8b7d-4e5f-9a0b-1c2d3e4f5a6b", "quantity": 12}))]
    FreeGoods {
        product_id: Uuid,
        /// Units per award.
        #[schema(minimum = 1)]
        quantity: i64,
    },
    /// Extra days of payment terms (distributors).
    #[schema(example = json!({"type": "payment_terms", "days": 30}))]
    PaymentTerms {
        #[schema(minimum = 1)]
        days: i32,
    },
    /// A discount on the next orders, in percent (distributors).
    #[schema(example = json!({"type": "discount", "percent": "5"}))]
    Discount { percent: crate::scoring::Exact },
    /// A cash premium in minor units (reps).
    #[schema(example = json!({"type": "premium", "amount_cents": 50000}))]
    Premium {
        #[schema(minimum = 1)]
        amount_cents: i64,
    },
}

impl RewardKind {
    pub fn name(&self) -> &'static str {
        match self {
            RewardKind::Gift {} => "gift",
            RewardKind::Voucher { .. } => "voucher",
            RewardKind::FreeGoods { .. } => "free_goods",
            RewardKind::PaymentTerms { .. } => "payment_terms",
            RewardKind::Discount { .. } => "discount",
            RewardKind::Premium { .. } => "premium",
        }
    }

    /// The kind's own rules, as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        match self {
            RewardKind::FreeGoods { quantity, .. } if *quantity < 1 => {
                vec![("kind.quantity", "must be at least 1")]
            }
            RewardKind::PaymentTerms { days } if !(1..=365).contains(days) => {
                vec![("kind.days", "must be 1 to 365 days")]
            }
            RewardKind::Discount { percent }
                if !(percent.is_positive() && *percent <= crate::scoring::Exact::HUNDRED) =>
            {
                vec![("kind.percent", "must be more than 0 and at most 100")]
            }
            RewardKind::Premium { amount_cents } if *amount_cents < 1 => {
                vec![("kind.amount_cents", "must be at least 1 (minor units)")]
            }
            _ => Vec::new(),
        }
    }

    /// The product a free-goods reward gives.
    pub fn product(&self) -> Option<Uuid> {
        match self {
            RewardKind::FreeGoods { product_id, .. } => Some(*product_id),
            _ => None,
        }
    }
}

/// A reward of the catalogue, as allocation sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reward {
    pub id: Uuid,
    pub name: String,
    pub kind: RewardKind,
    /// Value of one unit, in minor units of `currency`.
    pub value_cents: i64,
    pub currency: String,
    /// Units left; `None` for unlimited.
    pub stock: Option<i64>,
}
