//! A staff member's own account settings: which notices they receive (any role, their own
//! account only).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::notices::{notices_for, NoticeSettings, StaffNotice};
use crate::domain::staff::StaffIdentity;
use crate::error::DomainError;
use crate::ports::NoticeSettingsStore;

/// One notice on the account page.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeChoice {
    /// Its wire name.
    pub notice: StaffNotice,
    /// What it tells, in French.
    pub label: &'static str,
    /// `email` or `sms`.
    pub channel: &'static str,
    /// Whether the account receives it.
    pub on: bool,
    /// Whether the account has the contact it goes to (an email address, a mobile).
    pub reachable: bool,
}

/// The notices that concern an account (by its roles), each on or off.
#[derive(Debug, Clone, Serialize)]
pub struct MyNotices {
    pub notices: Vec<NoticeChoice>,
}

/// What `PUT /api/admin/me/notices` takes: the notices to turn off (every other one is on).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticesInput {
    #[serde(default)]
    pub off: Vec<String>,
}

/// The account use cases.
pub struct Account {
    settings: Arc<dyn NoticeSettingsStore>,
}

impl Account {
    /// Over the store of notice settings.
    pub fn new(settings: Arc<dyn NoticeSettingsStore>) -> Self {
        Self { settings }
    }

    /// The caller's notices.
    pub async fn notices(&self, by: &StaffIdentity) -> Result<MyNotices, DomainError> {
        let settings = self.settings.notice_settings(&by.id).await?;
        Ok(view(by, &settings))
    }

    /// Replaces the caller's settings: the notices named in `off` are turned off, the others on.
    pub async fn set_notices(
        &self,
        by: &StaffIdentity,
        input: &NoticesInput,
    ) -> Result<MyNotices, DomainError> {
        let settings = NoticeSettings::parse(&input.off)?;
        self.settings
            .save_notice_settings(&by.id, &settings)
            .await?;
        Ok(view(by, &settings))
    }
}

fn view(by: &StaffIdentity, settings: &NoticeSettings) -> MyNotices {
    MyNotices {
        notices: notices_for(by)
            .into_iter()
            .map(|n| NoticeChoice {
                notice: n,
                label: n.label(),
                channel: if n.by_sms() { "sms" } else { "email" },
                on: settings.wants(n),
                reachable: if n.by_sms() {
                    by.phone.is_some()
                } else {
                    by.email.is_some()
                },
            })
            .collect(),
    }
}
