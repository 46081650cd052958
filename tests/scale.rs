//! Replicas behind nginx, with the shipped `deploy/nginx/onair.conf`: segments come through the
//! cache whole and continuous, also while a replica is stopped. (Skipped without nginx outside
//! CI; `.ci/run` installs it.)

use std::path::PathBuf;
use std::time::Duration;

use onair_tests::{
    fixture, installed_tool, programme_files, repo_root, split_hls_segment, walk, HttpResponse,
    TestServer,
};

const SECOND: Duration = Duration::from_secs(1);
const CONFIG: &str = "trusted_proxies = [\"127.0.0.1\"]\n[hls]\nsegment_ms = 1000\nwindow_s = 10\n";

/// nginx, or `None` (skipped) without it outside CI.
fn nginx() -> Option<PathBuf> {
    installed_tool(
        &["/usr/sbin/nginx", "/usr/bin/nginx"],
        "apt-get install nginx",
    )
}

/// nginx running the shipped config in front of `replicas`, on a loopback port of its own.
struct Nginx {
    child: tokio::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// nginx on a free loopback port. A port picked free can be taken by another test's
    /// nginx before this one binds it: then this one exits, and it is started again on another.
    async fn start(binary: &PathBuf, replicas: [std::net::SocketAddr; 2]) -> Nginx {
        for _ in 0..5 {
            if let Some(nginx) = Nginx::try_start(binary, replicas).await {
                return nginx;
            }
        }
        panic!("nginx did not start on a free port in 5 tries");
    }

