//! The unit of broadcast: whole frames of one track, shared by every listener.

use std::sync::Arc;

use bytes::Bytes;

use crate::probe::StationInfo;

/// A track as it plays on a station: which one, and when on the station clock.
#[derive(Debug)]
pub struct NowPlaying {
    /// The track.
    pub track: Arc<StationInfo>,
    /// The station-clock tick of its first frame (in the past when the station went on air
    /// inside it).
    pub started: u64,
    /// Its length in ticks.
    pub ticks: u64,
}

/// A run of whole frames of one track, about `chunk_ms` of audio (shorter where a track ends),
/// published by the pacer at its deadline.
///
/// Cloning a chunk clones a reference to the bytes, never the audio: every listener of a station
/// sends the same memory.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Whole frames; starts on a sync word.
    pub data: Bytes,
    /// Position in the station's broadcast, counting from 0 at station start.
    pub seq: u64,
    /// Audio time at the start of the chunk since the station started, in nanoseconds.
    pub pts_ns: u64,
    /// Audio duration of the chunk, in nanoseconds.
    pub duration_ns: u64,
    /// Frames in `data`.
    pub frames: u32,
    /// The track the frames belong to (`None` for audio from elsewhere: tests, benchmarks).
    pub track: Option<Arc<NowPlaying>>,
}
