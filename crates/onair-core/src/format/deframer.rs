//! Turns blocks of file bytes into confirmed frames (ADTS or MPEG audio), without copying them.
//!
//! The deframer owns one growing read-ahead buffer. Bytes are read into it a block at a time, the
//! scanner ([`crate::format::frame::scan`]) confirms frames in place, and [`Deframer::take`] splits the confirmed frames off as
//! one [`Bytes`] that shares the buffer's allocation: the audio is never copied on its way from
//! the file to the sockets. Garbage between frames is dropped and counted.

use bytes::{Bytes, BytesMut};

use crate::format::frame::{scan, Codec, FrameHeader, Scan};

/// What the deframer has at its scan position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// A confirmed frame starts here; [`Deframer::consume`] it to move on.
    Frame(FrameHeader),
    /// The buffer ends before the next frame is confirmed: read more, or call
    /// [`Deframer::finish`].
    NeedMore,
    /// The stream is over: every frame has been seen.
    End,
}

/// Bytes the deframer passed over, for warnings and `onair check`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Damage {
    /// Bytes that are not frames, dropped between frames.
    pub garbage_bytes: u64,
    /// File offset of the first dropped byte.
    pub first_garbage_at: Option<u64>,
    /// File offset of a last frame cut short by the end of the file.
    pub truncated_at: Option<u64>,
    /// ID3v2 tags between frames (skipped: not audio, not garbage).
    pub tags: u64,
    /// Their bytes.
    pub tag_bytes: u64,
    /// The largest tag's size.
    pub largest_tag: u64,
}

/// What dropped bytes were.
#[derive(Debug, Clone, Copy)]
enum Dropped {
    Garbage,
    Truncated,
    Tag,
}

/// Frames out of a byte stream that arrives in blocks.
#[derive(Debug)]
pub struct Deframer {
    /// The frames' format.
    codec: Codec,
    /// Unconsumed bytes: confirmed frames `[..scanned]`, then bytes not yet scanned.
    buf: BytesMut,
    /// Bytes of confirmed frames at the start of `buf`.
    scanned: usize,
    /// Frames split off the buffer by a garbage skip, waiting for [`Deframer::take`].
    pieces: Vec<Bytes>,
    /// File offset of `buf[0]`.
    offset: u64,
    /// No bytes follow `buf`.
    at_end: bool,
    /// Bytes of a tag still to skip as they arrive.
    tag_left: u64,
    /// Inside a tag whose header gives no size (its ID3v2 version): what a muxer writing to a
    /// stream it cannot seek back in sends (ffmpeg to `icecast://`). Its frames are skipped one
    /// by one, by their own sizes, until something else follows.
    open_tag: Option<u8>,
    /// Tags are kept (their first [`TAG_KEPT`] bytes) for their titles: a live stream's.
    keep_tags: bool,
    /// The start of the tag being skipped, while kept.
    tag: BytesMut,
    /// The start of the last tag skipped whole, until taken.
    last_tag: Option<Bytes>,
    damage: Damage,
}

/// Bytes of a tag kept for its titles: text frames come first in what encoders write, cover art
/// after them.
pub const TAG_KEPT: usize = 64 * 1024;

impl Deframer {
    /// A deframer of `codec` frames whose first byte is at file offset `offset`.
    pub fn new(codec: Codec, offset: u64) -> Self {
        Deframer {
            codec,
            buf: BytesMut::new(),
            scanned: 0,
            pieces: Vec::new(),
            offset,
            at_end: false,
            tag_left: 0,
            open_tag: None,
            keep_tags: false,
            tag: BytesMut::new(),
            last_tag: None,
            damage: Damage::default(),
        }
    }

    /// Keeps the start of each tag skipped, for [`take_tag`](Self::take_tag).
    pub fn keep_tags(&mut self) {
        self.keep_tags = true;
    }

    /// The start (up to [`TAG_KEPT`] bytes) of the last tag skipped whole, once.
    pub fn take_tag(&mut self) -> Option<Bytes> {
        self.last_tag.take()
    }

