//! Telling staff that something waits for them: a campaign submitted reaches every active
//! cabinet member (by email, and by SMS too when it is urgent and they gave a number); the
//! cabinet's decision reaches the campaign's author, with the reason of a refusal. A notice
//! that cannot be sent is logged (without the contact) and never fails the step: the pages
//! show the same news. Each notice is sent only to the accounts that did not turn it off
//! (`domain::notices`); settings that cannot be read leave the notice on.

use crate::domain::campaign::{Campaign, CampaignKind};
use crate::domain::notices::StaffNotice;
use crate::domain::staff::Role;
use crate::error::SendError;
use crate::ports::NoticeSettingsStore;
use crate::ports::OutgoingSms;
use crate::render::messages::{button, escape_html, EmailContent};

use super::campaigns::Campaigns;

/// What the cabinet decided about a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Approved,
    Rejected,
}

impl Campaigns {
    /// Tells the active cabinet that a campaign waits for its decision. Weather alerts are not
    /// told here: their relay tells the cabinet itself, with the vigilance.
    pub(crate) async fn tell_cabinet_submitted(&self, c: &Campaign) {
        if c.kind != CampaignKind::Standard {
            return;
        }
        let members = match self.deps().directory.holding(Role::Cabinet).await {
            Ok(members) => members,
            Err(e) => {
                tracing::warn!(campaign = %c.id, error = %e, "cannot list the cabinet to tell it");
                return;
            }
        };
        let url = self.campaign_url(c);
        let settings = self.deps().notice_settings.as_ref();
        for member in members.iter().filter(|m| m.id != c.author.id) {
            if let Some(to) = &member.email {
                if wants(settings, &member.id, StaffNotice::SubmittedEmail).await {
                    self.send_notice(c, to, submitted_email(c, &url)).await;
                }
            }
            if let (true, Some(to)) = (c.urgent, &member.phone) {
                if !wants(settings, &member.id, StaffNotice::SubmittedUrgentSms).await {
                    continue;
                }
                let sms = OutgoingSms {
                    to: to.clone(),
                    text: format!(
                        "Telmail : la campagne urgente « {} » attend votre approbation : {url}",
                        c.title
                    ),
                };
                if let Err(e) = self.deps().sms.send_sms(&sms).await {
                    warn_unsent(c, "sms", &e);
                }
            }
        }
    }

    /// Tells the author what the cabinet decided (the reason of a refusal included).
    pub(crate) async fn tell_author(&self, c: &Campaign, decision: Decision) {
        let author = match self.deps().directory.holding(Role::Redaction).await {
            Ok(writers) => writers.into_iter().find(|w| w.id == c.author.id),
            Err(e) => {
                tracing::warn!(campaign = %c.id, error = %e, "cannot find the author to tell");
                return;
            }
        };
        let Some(to) = author.and_then(|a| a.email) else {
            return;
        };
        if !wants(
            self.deps().notice_settings.as_ref(),
            &c.author.id,
            StaffNotice::DecisionEmail,
        )
        .await
        {
            return;
        }
        let content = decided_email(c, decision, &self.campaign_url(c));
        self.send_notice(c, &to, content).await;
    }

    fn campaign_url(&self, c: &Campaign) -> String {
        format!("{}/admin/campagnes/{}", self.deps().config.public_url, c.id)
    }

    async fn send_notice(
        &self,
        c: &Campaign,
        to: &crate::domain::contact::Email,
        content: EmailContent,
    ) {
        let sent = match self.deps().layout.compose(to, content, None) {
            Ok(email) => self.deps().email.send_email(&email).await.map(|_| ()),
            Err(e) => Err(SendError::Permanent(e.to_string())),
        };
        if let Err(e) = sent {
            warn_unsent(c, "email", &e);
        }
    }
}

/// Whether the account `staff_id` receives `notice`. Settings that cannot be read leave it on:
/// a notice too many is better than a decision nobody hears of.
pub(crate) async fn wants(
    settings: &dyn NoticeSettingsStore,
    staff_id: &str,
    notice: StaffNotice,
) -> bool {
    match settings.notice_settings(staff_id).await {
        Ok(s) => s.wants(notice),
        Err(e) => {
            tracing::warn!(notice = notice.as_str(), error = %e, "notice settings unreadable: sent");
            true
        }
    }
}

fn warn_unsent(c: &Campaign, channel: &str, e: &SendError) {
    // The provider's own words may quote the address: only the kind of failure is logged.
    let why = match e {
        SendError::Transient(_) | SendError::Throttled(_) => "temporary",
        SendError::Paused(_) => "paused",
        SendError::Permanent(_) => "refused",
        SendError::Unknown(_) => "unknown",
    };
    tracing::warn!(campaign = %c.id, channel, why, "staff notice not sent");
}

/// What the campaign sends, in one line: « e-mail « objet » et SMS ».
fn channels(c: &Campaign) -> String {
    match (c.messages.email(), c.messages.sms()) {
        (Some(e), Some(_)) => format!("un e-mail « {} » et un SMS", e.subject),
        (Some(e), None) => format!("un e-mail « {} »", e.subject),
        (None, Some(_)) => "un SMS".to_owned(),
        (None, None) => "aucun message".to_owned(),
    }
}

/// The email asking the cabinet to decide.
fn submitted_email(c: &Campaign, url: &str) -> EmailContent {
    let urgent = if c.urgent { " urgente" } else { "" };
    let what = channels(c);
    EmailContent {
        subject: format!("[Télmail] À approuver : {}", c.title),
        body_html: format!(
            "<p>Bonjour,</p><p>{} a soumis la campagne{urgent} « <strong>{}</strong> » au cabinet : {}.</p><p>Elle ne partira qu'une fois approuvée :</p>{}",
            escape_html(&c.author.name),
            escape_html(&c.title),
            escape_html(&what),
            button(url, "Voir la campagne et décider")
        ),
        body_text: format!(
            "Bonjour,\n\n{} a soumis la campagne{urgent} « {} » au cabinet : {what}.\n\nElle ne partira qu'une fois approuvée : {url}",
            c.author.name, c.title
        ),
        preferences_url: None,
    }
}

/// The email telling the author what the cabinet decided.
fn decided_email(c: &Campaign, decision: Decision, url: &str) -> EmailContent {
    let (news, detail) = match decision {
        Decision::Approved if c.send_at.is_some() => (
            "a été approuvée par le cabinet",
            "Elle partira à l'heure programmée.".to_owned(),
        ),
        Decision::Approved => (
            "a été approuvée par le cabinet",
            "Son envoi commence.".to_owned(),
        ),
        Decision::Rejected => (
            "a été refusée par le cabinet",
            format!(
                "Motif : « {} ». Vous pouvez la modifier et la soumettre à nouveau.",
                c.rejection_reason().unwrap_or("non précisé")
            ),
        ),
    };
    EmailContent {
        subject: format!("[Télmail] La campagne « {} » {news}", c.title),
        body_html: format!(
            "<p>Bonjour,</p><p>La campagne « {} » {news}.</p><p>{}</p>{}",
            escape_html(&c.title),
            escape_html(&detail),
            button(url, "Voir la campagne")
        ),
        body_text: format!(
            "Bonjour,\n\nLa campagne « {} » {news}.\n\n{detail}\n\nVoir la campagne : {url}",
            c.title
        ),
        preferences_url: None,
    }
}
