//! Pending sign-ups expire after 7 days: the use cases on the embedded backend, with a clock we
//! move forward instead of waiting a week.

use std::str::FromStr;
use std::sync::Arc;

use crate::common::{code_in, link, token_of};
use chrono::{Duration, TimeZone, Utc};
use telmail_core::clock::{Clock, ManualClock, Month};
use telmail_core::config::ServiceConfig;
use telmail_core::domain::signup::{SignupInput, SubscriptionInput};
use telmail_core::domain::topic::default_topics;
use telmail_core::ports::{Counter, StatsStore, SubscriberStore};
use telmail_core::render::messages::EmailLayout;
use telmail_core::token::TokenSigner;
use telmail_core::use_cases::residents::{ResidentDeps, Residents, SignupReceipt, WebOrigin};
use telmail_core::DomainError;
use telmail_local::store::SqliteStore;

struct World {
    residents: Residents,
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
    ));
    let db = telmail_local::db::Db::open(&dir.path().join("t.sqlite")).unwrap();
    let store = Arc::new(SqliteStore::new(db.clone(), clock.clone()));
    let queue = Arc::new(telmail_local::queue::SqliteQueue::new(db, clock.clone()));
    let outbox = telmail_tests::world::outbox(dir.path(), None, clock.clone());
    let residents = Residents::new(ResidentDeps {
        subscribers: store.clone(),
        quotas: store.clone(),
        topics: store.clone(),
        stats: store.clone(),
        email: outbox.clone(),
        sms: outbox,
        queue,
        signer: TokenSigner::new(vec![3u8; 32]).unwrap(),
        clock: clock.clone(),
        layout: Arc::new(EmailLayout::embedded("Arcachon")),
        config: ServiceConfig::with_public_url("https://alertes.arcachon.example"),
        zones: store.clone(),
        voice: Arc::new(
            telmail_local::voice_outbox::VoiceOutbox::new(dir.path(), None, clock.clone()).unwrap(),
        ),
        campaigns: store.clone(),
        reach: store.clone(),
        cell: store.clone(),
    });
    residents.seed_topics(&default_topics()).await.unwrap();
    World {
        residents,
        store,
        clock,
        dir,
    }
}

fn input(email: Option<&str>, phone: Option<&str>, channel: &str) -> SignupInput {
    SignupInput {
        email: email.map(Into::into),
        phone: phone.map(Into::into),
        subscriptions: vec![SubscriptionInput {
            topic: "alerte-meteo".into(),
            channels: vec![channel.into()],
        }],
        consent: true,
        zones: Vec::new(),
    }
}

fn last_email_text(w: &World) -> String {
    let mut files: Vec<_> = std::fs::read_dir(w.dir.path().join("outbox/email"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let raw = std::fs::read(files.last().unwrap()).unwrap();
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    msg.body_text(0).unwrap().into_owned()
}

#[tokio::test]
async fn a_confirmation_link_works_for_seven_days_and_not_after() {
    let w = world().await;
    w.residents
        .sign_up(
            &input(Some("a@exemple.fr"), None, "email"),
            WebOrigin::default(),
        )
        .await
        .unwrap();
    let t = token_of(&link(&last_email_text(&w), "/confirmation?t="));

    w.clock.advance(Duration::days(7) + Duration::minutes(1));
    assert!(matches!(
        w.residents.confirm_email(&t).await,
        Err(DomainError::ExpiredToken)
    ));

    // The hourly purge removes it, and the address is free for a new sign-up
    assert_eq!(w.residents.purge_expired().await.unwrap(), 1);
    let email = telmail_core::domain::contact::Email::from_str("a@exemple.fr").unwrap();
    assert!(w.store.find_by_email(&email).await.unwrap().is_none());
    w.residents
        .sign_up(
            &input(Some("a@exemple.fr"), None, "email"),
            WebOrigin::default(),
        )
        .await
        .unwrap();
    let t = token_of(&link(&last_email_text(&w), "/confirmation?t="));
    w.clock.advance(Duration::days(6));
    w.residents.confirm_email(&t).await.unwrap();
    let signups = StatsStore::get(w.store.as_ref(), Month::of(w.clock.now()), Counter::SignUps)
        .await
        .unwrap();
    assert_eq!(signups, 1);
}

#[tokio::test]
async fn an_sms_code_expires_with_its_sign_up() {
    let w = world().await;
    let receipt = w
        .residents
        .sign_up(
            &input(None, Some("0612345678"), "sms"),
            WebOrigin::default(),
        )
        .await
        .unwrap();
    let SignupReceipt::SmsCode { token } = receipt else {
        panic!("a phone-only sign-up is confirmed by code: {receipt:?}");
    };
    let sms = std::fs::read_to_string(w.dir.path().join("outbox/sms.jsonl")).unwrap();
    let code = code_in(&sms);
    w.clock.advance(Duration::days(8));
    let err = w.residents.confirm_code(&token, &code).await.unwrap_err();
    assert!(matches!(err, DomainError::ExpiredToken), "{err:?}");
}
