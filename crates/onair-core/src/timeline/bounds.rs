//! Frame boundaries on a timeline, read from the files: where segments start, and where a
//! replacement file joins the clock. Each query reads at most one seek-index interval of one
//! file.

use std::sync::Arc;
use std::time::Duration;

use super::{Entry, Switch, Timeline};
use crate::error::SourceError;
use crate::library::{Programme, StationSource};

/// Where a frame starts in its programme and how long it lasts, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpan {
    /// Programme position.
    pub start: u64,
    /// Length.
    pub ticks: u64,
}

impl Entry {
    /// The first frame boundary at or after `tick` on this stretch.
    pub async fn frame_boundary(&self, tick: u64) -> Result<u64, SourceError> {
        let position = self.position(tick);
        let frame = match frame_containing(&self.programme, position).await {
            Ok(frame) => frame,
            // A track cut short (truncated while it plays) has no frame here any more: the
            // tick itself is the boundary, and the segments around it hold what can be read.
            Err(error) if error.is_lost_audio() => return Ok(tick),
            Err(error) => return Err(error),
        };
        if frame.start == position {
            return Ok(tick);
        }
        // A file that shrank under its reader may yield a frame of the next track: then the
        // tick itself is as good a boundary as any.
        Ok(tick + (frame.start + frame.ticks).saturating_sub(position))
    }
}

impl Timeline {
    /// The first tick of segment `k` (segments of `segment_ticks`): the first frame boundary at
    /// or after `k x segment_ticks`, so that every replica cuts at the same frame.
    ///
    /// A change of format (a programme re-encoded, switched at a track boundary) needs a
    /// segment boundary of its own, for HLS's `EXT-X-DISCONTINUITY`: the nearest grid point
    /// moves to it, so segments around it last between half a segment and one and a half.
    pub async fn segment_start(&self, k: u64, segment_ticks: u64) -> Result<u64, SourceError> {
        let tick = k.saturating_mul(segment_ticks);
        if let Some(change) = self.format_change_near(tick, segment_ticks / 2) {
            return Ok(change);
        }
        self.at(tick).frame_boundary(tick).await
    }

    /// Where `programme` (a station file's new version) joins the clock when it replaces what
    /// plays at the first segment boundary at or after `earliest`: at the frame of the new file
    /// that holds that tick, so that the clock goes on where it is.
    pub async fn segment_switch(
        &self,
        earliest: u64,
        segment_ticks: u64,
        programme: &Arc<Programme>,
    ) -> Result<Switch, SourceError> {
        let k = earliest.div_ceil(segment_ticks.max(1));
        // The old file rewritten in place has no frames left to cut at: the plain segment tick.
        let at = self
            .segment_start(k, segment_ticks)
            .await
            .unwrap_or(k * segment_ticks);
        let offset = frame_containing(programme, at).await?.start;
        Ok(Switch { at, offset })
    }
}

/// The frame of `programme` that holds programme position `position`: where it starts and how
/// long it lasts.
pub async fn frame_containing(
    programme: &Arc<Programme>,
    position: u64,
) -> Result<FrameSpan, SourceError> {
    let mut source = StationSource::open_at(programme, position);
    let frame = source.next_chunk(Duration::ZERO).await?;
    Ok(FrameSpan {
        start: frame.start,
        ticks: frame.ticks,
    })
}
