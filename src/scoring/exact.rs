//! Exact numbers: every value that is compared, ranked or shown (raw values, fairness
//! adjustments, scores, thresholds, targets, progress) is an [`Exact`], a decimal, never a
//! binary float, so that what a participant reads is what decided its place.
//!
//! Decisions, recorded here because everything else follows them:
//! - **One precision, one rounding rule, one place.** Integer values (minor units, units,
//!   customers) stay integers. Every value that is derived by division or by multiplying
//!   decimals (growth and progress percentages, a score divided by a potential index, a
//!   growth weighted by a market share, a target) is rounded by [`Exact::rounded`] to
//!   [`SCALE`] = 4 decimal places, half away from zero. Each explained step is rounded when
//!   it is made and the next step starts from the value shown, so a line can be recomputed
//!   by hand from what the API returns. Thresholds, targets and ties are decided on these
//!   rounded values, identically live, frozen and simulated; a script objective's number is
//!   rounded the same way where it leaves the script.
//! - **Decimal strings on the wire**, in and out: `"1250000"`, `"3411675.2381"`, `"-12.5"`
//!   (at most 4 decimals, no exponent, no trailing zeros in answers). JSON numbers are
//!   binary floats in JavaScript and in Python's `json`, so a number would lose exactness in
//!   the very clients that display it; a string keeps it and says so in the schema
//!   (`Decimal`, with its pattern). A JSON number where a decimal is expected is refused.
//! - Inputs with more than 4 decimals are refused rather than silently rounded: what an
//!   admin publishes (a potential index, a threshold) is exactly what is applied.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Decimal places kept by every derived value.
pub const SCALE: u32 = 4;

/// The wire form of an [`Exact`].
pub const PATTERN: &str = r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$";

/// The largest magnitude accepted on input: 15 integer digits, far above any sum of minor
/// units a programme meets, and small enough that products of two values never overflow.
const MAX_INTEGER_DIGITS: usize = 15;

/// An exact decimal with at most [`SCALE`] decimal places.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Exact(Decimal);

impl Exact {
    pub const ZERO: Exact = Exact(Decimal::ZERO);
    pub const ONE: Exact = Exact(Decimal::ONE);
    pub const HUNDRED: Exact = Exact(Decimal::ONE_HUNDRED);

    /// An integer value (minor units, units, customers): exact as it is.
    pub fn from_int(value: i64) -> Self {
        Exact(Decimal::from(value))
    }

    /// `value / 10^scale`, e.g. `from_parts(125, 2)` is 1.25; rounded to [`SCALE`].
    pub fn from_parts(value: i64, scale: u32) -> Self {
        Exact::rounded(Decimal::new(value, scale.min(28)))
    }

    /// The one rounding rule: [`SCALE`] decimals, half away from zero, trailing zeros
    /// dropped.
    pub fn rounded(value: Decimal) -> Self {
        Exact(
            value
                .round_dp_with_strategy(SCALE, RoundingStrategy::MidpointAwayFromZero)
                .normalize(),
        )
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_positive(self) -> bool {
        self.0 > Decimal::ZERO
    }

    pub fn is_integer(self) -> bool {
        self.0.fract().is_zero()
    }

    /// `self / divisor`, rounded; `None` when the divisor is zero.
    pub fn checked_div(self, divisor: Exact) -> Option<Exact> {
        self.0.checked_div(divisor.0).map(Exact::rounded)
    }

    /// `self × factor`, rounded; `None` on overflow (beyond 28 digits).
    pub fn checked_mul(self, factor: Exact) -> Option<Exact> {
        self.0.checked_mul(factor.0).map(Exact::rounded)
    }

    pub fn checked_add(self, other: Exact) -> Option<Exact> {
        self.0.checked_add(other.0).map(Exact::rounded)
    }

    /// `numerator / denominator × 100` (growth, progress), rounded once; `None` when the
    /// denominator is zero.
    pub fn percent_of(numerator: Exact, denominator: Exact) -> Option<Exact> {
        let scaled = numerator.0.checked_mul(Decimal::ONE_HUNDRED)?;
        scaled.checked_div(denominator.0).map(Exact::rounded)
    }

    /// A number a script computed, rounded where it leaves the script; `None` when it is
    /// not finite or beyond the accepted magnitude.
    pub fn from_script(value: f64) -> Option<Exact> {
        if !value.is_finite() || value.abs() >= 1e15 {
            return None;
        }
        Decimal::from_f64_retain(value).map(Exact::rounded)
    }

    /// The value handed to a script (Rhai computes in floats; the result comes back
    /// through [`Exact::from_script`]).
    pub fn to_script(self) -> f64 {
        use rust_decimal::prelude::ToPrimitive;
        self.0.to_f64().unwrap_or(0.0)
    }

    /// Parses the wire form strictly: an optional minus, at most 15 integer digits, at most
    /// 4 decimals, no exponent, no sign `+`, no spaces.
    pub fn parse(text: &str) -> Result<Exact, ParseError> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = match digits.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (digits, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
            return Err(ParseError::NotADecimal);
        }
        if int.len() > MAX_INTEGER_DIGITS {
            return Err(ParseError::TooLarge);
        }
        if frac.is_some_and(|f| f.len() > SCALE as usize) {
            return Err(ParseError::TooManyDecimals);
        }
        Decimal::from_str(text)
            .map(|d| Exact(d.normalize()))
            .map_err(|_| ParseError::NotADecimal)
    }
}

