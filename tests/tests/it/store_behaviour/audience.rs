//! The audience of a campaign: recipients by shard and page, counts, voice members.

use super::*;

use std::collections::{BTreeSet, HashSet};

use telmail_core::domain::campaign::CampaignStatus;
use telmail_core::domain::contact::{Channel, PhoneNumber};
use telmail_core::domain::delivery::{Progress, Suppression};
use telmail_core::domain::subscriber::{Choice, SubscriberId, SubscriberStatus};
use telmail_core::domain::topic::TopicSlug;
use telmail_core::ports::Recipient;

/// Every recipient of (topic, channel) in a shard, read in pages of `page` after each last id.
async fn all_pages(
    b: &Backend,
    topic: &str,
    channel: Channel,
    shard: u32,
    page: usize,
) -> Vec<Vec<Recipient>> {
    pages_of(b, topic, channel, (shard, b.shards), page).await
}

/// As [`all_pages`], the audience cut in `shards` shards.
async fn pages_of(
    b: &Backend,
    topic: &str,
    channel: Channel,
    (shard, shards): (u32, u32),
    page: usize,
) -> Vec<Vec<Recipient>> {
    let mut pages: Vec<Vec<Recipient>> = Vec::new();
    let mut after = None;
    loop {
        let got = b
            .audience
            .recipients(&slug(topic), channel, shard, shards, after, page)
            .await
            .unwrap();
        assert!(got.len() <= page, "a page holds at most `limit` recipients");
        if got.is_empty() {
            return pages;
        }
        // The fan-out takes a short page for the last.
        assert!(
            pages.last().is_none_or(|last| last.len() == page),
            "only the last page is short"
        );
        after = got.last().map(|r| r.id);
        pages.push(got);
    }
}

async fn recipients_are_active_sharded_and_paged_in_id_order(b: Backend) {
    let both = [
        ("alerte-meteo", Channel::Email),
        ("alerte-meteo", Channel::Sms),
    ];
    let mut email_expected = HashSet::new();
    let mut sms_expected = HashSet::new();
    for i in 0..40 {
        let email = format!("r{i}@exemple.fr");
        let phone = format!("06123{i:05}");
        let status = match i % 5 {
            3 => SubscriberStatus::Pending,
            4 => SubscriberStatus::Unsubscribed,
            _ => SubscriberStatus::Active,
        };
        let s = match i % 4 {
            // Email choice only.
            0 => member(Some(&email), Some(&phone), status, &both[..1]),
            // Phone only.
            1 => member(None, Some(&phone), status, &both[1..]),
            // Another topic.
            2 => member(
                Some(&email),
                None,
                status,
                &[("infos-pratiques", Channel::Email)],
            ),
            _ => member(Some(&email), Some(&phone), status, &both),
        };
        if status == SubscriberStatus::Active {
            for c in &s.choices {
                if c.topic.as_str() != "alerte-meteo" {
                    continue;
                }
                match c.channel {
                    Channel::Email => {
                        email_expected.insert((s.id, s.email.as_ref().unwrap().to_string()))
                    }
                    Channel::Sms => {
                        sms_expected.insert((s.id, s.phone.as_ref().unwrap().to_string()))
                    }
                    Channel::Voice => false,
                };
            }
        }
        b.subscribers.insert(&s).await.unwrap();
    }
    assert_eq!((email_expected.len(), sms_expected.len()), (12, 12));

    for (channel, expected) in [
        (Channel::Email, email_expected),
        (Channel::Sms, sms_expected),
    ] {
        let mut union = Vec::new();
        for shard in 0..b.shards {
            let pages = all_pages(&b, "alerte-meteo", channel, shard, 2).await;
            let flat: Vec<Recipient> = pages.into_iter().flatten().collect();
            assert!(
                flat.windows(2).all(|w| w[0].id < w[1].id),
                "pages follow each other in id order"
            );
            assert!(flat.iter().all(|r| r.id.shard(b.shards) == shard));
            union.extend(flat);
        }
        assert_eq!(
            union.len(),
            expected.len(),
            "{channel:?}: each recipient once"
        );
        let union: HashSet<(SubscriberId, String)> = union
            .into_iter()
            .map(|r| (r.id, r.address.to_string()))
            .collect();
        assert_eq!(
            union, expected,
            "{channel:?}: every active recipient, right address"
        );
        if channel == Channel::Sms {
            assert!(union.iter().all(|(_, address)| address.starts_with("+336")));
        }
    }

    // `after` is exclusive, whatever shard it came from.
    let shard0 = all_pages(&b, "alerte-meteo", Channel::Email, 0, 100).await;
    let shard0: Vec<Recipient> = shard0.into_iter().flatten().collect();
    if let Some(first) = shard0.first() {
        let rest = b
            .audience
            .recipients(
                &slug("alerte-meteo"),
                Channel::Email,
                0,
                b.shards,
                Some(first.id),
                100,
            )
            .await
            .unwrap();
        assert_eq!(rest, shard0[1..]);
    }
    assert!(b
        .audience
        .recipients(
            &slug("culture-animations"),
            Channel::Email,
            0,
            b.shards,
            None,
            10
        )
        .await
        .unwrap()
        .is_empty());
}