    async fn try_start(binary: &PathBuf, replicas: [std::net::SocketAddr; 2]) -> Option<Nginx> {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let shipped = std::fs::read_to_string(repo_root().join("deploy/nginx/onair.conf"))
            .expect("deploy/nginx/onair.conf");
        let cache = dir.path().join("cache");
        let conf = shipped
            .replace("listen 8080;", &format!("listen 127.0.0.1:{port};"))
            .replace("127.0.0.1:8081", &replicas[0].to_string())
            .replace("127.0.0.1:8082", &replicas[1].to_string())
            .replace("/var/cache/nginx/onair", &cache.display().to_string());
        assert_ne!(conf, shipped);
        std::fs::write(dir.path().join("onair.conf"), conf).expect("write");
        let d = dir.path().display();
        let main = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\nevents {{ worker_connections 1024; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {d}/onair.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).expect("write");
        let mut child = tokio::process::Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start nginx");
        // Up once it has written its pid file and answers on its port, and has not exited (a
        // port taken meanwhile makes it exit).
        for _ in 0..100 {
            if child.try_wait().expect("nginx status").is_some() {
                return None;
            }
            let up = dir.path().join("nginx.pid").exists()
                && tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok();
            if up {
                return Some(Nginx {
                    child,
                    port,
                    _dir: dir,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nginx did not listen within 5 s");
    }

    async fn get(&self, path: &str) -> HttpResponse {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut response = HttpResponse::send(
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: radio.test\r\nConnection: close\r\n\r\n"),
        )
        .await;
        response.read_full(5 * SECOND).await;
        response
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn segments_of(playlist: &str) -> Vec<(u64, String)> {
    playlist
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let k = l
                .rsplit('/')
                .next()
                .and_then(|f| f.strip_suffix(".aac"))
                .and_then(|k| k.parse().ok())
                .expect("k.aac");
            (k, l.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_through_nginx_stay_whole_and_continuous_while_a_replica_stops() {
    let Some(binary) = nginx() else { return };
    let file = std::fs::read(fixture("station-jazz.aac")).expect("fixture");
    let a = TestServer::start(&[("radio.aac", &file)], CONFIG).await;
    let b = TestServer::start(&[("radio.aac", &file)], CONFIG).await;
    let nginx = Nginx::start(&binary, [a.addr, b.addr]).await;
    assert_eq!(nginx.get("/healthz").await.status(), 200);
    // A player without a session gets one of its own through the cache, never another's.
    let bare: Vec<String> = [
        nginx.get("/radio.m3u8").await,
        nginx.get("/radio.m3u8").await,
    ]
    .iter()
    .map(|r| String::from_utf8_lossy(&r.body).to_string())
    .collect();
    assert!(bare[0].contains("\nradio.m3u8?session="), "{}", bare[0]);
    assert_ne!(bare[0], bare[1], "one session handed to two players");
    let mut a = Some(a);
    let mut fetched: Vec<(u64, u64, Duration)> = Vec::new(); // (k, pts, audio)
    let started = tokio::time::Instant::now();
    let mut hits = 0;
    // Four target durations (2 s each), as a player polls: every half target duration.
    while started.elapsed() < 8 * SECOND {
        if started.elapsed() > 3 * SECOND {
            if let Some(replica) = a.take() {
                replica.shutdown().await;
            }
        }
        let playlist = nginx.get("/radio.m3u8?session=1").await;
        assert_eq!(playlist.status(), 200, "the playlist through nginx");
        let text = String::from_utf8_lossy(&playlist.body).to_string();
        for (k, uri) in segments_of(&text) {
            // Each new segment once, as a player does.
            if fetched.last().is_some_and(|(last, _, _)| k <= *last) {
                continue;
            }
            let segment = nginx.get(&format!("/{uri}")).await;
            assert_eq!(segment.status(), 200, "{uri}");
            let (pts, frames) = split_hls_segment(&segment.body);
            let w = walk(frames);
            assert_eq!(w.tail, 0, "{uri}: whole frames");
            fetched.push((k, pts, w.audio));
            let again = nginx.get(&format!("/{uri}")).await;
            assert_eq!(again.body, segment.body);
            hits += usize::from(again.header("x-cache-status") == Some("HIT"));
        }
        tokio::time::sleep(SECOND).await;
    }
    assert!(a.is_none(), "a replica was stopped mid-way");
    assert!(fetched.len() >= 12, "{} segments", fetched.len());
    assert!(
        hits >= fetched.len() - 1,
        "{hits} cache hits for {} segments",
        fetched.len()
    );
    // Every segment, in order, none missing, each timestamp the previous one plus its length.
    for pair in fetched.windows(2) {
        let ((k0, pts0, audio0), (k1, pts1, _)) = (pair[0], pair[1]);
        assert_eq!(k1, k0 + 1, "no segment missing");
        let expected = (pts0 + (audio0.as_nanos() * 90_000 / 1_000_000_000) as u64) % (1 << 33);
        assert!(
            pts1.abs_diff(expected) <= 1,
            "segment {k1}: {pts1} after {pts0}"
        );
    }
}

/// `#EXT-X-MEDIA-SEQUENCE` of `playlist`.
fn media_sequence(playlist: &str) -> u64 {
    playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no media sequence in {playlist}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_idle_minute_nginx_serves_a_fresh_playlist_and_caches_mp3_segments_by_one_name() {
    let Some(binary) = nginx() else { return };
    let tracks = programme_files("mix", &["01 One.mp3", "02 Two.mp3", "03 Three.mp3"]);
    let a = TestServer::start_owned(&tracks, CONFIG).await;
    let b = TestServer::start_owned(&tracks, CONFIG).await;
    let nginx = Nginx::start(&binary, [a.addr, b.addr]).await;
    let playlist = nginx.get("/mix.m3u8?session=1").await;
    assert_eq!(playlist.status(), 200);
    let text = String::from_utf8_lossy(&playlist.body).to_string();
    let newest = text
        .lines()
        .rfind(|l| l.ends_with(".mp3"))
        .unwrap_or_else(|| panic!("MP3 segments listed: {text}"))
        .to_string();
    // MP3 segments are cached like AAC ones: the second request is a hit.
    let segment = nginx.get(&format!("/{newest}")).await;
    assert_eq!(segment.status(), 200, "{newest}");
    let again = nginx.get(&format!("/{newest}")).await;
    assert_eq!(again.header("x-cache-status"), Some("HIT"), "{newest}");
    assert_eq!(again.body, segment.body);
    // One name per segment: other spellings are no segment, so they cannot fill the cache.
    let (folder, file) = newest.rsplit_once('/').expect("station/k.mp3");
    let k = file.strip_suffix(".mp3").expect(".mp3");
    for other in [
        format!("/{folder}/0{k}.mp3"),
        format!("/{folder}/+{k}.mp3"),
        format!("/{folder}/{k}.aac"),
    ] {
        assert_eq!(nginx.get(&other).await.status(), 404, "{other}");
    }
    // A quiet spell of more than a minute, then a player: the playlist it gets is the origin's
    // of now, and every segment in it can be had.
    tokio::time::sleep(65 * SECOND).await;
    let through = nginx.get("/mix.m3u8?session=1").await;
    assert_eq!(through.status(), 200);
    let through = String::from_utf8_lossy(&through.body).to_string();
    let mut origin = HttpResponse::send(
        a.addr,
        "GET /mix.m3u8?session=2 HTTP/1.1\r\nHost: radio.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    origin.read_full(5 * SECOND).await;
    let origin = String::from_utf8_lossy(&origin.body).to_string();
    assert!(
        media_sequence(&origin).abs_diff(media_sequence(&through)) <= 2,
        "a stale playlist after the idle spell:\n{through}\norigin:\n{origin}"
    );
    for uri in through.lines().filter(|l| l.ends_with(".mp3")) {
        assert_eq!(nginx.get(&format!("/{uri}")).await.status(), 200, "{uri}");
    }
}
