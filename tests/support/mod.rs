//! Test support: a real onair server on `127.0.0.1:0`, a raw HTTP/1 client, and ADTS checks.
//!
//! The client is deliberately raw TCP: the tests check bytes on the wire (status line, framing,
//! close-delimited bodies) the way a hardware radio would see them.

pub mod frames;
pub mod ogg;
pub mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use onair_core::{AdtsHeader, TestClock, WallClock};
use onair_server::{Config, ConfigError, ConfigSource, Server, StationRegistry, METAINT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};
use tokio_util::sync::CancellationToken;

/// The repository root (the `tests` crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Config text for a server in `dir`: its address, its stations folder, then `extra`.
/// The config a test server starts with: its address and folder, then `extra`.
pub fn config_text(dir: &Path, extra: &str) -> String {
    let stations = dir.join("stations").display().to_string();
    format!("[server]\nlisten = \"127.0.0.1:0\"\nstations_dir = {stations:?}\n{extra}")
}

/// Waits (bounded) until `ready` holds, polling every 20 ms; returns how long it took.
pub async fn eventually(what: &str, within: Duration, mut ready: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < within, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// A test station's bytes: `jazz.aac` or `ambient.aac`, 10 s fixtures made by `tests/fixtures/make.sh`.
pub fn sample(name: &str) -> Vec<u8> {
    let fixture = format!("station-{}", name);
    std::fs::read(repo_root().join("tests/fixtures").join(fixture)).expect("test station fixture")
}

/// One of the shipped sample stations in `stations/` (only for tests whose subject they are).
pub fn shipped_station(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("stations").join(name)).expect("shipped sample station")
}

/// `folder/<track>` for each of `tracks`, with the bytes of `tests/fixtures/programme/<track>`:
/// a programme folder for [`TestServer::start_owned`].
pub fn programme_files(folder: &str, tracks: &[&str]) -> Vec<(String, Vec<u8>)> {
    tracks
        .iter()
        .map(|t| {
            let bytes = std::fs::read(fixture("programme").join(t)).expect("programme fixture");
            (format!("{folder}/{t}"), bytes)
        })
        .collect()
}

/// Writes station file `name` (`folder/track.mp3` makes a programme folder) into the stations
/// folder under `dir`; returns its path.
fn write_station_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join("stations").join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("programme folder");
    }
    std::fs::write(&path, bytes).expect("write station file");
    path
}

/// Sets the modification time of the file at `path`.
pub fn set_modified(path: &Path, modified: std::time::SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(modified))
        .expect("set the modification time");
}

/// A stream read with `Icy-MetaData: 1`, taken apart: its audio, and each metadata block (its
/// text, `None` for `L = 0`) with the number of audio bytes before it. Every block must be
/// `StreamTitle='...';`, UTF-8, NUL-padded.
pub fn strip_icy(bytes: &[u8]) -> (Vec<u8>, Vec<(usize, Option<String>)>) {
    let (mut audio, mut blocks) = (Vec::new(), Vec::new());
    let mut pos = 0;
    while pos + METAINT < bytes.len() {
        audio.extend_from_slice(&bytes[pos..pos + METAINT]);
        pos += METAINT;
        let len = usize::from(bytes[pos]) * 16;
        if pos + 1 + len > bytes.len() {
            break;
        }
        let block = &bytes[pos + 1..pos + 1 + len];
        let text = (len > 0).then(|| {
            let text = std::str::from_utf8(block)
                .expect("UTF-8 metadata")
                .trim_end_matches('\0');
            assert!(
                text.starts_with("StreamTitle='") && text.ends_with("';"),
                "{text:?}"
            );
            assert!(block[text.len()..].iter().all(|&b| b == 0), "NUL padding");
            text.to_string()
        });
        blocks.push((audio.len(), text));
        pos += 1 + len;
    }
    (audio, blocks)
}

/// Station `name` in a `/status.json` document; panics when it is not listed.
pub fn station_in(status: &serde_json::Value, name: &str) -> serde_json::Value {
    status["stations"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name).cloned())
        .unwrap_or_else(|| panic!("{name} listed in {status}"))
}

/// A committed fixture's path.
pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

