//! Checking an import: a spreadsheet file into validated sign-ups, every refused line named.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use csv::{ReaderBuilder, StringRecord, Trim};

use super::{decode_text, FORMULA_STARTS};
use crate::domain::contact::{Channel, ChannelError, Email, PhoneNumber};
use crate::domain::file_job::LineError;
use crate::domain::signup::{Signup, SignupErrors, SignupInput, SubscriptionInput};
use crate::domain::topic::{Topic, TopicSlug};
use crate::error::FieldErrors;

/// Longest accepted paper-form reference, in characters.
const MAX_REFERENCE_CHARS: usize = 100;
/// For a line the CSV reader itself fails on.
const UNREADABLE: &str =
    "Cette ligne n'a pas pu être lue : enregistrez le fichier au format CSV depuis le tableur.";
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
    let (check, lines, header_number) =
        check_text(&text, open_topics, 0, &mut SeenContacts::default())?;
    if lines == 0 {
        return Err(only_header(header_number));
    }
    Ok(check)
}

/// The error of a file that has nothing after its header.
pub fn only_header(line: usize) -> LineError {
    LineError::new(
        line,
        "fichier",
        "Le fichier ne contient que la ligne d'en-tête : aucun abonné à importer.",
    )
}

/// One part of a big file, checked on its own: the file's header line, then whole lines.
pub struct ImportPart<'a> {
    /// The file's header line (see [`header_line`]).
    pub header: &'a str,
    /// The part's bytes, as read from the file (whole records, see [`whole_records`]).
    pub bytes: &'a [u8],
    /// Physical lines of the file before the part.
    pub lines_before: usize,
}

/// Checks one part of a big file (after the first, which [`check_first_part`] checks); the
/// contacts of earlier parts are in `seen`, so a person twice in the file is refused wherever.
pub fn check_part(
    part: &ImportPart<'_>,
    open_topics: &[Topic],
    seen: &mut SeenContacts,
) -> Result<ImportCheck, LineError> {
    let text = format!("{}\n{}", part.header, decode_text(part.bytes));
    // The header is line 1 of `text`; the part's first line is the file's `lines_before + 1`.
    let offset = part.lines_before.saturating_sub(1);
    check_text(&text, open_topics, offset, seen).map(|(check, _, _)| check)
}

/// Checks the first part of a big file, header included, and gives the header for the others.
pub fn check_first_part(
    bytes: &[u8],
    open_topics: &[Topic],
    seen: &mut SeenContacts,
) -> Result<(ImportCheck, String), LineError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(LineError::new(
            1,
            "fichier",
            "Ce fichier est en Unicode UTF-16 : enregistrez-le au format « CSV UTF-8 » depuis le tableur.",
        ));
    }
    let text = decode_text(bytes);
    let (check, _, _) = check_text(&text, open_topics, 0, seen)?;
    let header = header_line(&text).unwrap_or_default().to_owned();
    Ok((check, header))
}

/// The header line of a decoded file: its first line that is not blank.
pub fn header_line(text: &str) -> Option<&str> {
    text.lines().find(|l| !l.trim().is_empty())
}

/// The column separator a header line uses: `;` (French spreadsheets) or `,`.
pub fn separator_of(header: &str) -> u8 {
    if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    }
}

/// How many leading bytes of `window` are whole records: where the next part starts. At the
/// file's end every record is whole; before it, the last record may be cut off (even inside a
/// quoted cell) and is left to the next part. Never splits a CRLF.
pub fn whole_records(window: &[u8], separator: u8, at_end: bool) -> usize {
    if at_end {
        return window.len();
    }
    let mut reader = ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .from_reader(window);
    let mut last_start = 0;
    let mut record = csv::ByteRecord::new();
    loop {
        let start = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(true) => last_start = usize::try_from(start).unwrap_or(window.len()),
            // Bytes are never invalid to a byte reader; a failure ends the whole part here.
            Ok(false) | Err(_) => break,
        }
    }
    let mut cut = last_start.min(window.len());
    if cut > 0 && window[cut - 1] == b'\r' && window.get(cut) == Some(&b'\n') {
        cut += 1;
    }
    cut
}

