//! The subscriber file as spreadsheets see it: checking an import, writing an export.
//!
//! Staff keep the town's list in Excel or LibreOffice. This module turns such a file into
//! validated sign-ups ([`check_import`]) without writing anything, so staff see every refused
//! line before deciding, and writes the subscriber list back in a form those programs open
//! correctly ([`export_csv`]).
//!
//! # Import format
//!
//! **Encoding.** UTF-8, with or without a byte-order mark, or Windows-1252 (what French Excel
//! writes by default). A file that is not valid UTF-8 is read as Windows-1252. A file that
//! starts with a byte-order mark (UTF-8 or UTF-16) is read in the encoding the mark declares;
//! any invalid bytes in it become `�`, so they show up in the refused values.
//!
//! **Separator.** `;` or `,`, detected from the header line: more `;` than `,` means `;`,
//! otherwise `,`. Cells may be quoted with `"` (a quote inside is doubled: `""`). Spaces around
//! values are ignored. A cell must not contain a line break.
//!
//! **Header.** The first non-blank line names the columns. Names are matched ignoring case,
//! accents, spaces, dashes and underscores, so `Téléphone`, `TELEPHONE` and `télé-phone` are
//! the same column:
//!
//! | Column      | Also accepted                                        | Required            |
//! |-------------|------------------------------------------------------|---------------------|
//! | `email`     | `e-mail`, `courriel`, `mail`, `adresse e-mail`       | this or `telephone` |
//! | `telephone` | `téléphone`, `mobile`, `portable`, `phone`, `numero` | this or `email`     |
//! | `themes`    | `thèmes`, `topics`, `theme`                          | yes                 |
//! | `canaux`    | `channels`, `canal`                                  | no                  |
//! | `reference` | `référence`, `formulaire`, `ref`                     | no                  |
//! | `statut`    | `status`                                             | no                  |
//!
//! Other columns (`id`, `source`, `cree_le`, notes…) are ignored. When two columns have the same
//! meaning (say `Téléphone` and `Portable`), the leftmost one is used.
//!
//! **Lines.** Line numbers count every physical line of the file, the header being line 1 in an
//! ordinary file, so they match the row numbers the spreadsheet shows. Blank lines, and lines
//! whose cells are all empty (`;;;`), are skipped. A line with fewer cells than the header has
//! columns, or with values to the right of the last named column, is refused as a whole (field
//! `ligne`): its values are probably shifted by a wrong separator, and guessing would subscribe
//! the wrong person to the wrong thing.
//!
//! **`email`, `telephone`.** At least one per line. Phone numbers are French mobiles in any
//! usual form (`06 12 34 56 78`, `+33 6 12 34 56 78`, or `612345678` when the spreadsheet
//! dropped the leading zero); landlines are refused since they cannot receive SMS. An address
//! or number already seen on an earlier line of the same file is refused on the later line
//! (addresses compared ignoring case, numbers after conversion to E.164).
//!
//! **`themes`.** One or more topics, each written as its identifier (`alerte-meteo`) or its
//! name (`Alerte météo`, matched ignoring case and accents), separated by `|` or `+`, and also
//! by `,` in a `;` file (or `;` in a `,` file, inside quotes). `/` is *not* a separator: the
//! name `Culture/Animations` contains it. A name that itself contains a separator still
//! matches, as the longest run of text naming a topic wins. Only topics open on the import day
//! are accepted.
//!
//! **`canaux`.** `email` (or `e-mail`, `courriel`) and/or `sms`, separated by `|`, `+`, spaces,
//! and `,` in a `;` file (or `;` in a `,` file). They apply to every topic of the line. A value may also be written
//! `topic:channel` (for example `alerte-meteo:sms`, as the export writes it) to give channels
//! to one topic only; every topic of the line then needs at least one channel, from such a pair
//! or from a plain channel. When the cell is empty, the line gets every channel it has a
//! contact for: `email` when an address is given, `sms` when a number is given.
//!
//! **`reference`.** The paper form's reference, kept as proof of consent (100 characters at
//! most). When empty: `import CSV ligne {n}`.
//!
//! **`statut`.** Empty or `actif`. Lines exported as `désabonné` or `en attente` are refused:
//! importing them would subscribe people who left or never confirmed, without their consent.
//!
//! Each line is checked like a paper form typed by staff (no consent box: the signed form is
//! the consent). A refused line gives one [`LineError`] per faulty column, named as in the
//! file's vocabulary: `email`, `telephone`, `themes`, `canaux`, `reference`, `statut`, or
//! `ligne` for a line that cannot be read. The whole file is refused (an `Err` about the
//! header, line 1, with field `fichier`, `themes` or `email`) only when it is empty, has no recognisable header, lacks a `themes` column, lacks both
//! contact columns, or has no line after the header.
//!
//! # Export format
//!
//! UTF-8 with a byte-order mark (so Excel detects the encoding), `;` separated (what French
//! Excel expects), CRLF line ends, quoted only where needed. Columns:
//! `id;email;telephone;statut;themes;canaux;source;reference;cree_le;modifie_le`.
//!
//! - `telephone` is in E.164 form, written `'+33612345678` (see the last point).
//! - `statut` is `en attente`, `actif` or `désabonné`; `source` is `web` or `papier`.
//! - `themes` lists topic names joined by ` | `; `canaux` lists every choice as
//!   `topic:channel` joined by ` | ` (`alerte-meteo:sms | infos-pratiques:email`).
//! - `reference` is the paper form's reference (empty for web sign-ups).
//! - `cree_le`, `modifie_le` are `YYYY-MM-DD HH:MM`, Europe/Paris time.
//! - A cell starting with `=`, `+`, `-` or `@` (phone numbers always do) is prefixed with `'`
//!   so spreadsheets show it as text instead of running it as a formula (a resident's address
//!   is typed by the resident). The import removes a `'` followed by one of these characters.
//!
//! An exported file can be imported again: contacts, topics and per-topic channels come back
//! unchanged, and `désabonné` / `en attente` lines are refused (see `statut`). What does not
//! come back: the identifier, the dates, and the consent proof of web sign-ups (address, user
//! agent, time) — an import creates new subscribers whose consent is the paper form named in
//! `reference`. Topics closed since the export are refused.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;
use csv::{ReaderBuilder, StringRecord, Terminator, Trim, WriterBuilder};
use encoding_rs::{Encoding, WINDOWS_1252};
use serde::Serialize;

