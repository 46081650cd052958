//! A station's relay side: what its relay is doing, for status, the page, `/events` and metrics; and the
//! settings it runs with (the config's, sent again on every reload).
//!
//! A relay that keeps failing the same way logs it once: a line is written when the state
//! changes (on air, failing with another error, waiting for listeners, outranked by a
//! pushed source), never per attempt.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use tokio::sync::watch;

use crate::config::{RelayTiming, RelayUrl};
use crate::sync::lock;

/// How a station pulls its relay: from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelaySettings {
    /// The upstream (a stream, or a playlist naming one).
    pub url: RelayUrl,
    /// Pulled only while the station has listeners.
    pub on_demand: bool,
    /// Timeouts, waits and redirects.
    pub timing: RelayTiming,
    /// Certificate authorities trusted besides the Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// The HLS segment length (an edge's grid must be its origin's).
    pub segment: std::time::Duration,
}

/// What a relay is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Phase {
    /// No relay configured.
    #[default]
    Off,
    /// On demand, and no listener: not pulling.
    Idle,
    /// Connecting (or waiting for the upstream's head).
    Connecting,
    /// Receiving the upstream's audio (on air once its buffer is full).
    OnAir,
    /// A pushed source is live: it outranks the relay, which waits.
    Outranked,
    /// Failed; waiting before the next attempt.
    BackingOff,
}

impl Phase {
    /// Its name in status and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Off => "off",
            Phase::Idle => "idle",
            Phase::Connecting => "connecting",
            Phase::OnAir => "on_air",
            Phase::Outranked => "outranked",
            Phase::BackingOff => "backing_off",
        }
    }

    /// Every phase, for metrics.
    pub const ALL: [Phase; 6] = [
        Phase::Off,
        Phase::Idle,
        Phase::Connecting,
        Phase::OnAir,
        Phase::Outranked,
        Phase::BackingOff,
    ];
}

/// A relay's state at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelaySnapshot {
    /// The configured URL.
    pub url: Option<String>,
    /// What it is doing.
    pub phase: Phase,
    /// Since when.
    pub since: Option<SystemTime>,
    /// The stream's URL after redirects and playlists, while connected.
    pub upstream: Option<String>,
    /// The last failure, in words.
    pub last_error: Option<String>,
    /// When the next attempt is due, while backing off.
    pub next_attempt: Option<SystemTime>,
    /// Failures in a row.
    pub failures: u32,
    /// Times it reached the upstream's audio.
    pub connects: u64,
}

/// A station's relay state, shared by its relay task and whoever reports on it.
#[derive(Debug)]
pub struct RelayStatus {
    snapshot: Mutex<RelaySnapshot>,
    /// The failure last logged (the same one again is not).
    logged_error: Mutex<Option<String>>,
    settings: watch::Sender<Option<RelaySettings>>,
}

impl Default for RelayStatus {
    fn default() -> Self {
        RelayStatus {
            snapshot: Mutex::default(),
            logged_error: Mutex::default(),
            settings: watch::Sender::new(None),
        }
    }
}

impl RelayStatus {
    /// The state now.
    pub fn snapshot(&self) -> RelaySnapshot {
        lock(&self.snapshot).clone()
    }

    /// Sets the settings (none: no relay); the relay task starts over when they change.
    pub fn configure(&self, settings: Option<RelaySettings>) {
        self.settings.send_if_modified(|now| {
            let changed = *now != settings;
            *now = settings;
            changed
        });
    }

    /// Whether the station has a relay.
    pub fn is_configured(&self) -> bool {
        self.settings.borrow().is_some()
    }

    /// The settings, watched (by the relay task).
    pub fn settings(&self) -> watch::Receiver<Option<RelaySettings>> {
        self.settings.subscribe()
    }

    /// Moves to `phase` at `at`; whether that is a change worth a log line (reaching the
    /// upstream again while failing is not: [`delivered`](Self::delivered) says when it is
    /// back for good).
    pub fn enter(&self, phase: Phase, at: SystemTime, url: Option<String>) -> bool {
        let mut s = lock(&self.snapshot);
        let changed = s.phase != phase;
        if changed {
            s.since = Some(at);
        }
        s.phase = phase;
        s.next_attempt = None;
        match phase {
            Phase::Off => *s = RelaySnapshot::default(),
            Phase::OnAir => {
                s.upstream = url;
                s.connects += 1;
                return changed && lock(&self.logged_error).is_none();
            }
            _ => s.upstream = None,
        }
        changed && phase != Phase::Connecting
    }

    /// The upstream has delivered for a while: the failures in a row are over. Whether it had
    /// failed (and said so): then its return is worth a log line.
    pub fn delivered(&self) -> bool {
        lock(&self.snapshot).failures = 0;
        lock(&self.logged_error).take().is_some()
    }

    /// Notes the configured URL.
    pub fn set_url(&self, url: String) {
        lock(&self.snapshot).url = Some(url);
    }

    /// Notes a failure; the next attempt is at `retry_at`. Whether it is worth a log line: the
    /// first failure, or one unlike the last logged.
    pub fn failed(&self, error: &str, at: SystemTime, retry_at: SystemTime) -> bool {
        let mut s = lock(&self.snapshot);
        if s.phase != Phase::BackingOff {
            s.since = Some(at);
        }
        s.phase = Phase::BackingOff;
        s.upstream = None;
        s.last_error = Some(error.to_string());
        s.next_attempt = Some(retry_at);
        s.failures += 1;
        let mut logged = lock(&self.logged_error);
        // Errors that differ only in numbers (bytes, seconds) are the same error.
        let kind: String = error.chars().filter(|c| !c.is_ascii_digit()).collect();
        if logged.as_deref() == Some(kind.as_str()) {
            return false;
        }
        *logged = Some(kind);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_line_per_change_of_state_not_per_attempt() {
        let status = RelayStatus::default();
        let t = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert!(!status.enter(Phase::Connecting, t(0), None));
        assert!(status.failed("connection refused", t(1), t(2)));
        assert!(!status.enter(Phase::Connecting, t(2), None));
        assert!(
            !status.failed("connection refused", t(2), t(4)),
            "the same failure again"
        );
        assert!(
            status.failed("no whole frame for 5 s", t(4), t(8)),
            "another failure"
        );
        assert!(!status.failed("no whole frame for 6 s", t(8), t(16)));
        let s = status.snapshot();
        assert_eq!(
            (s.phase, s.failures, s.next_attempt),
            (Phase::BackingOff, 4, Some(t(16)))
        );
        // Reaching the upstream while failing is no news (a garbage upstream answers every
        // time); delivering for a while is.
        assert!(!status.enter(Phase::OnAir, t(20), Some("http://u/".into())));
        assert!(!status.failed("no whole frame for 7 s", t(21), t(22)));
        assert!(!status.enter(Phase::OnAir, t(22), Some("http://u/".into())));
        assert!(status.delivered(), "back after failures");
        let s = status.snapshot();
        assert_eq!((s.failures, s.connects, s.since), (0, 2, Some(t(22))));
        assert!(!status.delivered());
        // After a time on air, the same failure is news again.
        assert!(status.failed("connection refused", t(30), t(31)));
        assert!(status.enter(Phase::Outranked, t(40), None));
        assert!(!status.enter(Phase::Outranked, t(41), None));
    }
}
