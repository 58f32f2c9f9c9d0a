//! Contact points: email addresses, mobile numbers, and the channels they serve.

use std::fmt;
use std::str::FromStr;

use phonenumber::{country, metadata::DATABASE, Mode, Type};
use serde::{Deserialize, Serialize};

/// A way of reaching a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// An email message.
    Email,
    /// A text message to a mobile phone.
    Sms,
    /// A call that reads the message aloud, to a landline or a mobile.
    Voice,
}

impl Channel {
    /// Every channel, in display order.
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Sms, Channel::Voice];

    /// The wire name (`email`, `sms`).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Voice => "voice",
        }
    }

    /// The French label shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Email => "E-mail",
            Channel::Sms => "SMS",
            Channel::Voice => "appel vocal",
        }
    }
}

/// A channel name that is neither email nor SMS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Canal inconnu : « {0} ». Les canaux possibles sont « email », « sms » et « voice » (appel vocal).")]
pub struct ChannelError(String);

impl FromStr for Channel {
    type Err = ChannelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "email" | "e-mail" | "courriel" => Ok(Channel::Email),
            "sms" => Ok(Channel::Sms),
            "voice" | "appel" | "vocal" => Ok(Channel::Voice),
            other => Err(ChannelError(other.to_owned())),
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A syntactically valid email address: trimmed, with its domain lower-cased. Typed input is
/// parsed with `FromStr`; serde (stored records, queue messages, sessions: data this service
/// wrote after parsing) only checks the shape, so reading a record does not validate again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// Why an email address was refused; the message is the French sentence for the `email` field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Indiquez une adresse e-mail.")]
    Missing,
    #[error("Cette adresse e-mail est trop longue (254 caractères au plus).")]
    TooLong,
    #[error("L'adresse e-mail « {0} » n'est pas valide (exemple : prenom.nom@exemple.fr).")]
    Invalid(String),
    #[error("L'adresse e-mail « {0} » contient avant le @ des lettres accentuées ou des caractères spéciaux que les messageries n'acceptent pas : vérifiez-la.")]
    NonAsciiLocalPart(String),
}

impl FromStr for Email {
    type Err = EmailError;

    /// Parses user input: trimmed, the domain lower-cased.
    fn from_str(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Missing);
        }
        if trimmed.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let invalid = || EmailError::Invalid(trimmed.to_owned());
        let parsed = email_address::EmailAddress::from_str(trimmed).map_err(|_| invalid())?;
        let (local, domain) = (parsed.local_part(), parsed.domain());
        // Residents type ordinary addresses: refuse the exotic forms RFC 5321 allows
        // (quoted local parts, IP literals, dotless domains) that providers refuse anyway.
        let plain_domain = domain.contains('.')
            && !domain.starts_with('[')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.starts_with('"') || !plain_domain {
            return Err(invalid());
        }
        if !local.is_ascii() {
            return Err(EmailError::NonAsciiLocalPart(trimmed.to_owned()));
        }
        // One address, one identity: `Resident@` and `resident@` are the same person (every
        // provider a resident uses ignores case), and an accented domain is written as DNS and
        // SES want it (punycode).
        let domain = idna::domain_to_ascii(domain).map_err(|_| invalid())?;
        Ok(Email(format!("{}@{domain}", local.to_ascii_lowercase())))
    }
}

impl Email {
    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address with most of the local part hidden, for pages (`j•••@exemple.fr`).
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}•••@{domain}")
    }
}

impl Email {
    /// An address this service stored after parsing it: only its shape is checked.
    pub fn from_stored(value: String) -> Result<Self, EmailError> {
        let shaped = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            })
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if shaped {
            Ok(Email(value))
        } else {
            Err(EmailError::Invalid(value))
        }
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::from_stored(value)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mobile phone number able to receive SMS, kept in E.164 form (`+33612345678`). Typed input
/// is parsed with `FromStr` (libphonenumber's rules, costly); serde reads back what this service
/// stored and only checks the E.164 shape.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

