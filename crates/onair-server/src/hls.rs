//! HLS (RFC 8216, packed audio, section 3.4) beside the ICY stream, from the same station clock.
//!
//! - `GET /<name>.m3u8`: a live media playlist of the last `[hls] window_s` of complete segments.
//! - `GET /<name>/index.m3u8`: a multivariant playlist naming the codec and bandwidth.
//! - `GET /<name>/<k>.aac` (`.mp3` for an MP3 station): segment `k`: an ID3v2.4 tag (PRIV
//!   `com.apple.streaming.transportStreamTimestamp`, the 33-bit 90 kHz time of its first sample
//!   from the exact tick count; TIT2 and TPE1, the title and artist of the track it starts in),
//!   then whole ADTS or MPEG audio frames (RFC 8216 packed audio allows both).
//!
//! Segments are cut from the files on demand ([`onair_core::cut_segment`]): no per-listener
//! state, no store that grows, only a few recent segments and segment boundaries kept in memory.
//! Every replica with the same files and config serves the same bytes for the same `k`, so a
//! cache or CDN may fetch any segment from any replica. Responses carry the headers a cache needs:
//! segments are immutable with a strong `ETag`, playlists live for a second.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{
    HeaderValue, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
    ETAG, IF_NONE_MATCH, LAST_MODIFIED, VARY,
};
use http::{HeaderMap, Response, StatusCode};
use onair_core::{
    cut_segment, pts_90k, segment_start, tick_at, ticks_of, wall_time, SourceError, Timeline,
    TICKS_PER_SECOND,
};
use tokio::time::Instant;

use crate::body::Body;
use crate::config::HlsConfig;
use crate::registry::{lock, Station};

/// Recent segments kept ready (the live edge is what every client asks for).
const SEGMENTS_KEPT: usize = 6;
/// Segment boundaries kept.
const STARTS_KEPT: usize = 256;
/// Fewest segments a playlist lists (Apple's authoring spec asks for six; RFC 8216 for three
/// target durations at least).
const MIN_WINDOW: u64 = 6;

/// One station's HLS state: caches and the clients seen.
#[derive(Debug, Default)]
pub struct HlsState {
    /// (Segment length, segment index) to its first tick: a live change of `segment_ms`
    /// numbers segments anew, and never meets a stale entry.
    starts: Mutex<BTreeMap<(u64, u64), u64>>,
    segments: Mutex<VecDeque<Arc<Ready>>>,
    /// Client (address, user agent hash) to when it last asked.
    sessions: Mutex<HashMap<(IpAddr, u64), Instant>>,
    /// Playlist requests answered.
    pub playlist_requests: AtomicU64,
    /// Segment requests answered.
    pub segment_requests: AtomicU64,
}

/// A segment ready to send.
#[derive(Debug)]
struct Ready {
    /// Segment length in ticks, and index.
    index: (u64, u64),
    bytes: Bytes,
    etag: String,
}

/// What an HLS request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HlsRequest {
    /// The media playlist.
    Playlist,
    /// The multivariant playlist.
    Main,
    /// Segment `k`.
    Segment(u64),
}

/// The segments a playlist lists now: their indexes and bounds (ticks).
struct Window {
    first: u64,
    starts: Vec<u64>,
}

impl HlsState {
    /// HLS clients of the station now: those that asked in the last two target durations.
    pub fn listeners(&self, config: &HlsConfig) -> usize {
        let expiry = 2 * target_duration(config);
        let mut sessions = lock(&self.sessions);
        let now = Instant::now();
        sessions.retain(|_, at| now.duration_since(*at) < expiry);
        sessions.len()
    }

    fn note_client(&self, client: IpAddr, user_agent: &str) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        user_agent.hash(&mut hasher);
        lock(&self.sessions).insert((client, hasher.finish()), Instant::now());
    }

    /// The first tick of segment `k`, from the cache or the files.
    async fn start(&self, timeline: &Timeline, k: u64, segment: u64) -> Result<u64, SourceError> {
        if let Some(&tick) = lock(&self.starts).get(&(segment, k)) {
            return Ok(tick);
        }
        let tick = segment_start(timeline, k, segment).await?;
        let mut starts = lock(&self.starts);
        starts.insert((segment, k), tick);
        while starts.len() > STARTS_KEPT {
            starts.pop_first();
        }
        Ok(tick)
    }

    /// The complete segments within the window at tick `now`.
    async fn window(
        &self,
        timeline: &Timeline,
        now: u64,
        config: &HlsConfig,
    ) -> Result<Window, SourceError> {
        let segment = segment_ticks(config);
        // The newest complete segment: the one whose successor has started.
        let mut next = now / segment;
        while next > 0 && self.start(timeline, next, segment).await? > now {
            next -= 1;
        }
        let count = (config.window_s.get() * 1000 / config.segment_ms.get()).max(MIN_WINDOW);
        let first = next.saturating_sub(count);
        let mut starts = Vec::new();
        for k in first..=next {
            starts.push(self.start(timeline, k, segment).await?);
        }
        Ok(Window { first, starts })
    }
}

