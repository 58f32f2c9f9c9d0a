//! The staff API over HTTP: roles, login and CSRF, the campaign workflow, fan-out and delivery,
//! the subscriber file and statistics — on a real server, reading the outbox.

use crate::common::*;
use serde_json::{json, Value};
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::delivery::Suppression;
use telmail_core::ports::SuppressionStore;

async fn app() -> TestApp {
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
        a.worker = false;
    })
    .await;
    app.add_staff(
        "redac",
        "redaction",
        Some("redac@mairie.example"),
        Some("0611111111"),
    )
    .await;
    app.add_staff("cab", "cabinet", Some("cab@mairie.example"), None)
        .await;
    app.add_staff("both", "redaction,cabinet", None, None).await;
    app.add_staff("admin", "admin", None, None).await;
    app
}

fn campaign(topics: &[&str], sms: Option<&str>, email: bool, urgent: bool) -> Value {
    json!({
        "title": "Marché de Noël",
        "topics": topics,
        "sms": sms.map(|t| json!({ "text": t })),
        "email": if email { json!({ "subject": "Marché de Noël", "body_markdown": "**Samedi 12** place Thiers.\n\n<script>x</script>" }) } else { Value::Null },
        "urgent": urgent,
        "send_at": null
    })
}

/// Replaces the SMS text of an "infos-pratiques" campaign and expects a status.
async fn edit_campaign(
    staff: &StaffClient<'_>,
    id: impl std::fmt::Display,
    sms: &str,
    status: u16,
) -> Value {
    let body = campaign(&["infos-pratiques"], Some(sms), false, false);
    StaffClient::expect(
        staff
            .put(&format!("/api/admin/campaigns/{id}"), &body)
            .await,
        status,
    )
    .await
}

