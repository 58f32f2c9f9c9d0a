//! The `send` function's start-up check: can the sending rates keep `SendConcurrency` senders
//! supplied within an invocation's time? Senders beyond that hand part of each batch back to
//! the queue unsent (nothing is lost: they book no slot and claim nothing), so the check does
//! not stop the function, which would stop the town's messages; it logs
//! `send_concurrency_over_rate` with the figures, which the template turns into an alarm.

use std::time::Duration;

use telmail_core::config::SendRates;
use telmail_core::domain::contact::Channel;
use telmail_core::use_cases::dispatch::pacing::senders_fed;

use crate::{env, Aws, StartupError};

/// The `send` function's timeout (`SendFunction` in template.yaml): each invocation's time.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Messages per SQS batch given to `send` (its event sources' `BatchSize`).
pub const SEND_BATCH: u32 = 10;

/// The queues `send` reads, each by up to `SendConcurrency` invocations at once (the ordinary
/// and the urgent lane).
pub const SEND_LANES: u32 = 2;

/// A channel whose rate cannot feed the configured senders.
#[derive(Debug, Clone, PartialEq)]
pub struct Underfed {
    pub channel: Channel,
    /// Messages a second the channel is paced at.
    pub rate: f64,
    /// Senders its rate keeps supplied.
    pub fed: u32,
}

/// The channels whose rate cannot keep `concurrency` senders a lane supplied (an unpaced channel
/// feeds any number).
pub fn underfed(concurrency: u32, rates: &SendRates) -> Vec<Underfed> {
    [
        (Channel::Email, rates.email),
        (Channel::Sms, rates.sms),
        (Channel::Voice, rates.voice),
    ]
    .into_iter()
    .filter_map(|(channel, rate)| {
        let rate = rate?;
        let fed = senders_fed(rate, SEND_TIMEOUT, SEND_BATCH, SEND_LANES);
        (concurrency > fed).then_some(Underfed { channel, rate, fed })
    })
    .collect()
}

/// Reads `TELMAIL_SEND_CONCURRENCY` (the template's `SendConcurrency`; no check without it) and
/// logs `send_concurrency_over_rate` for each channel whose rate cannot feed that many senders.
pub fn check(aws: &Aws) -> Result<(), StartupError> {
    let Some(concurrency) =
        env::optional_parsed::<u32>("TELMAIL_SEND_CONCURRENCY", "a whole number")?
    else {
        return Ok(());
    };
    let rates = &aws.use_cases.residents.config().send_rates;
    for u in underfed(concurrency, rates) {
        tracing::error!(
            event = "send_concurrency_over_rate",
            channel = %u.channel,
            rate = u.rate,
            send_concurrency = concurrency,
            senders_fed = u.fed,
            "SendConcurrency is more than this channel's rate can feed in an invocation: lower it, or raise the rate"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(email: Option<f64>, sms: Option<f64>) -> SendRates {
        SendRates {
            email,
            sms,
            voice: None,
        }
    }

    #[test]
    fn the_default_five_senders_are_too_many_for_the_ses_sandbox() {
        let found = underfed(5, &rates(Some(1.0), Some(20.0)));
        assert_eq!(
            found,
            vec![Underfed {
                channel: Channel::Email,
                rate: 1.0,
                fed: 1
            }]
        );
    }

    #[test]
    fn production_rates_feed_the_default_and_not_eighteen() {
        assert!(underfed(5, &rates(Some(14.0), Some(20.0))).is_empty());
        assert!(underfed(17, &rates(Some(14.0), Some(20.0))).is_empty());
        let found = underfed(18, &rates(Some(14.0), Some(20.0)));
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].channel, found[0].fed), (Channel::Email, 17));
    }

    #[test]
    fn calls_at_one_a_second_feed_one_sender() {
        let mut r = rates(Some(14.0), Some(20.0));
        r.voice = Some(1.0);
        let found = underfed(5, &r);
        assert_eq!((found.len(), found[0].channel), (1, Channel::Voice));
    }

    #[test]
    fn an_unpaced_channel_feeds_any_number() {
        assert!(underfed(1000, &rates(None, None)).is_empty());
    }
}
