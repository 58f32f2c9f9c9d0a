//! Consent holds against an outsider with a browser or curl (issue: trust, points 1–4 and 6):
//! every contact is proven by its own channel before it receives anything but the proof, no
//! unproven request changes a stored record, answers do not tell who is subscribed, and the
//! limits on code SMS and code tries hold even when hit at once.

use crate::common::*;
use futures_util::future::join_all;
use serde_json::json;
use std::str::FromStr;
use telmail_core::domain::contact::PhoneNumber;
use telmail_core::ports::SubscriberStore;

const METEO_SMS: &str = "alerte-meteo:sms";
const METEO_EMAIL: &str = "alerte-meteo:email";
const CULTURE_EMAIL: &str = "culture-animations:email";

/// Signs up by email, follows the link; returns the preferences token.
async fn confirmed_by_email(app: &TestApp, email: &str, choices: &[&str]) -> String {
    app.post_form("/inscription", &signup_fields(email, "", choices))
        .await;
    let mail = app.emails_to(email).pop().expect("a confirmation email");
    let confirm = link(&mail.text, "/confirmation?t=");
    let page = app
        .post_form("/confirmation", &[("t", &token_of(&confirm))])
        .await;
    token_of(&link(&page_text(page).await, "/preferences?t="))
}

fn topics_of(data: &serde_json::Value) -> Vec<String> {
    data["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}:{}",
                s["topic"].as_str().unwrap(),
                s["channel"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn an_email_link_never_proves_someone_elses_phone() {
    let app = TestApp::spawn().await;
    // GIVEN an attacker signing up their own email with a victim's number, for SMS
    app.post_form(
        "/inscription",
        &signup_fields(
            "attaquant@exemple.fr",
            "06 11 22 33 44",
            &[METEO_SMS, METEO_EMAIL],
        ),
    )
    .await;
    assert!(
        app.sms().is_empty(),
        "nothing goes to the number before the email is proven"
    );
    let confirm = link(
        &app.emails_to("attaquant@exemple.fr")[0].text,
        "/confirmation?t=",
    );

    // WHEN the attacker follows their own link
    let resp = app
        .post_form("/confirmation", &[("t", &token_of(&confirm))])
        .await;

    // THEN the number must still be proven: only a code SMS went to it, and the page asks for it
    assert_eq!(resp.status(), 303);
    let code_page = resp.headers()["location"].to_str().unwrap().to_owned();
    let sms = app.sms_to("+33611223344");
    assert_eq!(sms.len(), 1);
    assert!(sms[0]["text"]
        .as_str()
        .unwrap()
        .contains("code de confirmation"));
    let victim = PhoneNumber::from_str("0611223344").unwrap();
    assert!(app.store().find_by_phone(&victim).await.unwrap().is_none());

    // AND going on without the code subscribes the email alone
    let page = app
        .post_form(
            "/inscription/code",
            &[("t", &token_of(&code_page)), ("action", "sans-sms")],
        )
        .await;
    let manage = token_of(&link(&page_text(page).await, "/preferences?t="));
    let data = app.exported(&manage).await;
    assert_eq!(data["phone"], serde_json::Value::Null);
    assert_eq!(topics_of(&data), ["alerte-meteo:email"]);
    assert!(app.store().find_by_phone(&victim).await.unwrap().is_none());
    app.stop().await;
}

#[tokio::test]
async fn a_sign_up_naming_a_pending_persons_address_changes_nothing_of_theirs() {
    let app = TestApp::spawn().await;
    // GIVEN a resident who signed up for weather alerts and has not confirmed yet
    app.post_form(
        "/inscription",
        &signup_fields("victime@exemple.fr", "", &[METEO_EMAIL]),
    )
    .await;
    let their_link = link(
        &app.emails_to("victime@exemple.fr")[0].text,
        "/confirmation?t=",
    );

    // WHEN someone else signs up with that address for other topics
    app.post_form(
        "/inscription",
        &signup_fields("victime@exemple.fr", "", &[CULTURE_EMAIL]),
    )
    .await;

    // THEN the resident's own link confirms what they asked for, nothing else
    let page = app
        .post_form("/confirmation", &[("t", &token_of(&their_link))])
        .await;
    let manage = token_of(&link(&page_text(page).await, "/preferences?t="));
    assert_eq!(
        topics_of(&app.exported(&manage).await),
        ["alerte-meteo:email"]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_sign_up_naming_someone_who_left_does_not_bring_them_back() {
    let app = TestApp::spawn().await;
    let manage = confirmed_by_email(&app, "partie@exemple.fr", &[METEO_EMAIL]).await;
    app.post_form(
        "/preferences",
        &[("t", &manage), ("action", "unsubscribe_all")],
    )
    .await;

    // WHEN someone signs that address up again and nobody follows the link
    app.post_form(
        "/inscription",
        &signup_fields("partie@exemple.fr", "", &[CULTURE_EMAIL]),
    )
    .await;

    // THEN the person stays unsubscribed, with no choices
    let data = app.exported(&manage).await;
    assert_eq!(data["status"], "unsubscribed");
    assert!(topics_of(&data).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn an_old_code_page_and_any_code_reveal_no_preferences_link() {
    let app = TestApp::spawn().await;
    // GIVEN a phone sign-up, confirmed by its owner with the right code
    let resp = app
        .post_form(
            "/inscription",
            &signup_fields("", "06 55 44 33 22", &[METEO_SMS]),
        )
        .await;
    let t = token_of(resp.headers()["location"].to_str().unwrap());
    let code = code_in(app.sms()[0]["text"].as_str().unwrap());
    let ok = app
        .post_form("/inscription/code", &[("t", &t), ("code", &code)])
        .await;
    assert!(page_text(ok).await.contains("/preferences?t="));

    // WHEN the code page is posted again, with a wrong code or the right one
    for guess in ["000000", code.as_str()] {
        let resp = app
            .post_form("/inscription/code", &[("t", &t), ("code", guess)])
            .await;
        // THEN a neutral page, without any link to the preferences
        assert_eq!(resp.status(), 200);
        let html = page_text(resp).await;
        assert!(html.contains("n'est plus utilisable"), "{html}");
        assert!(!html.contains("/preferences"), "{html}");
    }
    app.stop().await;
}

#[tokio::test]
async fn answers_and_messages_do_not_tell_who_is_subscribed() {
    let app = TestApp::spawn_with(|a| a.code_sms_interval = Some(0)).await;
    // GIVEN a number already subscribed
    let resp = app
        .post_form(
            "/inscription",
            &signup_fields("", "06 10 20 30 40", &[METEO_SMS]),
        )
        .await;
    let t = token_of(resp.headers()["location"].to_str().unwrap());
    let code = code_in(app.sms()[0]["text"].as_str().unwrap());
    app.post_form("/inscription/code", &[("t", &t), ("code", &code)])
        .await;

    // WHEN it and a new number get a wrong code
    let mut answers = Vec::new();
    for number in ["06 10 20 30 40", "06 99 88 77 66"] {
        let resp = app
            .post_form("/inscription", &signup_fields("", number, &[METEO_SMS]))
            .await;
        let t = token_of(resp.headers()["location"].to_str().unwrap());
        let code = code_in(app.sms().last().unwrap()["text"].as_str().unwrap());
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let resp = app
            .post_form("/inscription/code", &[("t", &t), ("code", wrong)])
            .await;
        let status = resp.status();
        answers.push((status, page_text(resp).await.replace(&t, "TOKEN")));
    }
    // THEN both answers are the same
    assert_eq!(answers[0], answers[1]);
    assert!(answers[0].1.contains("Il vous reste 4 essai(s)"));

    // AND someone's own email with the subscribed number gets the usual confirmation email
    app.post_form(
        "/inscription",
        &signup_fields(
            "curieux@exemple.fr",
            "06 10 20 30 40",
            &[METEO_EMAIL, METEO_SMS],
        ),
    )
    .await;
    let mails = app.emails_to("curieux@exemple.fr");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("Confirmez"));
    app.stop().await;
}

#[tokio::test]
async fn only_french_mobiles_get_codes_and_a_number_waits_between_two() {
    let app = TestApp::spawn().await;
    for foreign in ["+44 7911 123456", "+1 650 253 0000", "+7 912 345 67 89"] {
        let resp = app
            .post_form("/inscription", &signup_fields("", foreign, &[METEO_SMS]))
            .await;
        assert_eq!(resp.status(), 422, "{foreign}");
        assert!(page_text(resp).await.contains("numéros de mobile français"));
    }
    // Overseas France is France
    let resp = app
        .post_form(
            "/inscription",
            &signup_fields("", "+262 692 12 34 56", &[METEO_SMS]),
        )
        .await;
    assert_eq!(resp.status(), 303);
    // Posting the same number again at once sends no second SMS
    for _ in 0..3 {
        let resp = app
            .post_form(
                "/inscription",
                &signup_fields("", "+262 692 12 34 56", &[METEO_SMS]),
            )
            .await;
        assert_eq!(resp.status(), 422);
        assert!(page_text(resp).await.contains("patientez"));
    }
    assert_eq!(app.sms().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_daily_budget_of_code_sms_stops_phone_sign_ups_but_not_email_ones() {
    let app = TestApp::spawn_with(|a| a.code_sms_per_day = Some(2)).await;
    for number in ["06 00 00 00 01", "06 00 00 00 02"] {
        let resp = app
            .post_form("/inscription", &signup_fields("", number, &[METEO_SMS]))
            .await;
        assert_eq!(resp.status(), 303);
    }
    let resp = app
        .post_form(
            "/inscription",
            &signup_fields("", "06 00 00 00 03", &[METEO_SMS]),
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(page_text(resp)
        .await
        .contains("SMS de vérification prévu pour aujourd'hui est atteint"));
    assert_eq!(app.sms().len(), 2);

    // Email sign-ups go on; one with a mobile is offered to go on without SMS
    app.post_form(
        "/inscription",
        &signup_fields(
            "budget@exemple.fr",
            "06 00 00 00 04",
            &[METEO_EMAIL, METEO_SMS],
        ),
    )
    .await;
    let confirm = link(
        &app.emails_to("budget@exemple.fr")[0].text,
        "/confirmation?t=",
    );
    let page = app
        .post_form("/confirmation", &[("t", &token_of(&confirm))])
        .await;
    assert_eq!(page.status(), 200);
    let html = page_text(page).await;
    assert!(
        html.contains("prévu pour aujourd'hui est atteint"),
        "{html}"
    );
    assert!(html.contains("Continuer sans SMS"));
    assert_eq!(app.sms().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn simultaneous_wrong_codes_get_no_more_tries_than_allowed() {
    let app = TestApp::spawn().await;
    let resp = app
        .post_form(
            "/inscription",
            &signup_fields("", "06 12 34 56 79", &[METEO_SMS]),
        )
        .await;
    let t = token_of(resp.headers()["location"].to_str().unwrap());
    let code = code_in(app.sms()[0]["text"].as_str().unwrap());
    let wrong = if code == "000000" { "111111" } else { "000000" };

    // WHEN 40 wrong codes are posted at once
    let fields = [("t", t.as_str()), ("code", wrong)];
    let posts = (0..40).map(|_| app.post_form("/inscription/code", &fields));
    let statuses: Vec<u16> = join_all(posts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();

    // THEN exactly 5 were checked (4 told how many tries are left, the 5th locked), the rest refused
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 36);
    let resp = app
        .post_form("/inscription/code", &[("t", &t), ("code", &code)])
        .await;
    assert_eq!(resp.status(), 429, "locked, even for the right code");
    app.stop().await;
}

#[tokio::test]
async fn the_json_api_answers_the_same_for_a_known_address() {
    let app = TestApp::spawn().await;
    confirmed_by_email(&app, "connu@exemple.fr", &[METEO_EMAIL]).await;
    let body = |email: &str| json!({ "email": email, "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email"] }], "consent": true });
    let known = app
        .post_json("/api/subscriptions", &body("connu@exemple.fr"))
        .await;
    let unknown = app
        .post_json("/api/subscriptions", &body("inconnu@exemple.fr"))
        .await;
    assert_eq!(known.status(), unknown.status());
    let (known, unknown): (serde_json::Value, serde_json::Value) =
        (known.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(known, unknown);
    let subject = |to: &str| app.emails_to(to).last().unwrap().subject.clone();
    assert_eq!(subject("connu@exemple.fr"), subject("inconnu@exemple.fr"));
    app.stop().await;
}

#[tokio::test]
async fn an_address_written_in_capitals_is_the_same_person() {
    let app = TestApp::spawn().await;
    let manage = confirmed_by_email(&app, "resident@exemple.fr", &[METEO_EMAIL]).await;
    app.post_form(
        "/inscription",
        &signup_fields("Resident@Exemple.fr", "", &[CULTURE_EMAIL]),
    )
    .await;
    let mails = app.emails_to("resident@exemple.fr");
    assert_eq!(
        mails.len(),
        2,
        "the second sign-up writes to the same address"
    );
    let again = link(&mails[1].text, "/confirmation?t=");
    app.post_form("/confirmation", &[("t", &token_of(&again))])
        .await;
    // One record, with both topics: messages are not doubled
    let data = app.exported(&manage).await;
    assert_eq!(data["email"], "resident@exemple.fr");
    assert_eq!(
        topics_of(&data),
        ["alerte-meteo:email", "culture-animations:email"]
    );
    app.stop().await;
}

#[tokio::test]
async fn an_accented_local_part_is_refused_with_a_french_message() {
    let app = TestApp::spawn().await;
    let resp = app
        .post_form(
            "/inscription",
            &signup_fields("élodie@exemple.fr", "", &[METEO_EMAIL]),
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(page_text(resp).await.contains("avant le @"));
    assert!(app.emails().is_empty());
    app.stop().await;
}
