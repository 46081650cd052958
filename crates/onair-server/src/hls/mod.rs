//! HLS (RFC 8216, packed audio, section 3.4) beside the ICY stream, from the same station clock.
//!
//! - `GET /<name>.m3u8`: a live media playlist of the last `[hls] window_s` of complete segments.
//! - `GET /<name>/index.m3u8`: a multivariant playlist naming the codec and bandwidth.
//! - `GET /<name>/<k>.aac` (`.mp3` for an MP3 station): segment `k`: an ID3v2.4 tag (PRIV
//!   `com.apple.streaming.transportStreamTimestamp`, the 33-bit 90 kHz time of its first sample
//!   from the exact tick count; TIT2 and TPE1, the title and artist of the track it starts in),
//!   then whole ADTS or MPEG audio frames (RFC 8216 packed audio allows both).
//! - Opus and FLAC stations in fragmented MP4 (CMAF): `GET /<name>/init.mp4`, the
//!   initialization segment the playlist's `EXT-X-MAP` names, and `GET /<name>/<k>.m4s`, an
//!   `emsg` with the same ID3 tag (the title, timed), then `moof` and `mdat` with the frames, the
//!   fragment's time from the same tick count.
//!
//! Segments are cut from the station's timeline on demand, through its
//! [`SegmentWindow`](onair_core::SegmentWindow) (which also holds audio no file can give
//! again): no per-listener state, no store that grows. Every segment served is kept, as served,
//! while a playlist may list it (a window and RFC 8216's grace): a published segment never
//! changes, even when its file is overwritten in place.
//! Every replica with the same files and config serves the same bytes for the same `k`, so a
//! cache or CDN may fetch any segment from any replica. Responses carry the headers a cache needs:
//! segments are immutable with a strong `ETag`, playlists live for a second.
//!
//! - [`mux`]: the bytes of a segment: packed audio (ID3 PRIV, TIT2, TPE1, then frames), or a
//!   fragment of MP4.
//! - [`playlist`]: the media and multivariant playlists.
//! - this module: the HTTP answers, and the segments kept as served.

pub mod mux;
pub mod playlist;

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use http::{HeaderMap, Response, StatusCode};
use http_body::Body as _;
use onair_core::{Packed, SourceError, Timeline};

use crate::config::HlsConfig;
use crate::http::body::Body;
use crate::http::responses::{fnv1a, insert, matches_etag, not_modified, uncached_text};
use crate::http::route::{query_value, HlsRequest};
use crate::stations::audience::{Client, Limits, Refusal, SessionId};
use crate::stations::Station;
use playlist::{main_playlist, media_playlist, segment_ticks, Listed};

/// Fewest segments a playlist lists (Apple's authoring spec asks for six; RFC 8216 for three
/// target durations at least).
const MIN_WINDOW: u64 = 6;

/// How many segments a playlist lists.
fn window_count(config: &HlsConfig) -> u64 {
    (config.window_s.get() * 1000 / config.segment_ms.get()).max(MIN_WINDOW)
}

/// Who asks, and what the station's audience needs to admit it.
#[derive(Debug)]
pub struct Asking<'a> {
    /// The client (behind trusted proxies).
    pub client: Client,
    /// Its session: the one its playlist's URL names, or a new one.
    pub session: SessionId,
    /// The token its URLs carry (a closed station's).
    pub token: Option<&'a str>,
    /// Its request line.
    pub request: Arc<str>,
    /// The request's query string.
    pub query: Option<&'a str>,
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The listener limits in force (asked of a media playlist only: it may begin a session).
    pub limits: Limits,
}

/// What the audience said of an HLS request: the answer to send, or a refusal.
pub type Answered = Result<Response<Body>, Refusal>;

/// Answers an HLS request for `station`. A playlist asked for without a session (the station's
/// media playlist, or its multivariant playlist) is answered with a multivariant playlist naming
/// the media playlist with a new session; the media playlist with a session is that session
/// listening.
pub async fn respond(
    station: &Station,
    request: HlsRequest,
    asking: Asking<'_>,
    config: &HlsConfig,
) -> Answered {
    let codec = station.programme().first().codec();
    let Some(extension) = codec.segment_extension() else {
        return Ok(uncached_text(
            StatusCode::NOT_FOUND,
            format!(
                "no HLS for this station: HLS carries no {} (neither packed audio nor a sample entry players read); listen to /{}\n",
                codec.spec().name,
                station.name
            ),
        ));
    };
    let audience = station.audience();
    let headers = asking.headers;
    let timeline = station.timeline();
    let now = station.tick_now();
    let named = session_of(asking.query);
    let answered = match (request, named) {
        (HlsRequest::Main, _) | (HlsRequest::Playlist, None) => {
            audience.count_hls_request(true);
            // From the station's folder, or from beside it.
            let variant = match request {
                HlsRequest::Main => format!("../{}.m3u8", station.name),
                _ => format!("{}.m3u8", station.name),
            };
            Ok(main_playlist(
                station,
                &variant,
                asking.session,
                asking.token,
                headers,
            ))
        }
        (HlsRequest::Playlist, Some(session)) => {
            audience.count_hls_request(true);
            let listed = station
                .window
                .listing(&timeline, now, segment_ticks(config), window_count(config))
                .await
                .map(|window| {
                    let listed = Listed {
                        extension,
                        timeline: &timeline,
                        window: &window,
                        token: asking.token,
                    };
                    media_playlist(station, &listed, config, headers)
                });
            if let Ok(playlist) = &listed {
                let bytes = playlist.body().size_hint().exact().unwrap_or(0);
                let Asking {
                    client,
                    request,
                    limits,
                    ..
                } = asking;
                audience.hls_playlist(
                    session,
                    limits,
                    station.hub.listeners(),
                    || client,
                    || request,
                    bytes,
                    station.clock_now(),
                )?;
            }
            listed
        }
        (HlsRequest::Init, _) => {
            audience.count_hls_request(false);
            return Ok(init_segment(station, config, headers));
        }
        (HlsRequest::Segment(k, asked), _) => {
            audience.count_hls_request(false);
            // Only the name the playlist gives: the station's codec's extension.
            if asked != extension {
                return Ok(uncached_text(
                    StatusCode::NOT_FOUND,
                    "no such segment: the station's segments have another extension\n",
                ));
            }
            segment(station, &timeline, k, now, config, headers).await
        }
    };
    Ok(answered.unwrap_or_else(|error| {
        tracing::warn!(station = %station.name, %error, "cannot cut HLS audio");
        uncached_text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the station's audio cannot be read now\n",
        )
    }))
}

