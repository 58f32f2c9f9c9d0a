//! No personal data in the logs (#16): a whole journey at the default level (`info`, and the
//! service's own `debug` lines too) — residents sign up (by email, through a relay busy at
//! first that has the email queued, and by phone) and confirm, one mistypes, staff type a paper
//! form in, search and correct it, a campaign goes out to all of them through a relay that is
//! busy once and refuses one address quoting it, an administrator looks at the outbox, staff
//! erase one — and not one log line holds an address, a number (in any of its spellings), what
//! a resident mistyped or their IP address; the look at the outbox is logged with the
//! administrator's staff id.

#[path = "it/common/mod.rs"]
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use telmail_core::domain::campaign::CampaignId;

use common::*;
use serde_json::json;
use telmail_tests::smtp::{stub_smtp, Script};
use tracing_subscriber::fmt::MakeWriter;

/// Every log line written, kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

const IP: &str = "203.0.113.77";

#[tokio::test]
async fn a_whole_journey_logs_no_address_number_or_ip() {
    let logs = Captured::default();
    tracing_subscriber::fmt()
        // The default level, and the service's own debug lines too: stricter than asked.
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "info,telmail_core=debug,telmail_http=debug,telmail_local=debug",
        ))
        .with_writer(logs.clone())
        .with_ansi(false)
        .init();
    // The town's relay is busy once, then refuses one address quoting it, as real ones do.
    let relay = stub_smtp(Script {
        rcpt: [(
            "papier.secret@exemple.fr".to_owned(),
            "550 5.1.1 <papier.secret@exemple.fr>: Recipient address rejected",
        )]
        .into(),
        busy_for: 1,
    })
    .await;
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
        a.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        a.worker = false;
        a.smtp_url = Some(relay.url.clone());
        // The outbox viewer too, whose every view is logged with who looked (#26, point 5).
        a.outbox_viewer = true;
    })
    .await;
    app.add_staff(
        "redac",
        "redaction",
        Some("agent.redac@mairie.example"),
        None,
    )
    .await;
    app.add_staff("cab", "cabinet", None, None).await;
    app.add_staff("admin-7", "admin", Some("agent.admin@mairie.example"), None)
        .await;
    let form = |path: &str, fields: &[(&str, &str)]| {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        app.client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", IP)
            .body(body)
            .send()
    };

    // A resident by email (the busy relay makes the first try fail: the email is queued and
    // leaves with the next run of the queue), one by phone, one who mistypes.
    let fields = signup_fields("jeanne.secret@exemple.fr", "", &["alerte-meteo:email"]);
    let resp = form("/inscription", &fields).await.unwrap();
    assert_eq!(resp.status(), 200);
    app.drain().await;
    let confirm = link(
        &app.emails_to("jeanne.secret@exemple.fr")[0].text,
        "/confirmation?t=",
    );
    let resp = form("/confirmation", &[("t", &token_of(&confirm))])
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = form(
        "/inscription",
        &signup_fields("", "06 98 76 54 32", &["alerte-meteo:sms"]),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let code = code_in(app.sms_to("+33698765432")[0]["text"].as_str().unwrap());
    let resp = form(
        "/inscription/code",
        &[("t", &token_of(&location)), ("code", &code)],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = form(
        "/inscription",
        &signup_fields("mauvaise-adresse-secrete", "", &["alerte-meteo:email"]),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 422);

    // Staff: a paper form, a search, a correction, a campaign to everyone, an erasure.
    let redac = app.login("redac").await;
    let cab = app.login("cab").await;
    let added = StaffClient::expect(
        redac
            .post(
                "/api/admin/subscribers",
                &json!({ "email": "papier.secret@exemple.fr", "phone": "06 77 88 99 00",
                         "paper_form_reference": "F-9",
                         "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email", "sms"] }] }),
            )
            .await,
        201,
    )
    .await;
    let id = added["id"].as_str().unwrap().to_owned();
    StaffClient::expect(
        redac.get("/api/admin/subscribers?q=papier.secret").await,
        200,
    )
    .await;
    StaffClient::expect(
        redac
            .put(
                &format!("/api/admin/subscribers/{id}"),
                &json!({ "phone": "06 77 88 99 01",
                         "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email", "sms"] }] }),
            )
            .await,
        200,
    )
    .await;
    let campaign = StaffClient::expect(
        redac
            .post(
                "/api/admin/campaigns",
                &json!({ "title": "Vent fort", "topics": ["alerte-meteo"],
                         "sms": { "text": "Vent fort cette nuit." },
                         "email": { "subject": "Vent fort", "body_markdown": "Rentrez les objets." },
                         "urgent": true, "send_at": null }),
            )
            .await,
        201,
    )
    .await;
    let cid: CampaignId = campaign["id"].as_str().unwrap().parse().unwrap();
    submit_and_approve(&redac, &cab, cid).await;
    app.drain().await;
    assert_eq!(
        app.sms_to("+33698765432").len(),
        2,
        "the campaign reached them"
    );
    let admin = app.login("admin-7").await;
    StaffClient::expect(admin.get("/api/admin/outbox").await, 200).await;
    StaffClient::expect(
        redac.delete(&format!("/api/admin/subscribers/{id}")).await,
        204,
    )
    .await;
    app.stop().await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("WARN") || text.contains("ERROR"),
        "the refusal was logged: {text}"
    );
    // The view of the outbox is recorded with the staff id of who looked.
    let viewed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("outbox viewed"))
        .collect();
    assert!(
        viewed.len() == 1 && viewed[0].contains("by=admin-7"),
        "{viewed:#?}"
    );
    for secret in [
        "jeanne.secret",
        "agent.admin",
        "papier.secret",
        "agent.redac",
        "mauvaise-adresse-secrete",
        "06 98 76 54 32",
        "0698765432",
        "698765432",
        "0677889900",
        "677889900",
        "677889901",
        IP,
    ] {
        let found: Vec<&str> = text.lines().filter(|l| l.contains(secret)).collect();
        assert!(found.is_empty(), "« {secret} » is logged: {found:#?}");
    }
}
