//! The providers' limits on AWS: SES's daily sending quota (and what the account sent over the
//! last 24 hours), SNS's monthly SMS spend limit (in US dollars, as SNS keeps it).

use async_trait::async_trait;
use aws_smithy_types::error::display::DisplayErrorContext;
use chrono::{DateTime, Utc};
use telmail_core::domain::money::Money;
use telmail_core::domain::provider_limits::{Currency, ProviderQuotas, SpendLimit};
use telmail_core::error::StoreError;
use telmail_core::ports::ProviderLimits;

/// The SNS attribute holding the account's monthly SMS spend limit, in whole US dollars.
pub const MONTHLY_SPEND_LIMIT: &str = "MonthlySpendLimit";

/// Reads the limits from SES v2 `GetAccount` and SNS `GetSMSAttributes`.
pub struct AwsLimits {
    ses: aws_sdk_sesv2::Client,
    sns: aws_sdk_sns::Client,
}

impl AwsLimits {
    /// Limits read with these clients.
    pub fn new(ses: aws_sdk_sesv2::Client, sns: aws_sdk_sns::Client) -> Self {
        Self { ses, sns }
    }
}

/// Why SNS did not say the account's monthly SMS spend limit.
#[derive(Debug, thiserror::Error)]
pub enum SpendLimitError {
    /// The call failed; the SDK's whole context.
    #[error("SNS GetSMSAttributes: {0}")]
    Call(String),
    /// The attribute is not an amount.
    #[error("SNS GetSMSAttributes: unreadable {MONTHLY_SPEND_LIMIT} {0:?}")]
    Unreadable(String),
}

/// The account's monthly SMS spend limit (none when SNS has none set).
pub async fn monthly_spend_limit(
    sns: &aws_sdk_sns::Client,
) -> Result<Option<Money>, SpendLimitError> {
    let out = sns
        .get_sms_attributes()
        .attributes(MONTHLY_SPEND_LIMIT)
        .send()
        .await
        .map_err(|e| SpendLimitError::Call(DisplayErrorContext(e).to_string()))?;
    let Some(raw) = out.attributes().and_then(|a| a.get(MONTHLY_SPEND_LIMIT)) else {
        return Ok(None);
    };
    raw.trim()
        .parse::<Money>()
        .map(Some)
        .map_err(|_| SpendLimitError::Unreadable(raw.clone()))
}

#[async_trait]
impl ProviderLimits for AwsLimits {
    /// A limit that cannot be read (a permission missing, the service down) is logged and left
    /// unknown: approval then goes by the others rather than stop every campaign.
    async fn quotas(&self, _now: DateTime<Utc>) -> Result<ProviderQuotas, StoreError> {
        let (ses, sns) = tokio::join!(
            crate::ses::send_quota(&self.ses),
            monthly_spend_limit(&self.sns)
        );
        let mut quotas = ProviderQuotas::default();
        match ses {
            Ok(q) => {
                quotas.email_daily_quota = q.max_24_hour_send;
                quotas.emails_sent_last_24h = q.sent_last_24_hours;
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the SES daily quota: not checked"),
        }
        match sns {
            Ok(limit) => {
                quotas.sms_monthly_limit = limit.map(|amount| SpendLimit {
                    amount,
                    currency: Currency::Dollar,
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the SNS SMS spend limit: not checked")
            }
        }
        Ok(quotas)
    }

    /// SES alone (senders read it every minute; they have no use for the SMS spend limit).
    async fn email_quota(&self, _now: DateTime<Utc>) -> Result<ProviderQuotas, StoreError> {
        let q = crate::ses::send_quota(&self.ses)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(ProviderQuotas {
            email_daily_quota: q.max_24_hour_send,
            emails_sent_last_24h: q.sent_last_24_hours,
            sms_monthly_limit: None,
        })
    }
}
