//! Signing up on the web: a request that owns nothing until each contact it names is proven by
//! its own channel (the email by its link, the mobile by a code), then joins or becomes a
//! subscriber.
//!
//! What the requester sees and what is sent depend only on what they typed, never on what is
//! stored: a sign-up naming a known address gets the same answer and the same message as any
//! other, so no one learns whether an address or number is subscribed, and no unproven request
//! changes a stored record.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Europe::Paris;
use rand::Rng;

use super::{Residents, WebOrigin};
use crate::domain::contact::{Channel, Email, PhoneNumber};
use crate::domain::signup::{Signup, SignupInput};
use crate::domain::subscriber::{
    Consent, ConsentSource, NextProof, Subscriber, SubscriberId, SubscriberStatus,
    CONSENT_WORDING_VERSION,
};
use crate::domain::topic::Topic;
use crate::error::{DomainError, FieldErrors};
use crate::render::messages;
use crate::token::TokenPurpose;

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

/// Result of the confirmation page lookup.
#[derive(Debug, Clone)]
pub enum ConfirmationState {
    /// Waiting for the click.
    Pending(Box<Subscriber>),
    /// Already confirmed earlier.
    AlreadyActive(SubscriberId),
}

/// What following the email link led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailConfirmed {
    /// Signed up: the subscriber whose preferences the person may now manage.
    Done(SubscriberId),
    /// The email is proven; the mobile is next, by the code sent to it. `refused` says why
    /// no code could be sent (the daily limits); the person may go on without SMS.
    CodeNext {
        /// The code page's signed token.
        token: String,
        /// Why no code was sent, in French.
        refused: Option<String>,
    },
}

/// What typing a code (or giving up the SMS) led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    /// Signed up: the subscriber whose preferences the person may now manage.
    Confirmed(SubscriberId),
    /// Without SMS there was nothing left to receive: the request is dropped.
    Abandoned,
    /// The request was already confirmed or dropped: nothing is said of what it became.
    NoLongerPending,
}

/// What the code page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodePage {
    /// Whether the email is proven, so the person may go on without SMS.
    pub can_skip: bool,
}

/// The SMS code, as typed: six digits, spaces allowed.
fn typed_code(code: &str) -> Result<String, DomainError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(FieldErrors::single("code", "Le code comporte 6 chiffres."));
    }
    Ok(code)
}

fn too_many_codes() -> DomainError {
    DomainError::TooManyAttempts(
        "Trop de codes erronés : cette inscription est bloquée. Recommencez votre inscription pour recevoir un nouveau code.".into(),
    )
}

/// The end of the Paris day containing `now`, and that day's date, for allowances by day.
fn paris_day(now: DateTime<Utc>) -> (String, DateTime<Utc>) {
    let today = now.with_timezone(&Paris).date_naive();
    let end = (today + Duration::days(1))
        .and_time(NaiveTime::MIN)
        .and_local_timezone(Paris)
        .earliest()
        .map_or(now + Duration::days(1), |t| t.with_timezone(&Utc));
    (today.to_string(), end)
}

impl Residents {
    fn sign_pending(&self, purpose: TokenPurpose, id: SubscriberId) -> String {
        self.d
            .signer
            .sign(purpose, id, self.d.clock.now(), self.d.config.pending_ttl)
    }

    /// Web sign-up: stores the request and sends the first proof (the email link, or the code
    /// for a mobile-only sign-up). The same answer whatever is stored.
    pub async fn sign_up(
        &self,
        input: &SignupInput,
        origin: WebOrigin,
    ) -> Result<SignupReceipt, DomainError> {
        let open = self.open_topics().await?;
        let signup = Signup::parse(input, &open, true)?;
        self.check_country(signup.phone.as_ref())?;
        crate::use_cases::zones::check_zones(self.d.zones.as_ref(), &signup.zones, "zones").await?;
        self.take_client_allowance(&origin.ip).await?;
        let now = self.d.clock.now();
        let consent = Consent {
            source: ConsentSource::Web {
                ip: origin.ip,
                user_agent: origin.user_agent,
            },
            at: now,
            wording_version: CONSENT_WORDING_VERSION.into(),
        };
        let Signup {
            email,
            phone,
            choices,
            zones,
        } = signup;
        let mut request = Subscriber::request(
            (email.clone(), phone.clone()),
            choices,
            consent,
            now,
            now + self.d.config.pending_ttl,
        );
        request.zones = zones;
        match (email, phone) {
            (Some(email), _) => {
                self.d.subscribers.insert(&request).await?;
                self.send_link(&request, &email, &open).await?;
                Ok(SignupReceipt::EmailLink)
            }
            (None, Some(phone)) => {
                let code = self.code_for(&mut request, &phone).await?;
                self.d.subscribers.insert(&request).await?;
                self.send_sms(&messages::code_sms(&phone, &self.d.config.town_name, &code))
                    .await?;
                Ok(SignupReceipt::SmsCode {
                    token: self.sign_pending(TokenPurpose::Code, request.id),
                })
            }
            (None, None) => Err(DomainError::Unexpected(
                "a parsed sign-up has a contact".into(),
            )),
        }
    }

