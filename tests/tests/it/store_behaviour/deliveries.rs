//! Deliveries: created once, claimed once, finished, listed; and suppressions.

use super::*;

use std::collections::HashSet;

use chrono::Duration;
use telmail_core::clock::Month;
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::contact::Channel;
use telmail_core::domain::delivery::{
    ChannelCounts, CreateOutcome, Delivery, DeliveryKey, DeliveryResult, DeliveryStatus,
    NewDelivery, Progress, Suppression,
};
use telmail_core::domain::reach::{ReachOutcome, ReachReport};
use telmail_core::ports::Counter;

async fn deliveries_are_created_once(b: Backend) {
    let c = CampaignId::new();
    let (k1, k2, k3) = (
        key(c, Channel::Email),
        key(c, Channel::Sms),
        key(c, Channel::Email),
    );
    let blocked = NewDelivery {
        key: k3,
        status: DeliveryStatus::Suppressed,
        error: Some("adresse sur liste de suppression".into()),
    };
    let first = b
        .deliveries
        .create_batch(&[queued(k1), queued(k2), blocked.clone(), queued(k1)])
        .await
        .unwrap();
    assert_eq!(
        first,
        [
            CreateOutcome::Created,
            CreateOutcome::Created,
            CreateOutcome::Created,
            CreateOutcome::Exists(DeliveryStatus::Queued),
        ]
    );
    b.deliveries.claim(&[k2]).await.unwrap();
    let again = b
        .deliveries
        .create_batch(&[queued(k3), queued(k2), queued(k1)])
        .await
        .unwrap();
    assert_eq!(
        again,
        [
            CreateOutcome::Exists(DeliveryStatus::Suppressed),
            CreateOutcome::Exists(DeliveryStatus::Sending),
            CreateOutcome::Exists(DeliveryStatus::Queued),
        ]
    );
    // Same person on the other channel, or in another campaign: distinct deliveries.
    let other_channel = DeliveryKey {
        channel: Channel::Sms,
        ..k1
    };
    let other_campaign = DeliveryKey {
        campaign: CampaignId::new(),
        ..k1
    };
    assert_eq!(
        b.deliveries
            .create_batch(&[queued(other_channel), queued(other_campaign)])
            .await
            .unwrap(),
        [CreateOutcome::Created, CreateOutcome::Created]
    );
    assert!(b.deliveries.create_batch(&[]).await.unwrap().is_empty());
    let suppressed = b
        .deliveries
        .list(c, 10, 0)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.key == k3)
        .unwrap();
    assert_eq!(
        (suppressed.status, suppressed.error, suppressed.attempts),
        (DeliveryStatus::Suppressed, blocked.error, 0)
    );
}

fn sent(provider_id: &str, segments: u32) -> DeliveryResult {
    DeliveryResult::Sent {
        provider_id: Some(provider_id.into()),
        segments,
    }
}

fn failed(error: &str) -> DeliveryResult {
    DeliveryResult::Failed {
        error: error.into(),
    }
}

fn suppressed(reason: &str) -> DeliveryResult {
    DeliveryResult::Suppressed {
        reason: reason.into(),
    }
}

fn retry(error: &str) -> DeliveryResult {
    DeliveryResult::Retry {
        error: error.into(),
    }
}

