//! HLS playlists: the live media playlist of a station's segment window, and the multivariant
//! playlist naming its codec and bandwidth; gzip-encoded when the client accepts it.

use std::io::Write;
use std::time::Duration;

use http::header::{
    HeaderValue, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
    ETAG, LAST_MODIFIED, VARY,
};
use http::{HeaderMap, Response};
use onair_core::{ticks_of, wall_time, Listing, Timeline, TICKS_PER_SECOND};

use crate::config::HlsConfig;
use crate::http::body::Body;
use crate::http::responses::{fnv1a, insert, matches_etag, not_modified};
use crate::stations::audience::SessionId;
use crate::stations::Station;

/// What a media playlist lists, and how its URLs are named.
#[derive(Debug)]
pub struct Listed<'a> {
    /// The station's codec's segment extension.
    pub extension: &'a str,
    /// The station's timeline.
    pub timeline: &'a Timeline,
    /// The segments listed.
    pub window: &'a Listing,
    /// The token every URL carries (a closed station's).
    pub token: Option<&'a str>,
}

/// The live media playlist of the segments `listed` names.
pub fn media_playlist(
    station: &Station,
    listed: &Listed<'_>,
    config: &HlsConfig,
    headers: &HeaderMap,
) -> Response<Body> {
    let Listed {
        extension,
        timeline,
        window,
        token,
    } = *listed;
    let query = token.map_or(String::new(), |t| format!("?token={t}"));
    let target = config.target_duration().as_secs();
    let first_start = window.starts.first().copied().unwrap_or(0);
    // Fragmented MP4 names its initialization segment (EXT-X-MAP: version 6).
    let fmp4 = station.programme().first().codec().fragmented();
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:{}\n#EXT-X-DISCONTINUITY-SEQUENCE:{}\n",
        if fmp4 { 6 } else { 3 },
        window.first,
        timeline.discontinuities_before(first_start)
            + station.window.format_changes_before(first_start)
    );
    if fmp4 {
        text.push_str(&format!(
            "#EXT-X-MAP:URI=\"{}/init.mp4{query}\"\n",
            station.name
        ));
    }
    for (i, pair) in window.starts.windows(2).enumerate() {
        let k = window.first + i as u64;
        let (start, end) = (pair[0], pair[1]);
        // A replaced file of another sample rate, channel layout or profile, or a live source
        // of another format coming or going: the decoder must start over (a loop point, or a
        // file of the same format, is seamless).
        if timeline.discontinuity_at(start) || station.window.format_change_at(start) {
            text.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let date = humantime::format_rfc3339_millis(wall_time(station.epoch, start));
        let seconds = (end - start) as f64 / TICKS_PER_SECOND as f64;
        text.push_str(&format!(
            "#EXT-X-PROGRAM-DATE-TIME:{date}\n#EXTINF:{seconds:.5},\n{}/{k}.{extension}{query}\n",
            station.name
        ));
    }
    let newest = window.starts.last().copied().unwrap_or(0);
    let modified = httpdate::fmt_http_date(wall_time(station.epoch, newest));
    playlist_response(text, headers, "public, max-age=1", Some(&modified))
}

/// The multivariant playlist: one variant, its codec and bandwidth, at `variant` (relative to
/// the playlist asked for) with `session` in its query. Never cached: each player gets its
/// own session.
pub fn main_playlist(
    station: &Station,
    variant: &str,
    session: SessionId,
    token: Option<&str>,
    headers: &HeaderMap,
) -> Response<Body> {
    let token = token.map_or(String::new(), |t| format!("&token={t}"));
    let programme = station.programme();
    let codec = programme.first().first.rfc6381();
    let average = programme.bitrate().max(1);
    let peak = average + average / 10;
    let text = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},CODECS=\"{codec}\"\n{variant}?session={session}{token}\n"
    );
    playlist_response(text, headers, "private, no-store", None)
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

/// Segment length in ticks.
pub fn segment_ticks(config: &HlsConfig) -> u64 {
    ticks_of(Duration::from_millis(config.segment_ms.get()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::IF_NONE_MATCH;

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
        let target = HlsConfig::default().target_duration();
        assert_eq!(target, Duration::from_secs(10));
    }
}
