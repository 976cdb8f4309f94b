//! Retries for transient errors: a few attempts, exponential backoff with full
//! jitter (so a fleet of invocations does not retry in lockstep), and never a
//! sleep that would end past the deadline.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use crate::report::is_transient;

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt + 1`: uniform in [0, base * 2^(attempt-1)],
    /// capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16))
            .min(self.max_delay);
        let nanos = ceiling.as_nanos().min(u64::MAX as u128) as u64;
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }

    /// Runs `op` until it succeeds, fails permanently, runs out of attempts, or
    /// the next pause would cross `deadline`. Returns the result and the
    /// number of attempts made.
    pub async fn run<T, F, Fut>(&self, deadline: Instant, mut op: F) -> (anyhow::Result<T>, u32)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<T>>,
    {
        let mut attempt = 1;
        loop {
            let result = op().await;
            let err = match result {
                Ok(v) => return (Ok(v), attempt),
                Err(e) => e,
            };
            if attempt >= self.max_attempts || !is_transient(&err) {
                return (Err(err), attempt);
            }
            let pause = self.backoff(attempt);
            if Instant::now() + pause >= deadline {
                let err = err.context(format!(
                    "gave up after attempt {attempt}: no time left before the deadline to retry"
                ));
                return (Err(err), attempt);
            }
            tracing::warn!(attempt, pause_ms = pause.as_millis() as u64, error = %format!("{err:#}"), "transient error, retrying");
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Transient;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for attempt in 1..20 {
            let ceiling = (p.base_delay * 2u32.pow((attempt - 1).min(16))).min(p.max_delay);
            assert!(p.backoff(attempt) <= ceiling);
        }
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(1),
            ..Default::default()
        };
        let mut calls = 0;
        let deadline = Instant::now() + Duration::from_secs(5);
        let (res, attempts) = p
            .run(deadline, || {
                calls += 1;
                async { Err::<(), _>(anyhow::anyhow!("bad data")) }
            })
            .await;
        assert!(res.is_err());
        assert_eq!((attempts, calls), (1, 1));
    }

    #[tokio::test]
    async fn transient_errors_stop_at_the_deadline() {
        let p = RetryPolicy {
            base_delay: Duration::from_secs(60),
            max_delay: Duration::from_secs(60),
            max_attempts: 3,
        };
        // Backoff is jittered from zero, so only a deadline already reached is
        // certain to refuse the retry.
        let deadline = Instant::now();
        let (res, attempts) = p
            .run(deadline, || async {
                Err::<(), _>(anyhow::Error::new(Transient(anyhow::anyhow!("502"))))
            })
            .await;
        assert_eq!(attempts, 1);
        assert!(format!("{:#}", res.unwrap_err()).contains("no time left"));
    }
}
