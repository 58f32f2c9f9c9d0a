//! Weather alerts in force, documents and alert sources.

use super::*;

use chrono::{Duration, TimeZone, Utc};
use telmail_core::domain::alert_templates::AlertTemplates;
use telmail_core::domain::campaign::{CampaignId, CampaignKind, CampaignStatus};
use telmail_core::domain::weather::{AlertInForce, AlertSource, Colour, FeedState, Phenomenon};

fn alert_in_force(domain: &str, phenomenon: Phenomenon, colour: Colour) -> AlertInForce {
    let begins = Utc.with_ymd_and_hms(2026, 12, 1, 5, 0, 0).unwrap();
    AlertInForce {
        source: AlertSource {
            product_time: begins - Duration::hours(1),
            domain: domain.into(),
            phenomenon,
            colour,
            begins,
            ends: begins + Duration::hours(12),
        },
        campaign: CampaignId::new(),
    }
}

async fn weather_alerts_are_raised_once_per_colour_and_lifted_once(b: Backend) {
    let orange = alert_in_force("33", Phenomenon::Wind, Colour::Orange);
    // Ten cycles at once raise the same alert (each with its own campaign): one writes.
    let raises = (0..10).map(|_| {
        let weather = b.weather.clone();
        let mut alert = orange.clone();
        alert.campaign = CampaignId::new();
        async move { weather.raise(&alert).await.unwrap() }
    });
    let won = futures_util::future::join_all(raises)
        .await
        .into_iter()
        .filter(|w| *w)
        .count();
    assert_eq!(won, 1);
    let stored = b.weather.in_force().await.unwrap();
    assert_eq!(stored.len(), 1);
    let orange = stored[0].clone();
    // The same colour or lower is not raised again; a higher one is, in place.
    assert!(!b.weather.raise(&orange).await.unwrap());
    let yellow = alert_in_force("33", Phenomenon::Wind, Colour::Yellow);
    assert!(!b.weather.raise(&yellow).await.unwrap());
    let red = alert_in_force("33", Phenomenon::Wind, Colour::Red);
    assert!(b.weather.raise(&red).await.unwrap());
    // Another domain or phenomenon is another alert.
    let coast = alert_in_force("3310", Phenomenon::WavesSubmersion, Colour::Orange);
    assert!(b.weather.raise(&coast).await.unwrap());
    let mut all = b.weather.in_force().await.unwrap();
    all.sort_by(|a, b| a.source.domain.cmp(&b.source.domain));
    assert_eq!(all, [red.clone(), coast.clone()]);
    // Lifting needs the alert as read: the replaced orange is not lifted, the red once.
    assert!(!b.weather.lift(&orange).await.unwrap());
    let (first, second) = tokio::join!(b.weather.lift(&red), b.weather.lift(&red));
    assert_eq!(
        [first.unwrap(), second.unwrap()]
            .iter()
            .filter(|l| **l)
            .count(),
        1
    );
    assert_eq!(b.weather.in_force().await.unwrap(), [coast]);
    // Once lifted, a new episode is raised afresh.
    assert!(b.weather.raise(&orange).await.unwrap());
}

async fn weather_documents_and_alert_sources_round_trip(b: Backend) {
    assert_eq!(b.weather.templates().await.unwrap(), None);
    assert_eq!(b.weather.feed_state().await.unwrap(), None);
    let templates = AlertTemplates {
        end_notice: false,
        alert_sms: "Alerte {{ couleur }} à {{ ville }}".into(),
        ..AlertTemplates::default()
    };
    b.weather.save_templates(&templates).await.unwrap();
    b.weather
        .save_templates(&AlertTemplates {
            end_sms: "Fin.".into(),
            ..templates.clone()
        })
        .await
        .unwrap();
    let stored = b.weather.templates().await.unwrap().unwrap();
    assert_eq!(
        (stored.end_sms.as_str(), stored.end_notice),
        ("Fin.", false)
    );
    let state = FeedState {
        checked_at: t0(),
        error: Some("le flux de vigilance a répondu 503".into()),
        last_success: Some(t0() - Duration::minutes(5)),
        product_time: Some(t0() - Duration::hours(1)),
        failures_in_a_row: 2,
    };
    b.weather.save_feed_state(&state).await.unwrap();
    assert_eq!(b.weather.feed_state().await.unwrap(), Some(state));
    // A weather alert's campaign keeps its source.
    let mut c = campaign("Vigilance", CampaignStatus::Draft, t0(), None);
    c.kind = CampaignKind::WeatherAlert;
    c.source = Some(alert_in_force("3310", Phenomenon::WavesSubmersion, Colour::Red).source);
    insert_created(&b, &c).await;
    assert_eq!(b.campaigns.get(c.id).await.unwrap(), Some(c));
}

on_both_backends!(
    weather_alerts_are_raised_once_per_colour_and_lifted_once,
    weather_documents_and_alert_sources_round_trip,
);
