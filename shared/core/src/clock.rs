//! Time as a port, so rules about expiry and dates can be tested.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Europe::Paris;
use serde::{Serialize, Serializer};

/// Gives the current instant.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one product place that reads the wall clock.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stays where it is set (or moves a set step each time it is read): for tests,
/// benchmarks and replaying events.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<ManualTime>);

#[derive(Debug)]
struct ManualTime {
    now: DateTime<Utc>,
    /// How far each reading moves the clock on (zero: it stays).
    step: chrono::Duration,
}

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(std::sync::Mutex::new(ManualTime {
            now: at,
            step: chrono::Duration::zero(),
        }))
    }

    fn time(&self) -> std::sync::MutexGuard<'_, ManualTime> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.time().now += by;
    }

    /// From now on, each reading moves the clock on by `step` after answering (zero: it
    /// stays): time passing while work runs, for the rules that watch how long it runs.
    pub fn advance_on_each_read(&self, step: chrono::Duration) {
        self.time().step = step;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let mut time = self.time();
        let now = time.now;
        time.now = now + time.step;
        now
    }
}

/// The town's calendar date (Europe/Paris) at an instant.
pub fn town_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Paris).date_naive()
}

/// A day as French writes it, without the year: « 1er décembre », « 24 décembre ».
pub fn day_and_month(day: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let month = MONTHS[day.month0() as usize];
    match day.day() {
        1 => format!("1er {month}"),
        n => format!("{n} {month}"),
    }
}

/// A calendar month, written `YYYY-MM`: what the monthly statistics are kept by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Kept as a date so that month arithmetic is chrono's.
    first_day: NaiveDate,
}

/// A month that is not written `YYYY-MM` (French: staff read it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Mois invalide : « {0} » (format AAAA-MM).")]
pub struct MonthError(String);

impl Month {
    /// The town's month (Europe/Paris) at an instant.
    pub fn of(at: DateTime<Utc>) -> Self {
        Self::containing(town_date(at))
    }

    /// The month a date falls in.
    pub fn containing(date: NaiveDate) -> Self {
        Self {
            first_day: date.with_day(1).expect("every month has a day 1"),
        }
    }

    /// January of the month's year.
    pub fn january(self) -> Self {
        Self::containing(self.first_day.with_month(1).expect("January exists"))
    }

    /// The instant the month starts in the town (midnight, Europe/Paris, on its first day).
    pub fn start(self) -> DateTime<Utc> {
        town_midnight(self.first_day)
    }

    /// The instant the month ends in the town (the next one's start).
    pub fn end(self) -> DateTime<Utc> {
        town_midnight(
            self.first_day
                .checked_add_months(chrono::Months::new(1))
                .expect("a next month"),
        )
    }
}

/// Midnight in the town at the start of `day`, as an instant.
fn town_midnight(day: NaiveDate) -> DateTime<Utc> {
    use chrono::TimeZone;
    Paris
        .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .expect("midnight exists in Paris (clocks change at 2 or 3 a.m.)")
        .with_timezone(&Utc)
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first_day.format("%Y-%m"))
    }
}

impl FromStr for Month {
    type Err = MonthError;

    /// `YYYY-MM`.
    fn from_str(s: &str) -> Result<Self, MonthError> {
        let bad = || MonthError(s.to_owned());
        let (year, month) = s.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let month: u32 = month.parse().map_err(|_| bad())?;
        NaiveDate::from_ymd_opt(year, month, 1)
            .map(|first_day| Self { first_day })
            .ok_or_else(bad)
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_month_is_the_town_s_and_reads_back_as_written() {
        // 23:30 UTC on 31 January is already February in Paris.
        let at = Utc.with_ymd_and_hms(2026, 1, 31, 23, 30, 0).unwrap();
        let month = Month::of(at);
        assert_eq!(month.to_string(), "2026-02");
        assert_eq!("2026-02".parse::<Month>(), Ok(month));
        assert_eq!(month.january().to_string(), "2026-01");
        assert!("2026-01".parse::<Month>().unwrap() < month);
        for bad in ["2026-13", "2026-2", "26-02", "2026/02", "", "2026-02-01"] {
            assert!(bad.parse::<Month>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "x".parse::<Month>().unwrap_err().to_string(),
            "Mois invalide : « x » (format AAAA-MM)."
        );
    }

    #[test]
    fn town_date_follows_paris_not_utc() {
        // 23:30 UTC on 31 Dec is already 1 Jan in Paris.
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(town_date(at), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
        assert_eq!(Month::of(at).to_string(), "2027-01");
    }
}
