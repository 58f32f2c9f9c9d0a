//! What the town's website shows of Télmail: the public archive of sent messages
//! (`/messages`), its Atom feeds, the agenda (`/evenements.ics`), the weather alert in force and
//! the latest message of a topic as JSON any site may read, and the two scripts a webmaster
//! embeds. Every answer is public, cacheable (`ETag`, `Cache-Control` a CDN honours) and built
//! from the archive alone: nothing here reads a subscriber.

use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Europe::Paris;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use telmail_core::domain::archive::{ArchiveCursor, ArchivedMessage, PublicAlert};
use telmail_core::domain::campaign::{CampaignId, CampaignKind};
use telmail_core::domain::topic::{Topic, TopicSlug};
use telmail_core::use_cases::archive::Archive;
use telmail_core::DomainError;

use crate::error::ApiError;
use crate::render::{Pages, Tone};
use crate::HttpConfig;

/// Messages per archive page and per feed.
const PAGE: usize = 20;
/// How long browsers and CDNs keep the archive, feeds and agenda (seconds).
const ARCHIVE_MAX_AGE: u32 = 300;
/// How long the alert and latest message may be kept (seconds): an alert shows within a minute.
const ALERT_MAX_AGE: u32 = 60;
/// How long the embeddable scripts may be kept (seconds).
const SCRIPT_MAX_AGE: u32 = 3600;

const ALERT_WIDGET: &str = include_str!("../static/widget/alerte.js");
const MESSAGES_WIDGET: &str = include_str!("../static/widget/messages.js");

/// What the website's handlers share.
#[derive(Clone)]
struct Site {
    archive: Arc<Archive>,
    pages: Arc<Pages>,
}

/// Every path the website serves (for the OpenAPI check).
pub const PATHS: [&str; 9] = [
    "/messages",
    "/messages.atom",
    "/messages/{key}",
    "/messages/{key}/email",
    "/evenements.ics",
    "/api/public/alert",
    "/api/public/latest",
    "/widget/alerte.js",
    "/widget/messages.js",
];

/// The website's routes, with the security headers of resident pages (framing as
/// `config.frame_ancestors` allows).
pub fn router(archive: Arc<Archive>, config: &HttpConfig) -> Router {
    let accessibility = config.legal.clone().map_or_else(
        || crate::legal::LegalNotice::for_town(archive.town(), "", "").accessibility_status,
        |l| l.accessibility_status,
    );
    let pages = Arc::new(Pages::new(archive.town(), &accessibility));
    let site = Site { archive, pages };
    Router::new()
        .route("/messages", get(archive_page))
        .route("/messages.atom", get(feed_all))
        .route("/messages/{key}", get(message_or_topic_feed))
        .route("/messages/{key}/email", get(email_as_sent))
        .route("/evenements.ics", get(agenda))
        .route("/api/public/alert", get(alert))
        .route("/api/public/latest", get(latest))
        .route("/widget/alerte.js", get(|h| script(h, ALERT_WIDGET)))
        .route("/widget/messages.js", get(|h| script(h, MESSAGES_WIDGET)))
        .with_state(site)
        .layer(middleware::from_fn_with_state(
            crate::FramePolicy::new(&config.frame_ancestors),
            crate::framed_security_headers,
        ))
}

/// A cacheable answer: `ETag` from the body, `304` when the client holds it already.
fn cached(
    request: &HeaderMap,
    content_type: &'static str,
    body: impl Into<Vec<u8>>,
    max_age: u32,
) -> Response {
    let body = body.into();
    let digest = Sha256::digest(&body);
    let mut tag = String::from("\"");
    for b in &digest[..16] {
        let _ = write!(tag, "{b:02x}");
    }
    tag.push('"');
    let cache = format!("public, max-age={max_age}, s-maxage={max_age}");
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut resp = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cache) {
        h.insert(header::CACHE_CONTROL, v);
    }
    resp
}

/// A page that could not be built: the error page, never cached.
fn failed(pages: &Pages, e: DomainError) -> Response {
    pages.error(e)
}

