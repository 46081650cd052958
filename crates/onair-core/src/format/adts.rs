//! ADTS (Audio Data Transport Stream) headers and frame scanning.
//!
//! An ADTS stream is a run of self-delimiting AAC frames, each led by a 7-byte header (9 bytes when
//! a CRC follows). The header carries the 12-bit sync word `0xFFF`, the sample-rate index, the
//! channel configuration, the frame length in bytes (header included) and the number of raw data
//! blocks (each block is 1024 samples).
//!
//! The sync word is only 12 bits, so `0xFFF` also occurs by chance inside audio payload. The
//! scanner ([`crate::format::frame`]) therefore accepts a frame only when the next header follows exactly at
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

/// Whether a stream may start with a frame of this header: `Err` with the reason and the fix
/// when a listener tuning in mid-stream could not decode it.
pub fn first_frame_rule(header: &AdtsHeader) -> Result<(), &'static str> {
    if header.channel_config == 0 {
        return Err(
            "channel configuration 0: the channel layout is in a program config element that \
                    decoders read from the first frame only, so a listener who tunes in mid-stream \
                    cannot decode it; re-encode to a standard layout: \
                    `ffmpeg -i in.aac -c:a aac -ac 2 -b:a 128k -f adts out.aac`",
        );
    }
    Ok(())
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
}
