//! Hostile clients and hostile files: nothing a client sends or a file holds takes a station
//! down, reaches the file system, or stalls the other listeners. Every wait is bounded.

use std::io::Write as _;
use std::time::Duration;

use onair_tests::{eventually, sample, walk, HttpResponse, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const SECOND: Duration = Duration::from_secs(1);

/// Sends raw bytes and reads whatever comes back until the server closes or 2 s pass.
async fn raw(server: &TestServer, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    // The server may answer (and close) before it has read everything: that is fine.
    let _ = stream.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(2 * SECOND, stream.read_to_end(&mut out)).await;
    out
}

fn status_of(response: &[u8]) -> u16 {
    String::from_utf8_lossy(response)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_games_never_reach_the_file_system() {
    let server = TestServer::start(
        &[
            ("jazz.aac", &sample("jazz.aac")),
            ("ambient.aac", &sample("ambient.aac")),
        ],
        "",
    )
    .await;
    let long = format!("/{}", "a".repeat(20_000));
    for path in [
        "/../config/config.toml",
        "/..%2f..%2fconfig%2fconfig.toml",
        "/%2e%2e/",
        "/%2e%2e%2fconfig.toml",
        "//jazz",
        "/jazz/../ambient",
        "/jazz%2Fambient",
        "/jazz%00",
        "/%00",
        "/jazz/",
        "/config.toml",
        "/stations/jazz.aac",
        long.as_str(),
    ] {
        let response = raw(
            &server,
            format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
        )
        .await;
        let status = status_of(&response);
        assert!(
            [400, 404, 414, 431].contains(&status),
            "{path}: status {status}"
        );
        let text = String::from_utf8_lossy(&response);
        assert!(
            !text.contains("stations_dir") && !text.contains("[server]"),
            "{path} leaked a file"
        );
    }
    // A NUL or a space inside the request line is refused outright.
    let response = raw(&server, b"GET /ja\0zz HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert!(
        matches!(status_of(&response), 0 | 400),
        "{:?}",
        String::from_utf8_lossy(&response)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_are_refused() {
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], "").await;
    let huge_header = format!(
        "GET /jazz HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(40_000)
    );
    let status = status_of(&raw(&server, huge_header.as_bytes()).await);
    assert!([400, 431].contains(&status), "huge header: {status}");
    let many: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    let status = status_of(
        &raw(
            &server,
            format!("GET /jazz HTTP/1.1\r\nHost: t\r\n{many}\r\n").as_bytes(),
        )
        .await,
    );
    assert!([200, 400, 431].contains(&status), "many headers: {status}");
    let status = status_of(
        &raw(
            &server,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
        )
        .await,
    );
    assert!(matches!(status, 0 | 400), "TLS hello: {status}");
    // And the server is fine.
    assert_eq!(server.get("/healthz").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_garbage_after_a_stream_request_is_ignored() {
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], "").await;
    let mut response = HttpResponse::send(
        server.addr,
        "GET /jazz HTTP/1.1\r\nHost: t\r\n\r\nGET /etc/passwd HTTP/1.1\r\n\r\n\x00\x01\x02garbage",
    )
    .await;
    assert_eq!(response.status(), 200);
    response.read_for(SECOND).await;
    assert!(walk(&response.body).frames > 100, "a clean stream");
    assert!(!response.eof);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_floods_and_connect_storms_leave_listeners_alone() {
    let server = TestServer::start(
        &[("jazz.aac", &sample("jazz.aac"))],
        "header_timeout_s = 2\n",
    )
    .await;
    let mut listener = server.get("/jazz").await;
    listener.read_for(Duration::from_millis(300)).await;
    // 500 connections that say nothing.
    let mut idle = Vec::new();
    for _ in 0..500 {
        idle.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    // 2,000 connects that leave at once, some mid-request.
    for i in 0..2000 {
        let mut s = TcpStream::connect(server.addr).await.expect("connect");
        if i % 2 == 0 {
            let _ = s.write_all(b"GET /jazz HTTP/1.1\r\nHo").await;
        }
    }
    // The server answers, and the listener kept getting audio all along.
    let health = tokio::time::timeout(2 * SECOND, server.get("/healthz"))
        .await
        .expect("health answered in time");
    assert_eq!(health.status(), 200);
    let before = listener.body.len();
    listener.read_for(SECOND).await;
    assert!(listener.body.len() > before, "no stall");
    assert!(walk(&listener.body).frames > 100);
    // The idle connections are closed after header_timeout_s.
    let mut closed = 0;
    for mut s in idle.drain(..50) {
        let mut b = [0u8; 1];
        if matches!(
            tokio::time::timeout(5 * SECOND, s.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        ) {
            closed += 1;
        }
    }
    assert_eq!(closed, 50, "idle connections are closed");
    eventually("only the real listener left", 5 * SECOND, || {
        server.listeners("jazz") == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_files_are_reported_and_the_rest_plays() {
    let server = TestServer::start(&[("good.aac", &sample("jazz.aac"))], "").await;
    let stations = server.stations();
    std::fs::create_dir(stations.join("folder.aac")).expect("mkdir");
    std::os::unix::fs::symlink(stations.join("loop-b.aac"), stations.join("loop-a.aac"))
        .expect("symlink");
    std::os::unix::fs::symlink(stations.join("loop-a.aac"), stations.join("loop-b.aac"))
        .expect("symlink");
    std::os::unix::fs::symlink(stations.join("missing.aac"), stations.join("dangling.aac"))
        .expect("symlink");
    let fifo = stations.join("pipe.aac");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    std::fs::write(stations.join("empty.aac"), b"").expect("write");
    let mut garbage = std::fs::File::create(stations.join("noise.aac")).expect("create");
    garbage
        .write_all(
            &(0..50_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect::<Vec<_>>(),
        )
        .expect("write");
    drop(garbage);
    // A good file added after all that still goes on air: the watcher was not stuck on any of it.
    std::fs::write(stations.join("late.aac"), sample("ambient.aac")).expect("write");
    eventually("/late on air", 3 * SECOND, || {
        server.registry.get("late").is_some()
    })
    .await;
    for bad in [
        "folder", "loop-a", "loop-b", "dangling", "pipe", "empty", "noise",
    ] {
        assert!(server.registry.get(bad).is_none(), "{bad} is not a station");
        assert_eq!(server.get(&format!("/{bad}")).await.status(), 404, "{bad}");
    }
    let mut good = server.get("/good").await;
    good.read_for(Duration::from_millis(300)).await;
    assert!(walk(&good.body).frames > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_file_never_delays_serving_other_stations_or_shutdown() {
    let server = TestServer::start(&[("good.aac", &sample("jazz.aac"))], "").await;
    // 16 GiB of nothing (sparse): refused after the lead-in, not read to its end.
    let sparse = std::fs::File::create(server.stations().join("sparse.aac")).expect("create");
    sparse.set_len(16 << 30).expect("sparse file");
    drop(sparse);
    // A long valid file (about 2 hours at 128 kb/s, 120 MiB): seconds of probing.
    let frame = onair_core::testing::adts_frame(&onair_core::testing::FrameSpec {
        payload_len: 365,
        ..Default::default()
    });
    let block = frame.repeat(8192);
    let mut big = std::fs::File::create(server.stations().join("big.aac")).expect("create");
    for _ in 0..40 {
        big.write_all(&block).expect("write");
    }
    drop(big);
    // While those are probed, a new station goes on air and the server answers.
    let started = std::time::Instant::now();
    std::fs::write(server.stations().join("new.aac"), sample("ambient.aac")).expect("copy");
    let took = eventually("/new on air", 2 * SECOND, || {
        server.registry.get("new").is_some()
    })
    .await;
    eprintln!(
        "new station on air after {took:?}; big on air: {}",
        server.registry.get("big").is_some()
    );
    assert_eq!(server.get("/healthz").await.status(), 200);
    assert!(started.elapsed() < 3 * SECOND);
    // Shutdown does not wait for a probe to finish.
    let stopped = server.shutdown().await;
    eprintln!("stopped in {stopped:?}");
    assert!(stopped < 5 * SECOND, "shutdown took {stopped:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stations_named_like_built_in_endpoints_are_refused() {
    // Once mounted at paths that never played them, and advertised in playlists and status.
    let jazz = sample("jazz.aac");
    let server = TestServer::start(
        &[
            ("events.aac", &jazz),
            ("Metrics.aac", &jazz),
            ("healthz.aac", &jazz),
            ("status.aac", &jazz),
            // Its segments (`/admin/<k>.aac`) would reach the admin API.
            ("admin.aac", &jazz),
            ("events-fm.aac", &jazz),
        ],
        "",
    )
    .await;
    for name in ["events", "metrics", "healthz", "status", "admin"] {
        assert!(server.registry.get(name).is_none(), "{name} mounted");
    }
    assert!(server.registry.get("events-fm").is_some());
    let mut status = server.get("/status.json").await;
    status.read_full(2 * SECOND).await;
    let text = String::from_utf8_lossy(&status.body).to_string();
    assert!(
        text.contains("/events-fm") && !text.contains("\"/events\""),
        "{text}"
    );
    let mut metrics = server.get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    metrics.read_full(2 * SECOND).await;
    assert!(String::from_utf8_lossy(&metrics.body).contains("onair_uptime_seconds"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_lf_heads_half_closes_and_two_hosts() {
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], "").await;
    // Bare LF line endings (RFC 9112 section 2.2): once unanswered until the 10 s timeout.
    let health = timeout(
        SECOND,
        raw(
            &server,
            b"GET /healthz HTTP/1.1\nHost: t\nConnection: close\n\n",
        ),
    )
    .await
    .expect("answered at once");
    assert_eq!(status_of(&health), 200);
    let mut stream = HttpResponse::send(server.addr, "GET /jazz HTTP/1.0\nHost: t\n\n").await;
    assert_eq!(stream.status(), 200);
    stream.read_for(Duration::from_millis(300)).await;
    assert!(walk(&stream.body).frames > 0);

    // A client that shuts down its side once its request is sent is still served.
    let mut socket = TcpStream::connect(server.addr).await.expect("connect");
    socket
        .write_all(b"GET /jazz HTTP/1.0\r\nHost: t\r\n\r\n")
        .await
        .expect("send");
    socket.shutdown().await.expect("half-close");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + 2 * SECOND;
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    let body_at = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    assert!(
        got.starts_with(b"HTTP/1.0 200"),
        "{:?}",
        String::from_utf8_lossy(&got[..40.min(got.len())])
    );
    let audio = walk(&got[body_at..]).audio;
    assert!(
        audio > 5 * SECOND,
        "burst and 2 s of live audio after a half-close: {audio:?}"
    );
    let mut socket = TcpStream::connect(server.addr).await.expect("connect");
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("send");
    socket.shutdown().await.expect("half-close");
    let mut answer = Vec::new();
    let _ = timeout(2 * SECOND, socket.read_to_end(&mut answer)).await;
    assert_eq!(status_of(&answer), 200);

    // Two Host headers: 400 (RFC 9112 section 3.2), on the stream path and on hyper's.
    for path in ["/jazz", "/healthz"] {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n");
        let answer = timeout(2 * SECOND, raw(&server, request.as_bytes()))
            .await
            .expect("answered");
        assert_eq!(status_of(&answer), 400, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_lists_stations_without_javascript_and_escapes_titles() {
    let server = TestServer::start(
        &[("jazz.aac", &sample("jazz.aac"))],
        "[stations.jazz]\ntitle = \"<script>alert(1)</script> & Jazz\"\n",
    )
    .await;
    let mut page = server.get("/").await;
    page.read_full(2 * SECOND).await;
    let html = String::from_utf8_lossy(&page.body).to_string();
    assert!(html.contains("<a href=\"/jazz\">"), "{html}");
    assert!(html.contains("<a href=\"/jazz.m3u\">"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Jazz"));
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("1 station on air"));
    // Playlists reflect the Host header: never cached across hosts.
    let playlist = server.get("/jazz.m3u").await;
    assert_eq!(playlist.header("cache-control"), Some("no-cache"));
    assert_eq!(playlist.header("vary"), Some("Host"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_taking_a_segment_a_few_bytes_at_a_time_is_let_go() {
    let server = TestServer::start(
        &[("radio.aac", &sample("jazz.aac"))],
        "[pacing]\nclient_timeout_s = 2\n",
    )
    .await;
    let playlist = raw(
        &server,
        b"GET /radio.m3u8?session=1 HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .await;
    let text = String::from_utf8_lossy(&playlist).to_string();
    let uri = text
        .lines()
        .rfind(|l| l.ends_with(".aac"))
        .unwrap_or_else(|| panic!("segments listed: {text}"))
        .to_string();
    let request = format!("GET /{uri} HTTP/1.1\r\nHost: t\r\n\r\n");
    // A whole answer, for its size: 6 s of 128 kb/s audio, far more than socket buffers hold.
    let whole = raw(&server, request.as_bytes()).await.len();
    assert!(whole > 64 * 1024, "{whole} bytes");
    // A client with a small receive buffer that takes 10 bytes every 100 ms for 6 s...
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(2048).expect("receive buffer");
    let mut stream = socket.connect(server.addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut received = 0;
    let started = tokio::time::Instant::now();
    while started.elapsed() < 6 * SECOND {
        let mut buf = [0u8; 10];
        match timeout(SECOND, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received += n,
            Err(_) => {}
        }
        tokio::time::sleep(SECOND / 10).await;
    }
    // ...then drains what is left: the server gave up on it (client_timeout_s), so the whole
    // answer never comes.
    let mut rest = Vec::new();
    let _ = timeout(10 * SECOND, stream.read_to_end(&mut rest)).await;
    received += rest.len();
    assert!(
        received < whole,
        "the slow client got all {whole} bytes: it held the connection as long as it liked"
    );
}
