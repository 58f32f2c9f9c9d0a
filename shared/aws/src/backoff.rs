//! Waits between retries of the parts of a batch AWS did not take (DynamoDB unprocessed keys,
//! SQS entries refused for a transient reason): exponential with full jitter, so functions
//! throttled together do not all come back at the same instant.

use std::time::Duration;

/// Waits a random time under `base × 2^round`.
pub async fn wait(round: u32, base: Duration) {
    let wait = jittered(round, base, &mut rand::rng());
    tokio::time::sleep(wait).await;
}

/// A random wait between nothing and the round's cap, `base × 2^round`.
fn jittered(round: u32, base: Duration, rng: &mut impl rand::Rng) -> Duration {
    let cap_ms = (base.as_millis() as u64) << round.min(16);
    Duration::from_millis(rng.random_range(0..=cap_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_a_random_time_under_an_exponential_cap() {
        let mut rng = rand::rng();
        let base = Duration::from_millis(25);
        for round in 0..8 {
            let cap = base * 2u32.pow(round);
            let waits: Vec<Duration> = (0..200).map(|_| jittered(round, base, &mut rng)).collect();
            assert!(waits.iter().all(|w| *w <= cap), "round {round}");
            let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
            assert!(distinct.len() > 5, "round {round}: {distinct:?}");
        }
    }
}
