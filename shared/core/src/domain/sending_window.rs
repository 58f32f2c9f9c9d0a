//! The sending window: non-urgent SMS wait until the town may reasonably wake a phone.
//!
//! By default that is 08:00–20:00 Europe/Paris, never on Sundays nor on French public
//! holidays; the town can change the hours and drop either rest day. Urgent campaigns
//! ignore the window entirely: callers only consult it for non-urgent sends.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Europe::Paris;

/// How far ahead [`SendingWindow::next_opening`] looks: no real configuration closes this
/// long, so hitting it means the window itself can never open.
const MAX_SEARCH_DAYS: usize = 30;

const DEFAULT_START: NaiveTime = time_of_day(8);
const DEFAULT_END: NaiveTime = time_of_day(20);

/// A whole hour, checked at compile time when used in a constant.
const fn time_of_day(hour: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, 0, 0) {
        Some(t) => t,
        None => panic!("hour out of range"),
    }
}

/// When non-urgent SMS may be sent: daily hours in Europe/Paris, optionally never on Sundays or
/// French public holidays. Only built by parsing (or `default`), so its start always precedes
/// its end: a window that can never open cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendingWindow {
    /// First local time of day at which sending is allowed (inclusive).
    start: NaiveTime,
    /// Local time of day at which sending stops (exclusive), after `start`.
    end: NaiveTime,
    skip_sundays: bool,
    skip_public_holidays: bool,
}

/// Why a sending window was refused (French: the operator reads it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendingWindowError {
    /// Not two times of day separated by a dash.
    #[error("Plage d'envoi invalide : « {0} » (exemple : 08:00-20:00).")]
    Malformed(String),
    /// The end does not come after the start.
    #[error(
        "Plage d'envoi invalide : « {0} », le début doit précéder la fin (exemple : 08:00-20:00)."
    )]
    EndNotAfterStart(String),
}

impl Default for SendingWindow {
    /// 08:00–20:00, closed on Sundays and public holidays.
    fn default() -> Self {
        Self {
            start: DEFAULT_START,
            end: DEFAULT_END,
            skip_sundays: true,
            skip_public_holidays: true,
        }
    }
}

/// The setting for a window open at every hour of every day.
pub const ALWAYS_OPEN: &str = "24h/24";
/// The suffix that opens the hours on Sundays and public holidays too.
const EVERY_DAY: &str = "7j/7";

impl std::str::FromStr for SendingWindow {
    type Err = SendingWindowError;

    /// Parses the daily hours "08:00-20:00" (also "8h-20h", "08h00-20h00"), closed on Sundays
    /// and public holidays, or open those days too with " 7j/7" after the hours; the start
    /// must be before the end. "24h/24" is open at every hour of every day.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let input = s.trim();
        if input.eq_ignore_ascii_case(ALWAYS_OPEN) {
            let end = NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999).expect("a time");
            return Ok(Self {
                start: NaiveTime::MIN,
                end,
                skip_sundays: false,
                skip_public_holidays: false,
            });
        }
        let (hours, every_day) = match input.strip_suffix(EVERY_DAY) {
            Some(hours) => (hours.trim_end(), true),
            None => (input, false),
        };
        let invalid = || SendingWindowError::Malformed(input.to_owned());
        // Accept the en dash too: French typography writes ranges "8h–20h".
        let (start, end) = hours.split_once(['-', '–']).ok_or_else(invalid)?;
        let start = parse_time_of_day(start).ok_or_else(invalid)?;
        let end = parse_time_of_day(end).ok_or_else(invalid)?;
        if start >= end {
            return Err(SendingWindowError::EndNotAfterStart(input.to_owned()));
        }
        let window = Self {
            start,
            end,
            ..Self::default()
        };
        Ok(match every_day {
            true => window.open_on_sundays().open_on_public_holidays(),
            false => window,
        })
    }
}

impl SendingWindow {
    /// The same hours, open on Sundays too.
    pub fn open_on_sundays(self) -> Self {
        Self {
            skip_sundays: false,
            ..self
        }
    }

