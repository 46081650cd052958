//! HTTPS with a certificate authority made at test time: curl, ffmpeg and a TLS client of the
//! test's own play over TLS (HTTP/1.1 and HTTP/2), a listener stays connected through three
//! certificate rotations while new handshakes see each new certificate, bad pairs are refused
//! and the old one kept, plain HTTP is redirected on request, and a live source pushes over TLS.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use onair_tests::tls::{served_certificate, Leaf, TestCa};
use onair_tests::{installed_tool, sample, strip_icy, walk, HttpResponse, TestServer};
use tokio::process::Command;
use tokio::time::{timeout, Instant};

const SECOND: Duration = Duration::from_secs(1);
const DAY: Duration = Duration::from_secs(86_400);

/// A server with HTTPS on a port of its own, its certificate from a fresh test CA.
struct Https {
    server: TestServer,
    ca: TestCa,
    /// Holds the certificate files (and `ca.pem`).
    certs: tempfile::TempDir,
    /// The files the config names.
    cert: PathBuf,
    key: PathBuf,
    /// The certificate served at start.
    first: Leaf,
}

impl Https {
    /// Starts the jazz station with `listen_tls`, `server_keys` in `[server]`, and `tls_keys`
    /// in `[tls]` (which may go on with other tables).
    async fn start(server_keys: &str, tls_keys: &str) -> Https {
        let ca = TestCa::new();
        let certs = tempfile::tempdir().expect("temp dir");
        let first = ca.leaf("first", 30 * DAY);
        let (cert, key) = first.write(certs.path());
        ca.write_ca(certs.path());
        let config = format!(
            "listen_tls = \"127.0.0.1:0\"\n{server_keys}[tls]\ncert = \"{}\"\nkey = \"{}\"\n{tls_keys}",
            cert.display(),
            key.display()
        );
        let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], &config).await;
        Https {
            server,
            ca,
            certs,
            cert,
            key,
            first,
        }
    }

    fn tls_addr(&self) -> SocketAddr {
        self.server.tls_addr.expect("the server listens for HTTPS")
    }

    fn ca_file(&self) -> PathBuf {
        self.certs.path().join("ca.pem")
    }

    /// `https://localhost:<port>`
    fn base(&self) -> String {
        format!("https://localhost:{}", self.tls_addr().port())
    }

    /// `GET path` over TLS with HTTP/1.1.
    async fn get(&self, path: &str, headers: &str) -> HttpResponse {
        let tls = self.ca.connect(self.tls_addr(), &[b"http/1.1"]).await;
        HttpResponse::send_on(
            tls,
            &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: onair-tests\r\n{headers}\r\n"),
        )
        .await
    }

    /// The leaf certificate a new handshake is served.
    async fn served(&self) -> Vec<u8> {
        served_certificate(&self.ca.connect(self.tls_addr(), &[b"http/1.1"]).await)
    }

    /// Waits (bounded) until new handshakes are served `leaf`; how long that took.
    async fn wait_served(&self, leaf: &Leaf, within: Duration) -> Duration {
        wait_served(&self.ca, self.tls_addr(), leaf, within).await
    }

    /// `onair_tls_reloads_total{result}` in `/metrics`.
    async fn reloads(&self, result: &str) -> u64 {
        let mut metrics = self.get("/metrics", "").await;
        metrics.read_full(5 * SECOND).await;
        let text = String::from_utf8_lossy(&metrics.body).to_string();
        let line = format!("onair_tls_reloads_total{{result=\"{result}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&line))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {line} in /metrics:\n{text}"))
    }
}