    /// Refuses a mobile outside the countries the service sends sign-up codes to.
    fn check_country(&self, phone: Option<&PhoneNumber>) -> Result<(), DomainError> {
        match phone.and_then(PhoneNumber::country_code) {
            Some(code) if !self.d.config.signup_limits.country_codes.contains(&code) => {
                Err(FieldErrors::single(
                    "phone",
                    "Seuls les numéros de mobile français (métropole et outre-mer) peuvent s'inscrire aux SMS de la Ville.",
                ))
            }
            _ => Ok(()),
        }
    }

    /// Counts a sign-up against its client's hourly allowance (the IPv4 address, or the IPv6
    /// /64: drawing a new address of one's /64 for each sign-up changes nothing).
    async fn take_client_allowance(&self, ip: &str) -> Result<(), DomainError> {
        let now = self.d.clock.now();
        let hour = now.timestamp() / 3600;
        let client = crate::domain::client::client_network_of(ip);
        let key = format!(
            "signup-client:{}@{hour}",
            self.d.signer.digest("quota-client", &client)
        );
        let end = DateTime::from_timestamp((hour + 1) * 3600, 0).unwrap_or(now);
        let limit = self.d.config.signup_limits.signups_per_client_per_hour;
        match self.d.quotas.take(&key, limit, now, end).await? {
            Some(_) => Ok(()),
            None => Err(DomainError::TooManyAttempts(
                "Trop d'inscriptions depuis votre connexion : réessayez dans une heure.".into(),
            )),
        }
    }

    /// A new code for the request's mobile, within the number's and the service's allowances
    /// of code SMS; its digest is set on the request. The error says which allowance ran out.
    async fn code_for(
        &self,
        request: &mut Subscriber,
        phone: &PhoneNumber,
    ) -> Result<String, DomainError> {
        let now = self.d.clock.now();
        self.take_code_allowance(phone, now).await?;
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
        let digest = self.d.signer.digest(&request.id.to_string(), &code);
        request.code_sent(digest, now);
        Ok(code)
    }

    /// Takes one code SMS from the number's and the service's allowances; the error says
    /// which ran out.
    async fn take_code_allowance(
        &self,
        phone: &PhoneNumber,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let limits = &self.d.config.signup_limits;
        let number = self.d.signer.digest("quota-phone", phone.as_str());
        let (today, day_end) = paris_day(now);
        let refused = |message: String| Err(FieldErrors::single("phone", message));
        let interval = limits.code_sms_interval;
        if interval > Duration::zero() {
            // One code per number in a sliding wait: the allowance ends `interval` after it.
            let key = format!("code-sms:{number}");
            if self
                .d
                .quotas
                .take(&key, 1, now, now + interval)
                .await?
                .is_none()
            {
                let minutes = interval.num_minutes().max(1);
                return refused(format!(
                    "Un code vient d'être envoyé à ce numéro : patientez {minutes} minute(s) avant d'en demander un autre."
                ));
            }
        }
        let key = format!("code-sms-day:{number}@{today}");
        let per_number = limits.code_sms_per_number_per_day;
        if self
            .d
            .quotas
            .take(&key, per_number, now, day_end)
            .await?
            .is_none()
        {
            return refused(
                "Ce numéro a reçu aujourd'hui tous les codes possibles : réessayez demain, ou inscrivez-vous avec une adresse e-mail.".into(),
            );
        }
        let key = format!("code-sms-budget@{today}");
        let budget = limits.code_sms_per_day;
        if self
            .d
            .quotas
            .take(&key, budget, now, day_end)
            .await?
            .is_none()
        {
            // The alarm on AWS matches this event; no personal data in it.
            tracing::error!(
                alarm = "code_sms_budget_exhausted",
                budget,
                "daily budget of sign-up code SMS reached: phone-only sign-ups refused until tomorrow"
            );
            return refused(
                "Le nombre de SMS de vérification prévu pour aujourd'hui est atteint. Inscrivez-vous avec une adresse e-mail, ou réessayez demain.".into(),
            );
        }
        Ok(())
    }

