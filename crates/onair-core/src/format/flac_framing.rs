//! The framing of native FLAC: the `fLaC` stream header and its metadata blocks read (the
//! `STREAMINFO` and the tags kept, pictures and the rest passed over without being held), then
//! frames, each confirmed by the header of the next (same rate, channels and sample size, CRC-8)
//! and its own CRC-16, and handed on carried ([`super::flac_frame`]).
//!
//! A stream that starts with a frame rather than `fLaC` (a relay joined mid-stream, a reader
//! opened at a seek point) is read from its frames. A frame whose CRC-16 fails while the next
//! one goes on from it is damaged: passed over and counted, as garbage is. A stream that starts
//! with an Ogg page is FLAC in Ogg ([`super::flac_ogg`]): its pages are checked and taken
//! apart, and each packet after the header is one frame, checked the same way.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::deframer::{Damage, Next};
use super::flac::{
    self, crc16, read_header, NativeHeader, StreamInfo, BLOCK_COMMENT, BLOCK_STREAMINFO, MAGIC,
};
use super::flac_frame::{carry, FlacFrame, PREFIX};
use super::flac_ogg::{OggFlac, Packet};
use super::flac_scan::{compatible, continues, max_frame, next_sync, unplayable};
use super::frame::FrameHeader;
use super::ogg::{scan_page, PageScan};
use super::TrackTags;

/// The longest comment block whose tags are read (longer ones are passed over).
const MAX_COMMENT: usize = 1024 * 1024;

/// A confirmed frame.
#[derive(Debug)]
struct Ready {
    frame: Bytes,
    header: NativeHeader,
    /// Its offset in the stream (of its page, for FLAC in Ogg).
    at: u64,
    /// Where a reader may start to get it first.
    seek: Option<u64>,
}

/// Where in the stream the framing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// At the start: `fLaC`, an ID3v2 tag before it, or a frame.
    #[default]
    Start,
    /// At a metadata block's header (`first`: the `STREAMINFO` must be this one).
    Block { first: bool },
    /// Passing over this many bytes, then going on as `then` says.
    Skip { left: u64, then: After },
    /// Among frames.
    Frames,
    /// Among Ogg pages (FLAC in Ogg).
    Ogg,
}

/// Where a skip leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Start,
    Block,
    Frames,
}

/// Reads native FLAC (the [`Framing`](super::framing::Framing) of `.flac` files and sources).
#[derive(Debug, Default)]
pub struct FlacFraming {
    /// Bytes not yet made into frames.
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    offset: u64,
    at_end: bool,
    state: State,
    /// The stream's `STREAMINFO`, once read (or primed).
    info: Option<StreamInfo>,
    /// Its header blocks' bodies: the `STREAMINFO`, then the comments if any.
    headers: Vec<Bytes>,
    /// Frames confirmed, in order.
    ready: VecDeque<Ready>,
    /// FLAC in Ogg, once the stream is found to be.
    ogg: OggFlac,
    /// Where the search for the end of the frame at `buf[0]` goes on from.
    searched: usize,
    /// Carried frames consumed, for [`take`](super::framing::Framing::take).
    out: BytesMut,
    damage: Damage,
    refused: Option<String>,
}

impl FlacFraming {
    /// Reads a stream whose first byte is at stream offset `offset` (its start, or a frame).
    pub fn new(offset: u64) -> Self {
        FlacFraming {
            offset,
            ..FlacFraming::default()
        }
    }

    fn drop_front(&mut self, n: usize) {
        let _ = self.buf.split_to(n);
        self.offset += n as u64;
        self.searched = 0;
    }

    fn garbage(&mut self, n: usize) {
        self.damage.garbage_bytes += n as u64;
        self.damage.first_garbage_at.get_or_insert(self.offset);
        self.drop_front(n);
    }

