//! How long a relay waits before its next attempt: doubling from a minimum with each failure
//! in a row, capped, with jitter so that edges that lost one origin at once do not come back
//! at once.

use std::time::Duration;

/// The waits between a relay's attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    /// Failures in a row.
    failures: u32,
}

impl Backoff {
    /// Waits from `min` to `max`.
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            failures: 0,
        }
    }

    /// The wait after one more failure: half the doubled wait, plus `jitter` (from 0 to 1) of
    /// the other half ("equal jitter"), so it never falls below half of it.
    pub fn next(&mut self, jitter: f64) -> Duration {
        let doubled = self
            .min
            .saturating_mul(1u32 << self.failures.min(20))
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        doubled / 2 + (doubled / 2).mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The upstream delivered for a while: the next failure waits the minimum again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_with_jitter_within_the_upper_half() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let waits: Vec<_> = (0..9).map(|_| backoff.next(1.0)).collect();
        let secs: Vec<_> = waits.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        backoff.reset();
        assert_eq!(backoff.next(0.0), Duration::from_millis(500));
        assert_eq!(backoff.next(0.5), Duration::from_millis(1500));
        assert_eq!(backoff.failures(), 2);
        // However many failures, the wait stays capped (no overflow).
        for _ in 0..100 {
            assert!(backoff.next(1.0) <= Duration::from_secs(60));
        }
    }
}
