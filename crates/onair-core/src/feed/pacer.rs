//! The chunk pacer: publishes a feed's frames in real time, on the station clock.
//!
//! Where a station is at any moment is a function of the wall clock ([`crate::timeline`]): the
//! pacer anchors the wall clock to tokio's clock ([`Anchor`]), asks its [`Feed`] for the chunk
//! that plays at the tick the clock says, and publishes each chunk when its first tick is due, at
//! an absolute tokio instant computed from the exact tick count, so that the schedule never
//! drifts. A fresh station starts `burst_ms` in the past, so the very first listener gets a full
//! burst at once. Two onair processes with the same files and epoch publish the same frames at
//! the same moments; a restarted one resumes where it would have been.
//!
//! Once a chunk, the pacer reads the wall clock again: when it was stepped (NTP correcting a
//! slow boot clock), the pacer goes to where the clock now says, as HLS and status do at once.
//! Forward, listeners hear a jump ahead; back, they hear the stretch of the step again.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::{Feed, FeedChunk, Run};
use crate::broadcast::{Begin, Marks};
use crate::broadcast::{Hub, NowPlaying};
use crate::clock::{duration_of, ticks_of, Anchor, Step, WallClock};
use crate::error::SourceError;

/// Beyond this lateness the pacer catches up with the station clock by skipping the audio it
/// missed (the host was suspended or starved; listeners are better served by a jump than by a
/// flood, and every replica stays on the same timeline).
pub const MAX_LATE: Duration = Duration::from_secs(1);

/// How soon a read that failed and may pass (out of descriptors, an I/O error) is tried again.
pub const RETRY: Duration = Duration::from_millis(250);

/// How long a station whose file failed (truncated, emptied, made unreadable) waits for a new
/// file before it goes off air. An in-place overwrite (`cp new.aac jazz.aac`) empties the file
/// for a moment; the station resumes with the new audio once the registry has it.
pub const REPLACEMENT_WAIT: Duration = Duration::from_secs(3);

/// Drives one station: takes chunks from its feed and publishes them to its hub, each when its
/// time on the station clock comes.
pub struct Pacer<F> {
    feed: F,
    hub: Arc<Hub>,
    epoch: SystemTime,
    clock: Arc<dyn WallClock>,
}

impl<F: Feed> Pacer<F> {
    /// A pacer feeding `hub` from `feed`, on a station clock whose tick 0 is the wall time
    /// `epoch`, as `clock` tells it.
    pub fn new(feed: F, hub: Arc<Hub>, epoch: SystemTime, clock: Arc<dyn WallClock>) -> Self {
        Pacer {
            feed,
            hub,
            epoch,
            clock,
        }
    }

    /// Plays until `stop` is cancelled or the feed fails for good, then closes the hub so that
    /// every listener's stream ends.
    pub async fn run(mut self, stop: CancellationToken) -> Result<(), SourceError> {
        let result = self.play(&stop).await;
        self.hub.close();
        result
    }