/// Why a phone number was refused; the message is the French sentence for the `phone` field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("Indiquez un numéro de téléphone mobile.")]
    Missing,
    #[error(
        "Le numéro « {0} » n'est pas un numéro de téléphone valide (exemple : 06 12 34 56 78)."
    )]
    Invalid(String),
    #[error("Le numéro « {0} » n'est pas un numéro de mobile : les SMS ne peuvent être envoyés qu'à un portable (06 ou 07).")]
    NotMobile(String),
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;

    /// Parses French and international formats (`06 12 34 56 78`, `+33 6…`, `0033 6…`);
    /// landlines and invalid numbers are refused.
    fn from_str(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Missing);
        }
        let invalid = || PhoneError::Invalid(trimmed.to_owned());
        if trimmed.len() > 32 {
            return Err(invalid());
        }
        let number = phonenumber::parse(Some(country::Id::FR), trimmed).map_err(|_| invalid())?;
        let number = if phonenumber::is_valid(&number) {
            number
        } else {
            overseas_mobile(trimmed).ok_or_else(invalid)?
        };
        match number.number_type(&DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile => {}
            Type::FixedLine
            | Type::Voip
            | Type::SharedCost
            | Type::TollFree
            | Type::PremiumRate => return Err(PhoneError::NotMobile(trimmed.to_owned())),
            _ => return Err(invalid()),
        }
        Ok(PhoneNumber(number.format().mode(Mode::E164).to_string()))
    }
}

/// The overseas departments that share France's national numbering (a number typed `06 39…`
/// from the town reaches Mayotte): their mobiles are dialled with a leading 0 from anywhere in
/// France, but libphonenumber reads a national number for one region only.
const OVERSEAS: [country::Id; 5] = [
    country::Id::YT,
    country::Id::RE,
    country::Id::GP,
    country::Id::GF,
    country::Id::MQ,
];

/// A nationally typed number (`06 39 50 61 72`) that is a mobile of an overseas department.
fn overseas_mobile(typed: &str) -> Option<phonenumber::PhoneNumber> {
    if !typed.starts_with('0') || typed.starts_with("00") {
        return None;
    }
    OVERSEAS.iter().find_map(|region| {
        phonenumber::parse(Some(*region), typed)
            .ok()
            .filter(|n| phonenumber::is_valid(n) && n.number_type(&DATABASE) == Type::Mobile)
    })
}

impl PhoneNumber {
    /// Parses a number for calls: a mobile or a landline (any valid number but premium-rate
    /// ones), same formats as `FromStr`.
    pub fn parse_for_calls(input: &str) -> Result<Self, PhoneError> {
        match Self::from_str(input) {
            Err(PhoneError::NotMobile(_)) => {
                let trimmed = input.trim();
                let number = phonenumber::parse(Some(country::Id::FR), trimmed)
                    .map_err(|_| PhoneError::Invalid(trimmed.to_owned()))?;
                match number.number_type(&DATABASE) {
                    Type::FixedLine | Type::Voip | Type::TollFree | Type::SharedCost => {
                        Ok(PhoneNumber(number.format().mode(Mode::E164).to_string()))
                    }
                    _ => Err(PhoneError::Invalid(trimmed.to_owned())),
                }
            }
            other => other,
        }
    }

    /// True for a mobile number (one that takes SMS); a landline kept for calls is not.
    pub fn is_mobile(&self) -> bool {
        phonenumber::parse(None, &self.0).is_ok_and(|n| {
            matches!(
                n.number_type(&DATABASE),
                Type::Mobile | Type::FixedLineOrMobile
            )
        })
    }

