//! The jitter buffer between a live source's connection and the station's pacer.
//!
//! The ingest pushes whole frames in as they arrive; the pacer takes them a chunk at a time on
//! the station clock. The buffer must hold `buffer` of audio before the source goes on air
//! (and again after it ran dry), so that a network's jitter never reaches the listeners; it
//! holds at most twice that: past it, the ingest waits, so the source's TCP window closes and a
//! sender faster than real time is slowed, never dropped, and memory per source is bounded.
//!
//! A timed session (an edge relaying an onair origin's HLS) pushes each frame with the tick it
//! has on the origin's clock: it plays exactly at that tick (the pacer asks for it in turn, the
//! grids being the same), late frames are dropped, and it holds as much as the edge's delay.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;

use crate::broadcast::TrackMeta;
use crate::clock::{duration_of, ticks_of};
use crate::feed::{Edges, Run};
use crate::format::Format;

/// Frames taken for a chunk: their bytes, count, ticks, track and run.
pub(crate) type Taken = (Bytes, u32, u64, Arc<TrackMeta>, Run, Edges);

/// A whole frame from the source, and its length in ticks.
#[derive(Debug)]
struct Frame {
    data: Bytes,
    ticks: u64,
    /// Its tick, in a timed session.
    at: Option<u64>,
    /// What it is called, in a timed session (else the session's track).
    track: Option<Arc<TrackMeta>>,
}

/// Counters of one station's live input, for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveCounters {
    /// Sources that went on air.
    pub sessions: u64,
    /// Frames received.
    pub frames_in: u64,
    /// Bytes of frames received.
    pub bytes_in: u64,
    /// Times the buffer ran dry while a source was connected (the programme filled in).
    pub underruns: u64,
    /// Frames received but never played (left in the buffer by a source that was cut off).
    pub dropped_frames: u64,
}

/// Who a session's audio comes from: a source pushed to onair outranks a relay onair pulls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// A remote stream onair pulls (`relay = "..."`).
    Relay,
    /// A source that pushed its audio (Icecast's source protocol).
    #[default]
    Pushed,
}

#[derive(Debug, Default)]
struct State {
    /// The session connected now, if any.
    connected: Option<u64>,
    /// The rank of the session connected now.
    rank: Rank,
    /// The most ticks a timed session holds (none: the session is not timed).
    timed: Option<u64>,
    /// The last session handed out.
    last_session: u64,
    frames: VecDeque<Frame>,
    /// Ticks of audio in `frames`.
    buffered: u64,
    /// Live audio is on air: taken from the buffer until it runs dry.
    playing: bool,
    /// What the live audio is called now.
    track: Arc<TrackMeta>,
    /// The run the buffered frames continue: a new one at each session, and wherever frames
    /// are dropped.
    run: Run,
    /// The format of the connected source's frames (once its first frame came).
    format: Option<Format>,
    /// The connected source's encode header packets (Ogg: `OpusHead`, or Vorbis's three), once
    /// known.
    headers: Option<Arc<[Bytes]>>,
    /// The session's first run, until its first frames are taken: they are its encode's first.
    top: Option<Run>,
    counters: LiveCounters,
}

/// One station's live input: at most one source at a time.
#[derive(Debug)]
pub struct LiveInput {
    state: Mutex<State>,
    /// Room in the buffer, or the session ended: wakes a waiting [`LiveSession::push`].
    room: Notify,
    /// Audio buffered before the source goes on air, in ticks.
    buffer: u64,
}

/// Why a frame could not be pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The session was ended (an admin cut it off, the station went off air).
    #[error("the source was cut off")]
    Ended,
}

impl LiveInput {
    /// An input that buffers `buffer` of audio before it plays.
    pub fn new(buffer: Duration) -> Arc<LiveInput> {
        Arc::new(LiveInput {
            state: Mutex::new(State::default()),
            room: Notify::new(),
            buffer: ticks_of(buffer),
        })
    }

