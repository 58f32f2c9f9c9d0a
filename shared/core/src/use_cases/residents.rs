//! Resident use cases: sign up, confirm, manage preferences, unsubscribe, export, erase.
//!
//! Responses never reveal whether an address is known: every sign-up gets the same receipt, and the
//! owner of a known address is sent a link to manage their subscription instead.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;

use crate::clock::{Clock, Month};
use crate::config::ServiceConfig;
use crate::domain::contact::{Channel, Email, PhoneNumber};
use crate::domain::signup::{parse_choices, Signup, SignupInput, SubscriptionInput};
use crate::domain::subscriber::{
    Choice, ConfirmationMethod, Consent, ConsentSource, PendingConfirmation, Subscriber,
    SubscriberId, SubscriberState, SubscriberStatus, CONSENT_WORDING_VERSION,
};
use crate::domain::topic::{Topic, TopicSlug};
use crate::error::{DomainError, FieldErrors, StoreError};
use crate::ports::{
    Counter, EmailSender, OutgoingEmail, OutgoingSms, SmsSender, StatsStore, SubscriberStore,
    TopicStore,
};
use crate::render::links::Links;
use crate::render::messages::{self, EmailLayout};
use crate::token::{TokenPurpose, TokenSigner};

/// Where a web request came from, kept as proof of consent (never logged).
#[derive(Debug, Clone, Default)]
pub struct WebOrigin {
    /// Client IP address.
    pub ip: String,
    /// Client user agent.
    pub user_agent: String,
}

/// What a sign-up answers: how the resident will confirm. It depends only on what they typed,
/// never on what is stored, so it is identical whether the address was known or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignupReceipt {
    /// A link was sent by email.
    EmailLink,
    /// A code was sent by SMS, to be typed on the code page that `token` (signed) opens.
    SmsCode {
        /// The code page's signed token.
        token: String,
    },
}

impl SignupReceipt {
    /// The API's name for the way to confirm: `email_link` or `sms_code`.
    pub fn confirmation(&self) -> &'static str {
        match self {
            Self::EmailLink => "email_link",
            Self::SmsCode { .. } => "sms_code",
        }
    }
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

/// Result of the confirmation page lookup.
#[derive(Debug, Clone)]
pub enum ConfirmationState {
    /// Waiting for the click.
    Pending(Box<Subscriber>),
    /// Already confirmed earlier.
    AlreadyActive(SubscriberId),
}

/// The ports and settings resident use cases need.
pub struct ResidentDeps {
    pub subscribers: Arc<dyn SubscriberStore>,
    pub topics: Arc<dyn TopicStore>,
    /// Monthly counters.
    pub stats: Arc<dyn StatsStore>,
    /// Email provider.
    pub email: Arc<dyn EmailSender>,
    /// SMS provider.
    pub sms: Arc<dyn SmsSender>,
    /// Link signer.
    pub signer: TokenSigner,
    pub clock: Arc<dyn Clock>,
    /// The town's email layout.
    pub layout: Arc<EmailLayout>,
    /// Settings.
    pub config: ServiceConfig,
}

/// Resident use cases.
pub struct Residents {
    d: ResidentDeps,
    links: Links,
}

impl Residents {
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

    fn sign_pending(&self, purpose: TokenPurpose, id: SubscriberId) -> String {
        self.d
            .signer
            .sign(purpose, id, self.d.clock.now(), self.d.config.pending_ttl)
    }

    /// Web sign-up (double opt-in). Always answers the same receipt for the same input shape.
    pub async fn sign_up(
        &self,
        input: &SignupInput,
        origin: WebOrigin,
    ) -> Result<SignupReceipt, DomainError> {
        let open = self.open_topics().await?;
        let signup = Signup::parse(input, &open, true)?;
        let now = self.d.clock.now();
        let consent = Consent {
            source: ConsentSource::Web {
                ip: origin.ip,
                user_agent: origin.user_agent,
            },
            at: now,
            wording_version: CONSENT_WORDING_VERSION.into(),
        };

        let owners = self.owners_of(&signup.email, &signup.phone).await?;
        let code_subject = match owners.as_slice() {
            [] => {
                let (sub, code) = self.new_pending(SubscriberId::new(), &signup, consent, now);
                match self.d.subscribers.insert(&sub).await {
                    Ok(()) => {}
                    // Lost a race with an identical sign-up: the other one carries on.
                    Err(StoreError::Conflict(_)) => {
                        return Ok(self.receipt(&signup, SubscriberId::new()))
                    }
                    Err(e) => return Err(e.into()),
                }
                self.send_confirmation(&sub, code.as_deref(), &open).await?;
                sub.id
            }
            [owner] if owner.status() != SubscriberStatus::Active => {
                let (mut sub, code) = self.new_pending(owner.id, &signup, consent, now);
                sub.created_at = owner.created_at;
                self.d.subscribers.update(&sub).await?;
                self.send_confirmation(&sub, code.as_deref(), &open).await?;
                sub.id
            }
            owners => {
                for owner in owners {
                    self.remind_owner(owner, &signup, &open).await?;
                }
                // A code page that can never succeed: the owner was sent a manage link instead.
                SubscriberId::new()
            }
        };
        Ok(self.receipt(&signup, code_subject))
    }

