//! Incremental checks of a response body as it arrives: chunked decoding, ICY stripping and a
//! frame walk (ADTS or MPEG audio), each a small state machine that never buffers more than a
//! header.

use onair_core::Codec;

/// Undoes `Transfer-Encoding: chunked`.
#[derive(Debug, Default)]
pub struct Dechunker {
    state: ChunkState,
    size: usize,
    /// The body violated chunked framing.
    pub broken: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    #[default]
    Size,
    SizeLineEnd,
    Data,
    DataEnd,
    Done,
}

impl Dechunker {
    /// Feeds raw body bytes; calls `out` with the payload pieces.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut impl FnMut(&[u8])) {
        while !bytes.is_empty() && !self.broken {
            match self.state {
                ChunkState::Size => {
                    let b = bytes[0];
                    bytes = &bytes[1..];
                    match b {
                        b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                            let digit = (b as char).to_digit(16).unwrap_or(0) as usize;
                            self.size = self.size.saturating_mul(16).saturating_add(digit);
                        }
                        b'\r' | b';' | b' ' => self.state = ChunkState::SizeLineEnd,
                        b'\n' => self.end_size_line(),
                        _ => self.broken = true,
                    }
                }
                ChunkState::SizeLineEnd => {
                    let b = bytes[0];
                    bytes = &bytes[1..];
                    if b == b'\n' {
                        self.end_size_line();
                    }
                }
                ChunkState::Data => {
                    let n = self.size.min(bytes.len());
                    out(&bytes[..n]);
                    bytes = &bytes[n..];
                    self.size -= n;
                    if self.size == 0 {
                        self.state = ChunkState::DataEnd;
                    }
                }
                ChunkState::DataEnd => {
                    let b = bytes[0];
                    bytes = &bytes[1..];
                    if b == b'\n' {
                        self.state = ChunkState::Size;
                    } else if b != b'\r' {
                        self.broken = true;
                    }
                }
                ChunkState::Done => return,
            }
        }
    }

    fn end_size_line(&mut self) {
        self.state = if self.size == 0 {
            ChunkState::Done
        } else {
            ChunkState::Data
        };
    }
}

/// Removes ICY metadata blocks (`icy-metaint` audio bytes, then `L`, then `L * 16` bytes).
#[derive(Debug)]
pub struct IcyStripper {
    metaint: usize,
    audio_left: usize,
    meta_left: Option<usize>,
    /// Metadata blocks seen, and how many of them were not empty.
    pub blocks: u64,
    /// Non-empty metadata blocks.
    pub titles: u64,
}

impl IcyStripper {
    /// A stripper for `icy-metaint: metaint`.
    pub fn new(metaint: usize) -> Self {
        IcyStripper {
            metaint,
            audio_left: metaint,
            meta_left: None,
            blocks: 0,
            titles: 0,
        }
    }

    /// Feeds stream bytes; calls `out` with the audio pieces.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut impl FnMut(&[u8])) {
        while !bytes.is_empty() {
            if let Some(left) = self.meta_left {
                // Inside a block's text.
                let n = left.min(bytes.len());
                bytes = &bytes[n..];
                self.meta_left = Some(left - n).filter(|l| *l > 0);
                if self.meta_left.is_none() {
                    self.audio_left = self.metaint;
                }
            } else if self.audio_left == 0 {
                // A block's length byte.
                let len = usize::from(bytes[0]) * 16;
                bytes = &bytes[1..];
                self.blocks += 1;
                if len == 0 {
                    self.audio_left = self.metaint;
                } else {
                    self.titles += 1;
                    self.meta_left = Some(len);
                }
            } else {
                let n = self.audio_left.min(bytes.len());
                out(&bytes[..n]);
                bytes = &bytes[n..];
                self.audio_left -= n;
            }
        }
    }
}

/// Walks Ogg pages across reads: each page's header and segment table read, its body skipped
/// (but a link's first page's, whose header packet gives the rate granule positions count
/// at: 48 kHz for Opus, the stream's own for FLAC and Vorbis); audio time from the granule
/// positions of pages that follow the page before them in their link (a link starts at granule
/// 0; a link joined in the middle counts from its second page after the jump).
#[derive(Debug, Default)]
struct OggWalk {
    /// The page header and segment table read so far.
    head: Vec<u8>,
    /// Body bytes still to skip.
    body_left: usize,
    /// The granule position and sequence number of the last page.
    last: Option<(u64, u32)>,
    /// The body of a link's first page, kept while it is read.
    first_body: Option<Vec<u8>>,
    /// The rate granule positions count at (0 until a link's first page said it: 48 kHz).
    rate: u32,
}

/// The rate a link's first packet says its granule positions count at.
fn granule_rate(packet: &[u8]) -> Option<u32> {
    if packet.starts_with(b"OpusHead") {
        return Some(48_000);
    }
    if packet.starts_with(b"\x01vorbis") {
        let rate = packet.get(12..16)?;
        return Some(u32::from_le_bytes(rate.try_into().ok()?));
    }
    if packet.starts_with(b"\x7fFLAC") {
        // STREAMINFO's 20-bit rate, after the mapping's 13 bytes and a block header.
        let info = packet.get(17 + 10..17 + 13)?;
        return Some(
            (u32::from(info[0]) << 12) | (u32::from(info[1]) << 4) | (u32::from(info[2]) >> 4),
        );
    }
    None
}

