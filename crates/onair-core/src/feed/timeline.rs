//! The feed of a station's files: the programme its timeline names at each tick.
//!
//! The timeline comes through a `watch` channel: a new one that switches to another programme
//! from a later tick takes effect at that tick (a frame boundary), without a gap for the
//! listeners. When a file fails (truncated, emptied, made unreadable), the feed waits up to
//! [`REPLACEMENT_WAIT`] for a timeline that plays something else.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::pacer::REPLACEMENT_WAIT;
use super::{Feed, FeedChunk};
use crate::error::SourceError;
use crate::library::StationSource;
use crate::timeline::{Entry, Timeline};

/// Plays the files a station's timeline names.
pub struct TimelineFeed {
    timeline: watch::Receiver<Arc<Timeline>>,
    playing: Option<Playing>,
}

/// The timeline entry being read, its open programme, and the tick its next chunk plays at.
struct Playing {
    entry: Entry,
    source: StationSource,
    next: u64,
}

impl TimelineFeed {
    /// A feed of the files `timeline` names.
    pub fn new(timeline: watch::Receiver<Arc<Timeline>>) -> Self {
        TimelineFeed {
            timeline,
            playing: None,
        }
    }

    /// After a file failed: waits up to [`REPLACEMENT_WAIT`] for a timeline that plays
    /// something else, and returns the tick where that starts (listeners hear a gap until
    /// then).
    async fn wait_for_replacement(
        &mut self,
        error: SourceError,
        at: u64,
    ) -> Result<u64, SourceError> {
        tracing::warn!(%error, "station file failed; waiting for a new file");
        let changed = tokio::time::timeout(REPLACEMENT_WAIT, self.timeline.changed()).await;
        if !matches!(changed, Ok(Ok(()))) {
            return Err(error);
        }
        let next = self.timeline.borrow().next_change(at).unwrap_or(at);
        // Seen again, so that the next read takes it.
        self.timeline.mark_changed();
        Ok(next)
    }
}

impl Feed for TimelineFeed {
    async fn next(&mut self, mut at: u64, target: Duration) -> Result<FeedChunk, SourceError> {
        loop {
            let timeline = Arc::clone(&self.timeline.borrow_and_update());
            let entry = timeline.at(at);
            let playing = match self.playing.take() {
                Some(p) if p.entry.from == entry.from && p.next == at => p,
                _ => Playing {
                    entry: entry.clone(),
                    source: StationSource::open_at(&entry.programme, entry.position(at)),
                    next: at,
                },
            };
            let playing = self.playing.insert(playing);
            let room = timeline
                .next_change(at)
                .map_or(u64::MAX, |change| change - at);
            match playing.source.next_chunk_within(target, room).await {
                Ok(chunk) => {
                    // Where the chunk's first frame plays: at the frame that holds the position
                    // the programme was opened at, and after a track that played short, where
                    // the next one is due.
                    let tick = playing.entry.tick_of(chunk.start);
                    playing.next = tick + chunk.ticks;
                    return Ok(FeedChunk {
                        data: chunk.data,
                        frames: chunk.frames,
                        tick,
                        ticks: chunk.ticks,
                        track: Arc::clone(&chunk.track.meta),
                        track_started: playing.entry.tick_of(chunk.track_start),
                        track_ticks: chunk.track.ticks,
                        looped: chunk.looped,
                    });
                }
                Err(error) => {
                    self.playing = None;
                    at = self.wait_for_replacement(error, at).await?;
                }
            }
        }
    }

    fn still_current(&mut self, chunk: &FeedChunk) -> bool {
        let timeline = self.timeline.borrow();
        let entry = timeline.at(chunk.tick);
        let same = self
            .playing
            .as_ref()
            .is_some_and(|p| p.entry.from == entry.from);
        // A switch announced while the chunk waited may fall inside it: read again from its
        // tick, so that the switch lands exactly on its tick.
        let crossed = timeline
            .next_change(chunk.tick)
            .is_some_and(|change| change < chunk.tick + chunk.ticks);
        if !same || crossed {
            self.playing = None;
        }
        same && !crossed
    }
}
