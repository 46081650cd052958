//! The audio engine of onair: from AAC (ADTS) and MP3 files on disk to chunks fanned out to
//! listeners, on one station clock.
//!
//! No HTTP lives here. The server crate mounts one [`Hub`] per station, feeds it with a
//! [`Pacer`] over a [`Feed`], and turns each [`Subscription`] into a response body.
//!
//! # Layout
//!
//! Each folder is one concern; a folder imports only those above it in this list, and no module
//! imports one that imports it back.
//!
//! - [`format`]: frame formats: ADTS and MPEG audio headers, each codec's first-frame rule, the
//!   scanner that confirms frames, the zero-copy deframer, and ID3/APE tags.
//! - [`clock`]: the station clock's home: ticks and their conversions, the injected
//!   [`WallClock`], and the [`Anchor`] that ties wall time to tokio's clock and sees steps.
//! - [`broadcast`]: chunks and what their track is called ([`TrackMeta`], [`NowPlaying`]), the
//!   per-station [`Hub`] and each listener's [`Subscription`].
//! - [`library`]: tracks on disk: the probe ([`StationInfo`]), [`Programme`]s, and the
//!   [`StationSource`] that reads them as they play.
//! - [`timeline`]: which programme plays at which tick ([`Timeline`]: what plays now and next,
//!   track and segment boundaries, switches), HLS segments cut from it, and the
//!   [`SegmentWindow`] that also holds audio no file can give again.
//! - [`schedule`]: a station's week grid (slots in an IANA time zone), jingles, and the
//!   [`Planner`] that lays them on the station clock as [`Timeline`] entries.
//! - [`feed`]: the seam below the hub: the [`Feed`] trait, the [`TimelineFeed`] of a station's
//!   files, the [`LiveFeed`] that puts a live source's frames over it, and the [`Pacer`] that
//!   publishes any feed on the station clock.
//! - [`error`]: typed errors naming the file and the byte offset.
//! - `testing` (feature `testing`): synthetic frames and tracks for tests and benchmarks.
//!
//! Audio flows: file -> [`library`] (blocks, frames) -> [`feed`] (chunks on the clock) ->
//! [`broadcast`] (hub) -> listeners; HLS cuts the same [`timeline`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod broadcast;
pub mod clock;
mod error;
pub mod feed;
pub mod format;
pub mod library;
pub mod schedule;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod timeline;

// The seams: what the server (and tests, benches, fuzz targets) build on, and the types their
// signatures and fields name.
pub use broadcast::{Chunk, Hub, HubStats, NowPlaying, Refused, Subscription, TrackMeta, Tuning};
pub use clock::{
    check_epoch, duration_of, pts_90k, tick_at, ticks_of, wall_time, Anchor, EpochError,
    SystemClock, TestClock, WallClock, TICKS_PER_SECOND,
};
pub use error::{printable, SourceError};
pub use feed::live::{
    LiveCounters, LiveInput, LiveSession, PushError, Rank, SourceFormatError, SourceFrames,
};
pub use feed::{Feed, FeedChunk, LiveFeed, Pacer, Run, TimelineFeed, REPLACEMENT_WAIT};
pub use format::{
    audio_range, carry_samples, clean_text, silence_file, silent_frame, startable, AdtsHeader,
    AudioRange, Codec, CodecSpec, Damage, Fmp4Track, Format, FrameHeader, Framing, HeaderError,
    HlsPacking, Kind, MpegHeader, MpegVersion, TrackTags, CODECS,
};
/// Ogg pages, for tests and tools that check what onair sends.
pub mod ogg {
    pub use crate::format::ogg::page_crc;
    pub use crate::format::{scan_page, Packets, PageHeader, PageScan};
}
/// The 48 kHz samples an Opus packet decodes to (from its TOC byte); none for a malformed one.
pub use format::opus::packet_samples as opus_samples;
pub use format::Next;
pub use library::{probe, probe_until, Order, Programme, SeekIndex, SeekPoint, Spot, StationInfo};
pub use schedule::{Planner, Schedule};
pub use timeline::{
    Entry, FrameSpan, Listing, NowAndNext, Packed, Placed, Segment, SegmentWindow, Stretch, Switch,
    Timeline,
};
