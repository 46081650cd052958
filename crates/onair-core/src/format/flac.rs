//! Native FLAC (RFC 9639): the `STREAMINFO` block, frame headers with their CRC-8, the frame
//! CRC-16, and the "UTF-8" coded frame and sample numbers.
//!
//! A FLAC frame does not say how long it is: it ends where the next frame's header starts, and
//! its CRC-16 confirms it ([`super::flac_framing`]). Its header says how many samples it holds,
//! and (when the encoder wrote them, as ffmpeg and libFLAC do at every common rate and sample
//! size) its sample rate and sample size, so that a frame can be read without the stream's
//! `STREAMINFO`: what onair needs to carry frames through chunks, the clock and the hub alone.

use super::codec::ParseError;

/// The stream's first four bytes.
pub const MAGIC: &[u8; 4] = b"fLaC";
/// Bytes in a `STREAMINFO` block's body.
pub const STREAMINFO_LEN: usize = 34;
/// Metadata block types onair reads.
pub const BLOCK_STREAMINFO: u8 = 0;
/// A `VORBIS_COMMENT` block: the track's tags.
pub const BLOCK_COMMENT: u8 = 4;
/// The longest frame header: sync and codes (4), a 7-byte number, 2 + 2 optional bytes, CRC-8.
pub const MAX_HEADER_LEN: usize = 16;

const CRC8: crc::Crc<u8> = crc::Crc::<u8>::new(&crc::CRC_8_SMBUS);
const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_UMTS);

/// The CRC-8 of a frame header (polynomial 0x07, as RFC 9639 section 9.1.8 gives).
pub fn crc8(bytes: &[u8]) -> u8 {
    CRC8.checksum(bytes)
}

/// The CRC-16 of a frame (polynomial 0x8005); over a whole frame, its stored CRC included, 0.
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC16.checksum(bytes)
}

/// A `STREAMINFO` block's fields onair uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamInfo {
    /// Smallest and largest block size (samples per frame).
    pub min_block: u16,
    /// Largest block size.
    pub max_block: u16,
    /// Largest frame in bytes (0: not known).
    pub max_frame: u32,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channels, 1 to 8.
    pub channels: u8,
    /// Bits per sample, 4 to 32.
    pub bits: u8,
    /// Samples in the stream (0: not known).
    pub total: u64,
}

impl StreamInfo {
    /// Reads a `STREAMINFO` block's body.
    pub fn parse(body: &[u8]) -> Option<StreamInfo> {
        if body.len() < STREAMINFO_LEN {
            return None;
        }
        let packed = u64::from_be_bytes(body[10..18].try_into().ok()?);
        let info = StreamInfo {
            min_block: u16::from_be_bytes([body[0], body[1]]),
            max_block: u16::from_be_bytes([body[2], body[3]]),
            max_frame: u32::from_be_bytes([0, body[7], body[8], body[9]]),
            sample_rate: (packed >> 44) as u32,
            channels: ((packed >> 41) & 0x07) as u8 + 1,
            bits: ((packed >> 36) & 0x1F) as u8 + 1,
            total: packed & 0xF_FFFF_FFFF,
        };
        (info.sample_rate > 0 && info.max_block >= 16 && info.bits >= 4).then_some(info)
    }

    /// The body of a `STREAMINFO` block saying this, for a stream of any length whose frames
    /// may have any block size (what a station's endless stream is).
    pub fn endless(&self) -> [u8; STREAMINFO_LEN] {
        let mut out = [0u8; STREAMINFO_LEN];
        out[0..2].copy_from_slice(&16u16.to_be_bytes());
        out[2..4].copy_from_slice(&u16::MAX.to_be_bytes());
        let packed = (u64::from(self.sample_rate) << 44)
            | (u64::from(self.channels - 1) << 41)
            | (u64::from(self.bits - 1) << 36);
        out[10..18].copy_from_slice(&packed.to_be_bytes());
        out
    }
}

/// A metadata block header: last-block flag, type and body length.
pub fn block_header(last: bool, kind: u8, len: usize) -> [u8; 4] {
    let len = (len as u32).to_be_bytes();
    [u8::from(last) << 7 | kind, len[1], len[2], len[3]]
}

