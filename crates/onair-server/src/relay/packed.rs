//! What an edge reads of an onair origin's HLS: media playlists (segment numbers and URIs, or a
//! main playlist's first variant), packed-audio segments (the ID3 tag's PRIV timestamp, title
//! and artist, then the frames), and the exact tick a segment starts at.

use bytes::Bytes;
use onair_core::{pts_90k, TICKS_PER_SECOND};

/// The most bytes of a playlist an edge reads.
pub const MAX_MEDIA_PLAYLIST_BYTES: usize = 256 * 1024;

/// The most bytes of a segment an edge reads (30 s of 320 kbit/s is 1.2 MB).
pub const MAX_SEGMENT_BYTES: usize = 8 * 1024 * 1024;

/// A playlist, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playlist {
    /// A main playlist: its first variant's URI.
    Main(String),
    /// A media playlist: each segment's number and URI, in order.
    Media(Vec<(u64, String)>),
}

/// Reads an HLS playlist.
pub fn playlist(text: &str) -> Result<Playlist, &'static str> {
    if !text.trim_start_matches('\u{feff}').starts_with("#EXTM3U") {
        return Err("not an HLS playlist (no #EXTM3U)");
    }
    let mut sequence = 0u64;
    let mut segments = Vec::new();
    let mut variant = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(n) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            sequence = n
                .trim()
                .parse()
                .map_err(|_| "a bad #EXT-X-MEDIA-SEQUENCE")?;
        } else if line.starts_with("#EXT-X-STREAM-INF") {
            variant = true;
        } else if !line.starts_with('#') {
            if variant {
                return Ok(Playlist::Main(line.to_string()));
            }
            segments.push((sequence + segments.len() as u64, line.to_string()));
        }
    }
    Ok(Playlist::Media(segments))
}

/// The segment length a media playlist's `#EXTINF` durations say (their median), in
/// milliseconds: an onair origin cuts every segment within a frame of its `[hls] segment_ms`.
pub fn segment_ms(text: &str) -> Option<u64> {
    let mut durations: Vec<u64> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("#EXTINF:"))
        .filter_map(|d| d.split(',').next()?.trim().parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d > 0.0)
        .map(|d| (d * 1000.0).round() as u64)
        .collect();
    durations.sort_unstable();
    durations.get(durations.len() / 2).copied()
}

/// A packed-audio segment (RFC 8216 3.4), read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// The 33-bit 90 kHz time of its first sample (the PRIV frame).
    pub pts: u64,
    /// Its first frame's exact tick, where the segment says it (a fragment's time in samples).
    pub tick: Option<u64>,
    /// TIT2.
    pub title: Option<String>,
    /// TPE1.
    pub artist: Option<String>,
    /// The frames after the tag.
    pub audio: Bytes,
}

/// The PRIV owner of HLS's timestamp.
const TIMESTAMP_OWNER: &[u8] = b"com.apple.streaming.transportStreamTimestamp\0";

/// Reads a packed-audio segment: its ID3v2 tag, which must carry the timestamp.
pub fn packed(bytes: Bytes) -> Result<Packed, &'static str> {
    let (tag, end) = id3_tag(&bytes)?;
    Ok(Packed {
        pts: tag.pts.ok_or("a segment without a PRIV timestamp")?,
        tick: None,
        title: tag.title,
        artist: tag.artist,
        audio: bytes.slice(end..),
    })
}

/// What an ID3v2 tag of an onair origin says.
#[derive(Debug, Default)]
pub struct Tag {
    /// The PRIV timestamp (packed audio).
    pub pts: Option<u64>,
    /// TIT2.
    pub title: Option<String>,
    /// TPE1.
    pub artist: Option<String>,
}

/// Reads the ID3v2 tag at the start of `bytes`: what it says, and where it ends.
pub fn id3_tag(bytes: &[u8]) -> Result<(Tag, usize), &'static str> {
    if bytes.len() < 10 || &bytes[..3] != b"ID3" {
        return Err("a segment without an ID3 tag");
    }
    let size = synchsafe(&bytes[6..10]);
    let end = 10 + size;
    if end > bytes.len() {
        return Err("a segment's ID3 tag is longer than the segment");
    }
    let version = bytes[3];
    let (mut pts, mut title, mut artist) = (None, None, None);
    let mut at = 10;
    while at + 10 <= end {
        let id = &bytes[at..at + 4];
        if id[0] == 0 {
            break;
        }
        let len = if version >= 4 {
            synchsafe(&bytes[at + 4..at + 8])
        } else {
            u32::from_be_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]])
                as usize
        };
        let data = bytes
            .get(at + 10..at + 10 + len)
            .filter(|_| at + 10 + len <= end)
            .ok_or("an ID3 frame runs past its tag")?;
        match id {
            b"PRIV" if data.starts_with(TIMESTAMP_OWNER) => {
                let stamp = &data[TIMESTAMP_OWNER.len()..];
                let stamp: [u8; 8] = stamp.try_into().map_err(|_| "a bad PRIV timestamp")?;
                pts = Some(u64::from_be_bytes(stamp) & ((1 << 33) - 1));
            }
            b"TIT2" => title = text(data),
            b"TPE1" => artist = text(data),
            _ => {}
        }
        at += 10 + len;
    }
    Ok((Tag { pts, title, artist }, end))
}

