//! Signed, expiring tokens for links in messages (confirmation, preferences, unsubscribe, code entry).
//!
//! Format: `<purpose>.<subject>.<expiry unix seconds>.<base64url HMAC-SHA256>`. The subject is an
//! opaque identifier (never an address), so a token in a URL or a log reveals no personal data.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::str::FromStr;

use crate::domain::campaign::CampaignId;
use crate::domain::subscriber::SubscriberId;
use crate::error::DomainError;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of HMAC a reply token keeps: 64 bits, out of reach of guessing through a rate-limited
/// form for the days the link lives.
const REPLY_MAC_BYTES: usize = 8;
/// A reply token's bytes: two ids, a 32-bit expiry, the truncated HMAC.
const REPLY_TOKEN_BYTES: usize = 16 + 16 + 4 + REPLY_MAC_BYTES;

/// What a token allows; a token for one purpose is refused for any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Confirm a web sign-up by email.
    Confirm,
    /// Enter the SMS code of a phone-only sign-up.
    Code,
    /// Open the preference page.
    Manage,
    /// Unsubscribe from everything (one-click, RFC 8058).
    Unsubscribe,
}

impl TokenPurpose {
    fn tag(self) -> &'static str {
        match self {
            TokenPurpose::Confirm => "c",
            TokenPurpose::Code => "k",
            TokenPurpose::Manage => "m",
            TokenPurpose::Unsubscribe => "u",
        }
    }
}

/// Signs and verifies tokens with a secret key.
/// A signing key shorter than [`TokenSigner`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the signing key must be at least 32 bytes")]
pub struct KeyTooShort;

#[derive(Clone)]
pub struct TokenSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(<secret>)")
    }
}

