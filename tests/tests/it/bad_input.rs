//! Bad input gets a clear French error naming the field, and nothing is stored or sent.

use std::num::NonZeroU32;
use std::str::FromStr;

use crate::common::*;
use chrono::Duration;
use serde_json::{json, Value};
use telmail_core::domain::topic::{Topic, TopicKind, TopicSlug};
use telmail_core::ports::{SubscriberStore, TopicStore};
use telmail_core::token::{TokenPurpose, TokenSigner};

async fn assert_refused(app: &TestApp, body: Value, field: &str, words: &str) {
    let resp = app.post_json("/api/subscriptions", &body).await;
    assert_eq!(resp.status(), 422, "{body}");
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "validation");
    let message = err["fields"][field]
        .as_str()
        .unwrap_or_else(|| panic!("no error on {field}: {err}"));
    assert!(message.contains(words), "{field}: {message}");
}

fn signup(email: Option<&str>, phone: Option<&str>, subs: Value) -> Value {
    json!({ "email": email, "phone": phone, "subscriptions": subs, "consent": true })
}

#[tokio::test]
async fn each_bad_field_is_named_in_french_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let meteo_sms = json!([{ "topic": "alerte-meteo", "channels": ["sms"] }]);
    let meteo_email = json!([{ "topic": "alerte-meteo", "channels": ["email"] }]);

    assert_refused(
        &app,
        signup(None, None, meteo_email.clone()),
        "email",
        "au moins l'un des deux",
    )
    .await;
    assert_refused(
        &app,
        signup(None, None, meteo_email.clone()),
        "phone",
        "au moins l'un des deux",
    )
    .await;
    assert_refused(
        &app,
        signup(Some("jean@"), None, meteo_email.clone()),
        "email",
        "n'est pas valide",
    )
    .await;
    assert_refused(
        &app,
        signup(None, Some("05 56 83 00 00"), meteo_sms.clone()),
        "phone",
        "n'est pas un numéro de mobile",
    )
    .await;
    assert_refused(
        &app,
        signup(
            Some("a@exemple.fr"),
            None,
            json!([{ "topic": "brocante", "channels": ["email"] }]),
        ),
        "subscriptions",
        "« brocante »",
    )
    .await;
    assert_refused(
        &app,
        signup(Some("a@exemple.fr"), None, json!([])),
        "subscriptions",
        "au moins un thème",
    )
    .await;
    assert_refused(
        &app,
        signup(
            Some("a@exemple.fr"),
            None,
            json!([{ "topic": "alerte-meteo", "channels": ["fax"] }]),
        ),
        "subscriptions",
        "Canal inconnu",
    )
    .await;
    assert_refused(
        &app,
        signup(Some("a@exemple.fr"), None, meteo_sms.clone()),
        "subscriptions",
        "numéro de mobile",
    )
    .await;
    assert_refused(
        &app,
        json!({ "email": "a@exemple.fr", "subscriptions": meteo_email, "consent": false }),
        "consent",
        "consentement",
    )
    .await;
    assert_refused(
        &app,
        json!({ "email": "a@exemple.fr", "subscriptions": "tout", "consent": true }),
        "subscriptions",
        "type incorrect",
    )
    .await;

    assert!(
        app.emails().is_empty() && app.sms().is_empty(),
        "nothing may be sent"
    );
    assert!(app
        .store()
        .find_by_email(&telmail_core::domain::contact::Email::from_str("a@exemple.fr").unwrap())
        .await
        .unwrap()
        .is_none());
    app.stop().await;
}