async fn paper(
    staff: &StaffClient<'_>,
    email: Option<&str>,
    phone: Option<&str>,
    subs: Value,
) -> String {
    // These tests count campaign messages: the welcome has its own test.
    let body = json!({ "email": email, "phone": phone, "subscriptions": subs, "paper_form_reference": "F-001", "welcome": false });
    let v = staff
        .post_expect("/api/admin/subscribers", &body, 201)
        .await;
    assert_eq!(v["status"], "active");
    assert_eq!(v["consent"]["source"], "paper");
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn staff_routes_need_a_session_and_the_right_password() {
    let app = app().await;
    let resp = app.get("/api/admin/campaigns").await;
    assert_eq!(resp.status(), 401);
    let err: Value = resp.json().await.unwrap();
    assert!(err["message"].as_str().unwrap().contains("Connectez-vous"));

    let wrong = |username: &str| {
        let login = json!({ "username": username, "password": "faux" });
        let app = &app;
        async move { app.post_json("/api/admin/login", &login).await }
    };
    let message = StaffClient::expect_message(wrong("redac").await, 401).await;
    assert!(message.contains("incorrect"));
    assert_eq!(wrong("personne").await.status(), 401);

    let redac = app.login("redac").await;
    assert_eq!(
        redac.read("/api/admin/me").await["roles"],
        json!(["redaction"])
    );
    // Logout ends the session
    assert_eq!(redac.post_empty("/api/admin/logout").await.status(), 204);
    assert_eq!(redac.get("/api/admin/me").await.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn staff_routes_need_a_csrf_token_and_the_right_role() {
    let app = app().await;
    let (redac, cab, admin) = (
        app.login("redac").await,
        app.login("cab").await,
        app.login("admin").await,
    );
    let notice = campaign(&["culture-animations"], Some("Bonjour"), false, false);

    // A state-changing request without the CSRF token is refused
    let resp = app
        .client
        .post(app.url("/api/admin/campaigns"))
        .header("cookie", &redac.cookie)
        .json(&notice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "csrf");

    let id = redac.draft(&notice).await;
    let other = campaign(&["culture-animations"], Some("x"), false, false);
    let message =
        StaffClient::expect_message(cab.post("/api/admin/campaigns", &other).await, 403).await;
    assert!(message.contains("« Rédaction »"));
    let submitted = redac.submit(id).await;
    let read = json!({ "version": submitted["version"] });
    StaffClient::expect(redac.act(id, "approve", Some(&read)).await, 403).await;
    admin
        .post_expect("/api/admin/subscribers", &json!({}), 422)
        .await; // admin keeps the file too
    cab.get_expect("/api/admin/subscribers", 403).await;
    app.stop().await;
}

#[tokio::test]
async fn malformed_queries_paths_and_bodies_get_the_french_json_error_shape() {
    let app = app().await;
    let redac = app.login("redac").await;
    let resp = redac.get("/api/admin/campaigns?limit=beaucoup").await;
    assert!(StaffClient::expect_error(resp, 422, "limit")
        .await
        .contains("« limit »"));
    let err = redac.get_expect("/api/admin/campaigns/%FF", 404).await;
    assert_eq!(err["error"], "not_found");
    let resp = redac
        .post_bytes("/api/admin/subscribers/import", vec![b'a'; 6 * 1024 * 1024])
        .await;
    assert_eq!(resp.status(), 413);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "payload_too_large"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_campaign_content_names_each_field() {
    let app = app().await;
    let redac = app.login("redac").await;
    let empty = json!({ "title": "", "topics": [], "sms": null, "email": null });
    let err = redac.post_expect("/api/admin/campaigns", &empty, 422).await;
    for field in ["title", "topics", "sms", "email"] {
        assert!(err["fields"][field].is_string(), "{field}: {err}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_workflow_allows_the_designed_transitions_and_refuses_the_others() {
    let app = app().await;
    let (redac, cab) = (app.login("redac").await, app.login("cab").await);
    let body = campaign(&["infos-pratiques"], Some("Travaux rue X"), false, false);
    let c = redac.post_expect("/api/admin/campaigns", &body, 201).await;
    assert_eq!(c["status"], "draft");
    let id = campaign_id(&c);
    // Not submitted yet: the cabinet cannot approve or reject
    StaffClient::expect(cab.try_approve(id).await, 409).await;
    redac.submit(id).await;
    StaffClient::expect(redac.act(id, "submit", None).await, 409).await;
    // Rejection needs a reason, then editing returns it to draft
    StaffClient::expect_error(cab.act(id, "reject", None).await, 422, "reason").await;
    let reason = json!({ "reason": "Préciser la date" });
    let v = StaffClient::expect(cab.act(id, "reject", Some(&reason)).await, 200).await;
    assert_eq!(
        (&v["status"], &v["rejection_reason"]),
        (&json!("rejected"), &json!("Préciser la date"))
    );
    assert_eq!(
        edit_campaign(&redac, id, "Travaux rue X le 3", 200).await["status"],
        "draft"
    );
    // Editing a submitted campaign also returns it to draft
    redac.submit(id).await;
    assert_eq!(
        edit_campaign(&redac, id, "Travaux rue X le 4", 200).await["status"],
        "draft"
    );
    redac.submit(id).await;

    // Approval starts sending; a sent campaign cannot be edited or cancelled
    assert_eq!(cab.approve(id).await["status"], "sending");
    app.drain().await;
    let v = cab.campaign(id).await;
    assert_eq!(v["status"], "sent", "{v}");
    edit_campaign(&redac, id, "x", 409).await;
    StaffClient::expect(cab.act(id, "cancel", None).await, 409).await;
    let actions: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "submitted",
            "rejected",
            "edited",
            "submitted",
            "edited",
            "submitted",
            "approved",
            "sending",
            "sent"
        ]
    );
    assert_eq!(v["events"][2]["actor"]["id"], "cab");
    assert_eq!(v["events"][2]["reason"], "Préciser la date");
    StaffClient::expect(cab.act(id, "frobnicate", None).await, 404).await;
    app.stop().await;
}

#[tokio::test]
async fn the_author_may_not_approve_even_holding_the_cabinet_role() {
    let app = app().await;
    let both = app.login("both").await;
    let mine = both
        .draft(&campaign(&["infos-pratiques"], Some("x"), false, false))
        .await;
    both.submit(mine).await;
    let message = StaffClient::expect_message(both.try_approve(mine).await, 403).await;
    assert!(message.contains("rédigée"));
    app.stop().await;
}

#[tokio::test]
async fn a_scheduled_campaign_can_be_cancelled_before_it_goes() {
    let app = app().await;
    let (redac, cab) = (app.login("redac").await, app.login("cab").await);
    let mut later = campaign(&["infos-pratiques"], Some("Plus tard"), false, false);
    later["send_at"] =
        json!((telmail_tests::server_now() + chrono::Duration::days(2)).to_rfc3339());
    let id = redac.draft(&later).await;
    redac.submit(id).await;
    assert_eq!(cab.approve(id).await["status"], "scheduled");
    let reason = json!({ "reason": "Événement annulé" });
    let v = StaffClient::expect(cab.act(id, "cancel", Some(&reason)).await, 200).await;
    assert_eq!(v["status"], "cancelled");
    app.stop().await;
}

/// Five residents typed in from paper forms: Anne (email, both topics), Bruno (email and SMS,
/// culture), a phone (SMS, practical information), Dora (email, practical information, her address
/// blocked) and Eve (weather alerts only).
async fn five_residents(app: &TestApp, redac: &StaffClient<'_>) {
    let residents = [
        (
            Some("anne@exemple.fr"),
            None,
            json!([{ "topic": "culture-animations", "channels": ["email"] }, { "topic": "infos-pratiques", "channels": ["email"] }]),
        ),
        (
            Some("bruno@exemple.fr"),
            Some("0622222222"),
            json!([{ "topic": "culture-animations", "channels": ["email", "sms"] }]),
        ),
        (
            None,
            Some("0633333333"),
            json!([{ "topic": "infos-pratiques", "channels": ["sms"] }]),
        ),
        (
            Some("dora@exemple.fr"),
            None,
            json!([{ "topic": "infos-pratiques", "channels": ["email"] }]),
        ),
        (
            Some("eve@exemple.fr"),
            None,
            json!([{ "topic": "alerte-meteo", "channels": ["email"] }]),
        ),
    ];
    for (email, phone, subscriptions) in residents {
        paper(redac, email, phone, subscriptions).await;
    }
    app.services()
        .store
        .suppress(&Suppression {
            address: "dora@exemple.fr".into(),
            reason: "bounce".into(),
            at: telmail_tests::server_now(),
        })
        .await
        .unwrap();
}

/// An urgent campaign by email and SMS (with a « ê ») on culture and practical information.
fn evening_fete() -> Value {
    campaign(
        &["culture-animations", "infos-pratiques"],
        Some("Fête ce soir"),
        true,
        true,
    )
}

/// The one-click unsubscribe address of a raw email's `List-Unsubscribe` header.
fn one_click_link(raw: &str) -> String {
    raw.split("List-Unsubscribe: <")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_estimate_counts_people_once_after_suppressions_with_the_sms_analysis_and_cost() {
    let app = app().await;
    let redac = app.login("redac").await;
    five_residents(&app, &redac).await;
    let id = redac.draft(&evening_fete()).await;
    // The estimate counts people once, after suppressions, and shows the SMS analysis and cost
    let est = redac.estimate(id).await;
    assert_eq!(est["email_recipients"], 2, "{est}");
    assert_eq!(est["sms_recipients"], 2);
    assert_eq!(est["sms"]["encoding"], "ucs2");
    assert_eq!(est["sms"]["ucs2_characters"], json!(["ê"]));
    assert_eq!(est["sms_segments_total"], 2);
    assert!(
        (est["total_cost"].as_f64().unwrap() - 0.24).abs() < 1e-9,
        "{est}"
    );
    app.stop().await;
}

#[tokio::test]
async fn fan_out_sends_one_message_per_person_and_channel_skips_suppressed_and_counts() {
    let app = app().await;
    let redac = app.login("redac").await;
    let cab = app.login("cab").await;
    five_residents(&app, &redac).await;
    let id = redac.draft(&evening_fete()).await;

    let submitted = redac.submit(id).await;
    // Approval names the version read: none, or an older one, is refused with a French message
    for stale in [json!({}), json!({ "version": 1 })] {
        let message =
            StaffClient::expect_message(cab.act(id, "approve", Some(&stale)).await, 409).await;
        assert!(
            message.contains("version") || message.contains("modifiée"),
            "{message}"
        );
    }
    let read = json!({ "version": submitted["version"] });
    StaffClient::expect(cab.act(id, "approve", Some(&read)).await, 200).await;
    app.drain().await;

    let mails: Vec<ReceivedEmail> = app
        .emails()
        .into_iter()
        .filter(|m| m.subject == "Marché de Noël")
        .collect();
    assert_eq!(
        sorted(mails.iter().map(|m| m.to.as_str())),
        ["anne@exemple.fr", "bruno@exemple.fr"],
        "one email each, none to the suppressed address"
    );
    let anne = &mails.iter().find(|m| m.to == "anne@exemple.fr").unwrap();
    assert!(anne.html.contains("<strong>Samedi 12</strong>") && !anne.html.contains("<script>"));
    assert!(
        anne.raw.contains("List-Unsubscribe: <")
            && anne
                .raw
                .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    );
    assert!(anne.text.contains("/preferences?t="));
    let sms = sorted(
        app.sms()
            .iter()
            .map(|s| s["to"].as_str().unwrap().to_owned()),
    );
    assert_eq!(sms, ["+33622222222", "+33633333333"]);

    let v = redac.campaign(id).await;
    assert_eq!(v["status"], "sent");
    assert_eq!(
        v["counts"]["email"],
        json!({ "targeted": 3, "sent": 2, "failed": 0, "suppressed": 1 })
    );
    assert_eq!(
        v["counts"]["sms"],
        json!({ "targeted": 2, "sent": 2, "failed": 0, "suppressed": 0 })
    );
    assert_eq!(v["counts"]["sms_segments"], 2);
    assert!((v["counts"]["cost"].as_f64().unwrap() - 0.24).abs() < 1e-9);

    // The one-click link in the email works
    let unsubscribe = one_click_link(&anne.raw);
    let resp = app
        .client
        .post(unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let found = redac.read("/api/admin/subscribers?q=anne").await;
    assert_eq!(found["items"][0]["status"], "unsubscribed");

    // Statistics
    let stats = cab.read("/api/admin/stats").await;
    assert_eq!(stats["totals"]["campaigns_sent"], 1, "{stats}");
    assert_eq!(stats["totals"]["emails_sent"], 2);
    assert_eq!(stats["totals"]["sms_sent"], 2);
    assert_eq!(stats["totals"]["sms_segments"], 2);
    assert!((stats["totals"]["cost"].as_f64().unwrap() - 0.24).abs() < 1e-9);
    assert_eq!(stats["totals"]["signups"], 5);
    assert_eq!(stats["totals"]["departures"], 1);
    let culture_sms = stats["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "culture-animations" && t["channel"] == "sms")
        .unwrap();
    assert_eq!(culture_sms["subscribers"], 1);
    app.stop().await;
}

#[tokio::test]
async fn a_resident_typed_from_a_paper_form_is_welcomed_by_each_contact_given() {
    let app = app().await;
    let redac = app.login("redac").await;
    let body = json!({ "email": "nouvelle@exemple.fr", "phone": "06 55 44 33 22", "paper_form_reference": "F-9",
        "subscriptions": [{ "topic": "alerte-meteo", "channels": ["sms", "email"] }] });
    redac
        .post_expect("/api/admin/subscribers", &body, 201)
        .await;
    let emails = app.emails();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, "nouvelle@exemple.fr");
    assert!(emails[0].subject.starts_with("Bienvenue"));
    assert!(emails[0].text.contains("Alerte météo") && emails[0].text.contains("/preferences?t="));
    let sms = app.sms();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0]["to"], "+33655443322");
    assert!(sms[0]["text"].as_str().unwrap().contains("/preferences?t="));
}

#[tokio::test]
async fn test_send_reaches_only_the_author_and_preview_shows_the_layout() {
    let app = app().await;
    let redac = app.login("redac").await;
    paper(
        &redac,
        Some("habitant@exemple.fr"),
        None,
        json!([{ "topic": "culture-animations", "channels": ["email"] }]),
    )
    .await;
    let c = redac
        .post_expect(
            "/api/admin/campaigns",
            &campaign(&["culture-animations"], Some("Concert"), true, false),
            201,
        )
        .await;
    let id = c["id"].as_str().unwrap();
    let preview = redac
        .read(&format!("/api/admin/campaigns/{id}/preview"))
        .await;
    assert!(preview["email_html"]
        .as_str()
        .unwrap()
        .contains("Ville d'Arcachon"));
    assert!(preview["email_html"]
        .as_str()
        .unwrap()
        .contains("<strong>Samedi 12</strong>"));
    let sent = redac
        .post_empty_expect(&format!("/api/admin/campaigns/{id}/test"), 200)
        .await;
    assert_eq!(sent["email"], "redac@mairie.example");
    assert_eq!(sent["sms"], "+33611111111");
    assert_eq!(app.emails().len(), 1);
    assert_eq!(app.emails()[0].to, "redac@mairie.example");
    assert!(app.emails()[0].subject.starts_with("[TEST] "));
    assert_eq!(app.sms()[0]["to"], "+33611111111");
    // A cabinet member without a phone gets a clear message for the SMS part
    let cab = app.login("cab").await;
    let err = cab
        .post_empty_expect(&format!("/api/admin/campaigns/{id}/test"), 422)
        .await;
    assert!(err["fields"]["sms"]
        .as_str()
        .unwrap()
        .contains("numéro de mobile"));
    app.stop().await;
}

/// The actions of a campaign's history, oldest first.
async fn history(staff: &StaffClient<'_>, id: CampaignId) -> (Vec<Value>, Value) {
    let v = staff.campaign(id).await;
    (v["events"].as_array().unwrap().clone(), v)
}

#[tokio::test]
async fn the_history_records_test_sends_without_addresses_and_no_change_for_unchanged_saves() {
    let app = app().await;
    let redac = app.login("redac").await;
    // GIVEN a draft with an SMS
    let c = redac
        .post_expect(
            "/api/admin/campaigns",
            &campaign(&["infos-pratiques"], Some("Rue X"), false, false),
            201,
        )
        .await;
    let id = campaign_id(&c);
    // WHEN it is saved as it is: no history line, same version
    let same = edit_campaign(&redac, id, "Rue X", 200).await;
    assert_eq!(same["version"], c["version"]);
    // WHEN its writer sends it to themself
    redac
        .post_empty_expect(&format!("/api/admin/campaigns/{id}/test"), 200)
        .await;
    // THEN the history names who and by which channel, never the number; the version stays
    let (events, v) = history(&redac, id).await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "test_sent"]);
    assert_eq!(events[1]["actor"]["id"], "redac");
    assert_eq!(events[1]["reason"], "SMS");
    assert_eq!(events[1]["to"], "draft");
    assert!(!events[1].to_string().contains("+33"), "{}", events[1]);
    assert_eq!(v["version"], c["version"]);
    // WHEN a submitted campaign is saved unchanged: back to draft, recorded as such, not « edited »
    redac.submit(id).await;
    let back = edit_campaign(&redac, id, "Rue X", 200).await;
    assert_eq!(back["status"], "draft");
    edit_campaign(&redac, id, "Rue Y", 200).await;
    let (events, _) = history(&redac, id).await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["created", "test_sent", "submitted", "reopened", "edited"]
    );
    app.stop().await;
}

/// Where a staff member reads and changes the notices they get.
const NOTICES: &str = "/api/admin/me/notices";

#[tokio::test]
async fn each_account_turns_its_own_notices_off_and_the_notifier_honours_them() {
    let app = app().await;
    let redac = app.login("redac").await;
    let cab = app.login("cab").await;
    // GIVEN the cabinet's notices, all on: the ones of its role only, each saying if it can reach
    let mine = cab.read(NOTICES).await;
    let names: Vec<&str> = mine["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["notice"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "submitted_email",
            "submitted_urgent_sms",
            "weather_email",
            "weather_sms"
        ]
    );
    assert!(mine["notices"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["on"] == true));
    assert_eq!(mine["notices"][0]["reachable"], true);
    assert_eq!(mine["notices"][1]["reachable"], false, "cab has no mobile");
    // An unknown notice is refused, naming the field
    let pigeon = json!({ "off": ["pigeon"] });
    let off = StaffClient::expect_error(cab.put(NOTICES, &pigeon).await, 422, "off").await;
    assert!(off.contains("pigeon"), "{off}");
    // WHEN the cabinet member turns the submitted-campaign email off, and the writer the decision
    let saved = cab
        .put_expect(NOTICES, &json!({ "off": ["submitted_email"] }), 200)
        .await;
    assert_eq!(saved["notices"][0]["on"], false);
    assert_eq!(saved["notices"][2]["on"], true);
    redac
        .put_expect(NOTICES, &json!({ "off": ["decision_email"] }), 200)
        .await;
    let id = redac
        .draft(&campaign(&["infos-pratiques"], Some("Rue X"), false, false))
        .await;
    redac.submit(id).await;
    cab.reject(id, "Non").await;
    // THEN neither is told by email
    assert!(app.emails_to("cab@mairie.example").is_empty());
    assert!(app.emails_to("redac@mairie.example").is_empty());
    // WHEN both turn every notice on again: the next submission and decision are told
    cab.put_expect(NOTICES, &json!({ "off": [] }), 200).await;
    redac.put_expect(NOTICES, &json!({}), 200).await;
    edit_campaign(&redac, id, "Rue X et Y", 200).await;
    redac.submit(id).await;
    cab.reject(id, "Toujours non").await;
    assert_eq!(app.emails_to("cab@mairie.example").len(), 1);
    assert_eq!(app.emails_to("redac@mairie.example").len(), 1);
    app.stop().await;
}

