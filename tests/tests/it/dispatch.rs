//! Sending on the embedded backend with scripted providers: at most one message per
//! (campaign, subscriber, channel) even when jobs run twice, retry then success, permanent
//! failure, and the SMS sending window.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use telmail_core::clock::Clock;
use telmail_core::domain::campaign::{
    Campaign, CampaignId, CampaignInput, CampaignStatus, EmailInput, SmsInput,
};
use telmail_core::domain::contact::{Channel, Email};
use telmail_core::domain::delivery::{
    CampaignProgress, ChannelPause, Delivery, DeliveryKey, DeliveryResult, DeliveryStatus,
    Suppression,
};
use telmail_core::domain::queue::{DeliverJob, FanoutJob, Job, JobOutcome, QueueName};
use telmail_core::domain::reputation::EmailFeedback;
use telmail_core::domain::signup::{SignupInput, SubscriptionInput};
use telmail_core::domain::staff::StaffIdentity;
use telmail_core::error::SendError;
use telmail_core::ports::{
    CampaignStore, DeliveryStore, EmailSender, JobQueue, OutgoingEmail, OutgoingSms, SmsSender,
    SuppressionStore,
};
use telmail_core::use_cases::dispatch::{Repairs, LONGEST_QUEUE_DELAY};
use telmail_core::use_cases::residents::WebOrigin;
use telmail_core::use_cases::subscriber_file::EditInput;
use telmail_core::DomainError;
use telmail_tests::staff;

/// A provider that records what it sends and fails as scripted per address.
#[derive(Default)]
struct ScriptedProvider {
    sent: Mutex<Vec<String>>,
    transient_failures_left: Mutex<HashMap<String, u32>>,
    permanent: Mutex<Vec<String>>,
    /// Addresses whose messages are accepted without a message id.
    without_id: Mutex<Vec<String>>,
    /// Addresses whose first message is accepted, then the answer times out.
    lost_answer_once: Mutex<Vec<String>>,
}

impl ScriptedProvider {
    fn attempt(&self, to: &str) -> Result<Option<String>, SendError> {
        if self.permanent.lock().unwrap().iter().any(|p| p == to) {
            return Err(SendError::Permanent("adresse inexistante".into()));
        }
        if let Some(left) = self.transient_failures_left.lock().unwrap().get_mut(to) {
            if *left > 0 {
                *left -= 1;
                return Err(SendError::Transient("throttled".into()));
            }
        }
        self.sent.lock().unwrap().push(to.to_owned());
        let mut lost = self.lost_answer_once.lock().unwrap();
        if let Some(i) = lost.iter().position(|p| p == to) {
            lost.remove(i);
            return Err(SendError::Unknown(
                "timed out waiting for the answer".into(),
            ));
        }
        drop(lost);
        if self.without_id.lock().unwrap().iter().any(|p| p == to) {
            return Ok(None);
        }
        Ok(Some(format!("msg-{to}")))
    }

    fn count(&self, to: &str) -> usize {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|s| *s == to)
            .count()
    }
}

#[async_trait]
impl EmailSender for ScriptedProvider {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Option<String>, SendError> {
        self.attempt(email.to.as_str())
    }
}

#[async_trait]
impl SmsSender for ScriptedProvider {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Option<String>, SendError> {
        self.attempt(sms.to.as_str())
    }
}

/// A Tuesday at 10:00 in Paris: inside the SMS window.
fn tuesday_morning() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

/// The service at `at`, sending through a scripted provider.
async fn world(at: chrono::DateTime<Utc>) -> World {
    World::new(at, Arc::new(ScriptedProvider::default())).await
}

type World = telmail_tests::world::World<ScriptedProvider>;

async fn subscribe(w: &World, email: Option<&str>, phone: Option<&str>, channels: &[&str]) {
    w.subscribe_on_paper(email, phone, "infos-pratiques", channels)
        .await;
}

async fn approved_campaign(w: &World, urgent: bool) -> Campaign {
    let input = CampaignInput {
        title: Some("Coupure d'eau".into()),
        topics: vec!["infos-pratiques".into()],
        sms: Some(SmsInput {
            text: Some("Coupure d'eau demain 9h-12h".into()),
        }),
        email: Some(EmailInput {
            subject: Some("Coupure d'eau".into()),
            body_markdown: Some("Demain de 9 h à 12 h.".into()),
        }),
        urgent,
        send_at: None,
        ..Default::default()
    };
    let submitted = w.submitted(&input).await;
    w.approve(&submitted).await
}

async fn deliveries(w: &World, id: CampaignId) -> Vec<Delivery> {
    DeliveryStore::list(w.services.store.as_ref(), id, 100, 0)
        .await
        .unwrap()
}

/// Takes every delivery job ready in the queue out of it, for the test to run.
async fn ready_jobs(w: &World) -> Vec<DeliverJob> {
    let lease = std::time::Duration::from_secs(3600);
    let queue = &w.services.queue;
    let received = queue
        .receive(QueueName::Delivery, 1000, lease)
        .await
        .unwrap();
    let ids: Vec<i64> = received.iter().map(|r| r.id).collect();
    queue.ack(&ids).await.unwrap();
    received
        .iter()
        .map(|r| match Job::from_payload(&r.payload).unwrap() {
            Job::Deliver(job) => job,
            other => panic!("not a delivery: {other:?}"),
        })
        .collect()
}

async fn progress(w: &World, id: CampaignId) -> CampaignProgress {
    CampaignStore::progress(w.services.store.as_ref(), id)
        .await
        .unwrap()
}

