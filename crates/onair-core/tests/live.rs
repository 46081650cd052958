//! Live audio over a programme, through the pacer and the hub, on tokio's paused clock: the
//! source takes over at a chunk boundary and the programme comes back where the station clock
//! says, with no gap and only whole frames.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use onair_core::testing::{adts_frame, adts_stream, FrameSpec};
use onair_core::{
    probe, Chunk, Codec, Hub, LiveFeed, LiveInput, Pacer, Programme, Rank, SegmentWindow,
    Subscription, TestClock, Timeline, TimelineFeed, TrackMeta, Tuning, WallClock,
};
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;

/// 44.1 kHz, one block per frame: 1024 / 44100 s.
const FRAME: Duration = Duration::from_nanos(1024 * 1_000_000_000 / 44_100);
/// Ticks per frame.
const FRAME_TICKS: u64 = 1024 * 640;
/// The programme's frames: 207 bytes; the live ones: 307.
const LIVE_LEN: usize = 307;
const FILE_FRAMES: usize = 3000;

struct Live {
    hub: Arc<Hub>,
    input: Arc<LiveInput>,
    window: Arc<SegmentWindow>,
    timeline: Arc<Timeline>,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
    _timelines: watch::Sender<Arc<Timeline>>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A station of `FILE_FRAMES` numbered frames, tick 0 now, chunks of 200 ms, no burst, with a
/// live input that buffers 300 ms.
fn on_air() -> Live {
    let dir = tempfile::tempdir().expect("temp dir");
    let path: PathBuf = dir.path().join("test.aac");
    std::fs::write(&path, adts_stream(&FrameSpec::default(), FILE_FRAMES)).expect("write");
    let info = probe(&path).expect("probe");
    let tuning = Tuning {
        chunk: Duration::from_millis(200),
        burst: Duration::ZERO,
        queue: Duration::from_secs(10),
    };
    let hub = Hub::new("live", tuning);
    let timeline = Arc::new(Timeline::new(Arc::new(Programme::single(Arc::new(info)))));
    let (timelines, rx) = watch::channel(Arc::clone(&timeline));
    let clock = TestClock::starting_at(SystemTime::now());
    let input = LiveInput::new(Duration::from_millis(300));
    let window = Arc::new(SegmentWindow::default());
    let format = timeline.newest().format();
    let feed = LiveFeed::new(
        TimelineFeed::new(rx, Duration::from_secs(60)),
        Arc::clone(&input),
        Arc::clone(&window),
        Codec::Adts,
        format,
        Duration::from_secs(60),
        Duration::from_secs(1),
    );
    let stop = CancellationToken::new();
    let pacer = Pacer::new(
        feed,
        Arc::clone(&hub),
        clock.now(),
        Arc::clone(&clock) as Arc<dyn WallClock>,
    );
    tokio::spawn(pacer.run(stop.clone()));
    Live {
        hub,
        input,
        window,
        timeline,
        stop,
        _dir: dir,
        _timelines: timelines,
    }
}

async fn next(sub: &mut Subscription) -> Chunk {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("a chunk within 5 s")
        .expect("the stream goes on")
}

/// The frames of a chunk: (length, fill byte) of each; panics unless they are whole frames.
fn frames_of(chunk: &Chunk) -> Vec<(usize, u8)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < chunk.data.len() {
        let header = Codec::Adts.parse(&chunk.data[at..]).expect("a whole frame");
        let len = header.frame_length();
        out.push((len, chunk.data[at + 7]));
        at += len;
    }
    assert_eq!(at, chunk.data.len());
    assert_eq!(out.len(), chunk.frames as usize);
    out
}

/// Ticks of a chunk's frames at `rate` (all of one format).
trait ChunkTicks {
    fn ticks_of(&self, rate: u32) -> u64;
}

impl ChunkTicks for Chunk {
    fn ticks_of(&self, rate: u32) -> u64 {
        self.frames as u64 * 1024 * (28_224_000 / rate as u64)
    }
}