/// A native frame header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeHeader {
    /// Header bytes, CRC-8 included.
    pub len: usize,
    /// Samples (per channel) in the frame.
    pub samples: u32,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u8,
    /// Bits per sample.
    pub bits: u8,
    /// Variable block size: the number is the first sample's; else the frame's.
    pub variable: bool,
    /// The frame or sample number.
    pub number: u64,
    /// Where the coded number ends (the optional block size and rate bytes follow).
    pub number_end: usize,
}

/// Why a frame header cannot be read on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Not (or not yet) a header.
    Parse(ParseError),
    /// A valid header that takes its sample rate or size from `STREAMINFO`.
    NeedsStreamInfo,
}

impl From<ParseError> for HeaderError {
    fn from(e: ParseError) -> Self {
        HeaderError::Parse(e)
    }
}

/// Reads a native frame header at the start of `bytes`, its CRC-8 checked, that says its own
/// sample rate and size.
pub fn parse_header(bytes: &[u8]) -> Result<NativeHeader, HeaderError> {
    let header = read_header(bytes)?;
    if header.sample_rate == 0 || header.bits == 0 {
        return Err(HeaderError::NeedsStreamInfo);
    }
    Ok(header)
}

/// Reads a native frame header at the start of `bytes`, its CRC-8 checked; a sample rate or
/// size of 0 is `STREAMINFO`'s.
pub fn read_header(bytes: &[u8]) -> Result<NativeHeader, ParseError> {
    use ParseError::{Invalid, Short};
    if bytes.len() < 2 {
        return Err(Short);
    }
    if bytes[0] != 0xFF || bytes[1] & 0xFE != 0xF8 {
        return Err(Invalid);
    }
    if bytes.len() < 5 {
        return Err(Short);
    }
    let variable = bytes[1] & 1 == 1;
    let (block_code, rate_code) = (bytes[2] >> 4, bytes[2] & 0x0F);
    let (channel_code, bits_code) = (bytes[3] >> 4, (bytes[3] >> 1) & 0x07);
    if block_code == 0 || rate_code == 0x0F || channel_code > 10 || bits_code == 3 {
        return Err(Invalid);
    }
    if bytes[3] & 1 != 0 {
        return Err(Invalid);
    }
    let (number, mut at) = read_number(&bytes[4..])?;
    if !variable && number >= 1 << 31 {
        return Err(Invalid);
    }
    at += 4;
    let number_end = at;
    let samples = match block_code {
        1 => 192,
        2..=5 => 576 << (block_code - 2),
        6 => take(bytes, &mut at, 1)? + 1,
        7 => take(bytes, &mut at, 2)? + 1,
        _ => 256 << (block_code - 8),
    };
    let sample_rate = match rate_code {
        0 => 0,
        1 => 88_200,
        2 => 176_400,
        3 => 192_000,
        4 => 8_000,
        5 => 16_000,
        6 => 22_050,
        7 => 24_000,
        8 => 32_000,
        9 => 44_100,
        10 => 48_000,
        11 => 96_000,
        12 => take(bytes, &mut at, 1)? * 1000,
        13 => take(bytes, &mut at, 2)?,
        _ => take(bytes, &mut at, 2)? * 10,
    };
    let crc = *bytes.get(at).ok_or(Short)?;
    if crc8(&bytes[..at]) != crc {
        return Err(Invalid);
    }
    let channels = match channel_code {
        0..=7 => channel_code + 1,
        _ => 2,
    };
    let bits = match bits_code {
        0 => 0,
        1 => 8,
        2 => 12,
        4 => 16,
        5 => 20,
        6 => 24,
        _ => 32,
    };
    Ok(NativeHeader {
        len: at + 1,
        samples,
        sample_rate,
        channels,
        bits,
        variable,
        number,
        number_end,
    })
}

/// Reads the `n`-byte big-endian field at `*at`, moving past it.
fn take(bytes: &[u8], at: &mut usize, n: usize) -> Result<u32, ParseError> {
    let field = bytes.get(*at..*at + n).ok_or(ParseError::Short)?;
    *at += n;
    Ok(field.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b)))
}

