//! A frame of silence in a format: what a station plays when it has nothing else (a live-only
//! station between shows), so that its clock, hub and HLS run as any other's.
//!
//! AAC-LC: an ADTS header and the smallest raw data block that decodes to silence (one
//! single-channel or channel-pair element with no spectral data, as encoders write for digital
//! silence). MP3: a Layer III header at the lowest bit rate of its MPEG version, then zeros
//! (side information with no granule data: silence).

use super::adts::SAMPLE_RATES as ADTS_RATES;
use super::frame::{Format, Kind};

/// The raw data block of one silent AAC-LC frame, mono (an SCE).
const AAC_SILENCE_MONO: [u8; 4] = [0x01, 0x18, 0x20, 0x07];
/// The raw data block of one silent AAC-LC frame, stereo (a CPE).
const AAC_SILENCE_STEREO: [u8; 6] = [0x21, 0x10, 0x04, 0x60, 0x8C, 0x1C];

/// One frame of silence in `format`, if onair can make one: AAC-LC or MP3, mono or stereo, at
/// any of their sample rates; Opus, mono or stereo; FLAC of up to eight channels (Opus and FLAC
/// carried, as the pacer publishes them).
pub fn silent_frame(format: &Format) -> Option<Vec<u8>> {
    match format.kind {
        Kind::Aac { profile: 1 } => aac(format.sample_rate, format.channels),
        Kind::Mpeg { layer: 3 } => mp3(format.sample_rate, format.channels),
        Kind::Opus => {
            let mut out = bytes::BytesMut::new();
            super::opus_packet::carry(&mut out, format.channels, &opus(format.channels)?);
            Some(out.to_vec())
        }
        Kind::Flac { .. } => {
            let mut out = bytes::BytesMut::new();
            super::flac_frame::carry(&mut out, &flac_silence(format, 0)?);
            Some(out.to_vec())
        }
        _ => None,
    }
}

/// `seconds` of silence in `format` as a file onair plays (frames for AAC and MP3; an Ogg Opus
/// file for Opus; a FLAC file for FLAC), if onair can make its frames.
pub fn silence_file(format: &Format, seconds: u32) -> Option<Vec<u8>> {
    let frames = (seconds * format.sample_rate).div_ceil(format.samples_per_frame() as u32);
    match format.kind {
        Kind::Opus => {
            let packet = opus(format.channels)?;
            let mut head = b"OpusHead".to_vec();
            head.extend_from_slice(&[1, format.channels, 0, 0]);
            head.extend_from_slice(&48_000u32.to_le_bytes());
            head.extend_from_slice(&[0, 0, 0]);
            let mut file = bytes::BytesMut::new();
            let serial = 0x6f6e_6169;
            super::ogg::write_page(&mut file, super::ogg::BOS, 0, serial, 0, &[&head]);
            let tags = super::opus::tags_packet("onair");
            super::ogg::write_page(&mut file, 0, 0, serial, 1, &[&tags]);
            let per_page = 50;
            let pages = frames.div_ceil(per_page);
            for page in 0..pages {
                let n = per_page.min(frames - page * per_page) as usize;
                let granule = u64::from(page * per_page) * 960 + n as u64 * 960;
                let flags = if page + 1 == pages {
                    super::ogg::EOS
                } else {
                    0
                };
                let packets = vec![&packet[..]; n];
                super::ogg::write_page(&mut file, flags, granule, serial, page + 2, &packets);
            }
            Some(file.to_vec())
        }
        Kind::Flac { bits } => {
            use super::flac::{block_header, StreamInfo, BLOCK_STREAMINFO, MAGIC, STREAMINFO_LEN};
            let block = SILENT_BLOCK;
            let frames = (seconds * format.sample_rate).div_ceil(block);
            let info = StreamInfo {
                min_block: block as u16,
                max_block: block as u16,
                max_frame: 0,
                sample_rate: format.sample_rate,
                channels: format.channels,
                bits,
                total: 0,
            };
            let mut file = MAGIC.to_vec();
            file.extend_from_slice(&block_header(true, BLOCK_STREAMINFO, STREAMINFO_LEN));
            file.extend_from_slice(&info.endless());
            for number in 0..frames {
                file.extend_from_slice(&flac_silence(format, number)?);
            }
            Some(file)
        }
        _ => Some(silent_frame(format)?.repeat(frames as usize)),
    }
}

/// A 20 ms Opus packet (CELT, fullband) that decodes to silence, mono or stereo.
fn opus(channels: u8) -> Option<Vec<u8>> {
    let stereo = match channels {
        1 => 0,
        2 => 0x04,
        _ => return None,
    };
    Some(vec![0xF8 | stereo, 0xFF, 0xFE])
}

/// Samples in the FLAC frames of silence onair makes.
pub(crate) const SILENT_BLOCK: u32 = 4096;

