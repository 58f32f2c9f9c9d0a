//! Campaign calls placed again (#30): what a voice service reports about a call (on AWS, End
//! User Messaging's voice events through `feedback`) is recorded against its delivery, and a
//! call not answered, busy or failed is placed again after `TELMAIL_VOICE_RETRY_MINUTES`, at
//! most `TELMAIL_VOICE_RETRIES` times, once per report however often it is delivered. Driven
//! here over the embedded store, queue and voice outbox, the reports given as the AWS feedback
//! gives them (the outbox itself never learns whether anyone answered).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use serde_json::Value;
use telmail_core::clock::Clock;
use telmail_core::config::VoiceRetries;
use telmail_core::domain::campaign::{Campaign, CampaignInput, VoiceInput};
use telmail_core::domain::delivery::DeliveryKey;
use telmail_core::domain::reach::{Acknowledgement, Answer, ReachOutcome};
use telmail_core::error::SendError;
use telmail_core::ports::{
    DeliveryStore, EmailSender, OutgoingEmail, OutgoingSms, ReachStore, SmsSender, SubscriberStore,
};
use telmail_core::use_cases::call_outcomes::{CallOutcomes, CallReport};
use telmail_tests::world::World;

/// Takes every email and SMS (none is expected: the campaign only calls).
#[derive(Default)]
struct Inbox(Mutex<Vec<String>>);

#[async_trait]
impl EmailSender for Inbox {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Option<String>, SendError> {
        self.0.lock().unwrap().push(email.to.to_string());
        Ok(Some("e".into()))
    }
}

#[async_trait]
impl SmsSender for Inbox {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Option<String>, SendError> {
        self.0.lock().unwrap().push(sms.to.to_string());
        Ok(Some("s".into()))
    }
}

