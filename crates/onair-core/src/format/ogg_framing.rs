//! The framing of Ogg Opus: pages found and checked, packets put together, the header packets
//! kept aside, and each audio packet handed on carried ([`super::opus_packet`]).
//!
//! One logical stream is read. A stream that starts a new link (a `BOS` page after audio: a
//! chained file, or a live source that restarted its encoder) goes on if the new link is Opus of
//! the same channel count, its header packets taken as the stream's new ones; pages of any other
//! logical stream (a second stream multiplexed in) are passed over and counted.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::deframer::{Damage, Next};
use super::frame::FrameHeader;
use super::ogg::{scan_page, Packets, PageScan, BOS};
use super::opus::{packet_samples, OpusHead};
use super::opus_packet::{carry, OpusPacket, PREFIX};

/// Reads Ogg Opus (the [`Framing`](super::framing::Framing) of `.opus` files and Ogg sources).
#[derive(Debug, Default)]
pub struct OggFraming {
    /// Bytes not yet made into pages.
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    offset: u64,
    at_end: bool,
    /// The logical stream read, once its first page is seen.
    serial: Option<u32>,
    packets: Packets,
    /// Audio packets ready, with the offset of the page a reader may start at to get each
    /// first (for the first packet that begins in its page).
    ready: VecDeque<(Bytes, Option<u64>)>,
    /// The stream's header packets (`OpusHead`, `OpusTags`), as read or as primed.
    headers: Vec<Bytes>,
    /// Channels, from the `OpusHead`.
    channels: u8,
    /// Carried packets consumed, for [`take`](Framing::take).
    out: BytesMut,
    damage: Damage,
    /// Why the stream cannot be played at all, once found.
    refused: Option<String>,
    /// An audio packet was read (a `BOS` page after it starts a chained link; before it, a
    /// second multiplexed stream).
    audio_seen: bool,
    /// 48 kHz samples of the audio packets read in the current link.
    samples: u64,
    /// The granule position of the last page that ended an audio packet.
    granule: Option<u64>,
}

impl OggFraming {
    /// Reads a stream whose first byte is at stream offset `offset` (a page boundary).
    pub fn new(offset: u64) -> Self {
        OggFraming {
            offset,
            ..OggFraming::default()
        }
    }

    /// Takes one page off the buffer and its packets into `ready`.
    fn read_page(&mut self, header: &super::ogg::PageHeader) {
        let page_offset = self.offset;
        let page = self.buf.split_to(header.page_len()).freeze();
        self.offset += header.page_len() as u64;
        let bos = header.flags & BOS != 0;
        match self.serial {
            Some(serial) if serial == header.serial => {}
            // A new link of a chain: its headers come next.
            Some(_) if bos && self.audio_seen => {
                self.serial = Some(header.serial);
                self.packets = Packets::default();
                self.headers.clear();
                (self.samples, self.granule) = (0, None);
            }
            Some(_) => {
                self.refused = Some(
                    "more than one logical stream (video or another track multiplexed in); keep the audio alone: `ffmpeg -i in.ogg -map 0:a:0 -c:a copy out.opus`"
                        .to_string(),
                );
                return;
            }
            None => self.serial = Some(header.serial),
        }
        let mut packets = Vec::new();
        if self.packets.push(header, &page, &mut packets).is_err() {
            self.refused = Some("a packet longer than 16 MiB".to_string());
            return;
        }
        let continued = header.flags & super::ogg::CONTINUED != 0;
        for (i, packet) in packets.into_iter().enumerate() {
            if packet.starts_with(b"OpusHead") {
                match OpusHead::parse(&packet) {
                    Ok(head) if self.channels == 0 || head.channels == self.channels => {
                        self.channels = head.channels;
                        self.headers = vec![packet];
                    }
                    Ok(head) => {
                        self.refused = Some(format!(
                            "a chained link of {} channels after {}",
                            head.channels, self.channels
                        ))
                    }
                    Err(error) => self.refused = Some(error.0),
                }
                continue;
            }
            if packet.starts_with(b"OpusTags") {
                self.headers.push(packet);
                continue;
            }
            if let Some(other) = other_codec(&packet) {
                self.refused = Some(format!(
                    "Ogg {other}, not Opus; convert it: `ffmpeg -i in.ogg -c:a libopus -b:a 96k out.opus`"
                ));
                continue;
            }
            if self.channels == 0 {
                if self.headers.is_empty() && self.refused.is_none() {
                    self.refused = Some("the stream does not start with an OpusHead".to_string());
                }
                continue;
            }
            if packet_samples(&packet).is_none() || packet.len() > usize::from(u16::MAX) {
                self.count_garbage(page_offset, packet.len() as u64);
                continue;
            }
            self.audio_seen = true;
            self.samples += u64::from(packet_samples(&packet).unwrap_or(0));
            if header.granule != u64::MAX {
                self.granule = Some(header.granule);
            }
            // A reader starting at this page gets, first, the first packet that begins here.
            let first_begun = if continued { i == 1 } else { i == 0 };
            self.ready
                .push_back((packet, first_begun.then_some(page_offset)));
        }
    }

