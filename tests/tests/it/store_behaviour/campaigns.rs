//! Campaigns: compare-and-set updates, the audit trail, listings, due ones and progress.

use super::*;

use chrono::Duration;
use telmail_core::domain::campaign::{CampaignAction, CampaignId, CampaignStatus};
use telmail_core::domain::delivery::{CampaignProgress, ChannelCounts, Progress};
use telmail_core::domain::money::Money;
use telmail_core::domain::queue::FanoutCursor;
use telmail_core::domain::reputation::{EmailFeedback, FeedbackCounts};
use telmail_core::error::StoreError;

async fn campaign_updates_compare_and_set_and_keep_the_audit_trail(b: Backend) {
    let mut c = campaign("Marché de Noël", CampaignStatus::Draft, t0(), None);
    let created = event(CampaignAction::Created, None, CampaignStatus::Draft, t0());
    b.campaigns.insert(&c, &created).await.unwrap();
    assert!(matches!(
        b.campaigns.insert(&c, &created).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(b.campaigns.get(c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(b.campaigns.get(CampaignId::new()).await.unwrap(), None);
    assert_eq!(
        b.campaigns.status(c.id).await.unwrap(),
        Some(CampaignStatus::Draft)
    );
    assert_eq!(b.campaigns.status(CampaignId::new()).await.unwrap(), None);

    let at = t0() + Duration::minutes(5);
    c = at_status(&c, CampaignStatus::Submitted);
    c.updated_at = at;
    let submitted = event(
        CampaignAction::Submitted,
        Some(CampaignStatus::Draft),
        CampaignStatus::Submitted,
        at,
    );
    let read = c.version;
    c.version += 1;
    b.campaigns.update(&c, read, &submitted).await.unwrap();

    // A second writer who still holds the version read before loses, and leaves no trace.
    let mut stale = c.clone();
    stale.title = "Autre titre".into();
    stale = at_status(&stale, CampaignStatus::Cancelled);
    let cancelled = event(
        CampaignAction::Cancelled,
        Some(CampaignStatus::Draft),
        CampaignStatus::Cancelled,
        at,
    );
    assert!(matches!(
        b.campaigns.update(&stale, read, &cancelled).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(b.campaigns.get(c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(
        b.campaigns.status(c.id).await.unwrap(),
        Some(CampaignStatus::Submitted),
        "the status follows the campaign, the losing write left none"
    );
    assert_eq!(
        b.campaigns.events(c.id).await.unwrap(),
        [created, submitted],
        "oldest first"
    );
    let unknown = campaign("x", CampaignStatus::Draft, t0(), None);
    assert!(matches!(
        b.campaigns
            .update(&unknown, unknown.version, &cancelled)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(b.campaigns.events(unknown.id).await.unwrap().is_empty());
    assert_eq!(b.campaigns.status(unknown.id).await.unwrap(), None);
}

async fn campaigns_list_newest_first_by_status(b: Backend) {
    let mut ids = Vec::new();
    for (i, status) in [
        CampaignStatus::Draft,
        CampaignStatus::Sent,
        CampaignStatus::Draft,
        CampaignStatus::Submitted,
    ]
    .into_iter()
    .enumerate()
    {
        let c = campaign(
            &format!("c{i}"),
            status,
            t0() + Duration::hours(i as i64),
            None,
        );
        b.campaigns
            .insert(
                &c,
                &event(CampaignAction::Created, None, status, c.created_at),
            )
            .await
            .unwrap();
        ids.push(c.id);
    }
    let listed = |status, limit| {
        let campaigns = b.campaigns.clone();
        async move {
            campaigns
                .list(status, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(None, 10).await, [ids[3], ids[2], ids[1], ids[0]]);
    assert_eq!(listed(None, 2).await, [ids[3], ids[2]]);
    assert_eq!(
        listed(Some(CampaignStatus::Draft), 10).await,
        [ids[2], ids[0]]
    );
    assert!(listed(Some(CampaignStatus::Cancelled), 10).await.is_empty());
}

async fn due_campaigns_are_scheduled_ones_whose_time_has_come(b: Backend) {
    let now = t0() + Duration::days(1);
    let cases = [
        (
            "passée",
            CampaignStatus::Scheduled,
            Some(now - Duration::hours(1)),
        ),
        ("maintenant", CampaignStatus::Scheduled, Some(now)),
        (
            "demain",
            CampaignStatus::Scheduled,
            Some(now + Duration::days(1)),
        ),
        (
            "approuvée",
            CampaignStatus::Approved,
            Some(now - Duration::hours(1)),
        ),
        (
            "annulée",
            CampaignStatus::Cancelled,
            Some(now - Duration::hours(2)),
        ),
    ];
    let mut ids = Vec::new();
    for (title, status, send_at) in cases {
        let c = campaign(title, status, t0(), send_at);
        b.campaigns
            .insert(&c, &event(CampaignAction::Created, None, status, t0()))
            .await
            .unwrap();
        ids.push(c.id);
    }
    let mut due: Vec<CampaignId> = b
        .campaigns
        .due(now)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    due.sort();
    let mut expected = vec![ids[0], ids[1]];
    expected.sort();
    assert_eq!(due, expected);
}

async fn campaign_progress_adds_up_and_shards_count_once(b: Backend) {
    let c = campaign("Alerte", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    assert_eq!(
        b.campaigns.progress(c.id).await.unwrap(),
        CampaignProgress::default()
    );
    let fanned = Progress {
        email: ChannelCounts {
            targeted: 10,
            suppressed: 1,
            ..ChannelCounts::default()
        },
        sms: ChannelCounts {
            targeted: 5,
            ..ChannelCounts::default()
        },
        ..Progress::default()
    };
    let sent = Progress {
        email: ChannelCounts {
            sent: 8,
            failed: 1,
            ..ChannelCounts::default()
        },
        sms: ChannelCounts {
            sent: 4,
            failed: 1,
            suppressed: 0,
            targeted: 0,
        },
        sms_segments: 8,
        cost: Money::from_ten_thousandths(9_600),
        ..Default::default()
    };
    let after = b.campaigns.add_progress(c.id, &sent).await.unwrap();
    assert_eq!(
        (after.totals, after.shards_done),
        (sent, 0),
        "counters after"
    );
    b.campaigns.add_progress(c.id, &sent).await.unwrap();

    let marked = b.campaigns.mark_shard_done(c.id, 0, &fanned).await.unwrap();
    assert_eq!((marked.shards_done, marked.totals.email.targeted), (1, 10));
    let nothing = Progress::default();
    let marked = b
        .campaigns
        .mark_shard_done(c.id, 3, &nothing)
        .await
        .unwrap();
    assert_eq!(marked.shards_done, 2);
    assert_eq!(
        b.campaigns.mark_shard_done(c.id, 0, &fanned).await.unwrap(),
        marked,
        "a redelivered shard counts once, and its counters too"
    );
    assert_eq!(
        b.campaigns.progress(c.id).await.unwrap(),
        CampaignProgress {
            totals: Progress {
                email: ChannelCounts {
                    targeted: 10,
                    sent: 16,
                    failed: 2,
                    suppressed: 1
                },
                sms: ChannelCounts {
                    targeted: 5,
                    sent: 8,
                    failed: 2,
                    suppressed: 0
                },
                sms_segments: 16,
                cost: Money::from_ten_thousandths(19_200),
                voice: ChannelCounts::default(),
            },
            shards_done: 2,
            feedback: FeedbackCounts::default(),
            // Every update of the counters stamps when sending last moved on.
            progressed_at: Some(t0()),
        }
    );
    // Other campaigns are untouched.
    let other = campaign("Autre", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &other).await;
    assert_eq!(
        b.campaigns.progress(other.id).await.unwrap(),
        CampaignProgress::default()
    );
}

async fn fan_out_slices_are_marked_once_apart_from_the_shards(b: Backend) {
    let c = campaign("Tranches", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    assert!(!b.campaigns.slice_done(c.id, 2, 0).await.unwrap());
    // Two jobs of the same slice at once: one marks it.
    let (a, z) = tokio::join!(
        b.campaigns.mark_slice_done(c.id, 2, 0, None),
        b.campaigns.mark_slice_done(c.id, 2, 0, None)
    );
    assert!(a.unwrap() ^ z.unwrap(), "exactly one marks the slice");
    assert!(b.campaigns.slice_done(c.id, 2, 0).await.unwrap());
    assert!(!b.campaigns.mark_slice_done(c.id, 2, 0, None).await.unwrap());
    for (shard, slice) in [(2, 1), (0, 2), (12, 0)] {
        assert!(
            !b.campaigns.slice_done(c.id, shard, slice).await.unwrap(),
            "{shard}/{slice} is another slice"
        );
    }
    assert!(b
        .campaigns
        .mark_slice_done(c.id, 12, 0, None)
        .await
        .unwrap());
    let later = t0() + Duration::minutes(3);
    b.clock.advance(Duration::minutes(3));
    // A slice handed over: the shard resumes there, from the latest hand-over.
    assert_eq!(b.campaigns.fanout_resume(c.id, 2).await.unwrap(), None);
    let mut cursor = FanoutCursor::default();
    cursor.email.targeted = 500;
    assert!(b
        .campaigns
        .mark_slice_done(c.id, 2, 1, Some(&cursor))
        .await
        .unwrap());
    cursor.email.targeted = 1000;
    assert!(b
        .campaigns
        .mark_slice_done(c.id, 2, 2, Some(&cursor))
        .await
        .unwrap());
    assert_eq!(
        b.campaigns.fanout_resume(c.id, 2).await.unwrap(),
        Some((3, cursor))
    );
    assert_eq!(b.campaigns.fanout_resume(c.id, 0).await.unwrap(), None);
    assert_eq!(
        b.campaigns.progress(c.id).await.unwrap(),
        CampaignProgress {
            progressed_at: Some(later),
            ..CampaignProgress::default()
        },
        "slices are not shards and count nothing; they stamp that sending moved on"
    );
    // The repair puts its next look off by stamping ahead; progress stamps now again.
    let ahead = later + Duration::hours(2);
    b.campaigns.stamp_progress(c.id, ahead).await.unwrap();
    assert_eq!(
        b.campaigns.progress(c.id).await.unwrap().progressed_at,
        Some(ahead)
    );
    b.campaigns
        .add_progress(c.id, &Progress::default())
        .await
        .unwrap();
    assert_eq!(
        b.campaigns.progress(c.id).await.unwrap().progressed_at,
        Some(later)
    );
}

async fn bounces_and_complaints_add_up_per_campaign(b: Backend) {
    let c = campaign("Rebonds", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    let mut sent = Progress::default();
    sent.email.sent = 300;
    b.campaigns.add_progress(c.id, &sent).await.unwrap();
    let adds = (0..5).map(|_| b.campaigns.add_email_feedback(c.id, EmailFeedback::Bounce));
    futures_util::future::try_join_all(adds).await.unwrap();
    let after = b
        .campaigns
        .add_email_feedback(c.id, EmailFeedback::Complaint)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (after.feedback, after.totals.email.sent),
        (
            FeedbackCounts {
                bounces: 5,
                complaints: 1
            },
            300
        )
    );
    assert_eq!(b.campaigns.progress(c.id).await.unwrap(), after);
    assert_eq!(
        b.campaigns
            .add_email_feedback(CampaignId::new(), EmailFeedback::Bounce)
            .await
            .unwrap(),
        None,
        "an unknown campaign"
    );
}

on_both_backends!(
    campaign_updates_compare_and_set_and_keep_the_audit_trail,
    campaigns_list_newest_first_by_status,
    due_campaigns_are_scheduled_ones_whose_time_has_come,
    campaign_progress_adds_up_and_shards_count_once,
    fan_out_slices_are_marked_once_apart_from_the_shards,
    bounces_and_complaints_add_up_per_campaign,
);
