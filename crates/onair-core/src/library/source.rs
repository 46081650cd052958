//! A station's audio, read from disk as it plays: its programme's tracks end to end, looped for
//! ever.
//!
//! The source holds one read-ahead block and the frames not yet sent, never a whole track: a
//! three-hour mix or a programme of a thousand tracks costs the same memory as a jingle. Reads
//! run on tokio's blocking pool so a slow disk never stalls the runtime.
//!
//! Each track is the file its probe opened ([`StationInfo::file`]), read with positional reads:
//! a file renamed over a track's path (a new version, good or bad) is the registry's to probe and
//! switch to; the audio playing never changes under the listeners by accident. Track to track
//! is frame-exact concatenation: no frame is added, lost or repeated, and a chunk never spans
//! two tracks, so that everything downstream knows which track each byte belongs to.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::file::RangeReader;
use crate::clock::duration_to_samples;
use crate::error::SourceError;
use crate::format::framing::{Framing, Next};
use crate::library::probe::{SeekPoint, StationInfo};
use crate::library::programme::{Programme, Spot};

/// Whole frames of one track for one chunk, as read from the file.
#[derive(Debug, Clone)]
pub struct SourceChunk {
    /// Whole frames.
    pub data: Bytes,
    /// Frames in `data`.
    pub frames: u32,
    /// Samples (per channel) in `data`.
    pub samples: u32,
    /// Sample rate of every frame in `data`.
    pub sample_rate: u32,
    /// This chunk starts a new round of the programme (after the first).
    pub looped: bool,
    /// The programme position of the chunk's first frame, in ticks.
    pub start: u64,
    /// The chunk's length in ticks.
    pub ticks: u64,
    /// The track the frames belong to.
    pub track: Arc<StationInfo>,
    /// The programme position where that track starts.
    pub track_start: u64,
}

/// Frames from a programme's tracks, one after the other, looping at its end.
pub struct StationSource {
    programme: Arc<Programme>,
    /// The track being read.
    spot: Spot,
    /// Its file. `None` only while a read is in flight on the blocking pool.
    reader: Option<RangeReader>,
    deframer: Box<dyn Framing>,
    /// A frame of this track has been seen (played or passed over).
    seen_frame: bool,
    /// The next chunk starts a new round.
    new_round: bool,
    /// Rounds begun since opening.
    rounds: u64,
    /// The programme position of the next frame, in ticks.
    tick: u64,
    /// Frames that end at or before this position are passed over (a seek lands in the frame
    /// that holds its position).
    skip_until: u64,
    /// Frames that start before `skip_until` are passed over too (a seek lands on the first
    /// frame at or after its position).
    from_boundary: bool,
    /// The next track's file, opened while this one plays (`None` inside: it could not be
    /// opened): a new version renamed over it meanwhile does not replace what the clock has
    /// laid out before the registry switches to it.
    next_file: Option<Option<Arc<std::fs::File>>>,
}

impl StationSource {
    /// Opens `programme` at the frame that holds programme position `position`, found through
    /// the track's seek index: at most `INDEX_EVERY` (128) frames are read to get there,
    /// whatever the track's length. The first chunk's `start` says where that frame starts.
    /// Nothing can fail here: the files are the ones the probes opened, and reads report their
    /// own errors.
    pub fn open_at(programme: &Arc<Programme>, position: u64) -> Self {
        let spot = programme.locate(position);
        let within = position - spot.start;
        let track = &spot.track;
        let point = track.index.before(within).unwrap_or(SeekPoint {
            tick: 0,
            byte: track.range.start,
        });
        let reader = RangeReader::starting_at(&track.file, track.range, point.byte);
        StationSource {
            deframer: {
                let mut framing = track.codec().framing(point.byte);
                framing.prime(&track.headers);
                framing
            },
            reader: Some(reader),
            tick: spot.start + point.tick,
            spot,
            programme: Arc::clone(programme),
            seen_frame: false,
            new_round: false,
            rounds: 0,
            skip_until: position,
            from_boundary: false,
            next_file: None,
        }
    }

    /// Opens `programme` at the first frame that starts at or after programme position
    /// `position` (the next track's first frame, after a track's last): where a stretch of the
    /// timeline that starts inside a frame plays from.
    pub fn open_from(programme: &Arc<Programme>, position: u64) -> Self {
        let mut source = StationSource::open_at(programme, position);
        source.from_boundary = true;
        source
    }

