//! A live source's bytes turned into whole frames of the station's format, checked as a file's
//! are: garbage between frames and ID3 tags skipped, an MP3 Info frame left out, a stream of
//! another format refused, and a source that sends no frame within a bound given up on.

use bytes::{Bytes, BytesMut};

use crate::clock::ticks_per_sample;
use crate::format::deframer::{Deframer, Next};
use crate::format::{Codec, FirstFrame, Format};

/// Most bytes a source may send without a whole frame of audio before it is dropped (at its
/// start or between frames): a few seconds of any bit rate, far more than any garbage a real
/// encoder emits.
pub const MAX_BYTES_WITHOUT_FRAME: u64 = 64 * 1024;

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
    /// Its first frame cannot start a stream (by the codec's rule).
    #[error("the source's stream cannot be played: {0}")]
    Unplayable(&'static str),
    /// Too many bytes without a frame.
    #[error("{0} bytes from the source without a whole {1} frame")]
    NoFrames(u64, &'static str),
}

/// A live source's frames, one at a time, with their length in ticks.
#[derive(Debug)]
pub struct SourceFrames {
    deframer: Deframer,
    codec: Codec,
    /// The format every frame must have: the station's, or (when the station takes sources of
    /// another) the first frame's.
    expected: Option<Format>,
    /// A frame was seen (an MP3 Info frame comes first, if at all).
    started: bool,
    /// Where the last frame ended, in the source's bytes.
    last_frame_end: u64,
    /// Bytes received.
    received: u64,
}

impl SourceFrames {
    /// Frames of `codec` that must have format `expected`, or (`None`) all the format of the
    /// first.
    pub fn new(codec: Codec, expected: Option<Format>) -> Self {
        SourceFrames {
            deframer: Deframer::new(codec, 0),
            codec,
            expected,
            started: false,
            last_frame_end: 0,
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

    /// Bytes of garbage skipped so far.
    pub fn garbage(&self) -> u64 {
        self.deframer.damage().garbage_bytes
    }

    /// The next whole frame and its ticks, `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Result<Option<(Bytes, u64)>, SourceFormatError> {
        loop {
            let header = match self.deframer.peek() {
                Next::Frame(header) => header,
                Next::NeedMore | Next::End => {
                    let without = self.received - self.last_frame_end;
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
            if !std::mem::replace(&mut self.started, true) {
                match header.first_frame(&frame) {
                    FirstFrame::Audio => {}
                    FirstFrame::Describes => continue,
                    FirstFrame::Refused(why) => return Err(SourceFormatError::Unplayable(why)),
                }
            }
            let ticks = u64::from(header.samples()) * ticks_per_sample(header.sample_rate());
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
                assert_eq!(ticks, 1024 * ticks_per_sample(44_100));
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