    fn refuse(&mut self, reason: String) -> Next {
        self.refused.get_or_insert(reason);
        self.buf.clear();
        self.state = State::Skip {
            left: u64::MAX,
            then: After::Frames,
        };
        Next::End
    }

    /// One step at the start or among metadata blocks; `None` to go on.
    fn header_step(&mut self) -> Option<Next> {
        let wait = if self.at_end {
            Next::End
        } else {
            Next::NeedMore
        };
        match self.state {
            State::Start => {
                if self.buf.len() < 4 {
                    return match self.at_end {
                        true if self.buf.is_empty() => Some(Next::End),
                        true => {
                            self.state = State::Frames;
                            None
                        }
                        false => Some(Next::NeedMore),
                    };
                }
                if self.buf.starts_with(MAGIC) {
                    self.drop_front(4);
                    self.state = State::Block { first: true };
                } else if self.buf.starts_with(b"ID3") {
                    if self.buf.len() < 10 {
                        return Some(wait);
                    }
                    let size = super::tags::id3v2_size(&self.buf).unwrap_or(3);
                    self.state = State::Skip {
                        left: size,
                        then: After::Start,
                    };
                } else if self.buf.starts_with(b"OggS") {
                    self.state = State::Ogg;
                } else {
                    self.state = State::Frames;
                }
                None
            }
            State::Block { first } => {
                let Some(head) = self.buf.get(..4) else {
                    return Some(wait);
                };
                let (last, kind) = (head[0] & 0x80 != 0, head[0] & 0x7F);
                let len = u32::from_be_bytes([0, head[1], head[2], head[3]]) as usize;
                let then = if last { After::Frames } else { After::Block };
                if first && kind != BLOCK_STREAMINFO {
                    return Some(self.refuse(format!(
                        "its first metadata block (at byte {}) is not a STREAMINFO",
                        self.offset
                    )));
                }
                if kind == 127 {
                    return Some(
                        self.refuse(format!("an invalid metadata block at byte {}", self.offset)),
                    );
                }
                let held =
                    kind == BLOCK_STREAMINFO || (kind == BLOCK_COMMENT && len <= MAX_COMMENT);
                if !held {
                    self.drop_front(4);
                    self.state = State::Skip {
                        left: len as u64,
                        then,
                    };
                    return None;
                }
                let Some(body) = self.buf.get(4..4 + len) else {
                    return Some(wait);
                };
                let body = Bytes::copy_from_slice(body);
                if kind == BLOCK_STREAMINFO {
                    if let Some(reason) = self.take_info(&body) {
                        return Some(self.refuse(reason));
                    }
                } else if self.headers.len() == 1 {
                    self.headers.push(body);
                }
                self.drop_front(4 + len);
                self.state = match then {
                    After::Frames => State::Frames,
                    _ => State::Block { first: false },
                };
                None
            }
            State::Skip { left, then } => {
                if self.buf.is_empty() {
                    return Some(wait);
                }
                let n = (left.min(self.buf.len() as u64)) as usize;
                self.drop_front(n);
                if n as u64 == left {
                    self.state = match then {
                        After::Start => State::Start,
                        After::Block => State::Block { first: false },
                        After::Frames => State::Frames,
                    };
                } else {
                    self.state = State::Skip {
                        left: left - n as u64,
                        then,
                    };
                }
                None
            }
            State::Frames | State::Ogg => Some(Next::NeedMore),
        }
    }

