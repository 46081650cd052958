//! HLS segments cut from the station clock: segment `k` holds the frames of the timeline from
//! the first frame boundary at or after `k x S` to the one at or after `(k + 1) x S` (`S` the
//! segment length in ticks). Every replica with the same files computes the same bytes; nothing
//! is stored per listener, and a segment is read from the files only when asked for.

use bytes::{Bytes, BytesMut};

use crate::error::SourceError;
use crate::source::StationSource;
use crate::timeline::Timeline;

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
}

/// Cuts the frames from tick `start` to tick `end` (two segment boundaries, from
/// [`crate::segment_start`]) out of the files `timeline` plays, across track boundaries, loop
/// points and programme switches.
pub async fn cut_segment(
    timeline: &Timeline,
    start: u64,
    end: u64,
) -> Result<Segment, SourceError> {
    let mut data = BytesMut::new();
    let mut frames = 0u32;
    let mut tick = start;
    while tick < end {
        let entry = timeline.at(tick);
        let stop = timeline.next_change(tick).map_or(end, |at| at.min(end));
        let mut source = StationSource::open_at(&entry.programme, entry.position(tick));
        while tick < stop {
            let chunk = source
                .next_chunk_within(std::time::Duration::from_secs(3600), stop - tick)
                .await?;
            data.extend_from_slice(&chunk.data);
            frames += chunk.frames;
            tick += chunk.ticks;
        }
    }
    Ok(Segment {
        start,
        ticks: tick - start,
        data: data.freeze(),
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::probe;
    use crate::testing::{adts_frame, FrameSpec};
    use crate::timeline::{segment_start, ticks_of, TICKS_PER_SECOND};
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
        let timeline = Timeline::new(Arc::new(crate::programme::Programme::single(Arc::new(
            probe(&path).expect("probe"),
        ))));
        let s = ticks_of(Duration::from_secs(1));
        let frame = 1024 * 640;
        let mut next_id = None;
        let mut tick = None;
        for k in 1000..1010 {
            let (start, end) = (
                segment_start(&timeline, k, s).await.expect("start"),
                segment_start(&timeline, k + 1, s).await.expect("end"),
            );
            let seg = cut_segment(&timeline, start, end).await.expect("segment");
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
