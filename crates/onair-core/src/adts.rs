//! ADTS (Audio Data Transport Stream) headers and frame scanning.
//!
//! An ADTS stream is a run of self-delimiting AAC frames, each led by a 7-byte header (9 bytes when
//! a CRC follows). The header carries the 12-bit sync word `0xFFF`, the sample-rate index, the
//! channel configuration, the frame length in bytes (header included) and the number of raw data
//! blocks (each block is 1024 samples).
//!
//! The sync word is only 12 bits, so `0xFFF` also occurs by chance inside audio payload. The
//! [`Scanner`] therefore accepts a frame only when the next header follows exactly at
//! `frame_length` with the same fixed header fields (or the frame ends exactly where the stream
//! ends), and otherwise resynchronises byte by byte.

/// Sample rates by ADTS `sampling_frequency_index` (indexes 13..=15 are reserved or invalid in
/// ADTS).
pub const SAMPLE_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// Samples in one AAC raw data block.
pub const SAMPLES_PER_BLOCK: u32 = 1024;

/// Bytes needed to read a header's fields (the CRC, when present, follows these 7 bytes).
pub const MIN_HEADER_LEN: usize = 7;

/// One parsed ADTS header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdtsHeader {
    /// `true` for MPEG-2 AAC, `false` for MPEG-4 AAC (the ID bit).
    pub mpeg2: bool,
    /// `true` when a 16-bit CRC follows the header (protection_absent == 0).
    pub has_crc: bool,
    /// Audio object type minus one (0 Main, 1 LC, 2 SSR, 3 LTP).
    pub profile: u8,
    /// Index into [`SAMPLE_RATES`].
    pub sample_rate_index: u8,
    /// Channel configuration (0 means a program config element in the payload defines it).
    pub channel_config: u8,
    /// Whole frame length in bytes, header included.
    pub frame_length: u16,
    /// Number of raw data blocks in the frame (1..=4).
    pub blocks: u8,
}

/// Why bytes are not an ADTS header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than [`MIN_HEADER_LEN`] bytes.
    Short,
    /// No `0xFFF` sync word.
    NoSync,
    /// The layer field is not `00` (MPEG audio layers 1-3 use the same sync word).
    Layer,
    /// Reserved sample-rate index 13, 14 or 15.
    SampleRate,
    /// `frame_length` smaller than the header itself.
    FrameLength,
}

impl AdtsHeader {
    /// Parses the header at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, HeaderError> {
        let b: [u8; MIN_HEADER_LEN] = match bytes.get(..MIN_HEADER_LEN) {
            Some(head) => head.try_into().map_err(|_| HeaderError::Short)?,
            None => return Err(HeaderError::Short),
        };
        if b[0] != 0xFF || b[1] & 0xF0 != 0xF0 {
            return Err(HeaderError::NoSync);
        }
        if b[1] & 0x06 != 0 {
            return Err(HeaderError::Layer);
        }
        let sample_rate_index = (b[2] >> 2) & 0x0F;
        if usize::from(sample_rate_index) >= SAMPLE_RATES.len() {
            return Err(HeaderError::SampleRate);
        }
        let header = AdtsHeader {
            mpeg2: b[1] & 0x08 != 0,
            has_crc: b[1] & 0x01 == 0,
            profile: b[2] >> 6,
            sample_rate_index,
            channel_config: ((b[2] & 0x01) << 2) | (b[3] >> 6),
            frame_length: (u16::from(b[3] & 0x03) << 11)
                | (u16::from(b[4]) << 3)
                | u16::from(b[5] >> 5),
            blocks: (b[6] & 0x03) + 1,
        };
        if usize::from(header.frame_length) < header.header_len() {
            return Err(HeaderError::FrameLength);
        }
        Ok(header)
    }

    /// Header length in bytes: 7, or 9 with a CRC.
    pub fn header_len(&self) -> usize {
        if self.has_crc {
            9
        } else {
            7
        }
    }

    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        SAMPLE_RATES[usize::from(self.sample_rate_index)]
    }

    /// PCM samples (per channel) this frame decodes to.
    pub fn samples(&self) -> u32 {
        u32::from(self.blocks) * SAMPLES_PER_BLOCK
    }

    /// Channel count, where the header says it (configuration 7 is 7.1, eight channels).
    pub fn channels(&self) -> u8 {
        match self.channel_config {
            7 => 8,
            n => n,
        }
    }

    /// Whether `other` belongs to the same stream: the fields a decoder fixes at start-up agree.
    pub fn same_stream(&self, other: &AdtsHeader) -> bool {
        self.mpeg2 == other.mpeg2
            && self.profile == other.profile
            && self.sample_rate_index == other.sample_rate_index
            && self.channel_config == other.channel_config
    }
}

