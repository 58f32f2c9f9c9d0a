//! The local server polling a Météo-France feed (a stub on 127.0.0.1): a red alert goes out
//! through to the outbox on its own; a feed that is down creates nothing and staff see its
//! failures in the statistics. Staff templates that would freeze the server, eat its memory or
//! break the one-segment SMS are refused at save; one stored anyway never stops an alert. A
//! submersion alert the settings limit to the sea front reaches its residents and the unzoned.

use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};
use telmail_core::domain::alert_templates::AlertTemplates;
use telmail_core::ports::WeatherStore;
use telmail_tests::feeds::{red_waves_document, stub_feed, StubFeed};

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

/// A server polling a feed (down for now) every second, and a resident of the beach subscribed
/// to weather alerts by email and SMS, typed in from a paper form.
async fn a_beach_resident_and_a_feed_polled_every_second() -> (StubFeed, TestApp) {
    let feed = stub_feed(503, String::new()).await;
    let app = TestApp::spawn_with(|a| {
        a.weather_feed_url = Some(feed.url.clone());
        a.weather_every = 1;
    })
    .await;
    app.add_staff("redac", "redaction", None, None).await;
    let redac = app.login("redac").await;
    let resident = json!({ "email": "plage@exemple.fr", "phone": "06 98 98 98 98",
                           "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email", "sms"] }],
                           "paper_form_reference": "F-12", "welcome": false });
    redac
        .post_expect("/api/admin/subscribers", &resident, 201)
        .await;
    (feed, app)
}

