//! Who was reached, their answers and reports.

use super::*;

use chrono::Duration;
use telmail_core::domain::campaign::{CampaignId, CampaignStatus};
use telmail_core::domain::contact::Channel;
use telmail_core::domain::delivery::DeliveryKey;
use telmail_core::domain::subscriber::SubscriberId;

/// Residents' answers and providers' reports: the last one counts, a campaign reads its own,
/// and erasing a resident removes theirs from every campaign.
async fn answers_and_reports_are_kept_per_campaign_and_erased_with_the_resident(b: Backend) {
    use telmail_core::domain::reach::{Acknowledgement, Answer, ReachOutcome, ReachReport};
    let (s, other) = (
        subscriber(Some("a@exemple.fr"), Some("0612345678")),
        subscriber(Some("b@exemple.fr"), None),
    );
    b.subscribers.insert(&s).await.unwrap();
    b.subscribers.insert(&other).await.unwrap();
    let c = campaign("Submersion", CampaignStatus::Sent, t0(), None);
    let elsewhere = campaign("Tempête", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    insert_created(&b, &elsewhere).await;
    let ack = |campaign: CampaignId, who: SubscriberId, answer, minutes| Acknowledgement {
        campaign,
        subscriber: who,
        answer,
        at: t0() + Duration::minutes(minutes),
    };
    // GIVEN answers: one changed (the last counts), one of another person, one elsewhere
    b.reach
        .acknowledge(&ack(c.id, s.id, Answer::Safe, 1))
        .await
        .unwrap();
    b.reach
        .acknowledge(&ack(c.id, s.id, Answer::NeedsHelp, 2))
        .await
        .unwrap();
    b.reach
        .acknowledge(&ack(c.id, other.id, Answer::Safe, 3))
        .await
        .unwrap();
    b.reach
        .acknowledge(&ack(elsewhere.id, s.id, Answer::Safe, 4))
        .await
        .unwrap();
    // AND reports: a call unanswered then answered by voicemail, a bounce
    let call = DeliveryKey {
        campaign: c.id,
        subscriber: s.id,
        channel: Channel::Voice,
    };
    let mail = DeliveryKey {
        subscriber: other.id,
        channel: Channel::Email,
        ..call
    };
    let report = |key, outcome, minutes| ReachReport {
        key,
        outcome,
        at: t0() + Duration::minutes(minutes),
    };
    b.reach
        .record_reach(&[report(call, ReachOutcome::NoAnswer, 1)])
        .await
        .unwrap();
    b.reach
        .record_reach(&[
            report(call, ReachOutcome::Voicemail, 6),
            report(mail, ReachOutcome::Bounced, 2),
        ])
        .await
        .unwrap();
    let elsewhere_call = DeliveryKey {
        campaign: elsewhere.id,
        ..call
    };
    b.reach
        .record_reach(&[report(elsewhere_call, ReachOutcome::Answered, 7)])
        .await
        .unwrap();

    // THEN each campaign reads its own, the last answer and report counting
    let mut acks = b.reach.acknowledgements(c.id).await.unwrap();
    acks.sort_by_key(|a| a.at);
    assert_eq!(
        acks,
        vec![
            ack(c.id, s.id, Answer::NeedsHelp, 2),
            ack(c.id, other.id, Answer::Safe, 3)
        ]
    );
    assert_eq!(
        b.reach.acknowledgement(c.id, s.id).await.unwrap(),
        Some(ack(c.id, s.id, Answer::NeedsHelp, 2))
    );
    let mut reports = b.reach.reach_reports(c.id).await.unwrap();
    reports.sort_by_key(|r| r.at);
    assert_eq!(
        reports,
        vec![
            report(mail, ReachOutcome::Bounced, 2),
            report(call, ReachOutcome::Voicemail, 6)
        ]
    );

    // WHEN the resident is erased
    assert!(b.subscribers.delete(s.id).await.unwrap());
    // THEN their answers and reports are gone from every campaign; the other's stay
    assert_eq!(
        b.reach.acknowledgements(c.id).await.unwrap(),
        vec![ack(c.id, other.id, Answer::Safe, 3)]
    );
    assert_eq!(b.reach.acknowledgement(c.id, s.id).await.unwrap(), None);
    assert!(b
        .reach
        .acknowledgements(elsewhere.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        b.reach.reach_reports(c.id).await.unwrap(),
        vec![report(mail, ReachOutcome::Bounced, 2)]
    );
    assert!(b
        .reach
        .reach_reports(elsewhere.id)
        .await
        .unwrap()
        .is_empty());
}

on_both_backends!(answers_and_reports_are_kept_per_campaign_and_erased_with_the_resident,);
