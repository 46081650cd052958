//! The `onair` binary as an operator runs it: config errors, start-up, and SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn onair() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onair"))
}

/// A test station (a 10 s fixture), so that these tests do not depend on the shipped samples.
fn test_station() -> Vec<u8> {
    std::fs::read(repo_root().join("tests/fixtures/station-jazz.aac")).expect("fixture")
}

/// A child's log, read on a thread of its own: every wait for a line is bounded, so a test
/// never hangs on a child that went quiet.
struct Log {
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
    /// Lines seen that no wait has returned yet.
    unmatched: Vec<String>,
}

impl Log {
    fn of(child: &mut std::process::Child) -> Log {
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Log {
            lines,
            seen: Vec::new(),
            unmatched: Vec::new(),
        }
    }

    /// Waits (5 s at most) for a line holding `what` that no earlier wait returned (lines come in
    /// any order: a station may be on air before the address is logged); returns it.
    fn wait_for(&mut self, what: &str) -> String {
        if let Some(at) = self.unmatched.iter().position(|l| l.contains(what)) {
            return self.unmatched.remove(at);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(what) {
                        return line;
                    }
                    self.unmatched.push(line);
                }
                Err(_) => panic!(
                    "no log line with {what:?} within 5 s; seen: {:?}",
                    self.seen
                ),
            }
        }
    }

    /// The value of `field=` in a line.
    fn field(line: &str, field: &str) -> String {
        let at = line.find(&format!("{field}=")).expect("field") + field.len() + 1;
        line[at..]
            .split_whitespace()
            .next()
            .expect("value")
            .to_string()
    }

    /// Every line seen and still to come, once the child has exited.
    fn rest(mut self) -> Vec<String> {
        self.seen.extend(self.lines.iter());
        self.seen
    }
}

/// Runs `command` to its end, 20 s at most (a command that hangs fails the test instead of
/// hanging it: `onair check` once looped for ever on a broken tag).
fn output_of(command: &mut Command) -> std::process::Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut out);
            }
            out
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command did not finish within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    }
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("crates/onair-server is two levels down")
}

#[test]
fn a_named_config_that_is_missing_exits_2() {
    let output = output_of(onair().args(["--config", "/nonexistent/onair.toml"]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/onair.toml"), "{stderr}");
}

#[test]
fn an_invalid_config_exits_2_naming_line_column_and_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[pacing]\nchunk_ms = 0\n",
    )
    .expect("write");
    let output = output_of(onair().arg("--config").arg(&path));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.toml:5:12"), "{stderr}");
    assert!(stderr.contains("pacing.chunk_ms"), "{stderr}");
}

#[test]
fn sighup_reloads_and_sigterm_with_listeners_connected_exits_0_within_5_s() {
    let mut child = onair()
        .current_dir(repo_root())
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start onair");
    let mut log = Log::of(&mut child);
    // The address comes first (onair serves at once); the stations as their probes end.
    let addr = Log::field(&log.wait_for("address="), "address");
    let stations = [
        log.wait_for("station on air"),
        log.wait_for("station on air"),
        log.wait_for("station on air"),
    ];
    // The shipped sample stations (two files, one programme), each logged with mount, tracks,
    // duration, bitrate, rate, channels.
    for name in ["jazz", "ambient", "lounge"] {
        let mount = format!("mount=/{name} ");
        assert!(stations.iter().any(|l| l.contains(&mount)), "{stations:?}");
    }
    assert!(
        stations.iter().any(|l| l.contains("tracks=3")),
        "{stations:?}"
    );
    for line in &stations {
        for field in [
            "mount=/",
            "duration=",
            "bitrate_kbps=",
            "sample_rate=44100",
            "channels=2",
        ] {
            assert!(line.contains(field), "{field} missing in {line}");
        }
    }
    let mut listener = TcpStream::connect(&addr).expect("connect");
    listener
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    listener
        .write_all(b"GET /jazz HTTP/1.1\r\nHost: test\r\n\r\n")
        .expect("request");
    let mut buf = [0u8; 4096];
    listener.read_exact(&mut buf).expect("audio arrives");

    // SIGHUP reloads, as Icecast does; it once ended the process (exit 129).
    let status = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
    log.wait_for("SIGHUP");
    assert!(
        child.try_wait().expect("wait").is_none(),
        "SIGHUP ended onair"
    );
    listener
        .read_exact(&mut buf)
        .expect("the listener plays on after SIGHUP");

    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    // The listener's stream ended: EOF (after whatever was still in flight).
    listener
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let mut rest = Vec::new();
    listener
        .read_to_end(&mut rest)
        .expect("the stream ends cleanly");
}

