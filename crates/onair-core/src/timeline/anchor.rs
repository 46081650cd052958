//! A programme laid from an anchor instead of the epoch, and a timeline that goes on as another
//! one from a tick.
//!
//! Under `edits = "file_times"` a station's programme starts its round at an anchor every
//! replica computes from its files (the newest modification time): a replica that lived through
//! an edit and one restarted after it lay the same programme from the same tick, so they agree
//! without telling each other anything. The living one gets there by [`Timeline::splice`]: it
//! keeps what it played, and from a tick on plays exactly what the restarted one plays.

use std::sync::Arc;

use super::bounds::frame_containing;
use super::{Entry, Timeline};
use crate::error::SourceError;
use crate::library::{Programme, StationSource};

/// The programme position at tick 0 that makes a programme of `length` ticks start a round at
/// tick `anchor`: position `t + offset` plays at tick `t`, and `anchor + offset` is a multiple
/// of `length`. Zero for anchor 0 (the epoch).
pub fn anchored_offset(length: u64, anchor: u64) -> u64 {
    if length == 0 {
        return 0;
    }
    (length - anchor % length) % length
}

impl Timeline {
    /// A timeline that plays `programme` with a round starting at tick `anchor` (its first track
    /// from its first frame there), looping before and after it. [`Timeline::new`] is the
    /// anchor 0.
    pub fn anchored(programme: Arc<Programme>, anchor: u64) -> Self {
        let offset = anchored_offset(programme.ticks(), anchor);
        let mut timeline = Timeline::new(programme);
        timeline.entries[0].offset = offset;
        timeline
    }

    /// Plays `other` from tick `at` on: what this timeline plays before `at` stays, and from
    /// `at` every tick plays what it plays in `other`. The entry of `other` playing at `at` is
    /// entered in the middle, at its position there (where that is inside a frame, the frame is
    /// left out and the next one plays at its own tick, so that the frames after `at` land
    /// where `other` lands them).
    pub fn splice(&mut self, at: u64, other: &Timeline) {
        let current = other.at(at);
        self.truncate_from(at);
        if self.entries.first().is_some_and(|e| e.from >= at) {
            // Nothing of this timeline plays before `at`.
            self.entries.clear();
        }
        let mut entries = vec![Entry {
            from: at,
            programme: Arc::clone(&current.programme),
            offset: current.position(at),
        }];
        entries.extend(other.entries.iter().filter(|e| e.from > at).cloned());
        if self.entries.is_empty() {
            self.entries = entries;
        } else {
            self.extend(entries);
        }
    }
}

impl Timeline {
    /// Where this timeline goes on as one laid from `anchor` ([`splice`](Self::splice)), no
    /// earlier than `earliest`: at the start of its frame that holds the anchor (the other's
    /// first frame plays at the anchor itself, after less than a frame of silence); where that
    /// is too early, at its first frame boundary at or after `earliest`.
    pub async fn splice_point(&self, anchor: u64, earliest: u64) -> Result<u64, SourceError> {
        if anchor >= earliest {
            let entry = self.at(anchor);
            let frame = frame_containing(&entry.programme, entry.position(anchor)).await?;
            let at = entry.tick_of(frame.start).max(entry.from);
            if at >= earliest {
                return Ok(at);
            }
        }
        self.at(earliest).frame_boundary(earliest).await
    }
}