use crate::domain::contact::{Channel, Email, PhoneNumber};
use crate::domain::signup::{Signup, SignupInput, SubscriptionInput};
use crate::domain::subscriber::{ConsentSource, Subscriber, SubscriberStatus};
use crate::domain::topic::{Topic, TopicSlug};
use crate::error::FieldErrors;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Longest accepted paper-form reference, in characters.
const MAX_REFERENCE_CHARS: usize = 100;

/// The export's columns, in order.
const EXPORT_HEADER: [&str; 10] = [
    "id",
    "email",
    "telephone",
    "statut",
    "themes",
    "canaux",
    "source",
    "reference",
    "cree_le",
    "modifie_le",
];

/// For a line the CSV reader itself fails on.
const UNREADABLE: &str =
    "Cette ligne n'a pas pu être lue : enregistrez le fichier au format CSV depuis le tableur.";

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 4] = ['=', '+', '-', '@'];

/// Decodes a spreadsheet export: UTF-8 (BOM stripped) when valid, otherwise Windows-1252.
///
/// A byte-order mark wins over guessing: a file that declares UTF-8 (or UTF-16, which Excel's
/// "Unicode text" writes) is decoded as such, invalid bytes becoming `�`. Reading it as
/// Windows-1252 instead would garble every accent and turn the mark into `ï»¿` in the first
/// column name.
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return encoding
            .decode_without_bom_handling(&bytes[bom_len..])
            .0
            .into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        // Every byte sequence is valid Windows-1252, so this never fails.
        Err(_) => WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// One valid line of an import, ready to become an active subscriber with paper consent.
#[derive(Debug, Clone)]
pub struct ImportLine {
    /// The line's number in the file (1-based, the header being line 1).
    pub line: usize,
    /// The validated contacts and choices.
    pub signup: Signup,
    /// The paper form's reference, or `import CSV ligne {n}` when the cell was empty.
    pub form_reference: String,
}

/// A refused line: its number (1-based, counting the header as line 1), the column, and a French message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("Ligne {line} ({field}) : {message}")]
pub struct LineError {
    /// The line's number in the file.
    pub line: usize,
    /// The column at fault (`email`, `telephone`, `themes`, `canaux`, `reference`, `statut`),
    /// `ligne` when the line cannot be read, `fichier` when the file is empty.
    pub field: String,
    /// What is wrong and how to fix it, in French.
    pub message: String,
}

impl LineError {
    fn new(line: usize, field: &str, message: impl Into<String>) -> Self {
        Self {
            line,
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// The result of checking a whole file before anything is written.
#[derive(Debug, Clone, Default)]
pub struct ImportCheck {
    /// Lines that can be imported, in file order.
    pub valid: Vec<ImportLine>,
    /// Problems of the other lines, by line then column order.
    pub errors: Vec<LineError>,
}

/// A column this module understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Email,
    Telephone,
    Themes,
    Canaux,
    Reference,
    Statut,
}

impl Column {
    /// In file-vocabulary order, which is also the order errors of a line are listed in.
    const ALL: [Column; 6] = [
        Column::Statut,
        Column::Email,
        Column::Telephone,
        Column::Themes,
        Column::Canaux,
        Column::Reference,
    ];

    /// The name staff see in messages and in the export.
    fn name(self) -> &'static str {
        match self {
            Column::Email => "email",
            Column::Telephone => "telephone",
            Column::Themes => "themes",
            Column::Canaux => "canaux",
            Column::Reference => "reference",
            Column::Statut => "statut",
        }
    }

    /// Accepted header names, written as staff would (compared after [`fold`]).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Column::Email => &["email", "e-mail", "courriel", "mail", "adresse e-mail"],
            Column::Telephone => &[
                "telephone",
                "téléphone",
                "mobile",
                "portable",
                "phone",
                "numero",
            ],
            Column::Themes => &["themes", "thèmes", "topics", "theme"],
            Column::Canaux => &["canaux", "channels", "canal"],
            Column::Reference => &["reference", "référence", "formulaire", "ref"],
            Column::Statut => &["statut", "status"],
        }
    }

    fn from_header(cell: &str) -> Option<Column> {
        let key = fold(cell);
        Column::ALL
            .into_iter()
            .find(|c| c.aliases().iter().any(|a| fold(a) == key))
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Where each known column sits in the file.
struct Layout {
    separator: u8,
    columns: [Option<usize>; 6],
    /// Cells up to the last named header cell; lines must have at least this many.
    width: usize,
}

impl Layout {
    fn from_header(header: &StringRecord, separator: u8) -> Self {
        let mut columns = [None; 6];
        for (i, cell) in header.iter().enumerate() {
            if let Some(column) = Column::from_header(cell) {
                // Leftmost wins, so a second "Portable" column cannot silently replace "Téléphone".
                columns[column.index()].get_or_insert(i);
            }
        }
        let width = header
            .iter()
            .enumerate()
            .filter(|(_, cell)| !cell.is_empty())
            .last()
            .map_or(0, |(i, _)| i + 1);
        Self {
            separator,
            columns,
            width,
        }
    }

    fn has(&self, column: Column) -> bool {
        self.columns[column.index()].is_some()
    }

    /// The trimmed cell of a column, empty when the file has no such column.
    fn cell<'r>(&self, record: &'r StringRecord, column: Column) -> &'r str {
        let raw = self.columns[column.index()]
            .and_then(|i| record.get(i))
            .unwrap_or("")
            .trim();
        // Undo the export's anti-formula prefix so an exported file re-imports unchanged.
        match raw.strip_prefix('\'') {
            Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
            _ => raw,
        }
    }

    /// Characters separating several values inside one cell, on top of `|` and `+`: the
    /// separator the file does not use is free to appear inside a cell.
    fn list_separators(&self) -> [char; 3] {
        let other = if self.separator == b';' { ',' } else { ';' };
        ['|', '+', other]
    }
}

/// Lower-cases, removes accents, spaces, dashes and underscores, so that spreadsheet spellings
/// (`Téléphone`, `alerte meteo`, `Alerte-Météo`) compare equal to ours.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            '-' | '_' | '\u{2010}' | '\u{2011}' | '\u{2013}' | '\u{feff}' => {}
            c if c.is_whitespace() => {}
            // Combining accents: files from macOS may store "é" as "e" + U+0301.
            '\u{300}'..='\u{36f}' => {}
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            '’' | '‘' => out.push('\''),
            c => out.push(c),
        }
    }
    out
}

