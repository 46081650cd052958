//! The HLS segment window of one station: which segments are listed at a tick, where each
//! starts, and their audio, from the files or from stretches of audio held in memory.
//!
//! Segment `k` starts at the first frame boundary at or after `k x S`. Boundaries are read from
//! the files once and kept (the live edge is what every client asks for). Audio that no file can
//! give again (a live source's, as the hub published it) is [`hold`](SegmentWindow::hold)en
//! here as [`Stretch`]es: boundaries and cuts inside a held stretch come from its frames, so a
//! segment may hold file frames then held frames, and is the same whichever replica cuts it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};

use super::{Segment, Timeline};
use crate::broadcast::TrackMeta;
use crate::error::SourceError;
use crate::format::Codec;

/// Segment boundaries kept.
const STARTS_KEPT: usize = 256;

/// (Segment length in ticks, segment index): a live change of the segment length numbers
/// segments anew.
type SegmentKey = (u64, u64);

/// A segment as served (its bytes, packed by whoever serves it) and a hash of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// The bytes.
    pub bytes: Bytes,
    /// A hash of them (a strong validator every replica computes alike).
    pub hash: u64,
}

/// Whole frames that played from tick `start`, kept because no file can give them again.
#[derive(Debug, Clone)]
pub struct Stretch {
    /// The tick of the first frame.
    pub start: u64,
    /// Whole frames.
    pub data: Bytes,
    /// Their codec (to walk them frame by frame).
    pub codec: Codec,
    /// The track they belong to.
    pub track: Arc<TrackMeta>,
}

impl Stretch {
    /// Where each frame starts: (tick, byte offset), and the end (tick after the last frame,
    /// bytes).
    fn frames(&self) -> Vec<(u64, usize)> {
        let mut out = Vec::new();
        let (mut tick, mut at) = (self.start, 0usize);
        while let Ok(header) = self.codec.parse(&self.data[at..]) {
            let len = header.frame_length();
            if len == 0 || at + len > self.data.len() {
                break;
            }
            out.push((tick, at));
            tick += header.ticks();
            at += len;
        }
        out.push((tick, at));
        out
    }

    /// The tick after its last frame.
    pub fn end(&self) -> u64 {
        self.frames().last().map_or(self.start, |&(tick, _)| tick)
    }
}

/// The segments a playlist lists: the index of the first and the bounds of each (one more
/// bound than segments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Index of the first segment listed.
    pub first: u64,
    /// First tick of each listed segment, and the end of the last.
    pub starts: Vec<u64>,
}

/// One station's segment window: boundaries read once, and held audio.
#[derive(Debug, Default)]
pub struct SegmentWindow {
    /// (Segment length, segment index) to its first tick: a live change of the segment length
    /// numbers segments anew, and never meets a stale entry.
    starts: Mutex<BTreeMap<SegmentKey, u64>>,
    /// Held stretches by first tick.
    held: Mutex<BTreeMap<u64, Stretch>>,
    /// The newest segment listed, by segment length: listings never go back.
    newest: Mutex<HashMap<u64, u64>>,
    /// Every segment served that a playlist may still list, as served, by (segment length,
    /// index): a published segment never changes, even when its file is overwritten in place.
    ready: Mutex<VecDeque<(SegmentKey, Arc<Packed>)>>,
    /// Ticks where held audio changed format (a live source of another format came or went),
    /// and how many such marks were forgotten: HLS's discontinuities beside the timeline's.
    changes: Mutex<(BTreeSet<u64>, u64)>,
}

impl SegmentWindow {
    /// The first tick of segment `k` of `segment` ticks.
    pub async fn start(
        &self,
        timeline: &Timeline,
        k: u64,
        segment: u64,
    ) -> Result<u64, SourceError> {
        if let Some(&tick) = lock(&self.starts).get(&(segment, k)) {
            return Ok(tick);
        }
        let nominal = k.saturating_mul(segment);
        let tick = match self.held_boundary(nominal) {
            Some(tick) => tick,
            None => timeline.segment_start(k, segment).await?,
        };
        let mut starts = lock(&self.starts);
        starts.insert((segment, k), tick);
        while starts.len() > STARTS_KEPT {
            starts.pop_first();
        }
        Ok(tick)
    }

