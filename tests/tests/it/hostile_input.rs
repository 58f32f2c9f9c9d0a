//! Hostile input for every parser (#16): thousands of generated cases each — arbitrary bytes,
//! text and near-valid shapes — never a panic, always a clear error, and what parses reads back
//! the same.

use std::str::FromStr;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use telmail_core::domain::contact::{Email, PhoneNumber};
use telmail_core::domain::queue::{FanoutJob, Job};
use telmail_core::domain::sms::{analyze, SmsEncoding};
use telmail_core::domain::subscriber::SubscriberId;
use telmail_core::domain::topic::default_topics;
use telmail_core::domain::weather::read_bulletin;
use telmail_core::spreadsheet::{check_import, line_ends, whole_records, SeenContacts};
use telmail_core::token::{TokenPurpose, TokenSigner};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text shaped like what people type in address and number fields, hostile parts included.
fn contact_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._%+-]{0,20}@[a-zA-Z0-9.-]{0,20}\\.[a-z]{0,4}",
        "[0-9 +().-]{0,20}",
        "\\PC{0,40}",
        ".{0,40}",
    ]
}

/// The records a CSV reader finds, cell by cell.
fn records(bytes: &[u8]) -> Vec<Vec<Vec<u8>>> {
    csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
        .byte_records()
        .map(|r| {
            r.map(|r| r.iter().map(<[u8]>::to_vec).collect())
                .unwrap_or_default()
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn emails_parse_or_refuse_and_read_back(text in contact_like()) {
        if let Ok(email) = Email::from_str(&text) {
            let again = Email::from_str(email.as_str()).expect("a parsed address parses again");
            prop_assert_eq!(again.as_str(), email.as_str());
        }
    }

    #[test]
    fn phone_numbers_parse_or_refuse_and_read_back(text in contact_like()) {
        match PhoneNumber::from_str(&text) {
            Ok(phone) => {
                prop_assert!(phone.as_str().starts_with('+'));
                let again = PhoneNumber::from_str(phone.as_str()).expect("E.164 parses again");
                prop_assert_eq!(again.as_str(), phone.as_str());
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn sms_analysis_counts_every_text(text in "\\PC{0,400}") {
        let a = analyze(&text);
        prop_assert_eq!(a.segments == 0, text.is_empty());
        match a.encoding {
            SmsEncoding::Gsm7 => {
                prop_assert!(a.ucs2_characters.is_empty());
                prop_assert!(a.length >= text.chars().count());
            }
            SmsEncoding::Ucs2 => {
                prop_assert!(!a.ucs2_characters.is_empty());
                prop_assert_eq!(a.length, text.encode_utf16().count());
            }
        }
    }

    #[test]
    fn any_bytes_as_an_import_give_lines_or_a_french_reason(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        match check_import(&bytes, &default_topics()) {
            Ok(check) => {
                for e in &check.errors {
                    prop_assert!(e.line >= 1 && !e.message.is_empty());
                }
            }
            Err(e) => prop_assert!(e.line >= 1 && !e.message.is_empty()),
        }
    }

    #[test]
    fn csv_like_imports_never_lose_a_line(rows in proptest::collection::vec("[a-z@.;,\"0-9 ]{0,30}", 1..30)) {
        let text = format!("email;themes\r\n{}", rows.join("\r\n"));
        if let Ok(check) = check_import(text.as_bytes(), &default_topics()) {
            let refused: std::collections::BTreeSet<usize> = check.errors.iter().map(|e| e.line).collect();
            for line in check.valid.iter().map(|v| v.line) {
                prop_assert!(!refused.contains(&line));
            }
        }
    }

    #[test]
    fn big_files_split_at_whole_records(bytes in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b';'), Just(b'"'), Just(b'\r'), Just(b'\n')], 0..300), at_end: bool) {
        let cut = whole_records(&bytes, b';', at_end);
        prop_assert!(cut <= bytes.len());
        if at_end {
            prop_assert_eq!(cut, bytes.len());
        }
        // Never between the two bytes of a CRLF, and the parts hold the whole's records.
        prop_assert!(!(cut > 0 && bytes[cut - 1] == b'\r' && bytes.get(cut) == Some(&b'\n')));
        let mut parts = records(&bytes[..cut]);
        parts.extend(records(&bytes[cut..]));
        prop_assert_eq!(parts, records(&bytes));
        prop_assert_eq!(line_ends(&bytes[..cut]) + line_ends(&bytes[cut..]), line_ends(&bytes));
    }

    #[test]
    fn the_memory_of_seen_contacts_refuses_any_bytes_but_its_own(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Some(seen) = SeenContacts::from_bytes(&bytes) {
            prop_assert_eq!(SeenContacts::from_bytes(&seen.to_bytes()), Some(seen));
        }
    }

    #[test]
    fn links_refuse_any_token_but_their_own(token in "\\PC{0,120}", minutes in 1i64..10_000) {
        let signer = TokenSigner::new(vec![7u8; 32]).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        prop_assert!(signer.verify(TokenPurpose::Manage, &token, now).is_err());
        let id = SubscriberId::new();
        let signed = signer.sign(TokenPurpose::Manage, id, now, chrono::Duration::minutes(minutes));
        prop_assert_eq!(signer.verify(TokenPurpose::Manage, &signed, now).unwrap(), id);
        prop_assert!(signer.verify(TokenPurpose::Unsubscribe, &signed, now).is_err());
    }

    #[test]
    fn job_payloads_read_back_and_anything_else_is_refused(text in "\\PC{0,200}", shard in 0u32..64, slice in 0u32..1000, urgent: bool) {
        prop_assert!(Job::from_payload(&text).is_err() || text.contains("\"job\""));
        let mut job = FanoutJob::first(telmail_core::domain::campaign::CampaignId::new(), shard, urgent);
        job.slice = slice;
        let job = Job::Fanout(job);
        prop_assert_eq!(Job::from_payload(&job.to_payload()).unwrap(), job);
    }

    #[test]
    fn a_vigilance_feed_of_any_shape_is_read_or_refused(text in "\\PC{0,300}") {
        let _ = read_bulletin(&text, &["33"]);
    }

    #[test]
    fn ses_notifications_of_any_shape_are_read_or_refused(text in "\\PC{0,300}") {
        if let Err(e) = telmail_aws::feedback::ses_feedback(&text, telmail_tests::server_now()) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Near-valid feeds: the real sample with one value replaced by anything.
    #[test]
    fn a_vigilance_feed_with_one_value_changed_is_read_or_refused(at in 0usize..4000, junk in "\\PC{0,12}") {
        let sample = include_str!("../../fixtures/meteofrance/vigilance_dpvigilance_encours.json");
        let at = sample.char_indices().map(|(i, _)| i).nth(at % sample.chars().count()).unwrap_or(0);
        let changed = format!("{}{junk}{}", &sample[..at], &sample[at..]);
        let _ = read_bulletin(&changed, &["33"]);
    }
}