async fn a_delivery_is_claimed_once_and_finished_with_its_outcome(b: Backend) {
    let c = CampaignId::new();
    let keys: Vec<DeliveryKey> = (0..4).map(|_| key(c, Channel::Sms)).collect();
    let news: Vec<NewDelivery> = keys.iter().copied().map(queued).collect();
    b.deliveries.create_batch(&news).await.unwrap();
    let absent = key(c, Channel::Email);

    let claimed = b
        .deliveries
        .claim(&[keys[0], keys[1], absent, keys[2], keys[3], keys[0]])
        .await
        .unwrap()
        .won;
    assert_eq!(
        claimed.iter().map(|d| d.key).collect::<Vec<_>>(),
        [keys[0], keys[1], absent, keys[2], keys[3]],
        "an absent delivery is created claimed; a repeated key is won once"
    );
    assert!(claimed
        .iter()
        .all(|d| d.status == DeliveryStatus::Sending && d.attempts == 1));
    let second = b
        .deliveries
        .claim(&[keys[0], keys[1], absent, keys[2], keys[3]])
        .await
        .unwrap();
    assert!(second.won.is_empty(), "a second claim wins nothing");
    assert_eq!(second.held, claimed, "and finds each held as claimed");
    let claimed_as = |k: DeliveryKey| claimed.iter().find(|d| d.key == k).unwrap().clone();

    b.deliveries
        .finish(&[
            (claimed_as(keys[0]), sent("sns-1", 2)),
            (claimed_as(keys[1]), failed("numéro invalide")),
            (claimed_as(keys[2]), suppressed("abonné effacé")),
            (claimed_as(keys[3]), retry("throttled")),
        ])
        .await
        .unwrap();
    let state = |key: DeliveryKey| {
        let deliveries = b.deliveries.clone();
        async move {
            let d = deliveries
                .list(key.campaign, 100, 0)
                .await
                .unwrap()
                .into_iter()
                .find(|d| d.key == key)
                .unwrap();
            (d.status, d.attempts, d.provider_id, d.error, d.segments)
        }
    };
    let error = |e: &str| Some(e.to_owned());
    let mut states = Vec::new();
    for k in &keys {
        states.push(state(*k).await);
    }
    assert_eq!(
        states,
        [
            (DeliveryStatus::Sent, 1, Some("sns-1".into()), None, 2),
            (DeliveryStatus::Failed, 1, None, error("numéro invalide"), 0),
            (
                DeliveryStatus::Suppressed,
                1,
                None,
                error("abonné effacé"),
                0
            ),
            (DeliveryStatus::Queued, 1, None, error("throttled"), 0),
        ]
    );

    // Only the retried one can be claimed again, with its second attempt counted.
    let again = b.deliveries.claim(&keys).await.unwrap().won;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].key, again[0].status, again[0].attempts),
        (keys[3], DeliveryStatus::Sending, 2)
    );
    b.deliveries
        .finish(&[(again[0].clone(), sent("sns-2", 1))])
        .await
        .unwrap();
    let (status, attempts, provider, _, segments) = state(keys[3]).await;
    assert_eq!(
        (status, attempts, provider, segments),
        (DeliveryStatus::Sent, 2, Some("sns-2".into()), 1)
    );

    // A late outcome from a sender whose claim was not this one cannot undo a finished
    // delivery.
    let stale = Delivery {
        claim: Some("an-older-claim".into()),
        ..claimed_as(keys[0])
    };
    b.deliveries
        .finish(&[(stale, retry("late"))])
        .await
        .unwrap();
    assert_eq!(state(keys[0]).await.0, DeliveryStatus::Sent);
}

async fn only_deliveries_stuck_in_sending_before_the_cutoff_are_failed(b: Backend) {
    let c = CampaignId::new();
    let keys: Vec<DeliveryKey> = (0..3).map(|_| key(c, Channel::Email)).collect();
    let news: Vec<NewDelivery> = keys.iter().copied().map(queued).collect();
    b.deliveries.create_batch(&news).await.unwrap();
    // keys[0] stuck in sending, keys[1] sent, keys[2] still queued
    let claimed = b.deliveries.claim(&keys[..2]).await.unwrap().won;
    b.deliveries
        .finish(&[(
            claimed[1].clone(),
            DeliveryResult::Sent {
                provider_id: Some("p".into()),
                segments: 0,
            },
        )])
        .await
        .unwrap();
    // A second claim finds keys[0] held, as claimed (a store may also report keys[1] there,
    // its outcome kept elsewhere).
    let second = b.deliveries.claim(&keys[..2]).await.unwrap();
    assert!(second.won.is_empty());
    assert!(second.held.contains(&claimed[0]));
    assert!(
        second.held.iter().all(|d| claimed.contains(d)),
        "as claimed"
    );
    // Failing them as stale: only a claim still held and with no outcome is failed.
    assert_eq!(
        b.deliveries
            .fail_stale(&second.held, "interrompu")
            .await
            .unwrap(),
        vec![keys[0]]
    );
    assert!(
        b.deliveries
            .fail_stale(&second.held, "encore")
            .await
            .unwrap()
            .is_empty(),
        "already failed"
    );
    let listed = b.deliveries.list(c, 10, 0).await.unwrap();
    let status = |k: DeliveryKey| listed.iter().find(|d| d.key == k).unwrap().status;
    assert_eq!(status(keys[0]), DeliveryStatus::Failed);
    assert_eq!(
        listed
            .iter()
            .find(|d| d.key == keys[0])
            .unwrap()
            .error
            .as_deref(),
        Some("interrompu")
    );
    assert_eq!(status(keys[1]), DeliveryStatus::Sent);
    assert_eq!(status(keys[2]), DeliveryStatus::Queued);
}

