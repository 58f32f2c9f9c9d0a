//! Prices and costs in euros, stored exactly as integer ten-thousandths of a euro.
//!
//! [`Money`] parses French or English decimal notation (`0,10`, `0.045`), displays in
//! French (`1 234,50 €`) and serializes to JSON as a number of euros (`0.1`).
//! [`Prices`] holds the unit prices used to estimate the cost of a send.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul};
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// Ten-thousandths of a euro in one euro.
const SCALE: i64 = 10_000;
/// Maximum number of decimals accepted when parsing.
const MAX_DECIMALS: usize = 4;
/// Thousands separator used for display (narrow no-break space).
const THOUSANDS_SEPARATOR: char = '\u{202F}';

/// An amount in euros, stored as an integer number of ten-thousandths of a euro (1 € = 10 000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(i64);

impl Money {
    /// Zero euro.
    pub const ZERO: Money = Money(0);

    /// Builds an amount from a number of ten-thousandths of a euro.
    pub const fn from_ten_thousandths(value: i64) -> Self {
        Money(value)
    }

    /// The amount in ten-thousandths of a euro.
    pub const fn ten_thousandths(self) -> i64 {
        self.0
    }

    /// The amount in euros as a floating-point number (for display and JSON only).
    pub fn as_euros_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }
}

impl Add for Money {
    type Output = Money;

    /// Adds two amounts.
    ///
    /// # Panics
    /// On overflow (beyond ±922 billion billion ten-thousandths).
    fn add(self, rhs: Money) -> Money {
        Money(self.0.checked_add(rhs.0).expect("Money addition overflow"))
    }
}

impl AddAssign for Money {
    /// Adds an amount in place (panics on overflow, like [`Add`]).
    fn add_assign(&mut self, rhs: Money) {
        *self = *self + rhs;
    }
}

impl Mul<u64> for Money {
    type Output = Money;

    /// Multiplies a unit price by a count.
    ///
    /// # Panics
    /// On overflow.
    fn mul(self, count: u64) -> Money {
        i64::try_from(count)
            .ok()
            .and_then(|count| self.0.checked_mul(count))
            .map(Money)
            .expect("Money multiplication overflow")
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.copied().sum()
    }
}

/// Error returned when a text is not a valid non-negative amount with at most 4 decimals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("montant invalide : « {input} » (exemple : 0,10)")]
pub struct MoneyParseError {
    /// The rejected text (trimmed).
    pub input: String,
}

impl FromStr for Money {
    type Err = MoneyParseError;

    /// Parses `"0.10"`, `"0,10"`, `"0.045"`, `"1"`, `" 0,02 "`: ASCII digits, an optional
    /// decimal point or comma followed by 1 to 4 digits. Signs, thousands separators,
    /// exponents and currency symbols are refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let error = || MoneyParseError {
            input: trimmed.to_owned(),
        };
        let (whole, decimals) = match trimmed.find(['.', ',']) {
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => (trimmed, ""),
        };
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) {
            return Err(error());
        }
        if trimmed.len() > whole.len()
            && (decimals.is_empty() || decimals.len() > MAX_DECIMALS || !all_digits(decimals))
        {
            return Err(error());
        }
        let whole: i64 = whole.parse().map_err(|_| error())?;
        let fraction = decimals
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(MAX_DECIMALS)
            .fold(0_i64, |acc, digit| acc * 10 + i64::from(digit - b'0'));
        whole
            .checked_mul(SCALE)
            .and_then(|value| value.checked_add(fraction))
            .map(Money)
            .ok_or_else(error)
    }
}

impl fmt::Display for Money {
    /// French format: decimal comma, 2 to 4 decimals, narrow no-break space between
    /// thousands, `" €"` suffix (`1 234,50 €`, `0,045 €`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.0.unsigned_abs();
        let scale = SCALE.unsigned_abs();
        let whole = (magnitude / scale).to_string();
        let mut decimals = format!("{:04}", magnitude % scale);
        while decimals.len() > 2 && decimals.ends_with('0') {
            decimals.pop();
        }