    /// Sends the confirmation link of a request to its email address.
    async fn send_link(
        &self,
        request: &Subscriber,
        email: &Email,
        topics: &[Topic],
    ) -> Result<(), DomainError> {
        let url = self.url(
            "/confirmation",
            &self.sign_pending(TokenPurpose::Confirm, request.id),
        );
        let names = Self::topic_names(&request.choices, topics);
        let content = messages::confirmation_email(&self.d.config.town_name, &url, &names);
        let mail = self.d.layout.compose(email, content, None)?;
        self.send_email(&mail).await
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

    /// The email link was followed: the email is proven. A mobile in the request is next (a
    /// code is sent to it); without one, the sign-up is done. Following it twice is harmless.
    pub async fn confirm_email(&self, token: &str) -> Result<EmailConfirmed, DomainError> {
        let mut request = match self.confirmation_state(token).await? {
            ConfirmationState::AlreadyActive(id) => return Ok(EmailConfirmed::Done(id)),
            ConfirmationState::Pending(request) => *request,
        };
        request.prove_email(self.d.clock.now());
        let phone = request
            .pending()
            .filter(|p| p.next_proof() == NextProof::SmsCode)
            .and_then(|p| p.phone.clone());
        let Some(phone) = phone else {
            return self.finish(request, false).await.map(EmailConfirmed::Done);
        };
        let token = self.sign_pending(TokenPurpose::Code, request.id);
        match self.code_for(&mut request, &phone).await {
            Ok(code) => {
                self.d.subscribers.update(&request).await?;
                self.send_sms(&messages::code_sms(&phone, &self.d.config.town_name, &code))
                    .await?;
                Ok(EmailConfirmed::CodeNext {
                    token,
                    refused: None,
                })
            }
            Err(DomainError::Validation(refusal)) => {
                self.d.subscribers.update(&request).await?;
                // A code sent a moment ago still works: the page just asks for it.
                let recent = request.pending().is_some_and(|p| p.code_digest.is_some());
                Ok(EmailConfirmed::CodeNext {
                    token,
                    refused: (!recent).then(|| refusal.get("phone").unwrap_or_default().to_owned()),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Checks a code-page link before showing the page.
    pub async fn code_page(&self, token: &str) -> Result<CodePage, DomainError> {
        let id = self
            .d
            .signer
            .verify(TokenPurpose::Code, token, self.d.clock.now())?;
        let request = self.d.subscribers.get(id).await?;
        Ok(CodePage {
            can_skip: request
                .as_ref()
                .and_then(Subscriber::pending)
                .is_some_and(|p| p.email_proven),
        })
    }

    /// The pending request a code-page link names; `None` when it is pending no more.
    async fn pending_request(&self, token: &str) -> Result<Option<Subscriber>, DomainError> {
        let id = self
            .d
            .signer
            .verify(TokenPurpose::Code, token, self.d.clock.now())?;
        let Some(request) = self.d.subscribers.get(id).await? else {
            return Ok(None);
        };
        if request.status() != SubscriberStatus::Pending {
            return Ok(None);
        }
        if request.is_expired_pending(self.d.clock.now()) {
            return Err(DomainError::ExpiredToken);
        }
        Ok(Some(request))
    }

    /// Checks the code sent to the request's mobile: right, the mobile is proven and the
    /// sign-up done. Each try is counted in the store before the code is compared, so no number
    /// of simultaneous tries gets past the limit.
    pub async fn confirm_code(&self, token: &str, code: &str) -> Result<CodeOutcome, DomainError> {
        let code = typed_code(code)?;
        let Some(request) = self.pending_request(token).await? else {
            return Ok(CodeOutcome::NoLongerPending);
        };
        let max = self.d.config.max_code_attempts;
        let expires_at = request
            .pending()
            .map_or(self.d.clock.now(), |p| p.expires_at);
        let key = format!("code-tries:{}", request.id);
        let Some(tries) = self
            .d
            .quotas
            .take(&key, max, self.d.clock.now(), expires_at)
            .await?
        else {
            return Err(too_many_codes());
        };
        let digest = request.pending().and_then(|p| p.code_digest.as_deref());
        let right = digest.is_some_and(|d| {
            self.d
                .signer
                .digest_matches(&request.id.to_string(), &code, d)
        });
        if right {
            return self.finish(request, true).await.map(CodeOutcome::Confirmed);
        }
        match max.saturating_sub(tries) {
            0 => Err(too_many_codes()),
            left => Err(FieldErrors::single(
                "code",
                format!("Ce code n'est pas le bon. Il vous reste {left} essai(s)."),
            )),
        }
    }

    /// Sends a new code to the request's mobile (the person lost the first one, or it never
    /// came), within the same allowances as the first: false when the sign-up is pending no
    /// more. Refusals are on the `code` field, where the page shows them.
    pub async fn resend_code(&self, token: &str) -> Result<bool, DomainError> {
        let Some(mut request) = self.pending_request(token).await? else {
            return Ok(false);
        };
        let phone = request
            .pending()
            .filter(|p| p.next_proof() == NextProof::SmsCode)
            .and_then(|p| p.phone.clone());
        let Some(phone) = phone else {
            return Err(FieldErrors::single(
                "code",
                "Cette inscription n'attend pas de code par SMS.",
            ));
        };
        let code = match self.code_for(&mut request, &phone).await {
            Ok(code) => code,
            Err(DomainError::Validation(refusal)) => {
                let why = refusal.get("phone").unwrap_or_default().to_owned();
                return Err(FieldErrors::single("code", why));
            }
            Err(e) => return Err(e),
        };
        self.d.subscribers.update(&request).await?;
        self.send_sms(&messages::code_sms(&phone, &self.d.config.town_name, &code))
            .await?;
        Ok(true)
    }

    /// Goes on without SMS, once the email is proven: the mobile and its choices are left out.
    pub async fn skip_phone(&self, token: &str) -> Result<CodeOutcome, DomainError> {
        let Some(mut request) = self.pending_request(token).await? else {
            return Ok(CodeOutcome::NoLongerPending);
        };
        if !request.pending().is_some_and(|p| p.email_proven) {
            return Err(FieldErrors::single(
                "code",
                "Saisissez le code reçu par SMS pour confirmer votre inscription.",
            ));
        }
        if !request.drop_phone(self.d.clock.now()) {
            self.d.subscribers.delete(request.id).await?;
            return Ok(CodeOutcome::Abandoned);
        }
        self.finish(request, false)
            .await
            .map(CodeOutcome::Confirmed)
    }

    /// Every contact of the request is proven (`phone_proven` says for the mobile): the request
    /// becomes a subscriber, or, where a proven contact already has one, joins it. Returns the
    /// subscriber whose preferences the person may manage.
    async fn finish(
        &self,
        request: Subscriber,
        phone_proven: bool,
    ) -> Result<SubscriberId, DomainError> {
        match self.settle(request.clone(), phone_proven).await {
            // Someone took one of the contacts meanwhile (the store refused it to this record):
            // join their record instead.
            Err(DomainError::Conflict(_)) => self.settle(request, phone_proven).await,
            other => other,
        }
    }

    async fn settle(
        &self,
        mut request: Subscriber,
        phone_proven: bool,
    ) -> Result<SubscriberId, DomainError> {
        let now = self.d.clock.now();
        let pending = request.pending().cloned().ok_or_else(|| {
            DomainError::Unexpected(format!("sign-up {} is not pending", request.id))
        })?;
        let email = pending.email.filter(|_| pending.email_proven);
        let phone = pending.phone.filter(|_| phone_proven);
        let by_email = match &email {
            Some(e) => self.d.subscribers.find_by_email(e).await?,
            None => None,
        };
        let by_phone = match &phone {
            Some(p) => self.d.subscribers.find_by_phone(p).await?,
            None => None,
        };
        match (by_email, by_phone) {
            (None, None) => {
                let counter = request.activate_request(email, phone, now);
                self.save(&request, counter).await?;
                Ok(request.id)
            }
            (Some(a), Some(b)) if a.id != b.id => {
                // Two records, both the person's (each contact was proven): each keeps its own.
                self.join(a.clone(), &request, [Channel::Email], (None, None))
                    .await?;
                self.join(b, &request, [Channel::Sms], (None, None)).await?;
                self.d.subscribers.delete(request.id).await?;
                Ok(a.id)
            }
            (Some(owner), _) | (None, Some(owner)) => {
                let contacts = (
                    email.filter(|_| owner.email.is_none()),
                    phone.filter(|_| owner.phone.is_none()),
                );
                let id = owner.id;
                self.join(owner, &request, [Channel::Email, Channel::Sms], contacts)
                    .await?;
                self.d.subscribers.delete(request.id).await?;
                Ok(id)
            }
        }
    }

    /// Adds a proven request's choices on `channels` (and contacts the owner lacks) to its
    /// owner's record.
    async fn join(
        &self,
        mut owner: Subscriber,
        request: &Subscriber,
        channels: impl IntoIterator<Item = Channel>,
        contacts: (Option<Email>, Option<PhoneNumber>),
    ) -> Result<(), DomainError> {
        let channels: BTreeSet<Channel> = channels.into_iter().collect();
        let counter = owner.absorb(request, &channels, contacts, self.d.clock.now());
        self.save(&owner, counter).await
    }
}