/// Answers an HLS request for `station`.
pub async fn respond(
    station: &Station,
    request: HlsRequest,
    headers: &HeaderMap,
    client: IpAddr,
    user_agent: &str,
    config: &HlsConfig,
) -> Response<Body> {
    let hls = &station.hls;
    hls.note_client(client, user_agent);
    let timeline = station.timeline();
    let now = tick_at(station.epoch, SystemTime::now());
    let answered = match request {
        HlsRequest::Main => {
            hls.playlist_requests.fetch_add(1, Ordering::Relaxed);
            Ok(main_playlist(station, headers))
        }
        HlsRequest::Playlist => {
            hls.playlist_requests.fetch_add(1, Ordering::Relaxed);
            hls.window(&timeline, now, config)
                .await
                .map(|window| media_playlist(station, &timeline, &window, config, headers))
        }
        HlsRequest::Segment(k) => {
            hls.segment_requests.fetch_add(1, Ordering::Relaxed);
            segment(station, &timeline, k, now, config, headers).await
        }
    };
    answered.unwrap_or_else(|error| {
        tracing::warn!(station = %station.name, %error, "cannot cut HLS audio");
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the station's audio cannot be read now\n",
        )
    })
}

async fn segment(
    station: &Station,
    timeline: &Timeline,
    k: u64,
    now: u64,
    config: &HlsConfig,
    headers: &HeaderMap,
) -> Result<Response<Body>, SourceError> {
    let hls = &station.hls;
    let key = (segment_ticks(config), k);
    let ready = lock(&hls.segments).iter().find(|s| s.index == key).cloned();
    let ready = match ready {
        Some(ready) => ready,
        None => {
            let window = hls.window(timeline, now, config).await?;
            let listed = window.starts.len() as u64 - 1;
            let last = window.first + listed - 1;
            // RFC 8216 6.2.2: a segment removed from the playlist stays available for its own
            // duration plus the playlist's (a player that read the playlist a moment ago).
            if k + listed + 1 < window.first || k > last {
                return Ok(text(
                    StatusCode::NOT_FOUND,
                    "no such segment: outside the playlist's window\n",
                ));
            }
            // The window holds the bounds of a listed segment already (cached): cut between
            // them.
            let (start, end) = match k.checked_sub(window.first) {
                Some(i) => (window.starts[i as usize], window.starts[i as usize + 1]),
                None => {
                    let segment = segment_ticks(config);
                    (
                        hls.start(timeline, k, segment).await?,
                        hls.start(timeline, k + 1, segment).await?,
                    )
                }
            };
            let cut = cut_segment(timeline, start, end).await?;
            let entry = timeline.at(cut.start);
            let track = entry.programme.locate(entry.position(cut.start)).track;
            let title = station.stream_title(Some(&track));
            let mut bytes = id3_tag(pts_90k(cut.start), &title, track.tags.artist.as_deref());
            bytes.extend_from_slice(&cut.data);
            let ready = Arc::new(Ready {
                index: key,
                etag: format!("\"{:016x}\"", fnv1a(&bytes)),
                bytes: Bytes::from(bytes),
            });
            let mut segments = lock(&hls.segments);
            if !segments.iter().any(|s| s.index == key) {
                segments.push_back(Arc::clone(&ready));
                while segments.len() > SEGMENTS_KEPT {
                    segments.pop_front();
                }
            }
            ready
        }
    };
    // Segments never change: a cache keeps them as long as any playlist can list them.
    let max_age = config.window_s.get() + 2 * config.segment_ms.get() / 1000;
    let cache = format!("public, max-age={max_age}, immutable");
    if matches_etag(headers, &ready.etag) {
        return Ok(not_modified(&ready.etag, &cache));
    }
    let mut response = Response::new(Body::full(ready.bytes.clone()));
    let h = response.headers_mut();
    let codec = station.programme().first().codec();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(codec.content_type()));
    h.insert(CONTENT_LENGTH, HeaderValue::from(ready.bytes.len()));
    insert(h, CACHE_CONTROL, &cache);
    insert(h, ETAG, &ready.etag);
    Ok(response)
}

