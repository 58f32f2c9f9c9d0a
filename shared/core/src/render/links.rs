//! The signed personal links put in messages: preference page and one-click unsubscribe.

use chrono::{DateTime, Utc};

use crate::config::ServiceConfig;
use crate::domain::subscriber::SubscriberId;
use crate::token::{TokenPurpose, TokenSigner};

/// Builds a subscriber's signed links.
#[derive(Debug, Clone)]
pub struct Links {
    signer: TokenSigner,
    config: ServiceConfig,
}

impl Links {
    /// Links under the configured public URL.
    pub fn new(signer: TokenSigner, config: ServiceConfig) -> Self {
        Self { signer, config }
    }

    /// The signer, for other token purposes.
    pub fn signer(&self) -> &TokenSigner {
        &self.signer
    }

    /// `<public_url><path>?t=<token>`.
    pub fn url(&self, path: &str, token: &str) -> String {
        format!("{}{path}?t={token}", self.config.public_url)
    }

    /// The preference page of a subscriber.
    pub fn manage_url(&self, id: SubscriberId, now: DateTime<Utc>) -> String {
        let t = self
            .signer
            .sign(TokenPurpose::Manage, id, now, self.config.manage_link_ttl);
        self.url("/preferences", &t)
    }

    /// The link where a recipient answers an urgent campaign (« Je suis en sécurité »):
    /// short, for SMS, valid [`crate::domain::reach::REPLY_LINK_DAYS`] days.
    pub fn reply_url(
        &self,
        campaign: crate::domain::campaign::CampaignId,
        id: SubscriberId,
        now: DateTime<Utc>,
    ) -> String {
        let expires = now + chrono::Duration::days(crate::domain::reach::REPLY_LINK_DAYS);
        let t = self.signer.sign_reply(campaign, id, expires);
        crate::domain::reach::reply_url(&self.config.public_url, &t)
    }

    /// The one-click unsubscribe link of a subscriber (RFC 8058).
    pub fn unsubscribe_url(&self, id: SubscriberId, now: DateTime<Utc>) -> String {
        let t = self.signer.sign(
            TokenPurpose::Unsubscribe,
            id,
            now,
            self.config.unsubscribe_link_ttl,
        );
        self.url("/desabonnement", &t)
    }
}