    /// Bytes read ahead and not yet sent: at most one read block plus a frame, whatever the
    /// track's length.
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.deframer.unscanned()
    }

    /// Rounds of the programme begun since opening.
    #[cfg(test)]
    pub fn loops(&self) -> u64 {
        self.rounds
    }

    /// The next run of whole frames of one track lasting at least `target` (one frame at
    /// least), all at one sample rate; shorter where the track ends. After a track's last frame
    /// comes the next track's first.
    pub async fn next_chunk(&mut self, target: Duration) -> Result<SourceChunk, SourceError> {
        self.next_chunk_within(target, u64::MAX).await
    }

    /// Like [`next_chunk`](Self::next_chunk), but the chunk lasts at most `max_ticks` (one frame
    /// at least): it ends where the station's timeline switches to another programme.
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
            track: Arc::clone(&self.spot.track),
            track_start: self.spot.start,
        };
        let mut want = u64::MAX;
        loop {
            match self.deframer.peek() {
                Next::Frame(header) => {
                    self.seen_frame = true;
                    let rate = header.sample_rate();
                    let frame_ticks = header.ticks();
                    if self.tick + frame_ticks <= self.skip_until
                        || (self.from_boundary && self.tick < self.skip_until)
                    {
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
                        chunk.looped = std::mem::take(&mut self.new_round);
                        chunk.start = self.tick;
                        chunk.track = Arc::clone(&self.spot.track);
                        chunk.track_start = self.spot.start;
                        want = duration_to_samples(target, rate);
                    }
                    self.deframer.consume(&header);
                    self.tick += frame_ticks;
                    chunk.frames += 1;
                    chunk.samples += header.samples();
                    chunk.ticks += frame_ticks;
                    if u64::from(chunk.samples) >= want || chunk.ticks >= max_ticks {
                        break;
                    }
                }
                Next::NeedMore => self.fill().await?,
                // The track ends: send what this chunk has; the next call goes on.
                Next::End if chunk.frames > 0 => break,
                Next::End => self.next_track()?,
            }
        }
        chunk.data = self.deframer.take();
        Ok(chunk)
    }

    /// Reads one more block into the deframer, on the blocking pool.
    async fn fill(&mut self) -> Result<(), SourceError> {
        let path = &self.spot.track.path;
        let mut reader = self.reader.take().ok_or_else(|| {
            SourceError::io(
                path,
                self.deframer.position(),
                std::io::Error::other("the file was lost by a failed read"),
            )
        })?;
        let mut buf = std::mem::take(self.deframer.input());
        let path = path.clone();
        // Once a track: the next one's file is opened beside it.
        let next = match self.next_file {
            None => Some(Arc::clone(&self.programme.next(&self.spot).track)),
            Some(_) => None,
        };
        let (reader, buf, more, next_file) = tokio::task::spawn_blocking(move || {
            let more = reader.fill(&mut buf);
            let next_file = next.map(|track| track.file.open().ok());
            (reader, buf, more, next_file)
        })
        .await
        .map_err(|e| SourceError::io(&path, 0, std::io::Error::other(e)))?;
        if next_file.is_some() {
            self.next_file = next_file;
        }
        *self.deframer.input() = buf;
        self.reader = Some(reader);
        if !more? {
            self.deframer.finish();
        }
        Ok(())
    }

    /// Goes on with the next track (the first one again after the last), at its first frame.
    fn next_track(&mut self) -> Result<(), SourceError> {
        let track = &self.spot.track;
        if !self.seen_frame {
            return Err(SourceError::Lost {
                path: track.path.clone(),
                offset: self.deframer.position(),
            });
        }
        let damage = self.deframer.damage();
        if damage.truncated_at.is_some() || damage.garbage_bytes > 0 {
            tracing::debug!(file = %track.path.display(), ?damage, "skipped non-audio bytes in this pass");
        }
        let next = self.programme.next(&self.spot);
        if next.round > self.spot.round {
            self.new_round = true;
            self.rounds += 1;
        }
        // The same open file from its first frame: never whatever the path names now.
        let track = &next.track;
        self.reader = Some(RangeReader::starting_at(
            &track.file,
            track.range,
            track.range.start,
        ));
        self.deframer = track.codec().framing(track.range.start);
        self.deframer.prime(&track.headers);
        // A track that played short (its file shrank) leaves a gap on the clock, never a
        // shift: the next track starts where the programme says.
        self.tick = next.start;
        self.spot = next;
        self.seen_frame = false;
        self.skip_until = 0;
        // The reader above took the file opened for it; the track after is opened next.
        self.next_file = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::probe::probe;

    fn single(info: Arc<StationInfo>) -> Arc<Programme> {
        Arc::new(Programme::single(info))
    }
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
        let info = Arc::new(probe(&path).expect("probe"));
        let mut source = StationSource::open_at(&single(info.clone()), 0);
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
        let info = Arc::new(probe(&path).expect("probe"));
        let frame = 1024 * 640;
        for (position, first) in [(0, 0u64), (frame * 300 + 7, 300), (frame * 999, 999)] {
            let mut source = StationSource::open_at(&single(info.clone()), position);
            let chunk = source
                .next_chunk(Duration::from_millis(50))
                .await
                .expect("chunk");
            assert_eq!(chunk.start, first * frame, "at {position}");
            assert_eq!(chunk.data[7], (first % 200 + 1) as u8, "at {position}");
            assert_eq!(chunk.ticks, u64::from(chunk.frames) * frame);
        }
        // Past the end is the next round (positions never wrap); after the last frame comes
        // the first.
        let mut source = StationSource::open_at(&single(info.clone()), info.ticks + frame * 2);
        let chunk = source.next_chunk(Duration::ZERO).await.expect("chunk");
        assert_eq!(chunk.start, info.ticks + 2 * frame);
        assert_eq!(chunk.data[7], 3);
        let mut source = StationSource::open_at(&single(info.clone()), frame * 999);
        source.next_chunk(Duration::ZERO).await.expect("last frame");
        let next = source
            .next_chunk(Duration::ZERO)
            .await
            .expect("first frame");
        assert!(next.looped && next.start == info.ticks);
        // A chunk stops where the timeline switches.
        let mut source = StationSource::open_at(&single(info.clone()), 0);
        let chunk = source
            .next_chunk_within(Duration::from_secs(1), frame * 3)
            .await
            .expect("chunk");
        assert_eq!(chunk.frames, 3);
    }

    #[tokio::test]
    async fn tracks_follow_each_other_gapless_and_chunks_never_span_two() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut tracks = Vec::new();
        let mut round = Vec::new();
        for (name, frames, fill) in [("a.aac", 30, 1u8), ("b.aac", 7, 2), ("c.aac", 52, 3)] {
            let spec = FrameSpec {
                fill,
                ..FrameSpec::default()
            };
            let bytes: Vec<u8> = (0..frames)
                .flat_map(|_| crate::testing::adts_frame(&spec))
                .collect();
            round.extend_from_slice(&bytes);
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).expect("write");
            tracks.push(Arc::new(probe(&path).expect("probe")));
        }
        let programme = Arc::new(
            Programme::new(tracks, crate::library::programme::Order::Name).expect("tracks"),
        );
        let frame = 1024 * 640;
        let mut source = StationSource::open_at(&programme, 0);
        let mut played = Vec::new();
        let mut tick = 0;
        while played.len() < 2 * round.len() {
            let chunk = source
                .next_chunk(Duration::from_millis(300))
                .await
                .expect("chunk");
            assert_eq!(chunk.start, tick, "no gap, no overlap");
            tick += chunk.ticks;
            let fill = chunk.data[7];
            let fills: Vec<u8> = chunk.data.chunks(207).map(|f| f[7]).collect();
            assert!(
                fills.iter().all(|&f| f == fill),
                "one track per chunk: {fills:?}"
            );
            let name = chunk.track.path.file_name().and_then(|n| n.to_str());
            assert_eq!(
                name,
                Some(["a.aac", "b.aac", "c.aac"][usize::from(fill) - 1])
            );
            let spot = programme.locate(chunk.start);
            assert_eq!(chunk.track_start, spot.start);
            assert_eq!(chunk.looped, chunk.start == programme.ticks());
            played.extend_from_slice(&chunk.data);
        }
        assert_eq!(played, round.repeat(2));
        assert_eq!(programme.ticks(), 89 * frame);
        // Opened inside the second track, it starts at the frame holding the position.
        let mut source = StationSource::open_at(&programme, 33 * frame + 5);
        let chunk = source.next_chunk(Duration::ZERO).await.expect("chunk");
        assert_eq!(
            (chunk.start, chunk.track_start, chunk.data[7]),
            (33 * frame, 30 * frame, 2)
        );
    }

    #[tokio::test]
    async fn memory_does_not_grow_with_the_programme() {
        // 500 tracks of 40 frames: two rounds read, never more than one block ahead.
        let dir = tempfile::tempdir().expect("temp dir");
        let stream = adts_stream(&FrameSpec::default(), 40);
        let tracks: Vec<Arc<StationInfo>> = (0..500)
            .map(|i| {
                let path = dir.path().join(format!("{i:03}.aac"));
                std::fs::write(&path, &stream).expect("write");
                Arc::new(probe(&path).expect("probe"))
            })
            .collect();
        let programme = Arc::new(
            Programme::new(tracks, crate::library::programme::Order::shuffle_for("big"))
                .expect("tracks"),
        );
        let mut source = StationSource::open_at(&programme, 0);
        let (mut tick, mut most, mut starts) = (0, 0, 0);
        while tick < 2 * programme.ticks() {
            let chunk = source
                .next_chunk(Duration::from_millis(500))
                .await
                .expect("chunk");
            assert_eq!(chunk.start, tick, "gapless");
            tick += chunk.ticks;
            starts += usize::from(chunk.start == chunk.track_start);
            most = most.max(source.buffered());
        }
        assert_eq!(
            starts, 1000,
            "every track of both rounds from its first frame"
        );
        assert!(
            most <= crate::library::file::READ_BLOCK + 8192,
            "read ahead {most} bytes"
        );
    }

    #[tokio::test]
    async fn memory_does_not_grow_with_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("long.aac");
        // 20,000 frames: 4 MB, 7.7 minutes.
        let stream = adts_stream(&FrameSpec::default(), 20_000);
        std::fs::write(&path, &stream).expect("write");
        let info = Arc::new(probe(&path).expect("probe"));
        let mut source = StationSource::open_at(&single(info.clone()), 0);
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
            most <= crate::library::file::READ_BLOCK + 8192,
            "read ahead {most} bytes of a {} byte file",
            stream.len()
        );
    }
}
