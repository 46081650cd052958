//! The `onair` binary as an operator runs it: config errors, start-up, and SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn onair() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onair"))
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("crates/onair-server is two levels down")
}

#[test]
fn a_named_config_that_is_missing_exits_2() {
    let output = onair()
        .args(["--config", "/nonexistent/onair.toml"])
        .output()
        .expect("run onair");
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
    let output = onair()
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run onair");
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
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut stations = Vec::new();
    let mut addr = None;
    // The address comes first (onair serves at once); the stations as their probes end.
    while addr.is_none() || stations.len() < 2 {
        let line = lines
            .next()
            .expect("onair logs its address and stations")
            .expect("log line");
        if line.contains("station on air") {
            stations.push(line.clone());
        }
        if let Some(at) = line.find("address=") {
            let value = line[at + 8..]
                .split_whitespace()
                .next()
                .expect("address value");
            addr = Some(value.to_string());
        }
    }
    let addr = addr.expect("address");
    // The shipped sample stations, each logged with mount, duration, bitrate, rate, channels.
    assert_eq!(stations.len(), 2, "{stations:?}");
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
    // Keep draining the log so the server never blocks on a full pipe.
    let (log_tx, log) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = log_tx.send(line);
        }
    });

    let mut listener = TcpStream::connect(&addr).expect("connect");
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
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = log.recv_timeout(left).expect("SIGHUP is logged within 5 s");
        if line.contains("SIGHUP") {
            break;
        }
    }
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
    let output = onair()
        .current_dir(repo_root())
        .arg("check")
        .output()
        .expect("run onair check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for row in [
        "jazz", "/jazz", "ambient", "44100 Hz", "STATION", "VERDICT", "2 ok",
    ] {
        assert!(stdout.contains(row), "{row} missing:\n{stdout}");
    }
}

#[test]
fn check_names_the_bad_file_and_offset_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let jazz = std::fs::read(repo_root().join("stations/jazz.aac")).expect("sample");
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
    }
    let output = onair()
        .args(["check", "--config", "/dev/null", "--stations"])
        .arg(dir.path())
        .output()
        .expect("run onair check");
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
    let output = onair()
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run onair check");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("c.toml:2:12") && stderr.contains("pacing.burst_ms"),
        "{stderr}"
    );
}

#[test]
fn out_of_file_descriptors_the_server_recovers() {
    let root = repo_root();
    // A hard limit of 64 descriptors: a few dozen listeners exhaust it.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 64 && exec {} --config /dev/null --stations {} --listen 127.0.0.1:0",
            env!("CARGO_BIN_EXE_onair"),
            root.join("stations").display()
        ))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start onair");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut addr, mut jazz) = (None, false);
    while addr.is_none() || !jazz {
        let line = lines.next().expect("log").expect("line");
        jazz |= line.contains("station on air") && line.contains("station=jazz");
        if let Some(at) = line.find("address=") {
            addr = line[at + 8..].split_whitespace().next().map(str::to_string);
        }
    }
    let addr = addr.expect("address");
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let listen = |addr: &str| -> Option<std::net::TcpStream> {
        let mut s = std::net::TcpStream::connect(addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"GET /jazz HTTP/1.1\r\nHost: t\r\n\r\n").ok()?;
        let mut buf = [0u8; 1024];
        s.read_exact(&mut buf).ok()?;
        Some(s)
    };
    let first = listen(&addr).expect("the first listener is served");
    // Far more connections than descriptors: the kernel queues them; the server cannot accept.
    let extra: Vec<_> = (0..100)
        .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // The first listener still plays.
    let mut first = first;
    let mut buf = vec![0u8; 16 * 1024];
    first
        .read_exact(&mut buf)
        .expect("the existing listener keeps playing");
    // Descriptors free up: service resumes by itself.
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
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let log = log.join().expect("log lines");
    assert!(
        log.iter().any(|l| l.contains("accept failed")),
        "EMFILE was hit and logged"
    );
}

#[test]
fn errors_say_each_cause_once() {
    // The address is taken: the OS error once, not twice.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let output = onair()
        .args(["--config", "/dev/null", "--listen", &addr])
        .output()
        .expect("run onair");
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
    let output = onair()
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run onair");
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
    let (tx, log) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match log.recv_timeout(left) {
                Ok(line) if line.contains(what) => return,
                Ok(_) => {}
                Err(_) => panic!("no log line with {what:?} within 5 s"),
            }
        }
    };
    wait_for("the stations folder does not exist");
    std::fs::create_dir(&stations).expect("mkdir");
    let jazz = std::fs::read(repo_root().join("stations/jazz.aac")).expect("sample");
    std::fs::write(stations.join("jazz.aac"), jazz).expect("write");
    wait_for("station on air");
    let _ = child.kill();
    let _ = child.wait();
}
