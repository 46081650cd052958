//! A station's audience: the one seam every listener passes, stream and HLS alike. It admits a
//! listener within the limits (the station's and the server's), gives it a session, knows who
//! listens now, and when a session ends hands one typed [`Left`] to the sinks (the counters and
//! the access log), which is where every count of listening is kept.
//!
//! - [`authorize`]: who may listen: the one decision for streams and HLS (open, signed URLs,
//!   user names and passwords), with the login guard.
//! - [`token`]: signed URLs, made and checked.
//! - [`left`]: a session's number, who a client is, and what a session leaves behind.
//! - [`stream`]: the stream listeners now.
//! - [`hls`]: the HLS sessions now (a pure state machine).

pub mod authorize;
pub mod hls;
pub mod left;
pub mod stream;
pub mod token;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use onair_core::{Hub, Refused, Subscription};
use tokio::time::Instant;

use crate::sync::lock;
use hls::{HlsSession, HlsSessions, Touch};
pub use left::{AudienceSink, Client, EndReason, Left, SessionId, Unheard, Via};
use stream::{Listener, StreamListeners};

/// Why a listener is not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds its `max_listeners`.
    ServerFull(u64),
    /// The station holds its `max_listeners`.
    StationFull(usize),
    /// The station went off air as the listener arrived.
    OffAir,
}

/// The listener limits that apply to one admission.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// The station's `max_listeners`.
    pub station: Option<usize>,
    /// The server's `max_listeners`, with the listeners over all stations now.
    pub server: Option<(u64, usize)>,
}

impl Limits {
    fn server_full(&self) -> Option<Refusal> {
        let (max, now) = self.server?;
        (now as u64 >= max).then_some(Refusal::ServerFull(max))
    }
}

/// HLS requests answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HlsRequests {
    /// Playlists (media and multivariant).
    pub playlists: u64,
    /// Segments (and initialization segments).
    pub segments: u64,
}

/// One station's audience.
#[derive(Debug)]
pub struct Audience {
    station: Arc<str>,
    sink: Arc<dyn AudienceSink>,
    stream: StreamListeners,
    hls: Mutex<HlsSessions>,
    playlists: AtomicU64,
    segments: AtomicU64,
    /// Stream sessions the admin removed, until their bodies see it; and whether there are any
    /// (what every listener's poll looks at: one load).
    kicked: Mutex<HashSet<SessionId>>,
    kicks: AtomicBool,
}

impl Audience {
    /// The audience of station `station`, reported to `sink`.
    pub fn new(station: &str, sink: Arc<dyn AudienceSink>) -> Self {
        Audience {
            station: station.into(),
            sink,
            stream: StreamListeners::default(),
            hls: Mutex::default(),
            playlists: AtomicU64::new(0),
            segments: AtomicU64::new(0),
            kicked: Mutex::default(),
            kicks: AtomicBool::new(false),
        }
    }

    /// Admits `client` to the stream of `hub` within `limits`, as `session`: its subscription.
    pub fn admit_stream(
        &self,
        hub: &Arc<Hub>,
        limits: Limits,
        (session, client): (SessionId, Client),
        request: Arc<str>,
        now: SystemTime,
    ) -> Result<(Subscription, SessionId), Refusal> {
        if let Some(full) = limits.server_full() {
            return Err(full);
        }
        let max = limits.station.unwrap_or(usize::MAX);
        // Under the hub's lock: concurrent listeners never overshoot the station's limit.
        let subscription = hub.subscribe_within(max).map_err(|refused| match refused {
            Refused::Full(max) => Refusal::StationFull(max),
            Refused::OffAir => Refusal::OffAir,
        })?;
        self.sink
            .joined(&self.station, Via::Stream, session, &client);
        let id = self.stream.join(
            session,
            Listener {
                client,
                request,
                since: (now, Instant::now()),
            },
        );
        Ok((subscription, id))
    }

    /// Stream session `id` ended for `reason`, having been sent `bytes` holding `heard` of
    /// audio (from and to these times on the station clock), and skipped forward `skips` times.
    pub fn stream_left(
        &self,
        id: SessionId,
        reason: EndReason,
        (bytes, heard, span): (u64, Duration, Option<(SystemTime, SystemTime)>),
        skips: u64,
    ) {
        let Some(listener) = self.stream.leave(id) else {
            return;
        };
        self.sink.left(Left {
            station: Arc::clone(&self.station),
            session: id,
            via: Via::Stream,
            client: listener.client,
            request: listener.request,
            began: listener.since.0,
            seconds: listener.since.1.elapsed(),
            bytes,
            heard,
            span,
            skips,
            reason,
        });
    }

