//! Prices are exact decimals. The originals use Java doubles and print them with
//! `Double.toString`, so a whole number shows as `42.0`; `Price` prints the same way
//! for every price a shop has, without binary rounding in sums.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An amount of money: an item price, a line total or an order total.
///
/// On the wire it is a JSON number (`42.0`), as the original producer writes it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Price(#[serde(with = "rust_decimal::serde::float")] Decimal);

impl Price {
    pub const ZERO: Price = Price(Decimal::ZERO);

    pub fn new(value: Decimal) -> Self {
        Price(value)
    }

    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    pub fn is_negative(&self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// The price as the JSON record carries it: the nearest double.
    pub fn to_f64(self) -> f64 {
        rust_decimal::prelude::ToPrimitive::to_f64(&self.0).unwrap_or(f64::NAN)
    }

    /// A double read back as the JSON reader reads a JSON number: its shortest decimal form
    /// (`42.0`, `19.99`), so that a price survives the trip exactly; `None` for NaN, the
    /// infinities, and what does not fit.
    pub fn from_f64(value: f64) -> Option<Price> {
        if !value.is_finite() {
            return None;
        }
        Decimal::from_str(&value.to_string()).ok().map(Price)
    }
}

impl fmt::Display for Price {
    /// `42.0`, `1764.0`, `19.99`: trailing zeros dropped, but never the last digit after the point.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let normalized = self.0.normalize();
        if normalized.scale() == 0 {
            write!(f, "{normalized}.0")
        } else {
            write!(f, "{normalized}")
        }
    }
}

impl FromStr for Price {
    type Err = rust_decimal::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Decimal::from_str_exact(text.trim()).map(Price)
    }
}

impl Price {
    /// `count` times this price; `None` where the result does not fit (a record from elsewhere
    /// may carry any numbers: better a clear error than a panic).
    pub fn checked_mul(self, count: i64) -> Option<Price> {
        self.0.checked_mul(Decimal::from(count)).map(Price)
    }

    /// The whole euros in it, rounded down (`42.99` is 42); `None` where that does not fit an
    /// `i64`.
    pub fn whole_units(self) -> Option<i64> {
        rust_decimal::prelude::ToPrimitive::to_i64(&self.0.floor())
    }

    /// The sum of `prices`; `None` where it does not fit.
    pub fn checked_sum(prices: impl IntoIterator<Item = Option<Price>>) -> Option<Price> {
        prices.into_iter().try_fold(Price::ZERO, |total, price| {
            total.0.checked_add(price?.0).map(Price)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_units_round_down() {
        let whole = |text: &str| Price::from_str(text).unwrap().whole_units();
        assert_eq!(whole("1764.0"), Some(1764));
        assert_eq!(whole("42.99"), Some(42));
        assert_eq!(whole("0.5"), Some(0));
        assert_eq!(whole("-0.5"), Some(-1));
    }

    fn price(text: &str) -> Price {
        text.parse().unwrap()
    }

    #[test]
    fn whole_prices_print_like_java_doubles() {
        assert_eq!(price("42").to_string(), "42.0");
        assert_eq!(price("42.00").to_string(), "42.0");
        assert_eq!(price("42.0").checked_mul(42).unwrap().to_string(), "1764.0");
        assert_eq!(Price::ZERO.to_string(), "0.0");
    }

    #[test]
    fn fractional_prices_keep_their_digits() {
        assert_eq!(price("19.99").to_string(), "19.99");
        assert_eq!(price("0.50").to_string(), "0.5");
        assert_eq!(
            Price::checked_sum([Some(price("0.1")), Some(price("0.2"))])
                .unwrap()
                .to_string(),
            "0.3"
        );
    }

    #[test]
    fn overflow_is_none_not_a_panic() {
        let huge = price("79228162514264337593543950335");
        assert_eq!(huge.checked_mul(2), None);
        assert_eq!(Price::checked_sum([Some(huge), Some(huge)]), None);
        assert_eq!(Price::checked_sum([Some(huge), None]), None);
    }

    #[test]
    fn prices_are_json_numbers() {
        assert_eq!(serde_json::to_string(&price("42")).unwrap(), "42.0");
        assert_eq!(
            serde_json::from_str::<Price>("19.99").unwrap(),
            price("19.99")
        );
        assert_eq!(serde_json::from_str::<Price>("21").unwrap(), price("21"));
    }
}
