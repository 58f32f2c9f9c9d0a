//! The bounce and complaint brake: a campaign whose emails bounce or draw complaints past the
//! thresholds providers act on stops sending email until staff look (GC Notify's pattern), so one
//! bad list cannot get the town's sending account suspended.

use serde::{Deserialize, Serialize};

use crate::domain::delivery::CampaignProgress;

/// What a recipient's provider reported about an email after accepting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailFeedback {
    /// A permanent bounce (the address does not exist).
    Bounce,
    /// The recipient marked it as spam.
    Complaint,
}

/// Bounces and complaints of a campaign's emails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FeedbackCounts {
    pub bounces: u64,
    pub complaints: u64,
}

/// A bounce rate at or above this (per cent) brakes the campaign (SES reviews an account at 5 %).
pub const BOUNCE_BRAKE_PERCENT: u64 = 5;
/// A complaint rate at or above this (per thousand) brakes the campaign (SES: 0.1 %).
pub const COMPLAINT_BRAKE_PER_THOUSAND: u64 = 1;
/// Emails sent before a bounce rate means something.
pub const BOUNCE_SAMPLE: u64 = 200;
/// Emails sent before a complaint rate means something (one complaint in 200 would be 0.5 %).
pub const COMPLAINT_SAMPLE: u64 = 1000;

/// Why the campaign's emails must stop, in French for staff; none while within the thresholds
/// or before the sample is meaningful.
pub fn brake_reason(progress: &CampaignProgress) -> Option<String> {
    let sent = progress.totals.email.sent;
    let f = progress.feedback;
    let percent = |n: u64| format!("{:.1}", n as f64 * 100.0 / sent as f64).replace('.', ",");
    if sent >= BOUNCE_SAMPLE && f.bounces * 100 >= BOUNCE_BRAKE_PERCENT * sent {
        return Some(format!(
            "taux de rebond de {} % ({} adresses inexistantes sur {sent} e-mails envoyés ; seuil {BOUNCE_BRAKE_PERCENT} %) : la liste contient probablement des adresses périmées",
            percent(f.bounces),
            f.bounces
        ));
    }
    if sent >= COMPLAINT_SAMPLE && f.complaints * 1000 >= COMPLAINT_BRAKE_PER_THOUSAND * sent {
        return Some(format!(
            "taux de plaintes de {} % ({} signalements comme indésirable sur {sent} e-mails envoyés ; seuil 0,1 %)",
            percent(f.complaints),
            f.complaints
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(sent: u64, bounces: u64, complaints: u64) -> CampaignProgress {
        let mut p = CampaignProgress::default();
        p.totals.email.sent = sent;
        p.feedback = FeedbackCounts {
            bounces,
            complaints,
        };
        p
    }

    #[test]
    fn the_brake_needs_a_meaningful_sample_and_a_rate_past_the_threshold() {
        assert_eq!(brake_reason(&progress(199, 100, 0)), None, "too few sent");
        assert_eq!(brake_reason(&progress(1000, 49, 0)), None, "4.9 %");
        let bounce = brake_reason(&progress(1000, 50, 0)).unwrap();
        assert!(
            bounce.starts_with("taux de rebond de 5,0 % (50 adresses"),
            "{bounce}"
        );
        assert_eq!(
            brake_reason(&progress(999, 0, 5)),
            None,
            "too few for complaints"
        );
        assert_eq!(brake_reason(&progress(2001, 0, 2)), None, "under 0.1 %");
        let complaints = brake_reason(&progress(2000, 0, 2)).unwrap();
        assert!(
            complaints.starts_with("taux de plaintes de 0,1 % (2 "),
            "{complaints}"
        );
    }
}
