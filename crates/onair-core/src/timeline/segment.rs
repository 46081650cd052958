//! HLS segments cut from the station clock: segment `k` holds the frames of the timeline from
//! the first frame boundary at or after `k x S` to the one at or after `(k + 1) x S` (`S` the
//! segment length in ticks). Every replica with the same files computes the same bytes; nothing
//! is stored per listener, and a segment is read from the files only when asked for (or taken
//! from what a [`SegmentWindow`](super::SegmentWindow) holds).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::Timeline;
use crate::broadcast::TrackMeta;
use crate::error::SourceError;

/// One segment's audio.
#[derive(Debug, Clone)]
pub struct Segment {
    /// The tick of its first frame.
    pub start: u64,
    /// Its length in ticks.
    pub ticks: u64,
    /// Whole frames.
    pub data: Bytes,
    /// Frames in `data`.
    pub frames: u32,
    /// The track its first frame belongs to (HLS names it in the segment's tag).
    pub track: Arc<TrackMeta>,
}

impl Timeline {
    /// Cuts the frames from tick `start` to tick `end` (two segment boundaries, from
    /// [`Timeline::segment_start`]) out of the files this timeline plays, across track
    /// boundaries, loop points and programme switches.
    pub async fn cut(&self, start: u64, end: u64) -> Result<Segment, SourceError> {
        let mut data = BytesMut::new();
        let mut frames = 0u32;
        let mut tick = start;
        let mut track = None;
        while tick < end {
            let entry = self.at(tick);
            let stop = self.next_change(tick).map_or(end, |at| at.min(end));
            let mut source = entry.open(tick);
            while tick < stop {
                let chunk = match source
                    .next_chunk_within(Duration::from_secs(3600), stop - tick)
                    .await
                {
                    Ok(chunk) => chunk,
                    // Frames that were on the clock are gone (a track truncated while it
                    // plays): the segment holds what can be read, with a gap where they were.
                    Err(error) if error.is_lost_audio() => {
                        tracing::warn!(%error, "audio on the clock is gone; the segment has a gap");
                        tick = stop;
                        break;
                    }
                    Err(error) => return Err(error),
                };
                track.get_or_insert_with(|| Arc::clone(&chunk.track.meta));
                data.extend_from_slice(&chunk.data);
                frames += chunk.frames;
                // A stretch entered inside a frame (a splice) starts with the next frame, at
                // its own tick: a gap of less than a frame before it.
                if tick == entry.from {
                    tick = entry.tick_of(chunk.start).clamp(tick, stop);
                }
                tick += chunk.ticks;
            }
        }
        Ok(Segment {
            start,
            ticks: tick - start,
            data: data.freeze(),
            frames,
            track: track.unwrap_or_else(|| Arc::clone(&self.track_at(start).track.meta)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ticks_of, TICKS_PER_SECOND};
    use crate::library::probe::probe;
    use crate::testing::{adts_frame, FrameSpec};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn segments_tile_the_timeline_across_the_loop_point() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("seg.aac");
        // 100 numbered frames: 2.32 s, so 1 s segments cross the loop point.
        let file: Vec<u8> = (0..100u8)
            .flat_map(|i| {
                let mut f = adts_frame(&FrameSpec::default());
                f[7] = i;
                f
            })
            .collect();
        std::fs::write(&path, &file).expect("write");
        let timeline = Timeline::new(Arc::new(crate::library::programme::Programme::single(
            Arc::new(probe(&path).expect("probe")),
        )));
        let s = ticks_of(Duration::from_secs(1));
        let frame = 1024 * 640;
        let mut next_id = None;
        let mut tick = None;
        for k in 1000..1010 {
            let (start, end) = (
                timeline.segment_start(k, s).await.expect("start"),
                timeline.segment_start(k + 1, s).await.expect("end"),
            );
            let seg = timeline.cut(start, end).await.expect("segment");
            // It starts at the first frame at or after k seconds, and ends where the next begins.
            assert!(seg.start >= k * s && seg.start < k * s + frame);
            assert_eq!(seg.start % frame, 0);
            if let Some(t) = tick {
                assert_eq!(seg.start, t, "segments tile the timeline");
            }
            tick = Some(seg.start + seg.ticks);
            assert_eq!(seg.ticks, u64::from(seg.frames) * frame);
            assert_eq!(seg.data.len(), seg.frames as usize * 207);
            // Frames follow each other in file order, 99 then 0 at the loop point.
            for f in seg.data.chunks(207) {
                let id = f[7];
                if let Some(expected) = next_id {
                    assert_eq!(id, expected);
                }
                next_id = Some((id + 1) % 100);
            }
            // Where the clock puts it: tick t is frame (t / frame) mod 100.
            assert_eq!(u64::from(seg.data[7]), (seg.start / frame) % 100);
        }
        assert_eq!(TICKS_PER_SECOND, s);
    }
}
