//! What players, browsers and operators expect: ICY metadata, CORS, Safari's range probe,
//! status pages, playlists, events, limits and metrics.

use std::time::Duration;

use onair_tests::{eventually, sample, walk, HttpResponse, TestServer};

const SECOND: Duration = Duration::from_secs(1);
const METAINT: usize = 16_000;

/// Splits an ICY stream into its audio and its metadata blocks: `(audio, blocks)`, each block
/// `Some(text)` or `None` for `L = 0`. Panics on a malformed block.
/// The stream's audio and its blocks' texts, in order.
fn strip_icy(bytes: &[u8]) -> (Vec<u8>, Vec<Option<String>>) {
    let (audio, blocks) = onair_tests::strip_icy(bytes);
    (audio, blocks.into_iter().map(|(_, text)| text).collect())
}

async fn icy_get(server: &TestServer, path: &str) -> HttpResponse {
    HttpResponse::send(
        server.addr,
        &format!("GET {path} HTTP/1.1\r\nHost: test\r\nIcy-MetaData: 1\r\n\r\n"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn icy_metadata_every_16000_bytes_byte_exact() {
    let server = TestServer::start(
        &[("jazz.aac", &sample("jazz.aac"))],
        "[stations.jazz]\ntitle = \"Blue Monk\"\ngenre = \"Jazz\"\n",
    )
    .await;
    let mut response = icy_get(&server, "/jazz").await;
    assert_eq!(response.header("icy-metaint"), Some("16000"));
    assert_eq!(response.header("icy-name"), Some("Blue Monk"));
    assert_eq!(response.header("icy-genre"), Some("Jazz"));
    assert_eq!(response.header("icy-pub"), Some("0"));
    assert_eq!(response.header("icy-sr"), Some("44100"));
    let kbps = server
        .registry
        .get("jazz")
        .expect("on air")
        .info()
        .bitrate_kbps();
    assert!((120..=136).contains(&kbps), "{kbps}");
    assert_eq!(response.header("icy-br"), Some(kbps.to_string().as_str()));
    assert_eq!(
        response.header("ice-audio-info"),
        Some(format!("samplerate=44100;channels=2;bitrate={kbps}").as_str())
    );
    // The 4 s burst is about 64 kB: four blocks at once.
    response
        .read_at_least(4 * (METAINT + 33) + 100, 3 * SECOND)
        .await;
    let first = &response.body;
    // Byte 16000 is the first block's length byte: "StreamTitle='Blue Monk';" is 24 bytes.
    assert_eq!(first[METAINT], 2);
    assert_eq!(
        &first[METAINT + 1..METAINT + 25],
        b"StreamTitle='Blue Monk';"
    );
    assert!(first[METAINT + 25..METAINT + 33].iter().all(|&b| b == 0));
    // The next block, 16000 audio bytes later, says "unchanged".
    assert_eq!(first[METAINT + 33 + METAINT], 0);
    let (audio, blocks) = strip_icy(first);
    assert_eq!(blocks[0].as_deref(), Some("StreamTitle='Blue Monk';"));
    assert!(blocks[1..].iter().all(Option::is_none), "{blocks:?}");
    // With the blocks removed, the audio is clean ADTS from byte 0.
    assert_eq!(&audio[..2], &[0xFF, 0xF1]);
    assert!(walk(&audio).frames > 100);

    // A title change reaches the listener at its next block.
    let config = "[stations.jazz]\ntitle = \"Round Midnight\"\ngenre = \"Jazz\"\n";
    server.edit_config(config);
    eventually("new title in registry", SECOND, || {
        server
            .registry
            .get("jazz")
            .is_some_and(|s| s.meta().title == "Round Midnight")
    })
    .await;
    let before = response.body.len();
    response.read_for(3 * SECOND).await;
    let (audio, blocks) = strip_icy(&response.body);
    let titles: Vec<&str> = blocks.iter().flatten().map(String::as_str).collect();
    assert_eq!(
        titles,
        ["StreamTitle='Blue Monk';", "StreamTitle='Round Midnight';"]
    );
    assert!(response.body.len() > before);
    assert!(walk(&audio).frames > 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_metadata_without_the_header() {
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], "").await;
    let mut response = server.get("/jazz").await;
    assert_eq!(response.header("icy-metaint"), None);
    response.read_at_least(3 * METAINT, 3 * SECOND).await;
    // Every byte is audio: the frame chain never breaks where a block would be.
    let w = walk(&response.body);
    assert!(w.tail < 2048, "{w:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_title_comes_from_config_then_id3_then_the_name() {
    let jazz = sample("jazz.aac");
    // An ID3v2.3 tag with a TIT2 frame.
    let text = b"\x03Tagged Tune";
    let mut frame = b"TIT2".to_vec();
    frame.extend((text.len() as u32).to_be_bytes());
    frame.extend([0, 0]);
    frame.extend(text);
    let mut tagged = b"ID3\x03\x00\x00\x00\x00\x00".to_vec();
    tagged.push(frame.len() as u8);
    tagged.extend(&frame);
    tagged.extend(&jazz);
    let server = TestServer::start(&[("tagged.aac", &tagged), ("plain.aac", &jazz)], "").await;
    let mut response = icy_get(&server, "/tagged").await;
    assert_eq!(response.header("icy-name"), Some("Tagged Tune"));
    response.read_at_least(METAINT + 64, 3 * SECOND).await;
    assert_eq!(
        strip_icy(&response.body).1[0].as_deref(),
        Some("StreamTitle='Tagged Tune';")
    );
    let plain = icy_get(&server, "/plain").await;
    assert_eq!(plain.header("icy-name"), Some("plain"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_and_headers() {
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], "").await;
    let response = HttpResponse::send(
        server.addr,
        "OPTIONS /jazz HTTP/1.1\r\nHost: test\r\nOrigin: https://player.example\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: icy-metadata, range\r\n\r\n",
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    let allowed = response
        .header("access-control-allow-headers")
        .unwrap_or_default();
    assert!(
        allowed.contains("Icy-MetaData") && allowed.contains("Range"),
        "{allowed}"
    );
    let exposed = response
        .header("access-control-expose-headers")
        .unwrap_or_default();
    assert!(
        exposed.contains("icy-metaint") && exposed.contains("icy-name"),
        "{exposed}"
    );
    for path in ["/jazz", "/status.json", "/jazz.m3u", "/status-json.xsl"] {
        let response = server.get(path).await;
        assert_eq!(
            response.header("access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
    }
    let stream = icy_get(&server, "/jazz").await;
    let exposed = stream
        .header("access-control-expose-headers")
        .unwrap_or_default();
    assert!(exposed.contains("icy-metaint"), "{exposed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safaris_range_probe_gets_exactly_those_bytes() {
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], "").await;
    let mut probe = HttpResponse::send(
        server.addr,
        "GET /jazz HTTP/1.1\r\nHost: test\r\nRange: bytes=0-1\r\n\r\n",
    )
    .await;
    assert_eq!(probe.status(), 206);
    assert_eq!(probe.header("content-range"), Some("bytes 0-1/*"));
    assert_eq!(probe.header("content-length"), Some("2"));
    probe.read_for(Duration::from_millis(300)).await;
    assert_eq!(probe.body, [0xFF, 0xF1]);
    assert_eq!(server.listeners("jazz"), 0, "a probe is not a listener");
    // An open-ended range gets the live stream.
    let mut live = HttpResponse::send(
        server.addr,
        "GET /jazz HTTP/1.1\r\nHost: test\r\nRange: bytes=0-\r\n\r\n",
    )
    .await;
    assert_eq!(live.status(), 200);
    live.read_for(Duration::from_millis(300)).await;
    assert!(walk(&live.body).frames > 10);
}

fn json(response: &HttpResponse) -> serde_json::Value {
    serde_json::from_slice(&response.body).expect("JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_in_onair_and_icecast_shapes() {
    let server = TestServer::start(
        &[("jazz.aac", &sample("jazz.aac"))],
        "[stations.jazz]\ntitle = \"Jazz\"\ngenre = \"Swing\"\ndescription = \"Cool\"\n",
    )
    .await;
    let mut listener = server.get("/jazz").await;
    listener.read_for(Duration::from_millis(300)).await;
    let mut status = server.get("/status.json").await;
    assert_eq!(status.header("content-type"), Some("application/json"));
    status.read_full(2 * SECOND).await;
    let status = json(&status);
    for key in [
        "version",
        "started_at",
        "uptime_s",
        "listeners",
        "listener_peak",
    ] {
        assert!(status["server"].get(key).is_some(), "server.{key}");
    }
    assert_eq!(status["server"]["listeners"], 1);
    let stations = status["stations"].as_array().expect("stations is an array");
    assert_eq!(stations.len(), 1);
    let jazz = &stations[0];
    for key in [
        "name",
        "mount",
        "url",
        "title",
        "genre",
        "description",
        "listeners",
        "listener_peak",
        "bitrate_kbps",
        "sample_rate",
        "channels",
        "duration_s",
        "position_s",
        "loops",
        "bytes_sent",
        "started_at",
    ] {
        assert!(jazz.get(key).is_some(), "stations[].{key}");
    }
    assert_eq!(jazz["mount"], "/jazz");
    assert_eq!(jazz["url"], "http://test/jazz");
    assert_eq!(jazz["genre"], "Swing");
    assert_eq!(jazz["listeners"], 1);
    assert_eq!(jazz["sample_rate"], 44100);
    assert!(jazz["bytes_sent"].as_u64().unwrap_or(0) > 50_000, "{jazz}");

    let mut ice = server.get("/status-json.xsl").await;
    ice.read_full(2 * SECOND).await;
    let ice = json(&ice);
    let sources = ice["icestats"]["source"]
        .as_array()
        .expect("source is an array");
    let source = &sources[0];
    for key in [
        "listenurl",
        "listeners",
        "listener_peak",
        "server_name",
        "server_description",
        "genre",
        "title",
        "audio_info",
        "bitrate",
        "samplerate",
        "channels",
        "stream_start_iso8601",
    ] {
        assert!(source.get(key).is_some(), "source[].{key}");
    }
    assert_eq!(source["listenurl"], "http://test/jazz");
    assert_eq!(source["server_name"], "Jazz");
    assert_eq!(source["listeners"], 1);
    let kbps = server
        .registry
        .get("jazz")
        .expect("on air")
        .info()
        .bitrate_kbps();
    assert_eq!(
        source["audio_info"],
        format!("samplerate=44100;channels=2;bitrate={kbps}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playlists_point_at_the_stream() {
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], "").await;
    let mut m3u = server.get("/jazz.m3u").await;
    assert_eq!(m3u.header("content-type"), Some("audio/x-mpegurl"));
    m3u.read_full(2 * SECOND).await;
    let m3u = String::from_utf8_lossy(&m3u.body).to_string();
    assert!(
        m3u.starts_with("#EXTM3U\n") && m3u.contains("\nhttp://test/jazz\n"),
        "{m3u}"
    );
    let mut pls = server.get("/jazz.pls").await;
    assert_eq!(pls.header("content-type"), Some("audio/x-scpls"));
    pls.read_full(2 * SECOND).await;
    let pls = String::from_utf8_lossy(&pls.body).to_string();
    assert!(
        pls.starts_with("[playlist]\n") && pls.contains("File1=http://test/jazz\n"),
        "{pls}"
    );

    // Behind a proxy, server.public_url wins over the Host header.
    let server = TestServer::start(
        &[("jazz.aac", &sample("jazz.aac"))],
        "public_url = \"https://radio.example/\"\n",
    )
    .await;
    let mut m3u = server.get("/jazz.m3u").await;
    m3u.read_full(2 * SECOND).await;
    assert!(String::from_utf8_lossy(&m3u.body).contains("\nhttps://radio.example/jazz\n"));
    assert_eq!(server.get("/nope.m3u").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_limits_answer_503_and_spare_existing_listeners() {
    let server = TestServer::start(
        &[
            ("jazz.aac", &sample("jazz.aac")),
            ("ambient.aac", &sample("ambient.aac")),
        ],
        "max_listeners = 3\n[stations.jazz]\nmax_listeners = 2\n",
    )
    .await;
    let mut first = server.get("/jazz").await;
    let second = server.get("/jazz").await;
    assert_eq!((first.status(), second.status()), (200, 200));
    let mut refused = server.get("/jazz").await;
    assert_eq!(refused.status(), 503);
    assert!(refused.header("retry-after").is_some());
    refused.read_full(2 * SECOND).await;
    assert!(String::from_utf8_lossy(&refused.body).contains("/jazz is full"));
    // The server-wide limit: one more on another station, then full.
    let third = server.get("/ambient").await;
    assert_eq!(third.status(), 200);
    let over = server.get("/ambient").await;
    assert_eq!(over.status(), 503);
    // The listeners already tuned in play on.
    first.read_for(SECOND).await;
    assert!(!first.eof && walk(&first.body).frames > 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_events_and_health() {
    let server = TestServer::start(
        &[("jazz.aac", &sample("jazz.aac"))],
        "[stations.jazz]\nmax_listeners = 1\n",
    )
    .await;
    let mut listener = server.get("/jazz").await;
    listener.read_for(Duration::from_millis(300)).await;
    assert_eq!(server.get("/jazz").await.status(), 503);
    let gone = server.get("/jazz.aac").await;
    drop(gone);
    drop(listener);
    server.wait_listeners("jazz", 0, 2 * SECOND).await;

    let mut metrics = server.get("/metrics").await;
    metrics.read_full(2 * SECOND).await;
    let text = String::from_utf8_lossy(&metrics.body).to_string();
    for line in [
        "onair_listeners{station=\"jazz\"} 0",
        "onair_connects_total{station=\"jazz\"} 1",
        "onair_rejected_full_total 2",
        "onair_disconnects_total{station=\"jazz\",via=\"stream\",reason=\"client_left\"} 1",
        "onair_dropped_slow_total 0",
    ] {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }
    for name in [
        "onair_sent_bytes_total",
        "onair_skipped_forward_total",
        "onair_pacer_lateness_seconds",
        "onair_listener_peak",
    ] {
        assert!(text.contains(name), "{name} missing in\n{text}");
    }

    let mut events = server.get("/events").await;
    assert_eq!(events.header("content-type"), Some("text/event-stream"));
    events.read_for(2 * SECOND).await;
    let text = String::from_utf8_lossy(&events.body).to_string();
    assert!(text.contains("event: stations\ndata: {"), "{text}");
    assert!(
        text.contains("\"name\":\"jazz\"") && text.contains("\"listeners\":0"),
        "{text}"
    );

    let health = server.get("/healthz").await;
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_file_limit_is_raised_at_start() {
    let _server = TestServer::start(&[], "").await;
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("getrlimit");
    assert_eq!(soft, hard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_clients_share_one_feed_and_are_capped() {
    let server = TestServer::start(
        &[("jazz.aac", &sample("jazz.aac"))],
        "max_event_clients = 2\n",
    )
    .await;
    let mut a = server.get("/events").await;
    let mut b = server.get("/events").await;
    let refused = server.get("/events").await;
    assert_eq!(refused.status(), 503);
    let mut status = server.get("/status.json").await;
    status.read_full(2 * SECOND).await;
    let status: serde_json::Value = serde_json::from_slice(&status.body).expect("json");
    assert_eq!(status["server"]["event_clients"], 2);
    assert_eq!(refused.header("retry-after"), Some("30"));
    // A listener joins: both pages hear the same event.
    let mut listener = server.get("/jazz").await;
    listener.read_for(Duration::from_millis(100)).await;
    a.read_for(2 * SECOND).await;
    b.read_for(Duration::from_millis(200)).await;
    for page in [&a, &b] {
        let text = String::from_utf8_lossy(&page.body).to_string();
        assert!(text.contains("\"listeners\":1"), "{text}");
    }
    // A page closes: its place is free again.
    drop(b);
    let mut c = None;
    for _ in 0..50 {
        let page = server.get("/events").await;
        if page.status() == 200 {
            c = Some(page);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(c.is_some(), "a closed page frees its place");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_end_at_shutdown() {
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], "").await;
    let mut events = server.get("/events").await;
    events.read_for(Duration::from_millis(200)).await;
    let took = server.shutdown().await;
    assert!(took < 5 * SECOND, "{took:?}");
    events.read_to_end(2 * SECOND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_promises_server_header_capped_icy_name_clean_numbers_ipv6_host() {
    let long_title = "Ω".repeat(30_000); // 60 KB of UTF-8
    let server = TestServer::start(
        &[("jazz.aac", &sample("jazz.aac"))],
        &format!("[stations.jazz]\ntitle = \"{long_title}\"\n"),
    )
    .await;
    let head = HttpResponse::send(server.addr, "HEAD /jazz HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(
        head.header("server"),
        Some(concat!("onair/", env!("CARGO_PKG_VERSION")))
    );
    let name = head.header("icy-name").expect("icy-name");
    assert!(
        name.len() <= 1024 && name.len() > 1000,
        "{} bytes",
        name.len()
    );
    assert!(
        name.chars().all(|c| c == 'Ω'),
        "cut on a character boundary"
    );

    let mut status = server.get("/status.json").await;
    status.read_full(2 * SECOND).await;
    let status: serde_json::Value = serde_json::from_slice(&status.body).expect("json");
    let jazz = &status["stations"][0];
    let duration = jazz["duration_s"].as_f64().expect("duration");
    assert_eq!((duration * 1000.0).round() / 1000.0, duration, "{duration}");
    assert!(
        jazz["duration_s"].to_string().len() <= 7,
        "{}",
        jazz["duration_s"]
    );
    // The bitrate is rounded, not floored.
    let kbps = jazz["bitrate_kbps"].as_u64().expect("kbps");
    let info = server.registry.get("jazz").expect("on air").info();
    assert_eq!(kbps, (info.bitrate() + 500) / 1000);

    let mut icestats = HttpResponse::send(
        server.addr,
        "GET /status-json.xsl HTTP/1.1\r\nHost: [::1]:8000\r\nConnection: close\r\n\r\n",
    )
    .await;
    icestats.read_full(2 * SECOND).await;
    let icestats: serde_json::Value = serde_json::from_slice(&icestats.body).expect("json");
    assert_eq!(icestats["icestats"]["host"], "[::1]");
}