        let mut text = String::with_capacity(whole.len() * 2 + decimals.len() + 8);
        if self.0 < 0 {
            text.push('-');
        }
        // `whole` is ASCII digits: a leading group of 1 to 3 digits, then groups of 3.
        let head = match whole.len() % 3 {
            0 => 3,
            rest => rest,
        };
        text.push_str(&whole[..head]);
        for group in whole.as_bytes()[head..].chunks(3) {
            text.push(THOUSANDS_SEPARATOR);
            text.extend(group.iter().map(|&digit| char::from(digit)));
        }
        text.push(',');
        text.push_str(&decimals);
        text.push_str(" €");
        f.pad(&text)
    }
}

impl Serialize for Money {
    /// Serializes as a JSON number of euros (e.g. `0.1`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_euros_f64())
    }
}

/// Unit prices used to estimate the cost of a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Prices {
    /// Price of one SMS segment.
    pub sms_segment: Money,
    /// Price of one email.
    pub email: Money,
    /// Price of one voice call (each attempt is billed as one).
    pub voice_call: Money,
}

impl Default for Prices {
    /// 0,10 € per SMS segment and 0,02 € per email.
    fn default() -> Self {
        Prices {
            sms_segment: Money::from_ten_thousandths(1_000),
            email: Money::from_ten_thousandths(200),
            voice_call: Money::from_ten_thousandths(1_500),
        }
    }
}

impl Prices {
    /// Cost of sending `segments` SMS segments.
    pub fn sms_cost(&self, segments: u64) -> Money {
        self.sms_segment * segments
    }

    /// Cost of sending `emails` emails.
    pub fn email_cost(&self, emails: u64) -> Money {
        self.email * emails
    }