/// Every call the outbox took, oldest first.
fn calls(w: &World<Inbox>) -> Vec<Value> {
    std::fs::read_to_string(w.data_dir().join("outbox/voice.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A landline subscribed to weather alerts by call, and an urgent campaign calling it, sent:
/// the world, the campaign and its one call's delivery.
async fn one_call_placed() -> (World<Inbox>, Campaign, DeliveryKey) {
    // A Sunday night: only urgent calls go out.
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 22, 0, 0).unwrap();
    let w = World::new(at, Arc::new(Inbox::default())).await;
    w.subscribe_on_paper(None, Some("05 56 22 33 44"), "alerte-meteo", &["voice"])
        .await;
    let submitted = w
        .submitted(&CampaignInput {
            title: Some("Submersion".into()),
            topics: vec!["alerte-meteo".into()],
            voice: Some(VoiceInput {
                text: Some("Vigilance rouge vagues-submersion. Quittez le front de mer.".into()),
            }),
            urgent: true,
            ..CampaignInput::default()
        })
        .await;
    let campaign = w.approve(&submitted).await;
    w.drain().await;
    let deliveries = w
        .services
        .store
        .list_after(campaign.id, None, 10)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(calls(&w).len(), 1);
    (w, campaign, deliveries[0].key)
}

fn outcomes(w: &World<Inbox>) -> CallOutcomes {
    let store = w.services.store.clone();
    CallOutcomes::new(
        store.clone(),
        store.clone(),
        store,
        Arc::new(w.services.queue.clone()),
        VoiceRetries::default(),
        w.clock.clone(),
    )
}

fn report(w: &World<Inbox>, key: DeliveryKey, attempt: u32, outcome: ReachOutcome) -> CallReport {
    CallReport {
        key,
        attempt,
        outcome,
        at: w.clock.now(),
    }
}

#[tokio::test]
async fn an_unanswered_call_is_placed_again_twice_five_minutes_apart_then_left_unreached() {
    // GIVEN a call placed to a landline
    let (w, campaign, key) = one_call_placed().await;
    let calls_of = outcomes(&w);
    // WHEN the voice service reports it unanswered, and delivers the report twice
    let first = report(&w, key, 1, ReachOutcome::NoAnswer);
    assert_eq!(
        calls_of.record(std::slice::from_ref(&first)).await.unwrap(),
        1
    );
    assert_eq!(calls_of.record(&[first]).await.unwrap(), 0, "queued once");
    // THEN the crisis view's report says so, and the call waits its five minutes
    let reports = w.services.store.reach_reports(campaign.id).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, ReachOutcome::NoAnswer);
    w.clock.advance(Duration::minutes(4));
    w.drain().await;
    assert_eq!(calls(&w).len(), 1, "not before five minutes");
    w.clock.advance(Duration::minutes(1));
    w.drain().await;
    let placed = calls(&w);
    assert_eq!(placed.len(), 2);
    assert_eq!(placed[1]["to"], "+33556223344");
    assert_eq!(placed[1]["attempt"], 2);
    assert_eq!(placed[1]["text"], placed[0]["text"]);
    // WHEN the second call finds the line busy THEN a third is placed
    assert_eq!(
        calls_of
            .record(&[report(&w, key, 2, ReachOutcome::Busy)])
            .await
            .unwrap(),
        1
    );
    w.clock.advance(Duration::minutes(5));
    w.drain().await;
    assert_eq!(calls(&w)[2]["attempt"], 3);
    // WHEN the third goes unanswered too THEN no fourth: two more times is all
    assert_eq!(
        calls_of
            .record(&[report(&w, key, 3, ReachOutcome::NoAnswer)])
            .await
            .unwrap(),
        0
    );
    w.clock.advance(Duration::minutes(15));
    w.drain().await;
    assert_eq!(calls(&w).len(), 3);
    let reports = w.services.store.reach_reports(campaign.id).await.unwrap();
    assert_eq!(reports[0].outcome, ReachOutcome::NoAnswer);
    // The delivery itself stays as its first call left it: counted once.
    let progress = w
        .services
        .store
        .list_after(campaign.id, None, 10)
        .await
        .unwrap();
    assert_eq!(progress[0].attempts, 1);
}

#[tokio::test]
async fn an_answered_call_or_a_person_who_said_they_are_safe_is_not_called_again() {
    let (w, campaign, key) = one_call_placed().await;
    let calls_of = outcomes(&w);
    // An answer (or a voicemail: the service cannot tell them apart) is reached, and final.
    assert_eq!(
        calls_of
            .record(&[report(&w, key, 1, ReachOutcome::Answered)])
            .await
            .unwrap(),
        0
    );
    let reports = w.services.store.reach_reports(campaign.id).await.unwrap();
    assert_eq!(reports[0].outcome, ReachOutcome::Answered);
    // A person who answered the SMS link « Je suis en sécurité » is not called again.
    w.services
        .store
        .acknowledge(&Acknowledgement {
            campaign: campaign.id,
            subscriber: key.subscriber,
            answer: Answer::Safe,
            at: w.clock.now(),
        })
        .await
        .unwrap();
    assert_eq!(
        calls_of
            .record(&[report(&w, key, 1, ReachOutcome::Busy)])
            .await
            .unwrap(),
        0
    );
    w.clock.advance(Duration::minutes(10));
    w.drain().await;
    assert_eq!(calls(&w).len(), 1);
}

#[tokio::test]
async fn a_person_erased_since_is_not_called_again() {
    let (w, _campaign, key) = one_call_placed().await;
    let calls_of = outcomes(&w);
    assert_eq!(
        calls_of
            .record(&[report(&w, key, 1, ReachOutcome::Failed)])
            .await
            .unwrap(),
        1
    );
    // The resident is erased before the call is placed again: nobody is called.
    assert!(
        SubscriberStore::delete(w.services.store.as_ref(), key.subscriber)
            .await
            .unwrap()
    );
    w.clock.advance(Duration::minutes(5));
    w.drain().await;
    assert_eq!(calls(&w).len(), 1);
}
