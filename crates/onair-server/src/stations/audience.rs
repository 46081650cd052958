//! A station's HLS audience: the clients seen lately and the requests answered. Stream
//! listeners are counted by the hub; HLS clients only ever ask, so they are counted by when they
//! last asked.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::sync::lock;

/// One station's HLS clients and request counters.
#[derive(Debug, Default)]
pub struct HlsAudience {
    /// Client (address, user agent hash) to when it last asked.
    sessions: Mutex<HashMap<(IpAddr, u64), Instant>>,
    /// Playlist requests answered.
    pub playlist_requests: AtomicU64,
    /// Segment requests answered.
    pub segment_requests: AtomicU64,
}

impl HlsAudience {
    /// HLS clients now: those that asked within `expiry`.
    pub fn listeners(&self, expiry: Duration) -> usize {
        let mut sessions = lock(&self.sessions);
        let now = Instant::now();
        sessions.retain(|_, at| now.duration_since(*at) < expiry);
        sessions.len()
    }

    /// Notes that `client` with `user_agent` asked now.
    pub fn note_client(&self, client: IpAddr, user_agent: &str) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        user_agent.hash(&mut hasher);
        lock(&self.sessions).insert((client, hasher.finish()), Instant::now());
    }
}
