//! The local server polling a Météo-France feed (a stub on 127.0.0.1): a red alert goes out
//! through to the outbox on its own; a feed that is down creates nothing and staff see its
//! failures in the statistics.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A feed answering `(status, body)` as set, and counting its requests.
struct StubFeed {
    url: String,
    answer: Arc<Mutex<(u16, String)>>,
}

async fn stub_feed(status: u16, body: String) -> StubFeed {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/cartevigilance/encours",
        listener.local_addr().unwrap()
    );
    let answer = Arc::new(Mutex::new((status, body)));
    let served = answer.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (status, body) = served.lock().unwrap().clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = socket.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body.as_bytes()).await;
            });
        }
    });
    StubFeed { url, answer }
}

/// Red waves-submersion on Gironde's coast, from an hour ago to ten hours ahead.
fn red_waves_document() -> String {
    let t = |h: i64| {
        (Utc::now() + chrono::Duration::hours(h)).to_rfc3339_opts(SecondsFormat::Secs, true)
    };
    json!({ "product": { "update_time": t(0), "periods": [{
        "echeance": "J", "begin_validity_time": t(-1), "end_validity_time": t(10),
        "timelaps": { "domain_ids": [{ "domain_id": "3310", "max_color_id": 4, "phenomenon_items": [{
            "phenomenon_id": "9", "phenomenon_max_color_id": 4,
            "timelaps_items": [{ "begin_time": t(-1), "end_time": t(10), "color_id": 4 }]
        }]}]}
    }]}})
    .to_string()
}

async fn until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "waited 20 s for {what}");
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
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = StaffClient::expect(cab.get("/api/admin/stats").await, 200).await;
        if failures(&stats) >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no failure counted: {stats}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let campaigns = StaffClient::expect(cab.get("/api/admin/campaigns").await, 200).await;
    assert_eq!(campaigns.as_array().map(Vec::len), Some(0), "{campaigns}");
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