/// A server running in this test's runtime, over a temporary folder holding `config.toml` and
/// `stations/`.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it listens for HTTPS, when the config sets `listen_tls`.
    pub tls_addr: Option<SocketAddr>,
    /// Its stations.
    pub registry: Arc<StationRegistry>,
    /// The config in force.
    pub config: watch::Receiver<Arc<Config>>,
    /// Why the config file was last rejected.
    pub config_error: watch::Receiver<Option<ConfigError>>,
    /// The server's wall clock: it runs with the real one from the start, and a test steps it
    /// instead of waiting (what plays when, HLS windows, programme switches).
    pub clock: Arc<TestClock>,
    /// The temporary folder.
    pub dir: tempfile::TempDir,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server whose stations folder holds `files`, with `extra` appended to a config
    /// that sets only the address and folder (so lines of `extra` before its first table header
    /// are `[server]` keys).
    pub async fn start(files: &[(&str, &[u8])], extra: &str) -> TestServer {
        let clock = TestClock::starting_at(std::time::SystemTime::now());
        TestServer::start_with_clock(files, extra, clock).await
    }

    /// Like [`start`](Self::start), on a wall clock the test chose.
    pub async fn start_with_clock(
        files: &[(&str, &[u8])],
        extra: &str,
        clock: Arc<TestClock>,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("stations")).expect("stations folder");
        for (name, bytes) in files {
            write_station_file(dir.path(), name, bytes);
        }
        std::fs::write(
            dir.path().join("config.toml"),
            config_text(dir.path(), extra),
        )
        .expect("write config");
        TestServer::launch(dir, clock).await
    }

    /// Like [`start_with_clock`](Self::start_with_clock), each file (and the config file, when
    /// `config_modified` is given) with the modification time given, as `rsync -a` or `cp -p`
    /// would deploy it.
    pub async fn start_dated(
        files: &[(String, Vec<u8>, std::time::SystemTime)],
        extra: &str,
        config_modified: Option<std::time::SystemTime>,
        clock: Arc<TestClock>,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("stations")).expect("stations folder");
        for (name, bytes, modified) in files {
            let path = write_station_file(dir.path(), name, bytes);
            set_modified(&path, *modified);
        }
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, config_text(dir.path(), extra)).expect("write config");
        if let Some(modified) = config_modified {
            set_modified(&config_path, modified);
        }
        TestServer::launch(dir, clock).await
    }

    /// Starts a server on the stations folder and config file in `dir`.
    async fn launch(dir: tempfile::TempDir, clock: Arc<TestClock>) -> TestServer {
        let config_path = dir.path().join("config.toml");
        let source = ConfigSource {
            path: Some(config_path),
            ..ConfigSource::default()
        };
        let wall = Arc::clone(&clock) as Arc<dyn WallClock>;
        let server = Server::bind_with_clock(source, wall).await.expect("bind");
        let addr = server.local_addr();
        let tls_addr = server.local_tls_addr();
        let registry = server.registry();
        // Stations are probed in the background; the tests start from a server that has them.
        timeout(Duration::from_secs(10), registry.settled())
            .await
            .expect("the stations are probed within 10 s");
        let config = server.config();
        let config_error = server.config_error();
        let stop = CancellationToken::new();
        let signal = stop.clone();
        let task = tokio::spawn(async move { server.run(signal.cancelled_owned()).await });
        TestServer {
            addr,
            tls_addr,
            registry,
            config,
            config_error,
            clock,
            dir,
            stop,
            task: Some(task),
        }
    }

    /// Like [`start`](Self::start), with files owned by the caller.
    pub async fn start_owned(files: &[(String, Vec<u8>)], extra: &str) -> TestServer {
        let files: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        TestServer::start(&files, extra).await
    }

    /// The stations folder.
    pub fn stations(&self) -> PathBuf {
        self.dir.path().join("stations")
    }

    /// The config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    /// Rewrites the config file with `extra` after the address and folder, as an editor that
    /// saves by rename does.
    pub fn edit_config(&self, extra: &str) {
        self.edit_config_dated(extra, None);
    }

    /// Like [`edit_config`](Self::edit_config), the file with modification time `modified`
    /// when given (as a deploy tool that keeps times writes it).
    pub fn edit_config_dated(&self, extra: &str, modified: Option<std::time::SystemTime>) {
        let temp = self.dir.path().join(".config.toml.swp");
        std::fs::write(&temp, config_text(self.dir.path(), extra)).expect("write config");
        if let Some(modified) = modified {
            set_modified(&temp, modified);
        }
        std::fs::rename(&temp, self.config_path()).expect("rename config");
    }

    /// Listeners tuned to `station` now.
    pub fn listeners(&self, station: &str) -> usize {
        self.registry.get(station).map_or(0, |s| s.hub.listeners())
    }

    /// Waits (bounded) until `station` has `n` listeners.
    pub async fn wait_listeners(&self, station: &str, n: usize, within: Duration) {
        let what = format!("{station} has {n} listeners");
        eventually(&what, within, || self.listeners(station) == n).await;
    }

    /// Shuts the server down as SIGTERM would; returns how long it took.
    pub async fn shutdown(mut self) -> Duration {
        let started = Instant::now();
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            timeout(Duration::from_secs(10), task)
                .await
                .expect("server stops within 10 s")
                .expect("server task");
        }
        started.elapsed()
    }

    /// `/status.json`, parsed.
    pub async fn status_json(&self) -> serde_json::Value {
        let mut response = self.get("/status.json").await;
        response.read_full(Duration::from_secs(5)).await;
        serde_json::from_slice(&response.body).expect("status JSON")
    }

    /// `GET path` over HTTP/1.1.
    pub async fn get(&self, path: &str) -> HttpResponse {
        HttpResponse::send(
            self.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: test\r\nUser-Agent: onair-tests\r\n\r\n"),
        )
        .await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A response read off a raw TCP connection: the head parsed, the body read on demand.
pub struct HttpResponse {
    /// The status line, e.g. `HTTP/1.0 200 OK`.
    pub status_line: String,
    /// Header names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes read so far.
    pub body: Vec<u8>,
    /// Whether the server closed the connection.
    pub eof: bool,
    stream: Box<dyn Io>,
}

/// A client's byte stream: TCP, or TLS over it.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

impl HttpResponse {
    /// Sends `raw` and reads the response head.
    pub async fn send(addr: SocketAddr, raw: &str) -> HttpResponse {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Self::send_on(stream, raw).await
    }

    /// Like [`send`](Self::send), from a socket whose receive buffer is `receive_buffer` bytes
    /// (as a phone's or an embedded player's), so that what the client's kernel holds for it
    /// does not hide what the server does.
    pub async fn send_with_receive_buffer(
        addr: SocketAddr,
        raw: &str,
        receive_buffer: u32,
    ) -> HttpResponse {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .set_recv_buffer_size(receive_buffer)
            .expect("receive buffer");
        let stream = socket.connect(addr).await.expect("connect");
        Self::send_on(stream, raw).await
    }

    /// Sends `raw` over `stream` (a TLS connection, say) and reads the response head.
    pub async fn send_on(stream: impl Io + 'static, raw: &str) -> HttpResponse {
        let mut stream: Box<dyn Io> = Box::new(stream);
        stream
            .write_all(raw.as_bytes())
            .await
            .expect("send request");
        let mut buf = Vec::new();
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            let mut chunk = [0u8; 4096];
            let n = timeout(Duration::from_secs(5), stream.read(&mut chunk))
                .await
                .expect("response head within 5 s")
                .expect("read head");
            assert!(
                n > 0,
                "connection closed before the response head: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default().to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        HttpResponse {
            status_line,
            headers,
            body: buf[head_end + 4..].to_vec(),
            eof: false,
            stream,
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Reads the body for `d` (or until the server closes).
    pub async fn read_for(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while !self.eof {
            let mut chunk = vec![0u8; 64 * 1024];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => break,
                Ok(Ok(0)) | Ok(Err(_)) => self.eof = true,
                Ok(Ok(n)) => self.body.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads until the body holds `n` bytes; panics after `within`.
    pub async fn read_at_least(&mut self, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.body.len() < n {
            assert!(
                !self.eof,
                "stream ended after {} of {n} bytes",
                self.body.len()
            );
            assert!(
                Instant::now() < deadline,
                "only {} of {n} bytes within {within:?}",
                self.body.len()
            );
            self.read_for(Duration::from_millis(50)).await;
        }
    }

    /// Reads a whole `Content-Length` body (or, without one, until the server closes).
    pub async fn read_full(&mut self, within: Duration) {
        match self.header("content-length").and_then(|n| n.parse().ok()) {
            Some(n) => self.read_at_least(n, within).await,
            None => self.read_to_end(within).await,
        }
    }

    /// Reads until the server closes; panics after `within`.
    pub async fn read_to_end(&mut self, within: Duration) {
        self.read_for(within).await;
        assert!(self.eof, "the server did not close within {within:?}");
    }
}

/// What a run of ADTS bytes holds.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Walk {
    /// Whole frames.
    pub frames: usize,
    /// Their audio duration.
    pub audio: Duration,
    /// Bytes after the last whole frame (a frame cut off by the end of the read).
    pub tail: usize,
}

/// Walks `bytes` as consecutive ADTS frames from byte 0; panics at the first byte that does not
/// continue the chain.
pub fn walk(bytes: &[u8]) -> Walk {
    let mut pos = 0;
    let mut w = Walk::default();
    while pos < bytes.len() {
        match AdtsHeader::parse(&bytes[pos..]) {
            Ok(h) if pos + usize::from(h.frame_length) <= bytes.len() => {
                w.frames += 1;
                w.audio += Duration::from_nanos(
                    u64::from(h.samples()) * 1_000_000_000 / u64::from(h.sample_rate()),
                );
                pos += usize::from(h.frame_length);
            }
            Ok(_) => break,
            Err(onair_core::HeaderError::Short) => break,
            Err(e) => panic!(
                "byte {pos} of {} does not start an ADTS frame: {e:?}",
                bytes.len()
            ),
        }
    }
    w.tail = bytes.len() - pos;
    w
}

/// Runs ffmpeg on `url` for `seconds` of audio; returns its error output (empty when the
/// decode was clean), or `None` when ffmpeg is not installed on a developer's machine. Under CI
/// (`CI` set) a missing ffmpeg is a failure: `.ci/run` installs it.
pub async fn ffmpeg_decode(url: &str, seconds: u32) -> Option<String> {
    let output = tokio::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-i",
            url,
            "-t",
            &seconds.to_string(),
            "-f",
            "null",
            "-",
        ])
        .kill_on_drop(true)
        .output();
    let output = match timeout(Duration::from_secs(30), output)
        .await
        .expect("ffmpeg finishes within 30 s")
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: ffmpeg is not installed, so no real decoder checked {url} (apt-get install ffmpeg)");
            return None;
        }
        Err(e) => panic!("cannot run ffmpeg: {e} (apt-get install ffmpeg; .ci/run does this)"),
    };
    let mut errors = String::from_utf8_lossy(&output.stderr).to_string();
    if !output.status.success() {
        errors.push_str(&format!("\nffmpeg exited with {}", output.status));
    }
    Some(errors)
}

