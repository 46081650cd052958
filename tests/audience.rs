//! The audience seam as a listener and an operator meet it: HLS players counted one each
//! however many segments they fetch, and the access log in Apache's combined format.

use std::time::Duration;

use onair_tests::{installed_tool, sample, station_in, HttpResponse, TestServer};

const SECOND: Duration = Duration::from_secs(1);
/// One-second segments: a session ends 4 s (two target durations) after its last playlist.
const HLS: &str = "[hls]\nsegment_ms = 1000\nwindow_s = 6\n";

/// `GET path` with `headers`, read whole.
async fn get(server: &TestServer, path: &str, headers: &str) -> HttpResponse {
    let mut response = HttpResponse::send(
        server.addr,
        &format!("GET {path} HTTP/1.1\r\nHost: test\r\nUser-Agent: hls-player\r\nConnection: close\r\n{headers}\r\n"),
    )
    .await;
    response.read_full(5 * SECOND).await;
    response
}

fn text(response: &HttpResponse) -> String {
    String::from_utf8_lossy(&response.body).to_string()
}

/// A player: asks for the station's playlist as a user pastes it, and follows the variant the
/// answer names (with its session); returns that variant's path.
async fn tune_in(server: &TestServer) -> String {
    let main = get(server, "/radio.m3u8", "").await;
    assert_eq!(main.status(), 200);
    assert_eq!(main.header("cache-control"), Some("private, no-store"));
    let main = text(&main);
    let variant = main
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .unwrap_or_else(|| panic!("no variant in {main}"));
    assert!(variant.starts_with("radio.m3u8?session="), "{main}");
    format!("/{variant}")
}

/// One poll of a player: its playlist, then every segment listed.
async fn poll(server: &TestServer, variant: &str) -> usize {
    let playlist = get(server, variant, "").await;
    assert_eq!(playlist.status(), 200);
    let playlist = text(&playlist);
    let segments: Vec<&str> = playlist.lines().filter(|l| l.ends_with(".aac")).collect();
    for segment in &segments {
        assert_eq!(get(server, &format!("/{segment}"), "").await.status(), 200);
    }
    segments.len()
}

async fn hls_listeners(server: &TestServer) -> u64 {
    let status = server.status_json().await;
    station_in(&status, "radio")["hls_listeners"]
        .as_u64()
        .expect("hls_listeners")
}

