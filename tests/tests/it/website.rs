//! The town's website side over the real HTTP surface: the public archive of what was sent (and
//! of nothing else), its Atom feeds read by a real feed parser, the agenda read by a real
//! iCalendar parser, the alert in force as public JSON, caching, withdrawal by staff, framing
//! by the town's site only, and no personal data anywhere public through a whole journey.
//!
//! The feeds are read with Python's `feedparser` and `icalendar` (infra/requirements.txt): the
//! `python3` on PATH must have them (`source infra/venv.sh`, as `scripts/test-all.sh` does).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common;
use crate::common::{page_text, send_campaign, StaffClient, TestApp};
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{json, Value};
use telmail_core::domain::weather::{Bulletin, Colour, Phenomenon, Vigilance};
use telmail_tests::server_now;

/// The next 24 December at least two days away (the agenda lists events to come, whatever day
/// the test runs on).
fn coming_christmas() -> NaiveDate {
    let soon = server_now().date_naive() + Duration::days(2);
    let this_year = NaiveDate::from_ymd_opt(soon.year(), 12, 24).unwrap();
    if soon <= this_year {
        this_year
    } else {
        NaiveDate::from_ymd_opt(soon.year() + 1, 12, 24).unwrap()
    }
}

/// Runs a Python script on `input` (its standard input); returns what it printed.
fn python(script: &str, input: &str) -> String {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 on PATH (source infra/venv.sh)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed (are feedparser and icalendar installed? source infra/venv.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What a feed reader understands of an Atom document: `bozo` (false: well-formed, nothing the parser had to forgive),
/// then per entry its title, link, categories and whether its content kept the email's link.
const READ_FEED: &str = r#"
import feedparser, json, sys
d = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({
    "bozo": bool(d.bozo), "problem": str(d.get("bozo_exception", "")), "version": d.version, "title": d.feed.get("title"),
    "entries": [{
        "title": e.title, "link": e.link, "id": e.id,
        "tags": [t.term for t in e.get("tags", [])],
        "content": e.content[0].value if e.get("content") else "",
    } for e in d.entries],
}))
"#;

/// What a calendar understands of the agenda: each event's summary, day, URL and UID.
const READ_CALENDAR: &str = r#"
import icalendar, json, sys
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
print(json.dumps([{
    "summary": str(e.get("summary")), "start": e.decoded("dtstart").isoformat(),
    "end": e.decoded("dtend").isoformat(), "url": str(e.get("url")), "uid": str(e.get("uid")),
} for e in cal.walk("VEVENT")]))
"#;

async fn staff_of(app: &TestApp) -> (StaffClient<'_>, StaffClient<'_>, StaffClient<'_>) {
    app.add_staff("redac", "redaction", Some("redac@mairie.example"), None)
        .await;
    app.add_staff("cab", "cabinet", None, None).await;
    app.add_staff("accueil", "accueil", None, None).await;
    (
        app.login("redac").await,
        app.login("cab").await,
        app.login("accueil").await,
    )
}

/// A red waves-submersion vigilance for the coast, in force for 12 hours.
fn red_alert() -> Bulletin {
    let now = server_now();
    Bulletin {
        updated: now - Duration::minutes(5),
        vigilances: vec![Vigilance {
            domain: "3310".into(),
            phenomenon: Phenomenon::WavesSubmersion,
            colour: Colour::Red,
            begins: now - Duration::hours(1),
            ends: now + Duration::hours(12),
        }],
    }
}

/// GETs a public address; returns its status, headers and body.
async fn fetch(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = app.get(path).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

#[tokio::test]
async fn a_whole_journey_publishes_what_was_sent_and_never_anything_about_a_resident() {
    // GIVEN a town with residents signed up on paper and on the web, and its staff
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
        a.worker = false;
    })
    .await;
    let (redac, cab, accueil) = staff_of(&app).await;
    let resident = redac
        .post_expect(
            "/api/admin/subscribers",
            &json!({
                "email": "lea.martin@exemple.fr", "phone": "06 11 22 33 44",
                "paper_form_reference": "PAPIER-2026-042",
                "subscriptions": [
                    { "topic": "culture-animations", "channels": ["email", "sms"] },
                    { "topic": "infos-pratiques", "channels": ["email"] },
                    { "topic": "alerte-meteo", "channels": ["email", "sms"] },
                ],
            }),
            201,
        )
        .await;
    let resident_id = resident["id"].as_str().unwrap().to_owned();
    let web = app
        .post_json(
            "/api/subscriptions",
            &json!({
                "email": "paul.durand@exemple.fr", "consent": true,
                "subscriptions": [{ "topic": "culture-animations", "channels": ["email"] }],
            }),
        )
        .await;
    assert_eq!(web.status(), 202);

    // WHEN staff send a festive campaign for the coming 24 December, with French text and a link…
    let christmas = coming_christmas();
    let festive = send_campaign(
        &redac,
        &cab,
        &json!({
            "title": "Noël interne", "topics": ["culture-animations"], "urgent": false,
            "send_at": null, "event_date": christmas.to_string(),
            "sms": { "text": "Marché de Noël : rendez-vous place Thiers à 18 h !" },
            "email": {
                "subject": "Fête de Noël : « Les œuvres » & le marché",
                "body_markdown": "Rendez-vous **place Thiers**.\n\n[Le programme](https://www.arcachon.example/noel?x=1&y=2) — été comme hiver, ça continue.",
            },
        }),
    )
    .await;
    // …one whose author unticked « publier dans les archives »…
    let unpublished = send_campaign(
        &redac,
        &cab,
        &json!({
            "title": "Interne", "topics": ["infos-pratiques"], "urgent": false, "send_at": null,
            "publish": false, "sms": null,
            "email": { "subject": "Réunion de quartier privée", "body_markdown": "Ordre du jour." },
        }),
    )
    .await;
    // …one refused by the cabinet, one cancelled, and a test send of a draft
    let refused = redac
        .draft(&common::email_campaign("Campagne refusée"))
        .await;
    redac.submit(refused).await;
    cab.post_expect(
        &format!("/api/admin/campaigns/{refused}/reject"),
        &json!({ "reason": "Pas maintenant." }),
        200,
    )
    .await;
    let mut later = common::email_campaign("Campagne annulée");
    later["send_at"] = json!((server_now() + Duration::days(3)).to_rfc3339());
    let cancelled = send_campaign(&redac, &cab, &later).await;
    cab.post_expect(
        &format!("/api/admin/campaigns/{cancelled}/cancel"),
        &json!({ "reason": "Reporté." }),
        200,
    )
    .await;
    let draft = redac
        .post_expect(
            "/api/admin/campaigns",
            &common::email_campaign("Brouillon testé"),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    redac
        .post_empty_expect(&format!("/api/admin/campaigns/{draft}/test"), 200)
        .await;
    app.drain().await;
    // …and later Météo-France raises a red alert the relay sends at once
    let lines = app
        .services()
        .use_cases
        .weather
        .cycle(&red_alert())
        .await
        .unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    app.drain().await;

    // THEN the archive lists the sent festive message and the alert, newest first, and nothing else
    let (status, headers, archive) = fetch(&app, "/messages").await;
    assert_eq!(status, 200, "{archive}");
    assert!(
        archive.contains("Fête de Noël : « Les œuvres » &amp; le marché"),
        "{archive}"
    );
    assert!(
        archive.contains("Vigilance rouge vagues-submersion"),
        "{archive}"
    );
    let alert_at = archive.find("Vigilance rouge").unwrap();
    assert!(
        alert_at < archive.find("Fête de Noël").unwrap(),
        "newest first"
    );
    for hidden in [
        "Réunion de quartier privée",
        "Campagne refusée",
        "Campagne annulée",
        "Brouillon testé",
    ] {
        assert!(!archive.contains(hidden), "{hidden} must not be public");
    }
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("public"));
    assert!(archive.contains(r#"property="og:title""#) && archive.contains("twitter:card"));
    // AND it is cached: the same ETag answers 304 without a body
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let again = app
        .client
        .get(app.url("/messages"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.text().await.unwrap().is_empty());
    // AND the unpublished campaign's own address is not found
    let (status, _, _) = fetch(&app, &format!("/messages/{unpublished}")).await;
    assert_eq!(status, 404);

    // AND the message's page shows the email as written, the SMS and the event, with its card
    let (status, headers, short) = fetch(&app, &format!("/messages/{festive}")).await;
    assert_eq!(status, 308, "a short address goes to the canonical one");
    let path = headers["location"].to_str().unwrap().to_owned();
    assert!(
        path.starts_with(&format!("/messages/{festive}-fete-de-noel")),
        "{path} {short}"
    );
    let (status, _, page) = fetch(&app, &path).await;
    assert_eq!(status, 200);
    assert!(page.contains("Marché de Noël : rendez-vous place Thiers à 18 h !"));
    assert!(
        page.contains(
            r#"<a href="https://www.arcachon.example/noel?x=1&amp;y=2">Le programme</a>"#
        ),
        "{page}"
    );
    assert!(
        page.contains(&format!("24 décembre {}", christmas.year()))
            && page.contains(r#"property="og:type" content="article""#)
    );
    let (status, headers, email) = fetch(&app, &format!("{path}/email")).await;
    assert_eq!(status, 200);
    assert!(email.contains("Ville d'Arcachon") && email.contains("place Thiers"));
    assert!(
        !email.contains("désabonner") && !email.contains("preferences"),
        "{email}"
    );
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("style-src 'unsafe-inline'"));

    // AND a feed reader reads both Atom feeds, French text, link and topic included
    let (status, headers, atom) = fetch(&app, "/messages.atom").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/atom+xml"));
    let feed: Value = serde_json::from_str(&python(READ_FEED, &atom)).unwrap();
    assert_eq!(feed["bozo"], false, "{feed}");
    assert_eq!(feed["version"], "atom10");
    let entries = feed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{feed}");
    let noel = &entries[1];
    assert_eq!(noel["title"], "Fête de Noël : « Les œuvres » & le marché");
    assert!(noel["link"].as_str().unwrap().ends_with(&path));
    assert_eq!(noel["tags"], json!(["culture-animations"]));
    assert!(
        noel["content"]
            .as_str()
            .unwrap()
            .contains(r#"href="https://www.arcachon.example/noel?x=1&amp;y=2""#),
        "{noel}"
    );
    let (_, _, topic_atom) = fetch(&app, "/messages/culture-animations.atom").await;
    let topic_feed: Value = serde_json::from_str(&python(READ_FEED, &topic_atom)).unwrap();
    assert_eq!(topic_feed["bozo"], false, "{topic_feed}");
    assert_eq!(topic_feed["entries"].as_array().unwrap().len(), 1);

    // AND a calendar reads the agenda: one all-day event on 24 December
    let (status, headers, ics) = fetch(&app, "/evenements.ics").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let events: Value = serde_json::from_str(&python(READ_CALENDAR, &ics)).unwrap();
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    assert_eq!(
        events[0]["summary"],
        "Fête de Noël : « Les œuvres » & le marché"
    );
    assert_eq!(events[0]["start"], christmas.to_string());
    assert_eq!(events[0]["end"], christmas.succ_opt().unwrap().to_string());

    // AND the alert in force is public JSON any site may read, linking to its archive page
    let (status, headers, alert) = fetch(&app, "/api/public/alert").await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=60"));
    let alert: Value = serde_json::from_str(&alert).unwrap();
    assert_eq!(alert["alert"]["colour"], "rouge", "{alert}");
    assert_eq!(alert["alert"]["phenomenon"], "vagues-submersion");
    let alert_url = alert["alert"]["url"].as_str().unwrap();
    let (status, _, alert_page) = fetch(&app, &common::path_of(alert_url)).await;
    assert_eq!(status, 200, "{alert_url}");
    assert!(alert_page.contains("Vigilance rouge vagues-submersion"));
    let (_, _, latest) = fetch(&app, "/api/public/latest?topic=culture-animations").await;
    let latest: Value = serde_json::from_str(&latest).unwrap();
    assert!(latest["message"]["url"].as_str().unwrap().ends_with(&path));

    // AND no public answer carries anything about a resident, through the whole journey
    let public = [
        archive.clone(),
        page.clone(),
        email.clone(),
        atom.clone(),
        topic_atom.clone(),
        ics.clone(),
        serde_json::to_string(&alert).unwrap(),
        serde_json::to_string(&latest).unwrap(),
        alert_page.clone(),
        fetch(&app, "/messages?theme=culture-animations").await.2,
    ];
    let mut secrets = vec![
        "lea.martin".to_owned(),
        "paul.durand".to_owned(),
        "exemple.fr".to_owned(),
        "611223344".to_owned(),
        "06 11 22 33 44".to_owned(),
        resident_id.clone(),
        "PAPIER-2026-042".to_owned(),
        "redac@mairie.example".to_owned(),
        "REDAC".to_owned(),
        "Noël interne".to_owned(),
    ];
    // Every token of every message the residents received
    for mail in app.emails() {
        for word in mail.text.split_whitespace() {
            if let Some((_, token)) = word.split_once("t=") {
                secrets.push(token.trim_end_matches(['>', ')', '.']).to_owned());
            }
        }
    }
    assert!(secrets.len() > 10, "the residents' links were read");
    for body in &public {
        for secret in &secrets {
            assert!(
                !body.contains(secret.as_str()),
                "« {secret} » is public: {body}"
            );
        }
    }

    // The campaign as staff read it points to its public page
    let staff_view = format!("/api/admin/campaigns/{festive}");
    let view = redac.read(&staff_view).await;
    assert_eq!(view["archived"], json!(path));
    // WHEN the reception desk tries to withdraw a message, THEN it may not
    let path_withdraw = format!("/api/admin/archive/{festive}/withdraw");
    accueil.post_empty_expect(&path_withdraw, 403).await;
    // WHEN the communication service withdraws it, THEN it is gone from every page and feed
    let resp = redac.post_empty(&path_withdraw).await;
    assert_eq!(resp.status(), 204);
    redac.post_empty_expect(&path_withdraw, 404).await;
    let view = redac.read(&staff_view).await;
    assert_eq!(view.get("archived"), None);
    assert_eq!(fetch(&app, &path).await.0, 404);
    assert!(!fetch(&app, "/messages").await.2.contains("Fête de Noël"));
    assert!(!fetch(&app, "/messages.atom")
        .await
        .2
        .contains("Fête de Noël"));
    assert!(!fetch(&app, "/evenements.ics").await.2.contains("VEVENT"));
    app.stop().await;
}

#[tokio::test]
async fn bad_addresses_get_french_answers_naming_what_is_wrong() {
    let app = TestApp::spawn().await;
    let (status, _, body) = fetch(&app, "/messages?theme=inconnu").await;
    assert_eq!(status, 404);
    assert!(body.contains("« theme »"), "{body}");
    let (status, _, body) = fetch(&app, "/messages?apres=hier").await;
    assert_eq!(status, 404);
    assert!(body.contains("« apres »"), "{body}");
    for missing in [
        "/messages/pas-un-message",
        "/messages/inconnu.atom",
        "/messages/00000000-0000-0000-0000-000000000000-x",
        "/messages/00000000-0000-0000-0000-000000000000-x/email",
    ] {
        assert_eq!(fetch(&app, missing).await.0, 404, "{missing}");
    }
    let (status, _, body) = fetch(&app, "/api/public/latest?topic=inconnu").await;
    assert_eq!(status, 404);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "not_found");
    assert!(
        body["message"].as_str().unwrap().contains("« topic »"),
        "{body}"
    );
    // An empty archive is still a valid, cacheable feed and no alert is in force
    let (_, _, alert) = fetch(&app, "/api/public/alert").await;
    assert_eq!(alert, r#"{"alert":null}"#);
    let (_, _, latest) = fetch(&app, "/api/public/latest").await;
    assert_eq!(latest, r#"{"message":null}"#);
    let feed: Value =
        serde_json::from_str(&python(READ_FEED, &fetch(&app, "/messages.atom").await.2)).unwrap();
    assert_eq!(feed["bozo"], false, "{feed}");
    app.stop().await;
}

#[tokio::test]
async fn only_the_origins_listed_may_frame_the_resident_pages() {
    // GIVEN the default: no site may frame the pages
    let closed = TestApp::spawn().await;
    let resp = closed.get("/inscription").await;
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert!(resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    closed.stop().await;
    // WHEN the town's site is listed
    let open = TestApp::spawn_with(|a| {
        a.frame_ancestors = Some("https://www.arcachon.fr, http://127.0.0.1:8081".into());
    })
    .await;
    // THEN the resident pages and the archive say so, and carry no X-Frame-Options
    for path in ["/inscription", "/messages"] {
        let resp = open.get(path).await;
        let csp = resp.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors https://www.arcachon.fr http://127.0.0.1:8081"),
            "{path}: {csp}"
        );
        assert!(resp.headers().get("x-frame-options").is_none(), "{path}");
    }
    // AND the back office still refuses every frame
    let resp = open.get("/admin").await;
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert!(page_text(resp).await.len() > 10);
    open.stop().await;
    // AND a value that is no origin stops the server at start, naming the setting
    let dir = tempfile::tempdir().unwrap();
    let mut args = telmail_local::ServerArgs::with_data_dir(dir.path());
    args.frame_ancestors = Some("arcachon.fr/page".into());
    let err = telmail_local::start(args).await.err().expect("refused");
    assert!(err.to_string().contains("--frame-ancestors"), "{err}");
}
