//! Where a campaign stands in the workflow, with the cabinet's reason when it was rejected:
//! a reason cannot stand beside any other status, in memory or in a store.

use serde::{Deserialize, Serialize};

use super::CampaignStatus;

/// A campaign's status, and the cabinet's reason when it is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StageFields", into = "StageFields")]
pub struct Stage {
    status: CampaignStatus,
    rejection_reason: Option<String>,
}

/// Refused: a rejection reason beside a status other than « refusée ».
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a rejection reason beside the status {0:?}")]
pub struct ReasonWithoutRejection(CampaignStatus);

impl Stage {
    /// At `status`, with no reason (a rejection read back without one, from before reasons
    /// were kept, has none).
    pub(super) fn at(status: CampaignStatus) -> Self {
        Self {
            status,
            rejection_reason: None,
        }
    }

    /// Rejected by the cabinet, saying why.
    pub(super) fn rejected(reason: String) -> Self {
        Self {
            status: CampaignStatus::Rejected,
            rejection_reason: Some(reason),
        }
    }

    /// The status.
    pub fn status(&self) -> CampaignStatus {
        self.status
    }

    /// The cabinet's reason, when rejected.
    pub fn rejection_reason(&self) -> Option<&str> {
        self.rejection_reason.as_deref()
    }
}

/// The stage as stores and the API write it: two fields beside the campaign's others.
#[derive(Serialize, Deserialize)]
struct StageFields {
    status: CampaignStatus,
    #[serde(default)]
    rejection_reason: Option<String>,
}

impl TryFrom<StageFields> for Stage {
    type Error = ReasonWithoutRejection;

    fn try_from(f: StageFields) -> Result<Self, Self::Error> {
        match (f.status, f.rejection_reason) {
            (CampaignStatus::Rejected, Some(reason)) => Ok(Self::rejected(reason)),
            (status, None) => Ok(Self::at(status)),
            (status, Some(_)) => Err(ReasonWithoutRejection(status)),
        }
    }
}

impl From<Stage> for StageFields {
    fn from(s: Stage) -> Self {
        Self {
            status: s.status,
            rejection_reason: s.rejection_reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_read_back_only_beside_a_rejection() {
        let rejected = r#"{"status":"rejected","rejection_reason":"Date erronée"}"#;
        let stage: Stage = serde_json::from_str(rejected).unwrap();
        assert_eq!(stage.rejection_reason(), Some("Date erronée"));
        assert_eq!(serde_json::to_string(&stage).unwrap(), rejected);
        let approved = r#"{"status":"approved","rejection_reason":"Date erronée"}"#;
        assert!(serde_json::from_str::<Stage>(approved).is_err());
        let draft: Stage = serde_json::from_str(r#"{"status":"draft"}"#).unwrap();
        assert_eq!(
            (draft.status(), draft.rejection_reason()),
            (CampaignStatus::Draft, None)
        );
    }
}
