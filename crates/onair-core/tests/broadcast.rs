//! The pacer and the hub together, on tokio's paused clock: exact timing without waiting.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use onair_core::testing::{adts_stream, FrameSpec};
use onair_core::WallClock;
use onair_core::{
    probe, ticks_of, Chunk, Hub, Pacer, Programme, Subscription, Switch, TestClock, Timeline,
    TimelineFeed, Tuning,
};
use std::time::SystemTime;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;

/// 44.1 kHz, one block per frame: 1024 / 44100 s = 23.2 ms per frame.
const FRAME: Duration = Duration::from_nanos(1024 * 1_000_000_000 / 44_100);
const FRAME_LEN: usize = 207;

struct Station {
    hub: Arc<Hub>,
    timeline: watch::Sender<Arc<Timeline>>,
    /// Tick 0 of the station clock: `burst` before the start, so that the station starts at
    /// the top of its file with its burst due.
    epoch: SystemTime,
    stop: CancellationToken,
    /// The station's wall clock, stepped by hand where a test says so.
    clock: Arc<TestClock>,
    started: Instant,
    file: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl Drop for Station {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Puts `frames` synthetic frames on air with `tuning`.
fn on_air(frames: usize, tuning: Tuning) -> Station {
    let dir = tempfile::tempdir().expect("temp dir");
    let path: PathBuf = dir.path().join("test.aac");
    let file = adts_stream(&FrameSpec::default(), frames);
    std::fs::write(&path, &file).expect("write station");
    let info = probe(&path).expect("probe");
    let hub = Hub::new("test", tuning);
    let stop = CancellationToken::new();
    let (timeline, rx) = watch::channel(Arc::new(Timeline::new(Arc::new(Programme::single(
        Arc::new(info),
    )))));
    let clock = TestClock::starting_at(SystemTime::now());
    let epoch = clock.now() - tuning.burst;
    let pacer = Pacer::new(
        TimelineFeed::new(rx, Duration::from_secs(60)),
        Arc::clone(&hub),
        epoch,
        Arc::clone(&clock) as Arc<dyn WallClock>,
    );
    tokio::spawn(pacer.run(stop.clone()));
    Station {
        hub,
        timeline,
        epoch,
        stop,
        clock,
        started: Instant::now(),
        file,
        _dir: dir,
    }
}

fn tuning(chunk_ms: u64, burst_ms: u64, queue_ms: u64) -> Tuning {
    Tuning {
        chunk: Duration::from_millis(chunk_ms),
        burst: Duration::from_millis(burst_ms),
        queue: Duration::from_millis(queue_ms),
    }
}

async fn next(sub: &mut Subscription) -> Chunk {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("a chunk within 5 s")
        .expect("the stream goes on")
}

/// Lets the pacer task start and publish what is due now.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test(start_paused = true)]
async fn no_drift_after_an_hour() {
    // No burst, so the first chunk is due at start.
    let station = on_air(1000, tuning(200, 0, 10_000));
    let mut sub = station.hub.subscribe().expect("on air");
    let mut audio = Duration::ZERO;
    let mut worst = Duration::ZERO;
    while audio < Duration::from_secs(3600) {
        let chunk = next(&mut sub).await;
        let expected = station.started + audio;
        let now = Instant::now();
        let off = if now > expected {
            now - expected
        } else {
            expected - now
        };
        worst = worst.max(off);
        assert!(
            off < FRAME,
            "chunk {} off by {off:?} at {audio:?}",
            chunk.seq
        );
        assert_eq!(chunk.data.len(), chunk.frames as usize * FRAME_LEN);
        // Exact audio time of the frames so far (1024 samples each at 44.1 kHz).
        assert_eq!(Duration::from_nanos(chunk.pts_ns), audio);
        audio = Duration::from_nanos((chunk.pts_ns as u128 + chunk.duration_ns as u128) as u64);
        assert_eq!(sub.skips(), 0);
    }
    // Timer wheel granularity is 1 ms; the schedule never accumulates error.
    assert!(worst < Duration::from_millis(2), "worst lateness {worst:?}");
}

#[tokio::test(start_paused = true)]
async fn chunks_hold_whole_frames_of_about_chunk_ms() {
    let station = on_air(500, tuning(200, 0, 10_000));
    let mut sub = station.hub.subscribe().expect("on air");
    for _ in 0..20 {
        let chunk = next(&mut sub).await;
        // 200 ms = 8.6 frames: 9 frames, except at the loop point.
        assert!(chunk.frames <= 9, "{} frames", chunk.frames);
        assert_eq!(chunk.data[0], 0xFF);
        assert_eq!(chunk.data.len(), chunk.frames as usize * FRAME_LEN);
    }
}

#[tokio::test(start_paused = true)]
async fn the_loop_point_is_seamless() {
    // 50 frames = 1.16 s per pass: the file loops several times.
    let station = on_air(50, tuning(100, 0, 10_000));
    let mut sub = station.hub.subscribe().expect("on air");
    let mut played = Vec::new();
    let mut prev_end: Option<Instant> = None;
    while played.len() < 4 * station.file.len() {
        let chunk = next(&mut sub).await;
        let now = Instant::now();
        if let Some(due) = prev_end {
            // Each chunk is published when the previous one has played out: no pause at the
            // loop point (1 ms of timer granularity at most).
            assert!(
                now.duration_since(due) <= Duration::from_millis(1),
                "pause before chunk {}",
                chunk.seq
            );
            assert!(due.duration_since(now) <= Duration::from_millis(1));
        }
        prev_end = Some(now + Duration::from_nanos(chunk.duration_ns));
        played.extend_from_slice(&chunk.data);
    }
    played.truncate(4 * station.file.len());
    assert_eq!(
        played,
        station.file.repeat(4),
        "no stale, repeated or skipped frame"
    );
}

#[tokio::test(start_paused = true)]
async fn burst_then_live_without_gap_or_duplicate() {
    let station = on_air(2000, tuning(200, 3000, 10_000));
    // The station starts with its burst already due.
    settle().await;
    let mut first = station.hub.subscribe().expect("on air");
    let burst_audio = drain_ready(&mut first).await;
    assert!(
        burst_audio >= Duration::from_millis(3000),
        "first listener's burst {burst_audio:?}"
    );

    tokio::time::sleep(Duration::from_secs(10)).await;
    let mut late = station.hub.subscribe().expect("on air");
    let mut burst = Vec::new();
    let mut audio = Duration::ZERO;
    while let Ok(Some(chunk)) = tokio::time::timeout(Duration::ZERO, late.next()).await {
        audio += Duration::from_nanos(chunk.duration_ns);
        burst.push(chunk);
    }
    assert!(audio >= Duration::from_millis(3000), "burst {audio:?}");
    assert!(
        audio < Duration::from_millis(3000) + Duration::from_millis(200) + FRAME,
        "burst {audio:?}"
    );
    for pair in burst.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
    let live = next(&mut late).await;
    let last = burst.last().expect("a burst");
    assert_eq!(
        live.seq,
        last.seq + 1,
        "live continues right after the burst"
    );
    assert_eq!(live.pts_ns, last.pts_ns + last.duration_ns);
}

/// Takes every chunk available without waiting; returns their audio duration.
async fn drain_ready(sub: &mut Subscription) -> Duration {
    let mut audio = Duration::ZERO;
    while let Ok(Some(chunk)) = tokio::time::timeout(Duration::ZERO, sub.next()).await {
        audio += Duration::from_nanos(chunk.duration_ns);
    }
    audio
}

#[tokio::test(start_paused = true)]
async fn listeners_share_one_broadcast_without_copies() {
    let station = on_air(2000, tuning(200, 1000, 10_000));
    settle().await;
    let mut a = station.hub.subscribe().expect("on air");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut b = station.hub.subscribe().expect("on air");
    assert_eq!(station.hub.listeners(), 2);
    // Find the chunk `b` starts with in `a`'s stream: same sequence, same bytes, same memory.
    let b_first = next(&mut b).await;
    loop {
        let chunk = next(&mut a).await;
        if chunk.seq == b_first.seq {
            assert_eq!(chunk.data, b_first.data);
            assert_eq!(
                chunk.data.as_ptr(),
                b_first.data.as_ptr(),
                "one copy of the audio"
            );
            break;
        }
        assert!(chunk.seq < b_first.seq);
    }
    drop(a);
    assert_eq!(station.hub.listeners(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_lagging_listener_is_skipped_forward_alone() {
    let station = on_air(2000, tuning(200, 0, 2000));
    let mut slow = station.hub.subscribe().expect("on air");
    let mut steady = station.hub.subscribe().expect("on air");
    let reader = tokio::spawn(async move {
        let mut last = None;
        for _ in 0..50 {
            let chunk = next(&mut steady).await;
            if let Some(prev) = last {
                assert_eq!(chunk.seq, prev + 1, "the steady listener misses nothing");
            }
            last = Some(chunk.seq);
        }
        steady.skips()
    });
    let first = next(&mut slow).await;
    // Stop reading for 5 s: 2.5 times the queue.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = next(&mut slow).await;
    assert_eq!(slow.skips(), 1);
    assert_eq!(
        station
            .hub
            .stats()
            .skips
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert!(
        after.seq > first.seq + 20,
        "skipped to the live edge ({} -> {})",
        first.seq,
        after.seq
    );
    assert_eq!(after.data[0], 0xFF, "a skip lands on a frame boundary");
    assert_eq!(reader.await.expect("steady listener"), 0);
}

#[tokio::test(start_paused = true)]
async fn closing_the_hub_ends_every_stream() {
    let station = on_air(100, tuning(200, 1000, 10_000));
    settle().await;
    let mut sub = station.hub.subscribe().expect("on air");
    next(&mut sub).await;
    station.stop.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(1), async {
        while sub.next().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "stream ended");
    assert!(station.hub.is_closed());
    assert!(
        station.hub.subscribe().is_none(),
        "no new listeners off air"
    );
    drop(sub);
    assert_eq!(station.hub.listeners(), 0);
}

#[tokio::test(start_paused = true)]
async fn chunk_size_retunes_live() {
    let station = on_air(2000, tuning(200, 0, 10_000));
    let mut sub = station.hub.subscribe().expect("on air");
    let before = next(&mut sub).await;
    assert_eq!(before.frames, 9);
    station.hub.set_tuning(tuning(500, 0, 10_000));
    let mut prev = before;
    let mut saw_new_size = false;
    for _ in 0..5 {
        let chunk = next(&mut sub).await;
        assert_eq!(
            chunk.pts_ns,
            prev.pts_ns + prev.duration_ns,
            "no gap at the retune"
        );
        saw_new_size |= chunk.frames == 22;
        prev = chunk;
    }
    assert!(saw_new_size, "500 ms chunks after the retune");
}

#[tokio::test(start_paused = true)]
async fn a_new_file_takes_over_at_a_frame_boundary_without_a_gap() {
    let station = on_air(2000, tuning(200, 0, 10_000));
    let mut sub = station.hub.subscribe().expect("on air");
    let before = next(&mut sub).await;
    assert_eq!(before.data[7], 0x5A, "old audio");
    // The new file: 48 kHz frames with another fill byte.
    let path = station._dir.path().join("new.aac");
    let spec = FrameSpec {
        sample_rate_index: 3,
        fill: 0x33,
        payload_len: 300,
        ..FrameSpec::default()
    };
    std::fs::write(&path, adts_frame_run(&spec, 500)).expect("write");
    // The switch: at the first frame boundary (of the old file, 44.1 kHz) 300 ms from now on
    // the station clock (the wall clock of the pacer's anchor plus tokio's time since).
    let _ = station.epoch;
    let frame = 1024 * 640;
    let now = ticks_of(station.started.elapsed());
    let at = (now + ticks_of(Duration::from_millis(300))).div_ceil(frame) * frame;
    let info = Arc::new(Programme::single(Arc::new(probe(&path).expect("probe"))));
    station
        .timeline
        .send_modify(|timeline| Arc::make_mut(timeline).switch(Switch { at, offset: 0 }, info));
    let mut prev = before;
    let mut switched_after = None;
    for i in 0..10 {
        let chunk = next(&mut sub).await;
        assert_eq!(chunk.pts_ns, prev.pts_ns + prev.duration_ns, "no gap");
        assert_eq!(chunk.data[0], 0xFF, "starts on a frame");
        let new = chunk.data[7] == 0x33;
        if new {
            assert_eq!(
                chunk.data.len(),
                chunk.frames as usize * 307,
                "only new frames"
            );
            switched_after.get_or_insert(i);
        } else {
            assert!(switched_after.is_none(), "no old audio after the switch");
        }
        prev = chunk;
    }
    // 300 ms on: the second chunk of 200 ms, or the third.
    assert!(
        switched_after.is_some_and(|i| (1..=2).contains(&i)),
        "switched after {switched_after:?} chunks"
    );
}

/// `count` frames of `spec`, all alike.
fn adts_frame_run(spec: &FrameSpec, count: usize) -> Vec<u8> {
    onair_core::testing::adts_frame(spec).repeat(count)
}

#[tokio::test(start_paused = true)]
async fn a_file_that_fails_ends_the_station_unless_replaced() {
    // 20 frames: every pass re-reads the file, so an emptied file is noticed at once.
    let station = on_air(20, tuning(100, 0, 10_000));
    let mut sub = station.hub.subscribe().expect("on air");
    next(&mut sub).await;
    let path = station._dir.path().join("test.aac");
    std::fs::write(&path, b"").expect("empty the file");
    // No new file comes: the station ends within REPLACEMENT_WAIT (plus what was queued).
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while sub.next().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the station ended");
    assert!(station.hub.is_closed());
}

#[tokio::test(start_paused = true)]
async fn a_failed_file_resumes_when_a_new_one_comes() {
    let station = on_air(20, tuning(100, 0, 10_000));
    let mut sub = station.hub.subscribe().expect("on air");
    next(&mut sub).await;
    let path = station._dir.path().join("test.aac");
    std::fs::write(&path, b"").expect("empty the file");
    tokio::time::sleep(Duration::from_secs(1)).await;
    std::fs::write(&path, adts_stream(&FrameSpec::default(), 50)).expect("rewrite");
    let info = Arc::new(Programme::single(Arc::new(probe(&path).expect("probe"))));
    let frame = 1024 * 640;
    let at = (ticks_of(station.started.elapsed()) + ticks_of(Duration::from_millis(500)))
        .div_ceil(frame)
        * frame;
    station
        .timeline
        .send_modify(|timeline| Arc::make_mut(timeline).switch(Switch { at, offset: 0 }, info));
    for _ in 0..20 {
        let chunk = next(&mut sub).await;
        assert_eq!(chunk.data[0], 0xFF);
    }
    assert!(!station.hub.is_closed());
}

#[tokio::test(start_paused = true)]
async fn a_wall_clock_step_moves_the_station_with_it() {
    use std::sync::atomic::Ordering::Relaxed;
    let station = on_air(2000, tuning(200, 0, 10_000));
    let mut sub = station.hub.subscribe().expect("on air");
    let position = || Duration::from_nanos(station.hub.stats().position_ns.load(Relaxed));
    let mut prev = next(&mut sub).await;
    let before = position();
    // NTP steps the clock 10 s ahead: the next chunk plays where the clock now says, and the
    // broadcast goes on without a gap in its audio time.
    station.clock.advance(Duration::from_secs(10));
    let chunk = next(&mut sub).await;
    assert_eq!(chunk.pts_ns, prev.pts_ns + prev.duration_ns, "no gap");
    let jumped = position() - before;
    assert!(
        jumped >= Duration::from_secs(10) && jumped <= Duration::from_millis(10_500),
        "{jumped:?}"
    );
    prev = chunk;
    // Back by 4 s: the station goes back with it (its listeners hear 4 s again).
    let before = position();
    station.clock.step_back(Duration::from_secs(4));
    let chunk = next(&mut sub).await;
    assert_eq!(chunk.pts_ns, prev.pts_ns + prev.duration_ns, "no gap");
    let back = before - position();
    assert!(
        back >= Duration::from_millis(3_500) && back <= Duration::from_secs(4),
        "{back:?}"
    );
    // A wander within the tolerance is no step: chunks follow each other in the file.
    station.clock.advance(Duration::from_millis(50));
    let before = position();
    next(&mut sub).await;
    let moved = position() - before;
    assert!(
        moved.abs_diff(Duration::from_nanos(chunk.duration_ns)) < Duration::from_micros(1),
        "{moved:?}"
    );
}

/// An Ogg station's listeners: one who tunes in in the middle of a link first gets that link's
/// header pages, then the broadcast; one who was there when a link began gets it in-stream.
#[tokio::test]
async fn a_listener_joining_an_ogg_link_in_the_middle_gets_its_header_pages_first() {
    use bytes::BytesMut;
    use onair_core::broadcast::{Begin, Marks};
    let hub = Hub::new("ogg", tuning(500, 2_000, 10_000));
    let mut head = b"OpusHead".to_vec();
    head.extend_from_slice(&[1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]);
    let packaging = onair_core::Codec::Opus
        .packaging("ogg", &[bytes::Bytes::from(head)], true)
        .expect("packaging");
    hub.set_packaging(packaging);
    let mut early = hub.subscribe().expect("on air");
    let chunk = |first: u8| {
        let mut carried = BytesMut::new();
        for i in 0..25u8 {
            carried.extend_from_slice(&[2, 0, 3, 31 << 3, first, i]);
        }
        carried.freeze()
    };
    let begins = Marks {
        begins: Some(Begin::default()),
        ends: None,
    };
    let ms500 = 500_000_000;
    hub.publish(chunk(1), 25, (0, 0), ms500, None, &begins);
    hub.publish(chunk(2), 25, (ms500, 0), ms500, None, &Marks::default());
    // Present from the start: the link's first chunk carries its header pages.
    let first = early.next().await.expect("a chunk");
    assert!(
        first.data.starts_with(b"OggS") && first.data[5] == 0x02,
        "BOS in-stream"
    );
    let second = early.next().await.expect("a chunk");
    assert_ne!(second.data[5], 0x02);
    // Tuning in now, with a burst of the link's second chunk only: its header pages first.
    let mut hub_tuning = tuning(500, 500, 10_000);
    hub_tuning.chunk = Duration::from_millis(500);
    hub.set_tuning(hub_tuning);
    let mut late = hub.subscribe().expect("on air");
    let preamble = late.next().await.expect("the header pages");
    assert_eq!(preamble.frames, 0);
    assert!(preamble.data.starts_with(b"OggS") && preamble.data[5] == 0x02);
    assert!(preamble.data.windows(8).any(|w| w == b"OpusTags"));
    let burst = late.next().await.expect("the burst");
    assert_eq!(burst.data, second.data, "then the broadcast, shared");
}
