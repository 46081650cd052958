//! The station clock end to end: a station's position is a function of its file and the wall
//! clock, so a server started (or restarted) later joins where the station is, and two servers
//! with the same files and epoch send the same frame at the same moment.

use std::time::{Duration, SystemTime};

use onair_core::testing::{adts_frame, FrameSpec};
use onair_core::{tick_at, AdtsHeader};
use onair_tests::{walk, TestServer};

/// Frames in the test file (46 s at 44.1 kHz).
const FRAMES: u32 = 2000;
/// Ticks per 1024-sample frame at 44.1 kHz.
const FRAME_TICKS: u64 = 1024 * 640;

/// `FRAMES` frames of about 128 kb/s, each numbered in its first two payload bytes.
fn numbered() -> Vec<u8> {
    (0..FRAMES)
        .flat_map(|i| {
            let mut frame = adts_frame(&FrameSpec {
                payload_len: 365,
                fill: 0x11,
                ..FrameSpec::default()
            });
            frame[7] = (i / 200 + 1) as u8;
            frame[8] = (i % 200 + 1) as u8;
            frame
        })
        .collect()
}

/// The numbers of the whole frames in `bytes`.
fn ids(bytes: &[u8]) -> Vec<u32> {
    let w = walk(bytes);
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() - w.tail {
        let header = AdtsHeader::parse(&bytes[pos..]).expect("frame");
        out.push(u32::from(bytes[pos + 7] - 1) * 200 + u32::from(bytes[pos + 8] - 1));
        pos += usize::from(header.frame_length);
    }
    out
}

/// The frame the clock says plays now.
fn frame_now(epoch: SystemTime) -> u32 {
    ((tick_at(epoch, SystemTime::now()) / FRAME_TICKS) % u64::from(FRAMES)) as u32
}

/// Frames apart on the loop of `FRAMES`.
fn apart(a: u32, b: u32) -> u32 {
    let d = a.abs_diff(b);
    d.min(FRAMES - d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_started_apart_play_the_same_frame_at_the_same_moment() {
    let file = numbered();
    // An epoch 20 s ago: the station is 20 s into its file, whatever the real date.
    let epoch = SystemTime::now() - Duration::from_secs(20);
    let config = format!(
        "[pacing]\nchunk_ms = 200\nepoch = \"{}\"\n",
        humantime::format_rfc3339_nanos(epoch)
    );
    let a = TestServer::start(&[("radio.aac", &file)], &config).await;
    let mut listener_a = a.get("/radio").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // A second server (a replica, or this one restarted) a second later.
    let b = TestServer::start(&[("radio.aac", &file)], &config).await;
    let mut listener_b = b.get("/radio").await;
    tokio::join!(
        listener_a.read_for(Duration::from_millis(1500)),
        listener_b.read_for(Duration::from_millis(1500))
    );
    let now = frame_now(epoch);
    let (ids_a, ids_b) = (ids(&listener_a.body), ids(&listener_b.body));
    // Each starts with a burst of 4 s (172 frames) before where the clock was when it joined:
    // never the top of the file.
    let first_b = ids_b[0];
    assert!(
        apart(first_b, now.saturating_sub(172 + 65)) <= 12,
        "B's burst starts at frame {first_b}, the clock is at {now}"
    );
    assert!(first_b > 500, "started at the top of the file: {first_b}");
    // Both are at the live edge: the frame the clock says, within a chunk (9 frames) and the
    // scheduling of this test.
    let (last_a, last_b) = (ids_a[ids_a.len() - 1], ids_b[ids_b.len() - 1]);
    eprintln!("clock at frame {now}; A at {last_a}, B at {last_b}");
    assert!(apart(last_a, last_b) <= 9, "A at {last_a}, B at {last_b}");
    assert!(apart(last_a, now) <= 12, "A at {last_a}, clock at {now}");
    // Where they overlap, they hold the same frames in the same order.
    let start = ids_a
        .iter()
        .position(|&id| id == ids_b[0])
        .expect("overlap");
    let overlap = &ids_a[start..];
    let n = overlap.len().min(ids_b.len());
    assert!(n > 200, "overlap of {n} frames");
    assert_eq!(&overlap[..n], &ids_b[..n]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_goes_on_air_at_its_epoch_and_not_before() {
    let file = numbered();
    // An epoch a second and a half ahead: until then the station clock has not started.
    let epoch = SystemTime::now() + Duration::from_millis(1500);
    let config = format!(
        "[pacing]\nchunk_ms = 200\nburst_ms = 0\nepoch = \"{}\"\n",
        humantime::format_rfc3339_nanos(epoch)
    );
    let server = TestServer::start(&[("radio.aac", &file)], &config).await;
    assert!(
        server.registry.get("radio").is_none(),
        "off air before its epoch"
    );
    assert_eq!(server.get("/radio").await.status(), 404);
    onair_tests::eventually("on air at its epoch", 5 * Duration::from_secs(1), || {
        server.registry.get("radio").is_some()
    })
    .await;
    // It starts at the top of its file, where every replica's clock puts tick 0.
    let mut listener = server.get("/radio").await;
    listener.read_for(Duration::from_millis(500)).await;
    let first = ids(&listener.body)[0];
    assert!(apart(first, frame_now(epoch)) <= 25, "frame {first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_clock_centuries_past_the_epoch_is_refused() {
    let file = numbered();
    // The host's clock says 2626: 600 years past the default epoch (2026-01-01).
    let far = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600 + 600 * 365 * 86_400);
    let clock = onair_core::TestClock::starting_at(far);
    let server = TestServer::start_with_clock(&[("radio.aac", &file)], "", clock).await;
    assert!(server.registry.get("radio").is_none(), "refused");
    assert_eq!(server.get("/radio").await.status(), 404);
}
