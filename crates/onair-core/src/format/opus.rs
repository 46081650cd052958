//! Opus in Ogg (RFC 7845): the identification and comment headers, and each audio packet's
//! duration from its table-of-contents byte (RFC 6716 section 3.1).
//!
//! Opus always decodes at 48 kHz, whatever rate went into the encoder: a packet lasts 2.5 to
//! 120 ms, a whole number of 48 kHz samples, and so a whole number of station-clock ticks.

use std::fmt;

/// Opus decodes at this rate, whatever the input rate.
pub const RATE: u32 = 48_000;

/// The identification header (`OpusHead`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusHead {
    /// Output channels (1-255).
    pub channels: u8,
    /// Samples (at 48 kHz) to drop from the decoder's output at the start of the stream.
    pub pre_skip: u16,
    /// The encoder's input rate (informational only).
    pub input_rate: u32,
    /// Output gain, Q7.8 dB.
    pub gain: i16,
    /// Channel mapping family (0: mono or stereo; 1: Vorbis order surround; 255: undefined).
    pub mapping_family: u8,
}

/// Why a packet is not the header it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError(pub String);

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl OpusHead {
    /// Reads an `OpusHead` packet.
    pub fn parse(packet: &[u8]) -> Result<OpusHead, HeaderError> {
        let fail = |why: &str| Err(HeaderError(why.to_string()));
        if !packet.starts_with(b"OpusHead") {
            return fail("the first packet is not an OpusHead");
        }
        if packet.len() < 19 {
            return fail("an OpusHead shorter than 19 bytes");
        }
        // Major version 0 (the upper four bits); minor versions are compatible.
        if packet[8] >> 4 != 0 {
            return fail(&format!(
                "Ogg Opus version {} (only 0.x is defined)",
                packet[8]
            ));
        }
        let head = OpusHead {
            channels: packet[9],
            pre_skip: u16::from_le_bytes([packet[10], packet[11]]),
            input_rate: u32::from_le_bytes([packet[12], packet[13], packet[14], packet[15]]),
            gain: i16::from_le_bytes([packet[16], packet[17]]),
            mapping_family: packet[18],
        };
        if head.channels == 0 {
            return fail("an OpusHead with 0 channels");
        }
        match head.mapping_family {
            0 if head.channels > 2 => fail("mapping family 0 with more than 2 channels"),
            0 => Ok(head),
            _ if packet.len() < 21 + usize::from(head.channels) => {
                fail("an OpusHead whose channel mapping table is cut short")
            }
            _ => Ok(head),
        }
    }
}

/// What an `OpusTags` packet says: the encoder, and the title and artist among its comments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpusTags {
    /// The vendor string.
    pub vendor: String,
    /// `TITLE=`, if any.
    pub title: Option<String>,
    /// `ARTIST=`, if any.
    pub artist: Option<String>,
    /// `ALBUM=`, if any.
    pub album: Option<String>,
    /// `ISRC=`, if any.
    pub isrc: Option<String>,
    /// `LABEL=` (or `ORGANIZATION=`), if any.
    pub label: Option<String>,
}

impl OpusTags {
    /// Reads an `OpusTags` packet (a Vorbis comment block behind its magic).
    pub fn parse(packet: &[u8]) -> Result<OpusTags, HeaderError> {
        let body = packet
            .strip_prefix(b"OpusTags")
            .ok_or_else(|| HeaderError("the second packet is not an OpusTags".to_string()))?;
        read_comments(body)
    }
}

/// Reads a Vorbis comment block (vendor, then `KEY=value` comments, lengths little-endian),
/// keeping the title and the artist; lengths past the packet are an error.
pub fn read_comments(body: &[u8]) -> Result<OpusTags, HeaderError> {
    let cut = || HeaderError("a comment header cut short".to_string());
    let mut at = 0usize;
    let field = |at: &mut usize| -> Result<&[u8], HeaderError> {
        let len = body.get(*at..*at + 4).ok_or_else(cut)?;
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let start = *at + 4;
        let bytes = body
            .get(start..start.checked_add(len).ok_or_else(cut)?)
            .ok_or_else(cut)?;
        *at = start + len;
        Ok(bytes)
    };
    let vendor = String::from_utf8_lossy(field(&mut at)?).into_owned();
    let count = body.get(at..at + 4).ok_or_else(cut)?;
    let count = u32::from_le_bytes([count[0], count[1], count[2], count[3]]);
    at += 4;
    let mut tags = OpusTags {
        vendor,
        ..OpusTags::default()
    };
    for _ in 0..count {
        let comment = field(&mut at)?;
        let Some(eq) = comment.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (key, value) = (&comment[..eq], &comment[eq + 1..]);
        let value = crate::format::tags::clean_text(&String::from_utf8_lossy(value));
        if key.eq_ignore_ascii_case(b"TITLE") && tags.title.is_none() {
            tags.title = Some(value);
        } else if key.eq_ignore_ascii_case(b"ARTIST") && tags.artist.is_none() {
            tags.artist = Some(value);
        } else if key.eq_ignore_ascii_case(b"ALBUM") && tags.album.is_none() {
            tags.album = Some(value);
        } else if key.eq_ignore_ascii_case(b"ISRC") && tags.isrc.is_none() {
            tags.isrc = Some(value);
        } else if (key.eq_ignore_ascii_case(b"LABEL") || key.eq_ignore_ascii_case(b"ORGANIZATION"))
            && tags.label.is_none()
        {
            tags.label = Some(value);
        }
    }
    Ok(tags)
}

