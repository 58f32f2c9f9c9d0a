//! The local server polling a Météo-France feed (a stub on 127.0.0.1): a red alert goes out
//! through to the outbox on its own; a feed that is down creates nothing and staff see its
//! failures in the statistics.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use telmail_tests::feeds::{red_waves_document, stub_feed};

async fn until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = telmail_tests::stopwatch() + Duration::from_secs(20);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            telmail_tests::stopwatch() < deadline,
            "waited 20 s for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_red_alert_from_the_feed_reaches_the_outbox_on_its_own() {
    // Nothing to relay until the resident has signed up
    let feed = stub_feed(503, String::new()).await;
    let app = TestApp::spawn_with(|a| {
        a.weather_feed_url = Some(feed.url.clone());
        a.weather_every = 1;
    })
    .await;
    app.add_staff("redac", "redaction", None, None).await;
    let redac = app.login("redac").await;
    StaffClient::expect(
        redac
            .post(
                "/api/admin/subscribers",
                &json!({ "email": "plage@exemple.fr", "phone": "06 98 98 98 98",
                         "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email", "sms"] }],
                         "paper_form_reference": "F-12" }),
            )
            .await,
        201,
    )
    .await;
    *feed.answer.lock().unwrap() = (200, red_waves_document());
    let sms = until("the alert SMS", || app.sms_to("+33698989898").pop()).await;
    assert!(sms["text"]
        .as_str()
        .unwrap()
        .contains("vigilance rouge vagues-submersion"));
    let mail = until("the alert email", || {
        app.emails_to("plage@exemple.fr").pop()
    })
    .await;
    assert!(mail.subject.contains("Vigilance rouge vagues-submersion"));
    // Later polls of the same document relay nothing more
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(app.sms_to("+33698989898").len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_feed_that_is_down_creates_nothing_and_staff_see_it() {
    let feed = stub_feed(503, "indisponible".into()).await;
    let app = TestApp::spawn_with(|a| {
        a.weather_feed_url = Some(feed.url.clone());
        a.weather_every = 1;
    })
    .await;
    app.add_staff("cab", "cabinet", None, None).await;
    let cab = app.login("cab").await;
    let failures =
        |v: &serde_json::Value| v["totals"]["weather_feed_failures"].as_i64().unwrap_or(0);
    let deadline = telmail_tests::stopwatch() + Duration::from_secs(20);
    loop {
        let stats = StaffClient::expect(cab.get("/api/admin/stats").await, 200).await;
        if failures(&stats) >= 2 {
            break;
        }
        assert!(
            telmail_tests::stopwatch() < deadline,
            "no failure counted: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let campaigns = StaffClient::expect(cab.get("/api/admin/campaigns").await, 200).await;
    assert_eq!(campaigns.as_array().map(Vec::len), Some(0), "{campaigns}");
    // Staff see the feed failing, and since when (the dashboard warns from 3 in a row).
    let weather = StaffClient::expect(cab.get("/api/admin/weather").await, 200).await;
    let state = &weather["feed"];
    assert!(
        state["error"].as_str().unwrap().contains("503"),
        "{weather}"
    );
    assert!(
        state["failures_in_a_row"].as_u64().unwrap() >= 2,
        "{weather}"
    );
    assert_eq!(state["last_success"], serde_json::Value::Null);
    // The feed comes back: the alert goes out
    *feed.answer.lock().unwrap() = (200, red_waves_document());
    until("a campaign", || {
        let store = app.services().store.clone();
        futures_util::FutureExt::now_or_never(async move {
            telmail_core::ports::CampaignStore::list(store.as_ref(), None, 10)
                .await
                .unwrap()
        })
        .filter(|c| !c.is_empty())
    })
    .await;
    app.stop().await;
}
