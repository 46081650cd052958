//! An Opus packet as onair carries it from the framing to the pacer: Ogg pages taken apart, each
//! audio packet behind three bytes (the stream's channel count, then the packet's length, big
//! endian), so that a run of packets is self-delimiting like a run of ADTS or MP3 frames and
//! goes through chunks, the clock and the hub unchanged. The pacer puts them into the station's
//! own Ogg pages as it publishes them ([`super::ogg_writer`]).

use bytes::BytesMut;

use super::codec::ParseError;
use super::opus::packet_samples;

/// Bytes needed to read a packet's length and duration: the prefix, the TOC byte and a code 3
/// packet's frame count.
pub const MIN_HEADER_LEN: usize = 5;

/// Bytes before each packet.
pub const PREFIX: usize = 3;

/// One carried Opus packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusPacket {
    /// The packet's length (without the prefix).
    pub len: u16,
    /// Samples at 48 kHz it decodes to.
    pub samples: u32,
    /// The stream's channel count (from its `OpusHead`).
    pub channels: u8,
}

impl OpusPacket {
    /// Reads a carried packet at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<OpusPacket, ParseError> {
        if bytes.len() < PREFIX + 1 {
            return Err(ParseError::Short);
        }
        let channels = bytes[0];
        let len = u16::from_be_bytes([bytes[1], bytes[2]]);
        if channels == 0 || len == 0 {
            return Err(ParseError::Invalid);
        }
        let end = (PREFIX + usize::from(len)).min(bytes.len());
        let code3 = bytes[PREFIX] & 0x03 == 3;
        if code3 && len >= 2 && end < PREFIX + 2 {
            return Err(ParseError::Short);
        }
        let samples = packet_samples(&bytes[PREFIX..end]).ok_or(ParseError::Invalid)?;
        Ok(OpusPacket {
            len,
            samples,
            channels,
        })
    }

    /// The carried packet's whole length, prefix included.
    pub fn frame_length(&self) -> usize {
        PREFIX + usize::from(self.len)
    }
}

/// Appends `packet` of a `channels`-channel stream, carried; `false` (nothing appended) for a
/// packet that does not fit the prefix (over 65,535 bytes: no valid Opus packet is).
pub fn carry(out: &mut BytesMut, channels: u8, packet: &[u8]) -> bool {
    let Ok(len) = u16::try_from(packet.len()) else {
        return false;
    };
    out.extend_from_slice(&[channels]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(packet);
    true
}

/// The packets carried in `data` (whole carried packets, as a chunk holds them), with the
/// samples each decodes to; stops at the first that is not one.
pub fn carried(data: &[u8]) -> impl Iterator<Item = (&[u8], u32)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let packet = OpusPacket::parse(data.get(at..)?).ok()?;
        let bytes = data.get(at + PREFIX..at + packet.frame_length())?;
        at += packet.frame_length();
        Some((bytes, packet.samples))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carried_packets_read_back_with_their_durations() {
        let mut out = BytesMut::new();
        assert!(carry(&mut out, 2, &[31 << 3, 1, 2, 3]));
        assert!(carry(&mut out, 2, &[(16 << 3) | 3, 4, 9]));
        assert!(!carry(&mut out, 2, &vec![0; 70_000]));
        let packets: Vec<_> = carried(&out).collect();
        assert_eq!(packets.len(), 2);
        assert_eq!(packets[0], (&[31 << 3, 1, 2, 3][..], 960));
        assert_eq!(packets[1].1, 480);
        let header = OpusPacket::parse(&out).expect("packet");
        assert_eq!((header.frame_length(), header.channels), (7, 2));
        assert_eq!(OpusPacket::parse(&out[..3]), Err(ParseError::Short));
        assert_eq!(OpusPacket::parse(&[0, 0, 1, 8]), Err(ParseError::Invalid));
    }
}