#[tokio::test]
async fn a_red_alert_from_the_feed_reaches_the_outbox_on_its_own() {
    // Nothing to relay until the resident has signed up
    let (feed, app) = a_beach_resident_and_a_feed_polled_every_second().await;
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
        let stats = cab.read("/api/admin/stats").await;
        if failures(&stats) >= 2 {
            break;
        }
        assert!(
            telmail_tests::stopwatch() < deadline,
            "no failure counted: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let campaigns = cab.read("/api/admin/campaigns").await;
    assert_eq!(campaigns.as_array().map(Vec::len), Some(0), "{campaigns}");
    // Staff see the feed failing, and since when (the dashboard warns from 3 in a row).
    let weather = cab.read("/api/admin/weather").await;
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

/// `PUT /api/admin/weather/templates`: the templates in use with `changes` applied.
async fn put_templates(staff: &StaffClient<'_>, changes: Value) -> reqwest::Response {
    let view = staff.read("/api/admin/weather/templates").await;
    let mut templates = view["templates"].clone();
    for (field, text) in changes.as_object().unwrap() {
        templates[field] = text.clone();
    }
    staff.put("/api/admin/weather/templates", &templates).await
}

/// The French message a refused save gives for `field`.
async fn refusal(resp: reqwest::Response, field: &str) -> String {
    let err = StaffClient::expect(resp, 422).await;
    err["fields"][field]
        .as_str()
        .unwrap_or_else(|| panic!("no error on {field}: {err}"))
        .to_owned()
}

#[tokio::test]
async fn templates_that_would_freeze_the_server_or_eat_its_memory_are_refused_at_once() {
    let app = TestApp::spawn().await;
    app.add_staff("redac", "redaction", None, None).await;
    let redac = app.login("redac").await;
    let nested =
        "{% for a in range(10000) %}{% for b in range(10000) %}{{ ville }}{% endfor %}{% endfor %}";
    let doubled =
        "{% set s = consignes %}{% for i in range(60) %}{% set s = s ~ s %}{% endfor %}{{ s }}";
    let repeated = "{{ consignes * 99999999 }}";
    // WHEN two hostile saves arrive together, and a health check meanwhile
    let started = telmail_tests::stopwatch();
    let (loops, bomb, times, health) = tokio::join!(
        put_templates(&redac, json!({ "alert_sms": nested })),
        put_templates(&redac, json!({ "alert_body": doubled, "end_body": nested })),
        put_templates(&redac, json!({ "alert_subject": repeated })),
        async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            app.get("/healthz").await.status()
        },
    );
    // THEN each is refused in French naming the field, quickly, and the server answers
    let loops = refusal(loops, "alert_sms").await;
    assert!(loops.contains("Seules les conditions"), "{loops}");
    assert!(loops.contains("{% for %}"), "{loops}");
    let bomb_message = refusal(bomb, "alert_body").await;
    assert!(bomb_message.contains("{% set %}"), "{bomb_message}");
    let times = refusal(times, "alert_subject").await;
    assert!(times.contains("multiplication"), "{times}");
    assert_eq!(health, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Nothing was saved
    let view = redac.read("/api/admin/weather/templates").await;
    assert_eq!(view["defaults"], true, "{view}");
    app.stop().await;
}

#[tokio::test]
async fn a_template_branching_on_the_start_of_an_alert_is_refused_at_save() {
    let app = TestApp::spawn().await;
    app.add_staff("redac", "redaction", None, None).await;
    let redac = app.login("redac").await;
    // Short at the one instant the former check tried (31/12, 11 h), three UCS-2 segments else
    let branching = "{% if debut == \"31/12 à 11 h\" %}Vigilance {{ couleur }}.{% else %}Ville d'{{ ville }} : vigilance {{ couleur }} {{ phenomene }}. Vous êtes prié de rester chez vous : {{ consignes }}{% endif %}";
    let message = refusal(
        put_templates(&redac, json!({ "alert_sms": branching })).await,
        "alert_sms",
    )
    .await;
    assert!(message.contains("GSM-7"), "{message}");
    // Long at the spring daylight-saving change only (03 h, Paris summer time)
    let at_the_change = format!(
        "{{% if debut[8:10] == \"03\" %}}{}{{% else %}}Vigilance {{{{ couleur }}}}.{{% endif %}}",
        "x".repeat(170)
    );
    let message = refusal(
        put_templates(&redac, json!({ "alert_sms": at_the_change })).await,
        "alert_sms",
    )
    .await;
    assert!(message.contains("un seul segment"), "{message}");
    app.stop().await;
}

#[tokio::test]
async fn a_stored_bad_template_still_relays_the_red_alert_with_the_built_in_wording() {
    let (feed, app) = a_beach_resident_and_a_feed_polled_every_second().await;
    // GIVEN templates an older version saved: an SMS branching on the start into three UCS-2
    // segments, a body that does not render
    let bad = AlertTemplates {
        alert_sms: "{% if debut[:2] != \"00\" %}Ville d'{{ ville }} : vigilance {{ couleur }} {{ phenomene }}. Vous êtes prié de rester chez vous : {{ consignes }}{% endif %}".into(),
        alert_body: "{{ consignes }} {{ inconnue }}".into(),
        ..AlertTemplates::default()
    };
    WeatherStore::save_templates(&app.store(), &bad)
        .await
        .unwrap();
    // WHEN a red alert comes in
    *feed.answer.lock().unwrap() = (200, red_waves_document());
    // THEN it reaches the resident in the built-in wording, in one segment
    let sms = until("the alert SMS", || app.sms_to("+33698989898").pop()).await;
    let text = sms["text"].as_str().unwrap();
    assert!(
        text.starts_with("Ville d'Arcachon : vigilance rouge vagues-submersion du "),
        "{text}"
    );
    assert!(text.chars().count() <= 160, "{text}");
    let mail = until("the alert email", || {
        app.emails_to("plage@exemple.fr").pop()
    })
    .await;
    assert!(
        mail.text.contains("Météo-France place le secteur"),
        "{}",
        mail.text
    );
    // AND staff are told, in the campaign's history
    let redac = app.login("redac").await;
    let campaigns = redac.read("/api/admin/campaigns").await;
    let id = campaign_id(&campaigns[0]);
    let view = redac.campaign(id).await;
    let note = view["events"][0]["reason"].as_str().unwrap_or_default();
    assert!(note.contains("texte intégré utilisé"), "{view}");
    assert!(note.contains("alert_sms : Le SMS ferait"), "{note}");
    assert!(note.contains("alert_body : Variable inconnue"), "{note}");
    app.stop().await;
}

#[tokio::test]
async fn a_red_submersion_the_settings_limit_to_the_sea_front_reaches_only_its_residents_and_the_unzoned(
) {
    // GIVEN a server whose settings limit submersion alerts to the sea front
    let feed = stub_feed(503, String::new()).await;
    let app = TestApp::spawn_with(|a| {
        a.weather_feed_url = Some(feed.url.clone());
        a.weather_every = 1;
        a.weather_zones = Some("vagues-submersion=front-de-mer".into());
    })
    .await;
    app.add_staff("redac", "redaction", None, None).await;
    app.add_staff("admin", "admin", None, None).await;
    let admin = app.login("admin").await;
    let redac = app.login("redac").await;
    for name in ["Front de mer", "Le Moulleau"] {
        let zone = json!({ "name": name, "description": "Une zone de la ville." });
        admin.post_expect("/api/admin/zones", &zone, 201).await;
    }
    // AND residents on the sea front, at Le Moulleau, and one who named no zone; landlines
    // called for weather alerts on the sea front and at Le Moulleau
    for (phone, zones, channel) in [
        ("06 11 00 00 01", json!(["front-de-mer"]), "sms"),
        ("06 11 00 00 03", json!(["le-moulleau"]), "sms"),
        ("06 11 00 00 04", json!([]), "sms"),
        ("05 56 22 33 44", json!(["front-de-mer"]), "voice"),
        ("05 56 22 33 45", json!(["le-moulleau"]), "voice"),
    ] {
        let resident = json!({ "phone": phone, "zones": zones,
                               "subscriptions": [{ "topic": "alerte-meteo", "channels": [channel] }],
                               "paper_form_reference": "F-30", "welcome": false });
        redac
            .post_expect("/api/admin/subscribers", &resident, 201)
            .await;
    }
    let weather = redac.read("/api/admin/weather").await;
    assert_eq!(
        weather["zones"],
        json!({ "vagues-submersion": ["front-de-mer"] }),
        "{weather}"
    );
    // WHEN the feed shows a red submersion alert
    *feed.answer.lock().unwrap() = (200, red_waves_document());
    // THEN its campaign is limited to the sea front, those who named no zone included…
    let deadline = telmail_tests::stopwatch() + Duration::from_secs(20);
    let campaign = loop {
        let list = redac.read("/api/admin/campaigns").await;
        if list[0]["status"] == "sent" {
            break redac.campaign(campaign_id(&list[0])).await;
        }
        assert!(telmail_tests::stopwatch() < deadline, "not sent: {list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(campaign["zones"], json!(["front-de-mer"]), "{campaign}");
    assert_eq!(campaign["include_unzoned"], true, "{campaign}");
    // …and, once sent, reached the sea front and the unzoned resident, not Le Moulleau
    assert_eq!(app.sms_to("+33611000001").len(), 1);
    assert_eq!(app.sms_to("+33611000004").len(), 1);
    assert!(app.sms_to("+33611000003").is_empty());
    // …and the sea front's landline was called with the alert read aloud, not Le Moulleau's
    let calls: Vec<Value> = std::fs::read_to_string(app.data_dir.join("outbox/voice.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let to: Vec<&str> = calls.iter().map(|c| c["to"].as_str().unwrap()).collect();
    assert_eq!(to, ["+33556223344"], "{calls:?}");
    let text = calls[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Message de la Ville d'Arcachon. Météo-France place le secteur en vigilance rouge vagues-submersion, du "),
        "{text}"
    );
    assert!(text.contains("Je répète."), "{text}");
    app.stop().await;
}