/// The open topics with their comparison keys, computed once per file.
struct TopicIndex<'t> {
    all: &'t [Topic],
    topics: Vec<(&'t Topic, String, String)>,
}

impl<'t> TopicIndex<'t> {
    fn new(topics: &'t [Topic]) -> Self {
        Self {
            all: topics,
            topics: topics
                .iter()
                .map(|t| (t, fold(t.slug.as_str()), fold(&t.name)))
                .collect(),
        }
    }

    fn find(&self, text: &str) -> Option<&'t Topic> {
        let key = fold(text);
        if key.is_empty() {
            return None;
        }
        self.topics
            .iter()
            .find(|(_, slug, name)| *slug == key || *name == key)
            .map(|(t, _, _)| *t)
    }

    /// `culture-animations, infos-pratiques, …`, for messages.
    fn slugs(&self) -> String {
        self.topics
            .iter()
            .map(|(t, _, _)| t.slug.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Resolves a `themes` cell to topics, in cell order, plus the parts naming no topic.
    ///
    /// The cell is cut at every separator, then the longest run of consecutive pieces that
    /// names a topic is taken, so a name containing a separator (`Sport + Loisirs`) still
    /// matches as a whole.
    fn resolve_list(&self, cell: &str, separators: &[char]) -> (Vec<&'t Topic>, Vec<String>) {
        let mut pieces = Vec::new();
        let mut start = 0;
        for (i, c) in cell.char_indices() {
            if separators.contains(&c) {
                pieces.push((start, i));
                start = i + c.len_utf8();
            }
        }
        pieces.push((start, cell.len()));

        let (mut found, mut unknown) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < pieces.len() {
            let longest = (i..pieces.len())
                .rev()
                .find_map(|j| self.find(&cell[pieces[i].0..pieces[j].1]).map(|t| (j, t)));
            match longest {
                Some((j, topic)) => {
                    found.push(topic);
                    i = j + 1;
                }
                None => {
                    let piece = cell[pieces[i].0..pieces[i].1].trim();
                    if !piece.is_empty() {
                        unknown.push(piece.to_owned());
                    }
                    i += 1;
                }
            }
        }
        (found, unknown)
    }
}

/// Checks every line of an import file against the open topics; never writes anything.
///
/// `Err` only when the file as a whole is unusable (empty, no header, no `themes` column,
/// neither `email` nor `telephone` column, nothing after the header); otherwise every line
/// ends up either in `valid` or with its problems in `errors`.
pub fn check_import(bytes: &[u8], open_topics: &[Topic]) -> Result<ImportCheck, LineError> {
    let text = decode_text(bytes);
    let Some(header_line) = text.lines().find(|l| !l.trim().is_empty()) else {
        return Err(LineError::new(1, "fichier", "Le fichier est vide."));
    };
    let separator = if header_line.matches(';').count() > header_line.matches(',').count() {
        b';'
    } else {
        b','
    };

    let mut reader = ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        // Lines of the wrong length are reported per line below instead of stopping the read.
        .flexible(true)
        .trim(Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records().filter(|record| match record {
        Ok(cells) => cells.iter().any(|cell| !cell.is_empty()),
        Err(_) => true,
    });
    let numbers = LineNumbers::new(&text);

    let header = match records.next() {
        None => return Err(LineError::new(1, "fichier", "Le fichier est vide.")),
        Some(Err(_)) => return Err(LineError::new(1, "fichier", UNREADABLE)),
        Some(Ok(header)) => header,
    };
    let header_number = numbers.of(header.position(), &text);
    let layout = Layout::from_header(&header, separator);
    check_layout(&layout, header_number)?;

    let topics = TopicIndex::new(open_topics);
    let mut seen = SeenContacts::default();
    let mut check = ImportCheck::default();
    let mut lines = 0;
    for record in records {
        lines += 1;
        // The text is valid UTF-8 and lines may differ in length, so the reader has nothing
        // left to fail on; should it still, the line is reported rather than dropped.
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = numbers.of(e.position(), &text);
                check.errors.push(LineError::new(line, "ligne", UNREADABLE));
                continue;
            }
        };
        let line = numbers.of(record.position(), &text);
        match check_line(&record, line, &layout, &topics, &mut seen) {
            Ok(valid) => check.valid.push(valid),
            Err(errors) => check.errors.extend(errors),
        }
    }
    if lines == 0 {
        return Err(LineError::new(
            header_number,
            "fichier",
            "Le fichier ne contient que la ligne d'en-tête : aucun abonné à importer.",
        ));
    }
    Ok(check)
}

/// Physical line numbers from byte offsets. The csv reader's own line count skips blank lines
/// and miscounts CRLF, and staff need the row number their spreadsheet shows.
struct LineNumbers(Vec<usize>);

impl LineNumbers {
    fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, b) in bytes.iter().enumerate() {
            // `\r\n`, `\n` and a lone `\r` (old Mac exports) each end one line.
            let ends_line = *b == b'\n' || (*b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            if ends_line {
                starts.push(i + 1);
            }
        }
        Self(starts)
    }

    /// The line a record (or a read error) at `position` starts on.
    fn of(&self, position: Option<&csv::Position>, text: &str) -> usize {
        let mut byte = position.map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        // The reader's offset is where it started looking, before the blank lines it skipped
        // and the `\n` of a CRLF it stopped at: the record starts after them.
        let bytes = text.as_bytes();
        while matches!(bytes.get(byte), Some(b'\r' | b'\n')) {
            byte += 1;
        }
        // The number of line starts at or before the offset is the 1-based line number.
        self.0.partition_point(|start| *start <= byte)
    }
}

/// Refuses a header that misses the columns every line needs.
fn check_layout(layout: &Layout, line: usize) -> Result<(), LineError> {
    if Column::ALL.iter().all(|c| !layout.has(*c)) {
        return Err(LineError::new(
            line,
            "fichier",
            "La première ligne doit donner les noms des colonnes (email, telephone, themes, canaux, reference) : aucun nom de colonne n'a été reconnu.",
        ));
    }
    if !layout.has(Column::Themes) {
        return Err(LineError::new(
            line,
            "themes",
            "Il manque la colonne « themes » (noms acceptés : themes, thèmes, topics, theme).",
        ));
    }
    if !layout.has(Column::Email) && !layout.has(Column::Telephone) {
        return Err(LineError::new(
            line,
            "email",
            "Il manque une colonne « email » ou « telephone » (au moins l'une des deux).",
        ));
    }
    Ok(())
}