/// The fill byte of the file's frame at `tick` (frames are numbered from 0x5A, 0xFF skipped).
fn file_fill_at(tick: u64) -> u8 {
    let i = (tick / FRAME_TICKS) % FILE_FRAMES as u64;
    match 0x5Au8.wrapping_add(i as u8) {
        0xFF => 0x00,
        fill => fill,
    }
}

#[tokio::test(start_paused = true)]
async fn a_source_takes_over_at_a_chunk_boundary_and_the_programme_comes_back_on_the_clock() {
    let live = on_air();
    let mut sub = live.hub.subscribe().expect("on air");
    let first = next(&mut sub).await;
    assert!(frames_of(&first).iter().all(|&(len, _)| len == 207));
    // A source sends 3 s of frames in real time, then leaves.
    let session = live
        .input
        .connect(Arc::new(TrackMeta::named("the live show")), Rank::Pushed)
        .expect("connect");
    let connected = tokio::time::Instant::now();
    let sender = tokio::spawn(async move {
        let frame = Bytes::from(adts_frame(&FrameSpec {
            payload_len: 300,
            fill: 0xEE,
            ..FrameSpec::default()
        }));
        let start = tokio::time::Instant::now();
        for i in 0..130u32 {
            tokio::time::sleep_until(start + FRAME * i).await;
            session
                .push(frame.clone(), FRAME_TICKS)
                .await
                .expect("push");
        }
    });
    // Every frame lasts FRAME_TICKS: a chunk's tick is the frames before it.
    let mut tick = first.frames as u64 * FRAME_TICKS;
    let (mut prev, mut live_frames, mut after) = (first, 0, Vec::new());
    let (mut went_live_at, mut live_from) = (None, None);
    for _ in 0..40 {
        let chunk = next(&mut sub).await;
        assert_eq!(
            chunk.pts_ns,
            prev.pts_ns + prev.duration_ns,
            "no gap, no overlap"
        );
        let frames = frames_of(&chunk);
        let is_live = frames[0].0 == LIVE_LEN;
        assert!(
            frames.iter().all(|&(len, _)| (len == LIVE_LEN) == is_live),
            "a chunk is all live or all programme"
        );
        if is_live {
            went_live_at.get_or_insert_with(tokio::time::Instant::now);
            live_from.get_or_insert(tick);
            assert!(after.is_empty(), "one live stretch");
            assert_eq!(
                chunk.track.as_ref().expect("track").track.name,
                "the live show"
            );
            live_frames += chunk.frames;
        } else if went_live_at.is_some() {
            after.push((tick, chunk.clone()));
        } else {
            // The programme plays the file's frame at each tick.
            assert_eq!(frames[0].1, file_fill_at(tick));
        }
        tick += chunk.frames as u64 * FRAME_TICKS;
        prev = chunk;
    }
    sender.await.expect("sender");
    // On air once the 300 ms buffer filled, at the next 200 ms chunk boundary at the latest.
    let delay = went_live_at.expect("went live") - connected;
    assert!(
        delay >= Duration::from_millis(300) && delay <= Duration::from_millis(520),
        "live after {delay:?}"
    );
    // Every frame the source sent played, none twice.
    assert_eq!(live_frames, 130);
    assert_eq!(live.input.counters().underruns, 0);
    // The programme came back where the station clock is: the file's frame at that tick.
    let (back_tick, back) = &after[0];
    for (i, (len, fill)) in frames_of(back).into_iter().enumerate() {
        assert_eq!(len, 207);
        assert_eq!(fill, file_fill_at(back_tick + i as u64 * FRAME_TICKS));
    }
    // HLS cuts the live audio from what was held: live frames where they played.
    let from = live_from.expect("live");
    let cut = live
        .window
        .cut(&live.timeline, from, from + 20 * FRAME_TICKS)
        .await
        .expect("cut");
    assert_eq!(cut.frames, 20);
    assert_eq!(cut.track.name, "the live show");
    let live_frame = adts_frame(&FrameSpec {
        payload_len: 300,
        fill: 0xEE,
        ..FrameSpec::default()
    });
    assert_eq!(&cut.data[..], live_frame.repeat(20));
    // And the programme's frames before it.
    let before = live
        .window
        .cut(&live.timeline, from - 2 * FRAME_TICKS, from + FRAME_TICKS)
        .await
        .expect("cut");
    assert_eq!(before.frames, 3);
    assert_eq!(&before.data[2 * 207..], &live_frame[..]);
}

