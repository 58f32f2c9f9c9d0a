//! Behind a reverse proxy (issue: trust, point 5): residents are told apart by the address the
//! trusted proxy names, a client cannot pick its own address when no proxy is trusted, and a
//! form posted from the public address passes the same-origin guard.

mod common;

use std::num::NonZeroU32;

use common::*;
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