/// Why a decimal string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    NotADecimal,
    TooManyDecimals,
    TooLarge,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::NotADecimal => {
                "expected a decimal string such as \"1.25\" (digits, an optional minus and point)"
            }
            ParseError::TooManyDecimals => "at most 4 decimal places",
            ParseError::TooLarge => "at most 15 digits before the decimal point",
        })
    }
}

impl fmt::Display for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.normalize(), f)
    }
}

impl std::ops::Neg for Exact {
    type Output = Exact;
    fn neg(self) -> Exact {
        Exact(-self.0)
    }
}

impl From<i64> for Exact {
    fn from(value: i64) -> Self {
        Exact::from_int(value)
    }
}

impl Serialize for Exact {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Exact;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string such as \"1.25\"")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Exact, E> {
                Exact::parse(value).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl PartialSchema for Exact {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(PATTERN))
            .max_length(Some(21))
            .description(Some(
                "An exact decimal as a string: an optional minus, up to 15 digits, and up \
                 to 4 decimal places (no exponent). Answers drop trailing zeros. Derived \
                 values are rounded to 4 decimals, half away from zero.",
            ))
            .examples([serde_json::json!("1250000.5")])
            .into()
    }
}

impl ToSchema for Exact {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Decimal")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> Exact {
        Exact::parse(text).expect("a decimal")
    }

    #[test]
    fn rounding_is_half_away_from_zero_at_four_places() {
        assert_eq!(d("1").checked_div(d("3")), Some(d("0.3333")));
        assert_eq!(d("2").checked_div(d("3")), Some(d("0.6667")));
        assert_eq!(Exact::rounded(Decimal::new(5, 5)), d("0.0001"));
        assert_eq!(Exact::rounded(Decimal::new(-5, 5)), d("-0.0001"));
        assert_eq!(d("1").checked_div(d("0")), None);
    }

    #[test]
    fn the_wire_form_is_a_strict_string() {
        assert_eq!(
            serde_json::to_string(&d("1250000.50")).expect("json"),
            "\"1250000.5\""
        );
        assert_eq!(serde_json::to_string(&d("7.0000")).expect("json"), "\"7\"");
        assert_eq!(
            serde_json::to_string(&d("-0.25")).expect("json"),
            "\"-0.25\""
        );
        for bad in [
            "1e5", "+1", " 1", "1.", ".5", "1.23456", "", "-", "0x1", "1,5", "NaN",
        ] {
            assert!(Exact::parse(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(
            serde_json::from_str::<Exact>("1.25").is_err(),
            "a JSON number is refused"
        );
        assert_eq!(
            serde_json::from_str::<Exact>("\"1.25\"").expect("json"),
            d("1.25")
        );
        assert_eq!(
            Exact::parse("1234567890123456"),
            Err(ParseError::TooLarge),
            "16 integer digits"
        );
    }

    #[test]
    fn scripts_numbers_are_rounded_where_they_leave_the_script() {
        assert_eq!(Exact::from_script(0.1 + 0.2), Some(d("0.3")));
        assert_eq!(
            Exact::from_script(1_000_000.000_000_000_1),
            Some(d("1000000"))
        );
        assert_eq!(Exact::from_script(f64::NAN), None);
        assert_eq!(Exact::from_script(f64::INFINITY), None);
        assert_eq!(Exact::from_script(1e300), None);
    }

    proptest! {
        /// What is written is read back as the same value.
        #[test]
        fn the_wire_form_round_trips(units in -999_999_999_999_999i64..999_999_999_999_999, scale in 0u32..=4) {
            let value = Exact::rounded(Decimal::new(units, scale));
            let text = serde_json::to_string(&value).expect("json");
            prop_assert_eq!(serde_json::from_str::<Exact>(&text).expect("read back"), value);
        }
    }
}
