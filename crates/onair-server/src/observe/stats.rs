//! Server-wide counters: what the status pages and `/metrics` report beside the hubs' own.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use tokio::time::Instant;

use crate::stations::audience::{EndReason, Via};

/// How a live source's attempt to connect ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceResult {
    /// On air.
    Accepted,
    /// No or wrong credentials (401).
    Unauthorized,
    /// Refused: too many failed logins from its address.
    Throttled,
    /// Live ingest is not configured for the station (403).
    NotConfigured,
    /// Another source is live on the station (403).
    Busy,
    /// A content type of another codec (415).
    Unsupported,
    /// No such station (404).
    NoStation,
    /// Connected, then dropped for its audio (another format, no frames).
    BadAudio,
    /// Outside the station's live-only slots (403).
    OutsideSlot,
}

impl SourceResult {
    /// The label used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceResult::Accepted => "accepted",
            SourceResult::Unauthorized => "unauthorized",
            SourceResult::Throttled => "throttled",
            SourceResult::NotConfigured => "not_configured",
            SourceResult::Busy => "busy",
            SourceResult::Unsupported => "unsupported",
            SourceResult::NoStation => "no_station",
            SourceResult::BadAudio => "bad_audio",
            SourceResult::OutsideSlot => "outside_slot",
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
    /// Sessions now over all stations, stream and HLS.
    sessions: AtomicUsize,
    /// Most listeners at once over all stations.
    pub listener_peak: AtomicUsize,
    disconnects: Mutex<BTreeMap<(String, Via, EndReason), u64>>,
    sources: Mutex<BTreeMap<(String, SourceResult), u64>>,
}

impl ServerStats {
    /// Counters of a server starting now, by `clock`.
    pub fn starting(clock: &dyn onair_core::WallClock) -> Self {
        ServerStats {
            started_at: clock.now(),
            started: Instant::now(),
            rejected_full: AtomicU64::new(0),
            sessions: AtomicUsize::new(0),
            listener_peak: AtomicUsize::new(0),
            disconnects: Mutex::new(BTreeMap::new()),
            sources: Mutex::new(BTreeMap::new()),
        }
    }
}

impl ServerStats {
    /// Counts a session that began (and the peak it makes).
    pub fn count_join(&self) {
        let now = self.sessions.fetch_add(1, Ordering::Relaxed) + 1;
        self.listener_peak.fetch_max(now, Ordering::Relaxed);
    }

    /// Counts a listener session of `station`, by `via`, that ended for `reason`.
    pub fn count_end(&self, station: &str, via: Via, reason: EndReason) {
        self.sessions.fetch_sub(1, Ordering::Relaxed);
        let mut map = crate::sync::lock(&self.disconnects);
        *map.entry((station.to_string(), via, reason)).or_default() += 1;
    }

    /// Sessions ended, by station, stream or HLS, and reason.
    pub fn ends(&self) -> Vec<(String, Via, EndReason, u64)> {
        let map = crate::sync::lock(&self.disconnects);
        map.iter()
            .map(|((s, v, r), n)| (s.clone(), *v, *r, *n))
            .collect()
    }

    /// Counts a live source's attempt on `station` that ended in `result`.
    pub fn count_source(&self, station: &str, result: SourceResult) {
        let mut map = crate::sync::lock(&self.sources);
        *map.entry((station.to_string(), result)).or_default() += 1;
    }

    /// Source attempts, by station and result.
    pub fn sources(&self) -> Vec<(String, SourceResult, u64)> {
        let map = crate::sync::lock(&self.sources);
        map.iter().map(|((s, r), n)| (s.clone(), *r, *n)).collect()
    }
}