impl OggWalk {
    /// Feeds bytes; returns the audio time and pages completed, and garbage bytes skipped.
    fn feed(&mut self, mut bytes: &[u8], walker: &mut (u64, u64, u64)) {
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(bytes.len());
                self.body_left -= n;
                if let Some(body) = self.first_body.as_mut() {
                    body.extend_from_slice(&bytes[..n]);
                    if self.body_left == 0 {
                        if let Some(rate) = granule_rate(body) {
                            self.rate = rate;
                        }
                        self.first_body = None;
                    }
                }
                bytes = &bytes[n..];
                continue;
            }
            let want = if self.head.len() < 27 {
                27
            } else {
                27 + usize::from(self.head[26])
            };
            let n = (want - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            let have = self.head.len().min(4);
            if self.head[..have] != b"OggS"[..have] {
                self.head.remove(0);
                walker.2 += 1;
                continue;
            }
            if self.head.len() < 27 || self.head.len() < 27 + usize::from(self.head[26]) {
                continue;
            }
            self.body_left = self.head[27..].iter().map(|&v| usize::from(v)).sum();
            let granule = u64::from_le_bytes(self.head[6..14].try_into().unwrap_or([0; 8]));
            let sequence = u32::from_le_bytes(self.head[18..22].try_into().unwrap_or([0; 4]));
            walker.1 += 1;
            if self.head[5] & 0x02 != 0 {
                // A new link: its granules count from 0, at the rate its first packet says.
                self.last = Some((0, sequence));
                self.first_body = Some(Vec::with_capacity(self.body_left));
            } else if granule != u64::MAX {
                if let Some((before, seq)) = self.last {
                    if sequence == seq.wrapping_add(1) && granule > before {
                        let rate = if self.rate == 0 { 48_000 } else { self.rate };
                        walker.0 += (granule - before) * 1_000_000_000 / u64::from(rate);
                    }
                }
                self.last = Some((granule, sequence));
            }
            self.head.clear();
        }
    }
}

/// Walks frames across reads: ADTS or MPEG audio, whichever the stream starts with, or the
/// pages of an Ogg stream.
#[derive(Debug, Default)]
pub struct FrameWalker {
    /// The pages of an Ogg stream (one that starts with `OggS`).
    ogg: Option<OggWalk>,
    /// Whether the container is known (after the first four bytes).
    decided: bool,
    /// The first bytes, until four tell whether the stream is Ogg.
    lead: Vec<u8>,
    /// The stream's codec, from its first frame.
    codec: Option<Codec>,
    header: [u8; 7],
    have: usize,
    skip: usize,
    searching: bool,
    /// Whether the first bytes were a frame header (`None` before any byte).
    pub sync_at_start: Option<bool>,
    /// Whole frames seen.
    pub frames: u64,
    /// Audio in those frames, in nanoseconds.
    pub audio_ns: u64,
    /// Times the frame chain broke and the walker had to search for a sync word.
    pub resyncs: u64,
    /// Bytes that were not part of any frame.
    pub garbage: u64,
}

impl FrameWalker {
    /// Whether the bytes fed so far end exactly at the end of a frame.
    pub fn between_frames(&self) -> bool {
        match &self.ogg {
            Some(ogg) => ogg.head.is_empty() && ogg.body_left == 0,
            None => self.have == 0 && self.skip == 0,
        }
    }

