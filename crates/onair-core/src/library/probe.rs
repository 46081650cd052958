//! Reads a station file (a track) once, end to end, to validate it and describe it.
//!
//! The probe streams the file through the same [`Deframer`] the station plays with, in blocks,
//! so it costs constant memory whatever the file's length. The codec is the one the file's name
//! says (`.aac` ADTS, `.mp3` MPEG audio). It rejects a file that holds no stream of that codec
//! with the reason and the byte offset, and it reports what a player would trip on: garbage
//! between frames and a last frame cut short. An MP3's Xing/Info/VBRI header frame is left out
//! of the audio range: it describes the file and is not audio for a listener.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::file::{read_at, RangeReader, TrackFile};
use crate::broadcast::TrackMeta;
use crate::clock::samples_to_duration;
use crate::error::SourceError;
use crate::format::frame::{Codec, FirstFrame, FrameHeader};
use crate::format::framing::{Damage, Next};
use crate::format::tags::{self, audio_range, AudioRange};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

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
    /// The first frame's header: codec, sample rate, channels and profile or layer.
    pub first: FrameHeader,
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
    /// What the track is called: artist and title from the file's ID3 tags, and the file's
    /// name without its extension. Shared with every chunk of the track that plays.
    pub meta: Arc<TrackMeta>,
    /// Length of one pass through the file, in timeline ticks (exact).
    pub ticks: u64,
    /// The file probed: opened again when its audio is read, and only if it is still this very
    /// file (a file renamed over the path is a new version to probe, never a change under the
    /// listeners). Nothing is held open while the track waits its turn: a library of 20,000
    /// tracks costs no descriptors.
    pub file: TrackFile,
    /// The stream's header packets (Ogg Opus: `OpusHead`, `OpusTags`), which a reader opened
    /// past them is given and every listener gets first; none for ADTS and MPEG audio.
    pub headers: Vec<bytes::Bytes>,
    /// Samples at the end of the last frame that are not audio (Ogg Opus: the encoder's padding,
    /// which the last page's granule position leaves out); 0 where the format does not say.
    pub padding: u32,
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
    /// The codec.
    pub fn codec(&self) -> Codec {
        self.first.codec()
    }

    /// What listeners are told is playing: `Artist - Title`, or the title alone, or the file
    /// name without its extension when the file has no tags.
    pub fn now_playing(&self) -> String {
        self.meta.display()
    }

    /// Whether `other` holds the same audio: the same frames, length and tags (a track renamed
    /// or copied, whatever its path).
    pub fn same_audio(&self, other: &StationInfo) -> bool {
        self.first == other.first
            && self.frames == other.frames
            && self.audio_bytes == other.audio_bytes
            && self.ticks == other.ticks
            && self.meta.tags == other.meta.tags
    }

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

/// Validates and describes the station file at `path`, as the codec its name says (ADTS when
/// the name says neither).
pub fn probe(path: &Path) -> Result<StationInfo, SourceError> {
    probe_until(path, &CancellationToken::new())
}

