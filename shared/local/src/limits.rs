//! The provider limits of the embedded server: the operator states them (`--email-daily-quota`,
//! `--sms-monthly-budget`), unlimited by default, and the store says what was sent.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use telmail_core::domain::money::Money;
use telmail_core::domain::provider_limits::{Currency, ProviderQuotas, SpendLimit};
use telmail_core::error::StoreError;
use telmail_core::ports::ProviderLimits;

use crate::store::SqliteStore;

/// The limits given on the command line, over the store's record of what went out.
pub struct LocalLimits {
    store: Arc<SqliteStore>,
    /// Emails the relay accepts in any 24 hours (none: no limit).
    email_daily_quota: Option<u64>,
    /// The most the month's SMS may cost, € HT at the service's prices (none: no limit).
    sms_monthly_budget: Option<Money>,
}

impl LocalLimits {
    /// Limits over `store`.
    pub fn new(
        store: Arc<SqliteStore>,
        email_daily_quota: Option<u64>,
        sms_monthly_budget: Option<Money>,
    ) -> Self {
        Self {
            store,
            email_daily_quota,
            sms_monthly_budget,
        }
    }
}

#[async_trait]
impl ProviderLimits for LocalLimits {
    async fn quotas(&self, now: DateTime<Utc>) -> Result<ProviderQuotas, StoreError> {
        // Counting reads every delivery: only worth it when there is a quota to compare with.
        let emails_sent_last_24h = match self.email_daily_quota {
            Some(_) => {
                self.store
                    .emails_sent_since(now - Duration::hours(24))
                    .await?
            }
            None => 0,
        };
        Ok(ProviderQuotas {
            email_daily_quota: self.email_daily_quota,
            emails_sent_last_24h,
            sms_monthly_limit: self.sms_monthly_budget.map(|amount| SpendLimit {
                amount,
                currency: Currency::Euro,
            }),
        })
    }
}
