//! What ADTS and MPEG audio frames have in common, and the scanner that finds them.
//!
//! A station file is either ADTS (AAC, `.aac`) or MPEG audio (MP3, `.mp3`): its [`Codec`] comes
//! from its name (through the [codec table](crate::format::codec)) and is never guessed from its
//! bytes, so that a mislabelled file is refused
//! with a reason instead of played as something else. Both formats are runs of self-delimiting
//! frames behind a sync word that also occurs by chance inside audio data, so the [`scan`]
//! accepts a frame only when the next header of the same stream follows exactly at its length
//! (or the frame ends exactly where the stream ends), and otherwise resynchronises byte by byte.

use std::fmt;

use crate::format::adts::{AdtsHeader, HeaderError};
pub use crate::format::codec::{Codec, Kind, ParseError};
use crate::format::mpeg::{MpegHeader, MpegHeaderError};

impl Codec {
    /// Bytes needed to read a header's fields.
    fn min_header_len(self) -> usize {
        match self {
            Codec::Adts => crate::format::adts::MIN_HEADER_LEN,
            Codec::Mpeg => crate::format::mpeg::MIN_HEADER_LEN,
            Codec::Opus => crate::format::opus_packet::MIN_HEADER_LEN,
            Codec::Flac => crate::format::flac_frame::MIN_HEADER_LEN,
            Codec::Vorbis => crate::format::vorbis_packet::MIN_HEADER_LEN,
        }
    }

    /// The mask the second byte of a sync word matches (12 sync bits for ADTS, 11 for MPEG).
    fn sync_mask(self) -> u8 {
        match self {
            Codec::Adts => 0xF0,
            Codec::Mpeg => 0xE0,
            // Never scanned for: Ogg pages are found by their capture pattern, FLAC frames by
            // their own framing.
            Codec::Opus | Codec::Flac | Codec::Vorbis => 0xFF,
        }
    }

    /// Parses a header of this codec at the start of `bytes`.
    pub fn parse(self, bytes: &[u8]) -> Result<FrameHeader, ParseError> {
        match self {
            Codec::Adts => AdtsHeader::parse(bytes)
                .map(FrameHeader::Adts)
                .map_err(|e| match e {
                    HeaderError::Short => ParseError::Short,
                    _ => ParseError::Invalid,
                }),
            Codec::Mpeg => MpegHeader::parse(bytes)
                .map(FrameHeader::Mpeg)
                .map_err(|e| match e {
                    MpegHeaderError::Short => ParseError::Short,
                    _ => ParseError::Invalid,
                }),
            Codec::Opus => {
                crate::format::opus_packet::OpusPacket::parse(bytes).map(FrameHeader::Opus)
            }
            Codec::Flac => {
                crate::format::flac_frame::FlacFrame::parse(bytes).map(FrameHeader::Flac)
            }
            Codec::Vorbis => {
                crate::format::vorbis_packet::VorbisPacket::parse(bytes).map(FrameHeader::Vorbis)
            }
        }
    }
}

/// One frame's header, of either codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameHeader {
    /// An ADTS (AAC) frame.
    Adts(AdtsHeader),
    /// An MPEG audio frame.
    Mpeg(MpegHeader),
    /// An Opus packet, as onair carries it between its Ogg pages.
    Opus(crate::format::opus_packet::OpusPacket),
    /// A FLAC frame, as onair carries it.
    Flac(crate::format::flac_frame::FlacFrame),
    /// A Vorbis packet, as onair carries it.
    Vorbis(crate::format::vorbis_packet::VorbisPacket),
}

impl FrameHeader {
    /// The codec.
    pub fn codec(&self) -> Codec {
        match self {
            FrameHeader::Adts(_) => Codec::Adts,
            FrameHeader::Mpeg(_) => Codec::Mpeg,
            FrameHeader::Opus(_) => Codec::Opus,
            FrameHeader::Flac(_) => Codec::Flac,
            FrameHeader::Vorbis(_) => Codec::Vorbis,
        }
    }

    /// Whole frame length in bytes, header included.
    pub fn frame_length(&self) -> usize {
        match self {
            FrameHeader::Adts(h) => usize::from(h.frame_length),
            FrameHeader::Mpeg(h) => usize::from(h.frame_length),
            FrameHeader::Opus(p) => p.frame_length(),
            FrameHeader::Flac(f) => f.frame_length(),
            FrameHeader::Vorbis(p) => p.frame_length(),
        }
    }