fn not_found(pages: &Pages) -> Response {
    pages.message(
        StatusCode::NOT_FOUND,
        Tone::Error,
        "Message introuvable",
        &["Ce message n'existe pas ou n'est plus publié."],
        Some(crate::render::Link {
            href: "/messages".into(),
            label: "Voir tous les messages".into(),
        }),
    )
}

/// A page the address's parameter names does not exist: any text is a well-formed parameter
/// (the archive's pages are addresses people share and type), so an unknown one is a 404.
fn no_such(pages: &Pages, text: &str) -> Response {
    pages.message(
        StatusCode::NOT_FOUND,
        Tone::Error,
        "Page introuvable",
        &[text],
        Some(crate::render::Link {
            href: "/messages".into(),
            label: "Voir tous les messages".into(),
        }),
    )
}

/// `12 décembre 2026 à 9 h 30`, the town's time.
fn french_date_time(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Paris);
    format!(
        "{} à {}",
        french_date(local.date_naive()),
        local.format("%H h %M")
    )
}

/// `12 décembre 2026`.
fn french_date(day: NaiveDate) -> String {
    format!("{} {}", telmail_core::clock::day_and_month(day), day.year())
}

fn topic_names(message: &ArchivedMessage, topics: &[Topic]) -> Vec<String> {
    message
        .topics
        .iter()
        .map(|slug| {
            topics
                .iter()
                .find(|t| &t.slug == slug)
                .map_or_else(|| slug.to_string(), |t| t.name.clone())
        })
        .collect()
}

/// `Vigilance orange vent violent`, for a weather message.
fn alert_heading(message: &ArchivedMessage) -> Option<String> {
    let source = message.alert.as_ref()?;
    Some(match message.kind {
        CampaignKind::WeatherAlertEnd => format!("Fin de vigilance {}", source.phenomenon.label()),
        _ => format!(
            "Vigilance {} {}",
            source.colour.label(),
            source.phenomenon.label()
        ),
    })
}

/// `?theme=&apres=`
#[derive(Debug, Deserialize)]
struct ArchiveQuery {
    #[serde(default)]
    theme: Option<String>,
    #[serde(default)]
    apres: Option<String>,
}

/// The topic a `theme` names, if it is one.
async fn known_topic(archive: &Archive, raw: &str) -> Result<Option<Topic>, DomainError> {
    let Ok(slug) = TopicSlug::from_str(raw) else {
        return Ok(None);
    };
    Ok(archive.topics().await?.into_iter().find(|t| t.slug == slug))
}

/// `GET /messages`
async fn archive_page(
    State(site): State<Site>,
    headers: HeaderMap,
    query: Result<Query<ArchiveQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return no_such(&site.pages, "Les paramètres de l'adresse sont illisibles.");
    };
    let (topic, after) = match archive_filters(&site.archive, &q).await {
        Ok(filters) => filters,
        Err(Refusal::NoSuch(text)) => return no_such(&site.pages, text),
        Err(Refusal::Failed(e)) => return failed(&site.pages, e),
    };
    let slug = topic.as_ref().map(|t| t.slug.clone());
    let (page, topics) = match tokio::try_join!(
        site.archive.page(slug.as_ref(), after, PAGE),
        site.archive.topics()
    ) {
        Ok(both) => both,
        Err(e) => return failed(&site.pages, e),
    };
    let base = site.archive.public_url();
    let next = page.next.map(|c| next_page_link(slug.as_ref(), c));
    let messages: Vec<_> = page
        .messages
        .iter()
        .map(|m| archive_entry(m, &topics))
        .collect();
    let (title, feed_url, canonical) = archive_addresses(topic.as_ref(), base);
    let description = format!(
        "Les messages envoyés par la Ville d'{} à ses habitants inscrits, par SMS et par e-mail.",
        site.archive.town()
    );
    let listed: Vec<_> = topics
        .iter()
        .filter(|t| t.active)
        .map(|t| context! { slug => t.slug.to_string(), name => t.name })
        .collect();
    let html = site.pages.render_text(
        "archive.html",
        &title,
        context! {
            messages => messages,
            topics => listed,
            topic => slug.map(|s| s.to_string()),
            next => next,
            feed_url => feed_url,
            feed_title => format!("{title} (Atom)"),
            canonical => canonical,
            description => description,
        },
    );
    match html {
        Ok(html) => cached(&headers, "text/html; charset=utf-8", html, ARCHIVE_MAX_AGE),
        Err(e) => failed(&site.pages, DomainError::Unexpected(e.to_string())),
    }
}