    /// The number as a person in France reads and dials it: `06 12 34 56 78`, `06 39 50 61 72`
    /// for an overseas department's mobile, `00 44 7400 123456` for another country (never a
    /// leading `+`, which spreadsheets read as a formula).
    pub fn national(&self) -> String {
        let Ok(number) = phonenumber::parse(None, &self.0) else {
            return self.0.clone();
        };
        let code = number.country().code();
        if matches!(code, 33 | 262 | 590 | 594 | 596) {
            // Overseas numbers are dialled from France as 0 and their digits, two by two.
            let digits = number.national().value().to_string();
            let national = format!("0{digits}");
            let pairs: Vec<String> = national
                .as_bytes()
                .chunks(2)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            pairs.join(" ")
        } else {
            let international = number.format().mode(Mode::International).to_string();
            format!("00 {}", international.trim_start_matches('+'))
        }
    }

    /// The E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The country calling code (33 for France); `None` if the number no longer parses.
    pub fn country_code(&self) -> Option<u16> {
        phonenumber::parse(None, &self.0)
            .ok()
            .map(|n| n.country().code())
    }

    /// What to look for when staff type part of a number the French way (`06 12 34…`) while
    /// numbers are stored in E.164: the typed text without separators, and its international
    /// form when it starts with 0 or 00. Text that is not a number comes back twice unchanged.
    pub fn search_fragments(text: &str) -> (String, String) {
        let compact: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '\u{a0}' | '\u{202f}'))
            .collect();
        if compact.is_empty() || !compact.chars().all(|c| c.is_ascii_digit() || c == '+') {
            return (text.to_owned(), text.to_owned());
        }
        let international = match (compact.strip_prefix("00"), compact.strip_prefix('0')) {
            (Some(rest), _) => format!("+{rest}"),
            (None, Some(rest)) => format!("+33{rest}"),
            _ => compact.clone(),
        };
        (compact, international)
    }

    /// The number with its middle hidden, for pages (`+33 6 •• •• •• 78`).
    pub fn masked(&self) -> String {
        let digits = &self.0;
        let tail: String = digits
            .chars()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let head: String = digits.chars().take(4).collect();
        format!("{head} •• •• •• {tail}")
    }
}