/// Reads a coded number ("UTF-8" of up to 36 bits): the number and the bytes it took.
fn read_number(bytes: &[u8]) -> Result<(u64, usize), ParseError> {
    let first = *bytes.first().ok_or(ParseError::Short)?;
    let len = match first.leading_ones() {
        0 => 1,
        n @ 2..=7 => n as usize,
        _ => return Err(ParseError::Invalid),
    };
    let Some(rest) = bytes.get(1..len) else {
        return Err(ParseError::Short);
    };
    let mut value = u64::from(first & (0x7F >> len.min(7)));
    if len == 1 {
        value = u64::from(first);
    }
    for &b in rest {
        if b & 0xC0 != 0x80 {
            return Err(ParseError::Invalid);
        }
        value = (value << 6) | u64::from(b & 0x3F);
    }
    Ok((value, len))
}

/// `value` (below 2^36) coded as frame headers code it, and the bytes that takes.
pub fn coded_number(value: u64) -> ([u8; 7], usize) {
    let mut out = [0u8; 7];
    if value < 0x80 {
        out[0] = value as u8;
        return (out, 1);
    }
    // A lead byte of `len` marker bits and 7 - len payload bits, then 6 bits per byte.
    let bits = 64 - value.leading_zeros() as usize;
    let len = (2..=7)
        .find(|&len| bits <= 7 - len + 6 * (len - 1))
        .unwrap_or(7);
    out[0] = !(0xFFu8 >> len) | ((value >> (6 * (len - 1))) & (0xFF >> (len + 1))) as u8;
    for (i, byte) in out[1..len].iter_mut().enumerate() {
        *byte = 0x80 | ((value >> (6 * (len - 2 - i))) & 0x3F) as u8;
    }
    (out, len)
}

