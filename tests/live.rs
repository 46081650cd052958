//! Live sources: real encoders (ffmpeg; ezstream on libshout and Liquidsoap where installed)
//! push to a station over Icecast's source protocol. Listeners connected before, during and
//! after get only whole frames, the source takes over and the programme comes back where the
//! station clock says; every refusal is Icecast's; hostile sources disturb nobody.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use onair_tests::frames::{frames, origins, payload, station_frames, Origin};
use onair_tests::{installed_tool, sample, station_in, strip_icy, HttpResponse, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;
use tokio::time::{timeout, Instant};

const SECOND: Duration = Duration::from_secs(1);
const PASSWORD: &str = "s3cret-pw";
/// `source:s3cret-pw`, as Basic credentials.
const CREDENTIALS: &str = "c291cmNlOnMzY3JldC1wdw==";

/// A server with the jazz station (AAC 44.1 kHz stereo), live sources allowed with
/// [`PASSWORD`], a 500 ms live buffer and a 2 s source timeout; then `extra`.
async fn jazz_live(extra: &str) -> TestServer {
    let config = format!(
        "[live]\npassword = \"{PASSWORD}\"\nbuffer_ms = 500\nsource_timeout_s = 2\n{extra}"
    );
    TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], &config).await
}

/// ffmpeg, or `None` (skipped) on a developer machine without it.
fn ffmpeg() -> Option<PathBuf> {
    installed_tool(&["/usr/bin/ffmpeg"], "apt-get install ffmpeg")
}

/// `seconds` of a `freq` Hz tone as ADTS AAC at `rate` Hz, stereo, made by ffmpeg in `dir`.
async fn encode_aac(dir: &Path, name: &str, seconds: u32, freq: u32, rate: u32) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency={freq}:sample_rate={rate}:duration={seconds}"
        ))
        .args(["-ac", "2", "-c:a", "aac", "-b:a", "96k", "-f", "adts"])
        .arg(&path)
        .status()
        .await
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg made {name}");
    path
}

/// ffmpeg pushing `file` (copied, not re-encoded) to station `name`: in real time with
/// `-re`, as fast as it may without.
fn push(addr: SocketAddr, name: &str, file: &Path, realtime: bool) -> tokio::process::Child {
    let mut command = Command::new("ffmpeg");
    command.args(["-nostdin", "-v", "error"]);
    if realtime {
        command.arg("-re");
    }
    command
        .arg("-i")
        .arg(file)
        .args(["-c", "copy", "-f", "adts", "-content_type", "audio/aac"])
        .arg(format!("icecast://source:{PASSWORD}@{addr}/{name}"))
        .kill_on_drop(true)
        .spawn()
        .expect("run ffmpeg")
}

/// A source on `jazz` with `headers` besides its credentials, sending synthetic frames in real
/// time for as long as the test runs (a burst of 40 then one every 23 ms), once its audio is on
/// air; what keeps it connected (its reading half: the writing half feeds on in a task).
async fn go_live(server: &TestServer, headers: &str) -> tokio::net::tcp::OwnedReadHalf {
    let (source, answer) = source_request(
        server.addr,
        &format!(
            "SOURCE /jazz HTTP/1.0\r\nAuthorization: Basic {CREDENTIALS}\r\nContent-Type: audio/aac\r\n{headers}\r\n"
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    let (read, mut write) = source.into_split();
    let frame = onair_core::testing::adts_frame(&onair_core::testing::FrameSpec::default());
    write.write_all(&frame.repeat(40)).await.expect("send");
    // A source that went quiet after a second of audio would be on air for that second only: a
    // test thread kept waiting that long on busy cores would never see it.
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(23));
        loop {
            tick.tick().await;
            if write.write_all(&frame).await.is_err() {
                return;
            }
        }
    });
    onair_tests::eventually("live", 5 * SECOND, || {
        server.registry.get("jazz").is_some_and(|s| s.live.on_air())
    })
    .await;
    read
}

/// Sends a source's request head `head` and reads the answer's status line and head.
async fn source_request(addr: SocketAddr, head: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("send head");
    let answer = read_answer(&mut stream).await;
    (stream, answer)
}

/// Sends a source's request head and checks the answer starts with `status` (`HTTP/1.0 401`);
/// returns the answer.
async fn expect_answer(addr: SocketAddr, head: &str, status: &str) -> String {
    let (_, answer) = source_request(addr, head).await;
    assert!(answer.starts_with(status), "{status} expected: {answer}");
    answer
}

/// The answer's head (or all that came before the server closed).
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let deadline = Instant::now() + 5 * SECOND;
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut chunk = [0u8; 1024];
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).to_string()
}

/// Whether the server closes `stream` within `within` (reading and dropping what it sends).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut sink = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

/// `SOURCE /<name>` with the right credentials and `content_type`.
fn source_head(name: &str, content_type: &str) -> String {
    format!(
        "SOURCE /{name} HTTP/1.0\r\nAuthorization: Basic {CREDENTIALS}\r\nContent-Type: {content_type}\r\nice-name: Test Show\r\n\r\n"
    )
}

