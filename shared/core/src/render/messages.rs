//! The messages Télmail sends residents about their subscription, in French, wrapped in the
//! town's email layout. The layout is a template file the webmaster can edit without recompiling.

use std::path::Path;

use minijinja::{context, Environment};

use crate::domain::contact::{Email, PhoneNumber};
use crate::domain::outgoing::{OutgoingEmail, OutgoingSms};
use crate::error::DomainError;

const EMBEDDED_LAYOUT: &str = include_str!("../../templates/email_layout.html");

/// Why a layout file cannot be used (refused at start-up).
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("cannot read email layout {}: {source}", path.display())]
    Unreadable {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("email layout {} is not a valid template: {source}", path.display())]
    NotATemplate {
        path: std::path::PathBuf,
        source: minijinja::Error,
    },
}

/// Renders emails into the town's HTML layout.
#[derive(Debug)]
pub struct EmailLayout {
    env: Environment<'static>,
    town_name: String,
}

/// The parts of an email before it is wrapped in the layout.
#[derive(Debug, Clone)]
pub struct EmailContent {
    /// Subject line.
    pub subject: String,
    /// Body as HTML (already escaped where needed).
    pub body_html: String,
    /// Body as plain text.
    pub body_text: String,
    /// Preference page link for the footer.
    pub preferences_url: Option<String>,
}

impl EmailLayout {
    /// The layout shipped with Télmail.
    pub fn embedded(town_name: &str) -> Self {
        Self::from_source(EMBEDDED_LAYOUT.to_owned(), town_name)
            .expect("the embedded layout is a valid template")
    }

    /// A layout read from a file; refused at start-up if it does not compile.
    pub fn from_file(path: &Path, town_name: &str) -> Result<Self, LayoutError> {
        let source = std::fs::read_to_string(path).map_err(|source| LayoutError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        Self::from_source(source, town_name).map_err(|source| LayoutError::NotATemplate {
            path: path.to_owned(),
            source,
        })
    }

    fn from_source(source: String, town_name: &str) -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.add_template_owned("layout.html", source)?;
        Ok(Self {
            env,
            town_name: town_name.to_owned(),
        })
    }

    /// An email's HTML as every recipient saw it, without anyone's links: the public archive's
    /// copy (the layout's footer shows no preference link when it has none).
    pub fn public_html(&self, subject: &str, body_html: &str) -> Result<String, DomainError> {
        self.env
            .get_template("layout.html")
            .and_then(|t| {
                t.render(context! {
                    subject => subject,
                    body_html => minijinja::Value::from_safe_string(body_html.to_owned()),
                    preferences_url => Option::<String>::None,
                    town_name => self.town_name,
                })
            })
            .map_err(|e| DomainError::Unexpected(format!("email layout failed: {e}")))
    }

    /// Builds a complete email: HTML in the layout, text with the same footer.
    pub fn compose(
        &self,
        to: &Email,
        content: EmailContent,
        list_unsubscribe: Option<String>,
    ) -> Result<OutgoingEmail, DomainError> {
        let html = self
            .env
            .get_template("layout.html")
            .and_then(|t| {
                t.render(context! {
                    subject => content.subject,
                    body_html => minijinja::Value::from_safe_string(content.body_html.clone()),
                    preferences_url => content.preferences_url,
                    town_name => self.town_name,
                })
            })
            .map_err(|e| DomainError::Unexpected(format!("email layout failed: {e}")))?;
        let mut text = content.body_text;
        text.push_str("\n\n-- \n");
        text.push_str(&format!("Ville d'{} — Télmail\n", self.town_name));
        if let Some(url) = &content.preferences_url {
            text.push_str(&format!("Gérer mes abonnements ou me désabonner : {url}\n"));
        }
        Ok(OutgoingEmail {
            to: to.clone(),
            subject: content.subject,
            text,
            html,
            list_unsubscribe,
            campaign: None,
        })
    }
}

/// Escapes text for HTML bodies built in code.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

pub(crate) fn button(url: &str, label: &str) -> String {
    format!(
        "<p style=\"margin:24px 0;\"><a href=\"{}\" style=\"background:#005a8c;color:#ffffff;padding:12px 20px;border-radius:4px;text-decoration:none;display:inline-block;\">{}</a></p>",
        escape_html(url),
        escape_html(label)
    )
}

/// The email asking a new subscriber to confirm.
pub fn confirmation_email(town: &str, confirm_url: &str, topics: &[String]) -> EmailContent {
    let list = topics.join(", ");
    EmailContent {
        subject: format!("Confirmez votre inscription aux messages de la Ville d'{town}"),
        body_html: format!(
            "<p>Bonjour,</p><p>Vous avez demandé à recevoir les messages de la Ville d'{town} sur : <strong>{}</strong>.</p><p>Pour confirmer votre inscription, cliquez sur le bouton ci-dessous (le lien est valable 7 jours) :</p>{}<p>Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : sans confirmation, aucune donnée n'est conservée.</p>",
            escape_html(&list),
            button(confirm_url, "Confirmer mon inscription")
        ),
        body_text: format!(
            "Bonjour,\n\nVous avez demandé à recevoir les messages de la Ville d'{town} sur : {list}.\n\nPour confirmer votre inscription, ouvrez ce lien (valable 7 jours) :\n{confirm_url}\n\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message : sans confirmation, aucune donnée n'est conservée."
        ),
        preferences_url: None,
    }
}

