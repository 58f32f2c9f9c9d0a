//! Resident use cases: sign up and confirm (in `signup`), manage preferences, unsubscribe,
//! export, erase.

mod reply;
mod signup;

pub use reply::ReplyPage;

pub use signup::{CodeOutcome, CodePage, ConfirmationState, EmailConfirmed, SignupReceipt};

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock::{Clock, Month};
use crate::config::ServiceConfig;
use crate::domain::contact::{Channel, Email, PhoneNumber};
use crate::domain::queue::{Job, Notice, NoticeJob};
use crate::domain::signup::{parse_choices, SubscriptionInput};
use crate::domain::subscriber::{
    Choice, Consent, ConsentSource, Subscriber, SubscriberId, SubscriberStatus,
    CONSENT_WORDING_VERSION,
};
use crate::domain::topic::{Topic, TopicSlug};
use crate::error::{DomainError, FieldErrors, SendError};
use crate::ports::{
    Counter, EmailSender, JobQueue, OutgoingCall, OutgoingEmail, OutgoingSms, QuotaStore,
    SignupOrigin, SmsSender, StatsStore, SubscriberStore, TopicStore,
};
use crate::render::links::Links;
use crate::render::messages::EmailLayout;
use crate::token::{TokenPurpose, TokenSigner};

/// Where a web request came from, kept as proof of consent (never logged).
#[derive(Debug, Clone, Default)]
pub struct WebOrigin {
    /// Client IP address.
    pub ip: String,
    /// Client user agent.
    pub user_agent: String,
}

/// The preference page's data.
#[derive(Debug, Clone)]
pub struct PreferencesView {
    pub subscriber: Subscriber,
    /// Topics open for choice today.
    pub topics: Vec<Topic>,
}

/// Everything held about a subscriber, for "download my data" (RGPD art. 15 and 20).
#[derive(Debug, Clone, Serialize)]
pub struct DataExport {
    /// Identifier.
    pub id: SubscriberId,
    pub email: Option<Email>,
    /// Mobile number.
    pub phone: Option<PhoneNumber>,
    pub status: SubscriberStatus,
    pub language: String,
    /// Subscriptions with topic names.
    pub subscriptions: Vec<ExportedChoice>,
    /// Consent record.
    pub consent: Consent,
    /// When the sign-up was first received.
    pub created_at: DateTime<Utc>,
    /// Last change of contacts, choices or status.
    pub updated_at: DateTime<Utc>,
}

/// One exported subscription.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedChoice {
    /// Topic slug.
    pub topic: TopicSlug,
    pub topic_name: String,
    pub channel: Channel,
}

/// The ports and settings resident use cases need.
pub struct ResidentDeps {
    pub subscribers: Arc<dyn SubscriberStore>,
    /// Allowances of sign-ups, code SMS and code tries.
    pub quotas: Arc<dyn QuotaStore>,
    pub topics: Arc<dyn TopicStore>,
    /// Monthly counters.
    pub stats: Arc<dyn StatsStore>,
    /// Email provider.
    pub email: Arc<dyn EmailSender>,
    /// SMS provider.
    pub sms: Arc<dyn SmsSender>,
    /// Where a message the provider did not take at once waits (the urgent delivery lane).
    pub queue: Arc<dyn JobQueue>,
    /// Link signer.
    pub signer: TokenSigner,
    pub clock: Arc<dyn Clock>,
    /// The town's email layout.
    pub layout: Arc<EmailLayout>,
    /// Settings.
    pub config: ServiceConfig,
    /// The town's zones residents may name.
    pub zones: Arc<dyn crate::ports::ZoneStore>,
    /// Voice calls (a code read to a landline).
    pub voice: Arc<dyn crate::ports::VoiceSender>,
    /// Campaigns, for the answers residents give to urgent ones.
    pub campaigns: Arc<dyn crate::ports::CampaignStore>,
    /// Where those answers are kept.
    pub reach: Arc<dyn crate::ports::ReachStore>,
    /// The crisis cell, whose members answer its alerts with the same link.
    pub cell: Arc<dyn crate::ports::CellStore>,
}

