//! The framing of Ogg Opus and Ogg Vorbis: pages found and checked, packets put together, the
//! header packets kept aside, and each audio packet handed on carried ([`super::opus_packet`],
//! [`super::vorbis_packet`]: a Vorbis packet's duration needs its block size and the one
//! before it, read here from the stream's setup header).
//!
//! One logical stream is read. A stream that starts a new link (a `BOS` page after audio: a
//! chained file, or a live source that restarted its encoder) goes on if the new link is of the
//! same codec and channel count (and, for Vorbis, rate), its header packets taken as the
//! stream's new ones; another logical stream multiplexed in is refused.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::deframer::{Damage, Next};
use super::frame::FrameHeader;
use super::ogg::{scan_page, Packets, PageScan, BOS};
use super::opus::{packet_samples, OpusHead};
use super::opus_packet::{carry, OpusPacket, PREFIX};
use super::vorbis::{self, VorbisStream};
use super::vorbis_packet::{self, VorbisPacket};
use super::Codec;

/// An audio packet read, ready to be handed on.
#[derive(Debug)]
struct Ready {
    packet: Bytes,
    /// The offset of the page a reader may start at to get it first, if any.
    seek: Option<u64>,
    /// Vorbis: the block sizes of the packet before it and of it.
    blocks: (u8, u8),
}

/// Reads Ogg Opus or Ogg Vorbis (the [`Framing`](super::framing::Framing) of `.opus` and `.ogg`
/// files and Ogg sources).
#[derive(Debug)]
pub struct OggFraming {
    /// Opus or Vorbis.
    codec: Codec,
    /// Bytes not yet made into pages.
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    offset: u64,
    at_end: bool,
    /// The logical stream read, once its first page is seen.
    serial: Option<u32>,
    packets: Packets,
    /// Audio packets ready.
    ready: VecDeque<Ready>,
    /// The stream's header packets (`OpusHead`, `OpusTags`; Vorbis's identification, comment
    /// and setup headers), as read or as primed.
    headers: Vec<Bytes>,
    /// Channels, from the identification header.
    channels: u8,
    /// Vorbis: the rate, and what the setup header says of packets.
    vorbis: Option<VorbisStream>,
    /// Vorbis: the block size of the last packet read in the link.
    previous: Option<u8>,
    /// Carried packets consumed, for [`take`](Framing::take).
    out: BytesMut,
    damage: Damage,
    /// Why the stream cannot be played at all, once found.
    refused: Option<String>,
    /// An audio packet was read (a `BOS` page after it starts a chained link; before it, a
    /// second multiplexed stream).
    audio_seen: bool,
    /// Samples the audio packets read in the current link decode to.
    samples: u64,
    /// The granule position of the last page that ended an audio packet.
    granule: Option<u64>,
}

impl OggFraming {
    /// Reads a stream of `codec` (Opus or Vorbis) whose first byte is at stream offset
    /// `offset` (a page boundary).
    pub fn new(codec: Codec, offset: u64) -> Self {
        OggFraming {
            codec,
            buf: BytesMut::new(),
            offset,
            at_end: false,
            serial: None,
            packets: Packets::default(),
            ready: VecDeque::new(),
            headers: Vec::new(),
            channels: 0,
            vorbis: None,
            previous: None,
            out: BytesMut::new(),
            damage: Damage::default(),
            refused: None,
            audio_seen: false,
            samples: 0,
            granule: None,
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
                (self.samples, self.granule, self.previous) = (0, None, None);
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
            let header_packet = match self.codec {
                Codec::Vorbis => self.vorbis_header(&packet),
                _ => self.opus_header(&packet),
            };
            if header_packet {
                continue;
            }
            if let Some(other) = super::ogg::codec_of(&packet) {
                self.refused = Some(self.not_ours(other));
                continue;
            }
            let blocks = match self.codec {
                Codec::Vorbis => match self.vorbis.as_ref().map(|v| v.block(&packet)) {
                    None => {
                        self.no_headers();
                        continue;
                    }
                    Some(None) => None,
                    Some(Some(block)) => {
                        let previous = self.previous.replace(block);
                        self.samples +=
                            previous.map_or(0, |p| u64::from(vorbis::samples(p, block)));
                        Some((previous.unwrap_or(block), block))
                    }
                },
                _ if self.channels == 0 => {
                    self.no_headers();
                    continue;
                }
                _ => packet_samples(&packet).map(|n| {
                    self.samples += u64::from(n);
                    (0, 0)
                }),
            };
            let Some(blocks) = blocks.filter(|_| packet.len() <= usize::from(u16::MAX)) else {
                self.count_garbage(page_offset, packet.len() as u64);
                continue;
            };
            self.audio_seen = true;
            if header.granule != u64::MAX {
                self.granule = Some(header.granule);
            }
            // A reader starting at this page gets, first, the first packet that begins here.
            let first_begun = if continued { i == 1 } else { i == 0 };
            self.ready.push_back(Ready {
                packet,
                seek: first_begun.then_some(page_offset),
                blocks,
            });
        }
    }

    /// Takes an Opus header packet; whether `packet` was one.
    fn opus_header(&mut self, packet: &Bytes) -> bool {
        if packet.starts_with(b"OpusHead") {
            match OpusHead::parse(packet) {
                Ok(head) if self.channels == 0 || head.channels == self.channels => {
                    self.channels = head.channels;
                    self.headers = vec![packet.clone()];
                }
                Ok(head) => {
                    self.refused = Some(format!(
                        "a chained link of {} channels after {}",
                        head.channels, self.channels
                    ))
                }
                Err(error) => self.refused = Some(error.0),
            }
            return true;
        }
        if packet.starts_with(b"OpusTags") {
            self.headers.push(packet.clone());
            return true;
        }
        false
    }

