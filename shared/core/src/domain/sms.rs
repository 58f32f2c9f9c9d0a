//! SMS text analysis per 3GPP TS 23.038 (alphabets) and TS 23.040 (segment sizes).
//!
//! A text is sent in the GSM 7-bit default alphabet (`gsm7`) when every character
//! belongs to the default alphabet or to its extension table; otherwise the whole
//! text is sent in UCS-2. The analysis gives the length (septets for GSM-7, UTF-16
//! code units for UCS-2), the number of SMS segments and the characters forcing UCS-2.
//!
//! Segment sizes: GSM-7 holds 160 septets in a single SMS and 153 per part of a
//! concatenated SMS; an extension character (escape + code, 2 septets) is never
//! split across two parts. UCS-2 holds 70 units in a single SMS and 67 per part; a
//! surrogate pair (character outside the BMP) is never split across two parts.
//! Segments are therefore counted by packing characters greedily, not by dividing.
//!
//! Code 0x09 of the default alphabet is taken as `Ç` (U+00C7), the glyph printed in
//! 3GPP TS 23.038 § 6.2.1 and the mapping used by Android (AOSP `GsmAlphabet`); the
//! small `ç` (the Unicode Consortium's GSM0338.TXT choice) is treated as outside
//! GSM-7, so a text containing it is conservatively counted as UCS-2.

use serde::Serialize;

/// Septets in a single (non-concatenated) GSM-7 SMS.
const GSM7_SINGLE: usize = 160;
/// Septets per part of a concatenated GSM-7 SMS (7 septets go to the UDH).
const GSM7_PART: usize = 153;
/// UTF-16 code units in a single (non-concatenated) UCS-2 SMS.
const UCS2_SINGLE: usize = 70;
/// UTF-16 code units per part of a concatenated UCS-2 SMS (6 octets go to the UDH).
const UCS2_PART: usize = 67;

/// SMS encoding chosen for a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsEncoding {
    /// GSM 7-bit default alphabet (with its extension table).
    Gsm7,
    /// UCS-2 (UTF-16 code units).
    Ucs2,
}

/// What staff see before submitting: encoding, length, segments and the characters forcing UCS-2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmsAnalysis {
    /// Encoding the text will be sent in.
    pub encoding: SmsEncoding,
    /// Septets for GSM-7, UTF-16 code units for UCS-2.
    pub length: usize,
    /// Number of SMS segments (0 for the empty text).
    pub segments: usize,
    /// Distinct characters outside GSM-7, in order of first appearance (serialize each as a one-char string).
    pub ucs2_characters: Vec<String>,
}

/// Septets taken by `c` in GSM-7: 1 for the default alphabet, 2 for the extension table, `None` otherwise.
fn gsm7_septets(c: char) -> Option<usize> {
    match c {
        // Default alphabet, in septet-code order (0x00..=0x7F, without 0x1B = ESC).
        '@'
        | '£'
        | '$'
        | '¥'
        | 'è'
        | 'é'
        | 'ù'
        | 'ì'
        | 'ò'
        | 'Ç'
        | '\n'
        | 'Ø'
        | 'ø'
        | '\r'
        | 'Å'
        | 'å'
        | 'Δ'
        | '_'
        | 'Φ'
        | 'Γ'
        | 'Λ'
        | 'Ω'
        | 'Π'
        | 'Ψ'
        | 'Σ'
        | 'Θ'
        | 'Ξ'
        | 'Æ'
        | 'æ'
        | 'ß'
        | 'É'
        | ' '
        | '!'
        | '"'
        | '#'
        | '¤'
        | '%'..='?'
        | '¡'
        | 'A'..='Z'
        | 'Ä'
        | 'Ö'
        | 'Ñ'
        | 'Ü'
        | '§'
        | '¿'
        | 'a'..='z'
        | 'ä'
        | 'ö'
        | 'ñ'
        | 'ü'
        | 'à' => Some(1),
        // Extension table (ESC + code).
        '\u{000C}' | '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' => Some(2),
        _ => None,
    }
}

