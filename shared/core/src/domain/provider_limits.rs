//! The providers' limits before approval: does a campaign's email fit the daily sending quota,
//! its SMS the monthly spend limit and the sending window, and when would each finish?
//!
//! Pure: the figures (read from the providers, or from the local settings) come in, the outlook
//! goes out. The rule, as the cabinet reads it:
//! - a non-urgent campaign whose emails exceed what is left of today's quota, or whose SMS
//!   exceed what is left of the month's spend limit, is refused: it could not finish, and what
//!   it left behind would wait or fail;
//! - one that fits but runs into the next day (email at the provider's rate, non-urgent SMS
//!   only inside the sending window) is approved with a warning;
//! - an urgent campaign is never refused here (an emergency must go out to whoever it can
//!   reach), but the provider's hard limits still hold: the warning says how many emails
//!   wait for the quota to free up, or that SMS beyond the spend limit will be refused.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::clock::town_date;
use crate::domain::money::Money;
use crate::domain::sending_window::SendingWindow;

/// The currency a spend limit is kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Currency {
    /// Euros excluding VAT: the service's own prices (the local budget).
    #[serde(rename = "EUR")]
    Euro,
    /// US dollars: what Amazon SNS bills and limits.
    #[serde(rename = "USD")]
    Dollar,
}

/// A monthly SMS spend limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpendLimit {
    /// The most the month may cost, in `currency` (ten-thousandths, as [`Money`]).
    pub amount: Money,
    pub currency: Currency,
}

/// What the providers allow, as read before approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProviderQuotas {
    /// Emails the provider accepts in any 24 hours (none: no limit).
    pub email_daily_quota: Option<u64>,
    /// Emails it has accepted over the last 24 hours.
    pub emails_sent_last_24h: u64,
    /// The month's SMS spend limit (none: no limit).
    pub sms_monthly_limit: Option<SpendLimit>,
}

/// A campaign's sending as the outlook weighs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendPlan {
    /// Email recipients.
    pub emails: u64,
    /// SMS recipients.
    pub sms: u64,
    /// SMS segments billed (recipients × segments).
    pub sms_segments: u64,
    /// What the SMS will cost, in the spend limit's currency.
    pub sms_cost: Money,
    /// What this month's SMS have cost so far, in the spend limit's currency.
    pub sms_spent_this_month: Money,
    /// Urgent: ignores the sending window, never refused here.
    pub urgent: bool,
    /// When the quotas were read.
    pub now: DateTime<Utc>,
    /// When sending starts (now, or the planned time).
    pub start: DateTime<Utc>,
    /// Emails per second (none: as fast as the provider answers).
    pub email_rate: Option<f64>,
    /// SMS per second (none: as fast as the provider answers).
    pub sms_rate: Option<f64>,
}

/// The email side of an outlook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailOutlook {
    pub recipients: u64,
    /// Emails the provider accepts in any 24 hours (null: no limit).
    pub daily_quota: Option<u64>,
    /// What is left of it when sending starts (null: no limit).
    pub remaining_today: Option<u64>,
    /// Whether every email fits in what is left.
    pub fits_quota: bool,
    /// Emails per second (null: as fast as the provider answers).
    pub rate_per_second: Option<f64>,
    /// When the last email would go out (null: unknown, no rate); over today's quota, at the
    /// latest as the quota frees a day at a time.
    pub finishes_at: Option<DateTime<Utc>>,
    /// Whether it finishes on a later day (Europe/Paris) than it starts.
    pub runs_into_next_day: bool,
}

/// The SMS side of an outlook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SmsOutlook {
    pub recipients: u64,
    /// Segments billed.
    pub segments: u64,
    /// What they cost, in `currency`.
    pub cost: Money,
    /// The month's spend limit (null: no limit).
    pub monthly_limit: Option<Money>,
    /// What the month's SMS have cost so far.
    pub spent_this_month: Money,
    /// The currency of the three amounts above.
    pub currency: Currency,
    /// Whether the cost fits in what is left of the limit.
    pub fits_limit: bool,
    /// SMS per second (null: as fast as the provider answers).
    pub rate_per_second: Option<f64>,
    /// When the first SMS may go out (the window's next opening for non-urgent SMS).
    pub starts_at: DateTime<Utc>,
    /// When the last SMS would go out (null: unknown, no rate).
    pub finishes_at: Option<DateTime<Utc>>,
    /// Whether it finishes on a later day (Europe/Paris) than it starts.
    pub runs_into_next_day: bool,
}