/// A text as a voice reads it best: every digit on its own (« 1, 2, 3 » rather than « cent
/// vingt-trois »).
fn spell_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut previous_digit = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if previous_digit {
                out.push_str(", ");
            }
            previous_digit = true;
        } else {
            previous_digit = false;
        }
        out.push(c);
    }
    out
}

/// Resident use cases.
pub struct Residents {
    d: ResidentDeps,
    links: Links,
}

impl Residents {
    /// The zones of the town a resident may name (public).
    pub async fn zones(&self) -> Result<Vec<crate::domain::zone::Zone>, DomainError> {
        Ok(self.d.zones.zones().await?)
    }

    /// The zones whose streets include `street` (as typed: any case, accents or not).
    pub async fn zones_of_street(
        &self,
        street: &str,
    ) -> Result<Vec<crate::domain::zone::ZoneSlug>, DomainError> {
        Ok(self
            .d
            .zones
            .zones()
            .await?
            .into_iter()
            .filter(|z| z.has_street(street))
            .map(|z| z.slug)
            .collect())
    }

    /// Builds the use cases from their ports.
    pub fn new(deps: ResidentDeps) -> Self {
        let links = Links::new(deps.signer.clone(), deps.config.clone());
        Self { d: deps, links }
    }

    /// The settings in use.
    pub fn config(&self) -> &ServiceConfig {
        &self.d.config
    }

    /// Topics residents may choose today, in display order.
    pub async fn open_topics(&self) -> Result<Vec<Topic>, DomainError> {
        Ok(crate::ports::open_topics(self.d.topics.as_ref(), self.d.clock.now()).await?)
    }

    /// Seeds the default topics on first start; existing topics are left as staff set them.
    pub async fn seed_topics(&self, topics: &[Topic]) -> Result<usize, DomainError> {
        let mut created = 0;
        for t in topics {
            if self.d.topics.insert_if_absent(t).await? {
                created += 1;
            }
        }
        Ok(created)
    }

    fn url(&self, path: &str, token: &str) -> String {
        self.links.url(path, token)
    }

    /// The signed preference-page link of a subscriber.
    pub fn manage_url(&self, id: SubscriberId) -> String {
        self.links.manage_url(id, self.d.clock.now())
    }

    /// The signed one-click unsubscribe link of a subscriber (RFC 8058).
    pub fn unsubscribe_url(&self, id: SubscriberId) -> String {
        self.links.unsubscribe_url(id, self.d.clock.now())
    }

    fn topic_names(choices: &BTreeSet<Choice>, topics: &[Topic]) -> Vec<String> {
        let slugs: BTreeSet<&TopicSlug> = choices.iter().map(|c| &c.topic).collect();
        topics
            .iter()
            .filter(|t| slugs.contains(&t.slug))
            .map(|t| t.name.clone())
            .collect()
    }

