//! Emergency reach over HTTP (#30): zones of the town defined by an administrator, named by
//! residents on the web and on paper, and a campaign limited to them — its estimate showing
//! both counts, its fan-out reaching only the residents of its zones.

use crate::common::*;
use serde_json::{json, Value};

async fn app() -> TestApp {
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
        a.worker = false;
    })
    .await;
    app.add_staff("redac", "redaction", None, None).await;
    app.add_staff("cab", "cabinet", None, None).await;
    app.add_staff("admin", "admin", None, None).await;
    app
}

fn front_de_mer() -> Value {
    json!({
        "name": "Front de mer",
        "description": "Le boulevard de la Plage et les rues qui y descendent.",
        "streets": ["Boulevard de la Plage", "Rue du Général de Gaulle"]
    })
}

/// A paper form on « Alerte météo » by SMS and email, naming `zones`.
async fn paper(staff: &StaffClient<'_>, email: &str, phone: &str, zones: Value) -> Value {
    let body = json!({
        "email": email, "phone": phone, "paper_form_reference": "F-30", "zones": zones,
        "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email", "sms"] }],
        // Only the alert counts here (the welcome message has its own test).
        "welcome": false,
    });
    staff
        .post("/api/admin/subscribers", &body)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn administrators_define_zones_that_everyone_can_list() {
    let app = app().await;
    let admin = app.login("admin").await;
    let redac = app.login("redac").await;

    // WHEN an administrator defines « Front de mer »
    let zone = admin
        .post_expect("/api/admin/zones", &front_de_mer(), 201)
        .await;
    // THEN its slug comes from its name, and the public list shows it with its streets
    assert_eq!(zone["slug"], "front-de-mer");
    let listed: Value = app.get("/api/zones").await.json().await.unwrap();
    assert_eq!(listed[0]["slug"], "front-de-mer");
    assert_eq!(listed[0]["name"], "Front de mer");
    assert_eq!(listed[0]["streets"][0], "Boulevard de la Plage");

    // The same name again is a conflict; a blank name is refused in French naming the field
    let again = admin
        .post_expect("/api/admin/zones", &front_de_mer(), 409)
        .await;
    assert!(
        again["message"].as_str().unwrap().contains("front-de-mer"),
        "{again}"
    );
    let blank = admin
        .post_expect("/api/admin/zones", &json!({ "name": "  " }), 422)
        .await;
    assert_eq!(blank["fields"]["name"], "Indiquez le nom de la zone.");
    // Only an administrator defines zones
    let refused = redac
        .post("/api/admin/zones", &json!({ "name": "Le Moulleau" }))
        .await;
    assert_eq!(refused.status(), 403);
    let listed: Value = app.get("/api/zones").await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unknown_zone_is_refused_on_the_web_form_on_paper_and_in_a_campaign() {
    let app = app().await;
    let redac = app.login("redac").await;
    let signup = json!({
        "email": "marie@exemple.fr", "consent": true, "zones": ["nulle-part"],
        "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email"] }],
    });
    let resp = app.post_json("/api/subscriptions", &signup).await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["fields"]["zones"],
        "La zone « nulle-part » n'existe pas."
    );
    assert!(
        app.emails().is_empty(),
        "nothing is sent for a refused sign-up"
    );

    let on_paper = paper(
        &redac,
        "jean@exemple.fr",
        "0612345678",
        json!(["nulle-part"]),
    )
    .await;
    assert_eq!(
        on_paper["fields"]["zones"],
        "La zone « nulle-part » n'existe pas."
    );

    let draft = json!({
        "title": "Submersion", "topics": ["alerte-meteo"], "sms": { "text": "Alerte" },
        "email": null, "urgent": true, "send_at": null, "zones": ["Front de mer"],
    });
    let refused = redac.post_expect("/api/admin/campaigns", &draft, 422).await;
    assert!(
        refused["fields"]["zones"]
            .as_str()
            .unwrap()
            .contains("Identifiant de zone invalide"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_red_alert_limited_to_the_sea_front_reaches_only_its_residents() {
    // GIVEN the sea front and Le Moulleau, and four residents on « Alerte météo »
    let app = app().await;
    let admin = app.login("admin").await;
    let redac = app.login("redac").await;
    let cab = app.login("cab").await;
    admin
        .post_expect("/api/admin/zones", &front_de_mer(), 201)
        .await;
    admin
        .post_expect(
            "/api/admin/zones",
            &json!({ "name": "Le Moulleau", "description": "Sud." }),
            201,
        )
        .await;
    let on_front = paper(
        &redac,
        "front@exemple.fr",
        "0611000001",
        json!(["front-de-mer"]),
    )
    .await;
    assert_eq!(on_front["zones"], json!(["front-de-mer"]), "{on_front}");
    paper(
        &redac,
        "both@exemple.fr",
        "0611000002",
        json!(["le-moulleau", "front-de-mer"]),
    )
    .await;
    paper(
        &redac,
        "moulleau@exemple.fr",
        "0611000003",
        json!(["le-moulleau"]),
    )
    .await;
    paper(&redac, "nowhere@exemple.fr", "0611000004", json!([])).await;
    // (the statistics count them by zone, one who named both in each, then those without)
    let stats = redac.read("/api/admin/stats").await;
    assert_eq!(
        stats["zones"],
        json!([
            { "zone": "front-de-mer", "name": "Front de mer", "subscribers": 2 },
            { "zone": "le-moulleau", "name": "Le Moulleau", "subscribers": 2 },
            { "zone": null, "name": "Sans zone", "subscribers": 1 },
        ]),
        "{stats}"
    );

    // WHEN a red submersion alert is limited to the sea front
    let draft = json!({
        "title": "Vigilance rouge vagues-submersion", "topics": ["alerte-meteo"],
        "sms": { "text": "Arcachon : vigilance rouge submersion. Quittez le front de mer." },
        "email": { "subject": "Vigilance rouge", "body_markdown": "Quittez le front de mer." },
        "urgent": true, "send_at": null, "zones": ["front-de-mer"],
    });
    let c = redac.post_expect("/api/admin/campaigns", &draft, 201).await;
    assert_eq!(c["zones"], json!(["front-de-mer"]));
    assert_eq!(c["include_unzoned"], false);
    let id = campaign_id(&c);

    // THEN the estimate shows both counts, the recipients following the choice
    let est = redac.estimate(id).await;
    assert_eq!(est["sms_recipients"], 2, "{est}");
    assert_eq!(est["email_recipients"], 2);
    assert_eq!(
        est["zones"]["sms"],
        json!({ "in_zones": 2, "with_unzoned": 3 })
    );
    assert_eq!(
        est["zones"]["email"],
        json!({ "in_zones": 2, "with_unzoned": 3 })
    );
    // …as the composer's live estimate said while it was typed, and a zone not well formed is
    // refused there by name
    let live = |zones: Value| {
        json!({ "topics": ["alerte-meteo"], "sms_text": draft["sms"]["text"], "email": true,
                "urgent": true, "zones": zones })
    };
    let typed = redac
        .post_expect("/api/admin/estimate", &live(json!(["front-de-mer"])), 200)
        .await;
    for figure in ["sms_recipients", "email_recipients", "zones", "total_cost"] {
        assert_eq!(typed[figure], est[figure], "{figure}: {typed}");
    }
    let refused = redac
        .post_expect("/api/admin/estimate", &live(json!(["Front de mer"])), 422)
        .await;
    assert!(refused["fields"]["zones"].as_str().is_some(), "{refused}");

    // AND sending reaches only the two residents of the sea front, on both channels
    submit_and_approve(&redac, &cab, id).await;
    app.drain().await;
    let texted: Vec<String> = sorted(
        app.sms()
            .iter()
            .map(|s| s["to"].as_str().unwrap().to_owned()),
    );
    assert_eq!(texted, ["+33611000001", "+33611000002"]);
    let mailed: Vec<String> = sorted(app.emails().into_iter().map(|e| e.to));
    assert_eq!(mailed, ["both@exemple.fr", "front@exemple.fr"]);
    let sent = redac.campaign(id).await;
    assert_eq!(sent["counts"]["sms"]["targeted"], 2, "{sent}");

    // AND a campaign for the whole town (zones null) still reaches all four
    let whole = json!({
        "title": "Fin d'alerte", "topics": ["alerte-meteo"], "sms": { "text": "Fin de vigilance." },
        "email": null, "urgent": true, "send_at": null, "zones": null,
    });
    let c = redac.post_expect("/api/admin/campaigns", &whole, 201).await;
    assert_eq!(c["zones"], Value::Null);
    let est = redac
        .post_empty_expect(
            &format!(
                "/api/admin/campaigns/{}/estimate",
                c["id"].as_str().unwrap()
            ),
            200,
        )
        .await;
    assert_eq!(est["sms_recipients"], 4);
    assert_eq!(est["zones"], Value::Null);

    // AND staff may include those who named no zone
    let wide = json!({
        "title": "Submersion", "topics": ["alerte-meteo"], "sms": { "text": "Alerte." },
        "email": null, "urgent": true, "send_at": null,
        "zones": ["front-de-mer"], "include_unzoned": true,
    });
    let c = redac.post_expect("/api/admin/campaigns", &wide, 201).await;
    let wide_id = campaign_id(&c);
    let est = redac.estimate(wide_id).await;
    assert_eq!(est["sms_recipients"], 3, "{est}");
    submit_and_approve(&redac, &cab, wide_id).await;
    app.drain().await;
    let to_nowhere = app.sms_to("+33611000004");
    assert_eq!(
        to_nowhere.len(),
        1,
        "the unzoned resident is reached once: {to_nowhere:?}"
    );
    assert!(
        app.sms_to("+33611000003").is_empty(),
        "Le Moulleau is never reached"
    );
}

#[tokio::test]
async fn a_resident_names_zones_on_the_web_form_and_keeps_them_once_confirmed() {
    let app = app().await;
    let admin = app.login("admin").await;
    admin
        .post_expect("/api/admin/zones", &front_de_mer(), 201)
        .await;
    let signup = json!({
        "email": "marie@exemple.fr", "consent": true, "zones": ["front-de-mer"],
        "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email"] }],
    });
    assert_eq!(
        app.post_json("/api/subscriptions", &signup).await.status(),
        202
    );
    let mail = app
        .emails_to("marie@exemple.fr")
        .pop()
        .expect("confirmation email");
    let confirm = link(&mail.text, "/confirmation?t=");
    let resp = app
        .post_form("/confirmation", &[("t", &token_of(&confirm))])
        .await;
    assert_eq!(resp.status(), 200);
    let redac = app.login("redac").await;
    let found = redac.read("/api/admin/subscribers?q=marie").await;
    assert_eq!(
        found["items"][0]["zones"],
        json!(["front-de-mer"]),
        "{found}"
    );
}

