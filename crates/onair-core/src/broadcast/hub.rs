//! The per-station connection pool: one broadcast, fanned out to every listener.
//!
//! The pacer [`publish`](Hub::publish)es each chunk once; the hub keeps the most recent chunks as
//! the burst for new listeners and hands the chunk to a `tokio::sync::broadcast` channel, from
//! which every [`Subscription`] takes its own reference. Publishing costs the same whether one
//! listener or twenty thousand are tuned in, and a listener that stops reading only falls behind
//! in the channel: it never slows the pacer or anyone else.
//!
//! The burst and the live channel are updated under one lock, and a new subscription takes its
//! burst and its live receiver under that same lock, so the live stream continues exactly where
//! the burst ends: no gap, no duplicate.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::broadcast;

use crate::broadcast::chunk::{Chunk, NowPlaying};
use crate::broadcast::packaging::{Marks, Packaging};

/// The live-tunable pacing of one station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Audio per broadcast chunk.
    pub chunk: Duration,
    /// Audio a new listener receives at once.
    pub burst: Duration,
    /// How far a listener may fall behind the live edge before it is skipped forward.
    pub queue: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            chunk: Duration::from_millis(500),
            burst: Duration::from_millis(4000),
            queue: Duration::from_millis(10_000),
        }
    }
}

/// Counters of a hub's life, for logs and status pages.
#[derive(Debug, Default)]
pub struct HubStats {
    /// Chunks published.
    pub chunks: AtomicU64,
    /// Audio bytes published (once, not per listener).
    pub bytes: AtomicU64,
    /// Listeners ever subscribed.
    pub connects: AtomicU64,
    /// Times a lagging listener was skipped forward to the live edge.
    pub skips: AtomicU64,
    /// Most listeners at once.
    pub peak: AtomicUsize,
    /// Audio bytes handed to listeners (the sum over listeners).
    pub bytes_sent: AtomicU64,
    /// Completed passes through the station's file.
    pub loops: AtomicU64,
    /// Audio position in the file playing, in nanoseconds (at the newest chunk).
    pub position_ns: AtomicU64,
    /// How late the pacer published its latest chunk, in nanoseconds.
    pub late_ns: AtomicU64,
    /// The most the pacer was ever late, in nanoseconds.
    pub late_max_ns: AtomicU64,
    /// Switches of an MP3 station whose new audio leaned on frames before it.
    pub switch_repairs: AtomicU64,
    /// Frames that played as silence at those switches (carrying the bytes the next ones
    /// lean on).
    pub switch_carriers: AtomicU64,
}

/// Why a listener was not tuned in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The station has gone off air.
    OffAir,
    /// The station has this many listeners, its limit.
    Full(usize),
}

/// One station's broadcast and its listeners.
pub struct Hub {
    name: String,
    state: Mutex<State>,
    /// Tuning in nanoseconds (chunk, burst, queue): read on every listener poll, so lock-free.
    tuning: [AtomicU64; 3],
    listeners: AtomicUsize,
    /// `pts_ns` of the newest chunk: the live edge, for lag checks without the lock.
    live_pts: AtomicU64,
    /// Where the newest chunk ends, in the same audio time.
    end_pts: AtomicU64,
    closed: AtomicBool,
    stats: HubStats,
    /// Woken at the first chunk.
    first: tokio::sync::Notify,
    /// Told when a chunk starts another track (set once, by whoever shows now playing).
    track_changes: std::sync::OnceLock<Arc<tokio::sync::Notify>>,
}

struct State {
    /// The newest chunks, covering at least the burst.
    ring: VecDeque<Chunk>,
    /// Audio duration of `ring`, in nanoseconds.
    ring_ns: u64,
    next_seq: u64,
    /// `None` once the hub is closed.
    sender: Option<broadcast::Sender<Chunk>>,
    /// The station's container, if its frames go out in one (Ogg).
    packaging: Option<Box<dyn Packaging>>,
    /// The track of the newest chunk published (kept apart from the ring, which a burst of 0
    /// leaves empty).
    now: Option<Arc<NowPlaying>>,
    /// The tracks before it, newest first (at most [`RECENT`]).
    recent: VecDeque<Arc<NowPlaying>>,
}

/// How many tracks played before the one playing a hub remembers (for pages).
pub const RECENT: usize = 10;

impl Hub {
    /// A hub for station `name`. `capacity` is how many chunks a listener may have queued before
    /// the channel itself drops the oldest (the `queue` tuning usually skips it forward first).
    pub fn new(name: impl Into<String>, tuning: Tuning) -> Arc<Hub> {
        let chunk_ms = tuning.chunk.as_millis().max(1);
        let capacity = (tuning.queue.as_millis() / chunk_ms + 4).clamp(16, 4096) as usize;
        let (sender, _) = broadcast::channel(capacity);
        Arc::new(Hub {
            name: name.into(),
            state: Mutex::new(State {
                ring: VecDeque::new(),
                ring_ns: 0,
                next_seq: 0,
                now: None,
                recent: VecDeque::new(),
                sender: Some(sender),
                packaging: None,
            }),
            tuning: [
                AtomicU64::new(duration_ns_of(tuning.chunk)),
                AtomicU64::new(duration_ns_of(tuning.burst)),
                AtomicU64::new(duration_ns_of(tuning.queue)),
            ],
            listeners: AtomicUsize::new(0),
            live_pts: AtomicU64::new(0),
            end_pts: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            stats: HubStats::default(),
            first: tokio::sync::Notify::new(),
            track_changes: std::sync::OnceLock::new(),
        })
    }

