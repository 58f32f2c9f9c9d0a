//! A resident's answer to an urgent campaign, from the link of its SMS or email: the page
//! shows two buttons (a GET never acts), the POST records « en sécurité » or « besoin d'aide ».

use std::str::FromStr;

use crate::domain::campaign::{Campaign, CampaignKind, CampaignStatus};
use crate::domain::reach::{Acknowledgement, Answer};
use crate::domain::subscriber::SubscriberId;
use crate::error::{DomainError, FieldErrors};

use super::Residents;

/// What the reply page shows.
#[derive(Debug, Clone)]
pub struct ReplyPage {
    /// The campaign's title (staff's words, e.g. « Submersion marine : évacuation du front de
    /// mer »).
    pub title: String,
    /// The answer already given, if any (it can be changed).
    pub answer: Option<Answer>,
}

impl Residents {
    /// The campaign and recipient of a reply link still valid: the campaign asks for an answer
    /// and went out, and the resident was not erased since.
    async fn reply_target(&self, token: &str) -> Result<(Campaign, SubscriberId), DomainError> {
        let (campaign, who) = self.d.signer.verify_reply(token, self.d.clock.now())?;
        let campaign = self
            .d
            .campaigns
            .get(campaign)
            .await?
            .filter(|c| {
                c.acknowledgement
                    && matches!(
                        c.status(),
                        CampaignStatus::Sending | CampaignStatus::Sent | CampaignStatus::Cancelled
                    )
            })
            .ok_or(DomainError::InvalidToken)?;
        // An alert of the crisis cell was sent to its members, any other to residents: the
        // link is valid while its recipient is still there.
        let still_there = if campaign.kind == CampaignKind::CellAlert {
            self.d.cell.cell_member(who).await?.is_some()
        } else {
            self.d.subscribers.get(who).await?.is_some()
        };
        if !still_there {
            return Err(DomainError::InvalidToken);
        }
        Ok((campaign, who))
    }

    /// `GET` of a reply link: what to show, nothing recorded.
    pub async fn reply_page(&self, token: &str) -> Result<ReplyPage, DomainError> {
        let (campaign, who) = self.reply_target(token).await?;
        let answer = self
            .d
            .reach
            .acknowledgement(campaign.id, who)
            .await?
            .map(|a| a.answer);
        Ok(ReplyPage {
            title: campaign.title,
            answer,
        })
    }

    /// Records the answer (`safe` or `needs_help`); the last one given counts.
    pub async fn reply(&self, token: &str, answer: &str) -> Result<Answer, DomainError> {
        let answer = Answer::from_str(answer).map_err(|_| {
            FieldErrors::single(
                "answer",
                "Choisissez « Je suis en sécurité » ou « J'ai besoin d'aide ».",
            )
        })?;
        let (campaign, who) = self.reply_target(token).await?;
        self.d
            .reach
            .acknowledge(&Acknowledgement {
                campaign: campaign.id,
                subscriber: who,
                answer,
                at: self.d.clock.now(),
            })
            .await?;
        tracing::info!(campaign = %campaign.id, answer = answer.as_str(), "resident answered");
        Ok(answer)
    }
}
