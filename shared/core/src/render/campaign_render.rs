//! Turns a campaign into the messages each recipient receives.

use pulldown_cmark::{html, Event, Options, Parser};

use crate::domain::campaign::Campaign;
use crate::domain::contact::Email;
use crate::error::DomainError;
use crate::ports::OutgoingEmail;
use crate::render::messages::{EmailContent, EmailLayout};

/// Markdown to HTML with raw HTML shown as text: staff write Markdown, not markup, and nothing
/// typed may inject scripts or styles into residents' mailboxes.
pub fn markdown_to_html(markdown: &str) -> String {
    let events = Parser::new_ext(
        markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    )
    .map(|e| match e {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
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
    /// Renders the Markdown body once for the whole campaign; `None` without an email.
    pub fn of(campaign: &Campaign) -> Option<Self> {
        campaign.email.as_ref().map(|e| Self {
            subject: e.subject.clone(),
            body_html: markdown_to_html(&e.body_markdown),
            body_text: e.body_markdown.clone(),
        })
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

    #[test]
    fn markdown_renders_and_raw_html_is_neutralised() {
        let html =
            markdown_to_html("**Samedi** à 18 h\n\n<script>alert(1)</script>\n\n- un\n- deux");
        assert!(html.contains("<strong>Samedi</strong>"));
        assert!(html.contains("<li>un</li>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
