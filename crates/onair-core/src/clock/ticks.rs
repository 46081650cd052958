//! The station clock's units: ticks of 1/28,224,000 s, and their conversions to durations, sample
//! counts, wall times and the 90 kHz clock of MPEG-TS and HLS, all in integer arithmetic.
//!
//! A tick is the least common multiple of every ADTS sample rate (7.35 to 96 kHz; every MPEG
//! audio rate, 8 to 48 kHz, is among them), so that every frame of every rate lasts a whole
//! number of ticks and no rounding ever accumulates, across loops, tracks, files and rate
//! changes. Deadlines come from exact tick counts: a pacer that slept "one chunk" at a time
//! would drift.

use std::time::{Duration, SystemTime};

/// Timeline ticks per second: the least common multiple of every ADTS sample rate.
pub const TICKS_PER_SECOND: u64 = 28_224_000;

/// The MPEG-TS / HLS clock: 90 kHz, 33 bits.
const PTS_HZ: u128 = 90_000;
const PTS_WRAP: u64 = 1 << 33;

/// Ticks of one sample at `rate` Hz (a whole number for every ADTS rate; 0 for rate 0).
pub fn ticks_per_sample(rate: u32) -> u64 {
    if rate == 0 {
        return 0;
    }
    TICKS_PER_SECOND / u64::from(rate)
}

/// Ticks in `d` (rounded down).
pub fn ticks_of(d: Duration) -> u64 {
    u64::try_from(d.as_nanos() * u128::from(TICKS_PER_SECOND) / 1_000_000_000).unwrap_or(u64::MAX)
}

/// The duration of `ticks` (rounded down to the nanosecond).
pub fn duration_of(ticks: u64) -> Duration {
    let nanos = u128::from(ticks) * 1_000_000_000 / u128::from(TICKS_PER_SECOND);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// The tick playing at wall time `at` on a timeline that starts at `epoch` (0 before it).
pub fn tick_at(epoch: SystemTime, at: SystemTime) -> u64 {
    at.duration_since(epoch).map_or(0, ticks_of)
}

/// The wall time of `tick` on a timeline that starts at `epoch`.
pub fn wall_time(epoch: SystemTime, tick: u64) -> SystemTime {
    epoch + duration_of(tick)
}

/// `tick` on the 33-bit 90 kHz clock of MPEG-TS and HLS, from the exact tick count (never a sum
/// of rounded frame durations: at 44.1 kHz a frame is 2089.8 of its ticks).
pub fn pts_90k(tick: u64) -> u64 {
    (u128::from(tick) * PTS_HZ / u128::from(TICKS_PER_SECOND)) as u64 % PTS_WRAP
}

/// The longest a station clock runs from its epoch: 500 years (durations of its ticks in
/// nanoseconds would overflow past 584).
pub const MAX_SPAN: Duration = Duration::from_secs(500 * 365 * 86_400);

/// Why a station clock cannot run at a wall time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochError {
    /// The epoch is this far ahead: the clock has not started.
    Future(Duration),
    /// The wall time is this far past the epoch, beyond [`MAX_SPAN`].
    TooFar(Duration),
}

impl std::fmt::Display for EpochError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EpochError::Future(d) => write!(
                f,
                "its epoch is {} s in the future: a station clock starts at its epoch, so the station goes on air then (on every replica alike); set an epoch in the past to play now",
                d.as_secs()
            ),
            EpochError::TooFar(d) => write!(
                f,
                "the wall clock is {} years past its epoch, beyond the {} a station clock counts: check the system clock, or set a later epoch",
                d.as_secs() / (365 * 86_400),
                MAX_SPAN.as_secs() / (365 * 86_400)
            ),
        }
    }
}

/// Whether a station clock that starts at `epoch` can run at wall time `now`.
pub fn check_epoch(epoch: SystemTime, now: SystemTime) -> Result<(), EpochError> {
    match now.duration_since(epoch) {
        Err(ahead) => Err(EpochError::Future(ahead.duration())),
        Ok(past) if past > MAX_SPAN => Err(EpochError::TooFar(past)),
        Ok(_) => Ok(()),
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
    use crate::format::adts::SAMPLE_RATES;

    #[test]
    fn conversions() {
        assert_eq!(
            duration_to_samples(Duration::from_millis(200), 44_100),
            8820
        );
        assert_eq!(duration_to_samples(Duration::from_millis(1), 7_350), 8);
        assert_eq!(samples_to_duration(1024, 0), Duration::ZERO);
    }

    #[test]
    fn every_rate_has_whole_ticks_per_sample() {
        for rate in SAMPLE_RATES {
            assert_eq!(TICKS_PER_SECOND % u64::from(rate), 0, "{rate}");
        }
        assert_eq!(ticks_per_sample(44_100), 640);
        assert_eq!(ticks_per_sample(48_000), 588);
    }

    #[test]
    fn the_90k_clock_is_exact_and_wraps() {
        // One second is 90,000 exactly; a 44.1 kHz frame is 2089.8 of them, so ten frames from
        // a running count are 20,897 or 20,898 ticks apart, never a drifting sum.
        assert_eq!(pts_90k(TICKS_PER_SECOND), 90_000);
        let frame = 1024 * ticks_per_sample(44_100);
        assert_eq!(pts_90k(frame * 10), 20_897);
        assert_eq!(pts_90k(frame * 100_000), 208_979_591);
        // Five turns of the 33-bit clock: 5 x 2^33 x 28,224,000 / 90,000 ticks, exactly.
        let wrap = (1u64 << 33) * 1568;
        assert_eq!(pts_90k(wrap), 0);
        assert_eq!(pts_90k(wrap + TICKS_PER_SECOND), 90_000);
    }

    #[test]
    fn a_clock_runs_from_its_epoch_for_500_years() {
        let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        assert_eq!(check_epoch(epoch, epoch), Ok(()));
        let day = Duration::from_secs(86_400);
        assert_eq!(
            check_epoch(epoch, epoch - day),
            Err(EpochError::Future(day))
        );
        assert_eq!(check_epoch(epoch, epoch + MAX_SPAN), Ok(()));
        assert!(matches!(
            check_epoch(epoch, epoch + MAX_SPAN + day),
            Err(EpochError::TooFar(_))
        ));
        // Within the span, ticks and durations never saturate.
        let far = ticks_of(MAX_SPAN);
        assert_eq!(duration_of(far), MAX_SPAN);
    }

    #[test]
    fn wall_time_and_ticks_agree() {
        let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let at = epoch + Duration::from_millis(123_456);
        let tick = tick_at(epoch, at);
        assert_eq!(tick, 123_456 * 28_224);
        assert_eq!(wall_time(epoch, tick), at);
        assert_eq!(tick_at(epoch, epoch - Duration::from_secs(1)), 0);
    }
}