/// A native frame of [`SILENT_BLOCK`] samples of digital silence in `format` (every subframe
/// `CONSTANT` 0), numbered `number`; none for a rate or sample size a frame header cannot say.
pub(crate) fn flac_silence(format: &Format, number: u32) -> Option<Vec<u8>> {
    let Kind::Flac { bits } = format.kind else {
        return None;
    };
    use super::flac::{bits_code, crc16, crc8, rate_code};
    let (rate, rate_extra) = rate_code(format.sample_rate)?;
    if !(1..=8).contains(&format.channels) {
        return None;
    }
    // 4096 samples: block size code 12 (256 << 4).
    let mut frame = vec![
        0xFF,
        0xF8,
        (12 << 4) | rate,
        ((format.channels - 1) << 4) | (bits_code(bits)? << 1),
    ];
    let (coded, len) = super::flac::coded_number(u64::from(number));
    frame.extend_from_slice(&coded[..len]);
    frame.extend_from_slice(&rate_extra);
    frame.push(crc8(&frame));
    // Each subframe: a zero bit, type CONSTANT (0), no wasted bits, then the value 0 in `bits`
    // bits; all zero bits, padded to a byte.
    let subframe_bits = usize::from(format.channels) * (8 + usize::from(bits));
    frame.resize(frame.len() + subframe_bits.div_ceil(8), 0);
    let crc = crc16(&frame);
    frame.extend_from_slice(&crc.to_be_bytes());
    Some(frame)
}

fn aac(rate: u32, channels: u8) -> Option<Vec<u8>> {
    let rate_index = ADTS_RATES.iter().position(|&r| r == rate)? as u8;
    let block: &[u8] = match channels {
        1 => &AAC_SILENCE_MONO,
        2 => &AAC_SILENCE_STEREO,
        _ => return None,
    };
    let len = 7 + block.len();
    let mut frame = vec![
        0xFF,
        // MPEG-4, layer 0, no CRC.
        0xF1,
        // Profile LC, the rate, private bit 0, channel configuration's high bit.
        (1 << 6) | (rate_index << 2) | (channels >> 2),
        ((channels & 0x03) << 6) | ((len >> 11) as u8 & 0x03),
        (len >> 3) as u8,
        // The length's low bits, buffer fullness 0x7FF (VBR).
        (((len & 0x07) as u8) << 5) | 0x1F,
        // Buffer fullness, one raw data block.
        0xFC,
    ];
    frame.extend_from_slice(block);
    Some(frame)
}

fn mp3(rate: u32, channels: u8) -> Option<Vec<u8>> {
    // (version bits, sample-rate index, bytes per frame at the lowest bit rate)
    let (version, rate_index, bitrate, per_kbit) = match rate {
        44_100 => (0b11, 0, 32_000, 144),
        48_000 => (0b11, 1, 32_000, 144),
        32_000 => (0b11, 2, 32_000, 144),
        22_050 => (0b10, 0, 8_000, 72),
        24_000 => (0b10, 1, 8_000, 72),
        16_000 => (0b10, 2, 8_000, 72),
        11_025 => (0b00, 0, 8_000, 72),
        12_000 => (0b00, 1, 8_000, 72),
        8_000 => (0b00, 2, 8_000, 72),
        _ => return None,
    };
    let mode = match channels {
        1 => 0b11,
        2 => 0b00,
        _ => return None,
    };
    let len = (per_kbit * bitrate / rate) as usize;
    let mut frame = vec![0u8; len];
    frame[0] = 0xFF;
    // Sync, the version, Layer III, no CRC.
    frame[1] = 0xE0 | (version << 3) | (0b01 << 1) | 1;
    // Bit-rate index 1 (the lowest), the rate, no padding.
    frame[2] = (1 << 4) | (rate_index << 2);
    frame[3] = mode << 6;
    Some(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Codec;

    #[test]
    fn silent_frames_parse_back_as_their_format() {
        for (kind, codec, rates) in [
            (Kind::Aac { profile: 1 }, Codec::Adts, ADTS_RATES.to_vec()),
            (
                Kind::Mpeg { layer: 3 },
                Codec::Mpeg,
                vec![
                    44_100, 48_000, 32_000, 22_050, 24_000, 16_000, 11_025, 12_000, 8_000,
                ],
            ),
        ] {
            for &sample_rate in &rates {
                for channels in [1, 2] {
                    let format = Format {
                        kind,
                        sample_rate,
                        channels,
                    };
                    let frame = silent_frame(&format).expect("a silent frame");
                    let header = codec.parse(&frame).expect("parses");
                    assert_eq!(header.format(), format);
                    assert_eq!(header.frame_length(), frame.len(), "{format}");
                }
            }
        }
        let mp2 = Format {
            kind: Kind::Mpeg { layer: 2 },
            sample_rate: 44_100,
            channels: 2,
        };
        assert_eq!(silent_frame(&mp2), None);
    }
}