/// Whether a campaign fits the providers' limits, and when it would finish.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SendingOutlook {
    /// False when approval is refused: `refusals` says why.
    pub can_start: bool,
    /// Why it cannot start (French, with the figures).
    pub refusals: Vec<String>,
    /// What the cabinet should know but does not stop it (French).
    pub warnings: Vec<String>,
    /// Null without email.
    pub email: Option<EmailOutlook>,
    /// Null without SMS.
    pub sms: Option<SmsOutlook>,
}

impl SendingOutlook {
    /// Nothing to weigh: no refusal, no warning.
    pub fn empty() -> Self {
        Self {
            can_start: true,
            refusals: Vec::new(),
            warnings: Vec::new(),
            email: None,
            sms: None,
        }
    }
}

/// Weighs a campaign against the providers' limits and the sending window.
pub fn outlook(plan: &SendPlan, quotas: &ProviderQuotas, window: &SendingWindow) -> SendingOutlook {
    let mut out = SendingOutlook::empty();
    if plan.emails > 0 {
        out.email = Some(email_outlook(
            plan,
            quotas,
            &mut out.refusals,
            &mut out.warnings,
        ));
    }
    if plan.sms > 0 {
        out.sms = Some(sms_outlook(
            plan,
            quotas,
            window,
            &mut out.refusals,
            &mut out.warnings,
        ));
    }
    out.can_start = out.refusals.is_empty();
    out
}