    async fn play(&mut self, stop: &CancellationToken) -> Result<(), SourceError> {
        let start = Instant::now();
        let mut anchor = Anchor::new(self.epoch, self.clock.now(), start);
        // Deadlines before this are due by design (a burst, a jump): that is not lateness.
        let mut due_from = start;
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
        let mut tick = anchor.tick_at(start).saturating_sub(ticks_of(preroll));
        // The hub's audio time continues across restarts of the pacer and clock steps.
        let mut base: Option<(u64, u64)> = None;
        let mut now_playing: Option<Arc<NowPlaying>> = None;
        // Reads are failing (said once until they work again).
        let mut failing = false;
        // The run the last chunk published belongs to, and the tick after it: a chunk that does
        // not go on from there is a switch. A fresh station's first chunk follows nothing any
        // listener heard (a restarted pacer's does: its listeners stayed).
        let mut continues: Option<(Run, u64)> = None;
        let mut first = fresh;
        loop {
            let target = self.hub.tuning().chunk;
            let read = tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(()),
                chunk = self.feed.next(tick, target) => chunk,
            };
            let mut chunk = match read {
                Ok(chunk) => chunk,
                // A read that may pass (out of descriptors, an I/O error) never takes the
                // station off air: it is tried again shortly, where the clock is then.
                Err(error) if error.is_transient() => {
                    if !failing {
                        tracing::warn!(station = self.hub.name(), %error, "cannot read the station's audio; trying again");
                        failing = true;
                    }
                    tokio::select! {
                        biased;
                        () = stop.cancelled() => return Ok(()),
                        () = tokio::time::sleep(RETRY) => {}
                    }
                    let now = Instant::now();
                    (tick, due_from) = (anchor.tick_at(now).max(tick), now);
                    continue;
                }
                Err(error) => return Err(error),
            };
            if std::mem::take(&mut failing) {
                tracing::info!(station = self.hub.name(), "the station's audio reads again");
            }
            let deadline = anchor.instant_of(chunk.tick);
            tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(()),
                () = sleep_until(deadline) => {}
            }
            if !self.feed.still_current(&chunk) {
                tick = chunk.tick;
                continue;
            }
            let now = Instant::now();
            if let Some(step) = anchor.check(self.clock.now(), now) {
                let (direction, by) = match step {
                    Step::Forward(by) => ("forward", by),
                    Step::Back(by) => ("back", by),
                };
                tracing::warn!(
                    station = self.hub.name(),
                    direction,
                    step_ms = by.as_millis() as u64,
                    "the wall clock was stepped; the station follows it"
                );
                (tick, due_from, base) = (anchor.tick_at(now), now, None);
                continue;
            }
            let late = now.saturating_duration_since(deadline.max(due_from));
            if late > MAX_LATE {
                tracing::warn!(
                    station = self.hub.name(),
                    late_ms = late.as_millis() as u64,
                    "pacer fell behind; skipping to where the station clock is"
                );
                (tick, due_from) = (anchor.tick_at(now), now);
                continue;
            }
            let track = self.now_playing(&mut now_playing, &chunk);
            let (pts_base, tick_base) = *base.get_or_insert((self.hub.end_pts(), chunk.tick));
            let pts = chunk.tick.saturating_sub(tick_base);
            let pts_ns = pts_base.saturating_add(nanos(duration_of(pts)));
            let duration_ns = nanos(duration_of(pts + chunk.ticks)) - nanos(duration_of(pts));
            if chunk.looped {
                tracing::debug!(station = self.hub.name(), "looped");
            }
            self.hub.record_pacing(
                duration_of(chunk.tick.saturating_sub(chunk.track_started)),
                chunk.looped,
                late,
            );
            tick = chunk.tick + chunk.ticks;
            // A chunk that does not go on from the one published before starts a new link of a
            // chained container (Ogg), from its encode's top where it starts there.
            let goes_on = continues == Some((chunk.run, chunk.tick));
            let switch = first || !goes_on;
            let marks = Marks {
                begins: switch.then(|| Begin {
                    headers: chunk.edges.headers.clone(),
                    from_top: chunk.edges.from_top,
                    tags: chunk.track.tags.clone(),
                }),
                ends: chunk.edges.padding,
            };
            if !std::mem::take(&mut first) && !goes_on {
                // A switch: the new audio must decode from its first byte (an MP3 frame may
                // lean on bytes of frames the listeners never got).
                let (data, carriers) = crate::format::startable(chunk.data.clone());
                if carriers > 0 {
                    tracing::debug!(
                        station = self.hub.name(),
                        carriers,
                        "MP3 switch: frames leaning on earlier ones play as silence"
                    );
                    self.hub.record_switch_carriers(carriers);
                    chunk.data = data;
                }
            }
            continues = Some((chunk.run, tick));
            self.hub.publish(
                chunk.data.clone(),
                chunk.frames,
                (pts_ns, chunk.tick),
                duration_ns,
                Some(track),
                &marks,
            );
            self.feed.published(&chunk);
        }
    }

    /// The track of `chunk` and when it started: one [`NowPlaying`] per track played, shared by
    /// its chunks.
    fn now_playing(
        &self,
        current: &mut Option<Arc<NowPlaying>>,
        chunk: &FeedChunk,
    ) -> Arc<NowPlaying> {
        match current {
            Some(now)
                if Arc::ptr_eq(&now.track, &chunk.track) && now.started == chunk.track_started =>
            {
                Arc::clone(now)
            }
            _ => {
                let now = Arc::new(NowPlaying {
                    track: Arc::clone(&chunk.track),
                    started: chunk.track_started,
                    ticks: chunk.track_ticks,
                });
                tracing::debug!(station = self.hub.name(), track = %now.track.display(), "track starts");
                Arc::clone(current.insert(now))
            }
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
