//! Relays: a station pulls its live audio from another server. Against real upstreams on
//! loopback: another onair (over HTTPS), and scripted upstreams (Shoutcast's `ICY 200 OK`,
//! playlists, and every kind of hostile one). Listeners stay connected through an upstream's
//! death and return; the station falls back to its programme and takes the relay back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use onair_tests::frames::{origins, station_frames, Origin};
use onair_tests::tls::TestCa;
use onair_tests::{eventually, sample, station_in, strip_icy, HttpResponse, TestServer};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};

const SECOND: Duration = Duration::from_secs(1);

/// How a scripted upstream answers its `n`-th connection (from 0), given the request head.
type Script = Arc<dyn Fn(usize, String, TcpStream) -> futures_like::Boxed + Send + Sync>;

mod futures_like {
    /// A boxed future of nothing.
    pub type Boxed = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
}

/// A scripted upstream on loopback: each connection is answered by its script.
struct Upstream {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Upstream {
    async fn start(script: Script) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let n = count.fetch_add(1, Ordering::SeqCst);
                let script = Arc::clone(&script);
                tokio::spawn(async move {
                    let head = read_head(&mut stream).await;
                    script(n, head, stream).await;
                });
            }
        });
        Upstream {
            addr,
            connections,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match tokio::time::timeout(5 * SECOND, stream.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The jazz station's frames (the relayed audio in these tests).
fn jazz_frames() -> Vec<u8> {
    station_frames(&sample("jazz.aac"))
}

/// Writes `audio` over and over (at most `limit` bytes of it, if given), with a metadata block
/// carrying `title` every `metaint` bytes when given; stops when the reader goes.
async fn send_audio(
    stream: &mut TcpStream,
    audio: &[u8],
    metaint: Option<usize>,
    title: &str,
    limit: Option<usize>,
) {
    let mut block = format!("StreamTitle='{title}';").into_bytes();
    let blocks = block.len().div_ceil(16);
    block.resize(blocks * 16, 0);
    block.insert(0, blocks as u8);
    let mut sent = 0usize;
    let mut since_block = 0usize;
    loop {
        for piece in audio.chunks(1000) {
            if limit.is_some_and(|l| sent >= l) {
                return;
            }
            let mut out = Vec::with_capacity(piece.len() + block.len());
            for &b in piece {
                out.push(b);
                since_block += 1;
                if metaint == Some(since_block) {
                    out.extend_from_slice(&block);
                    since_block = 0;
                }
            }
            if stream.write_all(&out).await.is_err() {
                return;
            }
            sent += piece.len();
        }
    }
}

/// A Shoutcast-style answer head: `ICY 200 OK` with `icy-metaint`.
fn icy_head(metaint: usize) -> String {
    format!("ICY 200 OK\r\nicy-name: Upstream FM\r\ncontent-type: audio/aac\r\nicy-metaint: {metaint}\r\n\r\n")
}

/// An edge server: station `ambient` (its programme) relaying `url`; fast retries, a 500 ms
/// live buffer; then `extra`.
async fn edge(url: &str, extra: &str) -> TestServer {
    let config = format!(
        "[live]\npassword = \"pw\"\nbuffer_ms = 500\nsource_timeout_s = 2\n[relay]\nretry_min_ms = 200\nretry_max_s = 1\nidle_timeout_s = 2\nhead_timeout_s = 2\n[stations.ambient]\nrelay = \"{url}\"\n{extra}"
    );
    TestServer::start(&[("ambient.aac", &sample("ambient.aac"))], &config).await
}

/// Waits (bounded) until station `name`'s status satisfies `ready`; returns it.
async fn station_until(
    server: &TestServer,
    name: &str,
    within: Duration,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let station = station_in(&server.status_json().await, name);
        if ready(&station) {
            return station;
        }
        assert!(
            started.elapsed() < within,
            "{name} not as expected within {within:?}: {station}"
        );
        sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (bounded) until station `name`'s relay is in `state`; returns its relay object.
async fn relay_state(server: &TestServer, name: &str, state: &str, within: Duration) -> Value {
    station_until(server, name, within, |s| s["relay"]["state"] == state).await["relay"].clone()
}

/// The runs of a capture's frames: (from the relay?, how many frames).
fn runs(origins: &[Origin]) -> Vec<(bool, usize)> {
    let mut runs: Vec<(bool, usize)> = Vec::new();
    for o in origins {
        let relayed = matches!(o, Origin::Live(_));
        match runs.last_mut() {
            Some((r, n)) if *r == relayed => *n += 1,
            _ => runs.push((relayed, 1)),
        }
    }
    runs
}

#[tokio::test]
async fn listeners_stay_through_an_upstreams_death_and_return_and_hear_its_titles() {
    // The upstream: Shoutcast's answer, 4 s of audio, then it dies; it answers 503 for 2.5 s,
    // then plays again.
    let died_at = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let died = Arc::clone(&died_at);
    let audio = Arc::new(jazz_frames());
    let per_second = audio.len() / 10;
    let upstream = Upstream::start(Arc::new(move |_, _, mut stream| {
        let (died, audio) = (Arc::clone(&died), Arc::clone(&audio));
        Box::pin(async move {
            let down = died
                .lock()
                .expect("lock")
                .is_some_and(|at: Instant| at.elapsed() < Duration::from_millis(2500));
            if down {
                let _ = stream
                    .write_all(b"HTTP/1.0 503 Service Unavailable\r\n\r\n")
                    .await;
                return;
            }
            let first = died.lock().expect("lock").is_none();
            let _ = stream.write_all(icy_head(8000).as_bytes()).await;
            let limit = first.then_some(4 * per_second);
            send_audio(
                &mut stream,
                &audio,
                Some(8000),
                "Upstream Show - Part 1",
                limit,
            )
            .await;
            if first {
                let _ = stream.shutdown().await;
                // Death is when the edge has read it all (it reads in real time).
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                *died.lock().expect("lock") = Some(Instant::now());
            }
        })
    }))
    .await;
    let server = edge(&upstream.url("/stream"), "").await;
    let relay = relay_state(&server, "ambient", "on_air", 5 * SECOND).await;
    assert_eq!(relay["upstream"], upstream.url("/stream"));
    let mut listener = HttpResponse::send(
        server.addr,
        "GET /ambient HTTP/1.1\r\nHost: x\r\nIcy-MetaData: 1\r\n\r\n",
    )
    .await;
    assert_eq!(listener.status(), 200);
    listener.read_for(12 * SECOND).await;
    assert!(
        upstream.connections() >= 3,
        "it died, was refused, came back"
    );
    let (audio, blocks) = strip_icy(&listener.body);
    let runs = runs(&origins(
        &audio,
        &station_frames(&sample("ambient.aac")),
        &jazz_frames(),
    ));
    // Relay, the programme while the upstream is down, the relay again: one connection.
    let relayed: Vec<bool> = runs.iter().map(|r| r.0).collect();
    let windows = relayed.windows(3).any(|w| w == [true, false, true]);
    assert!(windows, "relay -> programme -> relay: {runs:?}");
    let titles: Vec<&str> = blocks.iter().filter_map(|(_, t)| t.as_deref()).collect();
    assert!(
        titles.contains(&"StreamTitle='Upstream Show - Part 1';"),
        "the upstream's title reaches listeners: {titles:?}"
    );
    let live = station_in(&server.status_json().await, "ambient")["live"].clone();
    assert_eq!(live["title"], "Upstream Show - Part 1", "{live}");
    assert_eq!(live["relay"], upstream.url("/stream"));
    server.shutdown().await;
}

#[tokio::test]
async fn an_edge_relays_another_onair_over_https_frame_for_frame() {
    let ca = TestCa::new();
    let certs = tempfile::tempdir().expect("temp dir");
    let (cert, key) = ca
        .leaf("origin", Duration::from_secs(86_400))
        .write(certs.path());
    let ca_file = ca.write_ca(certs.path());
    let origin = TestServer::start(
        &[("jazz.aac", &sample("jazz.aac"))],
        &format!(
            "listen_tls = \"127.0.0.1:0\"\n[tls]\ncert = {:?}\nkey = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        ),
    )
    .await;
    let url = format!(
        "https://localhost:{}/jazz",
        origin.tls_addr.expect("https").port()
    );
    let server = edge(&url, "").await;
    // Without the CA, the origin's certificate is refused: the relay backs off, saying why.
    let relay = relay_state(&server, "ambient", "backing_off", 5 * SECOND).await;
    assert!(
        relay["last_error"].as_str().unwrap_or("").contains("TLS"),
        "{relay}"
    );
    server.edit_config(&format!(
        "[live]\npassword = \"pw\"\nbuffer_ms = 500\nsource_timeout_s = 2\n[relay]\nretry_min_ms = 200\nretry_max_s = 1\nca_file = {:?}\n[stations.ambient]\nrelay = \"{url}\"\n",
        ca_file.display().to_string()
    ));
    relay_state(&server, "ambient", "on_air", 10 * SECOND).await;
    let mut listener = server.get("/ambient").await;
    listener.read_for(4 * SECOND).await;
    let capture = origins(
        &listener.body,
        &station_frames(&sample("ambient.aac")),
        &jazz_frames(),
    );
    let relayed: Vec<usize> = capture
        .iter()
        .filter_map(|o| match o {
            Origin::Live(i) => Some(*i),
            Origin::Programme(_) => None,
        })
        .collect();
    assert!(relayed.len() > 40, "a second and more relayed: {capture:?}");
    // The origin's frames in its order, none lost or doubled (the file loops).
    let frames = onair_tests::frames::frames(&jazz_frames()).len();
    for pair in relayed.windows(2) {
        assert_eq!((pair[0] + 1) % frames, pair[1], "consecutive origin frames");
    }
    server.shutdown().await;
    origin.shutdown().await;
}

#[tokio::test]
async fn on_demand_relays_pull_only_while_the_station_has_listeners() {
    let audio = Arc::new(jazz_frames());
    let open = Arc::new(AtomicUsize::new(0));
    let open_now = Arc::clone(&open);
    let upstream = Upstream::start(Arc::new(move |_, _, mut stream| {
        let (audio, open) = (Arc::clone(&audio), Arc::clone(&open_now));
        Box::pin(async move {
            open.fetch_add(1, Ordering::SeqCst);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: audio/aac\r\n\r\n")
                .await;
            send_audio(&mut stream, &audio, None, "", None).await;
            open.fetch_sub(1, Ordering::SeqCst);
        })
    }))
    .await;
    let server = edge(&upstream.url("/stream"), "on_demand = true\n").await;
    relay_state(&server, "ambient", "idle", 5 * SECOND).await;
    sleep(SECOND).await;
    assert_eq!(upstream.connections(), 0, "no listener, no pull");
    let mut listener = server.get("/ambient").await;
    relay_state(&server, "ambient", "on_air", 5 * SECOND).await;
    assert_eq!(upstream.connections(), 1);
    listener.read_for(2 * SECOND).await;
    drop(listener);
    // The last listener gone, the relay lets go after its linger.
    relay_state(&server, "ambient", "idle", 10 * SECOND).await;
    eventually("the upstream connection closed", 5 * SECOND, || {
        open.load(Ordering::SeqCst) == 0
    })
    .await;
    // HLS clients count as listeners too.
    let mut playlist = server.get("/ambient.m3u8?session=1").await;
    playlist.read_full(5 * SECOND).await;
    relay_state(&server, "ambient", "on_air", 5 * SECOND).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_pushed_source_outranks_a_relay_which_comes_back_after_it() {
    let audio = Arc::new(jazz_frames());
    let upstream = Upstream::start(Arc::new(move |_, _, mut stream| {
        let audio = Arc::clone(&audio);
        Box::pin(async move {
            let _ = stream.write_all(icy_head(16000).as_bytes()).await;
            send_audio(&mut stream, &audio, Some(16000), "Relayed", None).await;
        })
    }))
    .await;
    let server = edge(&upstream.url("/stream"), "").await;
    relay_state(&server, "ambient", "on_air", 5 * SECOND).await;
    // `source:pw`
    let mut source = TcpStream::connect(server.addr).await.expect("connect");
    source
        .write_all(b"SOURCE /ambient HTTP/1.0\r\nAuthorization: Basic c291cmNlOnB3\r\nContent-Type: audio/aac\r\nice-name: Studio\r\n\r\n")
        .await
        .expect("head");
    let mut answer = [0u8; 64];
    let n = source.read(&mut answer).await.expect("answer");
    assert!(
        answer[..n].starts_with(b"HTTP/1.0 200"),
        "{:?}",
        &answer[..n]
    );
    let relay = relay_state(&server, "ambient", "outranked", 5 * SECOND).await;
    assert_eq!(relay["on_air"], false);
    let live = station_in(&server.status_json().await, "ambient")["live"].clone();
    assert_eq!(
        live["ice"]["name"], "Studio",
        "the pushed source is the one shown"
    );
    assert_eq!(live["relay"], Value::Null);
    let frames = jazz_frames();
    source
        .write_all(&frames[..frames.len() / 5])
        .await
        .expect("push");
    drop(source);
    relay_state(&server, "ambient", "on_air", 10 * SECOND).await;
    server.shutdown().await;
}

/// A hostile upstream's answer to a request for `path`.
async fn hostile(path: &str, mut stream: TcpStream, audio: &[u8]) {
    let ok = "HTTP/1.0 200 OK\r\ncontent-type: audio/aac\r\n";
    let _ = match path {
        // Bytes that are no audio at all.
        "/garbage" => {
            let _ = stream.write_all(format!("{ok}\r\n").as_bytes()).await;
            let junk = vec![0x55u8; 256 * 1024];
            stream.write_all(&junk).await
        }
        // Another codec, by its content type.
        "/ogg" => {
            stream
                .write_all(b"HTTP/1.0 200 OK\r\ncontent-type: audio/ogg\r\n\r\nOggS")
                .await
        }
        // Another format, by its frames (AAC at 48 kHz for a 44.1 kHz station).
        "/other-rate" => {
            let frame = onair_core::testing::adts_frame(&onair_core::testing::FrameSpec {
                sample_rate_index: 3,
                ..Default::default()
            });
            let _ = stream.write_all(format!("{ok}\r\n").as_bytes()).await;
            stream.write_all(&frame.repeat(200)).await
        }
        // A redirect to itself, for ever.
        "/loop" => {
            stream
                .write_all(b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n")
                .await
        }
        // A head of 100 KiB.
        "/huge-head" => {
            let _ = stream.write_all(ok.as_bytes()).await;
            for i in 0..2000 {
                let line = format!("x-junk-{i}: {}\r\n", "j".repeat(40));
                if stream.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
            }
            stream.write_all(b"\r\n").await
        }
        "/metaint-0" | "/metaint-huge" => {
            let value = if path == "/metaint-0" {
                "0"
            } else {
                "999999999"
            };
            let _ = stream
                .write_all(format!("{ok}icy-metaint: {value}\r\n\r\n").as_bytes())
                .await;
            send_audio(&mut stream, audio, None, "", None).await;
            Ok(())
        }
        // Every metadata block is 4 KiB of junk: the audio plays, the junk is ignored.
        "/junk-metadata" => {
            let _ = stream
                .write_all(format!("{ok}icy-metaint: 2000\r\n\r\n").as_bytes())
                .await;
            let mut out = Vec::new();
            for piece in audio.chunks(2000) {
                out.extend_from_slice(piece);
                if piece.len() == 2000 {
                    out.push(255);
                    out.extend((0..255 * 16).map(|i| (i * 7 % 256) as u8));
                }
            }
            loop {
                if stream.write_all(&out).await.is_err() {
                    return;
                }
            }
        }
        // A chunked body whose chunk sizes are not hexadecimal.
        "/bad-chunks" => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: audio/aac\r\ntransfer-encoding: chunked\r\n\r\n")
                .await;
            let mut body = format!("{:x}\r\n", 4000).into_bytes();
            body.extend_from_slice(&audio[..4000]);
            body.extend_from_slice(b"\r\nzz-not-a-size\r\n");
            stream.write_all(&body).await
        }
        // A byte a second.
        "/trickle" => {
            let _ = stream.write_all(format!("{ok}\r\n").as_bytes()).await;
            for &b in audio.iter().take(60) {
                if stream.write_all(&[b]).await.is_err() {
                    return;
                }
                sleep(SECOND).await;
            }
            Ok(())
        }
        // A head that never ends.
        "/no-head" => {
            let _ = stream.write_all(b"HTTP/1.0 200 OK\r\n").await;
            sleep(30 * SECOND).await;
            Ok(())
        }
        // A playlist naming the real stream.
        "/live.pls" => {
            let body = "[playlist]\nNumberOfEntries=1\nFile1=/fast\n";
            stream
                .write_all(
                    format!(
                        "HTTP/1.0 200 OK\r\ncontent-type: audio/x-scpls\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await
        }
        // An .m3u naming the stream, by a path relative to it.
        "/live.m3u" => {
            let body = "#EXTM3U\n#EXTINF:-1,Upstream FM\nchunked\n";
            stream
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: audio/x-mpegurl\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await
        }
        // A well-formed chunked stream (HTTP/1.1), chunks of 1,000 bytes.
        "/chunked" => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: audio/aac\r\ntransfer-encoding: chunked\r\n\r\n")
                .await;
            loop {
                for piece in audio.chunks(1000) {
                    let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
                    chunk.extend_from_slice(piece);
                    chunk.extend_from_slice(b"\r\n");
                    if stream.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
            }
        }
        // Ten times real time and more: as fast as the edge reads.
        "/fast" => {
            let _ = stream.write_all(format!("{ok}\r\n").as_bytes()).await;
            send_audio(&mut stream, audio, None, "", None).await;
            Ok(())
        }
        _ => stream.write_all(b"HTTP/1.0 404 Not Found\r\n\r\n").await,
    };
}

#[tokio::test]
async fn hostile_upstreams_are_bounded_and_their_stations_play_on() {
    let log = onair_tests::Log::default();
    let _logging = log.capture();
    let audio = Arc::new(jazz_frames());
    let upstream = Upstream::start(Arc::new(move |_, head, stream| {
        let audio = Arc::clone(&audio);
        Box::pin(async move {
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            hostile(&path, stream, &audio).await;
        })
    }))
    .await;
    // (station, path, what its relay's error says; `None`: it plays)
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("garbage", "/garbage", Some("without a whole")),
        ("ogg", "/ogg", Some("audio/ogg")),
        ("rate", "/other-rate", Some("the station plays")),
        ("loop", "/loop", Some("more than 5 redirects")),
        ("head", "/huge-head", Some("HTTP")),
        ("metaint0", "/metaint-0", Some("icy-metaint `0`")),
        (
            "metainthuge",
            "/metaint-huge",
            Some("icy-metaint `999999999`"),
        ),
        ("chunks", "/bad-chunks", Some("connection failed")),
        ("trickle", "/trickle", Some("no whole frame")),
        ("nohead", "/no-head", Some("head timed out")),
        ("junkmeta", "/junk-metadata", None),
        ("pls", "/live.pls", None),
        ("m3u", "/live.m3u", None),
    ];
    let ambient = sample("ambient.aac");
    let files: Vec<(String, Vec<u8>)> = cases
        .iter()
        .map(|(name, _, _)| (format!("{name}.aac"), ambient.clone()))
        .collect();
    let mut config = "[live]\nbuffer_ms = 500\nsource_timeout_s = 2\n[relay]\nretry_min_ms = 500\nretry_max_s = 2\nidle_timeout_s = 2\nhead_timeout_s = 2\n".to_string();
    for (name, path, _) in cases {
        config.push_str(&format!(
            "[stations.{name}]\nrelay = \"{}\"\n",
            upstream.url(path)
        ));
    }
    let server = TestServer::start_owned(&files, &config).await;
    // A listener on one of them hears its programme, whole frames, all along.
    let mut listener = server.get("/garbage").await;
    for (name, path, error) in cases {
        match error {
            Some(words) => {
                let relay = relay_state(&server, name, "backing_off", 15 * SECOND).await;
                let said = relay["last_error"].as_str().unwrap_or_default();
                assert!(said.contains(words), "{path}: {said}");
            }
            None => {
                relay_state(&server, name, "on_air", 10 * SECOND).await;
            }
        }
    }
    // The .m3u led to the chunked stream beside it.
    let m3u = station_in(&server.status_json().await, "m3u");
    assert!(
        m3u["relay"]["upstream"]
            .as_str()
            .unwrap_or("")
            .ends_with("/chunked"),
        "{m3u}"
    );
    // The junk metadata was no title.
    let junk = station_in(&server.status_json().await, "junkmeta");
    assert_eq!(junk["live"]["title"], Value::Null, "{junk}");
    // The playlist led to the stream, read no faster than real time plus the buffer.
    let pls = station_in(&server.status_json().await, "pls");
    assert!(
        pls["relay"]["upstream"]
            .as_str()
            .unwrap_or("")
            .ends_with("/fast"),
        "{pls}"
    );
    let on_air_since = Instant::now();
    let bytes_then = pls["live"]["bytes_in"].as_u64().expect("bytes in");
    sleep(3 * SECOND).await;
    let pls = station_in(&server.status_json().await, "pls");
    let read = pls["live"]["bytes_in"].as_u64().expect("bytes in") - bytes_then;
    let real_time = jazz_frames().len() as f64 / 10.0 * on_air_since.elapsed().as_secs_f64();
    assert!(
        (read as f64) < real_time * 1.5 + 64_000.0,
        "read {read} bytes in {:?}; real time is {real_time}",
        on_air_since.elapsed()
    );
    listener.read_for(SECOND).await;
    let capture = origins(&listener.body, &station_frames(&ambient), &[]);
    assert!(capture.len() > 100, "the programme plays on");
    // Logged once, however many attempts.
    let garbage = station_in(&server.status_json().await, "garbage")["relay"].clone();
    assert!(garbage["failures"].as_u64() >= Some(3), "{garbage}");
    assert_eq!(log.count(&["relay failed", "station=garbage"]), 1);
    assert!(log.count(&["relay connected", "station=garbage"]) <= 1);
    assert_eq!(log.count(&["relay failed", "station=loop"]), 1);
    assert!(
        server.registry.list().len() == cases.len(),
        "every station on air"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn relay_edits_apply_at_once_and_metrics_show_the_state() {
    let audio = Arc::new(jazz_frames());
    let serve = move |title: &'static str| -> Script {
        let audio = Arc::clone(&audio);
        Arc::new(move |_, _, mut stream| {
            let audio = Arc::clone(&audio);
            Box::pin(async move {
                let _ = stream.write_all(icy_head(16000).as_bytes()).await;
                send_audio(&mut stream, &audio, Some(16000), title, None).await;
            })
        })
    };
    let first = Upstream::start(serve("First")).await;
    let second = Upstream::start(serve("Second")).await;
    let server = edge(&first.url("/a"), "").await;
    relay_state(&server, "ambient", "on_air", 5 * SECOND).await;
    let mut metrics = server.get("/metrics").await;
    metrics.read_full(5 * SECOND).await;
    let text = String::from_utf8_lossy(&metrics.body);
    for line in [
        "onair_relay_state{station=\"ambient\",state=\"on_air\"} 1",
        "onair_relay_state{station=\"ambient\",state=\"backing_off\"} 0",
        "onair_relay_connects_total{station=\"ambient\"} 1",
        "onair_relay_failures_in_a_row{station=\"ambient\"} 0",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    // Another upstream: the relay starts over with it.
    server.edit_config(&format!(
        "[live]\nbuffer_ms = 500\n[stations.ambient]\nrelay = \"{}\"\n",
        second.url("/b")
    ));
    let moved = second.url("/b");
    station_until(&server, "ambient", 10 * SECOND, |s| {
        s["relay"]["upstream"] == moved && s["relay"]["state"] == "on_air"
    })
    .await;
    // No relay: the programme only.
    server.edit_config("[live]\nbuffer_ms = 500\n");
    station_until(&server, "ambient", 10 * SECOND, |s| {
        s["relay"].is_null() && s["live"].is_null()
    })
    .await;
    server.shutdown().await;
}

/// A relay URL's `user:password@` is a Basic login (never in the `Host` header), and the URL
/// is shown without it and without its query (tokens) in status, `/events`, the page and the
/// log.
#[tokio::test]
async fn relay_url_credentials_are_a_login_and_never_shown() {
    let heads = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&heads);
    let audio = Arc::new(jazz_frames());
    let upstream = Upstream::start(Arc::new(move |_, head, mut stream| {
        let (seen, audio) = (Arc::clone(&seen), Arc::clone(&audio));
        Box::pin(async move {
            seen.lock().expect("lock").push(head);
            let _ = stream
                .write_all(b"HTTP/1.0 200 OK\r\ncontent-type: audio/aac\r\n\r\n")
                .await;
            send_audio(&mut stream, &audio, None, "", None).await;
        })
    }))
    .await;
    let url = format!(
        "http://relayuser:s%40cret@{}/live.aac?token=hush-hush",
        upstream.addr
    );
    let log = onair_tests::Log::default();
    let _guard = log.capture();
    let server = edge(&url, "").await;
    relay_state(&server, "ambient", "on_air", 10 * SECOND).await;
    let head = heads.lock().expect("lock")[0].to_lowercase();
    assert!(
        head.contains(&format!("host: {}\r\n", upstream.addr)),
        "the Host header names the host alone: {head}"
    );
    // relayuser:s@cret
    assert!(
        head.contains("authorization: basic cmvsyxl1c2vyonnay3jlda==\r\n"),
        "{head}"
    );
    let status = String::from_utf8_lossy(&{
        let mut r = server.get("/status.json").await;
        r.read_full(5 * SECOND).await;
        r.body
    })
    .to_string();
    let mut page = server.get("/").await;
    page.read_full(5 * SECOND).await;
    let mut events = server.get("/events").await;
    events.read_for(SECOND).await;
    let shown = [
        status.clone(),
        String::from_utf8_lossy(&page.body).to_string(),
        String::from_utf8_lossy(&events.body).to_string(),
        log.text(),
    ];
    for (what, text) in ["status", "page", "events", "log"].iter().zip(&shown) {
        assert!(
            !text.contains("s%40cret")
                && !text.contains("relayuser")
                && !text.contains("hush-hush"),
            "the {what} shows a secret: {text}"
        );
    }
    assert!(
        status.contains(&format!("http://{}/live.aac?…", upstream.addr)),
        "{status}"
    );
}

/// An upstream that sends a 100 KB ID3v2 tag before its first frame (a file with cover art
/// served as it is) is relayed: the tag is skipped by its size (it counted as 100 KB without a
/// frame, and the relay failed on every retry), and its title is the live title.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_starting_with_a_large_id3_tag_is_relayed_with_its_title() {
    let picture = vec![0x5A; 100_000];
    let head = onair_core::testing::id3v2_tag(
        3,
        &[(b"TIT2", b"\x03Tagged Upstream"), (b"APIC", &picture)],
        true,
    );
    let head = Arc::new(head);
    let audio = Arc::new(jazz_frames());
    let upstream = Upstream::start(Arc::new(move |_, _, mut stream| {
        let (head, audio) = (Arc::clone(&head), Arc::clone(&audio));
        Box::pin(async move {
            let _ = stream
                .write_all(b"HTTP/1.0 200 OK\r\ncontent-type: audio/aac\r\n\r\n")
                .await;
            if stream.write_all(&head).await.is_ok() {
                send_audio(&mut stream, &audio, None, "", None).await;
            }
        })
    }))
    .await;
    let server = edge(&upstream.url("/show.aac"), "").await;
    relay_state(&server, "ambient", "on_air", 10 * SECOND).await;
    let station = station_until(&server, "ambient", 10 * SECOND, |s| {
        s["live"]["title"] == "Tagged Upstream"
    })
    .await;
    assert_eq!(station["relay"]["failures"], 0, "{station}");
}