#[tokio::test(start_paused = true)]
async fn a_source_of_another_format_comes_and_goes_on_segment_boundaries() {
    let live = on_air();
    let segment = 28_224_000u64; // the 1 s segments the station was given
    let mut sub = live.hub.subscribe().expect("on air");
    let first = next(&mut sub).await;
    let mut tick = first.frames as u64 * FRAME_TICKS;
    // 48 kHz frames (the programme is 44.1 kHz), pushed in real time for 2 s, then it leaves.
    let spec = FrameSpec {
        sample_rate_index: 3,
        payload_len: 300,
        fill: 0xEE,
        ..FrameSpec::default()
    };
    let frame = Bytes::from(adts_frame(&spec));
    let format = onair_core::Codec::Adts
        .parse(&frame)
        .expect("frame")
        .format();
    let live_ticks = 1024 * 588; // 1024 samples at 48 kHz
    let session = live
        .input
        .connect(Arc::new(TrackMeta::named("elsewhere")), Rank::Pushed)
        .expect("connect");
    session.set_format(format);
    let sender = tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        let frame_time = Duration::from_nanos(1024 * 1_000_000_000 / 48_000);
        for i in 0..94u32 {
            tokio::time::sleep_until(start + frame_time * i).await;
            session.push(frame.clone(), live_ticks).await.expect("push");
        }
    });
    let (mut changes, mut previous_rate) = (Vec::new(), 44_100);
    let mut prev = first;
    for _ in 0..30 {
        let chunk = next(&mut sub).await;
        // One format per chunk, whole frames.
        let mut rates = std::collections::BTreeSet::new();
        let mut at = 0;
        while at < chunk.data.len() {
            let header = onair_core::Codec::Adts
                .parse(&chunk.data[at..])
                .expect("frame");
            rates.insert(header.sample_rate());
            at += header.frame_length();
        }
        assert_eq!(rates.len(), 1, "one format per chunk");
        let rate = *rates.iter().next().expect("rate");
        let expected = prev.pts_ns + prev.duration_ns;
        if rate == previous_rate || rate == 48_000 {
            assert_eq!(chunk.pts_ns, expected, "no gap");
        } else {
            // The programme comes back with the frame that holds the clock's tick: its frames
            // lie on the clock, so it may start up to a frame (23 ms) before the other
            // format's last frame ended (HLS starts over there: a discontinuity).
            assert!(
                expected - chunk.pts_ns < 23_300_000,
                "less than a frame back"
            );
        }
        if rate != previous_rate {
            // A change of format starts a segment (the first frame boundary at or after a
            // multiple of the segment length).
            let frame = if previous_rate == 44_100 {
                FRAME_TICKS
            } else {
                live_ticks
            };
            assert!(
                tick % segment < frame,
                "change at {tick}, not a segment boundary"
            );
            assert!(
                live.window.format_change_at(tick),
                "marked for HLS at {tick}"
            );
            changes.push((tick, rate));
            previous_rate = rate;
        }
        // (Counted from the previous end: after the programme's return, up to a frame off.)
        tick += chunk.ticks_of(rate);
        prev = chunk;
    }
    sender.await.expect("sender");
    assert_eq!(
        changes.iter().map(|c| c.1).collect::<Vec<_>>(),
        vec![48_000, 44_100],
        "in and out once: {changes:?}"
    );
    assert_eq!(live.window.format_changes_before(u64::MAX), 2);
}
