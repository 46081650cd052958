//! Live audio: a source's frames take a station over at a chunk boundary, and its programme
//! comes back on the clock when they stop.
//!
//! A [`LiveFeed`] wraps the station's own feed (its files). Each chunk, it plays what the
//! station's [`LiveInput`] holds once its jitter buffer has filled, and the programme at the
//! tick asked for otherwise: the programme runs on underneath on the station clock, so when
//! the source leaves (or runs dry) the station is where every replica and a restart would
//! have it. Live frames take the ticks the pacer asks for, right after the audio before them:
//! the hub, HLS and the listeners see one continuous stream of whole frames.
//!
//! Live audio cannot be read again from a file, so every live chunk published is held in the
//! station's [`SegmentWindow`] for the segments cut from it, for as long as a playlist may
//! list them.
//!
//! - `input`: the jitter buffer between the source's connection and the pacer.
//! - `frames`: a source's bytes as checked whole frames.

mod frames;
mod input;

use std::sync::Arc;
use std::time::Duration;

pub use frames::{SourceFormatError, SourceFrames, MAX_BYTES_WITHOUT_FRAME};
pub use input::{LiveCounters, LiveInput, LiveSession, PushError};

use super::{Feed, FeedChunk};
use crate::broadcast::TrackMeta;
use crate::clock::ticks_of;
use crate::error::SourceError;
use crate::format::Codec;
use crate::timeline::{SegmentWindow, Stretch};

/// A station's feed with live audio over its own: see the [module](self).
pub struct LiveFeed<F> {
    programme: F,
    input: Arc<LiveInput>,
    window: Arc<SegmentWindow>,
    codec: Codec,
    /// Live audio is held this many ticks after it played.
    keep: u64,
    /// The live track playing, and the tick it started at.
    live_track: Option<(Arc<TrackMeta>, u64)>,
}

impl<F: Feed> LiveFeed<F> {
    /// Live audio of `codec` from `input` over `programme`; live chunks are held in `window`
    /// for `keep` after they played.
    pub fn new(
        programme: F,
        input: Arc<LiveInput>,
        window: Arc<SegmentWindow>,
        codec: Codec,
        keep: Duration,
    ) -> Self {
        LiveFeed {
            programme,
            input,
            window,
            codec,
            keep: ticks_of(keep),
            live_track: None,
        }
    }
}

impl<F: Feed> Feed for LiveFeed<F> {
    async fn next(&mut self, at: u64, target: Duration) -> Result<FeedChunk, SourceError> {
        if let Some((data, frames, ticks, track)) = self.input.take(ticks_of(target)) {
            let started = match &self.live_track {
                Some((playing, started)) if Arc::ptr_eq(playing, &track) => *started,
                _ => at,
            };
            self.live_track = Some((Arc::clone(&track), started));
            return Ok(FeedChunk {
                data,
                frames,
                tick: at,
                ticks,
                track,
                track_started: started,
                track_ticks: 0,
                looped: false,
                live: true,
            });
        }
        self.live_track = None;
        self.programme.next(at, target).await
    }

    fn still_current(&mut self, chunk: &FeedChunk) -> bool {
        // A programme chunk read ahead gives way to live audio that became ready meanwhile.
        chunk.live || (!self.input.is_on_air() && self.programme.still_current(chunk))
    }

    fn published(&mut self, chunk: &FeedChunk) {
        if !chunk.live {
            return self.programme.published(chunk);
        }
        self.window.hold(Stretch {
            start: chunk.tick,
            data: chunk.data.clone(),
            codec: self.codec,
            track: Arc::clone(&chunk.track),
        });
        self.window
            .forget_before(chunk.tick.saturating_sub(self.keep));
    }
}
