//! A live source's bytes turned into whole frames of the station's format, checked as a file's
//! are: garbage between frames and ID3 tags skipped, an MP3 Info frame left out, a stream of
//! another format refused, and a source that sends no frame within a bound given up on.

use bytes::{Bytes, BytesMut};

use crate::format::framing::{Framing, Next};
use crate::format::{id3v2_tags, Codec, FirstFrame, Format, TrackTags};

/// Most bytes a source may send without a whole frame of audio before it is dropped (at its
/// start or between frames): a few seconds of any bit rate, far more than any garbage a real
/// encoder emits. ID3 tags do not count (they are skipped by their size, as in files: a file
/// pushed with `-c copy` starts with its cover art), up to [`MAX_TAG_BYTES`] each.
pub const MAX_BYTES_WITHOUT_FRAME: u64 = 64 * 1024;

/// The largest ID3v2 tag a source may send: cover art of a few megabytes passes, a tag header
/// claiming hundreds of megabytes of nothing does not.
pub const MAX_TAG_BYTES: u64 = 16 * 1024 * 1024;

/// Why a source's stream was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceFormatError {
    /// Its frames have another format than the station's.
    #[error("the source sends {got}; the station plays {expected}")]
    OtherFormat {
        /// What the source sends.
        got: Format,
        /// What the station plays.
        expected: Format,
    },
    /// An ID3 tag larger than [`MAX_TAG_BYTES`].
    #[error("an ID3 tag of {0} bytes from the source (at most {max} are taken)", max = MAX_TAG_BYTES)]
    HugeTag(u64),
    /// Its first frame cannot start a stream (by the codec's rule).
    #[error("the source's stream cannot be played: {0}")]
    Unplayable(&'static str),
    /// Too many bytes without a frame.
    #[error("{0} bytes from the source without a whole {1} frame")]
    NoFrames(u64, &'static str),
    /// Its container holds what the station cannot play (Ogg Vorbis to an Opus station,
    /// multiplexed streams, a packet over 16 MiB).
    #[error("the source's stream cannot be played: {0}")]
    Refused(String),
}

/// A live source's frames, one at a time, with their length in ticks.
#[derive(Debug)]
pub struct SourceFrames {
    deframer: Box<dyn Framing>,
    codec: Codec,
    /// The format every frame must have: the station's, or (when the station takes sources of
    /// another) the first frame's.
    expected: Option<Format>,
    /// A frame was seen (an MP3 Info frame comes first, if at all).
    started: bool,
    /// Where the last frame ended, in the source's bytes.
    last_frame_end: u64,
    /// Bytes of ID3 tags skipped up to then.
    tag_bytes_then: u64,
    /// Bytes received.
    received: u64,
}

impl SourceFrames {
    /// Frames of `codec` that must have format `expected`, or (`None`) all the format of the
    /// first.
    pub fn new(codec: Codec, expected: Option<Format>) -> Self {
        let mut deframer = codec.framing(0);
        deframer.keep_tags();
        SourceFrames {
            deframer,
            codec,
            expected,
            started: false,
            last_frame_end: 0,
            tag_bytes_then: 0,
            received: 0,
        }
    }

    /// Adds bytes received from the source.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.received += bytes.len() as u64;
        self.deframer.input().extend_from_slice(bytes);
    }

    /// The buffer to read the source's next bytes into (call [`received`](Self::received)
    /// with how many were read).
    pub fn input(&mut self) -> &mut BytesMut {
        self.deframer.input()
    }

    /// Says `n` bytes were read into [`input`](Self::input).
    pub fn received(&mut self, n: usize) {
        self.received += n as u64;
    }

    /// Says the source sent its last byte: its last frame, confirmed by no header after it,
    /// comes out whole or not at all.
    pub fn finish(&mut self) {
        self.deframer.finish();
    }

    /// The format of the source's frames, once the first came.
    pub fn format(&self) -> Option<Format> {
        self.expected.filter(|_| self.started)
    }

    /// The artist and title of the last ID3 tag the source sent, once.
    pub fn take_tags(&mut self) -> Option<TrackTags> {
        let tag = self.deframer.take_tag()?;
        let tags = id3v2_tags(&tag);
        (tags.title.is_some() || tags.artist.is_some()).then_some(tags)
    }

    /// The stream's header packets, as read (Ogg Opus: `OpusHead`, `OpusTags`).
    pub fn headers(&self) -> &[Bytes] {
        self.deframer.headers()
    }

    /// Bytes of garbage skipped so far.
    pub fn garbage(&self) -> u64 {
        self.deframer.damage().garbage_bytes
    }

    /// The next whole frame and its ticks, `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Result<Option<(Bytes, u64)>, SourceFormatError> {
        loop {
            let next = self.deframer.peek();
            if let Some(reason) = self.deframer.refusal() {
                return Err(SourceFormatError::Refused(reason.to_string()));
            }
            let header = match next {
                Next::Frame(header) => header,
                Next::NeedMore | Next::End => {
                    let damage = self.deframer.damage();
                    if damage.largest_tag > MAX_TAG_BYTES {
                        return Err(SourceFormatError::HugeTag(damage.largest_tag));
                    }
                    // Tag bytes are skipped by their size, not counted as bytes without a frame.
                    let tags = damage.tag_bytes - self.tag_bytes_then;
                    let without = (self.received - self.last_frame_end).saturating_sub(tags);
                    if without > MAX_BYTES_WITHOUT_FRAME {
                        return Err(SourceFormatError::NoFrames(without, self.codec.name()));
                    }
                    return Ok(None);
                }
            };
            let format = header.format();
            let expected = *self.expected.get_or_insert(format);
            if format != expected {
                return Err(SourceFormatError::OtherFormat {
                    got: format,
                    expected,
                });
            }
            self.deframer.consume(&header);
            let frame = self.deframer.take();
            self.last_frame_end = self.deframer.position();
            self.tag_bytes_then = self.deframer.damage().tag_bytes;
            if !std::mem::replace(&mut self.started, true) {
                match header.first_frame(&frame) {
                    FirstFrame::Audio => {}
                    FirstFrame::Describes => continue,
                    FirstFrame::Refused(why) => return Err(SourceFormatError::Unplayable(why)),
                }
            }
            let ticks = header.ticks();
            return Ok(Some((frame, ticks)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{adts_frame, FrameSpec};

    fn format_of(frame: &[u8]) -> Format {
        Codec::Adts.parse(frame).expect("frame").format()
    }

    #[test]
    fn frames_come_out_whole_whatever_the_reads_and_garbage_between() {
        let frame = adts_frame(&FrameSpec::default());
        let mut stream = b"junk".to_vec();
        stream.extend(frame.repeat(3));
        stream.extend(b"more junk");
        stream.extend(frame.repeat(2));
        let mut source = SourceFrames::new(Codec::Adts, Some(format_of(&frame)));
        let mut out = Vec::new();
        for byte in stream.chunks(7) {
            source.extend(byte);
            while let Some((data, ticks)) = source.next_frame().expect("frames") {
                assert_eq!(ticks, 1024 * crate::clock::ticks_per_sample(44_100));
                out.push(data);
            }
        }
        // A frame is confirmed by the next one's header: the one before the garbage is not
        // (it goes with the garbage), nor is the last one yet.
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|f| f[..] == frame[..]));
        assert!(source.garbage() >= 13);
    }

    #[test]
    fn another_format_and_endless_garbage_are_refused() {
        let frame = adts_frame(&FrameSpec::default());
        let other = adts_frame(&FrameSpec {
            sample_rate_index: 3,
            ..FrameSpec::default()
        });
        let mut source = SourceFrames::new(Codec::Adts, Some(format_of(&frame)));
        source.extend(&other.repeat(4));
        match source.next_frame() {
            Err(SourceFormatError::OtherFormat { got, expected }) => {
                assert_eq!(got.sample_rate, 48_000);
                assert_eq!(expected.sample_rate, 44_100);
            }
            other => panic!("expected another format, got {other:?}"),
        }
        let mut source = SourceFrames::new(Codec::Adts, Some(format_of(&frame)));
        let garbage = vec![0x55u8; 4096];
        let mut refused = false;
        for _ in 0..20 {
            source.extend(&garbage);
            if let Err(SourceFormatError::NoFrames(..)) = source.next_frame() {
                refused = true;
                break;
            }
        }
        assert!(refused, "80 KiB of garbage is refused");
    }
}

#[cfg(test)]
mod tag_tests {
    use super::*;
    use crate::testing::{adts_frame, id3v2_tag, FrameSpec};

    /// A v2.`version` tag with a title, an artist and `art` bytes of picture; its header says
    /// its size, or (`sized` false) none.
    fn tag(version: u8, art: usize, sized: bool) -> Vec<u8> {
        let picture = vec![0x5A; art];
        id3v2_tag(
            version,
            &[
                (b"TIT2", b"\x03Cover Tune"),
                (b"TPE1", b"\x03The Art"),
                (b"APIC", &picture),
            ],
            sized,
        )
    }

    /// The frames and the tags `bytes` give, fed in reads of `block`.
    fn run(bytes: &[u8], block: usize) -> Result<(usize, Option<TrackTags>), SourceFormatError> {
        let mut source = SourceFrames::new(Codec::Adts, None);
        let (mut frames, mut tags) = (0, None);
        for piece in bytes.chunks(block) {
            source.extend(piece);
            while source.next_frame()?.is_some() {
                frames += 1;
                tags = tags.or_else(|| source.take_tags());
            }
        }
        source.finish();
        while source.next_frame()?.is_some() {
            frames += 1;
        }
        Ok((frames, tags.or_else(|| source.take_tags())))
    }

    #[test]
    fn a_leading_tag_larger_than_the_frameless_bound_is_skipped_and_names_the_show() {
        let audio = adts_frame(&FrameSpec::default()).repeat(20);
        for (version, sized) in [(3, true), (4, true), (3, false), (4, false)] {
            let mut stream = tag(version, 100_000, sized);
            assert!(stream.len() as u64 > MAX_BYTES_WITHOUT_FRAME);
            stream.extend_from_slice(&audio);
            for block in [100, 4096, 65_536] {
                let (frames, tags) = run(&stream, block).expect("accepted");
                assert_eq!(frames, 20, "v2.{version} sized {sized} block {block}");
                let tags = tags.expect("tags");
                assert_eq!(tags.title.as_deref(), Some("Cover Tune"));
                assert_eq!(tags.artist.as_deref(), Some("The Art"));
            }
        }
    }

    #[test]
    fn a_tag_claiming_more_than_the_bound_and_garbage_after_a_tag_are_refused() {
        // A header claiming ~256 MiB.
        let huge = [b'I', b'D', b'3', 4, 0, 0, 0x7F, 0x7F, 0x7F, 0x7F];
        assert!(matches!(run(&huge, 10), Err(SourceFormatError::HugeTag(_))));
        // Garbage after a tag still counts.
        let mut stream = tag(3, 1000, true);
        stream.extend(vec![0x11; 70_000]);
        assert!(matches!(
            run(&stream, 4096),
            Err(SourceFormatError::NoFrames(..))
        ));
    }
}
