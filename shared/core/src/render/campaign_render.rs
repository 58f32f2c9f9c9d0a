//! Turns a campaign into the messages each recipient receives.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag, TagEnd};

use crate::domain::campaign::{Campaign, CampaignEmail};
use crate::domain::contact::Email;
use crate::domain::outgoing::OutgoingEmail;
use crate::error::DomainError;
use crate::render::messages::{EmailContent, EmailLayout};

/// Links an email may carry: the web, an email address, a phone number.
const LINK_SCHEMES: [&str; 4] = ["https://", "http://", "mailto:", "tel:"];

fn allowed_link(dest: &str) -> bool {
    let dest = dest.trim().to_ascii_lowercase();
    LINK_SCHEMES.iter().any(|s| dest.starts_with(s))
}

/// Images are shown only from the town's own site (`town_origin`, e.g.
/// `https://alertes.arcachon.fr`): any other would tell a third party who opened the email.
fn allowed_image(dest: &str, town_origin: &str) -> bool {
    let dest = dest.trim().to_ascii_lowercase();
    !town_origin.is_empty()
        && dest
            .strip_prefix(&town_origin.to_ascii_lowercase())
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Markdown to HTML for residents' mailboxes: raw HTML is shown as text (staff write Markdown,
/// not markup, and nothing typed may inject scripts or styles), links other than web, email
/// and phone ones (`javascript:`…) keep their text only, and images from anywhere but the
/// town's site (`town_origin`) are replaced by their description.
pub fn markdown_to_html(markdown: &str, town_origin: &str) -> String {
    let mut dropped_links: Vec<bool> = Vec::new();
    let mut in_dropped_image = 0usize;
    let events = Parser::new_ext(
        markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    )
    .filter_map(|e| match e {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link { ref dest_url, .. }) => {
            let keep = allowed_link(dest_url);
            dropped_links.push(!keep);
            keep.then_some(e)
        }
        Event::End(TagEnd::Link) => match dropped_links.pop() {
            Some(true) => None,
            _ => Some(e),
        },
        Event::Start(Tag::Image { ref dest_url, .. }) if !allowed_image(dest_url, town_origin) => {
            in_dropped_image += 1;
            Some(Event::Text(CowStr::Borrowed("[image : ")))
        }
        Event::End(TagEnd::Image) if in_dropped_image > 0 => {
            in_dropped_image -= 1;
            Some(Event::Text(CowStr::Borrowed("]")))
        }
        other => Some(other),
    });
    let mut out = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut out, events);
    out
}

/// A campaign's email, rendered once and personalised per recipient.
#[derive(Debug, Clone)]
pub struct RenderedEmail {
    subject: String,
    body_html: String,
    body_text: String,
}

impl RenderedEmail {
    /// Renders the Markdown body once for the whole campaign (images allowed from
    /// `town_origin` only); `None` without an email.
    pub fn of(campaign: &Campaign, town_origin: &str) -> Option<Self> {
        campaign
            .messages
            .email()
            .map(|e| Self::of_email(e, town_origin))
    }

    /// Renders an email's Markdown body (a campaign's, or one being written).
    pub fn of_email(email: &CampaignEmail, town_origin: &str) -> Self {
        Self {
            subject: email.subject.clone(),
            body_html: markdown_to_html(&email.body_markdown, town_origin),
            body_text: email.body_markdown.clone(),
        }
    }

    /// The same email asking its recipient to answer: their own link first, as a button.
    pub fn with_reply(&self, url: &str) -> Self {
        let ask = "Dites-nous si vous êtes en sécurité ou si vous avez besoin d'aide";
        Self {
            subject: self.subject.clone(),
            body_html: format!(
                "{}{}",
                crate::render::messages::button(url, "Je suis en sécurité / J'ai besoin d'aide"),
                self.body_html
            ),
            body_text: format!("{ask} : {url}\n\n{}", self.body_text),
        }
    }

    /// The email for one recipient, with their own preference and unsubscribe links.
    pub fn for_recipient(
        &self,
        layout: &EmailLayout,
        to: &Email,
        preferences_url: Option<String>,
        unsubscribe_url: Option<String>,
        subject_prefix: &str,
    ) -> Result<OutgoingEmail, DomainError> {
        let content = EmailContent {
            subject: format!("{subject_prefix}{}", self.subject),
            body_html: self.body_html.clone(),
            body_text: self.body_text.clone(),
            preferences_url,
        };
        layout.compose(to, content, unsubscribe_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOWN: &str = "https://alertes.arcachon.example";

    #[test]
    fn only_web_mail_and_phone_links_are_kept() {
        let html = markdown_to_html(
            "[programme](https://ville.example/noel) [écrire](mailto:mairie@arcachon.example) \
             [appeler](tel:+33556000000) [piège](javascript:alert(1)) [data](data:text/html,x) \
             <javascript:alert(2)>",
            TOWN,
        );
        assert!(html.contains(r#"<a href="https://ville.example/noel">programme</a>"#));
        assert!(html.contains(r#"href="mailto:mairie@arcachon.example""#));
        assert!(html.contains(r#"href="tel:+33556000000""#));
        assert!(!html.to_ascii_lowercase().contains("javascript:alert(1)\""));
        assert!(!html.contains("href=\"javascript") && !html.contains("href=\"data"));
        assert!(
            html.contains("piège") && html.contains("data"),
            "the text stays: {html}"
        );
    }

    #[test]
    fn images_come_from_the_towns_site_only() {
        let html = markdown_to_html(
            "![Affiche](https://alertes.arcachon.example/static/affiche.png) \
             ![pixel](https://tracker.example/p.gif) ![ruse](https://alertes.arcachon.example.evil.example/x.png)",
            TOWN,
        );
        assert!(html.contains(
            r#"<img src="https://alertes.arcachon.example/static/affiche.png" alt="Affiche""#
        ));
        assert!(!html.contains("tracker.example"));
        assert!(!html.contains("evil.example"));
        assert!(
            html.contains("[image : pixel]") && html.contains("[image : ruse]"),
            "{html}"
        );
    }

    #[test]
    fn markdown_renders_and_raw_html_is_neutralised() {
        let html = markdown_to_html(
            "**Samedi** à 18 h\n\n<script>alert(1)</script>\n\n- un\n- deux",
            TOWN,
        );
        assert!(html.contains("<strong>Samedi</strong>"));
        assert!(html.contains("<li>un</li>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
