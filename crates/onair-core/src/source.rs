//! A station's audio, read from disk as it plays and looped for ever.
//!
//! The source holds one read-ahead block and the frames not yet sent, never the whole file: a
//! three-hour mix costs the same memory as a jingle. Reads run on tokio's blocking pool so a slow
//! disk never stalls the runtime.
//!
//! The file is the one the probe opened ([`StationInfo::file`]), read with positional reads: at
//! the loop point the source goes back to the first frame of that same file. A file renamed over the station's path
//! (a new version, good or bad) is therefore the registry's to probe and switch to; the audio
//! playing never changes under the listeners by accident.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::clock::duration_to_samples;
use crate::deframer::{Deframer, Next};
use crate::error::SourceError;
use crate::probe::{RangeReader, SeekPoint, StationInfo};
use crate::tags::AudioRange;
use crate::timeline::ticks_per_sample;

/// Whole frames for one chunk, as read from the file.
#[derive(Debug, Clone)]
pub struct SourceChunk {
    /// Whole ADTS frames.
    pub data: Bytes,
    /// Frames in `data`.
    pub frames: u32,
    /// Samples (per channel) in `data`.
    pub samples: u32,
    /// Sample rate of every frame in `data`.
    pub sample_rate: u32,
    /// This chunk starts a new pass through the file (after the first).
    pub looped: bool,
    /// Where the chunk's first frame starts in the file, in timeline ticks.
    pub start: u64,
    /// The chunk's length in timeline ticks.
    pub ticks: u64,
}

/// Frames from a station file, looping at its end.
pub struct StationSource {
    path: PathBuf,
    range: AudioRange,
    /// The open file. `None` only while a read is in flight on the blocking pool.
    reader: Option<RangeReader>,
    deframer: Deframer,
    frames_this_pass: u64,
    passes: u64,
    /// Where the next frame starts in the file, in ticks.
    tick: u64,
    /// Frames that end at or before this tick are passed over (a seek lands in the frame that
    /// holds its position).
    skip_until: u64,
}

impl StationSource {
    /// Opens the file `info` describes at the frame that holds `position` (ticks from the file's
    /// start; past the end, it wraps), found through the file's seek index: at most
    /// `INDEX_EVERY` (128) frames are read to get there, whatever the file's length. The first
    /// chunk's `start` says where that frame starts. Nothing can fail here: the file is the one
    /// the probe opened, and reads report their own errors.
    pub fn open_at(info: &StationInfo, position: u64) -> Self {
        let position = position % info.ticks.max(1);
        let point = info.index.before(position).unwrap_or(SeekPoint {
            tick: 0,
            byte: info.range.start,
        });
        let reader =
            RangeReader::starting_at(Arc::clone(&info.file), &info.path, info.range, point.byte);
        StationSource {
            path: info.path.clone(),
            range: info.range,
            reader: Some(reader),
            deframer: Deframer::new(point.byte),
            // Counted as a pass in progress unless it starts at the top.
            frames_this_pass: u64::from(point.tick > 0 || position > 0),
            passes: 0,
            tick: point.tick,
            skip_until: position,
        }
    }

