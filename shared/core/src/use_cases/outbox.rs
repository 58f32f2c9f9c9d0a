//! The outbox viewer of the embedded default: the emails and SMS that would have gone out. A
//! test-and-demo tool for administrators: the secrets messages carry (sign-up links, codes,
//! preference and unsubscribe links) are masked, and every view is logged with who viewed it.

use std::sync::Arc;

use crate::domain::staff::{Role, StaffIdentity};
use crate::error::DomainError;
use crate::ports::{OutboxListing, OutboxReader};

/// Messages shown at most, per channel.
const SHOWN: usize = 200;

/// What stands for a masked secret.
const MASK: &str = "•••";

/// The shortest run of digits taken for a code in an SMS (sign-up codes have 6).
const CODE_DIGITS: usize = 6;

/// Reads the outbox for administrators; without one (on AWS, or with a relay unless the viewer
/// was asked for), there is nothing.
pub struct OutboxViewer {
    reader: Option<Arc<dyn OutboxReader>>,
}

impl OutboxViewer {
    /// The viewer of `reader`'s outbox, or of none.
    pub fn new(reader: Option<Arc<dyn OutboxReader>>) -> Self {
        Self { reader }
    }

    /// The newest messages, secrets masked (`admin` only); `NotFound` where there is no viewer.
    pub async fn recent(&self, by: &StaffIdentity) -> Result<OutboxListing, DomainError> {
        by.require_any(&[Role::Admin])?;
        let Some(reader) = &self.reader else {
            return Err(DomainError::NotFound(
                "Pas de boîte d'envoi ici : les messages partent réellement.".into(),
            ));
        };
        let listing = reader.recent(SHOWN).await?;
        // The record of who looked: the staff id only, never what the messages hold.
        tracing::info!(by = %by.id, emails = listing.emails.len(), sms = listing.sms.len(), "outbox viewed");
        Ok(masked(listing))
    }
}

/// The listing with every personal link's token and every SMS code masked.
fn masked(mut listing: OutboxListing) -> OutboxListing {
    for email in &mut listing.emails {
        email.html = mask_tokens(&email.html);
    }
    for sms in &mut listing.sms {
        sms.text = mask_codes(&mask_tokens(&sms.text));
    }
    listing
}

/// Whether `c` may be part of a link's token (signed tokens are dotted base64url).
fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// `text` with the value of every `t=` link parameter (`?t=`, `&t=`, `&amp;t=`) masked: the
/// confirmation, preference and unsubscribe links all carry their secret there.
fn mask_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("t=") {
        let (before, after) = rest.split_at(at + 2);
        out.push_str(before);
        let is_parameter = before[..at].ends_with(['?', '&', ';']);
        let len = after.find(|c| !token_char(c)).unwrap_or(after.len());
        if is_parameter && len > 0 {
            out.push_str(MASK);
            rest = &after[len..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `text` with every run of [`CODE_DIGITS`] digits or more masked (the sign-up codes).
fn mask_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= CODE_DIGITS {
            out.push_str(MASK);
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_tokens_are_masked_wherever_the_parameter_is() {
        let html = r#"<a href="https://x.fr/confirmation?t=s.1f0e-ab.1780000000.AbC_d-9">https://x.fr/preferences?a=1&amp;t=m.42.9.Zz</a> att=1 t=keep"#;
        assert_eq!(
            mask_tokens(html),
            r#"<a href="https://x.fr/confirmation?t=•••">https://x.fr/preferences?a=1&amp;t=•••</a> att=1 t=keep"#
        );
        assert_eq!(mask_tokens("rien à cacher"), "rien à cacher");
    }

    #[test]
    fn codes_are_masked_but_short_numbers_stay() {
        assert_eq!(
            mask_codes(
                "Ville d'Arcachon : votre code de confirmation est 042917. Valable 7 jours."
            ),
            "Ville d'Arcachon : votre code de confirmation est •••. Valable 7 jours."
        );
        assert_eq!(
            mask_codes("Rendez-vous le 14/07 à 21h, 33120"),
            "Rendez-vous le 14/07 à 21h, 33120"
        );
        assert_eq!(mask_codes("1234567"), "•••");
    }
}
