//! AWS requests and cost per recipient, on moto: a campaign (email to every subscriber, SMS to a
//! quarter, two overlapping topics) goes through the real AWS backend — DynamoDB store, SQS
//! queues, SES v2 and SNS senders — and the Lambda handlers, with this process playing Lambda's
//! SQS event source mapping (ReceiveMessage 10 at a time, partial batch response,
//! DeleteMessageBatch), the schedule's tick running throughout. Every SDK client counts its
//! requests; DynamoDB capacity units are estimated by DynamoDB's rules (see
//! `support/counter.rs`). It prints requests per recipient by service, the implied AWS cost per
//! 10,000 recipients, and checks with moto that every recipient got exactly one message.
//!
//! A recipient is one addressee on one channel (one message), as in the campaign estimate: a
//! subscriber on email and SMS is two recipients.
//!
//! Run: `cargo bench -p telmail-tests --bench aws_costs` (400, 800 and 2,000 subscribers, that is
//! 500, 1,000 and 2,500 recipients, compared at the end; `TELMAIL_BENCH_SUBSCRIBERS=2000` or a
//! list `400,2000` to change). `cargo test -p telmail-tests --bench aws_costs` is a
//! 50-subscriber smoke run. Uses `TELMAIL_MOTO_URL` when set, else starts `moto_server`.
//! `TELMAIL_BENCH_SMS_PRICE` (€ HT per SMS, default 0.10) prices the SMS.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use std::time::Duration;
use telmail_core::clock::{Clock, SystemClock};

use futures_util::{stream, StreamExt};
use serde_json::Value;
use telmail_aws::dynamo::DynamoStore;
use telmail_aws::{Aws, AwsSettings, Clients};
use telmail_core::config::ServiceConfig;
use telmail_core::domain::campaign::{
    CampaignId, CampaignInput, CampaignStatus, EmailInput, SmsInput,
};
use telmail_core::domain::contact::{Channel, Email, PhoneNumber};
use telmail_core::domain::subscriber::{Choice, Subscriber};
use telmail_core::domain::topic::{default_topics, TopicSlug};
use telmail_core::ports::{CampaignStore, SubscriberStore};
use telmail_http::HttpConfig;
use telmail_tests::staff;

use support::counter::{Counter, Tally};
use support::lambda::{depth, poll, Lambda};
use support::{verdict, QueueRef};

// List prices assumed, eu-west-3 (Europe (Paris)), USD.
/// SQS standard queue, per million requests (each 64 KB chunk of a payload is a request) —
/// "Amazon SQS pricing".
const SQS_PER_MILLION: f64 = 0.40;
/// DynamoDB on-demand, per million write request units — "Amazon DynamoDB pricing for
/// on-demand capacity", Europe (Paris). Assumed: half the pre-November-2024 list price
/// ($1.4846) after the 50 % on-demand price cut; check the page before relying on it.
const DYNAMODB_PER_MILLION_WRU: f64 = 0.7423;
/// DynamoDB on-demand, per million read request units (same page and assumption: $0.297 / 2).
const DYNAMODB_PER_MILLION_RRU: f64 = 0.1485;
/// SES, per 1,000 outbound emails — "Amazon SES pricing".
const SES_PER_THOUSAND: f64 = 0.10;
/// Lambda, per million invocations — "AWS Lambda pricing".
const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
/// Lambda arm64, per GB-second — "AWS Lambda pricing" (first tier).
const LAMBDA_ARM_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// Memory of the `fan-out` and `send` functions (template.yaml Globals).
const LAMBDA_MEMORY_GB: f64 = 0.25;

// Targets (issue text), per recipient.
const TARGET_SQS: f64 = 0.35;
const TARGET_WRU: f64 = 2.0;
const TARGET_RRU: f64 = 0.1;

/// A production account's sending rates (SES per second, SNS SMS per second).
const MODELLED_EMAILS_PER_SECOND: u64 = 14;
const MODELLED_SMS_PER_SECOND: u64 = 20;

