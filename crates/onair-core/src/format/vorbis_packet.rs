//! A Vorbis packet as onair carries it from the framing to the pacer: Ogg pages taken apart,
//! each audio packet behind eight bytes (the stream's channel count, its rate, the block sizes
//! of the packet before and of this one, and the packet's length), so that a run of packets is
//! self-delimiting and says its own duration, as a run of ADTS frames does. The station's Ogg
//! writer puts them into pages again ([`super::vorbis_writer`]).

use bytes::BytesMut;

use super::codec::ParseError;
use super::vorbis::samples;

/// Bytes before each packet.
pub const PREFIX: usize = 8;

/// Bytes needed to read a packet's length and duration.
pub const MIN_HEADER_LEN: usize = PREFIX;

/// One carried Vorbis packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VorbisPacket {
    /// The packet's length (without the prefix).
    pub len: u16,
    /// The stream's channel count.
    pub channels: u8,
    /// Its sample rate.
    pub rate: u32,
    /// The block size (a power of two) of the packet before it in its stream (its own, for a
    /// stream's first).
    pub previous: u8,
    /// Its own block size (a power of two).
    pub block: u8,
}

impl VorbisPacket {
    /// Reads a carried packet at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<VorbisPacket, ParseError> {
        if bytes.len() < PREFIX {
            return Err(ParseError::Short);
        }
        let packet = VorbisPacket {
            channels: bytes[0],
            rate: u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]),
            previous: bytes[5] >> 4,
            block: bytes[5] & 0x0F,
            len: u16::from_be_bytes([bytes[6], bytes[7]]),
        };
        let blocks = 6..=13;
        if packet.channels == 0
            || packet.rate == 0
            || packet.len == 0
            || !blocks.contains(&packet.previous)
            || !blocks.contains(&packet.block)
        {
            return Err(ParseError::Invalid);
        }
        Ok(packet)
    }

    /// The carried packet's whole length, prefix included.
    pub fn frame_length(&self) -> usize {
        PREFIX + usize::from(self.len)
    }

    /// Samples it stands for on the station clock: what it decodes to after the packet before.
    pub fn samples(&self) -> u32 {
        samples(self.previous, self.block)
    }
}

/// Appends `packet` (of block `block`, after one of block `previous`) of a stream of
/// `channels` at `rate`, carried; `false` (nothing appended) for one over 65,535 bytes.
pub fn carry(
    out: &mut BytesMut,
    (channels, rate): (u8, u32),
    (previous, block): (u8, u8),
    packet: &[u8],
) -> bool {
    let Ok(len) = u16::try_from(packet.len()) else {
        return false;
    };
    out.extend_from_slice(&[channels]);
    out.extend_from_slice(&rate.to_be_bytes());
    out.extend_from_slice(&[(previous << 4) | (block & 0x0F)]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(packet);
    true
}

/// The packets carried in `data` (whole carried packets, as a chunk holds them), with each
/// one's prefix read; stops at the first that is not one.
pub fn carried(data: &[u8]) -> impl Iterator<Item = (&[u8], VorbisPacket)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let packet = VorbisPacket::parse(data.get(at..)?).ok()?;
        let bytes = data.get(at + PREFIX..at + packet.frame_length())?;
        at += packet.frame_length();
        Some((bytes, packet))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carried_packets_read_back_with_their_durations() {
        let mut out = BytesMut::new();
        assert!(carry(&mut out, (2, 44_100), (11, 8), &[0, 1, 2]));
        assert!(carry(&mut out, (2, 44_100), (8, 8), &[2, 3]));
        assert!(!carry(&mut out, (2, 44_100), (8, 8), &vec![0; 70_000]));
        let packets: Vec<_> = carried(&out).collect();
        assert_eq!(packets.len(), 2);
        assert_eq!(packets[0].0, &[0, 1, 2]);
        assert_eq!(packets[0].1.samples(), (2048 + 256) / 4);
        assert_eq!(packets[1].1.samples(), 128);
        assert_eq!(VorbisPacket::parse(&out[..5]), Err(ParseError::Short));
        assert_eq!(
            VorbisPacket::parse(&[2, 0, 0, 0xAC, 0x44, 0x33, 0, 1]),
            Err(ParseError::Invalid)
        );
    }
}
