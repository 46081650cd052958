//! Vorbis I headers, as far as onair reads them: the identification header (channels, rate,
//! the two block sizes) and, from the setup header, each mode's block flag, which is all it
//! takes to know an audio packet's block size and so its duration.
//!
//! A packet's block size is its mode's (short or long); a packet decodes to a quarter of the
//! previous block plus a quarter of its own (the first packet of a stream to nothing). The
//! setup header's modes come last in it, after codebooks, floors, residues and mappings that
//! onair does not decode: they are read backwards from the framing bit, as libavcodec's
//! `vorbis_parser` does, each mode 41 bits whose window and transform types must be 0.

/// A stream's first packet's start.
pub const IDENTIFICATION: &[u8; 7] = b"\x01vorbis";
/// The comment header's start.
pub const COMMENT: &[u8; 7] = b"\x03vorbis";
/// The setup header's start.
pub const SETUP: &[u8; 7] = b"\x05vorbis";

/// What a Vorbis stream's headers say about its packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VorbisStream {
    /// Channels.
    pub channels: u8,
    /// Sample rate in Hz.
    pub rate: u32,
    /// The short and long block sizes, as powers of two (6 to 13).
    pub blocks: [u8; 2],
    /// Each mode's block flag (long or short).
    modes: Vec<bool>,
}

/// Why headers are not Vorbis onair can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError(pub &'static str);

/// The identification header's fields: channels, rate and the block sizes' exponents.
pub fn identification(packet: &[u8]) -> Result<(u8, u32, [u8; 2]), HeaderError> {
    if packet.len() < 30 || !packet.starts_with(IDENTIFICATION) {
        return Err(HeaderError("not a Vorbis identification header"));
    }
    let version = u32::from_le_bytes([packet[7], packet[8], packet[9], packet[10]]);
    let channels = packet[11];
    let rate = u32::from_le_bytes([packet[12], packet[13], packet[14], packet[15]]);
    let blocks = [packet[28] & 0x0F, packet[28] >> 4];
    if version != 0 || channels == 0 || rate == 0 {
        return Err(HeaderError(
            "a Vorbis identification header with no channels or rate",
        ));
    }
    if blocks[0] < 6 || blocks[1] > 13 || blocks[0] > blocks[1] || packet[29] & 1 == 0 {
        return Err(HeaderError(
            "a Vorbis identification header with bad block sizes",
        ));
    }
    Ok((channels, rate, blocks))
}

/// Bit `i` of `bytes`, least significant first (Vorbis's packing).
fn bit(bytes: &[u8], i: usize) -> u32 {
    u32::from(bytes[i / 8] >> (i % 8)) & 1
}

/// The `n`-bit field at bit `at` (least significant bit first).
fn field(bytes: &[u8], at: usize, n: usize) -> u32 {
    (0..n).fold(0, |v, k| v | (bit(bytes, at + k) << k))
}

/// Each mode's block flag, from the end of a setup header.
fn modes(setup: &[u8]) -> Result<Vec<bool>, HeaderError> {
    if !setup.starts_with(SETUP) {
        return Err(HeaderError("not a Vorbis setup header"));
    }
    // The framing bit: the last bit set.
    let framing = (0..setup.len() * 8)
        .rev()
        .find(|&i| bit(setup, i) == 1)
        .ok_or(HeaderError("a Vorbis setup header without a framing bit"))?;
    let mut count = None;
    let mut j = 1;
    // Modes end at the framing bit, 41 bits each; before them, their count less one (6 bits).
    while j <= 64 && framing >= 41 * j + 6 + 8 * SETUP.len() {
        let start = framing - 41 * j;
        let (window, transform, mapping) = (
            field(setup, start + 1, 16),
            field(setup, start + 17, 16),
            field(setup, start + 33, 8),
        );
        if window != 0 || transform != 0 || mapping > 63 {
            break;
        }
        if field(setup, start - 6, 6) as usize + 1 == j {
            count = Some(j);
        }
        j += 1;
    }
    let count = count.ok_or(HeaderError(
        "a Vorbis setup header whose modes cannot be read",
    ))?;
    Ok((0..count)
        .map(|m| bit(setup, framing - 41 * (count - m)) == 1)
        .collect())
}

impl VorbisStream {
    /// Reads a stream's identification and setup headers.
    pub fn new(identification_header: &[u8], setup: &[u8]) -> Result<VorbisStream, HeaderError> {
        let (channels, rate, blocks) = identification(identification_header)?;
        Ok(VorbisStream {
            channels,
            rate,
            blocks,
            modes: modes(setup)?,
        })
    }

    /// The block size (as a power of two) of audio packet `packet`; none for a packet that is
    /// not an audio packet of this stream.
    pub fn block(&self, packet: &[u8]) -> Option<u8> {
        let first = *packet.first()?;
        if first & 1 != 0 {
            return None;
        }
        // The mode number's bits: enough for the highest mode.
        let bits = usize::BITS - (self.modes.len() - 1).leading_zeros();
        let mode = if bits == 0 {
            0
        } else {
            let wide = u32::from(first) | packet.get(1).map_or(0, |&b| u32::from(b) << 8);
            ((wide >> 1) & ((1 << bits) - 1)) as usize
        };
        let long = *self.modes.get(mode)?;
        Some(self.blocks[usize::from(long)])
    }
}

/// Samples a packet of block `block` decodes to after one of block `previous`.
pub fn samples(previous: u8, block: u8) -> u32 {
    ((1u32 << previous) + (1u32 << block)) / 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_read_back_from_the_end() {
        // A setup header whose last bits are: the count (2 - 1) in 6 bits, then two modes (short,
        // long; window and transform 0, mappings 0 and 1), then the framing bit.
        let mut bits: Vec<u32> = Vec::new();
        let push = |bits: &mut Vec<u32>, value: u32, n: usize| {
            for k in 0..n {
                bits.push((value >> k) & 1);
            }
        };
        push(&mut bits, 0x55, 8); // whatever precedes (codebooks and the rest)
        push(&mut bits, 1, 6);
        for (flag, mapping) in [(0, 0), (1, 1)] {
            push(&mut bits, flag, 1);
            push(&mut bits, 0, 32);
            push(&mut bits, mapping, 8);
        }
        push(&mut bits, 1, 1);
        let mut setup = SETUP.to_vec();
        for byte in bits.chunks(8) {
            setup.push(
                byte.iter()
                    .enumerate()
                    .fold(0u8, |v, (k, b)| v | ((*b as u8) << k)),
            );
        }
        assert_eq!(modes(&setup), Ok(vec![false, true]));
        let mut ident = IDENTIFICATION.to_vec();
        ident.extend_from_slice(&[0, 0, 0, 0, 2, 0x44, 0xAC, 0, 0]);
        ident.extend_from_slice(&[0; 12]);
        ident.extend_from_slice(&[0xB8, 1]);
        let stream = VorbisStream::new(&ident, &setup).expect("headers");
        assert_eq!(
            (stream.channels, stream.rate, stream.blocks),
            (2, 44_100, [8, 11])
        );
        // Mode bit after the packet type: mode 1 is long (2048), mode 0 short (256).
        assert_eq!(stream.block(&[0b10]), Some(11));
        assert_eq!(stream.block(&[0b00]), Some(8));
        assert_eq!(stream.block(&[0b01]), None, "a header packet");
        assert_eq!(samples(11, 8), (2048 + 256) / 4);
    }
}