    fn receipt(&self, signup: &Signup, code_subject: SubscriberId) -> SignupReceipt {
        if signup.email.is_some() {
            SignupReceipt::EmailLink
        } else {
            SignupReceipt::SmsCode {
                token: self.sign_pending(TokenPurpose::Code, code_subject),
            }
        }
    }

    async fn owners_of(
        &self,
        email: &Option<Email>,
        phone: &Option<PhoneNumber>,
    ) -> Result<Vec<Subscriber>, DomainError> {
        let mut owners: Vec<Subscriber> = Vec::new();
        if let Some(e) = email {
            if let Some(s) = self.d.subscribers.find_by_email(e).await? {
                owners.push(s);
            }
        }
        if let Some(p) = phone {
            if let Some(s) = self.d.subscribers.find_by_phone(p).await? {
                if owners.iter().all(|o| o.id != s.id) {
                    owners.push(s);
                }
            }
        }
        Ok(owners)
    }

    /// A fresh 6-digit code for `id` and the confirmation that checks it (stored as a digest).
    fn sms_code(&self, id: SubscriberId) -> (String, ConfirmationMethod) {
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
        let method = ConfirmationMethod::SmsCode {
            code_digest: self.d.signer.digest(&id.to_string(), &code),
            attempts: 0,
        };
        (code, method)
    }

