//! MPEG audio (MP3, MP2, MP1) frame headers.
//!
//! An MPEG audio stream is a run of frames, each led by a 4-byte header (then a 16-bit CRC when
//! the protection bit says so). The header carries an 11-bit sync word, the MPEG version (1, 2
//! or 2.5), the layer (I, II or III), the bitrate and sample-rate indexes and a padding bit; the
//! frame's length follows from them. Unlike ADTS, the length is not written down, so a header
//! with bitrate index 0 ("free format") has no length a reader can know without decoding: such
//! streams are refused.
//!
//! The first frame of most encoders' files is a Xing, Info or VBRI header: a frame of silence
//! that describes the file (its frame count, a seek table, the encoder delay). It is not audio for
//! a listener tuning in, and [`is_info_frame`] finds it so that it is never sent.

/// Samples per second by version (MPEG-1, MPEG-2, MPEG-2.5) and sample-rate index.
const SAMPLE_RATES: [[u32; 3]; 3] = [
    [44_100, 48_000, 32_000],
    [22_050, 24_000, 16_000],
    [11_025, 12_000, 8_000],
];

/// Bitrates in kb/s by table and bitrate index (index 0 is free format, 15 is invalid).
const BITRATES: [[u16; 15]; 5] = [
    // MPEG-1 Layer I
    [
        0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    // MPEG-1 Layer II
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    // MPEG-1 Layer III
    [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
    // MPEG-2 and 2.5 Layer I
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    // MPEG-2 and 2.5 Layers II and III
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

/// Bytes needed to read a header's fields.
pub const MIN_HEADER_LEN: usize = 4;

/// MPEG version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// MPEG-1 (32, 44.1, 48 kHz).
    Mpeg1,
    /// MPEG-2 low sample rates (16, 22.05, 24 kHz).
    Mpeg2,
    /// MPEG-2.5 (8, 11.025, 12 kHz).
    Mpeg25,
}

/// One parsed MPEG audio frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpegHeader {
    /// MPEG version.
    pub version: Version,
    /// Layer: 1, 2 or 3.
    pub layer: u8,
    /// A 16-bit CRC follows the header.
    pub has_crc: bool,
    /// Bitrate in kb/s.
    pub bitrate_kbps: u16,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// The frame holds one padding slot.
    pub padding: bool,
    /// Channel mode: 0 stereo, 1 joint stereo, 2 dual channel, 3 mono.
    pub mode: u8,
    /// Whole frame length in bytes, header included.
    pub frame_length: u16,
}

/// Why bytes are not an MPEG audio header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MpegHeaderError {
    /// Fewer than [`MIN_HEADER_LEN`] bytes.
    Short,
    /// No 11-bit sync word.
    NoSync,
    /// Reserved version, layer, sample rate or emphasis, or bitrate index 15.
    Reserved,
    /// Bitrate index 0: free format, whose frame length no header says.
    FreeFormat,
}

impl MpegHeader {
    /// Parses the header at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, MpegHeaderError> {
        let Some(&[b0, b1, b2, b3]) = bytes.get(..MIN_HEADER_LEN) else {
            return Err(MpegHeaderError::Short);
        };
        if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
            return Err(MpegHeaderError::NoSync);
        }
        let version = match (b1 >> 3) & 0x03 {
            0 => Version::Mpeg25,
            2 => Version::Mpeg2,
            3 => Version::Mpeg1,
            _ => return Err(MpegHeaderError::Reserved),
        };
        let layer = match (b1 >> 1) & 0x03 {
            1 => 3,
            2 => 2,
            3 => 1,
            _ => return Err(MpegHeaderError::Reserved),
        };
        let bitrate_index = usize::from(b2 >> 4);
        let rate_index = usize::from((b2 >> 2) & 0x03);
        if bitrate_index == 15 || rate_index == 3 || b3 & 0x03 == 2 {
            return Err(MpegHeaderError::Reserved);
        }
        if bitrate_index == 0 {
            return Err(MpegHeaderError::FreeFormat);
        }
        let version_row = match version {
            Version::Mpeg1 => 0,
            Version::Mpeg2 => 1,
            Version::Mpeg25 => 2,
        };
        let table = match (version, layer) {
            (Version::Mpeg1, l) => usize::from(l) - 1,
            (_, 1) => 3,
            _ => 4,
        };
        let bitrate_kbps = BITRATES[table][bitrate_index];
        let sample_rate = SAMPLE_RATES[version_row][rate_index];
        let padding = b2 & 0x02 != 0;
        let bits = u32::from(bitrate_kbps) * 1000;
        let frame_length = match layer {
            1 => (12 * bits / sample_rate + u32::from(padding)) * 4,
            3 if version != Version::Mpeg1 => 72 * bits / sample_rate + u32::from(padding),
            _ => 144 * bits / sample_rate + u32::from(padding),
        };
        Ok(MpegHeader {
            version,
            layer,
            has_crc: b1 & 0x01 == 0,
            bitrate_kbps,
            sample_rate,
            padding,
            mode: b3 >> 6,
            // At most 144 x 448,000 / 32,000 + 4 = 2,020 bytes: always fits.
            frame_length: frame_length as u16,
        })
    }

    /// PCM samples (per channel) this frame decodes to.
    pub fn samples(&self) -> u32 {
        match (self.layer, self.version) {
            (1, _) => 384,
            (3, Version::Mpeg2 | Version::Mpeg25) => 576,
            _ => 1152,
        }
    }

    /// Channels: 1 for mono, else 2.
    pub fn channels(&self) -> u8 {
        if self.mode == 3 {
            1
        } else {
            2
        }
    }

    /// Whether `other` belongs to the same stream: version, layer, sample rate and channel
    /// count agree (the bitrate of a VBR stream changes from frame to frame, and some encoders
    /// switch between stereo and joint stereo).
    pub fn same_stream(&self, other: &MpegHeader) -> bool {
        self.version == other.version
            && self.layer == other.layer
            && self.sample_rate == other.sample_rate
            && self.channels() == other.channels()
    }
}