fn synchsafe(b: &[u8]) -> usize {
    b.iter()
        .fold(0usize, |n, &x| (n << 7) | usize::from(x & 0x7F))
}

/// An ID3 text frame's text (Latin-1 or UTF-8).
fn text(data: &[u8]) -> Option<String> {
    let (&encoding, body) = data.split_first()?;
    let body = body.strip_suffix(&[0]).unwrap_or(body);
    let text = match encoding {
        0 => body.iter().map(|&b| char::from(b)).collect(),
        3 => String::from_utf8_lossy(body).into_owned(),
        _ => return None,
    };
    Some(text)
}

/// The tick segment `k` of `segment` ticks starts at, from its 90 kHz timestamp `pts`: the
/// first frame boundary at or after `k * segment`, a multiple of `frame` ticks where the
/// origin's audio is on that grid (one format since its epoch: then it is exact); `None` when
/// the timestamp is not within a frame after the segment's nominal start (another grid: another
/// epoch or segment length). The flag says whether the tick is exact.
pub fn segment_tick(k: u64, segment: u64, pts: u64, frame: u64) -> Option<(u64, bool)> {
    const WRAP: u128 = 1 << 33;
    let tps = u128::from(TICKS_PER_SECOND);
    let nominal = k.checked_mul(segment)?;
    let p0 = u128::from(nominal) * 90_000 / tps;
    let delta = (u128::from(pts) + WRAP - p0 % WRAP) % WRAP;
    // At most one frame (and a 90 kHz unit) after the nominal start.
    if delta > u128::from(frame) * 90_000 / tps + 1 {
        return None;
    }
    let p = p0 + delta;
    let lo = u64::try_from((p * tps).div_ceil(90_000)).ok()?.max(nominal);
    let hi = u64::try_from(((p + 1) * tps).div_ceil(90_000)).ok()?;
    let aligned = lo.div_ceil(frame.max(1)) * frame.max(1);
    Some(if aligned < hi {
        (aligned, true)
    } else {
        (lo, false)
    })
}

/// Checks the tick found for a segment gives back its timestamp.
pub fn agrees(tick: u64, pts: u64) -> bool {
    pts_90k(tick) == pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_playlists_segment_length_is_its_median_extinf() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:2.019,\na.aac\n#EXTINF:1.996,\nb.aac\n#EXTINF:2.002,\nc.aac\n#EXTINF:0.5,\nd.aac\n";
        assert_eq!(segment_ms(text), Some(2002));
        assert_eq!(segment_ms("#EXTM3U\n"), None);
    }

    #[test]
    fn main_and_media_playlists() {
        let main = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"mp4a.40.2\"\n../jazz.m3u8\n";
        assert_eq!(playlist(main), Ok(Playlist::Main("../jazz.m3u8".into())));
        let media = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n#EXTINF:6.01,\njazz/41.aac\n#EXT-X-DISCONTINUITY\n#EXTINF:6.01,\njazz/42.aac\n";
        assert_eq!(
            playlist(media),
            Ok(Playlist::Media(vec![
                (41, "jazz/41.aac".into()),
                (42, "jazz/42.aac".into())
            ]))
        );
        assert!(playlist("<html>").is_err());
    }

    #[test]
    fn a_segment_tag_gives_its_timestamp_title_and_artist() {
        let mut bytes = crate::hls::mux::id3_tag(123_456, "So What", Some("Miles Davis"));
        bytes.extend_from_slice(b"\xff\xf1frames");
        let packed = packed(Bytes::from(bytes)).expect("packed");
        assert_eq!(packed.pts, 123_456);
        assert_eq!(packed.title.as_deref(), Some("So What"));
        assert_eq!(packed.artist.as_deref(), Some("Miles Davis"));
        assert_eq!(&packed.audio[..], b"\xff\xf1frames");
        assert!(super::packed(Bytes::from_static(b"\xff\xf1no tag")).is_err());
        let mut lying = crate::hls::mux::id3_tag(1, "x", None);
        lying[9] = 0x7f;
        assert!(
            super::packed(Bytes::from(lying)).is_err(),
            "a tag longer than the segment"
        );
    }

    #[test]
    fn the_exact_tick_comes_back_from_the_timestamp_on_the_frame_grid() {
        let frame = 1024 * onair_core::clock::ticks_per_sample(44_100);
        let segment = onair_core::ticks_of(std::time::Duration::from_secs(6));
        // Days after the epoch, past a 33-bit wrap of the 90 kHz clock.
        for k in [0u64, 1, 7, 14_399, 40_000, 123_457] {
            let start = (k * segment).div_ceil(frame) * frame;
            let (tick, exact) =
                segment_tick(k, segment, pts_90k(start), frame).expect("on the grid");
            assert_eq!((tick, exact), (start, true), "segment {k}");
            assert!(agrees(tick, pts_90k(start)));
        }
        // Another grid (another epoch): refused.
        assert_eq!(
            segment_tick(7, segment, pts_90k(7 * segment + 3 * frame), frame),
            None
        );
    }
}
