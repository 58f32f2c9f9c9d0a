//! The welcome message of a resident typed in from a paper form: they signed on paper, so
//! this is the first they hear from the service — what they receive, and the link to their
//! preferences (to change or leave), by each contact they gave.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::subscriber::Subscriber;
use crate::domain::topic::Topic;
use crate::ports::{EmailSender, OutgoingSms, SmsSender};
use crate::render::links::Links;
use crate::render::messages::{button, escape_html, EmailContent, EmailLayout};

/// What sends the welcome messages.
pub struct Welcome {
    pub email: Arc<dyn EmailSender>,
    pub sms: Arc<dyn SmsSender>,
    pub layout: Arc<EmailLayout>,
    /// Signs the preferences link.
    pub links: Links,
    /// The town's name, as messages say it (« Ville d'Arcachon »).
    pub town: String,
}

impl Welcome {
    /// Sends the welcome by email and by SMS (to a mobile), as the subscriber gave contacts. A message the
    /// provider refuses is logged (without the contact), never fatal: the form is on file.
    pub(crate) async fn send(&self, sub: &Subscriber, topics: &[Topic], now: DateTime<Utc>) {
        let url = self.links.manage_url(sub.id, now);
        let names: Vec<String> = topics
            .iter()
            .filter(|t| sub.choices.iter().any(|c| c.topic == t.slug))
            .map(|t| t.name.clone())
            .collect();
        if let Some(to) = &sub.email {
            let content = welcome_email(&self.town, &names, &url);
            let sent = match self.layout.compose(to, content, None) {
                Ok(email) => self.email.send_email(&email).await.map(|_| ()),
                Err(e) => Err(crate::error::SendError::Permanent(e.to_string())),
            };
            if sent.is_err() {
                tracing::warn!(subscriber = %sub.id, channel = "email", "welcome not sent");
            }
        }
        // A landline kept for calls takes no SMS.
        if let Some(to) = sub.phone.as_ref().filter(|p| p.is_mobile()) {
            let sms = OutgoingSms {
                to: to.clone(),
                text: format!(
                    "Ville d'{} : votre inscription aux messages de la Ville est enregistrée. Vos choix, ou vous désinscrire : {url}",
                    self.town
                ),
            };
            if self.sms.send_sms(&sms).await.is_err() {
                tracing::warn!(subscriber = %sub.id, channel = "sms", "welcome not sent");
            }
        }
    }
}

/// The welcome email: the topics chosen on the form and the preferences link.
fn welcome_email(town: &str, topics: &[String], url: &str) -> EmailContent {
    let list = topics.join(", ");
    EmailContent {
        subject: format!("Bienvenue : vous recevrez les messages de la Ville d'{town}"),
        body_html: format!(
            "<p>Bonjour,</p><p>Votre formulaire d'inscription a été saisi par les services de la Ville d'{town}. Vous recevrez ses messages sur : <strong>{}</strong>.</p><p>Pour changer vos choix ou vous désinscrire, à tout moment :</p>{}",
            escape_html(&list),
            button(url, "Gérer mes inscriptions")
        ),
        body_text: format!(
            "Bonjour,\n\nVotre formulaire d'inscription a été saisi par les services de la Ville d'{town}. Vous recevrez ses messages sur : {list}.\n\nPour changer vos choix ou vous désinscrire, à tout moment : {url}"
        ),
        preferences_url: Some(url.to_owned()),
    }
}
