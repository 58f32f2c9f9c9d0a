//! Writing an export: the subscriber file as a CSV that French spreadsheets open correctly.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;
use csv::{Terminator, WriterBuilder};

use super::{FORMULA_STARTS, UTF8_BOM};
use crate::domain::contact::Channel;
use crate::domain::subscriber::{ConsentSource, Subscriber, SubscriberStatus};
use crate::domain::topic::{Topic, TopicSlug};

/// The export's columns, in order.
const EXPORT_HEADER: [&str; 11] = [
    "id",
    "email",
    "telephone",
    "statut",
    "themes",
    "inscriptions",
    "canaux",
    "source",
    "reference",
    "cree_le",
    "modifie_le",
];
/// The subscriber file as CSV for spreadsheets: UTF-8 with BOM, `;` separated, CRLF line ends.
///
/// `topics` gives the names written in `themes`; a topic missing from it is written by its
/// identifier. See the module documentation for the columns.
pub fn export_csv(subscribers: &[Subscriber], topics: &[Topic]) -> Vec<u8> {
    let mut csv = export_header();
    csv.extend(export_rows(subscribers, topics));
    csv
}

/// The export's beginning: the byte-order mark and the header line.
pub fn export_header() -> Vec<u8> {
    let mut writer = writer(UTF8_BOM.to_vec());
    writer
        .write_record(EXPORT_HEADER)
        .and_then(|()| writer.flush().map_err(csv::Error::from))
        .expect("writing to memory cannot fail");
    writer.into_inner().expect("flushed above")
}

/// Rows of the export without its header, to follow [`export_header`] or earlier rows.
pub fn export_rows(subscribers: &[Subscriber], topics: &[Topic]) -> Vec<u8> {
    let mut writer = writer(Vec::new());
    for subscriber in subscribers {
        let row = export_row(subscriber, topics);
        let cells: Vec<Cow<'_, str>> = row.iter().map(|cell| spreadsheet_safe(cell)).collect();
        writer
            .write_record(cells.iter().map(|cell| cell.as_bytes()))
            .expect("writing rows of a fixed width to memory cannot fail");
    }
    writer.flush().expect("writing to memory cannot fail");
    writer.into_inner().expect("flushed above")
}

fn writer(into: Vec<u8>) -> csv::Writer<Vec<u8>> {
    WriterBuilder::new()
        .delimiter(b';')
        .terminator(Terminator::CRLF)
        .from_writer(into)
}

/// The channels a subscriber chose for a topic, as a person reads them.
fn channel_names(s: &Subscriber, slug: &TopicSlug) -> String {
    let channels: Vec<&str> = s
        .channels_for(slug)
        .into_iter()
        .map(|channel| match channel {
            Channel::Email => "e-mail",
            Channel::Sms => "SMS",
            Channel::Voice => "appel vocal",
        })
        .collect();
    channels.join(", ")
}

/// Where the consent came from (`web`, `papier`, `import`) and the paper form's reference.
fn consent_source(source: &ConsentSource) -> (&'static str, String) {
    match source {
        ConsentSource::Web { .. } => ("web", String::new()),
        ConsentSource::Paper {
            form_reference,
            imported,
            ..
        } => (
            if *imported { "import" } else { "papier" },
            form_reference.clone(),
        ),
    }
}

fn export_row(s: &Subscriber, topics: &[Topic]) -> [String; 11] {
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

    let name = |slug: &TopicSlug| match position(slug) {
        Some(i) => topics[i].name.clone(),
        None => slug.to_string(),
    };
    let themes = slugs
        .iter()
        .map(|slug| name(slug))
        .collect::<Vec<_>>()
        .join(" | ");
    // What a person reads: « Informations pratiques : e-mail, SMS | Alerte météo : SMS ».
    let inscriptions = slugs
        .iter()
        .map(|slug| format!("{} : {}", name(slug), channel_names(s, slug)))
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
    let (source, reference) = consent_source(&s.consent.source);
    let status = match s.status() {
        SubscriberStatus::Pending => "en attente",
        SubscriberStatus::Active => "actif",
        SubscriberStatus::Unsubscribed => "désabonné",
    };
    [
        s.id.to_string(),
        s.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        s.phone.as_ref().map(|p| p.national()).unwrap_or_default(),
        status.to_owned(),
        themes,
        inscriptions,
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
