//! When the certificate is read again: a pure state machine over instants given to it, so that
//! its rules are tested with fixed instants.
//!
//! - A file event asks for a read once the files have been quiet for [`QUIET`] (certbot writes
//!   the certificate and the key one after the other; the pair is whole only after both).
//! - SIGHUP or a config naming other files asks for a read at once.
//! - Without either, the files are read every [`LOOK_EVERY`] (a change that was not seen).
//! - The operator is warned once when the certificate enters its last [`EXPIRY_WARNING`], and
//!   again only after a renewal took it out.

use std::time::Duration;

use tokio::time::Instant;

/// Quiet time after the last file event before reading.
pub const QUIET: Duration = Duration::from_millis(200);
/// The files are read this often anyway.
pub const LOOK_EVERY: Duration = Duration::from_secs(60);
/// An operator is warned this long before the certificate expires.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);

/// When the next read is due, and whether the expiry warning was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadTiming {
    /// A read asked for by an event or a signal.
    asked: Option<Instant>,
    /// The next periodic read.
    next_look: Instant,
    /// The certificate served is inside its warning window, and that was said.
    warned: bool,
}

impl ReloadTiming {
    /// Timing that starts at `now`: the first periodic read a period later.
    pub fn new(now: Instant) -> Self {
        ReloadTiming {
            asked: None,
            next_look: now + LOOK_EVERY,
            warned: false,
        }
    }

    /// A file changed at `now`: read once they have been quiet for [`QUIET`].
    pub fn file_changed(&mut self, now: Instant) {
        self.asked = Some(now + QUIET);
    }

    /// A signal or a config edit at `now`: read at once.
    pub fn read_now(&mut self, now: Instant) {
        self.asked = Some(now);
    }

    /// When to wake up next.
    pub fn wake_at(&self) -> Instant {
        self.asked
            .map_or(self.next_look, |asked| asked.min(self.next_look))
    }

    /// Whether a read is due at `now`; if so, it is counted as done and the next periodic read
    /// is a period away.
    pub fn due(&mut self, now: Instant) -> bool {
        if now < self.wake_at() {
            return false;
        }
        self.asked = None;
        self.next_look = now + LOOK_EVERY;
        true
    }

    /// Whether to warn now, with the certificate served valid for `remaining`: once on entering
    /// the warning window.
    pub fn warn_expiry(&mut self, remaining: Duration) -> bool {
        let inside = remaining < EXPIRY_WARNING;
        let warn = inside && !self.warned;
        self.warned = inside;
        warn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_wait_for_quiet_signals_do_not_and_the_minute_look_goes_on() {
        let t0 = Instant::now();
        let mut timing = ReloadTiming::new(t0);
        assert_eq!(timing.wake_at(), t0 + LOOK_EVERY);
        // Certificate then key, 100 ms apart: one read, 200 ms after the key.
        timing.file_changed(t0 + Duration::from_secs(1));
        timing.file_changed(t0 + Duration::from_millis(1_100));
        assert!(!timing.due(t0 + Duration::from_millis(1_250)));
        assert_eq!(timing.wake_at(), t0 + Duration::from_millis(1_300));
        assert!(timing.due(t0 + Duration::from_millis(1_300)));
        assert!(!timing.due(t0 + Duration::from_millis(1_400)), "read once");
        // The periodic look counts from the last read.
        assert_eq!(
            timing.wake_at(),
            t0 + Duration::from_millis(1_300) + LOOK_EVERY
        );
        // SIGHUP: at once.
        let hup = t0 + Duration::from_secs(5);
        timing.read_now(hup);
        assert!(timing.due(hup));
        // Nothing at all: the look a minute later.
        assert!(!timing.due(hup + LOOK_EVERY - Duration::from_millis(1)));
        assert!(timing.due(hup + LOOK_EVERY));
    }

    #[test]
    fn the_expiry_warning_is_said_once_and_again_after_a_renewal() {
        let mut timing = ReloadTiming::new(Instant::now());
        let day = Duration::from_secs(86_400);
        assert!(!timing.warn_expiry(30 * day));
        assert!(timing.warn_expiry(13 * day));
        assert!(!timing.warn_expiry(12 * day), "said once");
        // Renewed: out of the window, and the next certificate is warned about in its turn.
        assert!(!timing.warn_expiry(90 * day));
        assert!(timing.warn_expiry(10 * day));
    }
}