/// Why the archive's query names no page.
enum Refusal {
    /// A value names nothing: the French sentence of the 404 page.
    NoSuch(&'static str),
    /// The archive could not be read.
    Failed(DomainError),
}

/// The archive's filters from its query: the topic (`theme`) and the page (`apres`).
async fn archive_filters(
    archive: &Archive,
    q: &ArchiveQuery,
) -> Result<(Option<Topic>, Option<ArchiveCursor>), Refusal> {
    let topic = match q.theme.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(raw) => match known_topic(archive, raw).await {
            Ok(Some(t)) => Some(t),
            Ok(None) => {
                return Err(Refusal::NoSuch(
                    "Le paramètre « theme » ne désigne aucun thème de la Ville.",
                ))
            }
            Err(e) => return Err(Refusal::Failed(e)),
        },
    };
    let after = match q.apres.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(raw) => match ArchiveCursor::from_str(raw) {
            Ok(c) => Some(c),
            Err(_) => {
                return Err(Refusal::NoSuch(
                    "Le paramètre « apres » ne désigne aucune page des archives.",
                ))
            }
        },
    };
    Ok((topic, after))
}

/// The address of the archive's next page, in the same topic.
fn next_page_link(slug: Option<&TopicSlug>, after: ArchiveCursor) -> String {
    let theme = slug.map(|s| format!("theme={s}&"));
    format!(
        "/messages?{}apres={}",
        theme.unwrap_or_default(),
        form_urlencoded::byte_serialize(after.to_string().as_bytes()).collect::<String>()
    )
}

/// One message of the archive's list.
fn archive_entry(m: &ArchivedMessage, topics: &[Topic]) -> minijinja::Value {
    context! {
        title => m.title,
        path => m.path(),
        sent_at => m.sent_at.to_rfc3339(),
        date => french_date_time(m.sent_at),
        topics => topic_names(m, topics),
        alert => alert_heading(m),
        summary => m.summary(),
    }
}

/// The archive's title, Atom feed and canonical address, for one topic or for all.
fn archive_addresses(topic: Option<&Topic>, base: &str) -> (String, String, String) {
    match topic {
        Some(t) => (
            format!("Messages : {}", t.name),
            format!("{base}/messages/{}.atom", t.slug),
            format!("{base}/messages?theme={}", t.slug),
        ),
        None => (
            "Messages de la Ville".to_owned(),
            format!("{base}/messages.atom"),
            format!("{base}/messages"),
        ),
    }
}

/// The message a `{id}-{slug}` key names, and whether the key is its canonical one.
async fn keyed_message(
    archive: &Archive,
    key: &str,
) -> Result<Option<(ArchivedMessage, bool)>, DomainError> {
    let Some(id) = key.get(..36).and_then(|s| CampaignId::from_str(s).ok()) else {
        return Ok(None);
    };
    let Some(message) = archive.message(id).await? else {
        return Ok(None);
    };
    let canonical = key[36..] == format!("-{}", message.slug());
    Ok(Some((message, canonical)))
}