    /// The buffer to append newly read bytes to.
    pub fn input(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Says that no more bytes will come.
    pub fn finish(&mut self) {
        self.at_end = true;
    }

    /// File offset of the scan position (the next frame, or the next unscanned byte).
    pub fn position(&self) -> u64 {
        self.offset + self.scanned as u64
    }

    /// What the deframer passed over so far.
    pub fn damage(&self) -> Damage {
        self.damage
    }

    /// Bytes held that are not yet confirmed frames (how much read-ahead is buffered).
    pub fn unscanned(&self) -> usize {
        self.buf.len() - self.scanned
    }

    /// Looks at the next frame, dropping any garbage before it. Calling it again without
    /// [`consume`](Self::consume) gives the same frame.
    pub fn peek(&mut self) -> Next {
        loop {
            if self.tag_left > 0 {
                let n = usize::try_from(self.tag_left)
                    .unwrap_or(usize::MAX)
                    .min(self.unscanned());
                if n == 0 {
                    return if self.at_end {
                        Next::End
                    } else {
                        Next::NeedMore
                    };
                }
                self.tag_left -= n as u64;
                if self.keep_tags {
                    let room = TAG_KEPT.saturating_sub(self.tag.len()).min(n);
                    let start = self.scanned;
                    self.tag.extend_from_slice(&self.buf[start..start + room]);
                    if self.tag_left == 0 && self.open_tag.is_none() {
                        self.last_tag = Some(std::mem::take(&mut self.tag).freeze());
                    }
                }
                self.drop_unscanned(n, Dropped::Tag);
                continue;
            }
            if let Some(version) = self.open_tag {
                match id3_frame_len(&self.buf[self.scanned..], version) {
                    Id3Frame::Frame(len) => {
                        self.damage.tag_bytes += len;
                        self.tag_left = len;
                        continue;
                    }
                    Id3Frame::NeedMore if !self.at_end => return Next::NeedMore,
                    _ => {
                        self.open_tag = None;
                        if self.keep_tags {
                            self.last_tag = Some(std::mem::take(&mut self.tag).freeze());
                        }
                    }
                }
            }
            match scan(self.codec, &self.buf[self.scanned..], self.at_end) {
                Scan::Frame(header) => return Next::Frame(header),
                Scan::NeedMore if self.at_end => return Next::End,
                Scan::NeedMore => return Next::NeedMore,
                Scan::Skip(n) => self.drop_unscanned(n, Dropped::Garbage),
                Scan::Truncated => {
                    let rest = self.unscanned();
                    self.drop_unscanned(rest, Dropped::Truncated);
                }
                Scan::Tag(size) => {
                    self.damage.tags += 1;
                    self.damage.tag_bytes += size;
                    self.damage.largest_tag = self.damage.largest_tag.max(size);
                    self.tag_left = size;
                    let header = &self.buf[self.scanned..];
                    // A v2.3 or v2.4 header of no size, without a footer: its frames follow.
                    if size == 10 && matches!(header[3], 3 | 4) && header[5] & 0x10 == 0 {
                        self.open_tag = Some(header[3]);
                    }
                }
            }
        }
    }

    /// Moves past the frame [`peek`](Self::peek) returned.
    pub fn consume(&mut self, header: &FrameHeader) {
        self.scanned += header.frame_length();
        debug_assert!(self.scanned <= self.buf.len());
    }

    /// Splits off every consumed frame as one buffer (empty when there are none).
    pub fn take(&mut self) -> Bytes {
        let frames = self.buf.split_to(self.scanned).freeze();
        self.offset += self.scanned as u64;
        self.scanned = 0;
        if self.pieces.is_empty() {
            return frames;
        }
        // Garbage sat between frames of this chunk: join the pieces (rare; once per station,
        // never per listener).
        let mut joined = BytesMut::with_capacity(
            self.pieces.iter().map(Bytes::len).sum::<usize>() + frames.len(),
        );
        for piece in self.pieces.drain(..) {
            joined.extend_from_slice(&piece);
        }
        joined.extend_from_slice(&frames);
        joined.freeze()
    }

    /// Drops `n` unscanned bytes, keeping the confirmed frames before them.
    fn drop_unscanned(&mut self, n: usize, what: Dropped) {
        if self.scanned > 0 {
            let frames = self.buf.split_to(self.scanned).freeze();
            self.offset += self.scanned as u64;
            self.scanned = 0;
            self.pieces.push(frames);
        }
        match what {
            Dropped::Truncated => self.damage.truncated_at = Some(self.offset),
            Dropped::Garbage => {
                self.damage.garbage_bytes += n as u64;
                self.damage.first_garbage_at.get_or_insert(self.offset);
            }
            Dropped::Tag => {}
        }
        let _ = self.buf.split_to(n);
        self.offset += n as u64;
    }
}

/// What stands at the start of a tag's frames.
enum Id3Frame {
    /// A frame of this many bytes, header included.
    Frame(u64),
    /// Too few bytes to say.
    NeedMore,
    /// Not a frame: padding, audio, anything else.
    Not,
}

/// The length of the ID3v2.`version` frame at the start of `buf`: a four-character ID of
/// capitals and digits, a size (synchsafe in v2.4), two flag bytes; or of the padding (zeros)
/// there.
fn id3_frame_len(buf: &[u8], version: u8) -> Id3Frame {
    // Padding: zeros to the end of the tag.
    let zeros = buf.iter().take_while(|&&b| b == 0).count();
    if zeros > 0 {
        return Id3Frame::Frame(zeros as u64);
    }
    let Some(head) = buf.get(..10) else {
        let id_so_far = buf
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        return if id_so_far {
            Id3Frame::NeedMore
        } else {
            Id3Frame::Not
        };
    };
    if !head[..4]
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Id3Frame::Not;
    }
    let size = &head[4..8];
    let size = if version == 4 {
        if size.iter().any(|b| b & 0x80 != 0) {
            return Id3Frame::Not;
        }
        size.iter().fold(0u64, |a, &b| (a << 7) | u64::from(b))
    } else {
        size.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b))
    };
    Id3Frame::Frame(10 + size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{adts_frame, adts_stream, FrameSpec};

    /// Feeds `bytes` in blocks of `block` and collects the frames, taking every `per_take` frames.
    fn deframe(bytes: &[u8], block: usize, per_take: usize) -> (Vec<Bytes>, Damage) {
        let mut d = Deframer::new(Codec::Adts, 0);
        let mut fed = 0;
        let mut out = Vec::new();
        let mut pending = 0;
        loop {
            match d.peek() {
                Next::Frame(h) => {
                    d.consume(&h);
                    pending += 1;
                    if pending == per_take {
                        out.push(d.take());
                        pending = 0;
                    }
                }
                Next::NeedMore => {
                    let n = block.min(bytes.len() - fed);
                    d.input().extend_from_slice(&bytes[fed..fed + n]);
                    fed += n;
                    if fed == bytes.len() {
                        d.finish();
                    }
                }
                Next::End => break,
            }
        }
        if pending > 0 {
            out.push(d.take());
        }
        (out, d.damage())
    }

    #[test]
    fn every_frame_once_for_any_block_size() {
        let spec = FrameSpec::default();
        let stream = adts_stream(&spec, 50);
        for block in [1, 7, 100, 207, 4096] {
            for per_take in [1, 3, 50] {
                let (chunks, damage) = deframe(&stream, block, per_take);
                assert_eq!(
                    chunks.concat(),
                    stream,
                    "block {block}, per_take {per_take}"
                );
                assert_eq!(damage, Damage::default());
            }
        }
    }

    #[test]
    fn garbage_between_frames_is_dropped_and_reported() {
        let frame = |fill| {
            adts_frame(&FrameSpec {
                fill,
                ..FrameSpec::default()
            })
        };
        let (a, b, c, d) = (frame(1), frame(2), frame(3), frame(4));
        let garbage = [1, 2, 3, 0xFF, 0xF1, 9];
        let bytes = [&a[..], &b, &garbage, &c, &d].concat();
        let (chunks, damage) = deframe(&bytes, 64, 10);
        // `b` cannot be confirmed (no header follows it), so it goes with the garbage.
        assert_eq!(chunks.concat(), [a.clone(), c, d].concat());
        assert_eq!(damage.garbage_bytes, (b.len() + garbage.len()) as u64);
        assert_eq!(damage.first_garbage_at, Some(a.len() as u64));
        assert_eq!(damage.truncated_at, None);
    }

    #[test]
    fn tags_between_frames_are_skipped_whole_and_not_counted_as_garbage() {
        // Files joined from HLS segments: an ID3 tag (here bigger than a read block) before
        // each segment's frames.
        let stream = adts_stream(&FrameSpec::default(), 5);
        let mut tag = b"ID3\x04\x00\x00\x00\x00\x02\x00".to_vec(); // 256-byte body
        tag.resize(10 + 256, 0x41);
        let bytes = [&stream[..], &tag, &stream, &tag, &stream].concat();
        for block in [1, 7, 100, 4096] {
            let (chunks, damage) = deframe(&bytes, block, 2);
            assert_eq!(chunks.concat(), stream.repeat(3), "block {block}");
            assert_eq!(damage.garbage_bytes, 0, "block {block}");
            assert_eq!((damage.tags, damage.tag_bytes), (2, 2 * 266));
        }
    }

    #[test]
    fn a_truncated_last_frame_is_dropped() {
        let stream = adts_stream(&FrameSpec::default(), 3);
        let cut = &stream[..stream.len() - 10];
        let (chunks, damage) = deframe(cut, 100, 1);
        assert_eq!(chunks.len(), 2);
        assert_eq!(damage.truncated_at, Some(2 * 207));
        assert_eq!(damage.garbage_bytes, 0);
    }
}