impl TokenSigner {
    /// A signer from a secret of at least 32 bytes.
    pub fn new(key: impl Into<Vec<u8>>) -> Result<Self, KeyTooShort> {
        let key = key.into();
        if key.len() < 32 {
            return Err(KeyTooShort);
        }
        Ok(Self { key })
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.key).expect("HMAC accepts keys of any length")
    }

    /// A token for the subscriber `subject`, valid until `now + ttl`.
    pub fn sign(
        &self,
        purpose: TokenPurpose,
        subject: SubscriberId,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> String {
        let payload = format!("{}.{}.{}", purpose.tag(), subject, (now + ttl).timestamp());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{sig}")
    }

    /// The subscriber a valid, unexpired token of the given purpose was signed for.
    pub fn verify(
        &self,
        purpose: TokenPurpose,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<SubscriberId, DomainError> {
        let token = token.trim();
        let (payload, sig) = token.rsplit_once('.').ok_or(DomainError::InvalidToken)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| DomainError::InvalidToken)?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig)
            .map_err(|_| DomainError::InvalidToken)?;
        let mut parts = payload.splitn(3, '.');
        let (tag, subject, expiry) = match (parts.next(), parts.next(), parts.next()) {
            (Some(t), Some(s), Some(e)) => (t, s, e),
            _ => return Err(DomainError::InvalidToken),
        };
        if tag != purpose.tag() {
            return Err(DomainError::InvalidToken);
        }
        let expiry: i64 = expiry.parse().map_err(|_| DomainError::InvalidToken)?;
        if now.timestamp() > expiry {
            return Err(DomainError::ExpiredToken);
        }
        SubscriberId::from_str(subject)
            .ok()
            .ok_or(DomainError::InvalidToken)
    }

    /// A short token for one recipient's answer to one campaign (« Je suis en sécurité »),
    /// valid until `expires`: the two ids, the expiry and 8 bytes of HMAC, 59 characters of
    /// base64url, so that the link fits in an SMS beside the message.
    pub fn sign_reply(
        &self,
        campaign: CampaignId,
        subject: SubscriberId,
        expires: DateTime<Utc>,
    ) -> String {
        let mut bytes = Vec::with_capacity(REPLY_TOKEN_BYTES);
        bytes.extend_from_slice(campaign.0.as_bytes());
        bytes.extend_from_slice(subject.0.as_bytes());
        let expiry = u32::try_from(expires.timestamp().max(0)).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&expiry.to_be_bytes());
        let tag = self.reply_mac(&bytes);
        bytes.extend_from_slice(&tag[..REPLY_MAC_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The campaign and recipient a valid, unexpired reply token was signed for.
    pub fn verify_reply(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(CampaignId, SubscriberId), DomainError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| DomainError::InvalidToken)?;
        if bytes.len() != REPLY_TOKEN_BYTES {
            return Err(DomainError::InvalidToken);
        }
        let (signed, tag) = bytes.split_at(REPLY_TOKEN_BYTES - REPLY_MAC_BYTES);
        let mut mac = self.mac();
        mac.update(b"r\0");
        mac.update(signed);
        mac.verify_truncated_left(tag)
            .map_err(|_| DomainError::InvalidToken)?;
        let id = |range: std::ops::Range<usize>| {
            uuid::Uuid::from_slice(&signed[range]).map_err(|_| DomainError::InvalidToken)
        };
        let (campaign, subject) = (CampaignId(id(0..16)?), SubscriberId(id(16..32)?));
        let mut expiry = [0u8; 4];
        expiry.copy_from_slice(&signed[32..36]);
        if now.timestamp() > i64::from(u32::from_be_bytes(expiry)) {
            return Err(DomainError::ExpiredToken);
        }
        Ok((campaign, subject))
    }

    fn reply_mac(&self, signed: &[u8]) -> Vec<u8> {
        let mut mac = self.mac();
        mac.update(b"r\0");
        mac.update(signed);
        mac.finalize().into_bytes().to_vec()
    }

    /// A keyed digest (hex) of a secret such as an SMS code, so the store never holds it in clear.
    pub fn digest(&self, context: &str, secret: &str) -> String {
        let mut mac = self.mac();
        mac.update(context.as_bytes());
        mac.update(b"\0");
        mac.update(secret.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Compares a secret with a stored digest in constant time.
    pub fn digest_matches(&self, context: &str, secret: &str, stored_hex: &str) -> bool {
        let mut mac = self.mac();
        mac.update(context.as_bytes());
        mac.update(b"\0");
        mac.update(secret.as_bytes());
        let Some(expected) = decode_hex(stored_hex) else {
            return false;
        };
        mac.verify_slice(&expected).is_ok()
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn signer() -> TokenSigner {
        TokenSigner::new(vec![7u8; 32]).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let s = signer();
        let id = SubscriberId::new();
        let tok = s.sign(TokenPurpose::Manage, id, t0(), Duration::days(7));
        assert_eq!(s.verify(TokenPurpose::Manage, &tok, t0()).unwrap(), id);
        let later = t0() + Duration::days(7) + Duration::seconds(1);
        assert!(matches!(
            s.verify(TokenPurpose::Manage, &tok, later),
            Err(DomainError::ExpiredToken)
        ));
    }

    #[test]
    fn tampering_or_wrong_purpose_or_key_is_refused() {
        let s = signer();
        let id = SubscriberId::new();
        let tok = s.sign(TokenPurpose::Confirm, id, t0(), Duration::days(7));
        let tampered = tok.replacen(&id.to_string(), &SubscriberId::new().to_string(), 1);
        assert!(matches!(
            s.verify(TokenPurpose::Confirm, &tampered, t0()),
            Err(DomainError::InvalidToken)
        ));
        assert!(matches!(
            s.verify(TokenPurpose::Manage, &tok, t0()),
            Err(DomainError::InvalidToken)
        ));
        let other = TokenSigner::new(vec![8u8; 32]).unwrap();
        assert!(matches!(
            other.verify(TokenPurpose::Confirm, &tok, t0()),
            Err(DomainError::InvalidToken)
        ));
        assert!(matches!(
            s.verify(TokenPurpose::Confirm, "garbage", t0()),
            Err(DomainError::InvalidToken)
        ));
    }

    #[test]
    fn extending_the_expiry_breaks_the_signature() {
        let s = signer();
        let tok = s.sign(
            TokenPurpose::Manage,
            SubscriberId::new(),
            t0(),
            Duration::days(1),
        );
        let parts: Vec<&str> = tok.split('.').collect();
        let forged = format!(
            "{}.{}.{}.{}",
            parts[0], parts[1], 9_999_999_999i64, parts[3]
        );
        assert!(matches!(
            s.verify(TokenPurpose::Manage, &forged, t0()),
            Err(DomainError::InvalidToken)
        ));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(TokenSigner::new(vec![1u8; 16]).is_err());
    }

    #[test]
    fn digests_match_only_the_same_secret_and_context() {
        let s = signer();
        let d = s.digest("sub-1", "123456");
        assert!(s.digest_matches("sub-1", "123456", &d));
        assert!(!s.digest_matches("sub-1", "123457", &d));
        assert!(!s.digest_matches("sub-2", "123456", &d));
        assert!(!s.digest_matches("sub-1", "123456", "zz"));
    }

    #[test]
    fn a_reply_token_is_short_names_its_campaign_and_recipient_and_expires() {
        let s = signer();
        let (c, id) = (CampaignId::new(), SubscriberId::new());
        let t = s.sign_reply(c, id, t0() + Duration::days(7));
        assert_eq!(t.len(), 59, "{t}");
        assert_eq!(s.verify_reply(&t, t0()).unwrap(), (c, id));
        assert!(matches!(
            s.verify_reply(&t, t0() + Duration::days(8)),
            Err(DomainError::ExpiredToken)
        ));
        let mut forged = t.clone().into_bytes();
        forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(s.verify_reply(&forged, t0()).is_err());
        let other = TokenSigner::new(vec![8u8; 32]).unwrap();
        assert!(other.verify_reply(&t, t0()).is_err());
        assert!(s.verify_reply("court", t0()).is_err());
    }
}