#[tokio::test]
async fn the_html_form_shows_errors_in_french_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let resp = app
        .post_form(
            "/inscription",
            &[
                ("email", "jean@exemple"),
                ("phone", "05 56 83 00 00"),
                ("choix", "alerte-meteo:sms"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = page_text(resp).await;
    assert!(html.contains("Merci de corriger les points suivants"));
    assert!(
        html.contains("n'est pas valide")
            && html.contains("n'est pas un numéro de mobile")
            && html.contains("case de consentement")
    );
    assert!(
        html.contains("value=\"jean@exemple\""),
        "the form keeps the input"
    );
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(app.emails().is_empty() && app.sms().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn malformed_oversized_or_mistyped_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .post(app.url("/api/subscriptions"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "bad_json");

    let huge = json!({ "email": "a@exemple.fr", "subscriptions": [], "consent": true, "pad": "x".repeat(64 * 1024) });
    let resp = app.post_json("/api/subscriptions", &huge).await;
    assert_eq!(resp.status(), 413);
    let err: Value = resp.json().await.unwrap();
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("trop volumineuse"));

    let resp = app
        .client
        .post(app.url("/api/subscriptions"))
        .body("email=a")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);

    let resp = app.post_json("/api/sms/analyze", &json!({})).await;
    assert_eq!(resp.status(), 422);
    assert!(resp.json::<Value>().await.unwrap()["fields"]["text"].is_string());
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_id_in_the_path_is_a_french_404_naming_the_record() {
    let app = TestApp::spawn().await;
    app.add_staff("admin", "admin", None, None).await;
    let admin = app.login("admin").await;
    let campaign = "Cette campagne n'existe pas.";
    for (resp, message) in [
        (admin.get("/api/admin/campaigns/abc").await, campaign),
        (
            admin.get("/api/admin/campaigns/abc/deliveries").await,
            campaign,
        ),
        (admin.get("/api/admin/campaigns/abc/crisis").await, campaign),
        (
            admin.post_empty("/api/admin/archive/abc/withdraw").await,
            campaign,
        ),
        (
            admin.get("/api/admin/subscribers/abc").await,
            "Cet abonné n'existe pas.",
        ),
        (
            admin.get("/api/admin/proposals/abc").await,
            "Cette proposition n'existe pas.",
        ),
        (
            admin.get("/api/admin/files/abc").await,
            "Cet export ou cet import n'existe pas (ou plus).",
        ),
        (
            admin.post_empty("/api/admin/pauses/fax/resume").await,
            "Canal inconnu (email ou sms).",
        ),
        // Not UTF-8 once decoded: no record can have that name.
        (
            admin.get("/api/admin/campaigns/%FF").await,
            "Cette adresse n'existe pas.",
        ),
    ] {
        let err = StaffClient::expect(resp, 404).await;
        assert_eq!(err["error"], "not_found", "{err}");
        assert_eq!(err["message"], message, "{err}");
    }
    app.stop().await;
}

#[tokio::test]
async fn tampered_expired_or_misused_links_are_refused_with_a_clear_page() {
    let app = TestApp::spawn().await;
    app.post_form(
        "/inscription",
        &signup_fields("zoe@exemple.fr", "", &["infos-pratiques:email"]),
    )
    .await;
    let confirm = token_of(&link(&app.emails()[0].text, "/confirmation?t="));

    // Tampered
    let mut forged = confirm.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let resp = app.post_form("/confirmation", &[("t", &forged)]).await;
    assert_eq!(resp.status(), 400);
    assert!(page_text(resp).await.contains("Ce lien n'est pas valide"));

    // A confirmation link is not a preference link
    assert_eq!(
        app.get(&format!("/preferences?t={confirm}")).await.status(),
        400
    );

    // Expired
    let signer = TokenSigner::new(TEST_KEY.as_bytes().to_vec()).unwrap();
    let subject = confirm.split('.').nth(1).unwrap();
    let old = signer.sign(
        TokenPurpose::Confirm,
        telmail_core::domain::subscriber::SubscriberId::from_str(subject)
            .ok()
            .unwrap(),
        telmail_tests::server_now() - Duration::days(8),
        Duration::days(7),
    );
    let resp = app.get(&format!("/confirmation?t={old}")).await;
    assert_eq!(resp.status(), 410);
    assert!(page_text(resp).await.contains("Ce lien a expiré"));

    // Missing, or a mangled query string: a French page, never a parser message
    assert_eq!(app.get("/preferences").await.status(), 400);
    let resp = app.get("/preferences?t=a&t=b").await;
    assert_eq!(resp.status(), 400);
    assert!(page_text(resp).await.contains("Ce lien n'est pas valide"));
    app.stop().await;
}

#[tokio::test]
async fn the_public_post_is_rate_limited_per_client() {
    let app = TestApp::spawn_with(|a| a.rate_limit_per_minute = NonZeroU32::new(3).unwrap()).await;
    let body = json!({ "email": "r@exemple.fr", "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email"] }], "consent": true });
    for _ in 0..3 {
        assert_eq!(
            app.post_json("/api/subscriptions", &body).await.status(),
            202
        );
    }
    let resp = app.post_json("/api/subscriptions", &body).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "60");
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "rate_limited");
    // A browser posting a form past the limit reads a French page.
    let resp = post_signup_with(&app, &[("accept", "text/html")]).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "60");
    assert!(page_text(resp).await.contains("Patientez une minute"));
    // Pages still load
    assert_eq!(app.get("/inscription").await.status(), 200);
    app.stop().await;
}

