//! Reads a station file once, end to end, to validate it and describe it.
//!
//! The probe streams the file through the same [`Deframer`] the station plays with, in blocks,
//! so it costs constant memory whatever the file's length. It rejects a file that holds no ADTS
//! stream with the reason and the byte offset, and it reports what a player would trip on:
//! garbage between frames and a last frame cut short.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::adts::AdtsHeader;
use crate::clock::samples_to_duration;
use crate::deframer::{Damage, Deframer, Next};
use crate::error::SourceError;
use crate::tags::{self, audio_range, AudioRange};
use crate::timeline::ticks_per_sample;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// How many bytes a station reads from its file at a time.
pub const READ_BLOCK: usize = 64 * 1024;

/// How far into the audio range (after the leading tags) the first frame must be confirmed.
/// An ADTS file starts with a frame, or with a little junk; a multi-gigabyte file of something
/// else is refused after this much, not read to its end.
pub const MAX_LEAD_IN: u64 = 1024 * 1024;

/// What a station file holds.
#[derive(Debug, Clone)]
pub struct StationInfo {
    /// The file.
    pub path: PathBuf,
    /// The byte range between the tags, which is what plays.
    pub range: AudioRange,
    /// The first frame's header: sample rate, channels and profile of the stream.
    pub first: AdtsHeader,
    /// Whole frames in the file.
    pub frames: u64,
    /// Samples (per channel) in the file.
    pub samples: u64,
    /// Audio duration of one pass through the file.
    pub duration: Duration,
    /// Bytes of whole frames.
    pub audio_bytes: u64,
    /// Whether a later frame changes sample rate, channels or profile.
    pub mixed_format: bool,
    /// Garbage and truncation found on the way.
    pub damage: Damage,
    /// The title from the file's ID3 tags, if any.
    pub title: Option<String>,
    /// Length of one pass through the file, in timeline ticks (exact).
    pub ticks: u64,
    /// The file, open since it was probed: everything that plays it reads this very file, so a
    /// file renamed over the path is a new version to probe, never a change under the listeners.
    pub file: Arc<File>,
    /// Where every [`INDEX_EVERY`]th frame starts: the station clock seeks with it instead of
    /// reading the file from its start.
    pub index: Arc<SeekIndex>,
}

/// Frames between two points of a [`SeekIndex`]: 128 frames are about 3 s of audio, and a
/// three-hour file's index holds about 3,600 points (57 KiB).
pub const INDEX_EVERY: u64 = 128;

/// A point of a [`SeekIndex`]: a frame that starts `tick` ticks into the file, at byte `byte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekPoint {
    /// Ticks from the file's first frame.
    pub tick: u64,
    /// Byte offset in the file.
    pub byte: u64,
}

/// Where some frames of a file start, so that a position can be reached by reading a few frames
/// instead of the whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeekIndex {
    points: Vec<SeekPoint>,
}

impl SeekIndex {
    /// The last indexed frame that starts at or before `tick` (the first frame when none).
    pub fn before(&self, tick: u64) -> Option<SeekPoint> {
        let i = self.points.partition_point(|p| p.tick <= tick);
        self.points.get(i.saturating_sub(1)).copied()
    }

    /// Bytes the index takes in memory.
    pub fn memory(&self) -> usize {
        std::mem::size_of::<Self>() + self.points.capacity() * std::mem::size_of::<SeekPoint>()
    }
}

impl StationInfo {
    /// Sample rate in Hz (of the first frame).
    pub fn sample_rate(&self) -> u32 {
        self.first.sample_rate()
    }

    /// Channel count (of the first frame; 0 when a program config element defines it).
    pub fn channels(&self) -> u8 {
        self.first.channels()
    }

    /// Average bitrate in kb/s, rounded (119.9 is 120).
    pub fn bitrate_kbps(&self) -> u64 {
        (self.bitrate() + 500) / 1000
    }