    /// The complete segments listed at tick `now`: the newest whose successor has started, and
    /// `count` before it.
    pub async fn listing(
        &self,
        timeline: &Timeline,
        now: u64,
        segment: u64,
        count: u64,
    ) -> Result<Listing, SourceError> {
        let mut next = now / segment.max(1);
        while next > 0 && self.start(timeline, next, segment).await? > now {
            next -= 1;
        }
        // A playlist never goes back (RFC 8216 6.2.1: the media sequence never decreases):
        // after the wall clock steps back, the newest listing stands until the clock passes it.
        {
            let mut newest = lock(&self.newest);
            match newest.get(&segment) {
                Some(&listed) if listed > next => next = listed,
                _ => {
                    newest.clear();
                    newest.insert(segment, next);
                }
            }
        }
        let first = next.saturating_sub(count);
        let mut starts = Vec::with_capacity((next - first + 1) as usize);
        for k in first..=next {
            starts.push(self.start(timeline, k, segment).await?);
        }
        Ok(Listing { first, starts })
    }

    /// The audio from tick `start` to tick `end` (two segment boundaries): held frames where a
    /// stretch holds them, the files' elsewhere.
    pub async fn cut(
        &self,
        timeline: &Timeline,
        start: u64,
        end: u64,
    ) -> Result<Segment, SourceError> {
        let mut data = BytesMut::new();
        let (mut frames, mut tick, mut track) = (0u32, start, None);
        while tick < end {
            let piece = match self.held_from(tick, end) {
                Some(piece) => piece,
                None => {
                    let until = self.next_held(tick).map_or(end, |at| at.min(end));
                    timeline.cut(tick, until).await?
                }
            };
            if piece.ticks == 0 {
                break;
            }
            track.get_or_insert_with(|| Arc::clone(&piece.track));
            data.extend_from_slice(&piece.data);
            frames += piece.frames;
            tick += piece.ticks;
        }
        Ok(Segment {
            start,
            ticks: tick - start,
            data: data.freeze(),
            frames,
            track: track.unwrap_or_else(|| Arc::clone(&timeline.track_at(start).track.meta)),
        })
    }

    /// Segment `k` of `segment` ticks as served, if it is kept ready.
    pub fn ready(&self, segment: u64, k: u64) -> Option<Arc<Packed>> {
        lock(&self.ready)
            .iter()
            .find(|(key, _)| *key == (segment, k))
            .map(|(_, packed)| Arc::clone(packed))
    }

    /// Keeps segment `k` as served, for as long as it may be asked for again (the first one
    /// kept wins a race: a segment never changes); returns the one kept. Segments before
    /// `oldest_wanted` (out of every playlist and past RFC 8216's grace) are let go: what is
    /// kept never grows beyond a window and its grace.
    pub fn keep_ready(
        &self,
        segment: u64,
        k: u64,
        oldest_wanted: u64,
        packed: Packed,
    ) -> Arc<Packed> {
        let mut ready = lock(&self.ready);
        if let Some((_, kept)) = ready.iter().find(|(key, _)| *key == (segment, k)) {
            return Arc::clone(kept);
        }
        ready.retain(|((length, index), _)| *length == segment && *index >= oldest_wanted);
        let packed = Arc::new(packed);
        ready.push_back(((segment, k), Arc::clone(&packed)));
        packed
    }

    /// Keeps `stretch` (audio no file can give again) for segments cut from now on.
    pub fn hold(&self, stretch: Stretch) {
        // Boundaries read from the files where the stretch now plays no longer hold.
        lock(&self.starts).retain(|_, tick| *tick < stretch.start);
        lock(&self.held).insert(stretch.start, stretch);
    }

    /// Marks a change of format at `tick` (a segment boundary): HLS says
    /// `EXT-X-DISCONTINUITY` there.
    pub fn mark_format_change(&self, tick: u64) {
        lock(&self.changes).0.insert(tick);
    }

    /// Whether held audio changed format at `tick`.
    pub fn format_change_at(&self, tick: u64) -> bool {
        lock(&self.changes).0.contains(&tick)
    }

    /// Changes of format in held audio before `tick`, forgotten ones included (for
    /// `EXT-X-DISCONTINUITY-SEQUENCE`, which never goes back).
    pub fn format_changes_before(&self, tick: u64) -> u64 {
        let changes = lock(&self.changes);
        changes.1 + changes.0.range(..tick).count() as u64
    }

    /// Forgets held audio that ended before `tick` (it left every window).
    pub fn forget_before(&self, tick: u64) {
        {
            let mut changes = lock(&self.changes);
            let kept = changes.0.split_off(&tick);
            changes.1 += changes.0.len() as u64;
            changes.0 = kept;
        }
        // Only the stretches that start before `tick` are walked (a handful: the older ones
        // went at earlier calls).
        lock(&self.held).retain(|&start, s| start >= tick || s.end() >= tick);
    }

