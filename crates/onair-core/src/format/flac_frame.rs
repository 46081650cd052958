//! A FLAC frame as onair carries it from the framing to the pacer: the native frame behind three
//! bytes giving its length (big endian), so that a run of frames is self-delimiting like a run
//! of ADTS or MP3 frames and goes through chunks, the clock and the hub unchanged. The pacer
//! numbers them again and takes the prefixes off as it publishes them
//! ([`super::flac_writer`]).

use bytes::BytesMut;

use super::codec::ParseError;
use super::flac::{self, HeaderError};

/// Bytes before each frame.
pub const PREFIX: usize = 3;

/// Bytes needed to read a frame's length and its header's first fields.
pub const MIN_HEADER_LEN: usize = PREFIX + 6;

/// The largest frame carried (16 MiB less one: the prefix's reach; FLAC's largest is smaller).
pub const MAX_FRAME: usize = (1 << 24) - 1;

/// One carried FLAC frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlacFrame {
    /// The native frame's length (without the prefix).
    pub len: u32,
    /// Samples (per channel) it decodes to.
    pub samples: u32,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u8,
    /// Bits per sample.
    pub bits: u8,
}

impl FlacFrame {
    /// Reads a carried frame at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<FlacFrame, ParseError> {
        if bytes.len() < PREFIX {
            return Err(ParseError::Short);
        }
        let len = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
        let native = &bytes[PREFIX..];
        let header = match flac::parse_header(native) {
            Ok(header) => header,
            Err(HeaderError::Parse(e)) => return Err(e),
            Err(HeaderError::NeedsStreamInfo) => return Err(ParseError::Invalid),
        };
        if (len as usize) < header.len + 2 {
            return Err(ParseError::Invalid);
        }
        Ok(FlacFrame {
            len,
            samples: header.samples,
            sample_rate: header.sample_rate,
            channels: header.channels,
            bits: header.bits,
        })
    }

    /// The carried frame's whole length, prefix included.
    pub fn frame_length(&self) -> usize {
        PREFIX + self.len as usize
    }
}

/// Appends native frame `frame`, carried; `false` (nothing appended) for one longer than
/// [`MAX_FRAME`].
pub fn carry(out: &mut BytesMut, frame: &[u8]) -> bool {
    if frame.len() > MAX_FRAME {
        return false;
    }
    out.extend_from_slice(&(frame.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(frame);
    true
}

/// The native frames carried in `data` (whole carried frames, as a chunk holds them); stops at
/// the first that is not one.
pub fn carried(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let frame = FlacFrame::parse(data.get(at..)?).ok()?;
        let bytes = data.get(at + PREFIX..at + frame.frame_length())?;
        at += frame.frame_length();
        Some(bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::flac::crc16;
    use crate::format::silence::flac_silence as silent_native;
    use crate::format::{Format, Kind};

    #[test]
    fn silent_frames_carry_and_read_back() {
        let format = Format {
            kind: Kind::Flac { bits: 16 },
            sample_rate: 44_100,
            channels: 2,
        };
        let native = silent_native(&format, 7).expect("a frame");
        assert_eq!(crc16(&native), 0, "the stored CRC-16 checks");
        let mut out = BytesMut::new();
        assert!(carry(&mut out, &native));
        assert!(carry(&mut out, &native));
        let frame = FlacFrame::parse(&out).expect("frame");
        assert_eq!(
            (frame.samples, frame.sample_rate, frame.channels, frame.bits),
            (4096, 44_100, 2, 16)
        );
        assert_eq!(frame.frame_length(), PREFIX + native.len());
        assert_eq!(carried(&out).count(), 2);
        assert_eq!(FlacFrame::parse(&out[..2]), Err(ParseError::Short));
        let odd = Format {
            sample_rate: 11_025,
            ..format
        };
        let frame = silent_native(&odd, 0).expect("a 16-bit rate in Hz");
        assert_eq!(
            flac::parse_header(&frame).map(|h| h.sample_rate),
            Ok(11_025)
        );
        let unsayable = Format {
            kind: Kind::Flac { bits: 17 },
            ..format
        };
        assert_eq!(silent_native(&unsayable, 0), None);
    }
}