/// The subscriber file.
const SUBSCRIBERS: &str = "/api/admin/subscribers";

#[tokio::test]
async fn the_subscriber_file_adds_searches_edits_imports_exports_and_erases() {
    let app = app().await;
    let redac = app.login("redac").await;
    let id = paper(
        &redac,
        Some("jean@exemple.fr"),
        Some("06 44 44 44 44"),
        json!([{ "topic": "alerte-meteo", "channels": ["sms"] }]),
    )
    .await;

    // Duplicates and bad input are refused with named fields
    let again = json!({ "email": "jean@exemple.fr", "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email"] }], "paper_form_reference": "F-2" });
    let email =
        StaffClient::expect_error(redac.post(SUBSCRIBERS, &again).await, 422, "email").await;
    assert!(email.contains("déjà"));
    let no_form = json!({ "email": "x@exemple.fr", "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email"] }] });
    let resp = redac.post(SUBSCRIBERS, &no_form).await;
    StaffClient::expect_error(resp, 422, "paper_form_reference").await;

    // Search by text, topic, status
    let found = redac.read("/api/admin/subscribers?q=44 44").await;
    let found_phone = redac.read("/api/admin/subscribers?q=%2B336444").await;
    assert_eq!(
        found_phone["items"].as_array().unwrap().len(),
        1,
        "{found} {found_phone}"
    );
    let by_topic = redac
        .read("/api/admin/subscribers?topic=alerte-meteo&status=active")
        .await;
    assert_eq!(by_topic["items"][0]["id"], id.as_str());
    redac
        .get_expect("/api/admin/subscribers?status=perdu", 422)
        .await;

    // Edit
    let edit = json!({ "email": "jean.dupont@exemple.fr", "subscriptions": [{ "topic": "alerte-meteo", "channels": ["sms", "email"] }] });
    let v = redac
        .put_expect(&format!("{SUBSCRIBERS}/{id}"), &edit, 200)
        .await;
    assert_eq!(v["email"], "jean.dupont@exemple.fr");
    assert_eq!(v["subscriptions"][0]["channels"], json!(["email", "sms"]));

    // Import: one bad line → nothing imported in all-or-nothing mode; valid lines in valid-only mode
    let csv = "email;telephone;themes;canaux;reference\nmarie@exemple.fr;;Culture/Animations;email;P-10\npas-une-adresse;;culture-animations;email;P-11\n;07 81 23 45 67;alerte-meteo;sms;P-12\njean.dupont@exemple.fr;;alerte-meteo;email;P-13\n";
    let report = redac.import_report("", csv).await;
    assert_eq!(report["imported"], 0);
    assert_eq!(report["nothing_written"], true);
    let lines: Vec<u64> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 5], "{report}");
    let report = redac.import_report("?mode=valid_only", csv).await;
    assert_eq!(report["imported"], 2, "{report}");
    // Importing again creates no duplicates
    let report = redac.import_report("?mode=valid_only", csv).await;
    assert_eq!(report["imported"], 0);
    let all = redac.read("/api/admin/subscribers?limit=100").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);

    // Export
    let resp = redac.get("/api/admin/subscribers/export").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let export = resp.text().await.unwrap();
    assert!(export.contains("marie@exemple.fr") && export.contains("jean.dupont@exemple.fr"));

    // Erase leaves nothing
    let jean = format!("{SUBSCRIBERS}/{id}");
    assert_eq!(redac.delete(&jean).await.status(), 204);
    redac.get_expect(&jean, 404).await;
    let left = redac.read("/api/admin/subscribers?q=dupont").await;
    assert!(left["items"].as_array().unwrap().is_empty());
    let stats = redac.read("/api/admin/stats").await;
    assert_eq!(stats["totals"]["departures"], 1);
    app.stop().await;
}

