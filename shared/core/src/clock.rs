//! Time as a port, so rules about expiry and dates can be tested.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Paris;

/// Gives the current instant.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stays where it is set: for tests, benchmarks and replaying events.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(std::sync::Mutex::new(at))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The town's calendar date (Europe/Paris) at an instant.
pub fn town_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Paris).date_naive()
}

/// The `YYYY-MM` month (Europe/Paris) of an instant, the key of monthly statistics.
pub fn town_month(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris).format("%Y-%m").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn town_date_follows_paris_not_utc() {
        // 23:30 UTC on 31 Dec is already 1 Jan in Paris.
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(town_date(at), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
        assert_eq!(town_month(at), "2027-01");
    }
}
