//! `onair check` on relayed stations: each relay URL read, its host resolved, what it names (a
//! stream, a playlist, an origin's HLS), and a bad CA file; never a connection.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("crates/onair-server is two levels down")
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
    let output = Command::new(env!("CARGO_BIN_EXE_onair"))
        .args(["check", "--config"])
        .arg(root.join("config.toml"))
        .arg("--stations")
        .arg(root.join("stations"))
        .stdin(Stdio::null())
        .output()
        .expect("run onair check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "an error: exit 1\n{stdout}");
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
