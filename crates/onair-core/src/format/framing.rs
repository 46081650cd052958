//! The framing seam: a container's bytes in, whole packets out, each with its duration.
//!
//! Everything that reads audio (a station's files as they play, the probe, a live source, a
//! relay) reads it through a [`Framing`]: it is given blocks of bytes as they arrive, says what
//! the next whole packet is ([`Next::Frame`], whose header carries its duration), and hands out
//! the packets it confirmed as one [`Bytes`] sharing the blocks' memory. ADTS and MPEG audio are
//! self-delimiting frames behind a sync word, cut by the [`Deframer`]; Ogg pages are taken
//! apart by another implementation of the same trait (`OggFraming`), and a codec's row in the
//! [codec table](super::codec) says which framing reads it ([`Codec::framing`]).

use std::fmt;

use bytes::{Bytes, BytesMut};

use super::deframer::Deframer;
pub use super::deframer::{Damage, Next};
use super::flac_framing::FlacFraming;
use super::frame::FrameHeader;
use super::ogg_framing::OggFraming;
use super::Codec;
use super::TrackTags;
use crate::clock::ticks_per_sample;

/// Bytes in, whole packets out (after Symphonia's `FormatReader`, but pushed rather than
/// pulled: the bytes come from a socket as often as from a file).
pub trait Framing: Send + fmt::Debug {
    /// The buffer to append newly arrived bytes to.
    fn input(&mut self) -> &mut BytesMut;

    /// Says that no more bytes will come.
    fn finish(&mut self);

    /// Looks at the next whole packet, dropping (and counting) anything before it that is not
    /// one. Calling it again without [`consume`](Self::consume) gives the same packet.
    fn peek(&mut self) -> Next;

    /// Moves past the packet [`peek`](Self::peek) gave.
    fn consume(&mut self, packet: &FrameHeader);

    /// The packets consumed since the last call, as one `Bytes` (no copy where they were
    /// contiguous).
    fn take(&mut self) -> Bytes;

    /// Offset in the stream of the next packet (or of the next byte not looked at).
    fn position(&self) -> u64;

    /// What was passed over so far.
    fn damage(&self) -> Damage;

    /// Bytes held that are not yet confirmed packets (the read-ahead buffered).
    fn unscanned(&self) -> usize;

    /// Keeps the start of each metadata block passed over (ID3v2 tags in a live stream), for
    /// [`take_tag`](Self::take_tag).
    fn keep_tags(&mut self);

    /// The start of the last metadata block passed over whole, once.
    fn take_tag(&mut self) -> Option<Bytes>;

    /// Where a reader may start so that the next packet is the first it gets (none where no
    /// such offset exists: a packet in the middle of an Ogg page).
    fn seek_point(&self) -> Option<u64> {
        Some(self.position())
    }

    /// The stream's header packets, as read (Ogg Opus: `OpusHead`, `OpusTags`; none for ADTS
    /// and MPEG audio, whose frames stand alone).
    fn headers(&self) -> &[Bytes] {
        &[]
    }

    /// Gives a reader opened past the headers the stream's header packets.
    fn prime(&mut self, _headers: &[Bytes]) {}

    /// Samples at the end of the stream read that are not audio (Ogg Opus: what the last
    /// page's granule position leaves out of its last packet); 0 where the format does not say.
    fn padding(&self) -> u32 {
        0
    }

    /// Why the stream cannot be played at all, once that is known (another codec in the
    /// container, headers that lie).
    fn refusal(&self) -> Option<&str> {
        None
    }

    /// The title and artist the stream's own header packets give (Ogg Opus's `OpusTags`,
    /// FLAC's comments); none where the format keeps tags elsewhere (ID3).
    fn tags(&self) -> Option<TrackTags> {
        None
    }
}

impl Codec {
    /// A framing of this codec's streams whose first byte is at stream offset `offset`.
    pub fn framing(self, offset: u64) -> Box<dyn Framing> {
        match self {
            Codec::Adts | Codec::Mpeg => Box::new(Deframer::new(self, offset)),
            Codec::Opus | Codec::Vorbis => Box::new(OggFraming::new(self, offset)),
            Codec::Flac => Box::new(FlacFraming::new(offset)),
        }
    }
}

impl Codec {
    /// How station `station`'s frames of this codec go out to listeners, if not as they are:
    /// Ogg Opus in the station's own pages, after header pages made from `headers` (its first
    /// track's `OpusHead`), one logical stream or (`chain`) a link per encode; FLAC in Ogg
    /// behind a `STREAMINFO` made from `headers`' (its first track's), its frames numbered on.
    pub fn packaging(
        self,
        station: &str,
        headers: &[Bytes],
        chain: bool,
    ) -> Option<Box<dyn crate::broadcast::Packaging>> {
        match self {
            Codec::Adts | Codec::Mpeg => None,
            Codec::Opus => {
                let writer = super::ogg_writer::OggWriter::new(station, headers.first()?, chain)?;
                Some(Box::new(writer))
            }
            Codec::Flac => {
                let writer =
                    super::flac_writer::FlacWriter::new(station, headers.first().map(|h| &h[..]));
                Some(Box::new(writer))
            }
            Codec::Vorbis => Some(Box::new(super::vorbis_writer::VorbisWriter::new(
                station, headers, chain,
            ))),
        }
    }
}