async fn campaign(w: &World, id: CampaignId) -> Campaign {
    CampaignStore::get(w.services.store.as_ref(), id)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn running_fan_out_and_deliveries_twice_still_sends_one_message_each() {
    let w = world(tuesday_morning()).await;
    subscribe(
        &w,
        Some("a@exemple.fr"),
        Some("0612345678"),
        &["email", "sms"],
    )
    .await;
    subscribe(&w, Some("b@exemple.fr"), None, &["email"]).await;
    let c = approved_campaign(&w, false).await;
    // Every shard fanned out twice before anything is sent
    for shard in 0..c.shards {
        w.fan_out(&FanoutJob::first(c.id, shard, c.urgent)).await;
        w.fan_out(&FanoutJob::first(c.id, shard, c.urgent)).await;
    }
    w.drain().await;
    // And every delivery run again afterwards
    let again: Vec<DeliverJob> = deliveries(&w, c.id)
        .await
        .iter()
        .map(|d| d.key.into())
        .collect();
    assert_eq!(again.len(), 3);
    assert_eq!(w.deliver(&again).await, vec![JobOutcome::Done; 3]);
    for address in ["a@exemple.fr", "+33612345678", "b@exemple.fr"] {
        assert_eq!(w.provider.count(address), 1, "{address}");
    }
    let c = campaign(&w, c.id).await;
    assert_eq!(c.status(), CampaignStatus::Sent);
    let p = progress(&w, c.id).await;
    assert_eq!(
        (
            p.totals.email.targeted,
            p.totals.email.sent,
            p.totals.sms.sent
        ),
        (2, 2, 1)
    );
}

#[tokio::test]
async fn a_transient_failure_is_retried_then_succeeds() {
    let w = world(tuesday_morning()).await;
    subscribe(&w, Some("flaky@exemple.fr"), None, &["email"]).await;
    w.provider
        .transient_failures_left
        .lock()
        .unwrap()
        .insert("flaky@exemple.fr".into(), 2);
    let c = approved_campaign(&w, false).await;
    w.fan_out_all(&c).await;
    let job = ready_jobs(&w).await.remove(0);
    let first = w.deliver(std::slice::from_ref(&job)).await;
    assert_eq!(
        first,
        vec![JobOutcome::RetryAfter(std::time::Duration::from_secs(30))]
    );
    assert_eq!(deliveries(&w, c.id).await[0].status, DeliveryStatus::Queued);
    let second = w.deliver(std::slice::from_ref(&job)).await;
    assert_eq!(
        second,
        vec![JobOutcome::RetryAfter(std::time::Duration::from_secs(60))],
        "backoff grows"
    );
    assert_eq!(w.deliver(&[job]).await, vec![JobOutcome::Done]);
    let d = &deliveries(&w, c.id).await[0];
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Sent, 3));
    assert_eq!(d.provider_id.as_deref(), Some("msg-flaky@exemple.fr"));
    assert_eq!(w.provider.count("flaky@exemple.fr"), 1);
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);
}

#[tokio::test]
async fn a_message_accepted_without_an_id_is_sent_and_never_sent_again() {
    let w = world(tuesday_morning()).await;
    subscribe(&w, Some("quiet@exemple.fr"), None, &["email"]).await;
    w.provider
        .without_id
        .lock()
        .unwrap()
        .push("quiet@exemple.fr".into());
    let c = approved_campaign(&w, false).await;
    w.fan_out_all(&c).await;
    let jobs = ready_jobs(&w).await;
    assert_eq!(jobs.len(), 1);
    w.deliver(&jobs).await;
    w.deliver(&jobs).await;
    assert!(ready_jobs(&w).await.is_empty(), "nothing is retried");
    let d = deliveries(&w, c.id).await;
    assert_eq!(
        (d[0].status, d[0].provider_id.as_deref()),
        (DeliveryStatus::Sent, None)
    );
    assert_eq!(w.provider.count("quiet@exemple.fr"), 1);
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);
}

#[tokio::test]
async fn a_provider_refusing_an_address_for_good_is_a_field_error_not_try_again() {
    let w = world(tuesday_morning()).await;
    for refused in ["refus@exemple.fr", "+33612345699", "cab@mairie.example"] {
        w.provider.permanent.lock().unwrap().push(refused.into());
    }
    let signup = |email: Option<&str>, phone: Option<&str>| SignupInput {
        email: email.map(Into::into),
        phone: phone.map(Into::into),
        subscriptions: vec![SubscriptionInput {
            topic: "infos-pratiques".into(),
            channels: vec![if email.is_some() { "email" } else { "sms" }.into()],
        }],
        consent: true,
        zones: Vec::new(),
    };
    let field_error = |e: DomainError, field: &str| match e {
        DomainError::Validation(f) => f.get(field).map(str::to_owned),
        other => panic!("{other:?}"),
    };
    let err = w
        .use_cases()
        .residents
        .sign_up(
            &signup(Some("refus@exemple.fr"), None),
            WebOrigin::default(),
        )
        .await
        .unwrap_err();
    assert!(field_error(err, "email")
        .unwrap()
        .contains("refuse cette adresse"));
    let err = w
        .use_cases()
        .residents
        .sign_up(&signup(None, Some("06 12 34 56 99")), WebOrigin::default())
        .await
        .unwrap_err();
    assert!(field_error(err, "phone")
        .unwrap()
        .contains("refuse ce numéro"));

    // A staff test send to an address the provider refuses names the account's address.
    let redac = StaffIdentity {
        email: Some(Email::from_str("cab@mairie.example").unwrap()),
        ..staff("redac", "redaction")
    };
    let c = w
        .use_cases()
        .campaigns
        .create(&redac, &email_only_campaign())
        .await
        .unwrap();
    let err = w
        .use_cases()
        .campaigns
        .test_send(&redac, c.id)
        .await
        .unwrap_err();
    assert!(field_error(err, "email")
        .unwrap()
        .contains("de votre compte"));

    // A busy provider does not turn the resident away: the email waits on the urgent lane
    // and leaves once taken (#26, point 9).
    w.provider
        .transient_failures_left
        .lock()
        .unwrap()
        .insert("lent@exemple.fr".into(), 1);
    w.use_cases()
        .residents
        .sign_up(&signup(Some("lent@exemple.fr"), None), WebOrigin::default())
        .await
        .unwrap();
    assert_eq!(w.provider.count("lent@exemple.fr"), 0);
    w.drain().await;
    assert_eq!(w.provider.count("lent@exemple.fr"), 1);
}