    /// Bytes of coded audio the frame carries as it was encoded (an Opus packet without the
    /// prefix onair carries it behind): what bit rates are counted from.
    pub fn coded_length(&self) -> usize {
        match self {
            FrameHeader::Opus(p) => usize::from(p.len),
            FrameHeader::Flac(f) => f.len as usize,
            FrameHeader::Vorbis(p) => usize::from(p.len),
            _ => self.frame_length(),
        }
    }

    /// PCM samples (per channel) the frame decodes to.
    pub fn samples(&self) -> u32 {
        match self {
            FrameHeader::Adts(h) => h.samples(),
            FrameHeader::Mpeg(h) => h.samples(),
            FrameHeader::Opus(p) => p.samples,
            FrameHeader::Flac(f) => f.samples,
            FrameHeader::Vorbis(p) => p.samples(),
        }
    }

    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        match self {
            FrameHeader::Adts(h) => h.sample_rate(),
            FrameHeader::Mpeg(h) => h.sample_rate,
            FrameHeader::Opus(_) => crate::format::opus::RATE,
            FrameHeader::Flac(f) => f.sample_rate,
            FrameHeader::Vorbis(p) => p.rate,
        }
    }

    /// Channel count (0 for ADTS channel configuration 0).
    pub fn channels(&self) -> u8 {
        match self {
            FrameHeader::Adts(h) => h.channels(),
            FrameHeader::Mpeg(h) => h.channels(),
            FrameHeader::Opus(p) => p.channels,
            FrameHeader::Flac(f) => f.channels,
            FrameHeader::Vorbis(p) => p.channels,
        }
    }

    /// Whether `other` belongs to the same stream (what a decoder fixes at start-up agrees).
    pub fn same_stream(&self, other: &FrameHeader) -> bool {
        match (self, other) {
            (FrameHeader::Adts(a), FrameHeader::Adts(b)) => a.same_stream(b),
            (FrameHeader::Mpeg(a), FrameHeader::Mpeg(b)) => a.same_stream(b),
            (FrameHeader::Opus(a), FrameHeader::Opus(b)) => a.channels == b.channels,
            (FrameHeader::Vorbis(a), FrameHeader::Vorbis(b)) => {
                (a.rate, a.channels) == (b.rate, b.channels)
            }
            (FrameHeader::Flac(a), FrameHeader::Flac(b)) => {
                (a.sample_rate, a.channels, a.bits) == (b.sample_rate, b.channels, b.bits)
            }
            _ => false,
        }
    }

    /// The stream's format: what every track of a programme must share.
    pub fn format(&self) -> Format {
        Format {
            kind: match self {
                FrameHeader::Adts(h) => Kind::Aac { profile: h.profile },
                FrameHeader::Mpeg(h) => Kind::Mpeg { layer: h.layer },
                FrameHeader::Opus(_) => Kind::Opus,
                FrameHeader::Flac(f) => Kind::Flac { bits: f.bits },
                FrameHeader::Vorbis(_) => Kind::Vorbis,
            },
            sample_rate: self.sample_rate(),
            channels: self.channels(),
        }
    }

    /// The RFC 6381 codec string HLS playlists name (`mp4a.40.2` for AAC-LC, `mp4a.40.34` for
    /// MP3). ADTS carries the audio object type minus one; HE-AAC (implicit SBR) says AAC-LC.
    pub fn rfc6381(&self) -> String {
        match self {
            FrameHeader::Adts(h) => format!("mp4a.40.{}", h.profile + 1),
            FrameHeader::Mpeg(h) => match h.layer {
                3 => "mp4a.40.34".to_string(),
                2 => "mp4a.40.33".to_string(),
                _ => "mp4a.40.32".to_string(),
            },
            FrameHeader::Opus(_) => "opus".to_string(),
            FrameHeader::Flac(_) => "fLaC".to_string(),
            FrameHeader::Vorbis(_) => "vorbis".to_string(),
        }
    }
}

