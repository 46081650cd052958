//! Live audio: a source's frames take a station over at a chunk boundary, and its programme
//! comes back on the clock when they stop.
//!
//! A [`LiveFeed`] wraps the station's own feed (its files). Each chunk, it plays what the
//! station's [`LiveInput`] holds once its jitter buffer has filled, and the programme at the
//! tick asked for otherwise: the programme runs on underneath on the station clock, so when
//! the source leaves (or runs dry) the station is where every replica and a restart would
//! have it. Live frames take the ticks the pacer asks for, right after the audio before them:
//! the hub, HLS and the listeners see one continuous stream of whole frames.
//!
//! A source of another format than the programme's (where the station takes one) comes and
//! goes on a segment boundary: the programme stops at the boundary, and when the source stops,
//! silence in its format fills in to the next one. So every HLS segment holds one format, and
//! its discontinuity falls on a segment's start.
//!
//! Live audio cannot be read again from a file, so every live chunk published is held in the
//! station's [`SegmentWindow`] for the segments cut from it, for as long as a playlist may
//! list them.
//!
//! - `input`: the jitter buffer between the source's connection and the pacer.
//! - `frames`: a source's bytes as checked whole frames.

mod frames;
mod input;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use frames::{SourceFormatError, SourceFrames, MAX_BYTES_WITHOUT_FRAME};
pub use input::{LiveCounters, LiveInput, LiveSession, PushError, Rank};

use super::{Edges, Feed, FeedChunk, Run};
use crate::broadcast::TrackMeta;
use crate::clock::{ticks_of, ticks_per_sample};
use crate::error::SourceError;
use crate::format::{silent_frame, Codec, Format};
use crate::timeline::{SegmentWindow, Stretch};

/// A station's feed with live audio over its own: see the [module](self).
pub struct LiveFeed<F> {
    programme: F,
    input: Arc<LiveInput>,
    window: Arc<SegmentWindow>,
    codec: Codec,
    /// Live audio is held this many ticks after it played.
    keep: u64,
    /// HLS segment length in ticks: the grid on which audio of another format comes and goes.
    segment: u64,
    /// The live track playing, and the tick it started at.
    live_track: Option<(Arc<TrackMeta>, u64)>,
    /// The format the programme plays in (its last chunk's).
    programme_format: Option<Format>,
    /// Audio of another format than the programme's is on, from a segment boundary to one.
    other: Option<OtherFormat>,
    /// Where the last chunk published ended, and its format.
    last: Option<(u64, Format)>,
    /// The run of the silence it plays (frames that lean on nothing).
    silence_run: Run,
}

/// Live audio of another format than the programme's: it plays from a segment boundary, and
/// when it stops, silence in its format fills in until the next one (so that every HLS segment
/// holds one format and a discontinuity falls on a boundary).
struct OtherFormat {
    format: Format,
    /// One frame of silence in it.
    silence: Bytes,
    /// Ticks per frame.
    frame: u64,
}

impl<F: Feed> LiveFeed<F> {
    /// Live audio of `codec` from `input` over `programme` (which plays in `format`); live
    /// chunks are held in `window` for `keep` after they played; `segment` is the HLS segment
    /// length.
    pub fn new(
        programme: F,
        input: Arc<LiveInput>,
        window: Arc<SegmentWindow>,
        codec: Codec,
        format: Format,
        keep: Duration,
        segment: Duration,
    ) -> Self {
        LiveFeed {
            programme,
            input,
            window,
            codec,
            keep: ticks_of(keep),
            segment: ticks_of(segment).max(1),
            live_track: None,
            programme_format: Some(format),
            other: None,
            last: None,
            silence_run: Run::new(),
        }
    }

    /// A live source of another format than the programme's is waiting to take over.
    fn other_format_waiting(&self) -> Option<Format> {
        let format = self.input.format()?;
        (Some(format) != self.programme_format && self.input.is_on_air()).then_some(format)
    }

    /// Whether `at` is a segment boundary for frames of `frame` ticks (the first frame boundary
    /// at or after a multiple of the segment length, as the segment window finds it).
    fn is_boundary(&self, at: u64, frame: u64) -> bool {
        at % self.segment < frame.max(1)
    }

    /// Up to `target` ticks of live frames, as a chunk from `at`.
    fn live_chunk(&mut self, at: u64, target: u64) -> Option<FeedChunk> {
        let (data, frames, ticks, track, run, edges) = self.input.take(at, target)?;
        let started = match &self.live_track {
            Some((playing, started)) if Arc::ptr_eq(playing, &track) => *started,
            _ => at,
        };
        self.live_track = Some((Arc::clone(&track), started));
        Some(FeedChunk {
            data,
            frames,
            tick: at,
            ticks,
            track,
            track_started: started,
            track_ticks: 0,
            looped: false,
            live: true,
            run,
            edges,
        })
    }