fn media_playlist(
    station: &Station,
    timeline: &Timeline,
    window: &Window,
    config: &HlsConfig,
    headers: &HeaderMap,
) -> Response<Body> {
    let target = target_duration(config).as_secs();
    let first_start = window.starts.first().copied().unwrap_or(0);
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:{}\n#EXT-X-DISCONTINUITY-SEQUENCE:{}\n",
        window.first,
        timeline.discontinuities_before(first_start)
    );
    let extension = station.programme().first().codec().extension();
    for (i, pair) in window.starts.windows(2).enumerate() {
        let k = window.first + i as u64;
        let (start, end) = (pair[0], pair[1]);
        // A replaced file of another sample rate, channel layout or profile: the decoder must
        // start over (a loop point, or a file of the same format, is seamless).
        if timeline.discontinuity_at(start) {
            text.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let date = humantime::format_rfc3339_millis(wall_time(station.epoch, start));
        let seconds = (end - start) as f64 / TICKS_PER_SECOND as f64;
        text.push_str(&format!(
            "#EXT-X-PROGRAM-DATE-TIME:{date}\n#EXTINF:{seconds:.5},\n{}/{k}.{extension}\n",
            station.name
        ));
    }
    let newest = window.starts.last().copied().unwrap_or(0);
    let modified = httpdate::fmt_http_date(wall_time(station.epoch, newest));
    playlist_response(text, headers, "public, max-age=1", Some(&modified))
}

fn main_playlist(station: &Station, headers: &HeaderMap) -> Response<Body> {
    let programme = station.programme();
    let codec = programme.first().first.rfc6381();
    let average = programme.bitrate().max(1);
    let peak = average + average / 10;
    let text = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},CODECS=\"{codec}\"\n../{}.m3u8\n",
        station.name
    );
    playlist_response(text, headers, "public, max-age=60", None)
}

/// A playlist, gzip-encoded when the client accepts it.
fn playlist_response(
    text: String,
    headers: &HeaderMap,
    cache: &str,
    modified: Option<&str>,
) -> Response<Body> {
    let etag = format!("\"{:016x}\"", fnv1a(text.as_bytes()));
    if matches_etag(headers, &etag) {
        return not_modified(&etag, cache);
    }
    let gzip = accepts_gzip(headers);
    let body = if gzip {
        gzip_bytes(text.as_bytes()).unwrap_or_else(|_| text.clone().into_bytes())
    } else {
        text.into_bytes()
    };
    let mut response = Response::new(Body::full(body.clone()));
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.apple.mpegurl"),
    );
    h.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    insert(h, CACHE_CONTROL, cache);
    insert(h, ETAG, &etag);
    h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzip {
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if let Some(modified) = modified {
        insert(h, LAST_MODIFIED, modified);
    }
    response
}

/// The ID3v2.4 tag that starts every segment: PRIV with the 90 kHz timestamp, TIT2 with the
/// title and TPE1 with the artist when known (UTF-8, at most 255 bytes each, cut on a character
/// boundary).
pub fn id3_tag(pts: u64, title: &str, artist: Option<&str>) -> Vec<u8> {
    let mut frames = Vec::new();
    let mut private = b"com.apple.streaming.transportStreamTimestamp\0".to_vec();
    private.extend_from_slice(&(pts & ((1 << 33) - 1)).to_be_bytes());
    id3_frame(&mut frames, b"PRIV", &private);
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

/// Segment length in ticks.
fn segment_ticks(config: &HlsConfig) -> u64 {
    ticks_of(Duration::from_millis(config.segment_ms.get()))
}

/// `EXT-X-TARGETDURATION`: a segment lasts `segment_ms` plus less than a frame (at most 0.56 s),
/// rounded up to whole seconds; it never changes while the config does not.
pub fn target_duration(config: &HlsConfig) -> Duration {
    Duration::from_secs((config.segment_ms.get() + 600).div_ceil(1000))
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

fn gzip_bytes(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data)?;
    encoder.finish()
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        })
}

fn not_modified(etag: &str, cache: &str) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    insert(response.headers_mut(), ETAG, etag);
    insert(response.headers_mut(), CACHE_CONTROL, cache);
    response
}

/// A plain-text answer that a cache must not keep.
fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = crate::routes::text(status, body);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn insert(headers: &mut HeaderMap, name: http::header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// FNV-1a, 64 bits: a strong ETag that every replica computes alike for the same bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
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

    #[test]
    fn gzip_is_negotiated_and_etags_match() {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0.8"));
        assert!(accepts_gzip(&h));
        h.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip;q=0, br"));
        assert!(!accepts_gzip(&h));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("\"a\", W/\"b\""));
        assert!(matches_etag(&h, "\"b\""));
        assert!(!matches_etag(&h, "\"c\""));
        let target = target_duration(&HlsConfig::default());
        assert_eq!(target, Duration::from_secs(7));
    }
}