/// What a stream's first frame is, by its codec's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstFrame {
    /// Audio: the stream starts here.
    Audio,
    /// Not audio (an MP3's Xing, Info or VBRI header frame): the stream starts after it.
    Describes,
    /// A stream that starts so cannot be played to a listener who tunes in mid-stream.
    Refused(&'static str),
}

impl FrameHeader {
    /// The codec's rule for a stream's first frame (`frame` is the whole frame, header first).
    pub fn first_frame(&self, frame: &[u8]) -> FirstFrame {
        match self {
            FrameHeader::Adts(h) => match crate::format::adts::first_frame_rule(h) {
                Ok(()) => FirstFrame::Audio,
                Err(reason) => FirstFrame::Refused(reason),
            },
            FrameHeader::Mpeg(h) if crate::format::mpeg::is_info_frame(h, frame) => {
                FirstFrame::Describes
            }
            FrameHeader::Mpeg(_)
            | FrameHeader::Opus(_)
            | FrameHeader::Flac(_)
            | FrameHeader::Vorbis(_) => FirstFrame::Audio,
        }
    }
}

/// What a decoder is set up for: every track of a station shares it, since a browser's
/// `<audio>` fails on a change mid-stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Format {
    /// Codec and profile or layer.
    pub kind: Kind,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u8,
}

impl Format {
    /// Samples per channel in one frame: 1024 for AAC; 384 for MPEG Layer I, 1152 for Layer II
    /// and for Layer III at MPEG-1 rates, 576 for Layer III at MPEG-2 and 2.5 rates.
    pub fn samples_per_frame(&self) -> u64 {
        match self.kind {
            Kind::Aac { .. } => 1024,
            Kind::Mpeg { layer: 1 } => 384,
            Kind::Mpeg { layer: 3 } if self.sample_rate < 32_000 => 576,
            Kind::Mpeg { .. } => 1152,
            // Packets last 2.5 to 120 ms; 20 ms is what encoders send unless told otherwise.
            Kind::Opus => 960,
            // What ffmpeg writes at 44.1 and 48 kHz is 4608; libFLAC's 4096.
            Kind::Flac { .. } => 4096,
            // Long blocks of 2048, a packet every 1024 samples.
            Kind::Vorbis => 1024,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Aac { profile: 1 } => write!(f, "AAC-LC")?,
            Kind::Aac { profile } => write!(f, "AAC (profile {profile})")?,
            Kind::Mpeg { layer: 3 } => write!(f, "MP3")?,
            Kind::Mpeg { layer } => write!(f, "MP{layer}")?,
            Kind::Opus => write!(f, "Opus")?,
            Kind::Flac { bits } => write!(f, "FLAC {bits}-bit")?,
            Kind::Vorbis => write!(f, "Vorbis")?,
        }
        let channels = match self.channels {
            1 => "mono".to_string(),
            2 => "stereo".to_string(),
            n => format!("{n} channels"),
        };
        write!(f, " {} Hz {channels}", self.sample_rate)
    }
}

/// What the scanner found at the start of the buffer it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// A whole, confirmed frame of `header.frame_length` bytes.
    Frame(FrameHeader),
    /// `n` bytes that are not ADTS (garbage or a false sync); drop them and scan on.
    Skip(usize),
    /// The buffer ends inside what may be a frame: give more bytes, or call with `at_end`.
    NeedMore,
    /// At the end of the stream: the remaining bytes start a frame that the stream cuts short.
    Truncated,
    /// An ID3v2 tag of this many bytes (possibly more than the buffer holds) starts here, between
    /// frames: files joined from HLS segments carry one per segment. Not audio, not garbage.
    Tag(u64),
}

/// What the bytes at the start of `buf` say about an ID3v2 tag there.
enum Id3 {
    /// A whole tag header: the tag's full size.
    Tag(u64),
    /// Too few bytes to tell, but they start like a tag header.
    Maybe,
    /// Not a tag.
    No,
}

fn id3_at(buf: &[u8]) -> Id3 {
    const MAGIC: &[u8] = b"ID3";
    let n = buf.len().min(MAGIC.len());
    if buf[..n] != MAGIC[..n] {
        return Id3::No;
    }
    if buf.len() < 10 {
        return Id3::Maybe;
    }
    match crate::format::tags::id3v2_size(buf) {
        Some(size) => Id3::Tag(size),
        None => Id3::No,
    }
}