    /// Average bitrate in bits per second.
    pub fn bitrate(&self) -> u64 {
        let nanos = self.duration.as_nanos().max(1);
        (u128::from(self.audio_bytes) * 8 * 1_000_000_000 / nanos) as u64
    }
}

/// Validates and describes the station file at `path`.
pub fn probe(path: &Path) -> Result<StationInfo, SourceError> {
    probe_until(path, &CancellationToken::new())
}

/// Like [`probe`], giving up between two blocks once `cancel` is cancelled (a long file probed
/// while the server shuts down, or replaced while it is probed).
pub fn probe_until(path: &Path, cancel: &CancellationToken) -> Result<StationInfo, SourceError> {
    // Checked before opening: opening a FIFO would wait for a writer for ever.
    let meta = std::fs::metadata(path).map_err(|e| SourceError::io(path, 0, e))?;
    if !meta.is_file() {
        return Err(SourceError::not_adts(path, 0, "not a regular file"));
    }
    let mut file = File::open(path).map_err(|e| SourceError::io(path, 0, e))?;
    let len = meta.len();
    if len == 0 {
        return Err(SourceError::not_adts(path, 0, "the file is empty"));
    }
    let range = audio_range(&mut file, len).map_err(|e| SourceError::io(path, 0, e))?;
    let title = tags::title(&mut file, len).map_err(|e| SourceError::io(path, 0, e))?;
    let file = Arc::new(file);
    let mut reader = RangeReader::new(Arc::clone(&file), path, range);
    let mut deframer = Deframer::new(range.start);
    let mut first: Option<AdtsHeader> = None;
    let (mut frames, mut audio_bytes, mut samples, mut mixed) = (0u64, 0u64, 0u64, false);
    let (mut ticks, mut index) = (0u64, SeekIndex::default());
    // Duration, exact across a change of sample rate: finished segments plus the current one.
    let (mut done, mut rate, mut rate_samples) = (Duration::ZERO, 0u32, 0u64);
    loop {
        match deframer.peek() {
            Next::Frame(header) => {
                if first.is_none() && header.channel_config == 0 {
                    return Err(SourceError::Unplayable {
                        path: path.to_path_buf(),
                        offset: deframer.position(),
                        reason: "channel configuration 0: the channel layout is in a program config element that \
                                 decoders read from the first frame only, so a listener who tunes in mid-stream \
                                 cannot decode it; re-encode to a standard layout: \
                                 `ffmpeg -i in.aac -c:a aac -ac 2 -b:a 128k -f adts out.aac`"
                            .to_string(),
                    });
                }
                let first = *first.get_or_insert(header);
                mixed |= !first.same_stream(&header);
                if frames % INDEX_EVERY == 0 {
                    index.points.push(SeekPoint {
                        tick: ticks,
                        byte: deframer.position(),
                    });
                }
                ticks += u64::from(header.samples()) * ticks_per_sample(header.sample_rate());
                frames += 1;
                samples += u64::from(header.samples());
                audio_bytes += u64::from(header.frame_length);
                if header.sample_rate() != rate {
                    done += samples_to_duration(rate_samples, rate);
                    (rate, rate_samples) = (header.sample_rate(), 0);
                }
                rate_samples += u64::from(header.samples());
                deframer.consume(&header);
                // Frames are counted, not kept.
                drop(deframer.take());
            }
            Next::NeedMore => {
                if cancel.is_cancelled() {
                    return Err(SourceError::io(
                        path,
                        deframer.position(),
                        std::io::Error::new(std::io::ErrorKind::Interrupted, "probe cancelled"),
                    ));
                }
                if first.is_none() && deframer.position() - range.start > MAX_LEAD_IN {
                    return Err(SourceError::not_adts(
                        path,
                        range.start,
                        format!(
                            "no ADTS frame in the first {} MiB{}",
                            MAX_LEAD_IN / (1024 * 1024),
                            sniff(path)
                        ),
                    ));
                }
                if !reader.fill(deframer.input())? {
                    deframer.finish();
                }
            }
            Next::End => break,
        }
    }
    let damage = deframer.damage();
    let Some(first) = first else {
        return Err(SourceError::not_adts(
            path,
            range.start,
            format!("no ADTS frame found{}", sniff(path)),
        ));
    };
    if damage.garbage_bytes > audio_bytes {
        return Err(SourceError::not_adts(
            path,
            damage.first_garbage_at.unwrap_or(range.start),
            format!(
                "mostly not ADTS: {} bytes of non-ADTS data beside {} bytes in {} frames{}",
                damage.garbage_bytes,
                audio_bytes,
                frames,
                sniff(path)
            ),
        ));
    }
    Ok(StationInfo {
        path: path.to_path_buf(),
        range,
        first,
        frames,
        samples,
        duration: done + samples_to_duration(rate_samples, rate),
        audio_bytes,
        mixed_format: mixed,
        damage,
        title,
        ticks,
        file,
        index: Arc::new({
            index.points.shrink_to_fit();
            index
        }),
    })
}