    /// Bytes read ahead and not yet sent: at most one read block plus a frame, whatever the
    /// file's length.
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.deframer.unscanned()
    }

    /// Completed passes through the file.
    #[cfg(test)]
    pub fn loops(&self) -> u64 {
        self.passes
    }

    /// The next run of whole frames lasting at least `target` (one frame at least), all at one
    /// sample rate. After the file's last frame comes its first frame again.
    pub async fn next_chunk(&mut self, target: Duration) -> Result<SourceChunk, SourceError> {
        self.next_chunk_within(target, u64::MAX).await
    }

    /// Like [`next_chunk`](Self::next_chunk), but the chunk lasts at most `max_ticks` (one frame
    /// at least): it ends where the station's timeline switches to another file.
    pub async fn next_chunk_within(
        &mut self,
        target: Duration,
        max_ticks: u64,
    ) -> Result<SourceChunk, SourceError> {
        let mut chunk = SourceChunk {
            data: Bytes::new(),
            frames: 0,
            samples: 0,
            sample_rate: 0,
            looped: false,
            start: 0,
            ticks: 0,
        };
        let mut want = u64::MAX;
        loop {
            match self.deframer.peek() {
                Next::Frame(header) => {
                    let rate = header.sample_rate();
                    let frame_ticks = u64::from(header.samples()) * ticks_per_sample(rate);
                    if self.tick + frame_ticks <= self.skip_until {
                        // Before the position sought: passed over.
                        self.deframer.consume(&header);
                        drop(self.deframer.take());
                        self.tick += frame_ticks;
                        continue;
                    }
                    self.skip_until = 0;
                    if chunk.frames > 0
                        && (rate != chunk.sample_rate || chunk.ticks + frame_ticks > max_ticks)
                    {
                        break;
                    }
                    if chunk.frames == 0 {
                        chunk.sample_rate = rate;
                        chunk.looped = self.frames_this_pass == 0 && self.passes > 0;
                        chunk.start = self.tick;
                        want = duration_to_samples(target, rate);
                    }
                    self.deframer.consume(&header);
                    self.frames_this_pass += 1;
                    self.tick += frame_ticks;
                    chunk.frames += 1;
                    chunk.samples += header.samples();
                    chunk.ticks += frame_ticks;
                    if u64::from(chunk.samples) >= want || chunk.ticks >= max_ticks {
                        break;
                    }
                }
                Next::NeedMore => self.fill().await?,
                // The pass ends: send what this chunk has; the next call starts over.
                Next::End if chunk.frames > 0 => break,
                Next::End => self.rewind()?,
            }
        }
        chunk.data = self.deframer.take();
        Ok(chunk)
    }

    /// Reads one more block into the deframer, on the blocking pool.
    async fn fill(&mut self) -> Result<(), SourceError> {
        let mut reader = self.reader.take().ok_or_else(|| {
            SourceError::io(
                &self.path,
                self.deframer.position(),
                std::io::Error::other("the file was lost by a failed read"),
            )
        })?;
        let mut buf = std::mem::take(self.deframer.input());
        let path = self.path.clone();
        let (reader, buf, more) = tokio::task::spawn_blocking(move || {
            let more = reader.fill(&mut buf);
            (reader, buf, more)
        })
        .await
        .map_err(|e| SourceError::io(&path, 0, std::io::Error::other(e)))?;
        *self.deframer.input() = buf;
        self.reader = Some(reader);
        if !more? {
            self.deframer.finish();
        }
        Ok(())
    }

    /// Starts the next pass at the first frame.
    fn rewind(&mut self) -> Result<(), SourceError> {
        if self.frames_this_pass == 0 {
            return Err(SourceError::not_adts(
                &self.path,
                self.deframer.position(),
                "a whole pass through the file found no frame (was it truncated or replaced?)",
            ));
        }
        let damage = self.deframer.damage();
        if damage.truncated_at.is_some() || damage.garbage_bytes > 0 {
            tracing::debug!(file = %self.path.display(), ?damage, "skipped non-audio bytes in this pass");
        }
        // The same open file from its first frame: never whatever the path names now.
        if let Some(reader) = &mut self.reader {
            reader.rewind();
        }
        self.deframer = Deframer::new(self.range.start);
        self.frames_this_pass = 0;
        self.passes += 1;
        self.tick = 0;
        self.skip_until = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::probe;
    use crate::testing::{adts_stream, FrameSpec};

    #[tokio::test]
    async fn loops_seamlessly_with_whole_frames() {
        let dir = std::env::temp_dir().join(format!("onair-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("loop.aac");
        // 100 frames (2.32 s at 44.1 kHz), each 207 bytes, behind an ID3v2 tag.
        let stream = adts_stream(&FrameSpec::default(), 100);
        let mut file = b"ID3\x04\0\0\0\0\0\x05hello".to_vec();
        file.extend_from_slice(&stream);
        std::fs::write(&path, &file).expect("write");
        let info = probe(&path).expect("probe");
        let mut source = StationSource::open_at(&info, 0);
        let mut played = Vec::new();
        let mut loops_seen = 0;
        while played.len() < 3 * stream.len() {
            let chunk = source
                .next_chunk(Duration::from_millis(200))
                .await
                .expect("chunk");
            assert!(chunk.frames >= 1);
            assert_eq!(chunk.data.len(), chunk.frames as usize * 207);
            loops_seen += usize::from(chunk.looped);
            played.extend_from_slice(&chunk.data);
        }
        assert_eq!(played, stream.repeat(3));
        assert_eq!(loops_seen, 2);
        assert_eq!(source.loops(), 2);
    }

    #[tokio::test]
    async fn opens_at_a_position_through_the_index() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("seek.aac");
        // 1000 frames, each with its own fill byte (index % 200 + 1).
        let stream: Vec<u8> = (0..1000)
            .flat_map(|i| {
                crate::testing::adts_frame(&FrameSpec {
                    fill: (i % 200 + 1) as u8,
                    ..FrameSpec::default()
                })
            })
            .collect();
        std::fs::write(&path, &stream).expect("write");
        let info = probe(&path).expect("probe");
        let frame = 1024 * 640;
        for (position, first) in [(0, 0u64), (frame * 300 + 7, 300), (frame * 999, 999)] {
            let mut source = StationSource::open_at(&info, position);
            let chunk = source
                .next_chunk(Duration::from_millis(50))
                .await
                .expect("chunk");
            assert_eq!(chunk.start, first * frame, "at {position}");
            assert_eq!(chunk.data[7], (first % 200 + 1) as u8, "at {position}");
            assert_eq!(chunk.ticks, u64::from(chunk.frames) * frame);
        }
        // Past the end it wraps; after the last frame comes the first.
        let mut source = StationSource::open_at(&info, info.ticks + frame * 2);
        let chunk = source.next_chunk(Duration::ZERO).await.expect("chunk");
        assert_eq!(chunk.start, 2 * frame);
        let mut source = StationSource::open_at(&info, frame * 999);
        source.next_chunk(Duration::ZERO).await.expect("last frame");
        let next = source
            .next_chunk(Duration::ZERO)
            .await
            .expect("first frame");
        assert!(next.looped && next.start == 0);
        // A chunk stops where the timeline switches.
        let mut source = StationSource::open_at(&info, 0);
        let chunk = source
            .next_chunk_within(Duration::from_secs(1), frame * 3)
            .await
            .expect("chunk");
        assert_eq!(chunk.frames, 3);
    }

    #[tokio::test]
    async fn memory_does_not_grow_with_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("long.aac");
        // 20,000 frames: 4 MB, 7.7 minutes.
        let stream = adts_stream(&FrameSpec::default(), 20_000);
        std::fs::write(&path, &stream).expect("write");
        let info = probe(&path).expect("probe");
        let mut source = StationSource::open_at(&info, 0);
        let mut sent = 0;
        let mut most = 0;
        while sent < stream.len() {
            let chunk = source
                .next_chunk(Duration::from_millis(200))
                .await
                .expect("chunk");
            sent += chunk.data.len();
            most = most.max(source.buffered());
        }
        assert!(
            most <= crate::probe::READ_BLOCK + 8192,
            "read ahead {most} bytes of a {} byte file",
            stream.len()
        );
    }
}
