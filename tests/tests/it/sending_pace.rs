//! Sending for real through the local server's providers: the SMTP relay path (a stand-in relay
//! on 127.0.0.1) waits out a busy relay and fails an address the relay refuses; and each
//! channel is used at its configured pace (`--email-rate`, `--sms-rate`), SMS never waiting
//! behind calls.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use telmail_core::clock::ManualClock;
use telmail_core::domain::campaign::{CampaignInput, EmailInput};
use telmail_core::domain::cell::{CellAlertInput, CellMemberInput};
use telmail_core::domain::delivery::DeliveryStatus;
use telmail_core::error::SendError;
use telmail_core::ports::{
    CampaignStore, DeliveryStore, EmailSender, OutgoingCall, OutgoingEmail, OutgoingSms, SmsSender,
    VoiceSender,
};
use telmail_local::worker::{Worker, WorkerConfig};
use telmail_tests::smtp::{stub_smtp, Script};
use telmail_tests::world::{outbox, World};

fn an_email_campaign() -> CampaignInput {
    CampaignInput {
        title: Some("Marché de Noël".into()),
        topics: vec!["infos-pratiques".into()],
        sms: None,
        email: Some(EmailInput {
            subject: Some("Marché de Noël".into()),
            body_markdown: Some("Samedi place Thiers.".into()),
        }),
        urgent: false,
        send_at: None,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_busy_relay_is_waited_out_however_long_and_an_address_it_refuses_fails_for_good() {
    let relay = stub_smtp(Script {
        rcpt: [("inconnu@exemple.fr".to_owned(), "550 5.1.1 No such user")].into(),
        busy_for: 7,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
    ));
    let w = World::on_clock(
        clock.clone(),
        outbox(dir.path(), Some(&relay.url), clock),
        |_| {},
    )
    .await;
    for email in ["lea@exemple.fr", "inconnu@exemple.fr"] {
        w.subscribe_on_paper(Some(email), None, "infos-pratiques", &["email"])
            .await;
    }
    let c = w.approve(&w.submitted(&an_email_campaign()).await).await;
    w.drain().await;
    // The relay is busy (451) for Léa's message: a wait, not a failure; the unknown address
    // (550) failed for good.
    let store = w.services.store.as_ref();
    let p = email_counts(store, c.id).await;
    assert_eq!((p.sent, p.failed), (0, 1), "{p:?}");
    // Busy seven times, more than the five attempts a failing send gets: waited out all the
    // same, then sent once.
    for _ in 0..7 {
        assert!(relay.accepted.lock().unwrap().is_empty());
        w.clock.advance(chrono::Duration::minutes(2));
        w.drain().await;
    }
    let p = email_counts(store, c.id).await;
    assert_eq!((p.sent, p.failed), (1, 1), "{p:?}");
    assert_eq!(
        *relay.accepted.lock().unwrap(),
        [vec!["lea@exemple.fr".to_owned()]]
    );
    let deliveries = DeliveryStore::list(store, c.id, 10, 0).await.unwrap();
    let lea = deliveries
        .iter()
        .find(|d| d.status == DeliveryStatus::Sent)
        .unwrap();
    assert_eq!(lea.attempts, 1, "waits are not attempts: {lea:?}");
}

/// A campaign's email counters.
async fn email_counts(
    store: &dyn CampaignStore,
    id: telmail_core::domain::campaign::CampaignId,
) -> telmail_core::domain::delivery::ChannelCounts {
    CampaignStore::progress(store, id)
        .await
        .unwrap()
        .totals
        .email
}

/// Notes when each message reaches it.
#[derive(Default)]
struct Clocked(Mutex<Vec<Instant>>);

#[async_trait]
impl EmailSender for Clocked {
    async fn send_email(&self, _: &OutgoingEmail) -> Result<Option<String>, SendError> {
        self.0.lock().unwrap().push(telmail_tests::stopwatch());
        Ok(None)
    }
}

#[async_trait]
impl SmsSender for Clocked {
    async fn send_sms(&self, _: &OutgoingSms) -> Result<Option<String>, SendError> {
        self.0.lock().unwrap().push(telmail_tests::stopwatch());
        Ok(None)
    }
}

#[tokio::test]
async fn emails_reach_the_provider_no_faster_than_the_configured_rate() {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let w = World::configured(at, Arc::new(Clocked::default()), |c| {
        c.send_rates.email = Some(20.0);
    })
    .await;
    for i in 0..12 {
        w.subscribe_on_paper(
            Some(&format!("habitant{i}@exemple.fr")),
            None,
            "infos-pratiques",
            &["email"],
        )
        .await;
    }
    w.approve(&w.submitted(&an_email_campaign()).await).await;
    w.drain().await;
    let mut times = w.provider.0.lock().unwrap().clone();
    assert_eq!(times.len(), 12);
    times.sort();
    // Twelve messages at 20 a second span at least eleven intervals of 50 ms (the first may
    // start a little after its slot).
    let span = times[11] - times[0];
    assert!(span >= Duration::from_millis(500), "{span:?}");
}

/// The contract: `--email-rate` paces the real local server (the `.eml` files' names start with
/// the instant each email was written).
#[tokio::test]
async fn the_local_server_sends_at_the_rate_its_flag_sets() {
    use serde_json::json;
    let app = common::TestApp::spawn_with(|a| {
        a.email_rate = Some("4".into());
    })
    .await;
    app.add_staff("redac", "redaction", None, None).await;
    app.add_staff("cab", "cabinet", None, None).await;
    let redac = app.login("redac").await;
    let cab = app.login("cab").await;
    for i in 0..4 {
        let body = json!({
            "email": format!("habitant{i}@exemple.fr"), "paper_form_reference": "F-1",
            "subscriptions": [{ "topic": "infos-pratiques", "channels": ["email"] }]
        });
        redac
            .post_expect("/api/admin/subscribers", &body, 201)
            .await;
    }
    let draft = json!({
        "title": "Marché", "topics": ["infos-pratiques"], "sms": null, "urgent": false, "send_at": null,
        "email": { "subject": "Marché de Noël", "body_markdown": "Samedi." }
    });
    let c = redac.post_expect("/api/admin/campaigns", &draft, 201).await;
    let id = common::campaign_id(&c);
    let c = redac.submit(id).await;
    cab.post_expect(
        &format!("/api/admin/campaigns/{id}/approve"),
        &json!({ "version": c["version"] }),
        200,
    )
    .await;
    let deadline = telmail_tests::stopwatch() + Duration::from_secs(20);
    let names = loop {
        let mut names: Vec<String> = std::fs::read_dir(app.data_dir.join("outbox/email"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".eml"))
            .collect();
        if names.len() == 4 {
            names.sort();
            break names;
        }
        assert!(
            telmail_tests::stopwatch() < deadline,
            "4 emails within 20 s: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let at = |name: &str| {
        chrono::NaiveDateTime::parse_from_str(name.split('-').next().unwrap(), "%Y%m%dT%H%M%S%.fZ")
            .unwrap()
    };
    // Four emails at 4 a second: at least three intervals of 250 ms between the first and last.
    let span = at(&names[3]) - at(&names[0]);
    assert!(span >= chrono::Duration::milliseconds(700), "{span:?}");
}

/// SES's answer while the account's sending is paused, until `open` is set.
#[derive(Default)]
struct PausedAccount {
    open: std::sync::atomic::AtomicBool,
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl EmailSender for PausedAccount {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Option<String>, SendError> {
        if !self.open.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(SendError::Paused(
                "SES: SendingPausedException: sending is paused for this account".into(),
            ));
        }
        self.sent.lock().unwrap().push(email.to.to_string());
        Ok(Some("ses-1".into()))
    }
}

#[async_trait]
impl SmsSender for PausedAccount {
    async fn send_sms(&self, _: &OutgoingSms) -> Result<Option<String>, SendError> {
        Ok(Some("sns-1".into()))
    }
}

#[tokio::test]
async fn a_paused_account_pauses_the_channel_without_failing_anything_until_staff_resume() {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let w = World::new(at, Arc::new(PausedAccount::default())).await;
    for email in ["lea@exemple.fr", "paul@exemple.fr"] {
        w.subscribe_on_paper(Some(email), None, "infos-pratiques", &["email"])
            .await;
    }
    let c = w.approve(&w.submitted(&an_email_campaign()).await).await;
    w.drain().await;
    let statistics = &w.use_cases().statistics;
    let cabinet = telmail_tests::staff("cab", "cabinet");
    let health = statistics.queue_health(&cabinet).await.unwrap();
    assert_eq!(health.paused.len(), 1, "{health:?}");
    assert!(health.paused[0].reason.contains("SendingPausedException"));
    // Hours later, still paused: nothing failed, nothing was claimed again.
    for _ in 0..6 {
        w.clock.advance(chrono::Duration::hours(1));
        w.drain().await;
    }
    let store = w.services.store.as_ref();
    let p = email_counts(store, c.id).await;
    assert_eq!((p.sent, p.failed), (0, 0), "{p:?}");
    // The cause cleared with the provider, the cabinet resumes: both emails go, once.
    w.provider
        .open
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let writer = telmail_tests::staff("redac", "redaction");
    assert!(statistics
        .resume_sending(&writer, telmail_core::domain::contact::Channel::Email, None)
        .await
        .is_err());
    statistics
        .resume_sending(
            &cabinet,
            telmail_core::domain::contact::Channel::Email,
            None,
        )
        .await
        .unwrap();
    w.clock.advance(chrono::Duration::minutes(5));
    w.drain().await;
    let p = email_counts(store, c.id).await;
    assert_eq!((p.sent, p.failed), (2, 0), "{p:?}");
    let mut sent = w.provider.sent.lock().unwrap().clone();
    sent.sort();
    assert_eq!(sent, ["lea@exemple.fr", "paul@exemple.fr"]);
    let deliveries = DeliveryStore::list(store, c.id, 10, 0).await.unwrap();
    assert!(deliveries.iter().all(|d| d.attempts == 1), "{deliveries:?}");
}

/// The SMS provider, counting what it takes (watchable), and a voice provider holding each
/// call until the test lets it through: a call waiting for its turn, as at 2 a second.
struct HeldCalls {
    sms: Mutex<Vec<String>>,
    sms_count: tokio::sync::watch::Sender<usize>,
    calls: Mutex<Vec<String>>,
    call_count: tokio::sync::watch::Sender<usize>,
    turns: tokio::sync::Semaphore,
}

impl HeldCalls {
    fn new() -> Self {
        Self {
            sms: Mutex::default(),
            sms_count: tokio::sync::watch::channel(0).0,
            calls: Mutex::default(),
            call_count: tokio::sync::watch::channel(0).0,
            turns: tokio::sync::Semaphore::new(0),
        }
    }
}

#[async_trait]
impl EmailSender for HeldCalls {
    async fn send_email(&self, _: &OutgoingEmail) -> Result<Option<String>, SendError> {
        panic!("the alert has no email")
    }
}

#[async_trait]
impl SmsSender for HeldCalls {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Option<String>, SendError> {
        self.sms.lock().unwrap().push(sms.to.to_string());
        self.sms_count.send_modify(|n| *n += 1);
        Ok(Some("sms".into()))
    }
}

#[async_trait]
impl VoiceSender for HeldCalls {
    async fn call(&self, call: &OutgoingCall) -> Result<Option<String>, SendError> {
        self.turns.acquire().await.expect("open").forget();
        self.calls.lock().unwrap().push(call.to.to_string());
        self.call_count.send_modify(|n| *n += 1);
        Ok(Some("call".into()))
    }
}

/// Waits (at most a minute of real time, a guard) until `count` reaches `n`.
async fn until(count: &tokio::sync::watch::Sender<usize>, n: usize, what: &str) {
    let mut seen = count.subscribe();
    tokio::time::timeout(Duration::from_secs(60), seen.wait_for(|c| *c >= n))
        .await
        .unwrap_or_else(|_| panic!("{what}: {} of {n}", *count.borrow()))
        .expect("the provider is alive");
}

#[tokio::test]
async fn on_the_local_server_sms_never_wait_behind_calls() {
    // GIVEN four members of the crisis cell with a mobile, texted and called: the queue holds
    // SMS, call, SMS, call…, and the voice provider takes no call until told
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
    let providers = Arc::new(HeldCalls::new());
    let w = World::calling(
        Arc::new(ManualClock::new(at)),
        providers.clone(),
        providers.clone(),
        |_| {},
    )
    .await;
    let uc = w.use_cases();
    let admin = telmail_tests::staff("admin", "admin");
    for i in 0..4 {
        let member = CellMemberInput {
            name: Some(format!("Membre {i}")),
            function: Some("Élu d'astreinte".into()),
            mobile: Some(format!("06 12 34 56 7{i}")),
            ..Default::default()
        };
        uc.cell.add(&admin, &member).await.unwrap();
    }
    let alert = CellAlertInput {
        text: Some("Activation du PCS : rendez-vous en mairie.".into()),
        on_duty_only: false,
    };
    let cab = telmail_tests::staff("cab", "cabinet");
    let sent = uc.cell.alert(&cab, &alert).await.unwrap();
    assert_eq!((sent.sms, sent.calls), (4, 4));

    // WHEN the consumers run as telmail-local runs them, a message per batch
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = WorkerConfig {
        delivery_batch: 1,
        call_batch: 1,
        ..WorkerConfig::default()
    };
    let consumers = Worker::new(w.services.queue.clone(), uc.jobs.clone(), config).spawn(stopped);

    // THEN every SMS leaves while the first call still waits for its turn
    until(&providers.sms_count, 4, "SMS sent while a call waits").await;
    assert!(providers.calls.lock().unwrap().is_empty());
    // AND once the calls are let through, each member got one SMS and one call
    providers.turns.add_permits(4);
    until(&providers.call_count, 4, "calls placed").await;
    stop.send(true).unwrap();
    for c in consumers {
        c.await.unwrap();
    }
    for list in [&providers.sms, &providers.calls] {
        let mut to = list.lock().unwrap().clone();
        to.sort();
        assert_eq!(
            to,
            [
                "+33612345670",
                "+33612345671",
                "+33612345672",
                "+33612345673"
            ]
        );
    }
}
