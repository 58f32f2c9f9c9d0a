//! Sending one claimed delivery: where it goes, the provider's call, and what its answer makes
//! of the delivery.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;

use super::pacing::wait_until;
use super::{waited, Dispatcher};
use crate::domain::campaign::{Campaign, CampaignId, CampaignKind, CampaignStatus};
use crate::domain::contact::{Address, Channel, Email, PhoneNumber};
use crate::domain::delivery::{ChannelPause, Delivery, DeliveryKey, DeliveryResult};
use crate::domain::sms::analyze;
use crate::domain::subscriber::{Subscriber, SubscriberStatus};
use crate::error::SendError;
use crate::ports::{OutgoingCall, OutgoingSms};
use crate::render::campaign_render::RenderedEmail;

/// Where a claimed delivery goes.
pub(super) enum SendTo {
    /// The address fan-out read, still current.
    Address(Address),
    /// The profile as it is now (`None`: erased).
    Profile(Option<Box<Subscriber>>),
    /// A crisis follow-up's: the profile as it is now, the channel not bound to its choices.
    FollowUp(Option<Box<Subscriber>>),
    /// Nowhere: not sent, for this reason (a member removed from the crisis cell).
    Gone(&'static str),
}

impl Dispatcher {
    /// Sends every claimed delivery at once, each at its booked slot, each campaign's email
    /// rendered once.
    pub(super) async fn send_all(
        &self,
        campaigns: &HashMap<CampaignId, Campaign>,
        claimed: &[Delivery],
        recipients: &HashMap<DeliveryKey, SendTo>,
        turns: &HashMap<DeliveryKey, DateTime<Utc>>,
    ) -> Vec<DeliveryResult> {
        let rendered: HashMap<CampaignId, Option<RenderedEmail>> = campaigns
            .iter()
            .map(|(id, c)| (*id, RenderedEmail::of(c, &self.d.config.public_url)))
            .collect();
        let sends = claimed.iter().map(|d| async {
            if let Some(slot) = turns.get(&d.key) {
                wait_until(self.d.clock.as_ref(), *slot).await;
            }
            self.send_one(
                &campaigns[&d.key.campaign],
                rendered[&d.key.campaign].as_ref(),
                &recipients[&d.key],
                d.key,
                d.attempts,
            )
            .await
        });
        join_all(sends).await
    }

    /// Why a message of this campaign would now arrive too late to be of use: a weather
    /// alert whose vigilance has ended (a queue held up by an outage must not send it late).
    pub(super) fn past_useful_life(&self, campaign: &Campaign) -> Option<String> {
        let source = campaign.source.as_ref()?;
        (campaign.kind == CampaignKind::WeatherAlert && self.now() >= source.ends).then(|| {
            format!(
                "expiré : la vigilance {} {} était terminée ({})",
                source.colour.label(),
                source.phenomenon.label(),
                source
                    .ends
                    .with_timezone(&chrono_tz::Europe::Paris)
                    .format("fin le %d/%m à %H h")
            )
        })
    }

    /// The address to write to, or why there is none.
    pub(super) fn address(
        &self,
        campaign: &Campaign,
        to: &SendTo,
        channel: Channel,
    ) -> Result<Address, DeliveryResult> {
        let gone = |why: &str| DeliveryResult::Suppressed {
            reason: why.to_owned(),
        };
        let person = match to {
            SendTo::Address(address) => return Ok(address.clone()),
            SendTo::Gone(why) => return Err(gone(why)),
            SendTo::Profile(None) | SendTo::FollowUp(None) => return Err(gone("abonné effacé")),
            SendTo::Profile(Some(person)) | SendTo::FollowUp(Some(person)) => person,
        };
        // A follow-up goes to a person still subscribed to the campaign's topics, on any
        // channel; a message of the campaign itself, to one who still chose its channel.
        let follow_up = matches!(to, SendTo::FollowUp(_));
        let still_wanted = person.status() == SubscriberStatus::Active
            && person
                .choices
                .iter()
                .any(|c| (follow_up || c.channel == channel) && campaign.topics.contains(&c.topic));
        if !still_wanted {
            return Err(gone("abonné désinscrit depuis la préparation de l'envoi"));
        }
        match channel {
            Channel::Email => person.email.clone().map(Address::Email),
            Channel::Sms | Channel::Voice => person.phone.clone().map(Address::Phone),
        }
        .ok_or_else(|| match channel {
            Channel::Email => gone("pas d'adresse e-mail"),
            Channel::Sms => gone("pas de numéro de mobile"),
            Channel::Voice => gone("pas de numéro de téléphone"),
        })
    }

    async fn send_one(
        &self,
        campaign: &Campaign,
        email: Option<&RenderedEmail>,
        to: &SendTo,
        key: DeliveryKey,
        attempts: u32,
    ) -> DeliveryResult {
        if campaign.status() == CampaignStatus::Cancelled {
            return DeliveryResult::Suppressed {
                reason: "envoi arrêté par le cabinet".into(),
            };
        }
        if let Some(reason) = self.past_useful_life(campaign) {
            return DeliveryResult::Expired { reason };
        }
        let address = match self.address(campaign, to, key.channel) {
            Ok(address) => address,
            Err(not_sent) => return not_sent,
        };
        let sent = match (key.channel, address) {
            (_, Address::Email(to)) => self.send_email(campaign, email, &to, key).await,
            (Channel::Voice, Address::Phone(to)) => {
                self.send_call(campaign, to, attempts, key).await
            }
            (_, Address::Phone(to)) => self.send_sms(campaign, to, key).await,
        };
        if let Err(SendError::Paused(why)) = &sent {
            self.pause(key.channel, why).await;
        }
        self.outcome(sent, key.channel, attempts)
    }