/// Reads a file's audio range in blocks, with positional reads on a file opened once and shared
/// (the probe's, kept in [`StationInfo`]): every reader has its own position, and a file renamed
/// over the path later never changes what an open reader reads.
pub(crate) struct RangeReader {
    file: Arc<File>,
    path: PathBuf,
    pos: u64,
    start: u64,
    end: u64,
}

impl RangeReader {
    pub(crate) fn new(file: Arc<File>, path: &Path, range: AudioRange) -> Self {
        RangeReader {
            file,
            path: path.to_path_buf(),
            pos: range.start,
            start: range.start,
            end: range.end,
        }
    }

    /// A reader of `range` positioned at byte `at` (a frame inside the range).
    pub(crate) fn starting_at(file: Arc<File>, path: &Path, range: AudioRange, at: u64) -> Self {
        let mut reader = RangeReader::new(file, path, range);
        reader.pos = at.clamp(range.start, range.end);
        reader
    }

    /// Goes back to the start of the range (the loop point).
    pub(crate) fn rewind(&mut self) {
        self.pos = self.start;
    }

    /// Appends up to one block to `buf`; `false` at the end of the range (or of a file that
    /// shrank).
    pub(crate) fn fill(&mut self, buf: &mut bytes::BytesMut) -> Result<bool, SourceError> {
        let want = (self.end.saturating_sub(self.pos)).min(READ_BLOCK as u64) as usize;
        if want == 0 {
            return Ok(false);
        }
        let start = buf.len();
        buf.resize(start + want, 0);
        let n = loop {
            match read_at(&self.file, &mut buf[start..], self.pos) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    buf.truncate(start);
                    return Err(SourceError::io(&self.path, self.pos, e));
                }
            }
        };
        buf.truncate(start + n);
        self.pos += n as u64;
        Ok(n > 0)
    }
}

/// Reads at `offset` without moving the file's shared position.
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