/// The session a playlist URL names (`?session=`), if any.
pub fn session_of(query: Option<&str>) -> Option<SessionId> {
    query_value(query, "session").and_then(SessionId::parse)
}

/// Segment `k`: kept ready, or cut from the window and packed.
async fn segment(
    station: &Station,
    timeline: &Timeline,
    k: u64,
    now: u64,
    config: &HlsConfig,
    headers: &HeaderMap,
) -> Result<Response<Body>, SourceError> {
    let window = &station.window;
    let length = segment_ticks(config);
    let ready = match window.ready(length, k) {
        Some(ready) => ready,
        None => {
            let listing = window
                .listing(timeline, now, length, window_count(config))
                .await?;
            let listed = listing.starts.len() as u64 - 1;
            let last = listing.first + listed - 1;
            // RFC 8216 6.2.2: a segment removed from the playlist stays available for its own
            // duration plus the playlist's (a player that read the playlist a moment ago).
            if k + listed + 1 < listing.first || k > last {
                return Ok(uncached_text(
                    StatusCode::NOT_FOUND,
                    "no such segment: outside the playlist's window\n",
                ));
            }
            // The listing holds the bounds of a listed segment already (cached): cut between
            // them.
            let (start, end) = match k.checked_sub(listing.first) {
                Some(i) => (listing.starts[i as usize], listing.starts[i as usize + 1]),
                None => (
                    window.start(timeline, k, length).await?,
                    window.start(timeline, k + 1, length).await?,
                ),
            };
            let cut = window.cut(timeline, start, end).await?;
            let (title, artist) = station.tag_fields(&cut.track);
            let bytes = match mux::fragmented(station) {
                Some(track) => mux::fragment(&track, k, &cut, &title, artist.as_deref()),
                None => mux::packed_audio(&cut, &title, artist.as_deref()),
            };
            window.keep_ready(
                length,
                k,
                listing.first.saturating_sub(listed + 1),
                Packed {
                    hash: fnv1a(&bytes),
                    bytes: Bytes::from(bytes),
                },
            )
        }
    };
    // Segments never change: a cache keeps them as long as any playlist can list them.
    let max_age = config.window_s.get() + 2 * config.segment_ms.get() / 1000;
    let cache = format!("public, max-age={max_age}, immutable");
    let etag = format!("\"{:016x}\"", ready.hash);
    if matches_etag(headers, &etag) {
        return Ok(not_modified(&etag, &cache));
    }
    let mut response = Response::new(Body::full(ready.bytes.clone()));
    let h = response.headers_mut();
    // Asked of the codec table: a segment kept ready is answered without building anything.
    let codec = station.programme().first().codec();
    let content_type = if codec.fragmented() {
        "audio/mp4"
    } else {
        codec.content_type()
    };
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CONTENT_LENGTH, HeaderValue::from(ready.bytes.len()));
    insert(h, CACHE_CONTROL, &cache);
    insert(h, ETAG, &etag);
    Ok(response)
}

/// The initialization segment of a station served in fragmented MP4 (404 for packed audio).
fn init_segment(station: &Station, config: &HlsConfig, headers: &HeaderMap) -> Response<Body> {
    let Some(track) = mux::fragmented(station) else {
        return uncached_text(
            StatusCode::NOT_FOUND,
            "no initialization segment: this station's HLS is packed audio\n",
        );
    };
    let bytes = track.init_segment();
    // It changes only with the station's format (a new playlist names it again).
    let max_age = config.window_s.get();
    let cache = format!("public, max-age={max_age}");
    let etag = format!("\"{:016x}\"", fnv1a(&bytes));
    if matches_etag(headers, &etag) {
        return not_modified(&etag, &cache);
    }
    let mut response = Response::new(Body::full(bytes.clone()));
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("audio/mp4"));
    h.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    insert(h, CACHE_CONTROL, &cache);
    insert(h, ETAG, &etag);
    response
}