async fn deliveries_of_a_campaign_are_listed_page_by_page(b: Backend) {
    let c = CampaignId::new();
    let news: Vec<NewDelivery> = (0..5).map(|_| queued(key(c, Channel::Email))).collect();
    b.deliveries.create_batch(&news).await.unwrap();
    b.deliveries
        .create_batch(&[queued(key(CampaignId::new(), Channel::Email))])
        .await
        .unwrap();
    let all = b.deliveries.list(c, 10, 0).await.unwrap();
    assert_eq!(all.len(), 5, "only this campaign's");
    assert!(all
        .iter()
        .all(|d| d.status == DeliveryStatus::Queued && d.attempts == 0 && d.key.campaign == c));
    let created: HashSet<DeliveryKey> = news.iter().map(|n| n.key).collect();
    let listed: HashSet<DeliveryKey> = all.iter().map(|d| d.key).collect();
    assert_eq!(listed, created);
    let first = b.deliveries.list(c, 2, 0).await.unwrap();
    let second = b.deliveries.list(c, 2, 2).await.unwrap();
    let third = b.deliveries.list(c, 2, 4).await.unwrap();
    assert_eq!((first.len(), second.len(), third.len()), (2, 2, 1));
    let paged: Vec<DeliveryKey> = first
        .iter()
        .chain(&second)
        .chain(&third)
        .map(|d| d.key)
        .collect();
    assert_eq!(paged, all.iter().map(|d| d.key).collect::<Vec<_>>());
    // From a cursor (the repair's pass): the same order, each page after the last key read,
    // both channels of one subscriber in turn.
    let sms = queued(DeliveryKey {
        channel: Channel::Sms,
        ..all[2].key
    });
    b.deliveries
        .create_batch(std::slice::from_ref(&sms))
        .await
        .unwrap();
    let mut after = None;
    let mut walked = Vec::new();
    loop {
        let page = b.deliveries.list_after(c, after, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.key);
        walked.extend(page.iter().map(|d| d.key));
    }
    let mut expected: Vec<DeliveryKey> = all.iter().map(|d| d.key).collect();
    expected.insert(3, sms.key);
    assert_eq!(walked, expected);
}

async fn suppressions_are_idempotent_listed_and_lifted(b: Backend) {
    let s = |address: &str, reason: &str, minutes: i64| Suppression {
        address: address.into(),
        reason: reason.into(),
        at: t0() + Duration::minutes(minutes),
    };
    b.suppressions
        .suppress(&s("a@exemple.fr", "bounce", 0))
        .await
        .unwrap();
    b.suppressions
        .suppress(&s("+33612345678", "opt-out", 1))
        .await
        .unwrap();
    b.suppressions
        .suppress(&s("c@exemple.fr", "staff", 2))
        .await
        .unwrap();
    b.suppressions
        .suppress(&s("a@exemple.fr", "complaint", 3))
        .await
        .unwrap();

    assert_eq!(
        b.suppressions.list(10).await.unwrap(),
        [
            s("a@exemple.fr", "complaint", 3),
            s("c@exemple.fr", "staff", 2),
            s("+33612345678", "opt-out", 1),
        ],
        "one row per address, newest first"
    );
    assert_eq!(b.suppressions.list(1).await.unwrap().len(), 1);

    // More addresses than one SQL list holds.
    let mut asked: Vec<String> = (0..1200).map(|i| format!("x{i}@exemple.fr")).collect();
    asked[0] = "a@exemple.fr".into();
    asked[600] = "+33612345678".into();
    asked[1199] = "c@exemple.fr".into();
    let found = b.suppressions.suppressed_among(&asked).await.unwrap();
    assert_eq!(
        found,
        HashSet::from([
            "a@exemple.fr".to_owned(),
            "+33612345678".to_owned(),
            "c@exemple.fr".to_owned()
        ])
    );
    assert!(b
        .suppressions
        .suppressed_among(&[])
        .await
        .unwrap()
        .is_empty());

    // A few addresses, and a page of recipients, see a suppression lifted or added at once.
    assert!(b.suppressions.lift("a@exemple.fr").await.unwrap());
    assert!(!b.suppressions.lift("a@exemple.fr").await.unwrap());
    assert!(b
        .suppressions
        .suppressed_among(&["a@exemple.fr".to_owned()])
        .await
        .unwrap()
        .is_empty());
    assert!(!b
        .suppressions
        .suppressed_among(&asked)
        .await
        .unwrap()
        .contains("a@exemple.fr"));
    b.suppressions
        .suppress(&s("x7@exemple.fr", "bounce", 4))
        .await
        .unwrap();
    let few = ["x7@exemple.fr".to_owned(), "x8@exemple.fr".to_owned()];
    assert_eq!(
        b.suppressions.suppressed_among(&few).await.unwrap(),
        HashSet::from(["x7@exemple.fr".to_owned()])
    );
    assert!(b
        .suppressions
        .suppressed_among(&asked)
        .await
        .unwrap()
        .contains("x7@exemple.fr"));
    assert_eq!(b.suppressions.list(10).await.unwrap().len(), 3);
}

