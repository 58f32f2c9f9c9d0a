//! The subscriber file: insertion, unique addresses, updates, deletion, search and the reports.

use super::*;

use std::collections::{BTreeSet, HashSet};
use std::str::FromStr;

use chrono::{Duration, TimeZone, Utc};
use telmail_core::clock::Clock;
use telmail_core::domain::campaign::CampaignStatus;
use telmail_core::domain::contact::{Channel, Email, PhoneNumber};
use telmail_core::domain::delivery::{Delivery, DeliveryKey, DeliveryResult, DeliveryStatus};
use telmail_core::domain::subscriber::{
    Choice, PendingConfirmation, Subscriber, SubscriberId, SubscriberState, SubscriberStatus,
};
use telmail_core::domain::topic::TopicSlug;
use telmail_core::error::StoreError;
use telmail_core::ports::SubscriberQuery;

async fn round_trip_and_lookups(b: Backend) {
    let s = subscriber(Some("a@exemple.fr"), Some("0612345678"));
    b.subscribers.insert(&s).await.unwrap();
    assert_eq!(b.subscribers.get(s.id).await.unwrap().unwrap(), s);
    assert_eq!(
        b.subscribers
            .find_by_email(s.email.as_ref().unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
        s.id
    );
    assert_eq!(
        b.subscribers
            .find_by_phone(s.phone.as_ref().unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
        s.id
    );
    assert!(b
        .subscribers
        .get(SubscriberId::new())
        .await
        .unwrap()
        .is_none());
}

async fn an_address_belongs_to_one_subscriber(b: Backend) {
    let a = subscriber(Some("a@exemple.fr"), Some("0612345678"));
    b.subscribers.insert(&a).await.unwrap();
    let same_email = subscriber(Some("a@exemple.fr"), None);
    assert!(matches!(
        b.subscribers.insert(&same_email).await,
        Err(StoreError::Conflict(_))
    ));
    let same_phone = subscriber(Some("b@exemple.fr"), Some("+33612345678"));
    assert!(matches!(
        b.subscribers.insert(&same_phone).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        b.subscribers
            .find_by_email(&Email::from_str("b@exemple.fr").unwrap())
            .await
            .unwrap()
            .is_none(),
        "a refused insert leaves nothing"
    );

    let mut c = subscriber(Some("c@exemple.fr"), None);
    b.subscribers.insert(&c).await.unwrap();
    c.email = Some(Email::from_str("a@exemple.fr").unwrap());
    assert!(matches!(
        b.subscribers.update(&c).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        b.subscribers
            .get(c.id)
            .await
            .unwrap()
            .unwrap()
            .email
            .unwrap()
            .as_str(),
        "c@exemple.fr"
    );
}

async fn many_are_inserted_at_once_and_a_clash_refuses_only_its_own(b: Backend) {
    let taken = subscriber(Some("deja@exemple.fr"), None);
    b.subscribers.insert(&taken).await.unwrap();
    let batch = vec![
        subscriber(Some("un@exemple.fr"), Some("0611111111")),
        subscriber(Some("deja@exemple.fr"), None),
        subscriber(Some("deux@exemple.fr"), Some("0611111111")),
        subscriber(Some("trois@exemple.fr"), None),
    ];
    let answers = b.subscribers.insert_many(&batch).await.unwrap();
    assert_eq!(answers.len(), 4);
    assert!(answers[3].is_ok(), "{answers:?}");
    assert!(matches!(answers[1], Err(StoreError::Conflict(_))));
    // Two of the batch with one number: one is written, the other refused (which one, a store
    // writing several at once decides).
    let first_kept = answers[0].is_ok();
    assert_ne!(first_kept, answers[2].is_ok(), "{answers:?}");
    for (sub, kept) in batch.iter().zip([first_kept, false, !first_kept, true]) {
        assert_eq!(b.subscribers.get(sub.id).await.unwrap().is_some(), kept);
    }
    let owner = b
        .subscribers
        .find_by_phone(&PhoneNumber::from_str("0611111111").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.id, batch[if first_kept { 0 } else { 2 }].id);
    assert!(b.subscribers.insert_many(&[]).await.unwrap().is_empty());
}

async fn updates_replace_contacts_and_choices(b: Backend) {
    let mut s = subscriber(Some("a@exemple.fr"), None);
    b.subscribers.insert(&s).await.unwrap();
    s.email = Some(Email::from_str("nouvelle@exemple.fr").unwrap());
    s.phone = Some(PhoneNumber::from_str("0781234501").unwrap());
    s.choices.insert(Choice {
        topic: TopicSlug::from_str("infos-pratiques").unwrap(),
        channel: Channel::Sms,
    });
    b.subscribers.update(&s).await.unwrap();
    assert_eq!(b.subscribers.get(s.id).await.unwrap().unwrap(), s);
    assert!(
        b.subscribers
            .find_by_email(&Email::from_str("a@exemple.fr").unwrap())
            .await
            .unwrap()
            .is_none(),
        "the old address is free"
    );
    let other = subscriber(Some("a@exemple.fr"), None);
    b.subscribers.insert(&other).await.unwrap();
    // A subscriber erased meanwhile is not found (404 for staff), not a failure of the store.
    let gone = subscriber(Some("efface@exemple.fr"), None);
    assert!(matches!(
        b.subscribers.update(&gone).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn delete_frees_everything(b: Backend) {
    let s = subscriber(Some("a@exemple.fr"), Some("0612345678"));
    b.subscribers.insert(&s).await.unwrap();
    assert!(b.subscribers.delete(s.id).await.unwrap());
    assert!(!b.subscribers.delete(s.id).await.unwrap());
    assert!(b.subscribers.get(s.id).await.unwrap().is_none());
    assert!(b
        .subscribers
        .find_by_phone(s.phone.as_ref().unwrap())
        .await
        .unwrap()
        .is_none());
    b.subscribers
        .insert(&subscriber(Some("a@exemple.fr"), Some("0612345678")))
        .await
        .unwrap();
}

async fn purge_removes_only_expired_pending(b: Backend) {
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let pending = |email: &str, expires_in: Duration| {
        let mut s = subscriber(Some(email), None);
        s.state = SubscriberState::Pending(PendingConfirmation {
            expires_at: now + expires_in,
            email: None,
            email_proven: false,
            phone: None,
            code_digest: None,
        });
        s
    };
    let old = pending("old@exemple.fr", Duration::hours(-1));
    let fresh = pending("fresh@exemple.fr", Duration::hours(1));
    let active = subscriber(Some("active@exemple.fr"), None);
    for s in [&old, &fresh, &active] {
        b.subscribers.insert(s).await.unwrap();
    }
    assert_eq!(b.subscribers.purge_expired_pending(now).await.unwrap(), 1);
    assert!(b.subscribers.get(old.id).await.unwrap().is_none());
    assert!(b.subscribers.get(fresh.id).await.unwrap().is_some());
    assert!(b.subscribers.get(active.id).await.unwrap().is_some());
}

async fn get_many_returns_the_subscribers_found(b: Backend) {
    let a = subscriber(Some("a@exemple.fr"), None);
    let c = subscriber(Some("c@exemple.fr"), None);
    b.subscribers.insert(&a).await.unwrap();
    b.subscribers.insert(&c).await.unwrap();
    let mut found = b
        .audience
        .get_many(&[c.id, SubscriberId::new(), a.id])
        .await
        .unwrap();
    found.sort_by_key(|s| s.email.clone());
    assert_eq!(found, [a.clone(), c.clone()]);
    assert!(b.audience.get_many(&[]).await.unwrap().is_empty());

    // More ids than one SQL list holds.
    let mut many: Vec<SubscriberId> = (0..1200).map(|_| SubscriberId::new()).collect();
    many[700] = a.id;
    assert_eq!(b.audience.get_many(&many).await.unwrap(), [a]);
}

async fn changes_since_an_instant_are_reported(b: Backend) {
    let mut edited = subscriber(Some("edite@exemple.fr"), None);
    let erased = subscriber(Some("efface@exemple.fr"), None);
    let untouched = subscriber(Some("tranquille@exemple.fr"), None);
    for s in [&edited, &erased, &untouched] {
        b.subscribers.insert(s).await.unwrap();
    }
    b.clock.advance(Duration::milliseconds(5));
    let since = b.clock.now();
    b.clock.advance(Duration::milliseconds(5));
    edited.unsubscribe(b.clock.now());
    b.subscribers.update(&edited).await.unwrap();
    assert!(b.subscribers.delete(erased.id).await.unwrap());
    let asked = [edited.id, erased.id, untouched.id];
    assert_eq!(
        b.audience.changed_since(&asked, since).await.unwrap(),
        HashSet::from([edited.id, erased.id])
    );
    assert!(b
        .audience
        .changed_since(&[untouched.id], since)
        .await
        .unwrap()
        .is_empty());
    assert!(b
        .audience
        .changed_since(&[], since)
        .await
        .unwrap()
        .is_empty());
    // A change made after a question is seen by the questions asked five seconds later (a
    // store may read the log only for what it gained since, at most every 5 s of the service's
    // time).
    let mut later = untouched.clone();
    b.clock.advance(Duration::milliseconds(5));
    later.unsubscribe(b.clock.now());
    b.subscribers.update(&later).await.unwrap();
    b.clock.advance(Duration::seconds(6));
    assert_eq!(
        b.audience.changed_since(&asked, since).await.unwrap(),
        HashSet::from([edited.id, erased.id, untouched.id])
    );
}

async fn search_filters_by_text_topic_and_status_newest_first(b: Backend) {
    let mut people = [
        member(
            Some("marie_dupont@exemple.fr"),
            Some("0612345678"),
            SubscriberStatus::Active,
            &[("alerte-meteo", Channel::Sms)],
        ),
        member(
            Some("marieXdupont@exemple.fr"),
            None,
            SubscriberStatus::Pending,
            &[("alerte-meteo", Channel::Email)],
        ),
        member(
            Some("jean@arcachon.fr"),
            Some("0798765432"),
            SubscriberStatus::Active,
            &[("infos-pratiques", Channel::Email)],
        ),
        member(
            Some("100%@exemple.fr"),
            None,
            SubscriberStatus::Unsubscribed,
            &[],
        ),
    ];
    for (i, p) in people.iter_mut().enumerate() {
        p.created_at = t0() + Duration::minutes(i as i64);
        b.subscribers.insert(p).await.unwrap();
    }
    let ids = |found: Vec<Subscriber>| found.into_iter().map(|s| s.id).collect::<Vec<_>>();
    let search = |text: Option<&str>,
                  topic: Option<&str>,
                  status: Option<SubscriberStatus>,
                  limit: usize,
                  offset: usize| {
        let q = SubscriberQuery {
            text: text.map(str::to_owned),
            topic: topic.map(slug),
            status,
            limit,
            offset,
        };
        let subs = b.reports.clone();
        async move { subs.search(&q).await.unwrap() }
    };
    let [p0, p1, p2, p3] = [people[0].id, people[1].id, people[2].id, people[3].id];

    assert_eq!(
        ids(search(None, None, None, 10, 0).await),
        [p3, p2, p1, p0],
        "newest first"
    );
    assert_eq!(
        ids(search(None, None, None, 2, 1).await),
        [p2, p1],
        "limit and offset"
    );
    assert_eq!(
        search(Some("dupont"), None, None, 10, 0).await,
        [people[1].clone(), people[0].clone()],
        "whole subscribers come back"
    );
    assert_eq!(
        ids(search(Some("marie_"), None, None, 10, 0).await),
        [p0],
        "`_` is literal"
    );
    assert_eq!(
        ids(search(Some("100%"), None, None, 10, 0).await),
        [p3],
        "`%` is literal"
    );
    assert_eq!(ids(search(Some("%"), None, None, 10, 0).await), [p3]);
    assert_eq!(ids(search(Some("ARCACHON"), None, None, 10, 0).await), [p2]);
    assert_eq!(
        ids(search(Some("06 12 34"), None, None, 10, 0).await),
        [p0],
        "phone typed the French way"
    );
    assert_eq!(ids(search(Some("+33798"), None, None, 10, 0).await), [p2]);
    assert_eq!(ids(search(Some("87654"), None, None, 10, 0).await), [p2]);
    assert_eq!(
        ids(search(None, Some("alerte-meteo"), None, 10, 0).await),
        [p1, p0],
        "topic on any channel"
    );
    assert_eq!(
        ids(search(None, None, Some(SubscriberStatus::Active), 10, 0).await),
        [p2, p0]
    );
    assert_eq!(
        ids(search(
            Some("dupont"),
            Some("alerte-meteo"),
            Some(SubscriberStatus::Pending),
            10,
            0
        )
        .await),
        [p1],
        "every filter must match"
    );
    assert!(search(Some("personne"), None, None, 10, 0).await.is_empty());
    // The whole file in one read (the export), newest first.
    assert_eq!(
        ids(search(None, None, None, usize::MAX, 0).await),
        [p3, p2, p1, p0]
    );
}

async fn count_by_topic_counts_active_subscribers(b: Backend) {
    let active = SubscriberStatus::Active;
    let meteo_mail = ("alerte-meteo", Channel::Email);
    let meteo_sms = ("alerte-meteo", Channel::Sms);
    let people = [
        member(
            Some("a@exemple.fr"),
            Some("0612000001"),
            active,
            &[meteo_mail, meteo_sms],
        ),
        member(Some("b@exemple.fr"), None, active, &[meteo_mail]),
        member(
            Some("c@exemple.fr"),
            None,
            active,
            &[("infos-pratiques", Channel::Email)],
        ),
        member(
            Some("d@exemple.fr"),
            None,
            SubscriberStatus::Pending,
            &[meteo_mail],
        ),
        member(
            Some("e@exemple.fr"),
            None,
            SubscriberStatus::Unsubscribed,
            &[meteo_mail],
        ),
    ];
    for p in &people {
        b.subscribers.insert(p).await.unwrap();
    }
    let mut counts = b.reports.count_by_topic().await.unwrap();
    counts.sort();
    assert_eq!(
        counts,
        [
            (slug("alerte-meteo"), Channel::Email, 2),
            (slug("alerte-meteo"), Channel::Sms, 1),
            (slug("infos-pratiques"), Channel::Email, 1),
        ]
    );
}

async fn the_whole_file_is_paged_once_whatever_the_page_size(b: Backend) {
    let mut all = BTreeSet::new();
    for i in 0..23 {
        let sub = subscriber(Some(&format!("page{i}@example.fr")), None);
        b.subscribers.insert(&sub).await.unwrap();
        all.insert(sub.id);
    }
    for size in [1, 5, 23, 100] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = b.reports.page_all(cursor.as_deref(), size).await.unwrap();
            assert!(page.len() <= size);
            seen.extend(page.iter().map(|s| s.id));
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len(), all.len(), "page size {size}: each once");
        assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), all);
    }
}

async fn erasure_removes_finished_deliveries_and_leaves_those_in_flight(b: Backend) {
    let s = subscriber(Some("a@exemple.fr"), Some("0612345678"));
    let other = subscriber(Some("b@exemple.fr"), None);
    b.subscribers.insert(&s).await.unwrap();
    b.subscribers.insert(&other).await.unwrap();
    let c = campaign("Alerte", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    let sent = DeliveryKey {
        campaign: c.id,
        subscriber: s.id,
        channel: Channel::Email,
    };
    let in_flight = DeliveryKey {
        channel: Channel::Sms,
        ..sent
    };
    let theirs = DeliveryKey {
        subscriber: other.id,
        ..sent
    };
    // In flight: waiting in the queue for a retry.
    b.deliveries
        .create_batch(&[queued(in_flight)])
        .await
        .unwrap();
    let claimed = b.deliveries.claim(&[sent, theirs]).await.unwrap().won;
    let outcomes: Vec<(Delivery, DeliveryResult)> = claimed
        .into_iter()
        .map(|d| {
            let ok = DeliveryResult::Sent {
                provider_id: Some(format!("ses-{}", d.key.subscriber)),
                segments: 0,
            };
            (d, ok)
        })
        .collect();
    b.deliveries.finish(&outcomes).await.unwrap();

    assert!(b.subscribers.delete(s.id).await.unwrap());
    let mut left: Vec<(DeliveryKey, DeliveryStatus)> = b
        .deliveries
        .list(c.id, 10, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.key, d.status))
        .collect();
    left.sort_by_key(|(k, _)| *k);
    let mut expected = vec![
        (in_flight, DeliveryStatus::Queued),
        (theirs, DeliveryStatus::Sent),
    ];
    expected.sort_by_key(|(k, _)| *k);
    assert_eq!(
        left, expected,
        "the queued one stays, for the sender to close as suppressed"
    );
}

on_both_backends!(
    round_trip_and_lookups,
    an_address_belongs_to_one_subscriber,
    many_are_inserted_at_once_and_a_clash_refuses_only_its_own,
    updates_replace_contacts_and_choices,
    delete_frees_everything,
    purge_removes_only_expired_pending,
    get_many_returns_the_subscribers_found,
    changes_since_an_instant_are_reported,
    search_filters_by_text_topic_and_status_newest_first,
    count_by_topic_counts_active_subscribers,
    the_whole_file_is_paged_once_whatever_the_page_size,
    erasure_removes_finished_deliveries_and_leaves_those_in_flight,
);
