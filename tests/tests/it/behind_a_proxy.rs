//! Behind a reverse proxy (issue: trust, point 5): residents are told apart by the address the
//! trusted proxy names, a client cannot pick its own address when no proxy is trusted, and a
//! form posted from the public address passes the same-origin guard.

use std::num::NonZeroU32;

use crate::common::*;
use serde_json::json;

/// Posts a sign-up the API refuses (no consent), as `forwarded_for` if given; returns the status.
async fn post_as(app: &TestApp, forwarded_for: Option<&str>) -> u16 {
    let mut req = app
        .client
        .post(app.url("/api/subscriptions"))
        .json(&json!({ "email": "x@exemple.fr", "subscriptions": [] }));
    if let Some(addr) = forwarded_for {
        req = req.header("X-Forwarded-For", addr);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn residents_behind_a_trusted_proxy_each_have_their_own_limit() {
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = NonZeroU32::new(3).unwrap();
        a.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    // Ten residents, one post each: none is refused although they all come through the proxy
    for i in 1..=10 {
        let status = post_as(&app, Some(&format!("203.0.113.{i}"))).await;
        assert_eq!(status, 422, "resident {i}");
    }
    // One resident posting four times reaches their own limit; the address they put in front
    // of the proxy's (spoofed) does not matter, the one the proxy saw does
    for _ in 0..3 {
        assert_eq!(post_as(&app, Some("198.51.100.7, 203.0.113.99")).await, 422);
    }
    assert_eq!(post_as(&app, Some("10.9.9.9, 203.0.113.99")).await, 429);
    app.stop().await;
}

#[tokio::test]
async fn without_a_trusted_proxy_the_forwarded_header_is_ignored() {
    let app = TestApp::spawn_with(|a| a.rate_limit_per_minute = NonZeroU32::new(3).unwrap()).await;
    let statuses = [
        post_as(&app, Some("203.0.113.1")).await,
        post_as(&app, Some("203.0.113.2")).await,
        post_as(&app, Some("203.0.113.3")).await,
        post_as(&app, Some("203.0.113.4")).await,
    ];
    assert_eq!(statuses, [422, 422, 422, 429]);
    app.stop().await;
}

#[tokio::test]
async fn a_form_posted_from_the_public_address_passes_behind_the_proxy() {
    let app = TestApp::spawn_with(|a| {
        a.public_url = Some("https://alertes.arcachon.example".into());
        a.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    // The proxy forwards to 127.0.0.1:<port>; the browser wrote the public origin
    let resp = app
        .client
        .post(app.url("/inscription"))
        .header("Origin", "https://alertes.arcachon.example")
        .header("X-Forwarded-For", "203.0.113.50")
        .header("Accept", "text/html")
        .form(&signup_fields(
            "proxy@exemple.fr",
            "",
            &["alerte-meteo:email"],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(page_text(resp).await.contains("Vérifiez votre messagerie"));
    // …while another site's origin is still refused
    let resp = app
        .client
        .post(app.url("/inscription"))
        .header("Origin", "https://evil.example")
        .form(&signup_fields(
            "proxy2@exemple.fr",
            "",
            &["alerte-meteo:email"],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn sign_ups_from_one_client_are_counted_in_the_store_per_hour() {
    // The per-minute limit is raised, so only the hourly sign-up allowance (kept in the store,
    // where every process and Lambda instance counts together) stops the client.
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = NonZeroU32::new(1000).unwrap();
        a.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let sign_up = |n: usize, client: &'static str| {
        let body = json!({
            "email": format!("habitant{n}@exemple.fr"),
            "subscriptions": [{ "topic": "alerte-meteo", "channels": ["email"] }],
            "consent": true
        });
        let req = app
            .client
            .post(app.url("/api/subscriptions"))
            .header("X-Forwarded-For", client)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    for n in 0..30 {
        assert_eq!(sign_up(n, "203.0.113.7").await.status(), 202, "sign-up {n}");
    }
    let refused = sign_up(30, "203.0.113.7").await;
    assert_eq!(refused.status(), 429);
    let err: serde_json::Value = refused.json().await.unwrap();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("réessayez dans une heure"),
        "{err}"
    );
    // Another resident is not affected
    assert_eq!(sign_up(31, "203.0.113.8").await.status(), 202);
    app.stop().await;
}

/// A login attempt as `forwarded_for`; returns the status and the French message.
async fn login_as(app: &TestApp, forwarded_for: &str, user: &str, password: &str) -> (u16, String) {
    let resp = app
        .client
        .post(app.url("/api/admin/login"))
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    (
        status,
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_new_ipv6_address_of_the_same_slash_64_is_the_same_client() {
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = NonZeroU32::new(3).unwrap();
        a.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    // A new address of one /64 for each post (#26, point 2): the fourth is refused
    let statuses = [
        post_as(&app, Some("2001:db8:1:2::1")).await,
        post_as(&app, Some("2001:db8:1:2:aaaa::2")).await,
        post_as(&app, Some("2001:db8:1:2:bbbb:cccc:dddd:3")).await,
        post_as(&app, Some("2001:db8:1:2:ffff::4")).await,
    ];
    assert_eq!(statuses, [422, 422, 422, 429]);
    // Another /64 is another client
    assert_eq!(post_as(&app, Some("2001:db8:1:3::1")).await, 422);
    app.stop().await;
}

#[tokio::test]
async fn sign_ups_from_rotating_ipv6_addresses_share_their_slash_64_s_allowance() {
    let app = TestApp::spawn_with(|a| {
        a.signups_per_hour = Some(2);
        a.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let sign_up = |n: u32, from: String| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/subscriptions"))
                .header("X-Forwarded-For", from)
                .json(&json!({
                    "email": format!("rotation{n}@exemple.fr"),
                    "subscriptions": [{ "topic": "infos-pratiques", "channels": ["email"] }],
                    "consent": true
                }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let mut statuses = Vec::new();
    for n in 1..=4 {
        statuses.push(sign_up(n, format!("2001:db8:5:6:{n}::{n}")).await);
    }
    assert_eq!(statuses, [202, 202, 429, 429]);
    assert_eq!(sign_up(9, "2001:db8:5:7::9".into()).await, 202);
    app.stop().await;
}

#[tokio::test]
async fn an_account_locks_after_five_wrong_passwords_from_anywhere_until_an_admin_unlocks_it() {
    let app = TestApp::spawn_with(|a| {
        a.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    app.add_staff("redac", "redaction", None, None).await;
    let right = telmail_tests::process::STAFF_PASSWORD;
    // Five guesses, each from another network: each refused as a wrong password
    for i in 1..=5 {
        let (status, said) = login_as(&app, &format!("2001:db8:{i}::1"), "redac", "devine").await;
        assert_eq!(
            (status, said.as_str()),
            (401, "Identifiant ou mot de passe incorrect.")
        );
    }
    // Locked: even the right password, from yet another address, is not checked
    let (status, said) = login_as(&app, "198.51.100.20", "redac", right).await;
    assert_eq!(status, 429, "{said}");
    assert!(
        said.contains("verrouillé") && said.contains("réessayez dans 1 min"),
        "{said}"
    );
    // An administrator unlocks it (`telmail-local staff unlock redac`)
    app.services().staff_auth.unlock("redac").await.unwrap();
    let (status, said) = login_as(&app, "198.51.100.20", "redac", right).await;
    assert_eq!(status, 200, "{said}");
    app.stop().await;
}

#[tokio::test]
async fn sign_ins_past_the_hashing_queue_are_refused_at_once_and_the_site_stays_up() {
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = NonZeroU32::new(10_000).unwrap();
        a.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    // 60 sign-ins at once, each from its own network and for an account of its own (so that
    // no lock applies): each costs an Argon2id hash unless refused first
    let app_ref = &app;
    let guesses = futures_util::future::join_all((0..60).map(|i| async move {
        login_as(
            app_ref,
            &format!("2001:db8:a:{i}::1"),
            &format!("inconnu{i}"),
            "devine",
        )
        .await
    }));
    let page = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let started = telmail_tests::stopwatch();
        let resp = app_ref.get("/inscription").await;
        (resp.status().as_u16(), started.elapsed())
    };
    let (answers, (page_status, page_took)) = tokio::join!(guesses, page);
    let busy = answers.iter().filter(|(s, _)| *s == 429).count();
    assert!(busy > 0, "some sign-ins refused at once: {answers:?}");
    for (status, said) in &answers {
        match status {
            401 => assert_eq!(said, "Identifiant ou mot de passe incorrect."),
            429 => assert!(said.contains("Trop de connexions en cours"), "{said}"),
            other => panic!("unexpected {other}: {said}"),
        }
    }
    assert_eq!(page_status, 200);
    assert!(
        page_took < std::time::Duration::from_secs(2),
        "the sign-up page answered in {page_took:?}"
    );
    app.stop().await;
}