/// What the scanner found at the start of the buffer it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// A whole, confirmed frame of `header.frame_length` bytes.
    Frame(AdtsHeader),
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
    match crate::tags::id3v2_size(buf) {
        Some(size) => Id3::Tag(size),
        None => Id3::No,
    }
}

/// Stateless ADTS frame scanner over a byte window.
pub struct Scanner;

impl Scanner {
    /// Classifies the bytes at the start of `buf`. `at_end` says that no bytes follow `buf` in the
    /// stream, so a frame may end exactly at the end of `buf`.
    pub fn scan(buf: &[u8], at_end: bool) -> Scan {
        if buf.is_empty() {
            return Scan::NeedMore;
        }
        match id3_at(buf) {
            Id3::Tag(size) => return Scan::Tag(size),
            Id3::Maybe if !at_end => return Scan::NeedMore,
            _ => {}
        }
        let header = match AdtsHeader::parse(buf) {
            Ok(header) => header,
            // Too few bytes for a header at the end: the start of a header cut short, or junk.
            Err(HeaderError::Short) if at_end => {
                return match buf {
                    [0xFF] | [0xFF, 0xF0..=0xFF, ..] => Scan::Truncated,
                    _ => Scan::Skip(buf.len()),
                };
            }
            Err(HeaderError::Short) => return Scan::NeedMore,
            Err(_) => return Scan::Skip(find_sync(buf, 1)),
        };
        let len = usize::from(header.frame_length);
        match buf.get(len..) {
            // The frame runs past the window.
            // A frame cut short by the end of the stream, unless a header follows inside it:
            // then this sync was false and the scan goes on there.
            None if at_end => match find_header(buf, 1) {
                Some(at) => Scan::Skip(at),
                None => Scan::Truncated,
            },
            None => Scan::NeedMore,
            // The frame ends exactly at the end of the stream.
            Some([]) if at_end => Scan::Frame(header),
            Some(rest) => match (id3_at(rest), AdtsHeader::parse(rest)) {
                // A tag follows the frame: the frame is whole.
                (Id3::Tag(_), _) => Scan::Frame(header),
                (Id3::Maybe, _) if at_end => Scan::Frame(header),
                (Id3::Maybe, _) => Scan::NeedMore,
                (Id3::No, next) => match next {
                    Ok(next) if header.same_stream(&next) => Scan::Frame(header),
                    // Fewer than a header's bytes follow at the very end: a tail that cannot be
                    // a frame. The frame itself is whole.
                    Err(HeaderError::Short) if at_end => Scan::Frame(header),
                    Err(HeaderError::Short) => Scan::NeedMore,
                    // The next header is missing or belongs to another stream: this sync was
                    // false (or the stream breaks here). Resynchronise after it.
                    _ => Scan::Skip(find_sync(buf, 1)),
                },
            },
        }
    }
}

/// Offset of the first plausible header at or after `from`.
fn find_header(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = find_sync(buf, from);
    while at < buf.len() {
        if AdtsHeader::parse(&buf[at..]).is_ok() {
            return Some(at);
        }
        at = find_sync(buf, at + 1);
    }
    None
}