    /// The same hours, open on French public holidays too.
    pub fn open_on_public_holidays(self) -> Self {
        Self {
            skip_public_holidays: false,
            ..self
        }
    }

    /// True when `at` falls inside the window (start inclusive, end exclusive), in Europe/Paris local time.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&Paris);
        let time = local.time();
        self.is_sending_day(local.date_naive()) && self.start <= time && time < self.end
    }

    /// `at` itself when open, otherwise the next instant the window opens (UTC).
    pub fn next_opening(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        if self.is_open(at) {
            return at;
        }
        let first_day = at.with_timezone(&Paris).date_naive();
        let mut last_candidate = at;
        for date in first_day.iter_days().take(MAX_SEARCH_DAYS + 1) {
            if !self.is_sending_day(date) {
                continue;
            }
            for candidate in paris_instants(date.and_time(self.start)) {
                // Re-checking with `is_open` keeps both methods consistent when the start
                // falls in a DST gap.
                if candidate >= at && self.is_open(candidate) {
                    return candidate;
                }
                last_candidate = candidate;
            }
        }
        last_candidate
    }

    /// When the window, open at `at`, closes that day (None when it is closed at `at`).
    pub fn closes_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !self.is_open(at) {
            return None;
        }
        let day = at.with_timezone(&Paris).date_naive();
        paris_instants(day.and_time(self.end))
            .into_iter()
            .find(|close| *close > at)
    }

    fn is_sending_day(&self, date: NaiveDate) -> bool {
        let rest_sunday = self.skip_sundays && date.weekday() == Weekday::Sun;
        let rest_holiday = self.skip_public_holidays && is_public_holiday(date);
        !(rest_sunday || rest_holiday)
    }
}