/// The audio packets ffprobe reads from `url` in its first `seconds`: `(pts, duration)` in
/// seconds, and what it reported on stderr. `None` (skipped) without ffprobe outside CI.
pub async fn ffprobe_packets(url: &str, seconds: u32) -> Option<(Vec<(f64, f64)>, String)> {
    let output = tokio::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a",
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "csv=p=0",
            "-read_intervals",
            &format!("%+{seconds}"),
            url,
        ])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = match timeout(Duration::from_secs(u64::from(seconds) + 30), output)
        .await
        .expect("ffprobe finishes")
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: ffprobe is not installed (apt-get install ffmpeg)");
            return None;
        }
        Err(e) => panic!("cannot run ffprobe: {e} (apt-get install ffmpeg; .ci/run does this)"),
    };
    let packets = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (pts, duration) = line.trim().trim_end_matches(',').split_once(',')?;
            Some((pts.parse().ok()?, duration.parse().ok()?))
        })
        .collect();
    Some((packets, String::from_utf8_lossy(&output.stderr).to_string()))
}

/// A real client the end-to-end tests drive, where it may be installed, and how to install it.
pub struct RealClient {
    /// What it is called.
    pub name: &'static str,
    /// Where it may be (the first that exists).
    pub paths: &'static [&'static str],
    /// How to install it.
    pub install: &'static str,
}