#[tokio::test]
async fn admins_manage_topics_including_temporary_ones() {
    let app = app().await;
    let (admin, redac) = (app.login("admin").await, app.login("redac").await);
    let ends = (telmail_tests::server_now() + chrono::Duration::days(60))
        .date_naive()
        .to_string();
    let travaux = json!({ "slug": "travaux-coeur-de-ville", "name": "Travaux Cœur de Ville", "description": "Le chantier du centre", "kind": "temporary", "ends_on": ends });
    let topic = "/api/admin/topics/travaux-coeur-de-ville";
    let public_topics = || async {
        app.get("/api/topics")
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
    };

    let message =
        StaffClient::expect_message(redac.post("/api/admin/topics", &travaux).await, 403).await;
    assert!(message.contains("« Administration »"));
    let bad = json!({ "slug": "Bad Slug", "kind": "temporary" });
    let err = admin.post_expect("/api/admin/topics", &bad, 422).await;
    for field in ["slug", "name", "ends_on"] {
        assert!(err["fields"][field].is_string(), "{field}: {err}");
    }
    let t = admin.post_expect("/api/admin/topics", &travaux, 201).await;
    assert_eq!(t["kind"], "temporary");
    admin.post_expect("/api/admin/topics", &travaux, 422).await;
    assert!(public_topics()
        .await
        .iter()
        .any(|t| t["slug"] == "travaux-coeur-de-ville" && t["ends_on"] == ends.as_str()));

    let renamed = json!({ "name": "Travaux du centre-ville" });
    let t = admin.put_expect(topic, &renamed, 200).await;
    assert_eq!(t["name"], "Travaux du centre-ville");
    let past = json!({ "ends_on": "2020-01-01" });
    let ends_on = StaffClient::expect_error(admin.put(topic, &past).await, 422, "ends_on").await;
    assert!(ends_on.contains("passée"));
    let unknown = json!({ "name": "x" });
    admin
        .put_expect("/api/admin/topics/inconnu", &unknown, 404)
        .await;

    // A campaign may target it while open…
    let works = campaign(
        &["travaux-coeur-de-ville"],
        Some("Rue fermée"),
        false,
        false,
    );
    redac.draft(&works).await;
    // …not once closed, and residents no longer see it
    let closed = admin
        .post_empty_expect(&format!("{topic}/close"), 200)
        .await;
    assert_eq!(closed["active"], false);
    assert!(public_topics()
        .await
        .iter()
        .all(|t| t["slug"] != "travaux-coeur-de-ville"));
    let err = redac.post_expect("/api/admin/campaigns", &works, 422).await;
    assert!(err["fields"]["topics"].is_string());
    // Staff still see it in the full list
    let all = redac.read("/api/admin/topics").await;
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["slug"] == "travaux-coeur-de-ville" && t["active"] == false));
    app.stop().await;
}

