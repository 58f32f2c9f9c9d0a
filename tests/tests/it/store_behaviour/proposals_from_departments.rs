//! Proposals from departments.

use super::*;

use chrono::{DateTime, Duration, Utc};
use telmail_core::domain::proposal::{Proposal, ProposalFields, ProposalId};
use telmail_core::error::StoreError;

fn proposal(at: DateTime<Utc>, title: &str) -> Proposal {
    let fields = ProposalFields {
        topics: vec![slug("culture-animations")],
        title: title.into(),
        text: "Place Thiers.".into(),
        matters_on: None,
        wants_sms: false,
        contact: "Service culture".into(),
    };
    Proposal::new(fields, &identity("culture1"), "Culture", at)
}

async fn proposals_change_from_the_version_read_and_list_newest_first(b: Backend) {
    let old = proposal(t0() - Duration::days(40), "Ancienne");
    let mut newer = proposal(t0(), "Marché de Noël");
    b.proposals.insert_proposal(&old).await.unwrap();
    b.proposals.insert_proposal(&newer).await.unwrap();
    assert_eq!(
        b.proposals.proposal(newer.id).await.unwrap().as_ref(),
        Some(&newer)
    );
    assert_eq!(b.proposals.proposal(ProposalId::new()).await.unwrap(), None);

    let read = newer.version;
    newer.withdraw(t0()).unwrap();
    b.proposals.update_proposal(&newer, read).await.unwrap();
    // A writer that read the first version finds it changed.
    assert!(matches!(
        b.proposals.update_proposal(&newer, read).await,
        Err(StoreError::Conflict(_))
    ));
    let listed = b
        .proposals
        .proposals_since(t0() - Duration::days(60))
        .await
        .unwrap();
    assert_eq!(listed, [newer.clone(), old]);
    let recent = b
        .proposals
        .proposals_since(t0() - Duration::days(1))
        .await
        .unwrap();
    assert_eq!(recent, [newer]);
}

on_both_backends!(proposals_change_from_the_version_read_and_list_newest_first,);
