//! The chunk pacer: publishes a station's frames in real time, on the station clock.
//!
//! Where a station is at any moment is a function of the wall clock ([`crate::timeline`]): at
//! start the pacer anchors the wall clock to tokio's clock once, works out which tick plays now,
//! opens the file there through its seek index, and from then on publishes each chunk when its
//! first tick is due, at an absolute tokio instant computed from the exact tick count, so that
//! the schedule never drifts. A fresh station starts `burst_ms` in the past, so the very first
//! listener gets a full burst at once. Two onair processes with the same files and epoch publish
//! the same frames at the same moments; a restarted one resumes where it would have been.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::chunk::NowPlaying;
use crate::error::SourceError;
use crate::hub::Hub;
use crate::source::{SourceChunk, StationSource};
use crate::timeline::{duration_of, tick_at, ticks_of, Entry, Timeline};

/// Beyond this lateness the pacer catches up with the station clock by skipping the audio it
/// missed (the host was suspended or starved; listeners are better served by a jump than by a
/// flood, and every replica stays on the same timeline).
pub const MAX_LATE: Duration = Duration::from_secs(1);

/// How long a station whose file failed (truncated, emptied, made unreadable) waits for a new
/// file before it goes off air. An in-place overwrite (`cp new.aac jazz.aac`) empties the file
/// for a moment; the station resumes with the new audio once the registry has it.
pub const REPLACEMENT_WAIT: Duration = Duration::from_secs(3);

/// Drives one station: reads chunks from the file its timeline says and publishes them to its
/// hub, each when its time on the station clock comes.
///
/// The timeline comes through a `watch` channel: a new one that switches to another file from a
/// later tick takes effect at that tick (a frame boundary), without a gap for the listeners.
pub struct Pacer {
    timeline: watch::Receiver<Arc<Timeline>>,
    hub: Arc<Hub>,
    epoch: SystemTime,
}

/// What the pacer is playing: the timeline entry and its open programme.
struct Playing {
    entry: Entry,
    source: StationSource,
}

impl Pacer {
    /// A pacer feeding `hub` from `timeline`, whose tick 0 is the wall time `epoch`.
    pub fn new(timeline: watch::Receiver<Arc<Timeline>>, hub: Arc<Hub>, epoch: SystemTime) -> Self {
        Pacer {
            timeline,
            hub,
            epoch,
        }
    }

    /// Plays until `stop` is cancelled or the file fails for good, then closes the hub so that
    /// every listener's stream ends.
    pub async fn run(mut self, stop: CancellationToken) -> Result<(), SourceError> {
        let result = self.play(&stop).await;
        self.hub.close();
        result
    }