impl RealClient {
    /// Where it is installed, if it is.
    pub fn find(&self) -> Option<PathBuf> {
        self.paths
            .iter()
            .map(|p| repo_root().join(p))
            .find(|p| p.exists())
    }
}

/// A live source on `server`'s station `station` (user `source`, password `pw`), announcing
/// `content_type`, its go-ahead read whole (a socket closed with unread bytes is reset, and the
/// server would lose what it had not read of the source yet).
pub async fn live_source(server: &TestServer, station: &str, content_type: &str) -> TcpStream {
    let mut source = TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "SOURCE /{station} HTTP/1.0\r\nAuthorization: Basic c291cmNlOnB3\r\nContent-Type: {content_type}\r\n\r\n"
    );
    source.write_all(head.as_bytes()).await.expect("head");
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = timeout(Duration::from_secs(5), source.read(&mut byte))
            .await
            .expect("an answer within 5 s")
            .expect("read");
        assert!(
            n == 1,
            "the server closed: {}",
            String::from_utf8_lossy(&answer)
        );
        answer.push(byte[0]);
    }
    assert!(
        answer.starts_with(b"HTTP/1.0 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    source
}

/// Every real client some test needs (`tests/tools.rs` says which are missing on every run).
pub const REAL_CLIENTS: &[RealClient] = &[
    RealClient {
        name: "ffmpeg",
        paths: &["/usr/bin/ffmpeg"],
        install: "apt-get install ffmpeg",
    },
    RealClient {
        name: "ffprobe",
        paths: &["/usr/bin/ffprobe"],
        install: "apt-get install ffmpeg",
    },
    RealClient {
        name: "chromium",
        paths: &[
            "/usr/bin/chromium",
            "/usr/bin/chromium-browser",
            "/usr/lib/chromium/chromium",
        ],
        install: "apt-get install chromium",
    },
    RealClient {
        name: "hls.js",
        paths: &["tests/hlsjs/node_modules/hls.js/dist/hls.min.js"],
        install: "cd tests/hlsjs && npm install",
    },
    RealClient {
        name: "nginx",
        paths: &["/usr/sbin/nginx", "/usr/bin/nginx"],
        install: "apt-get install nginx",
    },
    RealClient {
        name: "curl",
        paths: &["/usr/bin/curl"],
        install: "apt-get install curl",
    },
    RealClient {
        name: "ezstream",
        paths: &["/usr/bin/ezstream"],
        install: "apt-get install ezstream",
    },
    RealClient {
        name: "liquidsoap",
        paths: &["/usr/bin/liquidsoap"],
        install: "apt-get install liquidsoap",
    },
    RealClient {
        name: "gstreamer",
        paths: &["/usr/bin/gst-launch-1.0"],
        install: "apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good",
    },
    RealClient {
        name: "icecast2",
        paths: &["/usr/bin/icecast2"],
        install: "apt-get install icecast2",
    },
    RealClient {
        name: "mpv",
        paths: &["/usr/bin/mpv"],
        install: "apt-get install mpv",
    },
    RealClient {
        name: "vlc",
        paths: &["/usr/bin/cvlc"],
        install: "apt-get install vlc-bin vlc-plugin-base",
    },
    RealClient {
        name: "goaccess",
        paths: &["/usr/bin/goaccess"],
        install: "apt-get install goaccess",
    },
];

/// The first of `paths` that exists, or `None` (the test is skipped) on a developer machine
/// without the tool. Under CI a missing tool is a failure: `.ci/run` installs it. Every
/// `cargo test --workspace` says which are missing (`tests/tools.rs`), since a skipped test
/// passes.
pub fn installed_tool(paths: &[&str], install: &str) -> Option<PathBuf> {
    let found = paths.iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is not installed ({install}; .ci/run does this)",
            paths[0]
        );
        eprintln!("SKIPPED: {} is not installed ({install})", paths[0]);
    }
    found
}

