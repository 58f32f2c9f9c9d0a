//! Resident journeys over HTTP on a real server, following links and codes from the outbox.

use crate::common::*;
use serde_json::json;
use std::str::FromStr;
use telmail_core::domain::contact::{Email, PhoneNumber};
use telmail_core::ports::SubscriberStore;

const METEO_SMS: &str = "alerte-meteo:sms";
const METEO_EMAIL: &str = "alerte-meteo:email";
const CULTURE_EMAIL: &str = "culture-animations:email";

#[tokio::test]
async fn email_sign_up_is_confirmed_from_the_link_then_managed_and_left() {
    let app = TestApp::spawn().await;

    // GIVEN the sign-up page
    let page = app.get("/inscription").await;
    assert_eq!(page.status(), 200);
    let html = page_text(page).await;
    assert!(html.contains("Culture/Animations") && html.contains("name=\"choix\""));

    // WHEN a resident signs up by email
    let fields = signup_fields("Jeanne@Exemple.FR", "", &[METEO_EMAIL, CULTURE_EMAIL]);
    let page = app.form_ok("/inscription", &fields).await;
    assert!(page.contains("Vérifiez votre messagerie"));

    // THEN one confirmation email arrives, multipart, with a link
    let mails = app.emails_to("jeanne@exemple.fr");
    assert_eq!(mails.len(), 1, "{:?}", app.emails());
    assert!(mails[0].subject.contains("Confirmez votre inscription"));
    assert!(mails[0].html.contains("Confirmer mon inscription"));
    let confirm = link(&mails[0].text, "/confirmation?t=");

    // A GET (a mail scanner) only shows a button
    let page = app.get(&path_of(&confirm)).await;
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("<form method=\"post\" action=\"/confirmation\">"));
    // …and changed nothing: signing up again is a new request with its own confirmation
    app.post_form(
        "/inscription",
        &signup_fields("jeanne@exemple.fr", "", &[METEO_EMAIL]),
    )
    .await;
    let mails = app.emails_to("jeanne@exemple.fr");
    assert_eq!(mails.len(), 2);
    assert!(mails[1].subject.contains("Confirmez votre inscription"));

    // The resident confirms with the newest link's button: its own choices
    let all = app.emails();
    let confirm = link(&all.last().unwrap().text, "/confirmation?t=");
    let resp = app
        .post_form("/confirmation", &[("t", &token_of(&confirm))])
        .await;
    assert_eq!(resp.status(), 200);
    let html = page_text(resp).await;
    assert!(html.contains("Inscription confirmée"));
    let manage = link(&html, "/preferences?t=");

    // The preference page shows the choices
    let page = page_text(app.get(&path_of(&manage)).await).await;
    assert!(
        page.contains(
            "value=\"alerte-meteo:email\" aria-label=\"Alerte météo par email\"\n      checked"
        ),
        "{page}"
    );

    // They change their topics
    let t = token_of(&manage);
    let choices = [
        ("t", t.as_str()),
        ("action", "save"),
        ("choix", CULTURE_EMAIL),
        ("choix", "infos-pratiques:email"),
    ];
    let page = app.form_ok("/preferences", &choices).await;
    assert!(page.contains("Vos choix sont enregistrés"));
    let data: serde_json::Value = app.exported(&t).await;
    let topics = data["subscriptions"].as_array().unwrap().iter();
    let topics: Vec<&str> = topics.map(|s| s["topic"].as_str().unwrap()).collect();
    assert_eq!(topics, ["culture-animations", "infos-pratiques"]);
    assert_eq!(data["status"], "active");
    assert_eq!(data["consent"]["source"], "web");
    assert_eq!(data["consent"]["wording_version"], "2026-11-v1");

    // They leave one topic
    app.form_ok(
        "/preferences",
        &[("t", &t), ("topic_off", "culture-animations")],
    )
    .await;
    let data: serde_json::Value = app.exported(&t).await;
    assert_eq!(data["subscriptions"].as_array().unwrap().len(), 1);

    // Then everything
    let resp = app
        .post_form("/preferences", &[("t", &t), ("action", "unsubscribe_all")])
        .await;
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("Vous êtes désabonné(e)"));
    let data: serde_json::Value = app.exported(&t).await;
    assert_eq!(data["status"], "unsubscribed");
    assert!(data["subscriptions"].as_array().unwrap().is_empty());

    // And can come back from the same page
    let back = [
        ("t", t.as_str()),
        ("action", "save"),
        ("choix", METEO_EMAIL),
    ];
    app.form_ok("/preferences", &back).await;
    let data: serde_json::Value = app.exported(&t).await;
    assert_eq!(data["status"], "active");
    app.stop().await;
}

#[tokio::test]
async fn phone_only_sign_up_is_confirmed_with_the_sms_code() {
    let app = TestApp::spawn().await;
    let resp = app
        .post_form(
            "/inscription",
            &signup_fields("", "06 12 34 56 78", &[METEO_SMS]),
        )
        .await;
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/inscription/code?t="));

    let sms = app.sms_to("+33612345678");
    assert_eq!(sms.len(), 1);
    let code = code_in(sms[0]["text"].as_str().unwrap());

    let page = app.get(&location).await;
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("autocomplete=\"one-time-code\""));

    let t = token_of(&location);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let resp = app
        .post_form("/inscription/code", &[("t", &t), ("code", wrong)])
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("Il vous reste 4 essai(s)"));

    let resp = app
        .post_form("/inscription/code", &[("t", &t), ("code", &code)])
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("Inscription confirmée"));
    app.stop().await;
}

