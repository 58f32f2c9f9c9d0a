//! The crisis cell's members: kept apart from subscribers, listed whole, changed and removed
//! with everything naming them.

use super::*;

use telmail_core::domain::cell::{CellMember, CellMemberInput};
use telmail_core::domain::reach::{Acknowledgement, Answer, ReachOutcome, ReachReport};

fn cell_member(name: &str, mobile: Option<&str>, landline: Option<&str>) -> CellMember {
    CellMemberInput {
        name: Some(name.into()),
        function: Some("Agent d'astreinte".into()),
        mobile: mobile.map(Into::into),
        landline: landline.map(Into::into),
        email: None,
        on_duty: None,
    }
    .parse()
    .unwrap()
    .into_member(t0())
}

/// Members are added once, listed, changed, and apart from the subscriber file.
async fn members_are_kept_apart_and_changed_in_place(b: Backend) {
    let mayor = cell_member(
        "Marie Dupont",
        Some("06 12 34 56 78"),
        Some("05 56 83 94 94"),
    );
    let agent = cell_member("Luc Bernard", None, Some("05 56 22 33 44"));
    b.cell.insert_cell_member(&mayor).await.unwrap();
    b.cell.insert_cell_member(&agent).await.unwrap();
    // The same id twice is a conflict
    assert!(matches!(
        b.cell.insert_cell_member(&mayor).await,
        Err(telmail_core::error::StoreError::Conflict(_))
    ));
    let mut listed = b.cell.cell_members().await.unwrap();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(listed, vec![agent.clone(), mayor.clone()]);
    assert_eq!(
        b.cell.cell_member(mayor.id).await.unwrap(),
        Some(mayor.clone())
    );
    // Not a subscriber: the file knows neither the id nor the number
    assert_eq!(b.subscribers.get(mayor.id).await.unwrap(), None);
    let mobile = PhoneNumber::from_str("06 12 34 56 78").unwrap();
    assert_eq!(b.subscribers.find_by_phone(&mobile).await.unwrap(), None);

    // WHEN the agent goes off duty
    let mut off = agent.clone();
    off.on_duty = false;
    off.updated_at = t0() + Duration::hours(1);
    assert!(b.cell.update_cell_member(&off).await.unwrap());
    assert_eq!(b.cell.cell_member(agent.id).await.unwrap(), Some(off));
    // A member never added is not created by an update
    let stranger = cell_member("Inconnu", Some("06 98 76 54 32"), None);
    assert!(!b.cell.update_cell_member(&stranger).await.unwrap());
    assert_eq!(b.cell.cell_member(stranger.id).await.unwrap(), None);
    assert_eq!(b.cell.cell_members().await.unwrap().len(), 2);
}

/// Removing a member erases their answers, the reports on their messages and their finished
/// messages in every alert; another member's stay.
async fn a_member_removed_is_gone_with_their_answers_and_reports(b: Backend) {
    let gone = cell_member("Marie Dupont", Some("06 12 34 56 78"), None);
    let stays = cell_member("Luc Bernard", Some("06 98 76 54 32"), None);
    b.cell.insert_cell_member(&gone).await.unwrap();
    b.cell.insert_cell_member(&stays).await.unwrap();
    let mut alert = campaign("Alerte de la cellule", CampaignStatus::Sending, t0(), None);
    alert.kind = CampaignKind::CellAlert;
    alert.urgent = true;
    alert.acknowledgement = true;
    b.campaigns
        .insert(
            &alert,
            &event(CampaignAction::Sending, None, CampaignStatus::Sending, t0()),
        )
        .await
        .unwrap();
    let sms = |who: SubscriberId| DeliveryKey {
        campaign: alert.id,
        subscriber: who,
        channel: Channel::Sms,
    };
    let finished = |who| NewDelivery {
        key: sms(who),
        status: DeliveryStatus::Suppressed,
        error: Some("non envoyé".into()),
    };
    b.deliveries
        .create_batch(&[finished(gone.id), finished(stays.id)])
        .await
        .unwrap();
    for who in [gone.id, stays.id] {
        b.reach
            .acknowledge(&Acknowledgement {
                campaign: alert.id,
                subscriber: who,
                answer: Answer::Safe,
                at: t0(),
            })
            .await
            .unwrap();
        b.reach
            .record_reach(&[ReachReport {
                key: sms(who),
                outcome: ReachOutcome::Delivered,
                at: t0(),
            }])
            .await
            .unwrap();
    }

    // WHEN one is removed
    assert!(b.cell.delete_cell_member(gone.id).await.unwrap());
    // THEN they are gone with their answer, report and finished message
    assert_eq!(b.cell.cell_member(gone.id).await.unwrap(), None);
    assert_eq!(b.cell.cell_members().await.unwrap(), vec![stays.clone()]);
    let acks = b.reach.acknowledgements(alert.id).await.unwrap();
    assert_eq!(
        acks.iter().map(|a| a.subscriber).collect::<Vec<_>>(),
        vec![stays.id]
    );
    let reports = b.reach.reach_reports(alert.id).await.unwrap();
    assert_eq!(
        reports.iter().map(|r| r.key).collect::<Vec<_>>(),
        vec![sms(stays.id)]
    );
    let left = b.deliveries.list_after(alert.id, None, 10).await.unwrap();
    assert_eq!(
        left.iter().map(|d| d.key).collect::<Vec<_>>(),
        vec![sms(stays.id)]
    );
    // AND removing them again finds no one
    assert!(!b.cell.delete_cell_member(gone.id).await.unwrap());
}

on_both_backends!(
    members_are_kept_apart_and_changed_in_place,
    a_member_removed_is_gone_with_their_answers_and_reports,
);