#[test]
fn check_reports_every_station_and_exits_0_when_clean() {
    let output = output_of(onair().current_dir(repo_root()).arg("check"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for row in [
        "jazz",
        "/jazz",
        "ambient",
        "/lounge",
        "stations/lounge/03 Night Walk.mp3",
        "44100 Hz",
        "STATION",
        "VERDICT",
        "5 ok",
    ] {
        assert!(stdout.contains(row), "{row} missing:\n{stdout}");
    }
}

#[test]
fn check_names_the_bad_file_and_offset_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let jazz = test_station();
    std::fs::write(dir.path().join("good.aac"), &jazz).expect("write");
    std::fs::write(dir.path().join("cut.aac"), &jazz[..jazz.len() / 2 + 101]).expect("write");
    std::fs::write(
        dir.path().join("movie.aac"),
        b"\0\0\0\x18ftypM4A \0\0\0\0M4A isom",
    )
    .expect("write");
    std::fs::write(dir.path().join("metrics.aac"), &jazz).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"latin1-caf\xe9.aac");
        std::fs::write(dir.path().join(name), &jazz).expect("write");
        // A programme folder whose name is not UTF-8: reported, not skipped silently.
        let folder = dir
            .path()
            .join(std::ffi::OsStr::from_bytes(b"latin1-d\xe9mo"));
        std::fs::create_dir(&folder).expect("folder");
        std::fs::write(folder.join("a.aac"), &jazz).expect("write");
    }
    let output = output_of(
        onair()
            .args(["check", "--config", "/dev/null", "--stations"])
            .arg(dir.path()),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{stdout}"))
            .to_string()
    };
    assert!(row("good").ends_with("ok"), "{stdout}");
    assert!(
        row("cut").contains("warning: last frame cut short at byte"),
        "{stdout}"
    );
    assert!(
        row("movie").contains("error at byte 0") && row("movie").contains("MP4"),
        "{stdout}"
    );
    #[cfg(unix)]
    assert!(
        stdout.contains("latin1-caf") && stdout.contains("not valid UTF-8"),
        "{stdout}"
    );
    #[cfg(unix)]
    assert!(
        stdout.contains("latin1-d") && stdout.contains("folder name is not valid UTF-8"),
        "{stdout}"
    );
    assert!(
        row("metrics").contains("error: not a station")
            && row("metrics").contains("built-in endpoint /metrics"),
        "{stdout}"
    );
}

#[test]
fn check_with_an_invalid_config_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[pacing]\nburst_ms = -1\n").expect("write");
    let output = output_of(onair().arg("check").arg("--config").arg(&path));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("c.toml:2:12") && stderr.contains("pacing.burst_ms"),
        "{stderr}"
    );
}

