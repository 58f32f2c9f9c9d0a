//! Topics and zones, and the zones subscribers and campaigns keep.

use super::*;

use std::str::FromStr;

use telmail_core::domain::campaign::CampaignStatus;
use telmail_core::domain::topic::{default_topics, TopicSlug};
use telmail_core::domain::zone::{Zone, ZoneInput, ZoneSlug};

async fn topics_keep_their_order_and_are_not_overwritten(b: Backend) {
    for t in default_topics() {
        assert!(b.topics.insert_if_absent(&t).await.unwrap());
    }
    let mut renamed = default_topics()[0].clone();
    renamed.name = "Autre nom".into();
    assert!(!b.topics.insert_if_absent(&renamed).await.unwrap());
    let listed = b.topics.list().await.unwrap();
    assert_eq!(listed, default_topics());
    assert_eq!(
        b.topics.get(&renamed.slug).await.unwrap().unwrap().name,
        "Culture/Animations"
    );
    assert!(b
        .topics
        .get(&TopicSlug::from_str("inconnu").unwrap())
        .await
        .unwrap()
        .is_none());
}

async fn topics_are_updated_in_place(b: Backend) {
    for t in default_topics() {
        b.topics.insert_if_absent(&t).await.unwrap();
    }
    let mut meteo = default_topics()[2].clone();
    meteo.name = "Alertes météo et submersion".into();
    meteo.active = false;
    assert!(b.topics.update(&meteo).await.unwrap());
    assert_eq!(b.topics.get(&meteo.slug).await.unwrap().unwrap(), meteo);
    assert_eq!(b.topics.list().await.unwrap()[2], meteo, "order is kept");
    let mut unknown = meteo.clone();
    unknown.slug = TopicSlug::from_str("inconnu").unwrap();
    assert!(!b.topics.update(&unknown).await.unwrap());
}

fn zone(name: &str, streets: &[&str]) -> Zone {
    Zone::parse(&ZoneInput {
        name: Some(name.into()),
        description: Some(format!("La zone {name}.")),
        streets: streets.iter().map(|s| s.to_string()).collect(),
    })
    .unwrap()
}

async fn zones_are_created_once_and_listed_by_slug(b: Backend) {
    // GIVEN no zone
    assert!(b.zones.zones().await.unwrap().is_empty());
    // WHEN two are defined, and the first again with other streets
    let front = zone("Front de mer", &["Boulevard de la Plage"]);
    let moulleau = zone("Le Moulleau", &[]);
    assert!(b.zones.insert_zone(&moulleau).await.unwrap());
    assert!(b.zones.insert_zone(&front).await.unwrap());
    let again = zone("Front de mer", &["Autre rue"]);
    assert!(!b.zones.insert_zone(&again).await.unwrap());
    // THEN both are listed by slug, the first as written first
    assert_eq!(b.zones.zones().await.unwrap(), vec![front, moulleau]);
}

async fn subscribers_and_campaigns_keep_their_zones(b: Backend) {
    let mut s = subscriber(Some("zone@exemple.fr"), None);
    s.zones = [
        ZoneSlug::from_str("front-de-mer").unwrap(),
        ZoneSlug::from_str("aiguillon").unwrap(),
    ]
    .into();
    b.subscribers.insert(&s).await.unwrap();
    assert_eq!(
        b.subscribers.get(s.id).await.unwrap().unwrap().zones,
        s.zones
    );
    let many = b.audience.get_many(&[s.id]).await.unwrap();
    assert_eq!(many[0].zones, s.zones);
    s.zones.clear();
    b.subscribers.update(&s).await.unwrap();
    assert!(b
        .subscribers
        .get(s.id)
        .await
        .unwrap()
        .unwrap()
        .zones
        .is_empty());

    let mut c = campaign("Submersion", CampaignStatus::Draft, t0(), None);
    c.zones = Some(vec![ZoneSlug::from_str("front-de-mer").unwrap()]);
    c.include_unzoned = true;
    insert_created(&b, &c).await;
    assert_eq!(b.campaigns.get(c.id).await.unwrap().unwrap(), c);
}

async fn active_subscribers_are_counted_by_zone_named(b: Backend) {
    // GIVEN residents on the sea front, on both the sea front and Le Moulleau, on none, and a
    // pending and a departed resident of the sea front
    let front = ZoneSlug::from_str("front-de-mer").unwrap();
    let moulleau = ZoneSlug::from_str("le-moulleau").unwrap();
    let with_zones = |email: &str, status, zones: &[&ZoneSlug]| {
        let mut s = member(
            Some(email),
            None,
            status,
            &[("alerte-meteo", Channel::Email)],
        );
        s.zones = zones.iter().map(|z| (*z).clone()).collect();
        s
    };
    for s in [
        with_zones("a@exemple.fr", SubscriberStatus::Active, &[&front]),
        with_zones("b@exemple.fr", SubscriberStatus::Active, &[&front]),
        with_zones(
            "c@exemple.fr",
            SubscriberStatus::Active,
            &[&front, &moulleau],
        ),
        with_zones("d@exemple.fr", SubscriberStatus::Active, &[]),
        with_zones("e@exemple.fr", SubscriberStatus::Pending, &[&front]),
        with_zones("f@exemple.fr", SubscriberStatus::Unsubscribed, &[&moulleau]),
    ] {
        b.subscribers.insert(&s).await.unwrap();
    }
    // WHEN they are counted by zone
    let mut counts = b.reports.count_by_zone().await.unwrap();
    counts.sort();
    // THEN only the active count, once in each zone they named, and once without a zone
    assert_eq!(
        counts,
        vec![(None, 1), (Some(front), 3), (Some(moulleau), 1)]
    );
}

async fn nobody_is_counted_by_zone_in_an_empty_file(b: Backend) {
    assert_eq!(b.reports.count_by_zone().await.unwrap(), vec![]);
}

on_both_backends!(
    topics_keep_their_order_and_are_not_overwritten,
    topics_are_updated_in_place,
    zones_are_created_once_and_listed_by_slug,
    subscribers_and_campaigns_keep_their_zones,
    active_subscribers_are_counted_by_zone_named,
    nobody_is_counted_by_zone_in_an_empty_file,
);