    /// Connects a source called `track`, unless one of the same or a higher rank is connected:
    /// one of a lower rank (a relay, when a source pushes) is cut off, its buffered audio
    /// dropped.
    pub fn connect(self: &Arc<Self>, track: Arc<TrackMeta>, rank: Rank) -> Option<LiveSession> {
        let mut state = self.lock();
        if state.connected.is_some() {
            if state.rank >= rank {
                return None;
            }
            Self::drop_buffer(&mut state);
            drop(state);
            self.room.notify_waiters();
            state = self.lock();
        }
        state.last_session += 1;
        let id = state.last_session;
        state.connected = Some(id);
        state.run = Run::new();
        state.headers = None;
        state.top = Some(state.run);
        state.rank = rank;
        state.timed = None;
        state.track = track;
        if state.frames.is_empty() {
            state.format = None;
        }
        state.counters.sessions += 1;
        Some(LiveSession {
            input: Arc::clone(self),
            id,
        })
    }

    /// Connects a timed session (see the [module](self)) that may hold `capacity` of audio.
    pub fn connect_timed(
        self: &Arc<Self>,
        track: Arc<TrackMeta>,
        rank: Rank,
        capacity: Duration,
    ) -> Option<LiveSession> {
        let session = self.connect(track, rank)?;
        self.lock().timed = Some(ticks_of(capacity));
        Some(session)
    }

    /// Ends the connected source's session: its buffered audio is dropped, and its next push
    /// fails.
    pub fn cut_off(&self) -> bool {
        let mut state = self.lock();
        let was = Self::drop_buffer(&mut state);
        drop(state);
        self.room.notify_waiters();
        was
    }

    /// Disconnects the connected session and drops what it buffered; whether one was
    /// connected.
    fn drop_buffer(state: &mut State) -> bool {
        let was = state.connected.take().is_some();
        state.counters.dropped_frames += state.frames.len() as u64;
        state.frames.clear();
        state.run = Run::new();
        state.buffered = 0;
        state.playing = false;
        was
    }

    /// The rank of the connected session, if any.
    pub fn connected_rank(&self) -> Option<Rank> {
        let state = self.lock();
        state.connected.map(|_| state.rank)
    }

    /// Whether a source is connected.
    pub fn is_connected(&self) -> bool {
        self.lock().connected.is_some()
    }

    /// Whether live audio plays now (or is ready to take over at the next chunk).
    pub fn is_on_air(&self) -> bool {
        let state = self.lock();
        state.playing || self.ready(&state)
    }

    /// The format of the live audio: the connected source's, or that of the frames a source
    /// left behind.
    pub fn format(&self) -> Option<Format> {
        let state = self.lock();
        (state.connected.is_some() || !state.frames.is_empty())
            .then_some(state.format)
            .flatten()
    }

    /// Audio buffered now.
    pub fn buffered(&self) -> Duration {
        duration_of(self.lock().buffered)
    }

    /// The counters so far.
    pub fn counters(&self) -> LiveCounters {
        self.lock().counters
    }

    /// Renames what the live audio is called (a metadata update) while a source is
    /// connected, from its next chunk on.
    pub fn retitle(&self, track: Arc<TrackMeta>) {
        let mut state = self.lock();
        if state.connected.is_some() {
            state.track = track;
        }
    }

    /// What the live audio is called now.
    pub fn track(&self) -> Arc<TrackMeta> {
        Arc::clone(&self.lock().track)
    }

    /// Whether live audio is due at `tick`: a timed frame for it is buffered, or (untimed) live
    /// audio is on air.
    pub fn is_due(&self, tick: u64) -> bool {
        let state = self.lock();
        match state.frames.front() {
            Some(Frame {
                at: Some(at),
                ticks,
                ..
            }) => *at < tick + ticks && at + ticks > tick,
            _ => state.playing || self.ready(&state),
        }
    }

