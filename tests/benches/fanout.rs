//! Fan-out and send on the embedded backend, with a provider that accepts everything at once
//! (so the figures are Télmail's own cost): recipients per second and peak memory, at 10,000 and
//! 100,000 subscribers. Run: `cargo bench -p telmail-tests --bench fanout`.
//! Sizes can be overridden: `TELMAIL_BENCH_SIZES=1000,50000`.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use telmail_core::domain::campaign::{CampaignInput, CampaignStatus, EmailInput, SmsInput};
use telmail_core::domain::contact::{Channel, Email, PhoneNumber};
use telmail_core::domain::subscriber::Choice;
use telmail_core::domain::topic::TopicSlug;
use telmail_core::error::SendError;
use telmail_core::ports::{
    CampaignStore, EmailSender, OutgoingEmail, OutgoingSms, SmsSender, SubscriberStore,
};
use telmail_local::worker::{Worker, WorkerConfig};
use telmail_tests::world::World;

/// Accepts every message at once and counts them.
#[derive(Default)]
struct NullProvider(AtomicU64);

#[async_trait]
impl EmailSender for NullProvider {
    async fn send_email(&self, _: &OutgoingEmail) -> Result<Option<String>, SendError> {
        Ok(Some(self.0.fetch_add(1, Ordering::Relaxed).to_string()))
    }
}

#[async_trait]
impl SmsSender for NullProvider {
    async fn send_sms(&self, _: &OutgoingSms) -> Result<Option<String>, SendError> {
        Ok(Some(self.0.fetch_add(1, Ordering::Relaxed).to_string()))
    }
}

/// Resets the peak so each run reports its own (Linux: write 5 to clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn run(n: usize) -> Figures {
    // A Tuesday morning in Paris: the SMS window is open.
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let world = World::new(at, Arc::new(NullProvider::default())).await;
    let (s, provider) = (&world.services, &world.provider);
    let (store, queue) = (&s.store, &s.queue);

    // Subscribers: every one on email, one in four also on SMS, half also on a second topic
    // (so de-duplication across topics is exercised); written as an import writes them.
    let setup = telmail_tests::stopwatch();
    let topic = |slug: &str| TopicSlug::from_str(slug).unwrap();
    let subscriber = |i: usize| {
        let mut choices = BTreeSet::from([Choice {
            topic: topic("infos-pratiques"),
            channel: Channel::Email,
        }]);
        if i.is_multiple_of(2) {
            choices.insert(Choice {
                topic: topic("alerte-meteo"),
                channel: Channel::Email,
            });
        }
        let phone = (i.is_multiple_of(4))
            .then(|| PhoneNumber::from_str(&format!("+3361{:07}", i)).unwrap());
        if phone.is_some() {
            choices.insert(Choice {
                topic: topic("infos-pratiques"),
                channel: Channel::Sms,
            });
        }
        telmail_tests::paper_subscriber(
            Some(Email::from_str(&format!("habitant{i}@exemple.fr")).unwrap()),
            phone,
            choices,
        )
    };
    for first in (0..n).step_by(1000) {
        let chunk: Vec<_> = (first..n.min(first + 1000)).map(subscriber).collect();
        let written = SubscriberStore::insert_many(store.as_ref(), &chunk)
            .await
            .unwrap();
        assert!(
            written.iter().all(Result::is_ok),
            "every subscriber written"
        );
    }
    let setup = setup.elapsed();

    let input = CampaignInput {
        title: Some("Benchmark".into()),
        topics: vec!["infos-pratiques".into(), "alerte-meteo".into()],
        sms: Some(SmsInput {
            text: Some("Coupure d'eau demain de 9h a 12h, rue du Port.".into()),
        }),
        email: Some(EmailInput {
            subject: Some("Coupure d'eau".into()),
            body_markdown: Some("Demain **de 9 h à 12 h**, rue du Port.".into()),
        }),
        urgent: false,
        send_at: None,
        ..Default::default()
    };
    let c = world.submitted(&input).await;

    let db = queue.db();
    db.count_statements().unwrap();
    let counted = db.counts();
    let io = Io::now();
    reset_peak_rss();
    let start_mib = telmail_tests::rss_mib("VmRSS:");
    let started = telmail_tests::stopwatch();
    let c = world.approve(&c).await;
    let worker = Worker::new(
        queue.clone(),
        s.use_cases.jobs.clone(),
        WorkerConfig {
            delivery_batch: BATCH as usize,
            ..WorkerConfig::default()
        },
    );
    let mut fanned_out = None;
    loop {
        let f = worker.fanout_once().await.unwrap();
        if f == 0 && fanned_out.is_none() {
            fanned_out = Some(started.elapsed());
        }
        let d = worker.deliver_once().await.unwrap();
        if f == 0 && d == 0 {
            break;
        }
    }
    let total = started.elapsed();
    let peak = telmail_tests::rss_mib("VmHWM:");
    let (counted, io) = (db.counts() - counted, Io::now() - io);
    let campaign = CampaignStore::get(store.as_ref(), c.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        campaign.status(),
        CampaignStatus::Sent,
        "the campaign finished"
    );
    let progress = CampaignStore::progress(store.as_ref(), c.id)
        .await
        .unwrap()
        .totals;
    let recipients = progress.email.targeted + progress.sms.targeted;
    let sent = provider.0.load(Ordering::Relaxed);
    assert_eq!(sent, recipients, "every delivery sent exactly once");
    Figures {
        subscribers: n,
        deliveries: recipients,
        setup,
        fan_out: fanned_out.unwrap_or(total),
        total,
        start_mib,
        peak_mib: peak,
        counted,
        io,
        raw: raw_insert_rate(recipients, BATCH),
    }
}