/// `GET /messages/{key}`: a message's page (`{id}-{slug}`), or a topic's feed (`{topic}.atom`).
async fn message_or_topic_feed(
    State(site): State<Site>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    if let Some(topic) = key.strip_suffix(".atom") {
        return match known_topic(&site.archive, topic).await {
            Ok(Some(t)) => feed(&site, &headers, Some(t)).await,
            Ok(None) => not_found(&site.pages),
            Err(e) => failed(&site.pages, e),
        };
    }
    let (message, canonical) = match keyed_message(&site.archive, &key).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&site.pages),
        Err(e) => return failed(&site.pages, e),
    };
    if !canonical {
        return Redirect::permanent(&message.path()).into_response();
    }
    let topics = match site.archive.topics().await {
        Ok(t) => t,
        Err(e) => return failed(&site.pages, e),
    };
    let base = site.archive.public_url();
    let alert = message.alert.as_ref().map(|a| {
        context! {
            heading => alert_heading(&message),
            begins => french_date_time(a.begins),
            ends => french_date_time(a.ends),
        }
    });
    let sms: Option<Vec<&str>> = message.sms.as_deref().map(|s| s.lines().collect());
    let description: String = message.summary().chars().take(200).collect();
    let html = site.pages.render_text(
        "archive_message.html",
        &message.title,
        context! {
            canonical => format!("{base}{}", message.path()),
            description => description,
            sent_at => message.sent_at.to_rfc3339(),
            date => french_date_time(message.sent_at),
            topics => topic_names(&message, &topics),
            alert => alert,
            event_date => message.event_date.map(french_date),
            event_iso => message.event_date.map(|d| d.to_string()),
            sms => sms,
            subject => message.email.as_ref().map(|e| e.subject.clone()),
            body_html => site.archive.body_html(&message),
            email_path => message.email.as_ref().map(|_| format!("{}/email", message.path())),
        },
    );
    match html {
        Ok(html) => cached(&headers, "text/html; charset=utf-8", html, ARCHIVE_MAX_AGE),
        Err(e) => failed(&site.pages, DomainError::Unexpected(e.to_string())),
    }
}

/// `GET /messages/{key}/email`: the email as every recipient saw it, in the town's layout
/// (whose inline styles this page alone allows), without anyone's link.
async fn email_as_sent(
    State(site): State<Site>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    let message = match keyed_message(&site.archive, &key).await {
        Ok(Some((m, _))) => m,
        Ok(None) => return not_found(&site.pages),
        Err(e) => return failed(&site.pages, e),
    };
    let html = match site.archive.email_html(&message) {
        Ok(Some(html)) => html,
        Ok(None) => return not_found(&site.pages),
        Err(e) => return failed(&site.pages, e),
    };
    let mut resp = cached(&headers, "text/html; charset=utf-8", html, ARCHIVE_MAX_AGE);
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    resp
}

/// Escapes text for XML.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// `GET /messages.atom`
async fn feed_all(State(site): State<Site>, headers: HeaderMap) -> Response {
    feed(&site, &headers, None).await
}

/// The Atom feed of the archive, or of one topic.
async fn feed(site: &Site, headers: &HeaderMap, topic: Option<Topic>) -> Response {
    let slug = topic.as_ref().map(|t| t.slug.clone());
    let (page, topics) = match tokio::try_join!(
        site.archive.page(slug.as_ref(), None, PAGE),
        site.archive.topics()
    ) {
        Ok(both) => both,
        Err(e) => return failed(&site.pages, e),
    };
    let base = site.archive.public_url();
    let town = site.archive.town();
    let (title, self_url, html_url) = match &topic {
        Some(t) => (
            format!("Ville d'{town} — {}", t.name),
            format!("{base}/messages/{}.atom", t.slug),
            format!("{base}/messages?theme={}", t.slug),
        ),
        None => (
            format!("Ville d'{town} — messages aux habitants"),
            format!("{base}/messages.atom"),
            format!("{base}/messages"),
        ),
    };
    let updated = page
        .messages
        .first()
        .map_or(DateTime::<Utc>::UNIX_EPOCH, |m| m.sent_at);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"fr\">\n");
    let _ = writeln!(out, "<id>{}</id>", xml(&self_url));
    let _ = writeln!(out, "<title>{}</title>", xml(&title));
    let _ = writeln!(out, "<updated>{}</updated>", updated.to_rfc3339());
    let _ = writeln!(
        out,
        "<author><name>Ville d'{}</name><uri>{}</uri></author>",
        xml(town),
        xml(base)
    );
    let _ = writeln!(
        out,
        "<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>",
        xml(&self_url)
    );
    let _ = writeln!(
        out,
        "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
        xml(&html_url)
    );
    for m in &page.messages {
        write_entry(&mut out, site, m, &topics, base);
    }
    out.push_str("</feed>\n");
    cached(
        headers,
        "application/atom+xml; charset=utf-8",
        out,
        ARCHIVE_MAX_AGE,
    )
}

