//! Emails as RFC 5322 MIME messages (text and HTML alternatives, RFC 8058 list headers): what the
//! local outbox writes and what SES receives as raw content.

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

use crate::domain::outgoing::OutgoingEmail;
use crate::error::SendError;

/// `List-Unsubscribe: <url>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim_matches(|c| c == '<' || c == '>').to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// The configured email sender is not a mailbox (`Name <address>`).
#[derive(Debug, thiserror::Error)]
#[error("the email sender is not a valid mailbox: {0}")]
pub struct SenderError(#[from] lettre::address::AddressError);

/// Builds MIME messages from one sender.
#[derive(Debug, Clone)]
pub struct MimeBuilder {
    from: Mailbox,
}

impl MimeBuilder {
    /// A builder for this sender (`Name <address>`); an error names what is wrong.
    pub fn new(from: &str) -> Result<Self, SenderError> {
        Ok(Self {
            from: from.parse()?,
        })
    }

    /// The sender's address.
    pub fn from_address(&self) -> String {
        self.from.email.to_string()
    }

    /// The message, with a `Message-ID` of `<message_id@sender-domain>`.
    pub fn build(&self, email: &OutgoingEmail, message_id: &str) -> Result<Message, SendError> {
        let to: Mailbox = email
            .to
            .as_str()
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient refused: {e}")))?;
        let domain = self.from.email.domain().to_owned();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!("<{message_id}@{domain}>")));
        if let Some(url) = &email.list_unsubscribe {
            builder = builder
                .header(ListUnsubscribe(url.clone()))
                .header(ListUnsubscribePost);
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("cannot build message: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::domain::contact::Email;

    #[test]
    fn messages_carry_both_parts_and_one_click_headers() {
        let mime = MimeBuilder::new("Ville d'Arcachon <ne-pas-repondre@arcachon.example>").unwrap();
        assert_eq!(mime.from_address(), "ne-pas-repondre@arcachon.example");
        let email = OutgoingEmail {
            to: Email::from_str("jeanne@example.org").unwrap(),
            subject: "Fête de la mer".into(),
            text: "Bonjour".into(),
            html: "<p>Bonjour</p>".into(),
            list_unsubscribe: Some("https://example.org/u?t=1".into()),
            campaign: None,
        };
        let raw = String::from_utf8(mime.build(&email, "abc").unwrap().formatted()).unwrap();
        assert!(
            raw.contains("List-Unsubscribe: <https://example.org/u?t=1>"),
            "{raw}"
        );
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("Message-ID: <abc@arcachon.example>"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(MimeBuilder::new("not a mailbox").is_err());
    }
}
