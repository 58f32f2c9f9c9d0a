//! Allowances, sending slots, waits and paused channels.

use super::*;

use chrono::{Duration, TimeZone, Utc};
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::contact::Channel;
use telmail_core::domain::delivery::{ChannelPause, DeliveryKey, DeliveryResult};
use telmail_core::ports::Slots;

async fn allowances_stop_at_their_limit_even_when_taken_at_once(b: Backend) {
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
    let end = now + Duration::minutes(5);
    let key = format!("test-{}", uuid::Uuid::new_v4());
    // 20 takes at once against a limit of 5: exactly 5 succeed, counted 1 to 5.
    let takes = (0..20).map(|_| {
        let quotas = b.quotas.clone();
        let key = key.clone();
        async move { quotas.take(&key, 5, now, end).await.unwrap() }
    });
    let mut counts: Vec<u32> = futures_util::future::join_all(takes)
        .await
        .into_iter()
        .flatten()
        .collect();
    counts.sort();
    assert_eq!(counts, [1, 2, 3, 4, 5]);
    assert_eq!(b.quotas.take(&key, 5, now, end).await.unwrap(), None);
    // Another key has its own allowance; a limit of 0 allows nothing.
    assert_eq!(b.quotas.take("other", 5, now, end).await.unwrap(), Some(1));
    assert_eq!(b.quotas.take("none", 0, now, end).await.unwrap(), None);
    // Once the allowance has ended, it starts again.
    let later = end + chrono::Duration::seconds(1);
    let next_end = later + Duration::minutes(5);
    assert_eq!(
        b.quotas.take(&key, 5, later, next_end).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        b.quotas.take(&key, 5, later, next_end).await.unwrap(),
        Some(2)
    );
}

async fn sending_slots_are_reserved_once_and_spaced(b: Backend) {
    let now = t0();
    let step = std::time::Duration::from_millis(100);
    let far = now + Duration::hours(1);
    // Ten senders reserve ten slots each at once: the blocks follow one another, none overlaps.
    let reservations = (0..10).map(|_| {
        let pace = b.pace.clone();
        async move {
            pace.reserve_slots(Channel::Email, 10, step, now, far)
                .await
                .unwrap()
        }
    });
    let mut booked = futures_util::future::join_all(reservations).await;
    booked.sort_by_key(|s| s.first);
    let expected: Vec<Slots> = (0..10)
        .map(|i| Slots {
            first: now + Duration::seconds(i),
            count: 10,
        })
        .collect();
    assert_eq!(booked, expected);
    // The other channel has its own pace; after a long pause the next slot is now.
    let sms = b
        .pace
        .reserve_slots(Channel::Sms, 1, step, now, far)
        .await
        .unwrap();
    assert_eq!(
        sms,
        Slots {
            first: now,
            count: 1
        }
    );
    let later = now + Duration::hours(1);
    let email = b
        .pace
        .reserve_slots(Channel::Email, 1, step, later, later + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        email,
        Slots {
            first: later,
            count: 1
        }
    );
}

async fn no_slot_is_booked_past_the_senders_limit(b: Backend) {
    let now = t0();
    let step = std::time::Duration::from_secs(1);
    let limit = now + Duration::seconds(4);
    // Ten wanted, five fit (now … now + 4 s): five are booked.
    let first = b
        .pace
        .reserve_slots(Channel::Email, 10, step, now, limit)
        .await
        .unwrap();
    assert_eq!(
        first,
        Slots {
            first: now,
            count: 5
        }
    );
    // Nothing fits any more: nothing is booked, and the answer says when the channel is free.
    for _ in 0..2 {
        let none = b
            .pace
            .reserve_slots(Channel::Email, 10, step, now, limit)
            .await
            .unwrap();
        assert_eq!(
            none,
            Slots {
                first: now + Duration::seconds(5),
                count: 0
            }
        );
    }
    // A sender with more time gets the slots that follow, never the same ones.
    let next = b
        .pace
        .reserve_slots(Channel::Email, 3, step, now, now + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        next,
        Slots {
            first: now + Duration::seconds(5),
            count: 3
        }
    );
}

async fn a_wait_gives_back_the_attempt_a_retry_spends(b: Backend) {
    let c = CampaignId::new();
    let (waits, retries) = (key(c, Channel::Email), key(c, Channel::Sms));
    b.deliveries
        .create_batch(&[queued(waits), queued(retries)])
        .await
        .unwrap();
    for round in 1..=3u32 {
        let won = b.deliveries.claim(&[waits, retries]).await.unwrap().won;
        let of = |k: DeliveryKey| won.iter().find(|d| d.key == k).unwrap().clone();
        // The provider asked to slow down every time: still the first attempt; a transient
        // failure spends one each time.
        assert_eq!(of(waits).attempts, 1, "round {round}");
        assert_eq!(of(retries).attempts, round, "round {round}");
        b.deliveries
            .finish(&[
                (
                    of(waits),
                    DeliveryResult::Wait {
                        error: "relais occupé".into(),
                    },
                ),
                (
                    of(retries),
                    DeliveryResult::Retry {
                        error: "erreur 503".into(),
                    },
                ),
            ])
            .await
            .unwrap();
    }
}

async fn a_paused_channel_keeps_its_first_reason_until_resumed_once(b: Backend) {
    let pause = |reason: &str, minutes| ChannelPause {
        channel: Channel::Email,
        campaign: None,
        reason: reason.into(),
        since: t0() + Duration::minutes(minutes),
    };
    assert!(b.pauses.pauses().await.unwrap().is_empty());
    b.pauses
        .pause(&pause("SendingPausedException", 0))
        .await
        .unwrap();
    b.pauses.pause(&pause("encore", 5)).await.unwrap();
    // A campaign braked on the same channel is a pause of its own.
    let braked = ChannelPause {
        campaign: Some(CampaignId::new()),
        ..pause("taux de rebond de 6,0 %", 7)
    };
    b.pauses.pause(&braked).await.unwrap();
    let mut found = b.pauses.pauses().await.unwrap();
    found.sort_by_key(|p| p.campaign);
    assert_eq!(found, [pause("SendingPausedException", 0), braked.clone()]);
    let (a, c) = tokio::join!(
        b.pauses.resume(Channel::Email, None),
        b.pauses.resume(Channel::Email, None)
    );
    assert_eq!([a.unwrap(), c.unwrap()].iter().filter(|r| **r).count(), 1);
    assert_eq!(
        b.pauses.pauses().await.unwrap(),
        std::slice::from_ref(&braked)
    );
    assert!(!b.pauses.resume(Channel::Sms, None).await.unwrap());
    assert!(!b
        .pauses
        .resume(Channel::Email, Some(CampaignId::new()))
        .await
        .unwrap());
    assert!(b
        .pauses
        .resume(Channel::Email, braked.campaign)
        .await
        .unwrap());
    assert!(b.pauses.pauses().await.unwrap().is_empty());
}

on_both_backends!(
    allowances_stop_at_their_limit_even_when_taken_at_once,
    sending_slots_are_reserved_once_and_spaced,
    no_slot_is_booked_past_the_senders_limit,
    a_wait_gives_back_the_attempt_a_retry_spends,
    a_paused_channel_keeps_its_first_reason_until_resumed_once,
);