/// The service's time in this benchmark: a real account's, which advances with the messages
/// handed over at that account's rates (both channels side by side), from 12:20 UTC today.
///
/// moto answers at its own pace: faster than an account for a small campaign, several times
/// slower for 2,500 recipients. On the wall clock, every period the service keeps (the
/// campaign's status read every 5 s, the pauses every 30 s, the change log every second, the
/// suppressions every 30 s, the schedule's tick every minute) would last moto's time, and what
/// they read per recipient would measure moto's speed. On this clock each lasts as long as it
/// would on AWS. The time stands still until the first message (the fan-out's seconds on AWS).
struct ModelledClock {
    start: DateTime<Utc>,
    counter: Counter,
}

impl ModelledClock {
    fn new(counter: Counter) -> Self {
        let today = SystemClock.now().date_naive();
        let start = today
            .and_hms_opt(12, 20, 0)
            .expect("a time of day")
            .and_utc();
        Self { start, counter }
    }

    /// Seconds a real account needs to hand over what was sent so far.
    fn elapsed_seconds(&self) -> f64 {
        let emails = self.counter.operation("SES", "SendEmail") as f64;
        let sms = self.counter.operation("SNS", "Publish") as f64;
        (emails / MODELLED_EMAILS_PER_SECOND as f64).max(sms / MODELLED_SMS_PER_SECOND as f64)
    }
}

impl Clock for ModelledClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::milliseconds((self.elapsed_seconds() * 1000.0) as i64)
    }
}

/// Pollers playing Lambda's event source mapping, per queue.
const FANOUT_POLLERS: usize = 2;
const DELIVERY_POLLERS: usize = 4;

/// Counts, in moto's record of what was sent, the emails to this run's addresses and the SMS
/// carrying this run's token, per address.
async fn sent_on_moto(
    moto: &str,
    domain: &str,
    token: &str,
) -> (HashMap<String, u64>, HashMap<String, u64>) {
    let (status, body) = support::http_get(&format!("{moto}/moto-api/data.json"))
        .await
        .expect("moto data.json");
    assert_eq!(status, 200, "moto data.json");
    let data: Value = serde_json::from_slice(&body).expect("moto data.json is JSON");
    let mut emails: HashMap<String, u64> = HashMap::new();
    for list in ["RawMessage", "Message"] {
        for m in data
            .pointer(&format!("/ses/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let to: BTreeSet<&str> = m
                .get("destinations")
                .and_then(|d| {
                    // Raw: a list; simple: { ToAddresses: [..] }.
                    d.as_array()
                        .or_else(|| d.get("ToAddresses").and_then(Value::as_array))
                })
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|a| a.ends_with(&format!("@{domain}")))
                .collect();
            for a in to {
                *emails.entry(a.to_owned()).or_default() += 1;
            }
        }
    }
    let mut sms: HashMap<String, u64> = HashMap::new();
    for m in data
        .pointer("/sns/SMS")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = m.get("message").and_then(Value::as_str).unwrap_or("");
        if text.contains(token) {
            let to = m.get("phone_number").and_then(Value::as_str).unwrap_or("");
            *sms.entry(to.to_owned()).or_default() += 1;
        }
    }
    (emails, sms)
}

fn subscriber(i: usize, domain: &str) -> Subscriber {
    let topic = |slug: &str| TopicSlug::from_str(slug).unwrap();
    // Everyone on email; half also on a second topic (so de-duplication across topics is
    // exercised); one in four also on SMS.
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
    let phone = i
        .is_multiple_of(4)
        .then(|| PhoneNumber::from_str(&format!("+3361{i:07}")).unwrap());
    if phone.is_some() {
        choices.insert(Choice {
            topic: topic("infos-pratiques"),
            channel: Channel::Sms,
        });
        choices.insert(Choice {
            topic: topic("alerte-meteo"),
            channel: Channel::Sms,
        });
    }
    telmail_tests::paper_subscriber(
        Some(Email::from_str(&format!("habitant{i}@{domain}")).unwrap()),
        phone,
        choices,
    )
}

