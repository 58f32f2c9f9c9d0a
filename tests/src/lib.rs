//! What the integration tests (tests/tests/) and the benchmarks (tests/benches/) share: staff
//! identities, seeded subscribers, the moto helpers, and the in-process service.

pub mod feeds;
pub mod moto;
pub mod ports;
pub mod process;
pub mod smtp;
pub mod world;

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use telmail_core::domain::contact::{Email, PhoneNumber};
use telmail_core::domain::staff::{parse_roles, StaffIdentity};
use telmail_core::domain::subscriber::{
    Choice, Consent, ConsentSource, Subscriber, SubscriberId, SubscriberState,
};

/// A staff member with the roles listed (`"redaction,cabinet"`), no contact.
pub fn staff(id: &str, roles: &str) -> StaffIdentity {
    StaffIdentity {
        id: id.into(),
        name: id.into(),
        roles: parse_roles(roles).expect("known roles"),
        email: None,
        phone: None,
        department: None,
    }
}

/// Starts measuring real elapsed time (a wait's limit, a benchmark's figure): a monotonic
/// duration of the test itself, never the service's time.
#[allow(clippy::disallowed_methods)]
pub fn stopwatch() -> std::time::Instant {
    std::time::Instant::now()
}

/// The runtime's clock: a simulation's virtual time when the runtime starts paused (tokio's
/// `start_paused`, which jumps to the next timer whenever every task waits).
#[allow(clippy::disallowed_methods)]
pub fn virtual_now() -> tokio::time::Instant {
    tokio::time::Instant::now()
}

/// The time of a service running on the system clock (the real `telmail-local`, the functions
/// on moto): what a test dates its input with to agree with that service.
pub fn server_now() -> chrono::DateTime<Utc> {
    use telmail_core::clock::Clock;
    telmail_core::clock::SystemClock.now()
}

/// An active subscriber typed in from a paper form, with these contacts and choices.
pub fn paper_subscriber(
    email: Option<Email>,
    phone: Option<PhoneNumber>,
    choices: BTreeSet<Choice>,
) -> Subscriber {
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap();
    Subscriber {
        id: SubscriberId::new(),
        email,
        phone,
        choices,
        zones: Default::default(),
        state: SubscriberState::Active,
        language: "fr".into(),
        consent: Consent {
            source: ConsentSource::Paper {
                staff_id: "bench".into(),
                form_reference: "B".into(),
                place: None,
                imported: false,
            },
            at: now,
            wording_version: "v".into(),
        },
        created_at: now,
        updated_at: now,
    }
}

/// How a harness-less benchmark runs: `quick` when it is a smoke run (`cargo test` gives no
/// `--bench`), and its size, `TELMAIL_BENCH_SUBSCRIBERS` or else `smoke` or `full` subscribers.
pub fn bench_size(smoke: usize, full: usize) -> (usize, bool) {
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = match std::env::var("TELMAIL_BENCH_SUBSCRIBERS") {
        Ok(s) => s
            .trim()
            .parse()
            .expect("TELMAIL_BENCH_SUBSCRIBERS is a number"),
        Err(_) if quick => smoke,
        Err(_) => full,
    };
    (n, quick)
}

/// The process's memory now, in MiB (Linux): `VmRSS:` resident, `VmHWM:` its peak.
pub fn rss_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
