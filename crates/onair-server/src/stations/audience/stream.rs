//! Who listens to a station's stream now: who, since when, and the request that began it, for
//! Icecast's `/admin/listclients` and for what the session leaves behind when it ends. A
//! listener's body keeps only its session number; the rest lives here once.

use std::collections::HashMap;
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
    table: Mutex<HashMap<SessionId, Listener>>,
}

impl StreamListeners {
    /// A listener tunes in as session `id` (random: the server's, never the client's); its
    /// session (a new random one in the unlikely case that `id` is taken).
    pub fn join(&self, mut id: SessionId, listener: Listener) -> SessionId {
        let mut table = lock(&self.table);
        while table.contains_key(&id) {
            id = SessionId::random();
        }
        table.insert(id, listener);
        id
    }

    /// Listener `id` left: who it was.
    pub fn leave(&self, id: SessionId) -> Option<Listener> {
        lock(&self.table).remove(&id)
    }

    /// Whether session `id` is listening.
    pub fn contains(&self, id: SessionId) -> bool {
        lock(&self.table).contains_key(&id)
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