    /// The station's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Puts the station's frames into `packaging` from the next chunk on (every listener who
    /// joins a link of it in the middle is given the link's header pages first).
    pub fn set_packaging(&self, packaging: Box<dyn Packaging>) {
        lock(&self.state).packaging = Some(packaging);
    }

    /// Current pacing.
    pub fn tuning(&self) -> Tuning {
        let [chunk, burst, queue] = &self.tuning;
        let get = |ns: &AtomicU64| Duration::from_nanos(ns.load(Ordering::Relaxed));
        Tuning {
            chunk: get(chunk),
            burst: get(burst),
            queue: get(queue),
        }
    }

    /// Retunes the station: the pacer takes the chunk size at its next chunk; burst and queue
    /// apply to the next listeners and lag checks.
    pub fn set_tuning(&self, tuning: Tuning) {
        let [chunk, burst, queue] = &self.tuning;
        chunk.store(duration_ns_of(tuning.chunk), Ordering::Relaxed);
        burst.store(duration_ns_of(tuning.burst), Ordering::Relaxed);
        queue.store(duration_ns_of(tuning.queue), Ordering::Relaxed);
    }

    /// Listeners tuned in now.
    pub fn listeners(&self) -> usize {
        self.listeners.load(Ordering::Relaxed)
    }

    /// Life counters.
    pub fn stats(&self) -> &HubStats {
        &self.stats
    }

    /// Whether the hub has closed (the station went off air).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Publishes frames of `track` to every listener and keeps them for the burst, with what
    /// the pacer says of the chunk for a container that chains ([`Marks`]); `(pts_ns, tick)`:
    /// its audio time since the station started, and the station-clock tick of its first
    /// frame. Returns the chunk.
    pub fn publish(
        &self,
        data: Bytes,
        frames: u32,
        (pts_ns, tick): (u64, u64),
        duration_ns: u64,
        track: Option<Arc<NowPlaying>>,
        marks: &Marks,
    ) -> Chunk {
        let burst_ns = duration_ns_of(self.tuning().burst);
        let mut state = lock(&self.state);
        let (data, link) = match state.packaging.as_mut() {
            Some(packaging) => {
                let packaged = packaging.package(&data, marks);
                (packaged.data, Some(packaged.link))
            }
            None => (data, None),
        };
        let new_track = match (&track, state.now.as_ref()) {
            (Some(now), Some(before)) => !Arc::ptr_eq(now, before),
            (now, _) => now.is_some(),
        };
        let chunk = Chunk {
            data,
            seq: state.next_seq,
            pts_ns,
            tick,
            duration_ns,
            frames,
            track,
            link,
        };
        state.next_seq += 1;
        if chunk.track.is_some() {
            let before = std::mem::replace(&mut state.now, chunk.track.clone());
            if let Some(before) = before.filter(|_| new_track) {
                state.recent.push_front(before);
                state.recent.truncate(RECENT);
            }
        }
        state.ring_ns += duration_ns;
        state.ring.push_back(chunk.clone());
        while let Some(oldest) = state.ring.front() {
            if state.ring_ns - oldest.duration_ns < burst_ns {
                break;
            }
            state.ring_ns -= oldest.duration_ns;
            state.ring.pop_front();
        }
        self.live_pts.store(pts_ns, Ordering::Release);
        self.end_pts.store(pts_ns + duration_ns, Ordering::Release);
        if let Some(sender) = &state.sender {
            // An error only means that nobody listens right now.
            let _ = sender.send(chunk.clone());
        }
        drop(state);
        if new_track {
            if let Some(changes) = self.track_changes.get() {
                changes.notify_one();
            }
        }
        if self.stats.chunks.fetch_add(1, Ordering::Release) == 0 {
            self.first.notify_waiters();
        }
        self.stats
            .bytes
            .fetch_add(chunk.data.len() as u64, Ordering::Relaxed);
        chunk
    }

    /// The tracks played before the one playing, newest first (at most [`RECENT`]).
    pub fn recent(&self) -> Vec<Arc<NowPlaying>> {
        lock(&self.state).recent.iter().cloned().collect()
    }

    /// The track of the newest chunk: what a listener at the live edge hears now.
    pub fn now_playing(&self) -> Option<Arc<NowPlaying>> {
        lock(&self.state).now.clone()
    }

    /// Has `notify` told whenever a published chunk starts another track (once; later calls
    /// are ignored).
    pub fn notify_track_changes(&self, notify: Arc<tokio::sync::Notify>) {
        let _ = self.track_changes.set(notify);
    }

