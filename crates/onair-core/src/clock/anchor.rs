//! Ties the station clock to tokio's monotonic clock, and notices when the wall clock steps.
//!
//! A pacer sleeps until tokio instants; where a station is comes from the wall clock. An
//! [`Anchor`] is one reading of both, from which every deadline is computed exactly (no drift,
//! whatever the sleeps' jitter). Read again once a chunk, the wall clock tells whether it was
//! stepped since (NTP correcting a slow boot clock, an operator's `date -s`): beyond
//! [`STEP_TOLERANCE`] the anchor is taken anew, so that the stream follows the clock that HLS,
//! status and every replica read. A pure state machine: it is given both times, never reads
//! them.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::ticks::{duration_of, tick_at, ticks_of};

/// How far the wall clock may wander from the monotonic one before it counts as stepped: more
/// than the timer's jitter and any slew, less than a chunk.
pub const STEP_TOLERANCE: Duration = Duration::from_millis(200);

/// A step of the wall clock, seen against the monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The wall clock jumped ahead by this much.
    Forward(Duration),
    /// The wall clock went back by this much.
    Back(Duration),
}

/// One reading of the wall clock (as a station-clock tick) and tokio's clock together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    epoch: SystemTime,
    /// The station-clock tick at `instant`.
    tick: u64,
    instant: Instant,
}

impl Anchor {
    /// The anchor of a station whose tick 0 is `epoch`, read as `wall` at `instant`.
    pub fn new(epoch: SystemTime, wall: SystemTime, instant: Instant) -> Anchor {
        Anchor {
            epoch,
            tick: tick_at(epoch, wall),
            instant,
        }
    }

    /// The station-clock tick at `at`.
    pub fn tick_at(&self, at: Instant) -> u64 {
        if at >= self.instant {
            self.tick + ticks_of(at - self.instant)
        } else {
            self.tick.saturating_sub(ticks_of(self.instant - at))
        }
    }

    /// The tokio instant at which `tick` plays (the anchor's own instant at the earliest it can
    /// say: a tick long past is due at once).
    pub fn instant_of(&self, tick: u64) -> Instant {
        let (at, anchored) = (duration_of(tick), duration_of(self.tick));
        if at >= anchored {
            self.instant + (at - anchored)
        } else {
            self.instant
                .checked_sub(anchored - at)
                .unwrap_or(self.instant)
        }
    }

    /// Compares `wall`, read at `at`, with what this anchor expects. When they differ by more
    /// than [`STEP_TOLERANCE`], the wall clock was stepped: the anchor is taken anew from this
    /// reading and the step returned.
    pub fn check(&mut self, wall: SystemTime, at: Instant) -> Option<Step> {
        let expected = self.tick_at(at);
        let seen = tick_at(self.epoch, wall);
        let step = if seen >= expected {
            Step::Forward(duration_of(seen - expected))
        } else {
            Step::Back(duration_of(expected - seen))
        };
        let (Step::Forward(d) | Step::Back(d)) = step;
        if d <= STEP_TOLERANCE {
            return None;
        }
        *self = Anchor::new(self.epoch, wall, at);
        Some(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ticks::TICKS_PER_SECOND;

    #[tokio::test(start_paused = true)]
    async fn ticks_and_instants_agree_and_steps_are_seen() {
        let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let wall = epoch + Duration::from_secs(10_000);
        let t0 = Instant::now();
        let mut anchor = Anchor::new(epoch, wall, t0);
        assert_eq!(anchor.tick_at(t0), 10_000 * TICKS_PER_SECOND);
        let later = t0 + Duration::from_millis(1500);
        assert_eq!(anchor.tick_at(later), 10_001_500 * TICKS_PER_SECOND / 1000);
        assert_eq!(anchor.instant_of(anchor.tick_at(later)), later);
        // A tick before the anchor is due at its instant (or before, when tokio can say so).
        assert!(anchor.instant_of(0) <= t0);
        // Wander within the tolerance is not a step.
        let slewed = wall + Duration::from_millis(1500) + Duration::from_millis(150);
        assert_eq!(anchor.check(slewed, later), None);
        // A step forward of 10 s: seen, and the anchor follows.
        let stepped = wall + Duration::from_millis(11_500);
        assert_eq!(
            anchor.check(stepped, later),
            Some(Step::Forward(Duration::from_secs(10)))
        );
        assert_eq!(anchor.tick_at(later), 10_011_500 * TICKS_PER_SECOND / 1000);
        // And back by an hour.
        let back = stepped - Duration::from_secs(3600);
        assert_eq!(
            anchor.check(back, later),
            Some(Step::Back(Duration::from_secs(3600)))
        );
        assert_eq!(anchor.tick_at(later), tick_at(epoch, back));
    }
}
