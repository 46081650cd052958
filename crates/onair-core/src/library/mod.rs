//! The music library on disk: tracks, the programmes they make, and reading them as they play.
//!
//! - [`file`]: a track's file: its identity, opened again only to read it.
//! - [`probe`]: reads a track once to validate it and describe it ([`StationInfo`]): frames,
//!   duration, bitrate, format, tags, damage, and a seek index.
//! - [`programme`]: a station's tracks end to end, looped, in name order or shuffled per round.
//! - [`source`]: reads a programme as it plays, one block ahead, track after track, gapless.

pub(crate) mod file;
pub(crate) mod probe;
pub(crate) mod programme;
pub(crate) mod source;

pub use file::TrackFile;
pub use probe::{probe, probe_until, SeekIndex, SeekPoint, StationInfo};
pub use programme::{Order, Programme, Spot};
pub use source::{SourceChunk, StationSource};