/// One message as an Atom entry: its alert heading, SMS text and email body as HTML content.
fn write_entry(out: &mut String, site: &Site, m: &ArchivedMessage, topics: &[Topic], base: &str) {
    let url = format!("{base}{}", m.path());
    let mut content = String::new();
    if let Some(heading) = alert_heading(m) {
        let _ = write!(content, "<p><strong>{}</strong></p>", xml(&heading));
    }
    if let Some(sms) = &m.sms {
        let _ = write!(content, "<p>SMS : {}</p>", xml(sms));
    }
    if let Some(body) = site.archive.body_html(m) {
        content.push_str(&body);
    }
    out.push_str("<entry>\n");
    let _ = writeln!(out, "<id>urn:uuid:{}</id>", m.id);
    let _ = writeln!(out, "<title>{}</title>", xml(&m.title));
    let _ = writeln!(out, "<updated>{}</updated>", m.sent_at.to_rfc3339());
    let _ = writeln!(out, "<published>{}</published>", m.sent_at.to_rfc3339());
    let _ = writeln!(
        out,
        "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
        xml(&url)
    );
    for (slug, name) in m.topics.iter().zip(topic_names(m, topics)) {
        let _ = writeln!(
            out,
            "<category term=\"{}\" label=\"{}\"/>",
            xml(slug.as_str()),
            xml(&name)
        );
    }
    let _ = writeln!(out, "<summary>{}</summary>", xml(&m.summary()));
    let _ = writeln!(out, "<content type=\"html\">{}</content>", xml(&content));
    out.push_str("</entry>\n");
}

/// Escapes text for an iCalendar value (RFC 5545 §3.3.11).
fn ics_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line folded at 75 octets, never inside a character (RFC 5545 §3.1).
fn ics_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// `GET /evenements.ics`: the published messages that announce an event, one all-day event each.
async fn agenda(State(site): State<Site>, headers: HeaderMap) -> Response {
    let events = match site.archive.agenda().await {
        Ok(e) => e,
        Err(e) => return failed(&site.pages, e),
    };
    let base = site.archive.public_url();
    let host = base
        .split("://")
        .nth(1)
        .unwrap_or(base)
        .split('/')
        .next()
        .unwrap_or("telmail");
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Telmail//Agenda de la Ville//FR",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        ics_line(&mut out, line);
    }
    ics_line(
        &mut out,
        &format!(
            "X-WR-CALNAME:{}",
            ics_text(&format!("Ville d'{}", site.archive.town()))
        ),
    );
    ics_line(&mut out, "X-WR-TIMEZONE:Europe/Paris");
    for m in &events {
        if let Some(day) = m.event_date {
            write_event(&mut out, m, day, host, base);
        }
    }
    ics_line(&mut out, "END:VCALENDAR");
    cached(
        &headers,
        "text/calendar; charset=utf-8",
        out,
        ARCHIVE_MAX_AGE,
    )
}

/// One dated message as an all-day iCalendar event on `day`.
fn write_event(out: &mut String, m: &ArchivedMessage, day: NaiveDate, host: &str, base: &str) {
    let next = day.succ_opt().unwrap_or(day);
    ics_line(out, "BEGIN:VEVENT");
    ics_line(out, &format!("UID:{}@{}", m.id, host));
    ics_line(
        out,
        &format!("DTSTAMP:{}", m.sent_at.format("%Y%m%dT%H%M%SZ")),
    );
    ics_line(out, &format!("DTSTART;VALUE=DATE:{}", day.format("%Y%m%d")));
    ics_line(out, &format!("DTEND;VALUE=DATE:{}", next.format("%Y%m%d")));
    ics_line(out, &format!("SUMMARY:{}", ics_text(&m.title)));
    ics_line(out, &format!("DESCRIPTION:{}", ics_text(&m.summary())));
    ics_line(out, &format!("URL:{base}{}", m.path()));
    ics_line(out, "END:VEVENT");
}

