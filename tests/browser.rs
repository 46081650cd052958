//! The web page in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `.ci/run`), driven over the DevTools protocol. The page must load without console errors,
//! and pressing play on a station must make its audio advance.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use onair_tests::tls::TestCa;
use onair_tests::{installed_tool, programme_files, sample, TestServer};
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

/// Chromium, or `None` (test skipped) on a developer machine without it.
fn chromium() -> Option<PathBuf> {
    installed_tool(
        &[
            "/usr/bin/chromium",
            "/usr/bin/chromium-browser",
            "/usr/lib/chromium/chromium",
        ],
        "apt-get install chromium",
    )
}

/// One browser test at a time: each runs a Chromium that decodes audio in real time, and four at
/// once on a 2-core CI machine starve each other's players (a test proves a player keeps up, not
/// that four do on a loaded host).
async fn one_browser_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static BROWSER: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    BROWSER.get_or_init(Default::default).lock().await
}

/// A headless Chromium with its own profile, killed on drop.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    socket: WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Console errors, exceptions and failed loads seen so far.
    errors: Vec<String>,
}

impl Browser {
    fn start(binary: &Path) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--mute-audio",
                "--autoplay-policy=no-user-gesture-required",
                "--remote-debugging-port=0",
                // The HTTPS tests' certificates come from a CA made at test time.
                "--ignore-certificate-errors",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        // Chromium writes the port it chose into the profile.
        let port_file = profile.path().join("DevToolsActivePort");
        let started = Instant::now();
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                if let Some(port) = text
                    .lines()
                    .next()
                    .and_then(|l| l.trim().parse::<u16>().ok())
                {
                    break port;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromium did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let targets = http_get(port, "/json/list");
        let targets: Value = serde_json::from_str(&targets).expect("targets JSON");
        let page = targets
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_string();
        let (socket, _) = tungstenite::connect(page.as_str()).expect("DevTools websocket");
        if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = socket.get_ref() {
            tcp.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
        }
        let mut browser = Browser {
            child,
            _profile: profile,
            socket,
            next_id: 0,
            errors: Vec::new(),
        };
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
            browser.call(domain, json!({}));
        }
        browser
    }

    /// Sends a DevTools command and returns its result, noting errors among the events.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"id": id, "method": method, "params": params}).to_string();
        self.socket
            .send(Message::text(message))
            .expect("send command");
        loop {
            let message = self.socket.read().expect("DevTools message");
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(text.as_str()).expect("DevTools JSON");
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method}: {value}");
                return value["result"].clone();
            }
            self.note_event(&value);
        }
    }

    fn note_event(&mut self, event: &Value) {
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Runtime.consoleAPICalled") if params["type"] == "error" => {
                self.errors
                    .push(format!("console.error: {}", params["args"]));
            }
            Some("Runtime.exceptionThrown") => {
                self.errors
                    .push(format!("exception: {}", params["exceptionDetails"]));
            }
            Some("Log.entryAdded") if params["entry"]["level"] == "error" => {
                self.errors.push(format!("log: {}", params["entry"]));
            }
            _ => {}
        }
    }

    /// Evaluates a JavaScript expression in the page.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` every 100 ms until `done` holds; panics after `within`.
    fn wait_for(
        &mut self,
        expression: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            let value = self.eval(expression);
            if done(&value) {
                return value;
            }
            assert!(
                started.elapsed() < within,
                "{expression} is still {value} after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Opens the page at `url` and waits (10 s at most) until it shows `station`'s card.
    fn open(&mut self, url: &str, station: &str) {
        self.call("Page.navigate", json!({"url": url}));
        let cards =
            format!("document.querySelectorAll('.card[data-station=\"{station}\"]').length");
        self.wait_for(&cards, Duration::from_secs(10), |v| v == 1);
    }

    /// Presses `station`'s play button on the page and waits (at most `within`) until its audio
    /// has played `seconds`; the card shows no playback error.
    fn play(&mut self, station: &str, seconds: f64, within: Duration) {
        let card = format!("document.querySelector('[data-station=\"{station}\"]");
        self.eval(&format!("{card} .play').click(), true"));
        self.wait_for(&format!("{card} audio').currentTime"), within, |v| {
            v.as_f64().unwrap_or(0.0) >= seconds
        });
        let error = self.eval(&format!("{card} .error').textContent"));
        assert_eq!(error, "", "{station} plays without an error");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tiny blocking HTTP GET to the DevTools endpoint.
fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("DevTools HTTP");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .expect("request");
    let mut reader = std::io::BufReader::new(stream);
    let mut line = String::new();
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).expect("header");
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().expect("length");
            }
        }
        if line.trim().is_empty() {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("body");
    String::from_utf8(body).expect("UTF-8 body")
}