/// Contacts of earlier lines, to refuse the same person twice in one file.
#[derive(Default)]
struct SeenContacts {
    emails: HashMap<String, usize>,
    phones: HashMap<String, usize>,
}

/// Checks one non-blank line; the errors are sorted in column order.
fn check_line(
    record: &StringRecord,
    line: usize,
    layout: &Layout,
    topics: &TopicIndex<'_>,
    seen: &mut SeenContacts,
) -> Result<ImportLine, Vec<LineError>> {
    // A broken line is reported alone: its other cells are probably shifted, and checking them
    // would bury the real cause under misleading messages.
    if let Some(message) = unreadable(record, line, layout) {
        return Err(vec![LineError::new(line, "ligne", message)]);
    }

    let mut errors = FieldErrors::new();
    check_status(layout.cell(record, Column::Statut), &mut errors);

    let email = layout.cell(record, Column::Email);
    // Spreadsheets write French numbers with non-breaking spaces; the phone parser wants plain ones.
    let phone = layout
        .cell(record, Column::Telephone)
        .replace(|c: char| c.is_whitespace(), " ");
    let no_contact = email.is_empty() && phone.is_empty();

    let subscriptions = choices(record, layout, topics, !email.is_empty(), !phone.is_empty())
        .unwrap_or_else(|(column, message)| {
            errors.add(column.name(), message);
            Vec::new()
        });

    let input = SignupInput {
        email: Some(email.to_owned()),
        phone: Some(phone.clone()),
        subscriptions,
        consent: false,
    };
    let signup = Signup::parse(&input, topics.all, false);
    if let Err(refused) = &signup {
        // Without any contact, only that is reported: the resulting choice errors
        // ("indiquez aussi un numéro…") would only repeat it.
        let contact_column = if layout.has(Column::Email) {
            "email"
        } else {
            "telephone"
        };
        let choice_errors_known = errors.get("themes").is_some() || errors.get("canaux").is_some();
        for (field, message) in refused.fields.iter() {
            let column = match field {
                "email" | "phone" if no_contact => contact_column,
                "email" => "email",
                "phone" => "telephone",
                "subscriptions" if no_contact || choice_errors_known => continue,
                "subscriptions" if refused.choices.is_some_and(|p| p.is_about_channels()) => {
                    "canaux"
                }
                "subscriptions" => "themes",
                other => other,
            };
            errors.add(column, message);
        }
    }

    check_duplicates(email, &phone, line, seen, &mut errors);

    let reference = layout.cell(record, Column::Reference);
    if reference.chars().count() > MAX_REFERENCE_CHARS {
        errors.add(
            "reference",
            format!(
                "La référence du formulaire est trop longue ({MAX_REFERENCE_CHARS} caractères au plus)."
            ),
        );
    }

    match signup {
        Ok(signup) if errors.is_empty() => Ok(ImportLine {
            line,
            signup,
            form_reference: if reference.is_empty() {
                format!("import CSV ligne {line}")
            } else {
                reference.to_owned()
            },
        }),
        _ => Err(sorted(line, &errors)),
    }
}

/// Why a line cannot be read cell by cell, if it cannot.
fn unreadable(record: &StringRecord, line: usize, layout: &Layout) -> Option<String> {
    let breaks: usize = record
        .iter()
        .map(|cell| LineNumbers::new(cell).0.len() - 1)
        .sum();
    if breaks > 0 {
        return Some(format!(
            "Une cellule de cette ligne contient un retour à la ligne (ou un guillemet \" jamais refermé) : elle se poursuit jusqu'à la ligne {}. Corrigez cette cellule.",
            line + breaks
        ));
    }
    if record.len() < layout.width {
        return Some(format!(
            "Cette ligne a {} cellule{} alors que l'en-tête a {} colonnes : vérifiez le séparateur (« {} ») sur cette ligne.",
            record.len(),
            if record.len() > 1 { "s" } else { "" },
            layout.width,
            char::from(layout.separator)
        ));
    }
    if record.iter().skip(layout.width).any(|c| !c.is_empty()) {
        return Some(format!(
            "Cette ligne a des valeurs au-delà de la dernière colonne de l'en-tête : une valeur contient peut-être le séparateur « {} » sans être entre guillemets.",
            char::from(layout.separator)
        ));
    }
    None
}

/// Refuses statuses other than active: the import's paper consent cannot stand in for a
/// resident who left or never confirmed.
fn check_status(cell: &str, errors: &mut FieldErrors) {
    let message = match fold(cell).as_str() {
        "" | "actif" | "active" => return,
        "desabonne" | "unsubscribed" => {
            "Cette personne s'est désabonnée : l'importer la réabonnerait sans son accord. Retirez la ligne du fichier.".to_owned()
        }
        "enattente" | "pending" => {
            "Cette inscription n'a jamais été confirmée : l'importer l'abonnerait sans preuve de consentement. Retirez la ligne du fichier.".to_owned()
        }
        _ => format!(
            "Statut « {cell} » inconnu : seules les lignes au statut « actif » (ou sans statut) sont importées."
        ),
    };
    errors.add("statut", message);
}

