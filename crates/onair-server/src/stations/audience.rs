//! A station's HLS audience: the clients seen lately and the requests answered. Stream
//! listeners are counted by the hub; HLS clients only ever ask, so they are counted by when they
//! last asked, each one an address and a user agent.
//!
//! One address counts as at most [`MAX_PER_ADDRESS`] clients, however many user agents it
//! claims: a household or an office behind one address is counted, but a client that changes
//! its `User-Agent` on every request cannot inflate the count (or grow the table) without bound.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::sync::lock;

/// The most clients one address counts as.
pub const MAX_PER_ADDRESS: usize = 8;

/// One station's HLS clients and request counters.
#[derive(Debug, Default)]
pub struct HlsAudience {
    /// Per address: the user agents (hashed) seen from it, with when each last asked.
    sessions: Mutex<HashMap<IpAddr, Vec<(u64, Instant)>>>,
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
        sessions.retain(|_, agents| {
            agents.retain(|(_, at)| now.duration_since(*at) < expiry);
            !agents.is_empty()
        });
        sessions.values().map(Vec::len).sum()
    }

    /// Notes that `client` with `user_agent` asked now.
    pub fn note_client(&self, client: IpAddr, user_agent: &str) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        user_agent.hash(&mut hasher);
        let agent = hasher.finish();
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        let agents = sessions.entry(client).or_default();
        if let Some((_, at)) = agents.iter_mut().find(|(a, _)| *a == agent) {
            *at = now;
        } else if agents.len() < MAX_PER_ADDRESS {
            agents.push((agent, now));
        } else if let Some(oldest) = agents.iter_mut().min_by_key(|(_, at)| *at) {
            // A new agent from a full address takes the place of its longest silent one.
            *oldest = (agent, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_address_counts_as_a_few_clients_at_most() {
        let audience = HlsAudience::default();
        let expiry = Duration::from_secs(14);
        let one: IpAddr = [192, 0, 2, 1].into();
        for i in 0..1000 {
            audience.note_client(one, &format!("player/{i}"));
        }
        assert_eq!(audience.listeners(expiry), MAX_PER_ADDRESS);
        for last in 2..=4u8 {
            audience.note_client([192, 0, 2, last].into(), "hls.js");
        }
        assert_eq!(audience.listeners(expiry), MAX_PER_ADDRESS + 3);
        // The same client asking again is the same client.
        audience.note_client([192, 0, 2, 2].into(), "hls.js");
        assert_eq!(audience.listeners(expiry), MAX_PER_ADDRESS + 3);
        tokio::time::advance(expiry).await;
        assert_eq!(audience.listeners(expiry), 0);
    }
}
