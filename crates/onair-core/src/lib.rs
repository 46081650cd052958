//! The audio engine of onair: from AAC (ADTS) and MP3 files on disk to chunks fanned out to
//! listeners.
//!
//! No HTTP lives here. The server crate mounts one [`Hub`] per station and turns each
//! [`Subscription`] into a response body.
//!
//! # Layout
//!
//! Audio flows through the modules in this order:
//!
//! - [`tags`]: finds the byte range between ID3v2/ID3v1/APE tags, which is what plays, and the
//!   artist and title they give.
//! - [`adts`]: parses ADTS (AAC) headers.
//! - [`mpeg`]: parses MPEG audio (MP3, MP2) headers and finds Xing/Info/VBRI header frames.
//! - [`frame`]: what both have in common ([`Codec`], [`FrameHeader`], [`Format`]), and the
//!   scanner that confirms frames (the next header must follow at the frame's length, so false
//!   sync words inside audio data are passed over).
//! - [`deframer`]: turns blocks of file bytes into confirmed frames, zero-copy (`Bytes` slices of
//!   the read-ahead buffer), dropping and counting garbage.
//! - [`probe`]: reads a file once to validate it and describe it ([`StationInfo`]): frames,
//!   duration, bitrate, sample rate, channels, tags, damage.
//! - [`programme`]: a station's tracks end to end, looped, in name order or shuffled per round.
//! - [`source`]: reads a programme as it plays, one block ahead, track after track, gapless.
//! - [`clock`]: conversions between sample counts and durations.
//! - [`timeline`]: the station clock: ticks since the epoch, and which file plays when.
//! - [`segment`]: HLS segments cut from the timeline on demand.
//! - [`pacer`]: groups frames into chunks of about `chunk_ms` and publishes each when the station
//!   clock says.
//! - [`chunk`]: the unit of broadcast, shared by reference with every listener, and the track it
//!   belongs to ([`NowPlaying`]).
//! - [`hub`]: the per-station connection pool: burst ring plus broadcast channel.
//! - [`subscription`]: one listener's stream: burst, then live chunks, skipping forward on lag.
//! - [`error`]: typed errors naming the file and the byte offset.
//! - `testing` (feature `testing`): synthetic frames and tracks for tests and benchmarks.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod adts;
mod chunk;
mod clock;
mod deframer;
mod error;
mod frame;
mod hub;
mod mpeg;
mod pacer;
mod probe;
mod programme;
mod segment;
mod source;
mod subscription;
mod tags;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod timeline;

// The seams: what the server (and tests, benches, fuzz targets) build on, and the types their
// signatures and fields name.
pub use adts::{AdtsHeader, HeaderError};
pub use chunk::{Chunk, NowPlaying};
pub use deframer::Damage;
pub use error::{printable, SourceError};
pub use frame::{Codec, Format, FrameHeader, Kind};
pub use hub::{Hub, HubStats, Refused, Tuning};
pub use mpeg::{MpegHeader, Version as MpegVersion};
pub use pacer::{Pacer, REPLACEMENT_WAIT};
pub use probe::{probe, probe_until, SeekIndex, SeekPoint, StationInfo};
pub use programme::{Order, Programme, Spot};
pub use segment::{cut_segment, Segment};
pub use subscription::Subscription;
pub use tags::{audio_range, AudioRange, TrackTags};
pub use timeline::{
    duration_of, frame_containing, pts_90k, segment_start, tick_at, ticks_of, wall_time, Entry,
    FrameSpan, Timeline, TICKS_PER_SECOND,
};