/// True when the character is in the GSM-7 default alphabet or its extension table.
pub fn is_gsm7(c: char) -> bool {
    gsm7_septets(c).is_some()
}

/// Counts segments by packing unit weights greedily: one segment when the total fits
/// `single`, otherwise parts of at most `part` units, never splitting a character.
fn count_segments(
    weights: impl Iterator<Item = usize>,
    total: usize,
    single: usize,
    part: usize,
) -> usize {
    if total == 0 {
        return 0;
    }
    if total <= single {
        return 1;
    }
    let mut segments = 1;
    let mut used = 0;
    for weight in weights {
        if used + weight > part {
            segments += 1;
            used = 0;
        }
        used += weight;
    }
    segments
}

/// Analyses a text: encoding, length, segment count and characters forcing UCS-2.
pub fn analyze(text: &str) -> SmsAnalysis {
    let mut ucs2_characters: Vec<String> = Vec::new();
    let mut septets = 0;
    for c in text.chars() {
        match gsm7_septets(c) {
            Some(n) => septets += n,
            None => {
                let s = c.to_string();
                if !ucs2_characters.contains(&s) {
                    ucs2_characters.push(s);
                }
            }
        }
    }

    if ucs2_characters.is_empty() {
        let weights = text.chars().map(|c| gsm7_septets(c).unwrap_or(1));
        SmsAnalysis {
            encoding: SmsEncoding::Gsm7,
            length: septets,
            segments: count_segments(weights, septets, GSM7_SINGLE, GSM7_PART),
            ucs2_characters,
        }
    } else {
        let units = text.encode_utf16().count();
        let weights = text.chars().map(char::len_utf16);
        SmsAnalysis {
            encoding: SmsEncoding::Ucs2,
            length: units,
            segments: count_segments(weights, units, UCS2_SINGLE, UCS2_PART),
            ucs2_characters,
        }
    }
}

/// A GSM-7 stand-in for a character forcing UCS-2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replacement {
    /// The character forcing UCS-2.
    pub character: String,
    /// What to write instead (GSM-7 only).
    pub replacement: &'static str,
}

/// The usual French stand-in for a character outside GSM-7 (`ê` → `e`, `’` → `'`…), or none.
fn gsm7_stand_in(c: char) -> Option<&'static str> {
    Some(match c {
        'â' | 'á' | 'ã' => "a",
        'ê' | 'ë' => "e",
        'î' | 'ï' | 'í' => "i",
        'ô' | 'ó' | 'õ' => "o",
        'û' | 'ú' => "u",
        'ÿ' | 'ý' => "y",
        'ç' => "c",
        'À' | 'Â' | 'Á' | 'Ã' => "A",
        'È' | 'Ê' | 'Ë' => "E",
        'Î' | 'Ï' | 'Í' | 'Ì' => "I",
        'Ô' | 'Ó' | 'Ò' | 'Õ' => "O",
        'Û' | 'Ù' | 'Ú' => "U",
        'Ÿ' => "Y",
        'œ' => "oe",
        'Œ' => "OE",
        '’' | '‘' | '‚' | '′' => "'",
        '“' | '”' | '„' | '«' | '»' | '″' => "\"",
        '–' | '—' | '‐' | '‑' | '−' => "-",
        '…' => "...",
        '\u{00A0}' | '\u{202F}' | '\u{2009}' => " ",
        '•' | '·' => "-",
        _ => return None,
    })
}