/// Physical lines ended in `bytes`: `\r\n`, `\n` and a lone `\r` each end one.
pub fn line_ends(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .enumerate()
        .filter(|(i, b)| **b == b'\n' || (**b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

/// Checks decoded text whose first non-blank line is the header; line numbers are shifted by
/// `offset`. Gives the check, the lines met and the header's line number.
fn check_text(
    text: &str,
    open_topics: &[Topic],
    offset: usize,
    seen: &mut SeenContacts,
) -> Result<(ImportCheck, usize, usize), LineError> {
    let Some(header_line) = header_line(text) else {
        return Err(LineError::new(1, "fichier", "Le fichier est vide."));
    };
    let separator = separator_of(header_line);
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
    let numbers = LineNumbers::new(text);

    let header = match records.next() {
        None => return Err(LineError::new(1, "fichier", "Le fichier est vide.")),
        Some(Err(_)) => return Err(LineError::new(1, "fichier", UNREADABLE)),
        Some(Ok(header)) => header,
    };
    let header_number = numbers.of(header.position(), text) + offset;
    let layout = Layout::from_header(&header, separator);
    check_layout(&layout, header_number)?;

    let topics = TopicIndex::new(open_topics);
    let mut check = ImportCheck::default();
    let mut lines = 0;
    for record in records {
        lines += 1;
        // The text is valid UTF-8 and lines may differ in length, so the reader has nothing
        // left to fail on; should it still, the line is reported rather than dropped.
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = numbers.of(e.position(), text) + offset;
                check.errors.push(LineError::new(line, "ligne", UNREADABLE));
                continue;
            }
        };
        let line = numbers.of(record.position(), text) + offset;
        match check_line(&record, line, &layout, &topics, seen) {
            Ok(valid) => check.valid.push(valid),
            Err(errors) => check.errors.extend(errors),
        }
    }
    Ok((check, lines, header_number))
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

/// Contacts of earlier lines, to refuse the same person twice in one file: a fingerprint of
/// each address and number (a big file's parts are checked one by one, and the memory of what
/// they met is kept between them, 12 bytes a contact) and the line it was met on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeenContacts {
    emails: HashMap<u64, u32>,
    phones: HashMap<u64, u32>,
}

impl SeenContacts {
    /// The contacts as bytes, to keep between the parts of a big file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 12 * (self.emails.len() + self.phones.len()));
        for map in [&self.emails, &self.phones] {
            out.extend_from_slice(&u32::try_from(map.len()).unwrap_or(u32::MAX).to_le_bytes());
            for (key, line) in map {
                out.extend_from_slice(&key.to_le_bytes());
                out.extend_from_slice(&line.to_le_bytes());
            }
        }
        out
    }

    /// Reads back [`SeenContacts::to_bytes`]; `None` when the bytes are not such a memory.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut rest = bytes;
        let mut take = |n: usize| -> Option<&[u8]> {
            let (head, tail) = rest.split_at_checked(n)?;
            rest = tail;
            Some(head)
        };
        let mut maps = [HashMap::new(), HashMap::new()];
        for map in &mut maps {
            let count = u32::from_le_bytes(take(4)?.try_into().ok()?);
            for _ in 0..count {
                let key = u64::from_le_bytes(take(8)?.try_into().ok()?);
                let line = u32::from_le_bytes(take(4)?.try_into().ok()?);
                map.insert(key, line);
            }
        }
        let [emails, phones] = maps;
        rest.is_empty().then_some(Self { emails, phones })
    }
}

/// A contact's fingerprint: the first 8 bytes of its SHA-256 (two of a million contacts share
/// one with a chance of about 3 in 10^8).
fn fingerprint(kind: &str, contact: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(kind)
        .chain_update(contact)
        .finalize();
    let mut first = [0; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
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
        zones: Vec::new(),
    };
    let signup = Signup::parse(&input, topics.all, false);
    if let Err(refused) = &signup {
        blame_columns(refused, layout, no_contact, &mut errors);
    }
    check_duplicates(email, &phone, line, seen, &mut errors);
    let reference = layout.cell(record, Column::Reference);
    check_reference(reference, &mut errors);

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

/// Files the sign-up's errors under the columns staff must correct.
fn blame_columns(
    refused: &SignupErrors,
    layout: &Layout,
    no_contact: bool,
    errors: &mut FieldErrors,
) {
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
            "subscriptions" if refused.choices.is_some_and(|p| p.is_about_channels()) => "canaux",
            "subscriptions" => "themes",
            other => other,
        };
        errors.add(column, message);
    }
}