impl Entry {
    /// Opens this stretch's programme for reading at `tick`: at the stretch's first tick, the
    /// first frame that starts at or after its offset (a frame that began before it belongs to
    /// what played before: a spliced stretch may start inside one); later, the frame that holds
    /// the tick's position.
    pub fn open(&self, tick: u64) -> StationSource {
        if tick <= self.from {
            StationSource::open_from(&self.programme, self.offset)
        } else {
            StationSource::open_at(&self.programme, self.position(tick))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::programme_of as programme;

    #[test]
    fn an_anchored_programme_starts_a_round_at_its_anchor() {
        assert_eq!(anchored_offset(60, 0), 0);
        assert_eq!(anchored_offset(60, 60), 0);
        assert_eq!(anchored_offset(60, 1_000), 20);
        let timeline = Timeline::anchored(programme(&[("a.aac", 10), ("b.aac", 50)]), 1_000);
        let at = timeline.track_at(1_000);
        assert_eq!(at.track.path.to_str(), Some("a.aac"));
        assert_eq!((at.started, at.ends), (1_000, 1_010));
        // Before the anchor, the round before it.
        assert_eq!(timeline.track_at(999).track.path.to_str(), Some("b.aac"));
        assert_eq!(timeline.track_at(999).started, 950);
        // The epoch's timeline is the anchor 0.
        assert_eq!(
            Timeline::anchored(programme(&[("a.aac", 10)]), 0).entries()[0].offset,
            0
        );
    }

    #[test]
    fn a_spliced_timeline_plays_the_other_from_the_splice_on() {
        let old = programme(&[("old.aac", 100)]);
        let new = programme(&[("a.aac", 10), ("b.aac", 50)]);
        let mut living = Timeline::new(old);
        living.switch(
            super::super::Switch { at: 400, offset: 0 },
            programme(&[("mid.aac", 30)]),
        );
        let restarted = Timeline::anchored(Arc::clone(&new), 1_000);
        living.splice(1_005, &restarted);
        // Before: as it was.
        assert_eq!(living.track_at(500).track.path.to_str(), Some("mid.aac"));
        // From the splice on: what the restarted replica plays, tick for tick.
        for tick in [1_005, 1_009, 1_010, 1_059, 1_060, 5_000] {
            let (a, b) = (living.track_at(tick), restarted.track_at(tick));
            assert_eq!(a.track.path, b.track.path, "at {tick}");
            assert_eq!(a.started.max(1_005), b.started.max(1_005), "at {tick}");
            assert_eq!(a.ends, b.ends, "at {tick}");
            assert_eq!(a.spot.round, b.spot.round, "at {tick}");
        }
        // A splice before the timeline's first entry replaces it all.
        let mut fresh = Timeline::anchored(programme(&[("x.aac", 7)]), 300);
        fresh.splice(0, &restarted);
        assert_eq!(fresh.entries().len(), 1);
        assert_eq!(fresh.track_at(1_000).track.path.to_str(), Some("a.aac"));
    }

    /// A file of `frames` numbered ADTS frames (byte 7 is the number plus `base`).
    fn numbered(dir: &std::path::Path, name: &str, frames: u8, base: u8) -> Arc<Programme> {
        use crate::testing::{adts_frame, FrameSpec};
        let path = dir.join(name);
        let file: Vec<u8> = (0..frames)
            .flat_map(|i| {
                let mut f = adts_frame(&FrameSpec::default());
                f[7] = base + i;
                f
            })
            .collect();
        std::fs::write(&path, &file).expect("write");
        let info = crate::library::probe::probe(&path).expect("probe");
        Arc::new(Programme::single(Arc::new(info)))
    }

    #[tokio::test]
    async fn segments_after_a_splice_inside_a_frame_are_the_restarted_replicas() {
        let dir = tempfile::tempdir().expect("temp dir");
        let frame = 1024 * 640;
        let old = numbered(dir.path(), "old.aac", 50, 0);
        let new = numbered(dir.path(), "new.aac", 40, 100);
        // The new programme's round starts a third of a frame off the old one's frames.
        let anchor = 300 * frame + frame / 3;
        let restarted = Timeline::anchored(Arc::clone(&new), anchor);
        let mut living = Timeline::new(old);
        // The living replica goes on as the restarted one from the old frame holding the
        // anchor (a boundary of its own frames).
        let at = living.splice_point(anchor, 0).await.expect("splice point");
        assert_eq!(at, anchor - frame / 3);
        // Seen too late for that: the first old boundary after `earliest`.
        let late = living.splice_point(anchor, anchor + 1).await.expect("late");
        assert_eq!(late, anchor - frame / 3 + frame);
        living.splice(at, &restarted);
        let s = crate::clock::ticks_of(std::time::Duration::from_secs(1));
        // The segment across the splice: old frames up to it, then the new programme's first
        // frame at the anchor itself (the gap of a third of a frame before it is silent).
        let k = at / s;
        let (start, end) = (
            living.segment_start(k, s).await.expect("start"),
            living.segment_start(k + 1, s).await.expect("end"),
        );
        let seg = living.cut(start, end).await.expect("segment");
        let ids: Vec<u8> = seg.data.chunks(207).map(|f| f[7]).collect();
        let first_new = ids.iter().position(|&id| id >= 100).expect("new frames");
        assert_eq!(ids[first_new], 100, "the new round from its first frame");
        assert_eq!(
            start + first_new as u64 * frame,
            at,
            "old frames up to the splice"
        );
        assert_eq!(seg.ticks, end - start);
        // Every later segment is byte for byte the restarted replica's.
        for k in k + 1..k + 6 {
            let cut = |t: &Timeline| {
                let t = t.clone();
                async move {
                    let (a, b) = (
                        t.segment_start(k, s).await.expect("start"),
                        t.segment_start(k + 1, s).await.expect("end"),
                    );
                    t.cut(a, b).await.expect("segment")
                }
            };
            let (x, y) = (cut(&living).await, cut(&restarted).await);
            assert_eq!((x.start, x.ticks), (y.start, y.ticks), "segment {k}");
            assert_eq!(x.data, y.data, "segment {k}");
        }
    }
}