/// Samples (at 48 kHz) one frame of TOC configuration `config` lasts.
fn frame_samples(config: u8) -> u32 {
    match config {
        // SILK-only: 10, 20, 40, 60 ms, in each of three bandwidths.
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        // Hybrid: 10, 20 ms.
        12..=15 => [480, 960][usize::from(config % 2)],
        // CELT-only: 2.5, 5, 10, 20 ms.
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    }
}

/// The samples (at 48 kHz) an Opus audio packet decodes to, from its TOC byte and frame count;
/// none for a packet that is malformed by RFC 6716's rules R1-R5 that the TOC alone can tell
/// (empty, a code 3 packet without its count byte, zero frames, or more than 120 ms).
pub fn packet_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(packet.get(1)? & 0x3F),
    };
    let samples = frame_samples(toc >> 3) * frames;
    (frames > 0 && samples <= 5760).then_some(samples)
}

/// An `OpusTags` packet naming `vendor` and no comments: what a station says of itself (the
/// tracks' titles go to ICY, status and HLS, not in-band).
pub fn tags_packet(vendor: &str) -> Vec<u8> {
    let mut out = b"OpusTags".to_vec();
    out.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    out.extend_from_slice(vendor.as_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(channels: u8, family: u8) -> Vec<u8> {
        let mut p = b"OpusHead".to_vec();
        p.extend_from_slice(&[1, channels]);
        p.extend_from_slice(&312u16.to_le_bytes());
        p.extend_from_slice(&44_100u32.to_le_bytes());
        p.extend_from_slice(&0i16.to_le_bytes());
        p.push(family);
        p
    }

    #[test]
    fn the_identification_header_is_read_and_checked() {
        let h = OpusHead::parse(&head(2, 0)).expect("head");
        assert_eq!((h.channels, h.pre_skip, h.input_rate), (2, 312, 44_100));
        assert!(OpusHead::parse(&head(0, 0)).is_err());
        assert!(OpusHead::parse(&head(6, 0)).is_err());
        assert!(OpusHead::parse(&head(6, 1)).is_err(), "no mapping table");
        let mut surround = head(6, 1);
        surround.extend_from_slice(&[4, 2, 0, 4, 1, 2, 3, 5]);
        assert_eq!(OpusHead::parse(&surround).expect("5.1").channels, 6);
        let mut v1 = head(2, 0);
        v1[8] = 0x10;
        assert!(OpusHead::parse(&v1).is_err());
        assert!(OpusHead::parse(b"OpusTags").is_err());
    }

    #[test]
    fn comments_give_the_title_and_artist_and_refuse_lies() {
        let mut p = tags_packet("libopus 1.4");
        p.truncate(p.len() - 4);
        p.extend_from_slice(&3u32.to_le_bytes());
        for c in ["ARTIST=Test Trio", "title=One\nTwo", "NOEQUALS"] {
            p.extend_from_slice(&(c.len() as u32).to_le_bytes());
            p.extend_from_slice(c.as_bytes());
        }
        let tags = OpusTags::parse(&p).expect("tags");
        assert_eq!(tags.vendor, "libopus 1.4");
        assert_eq!(tags.artist.as_deref(), Some("Test Trio"));
        assert_eq!(tags.title.as_deref(), Some("One Two"));
        // A length past the packet.
        let mut lie = tags_packet("x");
        lie[8] = 0xFF;
        assert!(OpusTags::parse(&lie).is_err());
        let mut count_lie = tags_packet("x");
        let n = count_lie.len();
        count_lie[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(OpusTags::parse(&count_lie).is_err());
    }

    #[test]
    fn packet_durations_follow_the_toc() {
        // Config 31 (CELT FB 20 ms), code 0: 960 samples.
        assert_eq!(packet_samples(&[31 << 3]), Some(960));
        // Config 0 (SILK NB 10 ms), code 1: two frames.
        assert_eq!(packet_samples(&[1]), Some(960));
        // Config 16 (CELT NB 2.5 ms), code 3 with 48 frames: 120 ms.
        assert_eq!(packet_samples(&[(16 << 3) | 3, 48]), Some(5760));
        // Code 3 with 49 frames of 2.5 ms, or no count byte, or zero frames: malformed.
        assert_eq!(packet_samples(&[(16 << 3) | 3, 49]), None);
        assert_eq!(packet_samples(&[(16 << 3) | 3]), None);
        assert_eq!(packet_samples(&[(16 << 3) | 3, 0]), None);
        assert_eq!(packet_samples(&[]), None);
        // SILK 60 ms, code 3 with 2 frames: 120 ms.
        assert_eq!(packet_samples(&[(3 << 3) | 3, 2]), Some(5760));
    }
}
