//! Server-wide counters: what the status pages and `/metrics` report beside the hubs' own.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use tokio::time::Instant;

/// Why a listener's session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EndReason {
    /// The client closed the connection.
    ClientLeft,
    /// The client's socket accepted nothing for `client_timeout_s`.
    Timeout,
    /// The station went off air (its file was removed or failed).
    OffAir,
    /// onair is shutting down.
    Shutdown,
}

impl EndReason {
    /// The label used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::ClientLeft => "client_left",
            EndReason::Timeout => "timeout",
            EndReason::OffAir => "off_air",
            EndReason::Shutdown => "shutdown",
        }
    }
}

/// Counters of the whole server.
#[derive(Debug)]
pub struct ServerStats {
    /// When the server started (wall clock, for status pages).
    pub started_at: SystemTime,
    /// When the server started (for uptime).
    pub started: Instant,
    /// Requests refused with 503 because a listener limit was reached.
    pub rejected_full: AtomicU64,
    /// Most listeners at once over all stations.
    pub listener_peak: AtomicUsize,
    disconnects: Mutex<BTreeMap<(String, EndReason), u64>>,
}

impl ServerStats {
    /// Counters of a server starting now, by `clock`.
    pub fn starting(clock: &dyn onair_core::WallClock) -> Self {
        ServerStats {
            started_at: clock.now(),
            started: Instant::now(),
            rejected_full: AtomicU64::new(0),
            listener_peak: AtomicUsize::new(0),
            disconnects: Mutex::new(BTreeMap::new()),
        }
    }
}

impl ServerStats {
    /// Counts a listener session of `station` that ended for `reason`.
    pub fn count_end(&self, station: &str, reason: EndReason) {
        let mut map = crate::sync::lock(&self.disconnects);
        *map.entry((station.to_string(), reason)).or_default() += 1;
    }

    /// Sessions ended, by station and reason.
    pub fn ends(&self) -> Vec<(String, EndReason, u64)> {
        let map = crate::sync::lock(&self.disconnects);
        map.iter().map(|((s, r), n)| (s.clone(), *r, *n)).collect()
    }

    /// Records that `listeners` are tuned in now.
    pub fn note_listeners(&self, listeners: usize) {
        self.listener_peak.fetch_max(listeners, Ordering::Relaxed);
    }
}
