//! Messages ready for a provider: an email, an SMS, a voice call.

use crate::domain::campaign::CampaignId;
use crate::domain::contact::{Email, PhoneNumber};
use crate::domain::delivery::DeliveryKey;

/// An email ready to send: both parts already rendered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutgoingEmail {
    /// Recipient.
    pub to: Email,
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// One-click unsubscribe URL (RFC 8058), when the message is part of a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_unsubscribe: Option<String>,
    /// The campaign it belongs to: the provider tags the message with it, so bounces and
    /// complaints come back to the campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<CampaignId>,
}

/// A text message ready to send.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutgoingSms {
    /// Recipient.
    pub to: PhoneNumber,
    pub text: String,
}

/// A voice call ready to place: the text is read aloud to whoever answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutgoingCall {
    /// The number called (a landline or a mobile), E.164.
    pub to: PhoneNumber,
    /// What is said, as written for the ear (the town's name first, the message twice).
    pub text: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// The campaign delivery it places, if any (none for a sign-up code read aloud): a provider
    /// that reports call outcomes ties them back to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryKey>,
}