/// The email telling a cabinet member that a weather message waits for their approval.
pub fn cabinet_approval_email(town: &str, what: &str, sms: &str, url: &str) -> EmailContent {
    EmailContent {
        subject: format!("[Télmail] À approuver d'urgence : {what}"),
        body_html: format!(
            "<p>Bonjour,</p><p>Le relais Météo-France de la Ville d'{town} a préparé un message qui attend votre approbation : <strong>{}</strong>.</p><p>SMS prévu :</p><blockquote>{}</blockquote><p>Il ne partira qu'une fois approuvé par le cabinet :</p>{}",
            escape_html(what),
            escape_html(sms),
            button(url, "Voir et approuver le message")
        ),
        body_text: format!(
            "Bonjour,\n\nLe relais Météo-France de la Ville d'{town} a préparé un message qui attend votre approbation : {what}.\n\nSMS prévu :\n{sms}\n\nIl ne partira qu'une fois approuvé par le cabinet :\n{url}"
        ),
        preferences_url: None,
    }
}

/// The email telling a department member what became of their proposal: `news` completes
/// « Votre proposition « … » » (a plain sentence end), `detail` is a paragraph or empty.
pub fn proposal_email(title: &str, news: &str, detail: &str, url: &str) -> EmailContent {
    let detail_html = if detail.is_empty() {
        String::new()
    } else {
        format!("<p>{}</p>", escape_html(detail))
    };
    let detail_text = if detail.is_empty() {
        String::new()
    } else {
        format!("{detail}\n\n")
    };
    EmailContent {
        subject: format!("[Télmail] Votre proposition « {title} » {news}"),
        body_html: format!(
            "<p>Bonjour,</p><p>Votre proposition « {} » {}.</p>{detail_html}{}",
            escape_html(title),
            escape_html(news),
            button(url, "Voir vos propositions")
        ),
        body_text: format!(
            "Bonjour,\n\nVotre proposition « {title} » {news}.\n\n{detail_text}Voir vos propositions : {url}"
        ),
        preferences_url: None,
    }
}

/// The SMS carrying a confirmation code (fits one GSM-7 segment).
pub fn code_sms(to: &PhoneNumber, town: &str, code: &str) -> OutgoingSms {
    OutgoingSms {
        to: to.clone(),
        text: format!("Ville d'{town} : votre code de confirmation est {code}. Valable 7 jours."),
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::domain::sms::{analyze, SmsEncoding};

    #[test]
    fn layout_wraps_the_body_and_escapes_the_subject() {
        let layout = EmailLayout::embedded("Arcachon");
        let to = Email::from_str("a@exemple.fr").unwrap();
        let mut content = confirmation_email(
            "Arcachon",
            "https://x/confirmation?t=1",
            &["Culture <b>".into()],
        );
        content.subject = "Sujet <script>".into();
        let email = layout.compose(&to, content, None).unwrap();
        assert!(email.html.contains("Sujet &lt;script&gt;"));
        assert!(email.html.contains("Culture &lt;b&gt;"));
        assert!(email.html.contains("https://x/confirmation?t=1"));
        assert!(email.text.contains("https://x/confirmation?t=1"));
        assert!(email.text.contains("Ville d'Arcachon — Télmail"));
    }

    #[test]
    fn a_layout_file_can_replace_the_embedded_one() {
        let dir = std::env::temp_dir().join(format!("telmail-layout-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("layout.html");
        std::fs::write(
            &path,
            "<div class=town>{{ town_name }}</div>{{ body_html }}",
        )
        .unwrap();
        let layout = EmailLayout::from_file(&path, "Arcachon").unwrap();
        let to = Email::from_str("a@exemple.fr").unwrap();
        let email = layout
            .compose(
                &to,
                confirmation_email("Arcachon", "https://x/c", &["Alerte météo".into()]),
                None,
            )
            .unwrap();
        assert!(email
            .html
            .starts_with("<div class=town>Arcachon</div><p>Bonjour"));
        std::fs::write(&path, "{% if %}").unwrap();
        assert!(EmailLayout::from_file(&path, "Arcachon").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn code_sms_fits_one_gsm7_segment() {
        let phone = PhoneNumber::from_str("0612345678").unwrap();
        let sms = code_sms(&phone, "Arcachon", "123456");
        let analysis = analyze(&sms.text);
        assert_eq!(analysis.encoding, SmsEncoding::Gsm7);
        assert_eq!(analysis.segments, 1);
    }
}