/// The line's topics and channels as sign-up input, or the first problem found with them.
fn choices(
    record: &StringRecord,
    layout: &Layout,
    topics: &TopicIndex<'_>,
    has_email: bool,
    has_phone: bool,
) -> Result<Vec<SubscriptionInput>, (Column, String)> {
    let separators = layout.list_separators();
    let themes_cell = layout.cell(record, Column::Themes);
    let (themes, unknown) = topics.resolve_list(themes_cell, &separators);
    match unknown.as_slice() {
        [] if themes.is_empty() => {
            return Err((
                Column::Themes,
                format!(
                    "Indiquez au moins un thème (thèmes proposés : {}).",
                    topics.slugs()
                ),
            ))
        }
        [] => {}
        [one] => {
            return Err((
                Column::Themes,
                format!(
                    "Le thème « {one} » n'existe pas ou n'est plus proposé (thèmes proposés : {}).",
                    topics.slugs()
                ),
            ))
        }
        many => {
            return Err((
                Column::Themes,
                format!(
                    "Les thèmes {} n'existent pas ou ne sont plus proposés (thèmes proposés : {}).",
                    many.iter()
                        .map(|t| format!("« {t} »"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    topics.slugs()
                ),
            ))
        }
    }
    let themes: BTreeMap<&TopicSlug, &Topic> = themes.into_iter().map(|t| (&t.slug, t)).collect();

    let canaux_cell = layout.cell(record, Column::Canaux);
    let mut common = BTreeSet::new();
    let mut per_topic: BTreeMap<&TopicSlug, BTreeSet<Channel>> = BTreeMap::new();
    let tokens = canaux_cell
        .split(|c: char| c.is_whitespace() || separators.contains(&c))
        .filter(|t| !t.is_empty());
    let mut any_token = false;
    for token in tokens {
        any_token = true;
        let canaux_error = |message: String| Err((Column::Canaux, message));
        match token.rsplit_once(':') {
            None => match token.parse::<Channel>() {
                Ok(channel) => {
                    common.insert(channel);
                }
                Err(message) => return canaux_error(message),
            },
            Some((topic, channel)) => {
                let channel = match channel.parse::<Channel>() {
                    Ok(c) => c,
                    Err(message) => return canaux_error(message),
                };
                let Some(topic) = topics.find(topic) else {
                    return canaux_error(format!(
                        "Thème inconnu dans « {token} » : écrivez « thème:canal » avec l'identifiant d'un thème proposé ({}).",
                        topics.slugs()
                    ));
                };
                if !themes.contains_key(&topic.slug) {
                    return canaux_error(format!(
                        "« {token} » : le thème « {} » n'est pas dans la colonne themes de cette ligne.",
                        topic.name
                    ));
                }
                per_topic.entry(&topic.slug).or_default().insert(channel);
            }
        }
    }
    if !any_token {
        // No channel given: everything the line can be reached by, as the paper form implies.
        if has_email {
            common.insert(Channel::Email);
        }
        if has_phone {
            common.insert(Channel::Sms);
        }
    }

    let mut inputs = Vec::with_capacity(themes.len());
    for (slug, topic) in themes {
        let mut channels = common.clone();
        channels.extend(per_topic.remove(slug).unwrap_or_default());
        if channels.is_empty() && any_token {
            return Err((
                Column::Canaux,
                format!(
                    "Aucun canal pour le thème « {} » : ajoutez « {slug}:email » ou « {slug}:sms », ou un canal valable pour tous les thèmes.",
                    topic.name
                ),
            ));
        }
        inputs.push(SubscriptionInput {
            topic: slug.to_string(),
            channels: channels.iter().map(|c| c.as_str().to_owned()).collect(),
        });
    }
    Ok(inputs)
}

/// Refuses a contact that an earlier line of the file already uses, and remembers new ones.
fn check_duplicates(
    email: &str,
    phone: &str,
    line: usize,
    seen: &mut SeenContacts,
    errors: &mut FieldErrors,
) {
    // Compared after parsing, so `06 12…` and `+33 6 12…` are the same number. Case is ignored
    // in addresses: nobody owns two mailboxes differing only by case.
    if let Ok(email) = Email::parse(email) {
        let key = email.as_str().to_lowercase();
        match seen.emails.get(&key) {
            Some(first) => errors.add(
                "email",
                format!("Adresse déjà présente ligne {first} du fichier."),
            ),
            None => {
                seen.emails.insert(key, line);
            }
        }
    }
    if let Ok(phone) = PhoneNumber::parse(phone) {
        let key = phone.as_str().to_owned();
        match seen.phones.get(&key) {
            Some(first) => errors.add(
                "telephone",
                format!("Numéro déjà présent ligne {first} du fichier."),
            ),
            None => {
                seen.phones.insert(key, line);
            }
        }
    }
}

/// The errors of a line as [`LineError`]s, in column order (`statut`, `email`, `telephone`…).
fn sorted(line: usize, errors: &FieldErrors) -> Vec<LineError> {
    let rank = |field: &str| {
        Column::ALL
            .iter()
            .position(|c| c.name() == field)
            .unwrap_or(Column::ALL.len())
    };
    let mut out: Vec<LineError> = errors
        .iter()
        .map(|(field, message)| LineError::new(line, field, message))
        .collect();
    out.sort_by_key(|e| rank(&e.field));
    out
}

/// The subscriber file as CSV for spreadsheets: UTF-8 with BOM, `;` separated, CRLF line ends.
///
/// `topics` gives the names written in `themes`; a topic missing from it is written by its
/// identifier. See the module documentation for the columns.
pub fn export_csv(subscribers: &[Subscriber], topics: &[Topic]) -> Vec<u8> {
    write_export(subscribers, topics).expect("writing rows of a fixed width to memory cannot fail")
}

fn write_export(subscribers: &[Subscriber], topics: &[Topic]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = WriterBuilder::new()
        .delimiter(b';')
        .terminator(Terminator::CRLF)
        .from_writer(UTF8_BOM.to_vec());
    writer.write_record(EXPORT_HEADER)?;
    for subscriber in subscribers {
        let row = export_row(subscriber, topics);
        let cells: Vec<Cow<'_, str>> = row.iter().map(|cell| spreadsheet_safe(cell)).collect();
        writer.write_record(cells.iter().map(|cell| cell.as_bytes()))?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

fn export_row(s: &Subscriber, topics: &[Topic]) -> [String; 10] {
    // Topics in the town's order (the order of `topics`), unknown ones last by identifier.
    let position = |slug: &TopicSlug| topics.iter().position(|t| &t.slug == slug);
    let mut slugs: Vec<&TopicSlug> = s
        .choices
        .iter()
        .map(|c| &c.topic)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    slugs.sort_by_key(|slug| (position(slug).unwrap_or(usize::MAX), *slug));

    let themes = slugs
        .iter()
        .map(|slug| match position(slug) {
            Some(i) => topics[i].name.clone(),
            None => slug.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" | ");
    let canaux = slugs
        .iter()
        .flat_map(|slug| {
            s.channels_for(slug)
                .into_iter()
                .map(move |channel| format!("{slug}:{channel}"))
        })
        .collect::<Vec<_>>()
        .join(" | ");
    let (source, reference) = match &s.consent.source {
        ConsentSource::Web { .. } => ("web", String::new()),
        ConsentSource::Paper { form_reference, .. } => ("papier", form_reference.clone()),
    };
    let status = match s.status() {
        SubscriberStatus::Pending => "en attente",
        SubscriberStatus::Active => "actif",
        SubscriberStatus::Unsubscribed => "désabonné",
    };
    [
        s.id.to_string(),
        s.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        s.phone.as_ref().map(|p| p.to_string()).unwrap_or_default(),
        status.to_owned(),
        themes,
        canaux,
        source.to_owned(),
        reference,
        town_time(s.created_at),
        town_time(s.updated_at),
    ]
}

fn town_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Prefixes cells a spreadsheet would run as a formula (`=…`, `+33…`) with `'`, so a resident's
/// crafted address cannot execute anything on a staff computer and numbers stay text.
fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::subscriber::{
        Choice, Consent, SubscriberId, SubscriberState, CONSENT_WORDING_VERSION,
    };
    use crate::domain::topic::default_topics;

    /// The line's choices as `slug:channel`, in the sign-up's order.
    fn choices_of(line: &ImportLine) -> Vec<String> {
        line.signup
            .choices
            .iter()
            .map(|c| format!("{}:{}", c.topic, c.channel))
            .collect()
    }

    fn check(bytes: &[u8]) -> ImportCheck {
        check_import(bytes, &default_topics()).unwrap()
    }

    fn refused(bytes: &[u8]) -> LineError {
        check_import(bytes, &default_topics()).unwrap_err()
    }

    fn err(line: usize, field: &str, message: &str) -> LineError {
        LineError::new(line, field, message)
    }

    const SEMICOLON_FILE: &str = "Courriel;Téléphone;Thèmes;Canaux;Référence\r\n\
        jean@exemple.fr;;Alerte météo;;\r\n\
        ;06 12 34 56 78;infos-pratiques;;\r\n\
        marie@exemple.fr;07 81 23 45 67;alerte-meteo, Culture/Animations;email+sms;F-2026-001\r\n";

    fn assert_semicolon_file_lines(check: &ImportCheck) {
        assert_eq!(check.errors, []);
        assert_eq!(check.valid.len(), 3);
        let [jean, phone_only, marie] = &check.valid[..] else {
            unreachable!()
        };

        assert_eq!(jean.line, 2);
        assert_eq!(
            jean.signup.email.as_ref().unwrap().as_str(),
            "jean@exemple.fr"
        );
        assert_eq!(jean.signup.phone, None);
        assert_eq!(choices_of(jean), ["alerte-meteo:email"]);
        assert_eq!(jean.form_reference, "import CSV ligne 2");

        assert_eq!(phone_only.line, 3);
        assert_eq!(phone_only.signup.email, None);
        assert_eq!(
            phone_only.signup.phone.as_ref().unwrap().as_str(),
            "+33612345678"
        );
        assert_eq!(choices_of(phone_only), ["infos-pratiques:sms"]);
        assert_eq!(phone_only.form_reference, "import CSV ligne 3");

        assert_eq!(marie.line, 4);
        assert_eq!(
            marie.signup.phone.as_ref().unwrap().as_str(),
            "+33781234567"
        );
        assert_eq!(
            choices_of(marie),
            [
                "alerte-meteo:email",
                "alerte-meteo:sms",
                "culture-animations:email",
                "culture-animations:sms"
            ]
        );
        assert_eq!(marie.form_reference, "F-2026-001");
    }

    #[test]
    fn utf8_semicolon_file_with_bom_imports() {
        let bytes = [UTF8_BOM, SEMICOLON_FILE.as_bytes()].concat();
        assert_semicolon_file_lines(&check(&bytes));
    }

    #[test]
    fn windows_1252_file_with_accented_names_imports() {
        let (bytes, _, unmappable) = WINDOWS_1252.encode(SEMICOLON_FILE);
        assert!(!unmappable);
        // It really is not UTF-8: "é" is the single byte 0xE9.
        assert!(std::str::from_utf8(&bytes).is_err());
        assert!(bytes.contains(&0xE9));
        assert_eq!(decode_text(&bytes), SEMICOLON_FILE);
        assert_semicolon_file_lines(&check(&bytes));
    }

    #[test]
    fn decoding_strips_the_bom_and_falls_back_to_windows_1252() {
        assert_eq!(decode_text(b"\xEF\xBB\xBFth\xC3\xA8mes"), "thèmes");
        assert_eq!(decode_text("thèmes".as_bytes()), "thèmes");
        assert_eq!(decode_text(b"th\xE8mes \x80"), "thèmes €");
        assert_eq!(decode_text(b""), "");
    }

    #[test]
    fn comma_file_with_quoted_fields_imports() {
        let file = "email,telephone,themes,canaux,reference,commentaire\n\
            \"anne@exemple.fr\",\"+33 6 12 34 56 78\",\"alerte-meteo | Informations pratiques\",\"sms\",\"Formulaire 12, mairie annexe\",\"Vue au marché, samedi\"\n\
            paul@exemple.fr,,\"Culture/Animations;infos-pratiques\",,,\n";
        let check = check(file.as_bytes());
        assert_eq!(check.errors, []);
        assert_eq!(check.valid.len(), 2);
        let (anne, paul) = (&check.valid[0], &check.valid[1]);
        assert_eq!(anne.line, 2);
        assert_eq!(anne.signup.phone.as_ref().unwrap().as_str(), "+33612345678");
        assert_eq!(
            choices_of(anne),
            ["alerte-meteo:sms", "infos-pratiques:sms"]
        );
        assert_eq!(anne.form_reference, "Formulaire 12, mairie annexe");
        assert_eq!(paul.line, 3);
        assert_eq!(
            choices_of(paul),
            ["culture-animations:email", "infos-pratiques:email"]
        );
        assert_eq!(paul.form_reference, "import CSV ligne 3");
    }

    #[test]
    fn each_bad_line_gives_one_error_and_good_lines_stay_valid() {
        let file = "email;telephone;themes;canaux\n\
            ok1@exemple.fr;;alerte-meteo;\n\
            pas-une-adresse;;alerte-meteo;\n\
            ;05 56 00 00 00;alerte-meteo;sms\n\
            ok2@exemple.fr;;inconnu;\n\
            ;;alerte-meteo;\n\
            \n\
            OK1@Exemple.fr;;infos-pratiques;\n\
            ;;;\n\
            ;07 81 23 45 67;alerte-meteo;\n";
        let check = check(file.as_bytes());
        assert_eq!(
            check.errors,
            [
                err(
                    3,
                    "email",
                    "L'adresse e-mail « pas-une-adresse » n'est pas valide (exemple : prenom.nom@exemple.fr)."
                ),
                err(
                    4,
                    "telephone",
                    "Le numéro « 05 56 00 00 00 » n'est pas un numéro de mobile : les SMS ne peuvent être envoyés qu'à un portable (06 ou 07)."
                ),
                err(
                    5,
                    "themes",
                    "Le thème « inconnu » n'existe pas ou n'est plus proposé (thèmes proposés : culture-animations, infos-pratiques, alerte-meteo)."
                ),
                err(
                    6,
                    "email",
                    "Indiquez une adresse e-mail ou un numéro de mobile (au moins l'un des deux)."
                ),
                err(8, "email", "Adresse déjà présente ligne 2 du fichier."),
            ]
        );
        let valid: Vec<usize> = check.valid.iter().map(|l| l.line).collect();
        assert_eq!(valid, [2, 10]);
        assert_eq!(choices_of(&check.valid[1]), ["alerte-meteo:sms"]);
    }

    #[test]
    fn a_repeated_phone_number_is_refused_in_any_format() {
        let file = "telephone;themes\n06 12 34 56 78;alerte-meteo\n+33\u{a0}6\u{a0}12\u{a0}34\u{a0}56\u{a0}78;infos-pratiques\n";
        let check = check(file.as_bytes());
        assert_eq!(check.valid.len(), 1);
        assert_eq!(
            check.errors,
            [err(
                3,
                "telephone",
                "Numéro déjà présent ligne 2 du fichier."
            )]
        );
    }

    #[test]
    fn channels_can_be_given_per_topic() {
        let file = "email;telephone;themes;canaux\n\
            a@exemple.fr;06 12 34 56 78;alerte-meteo | infos-pratiques;alerte-meteo:sms email\n\
            b@exemple.fr;;alerte-meteo;fax\n\
            c@exemple.fr;;alerte-meteo;infos-pratiques:email\n\
            d@exemple.fr;06 12 34 56 79;alerte-meteo | infos-pratiques;alerte-meteo:sms\n\
            e@exemple.fr;;alerte-meteo;sms\n";
        let check = check(file.as_bytes());
        assert_eq!(check.valid.len(), 1);
        assert_eq!(
            choices_of(&check.valid[0]),
            [
                "alerte-meteo:email",
                "alerte-meteo:sms",
                "infos-pratiques:email"
            ]
        );
        assert_eq!(
            check.errors,
            [
                err(
                    3,
                    "canaux",
                    "Canal inconnu : « fax ». Les canaux possibles sont « email » et « sms »."
                ),
                err(
                    4,
                    "canaux",
                    "« infos-pratiques:email » : le thème « Informations pratiques » n'est pas dans la colonne themes de cette ligne."
                ),
                err(
                    5,
                    "canaux",
                    "Aucun canal pour le thème « Informations pratiques » : ajoutez « infos-pratiques:email » ou « infos-pratiques:sms », ou un canal valable pour tous les thèmes."
                ),
                err(
                    6,
                    "canaux",
                    "Vous avez choisi SMS pour « Alerte météo » : indiquez aussi un numéro de mobile."
                ),
            ]
        );
    }

    #[test]
    fn broken_lines_are_reported_as_a_whole() {
        let file = "email;themes;canaux\n\
            a@exemple.fr,alerte-meteo\n\
            b@exemple.fr;alerte-meteo;email;en trop\n\
            c@exemple.fr;alerte-meteo;email;\n\
            \"d@exemple.fr;alerte-meteo;email\n\
            e@exemple.fr;alerte-meteo;email\n";
        let check = check(file.as_bytes());
        assert_eq!(check.valid.len(), 1);
        assert_eq!(check.valid[0].line, 4);
        assert_eq!(
            check.errors,
            [
                err(
                    2,
                    "ligne",
                    "Cette ligne a 1 cellule alors que l'en-tête a 3 colonnes : vérifiez le séparateur (« ; ») sur cette ligne."
                ),
                err(
                    3,
                    "ligne",
                    "Cette ligne a des valeurs au-delà de la dernière colonne de l'en-tête : une valeur contient peut-être le séparateur « ; » sans être entre guillemets."
                ),
                err(
                    5,
                    "ligne",
                    "Une cellule de cette ligne contient un retour à la ligne (ou un guillemet \" jamais refermé) : elle se poursuit jusqu'à la ligne 6. Corrigez cette cellule."
                ),
            ]
        );
    }

    #[test]
    fn lines_exported_as_unsubscribed_or_pending_are_refused() {
        let file = "statut;email;themes;reference\n\
            actif;a@exemple.fr;alerte-meteo;\n\
            désabonné;b@exemple.fr;alerte-meteo;\n\
            en attente;c@exemple.fr;alerte-meteo;\n\
            ;d@exemple.fr;alerte-meteo;";
        let check = check(file.as_bytes());
        let valid: Vec<usize> = check.valid.iter().map(|l| l.line).collect();
        assert_eq!(valid, [2, 5]);
        assert_eq!(
            check.errors,
            [
                err(
                    3,
                    "statut",
                    "Cette personne s'est désabonnée : l'importer la réabonnerait sans son accord. Retirez la ligne du fichier."
                ),
                err(
                    4,
                    "statut",
                    "Cette inscription n'a jamais été confirmée : l'importer l'abonnerait sans preuve de consentement. Retirez la ligne du fichier."
                ),
            ]
        );
    }

    #[test]
    fn several_errors_of_one_line_are_listed_in_column_order() {
        let file = "email,telephone,themes\nx,01,inconnu\n";
        let check = check(file.as_bytes());
        let fields: Vec<&str> = check.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "telephone", "themes"]);
        assert!(check.errors.iter().all(|e| e.line == 2));
    }

    #[test]
    fn unusable_files_are_refused_as_a_whole() {
        assert_eq!(refused(b""), err(1, "fichier", "Le fichier est vide."));
        assert_eq!(
            refused(b"\xEF\xBB\xBF\r\n  \r\n"),
            err(1, "fichier", "Le fichier est vide.")
        );
        assert_eq!(
            refused("email;telephone;canaux\na@exemple.fr;;email\n".as_bytes()),
            err(
                1,
                "themes",
                "Il manque la colonne « themes » (noms acceptés : themes, thèmes, topics, theme)."
            )
        );
        assert_eq!(
            refused("nom;themes\nDupont;alerte-meteo\n".as_bytes()),
            err(
                1,
                "email",
                "Il manque une colonne « email » ou « telephone » (au moins l'une des deux)."
            )
        );
        assert_eq!(
            refused("a@exemple.fr;alerte-meteo\n".as_bytes()).field,
            "fichier"
        );
        assert_eq!(
            refused("email;themes\r\n".as_bytes()),
            err(
                1,
                "fichier",
                "Le fichier ne contient que la ligne d'en-tête : aucun abonné à importer."
            )
        );
    }

    #[test]
    fn header_names_ignore_case_accents_spaces_dashes_and_underscores() {
        for (header, column) in [
            ("Adresse E-mail", Column::Email),
            ("COURRIEL", Column::Email),
            ("Télé_phone", Column::Telephone),
            ("Numéro", Column::Telephone),
            ("THÈMES", Column::Themes),
            ("Canal", Column::Canaux),
            ("Réf", Column::Reference),
        ] {
            assert_eq!(Column::from_header(header), Some(column), "{header}");
        }
        assert_eq!(Column::from_header("nom"), None);
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn subscriber(
        email: Option<&str>,
        phone: Option<&str>,
        choices: &[(&str, Channel)],
        source: ConsentSource,
    ) -> Subscriber {
        Subscriber {
            id: SubscriberId::new(),
            email: email.map(|e| Email::parse(e).unwrap()),
            phone: phone.map(|p| PhoneNumber::parse(p).unwrap()),
            choices: choices
                .iter()
                .map(|(topic, channel)| Choice {
                    topic: TopicSlug::parse(topic).unwrap(),
                    channel: *channel,
                })
                .collect(),
            state: SubscriberState::Active,
            language: "fr".into(),
            consent: Consent {
                source,
                at: at(2026, 7, 14, 10, 30),
                wording_version: CONSENT_WORDING_VERSION.into(),
            },
            // 10:30 UTC is 12:30 in Paris in summer, 08:05 UTC is 09:05 in winter.
            created_at: at(2026, 7, 14, 10, 30),
            updated_at: at(2026, 12, 1, 8, 5),
        }
    }

    fn paper(reference: &str) -> ConsentSource {
        ConsentSource::Paper {
            staff_id: "agent-1".into(),
            form_reference: reference.into(),
        }
    }

    #[test]
    fn export_then_import_gives_the_same_contacts_and_choices() {
        let topics = default_topics();
        let jean = subscriber(
            Some("jean@exemple.fr"),
            Some("06 12 34 56 78"),
            &[
                ("alerte-meteo", Channel::Sms),
                ("alerte-meteo", Channel::Email),
                ("infos-pratiques", Channel::Email),
            ],
            paper("F-12"),
        );
        let web = subscriber(
            None,
            Some("07 81 23 45 67"),
            &[("culture-animations", Channel::Sms)],
            ConsentSource::Web {
                ip: "192.0.2.1".into(),
                user_agent: "test".into(),
            },
        );
        let exported = export_csv(&[jean.clone(), web.clone()], &topics);

        assert!(exported.starts_with(UTF8_BOM));
        let text = std::str::from_utf8(&exported[UTF8_BOM.len()..]).unwrap();
        assert_eq!(
            text,
            format!(
                "id;email;telephone;statut;themes;canaux;source;reference;cree_le;modifie_le\r\n\
                 {};jean@exemple.fr;'+33612345678;actif;Informations pratiques | Alerte météo;\
                 infos-pratiques:email | alerte-meteo:email | alerte-meteo:sms;papier;F-12;\
                 2026-07-14 12:30;2026-12-01 09:05\r\n\
                 {};;'+33781234567;actif;Culture/Animations;culture-animations:sms;web;;\
                 2026-07-14 12:30;2026-12-01 09:05\r\n",
                jean.id, web.id
            )
        );

        let check = check_import(&exported, &topics).unwrap();
        assert_eq!(check.errors, []);
        assert_eq!(check.valid.len(), 2);
        for (line, original) in check.valid.iter().zip([&jean, &web]) {
            assert_eq!(line.signup.email, original.email);
            assert_eq!(line.signup.phone, original.phone);
            assert_eq!(line.signup.choices, original.choices);
        }
        assert_eq!(check.valid[0].form_reference, "F-12");
        assert_eq!(check.valid[1].form_reference, "import CSV ligne 3");
    }

    #[test]
    fn export_writes_french_statuses_and_neutralises_formulas() {
        let mut left = subscriber(
            Some("=1+1@exemple.fr"),
            None,
            &[],
            paper("=HYPERLINK(\"http://x\";\"clic\")"),
        );
        left.unsubscribe(left.updated_at);
        let exported = export_csv(&[left.clone()], &default_topics());
        let text = decode_text(&exported);
        let row = text.lines().nth(1).unwrap();
        assert_eq!(
            row,
            format!(
                "{};'=1+1@exemple.fr;;désabonné;;;papier;\"'=HYPERLINK(\"\"http://x\"\";\"\"clic\"\")\";2026-07-14 12:30;2026-12-01 09:05",
                left.id
            )
        );
        // Re-importing refuses the line for its status, and reads the cells without the prefix.
        let check = check_import(&exported, &default_topics()).unwrap();
        let fields: Vec<&str> = check.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["statut", "themes"]);
    }

    #[test]
    fn topic_names_containing_a_separator_still_match() {
        let mut topics = default_topics();
        topics[0].name = "Sport + Loisirs".into();
        let file = "email;themes\na@exemple.fr;Sport + Loisirs | alerte meteo\n";
        let check = check_import(file.as_bytes(), &topics).unwrap();
        assert_eq!(check.errors, []);
        assert_eq!(
            choices_of(&check.valid[0]),
            ["alerte-meteo:email", "culture-animations:email"]
        );
    }
}