/// A server on `files` with `extra` config, over HTTPS when `tls` (its certificate from a CA
/// made now; the browser is told to ignore that it does not know it); its base URL.
async fn start_server(
    files: &[(String, Vec<u8>)],
    extra: &str,
    tls: bool,
) -> (TestServer, String, Option<tempfile::TempDir>) {
    if !tls {
        let server = TestServer::start_owned(files, extra).await;
        let base = format!("http://{}", server.addr);
        return (server, base, None);
    }
    let certs = tempfile::tempdir().expect("temp dir");
    let (cert, key) = TestCa::new()
        .leaf("browser", Duration::from_secs(86_400))
        .write(certs.path());
    let config = format!(
        "listen_tls = \"127.0.0.1:0\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n{extra}",
        cert.display(),
        key.display()
    );
    let server = TestServer::start_owned(files, &config).await;
    let port = server.tls_addr.expect("HTTPS listener").port();
    (server, format!("https://localhost:{port}"), Some(certs))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_plays_a_station_with_live_counts() {
    page_plays_a_station(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_plays_a_station_over_https() {
    page_plays_a_station(true).await;
}

async fn page_plays_a_station(tls: bool) {
    let Some(binary) = chromium() else { return };
    let _alone = one_browser_at_a_time().await;
    let files = [
        ("jazz.aac".to_string(), sample("jazz.aac")),
        ("ambient.aac".to_string(), sample("ambient.aac")),
    ];
    let (server, base, _certs) = start_server(
        &files,
        "[stations.jazz]\ntitle = \"Jazz Test\"\ngenre = \"Jazz\"\n",
        tls,
    )
    .await;
    let url = format!("{base}/");
    let browser = tokio::task::spawn_blocking(move || {
        let mut browser = Browser::start(&binary);
        browser.call("Page.navigate", json!({"url": url}));
        let cards = browser.wait_for(
            "document.querySelectorAll('.card[data-station]').length",
            Duration::from_secs(10),
            |v| v == 2,
        );
        assert_eq!(cards, 2);
        let title =
            browser.eval("document.querySelector('[data-station=\"jazz\"] .title').textContent");
        assert_eq!(title, "Jazz Test");
        let now =
            browser.eval("document.querySelector('[data-station=\"jazz\"] .now').textContent");
        assert_eq!(now, "Now playing: Jazz Test");
        // Press play: the audio element must start and keep advancing.
        browser.play("jazz", 4.0, Duration::from_secs(20));
        // The live listener count follows without a reload (server-sent events).
        let count = "document.querySelector('[data-station=\"jazz\"] .listeners').textContent";
        browser.wait_for(count, Duration::from_secs(5), |v| v == "1 listener");
        browser
    })
    .await
    .expect("browser steps");
    assert_eq!(server.listeners("jazz"), 1);
    assert!(
        browser.errors.is_empty(),
        "console errors: {:#?}",
        browser.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_plays_an_mp3_programme_across_its_tracks() {
    let Some(binary) = chromium() else { return };
    let _alone = one_browser_at_a_time().await;
    let files = programme_files("mix", &["01 One.mp3", "02 Two.mp3", "03 Three.mp3"]);
    let server = TestServer::start_owned(&files, "").await;
    let url = format!("http://{}/", server.addr);
    let registry = std::sync::Arc::clone(&server.registry);
    let browser = tokio::task::spawn_blocking(move || {
        let mut browser = Browser::start(&binary);
        browser.open(&url, "mix");
        // 7 s of the 6 s programme: Chromium's MP3 decoder crosses every track boundary and the
        // loop point.
        browser.play("mix", 7.0, Duration::from_secs(25));
        // The card names the track playing, pushed over server-sent events as each starts.
        let now = "document.querySelector('[data-station=\"mix\"] .now').textContent";
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..40 {
            seen.insert(browser.eval(now).as_str().unwrap_or_default().to_string());
            if seen.len() >= 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(seen.len() >= 2, "titles shown: {seen:?}");
        // The card lists what played before, newest first.
        let earlier = browser.wait_for(
            "[...document.querySelectorAll('[data-station=\"mix\"] .recent li')].map(li => li.textContent)",
            Duration::from_secs(10),
            |v| v.as_array().is_some_and(|a| !a.is_empty()),
        );
        for title in earlier.as_array().into_iter().flatten() {
            assert!(
                ["Test Trio - One", "Café Noir", "03 Three"].contains(&title.as_str().unwrap_or_default()),
                "{earlier}"
            );
        }
        for title in &seen {
            assert!(
                ["Test Trio - One", "Café Noir", "03 Three"]
                    .iter()
                    .any(|t| title == &format!("Now playing: {t}")),
                "{title}"
            );
        }
        // The title shown is that of the track the page's audio plays (a burst behind the
        // live edge), not the one that has just started on air.
        let station = registry.get("mix").expect("on air");
        let (mut checked, mut behind) = (0, Vec::new());
        for _ in 0..60 {
            let sample = browser.eval(
                "(() => { const h = heard.get('mix'); const c = cards.get('mix'); \
                 return [h.tunedIn - h.burst + c.audio.currentTime * 1000, c.now.textContent]; })()",
            );
            let (at_ms, shown) = (sample[0].as_f64().unwrap_or(0.0), sample[1].clone());
            let title_at = |ms: f64| {
                let wall = std::time::UNIX_EPOCH + Duration::from_millis(ms as u64);
                let placed = station
                    .timeline()
                    .track_at(onair_core::tick_at(station.epoch, wall));
                let near = |tick: u64| {
                    let edge = onair_core::wall_time(station.epoch, tick);
                    edge.duration_since(wall)
                        .or_else(|e| Ok::<_, ()>(e.duration()))
                        .is_ok_and(|d| d < Duration::from_millis(400))
                };
                let title = station.stream_title(Some(&placed.track.meta));
                (format!("Now playing: {title}"), near(placed.started) || near(placed.ends))
            };
            let (expected, near_a_boundary) = title_at(at_ms);
            if !near_a_boundary {
                assert_eq!(shown.as_str(), Some(expected.as_str()), "at {at_ms}");
                checked += 1;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_millis() as f64);
                // How far the audio heard is behind the live edge (a burst, and the
                // browser's own buffer).
                behind.push(now - at_ms);
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        assert!(checked >= 20, "{checked} samples away from track boundaries");
        // The titles checked were those of audio well behind the live edge: a page that
        // showed the live title would have failed them (unless its audio lagged by a whole
        // round of the 6 s programme, which the titles cannot tell apart).
        behind.sort_by(f64::total_cmp);
        let median = behind[behind.len() / 2];
        assert!(median >= 2_000.0, "heard {median} ms behind the live edge");
        browser
    })
    .await
    .expect("browser steps");
    assert!(
        browser.errors.is_empty(),
        "console errors: {:#?}",
        browser.errors
    );
}

/// Chromium's `<audio>` plays an Ogg Opus programme from the page across its track changes and
/// its loop point (the station's one Ogg stream), with no media error and no console error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_plays_an_opus_programme_across_its_tracks() {
    let Some(binary) = chromium() else { return };
    let _alone = one_browser_at_a_time().await;
    let files: Vec<(String, Vec<u8>)> = ["01 One.opus", "02 Two.opus", "03 Three.opus"]
        .iter()
        .map(|t| (format!("mix/{t}"), onair_tests::ogg::opus_fixture(t)))
        .collect();
    let server = TestServer::start_owned(&files, "").await;
    let url = format!("http://{}/", server.addr);
    let browser = tokio::task::spawn_blocking(move || {
        let mut browser = Browser::start(&binary);
        browser.open(&url, "mix");
        // An HLS link: Opus goes over HLS in fragmented MP4.
        let links =
            browser.eval("document.querySelector('[data-station=\"mix\"] .links').textContent");
        assert!(
            links.as_str().unwrap_or_default().contains("HLS"),
            "{links}"
        );
        // 8 s of the 6 s programme: two track changes and the loop point at least.
        browser.play("mix", 8.0, Duration::from_secs(25));
        let media_error =
            browser.eval("String(document.querySelector('[data-station=\"mix\"] audio').error)");
        assert_eq!(media_error, "null");
        browser
    })
    .await
    .expect("browser steps");
    assert!(
        browser.errors.is_empty(),
        "console errors: {:#?}",
        browser.errors
    );
}

/// Chromium's `<audio>` plays a FLAC programme from the page (the station's Ogg FLAC stream)
/// across its track changes and its loop point, with no media error and no console error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_plays_a_flac_programme_across_its_tracks() {
    let Some(binary) = chromium() else { return };
    let _alone = one_browser_at_a_time().await;
    let files: Vec<(String, Vec<u8>)> = ["01 One.flac", "02 Two.flac", "03 Three.flac"]
        .iter()
        .map(|t| {
            let bytes = std::fs::read(onair_tests::fixture("flac").join(t)).expect("fixture");
            (format!("lossless/{t}"), bytes)
        })
        .collect();
    let server = TestServer::start_owned(&files, "").await;
    let url = format!("http://{}/", server.addr);
    let browser = tokio::task::spawn_blocking(move || {
        let mut browser = Browser::start(&binary);
        browser.open(&url, "lossless");
        // 8 s of the 6 s programme: two track changes and the loop point at least.
        browser.play("lossless", 8.0, Duration::from_secs(25));
        let media_error = browser
            .eval("String(document.querySelector('[data-station=\"lossless\"] audio').error)");
        assert_eq!(media_error, "null");
        browser
    })
    .await
    .expect("browser steps");
    assert!(
        browser.errors.is_empty(),
        "console errors: {:#?}",
        browser.errors
    );
}

/// hls.js, installed for this test by `.ci/run` (`npm install` in `tests/hlsjs`), or `None`
/// (skipped) on a developer machine without it. Under CI a missing hls.js is a failure.
fn hlsjs() -> Option<PathBuf> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("hlsjs/node_modules/hls.js/dist/hls.min.js");
    installed_tool(
        &[&path.display().to_string()],
        "cd tests/hlsjs && npm install",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hlsjs_in_chromium_plays_a_station() {
    let files = [("jazz.aac".to_string(), sample("jazz.aac"))];
    hlsjs_plays(&files, "jazz", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hlsjs_in_chromium_plays_a_station_over_https() {
    let files = [("jazz.aac".to_string(), sample("jazz.aac"))];
    hlsjs_plays(&files, "jazz", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hlsjs_in_chromium_plays_an_mp3_programme() {
    let files = programme_files("mix", &["01 One.mp3", "02 Two.mp3", "03 Three.mp3"]);
    hlsjs_plays(&files, "mix", false).await;
}

/// An Opus programme over HLS: fragmented MP4 (`EXT-X-MAP`, `CODECS="opus"`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hlsjs_in_chromium_plays_an_opus_programme_in_fragmented_mp4() {
    let files: Vec<(String, Vec<u8>)> = ["01 One.opus", "02 Two.opus", "03 Three.opus"]
        .iter()
        .map(|t| (format!("mix/{t}"), onair_tests::ogg::opus_fixture(t)))
        .collect();
    hlsjs_plays(&files, "mix", false).await;
}

/// A FLAC programme over HLS: fragmented MP4 (`EXT-X-MAP`, `CODECS="fLaC"`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hlsjs_in_chromium_plays_a_flac_programme_in_fragmented_mp4() {
    let files: Vec<(String, Vec<u8>)> = ["01 One.flac", "02 Two.flac", "03 Three.flac"]
        .iter()
        .map(|t| {
            let bytes = std::fs::read(onair_tests::fixture("flac").join(t)).expect("fixture");
            (format!("lossless/{t}"), bytes)
        })
        .collect();
    hlsjs_plays(&files, "lossless", false).await;
}

/// hls.js in Chromium plays `station` (over HTTPS when `tls`) for ten seconds without an error.
async fn hlsjs_plays(files: &[(String, Vec<u8>)], station: &str, tls: bool) {
    let Some(binary) = chromium() else { return };
    let _alone = one_browser_at_a_time().await;
    let Some(hls_js) = hlsjs() else { return };
    let (_server, base, _certs) = start_server(files, "", tls).await;
    // A page of the test's own (as a web player on another site would be), loading hls.js.
    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("player.html");
    std::fs::write(
        &page,
        format!(
            r#"<!doctype html><meta charset="utf-8"><audio id="a" muted></audio>
<script src="file://{hls}"></script>
<script>
window.errors = [];
const audio = document.getElementById('a');
const hls = new Hls();
hls.on(Hls.Events.ERROR, (_, data) => window.errors.push(data.type + ':' + data.details + ':' + data.fatal));
hls.loadSource('{base}/{station}.m3u8');
hls.attachMedia(audio);
hls.on(Hls.Events.MANIFEST_PARSED, () => audio.play().catch((e) => window.errors.push('play:' + e.message)));
</script>"#,
            hls = hls_js.display(),
        ),
    )
    .expect("write page");
    let url = format!("file://{}", page.display());
    let played = tokio::task::spawn_blocking(move || {
        let mut browser = Browser::start(&binary);
        browser.call("Page.navigate", json!({"url": url}));
        let started = browser.wait_for(
            "document.getElementById('a').currentTime",
            Duration::from_secs(15),
            |v| v.as_f64().is_some_and(|t| t > 0.5),
        );
        let start = started.as_f64().unwrap_or(0.0);
        // Ten more seconds of playing, the time advancing all along.
        std::thread::sleep(Duration::from_secs(10));
        let end = browser
            .eval("document.getElementById('a').currentTime")
            .as_f64()
            .unwrap_or(0.0);
        let errors = browser.eval("window.errors.join('\\n')");
        (start, end, errors, browser.errors.clone())
    })
    .await
    .expect("browser");
    let (start, end, hls_errors, page_errors) = played;
    eprintln!("hls.js played /{station} from {start:.2} s to {end:.2} s");
    assert!(end - start > 9.0, "currentTime went from {start} to {end}");
    // hls.js reports the small jump it makes itself over the gap between position 0 and the
    // first buffered segment at start-up as a non-fatal `bufferSeekOverHole`: not a fault of
    // the stream. Anything else, and anything fatal, is.
    let hls_errors: Vec<&str> = hls_errors
        .as_str()
        .unwrap_or_default()
        .lines()
        .filter(|e| *e != "mediaError:bufferSeekOverHole:false")
        .collect();
    assert!(
        hls_errors.is_empty(),
        "hls.js reported errors: {hls_errors:?}"
    );
    assert!(page_errors.is_empty(), "{page_errors:?}");
}

/// A stream listener on a blocking socket, reading on a thread of its own until dropped.
fn blocking_listener(addr: std::net::SocketAddr, user_agent: &str) -> TcpStream {
    let mut socket = TcpStream::connect(addr).expect("connect");
    socket
        .write_all(format!("GET /mix HTTP/1.0\r\nUser-Agent: {user_agent}\r\n\r\n").as_bytes())
        .expect("request");
    let mut reading = socket.try_clone().expect("clone");
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while matches!(reading.read(&mut buf), Ok(n) if n > 0) {}
    });
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_chart_the_tracks_and_a_listener_count_that_moves() {
    let Some(binary) = chromium() else { return };
    let _alone = one_browser_at_a_time().await;
    let records = tempfile::tempdir().expect("temp dir");
    let files = programme_files(
        "mix",
        &["01 One.mp3", "02 Two.mp3", "03 Three.mp3", "04 Four.mp3"],
    );
    let config = format!(
        "[admin]\npassword = \"pw\"\n[analytics]\ndir = {:?}\nperformance_s = 1\n",
        records.path().display().to_string()
    );
    let (server, base, _) = start_server(&files, &config, false).await;
    // A session that ended, for the chart and the tracks' performances.
    let gone = blocking_listener(server.addr, "earlier");
    tokio::time::sleep(Duration::from_secs(3)).await;
    gone.shutdown(std::net::Shutdown::Both).expect("close");
    server
        .wait_listeners("mix", 0, Duration::from_secs(5))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let addr = server.addr;
    let (browser, _stays) = tokio::task::spawn_blocking(move || {
        let stays = blocking_listener(addr, "stays");
        let mut browser = Browser::start(&binary);
        browser.call("Network.enable", json!({}));
        browser.call(
            "Network.setExtraHTTPHeaders",
            json!({"headers": {"Authorization": "Basic YWRtaW46cHc="}}),
        );
        browser.call("Page.navigate", json!({"url": format!("{base}/admin/")}));
        let station = "document.querySelector('[data-station=\"mix\"]";
        let count = format!("{station} .listeners').textContent");
        browser.wait_for(&count, Duration::from_secs(10), |v| v == "1");
        // The 24-hour chart has this hour's listening; the last tracks have their counts.
        browser.wait_for(
            &format!("[...{station} svg.day').querySelectorAll('rect')].some(r => +r.getAttribute('height') > 0)"),
            Duration::from_secs(10),
            |v| v == true,
        );
        assert_eq!(browser.eval(&format!("{station} svg.day').querySelectorAll('rect').length")), 24);
        browser.wait_for(
            &format!("{station} .tracks tbody').children.length"),
            Duration::from_secs(10),
            |v| v.as_u64().unwrap_or(0) >= 1,
        );
        // Another listener: the count moves; kicked from the dashboard, it goes.
        let _kicked = blocking_listener(addr, "to-kick");
        browser.wait_for(&count, Duration::from_secs(10), |v| v == "2");
        browser.wait_for(
            &format!("[...{station} .clients tbody').children].some(tr => tr.textContent.includes('to-kick'))"),
            Duration::from_secs(10),
            |v| v == true,
        );
        browser.eval(&format!(
            "[...{station} .clients tbody').children].find(tr => tr.textContent.includes('to-kick')).querySelector('.kick').click(), true"
        ));
        browser.wait_for(&count, Duration::from_secs(10), |v| v == "1");
        (browser, stays)
    })
    .await
    .expect("browser steps");
    assert_eq!(server.listeners("mix"), 1);
    assert!(
        browser.errors.is_empty(),
        "console errors: {:#?}",
        browser.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_player_plays_one_station_and_tells_the_lock_screen() {
    let Some(binary) = chromium() else { return };
    let _alone = one_browser_at_a_time().await;
    let files = [
        ("jazz.aac".to_string(), sample("jazz.aac")),
        ("ambient.aac".to_string(), sample("ambient.aac")),
    ];
    let (server, base, _) =
        start_server(&files, "[stations.jazz]\ntitle = \"Jazz Test\"\n", false).await;
    let url = format!("{base}/embed/jazz");
    let browser = tokio::task::spawn_blocking(move || {
        let mut browser = Browser::start(&binary);
        browser.open(&url, "jazz");
        // One station, no page header, whatever the events say of the others.
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(browser.eval("document.querySelectorAll('.card').length"), 1);
        assert_eq!(browser.eval("getComputedStyle(document.querySelector('header')).display"), "none");
        // A station of one track does not announce itself as next.
        let slot = browser.eval("document.querySelector('[data-station=\"jazz\"] .slot').textContent");
        assert_eq!(slot, "", "{slot}");
        browser.play("jazz", 2.0, Duration::from_secs(20));
        // The Media Session (a phone's lock screen, a headset's buttons) has the title.
        let media = browser.eval("navigator.mediaSession.metadata && [navigator.mediaSession.metadata.title, navigator.mediaSession.metadata.artist].join(' / ')");
        assert_eq!(media, "Jazz Test / Jazz Test");
        browser
    })
    .await
    .expect("browser steps");
    assert_eq!(server.listeners("jazz"), 1);
    assert_eq!(server.listeners("ambient"), 0);
    assert!(
        browser.errors.is_empty(),
        "console errors: {:#?}",
        browser.errors
    );
    // An unknown station is a 404 naming the stations.
    let mut missing =
        onair_tests::HttpResponse::send(server.addr, "GET /embed/nope HTTP/1.0\r\n\r\n").await;
    missing.read_full(Duration::from_secs(2)).await;
    assert_eq!(missing.status(), 404);
}