    /// Sends an email to the person at hand; a provider refusing their address for good is a
    /// mistake in the `email` field, not a reason to try again later. A provider down or busy
    /// does not turn them away: the email is queued.
    async fn send_email(&self, mail: &OutgoingEmail) -> Result<(), DomainError> {
        match self.d.email.send_email(mail).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.send_later(
                    Notice::Email(mail.clone()),
                    e,
                    "email",
                    "Le service d'envoi refuse cette adresse e-mail : vérifiez-la ou indiquez-en une autre.",
                )
                .await
            }
        }
    }

    /// Reads a message meant as an SMS aloud to a landline (a code to a resident who gave one
    /// for calls): digits one by one, said twice.
    async fn call_instead(&self, sms: &OutgoingSms) -> Result<(), DomainError> {
        let said = spell_digits(&sms.text);
        let call = OutgoingCall {
            to: sms.to.clone(),
            text: format!("{said} Je répète. {said}"),
            attempt: 1,
            delivery: None,
        };
        match self.d.voice.call(&call).await {
            Ok(_) => Ok(()),
            Err(e @ SendError::Permanent(_)) => Err(e.for_field(
                "phone",
                "Le service d'appel refuse ce numéro : vérifiez-le ou indiquez-en un autre.",
            )),
            Err(e) => Err(DomainError::Unavailable(e.to_string())),
        }
    }

    /// Sends an SMS to the person at hand (as `send_email`, for the `phone` field); to a
    /// landline, the message is read by a call.
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<(), DomainError> {
        if !sms.to.is_mobile() {
            return self.call_instead(sms).await;
        }
        match self.d.sms.send_sms(sms).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.send_later(
                    Notice::Sms(sms.clone()),
                    e,
                    "phone",
                    "Le service d'envoi refuse ce numéro de mobile : vérifiez-le ou indiquez-en un autre.",
                )
                .await
            }
        }
    }

    /// What follows a first try the provider did not take: a refusal for good is a mistake in
    /// `field`; an SMS that may have gone is not sent again (as in campaigns); anything else
    /// waits on the urgent delivery lane, sent as soon as the provider takes it.
    async fn send_later(
        &self,
        message: Notice,
        error: SendError,
        field: &str,
        refused: &str,
    ) -> Result<(), DomainError> {
        let channel = message.channel();
        match error {
            SendError::Permanent(_) => Err(error.for_field(field, refused)),
            SendError::Unknown(_) if channel == Channel::Sms => {
                tracing::warn!(
                    channel = channel.as_str(),
                    "sign-up SMS outcome unknown: not sent again"
                );
                Ok(())
            }
            _ => {
                let job = Job::Notice(NoticeJob {
                    message,
                    queued_at: self.d.clock.now(),
                });
                self.d.queue.enqueue(&[job], Duration::ZERO).await?;
                tracing::warn!(
                    channel = channel.as_str(),
                    "provider unavailable: sign-up message queued"
                );
                Ok(())
            }
        }
    }

    async fn subscriber_from_token(
        &self,
        purpose: TokenPurpose,
        token: &str,
    ) -> Result<Subscriber, DomainError> {
        let id = self.d.signer.verify(purpose, token, self.d.clock.now())?;
        self.d.subscribers.get(id).await?.ok_or_else(|| {
            DomainError::NotFound(
                "Aucun abonnement ne correspond à ce lien : il a peut-être été supprimé.".into(),
            )
        })
    }

    /// Stores a subscriber after a transition and counts what it implies, in the month it
    /// happened.
    async fn save(&self, sub: &Subscriber, counter: Option<Counter>) -> Result<(), DomainError> {
        self.d.subscribers.update(sub).await?;
        let month = Month::of(sub.updated_at);
        match counter {
            Some(Counter::SignUps) => {
                let web = SignupOrigin::Web.key();
                self.d.stats.add_signups(month, &web, 1).await?
            }
            Some(counter) => self.d.stats.add(month, counter, 1).await?,
            None => {}
        }
        Ok(())
    }

    /// The preference page's data.
    pub async fn preferences(&self, token: &str) -> Result<PreferencesView, DomainError> {
        let subscriber = self
            .subscriber_from_token(TokenPurpose::Manage, token)
            .await?;
        Ok(PreferencesView {
            subscriber,
            topics: self.open_topics().await?,
        })
    }

    /// Replaces the choices on open topics (closed topics keep theirs, for the record).
    /// No choice left means unsubscribed; choices on an unsubscribed record re-activate it.
    pub async fn save_preferences(
        &self,
        token: &str,
        inputs: &[SubscriptionInput],
        origin: WebOrigin,
    ) -> Result<Subscriber, DomainError> {
        let mut sub = self
            .subscriber_from_token(TokenPurpose::Manage, token)
            .await?;
        let open = self.open_topics().await?;
        let mut errors = FieldErrors::new();
        let wanted = if inputs.iter().all(|i| i.channels.is_empty()) {
            BTreeSet::new()
        } else {
            parse_choices(
                inputs,
                &open,
                sub.email.is_some(),
                sub.phone.is_some(),
                &mut errors,
            )
        };
        errors.into_result()?;
        let open_slugs: BTreeSet<&TopicSlug> = open.iter().map(|t| &t.slug).collect();
        let mut choices: BTreeSet<Choice> = sub
            .choices
            .iter()
            .filter(|c| !open_slugs.contains(&c.topic))
            .cloned()
            .collect();
        choices.extend(wanted);
        let now = self.d.clock.now();
        let counter = sub.set_choices(choices, now);
        if counter == Some(Counter::SignUps) {
            sub.consent = Consent {
                source: ConsentSource::Web {
                    ip: origin.ip,
                    user_agent: origin.user_agent,
                },
                at: now,
                wording_version: CONSENT_WORDING_VERSION.into(),
            };
        }
        self.save(&sub, counter).await?;
        Ok(sub)
    }

    /// Stops one topic on every channel.
    pub async fn unsubscribe_topic(
        &self,
        token: &str,
        topic: &str,
    ) -> Result<Subscriber, DomainError> {
        let mut sub = self
            .subscriber_from_token(TokenPurpose::Manage, token)
            .await?;
        let slug = TopicSlug::from_str(topic).map_err(|m| FieldErrors::single("topic", m))?;
        let left: BTreeSet<Choice> = sub
            .choices
            .iter()
            .filter(|c| c.topic != slug)
            .cloned()
            .collect();
        if left.len() == sub.choices.len() {
            return Err(FieldErrors::single(
                "topic",
                format!("Vous n'êtes pas abonné(e) au thème « {slug} »."),
            ));
        }
        let counter = sub.set_choices(left, self.d.clock.now());
        self.save(&sub, counter).await?;
        Ok(sub)
    }

    async fn mark_unsubscribed(&self, mut sub: Subscriber) -> Result<Subscriber, DomainError> {
        let counter = sub.unsubscribe(self.d.clock.now());
        self.save(&sub, counter).await?;
        Ok(sub)
    }

    /// Unsubscribes from everything, from the preference page (`Manage`) or a one-click link
    /// (`Unsubscribe`). Doing it twice is harmless.
    pub async fn unsubscribe_all(
        &self,
        purpose: TokenPurpose,
        token: &str,
    ) -> Result<(), DomainError> {
        let sub = self.subscriber_from_token(purpose, token).await?;
        if sub.status() != SubscriberStatus::Unsubscribed {
            self.mark_unsubscribed(sub).await?;
        }
        Ok(())
    }

    /// Checks an unsubscribe link before showing its page.
    pub async fn check_unsubscribe_token(&self, token: &str) -> Result<Subscriber, DomainError> {
        self.subscriber_from_token(TokenPurpose::Unsubscribe, token)
            .await
    }

    /// Everything held about the subscriber.
    pub async fn export(&self, token: &str) -> Result<DataExport, DomainError> {
        let sub = self
            .subscriber_from_token(TokenPurpose::Manage, token)
            .await?;
        let topics = self.d.topics.list().await?;
        let subscriptions = sub
            .choices
            .iter()
            .map(|c| ExportedChoice {
                topic: c.topic.clone(),
                topic_name: topics
                    .iter()
                    .find(|t| t.slug == c.topic)
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                channel: c.channel,
            })
            .collect();
        let status = sub.status();
        Ok(DataExport {
            id: sub.id,
            email: sub.email,
            phone: sub.phone,
            status,
            language: sub.language,
            subscriptions,
            consent: sub.consent,
            created_at: sub.created_at,
            updated_at: sub.updated_at,
        })
    }

    /// Erases the subscriber (RGPD art. 17): no personal data is left, only anonymous counts.
    pub async fn erase(&self, token: &str) -> Result<(), DomainError> {
        let sub = self
            .subscriber_from_token(TokenPurpose::Manage, token)
            .await?;
        self.d.subscribers.delete(sub.id).await?;
        if let Some(counter) = sub.erasure() {
            self.d
                .stats
                .add(Month::of(self.d.clock.now()), counter, 1)
                .await?;
        }
        Ok(())
    }

    /// Deletes sign-ups left unconfirmed past their expiry.
    pub async fn purge_expired(&self) -> Result<u64, DomainError> {
        Ok(self
            .d
            .subscribers
            .purge_expired_pending(self.d.clock.now())
            .await?)
    }
}