async fn metric(server: &TestServer, line_start: &str) -> Option<f64> {
    let metrics = text(&get(server, "/metrics", "").await);
    metrics
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hls_player_is_one_listener_however_many_segments_it_fetches() {
    let server = TestServer::start(&[("radio.aac", &sample("jazz.aac"))], HLS).await;
    let first = tune_in(&server).await;
    let mut segments = 0;
    for _ in 0..3 {
        segments += poll(&server, &first).await;
    }
    assert!(segments >= 15, "{segments} segments fetched");
    assert_eq!(hls_listeners(&server).await, 1);
    // Two more players from the same address are two more listeners.
    let others = [tune_in(&server).await, tune_in(&server).await];
    for variant in &others {
        poll(&server, variant).await;
    }
    assert_eq!(hls_listeners(&server).await, 3);
    assert_eq!(
        metric(&server, "onair_hls_listeners{station=\"radio\"}").await,
        Some(3.0)
    );
    // The first goes on; the others stop asking, and their sessions end.
    let went_on = tokio::time::Instant::now();
    while went_on.elapsed() < 8 * SECOND {
        poll(&server, &first).await;
        tokio::time::sleep(SECOND).await;
    }
    assert_eq!(hls_listeners(&server).await, 1);
    let ended = "onair_disconnects_total{station=\"radio\",via=\"hls\",reason=\"client_left\"}";
    assert_eq!(metric(&server, ended).await, Some(2.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_playing_hls_is_one_listener() {
    let server = TestServer::start(&[("radio.aac", &sample("jazz.aac"))], HLS).await;
    let url = format!("http://{}/radio.m3u8", server.addr);
    let player = tokio::spawn(async move { onair_tests::ffmpeg_decode(&url, 10).await });
    let mut most = 0;
    let mut seen = 0;
    while !player.is_finished() {
        let now = hls_listeners(&server).await;
        most = most.max(now);
        seen += u64::from(now > 0);
        tokio::time::sleep(SECOND / 4).await;
    }
    let Some(errors) = player.await.expect("ffmpeg task") else {
        return;
    };
    assert!(errors.is_empty(), "{errors}");
    let playlists = metric(
        &server,
        "onair_hls_playlist_requests_total{station=\"radio\"}",
    )
    .await
    .expect("playlist requests");
    // ffmpeg reloaded its playlist several times, each time with its session: one listener.
    assert!(playlists >= 4.0, "{playlists} playlist requests");
    assert!(seen > 0, "ffmpeg was never counted");
    assert_eq!(most, 1, "ffmpeg counted as {most} listeners");
}

/// One access-log line, split into its fields.
#[derive(Debug)]
struct Line {
    client: String,
    user: String,
    request: String,
    status: u16,
    bytes: Option<u64>,
    user_agent: String,
    seconds: f64,
}

/// Parses a line of Apache's combined format with the seconds after it; `None` if it is not one.
fn parse(line: &str) -> Option<Line> {
    let (client, rest) = line.split_once(" - ")?;
    let (user, rest) = rest.split_once(" [")?;
    let (time, rest) = rest.split_once("] \"")?;
    // dd/Mon/yyyy:hh:mm:ss +0000
    if time.len() != 26 || !time.ends_with(" +0000") || &time[2..3] != "/" {
        return None;
    }
    let (request, rest) = quoted(rest)?;
    let mut fields = rest.trim_start().splitn(3, ' ');
    let status = fields.next()?.parse().ok()?;
    let bytes = match fields.next()? {
        "-" => None,
        n => Some(n.parse().ok()?),
    };
    let rest = fields.next()?.strip_prefix('"')?;
    let (_referer, rest) = quoted(rest)?;
    let rest = rest.strip_prefix(" \"")?;
    let (user_agent, rest) = quoted(rest)?;
    let seconds = rest.trim().parse().ok()?;
    Some(Line {
        client: client.to_string(),
        user: user.to_string(),
        request,
        status,
        bytes,
        user_agent,
        seconds,
    })
}

/// A quoted field's text (its opening quote already read) and what follows its closing quote.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &text[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_has_one_combined_line_per_request_and_no_secret() {
    let logs = tempfile::tempdir().expect("temp dir");
    let path = logs.path().join("access.log");
    let server = TestServer::start(
        &[("radio.aac", &sample("jazz.aac"))],
        &format!("{HLS}[log]\naccess = {:?}\n", path.display().to_string()),
    )
    .await;
    assert_eq!(get(&server, "/", "").await.status(), 200);
    assert_eq!(get(&server, "/nowhere", "").await.status(), 404);
    let variant = tune_in(&server).await;
    poll(&server, &format!("{variant}&token=s3cret")).await;
    // A stream listener for a second and a half.
    let mut listener = HttpResponse::send(
        server.addr,
        "GET /radio HTTP/1.1\r\nHost: test\r\nUser-Agent: mpv \"0.35\"\r\nReferer: https://example.com/\r\n\r\n",
    )
    .await;
    listener.read_for(SECOND * 3 / 2).await;
    let heard = listener.body.len() as u64;
    drop(listener);
    server.wait_listeners("radio", 0, 5 * SECOND).await;
    server.shutdown().await;

    let log = std::fs::read_to_string(&path).expect("the access log");
    let lines: Vec<Line> = log
        .lines()
        .map(|l| parse(l).unwrap_or_else(|| panic!("not a combined line: {l}")))
        .collect();
    assert!(!log.contains("s3cret"), "{log}");
    let find = |request: &str| {
        lines
            .iter()
            .find(|l| l.request == request)
            .unwrap_or_else(|| panic!("no line for {request} in\n{log}"))
    };
    let page = find("GET / HTTP/1.1");
    assert_eq!(
        (page.client.as_str(), page.user.as_str(), page.status),
        ("127.0.0.1", "-", 200)
    );
    assert!(page.bytes.unwrap_or(0) > 1000, "{page:?}");
    assert_eq!(find("GET /nowhere HTTP/1.1").status, 404);
    assert_eq!(find("GET /radio.m3u8 HTTP/1.1").user_agent, "hls-player");
    assert!(
        lines.iter().any(|l| l.request.contains("&token=REDACTED")),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.request.ends_with(".aac HTTP/1.1"))
            .count()
            >= 5,
        "{log}"
    );
    // The stream's line is written when it ends, with what it was sent and for how long.
    let stream = find("GET /radio HTTP/1.1");
    assert_eq!(stream.status, 200);
    assert_eq!(stream.user_agent, "mpv \"0.35\"");
    assert!(
        stream.bytes.unwrap_or(0) >= heard,
        "{stream:?}: the listener read {heard}"
    );
    assert!(stream.seconds >= 1.4, "{stream:?}");

    // GoAccess, as an operator would run it, reads every line.
    let Some(goaccess) = installed_tool(&["/usr/bin/goaccess"], "apt-get install goaccess") else {
        return;
    };
    let report = logs.path().join("report.json");
    let output = std::process::Command::new(goaccess)
        .arg(&path)
        .args(["--log-format=COMBINED", "--no-global-config", "-o"])
        .arg(&report)
        .output()
        .expect("run goaccess");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("JSON report");
    let general = &report["general"];
    assert_eq!(general["failed_requests"], 0, "{general}");
    assert_eq!(general["total_requests"], lines.len() as u64, "{general}");
}

#[test]
fn the_parser_refuses_what_is_not_a_combined_line() {
    let good = "192.0.2.7 - - [07/Dec/2026:10:51:07 +0000] \"GET /jazz HTTP/1.1\" 200 1048576 \"-\" \"mpv\" 61.204";
    assert!(parse(good).is_some());
    for bad in [
        "192.0.2.7 - - [07/Dec/2026:10:51:07] \"GET /jazz HTTP/1.1\" 200 1 \"-\" \"mpv\" 1.0",
        "192.0.2.7 - - [07/Dec/2026:10:51:07 +0000] \"GET /jazz HTTP/1.1\" 200 1 \"-\" \"mpv\"",
        "192.0.2.7 - - [07/Dec/2026:10:51:07 +0000] \"GET /jazz HTTP/1.1 200 1 \"-\" \"mpv\" 1.0",
    ] {
        assert!(parse(bad).is_none(), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_removes_one_listener_by_its_listclients_id() {
    let server = TestServer::start(
        &[("radio.aac", &sample("jazz.aac"))],
        "[admin]\npassword = \"pw\"\n",
    )
    .await;
    let admin = "Authorization: Basic YWRtaW46cHc=\r\n";
    let mut stays = HttpResponse::send(server.addr, "GET /radio HTTP/1.0\r\n\r\n").await;
    let mut goes = HttpResponse::send(
        server.addr,
        "GET /radio HTTP/1.0\r\nUser-Agent: to-go\r\n\r\n",
    )
    .await;
    stays.read_at_least(1000, 5 * SECOND).await;
    goes.read_at_least(1000, 5 * SECOND).await;
    // An HLS player is listed too, marked as one.
    let variant = tune_in(&server).await;
    poll(&server, &variant).await;
    let clients = text(&get(&server, "/admin/listclients?mount=/radio", admin).await);
    assert!(clients.contains("<Listeners>3</Listeners>"), "{clients}");
    assert!(
        clients.contains(
            "<UserAgent>hls-player</UserAgent><Connected>0</Connected><Protocol>hls</Protocol>"
        ),
        "{clients}"
    );
    let id = clients
        .split("<listener id=\"")
        .skip(1)
        .find(|l| l.contains("<UserAgent>to-go</UserAgent>"))
        .and_then(|l| l.split('"').next())
        .unwrap_or_else(|| panic!("no listener to go in {clients}"))
        .to_string();
    // Without credentials, or for no such listener: refused.
    assert_eq!(
        get(
            &server,
            &format!("/admin/killclient?mount=/radio&id={id}"),
            ""
        )
        .await
        .status(),
        401
    );
    let unknown = get(&server, "/admin/killclient?mount=/radio&id=12345", admin).await;
    assert_eq!(unknown.status(), 400);
    let removed = get(
        &server,
        &format!("/admin/killclient?mount=/radio&id={id}"),
        admin,
    )
    .await;
    assert_eq!(removed.status(), 200, "{}", text(&removed));
    assert!(text(&removed).contains("Client removed"));
    // Its stream ends; the other plays on.
    goes.read_to_end(5 * SECOND).await;
    server.wait_listeners("radio", 1, 5 * SECOND).await;
    let before = stays.body.len();
    stays.read_for(SECOND).await;
    assert!(stays.body.len() > before, "the other listener plays on");
    let kicked = "onair_disconnects_total{station=\"radio\",via=\"stream\",reason=\"kicked\"}";
    assert_eq!(metric(&server, kicked).await, Some(1.0));
}