/// Posts the sign-up form with the given headers, as a browser (or a forger) would.
async fn post_signup_with(app: &TestApp, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/inscription"))
        .header("content-type", "application/x-www-form-urlencoded");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body("email=a%40exemple.fr&choix=alerte-meteo%3Aemail&consent=on")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_form_posted_from_another_site_is_refused() {
    let app = TestApp::spawn().await;
    let own = app.base.clone();
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        // Another origin of the same site (another port, a sibling sub-domain) is not the town's form.
        vec![("sec-fetch-site", "same-site"), ("origin", own.as_str())],
        vec![("sec-fetch-site", "cross-site"), ("origin", own.as_str())],
    ] {
        let resp = post_signup_with(&app, &headers).await;
        assert_eq!(resp.status(), 403, "{headers:?}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"], "cross_site_request", "{headers:?}");
    }
    // A browser is answered with a French page, not JSON.
    let resp = post_signup_with(
        &app,
        &[
            ("origin", "https://evil.example"),
            ("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = page_text(resp).await;
    assert!(page.contains("Envoi refusé"), "{page}");
    assert!(page.contains("Ce formulaire doit être envoyé depuis le site de la Ville."));
    assert!(app.emails().is_empty());

    // What browsers send on their own site's posts passes: the public origin (any browser under
    // `Referrer-Policy: same-origin`), or `Sec-Fetch-Site: same-origin` whatever `Origin` says.
    for headers in [
        vec![("origin", own.as_str())],
        vec![("sec-fetch-site", "same-origin"), ("origin", own.as_str())],
        vec![("sec-fetch-site", "same-origin"), ("origin", "null")],
        vec![],
    ] {
        let resp = post_signup_with(&app, &headers).await;
        assert_eq!(resp.status(), 200, "{headers:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn pages_send_no_referrer_to_other_sites() {
    let app = TestApp::spawn().await;
    let resp = app.get("/inscription").await;
    assert_eq!(resp.headers()["referrer-policy"], "same-origin");
    app.stop().await;
}

#[tokio::test]
async fn an_expired_temporary_topic_is_hidden_and_cannot_be_chosen() {
    let app = TestApp::spawn().await;
    let today = telmail_tests::server_now().date_naive();
    let store = app.store();
    for (slug, ends_on) in [
        ("travaux-coeur-de-ville", today + Duration::days(30)),
        ("travaux-2025", today - Duration::days(2)),
    ] {
        store
            .insert_if_absent(&Topic {
                slug: TopicSlug::from_str(slug).unwrap(),
                name: format!("Travaux {slug}"),
                description: "Chantier".into(),
                kind: TopicKind::Temporary,
                ends_on: Some(ends_on),
                active: true,
            })
            .await
            .unwrap();
    }
    let topics: Vec<Value> = app.get("/api/topics").await.json().await.unwrap();
    let slugs: Vec<&str> = topics.iter().map(|t| t["slug"].as_str().unwrap()).collect();
    assert_eq!(
        slugs,
        [
            "culture-animations",
            "infos-pratiques",
            "alerte-meteo",
            "travaux-coeur-de-ville"
        ]
    );
    let current = topics
        .iter()
        .find(|t| t["slug"] == "travaux-coeur-de-ville")
        .unwrap();
    assert_eq!(current["kind"], "temporary");
    assert_eq!(current["ends_on"], (today + Duration::days(30)).to_string());
    assert!(!page_text(app.get("/inscription").await)
        .await
        .contains("travaux-2025"));

    let resp = app
        .post_json("/api/subscriptions", &json!({ "email": "t@exemple.fr", "subscriptions": [{ "topic": "travaux-2025", "channels": ["email"] }], "consent": true }))
        .await;
    assert_eq!(resp.status(), 422);
    let resp = app
        .post_json("/api/subscriptions", &json!({ "email": "t@exemple.fr", "subscriptions": [{ "topic": "travaux-coeur-de-ville", "channels": ["email"] }], "consent": true }))
        .await;
    assert_eq!(resp.status(), 202);
    app.stop().await;
}