#[tokio::test]
async fn a_sign_up_code_the_provider_cannot_take_is_retried_until_the_retry_hours_then_given_up() {
    // GIVEN an SMS provider down a while for one mobile, for good for another, and one whose
    // answer is lost (the SMS may have gone)
    let w = world(tuesday_morning()).await;
    w.provider.transient_failures_left.lock().unwrap().extend([
        ("+33612345601".into(), 5),
        ("+33612345602".into(), u32::MAX),
    ]);
    w.provider
        .lost_answer_once
        .lock()
        .unwrap()
        .push("+33612345603".into());
    let signup = |phone: &str| SignupInput {
        email: None,
        phone: Some(phone.into()),
        subscriptions: vec![SubscriptionInput {
            topic: "infos-pratiques".into(),
            channels: vec!["sms".into()],
        }],
        consent: true,
        zones: Vec::new(),
    };

    // WHEN they sign up: all three are accepted
    for phone in ["06 12 34 56 01", "06 12 34 56 02", "06 12 34 56 03"] {
        w.use_cases()
            .residents
            .sign_up(&signup(phone), WebOrigin::default())
            .await
            .unwrap();
    }

    // THEN the first code leaves once, as soon as the provider takes it (on the back-off)
    for _ in 0..12 {
        w.drain().await;
        w.clock.advance(Duration::minutes(5));
    }
    assert_eq!(w.provider.count("+33612345601"), 1);
    // …the SMS that may have gone is not sent again, as in campaigns
    assert_eq!(w.provider.count("+33612345603"), 1);
    // AND the other is given up after the retry hours: nothing left looping
    for _ in 0..8 {
        w.clock.advance(Duration::hours(1));
        w.drain().await;
    }
    assert_eq!(w.provider.count("+33612345602"), 0);
    assert_eq!(
        w.services.queue.depth(QueueName::Delivery).await.unwrap(),
        0
    );
}

fn email_only_campaign() -> CampaignInput {
    CampaignInput {
        title: Some("Fête de la musique".into()),
        topics: vec!["culture-animations".into()],
        sms: None,
        email: Some(EmailInput {
            subject: Some("Fête de la musique".into()),
            body_markdown: Some("Le 21 juin.".into()),
        }),
        urgent: false,
        send_at: None,
        ..Default::default()
    }
}

#[tokio::test]
async fn permanent_failures_and_too_many_transient_ones_are_recorded_as_failed() {
    // Retried for 10 minutes: waits of 30 s, 1, 2, 4 min, then the fifth failure gives up.
    let w = World::configured(
        tuesday_morning(),
        Arc::new(ScriptedProvider::default()),
        |c| c.retry_for = chrono::Duration::minutes(10),
    )
    .await;
    subscribe(&w, Some("gone@exemple.fr"), None, &["email"]).await;
    subscribe(&w, Some("busy@exemple.fr"), None, &["email"]).await;
    w.provider
        .permanent
        .lock()
        .unwrap()
        .push("gone@exemple.fr".into());
    w.provider
        .transient_failures_left
        .lock()
        .unwrap()
        .insert("busy@exemple.fr".into(), 100);
    let c = approved_campaign(&w, false).await;
    w.fan_out_all(&c).await;
    let jobs = ready_jobs(&w).await;
    assert_eq!(jobs.len(), 2);
    for _ in 0..5 {
        w.deliver(&jobs).await;
    }
    let deliveries = deliveries(&w, c.id).await;
    assert!(
        deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Failed),
        "{deliveries:?}"
    );
    let busy = deliveries
        .iter()
        .find(|d| d.attempts == 5)
        .expect("busy tried 5 times");
    assert!(busy
        .error
        .as_deref()
        .unwrap()
        .contains("abandon après 5 essais"));
    let p = progress(&w, c.id).await;
    assert_eq!(
        (
            p.totals.email.targeted,
            p.totals.email.failed,
            p.totals.email.sent
        ),
        (2, 2, 0)
    );
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);
}

#[tokio::test]
async fn non_urgent_sms_wait_for_the_window_and_urgent_ones_do_not() {
    // Sunday noon in Paris: closed for non-urgent SMS
    let sunday = Utc.with_ymd_and_hms(2026, 11, 29, 11, 0, 0).unwrap();
    let w = world(sunday).await;
    subscribe(
        &w,
        Some("c@exemple.fr"),
        Some("0698765432"),
        &["email", "sms"],
    )
    .await;
    let c = approved_campaign(&w, false).await;
    w.fan_out_all(&c).await;
    // The email goes now; the SMS waits in the queue until the window opens.
    let ready = ready_jobs(&w).await;
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].key.channel, Channel::Email);
    assert_eq!(w.deliver(&ready).await, vec![JobOutcome::Done]);
    assert_eq!(w.provider.count("c@exemple.fr"), 1);
    // An SMS job arriving early anyway (a replay) is put back until Monday 08:00 Paris,
    // 20 hours after Sunday noon.
    let early = DeliverJob::from(DeliveryKey {
        channel: Channel::Sms,
        ..ready[0].key
    });
    assert_eq!(
        w.deliver(&[early]).await,
        vec![JobOutcome::RetryAfter(std::time::Duration::from_secs(
            20 * 3600
        ))]
    );
    assert_eq!(w.provider.count("+33698765432"), 0);
    w.clock.advance(Duration::hours(20));
    let ready = ready_jobs(&w).await;
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].key.channel, Channel::Sms);
    w.deliver(&ready).await;
    assert_eq!(w.provider.count("+33698765432"), 1);

    let urgent = approved_campaign(&w, true).await;
    w.clock.advance(Duration::days(-1)); // back to Sunday
    assert!(w.clock.now() < tuesday_morning());
    w.fan_out_all(&urgent).await;
    w.drain().await;
    assert_eq!(
        w.provider.count("+33698765432"),
        2,
        "the urgent SMS went on Sunday"
    );
}

