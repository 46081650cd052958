//! Conversions between sample counts and durations, in integer arithmetic.
//!
//! Deadlines themselves come from the station clock ([`crate::timeline`]): a pacer that slept
//! "one chunk" at a time would drift, so each deadline is computed from an exact tick count.

use std::time::Duration;

/// `samples / rate` seconds, rounded down to the nanosecond (zero at rate 0).
pub fn samples_to_duration(samples: u64, rate: u32) -> Duration {
    if rate == 0 {
        return Duration::ZERO;
    }
    let nanos = u128::from(samples) * 1_000_000_000 / u128::from(rate);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Samples at `rate` Hz that last at least `duration` (rounded up).
pub fn duration_to_samples(duration: Duration, rate: u32) -> u64 {
    let samples = (duration.as_nanos() * u128::from(rate)).div_ceil(1_000_000_000);
    u64::try_from(samples).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(
            duration_to_samples(Duration::from_millis(200), 44_100),
            8820
        );
        assert_eq!(duration_to_samples(Duration::from_millis(1), 7_350), 8);
        assert_eq!(samples_to_duration(1024, 0), Duration::ZERO);
    }
}