/// For each character of the analysis forcing UCS-2 that has a GSM-7 stand-in, the stand-in.
pub fn replacements(analysis: &SmsAnalysis) -> Vec<Replacement> {
    analysis
        .ucs2_characters
        .iter()
        .filter_map(|s| {
            let mut chars = s.chars();
            let c = chars.next()?;
            let replacement = gsm7_stand_in(c).filter(|_| chars.next().is_none())?;
            Some(Replacement {
                character: s.clone(),
                replacement,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_forcing_ucs2_get_a_gsm7_stand_in_where_french_has_one() {
        let a = analyze("Fête de l’été : « Ça commence » — venez… 🎉");
        let r = replacements(&a);
        let pairs: Vec<(&str, &str)> = r
            .iter()
            .map(|x| (x.character.as_str(), x.replacement))
            .collect();
        assert_eq!(
            pairs,
            [
                ("ê", "e"),
                ("’", "'"),
                ("«", "\""),
                ("»", "\""),
                ("—", "-"),
                ("…", "...")
            ]
        );
        // Every stand-in is GSM-7 itself, and the emoji has none.
        for x in &r {
            assert!(analyze(x.replacement).ucs2_characters.is_empty(), "{x:?}");
        }
        let fixed = r.iter().fold(
            "Fête de l’été : « Ça commence » — venez…".to_owned(),
            |t, x| t.replace(&x.character, x.replacement),
        );
        assert_eq!(analyze(&fixed).encoding, SmsEncoding::Gsm7, "{fixed}");
    }

    /// Default alphabet in septet-code order 0x00..=0x7F without ESC (0x1B), copied by
    /// hand from /work/shared/samples/gsm7.txt, with 0x09 = `Ç` (module policy).
    const DEFAULT_ALPHABET: &str =
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
        ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    /// Extension table, in code order (0x0A, 0x14, 0x28, 0x29, 0x2F, 0x3C, 0x3D, 0x3E, 0x40, 0x65).
    const EXTENSION: &str = "\u{000C}^{}\\[~]|€";

    fn gsm(encoding: SmsEncoding, length: usize, segments: usize, chars: &[&str]) -> SmsAnalysis {
        SmsAnalysis {
            encoding,
            length,
            segments,
            ucs2_characters: chars.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn empty_text() {
        assert_eq!(analyze(""), gsm(SmsEncoding::Gsm7, 0, 0, &[]));
    }

    #[test]
    fn plain_gsm7_segment_boundaries() {
        let a = |n: usize| analyze(&"a".repeat(n));
        assert_eq!(a(1), gsm(SmsEncoding::Gsm7, 1, 1, &[]));
        assert_eq!(a(160), gsm(SmsEncoding::Gsm7, 160, 1, &[]));
        assert_eq!(a(161), gsm(SmsEncoding::Gsm7, 161, 2, &[]));
        assert_eq!(a(306), gsm(SmsEncoding::Gsm7, 306, 2, &[]));
        assert_eq!(a(307), gsm(SmsEncoding::Gsm7, 307, 3, &[]));
        assert_eq!(a(459), gsm(SmsEncoding::Gsm7, 459, 3, &[]));
        assert_eq!(a(460), gsm(SmsEncoding::Gsm7, 460, 4, &[]));
    }

    #[test]
    fn extension_characters_count_two_septets() {
        assert_eq!(analyze("€"), gsm(SmsEncoding::Gsm7, 2, 1, &[]));
        assert_eq!(analyze("[x]"), gsm(SmsEncoding::Gsm7, 5, 1, &[]));
        assert_eq!(
            analyze("{}\\^~|\u{000C}"),
            gsm(SmsEncoding::Gsm7, 14, 1, &[])
        );
        assert_eq!(analyze("Prix : 5 €"), gsm(SmsEncoding::Gsm7, 11, 1, &[]));
        // 80 × € = 160 septets: exactly one SMS; 81 × € = 162 septets, 76 € per part.
        assert_eq!(
            analyze(&"€".repeat(80)),
            gsm(SmsEncoding::Gsm7, 160, 1, &[])
        );
        assert_eq!(
            analyze(&"€".repeat(81)),
            gsm(SmsEncoding::Gsm7, 162, 2, &[])
        );
        assert_eq!(
            analyze(&"€".repeat(153)),
            gsm(SmsEncoding::Gsm7, 306, 3, &[])
        );
    }

    #[test]
    fn extension_character_is_never_split() {
        // 152 + € = 154 septets: fits in a single SMS (≤ 160).
        let text = format!("{}€", "a".repeat(152));
        assert_eq!(analyze(&text), gsm(SmsEncoding::Gsm7, 154, 1, &[]));
        // 152 + € + 8 = 162 septets: part 1 = 152 (the € would make 154 > 153), part 2 = € + 8.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(8));
        assert_eq!(analyze(&text), gsm(SmsEncoding::Gsm7, 162, 2, &[]));
        // 152 + € + 152 = 306 septets: dividing would say 2 parts, packing needs 3
        // (152 | € + 151 | 1).
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(analyze(&text), gsm(SmsEncoding::Gsm7, 306, 3, &[]));
        // 151 + € + 153 = 306 septets: the € fits exactly at the end of part 1 → 2 parts.
        let text = format!("{}€{}", "a".repeat(151), "a".repeat(153));
        assert_eq!(analyze(&text), gsm(SmsEncoding::Gsm7, 306, 2, &[]));
    }

    #[test]
    fn french_text_with_circumflex_is_ucs2() {
        assert_eq!(
            analyze("Fête de la musique à Arcachon"),
            gsm(SmsEncoding::Ucs2, 29, 1, &["ê"])
        );
        assert_eq!(
            analyze("Été: marché, église, à côté"),
            gsm(SmsEncoding::Ucs2, 27, 1, &["ô"])
        );
        assert_eq!(
            analyze("Où êtes-vous ?"),
            gsm(SmsEncoding::Ucs2, 14, 1, &["ê"])
        );
    }

    #[test]
    fn french_text_within_gsm7() {
        assert_eq!(
            analyze("Réunion publique à 18h, salle É. Ç"),
            gsm(SmsEncoding::Gsm7, 34, 1, &[])
        );
        assert_eq!(
            analyze("Où étiez-vous ? Déjà là !"),
            gsm(SmsEncoding::Gsm7, 25, 1, &[])
        );
    }

    #[test]
    fn ucs2_characters_are_distinct_in_order_of_first_appearance() {
        // « and » are not GSM-7; Ç is; € counts 1 unit in UCS-2.
        assert_eq!(
            analyze("«Ça coûte 5 €… » ou « ça coûte ? »"),
            gsm(SmsEncoding::Ucs2, 34, 1, &["«", "û", "…", "»", "ç"])
        );
        assert_eq!(
            analyze("L’alerte\u{00A0}: 3 °C"),
            gsm(SmsEncoding::Ucs2, 15, 1, &["’", "\u{00A0}", "°"])
        );
        // Decomposed é (e + combining acute) is not GSM-7.
        assert_eq!(
            analyze("e\u{0301}te\u{0301}"),
            gsm(SmsEncoding::Ucs2, 5, 1, &["\u{0301}"])
        );
    }

    #[test]
    fn ucs2_segment_boundaries() {
        let u = |n: usize| analyze(&"ê".repeat(n));
        assert_eq!(u(70), gsm(SmsEncoding::Ucs2, 70, 1, &["ê"]));
        assert_eq!(u(71), gsm(SmsEncoding::Ucs2, 71, 2, &["ê"]));
        assert_eq!(u(134), gsm(SmsEncoding::Ucs2, 134, 2, &["ê"]));
        assert_eq!(u(135), gsm(SmsEncoding::Ucs2, 135, 3, &["ê"]));
        // Mixed: 69 GSM-7 letters + one ê = 70 units.
        let text = format!("{}ê", "a".repeat(69));
        assert_eq!(analyze(&text), gsm(SmsEncoding::Ucs2, 70, 1, &["ê"]));
    }

    #[test]
    fn characters_outside_bmp_count_two_units_and_are_never_split() {
        assert_eq!(analyze("😀"), gsm(SmsEncoding::Ucs2, 2, 1, &["😀"]));
        assert_eq!(
            analyze("Bravo 👏👏"),
            gsm(SmsEncoding::Ucs2, 10, 1, &["👏"])
        );
        assert_eq!(
            analyze(&"😀".repeat(35)),
            gsm(SmsEncoding::Ucs2, 70, 1, &["😀"])
        );
        // 36 emoji = 72 units: 33 emoji (66 units) per part.
        assert_eq!(
            analyze(&"😀".repeat(36)),
            gsm(SmsEncoding::Ucs2, 72, 2, &["😀"])
        );
        // 66 + emoji + 66 = 134 units: dividing would say 2, packing needs 3
        // (66 | emoji + 65 | 1).
        let text = format!("{}😀{}", "ê".repeat(66), "ê".repeat(66));
        assert_eq!(analyze(&text), gsm(SmsEncoding::Ucs2, 134, 3, &["ê", "😀"]));
        // 65 + emoji + 67 = 134 units: the emoji ends part 1 exactly → 2 parts.
        let text = format!("{}😀{}", "ê".repeat(65), "ê".repeat(67));
        assert_eq!(analyze(&text), gsm(SmsEncoding::Ucs2, 134, 2, &["ê", "😀"]));
    }

    #[test]
    fn representative_characters_from_the_reference_table() {
        let in_gsm7 = [
            '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', 'Δ',
            '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 'Æ', 'æ', 'ß', 'É', ' ', '!', '"',
            '#', '¤', '%', '&', '\'', '?', '¡', 'A', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', '¿', 'a', 'z',
            'ä', 'ö', 'ñ', 'ü', 'à',
        ];
        for c in in_gsm7 {
            assert!(is_gsm7(c), "{c:?} should be GSM-7");
            assert_eq!(gsm7_septets(c), Some(1), "{c:?}");
        }
        for c in ['\u{000C}', '^', '{', '}', '\\', '[', '~', ']', '|', '€'] {
            assert!(is_gsm7(c), "{c:?} should be GSM-7 (extension)");
            assert_eq!(gsm7_septets(c), Some(2), "{c:?}");
        }
        let not_gsm7 = [
            'ç', 'â', 'ê', 'ë', 'î', 'ï', 'ô', 'û', 'ÿ', 'œ', 'Œ', 'À', 'Â', 'È', 'Ê', 'Ë', 'Î',
            'Ï', 'Ô', 'Ù', 'Û', 'Ÿ', '«', '»', '’', '‘', '“', '”', '–', '—', '…', '°', '`',
            '\u{00A0}', '\u{202F}', '\u{001B}', '\u{0000}', '\t', 'á', 'í', 'ó', 'ú',
        ];
        for c in not_gsm7 {
            assert!(!is_gsm7(c), "{c:?} should not be GSM-7");
        }
    }

    #[test]
    fn whole_table_matches_reference_and_nothing_else() {
        assert_eq!(DEFAULT_ALPHABET.chars().count(), 127);
        assert_eq!(EXTENSION.chars().count(), 10);
        for c in DEFAULT_ALPHABET.chars() {
            assert_eq!(gsm7_septets(c), Some(1), "{c:?}");
        }
        for c in EXTENSION.chars() {
            assert_eq!(gsm7_septets(c), Some(2), "{c:?}");
        }
        // Exhaustive: exactly the 137 reference characters are accepted.
        let accepted: Vec<char> = (char::MIN..=char::MAX).filter(|&c| is_gsm7(c)).collect();
        assert_eq!(accepted.len(), 137);
        for c in accepted {
            assert!(
                DEFAULT_ALPHABET.contains(c) || EXTENSION.contains(c),
                "{c:?} accepted but not in the reference table"
            );
        }
    }

    #[test]
    fn serializes_for_the_ui() {
        let json = serde_json::to_value(analyze("Fête 😀")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "encoding": "ucs2",
                "length": 7,
                "segments": 1,
                "ucs2_characters": ["ê", "😀"],
            })
        );
        let json = serde_json::to_value(analyze("Bonjour")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "encoding": "gsm7",
                "length": 7,
                "segments": 1,
                "ucs2_characters": [],
            })
        );
    }
}