#[tokio::test]
async fn the_stop_button_stops_a_campaign_still_sending_and_counts_what_went() {
    // Sunday noon: the emails go at once, the SMS wait for Monday 08:00
    let sunday = Utc.with_ymd_and_hms(2026, 11, 29, 11, 0, 0).unwrap();
    let w = world(sunday).await;
    for (email, phone) in [
        ("s1@exemple.fr", "0611111111"),
        ("s2@exemple.fr", "0622222222"),
    ] {
        subscribe(&w, Some(email), Some(phone), &["email", "sms"]).await;
    }
    let c = approved_campaign(&w, false).await;
    w.fan_out_all(&c).await;
    w.drain().await;
    assert_eq!(
        w.provider.count("s1@exemple.fr") + w.provider.count("s2@exemple.fr"),
        2
    );

    // WHEN the cabinet stops it while the SMS wait
    let stopped = w
        .use_cases()
        .campaigns
        .cancel(&staff("cab", "cabinet"), c.id, Some("Date erronée"))
        .await
        .unwrap();
    assert_eq!(stopped.status(), CampaignStatus::Cancelled);

    // THEN when the window opens nothing more goes out, and every delivery is closed
    w.clock.advance(Duration::hours(21));
    w.drain().await;
    assert_eq!(
        w.provider.count("+33611111111") + w.provider.count("+33622222222"),
        0
    );
    let p = progress(&w, c.id).await;
    assert_eq!((p.totals.email.sent, p.totals.sms.sent), (2, 0));
    assert_eq!(p.totals.sms.suppressed, 2);
    let sms: Vec<Delivery> = deliveries(&w, c.id)
        .await
        .into_iter()
        .filter(|d| d.key.channel == Channel::Sms)
        .collect();
    assert!(sms.iter().all(|d| d.status == DeliveryStatus::Suppressed
        && d.error.as_deref() == Some("envoi arrêté par le cabinet")));
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Cancelled);
}

#[tokio::test]
async fn an_sms_whose_answer_was_lost_is_not_sent_again_but_an_email_is() {
    let w = world(tuesday_morning()).await;
    subscribe(
        &w,
        Some("perdu@exemple.fr"),
        Some("0633333333"),
        &["email", "sms"],
    )
    .await;
    *w.provider.lost_answer_once.lock().unwrap() =
        vec!["+33633333333".into(), "perdu@exemple.fr".into()];
    let c = approved_campaign(&w, false).await;
    w.fan_out_all(&c).await;
    w.drain().await;
    w.clock.advance(Duration::hours(1));
    w.drain().await;

    // The SMS went once and stays "unknown", with the reason staff read
    assert_eq!(w.provider.count("+33633333333"), 1);
    let all = deliveries(&w, c.id).await;
    let sms = all.iter().find(|d| d.key.channel == Channel::Sms).unwrap();
    assert_eq!(sms.status, DeliveryStatus::Unknown);
    assert!(sms
        .error
        .as_deref()
        .unwrap()
        .contains("peut-être été envoyé"));
    // The email was sent again and then recorded as sent
    assert_eq!(w.provider.count("perdu@exemple.fr"), 2);
    let email = all
        .iter()
        .find(|d| d.key.channel == Channel::Email)
        .unwrap();
    assert_eq!(email.status, DeliveryStatus::Sent);
    // The campaign's counts add up and it finishes
    let p = progress(&w, c.id).await;
    assert_eq!((p.totals.sms.sent, p.totals.sms.failed), (0, 1));
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);
}

/// Takes every fan-out job out of the queue without running it (as if they were never queued).
async fn lose_fanout_jobs(w: &World) -> usize {
    let queue = &w.services.queue;
    let lost = queue
        .receive(
            QueueName::Fanout,
            1000,
            std::time::Duration::from_secs(3600),
        )
        .await
        .unwrap();
    queue
        .ack(&lost.iter().map(|r| r.id).collect::<Vec<_>>())
        .await
        .unwrap();
    lost.len()
}

#[tokio::test]
async fn a_campaign_whose_fan_out_jobs_were_lost_is_repaired_on_the_schedule() {
    let w = world(tuesday_morning()).await;
    subscribe(&w, Some("r1@exemple.fr"), None, &["email"]).await;
    subscribe(&w, Some("r2@exemple.fr"), None, &["email"]).await;
    // GIVEN a campaign set to sending whose fan-out jobs never reached the queue
    let c = approved_campaign(&w, false).await;
    assert_eq!(lose_fanout_jobs(&w).await, c.shards as usize);
    let repair = || w.dispatcher().repair_stuck();
    assert_eq!(
        repair().await.unwrap().fanouts_requeued,
        0,
        "too early to tell"
    );

    // WHEN the schedule runs later
    w.clock.advance(Duration::minutes(11));
    assert_eq!(repair().await.unwrap().fanouts_requeued, 1);
    w.drain().await;

    // THEN everyone got the message once and the campaign finished
    assert_eq!(w.provider.count("r1@exemple.fr"), 1);
    assert_eq!(w.provider.count("r2@exemple.fr"), 1);
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);
    assert_eq!(
        repair().await.unwrap(),
        Default::default(),
        "nothing left to repair"
    );
}

#[tokio::test]
async fn outcomes_recorded_without_their_counters_are_counted_on_the_schedule() {
    let w = world(tuesday_morning()).await;
    subscribe(
        &w,
        Some("c1@exemple.fr"),
        Some("0644444444"),
        &["email", "sms"],
    )
    .await;
    let c = approved_campaign(&w, true).await;
    w.fan_out_all(&c).await;
    // GIVEN a sender that recorded its outcomes, then failed before adding them to the counters
    let jobs = ready_jobs(&w).await;
    let store = w.services.store.as_ref();
    let keys: Vec<DeliveryKey> = jobs.iter().map(|j| j.key).collect();
    let claimed = DeliveryStore::claim(store, &keys).await.unwrap().won;
    let results: Vec<(Delivery, DeliveryResult)> = claimed
        .into_iter()
        .map(|d| {
            let sent = DeliveryResult::Sent {
                provider_id: Some("x".into()),
                segments: u32::from(d.key.channel == Channel::Sms),
            };
            (d, sent)
        })
        .collect();
    DeliveryStore::finish(store, &results).await.unwrap();
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sending);

    // WHEN the schedule runs once the outcomes are settled
    w.clock.advance(Duration::minutes(11));
    let repaired = w.dispatcher().repair_stuck().await.unwrap();

    // THEN the counters hold them, once, and the campaign finished
    assert_eq!(repaired.recounted, 1);
    let p = progress(&w, c.id).await;
    assert_eq!(
        (
            p.totals.email.sent,
            p.totals.sms.sent,
            p.totals.sms_segments
        ),
        (1, 1, 1)
    );
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);
    let again = w.dispatcher().repair_stuck().await.unwrap();
    assert_eq!(again, Default::default());
    assert_eq!(progress(&w, c.id).await.totals.email.sent, 1);
}

