//! The feed of a station's files: the programme its timeline names at each tick.
//!
//! The timeline comes through a `watch` channel: a new one that switches to another programme
//! from a later tick takes effect at that tick (a frame boundary), without a gap for the
//! listeners. When a file's audio is gone (truncated, emptied, another file renamed over it),
//! the feed waits up to [`REPLACEMENT_WAIT`] for a timeline that plays something else; a read
//! that fails (out of descriptors, an I/O error) is the pacer's to try again.

use std::collections::VecDeque;
use std::fs::File;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::pacer::REPLACEMENT_WAIT;
use super::{Edges, Feed, FeedChunk, Run};
use crate::clock::ticks_of;
use crate::error::SourceError;
use crate::library::{StationSource, TrackFile};
use crate::timeline::{Entry, Timeline};

/// Plays the files a station's timeline names.
pub struct TimelineFeed {
    timeline: watch::Receiver<Arc<Timeline>>,
    playing: Option<Playing>,
    /// The files of the tracks played lately, held open (with the tick their audio ends) for
    /// as long as segments may be cut from them: a file renamed over a track that played never
    /// changes or empties a segment of it.
    played: VecDeque<(u64, Arc<File>)>,
    /// How long played files are held, in ticks.
    keep: u64,
}

/// The timeline entry being read, its open programme, and the tick its next chunk plays at.
struct Playing {
    entry: Entry,
    source: StationSource,
    next: u64,
    /// The run its frames are, and the track it is in (a new track is a new run).
    run: Run,
    track_start: u64,
}

impl TimelineFeed {
    /// A feed of the files `timeline` names, holding the files it played open for `keep`
    /// after their audio (as long as a segment may be cut from them).
    pub fn new(timeline: watch::Receiver<Arc<Timeline>>, keep: Duration) -> Self {
        TimelineFeed {
            timeline,
            playing: None,
            played: VecDeque::new(),
            keep: ticks_of(keep),
        }
    }

    /// Holds the file of the track that `chunk` came from, until `keep` after its audio.
    fn hold(&mut self, track: &TrackFile, end: u64) {
        match (self.played.back_mut(), track.held()) {
            (Some((held_end, file)), Some(open)) if Arc::ptr_eq(file, &open) => *held_end = end,
            (_, Some(open)) => self.played.push_back((end, open)),
            (_, None) => {}
        }
        while self
            .played
            .front()
            .is_some_and(|(held_end, _)| held_end + self.keep < end)
        {
            self.played.pop_front();
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
        // A switch already scheduled after `at` (a new version, seen before its old one failed
        // here): the station goes on there.
        if let Some(next) = self.timeline.borrow().next_change(at) {
            tracing::warn!(%error, "station file failed; its new version takes over");
            return Ok(next);
        }
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
                    source: entry.open(at),
                    next: at,
                    run: Run::new(),
                    track_start: u64::MAX,
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
                    let track_started = playing.entry.tick_of(chunk.track_start);
                    if std::mem::replace(&mut playing.track_start, chunk.track_start)
                        != chunk.track_start
                    {
                        playing.run = Run::new();
                    }
                    let run = playing.run;
                    // The track's encode: from its top when the chunk starts at its first
                    // frame; to its end (and its padding) when the chunk ends at its last.
                    let info = &chunk.track;
                    let edges = Edges {
                        headers: (!info.headers.is_empty())
                            .then(|| std::sync::Arc::from(info.headers.as_slice())),
                        from_top: chunk.start == chunk.track_start,
                        padding: (chunk.start + chunk.ticks == chunk.track_start + info.ticks)
                            .then_some(info.padding),
                    };
                    self.hold(&chunk.track.file, tick + chunk.ticks);
                    return Ok(FeedChunk {
                        data: chunk.data,
                        frames: chunk.frames,
                        tick,
                        ticks: chunk.ticks,
                        track: Arc::clone(&chunk.track.meta),
                        track_started,
                        track_ticks: chunk.track.ticks,
                        looped: chunk.looped,
                        live: false,
                        run,
                        edges,
                    });
                }
                // Out of descriptors, an I/O error: the pacer tries again where the clock is.
                Err(error) if error.is_transient() => {
                    self.playing = None;
                    return Err(error);
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
