//! Packed-audio segments (RFC 8216 section 3.4): an ID3v2.4 tag, then whole ADTS or MPEG audio
//! frames. The tag's PRIV frame (`com.apple.streaming.transportStreamTimestamp`) carries the
//! 33-bit 90 kHz time of the first sample, from the exact tick count; TIT2 and TPE1 carry the
//! title and artist of the track the segment starts in. Opus and FLAC go in fragmented MP4
//! instead ([`Fmp4Track`]), the same tag (without PRIV: the fragment says its own time) in an
//! `emsg`.

use onair_core::{pts_90k, Fmp4Track, Segment};

use crate::stations::Station;

/// The fragmented-MP4 track of `station`, if its codec goes over HLS so.
pub fn fragmented(station: &Station) -> Option<Fmp4Track> {
    let programme = station.programme();
    let first = programme.first();
    if !first.codec().fragmented() {
        return None;
    }
    Fmp4Track::new(&first.first, &first.headers)
}

/// Segment `k` of a fragmented-MP4 station: `segment`'s frames, their time from its first
/// tick, behind a timed ID3 tag with `title` and `artist`.
pub fn fragment(
    track: &Fmp4Track,
    k: u64,
    segment: &Segment,
    title: &str,
    artist: Option<&str>,
) -> Vec<u8> {
    // The fragment says its own time: the tag carries the titles only.
    let tag = tag(None, title, artist);
    track.media_segment((k & 0xFFFF_FFFF) as u32, segment.start, &segment.data, &tag)
}

/// The bytes of `segment` as served: its tag (with `title` and `artist`), then its frames.
pub fn packed_audio(segment: &Segment, title: &str, artist: Option<&str>) -> Vec<u8> {
    let mut bytes = id3_tag(pts_90k(segment.start), title, artist);
    bytes.extend_from_slice(&segment.data);
    bytes
}

/// The ID3v2.4 tag that starts every segment: PRIV with the 90 kHz timestamp, TIT2 with the
/// title and TPE1 with the artist when known (UTF-8, at most 255 bytes each, cut on a character
/// boundary).
pub fn id3_tag(pts: u64, title: &str, artist: Option<&str>) -> Vec<u8> {
    tag(Some(pts), title, artist)
}

/// An ID3v2.4 tag: PRIV with the 90 kHz timestamp when given, TIT2, and TPE1 when known.
fn tag(pts: Option<u64>, title: &str, artist: Option<&str>) -> Vec<u8> {
    let mut frames = Vec::new();
    if let Some(pts) = pts {
        let mut private = b"com.apple.streaming.transportStreamTimestamp\0".to_vec();
        private.extend_from_slice(&(pts & ((1 << 33) - 1)).to_be_bytes());
        id3_frame(&mut frames, b"PRIV", &private);
    }
    id3_text(&mut frames, b"TIT2", title);
    if let Some(artist) = artist {
        id3_text(&mut frames, b"TPE1", artist);
    }
    let mut tag = b"ID3\x04\x00\x00".to_vec();
    tag.extend_from_slice(&synchsafe(frames.len()));
    tag.extend_from_slice(&frames);
    tag
}

/// A UTF-8 text frame of at most 255 bytes of text, cut on a character boundary.
fn id3_text(out: &mut Vec<u8>, id: &[u8; 4], text: &str) {
    let mut cut = text.len().min(255);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut data = vec![3u8]; // UTF-8
    data.extend_from_slice(&text.as_bytes()[..cut]);
    id3_frame(out, id, &data);
}

fn id3_frame(out: &mut Vec<u8>, id: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(id);
    out.extend_from_slice(&synchsafe(data.len()));
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(data);
}

fn synchsafe(n: usize) -> [u8; 4] {
    let n = n as u32;
    [
        (n >> 21) as u8 & 0x7F,
        (n >> 14) as u8 & 0x7F,
        (n >> 7) as u8 & 0x7F,
        n as u8 & 0x7F,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id3_tag_holds_the_timestamp_and_the_title() {
        let tag = id3_tag((1 << 33) + 12_345, "Blue Monk", Some("Thelonious Monk"));
        assert_eq!(&tag[..6], b"ID3\x04\x00\x00");
        let owner = b"com.apple.streaming.transportStreamTimestamp\0";
        let at = tag
            .windows(owner.len())
            .position(|w| w == owner)
            .expect("PRIV");
        let pts = u64::from_be_bytes(
            tag[at + owner.len()..at + owner.len() + 8]
                .try_into()
                .expect("8"),
        );
        assert_eq!(pts, 12_345, "33 bits");
        assert!(tag.windows(9).any(|w| w == b"Blue Monk"));
        assert!(tag
            .windows(19)
            .any(|w| w == b"TPE1\0\0\0\x10\0\0\x03Thelonio"));
        let size = tag[6..10]
            .iter()
            .fold(0usize, |a, &b| (a << 7) | usize::from(b));
        assert_eq!(size + 10, tag.len());
        // A long UTF-8 title is cut on a character boundary.
        let long = id3_tag(0, &"é".repeat(300), None);
        assert!(String::from_utf8(long[long.len() - 254..].to_vec()).is_ok());
    }
}