#[tokio::test]
async fn a_delivery_abandoned_mid_send_is_failed_not_resent_so_the_campaign_finishes() {
    let w = world(tuesday_morning()).await;
    subscribe(&w, Some("lost@exemple.fr"), None, &["email"]).await;
    let c = approved_campaign(&w, true).await;
    w.fan_out_all(&c).await;
    let job = ready_jobs(&w).await.remove(0);
    // A sender claims it, then dies before recording the outcome
    assert_eq!(
        DeliveryStore::claim(w.services.store.as_ref(), &[job.key])
            .await
            .unwrap()
            .won
            .len(),
        1
    );

    // The job comes back soon after: the delivery is left alone (the sender may be slow), and
    // the job is put back to look again, first after 30 s, then after as long as the claim is
    // old
    let outcome = w.deliver(std::slice::from_ref(&job)).await;
    assert_eq!(
        outcome,
        vec![JobOutcome::RetryAfter(std::time::Duration::from_secs(30))]
    );
    // Four minutes on, the claim is older than any live sender keeps one (its deadline), but
    // not yet past the claims' expiry (6 minutes locally): the job looks again at expiry.
    w.clock.advance(Duration::minutes(4));
    let outcome = w.deliver(std::slice::from_ref(&job)).await;
    match outcome[..] {
        [JobOutcome::RetryAfter(wait)] => assert!(
            wait > std::time::Duration::from_secs(60)
                && wait <= std::time::Duration::from_secs(2 * 60),
            "{wait:?}"
        ),
        _ => panic!("{outcome:?}"),
    }
    assert_eq!(
        deliveries(&w, c.id).await[0].status,
        DeliveryStatus::Sending
    );
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sending);

    // Past the claims' expiry it is failed, never resent, and the campaign completes
    w.clock.advance(Duration::minutes(3));
    assert_eq!(w.deliver(&[job]).await, vec![JobOutcome::Done]);
    let d = &deliveries(&w, c.id).await[0];
    assert_eq!(d.status, DeliveryStatus::Failed);
    assert!(d.error.as_deref().unwrap().contains("résultat inconnu"));
    assert_eq!(w.provider.count("lost@exemple.fr"), 0);
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);
    let p = progress(&w, c.id).await;
    assert_eq!((p.totals.email.targeted, p.totals.email.failed), (1, 1));
}

#[tokio::test]
async fn a_subscriber_who_changed_after_fan_out_is_sent_what_the_profile_now_says() {
    let w = world(tuesday_morning()).await;
    subscribe(&w, Some("leaves@exemple.fr"), None, &["email"]).await;
    subscribe(&w, Some("moves@exemple.fr"), None, &["email"]).await;
    subscribe(&w, Some("stays@exemple.fr"), None, &["email"]).await;
    let c = approved_campaign(&w, false).await;
    w.fan_out_all(&c).await;
    let jobs = ready_jobs(&w).await;
    assert_eq!(jobs.len(), 3);
    assert!(
        jobs.iter().all(|j| j.to.is_some()),
        "fan-out carries addresses"
    );

    // Between fan-out and sending, one unsubscribes and one changes address
    w.clock.advance(Duration::minutes(5));
    let staff = staff("admin", "admin");
    let id_of = |address: &str| {
        jobs.iter()
            .find(|j| j.to.as_ref().unwrap().address.as_str() == address)
            .unwrap()
            .key
            .subscriber
    };
    w.use_cases()
        .subscriber_file
        .edit(&staff, id_of("leaves@exemple.fr"), &EditInput::default())
        .await
        .unwrap();
    let moved = EditInput {
        email: Some("new-home@exemple.fr".into()),
        phone: None,
        subscriptions: vec![SubscriptionInput {
            topic: "infos-pratiques".into(),
            channels: vec!["email".into()],
        }],
    };
    w.use_cases()
        .subscriber_file
        .edit(&staff, id_of("moves@exemple.fr"), &moved)
        .await
        .unwrap();

    w.deliver(&jobs).await;
    assert_eq!(w.provider.count("leaves@exemple.fr"), 0);
    assert_eq!(w.provider.count("moves@exemple.fr"), 0);
    assert_eq!(w.provider.count("new-home@exemple.fr"), 1);
    assert_eq!(w.provider.count("stays@exemple.fr"), 1);
    let p = progress(&w, c.id).await;
    assert_eq!(
        (
            p.totals.email.targeted,
            p.totals.email.sent,
            p.totals.email.suppressed
        ),
        (3, 2, 1)
    );
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);
}

/// The service with one fan-out shard cut into slices of `recipients`.
async fn sliced_world(recipients: u64) -> World {
    World::configured(
        tuesday_morning(),
        Arc::new(ScriptedProvider::default()),
        |c| {
            c.fanout_shards = std::num::NonZeroU32::new(1).unwrap();
            c.fanout_slice.recipients = recipients;
        },
    )
    .await
}

/// Residents `r<i>@exemple.fr`, `06 12 34 56 <i>` for i below `n`, each on email and SMS.
async fn subscribe_on_both_channels(w: &World, n: usize) {
    for i in 0..n {
        subscribe(
            w,
            Some(&format!("r{i}@exemple.fr")),
            Some(&format!("06 12 34 56 {i:02}")),
            &["email", "sms"],
        )
        .await;
    }
}

#[tokio::test]
async fn a_shard_fans_out_slice_after_slice_and_reaches_everyone_once() {
    let w = sliced_world(4).await;
    subscribe_on_both_channels(&w, 11).await;
    SuppressionStore::suppress(
        w.services.store.as_ref(),
        &Suppression {
            address: "r5@exemple.fr".into(),
            reason: "bounce".into(),
            at: tuesday_morning(),
        },
    )
    .await
    .unwrap();
    let c = approved_campaign(&w, false).await;
    assert_eq!(c.shards, 1);
    w.drain().await;

    for i in 0..11 {
        let email = format!("r{i}@exemple.fr");
        assert_eq!(w.provider.count(&email), usize::from(i != 5), "{email}");
        assert_eq!(w.provider.count(&format!("+336123456{i:02}")), 1, "SMS {i}");
    }
    // 22 recipients by slices of 4: six slices, each recorded once, the shard once.
    let store = w.services.store.as_ref();
    for slice in 0..6 {
        assert!(CampaignStore::slice_done(store, c.id, 0, slice)
            .await
            .unwrap());
    }
    assert!(!CampaignStore::slice_done(store, c.id, 0, 6).await.unwrap());
    let p = progress(&w, c.id).await;
    assert_eq!(p.shards_done, 1);
    assert_eq!(
        (
            p.totals.email.targeted,
            p.totals.email.suppressed,
            p.totals.email.sent
        ),
        (11, 1, 10)
    );
    assert_eq!((p.totals.sms.targeted, p.totals.sms.sent), (11, 11));
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);

    // A slice's job delivered again (SQS is at least once) does nothing.
    let dispatcher = w.dispatcher();
    let again = FanoutJob {
        slice: 2,
        ..FanoutJob::first(c.id, 0, false)
    };
    assert_eq!(dispatcher.fan_out(&again).await.unwrap(), JobOutcome::Done);
    let waiting = w.services.queue.health().await.unwrap().queued;
    assert_eq!(waiting, 0, "no job queued by a slice already done");
}