async fn finished_deliveries_go_back_to_the_queue_once_and_forget_their_report(b: Backend) {
    // GIVEN an SMS that failed and a call sent then reported unanswered
    let c = CampaignId::new();
    let (sms, call) = (key(c, Channel::Sms), key(c, Channel::Voice));
    let claimed = b.deliveries.claim(&[sms, call]).await.unwrap().won;
    b.deliveries
        .finish(&[
            (claimed[0].clone(), failed("numéro injoignable")),
            (claimed[1].clone(), sent("appel-1", 0)),
        ])
        .await
        .unwrap();
    let unanswered = ReachReport {
        key: call,
        outcome: ReachOutcome::NoAnswer,
        at: t0(),
    };
    b.reach.record_reach(&[unanswered]).await.unwrap();
    // WHEN both are sent again as read, the call twice at once, with a queued one
    let never = key(c, Channel::Email);
    b.deliveries.create_batch(&[queued(never)]).await.unwrap();
    let as_read = b.deliveries.list(c, 10, 0).await.unwrap();
    let read = |k: DeliveryKey| as_read.iter().find(|d| d.key == k).unwrap().clone();
    assert_eq!(
        (read(sms).status, read(call).status),
        (DeliveryStatus::Failed, DeliveryStatus::Sent)
    );
    let moved = b
        .deliveries
        .send_again(&[read(sms), read(call), read(call), read(never)])
        .await
        .unwrap();
    // THEN each moves once, a queued one stays, and the report on the call is forgotten
    assert_eq!(moved, [true, true, false, false]);
    assert_eq!(
        b.deliveries.send_again(&[read(sms)]).await.unwrap(),
        [false],
        "a second follow-up, from the same reading, finds it moved"
    );
    let listed = b.deliveries.list(c, 10, 0).await.unwrap();
    assert!(
        listed.iter().all(|d| d.status == DeliveryStatus::Queued),
        "{listed:?}"
    );
    assert!(b.reach.reach_reports(c).await.unwrap().is_empty());
    // AND the sender claims them again, as a retry
    let again = b.deliveries.claim(&[sms, call]).await.unwrap().won;
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|d| d.attempts == 2), "{again:?}");
    assert!(b.deliveries.send_again(&[]).await.unwrap().is_empty());
}