    /// One Ogg page read (FLAC in Ogg), or what to do instead.
    fn ogg_step(&mut self) -> Option<Next> {
        match scan_page(&self.buf, self.at_end) {
            PageScan::Page(header) => {
                let at = self.offset;
                let page = self.buf.split_to(header.page_len()).freeze();
                self.offset += header.page_len() as u64;
                let packets = match self.ogg.page(&header, &page) {
                    Ok(packets) => packets,
                    Err(reason) => return Some(self.refuse(reason)),
                };
                for packet in packets {
                    match packet {
                        Packet::Info(body) => {
                            if let Some(reason) = self.take_info(&body) {
                                return Some(self.refuse(reason));
                            }
                        }
                        Packet::Block(kind, body) => {
                            if kind == BLOCK_COMMENT && self.headers.len() == 1 {
                                self.headers.push(body);
                            }
                        }
                        Packet::Frame(frame, first_begun) => {
                            let header = read_header(&frame).ok().and_then(|h| self.fill(h));
                            match header {
                                Some(header) if crc16(&frame) == 0 => self.ready.push_back(Ready {
                                    frame,
                                    header,
                                    at,
                                    seek: first_begun.then_some(at),
                                }),
                                _ => {
                                    self.damage.garbage_bytes += frame.len() as u64;
                                    self.damage.first_garbage_at.get_or_insert(at);
                                }
                            }
                        }
                    }
                }
                None
            }
            PageScan::Skip(n) => {
                self.garbage(n);
                None
            }
            PageScan::NeedMore if self.at_end => Some(Next::End),
            PageScan::NeedMore => Some(Next::NeedMore),
            PageScan::Truncated => {
                self.damage.truncated_at = Some(self.offset);
                self.offset += self.buf.len() as u64;
                self.buf.clear();
                Some(Next::End)
            }
        }
    }

    /// Takes a `STREAMINFO` block's body as the stream's; why the stream cannot play, if so.
    fn take_info(&mut self, body: &Bytes) -> Option<String> {
        let Some(info) = StreamInfo::parse(body) else {
            return Some(format!(
                "a STREAMINFO that says no sample rate or sample size (before byte {})",
                self.offset
            ));
        };
        if let Some(reason) = unplayable(&info) {
            return Some(reason);
        }
        self.info = Some(info);
        self.headers = vec![body.clone()];
        None
    }

    /// The frame at `buf[0]`, confirmed, or what to do instead.
    fn frame_step(&mut self) -> Option<Next> {
        if self.buf.is_empty() {
            return Some(if self.at_end {
                Next::End
            } else {
                Next::NeedMore
            });
        }
        let header = match read_header(&self.buf) {
            Ok(header) => header,
            Err(super::codec::ParseError::Short) if !self.at_end => return Some(Next::NeedMore),
            Err(super::codec::ParseError::Short) => {
                self.damage.truncated_at = Some(self.offset);
                self.offset += self.buf.len() as u64;
                self.buf.clear();
                return Some(Next::End);
            }
            Err(super::codec::ParseError::Invalid) => {
                let next = next_sync(&self.buf, 1);
                self.garbage(next);
                return None;
            }
        };
        let Some(header) = self.fill(header) else {
            // Its rate or size is the STREAMINFO's, and there is none: a false sync, or a
            // stream joined past its header that cannot be read.
            let next = next_sync(&self.buf, 1);
            self.garbage(next);
            return None;
        };
        let bound = max_frame(&header);
        let mut q = self.searched.max(header.len + 1);
        loop {
            q = next_sync(&self.buf, q);
            if q >= self.buf.len() {
                self.searched = self.buf.len().saturating_sub(1).max(header.len + 1);
                break;
            }
            match read_header(&self.buf[q..]).map(|n| self.fill(n)) {
                Ok(Some(next)) if compatible(&header, &next) => {
                    if crc16(&self.buf[..q]) == 0 {
                        self.confirm(q, header);
                        return None;
                    }
                    if continues(&header, &next) {
                        // This frame is damaged; the next one starts here.
                        self.garbage(q);
                        return None;
                    }
                    q += 1;
                }
                Err(super::codec::ParseError::Short) if !self.at_end => {
                    self.searched = q;
                    return Some(Next::NeedMore);
                }
                _ => q += 1,
            }
        }
        if self.at_end {
            if crc16(&self.buf) == 0 {
                let n = self.buf.len();
                self.confirm(n, header);
            } else {
                self.damage.truncated_at = Some(self.offset);
                self.offset += self.buf.len() as u64;
                self.buf.clear();
            }
            return None;
        }
        if self.buf.len() > bound {
            // No frame this long: the header was a false sync, or its frame is lost.
            let next = next_sync(&self.buf, 1);
            self.garbage(next);
            return None;
        }
        Some(Next::NeedMore)
    }