/// Classifies the bytes at the start of `buf` as frames of `codec`. `at_end` says that no bytes
/// follow `buf` in the stream, so a frame may end exactly at the end of `buf`.
pub fn scan(codec: Codec, buf: &[u8], at_end: bool) -> Scan {
    if buf.is_empty() {
        return Scan::NeedMore;
    }
    match id3_at(buf) {
        Id3::Tag(size) => return Scan::Tag(size),
        Id3::Maybe if !at_end => return Scan::NeedMore,
        _ => {}
    }
    let mask = codec.sync_mask();
    let header = match codec.parse(buf) {
        Ok(header) => header,
        // Too few bytes for a header at the end: the start of a header cut short, or junk.
        Err(ParseError::Short) if at_end => {
            return match buf {
                [0xFF] => Scan::Truncated,
                [0xFF, second, ..] if second & mask == mask => Scan::Truncated,
                _ => Scan::Skip(buf.len()),
            };
        }
        Err(ParseError::Short) => return Scan::NeedMore,
        Err(ParseError::Invalid) => return Scan::Skip(find_sync(codec, buf, 1)),
    };
    let len = header.frame_length();
    if len < codec.min_header_len() {
        return Scan::Skip(find_sync(codec, buf, 1));
    }
    match buf.get(len..) {
        // The frame runs past the window.
        // A frame cut short by the end of the stream, unless a header follows inside it:
        // then this sync was false and the scan goes on there.
        None if at_end => match find_header(codec, buf, 1) {
            Some(at) => Scan::Skip(at),
            None => Scan::Truncated,
        },
        None => Scan::NeedMore,
        // The frame ends exactly at the end of the stream.
        Some([]) if at_end => Scan::Frame(header),
        Some(rest) => match (id3_at(rest), codec.parse(rest)) {
            // A tag follows the frame: the frame is whole.
            (Id3::Tag(_), _) => Scan::Frame(header),
            (Id3::Maybe, _) if at_end => Scan::Frame(header),
            (Id3::Maybe, _) => Scan::NeedMore,
            (Id3::No, next) => match next {
                Ok(next) if header.same_stream(&next) => Scan::Frame(header),
                // Fewer than a header's bytes follow at the very end: a tail that cannot be
                // a frame. The frame itself is whole.
                Err(ParseError::Short) if at_end => Scan::Frame(header),
                Err(ParseError::Short) => Scan::NeedMore,
                // The next header is missing or belongs to another stream: this sync was
                // false (or the stream breaks here). Resynchronise after it.
                _ => Scan::Skip(find_sync(codec, buf, 1)),
            },
        },
    }
}

/// Offset of the first plausible header at or after `from`.
fn find_header(codec: Codec, buf: &[u8], from: usize) -> Option<usize> {
    let mut at = find_sync(codec, buf, from);
    while at < buf.len() {
        if codec.parse(&buf[at..]).is_ok() {
            return Some(at);
        }
        at = find_sync(codec, buf, at + 1);
    }
    None
}

