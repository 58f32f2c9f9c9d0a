//! Fan-out and send on the embedded backend, with a provider that accepts everything at once
//! (so the figures are Télmail's own cost): recipients per second and peak memory, at 10,000 and
//! 100,000 subscribers. Run: `cargo bench -p telmail-tests --bench fanout`.
//! Sizes can be overridden: `TELMAIL_BENCH_SIZES=1000,50000`.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

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

/// Peak resident memory of this process since the last reset, in MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak so each run reports its own (Linux: write 5 to clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn run(n: usize) {
    // A Tuesday morning in Paris: the SMS window is open.
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let world = World::new(at, Arc::new(NullProvider::default())).await;
    let (s, provider) = (&world.services, &world.provider);
    let (store, queue) = (&s.store, &s.queue);

    // Subscribers: every one on email, one in four also on SMS, half also on a second topic
    // (so de-duplication across topics is exercised).
    let setup = Instant::now();
    let topic = |slug: &str| TopicSlug::from_str(slug).unwrap();
    for i in 0..n {
        let mut choices = BTreeSet::from([Choice {
            topic: topic("infos-pratiques"),
            channel: Channel::Email,
        }]);
        if i % 2 == 0 {
            choices.insert(Choice {
                topic: topic("alerte-meteo"),
                channel: Channel::Email,
            });
        }
        let phone = (i % 4 == 0).then(|| PhoneNumber::from_str(&format!("+3361{:07}", i)).unwrap());
        if phone.is_some() {
            choices.insert(Choice {
                topic: topic("infos-pratiques"),
                channel: Channel::Sms,
            });
        }
        SubscriberStore::insert(
            store.as_ref(),
            &telmail_tests::paper_subscriber(
                Some(Email::from_str(&format!("habitant{i}@exemple.fr")).unwrap()),
                phone,
                choices,
            ),
        )
        .await
        .unwrap();
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
    };
    let c = world.submitted(&input).await;

    reset_peak_rss();
    let started = Instant::now();
    let c = world.approve(&c).await;
    let worker = Worker::new(
        queue.clone(),
        s.use_cases.dispatcher.clone(),
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
    let peak = peak_rss_mib();
    let campaign = CampaignStore::get(store.as_ref(), c.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        campaign.status,
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
    let fanned_out = fanned_out.unwrap_or(total);
    println!(
        "subscribers {n:>7} | deliveries {recipients:>7} (email {}, sms {}) | setup {:>6.2} s | fan-out {:>6.2} s | fan-out+send {:>6.2} s | {:>7.0} deliveries/s | peak RSS {:>6.1} MiB",
        progress.email.targeted,
        progress.sms.targeted,
        setup.as_secs_f64(),
        fanned_out.as_secs_f64(),
        total.as_secs_f64(),
        recipients as f64 / total.as_secs_f64(),
        peak.unwrap_or(f64::NAN),
    );
}

fn main() {
    // `cargo test --benches` runs this with --bench absent; keep that a quick smoke run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = match std::env::var("TELMAIL_BENCH_SIZES") {
        Ok(s) => s
            .split(',')
            .map(|x| x.trim().parse().expect("sizes are numbers"))
            .collect(),
        Err(_) if quick => vec![200],
        Err(_) => vec![10_000, 100_000],
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "Télmail fan-out + send, embedded backend (SQLite WAL), null provider, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for n in sizes {
        rt.block_on(run(n));
    }
}