impl PhoneNumber {
    /// A number this service stored after parsing it: only the E.164 shape is checked (`+`,
    /// then 8 to 15 digits, the first not 0).
    pub fn from_stored(value: String) -> Result<Self, PhoneError> {
        let shaped = value.strip_prefix('+').is_some_and(|digits| {
            (8..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0')
        });
        if shaped {
            Ok(PhoneNumber(value))
        } else {
            Err(PhoneError::Invalid(value))
        }
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PhoneNumber::from_stored(value)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> Self {
        p.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where one message goes: the contact of its channel. Written as the bare address (an E.164
/// number starts with `+`, an email address cannot), so queue messages stay plain strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Address {
    /// For the email channel.
    Email(Email),
    /// For the SMS channel.
    Phone(PhoneNumber),
}

impl Address {
    /// A stored address for `channel` (shape checked, as for the contact types' serde).
    pub fn from_stored(channel: Channel, value: String) -> Result<Self, AddressError> {
        Ok(match channel {
            Channel::Email => Address::Email(Email::from_stored(value)?),
            Channel::Sms | Channel::Voice => Address::Phone(PhoneNumber::from_stored(value)?),
        })
    }

    /// The channel this address serves.
    pub fn channel(&self) -> Channel {
        match self {
            Address::Email(_) => Channel::Email,
            Address::Phone(_) => Channel::Sms,
        }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        match self {
            Address::Email(e) => e.as_str(),
            Address::Phone(p) => p.as_str(),
        }
    }
}

/// Why a stored address is not one: the email's or the phone number's refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error(transparent)]
    Email(#[from] EmailError),
    #[error(transparent)]
    Phone(#[from] PhoneError),
}

impl TryFrom<String> for Address {
    type Error = AddressError;
    fn try_from(value: String) -> Result<Self, AddressError> {
        let channel = if value.starts_with('+') {
            Channel::Sms
        } else {
            Channel::Email
        };
        Address::from_stored(channel, value)
    }
}

impl From<Address> for String {
    fn from(a: Address) -> Self {
        match a {
            Address::Email(e) => e.into(),
            Address::Phone(p) => p.into(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overseas_mobiles_typed_nationally_are_read_as_their_department() {
        for (typed, e164) in [
            ("06 39 50 61 72", "+262639506172"),
            ("0692 12 34 56", "+262692123456"),
            ("06 93 01 23 45", "+262693012345"),
            ("06 90 12 34 56", "+590690123456"),
            ("06 91 22 34 56", "+590691223456"),
            ("06 94 12 34 56", "+594694123456"),
            ("06 96 12 34 56", "+596696123456"),
            ("06 97 12 34 56", "+596697123456"),
            ("06 12 34 56 78", "+33612345678"),
        ] {
            let phone: PhoneNumber = typed.parse().unwrap();
            assert_eq!(phone.as_str(), e164, "{typed}");
            assert_eq!(
                phone.national(),
                typed.replace("0692 ", "06 92 "),
                "{typed}"
            );
        }
        // An overseas landline is still not a mobile, and nonsense stays invalid.
        assert!("05 97 12 34 56".parse::<PhoneNumber>().is_err());
        assert!("06 39".parse::<PhoneNumber>().is_err());
        let uk: PhoneNumber = "+44 7400 123456".parse().unwrap();
        assert_eq!(uk.national(), "00 44 7400 123456");
    }

    #[test]
    fn typed_phone_fragments_match_their_e164_form() {
        let f = PhoneNumber::search_fragments;
        assert_eq!(f("06 12 34"), ("061234".into(), "+3361234".into()));
        assert_eq!(f("0033 6 12"), ("0033612".into(), "+33612".into()));
        assert_eq!(f("12.34"), ("1234".into(), "1234".into()));
        assert_eq!(f("marie"), ("marie".into(), "marie".into()));
    }

    #[test]
    fn email_is_trimmed_and_lowercased_so_one_address_is_one_identity() {
        let e = Email::from_str("  Jean.Dupont@Exemple.FR ").unwrap();
        assert_eq!(e.as_str(), "jean.dupont@exemple.fr");
        assert_eq!(e, Email::from_str("jean.dupont@exemple.fr").unwrap());
    }

    #[test]
    fn email_accepts_plus_tags_and_writes_accented_domains_in_punycode() {
        assert!(Email::from_str("marie+alertes@mairie-arcachon.fr").is_ok());
        let e = Email::from_str("eric@café.fr").unwrap();
        assert_eq!(e.as_str(), "eric@xn--caf-dma.fr");
    }

    #[test]
    fn email_refuses_accented_local_parts_that_providers_refuse() {
        let err = Email::from_str("élodie@exemple.fr").unwrap_err();
        assert_eq!(
            err,
            EmailError::NonAsciiLocalPart("élodie@exemple.fr".into())
        );
        assert!(err.to_string().contains("avant le @"));
    }

    #[test]
    fn email_refuses_bad_input_in_french() {
        for bad in [
            "jean",
            "jean@",
            "@exemple.fr",
            "jean@exemple",
            "a b@c.fr",
            "jean@[127.0.0.1]",
            "\"x\"@exemple.fr",
        ] {
            let err = Email::from_str(bad).unwrap_err();
            assert_eq!(err, EmailError::Invalid(bad.trim().to_owned()));
            assert!(err.to_string().contains("n'est pas valide"), "{bad}: {err}");
        }
        assert_eq!(
            Email::from_str("  ").unwrap_err().to_string(),
            "Indiquez une adresse e-mail."
        );
        let long = format!("{}@exemple.fr", "a".repeat(250));
        assert_eq!(Email::from_str(&long).unwrap_err(), EmailError::TooLong);
    }

    #[test]
    fn email_masking_hides_the_local_part() {
        assert_eq!(
            Email::from_str("jean@exemple.fr").unwrap().masked(),
            "j•••@exemple.fr"
        );
    }

    #[test]
    fn french_mobile_formats_all_give_e164() {
        for input in [
            "06 12 34 56 78",
            "0612345678",
            "+33 6 12 34 56 78",
            "+33612345678",
            "0033612345678",
            "06.12.34.56.78",
            "07 81 23 45 67",
        ] {
            let p = PhoneNumber::from_str(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert!(
                p.as_str().starts_with("+336") || p.as_str().starts_with("+337"),
                "{input}"
            );
        }
        assert_eq!(
            PhoneNumber::from_str("06 12 34 56 78").unwrap().as_str(),
            "+33612345678"
        );
    }

    #[test]
    fn landline_is_refused_for_sms_with_a_clear_message() {
        let err = PhoneNumber::from_str("05 56 22 33 44").unwrap_err();
        assert_eq!(err, PhoneError::NotMobile("05 56 22 33 44".into()));
        assert!(
            err.to_string().contains("n'est pas un numéro de mobile"),
            "{err}"
        );
    }

    #[test]
    fn a_landline_is_accepted_for_calls_only() {
        let fixed = PhoneNumber::parse_for_calls("05 56 22 33 44").unwrap();
        assert_eq!(fixed.as_str(), "+33556223344");
        assert!(!fixed.is_mobile());
        let mobile = PhoneNumber::parse_for_calls("06 12 34 56 78").unwrap();
        assert!(mobile.is_mobile());
        assert!(PhoneNumber::parse_for_calls("12").is_err());
        assert_eq!("voice".parse::<Channel>().unwrap(), Channel::Voice);
    }

    #[test]
    fn nonsense_numbers_are_refused() {
        for bad in ["12", "06 12 34", "abcdefgh", "+33 6 12 34 56 78 90 12"] {
            let err = PhoneNumber::from_str(bad).unwrap_err();
            assert!(
                err.to_string()
                    .contains("n'est pas un numéro de téléphone valide"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn stored_e164_round_trips() {
        let p = PhoneNumber::from_str("+33612345678").unwrap();
        let json = serde_json::to_string(&p).unwrap();
        let back: PhoneNumber = serde_json::from_str(&json).unwrap();
        assert_eq!(p, back);
        assert_eq!(p.masked(), "+336 •• •• •• 78");
    }

    #[test]
    fn stored_contacts_are_checked_for_shape_only() {
        assert!(PhoneNumber::from_stored("+33612345678".into()).is_ok());
        for bad in [
            "0612345678",
            "+0612345678",
            "+33 6 12",
            "+1234567",
            "+33612345678x",
        ] {
            assert!(PhoneNumber::from_stored(bad.into()).is_err(), "{bad}");
        }
        assert!(Email::from_stored("jean@exemple.fr".into()).is_ok());
        for bad in [
            "jean",
            "@exemple.fr",
            "jean@exemple",
            "je an@exemple.fr",
            "a@b@c.fr",
        ] {
            assert!(Email::from_stored(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_round_trip_as_bare_strings() {
        let phone = Address::Phone(PhoneNumber::from_str("06 12 34 56 78").unwrap());
        let email = Address::Email(Email::from_str("Jean@Exemple.fr").unwrap());
        for a in [phone, email] {
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.as_str()));
            let back: Address = serde_json::from_str(&json).unwrap();
            assert_eq!(back.channel(), a.channel());
            assert_eq!(back, a);
        }
        assert!(serde_json::from_str::<Address>("\"not an address\"").is_err());
    }

    #[test]
    fn channels_parse_from_wire_names() {
        assert_eq!("email".parse::<Channel>().unwrap(), Channel::Email);
        assert_eq!("SMS".parse::<Channel>().unwrap(), Channel::Sms);
        assert!("fax"
            .parse::<Channel>()
            .unwrap_err()
            .to_string()
            .contains("Canal inconnu"));
    }
}
