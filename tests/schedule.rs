//! Schedules end to end, on an injected wall clock set just before a slot: the slot's programme
//! takes over on two servers (one started later, as a replica or a restart) at the same frame,
//! status and `/events` say what is on and next in the station's zone and in UTC, an edited grid
//! takes effect at the next track boundary, and a live-only slot refuses a source outside it.

use std::path::Path;
use std::time::{Duration, SystemTime};

use onair_core::testing::{adts_frame, FrameSpec};
use onair_core::{AdtsHeader, TestClock};
use onair_tests::{eventually, walk, TestServer};

const SECOND: Duration = Duration::from_secs(1);

/// `count` frames of about 128 kb/s filled with `fill`, each numbered in its first two payload
/// bytes.
fn frames(count: u32, fill: u8) -> Vec<u8> {
    (0..count)
        .flat_map(|i| {
            let mut frame = adts_frame(&FrameSpec {
                payload_len: 365,
                fill,
                ..FrameSpec::default()
            });
            frame[7] = (i / 200 + 1) as u8;
            frame[8] = (i % 200 + 1) as u8;
            frame
        })
        .collect()
}

/// The whole frames of `bytes` as (fill, number).
fn ids(bytes: &[u8]) -> Vec<(u8, u32)> {
    let w = walk(bytes);
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() - w.tail {
        let header = AdtsHeader::parse(&bytes[pos..]).expect("frame");
        let len = usize::from(header.frame_length);
        out.push((
            bytes[pos + len - 1],
            u32::from(bytes[pos + 7] - 1) * 200 + u32::from(bytes[pos + 8] - 1),
        ));
        pos += len;
    }
    out
}

fn at(text: &str) -> SystemTime {
    humantime::parse_rfc3339(text).expect("time")
}

/// The own programme: `rock/a.aac` (5.8 s, fill 0x11) and `rock/b.aac` (8.1 s, fill 0x22).
fn rock() -> Vec<(String, Vec<u8>)> {
    vec![
        ("rock/a.aac".to_string(), frames(250, 0x11)),
        ("rock/b.aac".to_string(), frames(350, 0x22)),
    ]
}

/// A folder of scheduled programmes outside the stations folder: `news.aac` (fill 0x33) and
/// `show/` (fill 0x44 and 0x55).
fn shows(dir: &Path) {
    std::fs::write(dir.join("news.aac"), frames(430, 0x33)).expect("news");
    std::fs::create_dir_all(dir.join("show")).expect("show folder");
    std::fs::write(dir.join("show/1.aac"), frames(300, 0x44)).expect("show 1");
    std::fs::write(dir.join("show/2.aac"), frames(300, 0x55)).expect("show 2");
}

async fn start(clock: &std::sync::Arc<TestClock>, config: &str) -> TestServer {
    let files = rock();
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    TestServer::start_with_clock(&files, config, std::sync::Arc::clone(clock)).await
}