    /// Feeds audio bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if !self.decided {
            self.lead.extend_from_slice(bytes);
            if self.lead.len() < 4 {
                return;
            }
            self.decided = true;
            if self.lead.starts_with(b"OggS") {
                self.ogg = Some(OggWalk::default());
                self.sync_at_start = Some(true);
            }
            let lead = std::mem::take(&mut self.lead);
            return self.feed(&lead);
        }
        if let Some(ogg) = self.ogg.as_mut() {
            let mut counts = (self.audio_ns, self.frames, self.garbage);
            ogg.feed(bytes, &mut counts);
            (self.audio_ns, self.frames, self.garbage) = counts;
            return;
        }
        let mut i = 0;
        while i < bytes.len() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len() - i);
                self.skip -= n;
                i += n;
                continue;
            }
            let n = (7 - self.have).min(bytes.len() - i);
            self.header[self.have..self.have + n].copy_from_slice(&bytes[i..i + n]);
            self.have += n;
            i += n;
            while self.have == 7 {
                let parsed = match self.codec {
                    Some(codec) => codec.parse(&self.header),
                    None => Codec::Adts
                        .parse(&self.header)
                        .or_else(|_| Codec::Mpeg.parse(&self.header)),
                };
                match parsed {
                    Ok(h) => {
                        self.codec.get_or_insert(h.codec());
                        self.sync_at_start.get_or_insert(true);
                        self.searching = false;
                        self.frames += 1;
                        self.audio_ns +=
                            u64::from(h.samples()) * 1_000_000_000 / u64::from(h.sample_rate());
                        self.skip = h.frame_length().saturating_sub(7);
                        self.have = 0;
                    }
                    Err(_) => {
                        self.sync_at_start.get_or_insert(false);
                        if !self.searching {
                            self.resyncs += 1;
                            self.searching = true;
                        }
                        self.garbage += 1;
                        self.header.copy_within(1.., 0);
                        self.have = 6;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_core::testing::{adts_stream, FrameSpec};

    #[test]
    fn walks_frames_split_anywhere() {
        let stream = adts_stream(&FrameSpec::default(), 50);
        for piece in [1, 5, 7, 100, 4096] {
            let mut w = FrameWalker::default();
            for p in stream.chunks(piece) {
                w.feed(p);
            }
            assert_eq!((w.frames, w.resyncs, w.garbage), (50, 0, 0));
            assert_eq!(w.sync_at_start, Some(true));
        }
        let mut w = FrameWalker::default();
        w.feed(&[1, 2, 3]);
        w.feed(&stream);
        assert_eq!(
            (w.frames, w.resyncs, w.garbage, w.sync_at_start),
            (50, 1, 3, Some(false))
        );
    }

    #[test]
    fn granules_count_at_the_rate_the_first_packet_says() {
        assert_eq!(granule_rate(b"OpusHead\x01\x02"), Some(48_000));
        let mut vorbis = b"\x01vorbis\0\0\0\0\x02".to_vec();
        vorbis.extend_from_slice(&44_100u32.to_le_bytes());
        assert_eq!(granule_rate(&vorbis), Some(44_100));
        // FLAC in Ogg: the mapping's header, `fLaC`, a block header, then STREAMINFO with
        // 96 kHz in its 20-bit rate field.
        let mut flac = b"\x7fFLAC\x01\x00\x00\x01fLaC\x00\x00\x00\x22".to_vec();
        flac.extend_from_slice(&[0x10, 0, 0x10, 0, 0, 0, 0, 0, 0, 0]);
        let rate: u32 = 96_000;
        flac.extend_from_slice(&[
            (rate >> 12) as u8,
            (rate >> 4) as u8,
            ((rate << 4) as u8) | 2,
        ]);
        assert_eq!(granule_rate(&flac), Some(96_000));
        assert_eq!(granule_rate(b"nothing"), None);
    }

    #[test]
    fn walks_ogg_pages_and_counts_their_audio_from_the_granules() {
        let page = |flags: u8, granule: u64, sequence: u32, body: &[u8]| {
            let mut p = b"OggS".to_vec();
            p.extend_from_slice(&[0, flags]);
            p.extend_from_slice(&granule.to_le_bytes());
            p.extend_from_slice(&[0; 4]);
            p.extend_from_slice(&sequence.to_le_bytes());
            p.extend_from_slice(&[0; 4]);
            p.push(1);
            p.push(body.len() as u8);
            p.extend_from_slice(body);
            p
        };
        // A link joined in the middle (its header page, then the jump to page 7), then a new
        // link from its start: 20 ms pages.
        let stream: Vec<u8> = [
            page(2, 0, 0, b"OpusHead"),
            page(0, 9600, 7, b"a"),
            page(0, 10560, 8, b"b"),
            page(2, 0, 0, b"OpusHead"),
            page(0, 960, 1, b"c"),
        ]
        .concat();
        for piece in [1, 3, 27, 1000] {
            let mut w = FrameWalker::default();
            for p in stream.chunks(piece) {
                w.feed(p);
            }
            assert_eq!((w.frames, w.garbage), (5, 0), "pages in pieces of {piece}");
            assert_eq!(
                w.audio_ns, 40_000_000,
                "page 8 of the first link, page 1 of the second"
            );
            assert!(w.between_frames());
        }
    }

    #[test]
    fn walks_mp3_frames_too() {
        let stream: Vec<u8> = (0..30)
            .flat_map(|i| onair_core::testing::mp3_frame(128, i % 2 == 0, 0x11))
            .collect();
        let mut w = FrameWalker::default();
        for piece in stream.chunks(100) {
            w.feed(piece);
        }
        assert_eq!((w.frames, w.resyncs, w.garbage), (30, 0, 0));
        assert!(w.between_frames());
    }

    #[test]
    fn dechunks_and_strips_icy() {
        let mut d = Dechunker::default();
        let mut out = Vec::new();
        d.feed(b"5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\n\r\n", &mut |p| {
            out.extend_from_slice(p)
        });
        assert_eq!(out, b"helloabc");
        assert!(!d.broken);

        let mut s = IcyStripper::new(4);
        let mut audio = Vec::new();
        let mut stream = b"abcd".to_vec();
        stream.push(1);
        stream.extend([b'x'; 16]);
        stream.extend(b"efgh");
        stream.push(0);
        stream.extend(b"ij");
        for b in stream.chunks(3) {
            s.feed(b, &mut |p| audio.extend_from_slice(p));
        }
        assert_eq!(audio, b"abcdefghij");
        assert_eq!((s.blocks, s.titles), (2, 1));
    }
}