#[tokio::test]
async fn a_slice_cut_short_and_run_again_sends_nothing_twice() {
    let w = sliced_world(3).await;
    for i in 0..7 {
        subscribe(&w, Some(&format!("r{i}@exemple.fr")), None, &["email"]).await;
    }
    let c = approved_campaign(&w, false).await;
    let dispatcher = w.dispatcher();
    // The first slice runs, then its job comes back before it was acknowledged: the slice
    // was recorded done, so the rerun stops at once and the shard goes on once.
    let first = FanoutJob::first(c.id, 0, false);
    dispatcher.fan_out(&first).await.unwrap();
    dispatcher.fan_out(&first).await.unwrap();
    w.drain().await;
    for i in 0..7 {
        assert_eq!(w.provider.count(&format!("r{i}@exemple.fr")), 1);
    }
    let p = progress(&w, c.id).await;
    assert_eq!((p.totals.email.targeted, p.totals.email.sent), (7, 7));
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);
}

#[tokio::test]
async fn a_slice_hands_over_when_the_service_clock_says_its_time_is_up() {
    // Far more room than recipients: only the slice's time can end it.
    let w = sliced_world(50_000).await;
    subscribe_on_both_channels(&w, 3).await;
    let c = approved_campaign(&w, false).await;
    // Each reading of the service's clock now stands for 41 s of work, past the slice's 40 s
    // by the first page's end, though no wall-clock time passes.
    w.clock.advance_on_each_read(Duration::seconds(41));
    w.fan_out(&FanoutJob::first(c.id, 0, false)).await;
    w.clock.advance_on_each_read(Duration::zero());
    let store = w.services.store.as_ref();
    assert!(CampaignStore::slice_done(store, c.id, 0, 0).await.unwrap());
    assert!(!CampaignStore::slice_done(store, c.id, 0, 1).await.unwrap());
    assert_eq!(progress(&w, c.id).await.shards_done, 0, "the shard goes on");

    w.drain().await;
    for i in 0..3 {
        assert_eq!(w.provider.count(&format!("r{i}@exemple.fr")), 1);
        assert_eq!(w.provider.count(&format!("+336123456{i:02}")), 1);
    }
    assert!(CampaignStore::slice_done(store, c.id, 0, 1).await.unwrap());
    let p = progress(&w, c.id).await;
    assert_eq!((p.totals.email.targeted, p.totals.sms.targeted), (3, 3));
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);
}

#[tokio::test]
async fn a_campaign_gets_shards_for_its_audience_up_to_the_setting() {
    let w = world(tuesday_morning()).await;
    subscribe(&w, Some("a@exemple.fr"), None, &["email"]).await;
    // Approved at once: the approval's exact count sizes it, one shard per 25,000 recipients,
    // at least one, though the audience was never counted by the hour.
    let c = approved_campaign(&w, false).await;
    assert_eq!(c.shards, 1);
    w.drain().await;
    // Scheduled, so started later: without an exact count of its own, the hourly count sizes
    // it — never counted, the setting's number; counted, one shard.
    let scheduled = |at: chrono::DateTime<chrono::Utc>| CampaignInput {
        title: Some("Coupure d'eau".into()),
        topics: vec!["infos-pratiques".into()],
        email: Some(EmailInput {
            subject: Some("Coupure d'eau".into()),
            body_markdown: Some("Demain de 9 h à 12 h.".into()),
        }),
        send_at: Some(at.to_rfc3339()),
        ..Default::default()
    };
    for (counted, shards) in [(false, 8), (true, 1)] {
        if counted {
            w.use_cases().statistics.record_audience().await.unwrap();
        }
        let at = w.clock.now() + chrono::Duration::hours(1);
        let approved = w.approve(&w.submitted(&scheduled(at)).await).await;
        assert_eq!(approved.status(), CampaignStatus::Scheduled);
        w.clock.advance(chrono::Duration::hours(1));
        assert_eq!(w.dispatcher().start_due().await.unwrap(), 1);
        assert_eq!(campaign(&w, approved.id).await.shards, shards);
        w.drain().await;
    }
    assert_eq!(w.provider.count("a@exemple.fr"), 3);
}

/// The provider reports `n` hard bounces of the campaign's emails.
async fn bounces(w: &World, id: CampaignId, n: usize) {
    for _ in 0..n {
        w.dispatcher()
            .record_email_feedback(id, EmailFeedback::Bounce)
            .await
            .unwrap();
    }
}

/// The channels paused now, as the cabinet reads the queue's health.
async fn paused(w: &World) -> Vec<ChannelPause> {
    let cabinet = staff("cab", "cabinet");
    let statistics = &w.use_cases().statistics;
    statistics.queue_health(&cabinet).await.unwrap().paused
}

