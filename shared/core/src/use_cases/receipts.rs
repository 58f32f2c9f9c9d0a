//! SMS delivery receipts: what the operator reported once it had the message (delivered to the
//! phone or not, and what it billed), so the statistics show delivered and failed SMS, not only
//! those the provider accepted. On AWS they come from SNS's delivery status logs.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, Month};
use crate::error::DomainError;
use crate::ports::{Counter, QuotaStore, StatsStore};

/// What the operator reported about one SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    /// The provider's message id (the one it answered the send with).
    pub message_id: String,
    /// When the provider handled it (the month it counts in).
    pub at: DateTime<Utc>,
    /// Delivered to the phone (else the operator could not deliver it).
    pub delivered: bool,
    /// What the operator billed, in millionths of a US dollar.
    pub billed_micro_usd: i64,
}

/// How long a receipt is remembered, so that one reported twice counts once.
const REMEMBERED: chrono::Duration = chrono::Duration::days(7);

/// Counts delivery receipts in the monthly statistics.
pub struct Receipts {
    stats: Arc<dyn StatsStore>,
    quotas: Arc<dyn QuotaStore>,
    clock: Arc<dyn Clock>,
}

impl Receipts {
    /// Receipts counted in `stats`, remembered in `quotas`.
    pub fn new(
        stats: Arc<dyn StatsStore>,
        quotas: Arc<dyn QuotaStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            stats,
            quotas,
            clock,
        }
    }

    /// Counts each receipt once, in the month it happened (a receipt delivered again by the
    /// log subscription counts nothing); returns how many were new.
    pub async fn record_sms(&self, receipts: &[SmsReceipt]) -> Result<usize, DomainError> {
        let now = self.clock.now();
        let mut by_month: BTreeMap<Month, [i64; 3]> = BTreeMap::new();
        let mut new = 0;
        for r in receipts {
            let key = format!("sms-receipt:{}", r.message_id);
            if self
                .quotas
                .take(&key, 1, now, now + REMEMBERED)
                .await?
                .is_none()
            {
                continue;
            }
            new += 1;
            let counts = by_month.entry(Month::of(r.at)).or_default();
            counts[usize::from(!r.delivered)] += 1;
            counts[2] += r.billed_micro_usd;
        }
        for (month, [delivered, undelivered, billed]) in by_month {
            let deltas = [
                (Counter::SmsDelivered, delivered),
                (Counter::SmsUndelivered, undelivered),
                (Counter::SmsBilledMicroUsd, billed),
            ];
            self.stats.add_many(month, &deltas).await?;
        }
        Ok(new)
    }
}
