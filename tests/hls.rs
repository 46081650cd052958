//! HLS from the station clock, over TCP: playlists, segments, timestamps, caching headers, and
//! real decoders (ffmpeg, ffprobe) across segment boundaries and loop points.

use std::io::Read;
use std::time::Duration;

use onair_tests::{
    ffmpeg_decode, ffprobe_packets, fixture, split_hls_segment, walk, HttpResponse, TestServer,
};

const SECOND: Duration = Duration::from_secs(1);
/// A 2 s station and 1 s segments: every other segment crosses the loop point.
const CONFIG: &str = "[hls]\nsegment_ms = 1000\nwindow_s = 10\n";

async fn short_station() -> TestServer {
    let file = std::fs::read(fixture("r44100_2ch_128k.aac")).expect("fixture");
    TestServer::start(&[("radio.aac", &file)], CONFIG).await
}

async fn fetch(server: &TestServer, path: &str, extra: &str) -> HttpResponse {
    let mut response = HttpResponse::send(
        server.addr,
        &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\r\n"),
    )
    .await;
    response.read_full(5 * SECOND).await;
    response
}

/// The segments a playlist lists: `(k, uri, seconds)`, and its media sequence.
fn listed(playlist: &str) -> (u64, Vec<(u64, String, f64)>) {
    let mut sequence = 0;
    let mut out = Vec::new();
    let mut duration = None;
    for line in playlist.lines() {
        if let Some(s) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            sequence = s.parse().expect("sequence");
        } else if let Some(d) = line.strip_prefix("#EXTINF:") {
            duration = Some(d.trim_end_matches(',').parse().expect("duration"));
        } else if !line.starts_with('#') && !line.is_empty() {
            let k = line
                .rsplit('/')
                .next()
                .and_then(|f| f.strip_suffix(".aac"))
                .and_then(|k| k.parse().ok())
                .expect("k.aac");
            out.push((k, line.to_string(), duration.take().expect("EXTINF first")));
        }
    }
    (sequence, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playlists_and_segments_tile_the_clock_with_exact_timestamps() {
    let server = short_station().await;
    let playlist = fetch(&server, "/radio.m3u8?session=1", "").await;
    assert_eq!(playlist.status(), 200);
    assert_eq!(
        playlist.header("content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    assert_eq!(playlist.header("cache-control"), Some("public, max-age=1"));
    assert!(playlist.header("last-modified").is_some());
    let text = String::from_utf8(playlist.body.clone()).expect("utf-8");
    assert!(
        text.starts_with("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"),
        "{text}"
    );
    let (sequence, segments) = listed(&text);
    // 10 s of 1 s segments; the sequence number is the first segment's index on the clock.
    assert_eq!(segments.len(), 10, "{text}");
    assert_eq!(segments[0].0, sequence);
    assert_eq!(
        text.matches("#EXT-X-PROGRAM-DATE-TIME:").count(),
        segments.len(),
        "a date on every segment"
    );
    assert!(
        !text.contains("#EXT-X-DISCONTINUITY\n"),
        "loop points are seamless"
    );
    assert!(text.contains("#EXT-X-DISCONTINUITY-SEQUENCE:0\n"));
    let mut previous: Option<(u64, u64)> = None;
    for (k, uri, seconds) in &segments {
        let segment = fetch(&server, &format!("/{uri}"), "").await;
        assert_eq!(segment.status(), 200, "{uri}");
        assert_eq!(segment.header("content-type"), Some("audio/aac"));
        assert!(segment
            .header("cache-control")
            .is_some_and(|c| c.contains("immutable")));
        assert!(segment.header("etag").is_some_and(|e| e.starts_with('"')));
        let (pts, frames) = split_hls_segment(&segment.body);
        let w = walk(frames);
        assert_eq!(w.tail, 0, "whole frames");
        assert!(
            (w.audio.as_secs_f64() - seconds).abs() < 1e-4,
            "EXTINF of {k}"
        );
        if let Some((prev_pts, prev_ticks)) = previous {
            // Each timestamp is the previous one plus its duration on the 90 kHz clock, to the
            // tick (rounding of the exact count, never a drifting sum), modulo 2^33.
            let expected = (prev_pts + prev_ticks) % (1 << 33);
            assert!(
                pts.abs_diff(expected) <= 1,
                "segment {k}: {pts} after {prev_pts}"
            );
        }
        let ticks = (w.audio.as_nanos() * 90_000 / 1_000_000_000) as u64;
        previous = Some((pts, ticks));
    }
    // Just removed from the playlist: still served for a playlist's duration (RFC 8216 6.2.2),
    // for a player that read the playlist a moment ago.
    let removed = fetch(&server, &format!("/radio/{}.aac", sequence - 5), "").await;
    assert_eq!(removed.status(), 200);
    assert_eq!(walk(split_hls_segment(&removed.body).1).tail, 0);
    // Long gone, or not complete yet: 404.
    let last = segments[segments.len() - 1].0;
    for k in [sequence - 50, last + 3] {
        let missing = fetch(&server, &format!("/radio/{k}.aac"), "").await;
        assert_eq!(missing.status(), 404, "segment {k}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_requests_gzip_head_and_the_multivariant_playlist() {
    let server = short_station().await;
    let (_, segments) = listed(&String::from_utf8_lossy(
        &fetch(&server, "/radio.m3u8?session=1", "").await.body,
    ));
    let uri = format!("/{}", segments[0].1);
    let segment = fetch(&server, &uri, "").await;
    let etag = segment.header("etag").expect("etag").to_string();
    let again = fetch(&server, &uri, &format!("If-None-Match: {etag}\r\n")).await;
    assert_eq!(again.status(), 304);
    assert!(again.body.is_empty());
    let head = HttpResponse::send(
        server.addr,
        &format!("HEAD {uri} HTTP/1.1\r\nHost: t\r\n\r\n"),
    )
    .await;
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.header("content-length"),
        Some(segment.body.len().to_string().as_str())
    );
    // Playlists gzip-encoded for clients that accept it.
    let zipped = fetch(
        &server,
        "/radio.m3u8?session=1",
        "Accept-Encoding: gzip, deflate\r\n",
    )
    .await;
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&zipped.body[..])
        .read_to_string(&mut text)
        .expect("gzip");
    assert!(text.starts_with("#EXTM3U"), "{text}");
    let main = fetch(&server, "/radio/index.m3u8", "").await;
    let main = String::from_utf8_lossy(&main.body).to_string();
    assert!(main.contains("CODECS=\"mp4a.40.2\""), "{main}");
    assert!(
        main.contains("BANDWIDTH=") && main.contains("\n../radio.m3u8?session="),
        "{main}"
    );
    // HLS clients are counted.
    let mut status = fetch(&server, "/status.json", "").await;
    status.read_full(SECOND).await;
    let status: serde_json::Value = serde_json::from_slice(&status.body).expect("json");
    assert_eq!(status["stations"][0]["hls_listeners"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_started_apart_serve_identical_segments() {
    let a = short_station().await;
    tokio::time::sleep(SECOND).await;
    let b = short_station().await;
    let (_, in_a) = listed(&String::from_utf8_lossy(
        &fetch(&a, "/radio.m3u8?session=1", "").await.body,
    ));
    let (_, in_b) = listed(&String::from_utf8_lossy(
        &fetch(&b, "/radio.m3u8?session=1", "").await.body,
    ));
    let common: Vec<_> = in_a.iter().filter(|s| in_b.contains(s)).collect();
    assert!(common.len() >= 8, "{in_a:?} vs {in_b:?}");
    for (_, uri, _) in common.iter().take(4) {
        let from_a = fetch(&a, &format!("/{uri}"), "").await;
        let from_b = fetch(&b, &format!("/{uri}"), "").await;
        assert_eq!(from_a.body, from_b.body, "{uri}");
        assert_eq!(from_a.header("etag"), from_b.header("etag"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_plays_hls_across_segments_and_loop_points() {
    // Apple's 6 s segments (the default) of a 2 s station: three loop points in each. (With
    // segments shorter than ffmpeg's probe, ffmpeg dates its first segment from the next one's
    // tag, a quirk of its own; 6 s segments never meet it.)
    let file = std::fs::read(fixture("r44100_2ch_128k.aac")).expect("fixture");
    let server = TestServer::start(&[("radio.aac", &file)], "").await;
    let url = format!("http://{}/radio.m3u8", server.addr);
    if let Some(errors) = ffmpeg_decode(&url, 5).await {
        assert!(errors.trim().is_empty(), "ffmpeg reported:\n{errors}");
    }
    // Packet timestamps advance continuously: across segment boundaries and the 2 s loop point,
    // no jump larger than one frame.
    if let Some((packets, errors)) = ffprobe_packets(&url, 16).await {
        assert!(errors.trim().is_empty(), "ffprobe reported:\n{errors}");
        assert!(packets.len() > 600, "{} packets", packets.len());
        let frame = 1024.0 / 44_100.0;
        for pair in packets.windows(2) {
            let ((pts, duration), (next, _)) = (pair[0], pair[1]);
            assert!(
                (next - pts - duration).abs() < frame / 2.0,
                "a jump from {pts} to {next}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_of_another_format_is_a_discontinuity_on_a_segment_boundary() {
    let server = short_station().await;
    // 44.1 kHz replaced by 48 kHz, renamed over the station.
    let new = std::fs::read(fixture("r48000_2ch_320k.aac")).expect("fixture");
    let temp = server.stations().join(".radio.aac.tmp");
    std::fs::write(&temp, new).expect("write");
    std::fs::rename(&temp, server.stations().join("radio.aac")).expect("rename over");
    // The switch lands on a segment boundary 2 s or more on; then a segment completes.
    let mut text = String::new();
    for _ in 0..100 {
        text = String::from_utf8_lossy(&fetch(&server, "/radio.m3u8?session=1", "").await.body)
            .to_string();
        if text.contains("#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text.matches("#EXT-X-DISCONTINUITY\n").count(), 1, "{text}");
    let (_, segments) = listed(&text);
    let marked = text
        .split("#EXT-X-DISCONTINUITY\n")
        .nth(1)
        .and_then(|after| listed(&format!("#EXTM3U\n{after}")).1.first().cloned())
        .expect("a segment after the tag");
    let rate_of = |bytes: &[u8]| {
        let (_, frames) = split_hls_segment(bytes);
        onair_core::AdtsHeader::parse(frames)
            .expect("frame")
            .sample_rate()
    };
    let position = segments.iter().position(|s| *s == marked).expect("listed");
    assert!(position > 0, "{text}");
    let before = fetch(&server, &format!("/{}", segments[position - 1].1), "").await;
    let after = fetch(&server, &format!("/{}", marked.1), "").await;
    assert_eq!(rate_of(&before.body), 44_100);
    assert_eq!(rate_of(&after.body), 48_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_change_of_segment_ms_numbers_segments_anew() {
    let server = short_station().await;
    // Warm the caches with 1 s segments.
    let (_, before) = listed(&String::from_utf8_lossy(
        &fetch(&server, "/radio.m3u8?session=1", "").await.body,
    ));
    let _ = fetch(&server, &format!("/{}", before[before.len() - 1].1), "").await;
    server.edit_config("[hls]\nsegment_ms = 2000\nwindow_s = 12\n");
    let mut after = Vec::new();
    for _ in 0..50 {
        let text = String::from_utf8_lossy(&fetch(&server, "/radio.m3u8?session=1", "").await.body)
            .to_string();
        after = listed(&text).1;
        if after.iter().all(|(_, _, seconds)| *seconds > 1.9) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        after.iter().all(|(_, _, seconds)| *seconds > 1.9),
        "{after:?}"
    );
    // Every listed segment is what its EXTINF says, whatever was cached for 1 s segments.
    for (_, uri, seconds) in after.iter().rev().take(3) {
        let segment = fetch(&server, &format!("/{uri}"), "").await;
        let (_, frames) = split_hls_segment(&segment.body);
        assert!(
            (walk(frames).audio.as_secs_f64() - seconds).abs() < 1e-4,
            "{uri}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_overwritten_in_place_never_changes_a_published_segment() {
    let server = short_station().await;
    let playlist = fetch(&server, "/radio.m3u8?session=1", "").await;
    let (_, segments) = listed(&String::from_utf8_lossy(&playlist.body));
    let mut served = Vec::new();
    for (_, uri, _) in &segments {
        let segment = fetch(&server, &format!("/{uri}"), "").await;
        assert_eq!(segment.status(), 200, "{uri}");
        let etag = segment.header("etag").map(str::to_string);
        served.push((uri.clone(), segment.body.clone(), etag));
    }
    // `cp other.aac radio.aac`: the same file (inode), rewritten in place with other audio,
    // which the station's open file now reads.
    let other = std::fs::read(fixture("station-jazz.aac")).expect("fixture");
    std::fs::write(server.stations().join("radio.aac"), &other).expect("overwrite in place");
    // Once the new version is seen and its switch scheduled, the old entry's open file reads
    // the new audio.
    let station = server.registry.get("radio").expect("on air");
    onair_tests::eventually("the new version seen", 5 * SECOND, || {
        station.timeline().entries().len() > 1
    })
    .await;
    // Every segment served is still listed or within its grace: the same bytes, the same ETag.
    for (uri, body, etag) in &served {
        let again = fetch(&server, &format!("/{uri}"), "").await;
        assert_eq!(again.status(), 200, "{uri}");
        assert!(again.body == *body, "{uri} changed after it was published");
        assert_eq!(again.header("etag").map(str::to_string), *etag, "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_clock_stepped_back_never_takes_the_media_sequence_back() {
    let server = short_station().await;
    let playlist = |server: &TestServer| {
        let server_addr = server.addr;
        async move {
            let mut response = HttpResponse::send(
                server_addr,
                "GET /radio.m3u8?session=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            )
            .await;
            response.read_full(5 * SECOND).await;
            listed(&String::from_utf8_lossy(&response.body))
        }
    };
    let (before, _) = playlist(&server).await;
    // NTP steps the clock back 5 s: the playlist stands (RFC 8216: the media sequence never
    // decreases), and every segment it lists still answers.
    server.clock.step_back(5 * SECOND);
    let (after, segments) = playlist(&server).await;
    assert!(after >= before, "{after} after {before}");
    for (_, uri, _) in &segments {
        assert_eq!(
            fetch(&server, &format!("/{uri}"), "").await.status(),
            200,
            "{uri}"
        );
    }
    // Stepped 20 s ahead, it follows at once.
    server.clock.advance(20 * SECOND);
    let (ahead, _) = playlist(&server).await;
    assert!(ahead >= before + 14, "{ahead} after {before}");
}
