//! Who listens to a station's stream now: who, since when, and the request that began it, for
//! Icecast's `/admin/listclients` and for what the session leaves behind when it ends. A
//! listener's body keeps only its session number; the rest lives here once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::time::Instant;

use super::left::{Client, SessionId};
use crate::sync::lock;

/// One listener of a station's stream.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Who it is.
    pub client: Client,
    /// The request line that began it.
    pub request: Arc<str>,
    /// When it tuned in: on the wall clock, and on the monotonic one.
    pub since: (SystemTime, Instant),
}

/// A station's stream listeners, by session.
#[derive(Debug, Default)]
pub struct StreamListeners {
    next: AtomicU64,
    table: Mutex<HashMap<SessionId, Listener>>,
}

impl StreamListeners {
    /// A listener tunes in: its session.
    pub fn join(&self, listener: Listener) -> SessionId {
        let id = SessionId::new(self.next.fetch_add(1, Ordering::Relaxed) + 1);
        lock(&self.table).insert(id, listener);
        id
    }

    /// Listener `id` left: who it was.
    pub fn leave(&self, id: SessionId) -> Option<Listener> {
        lock(&self.table).remove(&id)
    }

    /// Every listener now, by session.
    pub fn list(&self) -> Vec<(SessionId, Listener)> {
        let mut all: Vec<_> = lock(&self.table)
            .iter()
            .map(|(id, l)| (*id, l.clone()))
            .collect();
        all.sort_by_key(|(id, _)| *id);
        all
    }
}
