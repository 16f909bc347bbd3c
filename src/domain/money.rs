use std::fmt;

use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code: three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim().to_ascii_uppercase();
        match s.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err("must be a three-letter currency code such as EUR".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point (ISO 4217 minor unit) for the currencies that differ from two.
    pub fn minor_digits(&self) -> u32 {
        match self.as_str() {
            "JPY" | "KRW" | "ISK" | "CLP" | "VND" | "XAF" | "XOF" | "HUF" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

/// An exact amount of money in minor units (cents). Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

impl Money {
    /// The largest amount, in minor units: 10^15 (ten trillion euros, a quadrillion yen). Every amount the server
    /// stores is in `0..=MAX_MINOR`, so totals of any number of deals fit 128 bits with room to spare.
    pub const MAX_MINOR: i64 = 1_000_000_000_000_000;

    /// An amount in minor units, checked against `0..=MAX_MINOR`.
    pub fn new(amount_minor: i64, currency: Currency) -> Result<Self, String> {
        if amount_minor < 0 {
            return Err("must not be negative".into());
        }
        if amount_minor > Self::MAX_MINOR {
            return Err(Self::too_large(currency));
        }
        Ok(Self {
            amount_minor,
            currency,
        })
    }

    fn too_large(currency: Currency) -> String {
        let max = Self {
            amount_minor: Self::MAX_MINOR,
            currency,
        };
        format!("must be at most {}", max.to_decimal_string())
    }

    /// Parses a decimal amount as typed ("12 500.50", "12500,5") in the given currency, exactly.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, String> {
        let digits = currency.minor_digits();
        let cleaned: String = amount
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '\u{a0}'))
            .collect();
        let cleaned = cleaned.replace(',', ".");
        if cleaned.is_empty() {
            return Err("is required".into());
        }
        let (neg, body) = match cleaned.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        if neg {
            return Err("must not be negative".into());
        }
        let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
        let bad = || "must be a number such as 1250.00".to_string();
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        if !int_part.chars().all(|c| c.is_ascii_digit())
            || !frac_part.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        if frac_part.len() > digits as usize {
            return Err(format!("{currency} has at most {digits} decimal places"));
        }
        let too_big = || Self::too_large(currency);
        let int: i64 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| too_big())?
        };
        let frac: i64 = format!("{frac_part:0<width$}", width = digits as usize)
            .parse()
            .unwrap_or(0);
        let scale = 10i64.pow(digits);
        let amount_minor = int
            .checked_mul(scale)
            .and_then(|v| v.checked_add(frac))
            .ok_or_else(too_big)?;
        Self::new(amount_minor, currency)
    }

    /// The amount as a plain decimal string ("12500.50").
    pub fn to_decimal_string(&self) -> String {
        let digits = self.currency.minor_digits();
        if digits == 0 {
            return self.amount_minor.to_string();
        }
        let scale = 10i64.pow(digits);
        format!(
            "{}{}.{:0width$}",
            if self.amount_minor < 0 { "-" } else { "" },
            (self.amount_minor / scale).abs(),
            (self.amount_minor % scale).abs(),
            width = digits as usize
        )
    }
}

/// A win probability in whole percent, 0–100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Probability(u8);

impl Probability {
    pub fn new(percent: i64) -> Result<Self, String> {
        u8::try_from(percent)
            .ok()
            .filter(|p| *p <= 100)
            .map(Self)
            .ok_or_else(|| "must be a whole percentage from 0 to 100".to_string())
    }

    pub fn percent(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Probability {
    type Error = String;
    fn try_from(p: i64) -> Result<Self, String> {
        Self::new(p)
    }
}

impl From<Probability> for i64 {
    fn from(p: Probability) -> i64 {
        i64::from(p.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eur() -> Currency {
        Currency::parse("eur").unwrap()
    }

    #[test]
    fn parses_exact_amounts() {
        assert_eq!(
            Money::parse("12 500.5", eur()).unwrap().amount_minor,
            1_250_050
        );
        assert_eq!(Money::parse("0,07", eur()).unwrap().amount_minor, 7);
        assert_eq!(
            Money::parse("1000", Currency::parse("JPY").unwrap())
                .unwrap()
                .amount_minor,
            1000
        );
        assert!(Money::parse("1.5", Currency::parse("JPY").unwrap()).is_err());
        assert!(Money::parse("1.005", eur()).is_err());
        assert!(Money::parse("-3", eur()).is_err());
        assert!(Money::parse("abc", eur()).is_err());
        assert!(Money::parse("99999999999999999999", eur()).is_err());
    }

    #[test]
    fn currency_and_probability_bounds() {
        assert!(Currency::parse("EU").is_err());
        assert!(Currency::parse("E1R").is_err());
        assert_eq!(Probability::new(100).unwrap().percent(), 100);
        assert!(Probability::new(101).is_err());
        assert!(Probability::new(-1).is_err());
    }

    proptest! {
        #[test]
        fn decimal_string_round_trips(minor in 0i64..1_000_000_000_000) {
            let m = Money { amount_minor: minor, currency: eur() };
            prop_assert_eq!(Money::parse(&m.to_decimal_string(), eur()).unwrap(), m);
        }
    }
}
