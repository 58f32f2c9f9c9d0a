//! HTML rendering of the French pages with auto-escaping templates embedded in the binary.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment, Value};
use serde::Serialize;
use telmail_core::DomainError;

use crate::error::{log_if_internal, status_of};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    (
        "legal_links.html",
        include_str!("../templates/legal_links.html"),
    ),
    ("errors.html", include_str!("../templates/errors.html")),
    ("choices.html", include_str!("../templates/choices.html")),
    ("signup.html", include_str!("../templates/signup.html")),
    ("message.html", include_str!("../templates/message.html")),
    ("confirm.html", include_str!("../templates/confirm.html")),
    ("reply.html", include_str!("../templates/reply.html")),
    ("code.html", include_str!("../templates/code.html")),
    (
        "preferences.html",
        include_str!("../templates/preferences.html"),
    ),
    (
        "unsubscribe.html",
        include_str!("../templates/unsubscribe.html"),
    ),
    (
        "legal/donnees.html",
        include_str!("../templates/legal/donnees.html"),
    ),
    (
        "legal/accessibilite.html",
        include_str!("../templates/legal/accessibilite.html"),
    ),
    (
        "legal/mentions.html",
        include_str!("../templates/legal/mentions.html"),
    ),
    ("archive.html", include_str!("../templates/archive.html")),
    (
        "archive_message.html",
        include_str!("../templates/archive_message.html"),
    ),
];

/// The page templates.
#[derive(Debug)]
pub struct Pages {
    env: Environment<'static>,
    town: String,
    /// The accessibility status every footer states (RGAA).
    accessibility: String,
}

/// A link shown under a message.
#[derive(Debug, Serialize)]
pub struct Link {
    /// Target.
    pub href: String,
    /// French label.
    pub label: String,
}

/// The look of a message page.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    /// Something went well.
    Success,
    /// Neutral information.
    Info,
    /// Something went wrong.
    Error,
}

impl Pages {
    /// Loads the embedded templates; every footer states `accessibility` (the RGAA status).
    pub fn new(town: &str, accessibility: &str) -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("embedded templates compile");
        }
        Self {
            env,
            town: town.to_owned(),
            accessibility: accessibility.to_owned(),
        }
    }

    /// Renders a template with a status; a rendering failure is a bug and answers 500.
    pub fn render(&self, status: StatusCode, name: &str, title: &str, ctx: Value) -> Response {
        let result = self.env.get_template(name).and_then(|t| {
            t.render(context! {
                town => self.town,
                title => title,
                accessibility => self.accessibility,
                ..ctx
            })
        });
        match result {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template = name, error = %e, "page rendering failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Html("Erreur interne.".to_owned()),
                )
                    .into_response()
            }
        }
    }

    /// Renders a template to text (the website's cached pages hash it for their `ETag`).
    pub fn render_text(&self, name: &str, title: &str, ctx: Value) -> Result<String, RenderError> {
        self.env
            .get_template(name)
            .and_then(|t| {
                t.render(context! {
                    town => self.town,
                    title => title,
                    accessibility => self.accessibility,
                    ..ctx
                })
            })
            .map_err(|error| RenderError {
                name: name.to_owned(),
                error,
            })
    }

    /// A page with a message and an optional link.
    pub fn message(
        &self,
        status: StatusCode,
        tone: Tone,
        title: &str,
        paragraphs: &[&str],
        link: Option<Link>,
    ) -> Response {
        self.render(
            status,
            "message.html",
            title,
            context! { kind => tone, paragraphs => paragraphs, link => link },
        )
    }

    /// The page for a domain error that is not a form error.
    pub fn error(&self, e: DomainError) -> Response {
        log_if_internal(&e);
        let status = status_of(&e);
        let title = match &e {
            DomainError::InvalidToken => "Lien invalide",
            DomainError::ExpiredToken => "Lien expiré",
            DomainError::NotFound(_) => "Introuvable",
            DomainError::TooManyAttempts(_) => "Trop d'essais",
            DomainError::Unavailable(_) | DomainError::StorageBusy(_) => "Service indisponible",
            DomainError::StorageFull(_) => "Disque du serveur plein",
            _ => "Une erreur s'est produite",
        };
        let text = e.to_string();
        let link = Link {
            href: "/inscription".into(),
            label: "Revenir à l'inscription".into(),
        };
        self.message(status, Tone::Error, title, &[&text], Some(link))
    }
}

/// A template that could not be rendered (a bug of the template or of its context).
#[derive(Debug, thiserror::Error)]
#[error("page rendering failed ({name}): {error}")]
pub struct RenderError {
    /// The template.
    pub name: String,
    pub error: minijinja::Error,
}