/// Every client of the service with the counting interceptor.
fn counted_clients(sdk: &aws_config::SdkConfig, counter: &Counter) -> Clients {
    Clients {
        dynamodb: aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk)
                .interceptor(counter.clone())
                .build(),
        ),
        sqs: aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(sdk)
                .interceptor(counter.clone())
                .build(),
        ),
        ses: aws_sdk_sesv2::Client::from_conf(
            aws_sdk_sesv2::config::Builder::from(sdk)
                .interceptor(counter.clone())
                .build(),
        ),
        sns: aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(sdk)
                .interceptor(counter.clone())
                .build(),
        ),
        s3: aws_sdk_s3::Client::new(sdk),
        secrets: aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(sdk)
                .interceptor(counter.clone())
                .build(),
        ),
        cognito: aws_sdk_cognitoidentityprovider::Client::from_conf(
            aws_sdk_cognitoidentityprovider::config::Builder::from(sdk)
                .interceptor(counter.clone())
                .build(),
        ),
    }
}

/// Waits until the campaign is sent and both queues are empty (nothing visible, in flight or
/// delayed); panics when nothing moves for `stall`.
async fn wait_until_done(
    sqs: &aws_sdk_sqs::Client,
    store: &DynamoStore,
    queues: [&QueueRef; 2],
    campaign: CampaignId,
    progress: &Lambda,
    stall: Duration,
) {
    let mut last = (0, telmail_tests::stopwatch());
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let records = progress.records.load(Ordering::Relaxed);
        if records != last.0 {
            last = (records, telmail_tests::stopwatch());
        }
        assert!(
            last.1.elapsed() < stall,
            "no progress for {} s (records handled: {records})",
            stall.as_secs()
        );
        let mut empty = true;
        for q in queues {
            empty &= depth(sqs, &q.url).await == 0;
        }
        if !empty {
            continue;
        }
        let c = CampaignStore::get(store, campaign)
            .await
            .expect("read the campaign")
            .expect("the campaign exists");
        if c.status() != CampaignStatus::Sending {
            return;
        }
    }
}