/// Appends native frame `frame` (whose header is `header`) written again: its header saying
/// `number` modulo 2^31 (a sample number when `variable`, else a frame number), its sample rate and size
/// spelt out, both CRCs made anew. `false` (nothing appended) when the header cannot say the
/// frame's rate or sample size.
pub fn rewrite(
    frame: &[u8],
    header: &NativeHeader,
    variable: bool,
    number: u64,
    out: &mut bytes::BytesMut,
) -> bool {
    let (Some((rate, rate_extra)), Some(bits)) =
        (rate_code(header.sample_rate), bits_code(header.bits))
    else {
        return false;
    };
    if frame.len() < header.len + 2 {
        return false;
    }
    let start = out.len();
    out.extend_from_slice(&[
        0xFF,
        0xF8 | u8::from(variable),
        (frame[2] & 0xF0) | rate,
        (frame[3] & 0xF0) | (bits << 1),
    ]);
    // ffmpeg reads no coded number of seven bytes (2^31 and over).
    let mask = (1u64 << 31) - 1;
    let (coded, len) = coded_number(number & mask);
    out.extend_from_slice(&coded[..len]);
    let block_extra = match frame[2] >> 4 {
        6 => 1,
        7 => 2,
        _ => 0,
    };
    out.extend_from_slice(&frame[header.number_end..header.number_end + block_extra]);
    out.extend_from_slice(&rate_extra);
    let crc = crc8(&out[start..]);
    out.extend_from_slice(&[crc]);
    out.extend_from_slice(&frame[header.len..frame.len() - 2]);
    let crc = crc16(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
    true
}

/// The code of a sample rate in a frame header, with its extra bytes.
pub fn rate_code(rate: u32) -> Option<(u8, Vec<u8>)> {
    let code = match rate {
        88_200 => 1,
        176_400 => 2,
        192_000 => 3,
        8_000 => 4,
        16_000 => 5,
        22_050 => 6,
        24_000 => 7,
        32_000 => 8,
        44_100 => 9,
        48_000 => 10,
        96_000 => 11,
        _ => 0,
    };
    if code != 0 {
        return Some((code, Vec::new()));
    }
    if rate.is_multiple_of(1000) && rate / 1000 < 256 {
        return Some((12, vec![(rate / 1000) as u8]));
    }
    if let Ok(hz) = u16::try_from(rate) {
        return Some((13, hz.to_be_bytes().to_vec()));
    }
    if rate.is_multiple_of(10) {
        let tens = u16::try_from(rate / 10).ok()?;
        return Some((14, tens.to_be_bytes().to_vec()));
    }
    None
}

/// The code of a sample size in a frame header.
pub fn bits_code(bits: u8) -> Option<u8> {
    Some(match bits {
        8 => 1,
        12 => 2,
        16 => 4,
        20 => 5,
        24 => 6,
        32 => 7,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coded_numbers_round_trip_at_every_length() {
        for value in [
            0u64,
            0x7F,
            0x80,
            0x7FF,
            0x800,
            0xFFFF,
            0x1_0000,
            0x1F_FFFF,
            0x20_0000,
            0x3FF_FFFF,
            0x400_0000,
            0x7FFF_FFFF,
            0x8000_0000,
            0xF_FFFF_FFFF,
        ] {
            let (out, len) = coded_number(value);
            assert_eq!(read_number(&out[..len]), Ok((value, len)), "{value:#x}");
        }
        assert_eq!(coded_number(0x800), ([0xE0, 0xA0, 0x80, 0, 0, 0, 0], 3));
        assert_eq!(read_number(&[0xC2]), Err(ParseError::Short));
        assert_eq!(read_number(&[0xC2, 0x00]), Err(ParseError::Invalid));
        assert_eq!(read_number(&[0xFF]), Err(ParseError::Invalid));
    }

    /// The header ffmpeg writes for frame 0 of 44.1 kHz 16-bit stereo with 4608-sample blocks.
    fn header(number: &[u8]) -> Vec<u8> {
        let mut h = vec![0xFF, 0xF8, 0x59, 0x18];
        h.extend_from_slice(number);
        h.push(crc8(&h));
        h
    }

    #[test]
    fn frame_headers_are_read_and_checked() {
        let h = parse_header(&header(&[0x00])).expect("header");
        assert_eq!(
            (h.samples, h.sample_rate, h.channels, h.bits, h.len),
            (4608, 44_100, 2, 16, 6)
        );
        let mut bad = header(&[0x00]);
        bad[5] ^= 1;
        assert_eq!(
            parse_header(&bad),
            Err(HeaderError::Parse(ParseError::Invalid))
        );
        assert_eq!(
            parse_header(&header(&[0x00])[..5]),
            Err(HeaderError::Parse(ParseError::Short))
        );
        // Rate from STREAMINFO: valid, but not readable alone.
        let mut h = vec![0xFF, 0xF8, 0x50, 0x18, 0x00];
        h.push(crc8(&h));
        assert_eq!(parse_header(&h), Err(HeaderError::NeedsStreamInfo));
        // A 16-bit rate in Hz and an 8-bit block size after the number.
        let mut h = vec![0xFF, 0xF9, 0x6D, 0x08, 0x00, 99, 0x1F, 0x40];
        h.push(crc8(&h));
        let h = parse_header(&h).expect("header");
        assert_eq!(
            (h.samples, h.sample_rate, h.channels, h.variable),
            (100, 8000, 1, true)
        );
    }

    #[test]
    fn streaminfo_reads_back_what_a_station_writes() {
        let info = StreamInfo {
            min_block: 4608,
            max_block: 4608,
            max_frame: 0,
            sample_rate: 44_100,
            channels: 2,
            bits: 16,
            total: 0,
        };
        let body = info.endless();
        let read = StreamInfo::parse(&body).expect("streaminfo");
        assert_eq!(
            (
                read.sample_rate,
                read.channels,
                read.bits,
                read.min_block,
                read.max_block
            ),
            (44_100, 2, 16, 16, u16::MAX)
        );
        assert_eq!(StreamInfo::parse(&[0; 34]), None);
        assert_eq!(rate_code(44_100), Some((9, vec![])));
        assert_eq!(rate_code(11_025), Some((13, vec![0x2B, 0x11])));
        assert_eq!(crc16(b"123456789"), 0xFEE8);
        assert_eq!(crc8(b"123456789"), 0xF4);
    }
}
