//! How often and how patiently transient registry failures (a refused or reset connection, a
//! timeout, HTTP 5xx and 429) are retried: a bounded number of attempts with exponential backoff
//! and jitter, so that a fleet's parallel requests do not retry in lockstep.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Attempts per request, the first included.
const ATTEMPTS: u32 = 4;
/// The first delay; each next one doubles.
const BASE_DELAY: Duration = Duration::from_millis(500);
/// No single delay is longer (a `Retry-After` included).
const MAX_DELAY: Duration = Duration::from_secs(10);
/// The delays with `FLEET_IMAGES_TEST_FAST=1`: tests want the retries, not the wait.
const FAST_BASE_DELAY: Duration = Duration::from_millis(5);
const FAST_MAX_DELAY: Duration = Duration::from_millis(50);

/// How long connecting to an AWS API may take.
const AWS_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one attempt of an AWS call may take.
const AWS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an AWS call may take in all, its retries included.
const AWS_OPERATION_TIMEOUT: Duration = Duration::from_secs(120);

/// A retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Attempts, the first included.
    pub attempts: u32,
    base: Duration,
    max: Duration,
}

impl RetryPolicy {
    /// The policy for real use, or the fast one for tests.
    pub(crate) fn new(fast: bool) -> Self {
        if fast {
            Self {
                attempts: ATTEMPTS,
                base: FAST_BASE_DELAY,
                max: FAST_MAX_DELAY,
            }
        } else {
            Self {
                attempts: ATTEMPTS,
                base: BASE_DELAY,
                max: MAX_DELAY,
            }
        }
    }

    /// The AWS SDK's retry configuration for this policy: the same attempts and delays as the
    /// registry calls, for every AWS client (ECR and ECS).
    pub(crate) fn aws_retry_config(&self) -> aws_config::retry::RetryConfig {
        aws_config::retry::RetryConfig::standard()
            .with_max_attempts(self.attempts)
            .with_initial_backoff(self.base)
            .with_max_backoff(self.max)
    }

    /// The AWS SDK's timeouts: connect, each attempt, and the whole call with its retries. No
    /// AWS call waits longer than [`AWS_OPERATION_TIMEOUT`], whatever the service does.
    pub(crate) fn aws_timeout_config(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(AWS_CONNECT_TIMEOUT)
            .operation_attempt_timeout(AWS_ATTEMPT_TIMEOUT)
            .operation_timeout(AWS_OPERATION_TIMEOUT)
            .build()
    }

    /// How long to wait after failed attempt `attempt` (1-based): `base * 2^(attempt-1)`, capped,
    /// between half and all of it at random; a server's `Retry-After` when it asks for longer.
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self
            .base
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.max);
        let half = exponential / 2;
        let jitter = half.mul_f64(random_fraction());
        let delay = half + jitter;
        match retry_after {
            Some(asked) => delay.max(asked.min(self.max)),
            None => delay,
        }
    }
}

/// A number in [0, 1): randomness enough for jitter, without a dependency.
fn random_fraction() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let policy = RetryPolicy::new(false);
        for attempt in 1..=10 {
            let full = BASE_DELAY.saturating_mul(1 << (attempt - 1)).min(MAX_DELAY);
            let d = policy.delay(attempt, None);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert_eq!(policy.delay(1, Some(Duration::from_secs(60))), MAX_DELAY);
        let fast = RetryPolicy::new(true);
        assert!(fast.delay(4, None) <= FAST_MAX_DELAY);
        assert_eq!(fast.attempts, ATTEMPTS);
    }
}