/// "8", "08:00", "8h", "08h00", "8h30"; minutes, when given, take two digits.
fn parse_time_of_day(s: &str) -> Option<NaiveTime> {
    let s = s.trim().to_lowercase();
    let (hours, minutes) = match s.split_once([':', 'h']) {
        Some((h, "")) if s.ends_with('h') => (h, "00"),
        Some((h, m)) => (h, m),
        None => (s.as_str(), "00"),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || hours.len() > 2 || !all_digits(minutes) || minutes.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(hours.parse().ok()?, minutes.parse().ok()?, 0)
}

/// The instants showing `local` on Paris clocks, earliest first. A time skipped by the
/// spring-forward gap maps to the end of the gap, the first instant clocks show a later time.
fn paris_instants(local: NaiveDateTime) -> Vec<DateTime<Utc>> {
    match Paris.from_local_datetime(&local) {
        LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
        LocalResult::Ambiguous(first, second) => {
            vec![first.with_timezone(&Utc), second.with_timezone(&Utc)]
        }
        LocalResult::None => {
            // Paris transitions fall on whole minutes, so stepping by minutes from the
            // truncated time lands exactly on the end of the gap.
            let mut probe = local
                .with_second(0)
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(local);
            for _ in 0..=24 * 60 {
                probe += Duration::minutes(1);
                if let Some(t) = Paris.from_local_datetime(&probe).earliest() {
                    return vec![t.with_timezone(&Utc)];
                }
            }
            Vec::new()
        }
    }
}

/// The 11 public holidays of metropolitan France for a year, sorted (fewer when two coincide, as Ascension and 1 May in 2008).
pub fn french_public_holidays(year: i32) -> Vec<NaiveDate> {
    let Some(easter) = easter_sunday_checked(year) else {
        return Vec::new();
    };
    let mut days: Vec<NaiveDate> = FIXED_HOLIDAYS
        .iter()
        .filter_map(|&(month, day)| NaiveDate::from_ymd_opt(year, month, day))
        .chain(
            EASTER_OFFSETS
                .iter()
                .filter_map(|&offset| easter.checked_add_signed(Duration::days(offset))),
        )
        .collect();
    days.sort_unstable();
    days.dedup();
    days
}

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
///
/// # Panics
///
/// For years outside the range `NaiveDate` can represent.
pub fn easter_sunday(year: i32) -> NaiveDate {
    easter_sunday_checked(year).expect("year within NaiveDate's range")
}

/// True for a French public holiday.
pub fn is_public_holiday(date: NaiveDate) -> bool {
    if FIXED_HOLIDAYS.contains(&(date.month(), date.day())) {
        return true;
    }
    easter_sunday_checked(date.year())
        .is_some_and(|easter| EASTER_OFFSETS.contains(&(date - easter).num_days()))
}

/// Month and day of the holidays that do not move with Easter.
const FIXED_HOLIDAYS: [(u32, u32); 8] = [
    (1, 1),
    (5, 1),
    (5, 8),
    (7, 14),
    (8, 15),
    (11, 1),
    (11, 11),
    (12, 25),
];

/// Days after Easter Sunday of Easter Monday, Ascension and Whit Monday.
const EASTER_OFFSETS: [i64; 3] = [1, 39, 50];

fn easter_sunday_checked(year: i32) -> Option<NaiveDate> {
    // Euclidean division keeps the algorithm valid for proleptic years before 1.
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    let month = u32::try_from(n / 31).ok()?;
    let day = u32::try_from(n % 31 + 1).ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_the_clock_and_every_day_windows_parse() {
        let always: SendingWindow = ALWAYS_OPEN.parse().unwrap();
        // A Sunday night, Christmas at midnight, a Tuesday at 23:59:59 in Paris.
        for at in [
            "2026-12-06T22:30:00Z",
            "2026-12-24T23:00:00Z",
            "2026-12-01T22:59:59Z",
        ] {
            assert!(always.is_open(at.parse().unwrap()), "{at}");
        }
        let every_day: SendingWindow = "08:00-20:00 7j/7".parse().unwrap();
        let sunday_noon = "2026-12-06T11:00:00Z".parse().unwrap();
        assert!(every_day.is_open(sunday_noon));
        assert!(!"08:00-20:00"
            .parse::<SendingWindow>()
            .unwrap()
            .is_open(sunday_noon));
        assert!(!every_day.is_open("2026-12-06T20:00:00Z".parse().unwrap()));
        assert!("7j/7".parse::<SendingWindow>().is_err());
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    /// The instant Paris clocks show this (unambiguous) local time.
    fn paris(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Paris
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn easter_dates() {
        assert_eq!(easter_sunday(2024), date(2024, 3, 31));
        assert_eq!(easter_sunday(2025), date(2025, 4, 20));
        assert_eq!(easter_sunday(2026), date(2026, 4, 5));
        assert_eq!(easter_sunday(2027), date(2027, 3, 28));
        assert_eq!(easter_sunday(2038), date(2038, 4, 25));
        assert_eq!(easter_sunday(2000), date(2000, 4, 23));
    }

    #[test]
    fn holidays_2026() {
        let expected: Vec<NaiveDate> = [
            (1, 1),
            (4, 6),
            (5, 1),
            (5, 8),
            (5, 14),
            (5, 25),
            (7, 14),
            (8, 15),
            (11, 1),
            (11, 11),
            (12, 25),
        ]
        .iter()
        .map(|&(m, d)| date(2026, m, d))
        .collect();
        assert_eq!(french_public_holidays(2026), expected);
        for day in &expected {
            assert!(is_public_holiday(*day), "{day}");
        }
        assert!(!is_public_holiday(date(2026, 4, 5)), "Easter Sunday itself");
        assert!(!is_public_holiday(date(2026, 4, 7)));
        assert!(!is_public_holiday(date(2026, 12, 26)));
    }

    #[test]
    fn coinciding_holidays_are_listed_once() {
        // Easter 2008 was 23 March, so Ascension fell on 1 May.
        let days = french_public_holidays(2008);
        assert_eq!(days.len(), 10);
        assert_eq!(days.iter().filter(|&&d| d == date(2008, 5, 1)).count(), 1);
    }

    #[test]
    fn default_window() {
        let window = SendingWindow::default();
        assert_eq!(window.start, hm(8, 0));
        assert_eq!(window.end, hm(20, 0));
        assert!(window.skip_sundays);
        assert!(window.skip_public_holidays);
    }

    #[test]
    fn is_open_on_a_weekday() {
        let window = SendingWindow::default();
        assert_eq!(date(2026, 3, 3).weekday(), Weekday::Tue);
        assert!(window.is_open(paris(2026, 3, 3, 10, 0)));
        assert!(!window.is_open(paris(2026, 3, 3, 7, 59)));
        assert!(window.is_open(paris(2026, 3, 3, 8, 0)));
        assert!(window.is_open(paris(2026, 3, 3, 19, 59)));
        assert!(!window.is_open(paris(2026, 3, 3, 20, 0)));
    }

    #[test]
    fn is_open_on_rest_days() {
        let window = SendingWindow::default();
        assert_eq!(date(2026, 3, 8).weekday(), Weekday::Sun);
        assert!(!window.is_open(paris(2026, 3, 8, 12, 0)));
        assert_eq!(date(2026, 7, 14).weekday(), Weekday::Tue);
        assert!(!window.is_open(paris(2026, 7, 14, 12, 0)));

        let sundays_allowed = SendingWindow::default().open_on_sundays();
        assert!(sundays_allowed.is_open(paris(2026, 3, 8, 12, 0)));
        assert!(!sundays_allowed.is_open(paris(2026, 7, 14, 12, 0)));

        let holidays_allowed = SendingWindow::default().open_on_public_holidays();
        assert!(holidays_allowed.is_open(paris(2026, 7, 14, 12, 0)));
        assert!(!holidays_allowed.is_open(paris(2026, 3, 8, 12, 0)));
    }

    #[test]
    fn next_opening_of_an_open_instant_is_itself() {
        let at = paris(2026, 3, 3, 10, 17);
        assert_eq!(SendingWindow::default().next_opening(at), at);
    }

    #[test]
    fn next_opening_after_the_evening_is_the_next_morning() {
        let window = SendingWindow::default();
        assert_eq!(
            window.next_opening(paris(2026, 3, 3, 21, 0)),
            paris(2026, 3, 4, 8, 0)
        );
        assert_eq!(
            window.next_opening(paris(2026, 3, 3, 20, 0)),
            paris(2026, 3, 4, 8, 0)
        );
    }

    #[test]
    fn next_opening_before_the_morning_is_the_same_day() {
        assert_eq!(
            SendingWindow::default().next_opening(paris(2026, 3, 4, 6, 30)),
            paris(2026, 3, 4, 8, 0)
        );
    }

    #[test]
    fn next_opening_skips_sunday() {
        let window = SendingWindow::default();
        assert_eq!(date(2026, 3, 7).weekday(), Weekday::Sat);
        assert_eq!(
            window.next_opening(paris(2026, 3, 7, 20, 30)),
            paris(2026, 3, 9, 8, 0)
        );
        assert_eq!(
            window.next_opening(paris(2026, 3, 8, 12, 0)),
            paris(2026, 3, 9, 8, 0)
        );
    }

    #[test]
    fn next_opening_skips_easter_sunday_and_monday() {
        assert_eq!(date(2026, 4, 4).weekday(), Weekday::Sat);
        assert_eq!(
            SendingWindow::default().next_opening(paris(2026, 4, 4, 21, 0)),
            paris(2026, 4, 7, 8, 0)
        );
    }

    #[test]
    fn next_opening_skips_christmas() {
        assert_eq!(date(2026, 12, 24).weekday(), Weekday::Thu);
        assert_eq!(
            SendingWindow::default().next_opening(paris(2026, 12, 24, 22, 0)),
            paris(2026, 12, 26, 8, 0)
        );
    }

    #[test]
    fn next_opening_across_the_spring_dst_change() {
        // Clocks go forward on Sunday 29 March 2026: Monday morning is summer time.
        let opening = SendingWindow::default().next_opening(paris(2026, 3, 28, 21, 0));
        assert_eq!(opening, paris(2026, 3, 30, 8, 0));
        assert_eq!(opening, utc(2026, 3, 30, 6, 0));
    }

    #[test]
    fn next_opening_in_winter_is_utc_plus_one() {
        let opening = SendingWindow::default().next_opening(paris(2026, 1, 13, 21, 0));
        assert_eq!(opening, paris(2026, 1, 14, 8, 0));
        assert_eq!(opening, utc(2026, 1, 14, 7, 0));
    }

    #[test]
    fn next_opening_across_the_autumn_dst_change() {
        // Clocks go back on Sunday 25 October 2026: Monday morning is winter time.
        let opening = SendingWindow::default().next_opening(paris(2026, 10, 24, 21, 0));
        assert_eq!(opening, utc(2026, 10, 26, 7, 0));
    }

    #[test]
    fn start_inside_the_dst_gap_opens_when_the_gap_ends() {
        // 02:30 never shows on Paris clocks on 29 March 2026: they jump from 02:00 to 03:00.
        let window = window("02:30-20:00").open_on_sundays();
        let opening = window.next_opening(paris(2026, 3, 29, 1, 0));
        assert_eq!(opening, utc(2026, 3, 29, 1, 0));
        assert_eq!(opening, paris(2026, 3, 29, 3, 0));
        assert!(window.is_open(opening));
        assert!(!window.is_open(opening - Duration::seconds(1)));
    }

    #[test]
    fn start_inside_the_repeated_hour_uses_a_later_occurrence_when_needed() {
        // On 25 October 2026 Paris clocks show 02:00–02:59 twice; at 02:10 the second
        // time (01:10 UTC), 02:30 is still to come, at 01:30 UTC.
        let window = window("02:30-20:00").open_on_sundays();
        assert_eq!(
            window.next_opening(utc(2026, 10, 25, 1, 10)),
            utc(2026, 10, 25, 1, 30)
        );
    }

    fn window(hours: &str) -> SendingWindow {
        hours.parse().unwrap()
    }

    #[test]
    fn parsing_accepts_common_spellings() {
        let expected = SendingWindow::default();
        for spelling in ["08:00-20:00", "8h-20h", "08h00-20h00", "8H-20H", "8h–20h"] {
            assert_eq!(window(spelling), expected, "{spelling}");
        }
        let w = window(" 09:30 - 18:00 ");
        assert_eq!((w.start, w.end), (hm(9, 30), hm(18, 0)));
        let w = window("8h30-19h45");
        assert_eq!((w.start, w.end), (hm(8, 30), hm(19, 45)));
        assert!(w.skip_sundays && w.skip_public_holidays);
    }

    #[test]
    fn parsing_refuses_a_window_that_could_never_open() {
        assert_eq!(
            "20:00-08:00"
                .parse::<SendingWindow>()
                .unwrap_err()
                .to_string(),
            "Plage d'envoi invalide : « 20:00-08:00 », le début doit précéder la fin \
             (exemple : 08:00-20:00)."
        );
        assert_eq!(
            "08:00-08:00".parse::<SendingWindow>(),
            Err(SendingWindowError::EndNotAfterStart("08:00-08:00".into()))
        );
    }

    #[test]
    fn parsing_refuses_nonsense() {
        assert_eq!(
            "abc".parse::<SendingWindow>().unwrap_err().to_string(),
            "Plage d'envoi invalide : « abc » (exemple : 08:00-20:00)."
        );
        for bad in [
            "25:00-26:00",
            "",
            "08:00",
            "8h5-20h",
            "08:00-20:00-21:00",
            "-8h-20h",
            "08:60-20:00",
        ] {
            assert_eq!(
                bad.parse::<SendingWindow>(),
                Err(SendingWindowError::Malformed(bad.trim().into())),
                "{bad:?}"
            );
        }
    }
}