async fn run(moto: &support::Moto, n: usize, sms_price_eur: f64) -> Measured {
    let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let domain = format!("r{run}.exemple.fr");
    let token = format!("R{}", run.to_ascii_uppercase());
    let sdk = support::sdk_config(&moto.url).await;

    // Resources, with uncounted clients.
    let table = format!("telmail-bench-{run}");
    support::create_table(&sdk, &table).await;
    let fanout = Arc::new(support::create_queue(&sdk, &format!("fanout-{run}"), 720).await);
    let delivery = Arc::new(support::create_queue(&sdk, &format!("delivery-{run}"), 180).await);
    support::create_email_identity(&sdk, "arcachon.example").await;
    let secret = support::create_secret(&sdk, &format!("telmail-bench-{run}-signing-key")).await;
    let user_pool_id = support::create_user_pool(&sdk, &format!("telmail-bench-{run}")).await;
    let plain_sqs = aws_sdk_sqs::Client::new(&sdk);
    let counter = Counter::default();
    let clock = Arc::new(ModelledClock::new(counter.clone()));
    let plain_store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table, clock.clone());

    let clients = counted_clients(&sdk, &counter);
    let mut service = ServiceConfig::with_public_url("https://alertes.arcachon.example");
    service.town_name = "Arcachon".into();
    let settings = AwsSettings {
        table: table.clone(),
        // No big file in this benchmark: the bucket is never reached.
        files_bucket: "telmail-files-unused".into(),
        fanout_queue_url: fanout.url.clone(),
        delivery_queue_url: delivery.url.clone(),
        // One lane: the benchmark's pollers read the delivery queue.
        urgent_queue_url: delivery.url.clone(),
        signing_key_secret: Some(secret),
        email_from: support::EMAIL_FROM.into(),
        ses_configuration_set: None,
        email_rate_of_account: false,
        sms_sender: "ARCACHON".into(),
        sms_type: "Transactional".into(),
        town: "Arcachon".into(),
        user_pool_id,
        dead_letter_queue_urls: Vec::new(),
        service,
        http: HttpConfig::default(),
    };
    let aws = Aws::new(clients.clone(), settings, clock.clone())
        .await
        .expect("wire the service on moto");
    let shards = aws.use_cases.residents.config().fanout_shards.get();

    // Seeding (not counted).
    let setup = telmail_tests::stopwatch();
    aws.use_cases
        .residents
        .seed_topics(&default_topics())
        .await
        .expect("seed topics");
    // Through the store port, on a client that turns the insert transaction into a batch
    // write for moto's sake (see `TransactAsBatch`); the counter still sees the items written.
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(counter.clone())
                .interceptor(support::TransactAsBatch)
                .build(),
        ),
        &table,
        clock.clone(),
    ));
    stream::iter(0..n)
        .map(|i| {
            let store = store.clone();
            let s = subscriber(i, &domain);
            async move { SubscriberStore::insert(store.as_ref(), &s).await }
        })
        .buffer_unordered(4)
        .for_each(|r| async move { r.expect("insert a subscriber") })
        .await;
    let setup = setup.elapsed();
    let emails = n as u64;
    let sms = n.div_ceil(4) as u64;
    let recipients = emails + sms;

    // The measured part: create, submit, approve, fan out and send.
    counter.reset();
    let started = telmail_tests::stopwatch();
    let input = CampaignInput {
        title: Some(format!("Benchmark {token}")),
        topics: vec!["infos-pratiques".into(), "alerte-meteo".into()],
        sms: Some(SmsInput {
            text: Some(format!(
                "Coupure d'eau demain de 9h a 12h, rue du Port. {token}"
            )),
        }),
        email: Some(EmailInput {
            subject: Some(format!("Coupure d'eau {token}")),
            body_markdown: Some("Demain **de 9 h à 12 h**, rue du Port.".into()),
        }),
        urgent: true,
        send_at: None,
        ..Default::default()
    };
    let campaigns = &aws.use_cases.campaigns;
    let c = campaigns
        .create(&staff("redac", "redaction"), &input)
        .await
        .expect("create the campaign");
    let c = campaigns
        .submit(&staff("redac", "redaction"), c.id)
        .await
        .expect("submit");
    campaigns
        .approve(&staff("cab", "cabinet"), c.id, Some(c.version))
        .await
        .expect("approve");

    let stop = Arc::new(AtomicBool::new(false));
    let fanout_stats = Arc::new(Lambda::default());
    let send_stats = Arc::new(Lambda::default());
    let mut pollers = Vec::new();
    for (queue, stats, count) in [
        (&fanout, &fanout_stats, FANOUT_POLLERS),
        (&delivery, &send_stats, DELIVERY_POLLERS),
    ] {
        for _ in 0..count {
            pollers.push(tokio::spawn(poll(
                aws.clone(),
                clients.sqs.clone(),
                queue.clone(),
                stats.clone(),
                stop.clone(),
            )));
        }
    }
    // The schedule's tick (start due campaigns, purge, repair) runs once at the start and then
    // every minute of the modelled clock, as EventBridge would run it on an account.
    let ticking = {
        let (aws, stop, clock) = (aws.clone(), stop.clone(), clock.clone());
        tokio::spawn(async move {
            let mut ticks = 0u64;
            let mut last = None;
            while !stop.load(Ordering::Relaxed) {
                let minute = clock.now().timestamp() / 60;
                if last != Some(minute) {
                    last = Some(minute);
                    telmail_aws::handlers::tick(&aws).await.expect("the tick");
                    ticks += 1;
                } else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            ticks
        })
    };
    let stall = Duration::from_secs(400);
    wait_until_done(
        &plain_sqs,
        &plain_store,
        [&fanout, &delivery],
        c.id,
        &send_stats,
        stall,
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for p in pollers {
        p.await.expect("poller");
    }
    let ticks = ticking.await.expect("the ticking task");
    let wall = started.elapsed();
    let tally = counter.tally();

    // Checks: the campaign's own counters, then what moto recorded as sent.
    let campaign = CampaignStore::get(&plain_store, c.id)
        .await
        .unwrap()
        .unwrap();
    let progress = CampaignStore::progress(&plain_store, c.id)
        .await
        .unwrap()
        .totals;
    assert_eq!(
        campaign.status(),
        CampaignStatus::Sent,
        "the campaign finished"
    );
    assert_eq!(
        (progress.email.sent, progress.sms.sent),
        (emails, sms),
        "every recipient counted as sent once"
    );
    let (sent_emails, sent_sms) = sent_on_moto(&moto.url, &domain, &token).await;
    let twice: Vec<_> = sent_emails
        .iter()
        .chain(&sent_sms)
        .filter(|(_, n)| **n != 1)
        .collect();
    assert!(
        twice.is_empty(),
        "recipients with more than one message on moto: {twice:?}"
    );
    assert_eq!(
        (sent_emails.len() as u64, sent_sms.len() as u64),
        (emails, sms),
        "moto received exactly one email per subscriber and one SMS per SMS subscriber"
    );

    report(&Report {
        n,
        shards,
        emails,
        sms,
        recipients,
        setup,
        wall,
        tally: &tally,
        fanout: &fanout_stats,
        send: &send_stats,
        sms_price_eur,
        ticks,
    });
    Measured {
        recipients,
        totals: [
            (tally.service("SQS") - tally.empty_receives) as f64,
            tally.service("DynamoDB") as f64,
            tally.wru_table + tally.wru_gsi,
            tally.rru,
            tally.rru_unrounded,
        ],
    }
}

/// One size's totals, for the comparison of sizes.
struct Measured {
    recipients: u64,
    /// In [`MEASURES`]' order.
    totals: [f64; 5],
}

/// What the comparison of sizes weighs, with each one's target per recipient and whether the
/// issue's test (#27) counts it.
const MEASURES: [(&str, Option<f64>, bool); 5] = [
    ("SQS requests", Some(TARGET_SQS), true),
    ("DynamoDB requests", None, true),
    ("DynamoDB write units (est.)", Some(TARGET_WRU), true),
    ("DynamoDB read units (est.)", Some(TARGET_RRU), true),
    // The bytes read, priced without rounding each request up to 4 KB: what the reads cost
    // per recipient once the cost per request is set apart.
    ("  less rounding per request", None, false),
];

/// How much the smallest and the largest size may differ per recipient.
const FLAT_WITHIN: f64 = 0.10;

/// Compares the sizes run: each measure per recipient at every size, how far they spread, and
/// the straight line through the smallest and the largest (a part per campaign, a part per
/// recipient), checked against the sizes between. A per-recipient figure that falls with size
/// is a cost per campaign spread thinner; one that rises would be a cost growing with the
/// campaign, which the line's check at the middle sizes catches.
fn compare(sizes: &[Measured]) {
    let (Some(small), Some(large)) = (sizes.first(), sizes.last()) else {
        return;
    };
    if sizes.len() < 2 {
        return;
    }
    println!();
    println!("Per recipient at each size, and the line through the smallest and the largest:");
    let header: String = sizes
        .iter()
        .map(|m| format!("{:>9}", m.recipients))
        .collect();
    println!(
        "{:<30}{header} {:>8} {:>14} {:>14} {:>9}",
        "recipients", "spread", "per campaign", "per recipient", "line"
    );
    let mut missed = Vec::new();
    for (i, (what, target, in_verdict)) in MEASURES.iter().enumerate() {
        let per: Vec<f64> = sizes
            .iter()
            .map(|m| m.totals[i] / m.recipients as f64)
            .collect();
        let (lo, hi) = per
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(*p), hi.max(*p)));
        let spread = hi / lo - 1.0;
        let (ns, nl) = (small.recipients as f64, large.recipients as f64);
        let marginal = (large.totals[i] - small.totals[i]) / (nl - ns);
        let fixed = small.totals[i] - marginal * ns;
        // The sizes between the two ends, against the line: a cost growing faster than the
        // campaign would lie above it; one below it falls faster than a cost per campaign.
        let off_line = sizes[1..sizes.len() - 1]
            .iter()
            .map(|m| {
                let on_line = fixed + marginal * m.recipients as f64;
                m.totals[i] / on_line - 1.0
            })
            .fold(
                0.0,
                |worst: f64, off| {
                    if off.abs() > worst.abs() {
                        off
                    } else {
                        worst
                    }
                },
            );
        let cells: String = per.iter().map(|p| format!("{p:>9.4}")).collect();
        let flat = spread <= FLAT_WITHIN;
        let within = target.is_none_or(|t| marginal <= t && per[per.len() - 1] <= t);
        let line_holds = off_line <= FLAT_WITHIN;
        println!(
            "{what:<30}{cells} {:>7.1}% {fixed:>14.1} {marginal:>14.4} {:>+8.1}%   {}",
            spread * 100.0,
            off_line * 100.0,
            match (flat, line_holds && marginal <= hi * (1.0 + FLAT_WITHIN)) {
                (true, _) if within => "flat, within target",
                (true, _) => "flat, OVER TARGET",
                (false, true) if within =>
                    "NOT FLAT: falls with size (a cost per campaign), within target",
                (false, true) => "NOT FLAT: falls with size, OVER TARGET",
                (false, false) => "NOT FLAT: GROWS or scatters: look at the breakdown",
            }
        );
        if *in_verdict && (!flat || !within) {
            missed.push(*what);
        }
    }
    println!(
        "(spread: largest over smallest per-recipient figure; flat means within {:.0} %. line: the middle sizes' distance from the line, above it + )",
        FLAT_WITHIN * 100.0
    );
    // The test (#27): every measure flat from the smallest size to the largest, and
    // within its target.
    println!(
        "Flat within {:.0} % from {} to {} recipients and within target, every measure: {}{}",
        FLAT_WITHIN * 100.0,
        small.recipients,
        large.recipients,
        verdict(missed.is_empty()),
        if missed.is_empty() {
            String::new()
        } else {
            format!(" ({})", missed.join(", "))
        }
    );
}