/// The worker's delivery batch in this benchmark, and the raw inserts' transaction size.
const BATCH: u64 = 500;

/// The process's input and output so far (Linux: `/proc/self/io`).
#[derive(Debug, Default, Clone, Copy)]
struct Io {
    /// Bytes handed to `write` and `pwrite` (WAL frames, checkpoints, the queue's files).
    written: u64,
    /// `read` and `pread` calls (pages SQLite's cache did not hold).
    reads: u64,
    /// CPU time of every thread of the process, in user and in kernel (clock ticks).
    user_ticks: u64,
    system_ticks: u64,
}

impl Io {
    fn now() -> Self {
        let text = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        // /proc/self/stat: utime and stime are the 14th and 15th fields, counted after the
        // command name's closing parenthesis (which may hold spaces).
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let times: Vec<u64> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .unwrap_or_default()
            .split_whitespace()
            .skip(11)
            .take(2)
            .map(|t| t.parse().unwrap_or(0))
            .collect();
        Io {
            written: field("wchar:"),
            reads: field("syscr:"),
            user_ticks: times.first().copied().unwrap_or(0),
            system_ticks: times.get(1).copied().unwrap_or(0),
        }
    }

    /// CPU microseconds (user, kernel) per one of `n`.
    fn cpu_us_per(&self, n: u64) -> (f64, f64) {
        // Linux reports these times in USER_HZ, 100 a second everywhere it runs.
        let us = |ticks: u64| ticks as f64 * 10_000.0 / n as f64;
        (us(self.user_ticks), us(self.system_ticks))
    }
}

impl std::ops::Sub for Io {
    type Output = Io;
    fn sub(self, before: Io) -> Io {
        Io {
            written: self.written.saturating_sub(before.written),
            reads: self.reads.saturating_sub(before.reads),
            user_ticks: self.user_ticks.saturating_sub(before.user_ticks),
            system_ticks: self.system_ticks.saturating_sub(before.system_ticks),
        }
    }
}

/// One size's measurements.
struct Figures {
    subscribers: usize,
    deliveries: u64,
    setup: Duration,
    fan_out: Duration,
    total: Duration,
    start_mib: f64,
    peak_mib: f64,
    /// What the shared connection did from approval to the end.
    counted: telmail_local::db::DbCounts,
    /// The process's input and output over the same time.
    io: Io,
    raw: Raw,
}

impl Figures {
    fn deliveries_per_s(&self) -> f64 {
        self.deliveries as f64 / self.total.as_secs_f64()
    }

    /// One figure per delivery.
    fn per(&self, n: u64) -> f64 {
        n as f64 / self.deliveries as f64
    }
}

/// The raw insert run: rows per second, and its input and output.
struct Raw {
    rows_per_s: f64,
    io: Io,
}