    /// Up to `target` ticks of live frames for the chunk at tick `at`, if live audio is on air:
    /// `None` sends the station back to its programme for this chunk.
    pub(crate) fn take(&self, at: u64, target: u64) -> Option<Taken> {
        let mut state = self.lock();
        if state.frames.front().is_some_and(|f| f.at.is_some()) {
            let taken = Self::take_timed(&mut state, at, target);
            drop(state);
            self.room.notify_waiters();
            return taken;
        }
        if !state.playing {
            if !self.ready(&state) {
                return None;
            }
            state.playing = true;
        }
        if state.frames.is_empty() {
            state.playing = false;
            if state.connected.is_some() {
                state.counters.underruns += 1;
            }
            return None;
        }
        let (mut ticks, mut frames, mut len) = (0u64, 0usize, 0usize);
        for frame in &state.frames {
            if frames > 0 && ticks + frame.ticks > target {
                break;
            }
            ticks += frame.ticks;
            len += frame.data.len();
            frames += 1;
        }
        let mut data = BytesMut::with_capacity(len);
        for frame in state.frames.drain(..frames) {
            data.extend_from_slice(&frame.data);
        }
        state.buffered -= ticks;
        let (track, run) = (Arc::clone(&state.track), state.run);
        let edges = Edges {
            headers: state.headers.clone(),
            from_top: state.top.take() == Some(run),
            padding: None,
        };
        drop(state);
        self.room.notify_waiters();
        Some((data.freeze(), frames as u32, ticks, track, run, edges))
    }

    /// Timed frames for the chunk at `at`: late ones dropped, then the frames from the one
    /// that plays at `at` (or within its length of it: a stream off the station's grid plays
    /// on, gapless), while they follow each other and have one track.
    fn take_timed(state: &mut State, at: u64, target: u64) -> Option<Taken> {
        while let Some(frame) = state.frames.front() {
            match frame.at {
                Some(t) if t + frame.ticks <= at => {
                    state.buffered -= frame.ticks;
                    state.counters.dropped_frames += 1;
                    state.frames.pop_front();
                    state.run = Run::new();
                }
                _ => break,
            }
        }
        let Some(first) = state.frames.front() else {
            if std::mem::take(&mut state.playing) && state.connected.is_some() {
                state.counters.underruns += 1;
            }
            return None;
        };
        let start = first.at?;
        if start >= at + first.ticks {
            return None;
        }
        let track = first
            .track
            .clone()
            .unwrap_or_else(|| Arc::clone(&state.track));
        let (mut ticks, mut frames, mut len, mut next) = (0u64, 0usize, 0usize, start);
        for frame in &state.frames {
            let same_track = frame.track.as_ref().is_none_or(|t| Arc::ptr_eq(t, &track));
            if frames > 0 && (ticks + frame.ticks > target || frame.at != Some(next) || !same_track)
            {
                break;
            }
            ticks += frame.ticks;
            len += frame.data.len();
            frames += 1;
            next += frame.ticks;
        }
        let mut data = BytesMut::with_capacity(len);
        for frame in state.frames.drain(..frames) {
            data.extend_from_slice(&frame.data);
        }
        state.buffered -= ticks;
        state.playing = true;
        // A timed session (a relay) joins its upstream's encode in the middle.
        state.top = None;
        let edges = Edges {
            headers: state.headers.clone(),
            from_top: false,
            padding: None,
        };
        Some((data.freeze(), frames as u32, ticks, track, state.run, edges))
    }

    /// Whether enough is buffered for live audio to go on air: the buffer's worth, or all a
    /// source that left sent.
    fn ready(&self, state: &State) -> bool {
        !state.frames.is_empty() && (state.buffered >= self.buffer || state.connected.is_none())
    }