/// Like [`probe`], giving up between two blocks once `cancel` is cancelled (a long file probed
/// while the server shuts down, or replaced while it is probed).
pub fn probe_until(path: &Path, cancel: &CancellationToken) -> Result<StationInfo, SourceError> {
    let codec = Codec::of_path(path).unwrap_or(Codec::Adts);
    // Checked before opening: opening a FIFO would wait for a writer for ever.
    let meta = std::fs::metadata(path).map_err(|e| SourceError::io(path, 0, e))?;
    if !meta.is_file() {
        return Err(SourceError::not_audio(path, codec, 0, "not a regular file"));
    }
    let mut file = File::open(path).map_err(|e| SourceError::io(path, 0, e))?;
    let len = meta.len();
    if len == 0 {
        return Err(SourceError::not_audio(path, codec, 0, "the file is empty"));
    }
    let mut range = audio_range(&mut file, len).map_err(|e| SourceError::io(path, 0, e))?;
    let tags = tags::track_tags(&mut file, len).map_err(|e| SourceError::io(path, 0, e))?;
    let track_file = TrackFile::of(path, &file).map_err(|e| SourceError::io(path, 0, e))?;
    let mut reader = RangeReader::open(file, path, range);
    let mut deframer = codec.framing(range.start);
    let mut first: Option<FrameHeader> = None;
    let (mut frames, mut audio_bytes, mut samples, mut mixed) = (0u64, 0u64, 0u64, false);
    let (mut ticks, mut index, mut next_point) = (0u64, SeekIndex::default(), 0u64);
    // Duration, exact across a change of sample rate: finished segments plus the current one.
    let (mut done, mut rate, mut rate_samples) = (Duration::ZERO, 0u32, 0u64);
    loop {
        match deframer.peek() {
            Next::Frame(header) => {
                if let Some(reason) = deframer.refusal() {
                    return Err(SourceError::not_audio(
                        path,
                        codec,
                        deframer.position(),
                        reason,
                    ));
                }
                let position = deframer.position();
                let seek_point = deframer.seek_point();
                deframer.consume(&header);
                // Frames are counted, not kept.
                let frame = deframer.take();
                if first.is_none() {
                    match header.first_frame(&frame) {
                        FirstFrame::Audio => {}
                        // Not audio: the file's audio starts after it.
                        FirstFrame::Describes => {
                            range.start = position + frame.len() as u64;
                            continue;
                        }
                        FirstFrame::Refused(reason) => {
                            return Err(SourceError::Unplayable {
                                path: path.to_path_buf(),
                                offset: position,
                                reason: reason.to_string(),
                            })
                        }
                    }
                }
                let first = *first.get_or_insert(header);
                mixed |= !first.same_stream(&header);
                // A point every INDEX_EVERY frames, where a reader can start (an Ogg page that
                // begins with this packet).
                if frames >= next_point {
                    if let Some(byte) = seek_point {
                        index.points.push(SeekPoint { tick: ticks, byte });
                        next_point = frames + INDEX_EVERY;
                    }
                }
                ticks += header.ticks();
                frames += 1;
                samples += u64::from(header.samples());
                audio_bytes += header.coded_length() as u64;
                if header.sample_rate() != rate {
                    done += samples_to_duration(rate_samples, rate);
                    (rate, rate_samples) = (header.sample_rate(), 0);
                }
                rate_samples += u64::from(header.samples());
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
                    return Err(SourceError::not_audio(
                        path,
                        codec,
                        range.start,
                        format!(
                            "no {} frame in the first {} MiB{}",
                            frame_word(codec),
                            MAX_LEAD_IN / (1024 * 1024),
                            sniff(path, codec, range.start)
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
    if let Some(reason) = deframer.refusal() {
        return Err(SourceError::not_audio(path, codec, range.start, reason));
    }
    let headers = deframer.headers().to_vec();
    let padding = deframer.padding();
    let tags = deframer.tags().unwrap_or(tags);
    let Some(first) = first else {
        return Err(SourceError::not_audio(
            path,
            codec,
            range.start,
            format!(
                "no {} frame found{}",
                frame_word(codec),
                sniff(path, codec, range.start)
            ),
        ));
    };
    if damage.garbage_bytes > audio_bytes {
        return Err(SourceError::not_audio(
            path,
            codec,
            damage.first_garbage_at.unwrap_or(range.start),
            format!(
                "mostly not {}: {} bytes of other data beside {} bytes in {} frames{}",
                frame_word(codec),
                damage.garbage_bytes,
                audio_bytes,
                frames,
                sniff(path, codec, range.start)
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
        meta: Arc::new(TrackMeta {
            tags,
            name: file_stem(path),
        }),
        ticks,
        file: track_file,
        headers,
        padding,
        index: Arc::new({
            index.points.shrink_to_fit();
            index
        }),
    })
}

/// A file's name without its extension.
pub fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What frames of `codec` are called in messages.
fn frame_word(codec: Codec) -> &'static str {
    codec.spec().frame_word
}

/// A hint at what a file that is not `codec` is, from its first bytes and those where its audio
/// should start (empty when nothing is recognised).
fn sniff(path: &Path, codec: Codec, audio_start: u64) -> String {
    let mut head = [0u8; 12];
    let mut at_audio = [0u8; 4096];
    let (n, m) = File::open(path)
        .map(|mut f| {
            let n = f.read(&mut head).unwrap_or(0);
            let m = read_at(&f, &mut at_audio, audio_start).unwrap_or(0);
            (n, m)
        })
        .unwrap_or((0, 0));
    let (head, at_audio) = (&head[..n], &at_audio[..m]);
    // Two frames of the other codec in a row where the audio starts (one header alone is
    // found by chance in any noise).
    let first_sync = |other: Codec| {
        (0..at_audio.len().min(1024)).find(|&at| {
            let Ok(header) = other.parse(&at_audio[at..]) else {
                return false;
            };
            at_audio
                .get(at + header.frame_length()..)
                .and_then(|next| other.parse(next).ok())
                .is_some_and(|next| header.same_stream(&next))
        })
    };
    let free_format = at_audio.windows(4).take(64).any(|w| {
        matches!(
            crate::format::mpeg::MpegHeader::parse(w),
            Err(crate::format::mpeg::MpegHeaderError::FreeFormat)
        )
    });
    let other = Codec::all()
        .filter(|&other| other != codec)
        .find(|&other| first_sync(other).is_some());
    let named;
    let what = if head.len() >= 8 && &head[4..8] == b"ftyp" {
        named = format!("an MP4/M4A container; {}", codec.spec().from_mp4);
        named.as_str()
    } else if codec == Codec::Mpeg && free_format {
        return "; it is free-format MPEG audio (bitrate index 0), whose headers give no frame length; re-encode it: `ffmpeg -i in.mp3 -c:a libmp3lame -b:a 192k out.mp3`".to_string();
    } else if let Some(other) = other {
        let spec = other.spec();
        named = format!("{}; name it `.{}`", spec.described, spec.extensions[0]);
        named.as_str()
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
    fn mislabelled_and_free_format_files_are_refused_with_the_reason() {
        let aac = adts_stream(&FrameSpec::default(), 50);
        let mp3: Vec<u8> = (0..50)
            .flat_map(|i| crate::testing::mp3_frame(128, i % 2 == 0, 0x11))
            .collect();
        let err = probe(&write("aac-named.mp3", &aac)).expect_err("AAC named .mp3");
        assert!(
            err.to_string().contains("ADTS AAC; name it `.aac`"),
            "{err}"
        );
        let err = probe(&write("mp3-named.aac", &mp3)).expect_err("MP3 named .aac");
        assert!(
            err.to_string().contains("MPEG audio (MP3); name it `.mp3`"),
            "{err}"
        );
        // Free format: bitrate index 0.
        let free: Vec<u8> = (0..50)
            .flat_map(|_| {
                let mut f = vec![0x22u8; 400];
                f[..4].copy_from_slice(&[0xFF, 0xFB, 0x00, 0x44]);
                f
            })
            .collect();
        let err = probe(&write("free.mp3", &free)).expect_err("free format");
        assert!(err.to_string().contains("free-format"), "{err}");
        // Well named, both play; the MP3's Info frame is left out of the audio.
        assert_eq!(probe(&write("ok.mp3", &mp3)).expect("mp3").frames, 50);
        let mut info_frame = crate::testing::mp3_frame(128, false, 0);
        info_frame[36..40].copy_from_slice(b"Info");
        let with_info = [info_frame.clone(), mp3].concat();
        let info = probe(&write("lame.mp3", &with_info)).expect("mp3");
        assert_eq!(
            (info.frames, info.range.start),
            (50, info_frame.len() as u64)
        );
        assert_eq!(info.first.format().to_string(), "MP3 44100 Hz stereo");
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
                Err(SourceError::NotAudio {
                    offset: at,
                    path: p,
                    reason,
                    ..
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
