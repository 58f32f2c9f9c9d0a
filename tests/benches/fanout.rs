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

    reset_peak_rss();
    let start_mib = telmail_tests::rss_mib("VmRSS:");
    let started = telmail_tests::stopwatch();
    let c = world.approve(&c).await;
    let worker = Worker::new(
        queue.clone(),
        s.use_cases.jobs.clone(),
        WorkerConfig {
            delivery_batch: 500,
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
        raw_rows_per_s: raw_insert_rate(recipients, 500),
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
    raw_rows_per_s: f64,
}

impl Figures {
    fn deliveries_per_s(&self) -> f64 {
        self.deliveries as f64 / self.total.as_secs_f64()
    }
}

/// The embedded limit: as many delivery rows as the run sent, written straight into the
/// `deliveries` table of a fresh database (the service's schema and pragmas) by one prepared
/// statement, in transactions of `batch` rows (the worker's batch), subscriber ids in random
/// order as fan-out gives them. Rows per second.
fn raw_insert_rate(rows: u64, batch: u64) -> f64 {
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
    rows as f64 / started.elapsed().as_secs_f64()
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
        for n in sizes {
            let status = std::process::Command::new(std::env::current_exe().unwrap())
                .args(std::env::args().skip(1))
                .env("TELMAIL_BENCH_SIZES", n.to_string())
                .env(ONE_SIZE, "1")
                .status()
                .expect("the benchmark runs again for one size");
            assert!(status.success(), "the run at {n} subscribers failed");
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
        f.raw_rows_per_s,
        f.deliveries_per_s() / f.raw_rows_per_s,
        f.start_mib,
        f.peak_mib,
        f.total.as_secs_f64() * 1e6 / f.deliveries as f64,
    );
}