#[tokio::test]
async fn five_wrong_codes_lock_the_sign_up() {
    let app = TestApp::spawn().await;
    let resp = app
        .post_form(
            "/inscription",
            &signup_fields("", "0781234567", &[METEO_SMS]),
        )
        .await;
    let t = token_of(resp.headers()["location"].to_str().unwrap());
    let code = code_in(app.sms()[0]["text"].as_str().unwrap());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for attempt in 1..=5 {
        let resp = app
            .post_form("/inscription/code", &[("t", &t), ("code", wrong)])
            .await;
        let expected = if attempt < 5 { 422 } else { 429 };
        assert_eq!(resp.status(), expected, "attempt {attempt}");
    }
    // Even the right code is refused now
    let resp = app
        .post_form("/inscription/code", &[("t", &t), ("code", &code)])
        .await;
    assert_eq!(resp.status(), 429);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("Recommencez votre inscription"));
    // Starting again at once sends no second code: the number must wait a few minutes
    let resp = app
        .post_form(
            "/inscription",
            &signup_fields("", "0781234567", &[METEO_SMS]),
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(page_text(resp).await.contains("patientez 5 minute(s)"));
    assert_eq!(app.sms().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn starting_again_after_a_lock_sends_a_fresh_code_that_works() {
    // No wait between codes here, so the restart can be shown at once.
    let app = TestApp::spawn_with(|a| a.code_sms_interval = Some(0)).await;
    let fields = signup_fields("", "0781234567", &[METEO_SMS]);
    let sign_up = || app.post_form("/inscription", &fields);
    let t = token_of(sign_up().await.headers()["location"].to_str().unwrap());
    let code = code_in(app.sms()[0]["text"].as_str().unwrap());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 1..=5 {
        app.post_form("/inscription/code", &[("t", &t), ("code", wrong)])
            .await;
    }
    let t = token_of(sign_up().await.headers()["location"].to_str().unwrap());
    let code = code_in(app.sms().last().unwrap()["text"].as_str().unwrap());
    let resp = app
        .post_form("/inscription/code", &[("t", &t), ("code", &code)])
        .await;
    assert_eq!(resp.status(), 200);
    assert!(page_text(resp).await.contains("Inscription confirmée"));
    app.stop().await;
}

#[tokio::test]
async fn signing_up_again_reveals_nothing_and_adds_the_topics_once_confirmed() {
    let app = TestApp::spawn().await;
    let body = |topic: &str| json!({ "email": "paul@exemple.fr", "subscriptions": [{ "topic": topic, "channels": ["email"] }], "consent": true });

    let first = app
        .post_json("/api/subscriptions", &body("infos-pratiques"))
        .await;
    assert_eq!(first.status(), 202);
    let first: serde_json::Value = first.json().await.unwrap();
    assert_eq!(first["confirmation"], "email_link");
    let confirm = link(&app.emails()[0].text, "/confirmation?t=");
    let page = app
        .post_form("/confirmation", &[("t", &token_of(&confirm))])
        .await;
    let manage = token_of(&link(&page_text(page).await, "/preferences?t="));

    // WHEN the same address signs up again, for another topic
    let second = app
        .post_json("/api/subscriptions", &body("alerte-meteo"))
        .await;
    assert_eq!(second.status(), 202);
    let second: serde_json::Value = second.json().await.unwrap();
    // THEN the answer and the email are those any sign-up gets…
    assert_eq!(first, second);
    let mails = app.emails_to("paul@exemple.fr");
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].subject, mails[0].subject);
    // …nothing changes until the owner follows the new link…
    let data = app.exported(&manage).await;
    assert_eq!(data["subscriptions"].as_array().unwrap().len(), 1);
    let again = link(&mails[1].text, "/confirmation?t=");
    let page = app
        .post_form("/confirmation", &[("t", &token_of(&again))])
        .await;
    assert!(page_text(page).await.contains("Inscription confirmée"));
    // …and then the topic joins the same subscription.
    let data = app.exported(&manage).await;
    assert_eq!(data["status"], "active");
    let topics: Vec<&str> = data["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["topic"].as_str().unwrap())
        .collect();
    assert_eq!(topics, ["alerte-meteo", "infos-pratiques"]);
    app.stop().await;
}

#[tokio::test]
async fn a_known_phone_gets_the_same_code_page_and_the_same_sms() {
    let app = TestApp::spawn_with(|a| a.code_sms_interval = Some(0)).await;
    let body = json!({ "phone": "+33 6 98 76 54 32", "subscriptions": [{ "topic": "alerte-meteo", "channels": ["sms"] }], "consent": true });
    let first: serde_json::Value = app
        .post_json("/api/subscriptions", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["confirmation"], "sms_code");
    let code_url = first["code_url"].as_str().unwrap().to_owned();
    let code = code_in(app.sms()[0]["text"].as_str().unwrap());
    let resp = app
        .post_form(
            "/inscription/code",
            &[("t", &token_of(&code_url)), ("code", &code)],
        )
        .await;
    assert_eq!(resp.status(), 200);

    let second = app.post_json("/api/subscriptions", &body).await;
    assert_eq!(second.status(), 202);
    let second: serde_json::Value = second.json().await.unwrap();
    assert_eq!(second["confirmation"], "sms_code");
    assert!(second["code_url"]
        .as_str()
        .unwrap()
        .contains("/inscription/code?t="));
    let sms = app.sms_to("+33698765432");
    assert_eq!(sms.len(), 2);
    let shape = |text: &str| text.replace(&code_in(text), "");
    assert_eq!(
        shape(sms[1]["text"].as_str().unwrap()),
        shape(sms[0]["text"].as_str().unwrap()),
        "the same code SMS as for a new number"
    );
    app.stop().await;
}

#[tokio::test]
async fn one_click_unsubscribe_works_and_a_get_changes_nothing() {
    let app = TestApp::spawn().await;
    app.post_form(
        "/inscription",
        &signup_fields("lea@exemple.fr", "", &[CULTURE_EMAIL]),
    )
    .await;
    let confirm = link(&app.emails()[0].text, "/confirmation?t=");
    let html = app
        .post_form("/confirmation", &[("t", &token_of(&confirm))])
        .await;
    let html = page_text(html).await;
    let manage = token_of(&link(&html, "/preferences?t="));
    let data: serde_json::Value = app.exported(&manage).await;
    let id = data["id"].as_str().unwrap().to_owned();

    // The unsubscribe link, as put in List-Unsubscribe by campaign emails
    let signer = telmail_core::token::TokenSigner::new(TEST_KEY.as_bytes().to_vec()).unwrap();
    let t = signer.sign(
        telmail_core::token::TokenPurpose::Unsubscribe,
        telmail_core::domain::subscriber::SubscriberId::from_str(&id).unwrap(),
        telmail_tests::server_now(),
        chrono::Duration::days(30),
    );

    let page = app.get(&format!("/desabonnement?t={t}")).await;
    assert_eq!(page.status(), 200);
    let html = page_text(page).await;
    assert!(html.contains("Confirmer mon désabonnement"));
    // The 180-day unsubscribe link opens no preferences page (and so no data export)
    assert!(!html.contains("/preferences"), "{html}");
    let data: serde_json::Value = app.exported(&manage).await;
    assert_eq!(data["status"], "active", "a GET must not unsubscribe");

    // RFC 8058: a POST with the one-click body, no cookies, no Origin
    let resp = app
        .client
        .post(app.url(&format!("/desabonnement?t={t}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let data: serde_json::Value = app.exported(&manage).await;
    assert_eq!(data["status"], "unsubscribed");
    app.stop().await;
}

#[tokio::test]
async fn erasing_leaves_nothing_and_the_address_can_sign_up_afresh() {
    let app = TestApp::spawn().await;
    app.post_form(
        "/inscription",
        &signup_fields("marc@exemple.fr", "0612121212", &[METEO_SMS, METEO_EMAIL]),
    )
    .await;
    let confirm = link(&app.emails()[0].text, "/confirmation?t=");
    // The email is proven by its link, then the mobile by the code sent to it now
    let resp = app
        .post_form("/confirmation", &[("t", &token_of(&confirm))])
        .await;
    assert_eq!(resp.status(), 303);
    let code_page = resp.headers()["location"].to_str().unwrap().to_owned();
    let code = code_in(app.sms_to("+33612121212")[0]["text"].as_str().unwrap());
    let html = app
        .post_form(
            "/inscription/code",
            &[("t", &token_of(&code_page)), ("code", &code)],
        )
        .await;
    let html = page_text(html).await;
    let manage = token_of(&link(&html, "/preferences?t="));
    let data = app.exported(&manage).await;
    assert_eq!(data["phone"], "+33612121212");

    let resp = app
        .post_form("/preferences/effacer", &[("t", &manage)])
        .await;
    assert_eq!(resp.status(), 422, "the box must be ticked");
    let resp = app
        .post_form("/preferences/effacer", &[("t", &manage), ("confirm", "on")])
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("effacées"));

    assert_eq!(
        app.get(&format!("/preferences?t={manage}")).await.status(),
        404
    );
    // No record names the address or the number any more
    let store = app.store();
    assert!(store
        .find_by_email(&Email::from_str("marc@exemple.fr").unwrap())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_by_phone(&PhoneNumber::from_str("0612121212").unwrap())
        .await
        .unwrap()
        .is_none());

    // The same address is new again: it gets a confirmation, not a manage link
    app.post_form(
        "/inscription",
        &signup_fields("marc@exemple.fr", "", &[METEO_EMAIL]),
    )
    .await;
    let mails = app.emails_to("marc@exemple.fr");
    assert!(mails.last().unwrap().subject.contains("Confirmez"));
    app.stop().await;
}
