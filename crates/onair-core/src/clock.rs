//! Absolute deadlines from exact sample counts.
//!
//! A pacer that sleeps "one chunk" at a time drifts: every timer wake-up is a little late and the
//! lateness adds up. [`SampleClock`] instead counts the samples sent since an origin instant and
//! derives each deadline from that count with integer arithmetic, so a late wake-up never moves
//! the next deadline and the schedule stays within one timer tick of the audio for ever.

use std::time::Duration;

use tokio::time::Instant;

/// The broadcast's audio clock: origin instant plus samples sent at one sample rate.
#[derive(Debug, Clone, Copy)]
pub struct SampleClock {
    origin: Instant,
    rate: u32,
    samples: u64,
}

impl SampleClock {
    /// A clock whose first deadline is `origin`.
    pub fn new(origin: Instant) -> Self {
        SampleClock {
            origin,
            rate: 0,
            samples: 0,
        }
    }

    /// When the audio after the samples counted so far is due.
    pub fn deadline(&self) -> Instant {
        self.origin + samples_to_duration(self.samples, self.rate)
    }

    /// Counts `samples` more at `rate` Hz. A change of rate starts a new segment at the current
    /// deadline, so both rates stay exact.
    pub fn advance(&mut self, samples: u32, rate: u32) {
        if rate != self.rate {
            self.origin = self.deadline();
            self.samples = 0;
            self.rate = rate;
        }
        self.samples += u64::from(samples);
    }

    /// Restarts the count at `origin` (after the pacer could not keep up, rather than bursting
    /// to catch up).
    pub fn rebase(&mut self, origin: Instant) {
        self.origin = origin;
        self.samples = 0;
    }
}

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
    fn deadlines_are_exact_after_an_hour() {
        let origin = Instant::now();
        let mut clock = SampleClock::new(origin);
        // One hour of 44.1 kHz AAC frames, in chunks of 9 frames.
        let frames = 3600 * 44_100 / 1024;
        for _ in 0..frames / 9 {
            clock.advance(9 * 1024, 44_100);
        }
        let samples = (frames / 9) * 9 * 1024;
        let exact_ns = samples as u128 * 1_000_000_000 / 44_100;
        let got = clock.deadline() - origin;
        assert_eq!(got.as_nanos(), exact_ns);
    }

    #[test]
    fn a_rate_change_keeps_both_segments_exact() {
        let origin = Instant::now();
        let mut clock = SampleClock::new(origin);
        clock.advance(48_000, 48_000);
        clock.advance(22_050, 44_100);
        assert_eq!(clock.deadline() - origin, Duration::from_millis(1500));
    }

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
