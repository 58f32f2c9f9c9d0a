//! The public archive, the agenda and the website's alert record.

use super::*;

use chrono::Duration;
use telmail_core::domain::archive::{ArchivedMessage, PublicAlert, PublicAlerts};
use telmail_core::domain::campaign::{CampaignId, CampaignKind};
use telmail_core::domain::weather::{Colour, Phenomenon};

fn archived(minutes: i64, topics: &[&str], event: Option<&str>) -> ArchivedMessage {
    ArchivedMessage {
        id: CampaignId::new(),
        title: format!("Message à {minutes} min"),
        topics: topics.iter().map(|t| slug(t)).collect(),
        sent_at: t0() + Duration::minutes(minutes),
        email: None,
        sms: Some(format!("Texte {minutes}")),
        kind: CampaignKind::Standard,
        alert: None,
        event_date: event.map(|d| d.parse().unwrap()),
    }
}

async fn the_archive_pages_newest_first_by_topic_and_a_withdrawn_message_stays_out(b: Backend) {
    // GIVEN four messages, two of them on « culture-animations »
    let a = b.archive.as_ref();
    let oldest = archived(1, &["infos-pratiques"], None);
    let culture = archived(2, &["culture-animations", "infos-pratiques"], None);
    let newer = archived(3, &["culture-animations"], None);
    let newest = archived(4, &["alerte-meteo"], None);
    for m in [&newer, &oldest, &newest, &culture] {
        assert!(a.publish(m).await.unwrap());
    }
    let ids = |page: Vec<ArchivedMessage>| page.into_iter().map(|m| m.id).collect::<Vec<_>>();
    // WHEN the archive is read two at a time
    let first = a.archive_page(None, None, 2).await.unwrap();
    let second = a
        .archive_page(None, Some(first[1].cursor()), 2)
        .await
        .unwrap();
    let third = a
        .archive_page(None, Some(second[1].cursor()), 2)
        .await
        .unwrap();
    // THEN pages go newest first, each message once
    assert_eq!(ids(first), [newest.id, newer.id]);
    assert_eq!(ids(second), [culture.id, oldest.id]);
    assert!(third.is_empty());
    // AND a topic's page holds its messages only, whole
    let topic = slug("culture-animations");
    let page = a.archive_page(Some(&topic), None, 10).await.unwrap();
    assert_eq!(page, [newer.clone(), culture.clone()]);
    assert_eq!(a.archived(culture.id).await.unwrap(), Some(culture.clone()));
    // WHEN staff withdraw one, THEN it is nowhere, and publishing it again changes nothing
    assert!(a.withdraw(culture.id).await.unwrap());
    assert!(!a.withdraw(culture.id).await.unwrap());
    assert!(!a.withdraw(CampaignId::new()).await.unwrap());
    assert!(!a.publish(&culture).await.unwrap());
    assert_eq!(a.archived(culture.id).await.unwrap(), None);
    assert_eq!(
        ids(a.archive_page(Some(&topic), None, 10).await.unwrap()),
        [newer.id]
    );
    assert_eq!(
        ids(a.archive_page(None, None, 10).await.unwrap()),
        [newest.id, newer.id, oldest.id]
    );
}

async fn the_agenda_lists_events_soonest_first_and_the_alert_record_round_trips(b: Backend) {
    // GIVEN messages announcing events on three days, and one announcing none
    let a = b.archive.as_ref();
    let past = archived(1, &["culture-animations"], Some("2026-11-02"));
    let later = archived(2, &["culture-animations"], Some("2026-12-24"));
    let sooner = archived(3, &["infos-pratiques"], Some("2026-12-05"));
    let plain = archived(4, &["infos-pratiques"], None);
    for m in [&past, &later, &sooner, &plain] {
        a.publish(m).await.unwrap();
    }
    // WHEN the agenda is read from 1 December
    let from = "2026-12-01".parse().unwrap();
    let agenda: Vec<_> = a.agenda(from, 10).await.unwrap();
    // THEN it holds the coming events, soonest first
    assert_eq!(agenda, [sooner.clone(), later.clone()]);
    a.withdraw(sooner.id).await.unwrap();
    assert_eq!(a.agenda(from, 10).await.unwrap(), [later]);
    // AND the alert record starts empty and keeps what is saved
    assert_eq!(a.public_alerts().await.unwrap(), PublicAlerts::default());
    let record = PublicAlerts {
        alerts: vec![PublicAlert {
            campaign: CampaignId::new(),
            domain: "3310".into(),
            phenomenon: Phenomenon::WavesSubmersion,
            colour: Colour::Orange,
            begins: t0(),
            ends: t0() + Duration::hours(12),
            text: "Vigilance orange vagues-submersion à Arcachon.".into(),
            path: "/messages/x-vigilance".into(),
        }],
    };
    a.save_public_alerts(&record).await.unwrap();
    assert_eq!(a.public_alerts().await.unwrap(), record);
}

on_both_backends!(
    the_archive_pages_newest_first_by_topic_and_a_withdrawn_message_stays_out,
    the_agenda_lists_events_soonest_first_and_the_alert_record_round_trips,
);
