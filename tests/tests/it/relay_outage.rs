//! The SMTP relay down for half an hour, then back (#16): through the local server's real
//! relay path (lettre, TCP), every email is held while the relay refuses connections — no
//! failure, no copy left in the outbox as if sent — and goes out once when it returns; an
//! address the relay refuses (550) fails once and is never tried again. The retries' back-off
//! runs on the service's clock, moved by hand (a real outage would take that half hour).
//!
//! A resident signing up while the relay is down (#26, point 9) is accepted, not turned away:
//! over HTTP on the real server, the confirmation waits on the urgent lane and arrives once
//! when the relay is back.

use std::sync::Arc;

use crate::common::*;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use telmail_core::clock::ManualClock;
use telmail_core::domain::campaign::{CampaignInput, EmailInput};
use telmail_core::domain::delivery::{Delivery, DeliveryStatus};
use telmail_core::ports::{CampaignStore, DeliveryStore};
use telmail_tests::ports::refusing_port;
use telmail_tests::smtp::{stub_smtp_on, Script};
use telmail_tests::world::{outbox, World};

const RESIDENTS: usize = 20;
const BY_API: &str = "api.panne@exemple.fr";
const BY_FORM: &str = "form.panne@exemple.fr";

#[tokio::test]
async fn a_sign_up_while_the_relay_is_down_is_accepted_and_confirmed_once_it_is_back() {
    // GIVEN the server's relay is down
    let down = refusing_port();
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
        a.smtp_url = Some(format!("smtp://{}", down.addr));
    })
    .await;

    // WHEN residents sign up, by the API and by the form
    let resp = app
        .post_json(
            "/api/subscriptions",
            &json!({ "email": BY_API, "consent": true,
                     "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email"] }] }),
        )
        .await;
    // THEN both are accepted and told the message may take a few minutes
    let body: Value = StaffClient::expect(resp, 202).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("quelques minutes"),
        "{body}"
    );
    let resp = app
        .post_form(
            "/inscription",
            &signup_fields(BY_FORM, "", &["alerte-meteo:email"]),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let page = page_text(resp).await;
    assert!(
        page.contains("Vérifiez votre messagerie") && page.contains("quelques minutes"),
        "{page}"
    );
    // Nothing went while the relay is down: the outbox's copy of an email is written just
    // before each try and removed when the relay cannot be reached, so none stays.
    let trying = telmail_tests::stopwatch();
    while !app.emails().is_empty() {
        assert!(
            trying.elapsed() < std::time::Duration::from_secs(10),
            "nothing went while the relay is down"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // WHEN the relay comes back on its address
    let relay = stub_smtp_on(down, Script::default());

    // THEN each confirmation arrives, on the queue's back-off (30 s after the failed try)
    let waiting = telmail_tests::stopwatch();
    while relay.accepted.lock().unwrap().len() < 2 {
        assert!(
            waiting.elapsed() < std::time::Duration::from_secs(90),
            "confirmations still queued: {:?}",
            relay.accepted.lock().unwrap()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // …once each, even a while later
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let mut got: Vec<String> = relay.accepted.lock().unwrap().concat();
    got.sort();
    assert_eq!(got, [BY_API, BY_FORM]);
    // AND the link in it confirms the sign-up
    for email in [BY_API, BY_FORM] {
        let mails = app.emails_to(email);
        assert_eq!(mails.len(), 1, "{email}");
        let confirm = link(&mails[0].text, "/confirmation?t=");
        let resp = app
            .post_form("/confirmation", &[("t", &token_of(&confirm))])
            .await;
        assert_eq!(resp.status(), 200);
        assert!(page_text(resp).await.contains("Inscription confirmée"));
    }
    app.stop().await;
}
const REFUSED: &str = "inconnu@exemple.fr";

#[tokio::test]
async fn while_the_relay_is_down_emails_wait_then_each_goes_once_and_a_refused_address_fails_once()
{
    let down = refusing_port();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
    ));
    let outbox = outbox(
        dir.path(),
        Some(&format!("smtp://{}", down.addr)),
        clock.clone(),
    );
    let w = World::on_clock(clock, outbox.clone(), |_| {}).await;
    let mut residents: Vec<String> = (0..RESIDENTS)
        .map(|i| format!("habitant{i}@exemple.fr"))
        .collect();
    residents.push(REFUSED.into());
    for email in &residents {
        w.subscribe_on_paper(Some(email), None, "infos-pratiques", &["email"])
            .await;
    }
    let c = w
        .approve(
            &w.submitted(&CampaignInput {
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
            })
            .await,
        )
        .await;
    let store = w.services.store.as_ref();
    let deliveries = || async {
        DeliveryStore::list(store, c.id, 100, 0)
            .await
            .unwrap()
            .into_iter()
            .collect::<Vec<Delivery>>()
    };

    // Half an hour down: tried again and again on the back-off, never failed, never copied.
    w.drain().await;
    for _ in 0..6 {
        w.clock.advance(Duration::minutes(5));
        w.drain().await;
    }
    let p = CampaignStore::progress(store, c.id)
        .await
        .unwrap()
        .totals
        .email;
    assert_eq!((p.sent, p.failed), (0, 0), "{p:?}");
    let waiting = deliveries().await;
    assert_eq!(waiting.len(), residents.len());
    assert!(
        waiting
            .iter()
            .all(|d| d.status == DeliveryStatus::Queued && d.attempts >= 4),
        "all waiting, tried several times: {waiting:?}"
    );
    let copies = std::fs::read_dir(outbox.email_dir()).unwrap().count();
    assert_eq!(copies, 0, "no outbox copy of an email the relay never took");

    // The relay is back on its address, and refuses one of them for good.
    let relay = stub_smtp_on(
        down,
        Script {
            rcpt: [(REFUSED.to_owned(), "550 5.1.1 No such user")].into(),
            ..Script::default()
        },
    );
    w.clock.advance(Duration::minutes(15));
    w.drain().await;
    let p = CampaignStore::progress(store, c.id)
        .await
        .unwrap()
        .totals
        .email;
    assert_eq!((p.sent, p.failed), (RESIDENTS as u64, 1), "{p:?}");

    // Hours later nothing more was tried: each once, the refused address once.
    for _ in 0..8 {
        w.clock.advance(Duration::hours(1));
        w.drain().await;
    }
    let mut got: Vec<String> = relay.accepted.lock().unwrap().concat();
    got.sort();
    let mut expected = residents[..RESIDENTS].to_vec();
    expected.sort();
    assert_eq!(got, expected, "each resident once");
    let tried_refused = relay
        .tried
        .lock()
        .unwrap()
        .iter()
        .filter(|a| *a == REFUSED)
        .count();
    assert_eq!(tried_refused, 1, "the refused address is not tried again");
    let done = deliveries().await;
    let refused: Vec<&Delivery> = done
        .iter()
        .filter(|d| d.status == DeliveryStatus::Failed)
        .collect();
    assert_eq!(refused.len(), 1, "{done:?}");
    assert!(
        refused[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("550"),
        "{:?}",
        refused[0]
    );
    assert_eq!(
        std::fs::read_dir(outbox.email_dir()).unwrap().count(),
        RESIDENTS,
        "one outbox copy per email relayed"
    );
    assert_eq!(
        w.services
            .queue
            .depth(telmail_core::domain::queue::QueueName::Delivery)
            .await
            .unwrap(),
        0,
        "nothing left looping in the queue"
    );
}