/// Every call attempt of the outbox, oldest first.
fn calls(app: &TestApp) -> Vec<Value> {
    std::fs::read_to_string(app.data_dir.join("outbox/voice.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn a_paper_form_with_a_landline_is_called_when_a_weather_alert_goes_out() {
    let app = app().await;
    let redac = app.login("redac").await;
    let cab = app.login("cab").await;
    // GIVEN a landline on a paper form, for weather alerts by call
    let body = json!({
        "phone": "05 56 22 33 44", "paper_form_reference": "F-31",
        "subscriptions": [{ "topic": "alerte-meteo", "channels": ["voice"] }],
    });
    let added = redac
        .post_expect("/api/admin/subscribers", &body, 201)
        .await;
    assert_eq!(added["phone"], "+33556223344");
    assert_eq!(added["subscriptions"][0]["channels"], json!(["voice"]));
    // A landline is still refused for SMS, in French
    let sms = json!({
        "phone": "05 56 22 33 45", "paper_form_reference": "F-32",
        "subscriptions": [{ "topic": "alerte-meteo", "channels": ["sms", "voice"] }],
    });
    let refused = redac.post_expect("/api/admin/subscribers", &sms, 422).await;
    assert!(
        refused["fields"]["phone"]
            .as_str()
            .unwrap()
            .contains("n'est pas un numéro de mobile"),
        "{refused}"
    );
    // A link cannot be read aloud
    let linked = json!({
        "title": "Orages", "topics": ["alerte-meteo"], "sms": null, "email": null,
        "voice": { "text": "Voir https://arcachon.fr" }, "urgent": true, "send_at": null,
    });
    let refused = redac
        .post_expect("/api/admin/campaigns", &linked, 422)
        .await;
    assert!(
        refused["fields"]["voice.text"]
            .as_str()
            .unwrap()
            .contains("lien"),
        "{refused}"
    );

    // WHEN an urgent campaign with a spoken text goes out
    let draft = json!({
        "title": "Vigilance rouge", "topics": ["alerte-meteo"], "sms": null, "email": null,
        "voice": { "text": "Vigilance rouge vagues-submersion ce soir. Restez chez vous." },
        "urgent": true, "send_at": null,
    });
    let c = redac.post_expect("/api/admin/campaigns", &draft, 201).await;
    assert_eq!(
        c["voice"]["text"],
        "Vigilance rouge vagues-submersion ce soir. Restez chez vous."
    );
    let id = campaign_id(&c);
    let est = redac.estimate(id).await;
    assert_eq!(est["voice_recipients"], 1, "{est}");
    assert!(
        (est["voice_cost"].as_f64().unwrap() - 0.15).abs() < 1e-9,
        "{est}"
    );
    assert!(est["voice"]["seconds"].as_u64().unwrap() > 5, "{est}");
    // …as the composer's live estimate said while it was typed
    let live = redac
        .post_expect(
            "/api/admin/estimate",
            &json!({ "topics": ["alerte-meteo"], "voice_text": draft["voice"]["text"],
                     "urgent": true }),
            200,
        )
        .await;
    for figure in ["voice_recipients", "voice", "voice_cost", "total_cost"] {
        assert_eq!(live[figure], est[figure], "{figure}: {live}");
    }
    submit_and_approve(&redac, &cab, id).await;
    app.drain().await;

    // THEN the landline is called once: the town's name first, the message twice
    let calls = calls(&app);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["to"], "+33556223344");
    assert_eq!(calls[0]["attempt"], 1);
    let text = calls[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Message de la Ville d'Arcachon."),
        "{text}"
    );
    assert_eq!(text.matches("Restez chez vous.").count(), 2, "{text}");
    assert!(chrono::DateTime::parse_from_rfc3339(calls[0]["at"].as_str().unwrap()).is_ok());
    assert!(app.sms().is_empty(), "no SMS to a landline");
    let sent = redac.campaign(id).await;
    assert_eq!(sent["counts"]["voice"]["sent"], 1, "{sent}");
    assert_eq!(sent["status"], "sent");
}

#[tokio::test]
async fn a_web_sign_up_with_a_landline_gets_its_code_by_a_call() {
    let app = app().await;
    let signup = json!({
        "phone": "05 56 22 33 44", "consent": true,
        "subscriptions": [{ "topic": "alerte-meteo", "channels": ["voice"] }],
    });
    let resp = app.post_json("/api/subscriptions", &signup).await;
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.unwrap();
    let t = token_of(body["code_url"].as_str().unwrap());
    let calls = calls(&app);
    assert_eq!(calls.len(), 1, "the code is read by a call: {calls:?}");
    let said = calls[0]["text"].as_str().unwrap();
    let code = spoken_code(said);
    assert_eq!(code.len(), 6, "{said}");
    let ok = app
        .post_form("/inscription/code", &[("t", &t), ("code", &code)])
        .await;
    assert!(page_text(ok).await.contains("/preferences?t="));
    // The same landline for SMS is refused on the web form too
    let sms = json!({
        "phone": "05 56 22 33 45", "consent": true,
        "subscriptions": [{ "topic": "alerte-meteo", "channels": ["sms"] }],
    });
    assert_eq!(
        app.post_json("/api/subscriptions", &sms).await.status(),
        422
    );
}

#[tokio::test]
async fn the_web_form_finds_a_zone_from_the_street_typed_and_offers_calls_on_alerts_only() {
    let app = app().await;
    let admin = app.login("admin").await;
    admin
        .post_expect("/api/admin/zones", &front_de_mer(), 201)
        .await;
    // The form lists the zone, and offers calls on « Alerte météo » only
    let form = page_text(app.get("/inscription").await).await;
    assert!(form.contains("value=\"front-de-mer\""), "{form}");
    assert!(form.contains("value=\"alerte-meteo:voice\""));
    assert!(!form.contains("value=\"culture-animations:voice\""));

    // WHEN a resident types a street nobody listed, the form says so and keeps what was typed
    let mut fields = signup_fields("lea@exemple.fr", "", &["alerte-meteo:email"]);
    fields.push(("street", "Rue Inconnue"));
    let resp = app.post_form("/inscription", &fields).await;
    assert_eq!(resp.status(), 422);
    let page = page_text(resp).await;
    assert!(
        page.contains("Aucune zone ne comprend la rue « Rue Inconnue »"),
        "{page}"
    );
    assert!(app.emails().is_empty());

    // WHEN they type their street as they write it (no accents, lower case)
    let mut fields = signup_fields("lea@exemple.fr", "", &["alerte-meteo:email"]);
    fields.push(("street", "rue du general de gaulle"));
    let resp = app.post_form("/inscription", &fields).await;
    assert_eq!(resp.status(), 200);
    let mail = app
        .emails_to("lea@exemple.fr")
        .pop()
        .expect("confirmation email");
    let confirm = link(&mail.text, "/confirmation?t=");
    app.post_form("/confirmation", &[("t", &token_of(&confirm))])
        .await;
    // THEN they are in the sea front's zone
    let redac = app.login("redac").await;
    let found = redac.read("/api/admin/subscribers?q=lea").await;
    assert_eq!(
        found["items"][0]["zones"],
        json!(["front-de-mer"]),
        "{found}"
    );
}

/// The reply link (`/s?t=…`) in a message's text.
fn reply_link(text: &str) -> String {
    link(text, "/s?t=")
}

/// A paper form on « Alerte météo » with these channels, naming `zones`; returns the id.
async fn paper_on(
    staff: &StaffClient<'_>,
    email: &str,
    phone: &str,
    channels: Value,
    zones: Value,
) -> String {
    let body = json!({
        "email": email, "phone": phone, "paper_form_reference": "F-30", "zones": zones,
        "subscriptions": [{ "topic": "alerte-meteo", "channels": channels }],
        "welcome": false,
    });
    let added = staff
        .post_expect("/api/admin/subscribers", &body, 201)
        .await;
    added["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn residents_say_they_are_safe_and_the_crisis_view_lists_whom_to_call_back() {
    // GIVEN a relay that refuses one address, the sea front, and four residents on alerts
    let relay = telmail_tests::smtp::stub_smtp(telmail_tests::smtp::Script {
        rcpt: [("perdu@exemple.fr".to_owned(), "550 5.1.1 unknown user")].into(),
        ..Default::default()
    })
    .await;
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
        a.worker = false;
        a.smtp_url = Some(relay.url.clone());
    })
    .await;
    app.add_staff("redac", "redaction", None, None).await;
    app.add_staff("cab", "cabinet", None, None).await;
    app.add_staff("admin", "admin", None, None).await;
    let (admin, redac, cab) = (
        app.login("admin").await,
        app.login("redac").await,
        app.login("cab").await,
    );
    admin
        .post_expect("/api/admin/zones", &front_de_mer(), 201)
        .await;
    let both = json!(["email", "sms"]);
    let sea = json!(["front-de-mer"]);
    paper_on(
        &redac,
        "sauve@exemple.fr",
        "0611000001",
        both.clone(),
        sea.clone(),
    )
    .await;
    let helped = paper_on(&redac, "aide@exemple.fr", "0611000002", both.clone(), sea).await;
    // By email only, at an address the relay refuses: a mobile is on file all the same
    paper_on(
        &redac,
        "perdu@exemple.fr",
        "0611000003",
        json!(["email"]),
        json!([]),
    )
    .await;
    paper_on(&redac, "muet@exemple.fr", "0611000004", both, json!([])).await;

    // An answer is asked of urgent campaigns only, and the field is named in French
    let mut draft = json!({
        "title": "Submersion : quittez le front de mer", "topics": ["alerte-meteo"],
        "sms": { "text": "Arcachon : vigilance rouge submersion. Quittez le front de mer." },
        "email": { "subject": "Vigilance rouge", "body_markdown": "Quittez le front de mer." },
        "urgent": false, "acknowledgement": true, "send_at": null,
    });
    let refused = redac.post_expect("/api/admin/campaigns", &draft, 422).await;
    assert!(
        refused["fields"]["acknowledgement"]
            .as_str()
            .unwrap()
            .contains("urgente"),
        "{refused}"
    );

    // WHEN an urgent campaign asking for an answer goes out
    draft["urgent"] = json!(true);
    let c = redac.post_expect("/api/admin/campaigns", &draft, 201).await;
    assert_eq!(c["acknowledgement"], true);
    let id = campaign_id(&c);
    // Its estimate counts the SMS with the link it will carry
    let est = redac.estimate(id).await;
    assert!(est["sms"]["length"].as_u64().unwrap() > 140, "{est}");
    // …as the composer's live estimate does while the box is ticked
    let live = |ack: bool| {
        json!({ "topics": ["alerte-meteo"], "sms_text": draft["sms"]["text"], "urgent": true,
                "acknowledgement": ack })
    };
    let asking = redac
        .post_expect("/api/admin/estimate", &live(true), 200)
        .await;
    let plain = redac
        .post_expect("/api/admin/estimate", &live(false), 200)
        .await;
    assert_eq!(asking["sms"]["length"], est["sms"]["length"], "{asking}");
    assert_eq!(
        asking["sms"]["length"].as_u64().unwrap() - plain["sms"]["length"].as_u64().unwrap(),
        15 + format!("{}/s?t=", app.base).len() as u64 + 59,
        "« \nEn sécurité ? » and the link"
    );
    submit_and_approve(&redac, &cab, id).await;
    app.drain().await;

    // THEN each SMS and email carries its recipient's own short link
    let sms = app.sms_to("+33611000001");
    let text = sms[0]["text"].as_str().unwrap();
    assert!(text.contains("\nEn sécurité ? http"), "{text}");
    let safe_link = reply_link(text);
    assert_eq!(token_of(&safe_link).len(), 59, "{safe_link}");
    let help_sms = app.sms_to("+33611000002");
    let help_link = reply_link(help_sms[0]["text"].as_str().unwrap());
    assert_ne!(token_of(&safe_link), token_of(&help_link));
    let mail = app.emails_to("sauve@exemple.fr").pop().expect("email");
    assert!(
        mail.text.contains("Dites-nous si vous êtes en sécurité"),
        "{}",
        mail.text
    );
    assert!(mail.html.contains("/s?t="), "{}", mail.html);

    // AND opening the link shows two buttons and records nothing
    let page = page_text(app.get(&path_of(&safe_link)).await).await;
    assert!(
        page.contains("Je suis en sécurité") && page.contains("J'ai besoin d'aide"),
        "{page}"
    );
    let view = redac
        .read(&format!("/api/admin/campaigns/{id}/crisis"))
        .await;
    assert_eq!(view["totals"]["safe"], 0, "a GET never acts: {view}");

    // WHEN one taps « Je suis en sécurité », another « J'ai besoin d'aide »
    let answered = app
        .post_form("/s", &[("t", &token_of(&safe_link)), ("answer", "safe")])
        .await;
    assert_eq!(answered.status(), 200);
    assert!(page_text(answered).await.contains("Merci"));
    let resp = app
        .post_form(
            "/s",
            &[("t", &token_of(&help_link)), ("answer", "needs_help")],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let bad = app
        .post_form(
            "/s",
            &[("t", &token_of(&help_link)), ("answer", "peut-etre")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(page_text(bad).await.contains("Choisissez"));
    let forged = app
        .post_form("/s", &[("t", "x".repeat(59).as_str()), ("answer", "safe")])
        .await;
    assert_eq!(forged.status(), 400);

    // THEN the crisis view counts them, by zone, and lists whom to call back, help first
    let view = redac
        .read(&format!("/api/admin/campaigns/{id}/crisis"))
        .await;
    assert_eq!(
        view["totals"],
        json!({ "people": 4, "reached": 3, "not_reached": 1, "pending": 0, "safe": 1, "needs_help": 1 }),
        "{view}"
    );
    let front = &view["by_zone"][0];
    assert_eq!(
        (&front["name"], &front["safe"], &front["needs_help"]),
        (&json!("Front de mer"), &json!(1), &json!(1))
    );
    let callbacks = view["callbacks"].as_array().unwrap();
    assert_eq!(callbacks.len(), 2, "{view}");
    assert_eq!(callbacks[0]["state"], "needs_help");
    assert_eq!(callbacks[0]["phone"], "06 11 00 00 02");
    assert_eq!(callbacks[0]["zones"], json!(["Front de mer"]));
    assert_eq!(callbacks[1]["state"], "not_reached");
    assert_eq!(callbacks[1]["email"], "perdu@exemple.fr");
    // Only those who read the subscriber file see it; the CSV lists the same people
    let refused = cab.get(&format!("/api/admin/campaigns/{id}/crisis")).await;
    assert_eq!(refused.status(), 403);
    let csv = redac
        .get(&format!("/api/admin/campaigns/{id}/crisis/export"))
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with("besoin d'aide;"), "{csv}");

    // WHEN staff send the follow-up to those not reached
    let done = redac
        .post_empty_expect(&format!("/api/admin/campaigns/{id}/crisis/follow-up"), 200)
        .await;
    // THEN the one whose email bounced gets the SMS, with their own link, once
    assert_eq!(
        done,
        json!({ "people": 1, "email": 0, "sms": 1, "voice": 0, "no_other_channel": 0 })
    );
    let again = redac
        .post_empty_expect(&format!("/api/admin/campaigns/{id}/crisis/follow-up"), 200)
        .await;
    assert_eq!(again["sms"], 0, "a second click queues nothing twice");
    app.drain().await;
    let followed = app.sms_to("+33611000003");
    assert_eq!(followed.len(), 1, "{followed:?}");
    assert!(followed[0]["text"].as_str().unwrap().contains("/s?t="));
    let view = redac
        .read(&format!("/api/admin/campaigns/{id}/crisis"))
        .await;
    assert_eq!(view["totals"]["not_reached"], 0, "{view}");
    assert_eq!(view["totals"]["reached"], 4);

    // WHEN the resident who asked for help is erased
    let erased = redac
        .delete(&format!("/api/admin/subscribers/{helped}"))
        .await;
    assert!(erased.status().is_success(), "{}", erased.status());
    // THEN their answer is gone with them, and their link no longer works
    let kept = telmail_core::ports::ReachStore::acknowledgements(&app.store(), id)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].answer, telmail_core::domain::reach::Answer::Safe);
    assert_eq!(app.get(&path_of(&help_link)).await.status(), 400);
    let view = redac
        .read(&format!("/api/admin/campaigns/{id}/crisis"))
        .await;
    assert_eq!(view["totals"]["needs_help"], 0, "{view}");
}