    fn count_garbage(&mut self, at: u64, n: u64) {
        self.damage.garbage_bytes += n;
        self.damage.first_garbage_at.get_or_insert(at);
    }
}

/// The codec another Ogg stream's first packet names, if it is one onair knows of (Opus's own
/// header packets are read before this is asked).
fn other_codec(packet: &[u8]) -> Option<&'static str> {
    super::ogg::codec_of(packet).filter(|&name| name != "Opus")
}

impl OggFraming {
    pub fn input(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    pub fn finish(&mut self) {
        self.at_end = true;
    }

    pub fn peek(&mut self) -> Next {
        loop {
            if let Some((packet, _)) = self.ready.front() {
                let samples = packet_samples(packet).unwrap_or(0);
                return Next::Frame(FrameHeader::Opus(OpusPacket {
                    len: packet.len() as u16,
                    samples,
                    channels: self.channels,
                }));
            }
            match scan_page(&self.buf, self.at_end) {
                PageScan::Page(header) => self.read_page(&header),
                PageScan::Skip(n) => {
                    self.count_garbage(self.offset, n as u64);
                    let _ = self.buf.split_to(n);
                    self.offset += n as u64;
                }
                PageScan::NeedMore if self.at_end => return Next::End,
                PageScan::NeedMore => return Next::NeedMore,
                PageScan::Truncated => {
                    self.damage.truncated_at = Some(self.offset);
                    self.offset += self.buf.len() as u64;
                    self.buf.clear();
                    return Next::End;
                }
            }
        }
    }

    pub fn consume(&mut self, _packet: &FrameHeader) {
        if let Some((packet, _)) = self.ready.pop_front() {
            carry(&mut self.out, self.channels, &packet);
        }
    }

    pub fn take(&mut self) -> Bytes {
        self.out.split().freeze()
    }

    pub fn position(&self) -> u64 {
        match self.ready.front() {
            Some((_, Some(page))) => *page,
            _ => self.offset,
        }
    }

    pub fn seek_point(&self) -> Option<u64> {
        self.ready.front().and_then(|(_, page)| *page)
    }

    pub fn damage(&self) -> Damage {
        self.damage
    }

    pub fn unscanned(&self) -> usize {
        self.buf.len()
            + self
                .ready
                .iter()
                .map(|(p, _)| p.len() + PREFIX)
                .sum::<usize>()
    }

    pub fn headers(&self) -> &[Bytes] {
        &self.headers
    }

    pub fn prime(&mut self, headers: &[Bytes]) {
        if let Some(head) = headers.first().and_then(|h| OpusHead::parse(h).ok()) {
            self.channels = head.channels;
            self.headers = headers.to_vec();
        }
    }

    pub fn padding(&self) -> u32 {
        // The last page's granule position leaves the encoder's padding out of its packets'
        // samples (at most a packet's worth: a granule saying more is not believed).
        match self.granule {
            Some(granule) if granule < self.samples && self.samples - granule < 5760 => {
                (self.samples - granule) as u32
            }
            _ => 0,
        }
    }

    pub fn refusal(&self) -> Option<&str> {
        self.refused.as_deref()
    }
}
