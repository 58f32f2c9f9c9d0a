//! The weather relay over the embedded backend: a red alert reaches subscribers' phones and
//! mailboxes at once and counts as a weather alert; two overlapping cycles relay an alert once;
//! a stale bulletin relays nothing.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use telmail_core::clock::{Clock, Month};
use telmail_core::domain::campaign::CampaignStatus;
use telmail_core::domain::weather::{Bulletin, Colour, Phenomenon, Vigilance};
use telmail_core::error::SendError;
use telmail_core::ports::{
    CampaignStore, Counter, EmailSender, OutgoingEmail, OutgoingSms, SmsSender, StatsStore,
};
use telmail_core::use_cases::weather::RelayOutcome;
use telmail_core::DomainError;
use telmail_local::worker::Worker;
use telmail_tests::world::World;

/// Keeps what it is handed.
#[derive(Default)]
struct Inbox(Mutex<Vec<String>>);

#[async_trait]
impl EmailSender for Inbox {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Option<String>, SendError> {
        self.0
            .lock()
            .unwrap()
            .push(format!("{}|{}", email.to, email.subject));
        Ok(Some("e".into()))
    }
}

#[async_trait]
impl SmsSender for Inbox {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Option<String>, SendError> {
        self.0
            .lock()
            .unwrap()
            .push(format!("{}|{}", sms.to, sms.text));
        Ok(Some("s".into()))
    }
}

async fn world() -> World<Inbox> {
    // A Sunday night: only urgent SMS may go
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 22, 0, 0).unwrap();
    let w = World::new(at, Arc::new(Inbox::default())).await;
    w.subscribe_on_paper(
        Some("marin@exemple.fr"),
        Some("06 12 12 12 12"),
        "alerte-meteo",
        &["email", "sms"],
    )
    .await;
    w
}

fn bulletin(w: &World<Inbox>, colour: Colour, age: Duration) -> Bulletin {
    let now = w.clock.now();
    Bulletin {
        updated: now - age,
        vigilances: vec![Vigilance {
            domain: "3310".into(),
            phenomenon: Phenomenon::WavesSubmersion,
            colour,
            begins: now - Duration::hours(1),
            ends: now + Duration::hours(12),
        }],
    }
}

#[tokio::test]
async fn a_red_alert_reaches_subscribers_at_once_even_at_night() {
    let w = world().await;
    let relay = &w.services.use_cases.weather;
    let lines = relay
        .cycle(&bulletin(&w, Colour::Red, Duration::minutes(5)))
        .await
        .unwrap();
    let RelayOutcome::SentAtOnce(id) = lines[0].outcome else {
        panic!("{lines:?}");
    };
    Worker::new(
        w.services.queue.clone(),
        w.services.use_cases.dispatcher.clone(),
        Default::default(),
    )
    .drain()
    .await
    .unwrap();
    let got = w.provider.0.lock().unwrap().clone();
    assert!(
        got.iter()
            .any(|m| m
                .starts_with("+33612121212|Ville d'Arcachon : vigilance rouge vagues-submersion")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|m| m.starts_with("marin@exemple.fr|Vigilance rouge vagues-submersion")),
        "{got:?}"
    );
    let store = w.services.store.as_ref();
    let c = CampaignStore::get(store, id).await.unwrap().unwrap();
    assert_eq!(c.status, CampaignStatus::Sent);
    let alerts = StatsStore::get(store, Month::of(w.clock.now()), Counter::WeatherAlertsSent)
        .await
        .unwrap();
    assert_eq!(alerts, 1);
}

#[tokio::test]
async fn two_overlapping_cycles_relay_an_alert_once() {
    let w = world().await;
    let relay = &w.services.use_cases.weather;
    let b = bulletin(&w, Colour::Orange, Duration::minutes(5));
    let (a, b) = tokio::join!(relay.cycle(&b), relay.cycle(&b));
    let outcomes = [a.unwrap()[0].outcome.clone(), b.unwrap()[0].outcome.clone()];
    let submitted = outcomes
        .iter()
        .filter(|o| matches!(o, RelayOutcome::Submitted(_)))
        .count();
    assert_eq!(submitted, 1, "{outcomes:?}");
    assert!(outcomes.contains(&RelayOutcome::AlreadyRelayed));
}

#[tokio::test]
async fn a_stale_bulletin_relays_nothing() {
    let w = world().await;
    let err = w
        .services
        .use_cases
        .weather
        .cycle(&bulletin(&w, Colour::Red, Duration::hours(13)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DomainError::Unavailable(ref m) if m.contains("périmé")),
        "{err}"
    );
    let all = CampaignStore::list(w.services.store.as_ref(), None, 10)
        .await
        .unwrap();
    assert!(all.is_empty());
}
