//! Telling the cabinet, by SMS and email, that a weather message waits for its approval.

use crate::domain::alert_templates::AlertMessage;
use crate::domain::campaign::CampaignId;
use crate::domain::notices::StaffNotice;
use crate::domain::staff::Role;
use crate::domain::weather::Vigilance;
use crate::error::SendError;
use crate::ports::OutgoingSms;
use crate::render::messages::cabinet_approval_email;
use crate::use_cases::staff_notices::wants;

use super::WeatherRelay;

/// How the cabinet was told of a campaign waiting for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Told {
    /// Cabinet members found.
    pub members: usize,
    /// Emails and SMS the providers accepted.
    pub emails: usize,
    pub sms: usize,
    /// Messages that could not be sent, or why the members could not be listed.
    pub failures: Vec<String>,
    /// Members who turned both weather notices off.
    pub muted: usize,
}

impl Told {
    /// In French, for the line of the cycle.
    pub fn describe(&self) -> String {
        let mut out = if self.members == 0 && self.failures.is_empty() {
            "aucun membre du cabinet à prévenir : créez un compte avec le rôle cabinet".to_owned()
        } else {
            format!(
                "cabinet prévenu : {} courriel(s), {} SMS",
                self.emails, self.sms
            )
        };
        if self.muted > 0 {
            out.push_str(&format!(
                " ; {} membre(s) ont coupé ces avis dans leur compte",
                self.muted
            ));
        }
        if !self.failures.is_empty() {
            out.push_str(&format!(" (échecs : {})", self.failures.join(" ; ")));
        }
        out
    }
}

impl WeatherRelay {
    /// Tells every active cabinet member, on each contact they have, with a link to the
    /// campaign. Failures are logged (without contacts) and reported, never fatal: the
    /// campaign waits in the approval queue all the same.
    pub(super) async fn tell_cabinet(
        &self,
        v: &Vigilance,
        message: AlertMessage,
        id: CampaignId,
    ) -> Told {
        let mut told = Told::default();
        let members = match self.d.directory.holding(Role::Cabinet).await {
            Ok(members) => members,
            Err(e) => {
                tracing::warn!(alarm = "cabinet_not_told", error = %e, "cannot list the cabinet");
                told.failures
                    .push(format!("liste du cabinet indisponible ({e})"));
                return told;
            }
        };
        told.members = members.len();
        let what = format!(
            "{} {} {}",
            match message {
                AlertMessage::Alert => "vigilance",
                AlertMessage::End => "fin de vigilance",
            },
            v.colour,
            v.phenomenon.label()
        );
        let url = format!("{}/admin/campagnes/{id}", self.d.public_url);
        let sms_text = format!("Telmail : {what} a approuver d'urgence : {url}");
        let settings = self.d.notice_settings.as_ref();
        for member in members {
            let email = wants(settings, &member.id, StaffNotice::WeatherEmail).await;
            let sms = wants(settings, &member.id, StaffNotice::WeatherSms).await;
            if !email && !sms {
                told.muted += 1;
            }
            if let (true, Some(to)) = (email, &member.email) {
                let content = cabinet_approval_email(&self.d.town, &what, &sms_text, &url);
                let sent = match self.d.layout.compose(to, content, None) {
                    Ok(email) => self.d.email.send_email(&email).await.map(|_| ()),
                    Err(e) => Err(SendError::Permanent(e.to_string())),
                };
                self.count(&mut told, sent, "courriel");
            }
            if let (true, Some(to)) = (sms, &member.phone) {
                let sms = OutgoingSms {
                    to: to.clone(),
                    text: sms_text.clone(),
                };
                let sent = self.d.sms.send_sms(&sms).await.map(|_| ());
                self.count(&mut told, sent, "SMS");
            }
        }
        told
    }

    fn count(&self, told: &mut Told, sent: Result<(), SendError>, channel: &str) {
        let why = match sent {
            Ok(()) if channel == "SMS" => return told.sms += 1,
            Ok(()) => return told.emails += 1,
            // The provider's own words may quote the address: neither logged nor shown.
            Err(SendError::Transient(_) | SendError::Throttled(_)) => {
                "échec temporaire du fournisseur"
            }
            Err(SendError::Paused(_)) => "envois suspendus chez le fournisseur",
            Err(SendError::Permanent(_)) => "refusé par le fournisseur",
            Err(SendError::Unknown(_)) => "issue inconnue",
        };
        tracing::warn!(
            alarm = "cabinet_not_told",
            channel,
            why,
            "cabinet message not sent"
        );
        told.failures.push(format!("{channel} : {why}"));
    }
}