#[tokio::test]
async fn a_call_asking_for_an_answer_ends_by_pointing_to_the_sms_link() {
    let app = app().await;
    let redac = app.login("redac").await;
    let cab = app.login("cab").await;
    let body = json!({
        "phone": "05 56 22 33 44", "paper_form_reference": "F-31",
        "subscriptions": [{ "topic": "alerte-meteo", "channels": ["voice"] }],
    });
    redac
        .post_expect("/api/admin/subscribers", &body, 201)
        .await;
    let draft = json!({
        "title": "Submersion", "topics": ["alerte-meteo"], "sms": null, "email": null,
        "voice": { "text": "Quittez le front de mer." },
        "urgent": true, "acknowledgement": true, "send_at": null,
    });
    let id = send_campaign(&redac, &cab, &draft).await;
    app.drain().await;
    let said = calls(&app);
    let text = said[0]["text"].as_str().unwrap();
    assert!(
        text.ends_with("ouvrez le lien du SMS de la Ville."),
        "{text}"
    );
    // A campaign that is not urgent has no crisis view
    let plain = send_campaign(&redac, &cab, &email_campaign("Marché de Noël")).await;
    let refused = redac
        .get(&format!("/api/admin/campaigns/{plain}/crisis"))
        .await;
    assert_eq!(refused.status(), 409);
    let view = redac
        .read(&format!("/api/admin/campaigns/{id}/crisis"))
        .await;
    assert_eq!(view["totals"]["reached"], 1, "{view}");
}
