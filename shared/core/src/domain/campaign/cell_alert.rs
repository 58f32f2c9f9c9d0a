//! The campaign an alert of the crisis cell is: sent by SMS and call to the cell's members at
//! once, without approval or fan-out.

use chrono::{DateTime, Utc};

use super::{
    Actor, Campaign, CampaignAction, CampaignEvent, CampaignId, CampaignKind, CampaignSms,
    CampaignStatus, CampaignVoice, Messages, Publication, Stage,
};
use crate::domain::staff::StaffIdentity;

impl Campaign {
    /// An alert of the crisis cell by `by`: urgent, asking for an answer, by SMS and call,
    /// already sending (no approval: the cabinet or an administrator is the one acting), with
    /// no fan-out (its messages are queued to the members directly) and never published.
    pub fn cell_alert(
        sms: CampaignSms,
        voice: CampaignVoice,
        by: &StaffIdentity,
        now: DateTime<Utc>,
    ) -> (Self, CampaignEvent) {
        let summary: String = voice.text.chars().take(60).collect();
        let ellipsis = if voice.text.chars().count() > 60 {
            "…"
        } else {
            ""
        };
        let c = Self {
            id: CampaignId::new(),
            title: format!("Alerte de la cellule de crise : {summary}{ellipsis}"),
            topics: Vec::new(),
            messages: Messages::new(Some(sms), None, Some(voice)).expect("an SMS and a call"),
            urgent: true,
            acknowledgement: true,
            send_at: None,
            zones: None,
            include_unzoned: false,
            kind: CampaignKind::CellAlert,
            source: None,
            author: by.into(),
            last_editor: None,
            stage: Stage::at(CampaignStatus::Sending),
            version: 1,
            shards: 0,
            created_at: now,
            updated_at: now,
            publication: Publication {
                publish: false,
                event_date: None,
            },
        };
        let e = CampaignEvent {
            at: now,
            actor: Actor::from(by),
            action: CampaignAction::Sending,
            from: None,
            to: CampaignStatus::Sending,
            reason: Some("alerte de la cellule de crise".into()),
        };
        (c, e)
    }
}
