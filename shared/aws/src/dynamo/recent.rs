//! What a store instance remembers between calls, so the hot paths never re-read a partition
//! that grows: the suppression list (read whole at most every [`SUPPRESSIONS_FRESH_FOR`]) and
//! the change log (read from where the last read stopped).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use telmail_core::domain::subscriber::SubscriberId;

/// How long fan-out trusts the suppression list it read: an address suppressed since (a bounce
/// during the campaign) may still be queued for this long. Bounded by the list's size, not by
/// the audience: one read per instance per period instead of one per page of 500.
pub const SUPPRESSIONS_FRESH_FOR: Duration = Duration::from_secs(30);

/// How often a sender reads what the change log gained: a change made in the last 5 seconds
/// may be missed, as it would be by a send already under way, and as a campaign stopped by the
/// cabinet is seen by its senders within 5 seconds too (the status read). Once a second cost
/// 0.02 read units per recipient at 14 emails a second, a fifth of the target (#27).
pub const CHANGES_FRESH_FOR: Duration = Duration::from_secs(5);

/// Entries written this long before the last read are read again: an eventually consistent
/// Query may not have shown them yet.
pub const CHANGES_OVERLAP: chrono::Duration = chrono::Duration::seconds(5);

/// The suppressed addresses as last read.
#[derive(Debug, Default)]
pub struct SuppressionsRead {
    /// The addresses and when they were read (none: never, or changed by this instance since).
    pub list: Option<(DateTime<Utc>, Arc<HashSet<String>>)>,
    /// How many addresses the last read found, kept when its copy is dropped: what reading
    /// the list again would cost.
    pub last_size: Option<usize>,
}

/// The caches, shared by the clones of a store. Their age is the service's time (a copy read
/// at a time later than now, after the clock went back, is read again).
#[derive(Debug, Default)]
pub struct Recent {
    /// The suppressed addresses, and when they were read.
    pub suppressions: tokio::sync::Mutex<SuppressionsRead>,
    /// The change log read so far.
    pub changes: tokio::sync::Mutex<ChangeLog>,
}

impl Recent {
    /// The suppressed addresses if read recently enough before `now`.
    pub fn fresh_suppressions(
        cached: &SuppressionsRead,
        now: DateTime<Utc>,
    ) -> Option<Arc<HashSet<String>>> {
        cached
            .list
            .as_ref()
            .filter(|(at, _)| younger_than(*at, now, SUPPRESSIONS_FRESH_FOR))
            .map(|(_, set)| set.clone())
    }
}

/// Whether something read at `at` is less than `age` old at `now` (never when `at` is after
/// `now`).
fn younger_than(at: DateTime<Utc>, now: DateTime<Utc>, age: Duration) -> bool {
    (now - at).to_std().is_ok_and(|elapsed| elapsed < age)
}

/// The part of the change log read so far: each subscriber's latest change at or after `from`.
#[derive(Debug, Default)]
pub struct ChangeLog {
    /// Complete from this instant on (none: nothing read).
    from: Option<DateTime<Utc>>,
    /// Read up to this instant (when the last Query started; its age decides when to read
    /// again).
    read_to: Option<DateTime<Utc>>,
    latest: HashMap<SubscriberId, DateTime<Utc>>,
}

/// What to read of the log to answer a question about changes since an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogRead {
    /// Nothing: what was read is recent enough.
    Nothing,
    /// The entries from this instant on, added to what was read.
    Since(DateTime<Utc>),
    /// Everything from the instant asked about, replacing what was read.
    Afresh(DateTime<Utc>),
}

impl ChangeLog {
    /// What must be read to answer "who changed since `since`", at `now`.
    pub fn to_read(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> LogRead {
        match (self.from, self.read_to) {
            (Some(from), Some(read_to)) if since >= from => {
                if younger_than(read_to, now, CHANGES_FRESH_FOR) {
                    LogRead::Nothing
                } else {
                    LogRead::Since(read_to - CHANGES_OVERLAP)
                }
            }
            _ => LogRead::Afresh(since),
        }
    }

    /// Records what a read found; `started` is when its Query started. Changes before `keep_from`
    /// (no question goes back that far) are forgotten.
    pub fn absorb(
        &mut self,
        read: LogRead,
        started: DateTime<Utc>,
        entries: Vec<(DateTime<Utc>, SubscriberId)>,
        keep_from: DateTime<Utc>,
    ) {
        match read {
            LogRead::Nothing => return,
            LogRead::Afresh(since) => {
                self.from = Some(since);
                self.latest.clear();
            }
            LogRead::Since(_) => {}
        }
        for (at, id) in entries {
            let latest = self.latest.entry(id).or_insert(at);
            *latest = (*latest).max(at);
        }
        if self.from.is_some_and(|from| from < keep_from) {
            self.from = Some(keep_from);
            self.latest.retain(|_, at| *at >= keep_from);
        }
        self.read_to = Some(started);
    }

    /// Which of `ids` changed at or after `since` (as far as was read).
    pub fn changed(&self, ids: &[SubscriberId], since: DateTime<Utc>) -> HashSet<SubscriberId> {
        ids.iter()
            .filter(|id| self.latest.get(id).is_some_and(|at| *at >= since))
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, min, 0).unwrap()
    }

    #[test]
    fn the_log_is_read_once_then_only_what_it_gained() {
        let mut log = ChangeLog::default();
        let (a, b) = (SubscriberId::new(), SubscriberId::new());
        let keep = at(0) - chrono::Duration::days(2);
        assert_eq!(log.to_read(at(1), at(10)), LogRead::Afresh(at(1)));
        log.absorb(LogRead::Afresh(at(1)), at(10), vec![(at(3), a)], keep);
        assert_eq!(log.changed(&[a, b], at(1)), HashSet::from([a]));
        assert!(log.changed(&[a], at(4)).is_empty(), "changed before");
        // Read a moment ago: nothing to read.
        assert_eq!(log.to_read(at(2), at(10)), LogRead::Nothing);
        // Stale (read a minute ago): only the new part, with an overlap.
        let newer = LogRead::Since(at(10) - CHANGES_OVERLAP);
        assert_eq!(log.to_read(at(2), at(11)), newer);
        // A clock that went back: read again.
        assert_eq!(log.to_read(at(2), at(9)), newer);
        log.absorb(newer, at(11), vec![(at(10), b), (at(11), a)], keep);
        assert_eq!(log.changed(&[a, b], at(5)), HashSet::from([a, b]));
        // A question from before what was read: read afresh from there.
        assert_eq!(log.to_read(at(0), at(12)), LogRead::Afresh(at(0)));
        log.absorb(LogRead::Afresh(at(0)), at(12), vec![(at(0), b)], keep);
        assert_eq!(log.changed(&[a, b], at(0)), HashSet::from([b]));
        // Changes older than any question are forgotten.
        log.absorb(newer, at(12), vec![], at(5));
        assert!(log.changed(&[a, b], at(0)).is_empty());
        assert_eq!(log.to_read(at(4), at(12)), LogRead::Afresh(at(4)));
    }
}
