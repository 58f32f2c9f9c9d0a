//! The pages a French public site must have — *Données personnelles* (RGPD notice),
//! *Accessibilité* (RGAA statement), *Mentions légales* — linked from every page's footer and
//! filled from the operator's settings.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

use crate::AppState;

/// What the legal pages say that only the town knows.
#[derive(Debug, Clone, Serialize)]
pub struct LegalNotice {
    /// Who decides what is done with the data (the town, with its address).
    pub controller: String,
    /// The director of publication.
    pub publisher: String,
    /// Where to write about one's data and about accessibility.
    pub contact: Option<String>,
    /// The data protection officer's address, when the town has one.
    pub dpo: Option<String>,
    /// The host (name and address).
    pub host: String,
    /// The providers that send the messages.
    pub processors: String,
    /// `non conforme`, `partiellement conforme` or `totalement conforme`.
    pub accessibility_status: String,
    /// When the accessibility statement was made (`30 novembre 2026`).
    pub accessibility_date: String,
    /// The audit behind it, if any (`audit réalisé par … le …`).
    pub accessibility_audit: Option<String>,
    /// Days an unconfirmed sign-up is kept.
    pub pending_days: i64,
}

impl LegalNotice {
    /// What a town says before it configures anything: itself as controller and publisher,
    /// `host` and `processors` as the runtime knows them.
    pub fn for_town(town: &str, host: &str, processors: &str) -> Self {
        Self {
            controller: format!("Ville d'{town}, Hôtel de Ville"),
            publisher: format!("le maire de la Ville d'{town}"),
            contact: None,
            dpo: None,
            host: host.to_owned(),
            processors: processors.to_owned(),
            accessibility_status: "partiellement conforme".into(),
            accessibility_date: "30 novembre 2026".into(),
            accessibility_audit: None,
            pending_days: 7,
        }
    }
}

/// What an operator may set, as given on the command line or in the environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct LegalSettings<'a> {
    /// `TELMAIL_LEGAL_CONTACT`: where residents write about their data.
    pub contact: Option<&'a str>,
    /// `TELMAIL_LEGAL_DPO`: the data protection officer's address.
    pub dpo: Option<&'a str>,
    /// `TELMAIL_LEGAL_PUBLISHER`: the director of publication.
    pub publisher: Option<&'a str>,
    /// `TELMAIL_LEGAL_CONTROLLER`: the town as controller, with its address.
    pub controller: Option<&'a str>,
    /// `TELMAIL_LEGAL_HOST`: the host, with its address.
    pub host: Option<&'a str>,
    /// `TELMAIL_ACCESSIBILITY_STATUS`: non, partiellement or totalement conforme.
    pub accessibility_status: Option<&'a str>,
    /// `TELMAIL_ACCESSIBILITY_DATE`: when the statement was made.
    pub accessibility_date: Option<&'a str>,
    /// `TELMAIL_ACCESSIBILITY_AUDIT`: the audit behind it.
    pub accessibility_audit: Option<&'a str>,
}

/// The statuses the RGAA allows.
const STATUSES: [&str; 3] = [
    "non conforme",
    "partiellement conforme",
    "totalement conforme",
];

/// A legal setting the operator got wrong; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegalError {
    /// `TELMAIL_ACCESSIBILITY_STATUS` is none of the three statuses the law names.
    #[error("TELMAIL_ACCESSIBILITY_STATUS must be one of: {}", STATUSES.join(", "))]
    AccessibilityStatus,
}

impl LegalNotice {
    /// This notice with what the operator set; an error names the variable at fault.
    pub fn with(mut self, s: &LegalSettings<'_>) -> Result<Self, LegalError> {
        let given = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        if let Some(status) = given(s.accessibility_status) {
            let status = status.to_lowercase();
            if !STATUSES.contains(&status.as_str()) {
                return Err(LegalError::AccessibilityStatus);
            }
            self.accessibility_status = status;
        }
        self.contact = given(s.contact).or(self.contact);
        self.dpo = given(s.dpo).or(self.dpo);
        self.accessibility_audit = given(s.accessibility_audit).or(self.accessibility_audit);
        if let Some(v) = given(s.publisher) {
            self.publisher = v;
        }
        if let Some(v) = given(s.controller) {
            self.controller = v;
        }
        if let Some(v) = given(s.host) {
            self.host = v;
        }
        if let Some(v) = given(s.accessibility_date) {
            self.accessibility_date = v;
        }
        Ok(self)
    }
}

/// The three pages: address, template, French title.
pub const PAGES: [(&str, &str, &str); 3] = [
    (
        "/donnees-personnelles",
        "legal/donnees.html",
        "Données personnelles",
    ),
    (
        "/accessibilite",
        "legal/accessibilite.html",
        "Accessibilité",
    ),
    (
        "/mentions-legales",
        "legal/mentions.html",
        "Mentions légales",
    ),
];

/// One legal page.
pub async fn page(State(app): State<AppState>, index: usize) -> Response {
    let (_, template, title) = PAGES[index];
    let title = if template == "legal/accessibilite.html" {
        format!("Accessibilité : {}", app.legal.accessibility_status)
    } else {
        title.to_owned()
    };
    app.pages.render(
        StatusCode::OK,
        template,
        &title,
        context! { legal => app.legal.as_ref() },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_sets_what_only_the_town_knows_and_bad_statuses_are_refused() {
        let n = LegalNotice::for_town("Arcachon", "hébergeur", "prestataires")
            .with(&LegalSettings {
                contact: Some("dpo@arcachon.example"),
                accessibility_status: Some("Totalement conforme"),
                host: Some("  "),
                ..LegalSettings::default()
            })
            .unwrap();
        assert_eq!(n.contact.as_deref(), Some("dpo@arcachon.example"));
        assert_eq!(n.accessibility_status, "totalement conforme");
        assert_eq!(n.host, "hébergeur", "an empty setting keeps the default");
        let err = LegalNotice::for_town("Arcachon", "h", "p")
            .with(&LegalSettings {
                accessibility_status: Some("conforme"),
                ..LegalSettings::default()
            })
            .unwrap_err();
        assert_eq!(err, LegalError::AccessibilityStatus);
        assert_eq!(
            err.to_string(),
            "TELMAIL_ACCESSIBILITY_STATUS must be one of: non conforme, partiellement conforme, totalement conforme"
        );
    }
}