fn jazz(status: &serde_json::Value) -> serde_json::Value {
    station_in(status, "jazz")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_takes_a_station_over_and_the_programme_comes_back_on_the_clock() {
    let Some(_) = ffmpeg() else { return };
    let server = jazz_live("").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let live = encode_aac(dir.path(), "live.aac", 4, 1000, 44_100).await;
    let live_bytes = std::fs::read(&live).expect("read live file");
    let programme = station_frames(&sample("jazz.aac"));
    let mut before = server.get("/jazz").await;
    before.read_for(SECOND).await;
    // The source pushes 4 s in real time; a second listener tunes in while it is live.
    let mut source = push(server.addr, "jazz", &live, true);
    let pushed = Instant::now();
    let went_live = onair_tests::eventually("the source is on air", 5 * SECOND, || {
        server.registry.get("jazz").is_some_and(|s| s.live.on_air())
    })
    .await;
    let on_air = server.status_json().await;
    let live_status = &jazz(&on_air)["live"];
    assert_eq!(live_status["ice"]["name"], serde_json::Value::Null);
    assert!(server
        .registry
        .get("jazz")
        .and_then(|s| s.live.source())
        .is_some_and(|s| s.user_agent.starts_with("Lavf")));
    assert_eq!(jazz(&on_air)["now_playing"]["live"], true);
    let mut during = server.get("/jazz").await;
    let exit = timeout(15 * SECOND, source.wait())
        .await
        .expect("ffmpeg ends")
        .expect("ffmpeg ran");
    assert!(exit.success(), "ffmpeg pushed without an error");
    // The buffer plays out, then the programme is back.
    before.read_for(3 * SECOND).await;
    during.read_for(SECOND).await;
    assert!(!before.eof && !during.eof, "listeners stay connected");
    // Live within the buffer (500 ms) plus a chunk (500 ms) of the first frames arriving.
    assert!(
        went_live < 3 * SECOND,
        "on air {went_live:?} after ffmpeg started ({:?} ago)",
        pushed.elapsed()
    );

    let heard = origins(&before.body, &programme, &live_bytes);
    let first_live = heard
        .iter()
        .position(|o| matches!(o, Origin::Live(_)))
        .expect("live audio reached the listener");
    let last_live = heard
        .iter()
        .rposition(|o| matches!(o, Origin::Live(_)))
        .expect("live");
    assert!(last_live + 10 < heard.len(), "the programme came back");
    // One stretch of the source's frames, every one of them, in order.
    let live_run: Vec<_> = heard[first_live..=last_live].to_vec();
    let sent = frames(&live_bytes).len();
    assert_eq!(
        live_run,
        (0..sent).map(Origin::Live).collect::<Vec<_>>(),
        "every frame the source sent, once, in order"
    );
    // The programme ran on underneath: it comes back as many frames on as the live audio
    // lasted (all frames last 1024 samples at 44.1 kHz; the frame that holds the return tick
    // may start up to one frame early).
    let (Origin::Programme(left), Origin::Programme(back)) =
        (heard[first_live - 1], heard[last_live + 1])
    else {
        panic!("programme around the live stretch")
    };
    let count = frames(&programme).len();
    let skipped = (back + count - left - 1) % count;
    assert!(
        skipped == sent || skipped + 1 == sent,
        "the programme moved on {skipped} frames while {sent} live frames played"
    );
    // The listener who came during the show starts on whole frames and hears it.
    let late = origins(&during.body, &programme, &live_bytes);
    assert!(late.iter().any(|o| matches!(o, Origin::Live(_))));
    // A real decoder plays the whole capture, across both switches, without an error.
    let whole: usize = frames(&before.body).iter().map(|f| f.len()).sum();
    let capture = dir.path().join("capture.aac");
    std::fs::write(&capture, &before.body[..whole]).expect("write capture");
    if let Some(errors) = onair_tests::ffmpeg_decode(&capture.display().to_string(), 60).await {
        assert!(errors.trim().is_empty(), "ffmpeg: {errors}");
    }
    // After the show: no source, the programme's own title.
    let after = server.status_json().await;
    assert_eq!(jazz(&after)["live"], serde_json::Value::Null);
    assert_eq!(jazz(&after)["now_playing"]["file"], "jazz.aac");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_icecasts_and_disturb_no_listener() {
    let server = jazz_live("").await;
    let mut listener = server.get("/jazz").await;
    listener.read_for(SECOND).await;
    // libshout asks without credentials first (Content-Length: 0) and waits for the challenge.
    let answer = expect_answer(
        server.addr,
        "SOURCE /jazz HTTP/1.0\r\nContent-Type: audio/aac\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0 401",
    )
    .await;
    assert!(
        answer.contains("WWW-Authenticate: Basic realm="),
        "{answer}"
    );
    // Wrong password: 401 again.
    let wrong = "PUT /jazz HTTP/1.1\r\nHost: x\r\nAuthorization: Basic c291cmNlOndyb25n\r\n\
                 Content-Type: audio/aac\r\nExpect: 100-continue\r\n\r\n";
    expect_answer(server.addr, wrong, "HTTP/1.0 401").await;
    // Another codec's content type: 415.
    expect_answer(
        server.addr,
        &source_head("jazz", "application/ogg"),
        "HTTP/1.0 415",
    )
    .await;
    // No such station: 404.
    expect_answer(
        server.addr,
        &source_head("nothing", "audio/aac"),
        "HTTP/1.0 404",
    )
    .await;
    // A source on air (PUT with Expect: 100-continue, as ffmpeg sends it), then a second one.
    let (mut first, answer) = source_request(
        server.addr,
        &format!("PUT /jazz HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {CREDENTIALS}\r\nContent-Type: audio/aac\r\nExpect: 100-continue\r\n\r\n"),
    )
    .await;
    assert_eq!(answer, "HTTP/1.1 100 Continue\r\n\r\n");
    let frame = onair_core::testing::adts_frame(&onair_core::testing::FrameSpec::default());
    first
        .write_all(&frame.repeat(20))
        .await
        .expect("send frames");
    let (_, answer) = source_request(server.addr, &source_head("jazz", "audio/aac")).await;
    assert!(
        answer.starts_with("HTTP/1.0 403") && answer.contains("Mountpoint in use"),
        "{answer}"
    );
    drop(first);
    // Ingest not configured on a server without a password: 403.
    let closed = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], "").await;
    expect_answer(
        closed.addr,
        &source_head("jazz", "audio/aac"),
        "HTTP/1.0 403",
    )
    .await;
    // Guessing: after five wrong passwords the address is refused for a while, even with the
    // right one.
    for _ in 0..5 {
        expect_answer(
            server.addr,
            "SOURCE /jazz HTTP/1.0\r\nAuthorization: Basic c291cmNlOndyb25n\r\n\r\n",
            "HTTP/1.0 401",
        )
        .await;
    }
    expect_answer(
        server.addr,
        &source_head("jazz", "audio/aac"),
        "HTTP/1.0 429",
    )
    .await;
    // The listener heard the programme throughout, on whole frames.
    listener.read_for(SECOND).await;
    assert!(!listener.eof);
    let _ = frames(&listener.body);
    let mut metrics = server.get("/metrics").await;
    metrics.read_full(5 * SECOND).await;
    let metrics = String::from_utf8_lossy(&metrics.body).to_string();
    assert!(
        metrics.contains("onair_live_connects_total{station=\"jazz\",result=\"unauthorized\"} 7"),
        "{metrics}"
    );
    assert!(metrics.contains("result=\"busy\"} 1"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sources_are_dropped_and_nobody_else_notices() {
    let server = jazz_live("").await;
    let mut listener = server.get("/jazz").await;
    listener.read_for(SECOND).await;
    // Another sample rate: dropped at its first frames, with both formats in the log.
    let other = onair_core::testing::adts_frame(&onair_core::testing::FrameSpec {
        sample_rate_index: 3,
        ..onair_core::testing::FrameSpec::default()
    });
    let (mut wrong_rate, answer) =
        source_request(server.addr, &source_head("jazz", "audio/aac")).await;
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    wrong_rate.write_all(&other.repeat(10)).await.expect("send");
    assert!(
        closed_within(&mut wrong_rate, 3 * SECOND).await,
        "another rate is dropped"
    );
    // Garbage: dropped once 64 KiB came without a frame.
    let (mut garbage, _) = source_request(server.addr, &source_head("jazz", "audio/aac")).await;
    let noise: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 & 0x7F)
        .collect();
    let _ = garbage.write_all(&noise).await;
    assert!(
        closed_within(&mut garbage, 3 * SECOND).await,
        "garbage is dropped"
    );
    // A head trickled byte by byte is served like any other, and a source that then stalls is
    // dropped after source_timeout_s (2 s).
    let mut trickle = TcpStream::connect(server.addr).await.expect("connect");
    for byte in source_head("jazz", "audio/aac").bytes() {
        trickle.write_all(&[byte]).await.expect("send");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let answer = read_answer(&mut trickle).await;
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    let frame = onair_core::testing::adts_frame(&onair_core::testing::FrameSpec::default());
    trickle.write_all(&frame.repeat(5)).await.expect("send");
    let stalled = Instant::now();
    assert!(
        closed_within(&mut trickle, 5 * SECOND).await,
        "a stalled source is dropped"
    );
    assert!(
        stalled.elapsed() >= Duration::from_millis(1900),
        "after the timeout, not before"
    );
    // The next source may go on air at once.
    onair_tests::eventually("the mount is free", 2 * SECOND, || {
        server
            .registry
            .get("jazz")
            .is_some_and(|s| s.live.source().is_none())
    })
    .await;
    expect_answer(
        server.addr,
        &source_head("jazz", "audio/aac"),
        "HTTP/1.0 200",
    )
    .await;
    listener.read_for(SECOND).await;
    assert!(!listener.eof, "the listener stays");
    let _ = frames(&listener.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_ten_times_faster_than_real_time_is_slowed_not_dropped() {
    let Some(_) = ffmpeg() else { return };
    let server = jazz_live("").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let live = encode_aac(dir.path(), "fast.aac", 10, 700, 44_100).await;
    let live_bytes = std::fs::read(&live).expect("read");
    let mut listener = server.get("/jazz").await;
    // Without -re, ffmpeg writes as fast as the socket takes it.
    let mut source = push(server.addr, "jazz", &live, false);
    onair_tests::eventually("on air", 5 * SECOND, || {
        server.registry.get("jazz").is_some_and(|s| s.live.on_air())
    })
    .await;
    tokio::time::sleep(2 * SECOND).await;
    // Read no faster than real time plus the buffer (twice 500 ms at most, and a read).
    let read = jazz(&server.status_json().await)["live"]["bytes_in"]
        .as_u64()
        .expect("bytes in");
    assert!(
        read < live_bytes.len() as u64 * 6 / 10,
        "{read} of {} bytes read 2 s into 10 s of audio",
        live_bytes.len()
    );
    let exit = timeout(30 * SECOND, source.wait())
        .await
        .expect("ffmpeg ends")
        .expect("ffmpeg ran");
    assert!(exit.success(), "not dropped");
    onair_tests::eventually("played out", 15 * SECOND, || {
        server
            .registry
            .get("jazz")
            .is_some_and(|s| !s.live.on_air())
    })
    .await;
    listener.read_for(SECOND).await;
    let heard = origins(
        &listener.body,
        &station_frames(&sample("jazz.aac")),
        &live_bytes,
    );
    let live_frames = heard
        .iter()
        .filter(|o| matches!(o, Origin::Live(_)))
        .count();
    assert_eq!(live_frames, frames(&live_bytes).len(), "every frame played");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_updates_reach_listeners_and_the_admin_cuts_a_source_off() {
    let server = jazz_live("[admin]\npassword = \"adm1n\"\n").await;
    let mut listener =
        HttpResponse::send(server.addr, "GET /jazz HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n").await;
    let (mut source, answer) = source_request(server.addr, &source_head("jazz", "audio/aac")).await;
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    // A source sending in real time, from a task.
    let frame = onair_core::testing::adts_frame(&onair_core::testing::FrameSpec::default());
    let sender = tokio::spawn(async move {
        let start = Instant::now();
        for i in 0..400u32 {
            tokio::time::sleep_until(start + Duration::from_micros(23_220) * i).await;
            if source.write_all(&frame).await.is_err() {
                return true;
            }
        }
        false
    });
    onair_tests::eventually("on air", 5 * SECOND, || {
        server.registry.get("jazz").is_some_and(|s| s.live.on_air())
    })
    .await;
    // Before any update, the source's ice-name names the show.
    listener.read_for(3 * SECOND).await;
    // libshout's way: first without credentials (the challenge), then with the source's.
    let update = "/admin/metadata?mount=/jazz&mode=updinfo&song=Caf%C3%A9+Live";
    let mut unauthorised = server.get(update).await;
    unauthorised.read_full(5 * SECOND).await;
    assert_eq!(unauthorised.status(), 401);
    assert!(unauthorised.header("www-authenticate").is_some());
    let mut updated = HttpResponse::send(
        server.addr,
        &format!("GET {update} HTTP/1.0\r\nAuthorization: Basic {CREDENTIALS}\r\n\r\n"),
    )
    .await;
    updated.read_full(5 * SECOND).await;
    assert_eq!(updated.status(), 200);
    assert!(String::from_utf8_lossy(&updated.body).contains("<return>1</return>"));
    listener.read_for(3 * SECOND).await;
    let (_, blocks) = strip_icy(&listener.body);
    let titles: Vec<String> = blocks.into_iter().filter_map(|(_, t)| t).collect();
    assert!(
        titles.iter().any(|t| t == "StreamTitle='Test Show';"),
        "the ice-name first: {titles:?}"
    );
    assert_eq!(
        titles.last().map(String::as_str),
        Some("StreamTitle='Café Live';"),
        "{titles:?}"
    );
    let live = server.status_json().await;
    assert_eq!(jazz(&live)["now_playing"]["title"], "Café Live");
    assert_eq!(jazz(&live)["live"]["title"], "Café Live");
    // listclients and killsource are the admin's only.
    let admin = "YWRtaW46YWRtMW4="; // admin:adm1n
    let mut refused = HttpResponse::send(
        server.addr,
        &format!("GET /admin/killsource?mount=/jazz HTTP/1.0\r\nAuthorization: Basic {CREDENTIALS}\r\n\r\n"),
    )
    .await;
    refused.read_full(5 * SECOND).await;
    assert_eq!(refused.status(), 401);
    let mut clients = HttpResponse::send(
        server.addr,
        &format!(
            "GET /admin/listclients?mount=/jazz HTTP/1.0\r\nAuthorization: Basic {admin}\r\n\r\n"
        ),
    )
    .await;
    clients.read_full(5 * SECOND).await;
    let clients = String::from_utf8_lossy(&clients.body).to_string();
    assert!(clients.contains("<Listeners>1</Listeners>"), "{clients}");
    // Each listener by its session (a number), with its address.
    let id = clients
        .split("<listener id=\"")
        .nth(1)
        .and_then(|rest| rest.split_once("\"><IP>127.0.0.1</IP>"))
        .map(|(id, _)| id.to_string());
    assert!(
        id.is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())),
        "{clients}"
    );
    assert!(clients.contains("<source><IP>127.0.0.1</IP>"), "{clients}");
    let mut kill = HttpResponse::send(
        server.addr,
        &format!(
            "GET /admin/killsource?mount=/jazz HTTP/1.0\r\nAuthorization: Basic {admin}\r\n\r\n"
        ),
    )
    .await;
    kill.read_full(5 * SECOND).await;
    assert_eq!(kill.status(), 200);
    let cut = timeout(10 * SECOND, sender)
        .await
        .expect("sender ends")
        .expect("sender");
    assert!(cut, "the source's connection was closed");
    onair_tests::eventually("back to the programme", 3 * SECOND, || {
        server
            .registry
            .get("jazz")
            .is_some_and(|s| !s.live.on_air())
    })
    .await;
    listener.read_for(SECOND).await;
    assert!(!listener.eof, "the listener stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_segments_carry_the_live_audio_on_the_station_clock() {
    let Some(_) = ffmpeg() else { return };
    let server = jazz_live("[hls]\nsegment_ms = 1000\nwindow_s = 8\n").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let live = encode_aac(dir.path(), "live.aac", 3, 1200, 44_100).await;
    let live_bytes = std::fs::read(&live).expect("read");
    let programme = station_frames(&sample("jazz.aac"));
    let mut source = push(server.addr, "jazz", &live, true);
    let exit = timeout(15 * SECOND, source.wait())
        .await
        .expect("ffmpeg ends")
        .expect("ran");
    assert!(exit.success());
    // The buffer plays out, and the programme is back for a segment or two.
    tokio::time::sleep(3 * SECOND).await;
    let mut playlist = server.get("/jazz.m3u8?session=1").await;
    playlist.read_full(5 * SECOND).await;
    let text = String::from_utf8_lossy(&playlist.body).to_string();
    let uris: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert!(uris.len() >= 6, "{text}");
    assert!(
        !text.contains("#EXT-X-DISCONTINUITY\n"),
        "same format: no discontinuity"
    );
    let (mut all, mut previous) = (Vec::new(), None::<(u64, u64)>);
    for uri in uris {
        let mut segment = server.get(&format!("/{uri}")).await;
        segment.read_full(5 * SECOND).await;
        assert_eq!(segment.status(), 200, "{uri}");
        let (pts, audio) = onair_tests::split_hls_segment(&segment.body);
        let w = onair_tests::walk(audio);
        assert_eq!(w.tail, 0, "whole frames in {uri}");
        if let Some((prev, ticks)) = previous {
            assert!(
                pts.abs_diff((prev + ticks) % (1 << 33)) <= 1,
                "{uri}: the timestamps go on across the switches"
            );
        }
        previous = Some((pts, (w.audio.as_nanos() * 90_000 / 1_000_000_000) as u64));
        all.extend_from_slice(audio);
    }
    let heard = origins(&all, &programme, &live_bytes);
    let live_at: Vec<usize> = heard
        .iter()
        .filter_map(|o| match o {
            Origin::Live(i) => Some(*i),
            Origin::Programme(_) => None,
        })
        .collect();
    assert!(
        live_at.len() > 40,
        "{} live frames in the window",
        live_at.len()
    );
    assert!(
        live_at.windows(2).all(|w| w[1] == w[0] + 1),
        "the source's frames, in order, none twice or lost"
    );
    assert!(
        matches!(heard.last(), Some(Origin::Programme(_))),
        "the programme is back in the newest segment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_a_live_source_within_the_deadline() {
    let server = jazz_live("").await;
    let (mut source, answer) = source_request(server.addr, &source_head("jazz", "audio/aac")).await;
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    let frame = onair_core::testing::adts_frame(&onair_core::testing::FrameSpec::default());
    source.write_all(&frame.repeat(40)).await.expect("send");
    onair_tests::eventually("on air", 5 * SECOND, || {
        server.registry.get("jazz").is_some_and(|s| s.live.on_air())
    })
    .await;
    // The source keeps its connection open (and sends nothing more): shutdown does not wait
    // for it.
    let took = server.shutdown().await;
    assert!(took < 5 * SECOND, "shutdown took {took:?}");
    assert!(
        closed_within(&mut source, SECOND).await,
        "the source's connection is closed"
    );
}

/// A live-only station: `talk`, AAC 44.1 kHz stereo, no files.
const TALK: &str =
    "[stations.talk]\nlive_only = true\ncodec = \"aac\"\nsample_rate = 44100\nchannels = 2\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_only_station_is_off_air_until_a_source_connects_and_keeps_its_listeners_a_while() {
    let Some(_) = ffmpeg() else { return };
    let server = jazz_live(TALK).await;
    // Off air: 404, listed as off air, and the 404 says so (not "no station").
    let mut off_air = server.get("/talk").await;
    assert_eq!(off_air.status(), 404);
    off_air.read_full(2 * SECOND).await;
    let said = String::from_utf8_lossy(&off_air.body).to_string();
    assert!(
        said.contains("/talk is off air until a live source connects"),
        "{said}"
    );
    assert_eq!(server.get("/talk.m3u8?session=1").await.status(), 404);
    let off = server.status_json().await;
    let talk = |status: &serde_json::Value| station_in(status, "talk");
    assert_eq!(talk(&off)["on_air"], false);
    // A source connects: the station is on air, and a listener hears the show.
    let dir = tempfile::tempdir().expect("temp dir");
    let live = encode_aac(dir.path(), "talk.aac", 3, 900, 44_100).await;
    let live_bytes = std::fs::read(&live).expect("read");
    let mut source = push(server.addr, "talk", &live, true);
    onair_tests::eventually("talk on air", 5 * SECOND, || {
        server.registry.audible("talk").is_some()
    })
    .await;
    let mut listener = server.get("/talk").await;
    assert_eq!(listener.status(), 200);
    assert_eq!(talk(&server.status_json().await)["on_air"], true);
    let exit = timeout(15 * SECOND, source.wait())
        .await
        .expect("ffmpeg ends")
        .expect("ran");
    assert!(exit.success());
    // The listener stays for source_timeout_s (2 s) after the source left, then its stream
    // ends; the station is off air again.
    let left = Instant::now();
    listener.read_to_end(10 * SECOND).await;
    assert!(
        left.elapsed() >= Duration::from_millis(1500),
        "kept a while: {:?}",
        left.elapsed()
    );
    onair_tests::eventually("talk off air", 5 * SECOND, || {
        server.registry.audible("talk").is_none()
    })
    .await;
    assert_eq!(server.get("/talk").await.status(), 404);
    // Silence, then the show, then silence: whole frames a real decoder plays without an error.
    let whole: usize = frames(&listener.body).iter().map(|f| f.len()).sum();
    let heard: Vec<&[u8]> = frames(&listener.body);
    let live_payloads: std::collections::HashSet<&[u8]> =
        frames(&live_bytes).into_iter().map(payload).collect();
    let live_heard = heard
        .iter()
        .filter(|f| live_payloads.contains(payload(f)))
        .count();
    assert!(live_heard > 100, "{live_heard} live frames heard");
    let capture = dir.path().join("talk-capture.aac");
    std::fs::write(&capture, &listener.body[..whole]).expect("write");
    if let Some(errors) = onair_tests::ffmpeg_decode(&capture.display().to_string(), 60).await {
        assert!(errors.trim().is_empty(), "ffmpeg: {errors}");
    }
    // The next source puts it on air again.
    expect_answer(
        server.addr,
        &source_head("talk", "audio/aac"),
        "HTTP/1.0 200",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onairs_silent_frames_decode_as_silence() {
    let Some(_) = ffmpeg() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    for (kind, extension, rates) in [
        (
            onair_core::Kind::Aac { profile: 1 },
            "aac",
            vec![8_000, 22_050, 44_100, 48_000],
        ),
        (
            onair_core::Kind::Mpeg { layer: 3 },
            "mp3",
            vec![8_000, 22_050, 44_100, 48_000],
        ),
    ] {
        for sample_rate in rates {
            for channels in [1, 2] {
                let format = onair_core::Format {
                    kind,
                    sample_rate,
                    channels,
                };
                let frame = onair_core::silent_frame(&format).expect("silence");
                let path = dir
                    .path()
                    .join(format!("s-{sample_rate}-{channels}.{extension}"));
                std::fs::write(&path, frame.repeat(50)).expect("write");
                let errors = onair_tests::ffmpeg_decode(&path.display().to_string(), 10)
                    .await
                    .expect("ffmpeg");
                assert!(errors.trim().is_empty(), "{format}: {errors}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_that_takes_other_formats_switches_on_segment_boundaries_with_a_discontinuity() {
    let Some(_) = ffmpeg() else { return };
    let server = jazz_live(
        "[hls]\nsegment_ms = 1000\nwindow_s = 14\n[stations.jazz]\nlive_other_formats = true\n",
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    // 48 kHz: the station plays 44.1 kHz.
    let live = encode_aac(dir.path(), "other.aac", 3, 800, 48_000).await;
    let mut listener = server.get("/jazz").await;
    let mut source = push(server.addr, "jazz", &live, true);
    let exit = timeout(15 * SECOND, source.wait())
        .await
        .expect("ffmpeg ends")
        .expect("ran");
    assert!(exit.success(), "taken, not dropped");
    // The buffer plays out, silence to a boundary, then the programme for a few segments.
    tokio::time::sleep(5 * SECOND).await;
    listener.read_for(SECOND).await;
    assert!(!listener.eof, "the listener stays");
    // The stream: whole frames, 44.1 kHz, then 48 kHz, then 44.1 kHz again.
    let mut rates = Vec::new();
    for frame in frames(&listener.body) {
        let rate = onair_core::AdtsHeader::parse(frame)
            .expect("frame")
            .sample_rate();
        if rates.last() != Some(&rate) {
            rates.push(rate);
        }
    }
    assert_eq!(rates, vec![44_100, 48_000, 44_100]);
    // HLS: each segment one format, a discontinuity where it changes, both ways.
    let mut playlist = server.get("/jazz.m3u8?session=1").await;
    playlist.read_full(5 * SECOND).await;
    let text = String::from_utf8_lossy(&playlist.body).to_string();
    let mut marked_before = Vec::new();
    let mut discontinuity = false;
    let mut segment_rates = Vec::new();
    for line in text.lines() {
        if line == "#EXT-X-DISCONTINUITY" {
            discontinuity = true;
        } else if !line.starts_with('#') && !line.is_empty() {
            let mut segment = server.get(&format!("/{line}")).await;
            segment.read_full(5 * SECOND).await;
            let (_, audio) = onair_tests::split_hls_segment(&segment.body);
            let mut rates: Vec<u32> = frames(audio)
                .iter()
                .map(|f| {
                    onair_core::AdtsHeader::parse(f)
                        .expect("frame")
                        .sample_rate()
                })
                .collect();
            rates.dedup();
            assert_eq!(
                rates.len(),
                1,
                "{line}: one format per segment, got {rates:?}"
            );
            if segment_rates.last().is_some_and(|r| *r != rates[0]) {
                assert!(
                    discontinuity,
                    "{line} changes format without a discontinuity\n{text}"
                );
            }
            marked_before.push(discontinuity);
            discontinuity = false;
            segment_rates.push(rates[0]);
        }
    }
    let mut changes = segment_rates.clone();
    changes.dedup();
    assert_eq!(changes, vec![44_100, 48_000, 44_100], "{text}");
    assert_eq!(marked_before.iter().filter(|m| **m).count(), 2, "{text}");
}

/// Behind a trusted proxy (the shipped nginx config), the login guard counts the client's
/// address, not the proxy's: five wrong passwords from one client lock that client out, and a
/// presenter and the operator coming through the same proxy still get in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_the_guard_counts_the_client_not_the_proxy() {
    let config = format!(
        "trusted_proxies = [\"127.0.0.1\"]\n[live]\npassword = \"{PASSWORD}\"\nbuffer_ms = 500\n[admin]\npassword = \"admin-pw\"\n"
    );
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], &config).await;
    let wrong = |client: &str| {
        format!(
            "SOURCE /jazz HTTP/1.0\r\nAuthorization: Basic c291cmNlOndyb25n\r\nX-Forwarded-For: {client}\r\n\r\n"
        )
    };
    for _ in 0..5 {
        expect_answer(server.addr, &wrong("198.51.100.7"), "HTTP/1.0 401").await;
    }
    expect_answer(server.addr, &wrong("198.51.100.7"), "HTTP/1.0 429").await;
    // Another client through the same proxy, with the right password: on air.
    let _presenter = go_live(&server, "X-Forwarded-For: 203.0.113.20\r\n").await;
    // Operators see the presenter's address, not the proxy's.
    assert!(server
        .registry
        .get("jazz")
        .and_then(|s| s.live.source())
        .is_some_and(|s| s.address.ip().to_string() == "203.0.113.20"));
    // The admin API through the proxy: the operator is let in.
    let admin = HttpResponse::send(
        server.addr,
        "GET /admin/listclients?mount=/jazz HTTP/1.1\r\nHost: x\r\n\
         Authorization: Basic YWRtaW46YWRtaW4tcHc=\r\nX-Forwarded-For: 203.0.113.30\r\n\r\n",
    )
    .await;
    assert!(
        admin.status_line.starts_with("HTTP/1.1 200"),
        "{}",
        admin.status_line
    );
}

/// A source that leaves before it delivered `buffer_ms` of whole frames never goes on air:
/// 900 bytes (four frames) and gone, the listener hears the programme on and not one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_leaves_before_its_buffer_is_full_never_goes_on_air() {
    let server = jazz_live("").await;
    let mut listener = server.get("/jazz").await;
    listener.read_for(SECOND / 2).await;
    let spec = onair_core::testing::FrameSpec {
        fill: 0xA5,
        ..onair_core::testing::FrameSpec::default()
    };
    let frame = onair_core::testing::adts_frame(&spec);
    let (mut source, answer) = source_request(server.addr, &source_head("jazz", "audio/aac")).await;
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    source.write_all(&frame.repeat(4)).await.expect("send");
    drop(source);
    listener.read_for(3 * SECOND).await;
    let heard = frames(&listener.body);
    assert!(heard.len() > 100, "the listener heard the programme");
    assert!(
        heard.iter().all(|f| payload(f)[..16] != [0xA5; 16]),
        "a source's frames reached the listener"
    );
    assert!(!server.registry.get("jazz").is_some_and(|s| s.live.on_air()));
}

/// The bytes the kernel holds received for onair but not read, on the server's side of the
/// connection from `client` to `server` (`/proc/net/tcp`'s `rx_queue`).
fn unread_by_server(server: SocketAddr, client: SocketAddr) -> Option<u64> {
    let hex = |a: SocketAddr| match a {
        SocketAddr::V4(a) => format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(a.ip().octets()),
            a.port()
        ),
        SocketAddr::V6(_) => String::new(),
    };
    let (local, remote) = (hex(server), hex(client));
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&local.as_str()) && fields.get(2) == Some(&remote.as_str()))
            .then(|| fields.get(4)?.split(':').nth(1))
            .flatten()
            .and_then(|rx| u64::from_str_radix(rx, 16).ok())
    })
}

/// A source faster than real time is slowed by TCP within a second or two of audio: onair
/// bounds its socket's receive buffer (unbounded, Linux let it grow toward 32 MiB, and a show
/// uploaded in 0.6 s stayed on air 27 s after the encoder left).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_faster_than_real_time_is_slowed_within_seconds() {
    let server = jazz_live("").await;
    let spec = onair_core::testing::FrameSpec {
        payload_len: 1000,
        ..onair_core::testing::FrameSpec::default()
    };
    // 60 s of 44.1 kHz frames (1024 samples each), about 350 kb/s: 2.6 MB.
    let show = onair_core::testing::adts_frame(&spec).repeat(2_600);
    let mut source = TcpStream::connect(server.addr).await.expect("connect");
    let client = source.local_addr().expect("address");
    source
        .write_all(source_head("jazz", "audio/aac").as_bytes())
        .await
        .expect("head");
    let answer = read_answer(&mut source).await;
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    // As fast as TCP takes it, for 3 s.
    let _ = timeout(3 * SECOND, source.write_all(&show)).await;
    // What the sender's kernel holds reaches the server's as fast as its window lets it.
    tokio::time::sleep(SECOND).await;
    let unread = unread_by_server(server.addr, client).expect("the connection in /proc/net/tcp");
    // About a second of audio at the station's rate (128 kb/s), doubled by the kernel.
    assert!(
        unread <= 64 * 1024,
        "the kernel holds {unread} bytes of the source that onair has not read"
    );
}

/// A presenter's address and user agent are the operator's to see: public status
/// (`/status.json`, `/status-json.xsl`) has neither, `/admin/status.json` (admin credentials)
/// has both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_status_shows_no_source_address_and_the_admin_view_does() {
    let config = format!(
        "[live]\npassword = \"{PASSWORD}\"\nbuffer_ms = 200\n[admin]\npassword = \"admin-pw\"\n"
    );
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], &config).await;
    let _source = go_live(&server, "User-Agent: SecretMixer/1.0\r\n").await;
    for path in ["/status.json", "/status-json.xsl"] {
        let mut public = server.get(path).await;
        public.read_full(5 * SECOND).await;
        let text = String::from_utf8_lossy(&public.body);
        assert!(
            !text.contains("127.0.0.1") && !text.contains("SecretMixer"),
            "{path}: {text}"
        );
    }
    let refused = server.get("/admin/status.json").await;
    assert!(
        refused.status_line.contains("401"),
        "{}",
        refused.status_line
    );
    let mut admin = HttpResponse::send(
        server.addr,
        "GET /admin/status.json HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46YWRtaW4tcHc=\r\n\r\n",
    )
    .await;
    admin.read_full(5 * SECOND).await;
    let status: serde_json::Value = serde_json::from_slice(&admin.body).expect("JSON");
    let live = &jazz(&status)["live"];
    assert_eq!(live["address"], "127.0.0.1", "{live}");
    assert_eq!(live["user_agent"], "SecretMixer/1.0", "{live}");
}