#[tokio::test]
async fn whoever_rewrote_and_resubmitted_a_colleagues_campaign_cannot_approve_it() {
    let app = app().await;
    let redac = app.login("redac").await;
    let both = app.login("both").await;
    let created = redac
        .post_expect(
            "/api/admin/campaigns",
            &campaign(
                &["infos-pratiques"],
                Some("Travaux rue Jaumard."),
                false,
                false,
            ),
            201,
        )
        .await;
    let id = campaign_id(&created);
    redac.submit(id).await;
    // A holder of both roles rewrites it, submits it, and tries to approve their own version
    edit_campaign(&both, id, "Travaux annulés, venez nombreux !", 200).await;
    let submitted = both.submit(id).await;
    let err = both
        .post_expect(
            &format!("/api/admin/campaigns/{id}/approve"),
            &json!({ "version": submitted["version"] }),
            403,
        )
        .await;
    assert!(
        err["message"].as_str().unwrap().contains("en dernier"),
        "{err}"
    );
    // Another member of the cabinet can
    let cab = app.login("cab").await;
    let approved = cab
        .post_expect(
            &format!("/api/admin/campaigns/{id}/approve"),
            &json!({ "version": submitted["version"] }),
            200,
        )
        .await;
    assert_eq!(approved["status"], "sending");
    app.stop().await;
}

#[tokio::test]
async fn an_sms_with_control_or_reordering_characters_is_refused_naming_it_and_where() {
    let app = app().await;
    let redac = app.login("redac").await;
    let with_sms = |text: &str| {
        json!({
            "title": "Alerte", "topics": ["infos-pratiques"], "sms": { "text": text },
            "email": null, "urgent": false, "send_at": null
        })
    };
    for (text, named) in [
        ("Route\u{0}fermée", "(U+0000, NUL) en position 6"),
        ("Alerte\u{7} !", "(U+0007, BEL, sonnerie) en position 7"),
        (
            "\u{1b}[31mRouge",
            "(U+001B, ESC, échappement) en position 1",
        ),
        ("Ligne\rcachée", "(U+000D, retour chariot) en position 6"),
        (
            "Payez ici \u{202e}lmth.exe",
            "(U+202E, inversion droite-à-gauche) en position 11",
        ),
    ] {
        let err = redac
            .post_expect("/api/admin/campaigns", &with_sms(text), 422)
            .await;
        let said = err["fields"]["sms.text"].as_str().unwrap_or_default();
        assert!(said.contains(named), "{text:?}: {err}");
    }
    // A line feed, typed or sent as CR LF by a form, is a line break
    let made = redac
        .post_expect(
            "/api/admin/campaigns",
            &with_sms("Route fermée\r\nDéviation par le port"),
            201,
        )
        .await;
    assert_eq!(made["sms"]["text"], "Route fermée\nDéviation par le port");
    app.stop().await;
}

#[tokio::test]
async fn long_email_bodies_fit_and_the_limit_is_said_in_french() {
    let app = app().await;
    let redac = app.login("redac").await;
    let with_body = |body: String| {
        json!({
            "title": "Programme des fêtes", "topics": ["culture-animations"], "sms": null,
            "email": { "subject": "Programme", "body_markdown": body },
            "urgent": false, "send_at": null
        })
    };
    // 20 kB, then 100,000 accented characters (about 200 kB): both accepted
    for body in ["Fête ".repeat(4_000), "é".repeat(100_000)] {
        redac
            .post_expect("/api/admin/campaigns", &with_body(body), 201)
            .await;
    }
    // One character more is refused, naming the field
    let err = redac
        .post_expect("/api/admin/campaigns", &with_body("é".repeat(100_001)), 422)
        .await;
    assert!(err["fields"]["email.body_markdown"]
        .as_str()
        .unwrap()
        .contains("trop long"));
    // Past the staff API's body limit: 413 in French
    let resp = redac
        .post("/api/admin/campaigns", &with_body("a".repeat(600 * 1024)))
        .await;
    assert_eq!(resp.status(), 413);
    app.stop().await;
}

#[tokio::test]
async fn disabling_an_account_or_changing_its_password_ends_its_sessions() {
    let app = app().await;
    let auth = app.services().staff_auth.clone();
    let app = &app;
    let login = |password: &'static str| {
        let body = json!({ "username": "redac", "password": password });
        async move { app.post_json("/api/admin/login", &body).await }
    };
    let session = app.login("redac").await;
    session.read("/api/admin/me").await;

    // Disabled: the open session ends at once, and signing in is refused in French exactly as
    // a wrong password is, so the answer does not confirm the password (#26, point 13)
    assert_eq!(auth.disable("redac").await.unwrap(), 1);
    session.get_expect("/api/admin/me", 401).await;
    let right = login("mot de passe très solide").await;
    assert_eq!(right.status(), 401);
    let right: Value = right.json().await.unwrap();
    let wrong = login("pas le bon mot de passe").await;
    assert_eq!(wrong.status(), 401);
    let wrong: Value = wrong.json().await.unwrap();
    assert_eq!(right, wrong);
    assert!(
        right["message"].as_str().unwrap().contains("incorrect"),
        "{right}"
    );

    // Enabled again, then a new password: the old password and its sessions no longer work
    auth.enable("redac").await.unwrap();
    let session = app.login("redac").await;
    assert!(
        auth.set_password("redac", "court").await.is_err(),
        "too short"
    );
    assert_eq!(
        auth.set_password("redac", "un tout nouveau mot de passe")
            .await
            .unwrap(),
        1
    );
    session.get_expect("/api/admin/me", 401).await;
    assert_eq!(login("mot de passe très solide").await.status(), 401);
    assert_eq!(login("un tout nouveau mot de passe").await.status(), 200);
}

#[tokio::test]
async fn staff_read_the_weather_relay() {
    let app = app().await;
    let cab = app.login("cab").await;
    let overview = cab.read("/api/admin/weather").await;
    assert_eq!(overview["feed"], Value::Null, "never polled: {overview}");
    assert_eq!(overview["domains"], json!(["33", "3310"]));
    assert_eq!(overview["threshold"], "orange");
    assert_eq!(overview["send_at_once_from"], "rouge");
    assert!(overview["watched"]
        .as_array()
        .unwrap()
        .contains(&json!("vagues-submersion")));
}

/// Where the weather relay's message templates are read and written.
const WEATHER_TEMPLATES: &str = "/api/admin/weather/templates";

#[tokio::test]
async fn the_communication_service_edits_the_weather_templates() {
    let app = app().await;
    let (redac, cab) = (app.login("redac").await, app.login("cab").await);
    let view = cab.read(WEATHER_TEMPLATES).await;
    assert_eq!(view["defaults"], true);
    let mut templates = view["templates"].clone();
    templates["end_notice"] = json!(false);
    templates["alert_sms"] =
        json!("Arcachon : vigilance {{ couleur }} {{ phenomene }} {{ validite }}.");

    // The cabinet reads but does not write; the communication service does.
    let err = StaffClient::expect_message(cab.put(WEATHER_TEMPLATES, &templates).await, 403).await;
    assert!(err.contains("« Rédaction »"), "{err}");
    let saved = redac.put_expect(WEATHER_TEMPLATES, &templates, 200).await;
    assert_eq!(saved["defaults"], false);
    assert_eq!(redac.read(WEATHER_TEMPLATES).await["templates"], templates);

    // Each refused template is named, in French; nothing is saved.
    let mut bad = templates.clone();
    let long = format!(
        "{} {}",
        templates["alert_sms"].as_str().unwrap(),
        "x".repeat(100)
    );
    bad["alert_sms"] = json!(long);
    bad["end_sms"] = json!("Fin de l'alerte, vous êtes en sécurité");
    bad["alert_subject"] = json!("Alerte {{ commune }}");
    let err = redac.put_expect(WEATHER_TEMPLATES, &bad, 422).await;
    for (field, says) in [
        ("alert_sms", "un seul segment"),
        ("end_sms", "ê"),
        ("alert_subject", "Variable inconnue"),
    ] {
        assert!(
            err["fields"][field].as_str().unwrap().contains(says),
            "{err}"
        );
    }
    assert_eq!(redac.read(WEATHER_TEMPLATES).await["templates"], templates);
    // A body without every field is refused as such.
    let partial = json!({ "alert_sms": "x" });
    let err = redac.put_expect(WEATHER_TEMPLATES, &partial, 422).await;
    assert_eq!(
        err["fields"]["alert_subject"], "Ce champ est obligatoire.",
        "{err}"
    );
}