fn email_outlook(
    plan: &SendPlan,
    quotas: &ProviderQuotas,
    refusals: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> EmailOutlook {
    let n = plan.emails;
    // SES counts a rolling 24 hours: a start a day or more away finds the quota whole again.
    let remaining = quotas.email_daily_quota.map(|quota| {
        if plan.start >= plan.now + Duration::hours(24) {
            quota
        } else {
            quota.saturating_sub(quotas.emails_sent_last_24h)
        }
    });
    let fits = remaining.is_none_or(|left| n <= left);
    let finishes_at = plan
        .email_rate
        .map(|rate| email_finish(plan, remaining, quotas.email_daily_quota, rate));
    let runs_into_next_day = finishes_at.is_some_and(|end| town_date(end) > town_date(plan.start));
    if let (false, Some(left)) = (fits, remaining) {
        over_email_quota(plan, quotas, left, finishes_at, refusals, warnings);
    }
    if runs_into_next_day && fits {
        if let Some(end) = finishes_at {
            warnings.push(format!(
                "Les e-mails partiront jusqu'au lendemain : fin prévue {} (heure de Paris), au rythme de {} par seconde.",
                paris(end),
                rate_text(plan.email_rate)
            ));
        }
    }
    EmailOutlook {
        recipients: n,
        daily_quota: quotas.email_daily_quota,
        remaining_today: remaining,
        fits_quota: fits,
        rate_per_second: plan.email_rate,
        finishes_at,
        runs_into_next_day,
    }
}

/// When the last email goes at `rate`: what is over today's quota goes as the rolling 24
/// hours free it, a quota's worth a day at most (at the latest a day per quota, plus the last
/// part's time).
fn email_finish(
    plan: &SendPlan,
    remaining: Option<u64>,
    daily_quota: Option<u64>,
    rate: f64,
) -> DateTime<Utc> {
    let n = plan.emails;
    match (remaining, daily_quota) {
        (Some(left), Some(quota)) if n > left && quota > 0 => {
            let over = n - left;
            let days = over.div_ceil(quota);
            let last = over - (days - 1) * quota;
            plan.start + Duration::hours(24 * days as i64) + seconds(last, rate)
        }
        _ => plan.start + seconds(n, rate),
    }
}

/// The refusal (quota used up, not urgent) or warning (part waits for the quota) of emails
/// over what is `left` of the daily quota.
fn over_email_quota(
    plan: &SendPlan,
    quotas: &ProviderQuotas,
    left: u64,
    finishes_at: Option<DateTime<Utc>>,
    refusals: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let n = plan.emails;
    let later = match finishes_at {
        Some(end) => format!(", fin prévue au plus tard {} (heure de Paris)", paris(end)),
        None => String::new(),
    };
    if left == 0 && !plan.urgent {
        refusals.push(format!(
            "Quota d'envoi d'e-mails épuisé : aucun des {} e-mails ne peut partir maintenant (quota de {} par 24 heures, entièrement utilisé). Programmez l'envoi plus tard ou faites relever le quota du fournisseur.",
            count(n),
            count(quotas.email_daily_quota.unwrap_or(0))
        ));
    } else {
        let urgent = if plan.urgent {
            "Campagne urgente : cette limite s'impose même en urgence. "
        } else {
            ""
        };
        warnings.push(format!(
            "{urgent}Quota d'envoi d'e-mails insuffisant pour aujourd'hui : {} e-mails sur {} partiront d'abord, les {} autres à mesure que le quota se libère (il compte les 24 dernières heures){later}. Pour tout envoyer aujourd'hui, faites relever le quota du fournisseur.",
            count(left),
            count(n),
            count(n - left)
        ));
    }
}

fn sms_outlook(
    plan: &SendPlan,
    quotas: &ProviderQuotas,
    window: &SendingWindow,
    refusals: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> SmsOutlook {
    let currency = quotas
        .sms_monthly_limit
        .map_or(Currency::Euro, |l| l.currency);
    let limit = quotas.sms_monthly_limit.map(|l| l.amount);
    let left = limit.map(|l| {
        if l > plan.sms_spent_this_month {
            Money::from_ten_thousandths(
                l.ten_thousandths() - plan.sms_spent_this_month.ten_thousandths(),
            )
        } else {
            Money::ZERO
        }
    });
    let fits = left.is_none_or(|left| plan.sms_cost <= left);
    if let (false, Some(left)) = (fits, left) {
        let texts = (
            amount(plan.sms_cost, currency),
            amount(left, currency),
            amount(limit.unwrap_or(Money::ZERO), currency),
        );
        over_sms_limit(plan, texts, refusals, warnings);
    }
    let (starts_at, finishes_at, runs_into_next_day) = sms_timing(plan, window, warnings);
    SmsOutlook {
        recipients: plan.sms,
        segments: plan.sms_segments,
        cost: plan.sms_cost,
        monthly_limit: limit,
        spent_this_month: plan.sms_spent_this_month,
        currency,
        fits_limit: fits,
        rate_per_second: plan.sms_rate,
        starts_at,
        finishes_at,
        runs_into_next_day,
    }
}

/// When the SMS start and end (and whether they run into another day), with the warnings
/// of SMS waiting for the sending window or running past the day.
fn sms_timing(
    plan: &SendPlan,
    window: &SendingWindow,
    warnings: &mut Vec<String>,
) -> (DateTime<Utc>, Option<DateTime<Utc>>, bool) {
    let waits = !plan.urgent && !window.is_open(plan.start);
    let starts_at = if plan.urgent {
        plan.start
    } else {
        window.next_opening(plan.start)
    };
    let finishes_at = plan.sms_rate.and_then(|rate| {
        let needed = seconds(plan.sms, rate);
        if plan.urgent {
            Some(starts_at + needed)
        } else {
            finish_inside_window(window, starts_at, needed)
        }
    });
    let runs_into_next_day = finishes_at.is_some_and(|end| town_date(end) > town_date(starts_at));
    if waits {
        warnings.push(format!(
            "Hors des heures d'envoi des SMS : ils partiront à l'ouverture, {} (heure de Paris).",
            paris(starts_at)
        ));
    }
    if let (true, Some(end)) = (runs_into_next_day, finishes_at) {
        let why = if plan.urgent {
            String::new()
        } else {
            " et seulement pendant les heures d'envoi".to_owned()
        };
        warnings.push(format!(
            "Les SMS partiront jusqu'à un jour suivant : fin prévue {} (heure de Paris), au rythme de {} par seconde{why}.",
            paris(end),
            rate_text(plan.sms_rate)
        ));
    }
    (starts_at, finishes_at, runs_into_next_day)
}

/// The refusal (not urgent) or warning (urgent) of SMS costing more than is left under the
/// monthly limit; `(cost, left, limit)` as written.
fn over_sms_limit(
    plan: &SendPlan,
    (cost, left, limit): (String, String, String),
    refusals: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    if plan.urgent {
        warnings.push(format!(
            "Campagne urgente : l'envoi part, mais ses SMS coûteraient {cost} quand il ne reste que {left} sur le plafond mensuel de {limit}. Ce plafond s'impose même en urgence : le fournisseur refusera les SMS qui le dépassent."
        ));
    } else {
        refusals.push(format!(
            "Plafond de dépense SMS insuffisant : {} SMS ({} segments) coûteraient {cost} pour {left} restants ce mois-ci (plafond de {limit}). Faites relever le plafond du fournisseur ou réduisez l'envoi.",
            count(plan.sms),
            count(plan.sms_segments)
        ));
    }
}

/// How long `n` messages take at `rate` per second (whole seconds, rounded up).
fn seconds(n: u64, rate: f64) -> Duration {
    if rate <= 0.0 || !rate.is_finite() {
        return Duration::zero();
    }
    Duration::seconds((n as f64 / rate).ceil() as i64)
}

/// When `needed` of sending time, spent only while the window is open, ends, from `start`
/// (an instant the window is open). None if it would take more than two months of windows.
fn finish_inside_window(
    window: &SendingWindow,
    start: DateTime<Utc>,
    needed: Duration,
) -> Option<DateTime<Utc>> {
    let mut at = start;
    let mut left = needed;
    for _ in 0..62 {
        let close = window.closes_after(at)?;
        let open_for = close - at;
        if left <= open_for {
            return Some(at + left);
        }
        left -= open_for;
        at = window.next_opening(close);
    }
    None
}

/// A count in French (`1 240`: narrow no-break space between thousands).
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() * 2);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// An amount in its currency, French style (`12,50 €`, `12,50 $`).
fn amount(value: Money, currency: Currency) -> String {
    let euros = value.to_string();
    match currency {
        Currency::Euro => format!("{euros} HT"),
        Currency::Dollar => format!("{} $ US", euros.trim_end_matches(" €")),
    }
}

/// A rate in French (`14`, `0,5`).
fn rate_text(rate: Option<f64>) -> String {
    rate.map_or_else(|| "?".into(), |r| format!("{r}").replace('.', ","))
}

/// An instant on Paris clocks, as staff read it (`05/03/2026 à 14:30`).
fn paris(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Paris)
        .format("%d/%m/%Y à %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// An instant on Paris clocks.
    fn paris_at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Paris
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn euros(value: i64) -> Money {
        Money::from_ten_thousandths(value * 10_000)
    }

    /// A Wednesday at 10:00 in Paris, inside the default window.
    fn plan(emails: u64, sms: u64) -> SendPlan {
        let now = paris_at(2026, 3, 4, 10, 0);
        SendPlan {
            emails,
            sms,
            sms_segments: sms,
            sms_cost: Money::from_ten_thousandths(1_000) * sms,
            sms_spent_this_month: Money::ZERO,
            urgent: false,
            now,
            start: now,
            email_rate: Some(14.0),
            sms_rate: Some(20.0),
        }
    }

    fn email_quota(quota: u64, sent: u64) -> ProviderQuotas {
        ProviderQuotas {
            email_daily_quota: Some(quota),
            emails_sent_last_24h: sent,
            sms_monthly_limit: None,
        }
    }

    #[test]
    fn without_limits_everything_fits_and_finishes_at_the_rate() {
        let out = outlook(
            &plan(1_400, 200),
            &ProviderQuotas::default(),
            &SendingWindow::default(),
        );
        assert!(out.can_start);
        assert!(
            out.refusals.is_empty() && out.warnings.is_empty(),
            "{out:?}"
        );
        let email = out.email.unwrap();
        assert_eq!(email.remaining_today, None);
        assert_eq!(
            email.finishes_at,
            Some(paris_at(2026, 3, 4, 10, 1) + Duration::seconds(40))
        );
        let sms = out.sms.unwrap();
        assert_eq!(sms.starts_at, paris_at(2026, 3, 4, 10, 0));
        assert_eq!(
            sms.finishes_at,
            Some(paris_at(2026, 3, 4, 10, 0) + Duration::seconds(10))
        );
        assert!(sms.fits_limit && !sms.runs_into_next_day);
    }

    #[test]
    fn emails_over_what_is_left_of_the_daily_quota_start_and_the_rest_waits_for_it() {
        let out = outlook(
            &plan(1_240, 0),
            &email_quota(2_000, 1_200),
            &SendingWindow::default(),
        );
        assert!(out.can_start, "{out:?}");
        // 800 today; the other 440 as the quota frees, at the latest a day later.
        assert_eq!(
            out.warnings,
            ["Quota d'envoi d'e-mails insuffisant pour aujourd'hui : 800 e-mails sur 1\u{202f}240 partiront d'abord, les 440 autres à mesure que le quota se libère (il compte les 24 dernières heures), fin prévue au plus tard 05/03/2026 à 10:00 (heure de Paris). Pour tout envoyer aujourd'hui, faites relever le quota du fournisseur."]
        );
        let email = out.email.unwrap();
        assert_eq!(
            (
                email.remaining_today,
                email.fits_quota,
                email.runs_into_next_day
            ),
            (Some(800), false, true)
        );
        assert_eq!(
            email.finishes_at,
            Some(paris_at(2026, 3, 5, 10, 0) + Duration::seconds(32))
        );
        assert!(out.sms.is_none());
    }

    #[test]
    fn a_quota_used_up_refuses_a_campaign_with_the_figures() {
        let out = outlook(
            &plan(100_000, 0),
            &email_quota(50_000, 50_000),
            &SendingWindow::default(),
        );
        assert!(!out.can_start);
        assert_eq!(
            out.refusals,
            ["Quota d'envoi d'e-mails épuisé : aucun des 100\u{202f}000 e-mails ne peut partir maintenant (quota de 50\u{202f}000 par 24 heures, entièrement utilisé). Programmez l'envoi plus tard ou faites relever le quota du fournisseur."]
        );
        // Two days of quota: the last 50,000 a day later than the first could have gone.
        assert_eq!(
            out.email.unwrap().finishes_at,
            Some(paris_at(2026, 3, 6, 10, 0) + Duration::seconds(3_572))
        );
    }

    #[test]
    fn emails_that_fit_exactly_start() {
        let out = outlook(
            &plan(800, 0),
            &email_quota(2_000, 1_200),
            &SendingWindow::default(),
        );
        assert!(out.can_start, "{out:?}");
        assert_eq!(out.email.unwrap().remaining_today, Some(800));
    }

    #[test]
    fn a_send_planned_a_day_later_finds_the_quota_whole() {
        let mut later = plan(1_240, 0);
        later.start = later.now + Duration::hours(25);
        let out = outlook(
            &later,
            &email_quota(2_000, 1_990),
            &SendingWindow::default(),
        );
        assert!(out.can_start, "{out:?}");
        assert_eq!(out.email.unwrap().remaining_today, Some(2_000));
    }

    #[test]
    fn an_urgent_campaign_over_the_quota_starts_with_a_warning_naming_the_hard_limit() {
        let mut urgent = plan(1_240, 0);
        urgent.urgent = true;
        let out = outlook(
            &urgent,
            &email_quota(2_000, 1_200),
            &SendingWindow::default(),
        );
        assert!(out.can_start);
        assert!(out.warnings[0].starts_with("Campagne urgente : cette limite s'impose même en urgence. Quota d'envoi d'e-mails insuffisant pour aujourd'hui : 800 e-mails"), "{:?}", out.warnings);
        assert!(out.warnings[0].contains("les 440 autres"));
    }

    #[test]
    fn emails_finishing_after_midnight_are_a_warning_not_a_refusal() {
        // A million at 14 a second: 19 h 50 min, from 10:00 to 05:50 the next morning.
        let out = outlook(
            &plan(1_000_000, 0),
            &email_quota(2_000_000, 0),
            &SendingWindow::default(),
        );
        assert!(out.can_start);
        let email = out.email.unwrap();
        assert!(email.runs_into_next_day);
        assert_eq!(
            email.finishes_at,
            Some(paris_at(2026, 3, 4, 10, 0) + Duration::seconds(71_429))
        );
        assert_eq!(
            out.warnings,
            ["Les e-mails partiront jusqu'au lendemain : fin prévue 05/03/2026 à 05:50 (heure de Paris), au rythme de 14 par seconde."]
        );
    }

    #[test]
    fn sms_over_what_is_left_of_the_spend_limit_are_refused() {
        let mut p = plan(0, 1_000);
        p.sms_spent_this_month = euros(950);
        let quotas = ProviderQuotas {
            sms_monthly_limit: Some(SpendLimit {
                amount: euros(1_000),
                currency: Currency::Euro,
            }),
            ..ProviderQuotas::default()
        };
        let out = outlook(&p, &quotas, &SendingWindow::default());
        assert!(!out.can_start);
        assert!(out.refusals[0].starts_with("Plafond de dépense SMS insuffisant : 1\u{202f}000 SMS (1\u{202f}000 segments) coûteraient 100,00 € HT pour 50,00 € HT restants ce mois-ci (plafond de 1\u{202f}000,00 € HT)"), "{}", out.refusals[0]);
        let sms = out.sms.unwrap();
        assert_eq!(sms.monthly_limit, Some(euros(1_000)));
        assert!(!sms.fits_limit);
        // Urgent: the same figures warn, in dollars when the limit is SNS's.
        p.urgent = true;
        let dollars = ProviderQuotas {
            sms_monthly_limit: Some(SpendLimit {
                amount: euros(1_000),
                currency: Currency::Dollar,
            }),
            ..ProviderQuotas::default()
        };
        let out = outlook(&p, &dollars, &SendingWindow::default());
        assert!(out.can_start);
        assert!(
            out.warnings[0].contains(
                "il ne reste que 50,00 $ US sur le plafond mensuel de 1\u{202f}000,00 $ US"
            ),
            "{:?}",
            out.warnings
        );
    }

    #[test]
    fn non_urgent_sms_longer_than_the_window_resume_at_the_next_opening() {
        // A million at 20 a second is 13 h 53 min 20 s of sending; from 08:00 on a Wednesday
        // the 12-hour window takes 12 h, the 1 h 53 min 20 s left go out on Thursday from 08:00.
        let mut p = plan(0, 1_000_000);
        p.now = paris_at(2026, 3, 4, 8, 0);
        p.start = p.now;
        let out = outlook(&p, &ProviderQuotas::default(), &SendingWindow::default());
        assert!(out.can_start);
        let sms = out.sms.unwrap();
        assert_eq!(
            sms.finishes_at,
            Some(paris_at(2026, 3, 5, 9, 53) + Duration::seconds(20))
        );
        assert!(sms.runs_into_next_day);
        assert!(
            out.warnings[0].starts_with(
                "Les SMS partiront jusqu'à un jour suivant : fin prévue 05/03/2026 à 09:53"
            ),
            "{:?}",
            out.warnings
        );
        // Urgent SMS ignore the window: 13 h 53 min 20 s straight, into the night.
        p.urgent = true;
        let out = outlook(&p, &ProviderQuotas::default(), &SendingWindow::default());
        let sms = out.sms.unwrap();
        assert_eq!(
            sms.finishes_at,
            Some(paris_at(2026, 3, 4, 21, 53) + Duration::seconds(20))
        );
        assert!(!sms.runs_into_next_day);
    }

    #[test]
    fn non_urgent_sms_approved_at_night_wait_for_the_opening() {
        // Saturday 21:00: Sunday is closed, Monday 08:00 opens.
        let mut p = plan(0, 100);
        p.now = paris_at(2026, 3, 7, 21, 0);
        p.start = p.now;
        let out = outlook(&p, &ProviderQuotas::default(), &SendingWindow::default());
        assert!(out.can_start);
        let sms = out.sms.unwrap();
        assert_eq!(sms.starts_at, paris_at(2026, 3, 9, 8, 0));
        assert_eq!(
            sms.finishes_at,
            Some(paris_at(2026, 3, 9, 8, 0) + Duration::seconds(5))
        );
        assert_eq!(
            out.warnings,
            ["Hors des heures d'envoi des SMS : ils partiront à l'ouverture, 09/03/2026 à 08:00 (heure de Paris)."]
        );
    }

    #[test]
    fn without_a_rate_the_finish_is_unknown() {
        let mut p = plan(10, 10);
        p.email_rate = None;
        p.sms_rate = None;
        let out = outlook(&p, &ProviderQuotas::default(), &SendingWindow::default());
        assert_eq!(out.email.unwrap().finishes_at, None);
        assert_eq!(out.sms.unwrap().finishes_at, None);
    }
}