/// Refuses a paper-form reference too long to be one.
fn check_reference(reference: &str, errors: &mut FieldErrors) {
    if reference.chars().count() > MAX_REFERENCE_CHARS {
        errors.add(
            "reference",
            format!(
                "La référence du formulaire est trop longue ({MAX_REFERENCE_CHARS} caractères au plus)."
            ),
        );
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
    let themes = themes_cell(layout.cell(record, Column::Themes), topics, &separators)?;
    let mut channels = channels_cell(
        layout.cell(record, Column::Canaux),
        topics,
        &themes,
        &separators,
    )?;
    let any_token = !channels.common.is_empty() || !channels.per_topic.is_empty();
    if !any_token {
        // No channel given: everything the line can be reached by, as the paper form implies.
        if has_email {
            channels.common.insert(Channel::Email);
        }
        if has_phone {
            channels.common.insert(Channel::Sms);
        }
    }

    let mut inputs = Vec::with_capacity(themes.len());
    for (slug, topic) in themes {
        let mut chosen = channels.common.clone();
        chosen.extend(channels.per_topic.remove(slug).unwrap_or_default());
        if chosen.is_empty() && any_token {
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
            channels: chosen.iter().map(|c| c.as_str().to_owned()).collect(),
        });
    }
    Ok(inputs)
}

/// The topics named in the `themes` cell; every one must be offered and at least one given.
fn themes_cell<'t>(
    cell: &str,
    topics: &TopicIndex<'t>,
    separators: &[char],
) -> Result<BTreeMap<&'t TopicSlug, &'t Topic>, (Column, String)> {
    let (themes, unknown) = topics.resolve_list(cell, separators);
    let message = match unknown.as_slice() {
        [] if themes.is_empty() => format!(
            "Indiquez au moins un thème (thèmes proposés : {}).",
            topics.slugs()
        ),
        [] => return Ok(themes.into_iter().map(|t| (&t.slug, t)).collect()),
        [one] => format!(
            "Le thème « {one} » n'existe pas ou n'est plus proposé (thèmes proposés : {}).",
            topics.slugs()
        ),
        many => format!(
            "Les thèmes {} n'existent pas ou ne sont plus proposés (thèmes proposés : {}).",
            many.iter()
                .map(|t| format!("« {t} »"))
                .collect::<Vec<_>>()
                .join(", "),
            topics.slugs()
        ),
    };
    Err((Column::Themes, message))
}

/// The `canaux` cell read: channels for every topic of the line, and `topic:channel` pairs.
#[derive(Default)]
struct ChannelsCell<'t> {
    common: BTreeSet<Channel>,
    per_topic: BTreeMap<&'t TopicSlug, BTreeSet<Channel>>,
}

/// Reads the `canaux` cell; a `topic:channel` pair must name one of the line's `themes`.
fn channels_cell<'t>(
    cell: &str,
    topics: &TopicIndex<'t>,
    themes: &BTreeMap<&'t TopicSlug, &'t Topic>,
    separators: &[char],
) -> Result<ChannelsCell<'t>, (Column, String)> {
    let canaux_error = |message: String| (Column::Canaux, message);
    let bad_channel = |e: ChannelError| canaux_error(e.to_string());
    let mut read = ChannelsCell::default();
    let tokens = cell
        .split(|c: char| c.is_whitespace() || separators.contains(&c))
        .filter(|t| !t.is_empty());
    for token in tokens {
        let Some((topic, channel)) = token.rsplit_once(':') else {
            read.common
                .insert(token.parse::<Channel>().map_err(bad_channel)?);
            continue;
        };
        let channel = channel.parse::<Channel>().map_err(bad_channel)?;
        let Some(topic) = topics.find(topic) else {
            return Err(canaux_error(format!(
                "Thème inconnu dans « {token} » : écrivez « thème:canal » avec l'identifiant d'un thème proposé ({}).",
                topics.slugs()
            )));
        };
        if !themes.contains_key(&topic.slug) {
            return Err(canaux_error(format!(
                "« {token} » : le thème « {} » n'est pas dans la colonne themes de cette ligne.",
                topic.name
            )));
        }
        read.per_topic
            .entry(&topic.slug)
            .or_default()
            .insert(channel);
    }
    Ok(read)
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
    let line = u32::try_from(line).unwrap_or(u32::MAX);
    if let Ok(email) = Email::from_str(email) {
        let key = fingerprint("email:", &email.as_str().to_lowercase());
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
    if let Ok(phone) = PhoneNumber::from_str(phone) {
        let key = fingerprint("phone:", phone.as_str());
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