    /// A header with the rate and sample size the `STREAMINFO` gives where it gives none.
    fn fill(&self, mut header: NativeHeader) -> Option<NativeHeader> {
        if header.sample_rate == 0 {
            header.sample_rate = self.info?.sample_rate;
        }
        if header.bits == 0 {
            header.bits = self.info?.bits;
        }
        Some(header)
    }

    fn confirm(&mut self, len: usize, header: NativeHeader) {
        let at = self.offset;
        let frame = self.buf.split_to(len).freeze();
        self.offset += len as u64;
        self.searched = 0;
        self.ready.push_back(Ready {
            frame,
            header,
            at,
            seek: Some(at),
        });
    }
}

impl FlacFraming {
    pub fn input(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    pub fn finish(&mut self) {
        self.at_end = true;
    }

    pub fn peek(&mut self) -> Next {
        loop {
            if let Some(Ready { frame, header, .. }) = self.ready.front() {
                return Next::Frame(FrameHeader::Flac(FlacFrame {
                    len: frame.len() as u32,
                    samples: header.samples,
                    sample_rate: header.sample_rate,
                    channels: header.channels,
                    bits: header.bits,
                }));
            }
            if self.refused.is_some() {
                return Next::End;
            }
            let step = match self.state {
                State::Frames => self.frame_step(),
                State::Ogg => self.ogg_step(),
                _ => self.header_step(),
            };
            if let Some(next) = step {
                return next;
            }
        }
    }

    pub fn consume(&mut self, _frame: &FrameHeader) {
        let Some(Ready { frame, header, .. }) = self.ready.pop_front() else {
            return;
        };
        let spelt = frame[2] & 0x0F != 0 && (frame[3] >> 1) & 0x07 != 0;
        if spelt {
            carry(&mut self.out, &frame);
        } else {
            // Its rate or size is the STREAMINFO's: carried with them spelt out, so that the
            // frame reads alone.
            let mut native = BytesMut::new();
            if flac::rewrite(&frame, &header, header.variable, header.number, &mut native) {
                carry(&mut self.out, &native);
            }
        }
    }

    pub fn take(&mut self) -> Bytes {
        self.out.split().freeze()
    }

    pub fn position(&self) -> u64 {
        match self.ready.front() {
            Some(ready) => ready.seek.unwrap_or(ready.at),
            None => self.offset,
        }
    }

    pub fn seek_point(&self) -> Option<u64> {
        match self.ready.front() {
            Some(ready) => ready.seek,
            None => Some(self.offset),
        }
    }

    pub fn damage(&self) -> Damage {
        self.damage
    }

    pub fn unscanned(&self) -> usize {
        self.buf.len()
            + self
                .ready
                .iter()
                .map(|r| r.frame.len() + PREFIX)
                .sum::<usize>()
    }

    pub fn headers(&self) -> &[Bytes] {
        &self.headers
    }

    pub fn prime(&mut self, headers: &[Bytes]) {
        if let Some(info) = headers.first().and_then(|h| StreamInfo::parse(h)) {
            self.info = Some(info);
            self.headers = headers.to_vec();
        }
    }

    pub fn refusal(&self) -> Option<&str> {
        self.refused.as_deref()
    }

    /// The title and artist the stream's comments give.
    pub fn tags(&self) -> Option<TrackTags> {
        let comments = super::opus::read_comments(self.headers.get(1)?).ok()?;
        Some(TrackTags {
            artist: comments.artist,
            title: comments.title,
            album: comments.album,
            isrc: comments.isrc,
            label: comments.label,
        })
    }
}