/// Whether `frame` (a whole frame, header first) is a Xing, Info or VBRI header frame: a frame
/// that describes the file instead of holding audio.
pub fn is_info_frame(header: &MpegHeader, frame: &[u8]) -> bool {
    if header.layer != 3 {
        return false;
    }
    let side_info = match (header.version, header.channels()) {
        (Version::Mpeg1, 1) => 17,
        (Version::Mpeg1, _) => 32,
        (_, 1) => 9,
        _ => 17,
    };
    let xing = 4 + if header.has_crc { 2 } else { 0 } + side_info;
    let tag_at = |at: usize, tag: &[u8]| frame.get(at..at + tag.len()) == Some(tag);
    tag_at(xing, b"Xing") || tag_at(xing, b"Info") || tag_at(36, b"VBRI")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lengths_of_known_headers() {
        // MPEG-1 Layer III, 128 kb/s, 44.1 kHz, no padding: 417 bytes, 1152 samples.
        let h = MpegHeader::parse(&[0xFF, 0xFB, 0x90, 0x64]).expect("valid");
        assert_eq!(
            (h.version, h.layer, h.bitrate_kbps),
            (Version::Mpeg1, 3, 128)
        );
        assert_eq!(
            (h.sample_rate, h.frame_length, h.samples()),
            (44_100, 417, 1152)
        );
        assert_eq!(h.channels(), 2);
        // The same with padding: 418.
        let h = MpegHeader::parse(&[0xFF, 0xFB, 0x92, 0x64]).expect("valid");
        assert_eq!(h.frame_length, 418);
        // MPEG-2 Layer III, 64 kb/s, 22.05 kHz, mono: 72 x 64000 / 22050 = 208, 576 samples.
        let h = MpegHeader::parse(&[0xFF, 0xF3, 0x80, 0xC4]).expect("valid");
        assert_eq!(
            (h.version, h.sample_rate, h.channels()),
            (Version::Mpeg2, 22_050, 1)
        );
        assert_eq!((h.frame_length, h.samples()), (208, 576));
        // MPEG-2.5 Layer III, 8 kb/s, 8 kHz: 72 x 8000 / 8000 = 72.
        let h = MpegHeader::parse(&[0xFF, 0xE3, 0x18, 0xC4]).expect("valid");
        assert_eq!(
            (h.version, h.sample_rate, h.frame_length),
            (Version::Mpeg25, 8_000, 72)
        );
        // MPEG-1 Layer II, 192 kb/s, 48 kHz: 144 x 192000 / 48000 = 576, with CRC.
        let h = MpegHeader::parse(&[0xFF, 0xFC, 0xA4, 0x04]).expect("valid");
        assert_eq!((h.layer, h.bitrate_kbps, h.frame_length), (2, 192, 576));
        assert!(h.has_crc);
        // MPEG-1 Layer I, 448 kb/s, 32 kHz, padded: (12 x 448000 / 32000 + 1) x 4 = 676.
        let h = MpegHeader::parse(&[0xFF, 0xFF, 0xEA, 0x00]).expect("valid");
        assert_eq!((h.layer, h.frame_length, h.samples()), (1, 676, 384));
    }

    #[test]
    fn refuses_reserved_fields_free_format_and_adts() {
        use MpegHeaderError::*;
        assert_eq!(
            MpegHeader::parse(&[0xFF, 0xFB, 0x00, 0x64]),
            Err(FreeFormat)
        );
        assert_eq!(MpegHeader::parse(&[0xFF, 0xFB, 0xF0, 0x64]), Err(Reserved));
        assert_eq!(MpegHeader::parse(&[0xFF, 0xFB, 0x9C, 0x64]), Err(Reserved));
        assert_eq!(MpegHeader::parse(&[0xFF, 0xEB, 0x90, 0x64]), Err(Reserved));
        assert_eq!(MpegHeader::parse(&[0xFF, 0xFB, 0x90, 0x66]), Err(Reserved));
        // ADTS: layer bits 00.
        assert_eq!(MpegHeader::parse(&[0xFF, 0xF1, 0x50, 0x80]), Err(Reserved));
        assert_eq!(MpegHeader::parse(&[0xFF, 0xFB, 0x90]), Err(Short));
        assert_eq!(MpegHeader::parse(b"ID3\x04"), Err(NoSync));
    }

    #[test]
    fn finds_info_frames() {
        let h = MpegHeader::parse(&[0xFF, 0xFB, 0x90, 0x64]).expect("valid");
        let mut frame = vec![0u8; 417];
        frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        assert!(!is_info_frame(&h, &frame));
        frame[36..40].copy_from_slice(b"Info");
        assert!(is_info_frame(&h, &frame));
        frame[36..40].copy_from_slice(b"VBRI");
        assert!(is_info_frame(&h, &frame));
        let mono = MpegHeader::parse(&[0xFF, 0xFB, 0x90, 0xC4]).expect("valid");
        let mut frame = vec![0u8; 417];
        frame[21..25].copy_from_slice(b"Xing");
        assert!(is_info_frame(&mono, &frame));
    }
}