#[tokio::test]
async fn a_campaign_whose_emails_bounce_past_five_per_cent_is_braked_until_the_cabinet_resumes_it()
{
    let w = world(tuesday_morning()).await;
    for i in 0..230 {
        subscribe(&w, Some(&format!("p{i}@exemple.fr")), None, &["email"]).await;
    }
    let c = approved_campaign(&w, false).await;
    w.fan_out_all(&c).await;
    let jobs = ready_jobs(&w).await;
    assert_eq!(jobs.len(), 230);
    let dispatcher = w.dispatcher();
    dispatcher.deliver(&jobs[..210]).await.unwrap();
    // SES reports 10 hard bounces: 4.8 %, under the brake; the eleventh makes 5.2 %.
    bounces(&w, c.id, 10).await;
    let statistics = &w.use_cases().statistics;
    let cabinet = staff("cab", "cabinet");
    assert!(paused(&w).await.is_empty());
    bounces(&w, c.id, 1).await;
    let braked = paused(&w).await;
    assert_eq!(braked.len(), 1, "{braked:?}");
    assert_eq!(braked[0].campaign, Some(c.id));
    assert!(
        braked[0]
            .reason
            .starts_with("taux de rebond de 5,2 % (11 adresses"),
        "{}",
        braked[0].reason
    );
    let p = progress(&w, c.id).await;
    assert_eq!((p.feedback.bounces, p.totals.email.sent), (11, 210));

    // Senders see the brake within their 30 s: the rest waits, nothing fails.
    w.clock.advance(chrono::Duration::seconds(31));
    let outcomes = dispatcher.deliver(&jobs[210..]).await.unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, JobOutcome::RetryAfter(_))),
        "{outcomes:?}"
    );
    let p = progress(&w, c.id).await;
    assert_eq!((p.totals.email.sent, p.totals.email.failed), (210, 0));
    // Other campaigns are not braked.
    let other = approved_campaign(&w, false).await;
    w.fan_out_all(&other).await;
    w.drain().await;
    assert_eq!(campaign(&w, other.id).await.status(), CampaignStatus::Sent);

    // The communication service cannot lift it; the cabinet can, and the rest goes, once.
    let email = Channel::Email;
    let writer = staff("redac", "redaction");
    assert!(statistics
        .resume_sending(&writer, email, Some(c.id))
        .await
        .is_err());
    assert!(statistics
        .resume_sending(&cabinet, email, None)
        .await
        .is_err());
    statistics
        .resume_sending(&cabinet, email, Some(c.id))
        .await
        .unwrap();
    w.clock.advance(chrono::Duration::seconds(31));
    dispatcher.deliver(&jobs[210..]).await.unwrap();
    let p = progress(&w, c.id).await;
    assert_eq!((p.totals.email.sent, p.totals.email.failed), (230, 0));
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);
    // A bounce arriving after the campaign ended brakes nothing.
    bounces(&w, c.id, 20).await;
    assert!(paused(&w).await.is_empty());
}

#[tokio::test]
async fn a_campaign_still_sending_a_day_after_its_retries_raises_the_stuck_alarm() {
    let w = world(tuesday_morning()).await;
    subscribe(&w, Some("r1@exemple.fr"), None, &["email"]).await;
    // Its fan-out ran but its deliveries never did (a consumer down for days).
    let c = approved_campaign(&w, false).await;
    w.fan_out_all(&c).await;
    ready_jobs(&w).await;
    let repair = || w.dispatcher().repair_stuck();
    // Retries last 6 hours; the SMS window was open: stuck a day after that, not before.
    w.clock.advance(Duration::hours(29));
    assert_eq!(repair().await.unwrap().stuck, 0);
    w.clock.advance(Duration::hours(2));
    assert_eq!(repair().await.unwrap().stuck, 1);
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sending);
}

#[tokio::test]
async fn fan_out_queues_the_channels_side_by_side_so_sms_never_wait_behind_every_email() {
    let w = sliced_world(50_000).await;
    for i in 0..600 {
        subscribe(
            &w,
            Some(&format!("r{i}@exemple.fr")),
            Some(&format!("06 12 34 {:02} {:02}", i / 100, i % 100)),
            &["email", "sms"],
        )
        .await;
    }
    let c = approved_campaign(&w, false).await;
    w.fan_out_all(&c).await;
    // The first thousand jobs in the queue (of 1,200): a page of each channel in turn, 500
    // emails then 500 SMS; the last 100 of each come after.
    let first = ready_jobs(&w).await;
    assert_eq!(first.len(), 1000);
    let sms = first
        .iter()
        .filter(|j| j.key.channel == Channel::Sms)
        .count();
    assert_eq!(sms, 500);
}

/// Emails at one a second: a `send` invocation with 30 s left sends what fits before its
/// deadline and hands the rest back to the queue unclaimed; no slot is booked past a deadline.
#[tokio::test(start_paused = true)]
async fn a_batch_claims_only_what_it_can_send_before_its_deadline() {
    let w = World::configured(
        tuesday_morning(),
        Arc::new(ScriptedProvider::default()),
        |c| c.send_rates.email = Some(1.0),
    )
    .await;
    for i in 0..40 {
        subscribe(&w, Some(&format!("d{i}@exemple.fr")), None, &["email"]).await;
    }
    let c = approved_campaign(&w, false).await;
    w.fan_out_all(&c).await;
    let jobs = ready_jobs(&w).await;
    assert_eq!(jobs.len(), 40);
    let dispatcher = w.dispatcher();
    let start = w.clock.now();
    let deadline = start + Duration::seconds(30);

    // Slots now, +1 s … +25 s fit before the deadline less its 5 s margin: 26 are sent.
    let outcomes = dispatcher.deliver_within(&jobs, deadline).await.unwrap();
    let later: Vec<std::time::Duration> = outcomes
        .iter()
        .filter_map(|o| match o {
            JobOutcome::RetryAfter(wait) => Some(*wait),
            JobOutcome::Done => None,
        })
        .collect();
    assert_eq!(later.len(), 14, "{outcomes:?}");
    // They come back when the channel is free again: after the 26 slots booked.
    assert!(
        later
            .iter()
            .all(|w| *w == std::time::Duration::from_secs(26)),
        "{later:?}"
    );
    // Handed back unclaimed: only the 26 sent have a delivery record (a claim creates it), so
    // nothing is left `sending` to expire as abandoned.
    let recorded = deliveries(&w, c.id).await;
    assert_eq!(recorded.len(), 26);
    assert!(recorded.iter().all(|d| d.status == DeliveryStatus::Sent));

    // Another sender at the same instant finds no slot before its own deadline: it claims
    // nothing, and books nothing either.
    let rest: Vec<DeliverJob> = jobs
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| matches!(o, JobOutcome::RetryAfter(_)))
        .map(|(j, _)| j.clone())
        .collect();
    let none = dispatcher.deliver_within(&rest, deadline).await.unwrap();
    assert!(none.iter().all(|o| matches!(o, JobOutcome::RetryAfter(_))));
    let slots = telmail_core::ports::PaceStore::reserve_slots(
        w.services.store.as_ref(),
        Channel::Email,
        1,
        std::time::Duration::from_secs(1),
        start,
        start + Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!(slots.first, start + Duration::seconds(26));

    // Once the channel is free again, the rest goes: everyone gets exactly one email.
    w.clock.advance(Duration::seconds(60));
    let outcomes = dispatcher
        .deliver_within(&rest, w.clock.now() + Duration::seconds(30))
        .await
        .unwrap();
    assert!(
        outcomes.iter().all(|o| *o == JobOutcome::Done),
        "{outcomes:?}"
    );
    for i in 0..40 {
        assert_eq!(w.provider.count(&format!("d{i}@exemple.fr")), 1);
    }
    let p = progress(&w, c.id).await;
    assert_eq!((p.totals.email.sent, p.totals.email.failed), (40, 0));
}