/// The alert as `GET /api/public/alert` gives it.
#[derive(Debug, Serialize)]
struct AlertView {
    /// `jaune`, `orange` or `rouge`.
    colour: &'static str,
    /// Météo-France's French name (`vent violent`).
    phenomenon: &'static str,
    begins: DateTime<Utc>,
    ends: DateTime<Utc>,
    text: String,
    /// The archive page's absolute address.
    url: String,
}

impl AlertView {
    fn of(a: &PublicAlert, base: &str) -> Self {
        Self {
            colour: a.colour.label(),
            phenomenon: a.phenomenon.label(),
            begins: a.begins,
            ends: a.ends,
            text: a.text.clone(),
            url: format!("{base}{}", a.path),
        }
    }
}

/// A public JSON answer any site may read, cached `max_age` seconds.
fn public_json(headers: &HeaderMap, value: &impl Serialize, max_age: u32) -> Response {
    let body = match serde_json::to_vec(value) {
        Ok(b) => b,
        Err(e) => {
            return ApiError::from(DomainError::Unexpected(format!("encoding: {e}")))
                .into_response()
        }
    };
    let mut resp = cached(headers, "application/json", body, max_age);
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

/// `GET /api/public/alert`: `{ "alert": null | {…} }`, one key lookup.
async fn alert(State(site): State<Site>, headers: HeaderMap) -> Response {
    match site.archive.alert_in_force().await {
        Ok(alert) => {
            let view = alert.map(|a| AlertView::of(&a, site.archive.public_url()));
            public_json(
                &headers,
                &serde_json::json!({ "alert": view }),
                ALERT_MAX_AGE,
            )
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `?topic=`
#[derive(Debug, Deserialize)]
struct LatestQuery {
    #[serde(default)]
    topic: Option<String>,
}

/// `GET /api/public/latest?topic=`: `{ "message": null | { "title", "summary", "sent_at",
/// "topics", "url" } }`, the newest published message (of a topic).
async fn latest(
    State(site): State<Site>,
    headers: HeaderMap,
    query: Result<Query<LatestQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let topic = match query.map(|Query(q)| q.topic) {
        Ok(None) => None,
        Ok(Some(raw)) => match known_topic(&site.archive, &raw).await {
            Ok(Some(t)) => Some(t.slug),
            Ok(None) => {
                return ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "Le paramètre « topic » ne désigne aucun thème de la Ville.",
                )
                .into_response()
            }
            Err(e) => return ApiError::from(e).into_response(),
        },
        Err(_) => {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Le paramètre « topic » est illisible.",
            )
            .into_response()
        }
    };
    let (page, topics) = match tokio::try_join!(
        site.archive.page(topic.as_ref(), None, 1),
        site.archive.topics()
    ) {
        Ok(both) => both,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let base = site.archive.public_url();
    let message = page.messages.first().map(|m| {
        serde_json::json!({
            "title": m.title,
            "summary": m.summary(),
            "sent_at": m.sent_at,
            "topics": topic_names(m, &topics),
            "url": format!("{base}{}", m.path()),
        })
    });
    public_json(
        &headers,
        &serde_json::json!({ "message": message }),
        ALERT_MAX_AGE,
    )
}

/// An embeddable script: public, cached, readable from any site.
async fn script(headers: HeaderMap, source: &'static str) -> Response {
    let mut resp = cached(
        &headers,
        "text/javascript; charset=utf-8",
        source,
        SCRIPT_MAX_AGE,
    );
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    // Other sites load it with <script>: it must not be refused as cross-origin.
    resp.headers_mut().insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ics_lines_fold_at_75_octets_between_characters() {
        let mut out = String::new();
        ics_line(&mut out, &format!("SUMMARY:{}", "é".repeat(60)));
        for line in out.split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
        assert_eq!(
            out.replace("\r\n ", ""),
            format!("SUMMARY:{}\r\n", "é".repeat(60))
        );
    }

    #[test]
    fn ics_and_xml_texts_are_escaped() {
        assert_eq!(ics_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(
            xml("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
    }

    #[test]
    fn french_dates_read_as_french() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(french_date(d), "1er décembre 2026");
    }
}