    /// Completes once the first chunk is published (or the hub closed).
    pub async fn first_chunk(&self) {
        let notified = self.first.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.stats.chunks.load(Ordering::Acquire) > 0 || self.is_closed() {
            return;
        }
        notified.await;
    }

    /// A new listener's start: the most recent burst of audio and a receiver of the live
    /// chunks that follow it, taken under one lock (no gap, no duplicate); refused when `max`
    /// listeners are tuned in already (checked under the lock, so concurrent listeners never
    /// overshoot) or the station has gone off air. The listener is counted.
    pub(crate) fn tune_in(
        &self,
        max: usize,
    ) -> Result<(Vec<Chunk>, broadcast::Receiver<Chunk>), Refused> {
        let burst_ns = duration_ns_of(self.tuning().burst);
        let state = lock(&self.state);
        let live = state.sender.as_ref().ok_or(Refused::OffAir)?.subscribe();
        if self.listeners() >= max {
            return Err(Refused::Full(max));
        }
        let mut covered = 0;
        let newest_first = state.ring.iter().rev().take_while(|chunk| {
            let take = covered < burst_ns;
            covered += chunk.duration_ns;
            take
        });
        let mut burst: Vec<Chunk> = newest_first.cloned().collect();
        // Counted under the lock, so that the limit holds for concurrent listeners.
        let now = self.listeners.fetch_add(1, Ordering::Relaxed) + 1;
        drop(state);
        burst.reverse();
        self.stats.peak.fetch_max(now, Ordering::Relaxed);
        self.stats.connects.fetch_add(1, Ordering::Relaxed);
        Ok((burst, live))
    }

    /// The first bytes a new listener would receive now (the start of the burst), at most
    /// `max` of them; for clients that probe a stream with a small `Range` request.
    pub fn peek_burst(&self, max: usize) -> Bytes {
        let burst_ns = duration_ns_of(self.tuning().burst);
        let state = lock(&self.state);
        let mut covered = 0;
        let first = state.ring.iter().rev().find(|chunk| {
            covered += chunk.duration_ns;
            covered >= burst_ns
        });
        match first.or(state.ring.front()) {
            // In the middle of a link of a chained container: its header pages come first.
            Some(Chunk {
                link: Some(link), ..
            }) if !link.begins => link.preamble.slice(..max.min(link.preamble.len())),
            Some(chunk) => chunk.data.slice(..max.min(chunk.data.len())),
            None => Bytes::new(),
        }
    }

    /// A receiver at the live edge, for a listener skipped forward. `None` once closed.
    pub(crate) fn resubscribe_live(&self) -> Option<broadcast::Receiver<Chunk>> {
        lock(&self.state).sender.as_ref().map(|s| s.subscribe())
    }

    /// Where the broadcast's audio time stands: the end of the newest chunk (0 before any).
    pub fn end_pts(&self) -> u64 {
        self.end_pts.load(Ordering::Acquire)
    }

    /// How far `chunk` is behind the newest chunk.
    pub(crate) fn lag(&self, chunk: &Chunk) -> Duration {
        let live = self.live_pts.load(Ordering::Acquire);
        Duration::from_nanos(live.saturating_sub(chunk.pts_ns))
    }

    /// Records the pacer's position after publishing: the position in the file, whether the
    /// file just looped, and how late the chunk was.
    pub fn record_pacing(&self, position: Duration, looped: bool, late: Duration) {
        let stats = &self.stats;
        stats
            .position_ns
            .store(duration_ns_of(position), Ordering::Relaxed);
        if looped {
            stats.loops.fetch_add(1, Ordering::Relaxed);
        }
        stats.late_ns.store(duration_ns_of(late), Ordering::Relaxed);
        stats
            .late_max_ns
            .fetch_max(duration_ns_of(late), Ordering::Relaxed);
    }

    /// Says that a switch needed `carriers` silent carrier frames (see
    /// [`crate::format::startable`]).
    pub fn record_switch_carriers(&self, carriers: u32) {
        self.stats.switch_repairs.fetch_add(1, Ordering::Relaxed);
        self.stats
            .switch_carriers
            .fetch_add(u64::from(carriers), Ordering::Relaxed);
    }

    pub(crate) fn listener_left(&self) {
        self.listeners.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn count_sent(&self, bytes: usize) {
        self.stats
            .bytes_sent
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn count_skip(&self) {
        self.stats.skips.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes the station off air: every listener's stream ends after the chunk it is sending,
    /// and new subscriptions are refused.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.first.notify_waiters();
        let mut state = lock(&self.state);
        state.sender = None;
        state.ring.clear();
        state.ring_ns = 0;
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("name", &self.name)
            .field("listeners", &self.listeners())
            .field("closed", &self.is_closed())
            .finish()
    }
}

fn duration_ns_of(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Locks a mutex; a panic elsewhere while it was held leaves data that is still consistent here
/// (every critical section is a few assignments), so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
