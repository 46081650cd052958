//! How a station's frames go on the wire: as they are (ADTS, MPEG audio), or put into a
//! container of the station's own (Ogg), once per station as each chunk is published, never per
//! listener.
//!
//! A container that chains (Ogg) starts a new link at every encode the broadcast moves to (a
//! track from its top, a jump, a live source): players then trim each encode's priming and
//! padding as they would in a file, so that track joins are exact. A listener who tunes in (or
//! is skipped forward) in the middle of a link is first given that link's header pages.

use bytes::Bytes;

use crate::format::TrackTags;

/// What the pacer says of a chunk it publishes, for a container that chains.
#[derive(Debug, Clone, Default)]
pub struct Marks {
    /// The chunk does not go on from the one before: a new encode, or a jump in one.
    pub begins: Option<Begin>,
    /// The chunk ends its encode, whose last this many samples are padding (not audio).
    pub ends: Option<u32>,
}

/// Where a new link starts.
#[derive(Debug, Clone, Default)]
pub struct Begin {
    /// The encode's header packets (Opus: `OpusHead` first; Vorbis: identification, comment,
    /// setup), where known.
    pub headers: Option<std::sync::Arc<[Bytes]>>,
    /// The chunk starts at the encode's first frame (its priming is to be trimmed).
    pub from_top: bool,
    /// What the track is called (in the link's own comments, for players that read them).
    pub tags: TrackTags,
}

/// A chunk as the container carries it.
#[derive(Debug, Clone)]
pub struct Packaged {
    /// The bytes listeners get.
    pub data: Bytes,
    /// The link the chunk is in.
    pub link: Link,
}

/// A link of a chained container: what a listener who joins in it needs first.
#[derive(Debug, Clone)]
pub struct Link {
    /// The link's number, counting from 1 in the station.
    pub id: u64,
    /// Its header pages.
    pub preamble: Bytes,
    /// The chunk starts the link (its header pages are its first bytes).
    pub begins: bool,
}

/// A station's container, written as its chunks are published.
pub trait Packaging: Send + std::fmt::Debug {
    /// The bytes listeners get for a chunk of `frames` (whole frames, as the pacer publishes
    /// them), continuing the container from the chunk before, or starting a new link as
    /// `marks` says.
    fn package(&mut self, frames: &[u8], marks: &Marks) -> Packaged;
}
