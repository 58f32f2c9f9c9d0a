//! The town's website side of Télmail: the public archive of sent messages, its feeds and
//! agenda, and the weather alert in force. Nothing here reads a subscriber: what is public is
//! the campaign as written, so no page or feed can carry anyone's address, number or link, and
//! its cost does not grow with the number of subscribers.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::clock::{town_date, Clock};
use crate::domain::archive::{ArchiveCursor, ArchivedMessage, PublicAlert};
use crate::domain::campaign::{Campaign, CampaignId};
use crate::domain::staff::{Role, StaffIdentity};
use crate::domain::topic::{Topic, TopicSlug};
use crate::error::{DomainError, StoreError};
use crate::ports::{ArchiveStore, TopicStore};
use crate::render::campaign_render::markdown_to_html;
use crate::render::messages::EmailLayout;

/// Most messages on one page or in one feed.
pub const PAGE_MAX: usize = 50;
/// How far back the agenda shows events (days).
const AGENDA_PAST_DAYS: i64 = 31;
/// Most events in the agenda.
const AGENDA_MAX: usize = 200;

/// The ports the archive needs.
pub struct ArchiveDeps {
    pub archive: Arc<dyn ArchiveStore>,
    /// Topic names for display.
    pub topics: Arc<dyn TopicStore>,
    pub clock: Arc<dyn Clock>,
    /// The town's email layout (the archive shows the email as sent).
    pub layout: Arc<EmailLayout>,
    /// The service's public URL, without a trailing `/` (absolute links of feeds and images).
    pub public_url: String,
    /// The town's name.
    pub town: String,
}

/// One page of the archive.
#[derive(Debug, Clone)]
pub struct ArchivePage {
    /// Newest first.
    pub messages: Vec<ArchivedMessage>,
    /// Where the next page starts (none: this is the last).
    pub next: Option<ArchiveCursor>,
}

/// Publishing, withdrawing and reading the public archive.
pub struct Archive {
    d: ArchiveDeps,
}

impl Archive {
    /// Builds the archive from its ports.
    pub fn new(deps: ArchiveDeps) -> Self {
        Self { d: deps }
    }

    /// The service's public URL.
    pub fn public_url(&self) -> &str {
        &self.d.public_url
    }

    /// The town's name.
    pub fn town(&self) -> &str {
        &self.d.town
    }

    /// The service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.d.clock.now()
    }

    /// Publishes a campaign that is going out or went out, if it belongs in the archive (the
    /// sender calls it; publishing twice changes nothing, and a withdrawn message stays
    /// withdrawn). Weather messages update the alert the website shows.
    pub async fn publish(&self, campaign: &Campaign) -> Result<(), StoreError> {
        if !ArchivedMessage::publishes(campaign) {
            return Ok(());
        }
        if self.d.archive.archived(campaign.id).await?.is_some() {
            // Already published (an alert is published when it starts going out, and the end
            // of its sending comes back here): it keeps its first date.
            return Ok(());
        }
        let message = ArchivedMessage::of(campaign, self.now());
        if self.d.archive.publish(&message).await? && message.alert.is_some() {
            let mut alerts = self.d.archive.public_alerts().await?;
            if alerts.apply(&message) {
                self.d.archive.save_public_alerts(&alerts).await?;
            }
        }
        Ok(())
    }

    /// Withdraws a message from the archive (`redaction` or `admin`).
    pub async fn withdraw(&self, by: &StaffIdentity, id: CampaignId) -> Result<(), DomainError> {
        by.require_any(&[Role::Redaction, Role::Admin])?;
        if !self.d.archive.withdraw(id).await? {
            return Err(DomainError::NotFound(
                "Ce message n'est pas dans les archives.".into(),
            ));
        }
        let mut alerts = self.d.archive.public_alerts().await?;
        if alerts.withdraw(id) {
            self.d.archive.save_public_alerts(&alerts).await?;
        }
        tracing::info!(campaign = %id, by = %by.id, "message withdrawn from the archive");
        Ok(())
    }

    /// A page of published messages, newest first.
    pub async fn page(
        &self,
        topic: Option<&TopicSlug>,
        after: Option<ArchiveCursor>,
        limit: usize,
    ) -> Result<ArchivePage, DomainError> {
        let limit = limit.clamp(1, PAGE_MAX);
        let mut messages = self.d.archive.archive_page(topic, after, limit + 1).await?;
        let next = if messages.len() > limit {
            messages.truncate(limit);
            messages.last().map(ArchivedMessage::cursor)
        } else {
            None
        };
        Ok(ArchivePage { messages, next })
    }

    /// A published message.
    pub async fn message(&self, id: CampaignId) -> Result<Option<ArchivedMessage>, DomainError> {
        Ok(self.d.archive.archived(id).await?)
    }

    /// Every topic, for names and the filter (open or not: old messages keep their topics).
    pub async fn topics(&self) -> Result<Vec<Topic>, DomainError> {
        Ok(self.d.topics.list().await?)
    }

    /// The message's email body as HTML (links and images filtered as in the mailbox).
    pub fn body_html(&self, message: &ArchivedMessage) -> Option<String> {
        message
            .email
            .as_ref()
            .map(|e| markdown_to_html(&e.body_markdown, &self.d.public_url))
    }

    /// The message's email as every recipient saw it, in the town's layout, without anyone's
    /// link.
    pub fn email_html(&self, message: &ArchivedMessage) -> Result<Option<String>, DomainError> {
        let Some(email) = &message.email else {
            return Ok(None);
        };
        let body = markdown_to_html(&email.body_markdown, &self.d.public_url);
        self.d.layout.public_html(&email.subject, &body).map(Some)
    }

    /// Published messages announcing an event from a month ago on, soonest first.
    pub async fn agenda(&self) -> Result<Vec<ArchivedMessage>, DomainError> {
        let from: NaiveDate = town_date(self.now() - Duration::days(AGENDA_PAST_DAYS));
        Ok(self.d.archive.agenda(from, AGENDA_MAX).await?)
    }

    /// The weather alert in force now, if any (one key lookup).
    pub async fn alert_in_force(&self) -> Result<Option<PublicAlert>, DomainError> {
        let alerts = self.d.archive.public_alerts().await?;
        Ok(alerts.in_force(self.now()).cloned())
    }
}
