//! A real server on 127.0.0.1:0, listened to over TCP: what every player relies on.

use std::time::Duration;

use onair_core::testing::{adts_stream, FrameSpec};
use onair_tests::{
    ffmpeg_decode, fixture, sample, shipped_station, walk, HttpResponse, TestServer,
};

const SECOND: Duration = Duration::from_secs(1);

async fn jazz_server(extra: &str) -> TestServer {
    TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], extra).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_is_close_delimited_audio_from_a_frame_boundary() {
    let server = jazz_server("").await;
    for version in ["HTTP/1.0", "HTTP/1.1"] {
        let mut response = HttpResponse::send(
            server.addr,
            &format!("GET /jazz {version}\r\nHost: test\r\n\r\n"),
        )
        .await;
        // Icecast-style: an HTTP/1.0 response, no length, no chunked encoding, for every client.
        assert_eq!(response.status_line, "HTTP/1.0 200 OK", "{version}");
        assert_eq!(response.header("content-type"), Some("audio/aac"));
        assert_eq!(response.header("cache-control"), Some("no-cache, no-store"));
        assert_eq!(response.header("content-length"), None, "{version}");
        assert_eq!(response.header("transfer-encoding"), None, "{version}");
        response.read_for(2 * SECOND).await;
        assert_eq!(
            &response.body[..2],
            &[0xFF, 0xF1],
            "{version}: sync word at byte 0"
        );
        let w = walk(&response.body);
        assert!(w.frames > 100, "{version}: {w:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_byte_parses_as_consecutive_frames() {
    let server = jazz_server("").await;
    let mut response = server.get("/jazz").await;
    response.read_for(3 * SECOND).await;
    let w = walk(&response.body);
    // Burst (4 s) plus about 3 s of live audio, all whole frames but for the read's cut.
    assert!(w.audio > 6 * SECOND, "{w:?}");
    assert!(w.tail < 2048, "{w:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_listener_gets_the_burst_at_once() {
    let server = jazz_server("").await;
    let mut response = server.get("/jazz").await;
    response.read_for(Duration::from_millis(500)).await;
    let w = walk(&response.body);
    // Default burst_ms = 4000; at least 2 s of audio must arrive within 500 ms.
    assert!(
        w.audio >= 4 * SECOND,
        "only {:?} of audio in the first 500 ms",
        w.audio
    );

    let server = jazz_server("[pacing]\nburst_ms = 1000\n").await;
    let mut response = server.get("/jazz").await;
    response.read_for(Duration::from_millis(300)).await;
    let w = walk(&response.body);
    assert!(
        w.audio >= SECOND && w.audio < 2 * SECOND,
        "burst_ms = 1000 gave {:?}",
        w.audio
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_listeners_share_one_broadcast() {
    let server = jazz_server("").await;
    let mut a = server.get("/jazz").await;
    a.read_for(2 * SECOND).await;
    let mut b = server.get("/jazz").await;
    b.read_for(SECOND).await;
    a.read_for(2 * SECOND).await;
    // B's first bytes (its burst) are bytes A received too, at a frame boundary of A's stream.
    let probe = &b.body[..4096];
    let at = a
        .body
        .windows(probe.len())
        .position(|w| w == probe)
        .expect("B's stream is part of A's");
    let _ = walk(&a.body[at..]);
    // And from there on the two streams are identical.
    let common = (a.body.len() - at).min(b.body.len());
    assert!(
        common > 60_000,
        "{common} bytes in common (about 4 s of audio)"
    );
    assert_eq!(a.body[at..at + common], b.body[..common]);
    assert_eq!(server.listeners("jazz"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_gets_the_headers_and_is_not_a_listener() {
    let server = jazz_server("").await;
    let mut response =
        HttpResponse::send(server.addr, "HEAD /jazz HTTP/1.1\r\nHost: test\r\n\r\n").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-type"), Some("audio/aac"));
    assert_eq!(response.header("content-length"), None);
    assert_eq!(server.listeners("jazz"), 0);
    response.read_to_end(2 * SECOND).await;
    assert!(
        response.body.is_empty(),
        "{} body bytes",
        response.body.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aac_suffix_serves_the_same_stream() {
    let server = jazz_server("").await;
    let mut response = server.get("/jazz.aac").await;
    assert_eq!(response.status(), 200);
    response.read_for(Duration::from_millis(300)).await;
    assert!(walk(&response.body).frames > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_string_still_tunes_in() {
    let server = jazz_server("").await;
    let mut response = server.get("/jazz?t=1700000000").await;
    assert_eq!(response.status_line, "HTTP/1.0 200 OK");
    response.read_for(Duration::from_millis(300)).await;
    assert!(walk(&response.body).frames > 0);
    assert_eq!(server.listeners("jazz"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_and_methods() {
    let server = jazz_server("").await;
    let mut response = server.get("/rock").await;
    assert_eq!(response.status(), 404);
    response.read_for(Duration::from_millis(200)).await;
    let text = String::from_utf8_lossy(&response.body);
    assert!(text.contains("/jazz"), "404 lists the stations: {text}");

    for path in [
        "/../config/config.toml",
        "/jazz/",
        "//jazz",
        "/%6Aazz",
        "/jazz/../jazz",
    ] {
        assert_eq!(server.get(path).await.status(), 404, "{path}");
    }

    // PUT is a live source's (Icecast's protocol): refused where ingest is not configured.
    let response = HttpResponse::send(
        server.addr,
        "PUT /jazz HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(response.status(), 403, "PUT");
    for method in ["POST", "DELETE", "PATCH"] {
        let response = HttpResponse::send(
            server.addr,
            &format!("{method} /jazz HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n"),
        )
        .await;
        assert_eq!(response.status(), 405, "{method}");
        assert_eq!(
            response.header("allow"),
            Some("GET, HEAD, OPTIONS"),
            "{method}"
        );
    }

    let mut index = server.get("/").await;
    assert_eq!(index.status(), 200);
    index.read_for(Duration::from_millis(200)).await;
    let page = String::from_utf8_lossy(&index.body);
    assert!(
        page.contains("<!doctype html>") && page.contains("/status.json"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_file_is_rejected_and_the_good_one_plays() {
    let random: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let server = TestServer::start(
        &[
            ("good.aac", &sample("jazz.aac")),
            ("noise.aac", &random),
            ("empty.aac", b""),
            (
                "movie.aac",
                b"\0\0\0\x20ftypM4A \0\0\0\0M4A mp42isom\0\0\0\0",
            ),
        ],
        "",
    )
    .await;
    for bad in ["/noise", "/empty", "/movie"] {
        assert_eq!(server.get(bad).await.status(), 404, "{bad}");
    }
    let mut good = server.get("/good").await;
    assert_eq!(good.status(), 200);
    good.read_for(Duration::from_millis(300)).await;
    assert!(walk(&good.body).frames > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_removes_the_listener() {
    let server = jazz_server("").await;
    let mut response = server.get("/jazz").await;
    response.read_for(Duration::from_millis(200)).await;
    server.wait_listeners("jazz", 1, SECOND).await;
    drop(response);
    // A reset is noticed at once; a clean close (which TCP cannot tell from a half-close) by
    // the writes that follow it: within two chunks (500 ms each), plus slack for a busy host.
    server.wait_listeners("jazz", 0, 3 * SECOND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams_on_a_frame_boundary() {
    let server = jazz_server("").await;
    let mut a = server.get("/jazz").await;
    let mut b = server.get("/jazz").await;
    a.read_for(Duration::from_millis(500)).await;
    b.read_for(Duration::from_millis(500)).await;
    let took = server.shutdown().await;
    assert!(took < 5 * SECOND, "shutdown took {took:?}");
    for listener in [&mut a, &mut b] {
        listener.read_to_end(2 * SECOND).await;
        let w = walk(&listener.body);
        assert_eq!(w.tail, 0, "the stream ends after a whole frame");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_never_finishes_its_headers_is_closed() {
    // Lines before the first table go into [server].
    let dir_server = jazz_server("header_timeout_s = 1\n").await;
    let mut stream = tokio::net::TcpStream::connect(dir_server.addr)
        .await
        .expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /jazz HTTP/1.1\r\nHost: te")
        .await
        .expect("send");
    let mut buf = [0u8; 1024];
    // Closed (maybe with a 408) after header_timeout_s, plus slack.
    let closed = tokio::time::timeout(5 * SECOND, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a slowloris connection was not closed");
    assert_eq!(dir_server.listeners("jazz"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_whose_socket_accepts_nothing_is_dropped() {
    // A loud synthetic station (about 750 kB/s) with a 20 s burst floods any socket buffer at
    // once; the listener then reads nothing and must be dropped after client_timeout_s.
    let spec = FrameSpec {
        sample_rate_index: 0, // 96 kHz: 10.7 ms per frame
        payload_len: 8000,
        ..FrameSpec::default()
    };
    let loud = adts_stream(&spec, 1000);
    let server = TestServer::start(
        &[("loud.aac", &loud)],
        "[pacing]\nburst_ms = 20000\nqueue_ms = 60000\nclient_timeout_s = 1\n",
    )
    .await;
    let stuck = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    use tokio::io::AsyncWriteExt;
    let mut stuck = stuck;
    stuck
        .write_all(b"GET /loud HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .expect("send");
    server.wait_listeners("loud", 1, 2 * SECOND).await;
    // Meanwhile a reading listener is served normally.
    let mut steady = server.get("/loud").await;
    steady.read_for(SECOND).await;
    server.wait_listeners("loud", 1, 10 * SECOND).await;
    steady.read_for(SECOND).await;
    assert!(!steady.eof);
    drop(stuck);
}

/// About 128 kb/s of synthetic 44.1 kHz frames (372 bytes every 23.2 ms), `seconds` long.
fn station_128k(seconds: usize) -> Vec<u8> {
    adts_stream(
        &FrameSpec {
            payload_len: 365,
            ..FrameSpec::default()
        },
        seconds * 44_100 / 1024,
    )
}

const LISTEN_SMALL: &str = "GET /radio HTTP/1.1\r\nHost: test\r\nUser-Agent: stalls\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_never_reads_is_dropped_after_client_timeout_s() {
    // README: "one whose socket accepts nothing for client_timeout_s is disconnected". The
    // kernel must not take tens of seconds of audio for a client that reads nothing.
    let server = TestServer::start(
        &[("radio.aac", &station_128k(60))],
        "[pacing]\nchunk_ms = 250\nburst_ms = 4000\nclient_timeout_s = 2\n",
    )
    .await;
    let started = std::time::Instant::now();
    let stuck = HttpResponse::send_with_receive_buffer(server.addr, LISTEN_SMALL, 4096).await;
    assert_eq!(stuck.status(), 200);
    server.wait_listeners("radio", 0, 10 * SECOND).await;
    let dropped_after = started.elapsed();
    eprintln!("a listener that never reads was dropped after {dropped_after:?}");
    assert!(
        dropped_after >= 2 * SECOND,
        "dropped early: {dropped_after:?}"
    );
    // client_timeout_s plus one chunk, and scheduling slack.
    assert!(
        dropped_after <= Duration::from_millis(2000 + 250 + 750),
        "dropped after {dropped_after:?}"
    );
    let stats = server.registry.get("radio").expect("on air");
    assert_eq!(
        stats
            .hub
            .stats()
            .skips
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    drop(stuck);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_paused_past_queue_ms_resumes_at_the_live_edge() {
    // README: "one that falls queue_ms behind is skipped forward to the live edge (whole
    // chunks)". Paused 4 s with queue_ms = 1 s, it must not get the whole backlog afterwards.
    let server = TestServer::start(
        &[("radio.aac", &station_128k(60))],
        "[pacing]\nchunk_ms = 100\nburst_ms = 1000\nqueue_ms = 1000\nclient_timeout_s = 30\n",
    )
    .await;
    let started = std::time::Instant::now();
    let mut listener =
        HttpResponse::send_with_receive_buffer(server.addr, LISTEN_SMALL, 4096).await;
    listener.read_for(SECOND).await;
    // Paused: reads nothing for 4 s.
    tokio::time::sleep(4 * SECOND).await;
    listener.read_for(2 * SECOND).await;
    let elapsed = started.elapsed();
    let w = walk(&listener.body);
    assert_eq!(w.tail, 0, "whole frames");
    let hub = &server.registry.get("radio").expect("on air").hub;
    let skips = hub.stats().skips.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("{:?} of audio in {elapsed:?}, {skips} skip(s)", w.audio);
    assert!(skips >= 1, "the paused listener was never skipped forward");
    // Without the skip it would have all of burst + elapsed; with it, at least the 3 s beyond
    // queue_ms are gone (less what the kernel buffers held: a chunk or two).
    let whole = Duration::from_secs(1) + elapsed;
    assert!(
        w.audio + Duration::from_millis(2000) < whole,
        "{:?} of audio in {elapsed:?}: the backlog was delivered",
        w.audio
    );
    assert!(!listener.eof);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_decodes_the_sample_stations_without_errors() {
    // The stations the README's quick start serves, as shipped.
    let server = TestServer::start(
        &[
            ("jazz.aac", &shipped_station("jazz.aac")),
            ("ambient.aac", &shipped_station("ambient.aac")),
        ],
        "",
    )
    .await;
    for station in ["jazz", "ambient"] {
        if let Some(errors) = ffmpeg_decode(&format!("http://{}/{station}", server.addr), 5).await {
            assert!(
                errors.trim().is_empty(),
                "{station}: ffmpeg reported:\n{errors}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_rate_and_channel_layout_plays_cleanly() {
    let names: Vec<String> = std::fs::read_dir(fixture(""))
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('r') && n.ends_with(".aac"))
        .collect();
    assert!(names.len() >= 12, "fixtures: {names:?}");
    let files: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| (n.clone(), std::fs::read(fixture(n)).expect("fixture")))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let server = TestServer::start(&refs, "").await;
    for name in &names {
        // r<rate>_<channels>ch_<kbps>k.aac
        let station = name.trim_end_matches(".aac");
        let mut parts = station.trim_start_matches('r').split('_');
        let rate: u32 = parts
            .next()
            .and_then(|r| r.parse().ok())
            .expect("rate in name");
        let channels: u8 = parts
            .next()
            .and_then(|c| c.trim_end_matches("ch").parse().ok())
            .expect("channels");
        let info = server.registry.get(station).expect("on air").info();
        assert_eq!(
            (info.sample_rate(), info.channels()),
            (rate, channels),
            "{name}"
        );
        if let Some(errors) = ffmpeg_decode(&format!("http://{}/{station}", server.addr), 3).await {
            assert!(
                errors.trim().is_empty(),
                "{name}: ffmpeg reported:\n{errors}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagged_and_truncated_files_play_cleanly() {
    let jazz = sample("jazz.aac");
    // An ID3v2 tag in front, an ID3v1 tag behind, and the file cut mid-frame before the tag.
    let mut tagged = b"ID3\x04\x00\x00\x00\x00\x01\x00".to_vec();
    tagged.extend(std::iter::repeat_n(0u8, 128));
    tagged.extend_from_slice(&jazz[..jazz.len() / 2 + 101]);
    let mut v1 = b"TAG".to_vec();
    v1.resize(128, b' ');
    tagged.extend_from_slice(&v1);
    let server = TestServer::start(&[("tagged.aac", &tagged)], "").await;
    let info = server.registry.get("tagged").expect("on air").info();
    assert!(
        info.damage.truncated_at.is_some(),
        "the cut frame is noticed"
    );
    assert_eq!(info.range.start, 138);
    let mut response = server.get("/tagged").await;
    response.read_for(Duration::from_millis(300)).await;
    assert_eq!(&response.body[..2], &[0xFF, 0xF1]);
    if let Some(errors) = ffmpeg_decode(&format!("http://{}/tagged", server.addr), 5).await {
        assert!(errors.trim().is_empty(), "ffmpeg reported:\n{errors}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_files_with_one_name_keep_the_first() {
    let spec = FrameSpec::default();
    let first = adts_stream(
        &FrameSpec {
            fill: 0x10,
            ..spec.clone()
        },
        100,
    );
    let second = adts_stream(&FrameSpec { fill: 0x20, ..spec }, 100);
    // "Jazz FM.aac" and "jazz-fm.aac" both map to /jazz-fm; "Jazz FM.aac" sorts first.
    let server = TestServer::start(&[("Jazz FM.aac", &first), ("jazz-fm.aac", &second)], "").await;
    let station = server.registry.get("jazz-fm").expect("on air");
    assert!(
        station.info().path.ends_with("Jazz FM.aac"),
        "{:?}",
        station.info().path
    );
    assert_eq!(server.registry.list().len(), 1);
}
