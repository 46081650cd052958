//! Feeds: where a station's audio comes from, below the pacer and the hub.
//!
//! The [`Pacer`] publishes whatever a [`Feed`] gives it, each chunk when the station clock says:
//! it knows nothing of files. Today's feed is the [`TimelineFeed`], which plays the files the
//! station's timeline names; anything else that yields whole frames on the station clock (a
//! live encoder, a relay) plugs in here, and the hub, the listeners and HLS never notice the
//! difference.
//!
//! - [`timeline`](self::timeline): the feed of a station's files, following its timeline.
//! - [`live`]: live audio from a source over a station's own feed, and its jitter buffer.
//! - [`pacer`]: publishes a feed's chunks on the station clock.

pub mod live;
pub(crate) mod pacer;
pub(crate) mod timeline;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::broadcast::TrackMeta;
use crate::error::SourceError;

pub use live::LiveFeed;
pub use pacer::{Pacer, MAX_LATE, REPLACEMENT_WAIT};
pub use timeline::TimelineFeed;

/// A run of whole frames of one track, placed on the station clock.
#[derive(Debug, Clone)]
pub struct FeedChunk {
    /// Whole frames, starting on a sync word.
    pub data: Bytes,
    /// Frames in `data`.
    pub frames: u32,
    /// The station-clock tick of the first frame.
    pub tick: u64,
    /// Length in ticks.
    pub ticks: u64,
    /// The track the frames belong to.
    pub track: Arc<TrackMeta>,
    /// The tick the track's first frame played (or plays) at.
    pub track_started: u64,
    /// The track's length in ticks (0 when not known).
    pub track_ticks: u64,
    /// The chunk starts a new round of a looping programme.
    pub looped: bool,
    /// The frames come from a live source: no file can give them again.
    pub live: bool,
    /// The byte stream the frames come from: two chunks of one run at adjacent ticks are
    /// adjacent frames of it. Where a chunk does not continue the run published before it, the
    /// pacer makes it decodable from its first frame ([`crate::format::startable`]).
    pub run: Run,
    /// Where the chunk stands in the encode its frames come from (for a container that chains).
    pub edges: Edges,
}

/// Where a chunk stands in the encode its frames come from, where the feed knows: a chained
/// container (Ogg) starts a link at a new encode, and lets players trim the encode's priming
/// and padding.
#[derive(Debug, Clone, Default)]
pub struct Edges {
    /// The encode's header packets (Opus: `OpusHead`, `OpusTags`; Vorbis: identification,
    /// comment, setup).
    pub headers: Option<std::sync::Arc<[Bytes]>>,
    /// The chunk's first frame is the encode's first.
    pub from_top: bool,
    /// The chunk's last frame is the encode's last, whose last this many samples are padding.
    pub padding: Option<u32>,
}

/// One unbroken byte stream of frames (a track read from a position on, a live session's
/// frames while none is dropped): each new one is unlike every other in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run(u64);

impl Run {
    /// A run unlike any before it.
    pub fn new() -> Run {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Run(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

impl Default for Run {
    fn default() -> Self {
        Run::new()
    }
}

/// Whatever yields a station's audio: whole frames, with their ticks and their track.
///
/// The pacer asks for the chunk that plays at a tick (the tick after the previous chunk, or
/// where the clock is after a jump), waits until its time, then asks whether it still holds:
/// what plays may have changed while it waited.
pub trait Feed: Send {
    /// The next run of whole frames of one track, about `target` long, from tick `at` on (its
    /// first frame is the one that holds `at`, or a later one where nothing plays until then).
    fn next(
        &mut self,
        at: u64,
        target: Duration,
    ) -> impl Future<Output = Result<FeedChunk, SourceError>> + Send;

    /// Whether `chunk`, read ahead, is still what plays at its tick. When it is not, the pacer
    /// drops it and asks again at its tick.
    fn still_current(&mut self, chunk: &FeedChunk) -> bool;

    /// Says that `chunk` went out to the listeners (a feed whose audio no file can give again
    /// keeps it for HLS here).
    fn published(&mut self, _chunk: &FeedChunk) {}
}
