//! What staff see of the relay and change in it: its state, its policy, its templates.

use serde::Serialize;

use crate::domain::alert_templates::{AlertTemplates, VARIABLES};
use crate::domain::staff::{Role, StaffIdentity};
use crate::domain::weather::{AlertInForce, FeedState};
use crate::error::DomainError;

use super::WeatherRelay;

const ANY_STAFF: [Role; 3] = [Role::Redaction, Role::Cabinet, Role::Admin];

/// The relay as staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct WeatherOverview {
    /// The feed's last poll (none: never polled).
    pub feed: Option<FeedState>,
    /// The alerts relayed and still in force.
    pub in_force: Vec<AlertInForce>,
    /// The domains read (`33`, `3310`).
    pub domains: Vec<String>,
    /// The phenomena relayed, by their French names.
    pub watched: Vec<&'static str>,
    /// The lowest colour relayed.
    pub threshold: &'static str,
    /// From this colour up, sent without the cabinet (none: every alert goes to the cabinet).
    pub send_at_once_from: Option<&'static str>,
    /// The zones some phenomena are limited to, by the phenomenon's French name (empty: every
    /// alert goes to the whole topic).
    pub zones: std::collections::BTreeMap<&'static str, Vec<String>>,
}

/// The templates with what staff need to edit them.
#[derive(Debug, Clone, Serialize)]
pub struct TemplatesView {
    pub templates: AlertTemplates,
    /// The variables a template may use.
    pub variables: [&'static str; 7],
    /// Whether these are the defaults (never changed).
    pub defaults: bool,
}

impl WeatherRelay {
    /// The templates in use: the staff's, or the defaults.
    pub(super) async fn current_templates(&self) -> Result<AlertTemplates, DomainError> {
        Ok(self.d.weather.templates().await?.unwrap_or_default())
    }

    /// The feed's state, the alerts in force and the policy (any staff role).
    pub async fn overview(&self, by: &StaffIdentity) -> Result<WeatherOverview, DomainError> {
        by.require_any(&ANY_STAFF)?;
        let policy = &self.d.policy;
        Ok(WeatherOverview {
            feed: self.d.weather.feed_state().await?,
            in_force: self.d.weather.in_force().await?,
            domains: policy.domains().into_iter().map(str::to_owned).collect(),
            watched: policy.watched.iter().map(|p| p.label()).collect(),
            threshold: policy.threshold.label(),
            send_at_once_from: policy.send_at_once_from.map(|c| c.label()),
            zones: policy
                .zones
                .iter()
                .map(|(p, z)| (p.label(), z.iter().map(|s| s.as_str().to_owned()).collect()))
                .collect(),
        })
    }

    /// The templates (any staff role).
    pub async fn templates(&self, by: &StaffIdentity) -> Result<TemplatesView, DomainError> {
        by.require_any(&ANY_STAFF)?;
        let stored = self.d.weather.templates().await?;
        Ok(TemplatesView {
            defaults: stored.is_none(),
            templates: stored.unwrap_or_default(),
            variables: VARIABLES,
        })
    }

    /// Replaces the templates (`redaction` or `admin`) once each renders and each SMS fits one
    /// GSM-7 segment for every phenomenon, colour and date checked; errors name the field. The
    /// check runs a few thousand bounded renderings: off the async workers, so that requests
    /// meanwhile are answered.
    pub async fn save_templates(
        &self,
        by: &StaffIdentity,
        templates: AlertTemplates,
    ) -> Result<TemplatesView, DomainError> {
        by.require_any(&[Role::Redaction, Role::Admin])?;
        let (checked, town) = (templates.clone(), self.d.town.clone());
        tokio::task::spawn_blocking(move || checked.check(&town))
            .await
            .map_err(|e| DomainError::Unexpected(format!("template check failed: {e}")))?
            .map_err(DomainError::Validation)?;
        self.d.weather.save_templates(&templates).await?;
        Ok(TemplatesView {
            templates,
            variables: VARIABLES,
            defaults: false,
        })
    }
}