    async fn play(&mut self, stop: &CancellationToken) -> Result<(), SourceError> {
        // The one reading of the wall clock: from here on, time is tokio's.
        let (wall0, instant0) = (SystemTime::now(), Instant::now());
        let now_tick = tick_at(self.epoch, wall0);
        let instant_of = |tick: u64| {
            let (at, now) = (duration_of(tick), duration_of(now_tick));
            if at >= now {
                instant0 + (at - now)
            } else {
                instant0.checked_sub(now - at).unwrap_or(instant0)
            }
        };
        let tick_now = |at: Instant| now_tick + ticks_of(at.saturating_duration_since(instant0));
        // A fresh station starts with its burst due; a restarted pacer continues the broadcast.
        let fresh = self
            .hub
            .stats()
            .chunks
            .load(std::sync::atomic::Ordering::Acquire)
            == 0;
        let preroll = if fresh {
            self.hub.tuning().burst
        } else {
            Duration::ZERO
        };
        let mut tick = now_tick.saturating_sub(ticks_of(preroll));
        let mut playing: Option<Playing> = None;
        // The hub's audio time continues across restarts of the pacer, from the first chunk.
        let mut base: Option<(u64, u64)> = None;
        let mut now_playing: Option<Arc<NowPlaying>> = None;
        loop {
            let Some(chunk) = self.next_chunk(&mut playing, &mut tick, stop).await? else {
                return Ok(());
            };
            let deadline = instant_of(tick);
            tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(()),
                () = sleep_until(deadline) => {}
            }
            // A switch announced while this chunk waited may fall inside it: read again from here,
            // so that the switch lands exactly on its tick.
            let crossed = self
                .timeline
                .borrow()
                .next_change(tick)
                .is_some_and(|at| at < tick + chunk.ticks);
            if crossed {
                playing = None;
                continue;
            }
            let now = Instant::now();
            // The burst's deadlines are in the past by design: that is not lateness.
            let late = now.saturating_duration_since(deadline.max(instant0));
            if late > MAX_LATE {
                tracing::warn!(
                    station = self.hub.name(),
                    late_ms = late.as_millis() as u64,
                    "pacer fell behind; skipping to where the station clock is"
                );
                tick = tick_now(now);
                playing = None;
                continue;
            }
            if chunk.looped {
                tracing::debug!(station = self.hub.name(), "looped");
            }
            // The track and when it started: one `NowPlaying` per track played, shared by its
            // chunks.
            let started = tick - (chunk.start - chunk.track_start).min(tick);
            let track = match &now_playing {
                Some(now) if Arc::ptr_eq(&now.track, &chunk.track) && now.started == started => {
                    Arc::clone(now)
                }
                _ => {
                    let now = Arc::new(NowPlaying {
                        ticks: chunk.track.ticks,
                        track: Arc::clone(&chunk.track),
                        started,
                    });
                    tracing::debug!(station = self.hub.name(), track = %now.track.now_playing(), "track starts");
                    now_playing.insert(now).clone()
                }
            };
            let (pts_base, tick_base) = *base.get_or_insert((self.hub.end_pts(), tick));
            let pts = tick.saturating_sub(tick_base);
            let pts_ns = pts_base.saturating_add(nanos(duration_of(pts)));
            let duration_ns = nanos(duration_of(pts + chunk.ticks)) - nanos(duration_of(pts));
            self.hub
                .publish(chunk.data, chunk.frames, pts_ns, duration_ns, Some(track));
            self.hub.record_pacing(
                duration_of(chunk.start - chunk.track_start),
                chunk.looped,
                late,
            );
            tick += chunk.ticks;
        }
    }

    /// The next chunk at `tick` on the timeline, from the programme the timeline says (opened
    /// anew at a switch), ending where the timeline switches. When the file fails, waits up to
    /// [`REPLACEMENT_WAIT`] for a new timeline. `None` when stopped.
    async fn next_chunk(
        &mut self,
        playing: &mut Option<Playing>,
        tick: &mut u64,
        stop: &CancellationToken,
    ) -> Result<Option<SourceChunk>, SourceError> {
        loop {
            let timeline = Arc::clone(&self.timeline.borrow_and_update());
            let entry = timeline.at(*tick);
            let current = match playing {
                Some(current) if current.entry.from == entry.from => current,
                _ => playing.insert(Playing {
                    entry: entry.clone(),
                    source: StationSource::open_at(&entry.programme, entry.position(*tick)),
                }),
            };
            let room = timeline
                .next_change(*tick)
                .map_or(u64::MAX, |at| at - *tick);
            let target = self.hub.tuning().chunk;
            let read = tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(None),
                chunk = current.source.next_chunk_within(target, room) => chunk,
            };
            match read {
                Ok(chunk) => {
                    // Where the chunk's first frame plays: at the frame that holds the position
                    // the programme was opened at, and after a track that played short, where
                    // the next one is due.
                    *tick = current.entry.tick_of(chunk.start);
                    return Ok(Some(chunk));
                }
                Err(error) => {
                    *playing = None;
                    self.wait_for_replacement(error, tick, stop).await?;
                }
            }
        }
    }

    /// After the file failed: waits up to [`REPLACEMENT_WAIT`] for a timeline that plays another
    /// file, and moves `tick` to where that file starts (listeners hear a gap until then).
    async fn wait_for_replacement(
        &mut self,
        error: SourceError,
        tick: &mut u64,
        stop: &CancellationToken,
    ) -> Result<(), SourceError> {
        tracing::warn!(station = self.hub.name(), %error, "station file failed; waiting for a new file");
        let changed = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            changed = tokio::time::timeout(REPLACEMENT_WAIT, self.timeline.changed()) => {
                matches!(changed, Ok(Ok(())))
            }
        };
        if !changed {
            return Err(error);
        }
        let timeline = Arc::clone(&self.timeline.borrow());
        if let Some(next) = timeline.next_change(*tick) {
            *tick = next;
        }
        // Seen again, so that the loop's top reads it.
        self.timeline.mark_changed();
        Ok(())
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
