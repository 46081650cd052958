//! Where wall time comes from: one injected [`WallClock`].
//!
//! Everything that turns wall time into a station-clock tick (the pacer, HLS windows, now
//! playing, programme switches) asks the clock it was given, never the system directly, so
//! that tests run on a clock they step by hand and production reads the system's in one place.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// A source of wall time.
pub trait WallClock: Send + Sync + std::fmt::Debug {
    /// The wall time now.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock: the one place the crate reads it.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

impl SystemClock {
    /// The system clock, shared.
    pub fn shared() -> Arc<dyn WallClock> {
        Arc::new(SystemClock)
    }
}

/// A wall clock for tests: it runs with tokio's clock (so that a paused runtime pauses it too)
/// from a start time the test picks, and the test steps it forward or back by hand, as NTP
/// would.
#[derive(Debug)]
pub struct TestClock {
    start: SystemTime,
    origin: Instant,
    /// Steps made so far: forward (`true`) or back, and by how much in all.
    offset: Mutex<(bool, Duration)>,
}

impl TestClock {
    /// A clock that reads `start` now.
    pub fn starting_at(start: SystemTime) -> Arc<TestClock> {
        Arc::new(TestClock {
            start,
            origin: Instant::now(),
            offset: Mutex::new((true, Duration::ZERO)),
        })
    }

    /// Steps the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.step(true, by);
    }

    /// Steps the clock back by `by`.
    pub fn step_back(&self, by: Duration) {
        self.step(false, by);
    }

    fn step(&self, forward: bool, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|p| p.into_inner());
        let (ahead, d) = *offset;
        *offset = match (ahead == forward, d.checked_sub(by)) {
            (true, _) => (ahead, d + by),
            (false, Some(rest)) => (ahead, rest),
            (false, None) => (forward, by - d),
        };
    }
}

impl WallClock for TestClock {
    fn now(&self) -> SystemTime {
        let (ahead, d) = *self.offset.lock().unwrap_or_else(|p| p.into_inner());
        let t = self.start + self.origin.elapsed();
        if ahead {
            t + d
        } else {
            t.checked_sub(d).unwrap_or(SystemTime::UNIX_EPOCH)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_test_clock_runs_with_tokio_and_steps_by_hand() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = TestClock::starting_at(start);
        assert_eq!(clock.now(), start);
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(clock.now(), start + Duration::from_secs(3));
        clock.advance(Duration::from_secs(10));
        assert_eq!(clock.now(), start + Duration::from_secs(13));
        clock.step_back(Duration::from_secs(12));
        assert_eq!(clock.now(), start + Duration::from_secs(1));
        clock.step_back(Duration::from_secs(1));
        assert_eq!(clock.now(), start);
    }
}
