//! How a station's frames go on the wire: as they are (ADTS, MPEG audio), or put into a
//! container of the station's own (Ogg), once per station as each chunk is published, never per
//! listener.

use bytes::Bytes;

/// A station's container, written as its chunks are published.
pub trait Packaging: Send + std::fmt::Debug {
    /// What every listener gets before the broadcast (a container's header pages).
    fn preamble(&self) -> Bytes;

    /// The bytes listeners get for a chunk of `frames` (whole frames, as the pacer publishes
    /// them), continuing the container from the chunk before.
    fn package(&mut self, frames: &[u8]) -> Bytes;
}

impl Packaging for crate::format::ogg_writer::OggWriter {
    fn preamble(&self) -> Bytes {
        crate::format::ogg_writer::OggWriter::preamble(self)
    }

    fn package(&mut self, frames: &[u8]) -> Bytes {
        self.pages(frames)
    }
}