/// An HLS segment's ID3 PRIV timestamp (90 kHz) and the ADTS frames after its ID3 tag.
pub fn split_hls_segment(bytes: &[u8]) -> (u64, &[u8]) {
    assert_eq!(&bytes[..4], b"ID3\x04", "an ID3v2.4 tag first");
    let size = bytes[6..10]
        .iter()
        .fold(0usize, |a, &b| (a << 7) | usize::from(b));
    let tag = &bytes[..10 + size];
    let owner = b"com.apple.streaming.transportStreamTimestamp\0";
    let at = tag
        .windows(owner.len())
        .position(|w| w == owner)
        .expect("PRIV")
        + owner.len();
    let pts = u64::from_be_bytes(tag[at..at + 8].try_into().expect("8 bytes"));
    (pts, &bytes[10 + size..])
}

/// A [`Log`] capturing, until dropped.
pub struct Capture {
    _guard: tracing::subscriber::DefaultGuard,
    _second: tracing::Dispatch,
}

/// The log lines written while it is the default subscriber (this test's thread: the server's
/// tasks run on it).
#[derive(Clone, Default)]
pub struct Log(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = Log;
    fn make_writer(&'a self) -> Log {
        self.clone()
    }
}

impl Log {
    /// Makes this log the default subscriber of the calling thread for as long as the guard
    /// lives (a current-thread test runtime: the server's tasks run on it).
    pub fn capture(&self) -> Capture {
        let guard = tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_writer(self.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .finish(),
        );
        // With a single scoped subscriber registered, tracing asks only the *calling* thread's
        // subscriber whether a call site is wanted: a line first logged on another test's
        // thread (no subscriber there) would be switched off for this one too. A second
        // registered dispatcher makes it ask every one.
        let second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        Capture {
            _guard: guard,
            _second: second,
        }
    }

    /// All it holds.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log")).into_owned()
    }

    /// Lines holding every one of `words`.
    pub fn count(&self, words: &[&str]) -> usize {
        let text = String::from_utf8_lossy(&self.0.lock().expect("log")).into_owned();
        text.lines()
            .filter(|l| words.iter().all(|w| l.contains(w)))
            .count()
    }
}
