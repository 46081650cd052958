//! The unit of broadcast: whole ADTS frames, shared by every listener.

use bytes::Bytes;

/// A run of whole ADTS frames, about `chunk_ms` of audio, published by the pacer at its deadline.
///
/// Cloning a chunk clones a reference to the bytes, never the audio: every listener of a station
/// sends the same memory.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Whole ADTS frames; starts on a sync word.
    pub data: Bytes,
    /// Position in the station's broadcast, counting from 0 at station start.
    pub seq: u64,
    /// Audio time at the start of the chunk since the station started, in nanoseconds.
    pub pts_ns: u64,
    /// Audio duration of the chunk, in nanoseconds.
    pub duration_ns: u64,
    /// Frames in `data`.
    pub frames: u32,
}
