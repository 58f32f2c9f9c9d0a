//! The text of a spreadsheet file, as Excel and LibreOffice write CSV in France: UTF-8 (with or
//! without a byte-order mark), UTF-16 with its mark ("texte Unicode"), or Windows-1252 (the
//! "CSV (séparateur : point-virgule)" of a French Excel).
//!
//! Written with the standard library rather than `encoding_rs`: these three encodings are all an
//! import meets, and `encoding_rs` links the decoders (and tables) of every encoding it knows,
//! about 0.13 MiB of each zipped Lambda function that reads imports. The tests check this
//! decoder against `encoding_rs` on every byte.

use super::UTF8_BOM;

/// What Windows-1252 puts at 0x80–0x9F (the bytes where it differs from Latin-1), as the WHATWG
/// Encoding Standard maps them: its five unassigned bytes stay the C1 control of the same value.
const WINDOWS_1252_80_TO_9F: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
];

/// Decodes a spreadsheet export: UTF-8 (BOM stripped) when valid, otherwise Windows-1252.
///
/// A byte-order mark wins over guessing: a file that declares UTF-8 (or UTF-16, which Excel's
/// "Unicode text" writes) is decoded as such, invalid bytes becoming `�`. Reading it as
/// Windows-1252 instead would garble every accent and turn the mark into `ï»¿` in the first
/// column name.
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(text) = bytes.strip_prefix(UTF8_BOM) {
        return String::from_utf8_lossy(text).into_owned();
    }
    if let Some(text) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(text, u16::from_le_bytes);
    }
    if let Some(text) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(text, u16::from_be_bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        // Every byte is a character in Windows-1252, so this never fails.
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

/// UTF-16 in the byte order `unit` reads; a lone surrogate or a last odd byte becomes `�`.
fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let pairs = bytes.chunks_exact(2);
    let odd_byte = !pairs.remainder().is_empty();
    let units = pairs.map(|p| unit([p[0], p[1]]));
    let mut text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    if odd_byte {
        text.push(char::REPLACEMENT_CHARACTER);
    }
    text
}

/// One Windows-1252 byte's character.
fn windows_1252(byte: u8) -> char {
    match byte {
        0x80..=0x9F => WINDOWS_1252_80_TO_9F[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

#[cfg(test)]
mod tests {
    use encoding_rs::{Encoding, WINDOWS_1252};

    use super::*;

    /// What `encoding_rs` makes of the same bytes, as the decoder did before.
    fn as_encoding_rs_decodes(bytes: &[u8]) -> String {
        if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
            return encoding
                .decode_without_bom_handling(&bytes[bom_len..])
                .0
                .into_owned();
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
        }
    }

    #[test]
    fn decoding_strips_the_bom_and_falls_back_to_windows_1252() {
        assert_eq!(decode_text(b"\xEF\xBB\xBFth\xC3\xA8mes"), "thèmes");
        assert_eq!(decode_text("thèmes".as_bytes()), "thèmes");
        assert_eq!(decode_text(b"th\xE8mes \x80"), "thèmes €");
        assert_eq!(decode_text(b""), "");
    }

    #[test]
    fn every_windows_1252_byte_reads_as_encoding_rs_reads_it() {
        for byte in 0..=u8::MAX {
            // A byte above 0x7F alone is not UTF-8, so the file is read as Windows-1252.
            let bytes = [b'a', byte, 0xFF];
            assert_eq!(
                decode_text(&bytes),
                as_encoding_rs_decodes(&bytes),
                "byte {byte:#04x}"
            );
        }
    }

    #[test]
    fn utf16_files_with_their_mark_read_as_encoding_rs_reads_them() {
        let text = "Courriel;Téléphone;Thèmes\r\nzoé@exemple.fr;06 12 34 56 78;Œuvres 🎭\r\n";
        let le: Vec<u8> = b"\xFF\xFE"
            .iter()
            .copied()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = b"\xFE\xFF"
            .iter()
            .copied()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode_text(&le), text);
        assert_eq!(decode_text(&be), text);
        // A lone surrogate, and a last odd byte.
        for broken in [
            [&le[..], &[0x00, 0xD8, b'a', 0x00]].concat(),
            [&be[..], b"a"].concat(),
        ] {
            assert_eq!(decode_text(&broken), as_encoding_rs_decodes(&broken));
        }
    }

    #[test]
    fn invalid_utf8_after_its_mark_reads_as_encoding_rs_reads_it() {
        let bytes = b"\xEF\xBB\xBFth\xE8mes \xC3";
        assert_eq!(decode_text(bytes), as_encoding_rs_decodes(bytes));
        assert_eq!(decode_text(bytes), "th\u{FFFD}mes \u{FFFD}");
    }
}