    /// Takes a Vorbis header packet; whether `packet` was one.
    fn vorbis_header(&mut self, packet: &Bytes) -> bool {
        if packet.starts_with(vorbis::IDENTIFICATION) {
            let known = self.vorbis.as_ref().map(|v| (v.channels, v.rate));
            match vorbis::identification(packet) {
                Ok((channels, rate, _)) if known.is_none_or(|k| k == (channels, rate)) => {
                    self.channels = channels;
                    self.headers = vec![packet.clone()];
                    self.previous = None;
                }
                Ok((channels, rate, _)) => {
                    self.refused = Some(format!(
                        "a chained link of {channels} channels at {rate} Hz after another format"
                    ))
                }
                Err(error) => self.refused = Some(error.0.to_string()),
            }
            return true;
        }
        if packet.starts_with(vorbis::COMMENT) {
            if self.headers.len() == 1 {
                self.headers.push(packet.clone());
            }
            return true;
        }
        if packet.starts_with(vorbis::SETUP) {
            if self.headers.len() == 2 {
                self.headers.push(packet.clone());
                match VorbisStream::new(&self.headers[0], packet) {
                    Ok(stream) => self.vorbis = Some(stream),
                    Err(error) => self.refused = Some(error.0.to_string()),
                }
            }
            return true;
        }
        false
    }

    /// Why a stream whose first packet names `other` is not this framing's codec.
    fn not_ours(&self, other: &str) -> String {
        match self.codec {
            Codec::Vorbis if other == "Opus" => {
                "Ogg Opus, not Vorbis; name it `.opus`".to_string()
            }
            Codec::Vorbis if other == "FLAC" => {
                "Ogg FLAC, not Vorbis; name it `.flac`".to_string()
            }
            Codec::Vorbis => format!(
                "Ogg {other}, not Vorbis; convert it: `ffmpeg -i in.ogg -c:a libvorbis -q:a 5 out.ogg`"
            ),
            _ => format!(
                "Ogg {other}, not Opus; convert it: `ffmpeg -i in.ogg -c:a libopus -b:a 96k out.opus`"
            ),
        }
    }

    /// An audio packet before the stream's headers: refused, if nothing was said yet.
    fn no_headers(&mut self) {
        if self.headers.is_empty() && self.refused.is_none() {
            self.refused = Some(match self.codec {
                Codec::Vorbis => "the stream does not start with Vorbis headers".to_string(),
                _ => "the stream does not start with an OpusHead".to_string(),
            });
        }
    }

    fn count_garbage(&mut self, at: u64, n: u64) {
        self.damage.garbage_bytes += n;
        self.damage.first_garbage_at.get_or_insert(at);
    }
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
            if let Some(ready) = self.ready.front() {
                let len = ready.packet.len() as u16;
                return Next::Frame(match &self.vorbis {
                    Some(stream) if self.codec == Codec::Vorbis => {
                        FrameHeader::Vorbis(VorbisPacket {
                            len,
                            channels: self.channels,
                            rate: stream.rate,
                            previous: ready.blocks.0,
                            block: ready.blocks.1,
                        })
                    }
                    _ => FrameHeader::Opus(OpusPacket {
                        len,
                        samples: packet_samples(&ready.packet).unwrap_or(0),
                        channels: self.channels,
                    }),
                });
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
        let Some(ready) = self.ready.pop_front() else {
            return;
        };
        match &self.vorbis {
            Some(stream) if self.codec == Codec::Vorbis => {
                let stream = (self.channels, stream.rate);
                vorbis_packet::carry(&mut self.out, stream, ready.blocks, &ready.packet);
            }
            _ => {
                carry(&mut self.out, self.channels, &ready.packet);
            }
        }
    }

    pub fn take(&mut self) -> Bytes {
        self.out.split().freeze()
    }

    pub fn position(&self) -> u64 {
        match self.ready.front() {
            Some(Ready {
                seek: Some(page), ..
            }) => *page,
            _ => self.offset,
        }
    }

    pub fn seek_point(&self) -> Option<u64> {
        self.ready.front().and_then(|ready| ready.seek)
    }

    pub fn damage(&self) -> Damage {
        self.damage
    }

    pub fn unscanned(&self) -> usize {
        self.buf.len()
            + self
                .ready
                .iter()
                .map(|r| r.packet.len() + PREFIX.max(vorbis_packet::PREFIX))
                .sum::<usize>()
    }

    pub fn headers(&self) -> &[Bytes] {
        &self.headers
    }

    pub fn prime(&mut self, headers: &[Bytes]) {
        if self.codec == Codec::Vorbis {
            if let [identification, _, setup] = headers {
                if let Ok(stream) = VorbisStream::new(identification, setup) {
                    self.channels = stream.channels;
                    self.vorbis = Some(stream);
                    self.headers = headers.to_vec();
                }
            }
        } else if let Some(head) = headers.first().and_then(|h| OpusHead::parse(h).ok()) {
            self.channels = head.channels;
            self.headers = headers.to_vec();
        }
    }

    /// The most padding believed: a packet's worth (Opus's longest, Vorbis's long block).
    fn max_padding(&self) -> u64 {
        match self.codec {
            Codec::Vorbis => 8192,
            _ => 5760,
        }
    }

    pub fn padding(&self) -> u32 {
        // The last page's granule position leaves the encoder's padding out of its packets'
        // samples (at most a packet's worth: a granule saying more is not believed).
        match self.granule {
            Some(granule)
                if granule < self.samples && self.samples - granule < self.max_padding() =>
            {
                (self.samples - granule) as u32
            }
            _ => 0,
        }
    }

    pub fn refusal(&self) -> Option<&str> {
        self.refused.as_deref()
    }
}