/// The embedded limit: as many delivery rows as the run sent, written straight into the
/// `deliveries` table of a fresh database (the service's schema and pragmas) by one prepared
/// statement, in transactions of `batch` rows (the worker's batch), subscriber ids in random
/// order as fan-out gives them.
fn raw_insert_rate(rows: u64, batch: u64) -> Raw {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("telmail.sqlite");
    drop(telmail_local::db::Db::open(&path).unwrap());
    let mut db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768;",
    )
    .unwrap();
    let campaign = uuid::Uuid::new_v4().to_string();
    let now = telmail_tests::server_now().timestamp_micros();
    let io = Io::now();
    let started = telmail_tests::stopwatch();
    let mut written = 0;
    while written < rows {
        let tx = db.transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO deliveries (campaign_id, subscriber_id, channel, status, attempts, updated_at)
                     VALUES (?1, ?2, 'email', 'sent', 1, ?3)",
                )
                .unwrap();
            for _ in 0..batch.min(rows - written) {
                insert
                    .execute(rusqlite::params![
                        campaign,
                        uuid::Uuid::new_v4().to_string(),
                        now
                    ])
                    .unwrap();
                written += 1;
            }
        }
        tx.commit().unwrap();
    }
    Raw {
        rows_per_s: rows as f64 / started.elapsed().as_secs_f64(),
        io: Io::now() - io,
    }
}

/// Set in the process that runs one size.
const ONE_SIZE: &str = "TELMAIL_BENCH_ONE_SIZE";

fn main() {
    // `cargo test --benches` runs this with --bench absent; keep that a quick smoke run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = match std::env::var("TELMAIL_BENCH_SIZES") {
        Ok(s) => s
            .split(',')
            .map(|x| x.trim().parse().expect("sizes are numbers"))
            .collect(),
        Err(_) if quick => vec![200],
        Err(_) => vec![100_000, 1_000_000],
    };
    // Each size in a process of its own (this program run again for it), so that one size's
    // peak memory is not another's leftovers.
    if sizes.len() > 1 || std::env::var_os(ONE_SIZE).is_none() {
        println!(
            "Télmail fan-out + send, embedded backend (SQLite WAL), null provider, {} cores",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!(
            "| subscribers | deliveries | setup (s) | fan-out (s) | fan-out + send (s) | deliveries/s | raw SQLite inserts/s | ratio | RSS before (MiB) | peak RSS (MiB) | µs per delivery |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        let mut explained = Vec::new();
        for n in sizes {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(std::env::args().skip(1))
                .env("TELMAIL_BENCH_SIZES", n.to_string())
                .env(ONE_SIZE, "1")
                .stderr(std::process::Stdio::inherit())
                .output()
                .expect("the benchmark runs again for one size");
            assert!(out.status.success(), "the run at {n} subscribers failed");
            let out = String::from_utf8_lossy(&out.stdout);
            let mut lines = out.lines();
            println!("{}", lines.next().unwrap_or_default());
            explained.extend(lines.map(str::to_owned));
        }
        println!();
        println!(
            "What a delivery costs the store, end to end (fan-out, queue, claim, send, record), against a raw insert:"
        );
        println!(
            "| subscribers | statements per delivery | commits per batch of {BATCH} | trips through the connection's lock per batch | KiB written per delivery | per raw insert | reads (syscalls) per delivery | per raw insert | CPU µs per delivery (user + kernel) | per raw insert |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for line in explained {
            println!("{line}");
        }
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let f = rt.block_on(run(sizes[0]));
    println!(
        "| {} | {} | {:.1} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} | {:.1} | {:.1} | {:.1} |",
        f.subscribers,
        f.deliveries,
        f.setup.as_secs_f64(),
        f.fan_out.as_secs_f64(),
        f.total.as_secs_f64(),
        f.deliveries_per_s(),
        f.raw.rows_per_s,
        f.deliveries_per_s() / f.raw.rows_per_s,
        f.start_mib,
        f.peak_mib,
        f.total.as_secs_f64() * 1e6 / f.deliveries as f64,
    );
    let batch = BATCH as f64;
    let (user, kernel) = f.io.cpu_us_per(f.deliveries);
    let (raw_user, raw_kernel) = f.raw.io.cpu_us_per(f.deliveries);
    println!(
        "| {} | {:.2} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} + {:.1} | {:.1} + {:.1} |",
        f.subscribers,
        f.per(f.counted.statements),
        f.per(f.counted.commits) * batch,
        f.per(f.counted.calls) * batch,
        f.per(f.io.written) / 1024.0,
        f.raw.io.written as f64 / f.deliveries as f64 / 1024.0,
        f.per(f.io.reads),
        f.raw.io.reads as f64 / f.deliveries as f64,
        user,
        kernel,
        raw_user,
        raw_kernel,
    );
}