#[tokio::test]
async fn the_composer_counts_sms_characters_and_previews_emails() {
    let app = app().await;
    let redac = app.login("redac").await;
    // The session's CSRF token comes back with the person, so a new tab needs no new sign-in.
    let me = redac.read("/api/admin/me").await;
    assert!(
        me["csrf_token"].as_str().is_some_and(|t| t.len() > 20),
        "{me}"
    );

    // The composer's live counter: Unicode characters, their GSM-7 stand-ins, the cost.
    let text = json!({ "text": "Fête à l’école" });
    let a = redac.post_ok("/api/admin/sms/analyze", &text).await;
    assert_eq!(a["encoding"], "ucs2");
    assert_eq!(
        a["suggestions"],
        json!([{ "character": "ê", "replacement": "e" }, { "character": "’", "replacement": "'" }])
    );
    assert_eq!(a["cost_per_recipient"], 0.1);
    // And an email being written, in the town's layout, before it is saved.
    let email = json!({ "subject": "Fête", "body_markdown": "**Samedi** <script>x</script>" });
    let p = redac.post_ok("/api/admin/preview", &email).await;
    let html = p["email_html"].as_str().unwrap();
    assert!(html.contains("<strong>Samedi</strong>"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
}

#[tokio::test]
async fn blocked_addresses_are_listed_and_lifted_once_by_the_communication_service() {
    let app = app().await;
    let (redac, cab) = (app.login("redac").await, app.login("cab").await);
    app.store()
        .suppress(&Suppression {
            address: "rebond@exemple.fr".into(),
            reason: "bounce".into(),
            at: telmail_tests::server_now(),
        })
        .await
        .unwrap();
    let list = redac.read("/api/admin/suppressions").await;
    assert_eq!(list[0]["address"], "rebond@exemple.fr");
    cab.get_expect("/api/admin/suppressions", 403).await;
    let lift = || redac.delete("/api/admin/suppressions/rebond%40exemple.fr");
    assert_eq!(lift().await.status(), 204);
    let again = StaffClient::expect_message(lift().await, 404).await;
    assert!(again.contains("n'est pas bloqué"));
}

#[tokio::test]
async fn the_audience_is_kept_every_hour_and_this_months_counted_now() {
    let app = app().await;
    let (redac, cab) = (app.login("redac").await, app.login("cab").await);
    let weather = json!([{ "topic": "alerte-meteo", "channels": ["email"] }]);
    paper(&redac, Some("habitant@exemple.fr"), None, weather).await;
    app.services()
        .use_cases
        .statistics
        .record_audience()
        .await
        .unwrap();
    let stats = cab.read("/api/admin/stats").await;
    let audience = stats["audience"].as_array().unwrap();
    let this_month = audience.last().unwrap();
    assert_eq!(this_month["month"], stats["to"]);
    assert!(this_month["topics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["topic"] == "alerte-meteo" && t["subscribers"] == 1));
}

#[tokio::test]
async fn queue_health_shows_a_braked_campaign_lifted_for_it_alone_and_the_outbox_is_the_admins() {
    let app = app().await;
    let (redac, cab) = (app.login("redac").await, app.login("cab").await);
    let resume = |query: &str| {
        let path = format!("/api/admin/pauses/email/resume{query}");
        let cab = &cab;
        async move { cab.post_empty(&path).await }
    };
    let err = StaffClient::expect_message(resume("").await, 404).await;
    assert!(err.contains("n'est pas en pause"), "{err}");
    redac
        .post_empty_expect("/api/admin/pauses/email/resume", 403)
        .await;
    let health = cab.read("/api/admin/health").await;
    assert_eq!(
        health,
        json!({ "queued": 0, "dead_letters": 0, "paused": [] })
    );
    // A campaign the bounce brake stopped: shown with its campaign, lifted for it alone.
    let braked = CampaignId::new();
    telmail_core::ports::PauseStore::pause(
        app.services().store.as_ref(),
        &telmail_core::domain::delivery::ChannelPause {
            channel: telmail_core::domain::contact::Channel::Email,
            campaign: Some(braked),
            reason: "taux de rebond de 6,0 %".into(),
            since: telmail_tests::server_now(),
        },
    )
    .await
    .unwrap();
    let health = cab.read("/api/admin/health").await;
    assert_eq!(health["paused"][0]["campaign"], braked.to_string());
    StaffClient::expect(resume("").await, 404).await;
    let err = StaffClient::expect_message(resume("?campaign=abc").await, 404).await;
    assert_eq!(err, "Cette campagne n'existe pas.");
    StaffClient::expect(resume(&format!("?campaign={braked}")).await, 204).await;
    let health = cab.read("/api/admin/health").await;
    assert_eq!(health["paused"], json!([]));
    redac
        .post(
            "/api/admin/campaigns",
            &campaign(&["alerte-meteo"], Some("Test"), true, false),
        )
        .await;
    // The outbox viewer is the administrators' (#26, point 5).
    cab.get_expect("/api/admin/outbox", 403).await;
    let admin = app.login("admin").await;
    let outbox = admin.read("/api/admin/outbox").await;
    assert!(
        outbox["emails"].is_array() && outbox["sms"].is_array(),
        "{outbox}"
    );
}

/// #26, point 5: a cabinet account read a stranger's confirmation link and code in the outbox
/// viewer and confirmed them. Now only an administrator sees the viewer, with every personal
/// link's secret and every code masked.
#[tokio::test]
async fn only_an_administrator_sees_the_outbox_with_links_and_codes_masked() {
    let app = app().await;
    let redac = app.login("redac").await;
    let cab = app.login("cab").await;
    // A sign-up by email, one by mobile, and a campaign with its personal links.
    app.post_form(
        "/inscription",
        &signup_fields("inconnue@exemple.fr", "", &["alerte-meteo:email"]),
    )
    .await;
    app.post_form(
        "/inscription",
        &signup_fields("", "06 55 44 33 22", &["alerte-meteo:sms"]),
    )
    .await;
    assert_eq!(import(&redac, residents_csv(1)).await, 1);
    send_campaign(&redac, &cab, &email_campaign("Marché de Noël")).await;
    app.drain().await;
    let confirm = link(
        &app.emails_to("inconnue@exemple.fr")[0].text,
        "/confirmation?t=",
    );
    let code = code_in(app.sms_to("+33655443322")[0]["text"].as_str().unwrap());
    let campaign = app.emails_to("habitant0000@exemple.fr").pop().unwrap();
    let secrets = [
        token_of(&confirm),
        token_of(&link(&campaign.text, "/preferences?t=")),
        // In the List-Unsubscribe header.
        token_of(&link(&campaign.raw, "/desabonnement?t=")),
        code,
    ];

    // Neither the cabinet nor the writers see it.
    for staff in [&cab, &redac] {
        let err = staff.get_expect("/api/admin/outbox", 403).await;
        assert_eq!(err["error"], "forbidden", "{err}");
    }

    // The administrator sees who was written to and what, the secrets masked.
    let admin = app.login("admin").await;
    let outbox = admin.read("/api/admin/outbox").await;
    let shown = outbox.to_string();
    assert!(
        shown.contains("inconnue@exemple.fr") && shown.contains("+33655443322"),
        "{shown}"
    );
    assert!(shown.contains("Marché de Noël"), "{shown}");
    for secret in &secrets {
        assert!(
            !shown.contains(secret.as_str()),
            "« {secret} » shown: {shown}"
        );
    }
    // (The campaign layout writes its links' slashes as `&#x2f;`.)
    for masked in ["confirmation?t=•••", "preferences?t=•••"] {
        assert!(shown.contains(masked), "{masked} in {shown}");
    }
    assert!(
        outbox["sms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["text"].as_str().unwrap().contains("confirmation est •••")),
        "{shown}"
    );
    app.stop().await;
}

/// #26, point 5: with a relay, messages really leave: the viewer is off unless asked for.
#[tokio::test]
async fn with_a_relay_the_outbox_viewer_is_off_unless_asked_for() {
    for asked in [false, true] {
        let app = TestApp::spawn_with(|a| {
            a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
            a.worker = false;
            // Never reached: nothing is sent here.
            a.smtp_url = Some("smtp://127.0.0.1:9".into());
            a.outbox_viewer = asked;
        })
        .await;
        app.add_staff("admin", "admin", None, None).await;
        let admin = app.login("admin").await;
        let (api, page) = if asked { (200, 200) } else { (404, 404) };
        StaffClient::expect(admin.get("/api/admin/outbox").await, api).await;
        assert_eq!(
            admin.get("/admin/boite-d-envoi").await.status().as_u16(),
            page,
            "asked: {asked}"
        );
        let home = admin.get("/admin").await.text().await.unwrap();
        // The menu offers it or not (its links are HTML-escaped).
        assert_eq!(home.contains("boite-d-envoi"), asked, "{home}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_back_office_pages_are_served_with_the_sign_in_form_and_their_own_policy() {
    let app = app().await;
    let page = app.get("/admin").await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    // The contract: signed out, /admin holds the sign-in form.
    assert!(html.contains(r#"<form id="signin-form""#), "{html}");
    assert!(html.contains(r#"name="username""#) && html.contains(r#"name="password""#));
    assert!(html.contains(r#"src="/static/admin/home.js""#));
    // The labels the scripts show come with the page, from the domain types.
    let labels = html
        .split(r#"<script type="application/json" id="labels">"#)
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("labels block");
    let labels: Value = serde_json::from_str(labels).unwrap();
    assert_eq!(
        labels["campaign_status"]["sending"],
        telmail_core::domain::campaign::CampaignStatus::Sending.label()
    );
    for path in [
        "/admin/rediger",
        "/admin/approbations",
        "/admin/campagnes",
        "/admin/abonnes",
        "/admin/thematiques",
        "/admin/suppressions",
        "/admin/meteo",
        "/admin/boite-d-envoi",
        "/static/admin.css",
        "/static/admin/api.js",
        "/donnees-personnelles",
        "/accessibilite",
        "/mentions-legales",
    ] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
    assert_eq!(app.get("/admin/campagnes/pas-un-id").await.status(), 404);
    assert_eq!(app.get("/static/admin/inconnu.js").await.status(), 404);
    // Every public page's footer links the legal pages, with the accessibility status.
    let signup = app.get("/inscription").await.text().await.unwrap();
    assert!(
        signup.contains(r#"<a href="/accessibilite">Accessibilité : partiellement conforme</a>"#)
    );
    let privacy = app.get("/donnees-personnelles").await.text().await.unwrap();
    assert!(privacy.contains("CNIL") && privacy.contains("consentement"));
}

#[tokio::test]
async fn the_front_desk_types_forms_in_searches_and_corrects_only_what_it_typed() {
    let app = app().await;
    app.add_staff("accueil1", "accueil", None, None).await;
    let desk = app.login("accueil1").await;
    let redac = app.login("redac").await;
    let theirs = paper(
        &redac,
        Some("autre@exemple.fr"),
        None,
        json!([{ "topic": "alerte-meteo", "channels": ["email"] }]),
    )
    .await;

    // A form from the front desk says where it was handed in.
    let form = json!({
        "email": "marie@exemple.fr",
        "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email"] }],
        "paper_form_reference": "MQ-12",
    });
    let place = StaffClient::expect_error(desk.post(SUBSCRIBERS, &form).await, 422, "place").await;
    assert!(place.contains("lieu"), "{place}");
    let mut with_place = form.clone();
    with_place["place"] = json!("Maison de quartier du Moulleau");
    let added = desk.post_expect(SUBSCRIBERS, &with_place, 201).await;
    assert_eq!(added["consent"]["place"], "Maison de quartier du Moulleau");
    assert_eq!(added["consent"]["staff_id"], "accueil1");
    let mine = format!("{SUBSCRIBERS}/{}", added["id"].as_str().unwrap());

    // It searches, to avoid duplicates, and corrects a typing mistake of its own.
    let found = desk.read("/api/admin/subscribers?q=exemple.fr").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 2, "{found}");
    let fix = json!({ "email": "marie.dupont@exemple.fr", "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email"] }] });
    let fixed = desk.put_expect(&mine, &fix, 200).await;
    assert_eq!(fixed["email"], "marie.dupont@exemple.fr");
    // Not someone else's entry, and nothing else of the file or the campaigns.
    let theirs = format!("{SUBSCRIBERS}/{theirs}");
    let other = json!({ "email": "x@exemple.fr" });
    let message = StaffClient::expect_message(desk.put(&theirs, &other).await, 403).await;
    assert!(message.contains("qu'il a saisies"));
    desk.delete_expect(&mine, 403).await;
    let test = campaign(&["alerte-meteo"], Some("Test"), true, false);
    desk.post_expect("/api/admin/campaigns", &test, 403).await;
    for path in [
        "/api/admin/subscribers/export",
        "/api/admin/campaigns",
        "/api/admin/stats",
    ] {
        desk.get_expect(path, 403).await;
    }
    // The place counts in the statistics.
    let stats = redac.read("/api/admin/stats").await;
    let origins = stats["signups_by_origin"].as_array().unwrap();
    assert!(
        origins
            .iter()
            .any(|o| o["origin"] == "lieu:Maison de quartier du Moulleau"
                && o["label"] == "Formulaire papier : Maison de quartier du Moulleau"
                && o["signups"] == 1),
        "{origins:?}"
    );
    // The communication service still edits the front desk's entries.
    let phone = json!({ "phone": "06 55 55 55 55" });
    redac.put_expect(&mine, &phone, 200).await;
}

/// #26, point 6: the front desk read the whole file with `?limit=500` and no search term. It now
/// looks one person up: 3 letters or digits at least, 20 answers at most, and only the contact
/// it searched for in full.
#[tokio::test]
async fn the_front_desk_finds_a_person_but_cannot_read_the_whole_file() {
    let app = app().await;
    app.add_staff("accueil1", "accueil", None, None).await;
    let desk = app.login("accueil1").await;
    let redac = app.login("redac").await;
    let mut csv = String::from("email;telephone;themes;canaux\n");
    for i in 0..25 {
        csv.push_str(&format!(
            "voisin{i:02}@exemple.fr;06 12 34 56 {i:02};alerte-meteo;email+sms\n"
        ));
    }
    assert_eq!(import(&redac, csv).await, 25);

    // No search term, or too short a one: a French 422 naming the field.
    for query in [
        "",
        "?limit=500",
        "?q=",
        "?q=%20%20%20",
        "?q=ex",
        "?q=0%206",
        "?q=%40.%40",
    ] {
        let resp = desk.get(&format!("{SUBSCRIBERS}{query}")).await;
        let q = StaffClient::expect_error(resp, 422, "q").await;
        assert!(q.contains("au moins 3"), "{query}: {q}");
    }

    // A term everyone matches: the first 20 only, even asked for more or for the next page;
    // the addresses it searched for in full, the mobiles masked.
    let found = desk
        .read("/api/admin/subscribers?q=exemple.fr&limit=500&offset=20")
        .await;
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 20, "{found}");
    assert_eq!(
        (found["limit"].as_u64(), found["offset"].as_u64()),
        (Some(20), Some(0))
    );
    for s in items {
        let (email, phone) = (s["email"].as_str().unwrap(), s["phone"].as_str().unwrap());
        assert!(
            email.starts_with("voisin") && !email.contains('•'),
            "{email}"
        );
        assert!(phone.starts_with("+336 •• •• •• "), "{phone}");
    }

    // By number: that mobile in full, the address masked; the same by its id.
    let found = desk
        .read("/api/admin/subscribers?q=06%2012%2034%2056%2007")
        .await;
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!(items[0]["phone"], "+33612345607");
    assert_eq!(items[0]["email"], "v•••@exemple.fr");
    let id = items[0]["id"].as_str().unwrap();
    let one = desk.read(&format!("/api/admin/subscribers/{id}")).await;
    assert_eq!(one["email"], "v•••@exemple.fr");
    assert_eq!(one["phone"], "+336 •• •• •• 07");

    // The file's keepers still page through it whole.
    let all = redac.read("/api/admin/subscribers?limit=500").await;
    let all = all["items"].as_array().unwrap();
    assert_eq!(all.len(), 25);
    assert!(all.iter().all(|s| !s.to_string().contains('•')), "{all:?}");
    app.stop().await;
}

/// #26, point 7: 5 MiB of bad lines made a 303 MiB report. The report now counts every refused
/// line and lists the first 1,000, and a file over 1 MiB is refused, pointing to the big-file
/// import.
#[tokio::test]
async fn the_import_report_is_capped_and_a_big_file_goes_to_the_big_file_import() {
    let app = app().await;
    let redac = app.login("redac").await;
    let header = "email;themes;canaux\n";
    let bad_line = "x;alerte-meteo;email\n";
    let bad = ((1 << 20) - header.len()) / bad_line.len();
    let csv = format!("{header}{}", bad_line.repeat(bad));
    assert!(csv.len() <= 1 << 20);
    let report = StaffClient::expect(
        redac
            .post_bytes(
                "/api/admin/subscribers/import?mode=valid_only",
                csv.into_bytes(),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(report["lines"].as_u64(), Some(bad as u64));
    assert_eq!(report["refused_lines"].as_u64(), Some(bad as u64));
    assert_eq!(report["nothing_written"], true);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1000);
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert!(
        lines[0] == 2 && lines.is_sorted() && lines[999] <= 1001,
        "{lines:?}"
    );
    assert!(report.to_string().len() < 300 * 1024, "a small answer");

    // One line more than 1 MiB: refused, saying the limit and where big files go.
    let csv = format!("{header}{}", bad_line.repeat(bad + 1));
    let err = StaffClient::expect(
        redac
            .post_bytes("/api/admin/subscribers/import", csv.into_bytes())
            .await,
        413,
    )
    .await;
    assert_eq!(err["error"], "payload_too_large");
    let message = err["fields"]["file"].as_str().unwrap();
    assert!(
        message.contains("1 Mio") && message.contains("/api/admin/files/imports"),
        "{message}"
    );
    app.stop().await;
}

#[tokio::test]
async fn over_the_daily_email_quota_what_fits_goes_the_rest_waits_and_none_left_is_refused() {
    // GIVEN a relay that accepts 6 emails a day (--email-daily-quota) and 4 residents by email
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
        a.worker = false;
        a.email_daily_quota = Some(6);
    })
    .await;
    app.add_staff("redac", "redaction", None, None).await;
    app.add_staff("cab", "cabinet", None, None).await;
    let (redac, cab) = (app.login("redac").await, app.login("cab").await);
    assert_eq!(import(&redac, residents_csv(4)).await, 4);
    // AND a first campaign sent to the 4 of them: the estimate had the whole quota for it
    let first = redac.draft(&email_campaign("Marché")).await;
    let e = redac.estimate(first).await;
    assert_eq!(e["outlook"]["email"]["remaining_today"], 6, "{e}");
    assert_eq!(e["outlook"]["can_start"], true);
    redac.submit(first).await;
    cab.approve(first).await;
    app.drain().await;
    assert_eq!(app.emails().len(), 4);

    // WHEN a second campaign to the same 4 is estimated and approved the same day
    let id = submitted_email_campaign(&redac, "Brocante").await;
    let e = cab.estimate(id).await;
    // THEN the estimate shows the figures: 4 emails, 2 left of 6, and says the rest waits
    let email = &e["outlook"]["email"];
    assert_eq!(
        (
            &email["recipients"],
            &email["daily_quota"],
            &email["remaining_today"],
            &email["fits_quota"]
        ),
        (&json!(4), &json!(6), &json!(2), &json!(false)),
        "{e}"
    );
    assert_eq!(e["outlook"]["can_start"], true);
    let why = "Quota d'envoi d'e-mails insuffisant pour aujourd'hui : 2 e-mails sur 4 partiront d'abord, les 2 autres à mesure que le quota se libère";
    assert!(
        e["outlook"]["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with(why),
        "{e}"
    );
    // AND approval sends the 2 that fit; the other 2 wait in the queue for the quota
    cab.approve(id).await;
    app.drain().await;
    assert_eq!(app.emails().len(), 6);

    // WHEN a third campaign comes the same day, with nothing left of the quota
    let id = submitted_email_campaign(&redac, "Vide-grenier").await;
    let refused = cab.try_approve(id).await;
    // THEN approval is refused with the figures, the campaign still waiting for the cabinet
    let err = StaffClient::expect(refused, 409).await;
    let why = "Quota d'envoi d'e-mails épuisé : aucun des 4 e-mails ne peut partir maintenant (quota de 6 par 24 heures, entièrement utilisé).";
    assert!(err["message"].as_str().unwrap().starts_with(why), "{err}");
    let still = cab.campaign(id).await;
    assert_eq!(still["status"], "submitted");
    assert_eq!(app.emails().len(), 6);
}

/// A draft email campaign `title` to every resident, submitted to the cabinet; its id.
async fn submitted_email_campaign(redac: &StaffClient<'_>, title: &str) -> CampaignId {
    let id = redac.draft(&email_campaign(title)).await;
    redac.submit(id).await;
    id
}