struct Report<'a> {
    n: usize,
    shards: u32,
    emails: u64,
    sms: u64,
    recipients: u64,
    setup: Duration,
    wall: Duration,
    tally: &'a Tally,
    fanout: &'a Lambda,
    send: &'a Lambda,
    sms_price_eur: f64,
    /// Schedule ticks run during the send.
    ticks: u64,
}

fn report(r: &Report<'_>) {
    let t = r.tally;
    let per = |x: f64| x / r.recipients as f64;
    println!();
    println!(
        "subscribers {} | recipients {} (email {}, sms {}) | fan-out shards {} | setup {:.1} s (not counted) | create → all sent {:.1} s on moto | schedule ticks during the send {}",
        r.n, r.recipients, r.emails, r.sms, r.shards, r.setup.as_secs_f64(), r.wall.as_secs_f64(), r.ticks
    );
    println!();
    println!(
        "{:<15} {:<22} {:>9} {:>14} {:>15} {:>11} {:>11}",
        "service",
        "operation",
        "requests",
        "per recipient",
        "per subscriber",
        "WRU/recip.",
        "RRU/recip."
    );
    for ((service, op), count) in &t.requests {
        let units =
            (service == "DynamoDB").then(|| t.capacity.get(op).copied().unwrap_or_default());
        let unit = |u: Option<f64>| u.map_or(String::new(), |u| format!("{:.4}", per(u)));
        println!(
            "{:<15} {:<22} {:>9} {:>14.4} {:>15.4} {:>11} {:>11}",
            service,
            op,
            count,
            per(*count as f64),
            *count as f64 / r.n as f64,
            unit(units.map(|u| u.0)),
            unit(units.map(|u| u.1)),
        );
    }
    println!();
    println!(
        "{:<44} {:>9} {:>11}",
        "DynamoDB reads by what they read", "requests", "RRU/recip."
    );
    for (kind, (count, rru)) in &t.reads_by_kind {
        println!("{:<44} {:>9} {:>11.4}", kind, count, per(*rru));
    }
    let empty = t.empty_receives;
    println!(
        "(ReceiveMessage includes {empty} empty answers from this benchmark's short polling; they are left out below — Lambda's pollers long-poll)"
    );
    println!(
        "(requests are counted once however many attempts they took; SDK retries seen: {})",
        t.retries
    );
    println!();

    let sqs = (t.service("SQS") - empty) as f64;
    let ddb = t.service("DynamoDB") as f64;
    let wru = t.wru_table + t.wru_gsi;
    let ses = t.operation("SES", "SendEmail");
    let sns = t.operation("SNS", "Publish");
    let invocations = (r.fanout.invocations.load(Ordering::Relaxed)
        + r.send.invocations.load(Ordering::Relaxed)) as f64;
    println!(
        "{:<44} {:>10} {:>10} {:>6}",
        "per recipient", "measured", "target", ""
    );
    let line = |what: &str, value: f64, target: &str, ok: Option<bool>| {
        println!(
            "{:<44} {:>10.4} {:>10} {:>6}",
            what,
            value,
            target,
            ok.map_or("", verdict)
        );
    };
    line(
        "SQS requests",
        per(sqs),
        &format!("≤ {TARGET_SQS}"),
        Some(per(sqs) <= TARGET_SQS),
    );
    line("DynamoDB requests", per(ddb), "", None);
    line(
        "DynamoDB write units (est.)",
        per(wru),
        &format!("≤ {TARGET_WRU}"),
        Some(per(wru) <= TARGET_WRU),
    );
    line("  of which GSI", per(t.wru_gsi), "", None);
    line(
        "DynamoDB read units (est.)",
        per(t.rru),
        &format!("≤ {TARGET_RRU}"),
        Some(per(t.rru) <= TARGET_RRU),
    );
    line(
        "  of which rounding up to 4 KB",
        per(t.rru - t.rru_unrounded),
        "",
        None,
    );
    line(
        "SES SendEmail per email",
        ses as f64 / r.emails as f64,
        "= 1",
        Some(ses == r.emails),
    );
    line(
        "SNS Publish per SMS",
        sns as f64 / r.sms as f64,
        "= 1",
        Some(sns == r.sms),
    );
    line(
        "Lambda invocations (fan-out + send)",
        per(invocations),
        "",
        None,
    );
    println!(
        "Lambda: fan-out {} invocations, send {} invocations ({:.1} records each), records reported failed {}, deletes refused {}",
        r.fanout.invocations.load(Ordering::Relaxed),
        r.send.invocations.load(Ordering::Relaxed),
        r.send.records.load(Ordering::Relaxed) as f64
            / r.send.invocations.load(Ordering::Relaxed).max(1) as f64,
        r.fanout.redelivered.load(Ordering::Relaxed) + r.send.redelivered.load(Ordering::Relaxed),
        r.fanout.refused_deletes.load(Ordering::Relaxed)
            + r.send.refused_deletes.load(Ordering::Relaxed),
    );

    // Cost per 10,000 recipients, with this campaign's mix of channels.
    let scale = 10_000.0 / r.recipients as f64;
    let sqs_cost = sqs * scale * SQS_PER_MILLION / 1e6;
    let wru_cost = wru * scale * DYNAMODB_PER_MILLION_WRU / 1e6;
    let rru_cost = t.rru * scale * DYNAMODB_PER_MILLION_RRU / 1e6;
    let ses_cost = ses as f64 * scale * SES_PER_THOUSAND / 1e3;
    let lambda_cost = invocations * scale * LAMBDA_PER_MILLION_REQUESTS / 1e6;
    let total = sqs_cost + wru_cost + rru_cost + ses_cost + lambda_cost;
    let handler_s = (r.fanout.handler_micros.load(Ordering::Relaxed)
        + r.send.handler_micros.load(Ordering::Relaxed)) as f64
        / 1e6;
    let gb_s = handler_s * LAMBDA_MEMORY_GB * scale;
    let sms_eur = sns as f64 * scale * r.sms_price_eur;
    println!();
    println!(
        "AWS cost per 10,000 recipients (this mix: {:.0} emails + {:.0} SMS), eu-west-3 list prices, USD:",
        r.emails as f64 * scale,
        r.sms as f64 * scale
    );
    println!("  SQS            {sqs_cost:>9.5}   (${SQS_PER_MILLION} per million requests)");
    println!(
        "  DynamoDB       {:>9.5}   (${DYNAMODB_PER_MILLION_WRU} per million WRU, ${DYNAMODB_PER_MILLION_RRU} per million RRU; assumed)",
        wru_cost + rru_cost
    );
    println!("  SES            {ses_cost:>9.5}   (${SES_PER_THOUSAND} per 1,000 emails)");
    println!(
        "  Lambda         {lambda_cost:>9.5}   (invocations, ${LAMBDA_PER_MILLION_REQUESTS} per million)"
    );
    println!("  total          {total:>9.5}   USD, without SMS and without Lambda compute");
    println!(
        "  Lambda compute not in the total: handler time here is moto's latency; as an upper bound, {:.1} GB-s = ${:.5} (arm64, {} GB)",
        gb_s,
        gb_s * LAMBDA_ARM_PER_GB_SECOND,
        LAMBDA_MEMORY_GB
    );
    println!(
        "  SMS (SNS, the town's price {:.2} € HT per message): {:.2} € HT",
        r.sms_price_eur, sms_eur
    );
}

