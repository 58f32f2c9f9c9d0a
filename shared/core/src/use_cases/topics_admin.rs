//! Topic management (`admin`): create permanent or temporary topics, rename, describe, set the
//! end date, close. Subscriptions to a closed or ended topic are kept for the record.

use std::str::FromStr;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::clock::{town_date, Clock};
use crate::domain::staff::{Role, StaffIdentity};
use crate::domain::topic::{Topic, TopicKind, TopicSlug};
use crate::error::{DomainError, FieldErrors};
use crate::ports::TopicStore;

/// Topic fields as posted; absent fields keep their value on update.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TopicInput {
    /// Slug (create only).
    #[serde(default)]
    pub slug: Option<String>,
    /// French name.
    #[serde(default)]
    pub name: Option<String>,
    /// French description.
    #[serde(default)]
    pub description: Option<String>,
    /// `permanent` or `temporary`.
    #[serde(default)]
    pub kind: Option<TopicKind>,
    /// Last day of a temporary topic (`YYYY-MM-DD`).
    #[serde(default)]
    pub ends_on: Option<String>,
}

/// Topic use cases.
pub struct TopicsAdmin {
    topics: Arc<dyn TopicStore>,
    clock: Arc<dyn Clock>,
}

fn text(value: Option<&str>, field: &str, max: usize, errors: &mut FieldErrors) -> Option<String> {
    let v = value?.trim();
    if v.is_empty() {
        errors.add(field, "Ce champ ne peut pas être vide.");
    } else if v.chars().count() > max {
        errors.add(field, format!("{max} caractères au plus."));
    }
    Some(v.to_owned())
}

impl TopicsAdmin {
    /// Builds the use cases.
    pub fn new(topics: Arc<dyn TopicStore>, clock: Arc<dyn Clock>) -> Self {
        Self { topics, clock }
    }

    /// Every topic, open or not.
    pub async fn list(&self, by: &StaffIdentity) -> Result<Vec<Topic>, DomainError> {
        by.require_any(&[Role::Admin, Role::Redaction, Role::Cabinet])?;
        Ok(self.topics.list().await?)
    }

    fn apply(&self, topic: &mut Topic, input: &TopicInput, errors: &mut FieldErrors) {
        if let Some(name) = text(input.name.as_deref(), "name", 80, errors) {
            topic.name = name;
        }
        if let Some(d) = text(input.description.as_deref(), "description", 300, errors) {
            topic.description = d;
        }
        if let Some(kind) = input.kind {
            topic.kind = kind;
        }
        if let Some(raw) = input.ends_on.as_deref() {
            match raw.trim() {
                "" => topic.ends_on = None,
                d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                    Ok(date) if date >= town_date(self.clock.now()) => topic.ends_on = Some(date),
                    Ok(_) => errors.add("ends_on", "La date de fin est déjà passée."),
                    Err(_) => errors.add(
                        "ends_on",
                        format!("Date invalide : « {d} » (format AAAA-MM-JJ)."),
                    ),
                },
            }
        }
        match (topic.kind, topic.ends_on) {
            (TopicKind::Temporary, None) => {
                errors.add("ends_on", "Un thème temporaire a une date de fin.")
            }
            (TopicKind::Permanent, Some(_)) => {
                errors.add("ends_on", "Un thème permanent n'a pas de date de fin.")
            }
            _ => {}
        }
    }

    /// Creates a topic.
    pub async fn create(
        &self,
        by: &StaffIdentity,
        input: &TopicInput,
    ) -> Result<Topic, DomainError> {
        by.require(Role::Admin)?;
        let mut errors = FieldErrors::new();
        let slug = match input.slug.as_deref().map(TopicSlug::from_str) {
            Some(Ok(s)) => Some(s),
            Some(Err(m)) => {
                errors.add("slug", m);
                None
            }
            None => {
                errors.add(
                    "slug",
                    "Indiquez l'identifiant du thème (ex. travaux-coeur-de-ville).",
                );
                None
            }
        };
        if input.name.is_none() {
            errors.add("name", "Indiquez le nom du thème.");
        }
        let mut topic = Topic {
            slug: slug
                .clone()
                .unwrap_or_else(|| TopicSlug::from_str("xx").expect("valid")),
            name: String::new(),
            description: String::new(),
            kind: input.kind.unwrap_or(TopicKind::Permanent),
            ends_on: None,
            active: true,
        };
        self.apply(&mut topic, input, &mut errors);
        errors.into_result()?;
        if !self.topics.insert_if_absent(&topic).await? {
            return Err(FieldErrors::single(
                "slug",
                format!("Le thème « {} » existe déjà.", topic.slug),
            ));
        }
        Ok(topic)
    }

    async fn load(&self, slug: &TopicSlug) -> Result<Topic, DomainError> {
        self.topics
            .get(slug)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("Le thème « {slug} » n'existe pas.")))
    }

    /// Renames, describes, or changes the end date of a topic.
    pub async fn update(
        &self,
        by: &StaffIdentity,
        slug: &TopicSlug,
        input: &TopicInput,
    ) -> Result<Topic, DomainError> {
        by.require(Role::Admin)?;
        let mut topic = self.load(slug).await?;
        let mut errors = FieldErrors::new();
        if input
            .slug
            .as_deref()
            .is_some_and(|s| s != topic.slug.as_str())
        {
            errors.add(
                "slug",
                "L'identifiant d'un thème ne change pas : créez-en un autre.",
            );
        }
        self.apply(&mut topic, input, &mut errors);
        errors.into_result()?;
        self.topics.update(&topic).await?;
        Ok(topic)
    }

    /// Closes a topic: hidden from sign-up and no longer targetable.
    pub async fn close(&self, by: &StaffIdentity, slug: &TopicSlug) -> Result<Topic, DomainError> {
        by.require(Role::Admin)?;
        let mut topic = self.load(slug).await?;
        topic.active = false;
        self.topics.update(&topic).await?;
        Ok(topic)
    }
}