    /// Cost of `calls` voice calls.
    pub fn voice_cost(&self, calls: u64) -> Money {
        self.voice_call * calls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(value: i64) -> Money {
        Money::from_ten_thousandths(value)
    }

    fn parse(s: &str) -> Result<Money, MoneyParseError> {
        s.parse()
    }

    #[test]
    fn parses_decimal_point_and_comma() {
        assert_eq!(parse("0.10"), Ok(m(1_000)));
        assert_eq!(parse("0,10"), Ok(m(1_000)));
        assert_eq!(parse("0.045"), Ok(m(450)));
        assert_eq!(parse("0,045"), Ok(m(450)));
        assert_eq!(parse("1"), Ok(m(10_000)));
        assert_eq!(parse(" 0,02 "), Ok(m(200)));
        assert_eq!(parse("\t12.5\n"), Ok(m(125_000)));
        assert_eq!(parse("0.0001"), Ok(m(1)));
        assert_eq!(parse("1234,5678"), Ok(m(12_345_678)));
        assert_eq!(parse("0"), Ok(m(0)));
        assert_eq!(parse("0,0"), Ok(m(0)));
        assert_eq!(parse("007,1"), Ok(m(71_000)));
        assert_eq!(parse("922337203685477,5807"), Ok(m(i64::MAX)));
    }

    #[test]
    fn refuses_invalid_amounts() {
        for input in [
            "",
            "   ",
            "abc",
            "-0.10",
            "-1",
            "+1",
            "0.12345",
            "1.",
            "1,",
            ",5",
            ".5",
            "1,2,3",
            "1.2.3",
            "1 000",
            "1 000,00",
            "0,10 €",
            "€0.10",
            "1e3",
            "0x10",
            "١",
            "NaN",
            "922337203685477,5808",
            "99999999999999999999",
        ] {
            assert_eq!(
                parse(input),
                Err(MoneyParseError {
                    input: input.trim().to_owned()
                }),
                "{input:?}"
            );
        }
    }

    #[test]
    fn parse_error_message_is_french() {
        assert_eq!(
            parse(" 1,2,3 ").unwrap_err().to_string(),
            "montant invalide : « 1,2,3 » (exemple : 0,10)"
        );
        assert_eq!(
            parse("-0,10").unwrap_err().to_string(),
            "montant invalide : « -0,10 » (exemple : 0,10)"
        );
    }

    #[test]
    fn displays_in_french() {
        assert_eq!(m(1_000).to_string(), "0,10 €");
        assert_eq!(m(450).to_string(), "0,045 €");
        assert_eq!(m(125_000).to_string(), "12,50 €");
        assert_eq!(m(12_345_000).to_string(), "1\u{202F}234,50 €");
        assert_eq!(m(0).to_string(), "0,00 €");
        assert_eq!(m(1).to_string(), "0,0001 €");
        assert_eq!(m(200).to_string(), "0,02 €");
        assert_eq!(m(10_000).to_string(), "1,00 €");
        assert_eq!(m(9_999_900).to_string(), "999,99 €");
        assert_eq!(m(10_000_000).to_string(), "1\u{202F}000,00 €");
        assert_eq!(
            m(12_345_678_912).to_string(),
            "1\u{202F}234\u{202F}567,8912 €"
        );
        assert_eq!(m(-5_000).to_string(), "-0,50 €");
        assert_eq!(m(-12_345_000).to_string(), "-1\u{202F}234,50 €");
        assert_eq!(
            m(i64::MIN).to_string(),
            "-922\u{202F}337\u{202F}203\u{202F}685\u{202F}477,5808 €"
        );
        assert_eq!(format!("[{:>8}]", m(1_000)), "[  0,10 €]");
    }

    #[test]
    fn display_and_parse_round_trip_below_a_thousand() {
        for value in [0, 1, 450, 1_000, 1_234, 99_999, 9_999_999] {
            let shown = m(value).to_string();
            let number = shown.trim_end_matches(" €");
            assert_eq!(parse(number), Ok(m(value)), "{shown}");
        }
    }

    #[test]
    fn arithmetic() {
        assert_eq!(m(1_000) + m(200), m(1_200));
        let mut total = m(1_000);
        total += m(450);
        assert_eq!(total, m(1_450));
        assert_eq!(m(1_000) * 3, m(3_000));
        assert_eq!(m(450) * 1_000_000, m(450_000_000));
        let amounts = [m(1_000), m(200), m(450)];
        assert_eq!(amounts.iter().sum::<Money>(), m(1_650));
        assert_eq!(amounts.into_iter().sum::<Money>(), m(1_650));
        assert_eq!(std::iter::empty::<Money>().sum::<Money>(), Money::ZERO);
        assert_eq!(Money::default(), Money::ZERO);
        assert!(m(200) < m(1_000));
        assert_eq!(m(1_650).ten_thousandths(), 1_650);
        assert_eq!(m(1_000).as_euros_f64(), 0.1);
        assert_eq!(m(450).as_euros_f64(), 0.045);
        assert_eq!(m(-12_345_000).as_euros_f64(), -1_234.5);
    }

    #[test]
    #[should_panic(expected = "Money multiplication overflow")]
    fn multiplication_overflow_panics() {
        let _ = m(10_000) * u64::MAX;
    }

    #[test]
    #[should_panic(expected = "Money addition overflow")]
    fn addition_overflow_panics() {
        let _ = m(i64::MAX) + m(1);
    }

    #[test]
    fn serializes_as_euros() {
        assert_eq!(serde_json::to_string(&m(1_000)).unwrap(), "0.1");
        assert_eq!(serde_json::to_string(&m(450)).unwrap(), "0.045");
        assert_eq!(serde_json::to_string(&m(125_000)).unwrap(), "12.5");
        assert_eq!(serde_json::to_string(&m(0)).unwrap(), "0.0");
        assert_eq!(
            serde_json::to_value(Prices::default()).unwrap(),
            serde_json::json!({ "sms_segment": 0.1, "email": 0.02, "voice_call": 0.15 })
        );
    }

    #[test]
    fn default_prices_and_costs() {
        let prices = Prices::default();
        assert_eq!(prices.sms_segment, m(1_000));
        assert_eq!(prices.email, m(200));
        assert_eq!(prices.sms_segment.to_string(), "0,10 €");
        assert_eq!(prices.email.to_string(), "0,02 €");
        assert_eq!(prices.sms_cost(0), Money::ZERO);
        assert_eq!(prices.sms_cost(3), m(3_000));
        assert_eq!(prices.email_cost(250), m(50_000));
        assert_eq!(prices.email_cost(250).to_string(), "5,00 €");
        assert_eq!(
            (prices.sms_cost(1_200) + prices.email_cost(5_000)).to_string(),
            "220,00 €"
        );
        let custom = Prices {
            sms_segment: parse("0,045").unwrap(),
            email: parse("0.001").unwrap(),
            voice_call: parse("0,12").unwrap(),
        };
        assert_eq!(custom.voice_cost(2), m(2_400));
        assert_eq!(custom.sms_cost(7), m(3_150));
        assert_eq!(custom.email_cost(3), m(30));
        assert_eq!(custom.sms_cost(7).to_string(), "0,315 €");
    }
}