/// The sizes to run, in subscribers: `TELMAIL_BENCH_SUBSCRIBERS` (one number or a list such as
/// `400,800,2000`), else 50 for a smoke run and 400, 800 and 2,000 (500, 1,000 and 2,500
/// recipients) for the benchmark.
fn sizes() -> Vec<usize> {
    let quick = !std::env::args().any(|a| a == "--bench");
    match std::env::var("TELMAIL_BENCH_SUBSCRIBERS") {
        Ok(list) => list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("TELMAIL_BENCH_SUBSCRIBERS is a number or a list of numbers")
            })
            .collect(),
        Err(_) if quick => vec![50],
        Err(_) => vec![400, 800, 2_000],
    }
}

fn main() {
    let sizes = sizes();
    let sms_price_eur: f64 = std::env::var("TELMAIL_BENCH_SMS_PRICE")
        .ok()
        .map(|s| {
            s.replace(',', ".")
                .parse()
                .expect("TELMAIL_BENCH_SMS_PRICE is a number")
        })
        .unwrap_or(0.10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let moto = support::moto().await;
        println!(
            "Télmail on moto ({}, {}): AWS requests per recipient for one campaign, {} cores",
            moto.url,
            if moto.is_ours() {
                "started by the benchmark"
            } else {
                "TELMAIL_MOTO_URL"
            },
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let mut measured = Vec::new();
        for n in sizes {
            measured.push(run(&moto, n, sms_price_eur).await);
        }
        measured.sort_by_key(|m| m.recipients);
        compare(&measured);
    });
}