    /// The campaign's email to one recipient, with their own links; the provider id.
    async fn send_email(
        &self,
        campaign: &Campaign,
        email: Option<&RenderedEmail>,
        to: &Email,
        key: DeliveryKey,
    ) -> Result<(Option<String>, u32), SendError> {
        let email = email.ok_or_else(|| SendError::Permanent("campagne sans e-mail".into()))?;
        let now = self.now();
        let asking;
        let email = if campaign.acknowledgement {
            asking = email.with_reply(&self.d.links.reply_url(campaign.id, key.subscriber, now));
            &asking
        } else {
            email
        };
        let mut message = email
            .for_recipient(
                &self.d.layout,
                to,
                Some(self.d.links.manage_url(key.subscriber, now)),
                Some(self.d.links.unsubscribe_url(key.subscriber, now)),
                "",
            )
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        message.campaign = Some(key.campaign);
        self.d.email.send_email(&message).await.map(|id| (id, 0))
    }

    /// The campaign's SMS to one number; the provider id and the segments billed.
    async fn send_sms(
        &self,
        campaign: &Campaign,
        to: PhoneNumber,
        key: DeliveryKey,
    ) -> Result<(Option<String>, u32), SendError> {
        let sms = campaign
            .messages
            .sms()
            .ok_or_else(|| SendError::Permanent("campagne sans SMS".into()))?;
        let text = if campaign.acknowledgement {
            let url = self
                .d
                .links
                .reply_url(campaign.id, key.subscriber, self.now());
            crate::domain::reach::sms_with_reply(&sms.text, &url)
        } else {
            sms.text.clone()
        };
        let segments = analyze(&text).segments as u32;
        self.d
            .sms
            .send_sms(&OutgoingSms { to, text })
            .await
            .map(|id| (id, segments))
    }

    /// The campaign's voice call to one number (attempt `attempt`) for delivery `key`; the
    /// provider id.
    pub(super) async fn send_call(
        &self,
        campaign: &Campaign,
        to: PhoneNumber,
        attempt: u32,
        key: DeliveryKey,
    ) -> Result<(Option<String>, u32), SendError> {
        let voice = campaign
            .messages
            .voice()
            .ok_or_else(|| SendError::Permanent("campagne sans appel vocal".into()))?;
        self.d
            .voice
            .call(&OutgoingCall {
                to,
                text: voice.spoken_for(&self.d.config.town_name, campaign.acknowledgement),
                attempt: attempt.max(1),
                delivery: Some(key),
            })
            .await
            .map(|id| (id, 0))
    }

    /// Pauses a channel the provider refuses to send on; staff are alerted (the log line is
    /// what the alarm on AWS matches) and see the reason until they resume it.
    pub(super) async fn pause(&self, channel: Channel, why: &str) {
        tracing::error!(alarm = "sending_paused", channel = channel.as_str(), reason = %why, "provider paused sending");
        let pause = ChannelPause {
            channel,
            campaign: None,
            reason: why.to_owned(),
            since: self.now(),
        };
        if let Some((_, paused)) = self.paused.lock().expect("cache lock").as_mut() {
            paused.insert((channel, None));
        }
        if let Err(e) = self.d.pauses.pause(&pause).await {
            tracing::error!(error = %e, "cannot record the paused channel");
        }
    }

    /// What a send's answer makes of the delivery.
    fn outcome(
        &self,
        sent: Result<(Option<String>, u32), SendError>,
        channel: Channel,
        attempts: u32,
    ) -> DeliveryResult {
        let give_up = |error: String| DeliveryResult::Failed {
            error: format!("abandon après {attempts} essais : {error}"),
        };
        // Trying again would take the delivery past the time it may be retried for.
        let out_of_attempts = chrono::Duration::from_std(waited(attempts))
            .is_ok_and(|waited| waited > self.d.config.retry_for);
        match sent {
            Ok((provider_id, segments)) => DeliveryResult::Sent {
                provider_id,
                segments,
            },
            Err(SendError::Permanent(error)) => DeliveryResult::Failed { error },
            // An SMS or a call that may have gone is not sent again: a missed one is reported
            // to staff, a doubled emergency message cannot be taken back. An email may be.
            Err(SendError::Unknown(error)) if channel == Channel::Voice => {
                DeliveryResult::Unknown {
                    error: format!(
                    "issue inconnue, l'appel a peut-être eu lieu (il n'est pas renouvelé) : {error}"
                ),
                }
            }
            Err(SendError::Unknown(error)) if channel == Channel::Sms => DeliveryResult::Unknown {
                error: format!(
                    "issue inconnue, le SMS a peut-être été envoyé (il n'est pas renvoyé) : {error}"
                ),
            },
            Err(SendError::Transient(error) | SendError::Unknown(error)) if out_of_attempts => {
                give_up(error)
            }
            Err(SendError::Transient(error) | SendError::Unknown(error)) => {
                DeliveryResult::Retry { error }
            }
            // Waited out however long it lasts: the pace keeps it rare; a paused channel waits
            // for staff to resume it.
            Err(SendError::Throttled(error) | SendError::Paused(error)) => {
                DeliveryResult::Wait { error }
            }
        }
    }
}
