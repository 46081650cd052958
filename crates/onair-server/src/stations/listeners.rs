//! Who listens to a station's stream now: address, user agent and since when, for Icecast's
//! `/admin/listclients`. A listener's user agent is shared with its session, never copied.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use crate::sync::lock;

/// One listener of a station's stream.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Its address (after trusted proxies).
    pub address: IpAddr,
    /// Its `User-Agent`.
    pub user_agent: Arc<str>,
    /// When it tuned in.
    pub since: Instant,
}

/// A station's stream listeners, by session number.
#[derive(Debug, Default)]
pub struct Listeners {
    next: AtomicU64,
    table: Mutex<HashMap<u64, Listener>>,
}

impl Listeners {
    /// A listener tunes in: its session number.
    pub fn join(&self, address: IpAddr, user_agent: Arc<str>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.table).insert(
            id,
            Listener {
                address,
                user_agent,
                since: Instant::now(),
            },
        );
        id
    }

    /// Listener `id` left.
    pub fn leave(&self, id: u64) {
        lock(&self.table).remove(&id);
    }

    /// Every listener now, by session number.
    pub fn list(&self) -> Vec<(u64, Listener)> {
        let mut all: Vec<_> = lock(&self.table)
            .iter()
            .map(|(id, l)| (*id, l.clone()))
            .collect();
        all.sort_by_key(|(id, _)| *id);
        all
    }
}
