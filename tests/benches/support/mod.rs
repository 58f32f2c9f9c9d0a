//! What the AWS benchmarks share beyond the moto helpers of `telmail_tests::moto`: request
//! counting, the sender identity, and the report's verdicts.
#![allow(dead_code)]

pub mod counter;
pub mod lambda;

use std::time::Duration;

pub use telmail_tests::moto::*;

/// The sender of every email (its domain is the SES identity created on moto).
pub const EMAIL_FROM: &str = "Ville d'Arcachon <ne-pas-repondre@arcachon.example>";

/// Median and maximum of some durations, in milliseconds.
pub fn median_max_ms(samples: &[Duration]) -> (f64, f64) {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    let n = ms.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let median = if n % 2 == 1 {
        ms[n / 2]
    } else {
        (ms[n / 2 - 1] + ms[n / 2]) / 2.0
    };
    (median, ms[n - 1])
}

/// `PASS` or `MISS`.
pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "MISS"
    }
}