/// Waits (bounded) until new handshakes at `addr` are served `leaf`; how long that took.
async fn wait_served(ca: &TestCa, addr: SocketAddr, leaf: &Leaf, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if served_certificate(&ca.connect(addr, &[b"http/1.1"]).await) == leaf.der {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "new handshakes still get the old certificate after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// curl, or `None` (skipped) on a developer machine without it.
fn curl() -> Option<PathBuf> {
    installed_tool(&["/usr/bin/curl"], "apt-get install curl")
}

/// Runs curl with `args`, trusting the test CA; its output.
async fn run_curl(https: &Https, args: &[&str]) -> Vec<u8> {
    let output = Command::new("curl")
        .args(["-s", "--cacert"])
        .arg(https.ca_file())
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = timeout(20 * SECOND, output)
        .await
        .expect("curl finishes")
        .expect("run curl");
    output.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_play_over_https_and_the_page_gets_http2() {
    let https = Https::start("", "").await;
    // A player of the test's own: HTTP/1.1 over TLS with ICY metadata, whole frames.
    let mut stream = https.get("/jazz", "Icy-MetaData: 1\r\n").await;
    assert_eq!(stream.status(), 200, "{}", stream.status_line);
    assert!(stream.header("icy-metaint").is_some());
    assert!(
        stream.header("strict-transport-security").is_none(),
        "no HSTS unless configured"
    );
    stream.read_for(2 * SECOND).await;
    let (audio, titles) = strip_icy(&stream.body);
    let heard = walk(&audio);
    assert!(heard.audio >= 4 * SECOND, "burst and more: {heard:?}");
    assert!(!titles.is_empty(), "ICY blocks over TLS");
    // The playlist points at the stream over HTTPS.
    let mut m3u = https.get("/jazz.m3u", "").await;
    m3u.read_full(5 * SECOND).await;
    let m3u = String::from_utf8_lossy(&m3u.body).to_string();
    assert!(m3u.contains("https://localhost/jazz"), "{m3u}");

    if curl().is_some() {
        // The page and status over HTTP/2, negotiated by ALPN.
        let version = run_curl(
            &https,
            &[
                "-o",
                "/dev/null",
                "-w",
                "%{http_version}",
                &format!("{}/", https.base()),
            ],
        )
        .await;
        assert_eq!(String::from_utf8_lossy(&version), "2", "h2 for the page");
        let status = run_curl(
            &https,
            &["--http2", &format!("{}/status.json", https.base())],
        )
        .await;
        let status: serde_json::Value = serde_json::from_slice(&status).expect("status JSON");
        assert_eq!(status["stations"][0]["name"], "jazz");
        // A stream over HTTP/2 is paced like one over HTTP/1.1: whole frames, burst first.
        let audio = run_curl(
            &https,
            &[
                "--http2",
                "--max-time",
                "3",
                &format!("{}/jazz", https.base()),
            ],
        )
        .await;
        let heard = walk(&audio);
        assert!(
            heard.audio >= 4 * SECOND && heard.audio < 10 * SECOND,
            "an HTTP/2 stream: {heard:?}"
        );
    }

    // ffmpeg decodes the stream over HTTPS, verifying the certificate.
    if installed_tool(&["/usr/bin/ffmpeg"], "apt-get install ffmpeg").is_some() {
        let output = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-tls_verify", "1", "-ca_file"])
            .arg(https.ca_file())
            .arg("-i")
            .arg(format!("{}/jazz", https.base()))
            .args(["-t", "5", "-f", "null", "-"])
            .kill_on_drop(true)
            .output();
        let output = timeout(30 * SECOND, output)
            .await
            .expect("ffmpeg finishes")
            .expect("run ffmpeg");
        let errors = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && errors.trim().is_empty(),
            "ffmpeg over HTTPS: {errors}"
        );
    }
    // Plain HTTP still serves beside HTTPS.
    let plain = https.server.get("/healthz").await;
    assert_eq!(plain.status(), 200);
    // Players that left (curl over HTTP/2, ffmpeg) are gone; the TLS listener stays.
    https.server.wait_listeners("jazz", 1, 5 * SECOND).await;
}

/// Replaces `target` by a file holding `text`, as an editor or certbot does: written beside it,
/// then renamed over it.
fn rename_over(target: &Path, text: &str) {
    let temp = target.with_extension("tmp");
    std::fs::write(&temp, text).expect("write");
    std::fs::rename(&temp, target).expect("rename");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_stays_through_three_rotations_while_new_handshakes_see_each_certificate() {
    let https = Https::start("", "").await;
    assert_eq!(https.served().await, https.first.der);
    let mut listener = https.get("/jazz", "").await;
    assert_eq!(listener.status(), 200);
    let started = Instant::now();
    let folder = https.certs.path();

    // 1. The files rewritten in place.
    let second = https.ca.leaf("second", 60 * DAY);
    std::fs::write(&https.cert, &second.chain_pem).expect("write cert");
    std::fs::write(&https.key, &second.key_pem).expect("write key");
    let took = https.wait_served(&second, 3 * SECOND).await;
    eprintln!("rewritten in place: new handshakes served the new certificate after {took:?}");
    listener.read_for(SECOND).await;

    // 2. New files renamed over the old (certbot's archive writes, an editor's save).
    let third = https.ca.leaf("third", 90 * DAY);
    rename_over(&https.cert, &third.chain_pem);
    rename_over(&https.key, &third.key_pem);
    let took = https.wait_served(&third, 3 * SECOND).await;
    eprintln!("renamed over: served after {took:?}");
    listener.read_for(SECOND).await;

    // 3. A symlink swapped, as Kubernetes updates a mounted secret: the files become links
    // into `..data`, itself a link to a folder of the current pair, swapped by a rename.
    let fourth = https.ca.leaf("fourth", 90 * DAY);
    let version = folder.join("..v4");
    std::fs::create_dir(&version).expect("version folder");
    fourth.write(&version);
    std::os::unix::fs::symlink("..v4", folder.join("..data_tmp")).expect("link");
    std::fs::rename(folder.join("..data_tmp"), folder.join("..data")).expect("swap link");
    for (file, name) in [(&https.cert, "cert.pem"), (&https.key, "key.pem")] {
        let link = folder.join(format!("{name}.link"));
        std::os::unix::fs::symlink(format!("..data/{name}"), &link).expect("file link");
        std::fs::rename(&link, file).expect("link over the file");
    }
    let took = https.wait_served(&fourth, 3 * SECOND).await;
    eprintln!("symlink swapped: served after {took:?}");
    listener.read_for(SECOND).await;

    // The listener never noticed: still connected, whole frames, audio kept coming.
    assert!(!listener.eof, "the listener was dropped by a rotation");
    let heard = walk(&listener.body);
    let elapsed = started.elapsed();
    assert!(
        heard.audio + 2 * SECOND >= elapsed + 4 * SECOND,
        "{heard:?} in {elapsed:?} after a 4 s burst: audio stopped during a rotation"
    );
    assert_eq!(https.reloads("loaded").await, 3);
    assert_eq!(https.reloads("refused").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_pair_is_refused_and_the_old_one_kept() {
    let https = Https::start("", "").await;
    let good = &https.first;
    let other = https.ca.leaf("other", 30 * DAY);
    let expired = https.ca.leaf_between(
        "expired",
        std::time::SystemTime::now() - 30 * DAY,
        std::time::SystemTime::now() - DAY,
    );
    let future = https.ca.leaf_between(
        "future",
        std::time::SystemTime::now() + DAY,
        std::time::SystemTime::now() + 30 * DAY,
    );
    let cases: [(&str, String, String); 5] = [
        (
            "a key that is not the certificate's",
            other.chain_pem.clone(),
            good.key_pem.clone(),
        ),
        (
            "an expired certificate",
            expired.chain_pem.clone(),
            expired.key_pem.clone(),
        ),
        (
            "a certificate not valid yet",
            future.chain_pem.clone(),
            future.key_pem.clone(),
        ),
        (
            "garbage",
            "not a certificate\n".into(),
            good.key_pem.clone(),
        ),
        ("an empty key", good.chain_pem.clone(), String::new()),
    ];
    for (n, (what, cert, key)) in cases.iter().enumerate() {
        rename_over(&https.cert, cert);
        rename_over(&https.key, key);
        let refused = n as u64 + 1;
        let started = Instant::now();
        while https.reloads("refused").await < refused {
            assert!(started.elapsed() < 5 * SECOND, "{what} was not refused");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            https.served().await,
            good.der,
            "{what}: the old pair is kept"
        );
    }
    // A good pair again is served.
    let renewed = https.ca.leaf("renewed", 30 * DAY);
    rename_over(&https.cert, &renewed.chain_pem);
    rename_over(&https.key, &renewed.key_pem);
    https.wait_served(&renewed, 3 * SECOND).await;
    assert_eq!(https.reloads("loaded").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_redirected_to_https_and_hsts_is_sent_when_asked() {
    let https = Https::start("", "redirect_http = true\nhsts_max_age_s = 600\n").await;
    let plain = https.server.get("/jazz?player=1").await;
    assert_eq!(plain.status(), 308, "{}", plain.status_line);
    assert_eq!(
        plain.header("location"),
        Some(format!("https://test:{}/jazz?player=1", https.tls_addr().port()).as_str())
    );
    assert!(plain.header("strict-transport-security").is_none());
    assert_eq!(
        https.server.listeners("jazz"),
        0,
        "a redirect is no listener"
    );
    let mut status = https.get("/status.json", "").await;
    assert_eq!(status.status(), 200);
    assert_eq!(
        status.header("strict-transport-security"),
        Some("max-age=600")
    );
    status.read_full(5 * SECOND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_pushes_a_live_source_over_tls() {
    let Some(_) = installed_tool(&["/usr/bin/ffmpeg"], "apt-get install ffmpeg") else {
        return;
    };
    let https = Https::start("", "[live]\npassword = \"pw-over-tls\"\n").await;
    let source = sample("ambient.aac");
    let file = https.certs.path().join("live.aac");
    std::fs::write(&file, source).expect("write source");
    let mut ffmpeg = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-re", "-i"])
        .arg(&file)
        .args([
            "-c",
            "copy",
            "-f",
            "adts",
            "-content_type",
            "audio/aac",
            "-tls",
            "1",
        ])
        .arg(format!(
            "icecast://source:pw-over-tls@localhost:{}/jazz",
            https.tls_addr().port()
        ))
        .kill_on_drop(true)
        .spawn()
        .expect("run ffmpeg");
    let started = Instant::now();
    let live = loop {
        let mut status = https.server.get("/status.json").await;
        status.read_full(5 * SECOND).await;
        let status: serde_json::Value = serde_json::from_slice(&status.body).expect("JSON");
        let live = status["stations"][0]["live"].clone();
        // Going live is not enough: the go-ahead must reach the encoder through the TLS
        // session (it sat there unflushed once, and ffmpeg never sent a byte).
        if live["bytes_in"].as_u64().unwrap_or(0) > 32_000 {
            break live;
        }
        assert!(
            started.elapsed() < 10 * SECOND,
            "the source over TLS never sent its audio: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        live["address"].is_null(),
        "no address in public status: {live}"
    );
    let _ = ffmpeg.kill().await;
}

#[test]
fn onair_check_reports_the_certificate_and_warns_before_it_expires() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let check = |leaf: &Leaf, key_of: Option<&Leaf>| -> (String, onair_server::CheckSummary) {
        let (cert, key) = leaf.write(dir.path());
        if let Some(other) = key_of {
            std::fs::write(&key, &other.key_pem).expect("write key");
        }
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nstations_dir = \"{}\"\nlisten_tls = \"127.0.0.1:8443\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
                dir.path().join("none").display(),
                cert.display(),
                key.display()
            ),
        )
        .expect("write config");
        let source = onair_server::ConfigSource {
            path: Some(config),
            ..Default::default()
        };
        let mut out = Vec::new();
        let summary = onair_server::check(&source, &mut out)
            .expect("config")
            .expect("write");
        (String::from_utf8_lossy(&out).to_string(), summary)
    };
    let (out, summary) = check(&ca.leaf("fine", 60 * DAY), None);
    assert!(
        out.contains("(https)") && out.contains("ok: CN=fine"),
        "{out}"
    );
    assert!(out.contains("for localhost, 127.0.0.1"), "{out}");
    assert_eq!((summary.ok, summary.warnings, summary.errors), (1, 0, 0));
    let (out, summary) = check(&ca.leaf("soon", 10 * DAY), None);
    assert!(out.contains("warning: expires soon: CN=soon"), "{out}");
    assert_eq!(summary.warnings, 1);
    let other = ca.leaf("other", 60 * DAY);
    let (out, summary) = check(&ca.leaf("mismatch", 60 * DAY), Some(&other));
    assert!(
        out.contains("error:") && out.contains("is not the key of"),
        "{out}"
    );
    assert_eq!(summary.errors, 1);
}

/// Reads what the server sends on `stream` until it closes; panics if it stays open `within`.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let deadline = Instant::now() + within;
    loop {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => panic!("the connection was still open after {within:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_garbage_and_silence_on_the_https_port_are_closed_and_disturb_nobody() {
    use tokio::io::AsyncWriteExt;
    let https = Https::start("header_timeout_s = 1\n", "").await;
    let mut listener = https.get("/jazz", "").await;
    let started = Instant::now();
    for (what, bytes) in [
        (
            "plain HTTP",
            &b"GET /jazz HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
        ),
        ("garbage", &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3][..]),
        ("nothing at all", &b""[..]),
    ] {
        let mut stream = tokio::net::TcpStream::connect(https.tls_addr())
            .await
            .expect("connect");
        stream.write_all(bytes).await.expect("send");
        let answer = closed_within(&mut stream, 5 * SECOND).await;
        assert!(
            !String::from_utf8_lossy(&answer).contains("HTTP/1"),
            "{what}: no HTTP answer in the clear"
        );
    }
    // An HTTP/2 connection that asks for nothing is closed too (as hyper closes an idle
    // HTTP/1.1 one), where it would hold its descriptor for ever.
    let mut idle = https.ca.connect(https.tls_addr(), &[b"h2"]).await;
    assert_eq!(idle.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let closed = timeout(5 * SECOND, async {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 1024];
        while matches!(idle.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
    assert!(closed.is_ok(), "an idle HTTP/2 connection stayed open");
    // The listener played on, and new handshakes are served.
    listener.read_for(SECOND).await;
    assert!(!listener.eof);
    let heard = walk(&listener.body);
    assert!(
        heard.audio + 2 * SECOND >= started.elapsed() + 4 * SECOND,
        "{heard:?}"
    );
    assert_eq!(https.served().await, https.first.der);
    let plain = https.server.get("/healthz").await;
    assert_eq!(plain.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_a_config_edit_load_a_new_pair() {
    // The files live behind a symlinked folder (`current -> v1`), as some deployments keep
    // their certificates: swapping the folder link is an event of a folder onair does not
    // watch, so it is SIGHUP that loads the new pair at once (else the minute's look would).
    let ca = TestCa::new();
    let certs = tempfile::tempdir().expect("temp dir");
    let first = ca.leaf("first", 30 * DAY);
    std::fs::create_dir(certs.path().join("v1")).expect("v1");
    first.write(&certs.path().join("v1"));
    std::os::unix::fs::symlink("v1", certs.path().join("current")).expect("link");
    let current = certs.path().join("current");
    let tls_keys = |folder: &Path| {
        format!(
            "listen_tls = \"127.0.0.1:0\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            folder.join("cert.pem").display(),
            folder.join("key.pem").display()
        )
    };
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], &tls_keys(&current)).await;
    let addr = server.tls_addr.expect("HTTPS");
    wait_served(&ca, addr, &first, SECOND).await;
    let mut listener = HttpResponse::send_on(
        ca.connect(addr, &[b"http/1.1"]).await,
        "GET /jazz HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await;

    let second = ca.leaf("second", 30 * DAY);
    std::fs::create_dir(certs.path().join("v2")).expect("v2");
    second.write(&certs.path().join("v2"));
    std::os::unix::fs::symlink("v2", certs.path().join("current.tmp")).expect("link");
    std::fs::rename(certs.path().join("current.tmp"), &current).expect("swap the folder link");
    let status = Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .await
        .expect("run kill");
    assert!(status.success());
    // Within 2 s, where the minute's look would take up to 60.
    let took = wait_served(&ca, addr, &second, 2 * SECOND).await;
    eprintln!("SIGHUP: the new pair served after {took:?}");

    // The config names other files: they are read at once.
    let third = ca.leaf("third", 30 * DAY);
    let elsewhere = certs.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("folder");
    third.write(&elsewhere);
    server.edit_config(&tls_keys(&elsewhere));
    wait_served(&ca, addr, &third, 5 * SECOND).await;
    listener.read_for(SECOND).await;
    assert!(!listener.eof, "the listener stayed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_listener_that_reads_nothing_is_dropped_after_client_timeout() {
    use onair_core::testing::{adts_stream, FrameSpec};
    use tokio::io::AsyncWriteExt;
    // A loud synthetic station (about 750 kB/s) with a 20 s burst floods any socket buffer
    // at once; over TLS too the listener that then reads nothing is dropped, and a reading
    // one is served on.
    let spec = FrameSpec {
        sample_rate_index: 0,
        payload_len: 8000,
        ..FrameSpec::default()
    };
    let ca = TestCa::new();
    let certs = tempfile::tempdir().expect("temp dir");
    let (cert, key) = ca.leaf("loud", 30 * DAY).write(certs.path());
    let config = format!(
        "listen_tls = \"127.0.0.1:0\"\n[pacing]\nburst_ms = 20000\nqueue_ms = 60000\nclient_timeout_s = 1\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let server = TestServer::start(&[("loud.aac", &adts_stream(&spec, 1000))], &config).await;
    let addr = server.tls_addr.expect("HTTPS");
    let mut stuck = ca.connect(addr, &[b"http/1.1"]).await;
    stuck
        .write_all(b"GET /loud HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("send");
    server.wait_listeners("loud", 1, 2 * SECOND).await;
    let mut steady = HttpResponse::send_on(
        ca.connect(addr, &[b"http/1.1"]).await,
        "GET /loud HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await;
    steady.read_for(SECOND).await;
    // The stuck one is gone within the timeout (and the time to fill its buffers).
    server.wait_listeners("loud", 1, 10 * SECOND).await;
    steady.read_for(SECOND).await;
    assert!(!steady.eof, "the reading listener stays");
    drop(stuck);
}

/// One HTTPS connection opening audio streams over HTTP/2 and giving them no window (it answers
/// pings, so the connection lives) holds no listener slots for ever: past a few streams it is
/// refused, and the streams it holds are dropped after `client_timeout_s`, as an HTTP/1.1
/// listener that reads nothing is. With `max_listeners = 5`, newcomers then get in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_streams_given_no_window_are_capped_and_dropped_after_client_timeout() {
    let ca = TestCa::new();
    let certs = tempfile::tempdir().expect("temp dir");
    let (cert, key) = ca.leaf("h2", 30 * DAY).write(certs.path());
    let config = format!(
        "listen_tls = \"127.0.0.1:0\"\nmax_listeners = 5\n[pacing]\nclient_timeout_s = 2\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], &config).await;
    let addr = server.tls_addr.expect("HTTPS");
    let tls = ca.connect(addr, &[b"h2"]).await;
    // No window for any stream's data; the connection itself is served (pings answered).
    let (client, connection) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, bytes::Bytes>(tls)
        .await
        .expect("HTTP/2 handshake");
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut statuses = Vec::new();
    let mut held = Vec::new();
    for _ in 0..6 {
        let mut client = client.clone().ready().await.expect("ready");
        let request = http::Request::get(format!("https://localhost:{}/jazz", addr.port()))
            .body(())
            .expect("request");
        let (response, _) = client.send_request(request, true).expect("send");
        let response = timeout(5 * SECOND, response)
            .await
            .expect("answered")
            .expect("response");
        statuses.push(response.status().as_u16());
        held.push(response);
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 429, 429],
        "a few streams a connection"
    );
    assert_eq!(server.listeners("jazz"), 4, "the four hold slots");
    let mut reader = server.get("/jazz").await;
    assert!(reader.status_line.contains("200"), "{}", reader.status_line);
    let full = server.get("/jazz").await;
    assert!(full.status_line.contains("503"), "{}", full.status_line);
    // No window for 2 s: each stream is dropped, as a stalled HTTP/1.1 listener is.
    let started = Instant::now();
    while server.listeners("jazz") != 1 {
        assert!(
            started.elapsed() < 8 * SECOND,
            "the HTTP/2 streams were never dropped"
        );
        reader.read_for(SECOND / 4).await;
    }
    assert!(!reader.eof, "the reading listener stays");
    let mut newcomer = server.get("/jazz").await;
    assert!(
        newcomer.status_line.contains("200"),
        "{}",
        newcomer.status_line
    );
    newcomer.read_for(SECOND).await;
    assert!(!newcomer.body.is_empty());
    drop(held);
    drop(client);
    driver.abort();
}