/// Reads at `offset` (Windows moves the shared position, which no reader here relies on).
#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// A hint at what a non-ADTS file is, from its first bytes (empty when nothing is recognised).
fn sniff(path: &Path) -> String {
    let mut head = [0u8; 12];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..n];
    let what = if head.len() >= 8 && &head[4..8] == b"ftyp" {
        "an MP4/M4A container; extract the AAC with `ffmpeg -i in.m4a -c:a copy -f adts out.aac`"
    } else if head.starts_with(b"ID3")
        || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 && head[1] & 0x06 != 0)
    {
        "MPEG audio (MP3); convert with `ffmpeg -i in.mp3 -c:a aac -f adts out.aac`"
    } else if head.starts_with(b"OggS") {
        "an Ogg file"
    } else if head.starts_with(b"RIFF") {
        "a RIFF/WAV file"
    } else if head.starts_with(b"fLaC") {
        "a FLAC file"
    } else {
        return String::new();
    };
    format!("; the file looks like {what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{adts_stream, FrameSpec};

    fn write(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("onair-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write fixture");
        path
    }

    #[test]
    fn describes_a_stream() {
        let spec = FrameSpec {
            sample_rate_index: 3, // 48 kHz
            channel_config: 1,
            ..FrameSpec::default()
        };
        let path = write("ok.aac", &adts_stream(&spec, 375));
        let info = probe(&path).expect("valid");
        assert_eq!(info.frames, 375);
        assert_eq!(info.sample_rate(), 48_000);
        assert_eq!(info.channels(), 1);
        assert_eq!(info.duration, Duration::from_secs(8));
        assert_eq!(info.bitrate(), 375 * 207 * 8 / 8);
    }

    #[test]
    fn a_huge_file_without_adts_is_refused_after_the_lead_in() {
        // A 4 GiB sparse file: zeros, read no further than the lead-in.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("huge.aac");
        let file = File::create(&path).expect("create");
        file.set_len(4 << 30).expect("sparse");
        let started = std::time::Instant::now();
        let err = probe(&path).expect_err("no ADTS");
        assert!(
            err.to_string().contains("no ADTS frame in the first 1 MiB"),
            "{err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_seek_index_points_at_frames() {
        let path = write("index.aac", &adts_stream(&FrameSpec::default(), 1000));
        let info = probe(&path).expect("valid");
        assert_eq!(info.ticks, 1000 * 1024 * 640);
        let frame = 1024 * 640;
        assert_eq!(info.index.before(0), Some(SeekPoint { tick: 0, byte: 0 }));
        let p = info.index.before(300 * frame + 5).expect("a point");
        assert_eq!(
            p,
            SeekPoint {
                tick: 256 * frame,
                byte: 256 * 207
            }
        );
        // A three-hour file at 44.1 kHz: 465,000 frames, 3,633 points.
        let points = 3 * 3600 * 44_100 / 1024 / INDEX_EVERY + 1;
        assert!(points as usize * std::mem::size_of::<SeekPoint>() < 64 * 1024);
    }

    #[test]
    fn channel_configuration_0_is_refused_with_the_fix() {
        let spec = FrameSpec {
            channel_config: 0,
            ..FrameSpec::default()
        };
        let mut bytes = b"ID3\x04\0\0\0\0\0\x05hello".to_vec();
        bytes.extend(adts_stream(&spec, 50));
        let path = write("pce.aac", &bytes);
        match probe(&path) {
            Err(SourceError::Unplayable { offset, reason, .. }) => {
                assert_eq!(offset, 15);
                assert!(reason.contains("channel configuration 0") && reason.contains("-ac 2"));
            }
            other => panic!("expected Unplayable, got {other:?}"),
        }
    }

    #[test]
    fn a_cancelled_probe_stops() {
        let path = write("cancel.aac", &adts_stream(&FrameSpec::default(), 2000));
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert!(matches!(
            probe_until(&path, &cancel),
            Err(SourceError::Io { .. })
        ));
    }

    #[test]
    fn rejects_what_is_not_adts_with_offset() {
        for (name, bytes, offset) in [
            ("empty.aac", Vec::new(), 0u64),
            (
                "m4a.aac",
                b"\0\0\0\x20ftypM4A \0\0\0\0isomM4A mp42".repeat(30),
                0,
            ),
            (
                "random.aac",
                (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect(),
                0,
            ),
            ("mp3.aac", [0xFFu8, 0xFB, 0x90, 0x64].repeat(400), 0),
        ] {
            let path = write(name, &bytes);
            match probe(&path) {
                Err(SourceError::NotAdts {
                    offset: at,
                    path: p,
                    reason,
                }) => {
                    assert_eq!(at, offset, "{name}: {reason}");
                    assert_eq!(p, path);
                }
                other => panic!("{name}: expected NotAdts, got {other:?}"),
            }
        }
        let err = probe(&write("m4a2.aac", b"\0\0\0\x20ftypM4A ")).expect_err("mp4");
        assert!(err.to_string().contains("MP4/M4A"), "{err}");
    }
}