#[test]
fn out_of_file_descriptors_every_station_stays_on_air() {
    let stations = tempfile::tempdir().expect("temp dir");
    std::fs::write(stations.path().join("jazz.aac"), test_station()).expect("write");
    std::fs::create_dir(stations.path().join("mix")).expect("programme folder");
    for track in ["a.aac", "b.aac"] {
        std::fs::write(stations.path().join("mix").join(track), test_station()).expect("write");
    }
    // 128 descriptors, two stations, one listener and 200 idle connections.
    let mut child = onair_limited(128, stations.path());
    let mut log = Log::of(&mut child);
    let addr = Log::field(&log.wait_for("address="), "address");
    log.wait_for("station=jazz");
    log.wait_for("station=mix");
    let listen = |addr: &str| -> Option<std::net::TcpStream> {
        let mut s = std::net::TcpStream::connect(addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"GET /jazz HTTP/1.1\r\nHost: t\r\n\r\n").ok()?;
        let mut buf = [0u8; 1024];
        s.read_exact(&mut buf).ok()?;
        Some(s)
    };
    let mut first = listen(&addr).expect("the first listener is served");
    // The burst (4 s of 128 kb/s) is in the socket already: read it away first.
    let mut burst = vec![0u8; 64 * 1024];
    first.read_exact(&mut burst).expect("the burst");
    let extra: Vec<_> = (0..200)
        .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
        .collect();
    // Over 5 s (two looks at the stations folder and more), the listener keeps getting live
    // audio: at least 4 s of it.
    let live = read_for(&mut first, Duration::from_secs(5));
    assert!(live >= 4 * 16_000, "{live} bytes of live audio in 5 s");
    // Descriptors free up: service resumes by itself, and both stations are there.
    drop(extra);
    let mut served = None;
    for _ in 0..50 {
        served = listen(&addr);
        if served.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(served.is_some(), "new listeners are served again");
    let mut status = std::net::TcpStream::connect(&addr).expect("connect");
    status
        .write_all(b"GET /status.json HTTP/1.0\r\nHost: t\r\n\r\n")
        .expect("request");
    let mut text = String::new();
    status.read_to_string(&mut text).expect("status");
    assert!(
        text.contains("\"name\":\"jazz\"") && text.contains("\"name\":\"mix\""),
        "{text}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let log = log.rest();
    assert!(
        log.iter()
            .any(|l| l.contains("connection cap reached") || l.contains("accept failed")),
        "the cap was reached and said"
    );
    assert!(
        !log.iter().any(|l| l.contains("off air")),
        "no station went off air: {log:?}"
    );
}

#[test]
fn errors_say_each_cause_once() {
    // The address is taken: the OS error once, not twice.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let output = output_of(onair().args(["--config", "/dev/null", "--listen", &addr]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0));
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
    // A bad config: its location once.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[pacing]\nchunk_ms = 0\n").expect("write");
    let output = output_of(onair().arg("--config").arg(&path));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.starts_with("onair: invalid config: "), "{stderr}");
    assert_eq!(stderr.matches("bad.toml:2:").count(), 1, "{stderr}");
}

#[test]
fn a_missing_stations_folder_is_warned_about_and_watched_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stations = dir.path().join("later");
    let mut child = onair()
        .args([
            "--config",
            "/dev/null",
            "--listen",
            "127.0.0.1:0",
            "--stations",
        ])
        .arg(&stations)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start onair");
    let mut log = Log::of(&mut child);
    log.wait_for("the stations folder does not exist");
    std::fs::create_dir(&stations).expect("mkdir");
    std::fs::write(stations.join("jazz.aac"), test_station()).expect("write");
    log.wait_for("station on air");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn help_names_what_the_stations_folder_holds() {
    let output = output_of(onair().arg("--help"));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{help}");
    assert!(
        help.contains("*.aac, *.mp3, *.opus, *.flac and *.ogg") && help.contains("programmes"),
        "{help}"
    );
    // It opens by saying what onair is, not what the crate holds.
    assert!(
        help.starts_with("onair, an internet-radio server") && !help.contains("accept loop"),
        "{help}"
    );
}

#[test]
fn check_reports_an_epoch_in_the_future() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("stations")).expect("folder");
    std::fs::write(dir.path().join("stations/radio.aac"), test_station()).expect("write");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[pacing]\nepoch = \"2099-01-01T00:00:00Z\"\n").expect("write");
    let output = output_of(
        onair()
            .args(["check", "--config"])
            .arg(&config)
            .arg("--stations")
            .arg(dir.path().join("stations")),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.contains("(epoch)"))
        .unwrap_or_else(|| panic!("no epoch row:\n{stdout}"));
    assert!(
        row.contains("off air") && row.contains("in the future"),
        "{row}"
    );
}

/// `onair` on the stations in `dir` under an open-file limit of `limit`, logging at `info`.
fn onair_limited(limit: u32, dir: &Path) -> std::process::Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n {limit} && exec {} --config /dev/null --stations {} --listen 127.0.0.1:0",
            env!("CARGO_BIN_EXE_onair"),
            dir.display()
        ))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start onair")
}

/// Reads `stream` for `time`; the bytes read. A listener cut or stalled on the way panics.
fn read_for(stream: &mut TcpStream, time: Duration) -> usize {
    let started = Instant::now();
    let (mut got, mut buf) = (0, vec![0u8; 4096]);
    while started.elapsed() < time {
        match stream.read(&mut buf) {
            Ok(0) => panic!("the listener was cut"),
            Ok(n) => got += n,
            Err(error) => panic!("the listener stalled: {error}"),
        }
    }
    got
}

/// The first `n` ADTS frames of `bytes`.
fn first_frames(bytes: &[u8], n: usize) -> Vec<u8> {
    let mut at = 0;
    for _ in 0..n {
        let b = &bytes[at..];
        at += (usize::from(b[3] & 3) << 11) | (usize::from(b[4]) << 3) | usize::from(b[5] >> 5);
    }
    bytes[..at].to_vec()
}

