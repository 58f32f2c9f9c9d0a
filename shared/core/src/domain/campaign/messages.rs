//! What a campaign says, on each of its channels: one at least, so a campaign that would
//! send nothing cannot be built, nor read back from a store.

use serde::{Deserialize, Serialize};

use super::{CampaignEmail, CampaignSms, CampaignVoice};
use crate::domain::contact::Channel;

/// A campaign's messages: its SMS, its email and its spoken text, one of them at least.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MessageFields", into = "MessageFields")]
pub struct Messages {
    sms: Option<CampaignSms>,
    email: Option<CampaignEmail>,
    voice: Option<CampaignVoice>,
}

/// Refused: a campaign with neither SMS nor email nor spoken text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a campaign needs an SMS, an email or a spoken text")]
pub struct NoMessage;

impl Messages {
    /// The messages, when there is one at least.
    pub fn new(
        sms: Option<CampaignSms>,
        email: Option<CampaignEmail>,
        voice: Option<CampaignVoice>,
    ) -> Result<Self, NoMessage> {
        if sms.is_none() && email.is_none() && voice.is_none() {
            return Err(NoMessage);
        }
        Ok(Self { sms, email, voice })
    }

    /// The SMS, if the campaign has one.
    pub fn sms(&self) -> Option<&CampaignSms> {
        self.sms.as_ref()
    }

    /// The email, if the campaign has one.
    pub fn email(&self) -> Option<&CampaignEmail> {
        self.email.as_ref()
    }

    /// The spoken text of its calls, if the campaign has one.
    pub fn voice(&self) -> Option<&CampaignVoice> {
        self.voice.as_ref()
    }

    /// Whether there is a message for `channel`.
    pub fn has(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.is_some(),
            Channel::Sms => self.sms.is_some(),
            Channel::Voice => self.voice.is_some(),
        }
    }
}

/// The messages as stores and the API write them: three fields beside the campaign's others.
#[derive(Serialize, Deserialize)]
struct MessageFields {
    sms: Option<CampaignSms>,
    email: Option<CampaignEmail>,
    #[serde(default)]
    voice: Option<CampaignVoice>,
}

impl TryFrom<MessageFields> for Messages {
    type Error = NoMessage;

    fn try_from(f: MessageFields) -> Result<Self, NoMessage> {
        Self::new(f.sms, f.email, f.voice)
    }
}

impl From<Messages> for MessageFields {
    fn from(m: Messages) -> Self {
        Self {
            sms: m.sms,
            email: m.email,
            voice: m.voice,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice() -> CampaignVoice {
        CampaignVoice {
            text: "Alerte".into(),
        }
    }

    #[test]
    fn a_campaign_says_something_on_one_channel_at_least() {
        assert_eq!(Messages::new(None, None, None), Err(NoMessage));
        let m = Messages::new(None, None, Some(voice())).unwrap();
        assert!(m.has(Channel::Voice) && !m.has(Channel::Sms) && !m.has(Channel::Email));
    }

    #[test]
    fn none_can_be_read_back_without_a_message() {
        let empty = r#"{"sms":null,"email":null,"voice":null}"#;
        assert!(serde_json::from_str::<Messages>(empty).is_err());
        let old = r#"{"sms":null,"email":null}"#;
        assert!(serde_json::from_str::<Messages>(old).is_err());
        let m = Messages::new(None, None, Some(voice())).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"sms":null,"email":null,"voice":{"text":"Alerte"}}"#
        );
        assert_eq!(serde_json::from_str::<Messages>(&json).unwrap(), m);
    }
}