/// A batch's outcomes, what they add to their campaign and to the month: written by one call.
async fn a_batch_is_finished_and_counted_by_one_call(b: Backend) {
    let c = campaign("Coupure d'eau", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    let (email, sms, bounced, later) = (
        key(c.id, Channel::Email),
        key(c.id, Channel::Sms),
        key(c.id, Channel::Email),
        key(c.id, Channel::Sms),
    );
    let won = b
        .deliveries
        .claim(&[email, sms, bounced, later])
        .await
        .unwrap()
        .won;
    assert_eq!(won.len(), 4);
    let claimed_as = |k: DeliveryKey| won.iter().find(|d| d.key == k).unwrap().clone();
    let delta = Progress {
        email: ChannelCounts {
            sent: 1,
            failed: 1,
            ..ChannelCounts::default()
        },
        sms: ChannelCounts {
            sent: 1,
            ..ChannelCounts::default()
        },
        sms_segments: 2,
        ..Progress::default()
    };
    let month: Month = "2026-11".parse().unwrap();
    let counters = [
        (Counter::EmailsSent, 1),
        (Counter::SmsSent, 1),
        (Counter::SmsSegments, 2),
    ];
    let after = b
        .deliveries
        .finish_and_count(
            &[
                (claimed_as(email), sent("ses-1", 0)),
                (claimed_as(sms), sent("sns-1", 2)),
                (claimed_as(bounced), failed("adresse inconnue")),
            ],
            &[(c.id, delta)],
            month,
            &counters,
        )
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!((after[0].0, after[0].1.totals), (c.id, delta));
    assert_eq!(b.campaigns.progress(c.id).await.unwrap().totals, delta);
    for (counter, n) in counters {
        assert_eq!(b.stats.get(month, counter).await.unwrap(), n, "{counter:?}");
    }
    let listed = b.deliveries.list(c.id, 10, 0).await.unwrap();
    let state = |k: DeliveryKey| {
        let d = listed.iter().find(|d| d.key == k).unwrap();
        (d.status, d.provider_id.clone())
    };
    assert_eq!(
        [state(email), state(sms), state(bounced)],
        [
            (DeliveryStatus::Sent, Some("ses-1".to_owned())),
            (DeliveryStatus::Sent, Some("sns-1".to_owned())),
            (DeliveryStatus::Failed, None),
        ]
    );

    // A batch that sent nothing adds to no month counter (the caller counts what it sent).
    let again = b
        .deliveries
        .finish_and_count(&[(claimed_as(later), retry("throttled"))], &[], month, &[])
        .await
        .unwrap();
    assert!(again.is_empty());
    let listed = b.deliveries.list(c.id, 10, 0).await.unwrap();
    assert_eq!(
        listed.iter().find(|d| d.key == later).unwrap().status,
        DeliveryStatus::Queued
    );
    assert_eq!(b.stats.get(month, Counter::EmailsSent).await.unwrap(), 1);
    assert_eq!(b.campaigns.progress(c.id).await.unwrap().totals, delta);
}

/// In SQLite the three are one transaction: counters refused (an unknown campaign) leave the
/// outcomes unwritten too, so the deliveries stay claimed, to be failed as stale, never sent
/// again nor counted twice.
async fn outcomes_are_not_written_without_their_counts(b: Backend) {
    let c = campaign("Coupure d'eau", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    let k = key(c.id, Channel::Email);
    let won = b.deliveries.claim(&[k]).await.unwrap().won;
    let delta = Progress {
        email: ChannelCounts {
            sent: 1,
            ..ChannelCounts::default()
        },
        ..Progress::default()
    };
    let month: Month = "2026-11".parse().unwrap();
    let refused = b
        .deliveries
        .finish_and_count(
            &[(won[0].clone(), sent("ses-1", 0))],
            &[(CampaignId::new(), delta)],
            month,
            &[(Counter::EmailsSent, 1)],
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let d = b.deliveries.list(c.id, 10, 0).await.unwrap();
    assert_eq!(
        (d[0].status, d[0].provider_id.clone()),
        (DeliveryStatus::Sending, None)
    );
    assert_eq!(b.stats.get(month, Counter::EmailsSent).await.unwrap(), 0);
    assert_eq!(
        b.campaigns.progress(c.id).await.unwrap().totals,
        Progress::default()
    );
}

on_backend!(
    sqlite: deliveries_are_created_once,
    a_delivery_is_claimed_once_and_finished_with_its_outcome,
    only_deliveries_stuck_in_sending_before_the_cutoff_are_failed,
    deliveries_of_a_campaign_are_listed_page_by_page,
    suppressions_are_idempotent_listed_and_lifted,
    finished_deliveries_go_back_to_the_queue_once_and_forget_their_report,
    a_batch_is_finished_and_counted_by_one_call,
    // One transaction: SQLite only.
    outcomes_are_not_written_without_their_counts,
);
on_backend!(
    dynamo: deliveries_are_created_once,
    a_delivery_is_claimed_once_and_finished_with_its_outcome,
    only_deliveries_stuck_in_sending_before_the_cutoff_are_failed,
    deliveries_of_a_campaign_are_listed_page_by_page,
    suppressions_are_idempotent_listed_and_lifted,
    finished_deliveries_go_back_to_the_queue_once_and_forget_their_report,
    a_batch_is_finished_and_counted_by_one_call,
);
