//! `onair check` on a scheduled station (the slots' and jingles' tracks, the week grid in the
//! station's zone, and what is wrong with it: overlapping slots, a slot with nothing to play, a
//! slot shorter than its first track) and on relayed stations (each relay URL read, its host
//! resolved, what it names, a bad CA file; never a connection).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("crates/onair-server is two levels down")
}

/// `onair check` on `root/config.toml` and `root/stations`: its exit code and output.
fn run_check(root: &Path) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_onair"))
        .args(["check", "--config"])
        .arg(root.join("config.toml"))
        .arg("--stations")
        .arg(root.join("stations"))
        .stdin(Stdio::null())
        .output()
        .expect("run onair check");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn check_prints_the_week_grid_and_what_is_wrong_with_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let jazz = std::fs::read(repo_root().join("tests/fixtures/station-jazz.aac")).expect("fixture");
    for folder in ["stations", "shows/morning", "shows/empty", "ids"] {
        std::fs::create_dir_all(root.join(folder)).expect("folder");
    }
    std::fs::write(root.join("stations/jazz.aac"), &jazz).expect("write");
    std::fs::write(root.join("shows/morning/01 Hello.aac"), &jazz).expect("write");
    std::fs::write(root.join("shows/morning/02 Coffee.aac"), &jazz).expect("write");
    std::fs::write(root.join("ids/station-id.aac"), &jazz[..jazz.len() / 4]).expect("write");
    // 70 s of news for a one-minute slot.
    std::fs::write(root.join("news.aac"), jazz.repeat(7)).expect("write");
    let path = |p: &str| format!("{:?}", root.join(p).display().to_string());
    let config = format!(
        "[stations.jazz]\ntimezone = \"Europe/Berlin\"\njingles = {{ folder = {}, every_tracks = 4 }}\n\
         [[stations.jazz.slots]]\nname = \"Morning Show\"\ndays = \"mon-fri\"\nfrom = \"07:00\"\nto = \"10:00\"\nfolder = {}\n\
         [[stations.jazz.slots]]\nname = \"News\"\ndays = \"daily\"\nfrom = \"12:00\"\nto = \"12:01\"\nfile = {}\nstart = \"time\"\n\
         [[stations.jazz.slots]]\nname = \"Jazz Night\"\ndays = \"fri,sat\"\nfrom = \"22:00\"\nto = \"02:00\"\nfolder = {}\n\
         [[stations.jazz.slots]]\nname = \"Brunch\"\ndays = \"sun\"\nfrom = \"09:00\"\nto = \"12:30\"\nfolder = {}\n",
        path("ids"),
        path("shows/morning"),
        path("news.aac"),
        path("shows/empty"),
        path("shows/morning"),
    );
    std::fs::write(root.join("config.toml"), config).expect("config");
    let (code, stdout) = run_check(root);
    assert_eq!(code, Some(1), "warnings: exit 1\n{stdout}");
    for line in [
        "Week grid of /jazz (Europe/Berlin, now ",
        "  mon  07:00-10:00  Morning Show  ",
        "shows/morning: 2 track(s), 0:20; starts after the track (waits 300 s)",
        "  sun  12:00-12:01  News  ",
        "; starts on time",
        "  fri  22:00-02:00 (next day)  Jazz Night  ",
        "jingles: ",
        "(1 jingle(s)), after every 4 track(s)",
        "warning: slots \"Brunch\" and \"News\" overlap (Sun ",
        "warning: slot \"Jazz Night\" plays nothing: ",
        "warning: slot \"News\" (1:00) is shorter than its first track (1:10)",
        "jazz (Morning Show)",
        "jazz (jingles)",
    ] {
        assert!(stdout.contains(line), "{line:?} missing:\n{stdout}");
    }
    // Each weekday once, in order.
    let mornings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("Morning Show  "))
        .map(|l| l.trim_start().split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(mornings, ["mon", "tue", "wed", "thu", "fri"], "{stdout}");
}

#[test]
fn check_reports_relay_urls_without_connecting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("stations")).expect("folder");
    let jazz = std::fs::read(repo_root().join("tests/fixtures/station-jazz.aac")).expect("fixture");
    std::fs::write(root.join("stations/jazz.aac"), &jazz).expect("write");
    // An upstream that must never be connected to.
    let upstream = TcpListener::bind("127.0.0.1:0").expect("bind");
    upstream.set_nonblocking(true).expect("nonblocking");
    let port = upstream.local_addr().expect("addr").port();
    let config = format!(
        "[relay]\nca_file = {:?}\n\
         [stations.jazz]\nrelay = \"http://127.0.0.1:{port}/live.pls\"\non_demand = true\n\
         [stations.news]\nlive_only = true\ncodec = \"aac\"\nsample_rate = 44100\nchannels = 2\nrelay = \"https://localhost:{port}/news.m3u8\"\n",
        root.join("missing-ca.pem").display().to_string()
    );
    std::fs::write(root.join("config.toml"), config).expect("config");
    let (code, stdout) = run_check(root);
    assert_eq!(code, Some(1), "an error: exit 1\n{stdout}");
    for line in [
        &format!("http://127.0.0.1:{port}/live.pls"),
        "ok: relays a .pls playlist, on demand from 127.0.0.1 (127.0.0.1), not connected",
        &format!("https://localhost:{port}/news.m3u8"),
        "error: relay https://localhost:",
        "missing-ca.pem",
    ] {
        assert!(stdout.contains(line), "{line:?} missing:\n{stdout}");
    }
    assert!(
        upstream.accept().is_err(),
        "onair check connected to an upstream"
    );
}

#[test]
fn check_reports_a_relay_with_nothing_under_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("stations")).expect("folder");
    let jazz = std::fs::read(repo_root().join("tests/fixtures/station-jazz.aac")).expect("fixture");
    std::fs::write(root.join("stations/jazz.aac"), &jazz).expect("write");
    std::fs::write(
        root.join("config.toml"),
        "[stations.talk]\nrelay = \"http://127.0.0.1:9/live\"\n",
    )
    .expect("config");
    let (code, out) = run_check(root);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("a relay with no programme") && out.contains("live_only = true"),
        "{out}"
    );
}
