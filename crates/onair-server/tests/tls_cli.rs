//! The `onair` binary with HTTPS as an operator meets it: a pair it cannot serve stops it at
//! start with the reason, and a certificate close to its end is warned about at start.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

fn onair() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onair"))
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/tls")
        .join(name)
}

/// A config serving HTTPS on a free port with `cert` and `key`, and no stations.
fn config(dir: &Path, cert: &Path, key: &Path) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nlisten_tls = \"127.0.0.1:0\"\nstations_dir = \"{}\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            dir.join("stations").display(),
            cert.display(),
            key.display()
        ),
    )
    .expect("write config");
    std::fs::create_dir_all(dir.join("stations")).expect("stations");
    path
}

#[test]
fn a_pair_it_cannot_serve_stops_onair_at_start_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = config(dir.path(), &fixture("rsa.crt"), &fixture("ec-sec1.key"));
    let mut child = onair()
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start onair");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "onair kept running"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot serve HTTPS") && stderr.contains("is not the key of"),
        "{stderr}"
    );
}

#[test]
fn a_certificate_close_to_its_end_is_warned_about_at_start() {
    use rcgen::{CertificateParams, KeyPair};
    let dir = tempfile::tempdir().expect("temp dir");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    let now = SystemTime::now();
    params.not_before = (now - Duration::from_secs(3600)).into();
    params.not_after = (now + Duration::from_secs(5 * 86_400)).into();
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("certificate");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write cert");
    std::fs::write(&key_path, key.serialize_pem()).expect("write key");
    let path = config(dir.path(), &cert_path, &key_path);
    let mut child = onair()
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start onair");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    let warned = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains("expires soon") => break line,
            Ok(line) => seen.push(line),
            Err(_) => break String::new(),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        warned.contains("days_left=4"),
        "no expiry warning at start: {seen:#?}"
    );
}