#[test]
fn a_programme_of_more_tracks_than_descriptors_plays_without_flapping() {
    // 1,500 tracks of 2 s under a limit of 256 descriptors, beside another station.
    let stations = tempfile::tempdir().expect("temp dir");
    let station = test_station();
    std::fs::write(stations.path().join("jazz.aac"), &station).expect("write");
    let track = first_frames(&station, 86);
    let folder = stations.path().join("library");
    std::fs::create_dir(&folder).expect("folder");
    for i in 0..1500 {
        std::fs::write(folder.join(format!("{i:04}.aac")), &track).expect("write");
    }
    let mut child = onair_limited(256, stations.path());
    let mut log = Log::of(&mut child);
    let addr = Log::field(&log.wait_for("address="), "address");
    let on_air = log.wait_for("station=library");
    assert!(on_air.contains("tracks=1500"), "{on_air}");
    // Both stations play, for longer than the folder is looked at (every 2 s).
    let mut listener = TcpStream::connect(&addr).expect("connect");
    listener
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    listener
        .write_all(b"GET /library HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("request");
    let got = read_for(&mut listener, Duration::from_secs(5));
    assert!(got > 100_000, "{got} bytes");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let log = log.rest();
    assert!(
        !log.iter()
            .any(|l| l.contains("off air") || l.contains("refused")),
        "no station flapped: {log:?}"
    );
}

/// One request, answered whole.
fn request(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .expect("request");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// Waits (5 s at most) until `path` holds a line with `what`.
fn wait_for_line(path: &Path, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(what) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no {what:?} in {}: {text}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_access_log_is_reopened_on_sighup_as_logrotate_expects() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("stations")).expect("mkdir");
    std::fs::write(dir.path().join("stations/jazz.aac"), test_station()).expect("write");
    let log_path = dir.path().join("access.log");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstations_dir = {:?}\n[log]\naccess = {:?}\n",
            dir.path().join("stations").display().to_string(),
            log_path.display().to_string()
        ),
    )
    .expect("config");
    let mut child = onair()
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start onair");
    let mut log = Log::of(&mut child);
    let addr = Log::field(&log.wait_for("address="), "address");
    assert!(request(&addr, "/healthz?before").starts_with("HTTP/1.1 200"));
    wait_for_line(&log_path, "GET /healthz?before HTTP/1.1\" 200 3 ");
    // logrotate moves the file, then sends SIGHUP.
    let rotated = dir.path().join("access.log.1");
    std::fs::rename(&log_path, &rotated).expect("rotate");
    let status = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
    log.wait_for("access log reopened");
    assert!(request(&addr, "/healthz?after").starts_with("HTTP/1.1 200"));
    let fresh = wait_for_line(&log_path, "GET /healthz?after HTTP/1.1\" 200 3 ");
    assert!(!fresh.contains("?before"), "{fresh}");
    let old = std::fs::read_to_string(&rotated).expect("rotated log");
    assert!(old.contains("?before") && !old.contains("?after"), "{old}");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[test]
fn token_makes_a_signed_link_the_server_takes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.toml");
    let key = "a key of at least sixteen characters";
    std::fs::write(
        &config,
        format!("[server]\nlisten = \"0.0.0.0:8080\"\npublic_url = \"https://radio.example.com/\"\n[access]\ntoken_keys = [{key:?}]\n[stations.members]\nlisten = \"token\"\nlive_only = true\ncodec = \"aac\"\nsample_rate = 44100\nchannels = 2\n"),
    )
    .expect("config");
    let output = output_of(
        onair()
            .arg("--config")
            .arg(&config)
            .args(["token", "members", "--for", "2h"]),
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = printed
        .lines()
        .find_map(|l| l.strip_prefix("token:"))
        .map(str::trim)
        .expect("a token line");
    assert!(
        printed.contains(&format!(
            "stream:  https://radio.example.com/members?token={token}\n"
        )),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "hls:     https://radio.example.com/members.m3u8?token={token}\n"
        )),
        "{printed}"
    );
    let keys = [onair_server::config::Secret::new(key.to_string())];
    let me = std::net::IpAddr::from([192, 0, 2, 9]);
    let now = std::time::SystemTime::now();
    let verify =
        |at| onair_server::stations::audience::token::verify(&keys, token, "members", me, at);
    assert_eq!(verify(now + Duration::from_secs(7000)), Ok(()));
    assert!(
        verify(now + Duration::from_secs(7300)).is_err(),
        "valid past 2 h"
    );

    // Without a key there is nothing to sign with: said, exit 2.
    std::fs::write(&config, "[server]\nlisten = \"127.0.0.1:8080\"\n").expect("config");
    let output = output_of(
        onair()
            .arg("--config")
            .arg(&config)
            .args(["token", "members"]),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("token_keys"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A closed station without a key is a config error naming the key.
    std::fs::write(&config, "[stations.members]\nlisten = \"token\"\n").expect("config");
    let output = output_of(onair().arg("--config").arg(&config).arg("check"));
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("stations.members.listen") && said.contains("token_keys"),
        "{said}"
    );
}