/// Offset of the first byte at or after `from` that could start a sync word (`0xFF` followed by
/// `0xF?`, or `0xFF` as the last byte); `buf.len()` when there is none.
fn find_sync(buf: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(pos) = buf
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
    {
        at += pos;
        match buf.get(at + 1) {
            Some(next) if next & 0xF0 != 0xF0 => at += 1,
            _ => return at,
        }
    }
    buf.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{adts_frame, FrameSpec};

    #[test]
    fn parses_every_sample_rate_channel_and_block_count() {
        for (index, &rate) in SAMPLE_RATES.iter().enumerate() {
            for channels in 0..=7u8 {
                for blocks in 1..=4u8 {
                    for crc in [false, true] {
                        let spec = FrameSpec {
                            sample_rate_index: index as u8,
                            channel_config: channels,
                            blocks,
                            crc,
                            payload_len: 40,
                            fill: 0x11,
                        };
                        let frame = adts_frame(&spec);
                        let header = AdtsHeader::parse(&frame).expect("valid header");
                        assert_eq!(header.sample_rate(), rate);
                        assert_eq!(header.channel_config, channels);
                        assert_eq!(header.samples(), u32::from(blocks) * 1024);
                        assert_eq!(header.has_crc, crc);
                        assert_eq!(header.header_len(), if crc { 9 } else { 7 });
                        assert_eq!(usize::from(header.frame_length), frame.len());
                    }
                }
            }
        }
    }

    #[test]
    fn rejects_mp3_sync_reserved_rates_and_short_lengths() {
        // MPEG-1 layer 3 frame header (0xFFFB): layer bits are not 00.
        assert_eq!(
            AdtsHeader::parse(&[0xFF, 0xFB, 0x90, 0x64, 0, 0, 0]),
            Err(HeaderError::Layer)
        );
        let mut frame = adts_frame(&FrameSpec::default());
        frame[2] = (frame[2] & !0x3C) | (13 << 2);
        assert_eq!(AdtsHeader::parse(&frame), Err(HeaderError::SampleRate));
        let mut frame = adts_frame(&FrameSpec::default());
        // frame_length = 3
        frame[3] &= !0x03;
        frame[4] = 0;
        frame[5] = (3 << 5) | (frame[5] & 0x1F);
        assert_eq!(AdtsHeader::parse(&frame), Err(HeaderError::FrameLength));
        assert_eq!(AdtsHeader::parse(&[0xFF, 0xF1]), Err(HeaderError::Short));
        assert_eq!(
            AdtsHeader::parse(b"ID3\x04\0\0\0"),
            Err(HeaderError::NoSync)
        );
    }

    #[test]
    fn scanner_needs_the_next_header_to_confirm_a_frame() {
        let a = adts_frame(&FrameSpec::default());
        let b = adts_frame(&FrameSpec::default());
        let mut two = a.clone();
        two.extend_from_slice(&b);
        // Without the next header's bytes, the frame is not confirmed unless the stream ends.
        assert_eq!(Scanner::scan(&a, false), Scan::NeedMore);
        assert!(matches!(Scanner::scan(&a, true), Scan::Frame(_)));
        assert!(matches!(Scanner::scan(&two, false), Scan::Frame(_)));
        // Cut short at the end of the stream.
        assert_eq!(Scanner::scan(&two[..a.len() - 3], true), Scan::Truncated);
        assert_eq!(Scanner::scan(&a[..4], true), Scan::Truncated);
        assert_eq!(Scanner::scan(&[0x12, 0x34], true), Scan::Skip(2));
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
            match Scanner::scan(&bytes[pos..], true) {
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
        assert!(matches!(Scanner::scan(&bytes, false), Scan::Frame(_)));
        assert_eq!(Scanner::scan(&bytes[frame.len()..], false), Scan::Tag(15));
        // The tag's first bytes only: wait for more, unless the stream ends there.
        let cut = frame.len() + 2;
        assert_eq!(Scanner::scan(&bytes[..cut], false), Scan::NeedMore);
        assert!(matches!(Scanner::scan(&bytes[..cut], true), Scan::Frame(_)));
        assert_eq!(Scanner::scan(b"ID", false), Scan::NeedMore);
    }

    #[test]
    fn sync_candidates() {
        assert_eq!(find_sync(&[1, 2, 3], 1), 3);
        assert_eq!(find_sync(&[0xFF, 0xF1, 0, 0xFF, 0xF9], 1), 3);
        assert_eq!(find_sync(&[0xFF, 0xFF, 0xF1], 1), 1);
        assert_eq!(find_sync(&[0, 0xFF], 1), 1);
        assert_eq!(find_sync(&[0xFF, 0x00, 0xFF, 0x00], 1), 4);
        assert_eq!(find_sync(&[0xFF], 1), 1);
    }
}