async fn status(server: &TestServer) -> serde_json::Value {
    let mut response = server.get("/status.json").await;
    response.read_full(5 * SECOND).await;
    let all: serde_json::Value = serde_json::from_slice(&response.body).expect("status JSON");
    all["stations"]
        .as_array()
        .expect("stations")
        .iter()
        .find(|s| s["name"] == "rock")
        .cloned()
        .expect("rock listed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_and_a_restart_play_the_same_frame_through_a_slot_change() {
    let media = tempfile::tempdir().expect("temp dir");
    shows(media.path());
    // The news at 09:00 Berlin time (07:00 UTC in June), on time; the clock 7 s before it.
    let config = format!(
        "[pacing]\nchunk_ms = 200\nburst_ms = 1000\n[stations.rock]\ntimezone = \"Europe/Berlin\"\n\
         [[stations.rock.slots]]\nname = \"News\"\ndays = \"daily\"\nfrom = \"09:00\"\nto = \"09:05\"\n\
         start = \"time\"\nfile = {:?}\n",
        media.path().join("news.aac").display().to_string()
    );
    let clock = TestClock::starting_at(at("2026-06-01T06:59:53Z"));
    let a = start(&clock, &config).await;
    let before = status(&a).await;
    assert_eq!(before["schedule"]["timezone"], "Europe/Berlin");
    assert!(before["schedule"]["slot"].is_null(), "{before}");
    assert_eq!(before["schedule"]["next_slot"]["name"], "News");
    assert_eq!(before["schedule"]["next_slot"]["at"], "09:00");
    assert_eq!(
        before["schedule"]["next_slot"]["start"],
        "2026-06-01T09:00:00+02:00"
    );
    assert_eq!(
        before["schedule"]["next_slot"]["start_utc"],
        "2026-06-01T07:00:00Z"
    );
    let mut listener_a = a.get("/rock").await;
    tokio::time::sleep(2 * SECOND).await;
    // A second server (a replica, or this one restarted) two seconds later.
    let b = start(&clock, &config).await;
    let mut listener_b = b.get("/rock").await;
    tokio::join!(
        listener_a.read_for(9 * SECOND),
        listener_b.read_for(7 * SECOND)
    );
    let (ids_a, ids_b) = (ids(&listener_a.body), ids(&listener_b.body));
    let news = |ids: &[(u8, u32)]| ids.iter().position(|&(fill, _)| fill == 0x33);
    let (switch_a, switch_b) = (
        news(&ids_a).expect("the news on server A"),
        news(&ids_b).expect("the news on server B"),
    );
    // The news starts with its first frame, after the same programme frames on both.
    assert_eq!(ids_a[switch_a], (0x33, 0));
    assert_eq!(ids_b[switch_b], (0x33, 0));
    let shared = switch_b.min(switch_a).min(40);
    assert!(shared >= 20, "both heard the programme before the news");
    assert_eq!(
        ids_a[switch_a - shared..switch_a],
        ids_b[switch_b - shared..switch_b],
        "the same frames before the change"
    );
    let after = ids_a
        .len()
        .saturating_sub(switch_a)
        .min(ids_b.len() - switch_b);
    assert_eq!(
        ids_a[switch_a..switch_a + after],
        ids_b[switch_b..switch_b + after]
    );
    // On a frame boundary at 09:00:00 (within one frame of 23 ms), on both.
    for server in [&a, &b] {
        let now = status(server).await;
        assert_eq!(now["schedule"]["slot"]["name"], "News", "{now}");
        let started = at(now["now_playing"]["started_at"]
            .as_str()
            .expect("started_at"));
        let late = started
            .duration_since(at("2026-06-01T07:00:00Z"))
            .expect("not early");
        assert!(late < Duration::from_millis(24), "{late:?} late");
        assert_eq!(now["now_playing"]["file"], "news.aac");
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_track_start_waits_for_the_track_and_pages_are_told_what_is_next() {
    let media = tempfile::tempdir().expect("temp dir");
    shows(media.path());
    // The morning show on weekdays at 07:00 New York time (11:00 UTC in June), after the
    // track; Monday 2026-06-01, 2 s before.
    let config = format!(
        "[pacing]\nchunk_ms = 200\ntimezone = \"America/New_York\"\n[stations.rock]\n\
         [[stations.rock.slots]]\nname = \"Morning Show\"\ndays = \"mon-fri\"\nfrom = \"07:00\"\nto = \"10:00\"\n\
         folder = {:?}\n",
        media.path().join("show").display().to_string()
    );
    let clock = TestClock::starting_at(at("2026-06-01T10:59:58Z"));
    let server = start(&clock, &config).await;
    let before = status(&server).await;
    assert_eq!(before["schedule"]["next_slot"]["name"], "Morning Show");
    assert_eq!(
        before["schedule"]["next_slot"]["start"],
        "2026-06-01T07:00:00-04:00"
    );
    let playing = before["now_playing"]["started_at"]
        .as_str()
        .expect("started")
        .to_string();
    let mut events = server.get("/events").await;
    // The show starts when the rock track playing at 07:00 ends (at most 8.1 s later).
    let deadline = tokio::time::Instant::now() + 12 * SECOND;
    let now = loop {
        let now = status(&server).await;
        if now["now_playing"]["file"] == "1.aac" {
            break now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the show did not start: {now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(now["schedule"]["slot"]["name"], "Morning Show");
    assert_eq!(now["schedule"]["slot"]["end_utc"], "2026-06-01T14:00:00Z");
    // It started where the rock track ended: no track was cut.
    let started = at(now["now_playing"]["started_at"].as_str().expect("started"));
    assert!(started >= at("2026-06-01T11:00:00Z"));
    let rock_started = at(&playing);
    let rock_length = started.duration_since(rock_started).expect("after");
    // Whole rock tracks (250 and 350 frames: 5.805 s and 8.127 s) from the one playing then.
    assert!(
        [5.805, 8.127, 13.932]
            .iter()
            .any(|l| (rock_length.as_secs_f64() - l).abs() < 0.002),
        "{rock_length:?}"
    );
    events.read_for(2 * SECOND).await;
    let text = String::from_utf8_lossy(&events.body);
    assert!(text.contains("\"Morning Show\""), "{text}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_grid_takes_effect_at_the_next_track_boundary() {
    let media = tempfile::tempdir().expect("temp dir");
    shows(media.path());
    let grid = |from: &str| {
        format!(
            "[pacing]\nchunk_ms = 200\n[stations.rock]\n[[stations.rock.slots]]\nname = \"Show\"\n\
             days = \"daily\"\nfrom = \"{from}\"\nto = \"23:00\"\nfolder = {:?}\n",
            media.path().join("show").display().to_string()
        )
    };
    let clock = TestClock::starting_at(at("2026-06-02T12:00:00Z"));
    let server = start(&clock, &grid("20:00")).await;
    assert!(status(&server).await["schedule"]["slot"].is_null());
    // The slot now starts at noon: it is on, and its programme plays from the next track
    // boundary (after the settle time, at most a rock track later).
    server.edit_config(&grid("11:00"));
    let deadline = tokio::time::Instant::now() + 15 * SECOND;
    loop {
        let now = status(&server).await;
        if now["now_playing"]["file"] == "1.aac" {
            assert_eq!(now["schedule"]["slot"]["name"], "Show");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the edit did not take: {now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The slot removed: the own programme comes back at the next track boundary.
    server.edit_config("[pacing]\nchunk_ms = 200\n");
    let deadline = tokio::time::Instant::now() + 15 * SECOND;
    loop {
        let now = status(&server).await;
        let file = now["now_playing"]["file"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if file == "a.aac" || file == "b.aac" {
            assert!(now["schedule"].is_null());
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the own programme did not come back: {now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_only_slot_refuses_a_source_outside_it_and_ends_one_at_its_end() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = "[pacing]\nchunk_ms = 200\n[live]\npassword = \"s3cret-pw\"\n[stations.rock]\n\
                  timezone = \"Europe/Berlin\"\n[[stations.rock.slots]]\nname = \"Late Show\"\n\
                  days = \"mon-fri\"\nfrom = \"20:00\"\nto = \"22:00\"\nlive_only = true\n";
    // Monday 19:00 in Berlin.
    let clock = TestClock::starting_at(at("2026-06-01T17:00:00Z"));
    let server = start(&clock, config).await;
    let head = "SOURCE /rock HTTP/1.0\r\nAuthorization: Basic c291cmNlOnMzY3JldC1wdw==\r\nContent-Type: audio/aac\r\n\r\n";
    let answer = |mut stream: tokio::net::TcpStream| async move {
        let mut buf = vec![0u8; 2048];
        let n = tokio::time::timeout(5 * SECOND, stream.read(&mut buf))
            .await
            .expect("answered")
            .expect("read");
        (String::from_utf8_lossy(&buf[..n]).to_string(), stream)
    };
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("send");
    let (refused, _) = answer(stream).await;
    assert!(refused.starts_with("HTTP/1.0 403"), "{refused}");
    assert!(refused.contains("Late Show"), "{refused}");
    assert!(refused.contains("2026-06-01T20:00:00+02:00"), "{refused}");
    assert!(refused.contains("2026-06-01T18:00:00Z"), "{refused}");
    let s = status(&server).await;
    assert_eq!(s["schedule"]["takes_sources"], false);
    // 20:30: the slot is on, the source is taken.
    clock.advance(Duration::from_secs(90 * 60));
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("send");
    let (taken, mut stream) = answer(stream).await;
    assert!(taken.starts_with("HTTP/1.0 200"), "{taken}");
    // The source sends in real time until its connection is closed.
    let sender = tokio::spawn(async move {
        let frame = frames(1, 0x66);
        let mut tick = tokio::time::interval(Duration::from_millis(23));
        for _ in 0..2000 {
            tick.tick().await;
            if stream.write_all(&frame).await.is_err() {
                return true;
            }
        }
        false
    });
    eventually("the source is on air", 5 * SECOND, || {
        server.registry.get("rock").is_some_and(|s| s.live.on_air())
    })
    .await;
    // 22:00 passes: the source is ended and the programme takes the station back.
    clock.advance(Duration::from_secs(91 * 60));
    let cut = tokio::time::timeout(10 * SECOND, sender)
        .await
        .expect("the source is cut off at the slot's end")
        .expect("sender");
    assert!(cut, "the source's connection was closed");
    eventually("back to the programme", 3 * SECOND, || {
        server
            .registry
            .get("rock")
            .is_some_and(|s| !s.live.on_air())
    })
    .await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jingles_play_whole_between_whole_tracks() {
    let media = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(media.path().join("ids")).expect("ids");
    std::fs::write(media.path().join("ids/id.aac"), frames(40, 0x77)).expect("jingle");
    let config = format!(
        "[pacing]\nchunk_ms = 200\n[stations.rock]\njingles = {{ folder = {:?}, every_tracks = 1 }}\n",
        media.path().join("ids").display().to_string()
    );
    let clock = TestClock::starting_at(at("2026-06-01T10:00:00Z"));
    let server = start(&clock, &config).await;
    let mut listener = server.get("/rock").await;
    listener.read_for(16 * SECOND).await;
    let heard = ids(&listener.body);
    // Runs of one fill: every run but the first and the last is a whole track or jingle.
    let mut runs: Vec<(u8, Vec<u32>)> = Vec::new();
    for (fill, n) in heard {
        match runs.last_mut() {
            Some((f, numbers)) if *f == fill && numbers.last().is_some_and(|&l| l + 1 == n) => {
                numbers.push(n)
            }
            _ => runs.push((fill, vec![n])),
        }
    }
    let inner = &runs[1..runs.len() - 1];
    assert!(
        inner.iter().any(|(fill, _)| *fill == 0x77),
        "a jingle played: {runs:?}"
    );
    for (fill, numbers) in inner {
        let whole = match fill {
            0x11 => 250,
            0x22 => 350,
            0x77 => 40,
            other => panic!("unexpected fill {other:#x}"),
        };
        assert_eq!(numbers.len(), whole, "fill {fill:#x} whole");
        assert_eq!(numbers[0], 0);
    }
    // Tracks and jingles alternate.
    for pair in runs.windows(2) {
        assert!((pair[0].0 == 0x77) != (pair[1].0 == 0x77), "{runs:?}");
    }
    server.shutdown().await;
}

/// A slot's start and end are said in the log, once each.
#[tokio::test]
async fn a_slot_starting_and_ending_is_said_in_the_log() {
    let log = onair_tests::Log::default();
    let _logging = log.capture();
    let config = "[stations.rock]\ntimezone = \"Europe/Berlin\"\n[[stations.rock.slots]]\n\
                  name = \"Late Show\"\ndays = \"mon-fri\"\nfrom = \"20:00\"\nto = \"22:00\"\n\
                  live_only = true\n";
    // Monday 19:59:58 in Berlin.
    let clock = TestClock::starting_at(at("2026-06-01T17:59:58Z"));
    let server = start(&clock, config).await;
    let started = tokio::time::Instant::now();
    while log.count(&["schedule slot started", "Late Show"]) != 1 {
        assert!(
            started.elapsed() < 10 * SECOND,
            "the slot never started: {}",
            log.text()
        );
        tokio::time::sleep(SECOND / 10).await;
    }
    clock.advance(Duration::from_secs(2 * 3600));
    onair_tests::eventually("the slot ended", 10 * SECOND, || {
        log.count(&["schedule slot ended", "Late Show"]) == 1
    })
    .await;
    assert_eq!(log.count(&["schedule slot started"]), 1);
    drop(server);
}

/// An untagged slot file is called by the slot's name while it plays (it kept the station's
/// title for the whole slot).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untagged_slot_file_is_called_by_the_slots_name() {
    let media = tempfile::tempdir().expect("temp dir");
    shows(media.path());
    let config = format!(
        "[pacing]\nchunk_ms = 200\n[stations.rock]\ntimezone = \"Europe/Berlin\"\n\
         [[stations.rock.slots]]\nname = \"News at Nine\"\ndays = \"daily\"\nfrom = \"09:00\"\n\
         to = \"09:05\"\nstart = \"time\"\nfile = {:?}\n",
        media.path().join("news.aac").display().to_string()
    );
    let clock = TestClock::starting_at(at("2026-06-01T06:59:58Z"));
    let server = start(&clock, &config).await;
    let started = tokio::time::Instant::now();
    loop {
        let now = status(&server).await;
        if now["schedule"]["slot"]["name"] == "News at Nine"
            && now["now_playing"]["title"] == "News at Nine"
        {
            break;
        }
        assert!(started.elapsed() < 10 * SECOND, "{}", now["now_playing"]);
        tokio::time::sleep(SECOND / 5).await;
    }
}