/// Offset of the first byte at or after `from` that could start a sync word (`0xFF` followed by
/// a byte with the sync bits set, or `0xFF` as the last byte); `buf.len()` when there is none.
fn find_sync(codec: Codec, buf: &[u8], from: usize) -> usize {
    let mask = codec.sync_mask();
    let mut at = from;
    while let Some(pos) = buf
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
    {
        at += pos;
        match buf.get(at + 1) {
            Some(next) if next & mask != mask => at += 1,
            _ => return at,
        }
    }
    buf.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{adts_frame, FrameSpec};

    const ADTS: Codec = Codec::Adts;

    #[test]
    fn scanner_needs_the_next_header_to_confirm_a_frame() {
        let a = adts_frame(&FrameSpec::default());
        let b = adts_frame(&FrameSpec::default());
        let mut two = a.clone();
        two.extend_from_slice(&b);
        // Without the next header's bytes, the frame is not confirmed unless the stream ends.
        assert_eq!(scan(ADTS, &a, false), Scan::NeedMore);
        assert!(matches!(scan(ADTS, &a, true), Scan::Frame(_)));
        assert!(matches!(scan(ADTS, &two, false), Scan::Frame(_)));
        // Cut short at the end of the stream.
        assert_eq!(scan(ADTS, &two[..a.len() - 3], true), Scan::Truncated);
        assert_eq!(scan(ADTS, &a[..4], true), Scan::Truncated);
        assert_eq!(scan(ADTS, &[0x12, 0x34], true), Scan::Skip(2));
    }

    #[test]
    fn scanner_skips_false_syncs_inside_payload() {
        // Garbage holding a plausible header whose frame_length leads nowhere.
        let mut bytes = vec![0x00, 0x12];
        let mut fake = adts_frame(&FrameSpec::default());
        fake.truncate(20);
        bytes.extend_from_slice(&fake);
        let start = bytes.len();
        bytes.extend_from_slice(&adts_frame(&FrameSpec::default()));
        bytes.extend_from_slice(&adts_frame(&FrameSpec::default()));
        let mut pos = 0;
        let mut skipped = 0;
        loop {
            match scan(ADTS, &bytes[pos..], true) {
                Scan::Skip(n) => {
                    assert!(n > 0);
                    skipped += n;
                    pos += n;
                }
                Scan::Frame(_) => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(pos, start);
        assert_eq!(skipped, start);
    }

    #[test]
    fn a_tag_between_frames_is_a_tag_and_the_frame_before_it_is_whole() {
        let frame = adts_frame(&FrameSpec::default());
        let mut tag = b"ID3\x04\x00\x00\x00\x00\x00\x05hello".to_vec();
        let mut bytes = frame.clone();
        bytes.append(&mut tag);
        bytes.extend_from_slice(&frame);
        assert!(matches!(scan(ADTS, &bytes, false), Scan::Frame(_)));
        assert_eq!(scan(ADTS, &bytes[frame.len()..], false), Scan::Tag(15));
        // The tag's first bytes only: wait for more, unless the stream ends there.
        let cut = frame.len() + 2;
        assert_eq!(scan(ADTS, &bytes[..cut], false), Scan::NeedMore);
        assert!(matches!(scan(ADTS, &bytes[..cut], true), Scan::Frame(_)));
        assert_eq!(scan(ADTS, b"ID", false), Scan::NeedMore);
    }

    #[test]
    fn sync_candidates() {
        assert_eq!(find_sync(ADTS, &[1, 2, 3], 1), 3);
        assert_eq!(find_sync(ADTS, &[0xFF, 0xF1, 0, 0xFF, 0xF9], 1), 3);
        assert_eq!(find_sync(ADTS, &[0xFF, 0xFF, 0xF1], 1), 1);
        assert_eq!(find_sync(ADTS, &[0, 0xFF], 1), 1);
        assert_eq!(find_sync(ADTS, &[0xFF, 0x00, 0xFF, 0x00], 1), 4);
        assert_eq!(find_sync(ADTS, &[0xFF], 1), 1);
    }

    #[test]
    fn mpeg_frames_are_confirmed_by_the_next_header() {
        let frame = |pad: u8| {
            let mut f = vec![0x55u8; 417 + usize::from(pad)];
            f[..4].copy_from_slice(&[0xFF, 0xFB, 0x90 | (pad << 1), 0x64]);
            f
        };
        let bytes = [frame(0), frame(1), frame(0)].concat();
        assert!(
            matches!(scan(Codec::Mpeg, &bytes, false), Scan::Frame(h) if h.frame_length() == 417)
        );
        assert!(
            matches!(scan(Codec::Mpeg, &bytes[417..], false), Scan::Frame(h) if h.frame_length() == 418)
        );
        // An ADTS scan finds nothing in MPEG audio, and the reverse.
        assert!(matches!(scan(ADTS, &bytes, true), Scan::Skip(_)));
        let adts = [
            adts_frame(&FrameSpec::default()),
            adts_frame(&FrameSpec::default()),
        ]
        .concat();
        assert!(matches!(scan(Codec::Mpeg, &adts, true), Scan::Skip(_)));
        assert_eq!(find_sync(Codec::Mpeg, &[0, 0xFF, 0xE3], 0), 1);
        assert_eq!(find_sync(ADTS, &[0, 0xFF, 0xE3], 0), 3);
    }
}