/// Over the provider's daily quota (#27, point 3): the emails that would pass it are not
/// claimed; they wait in the queue, the longest delay at a time, until the rolling 24 hours
/// free the quota, then each goes once.
#[tokio::test]
async fn emails_over_the_daily_quota_wait_unclaimed_until_it_frees() {
    let clock = Arc::new(telmail_core::clock::ManualClock::new(tuesday_morning()));
    let w = World::limited(
        clock,
        Arc::new(ScriptedProvider::default()),
        |c| c.send_rates.email = Some(10.0),
        Some(3),
    )
    .await;
    for i in 0..5 {
        subscribe(&w, Some(&format!("q{i}@exemple.fr")), None, &["email"]).await;
    }
    let c = approved_campaign(&w, false).await;
    w.fan_out_all(&c).await;
    let jobs = ready_jobs(&w).await;
    assert_eq!(jobs.len(), 5);
    let dispatcher = w.dispatcher();
    let waiting = |outcomes: &[JobOutcome]| -> Vec<DeliverJob> {
        jobs.iter()
            .zip(outcomes)
            .filter(|(_, o)| **o == JobOutcome::RetryAfter(LONGEST_QUEUE_DELAY))
            .map(|(j, _)| j.clone())
            .collect()
    };

    // Three go today; two wait the longest delay, unclaimed (no delivery record).
    let outcomes = dispatcher.deliver(&jobs).await.unwrap();
    let rest = waiting(&outcomes);
    assert_eq!(rest.len(), 2, "{outcomes:?}");
    assert_eq!(deliveries(&w, c.id).await.len(), 3);
    // An hour later the quota is still used up (read again from what was sent).
    w.clock.advance(Duration::hours(1));
    let again = dispatcher.deliver(&rest).await.unwrap();
    assert!(
        again
            .iter()
            .all(|o| *o == JobOutcome::RetryAfter(LONGEST_QUEUE_DELAY)),
        "{again:?}"
    );
    assert_eq!(deliveries(&w, c.id).await.len(), 3);

    // The schedule ticks every minute while the campaign waits: the repair looks at it (reading
    // its deliveries) less and less often, never calling it stuck.
    let mut looks = 0;
    for _ in 0..(23 * 60) {
        w.clock.advance(Duration::minutes(1));
        let r = dispatcher.repair_stuck().await.unwrap();
        assert_eq!((r.fanouts_requeued, r.recounted, r.stuck), (0, 0, 0));
        // The campaigns sending and this one's progress are read every tick; a look reads more.
        if r.read > 2 {
            looks += 1;
        }
    }
    assert!((5..=10).contains(&looks), "{looks} looks in 23 hours");

    // A day after the first sends, the quota is free again: the two go, once each.
    w.clock.advance(Duration::minutes(1));
    let last = dispatcher.deliver(&rest).await.unwrap();
    assert!(last.iter().all(|o| *o == JobOutcome::Done), "{last:?}");
    for i in 0..5 {
        assert_eq!(w.provider.count(&format!("q{i}@exemple.fr")), 1);
    }
    let p = progress(&w, c.id).await;
    assert_eq!((p.totals.email.sent, p.totals.email.failed), (5, 0));
}

/// A shard cut into slices loses the job of a middle slice: the repair resumes that slice from
/// where the shard was handed over, not from its first slice (done, so it would stop at once).
#[tokio::test]
async fn a_lost_middle_slice_is_resumed_where_its_shard_was_handed_over() {
    let w = sliced_world(3).await;
    for i in 0..8 {
        subscribe(&w, Some(&format!("m{i}@exemple.fr")), None, &["email"]).await;
    }
    let c = approved_campaign(&w, false).await;
    assert_eq!(lose_fanout_jobs(&w).await, 1);
    let dispatcher = w.dispatcher();
    // Slice 0 runs and hands over to slice 1, whose job is then lost.
    dispatcher
        .fan_out(&FanoutJob::first(c.id, 0, false))
        .await
        .unwrap();
    assert_eq!(lose_fanout_jobs(&w).await, 1);
    w.drain().await;
    let sent_before = (0..8)
        .filter(|i| w.provider.count(&format!("m{i}@exemple.fr")) == 1)
        .count();
    assert_eq!(sent_before, 3);

    let acted = |r: Repairs| (r.fanouts_requeued, r.recounted, r.stuck);
    // Sending moved on a moment ago: the repair leaves the campaign alone.
    w.clock.advance(Duration::minutes(5));
    assert_eq!(acted(dispatcher.repair_stuck().await.unwrap()), (0, 0, 0));
    // Stalled for more than ten minutes: slice 1 is queued again, with its cursor.
    w.clock.advance(Duration::minutes(6));
    assert_eq!(dispatcher.repair_stuck().await.unwrap().fanouts_requeued, 1);
    // Looked at just now: not again on the next tick.
    assert_eq!(acted(dispatcher.repair_stuck().await.unwrap()), (0, 0, 0));
    w.drain().await;
    for i in 0..8 {
        assert_eq!(w.provider.count(&format!("m{i}@exemple.fr")), 1, "m{i}");
    }
    let p = progress(&w, c.id).await;
    assert_eq!((p.totals.email.targeted, p.totals.email.sent), (8, 8));
    assert_eq!(campaign(&w, c.id).await.status(), CampaignStatus::Sent);
}