    /// HLS session `id` asked for its playlist and was sent `bytes`: a session not known
    /// begins, within `limits` (`streaming`: the station's stream listeners now).
    #[allow(clippy::too_many_arguments)]
    pub fn hls_playlist(
        &self,
        id: SessionId,
        limits: Limits,
        streaming: usize,
        client: impl FnOnce() -> Client,
        request: impl FnOnce() -> Arc<str>,
        bytes: u64,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        let at = Instant::now();
        let mut hls = lock(&self.hls);
        if !hls.contains(id) {
            if let Some(full) = limits.server_full() {
                return Err(full);
            }
            if let Some(max) = limits.station {
                if streaming + hls.len() >= max {
                    return Err(Refusal::StationFull(max));
                }
            }
        }
        let mut joined = None;
        let touch = hls.touch(id, at, bytes, || {
            let client = client();
            joined = Some(client.clone());
            HlsSession {
                client,
                request: request(),
                began: (now, at),
                last: at,
                bytes: 0,
            }
        });
        drop(hls);
        if let Touch::New { displaced } = touch {
            if let Some(client) = &joined {
                self.sink.joined(&self.station, Via::Hls, id, client);
            }
            if let Some((old, session)) = displaced {
                self.hls_left(old, session, EndReason::Displaced, at);
            }
        }
        Ok(())
    }

    /// Counts an HLS request answered (a playlist or a segment).
    pub fn count_hls_request(&self, playlist: bool) {
        let counter = if playlist {
            &self.playlists
        } else {
            &self.segments
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// HLS requests answered so far.
    pub fn hls_requests(&self) -> HlsRequests {
        HlsRequests {
            playlists: self.playlists.load(Ordering::Relaxed),
            segments: self.segments.load(Ordering::Relaxed),
        }
    }

    /// Ends the HLS sessions that have not asked for `expiry`.
    pub fn expire_hls(&self, expiry: Duration) {
        let now = Instant::now();
        let gone = lock(&self.hls).expire(now, expiry);
        for (id, session) in gone {
            // It stopped listening when it stopped asking, not when that was noticed.
            let last = session.last;
            self.hls_left(id, session, EndReason::ClientLeft, last);
        }
    }

    /// Ends every HLS session for `reason` (the station goes off air).
    pub fn end_hls(&self, reason: EndReason) {
        let now = Instant::now();
        let gone = lock(&self.hls).end_all();
        for (id, session) in gone {
            self.hls_left(id, session, reason, now);
        }
    }

    fn hls_left(&self, id: SessionId, session: HlsSession, reason: EndReason, at: Instant) {
        let seconds = at.saturating_duration_since(session.began.1);
        // Its player played from about when it began to when it last asked (a live edge's
        // hold-back behind, on both ends).
        let span = Some((session.began.0, session.began.0 + seconds));
        self.sink.left(Left {
            station: Arc::clone(&self.station),
            session: id,
            via: Via::Hls,
            client: session.client,
            request: session.request,
            began: session.began.0,
            seconds,
            bytes: session.bytes,
            heard: seconds,
            span,
            skips: 0,
            reason,
        });
    }

    /// Removes stream session `id` (its stream ends at its next chunk); whether it was
    /// listening.
    pub fn kick(&self, id: SessionId) -> bool {
        if !self.stream.contains(id) {
            return false;
        }
        lock(&self.kicked).insert(id);
        self.kicks.store(true, Ordering::Release);
        true
    }

    /// Whether stream session `id` was removed (and forgets it: it is ending).
    pub fn is_kicked(&self, id: SessionId) -> bool {
        if !self.kicks.load(Ordering::Acquire) {
            return false;
        }
        let mut kicked = lock(&self.kicked);
        let was = kicked.remove(&id);
        if kicked.is_empty() {
            self.kicks.store(false, Ordering::Release);
        }
        was
    }

    /// HLS sessions now.
    pub fn hls_listeners(&self) -> usize {
        lock(&self.hls).len()
    }

    /// The HLS sessions now, oldest first (for Icecast's listclients).
    pub fn hls_sessions(&self) -> Vec<(SessionId, HlsSession)> {
        lock(&self.hls).list()
    }

    /// The stream listeners now, by session (for Icecast's listclients).
    pub fn stream_listeners(&self) -> Vec<(SessionId, Listener)> {
        self.stream.list()
    }
}