    /// A web sign-up awaiting confirmation, with the SMS code to send when it has no email.
    fn new_pending(
        &self,
        id: SubscriberId,
        signup: &Signup,
        consent: Consent,
        now: DateTime<Utc>,
    ) -> (Subscriber, Option<String>) {
        let (code, method) = if signup.email.is_some() {
            (None, ConfirmationMethod::EmailLink)
        } else {
            let (code, method) = self.sms_code(id);
            (Some(code), method)
        };
        let sub = Subscriber {
            id,
            email: signup.email.clone(),
            phone: signup.phone.clone(),
            choices: signup.choices.clone(),
            state: SubscriberState::Pending(PendingConfirmation {
                expires_at: now + self.d.config.pending_ttl,
                method,
            }),
            language: "fr".into(),
            consent,
            created_at: now,
            updated_at: now,
        };
        (sub, code)
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
    /// mistake in the `email` field, not a reason to try again later.
    async fn send_email(&self, mail: &OutgoingEmail) -> Result<(), DomainError> {
        self.d.email.send_email(mail).await.map_err(|e| {
            e.for_field(
                "email",
                "Le service d'envoi refuse cette adresse e-mail : vérifiez-la ou indiquez-en une autre.",
            )
        })?;
        Ok(())
    }

    /// Sends an SMS to the person at hand (as `send_email`, for the `phone` field).
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<(), DomainError> {
        self.d.sms.send_sms(sms).await.map_err(|e| {
            e.for_field(
                "phone",
                "Le service d'envoi refuse ce numéro de mobile : vérifiez-le ou indiquez-en un autre.",
            )
        })?;
        Ok(())
    }

    /// Sends what confirms a pending sign-up: the link by email, or else `code` by SMS.
    async fn send_confirmation(
        &self,
        sub: &Subscriber,
        code: Option<&str>,
        topics: &[Topic],
    ) -> Result<(), DomainError> {
        let town = &self.d.config.town_name;
        if let Some(email) = &sub.email {
            let url = self.url(
                "/confirmation",
                &self.sign_pending(TokenPurpose::Confirm, sub.id),
            );
            let content =
                messages::confirmation_email(town, &url, &Self::topic_names(&sub.choices, topics));
            let mail = self.d.layout.compose(email, content, None)?;
            self.send_email(&mail).await?;
        } else if let Some(phone) = &sub.phone {
            let code = code.ok_or_else(|| {
                DomainError::Unexpected(format!("no SMS code for pending sign-up {}", sub.id))
            })?;
            self.send_sms(&messages::code_sms(phone, town, code))
                .await?;
        }
        Ok(())
    }

    /// Sends a pending sign-up's confirmation again; an SMS one gets a new code (one write).
    async fn resend_confirmation(
        &self,
        owner: &Subscriber,
        topics: &[Topic],
    ) -> Result<(), DomainError> {
        if owner.email.is_some() {
            return self.send_confirmation(owner, None, topics).await;
        }
        let mut sub = owner.clone();
        let (code, method) = self.sms_code(sub.id);
        if let Some(pending) = sub.pending_mut() {
            pending.method = method;
        }
        self.d.subscribers.update(&sub).await?;
        self.send_confirmation(&sub, Some(&code), topics).await
    }

    /// Someone signed up again with a known address: tell its owner on the channel that matched.
    async fn remind_owner(
        &self,
        owner: &Subscriber,
        signup: &Signup,
        topics: &[Topic],
    ) -> Result<(), DomainError> {
        let town = &self.d.config.town_name;
        match owner.status() {
            SubscriberStatus::Active => {
                let url = self.manage_url(owner.id);
                if let (Some(e), Some(mine)) = (&signup.email, &owner.email) {
                    if e == mine {
                        let mail = self.d.layout.compose(
                            mine,
                            messages::manage_link_email(town, &url),
                            None,
                        )?;
                        self.send_email(&mail).await?;
                        return Ok(());
                    }
                }
                if let (Some(p), Some(mine)) = (&signup.phone, &owner.phone) {
                    if p == mine {
                        self.send_sms(&messages::manage_link_sms(mine, town, &url))
                            .await?;
                    }
                }
                Ok(())
            }
            // Two different people's records are involved: change neither, resend what is pending.
            SubscriberStatus::Pending if !owner.is_expired_pending(self.d.clock.now()) => {
                self.resend_confirmation(owner, topics).await
            }
            _ => Ok(()),
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

    /// Looks up the sign-up behind a confirmation link without changing anything.
    pub async fn confirmation_state(&self, token: &str) -> Result<ConfirmationState, DomainError> {
        let sub = self
            .subscriber_from_token(TokenPurpose::Confirm, token)
            .await?;
        match sub.status() {
            SubscriberStatus::Active => Ok(ConfirmationState::AlreadyActive(sub.id)),
            SubscriberStatus::Pending if !sub.is_expired_pending(self.d.clock.now()) => {
                Ok(ConfirmationState::Pending(Box::new(sub)))
            }
            _ => Err(DomainError::ExpiredToken),
        }
    }

    /// Confirms a sign-up from its email link; confirming twice is harmless.
    pub async fn confirm_email(&self, token: &str) -> Result<SubscriberId, DomainError> {
        match self.confirmation_state(token).await? {
            ConfirmationState::AlreadyActive(id) => Ok(id),
            ConfirmationState::Pending(sub) => self.activate(*sub).await,
        }
    }

    async fn activate(&self, mut sub: Subscriber) -> Result<SubscriberId, DomainError> {
        let counter = sub.activate(self.d.clock.now());
        self.save(&sub, counter).await?;
        Ok(sub.id)
    }

    /// Stores a subscriber after a transition and counts what it implies, in the month it
    /// happened.
    async fn save(&self, sub: &Subscriber, counter: Option<Counter>) -> Result<(), DomainError> {
        self.d.subscribers.update(sub).await?;
        if let Some(counter) = counter {
            self.d
                .stats
                .add(Month::of(sub.updated_at), counter, 1)
                .await?;
        }
        Ok(())
    }

    /// Checks a code-page link before showing the page.
    pub fn check_code_token(&self, token: &str) -> Result<(), DomainError> {
        self.d
            .signer
            .verify(TokenPurpose::Code, token, self.d.clock.now())
            .map(|_| ())
    }

    /// Confirms a phone-only sign-up with the SMS code; locked after too many wrong codes.
    pub async fn confirm_code(&self, token: &str, code: &str) -> Result<SubscriberId, DomainError> {
        let code = code.trim().replace(' ', "");
        if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(FieldErrors::single("code", "Le code comporte 6 chiffres."));
        }
        let id = self
            .d
            .signer
            .verify(TokenPurpose::Code, token, self.d.clock.now())?;
        let wrong =
            || FieldErrors::single("code", "Ce code n'est pas le bon. Vérifiez le SMS reçu.");
        let Some(mut sub) = self.d.subscribers.get(id).await? else {
            return Err(wrong());
        };
        if sub.status() == SubscriberStatus::Active {
            return Ok(sub.id);
        }
        if sub.is_expired_pending(self.d.clock.now()) {
            return Err(DomainError::ExpiredToken);
        }
        let max = self.d.config.max_code_attempts;
        let Some(PendingConfirmation {
            method:
                ConfirmationMethod::SmsCode {
                    code_digest,
                    attempts,
                },
            ..
        }) = sub.pending()
        else {
            return Err(wrong());
        };
        if *attempts >= max {
            return Err(DomainError::TooManyAttempts(
                "Trop de codes erronés : cette inscription est bloquée. Recommencez votre inscription pour recevoir un nouveau code.".into(),
            ));
        }
        if self
            .d
            .signer
            .digest_matches(&id.to_string(), &code, code_digest)
        {
            return self.activate(sub).await;
        }
        let made = sub.count_wrong_code(self.d.clock.now());
        let left = max.saturating_sub(made);
        self.d.subscribers.update(&sub).await?;
        if left == 0 {
            return Err(DomainError::TooManyAttempts(
                "Trop de codes erronés : cette inscription est bloquée. Recommencez votre inscription pour recevoir un nouveau code.".into(),
            ));
        }
        Err(FieldErrors::single(
            "code",
            format!("Ce code n'est pas le bon. Il vous reste {left} essai(s)."),
        ))
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
        let mut counter = sub.set_choices(choices, now);
        if sub.status() == SubscriberStatus::Pending {
            // Holding the signed link proves control of the address: this is a fresh consent.
            counter = sub.activate(now);
        }
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
