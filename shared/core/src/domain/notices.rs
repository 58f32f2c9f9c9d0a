//! The notices Télmail sends staff about their work, and which of them an account turned off.
//! Every notice is on until its account turns it off; the pages show the same news either way.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::domain::staff::{Role, StaffIdentity};
use crate::error::{DomainError, FieldErrors};

/// One email or SMS notice to staff (stored and sent on the wire as its snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffNotice {
    /// Cabinet: a campaign was submitted for approval (email).
    SubmittedEmail,
    /// Cabinet: an urgent campaign was submitted (SMS, to the account's mobile).
    SubmittedUrgentSms,
    /// Author: the cabinet approved or refused their campaign (email).
    DecisionEmail,
    /// Department: their proposal was taken, declined or sent (email).
    ProposalEmail,
    /// Cabinet: a weather alert waits for approval (email).
    WeatherEmail,
    /// Cabinet: a weather alert waits for approval (SMS).
    WeatherSms,
}

impl StaffNotice {
    /// Every notice, in the order the account page lists them.
    pub const ALL: [StaffNotice; 6] = [
        StaffNotice::SubmittedEmail,
        StaffNotice::SubmittedUrgentSms,
        StaffNotice::DecisionEmail,
        StaffNotice::ProposalEmail,
        StaffNotice::WeatherEmail,
        StaffNotice::WeatherSms,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffNotice::SubmittedEmail => "submitted_email",
            StaffNotice::SubmittedUrgentSms => "submitted_urgent_sms",
            StaffNotice::DecisionEmail => "decision_email",
            StaffNotice::ProposalEmail => "proposal_email",
            StaffNotice::WeatherEmail => "weather_email",
            StaffNotice::WeatherSms => "weather_sms",
        }
    }

    /// What it tells, in French, for the account page.
    pub fn label(self) -> &'static str {
        match self {
            StaffNotice::SubmittedEmail => "E-mail quand une campagne est soumise au cabinet",
            StaffNotice::SubmittedUrgentSms => {
                "SMS quand une campagne urgente est soumise au cabinet"
            }
            StaffNotice::DecisionEmail => {
                "E-mail quand le cabinet approuve ou refuse une de mes campagnes"
            }
            StaffNotice::ProposalEmail => {
                "E-mail quand une de mes propositions est retenue, refusée ou envoyée"
            }
            StaffNotice::WeatherEmail => {
                "E-mail quand une alerte météo attend l'approbation du cabinet"
            }
            StaffNotice::WeatherSms => "SMS quand une alerte météo attend l'approbation du cabinet",
        }
    }

    /// The role whose members receive it.
    pub fn role(self) -> Role {
        match self {
            StaffNotice::SubmittedEmail
            | StaffNotice::SubmittedUrgentSms
            | StaffNotice::WeatherEmail
            | StaffNotice::WeatherSms => Role::Cabinet,
            StaffNotice::DecisionEmail => Role::Redaction,
            StaffNotice::ProposalEmail => Role::Service,
        }
    }

    /// Whether it goes by SMS (to the account's mobile) rather than by email.
    pub fn by_sms(self) -> bool {
        matches!(
            self,
            StaffNotice::SubmittedUrgentSms | StaffNotice::WeatherSms
        )
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<StaffNotice> {
        StaffNotice::ALL.into_iter().find(|n| n.as_str() == name)
    }
}

/// The notices one account turned off (none: every notice is on).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeSettings {
    /// Turned off.
    #[serde(default)]
    pub off: BTreeSet<StaffNotice>,
}

impl NoticeSettings {
    /// Whether the account receives `notice`.
    pub fn wants(&self, notice: StaffNotice) -> bool {
        !self.off.contains(&notice)
    }

    /// The settings an account asks for: `off` names notices by their wire names; an unknown
    /// name is refused, naming the field.
    pub fn parse(off: &[String]) -> Result<NoticeSettings, DomainError> {
        let mut settings = NoticeSettings::default();
        for name in off {
            match StaffNotice::parse(name.trim()) {
                Some(n) => {
                    settings.off.insert(n);
                }
                None => {
                    let known: Vec<&str> = StaffNotice::ALL.iter().map(|n| n.as_str()).collect();
                    return Err(FieldErrors::single(
                        "off",
                        format!("Avis inconnu : « {name} » (avis : {}).", known.join(", ")),
                    ));
                }
            }
        }
        Ok(settings)
    }
}

/// The notices that concern an identity (by its roles), in the account page's order.
pub fn notices_for(who: &StaffIdentity) -> Vec<StaffNotice> {
    StaffNotice::ALL
        .into_iter()
        .filter(|n| who.has(n.role()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_is_on_until_turned_off_and_names_parse_back() {
        let all_on = NoticeSettings::default();
        assert!(StaffNotice::ALL.iter().all(|n| all_on.wants(*n)));
        for n in StaffNotice::ALL {
            assert_eq!(StaffNotice::parse(n.as_str()), Some(n));
            assert_eq!(
                serde_json::to_value(n).unwrap(),
                serde_json::json!(n.as_str())
            );
        }
        let some = NoticeSettings::parse(&["weather_sms".into(), "decision_email".into()]).unwrap();
        assert!(!some.wants(StaffNotice::WeatherSms));
        assert!(!some.wants(StaffNotice::DecisionEmail));
        assert!(some.wants(StaffNotice::SubmittedEmail));
        let err = NoticeSettings::parse(&["pigeon".into()]).unwrap_err();
        let DomainError::Validation(fields) = err else {
            panic!("{err:?}")
        };
        assert!(fields.get("off").unwrap().contains("« pigeon »"));
    }

    #[test]
    fn an_account_sees_the_notices_of_its_roles() {
        let who = StaffIdentity {
            id: "c".into(),
            name: "C".into(),
            roles: [Role::Cabinet].into(),
            email: None,
            phone: None,
            department: None,
        };
        let mine = notices_for(&who);
        assert!(mine.contains(&StaffNotice::SubmittedEmail));
        assert!(!mine.contains(&StaffNotice::DecisionEmail));
        assert!(!mine.contains(&StaffNotice::ProposalEmail));
    }
}