    /// The most audio buffered: twice the buffer (a timed session's capacity), and two
    /// frames at least.
    fn full(&self, state: &State) -> bool {
        state.buffered >= state.timed.unwrap_or(2 * self.buffer) && state.frames.len() >= 2
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A connected source: pushes its frames into the station's [`LiveInput`]; dropping it
/// disconnects the source (what it buffered still plays).
#[derive(Debug)]
pub struct LiveSession {
    input: Arc<LiveInput>,
    id: u64,
}

impl LiveSession {
    /// Adds one whole frame of `ticks`, waiting while the buffer is full.
    pub async fn push(&self, data: Bytes, ticks: u64) -> Result<(), PushError> {
        self.push_frame(Frame {
            data,
            ticks,
            at: None,
            track: None,
        })
        .await
    }

    /// Adds one whole frame of `ticks` that plays at tick `at`, called `track` (a timed
    /// session's), waiting while the buffer is full.
    pub async fn push_at(
        &self,
        data: Bytes,
        ticks: u64,
        at: u64,
        track: Arc<TrackMeta>,
    ) -> Result<(), PushError> {
        self.push_frame(Frame {
            data,
            ticks,
            at: Some(at),
            track: Some(track),
        })
        .await
    }

    async fn push_frame(&self, frame: Frame) -> Result<(), PushError> {
        loop {
            let room = self.input.room.notified();
            {
                let mut state = self.input.lock();
                if state.connected != Some(self.id) {
                    return Err(PushError::Ended);
                }
                if !self.input.full(&state) {
                    state.counters.frames_in += 1;
                    state.counters.bytes_in += frame.data.len() as u64;
                    state.buffered += frame.ticks;
                    state.frames.push_back(frame);
                    return Ok(());
                }
            }
            room.await;
        }
    }

    /// Says what the source's encode header packets are (Ogg Opus: its `OpusHead` first), so
    /// that the station's Ogg link for it carries the encoder's own (its pre-skip, Vorbis's
    /// setup).
    pub fn set_headers(&self, headers: Arc<[Bytes]>) {
        let mut state = self.input.lock();
        if state.connected == Some(self.id) {
            state.headers = Some(headers);
        }
    }

    /// Says what format the source's frames have (before its first push).
    pub fn set_format(&self, format: Format) {
        let mut state = self.input.lock();
        if state.connected == Some(self.id) {
            state.format = Some(format);
        }
    }

    /// Whether this session is still the connected one.
    pub fn is_connected(&self) -> bool {
        self.input.lock().connected == Some(self.id)
    }
}

impl Drop for LiveSession {
    /// The source leaves. What it sent plays out if its audio is on air; a source that leaves
    /// before it delivered a whole buffer never goes on air (50 ms of a show, then a hole, is
    /// worse than none), so what it sent is dropped.
    fn drop(&mut self) {
        let mut state = self.input.lock();
        if state.connected == Some(self.id) {
            state.connected = None;
            let timed = state.frames.front().is_some_and(|f| f.at.is_some());
            if !state.playing && !timed && state.buffered < self.input.buffer {
                LiveInput::drop_buffer(&mut state);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TICKS_PER_SECOND;

    /// A frame of 25 ms (a whole number of ticks).
    const FRAME: u64 = TICKS_PER_SECOND / 40;

    /// An input that buffers four frames.
    fn input() -> Arc<LiveInput> {
        LiveInput::new(Duration::from_millis(100))
    }

    #[tokio::test]
    async fn plays_once_the_buffer_is_full_and_falls_back_when_it_runs_dry() {
        let input = input();
        let session = input
            .connect(Arc::new(TrackMeta::named("live")), Rank::Pushed)
            .expect("connect");
        assert!(input
            .connect(Arc::new(TrackMeta::named("other")), Rank::Pushed)
            .is_none());
        for i in 0..3u8 {
            session
                .push(Bytes::from(vec![i; 10]), FRAME)
                .await
                .expect("push");
        }
        assert!(
            input.take(0, 2 * FRAME).is_none(),
            "three frames of four buffered"
        );
        session
            .push(Bytes::from(vec![3; 10]), FRAME)
            .await
            .expect("push");
        let (data, frames, ticks, track, _, edges) = input.take(0, 3 * FRAME).expect("on air");
        assert!(
            edges.from_top,
            "a session's first frames are its encode's first"
        );
        assert_eq!((frames, ticks, track.name.as_str()), (3, 3 * FRAME, "live"));
        assert_eq!(&data[..], [vec![0; 10], vec![1; 10], vec![2; 10]].concat());
        // On air, it plays what it has until it runs dry.
        assert_eq!(input.take(0, 3 * FRAME).expect("the last frame").1, 1);
        assert!(input.take(0, 3 * FRAME).is_none());
        assert_eq!(input.counters().underruns, 1);
        // Then it waits for a full buffer again.
        session
            .push(Bytes::from(vec![4; 10]), FRAME)
            .await
            .expect("push");
        assert!(input.take(0, FRAME).is_none());
        // A source that leaves before its buffer is full again never goes back on air: what
        // it sent is dropped.
        drop(session);
        assert!(!input.is_connected());
        assert!(input.take(0, FRAME).is_none());
        assert_eq!(input.counters().underruns, 1);
        assert_eq!(input.counters().dropped_frames, 1);
    }

    #[tokio::test]
    async fn a_source_that_leaves_on_air_plays_out_and_one_that_never_filled_its_buffer_never_plays(
    ) {
        let input = input();
        // 900 bytes and gone: never on air.
        let short = input
            .connect(Arc::new(TrackMeta::named("short")), Rank::Pushed)
            .expect("connect");
        for _ in 0..2 {
            short
                .push(Bytes::from_static(b"frame"), FRAME)
                .await
                .expect("push");
        }
        drop(short);
        assert!(!input.is_due(0));
        assert!(input.take(0, 4 * FRAME).is_none(), "never on air");
        // A full buffer, on air, then gone: its frames play out.
        let full = input
            .connect(Arc::new(TrackMeta::named("full")), Rank::Pushed)
            .expect("connect");
        for _ in 0..6 {
            full.push(Bytes::from_static(b"frame"), FRAME)
                .await
                .expect("push");
        }
        assert_eq!(input.take(0, FRAME).expect("on air").1, 1);
        drop(full);
        assert_eq!(input.take(0, 8 * FRAME).expect("plays out").1, 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_buffer_holds_the_source_back_until_the_pacer_takes() {
        let input = input();
        let session = input
            .connect(Arc::new(TrackMeta::named("live")), Rank::Pushed)
            .expect("connect");
        for _ in 0..8 {
            session
                .push(Bytes::from_static(b"frame"), FRAME)
                .await
                .expect("push");
        }
        let blocked = tokio::time::timeout(
            Duration::from_secs(5),
            session.push(Bytes::from_static(b"frame"), FRAME),
        )
        .await;
        assert!(blocked.is_err(), "twice the buffer is the most it holds");
        let pusher = {
            let input = Arc::clone(&input);
            tokio::spawn(async move {
                let session = session;
                let pushed = session.push(Bytes::from_static(b"frame"), FRAME).await;
                drop(input);
                pushed
            })
        };
        tokio::task::yield_now().await;
        assert!(input.take(0, FRAME).is_some());
        assert_eq!(pusher.await.expect("pusher"), Ok(()));
    }

    #[tokio::test]
    async fn a_source_cut_off_loses_its_buffer_and_its_next_push_fails() {
        let input = input();
        let session = input
            .connect(Arc::new(TrackMeta::named("live")), Rank::Pushed)
            .expect("connect");
        for _ in 0..5 {
            session
                .push(Bytes::from_static(b"frame"), FRAME)
                .await
                .expect("push");
        }
        assert!(input.cut_off());
        assert_eq!(input.counters().dropped_frames, 5);
        assert!(input.take(0, FRAME).is_none());
        assert_eq!(
            session.push(Bytes::from_static(b"frame"), FRAME).await,
            Err(PushError::Ended)
        );
        // The next source may connect at once.
        assert!(input
            .connect(Arc::new(TrackMeta::named("next")), Rank::Pushed)
            .is_some());
    }

    #[tokio::test]
    async fn a_pushed_source_takes_over_from_a_relay_which_waits_its_turn() {
        let input = input();
        let relay = input
            .connect(Arc::new(TrackMeta::named("relay")), Rank::Relay)
            .expect("relay");
        for _ in 0..5 {
            relay
                .push(Bytes::from_static(b"relayed"), FRAME)
                .await
                .expect("push");
        }
        assert!(input
            .connect(Arc::new(TrackMeta::named("again")), Rank::Relay)
            .is_none());
        let pushed = input
            .connect(Arc::new(TrackMeta::named("pushed")), Rank::Pushed)
            .expect("a pushed source outranks a relay");
        assert_eq!(input.connected_rank(), Some(Rank::Pushed));
        assert_eq!(input.counters().dropped_frames, 5);
        assert_eq!(
            relay.push(Bytes::from_static(b"relayed"), FRAME).await,
            Err(PushError::Ended)
        );
        assert!(!relay.is_connected());
        drop(relay);
        assert!(pushed.is_connected(), "the relay leaving ends nothing");
        assert!(input
            .connect(Arc::new(TrackMeta::named("relay")), Rank::Relay)
            .is_none());
        drop(pushed);
        assert!(input
            .connect(Arc::new(TrackMeta::named("relay")), Rank::Relay)
            .is_some());
    }

    #[tokio::test]
    async fn timed_frames_play_at_their_ticks_in_runs_of_one_track() {
        let input = input();
        let a = Arc::new(TrackMeta::named("a"));
        let b = Arc::new(TrackMeta::named("b"));
        let session = input
            .connect_timed(Arc::clone(&a), Rank::Relay, Duration::from_secs(60))
            .expect("connect");
        let frames = [
            (10, &a),
            (11, &a),
            (12, &a),
            (13, &b),
            (20, &b),
            (21, &b),
            (40, &b),
            (41, &b),
            (45, &b),
        ];
        for (n, track) in frames {
            session
                .push_at(
                    Bytes::from(vec![n as u8; 4]),
                    FRAME,
                    n * FRAME,
                    Arc::clone(track),
                )
                .await
                .expect("a timed session holds its capacity");
        }
        assert!(!input.is_due(9 * FRAME));
        assert!(
            input.take(9 * FRAME, 3 * FRAME).is_none(),
            "not before its tick"
        );
        assert!(input.is_due(10 * FRAME));
        let (data, n, ticks, track, _, _) = input.take(10 * FRAME, 10 * FRAME).expect("due");
        assert_eq!(
            (n, ticks, track.name.as_str()),
            (3, 3 * FRAME, "a"),
            "one track a run"
        );
        assert_eq!(&data[..], [[10u8; 4], [11; 4], [12; 4]].concat());
        assert_eq!(input.take(13 * FRAME, FRAME).expect("b").3.name, "b");
        // Frames whose tick went by are dropped.
        let (data, n, ..) = input.take(21 * FRAME, FRAME).expect("21");
        assert_eq!((n, data[0]), (1, 21));
        assert_eq!(input.counters().dropped_frames, 1);
        // A run ends where the ticks jump (a gap on the origin).
        assert_eq!(input.take(40 * FRAME, 10 * FRAME).expect("40").1, 2);
        assert!(input.take(42 * FRAME, 2 * FRAME).is_none());
        // Off the grid by less than a frame, it plays on.
        assert_eq!(input.take(45 * FRAME - FRAME / 2, FRAME).expect("45").1, 1);
        assert!(input.take(46 * FRAME, FRAME).is_none());
    }
}