impl FrameHeader {
    /// How long the packet plays, in station-clock ticks (exact: the tick divides every
    /// sample period).
    pub fn ticks(&self) -> u64 {
        u64::from(self.samples()) * ticks_per_sample(self.sample_rate())
    }
}

impl Framing for Deframer {
    fn input(&mut self) -> &mut BytesMut {
        Deframer::input(self)
    }

    fn finish(&mut self) {
        Deframer::finish(self)
    }

    fn peek(&mut self) -> Next {
        Deframer::peek(self)
    }

    fn consume(&mut self, packet: &FrameHeader) {
        Deframer::consume(self, packet)
    }

    fn take(&mut self) -> Bytes {
        Deframer::take(self)
    }

    fn position(&self) -> u64 {
        Deframer::position(self)
    }

    fn damage(&self) -> Damage {
        Deframer::damage(self)
    }

    fn unscanned(&self) -> usize {
        Deframer::unscanned(self)
    }

    fn keep_tags(&mut self) {
        Deframer::keep_tags(self)
    }

    fn take_tag(&mut self) -> Option<Bytes> {
        Deframer::take_tag(self)
    }
}

impl Framing for OggFraming {
    fn input(&mut self) -> &mut BytesMut {
        OggFraming::input(self)
    }

    fn finish(&mut self) {
        OggFraming::finish(self)
    }

    fn peek(&mut self) -> Next {
        OggFraming::peek(self)
    }

    fn consume(&mut self, packet: &FrameHeader) {
        OggFraming::consume(self, packet)
    }

    fn take(&mut self) -> Bytes {
        OggFraming::take(self)
    }

    fn position(&self) -> u64 {
        OggFraming::position(self)
    }

    fn damage(&self) -> Damage {
        OggFraming::damage(self)
    }

    fn unscanned(&self) -> usize {
        OggFraming::unscanned(self)
    }

    // Ogg carries its metadata in its own header packets, not in tags between frames.
    fn keep_tags(&mut self) {}

    fn take_tag(&mut self) -> Option<Bytes> {
        None
    }

    fn seek_point(&self) -> Option<u64> {
        OggFraming::seek_point(self)
    }

    fn headers(&self) -> &[Bytes] {
        OggFraming::headers(self)
    }

    fn prime(&mut self, headers: &[Bytes]) {
        OggFraming::prime(self, headers)
    }

    fn refusal(&self) -> Option<&str> {
        OggFraming::refusal(self)
    }

    fn padding(&self) -> u32 {
        OggFraming::padding(self)
    }

    fn tags(&self) -> Option<TrackTags> {
        let packet = self.headers().get(1)?;
        let comments = match packet.strip_prefix(super::vorbis::COMMENT) {
            Some(body) => super::opus::read_comments(body).ok()?,
            None => super::opus::OpusTags::parse(packet).ok()?,
        };
        Some(TrackTags {
            artist: comments.artist,
            title: comments.title,
            album: comments.album,
            isrc: comments.isrc,
            label: comments.label,
        })
    }
}

impl Framing for FlacFraming {
    fn input(&mut self) -> &mut BytesMut {
        FlacFraming::input(self)
    }

    fn finish(&mut self) {
        FlacFraming::finish(self)
    }

    fn peek(&mut self) -> Next {
        FlacFraming::peek(self)
    }

    fn consume(&mut self, frame: &FrameHeader) {
        FlacFraming::consume(self, frame)
    }

    fn take(&mut self) -> Bytes {
        FlacFraming::take(self)
    }

    fn position(&self) -> u64 {
        FlacFraming::position(self)
    }

    fn damage(&self) -> Damage {
        FlacFraming::damage(self)
    }

    fn unscanned(&self) -> usize {
        FlacFraming::unscanned(self)
    }

    // FLAC carries its tags in its own metadata blocks, not between frames.
    fn keep_tags(&mut self) {}

    fn take_tag(&mut self) -> Option<Bytes> {
        None
    }

    fn seek_point(&self) -> Option<u64> {
        FlacFraming::seek_point(self)
    }

    fn headers(&self) -> &[Bytes] {
        FlacFraming::headers(self)
    }

    fn prime(&mut self, headers: &[Bytes]) {
        FlacFraming::prime(self, headers)
    }

    fn refusal(&self) -> Option<&str> {
        FlacFraming::refusal(self)
    }

    fn tags(&self) -> Option<TrackTags> {
        FlacFraming::tags(self)
    }
}