/// Titles and a source's self-description lose control characters on the way in and are cut
/// to 1 KiB: a NUL, CR and LF in a metadata update and a 15,000-character `ice-name` reach no
/// status page as they came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titles_and_ice_fields_are_cleaned_and_capped() {
    let server = jazz_live("").await;
    let name = "N".repeat(15_000);
    let _source = go_live(&server, &format!("ice-name: {name}\r\n")).await;
    let update = HttpResponse::send(
        server.addr,
        &format!(
            "GET /admin/metadata?mount=/jazz&mode=updinfo&song=Night%00Walk%0D%0AInjected HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {CREDENTIALS}\r\n\r\n"
        ),
    )
    .await;
    assert!(update.status_line.contains("200"), "{}", update.status_line);
    let status = server.status_json().await;
    let live = &jazz(&status)["live"];
    assert_eq!(live["title"], "NightWalk Injected", "{live}");
    let shown = live["ice"]["name"].as_str().expect("ice name");
    assert_eq!(shown.len(), 1024);
    let mut icestats = server.get("/status-json.xsl").await;
    icestats.read_full(5 * SECOND).await;
    assert!(
        icestats.body.len() < 8 * 1024,
        "{} bytes",
        icestats.body.len()
    );
}

/// A refused source leaves one log line with the reason (another codec, a busy mount).
#[tokio::test]
async fn a_refused_source_is_said_in_the_log() {
    let log = onair_tests::Log::default();
    let _logging = log.capture();
    let server = jazz_live("").await;
    expect_answer(
        server.addr,
        &source_head("jazz", "application/ogg"),
        "HTTP/1.0 415",
    )
    .await;
    onair_tests::eventually("the refusal said", 5 * SECOND, || {
        log.count(&["live source refused", "jazz", "application/ogg"]) == 1
    })
    .await;
}