async fn recipients_of_several_shards_are_found_with_small_pages(b: Backend) {
    // Enough people that every shard has several pages.
    let mut ids = BTreeSet::new();
    for i in 0..60 {
        let s = member(
            Some(&format!("p{i}@exemple.fr")),
            None,
            SubscriberStatus::Active,
            &[("infos-pratiques", Channel::Email)],
        );
        ids.insert(s.id);
        b.subscribers.insert(&s).await.unwrap();
    }
    // One shard reads every membership partition; three share none of their partitions (a
    // partition holds members of each).
    for shards in [b.shards, 1, 3] {
        let mut seen = BTreeSet::new();
        for shard in 0..shards {
            for page in pages_of(&b, "infos-pratiques", Channel::Email, (shard, shards), 3).await {
                for r in page {
                    assert_eq!(r.id.shard(shards), shard);
                    assert!(seen.insert(r.id), "{} met twice", r.id);
                }
            }
        }
        assert_eq!(seen, ids, "{shards} shards");
    }
}

async fn count_recipients_dedups_topics_and_leaves_out_suppressed(b: Backend) {
    let meteo = ("alerte-meteo", Channel::Email);
    let infos = ("infos-pratiques", Channel::Email);
    let active = SubscriberStatus::Active;
    let people = [
        member(
            Some("a@exemple.fr"),
            Some("0612000001"),
            active,
            &[meteo, infos],
        ),
        member(Some("b@exemple.fr"), None, active, &[meteo]),
        member(
            None,
            Some("0612000003"),
            active,
            &[("infos-pratiques", Channel::Sms)],
        ),
        member(
            Some("d@exemple.fr"),
            None,
            SubscriberStatus::Pending,
            &[meteo],
        ),
        member(Some("e@exemple.fr"), None, active, &[infos]),
        member(
            Some("f@exemple.fr"),
            Some("0612000006"),
            active,
            &[infos, ("infos-pratiques", Channel::Sms)],
        ),
    ];
    for p in &people {
        b.subscribers.insert(p).await.unwrap();
    }
    let topics = [slug("alerte-meteo"), slug("infos-pratiques")];
    let count = |topics: Vec<TopicSlug>, channel| {
        let subs = b.reports.clone();
        async move { subs.count_recipients(&topics, channel).await.unwrap() }
    };
    assert_eq!(
        count(topics.to_vec(), Channel::Email).await,
        4,
        "a, b, e, f"
    );
    assert_eq!(count(vec![slug("alerte-meteo")], Channel::Email).await, 2);
    assert_eq!(count(topics.to_vec(), Channel::Sms).await, 2, "c, f");
    assert_eq!(count(vec![], Channel::Email).await, 0);

    let suppress = |address: &str| Suppression {
        address: address.into(),
        reason: "bounce".into(),
        at: t0(),
    };
    b.suppressions
        .suppress(&suppress("e@exemple.fr"))
        .await
        .unwrap();
    b.suppressions
        .suppress(&suppress("+33612000006"))
        .await
        .unwrap();
    assert_eq!(
        count(topics.to_vec(), Channel::Email).await,
        3,
        "e is suppressed"
    );
    assert_eq!(
        count(topics.to_vec(), Channel::Sms).await,
        1,
        "f's phone is suppressed"
    );
}

async fn voice_members_are_found_and_their_counters_kept(b: Backend) {
    // GIVEN a landline taking weather alerts by call
    let mut s = subscriber(None, None);
    s.phone = Some(PhoneNumber::parse_for_calls("05 56 22 33 44").unwrap());
    s.choices = [Choice {
        topic: slug("alerte-meteo"),
        channel: Channel::Voice,
    }]
    .into();
    b.subscribers.insert(&s).await.unwrap();
    // THEN it is a recipient of (alerte-meteo, voice) only, at its number
    let mut voice = Vec::new();
    let mut sms = Vec::new();
    for shard in 0..b.shards {
        voice.extend(all_pages(&b, "alerte-meteo", Channel::Voice, shard, 10).await);
        sms.extend(all_pages(&b, "alerte-meteo", Channel::Sms, shard, 10).await);
    }
    let found: Vec<&Recipient> = voice.iter().flatten().collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].address.as_str(), "+33556223344");
    assert!(sms.iter().all(|p| p.is_empty()));
    assert_eq!(
        b.reports
            .count_recipients(&[slug("alerte-meteo")], Channel::Voice)
            .await
            .unwrap(),
        1
    );

    // AND a campaign's voice counters add up beside the others
    let c = campaign("Appel", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    let mut delta = Progress::default();
    delta.voice.targeted = 3;
    delta.voice.sent = 2;
    delta.sms.sent = 1;
    b.campaigns.add_progress(c.id, &delta).await.unwrap();
    delta.voice.targeted = 0;
    delta.voice.failed = 1;
    let p = b.campaigns.add_progress(c.id, &delta).await.unwrap();
    assert_eq!(
        (
            p.totals.voice.targeted,
            p.totals.voice.sent,
            p.totals.voice.failed
        ),
        (3, 4, 1)
    );
    assert_eq!(p.totals.sms.sent, 2);
    assert_eq!(b.campaigns.progress(c.id).await.unwrap(), p);
}

on_both_backends!(
    recipients_are_active_sharded_and_paged_in_id_order,
    recipients_of_several_shards_are_found_with_small_pages,
    count_recipients_dedups_topics_and_leaves_out_suppressed,
    voice_members_are_found_and_their_counters_kept,
);