    /// The next chunk while audio of another format is on: its live frames, else silence in
    /// its format up to the next segment boundary; `None` once it is over at a boundary.
    fn other_chunk(&mut self, at: u64, target: u64) -> Option<FeedChunk> {
        let other = self.other.as_ref()?;
        let (format, frame) = (other.format, other.frame);
        if self.input.format() == Some(format) {
            if let Some(chunk) = self.live_chunk(at, target) {
                return Some(chunk);
            }
        }
        let show_over = !self.input.is_connected() || self.input.format() != Some(format);
        if show_over && self.is_boundary(at, frame) {
            self.other = None;
            return None;
        }
        let other = self.other.as_ref()?;
        // Silence to the next boundary (or a chunk of it): the first frame boundary at or
        // after the next multiple of the segment length.
        let grid = (at / self.segment + 1) * self.segment;
        let to_grid = (grid - at).div_ceil(frame);
        let frames = (target / frame).clamp(1, to_grid.max(1));
        let track = self
            .live_track
            .as_ref()
            .map_or_else(|| self.input.track(), |(t, _)| Arc::clone(t));
        let started = self.live_track.as_ref().map_or(at, |(_, s)| *s);
        Some(FeedChunk {
            data: Bytes::from(other.silence.repeat(frames as usize)),
            frames: frames as u32,
            tick: at,
            ticks: frames * frame,
            track,
            track_started: started,
            track_ticks: 0,
            looped: false,
            live: true,
            run: self.silence_run,
            edges: Edges::default(),
        })
    }

    /// `chunk` cut at the first segment boundary after its start, if it crosses one.
    fn cut_at_boundary(&self, mut chunk: FeedChunk) -> FeedChunk {
        let (mut tick, mut at, mut frames) = (chunk.tick, 0usize, 0u32);
        while at < chunk.data.len() {
            let Ok(header) = self.codec.parse(&chunk.data[at..]) else {
                break;
            };
            let ticks = u64::from(header.samples()) * ticks_per_sample(header.sample_rate());
            if frames > 0 && self.is_boundary(tick, ticks) {
                chunk.data = chunk.data.slice(..at);
                chunk.ticks = tick - chunk.tick;
                chunk.frames = frames;
                break;
            }
            tick += ticks;
            at += header.frame_length();
            frames += 1;
        }
        chunk
    }
}

impl<F: Feed> Feed for LiveFeed<F> {
    async fn next(&mut self, at: u64, target: Duration) -> Result<FeedChunk, SourceError> {
        let target_ticks = ticks_of(target);
        if self.other.is_none() {
            if let Some(format) = self.other_format_waiting() {
                let programme_frame = self.last.map_or(0, |(_, f)| {
                    f.samples_per_frame() * ticks_per_sample(f.sample_rate)
                });
                if self.is_boundary(at, programme_frame) {
                    if let Some(silence) = silent_frame(&format) {
                        self.other = Some(OtherFormat {
                            frame: format.samples_per_frame()
                                * ticks_per_sample(format.sample_rate),
                            silence: Bytes::from(silence),
                            format,
                        });
                    }
                }
            }
        }
        if self.other.is_some() {
            if let Some(chunk) = self.other_chunk(at, target_ticks) {
                return Ok(chunk);
            }
        } else if self.input.format() == self.programme_format || self.input.format().is_none() {
            if let Some(chunk) = self.live_chunk(at, target_ticks) {
                return Ok(chunk);
            }
        }
        self.live_track = None;
        let chunk = self.programme.next(at, target).await?;
        // Audio of another format waits for a segment boundary: the programme stops there.
        Ok(match self.other_format_waiting() {
            Some(_) => self.cut_at_boundary(chunk),
            None => chunk,
        })
    }

    fn still_current(&mut self, chunk: &FeedChunk) -> bool {
        if chunk.live {
            return true;
        }
        // A programme chunk read ahead gives way to live audio of its format that became
        // ready meanwhile (audio of another format waits for a segment boundary).
        let same_format_live = self.input.is_due(chunk.tick)
            && self
                .input
                .format()
                .is_none_or(|f| Some(f) == self.programme_format);
        !same_format_live && self.programme.still_current(chunk)
    }

    fn published(&mut self, chunk: &FeedChunk) {
        let format = self.codec.parse(&chunk.data).ok().map(|h| h.format());
        if let Some(format) = format {
            // A change of format (only ever at a segment boundary): HLS marks it there.
            if let Some((end, previous)) = self.last {
                if previous != format {
                    self.window.mark_format_change(end);
                }
            }
            self.last = Some((chunk.tick + chunk.ticks, format));
            if !chunk.live {
                self.programme_format = Some(format);
            }
        }
        if !chunk.live {
            return self.programme.published(chunk);
        }
        self.window.hold(Stretch {
            start: chunk.tick,
            data: chunk.data.clone(),
            codec: self.codec,
            track: Arc::clone(&chunk.track),
        });
        self.window
            .forget_before(chunk.tick.saturating_sub(self.keep));
    }
}