    /// The first frame boundary at or after `tick` inside a held stretch, if one holds `tick`.
    fn held_boundary(&self, tick: u64) -> Option<u64> {
        let held = lock(&self.held);
        let (_, stretch) = held.range(..=tick).next_back()?;
        let frames = stretch.frames();
        let end = frames.last()?.0;
        (tick < end).then(|| {
            frames
                .iter()
                .map(|&(t, _)| t)
                .find(|&t| t >= tick)
                .unwrap_or(end)
        })
    }

    /// The held frames from `tick` (a frame boundary inside a stretch) to `end` at most.
    fn held_from(&self, tick: u64, end: u64) -> Option<Segment> {
        let held = lock(&self.held);
        let (_, stretch) = held.range(..=tick).next_back()?;
        let frames = stretch.frames();
        let first = frames[..frames.len() - 1]
            .iter()
            .position(|&(t, _)| t >= tick)?;
        let last = frames
            .iter()
            .rposition(|&(t, _)| t <= end)
            .filter(|&last| last > first)?;
        let ((from, a), (to, b)) = (frames[first], frames[last]);
        debug_assert_eq!(from, tick, "a held stretch is cut at its frame boundaries");
        Some(Segment {
            start: tick,
            ticks: to - tick,
            data: stretch.data.slice(a..b),
            frames: (last - first) as u32,
            track: Arc::clone(&stretch.track),
        })
    }

    /// The start of the first held stretch after `tick`.
    fn next_held(&self, tick: u64) -> Option<u64> {
        let held = lock(&self.held);
        held.range(tick + 1..).next().map(|(&at, _)| at)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::{probe, Programme};
    use crate::testing::{adts_frame, FrameSpec};

    #[tokio::test]
    async fn held_audio_is_cut_with_the_files_around_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("file.aac");
        let file_frame = adts_frame(&FrameSpec::default());
        std::fs::write(&path, file_frame.repeat(100)).expect("write");
        let info = Arc::new(probe(&path).expect("probe"));
        let timeline = Timeline::new(Arc::new(Programme::single(info)));
        let frame = 1024 * 640;
        let window = SegmentWindow::default();
        // Ten frames of other audio held from frame 1002 on (ticks no file covers again).
        let live = adts_frame(&FrameSpec {
            fill: 0x11,
            ..FrameSpec::default()
        });
        window.hold(Stretch {
            start: 1002 * frame,
            data: Bytes::from(live.repeat(10)),
            codec: Codec::Adts,
            track: Arc::new(TrackMeta::named("live")),
        });
        // A segment of 4 frames starting 2 frames before the stretch: file, file, live, live.
        let segment = 4 * frame;
        let k = 250;
        let start = window.start(&timeline, k, segment).await.expect("start");
        assert_eq!(start, 1000 * frame);
        let end = window.start(&timeline, k + 1, segment).await.expect("end");
        let cut = window.cut(&timeline, start, end).await.expect("cut");
        assert_eq!(cut.frames, 4);
        assert_eq!(
            &cut.data[..],
            [file_frame.repeat(2), live.repeat(2)].concat()
        );
        // Inside the stretch, boundaries and audio come from the held frames.
        let start = window
            .start(&timeline, k + 1, segment)
            .await
            .expect("start");
        let end = window.start(&timeline, k + 2, segment).await.expect("end");
        let cut = window.cut(&timeline, start, end).await.expect("cut");
        assert_eq!(&cut.data[..], live.repeat(4));
        assert_eq!(cut.track.name, "live");
        // Past it, the files again; forgotten, the files everywhere.
        window.forget_before(2000 * frame);
        let cut = window
            .cut(&timeline, 1002 * frame, 1004 * frame)
            .await
            .expect("cut");
        assert_eq!(&cut.data[..], file_frame.repeat(2));
        let listing = window
            .listing(&timeline, 1007 * frame, segment, 6)
            .await
            .expect("listing");
        assert_eq!(listing.starts.len(), 7);
        assert_eq!(*listing.starts.last().expect("bound"), 1004 * frame);
        // The wall clock steps back 40 frames: the listing does not go back with it.
        let back = window
            .listing(&timeline, 967 * frame, segment, 6)
            .await
            .expect("listing");
        assert_eq!(back, listing);
        // Once the clock passes it again, it goes on.
        let on = window
            .listing(&timeline, 1011 * frame, segment, 6)
            .await
            .expect("listing");
        assert_eq!(on.first, listing.first + 1);
    }
}
