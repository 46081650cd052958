//! A station's own Ogg pages, written once per station as its chunks are published, never per
//! listener: one logical stream (the default), or a chain of them, one link per encode the
//! broadcast moves to.
//!
//! A link starts where the broadcast does not go on from the chunk before (a track from its
//! first packet, a jump into a track, a live source): a `BOS` page with the encode's `OpusHead`
//! (its pre-skip kept when the link starts at the encode's first packet, so players trim the
//! encoder's priming; zero otherwise), an `OpusTags` page naming the track, then its packets in
//! pages whose granule positions count from 0. A link that reaches its encode's end closes with
//! an `EOS` page whose granule position leaves out the encode's padding. Players that follow
//! chained Ogg (ffmpeg, and browsers through it) so join tracks sample for sample.

use bytes::{Bytes, BytesMut};

use super::ogg::{lacing_values, write_page, BOS, EOS};
use super::opus::OpusHead;
use super::opus_packet::carried;
use crate::broadcast::{Begin, Link, Marks, Packaged, Packaging};

/// What a station's stream says made it.
const VENDOR: &str = "onair";

/// Writes a station's Ogg Opus stream.
#[derive(Debug)]
pub struct OggWriter {
    /// The station's serial number base (from its name).
    base: u32,
    /// The `OpusHead` of links whose encode gives none (a live source's).
    head: Bytes,
    /// The link being written, if one is open.
    link: Option<Open>,
    /// Links begun.
    links: u64,
    /// A new link at every encode (exact joins where players follow chains); else one
    /// logical stream for as long as the station is on air.
    chain: bool,
}

/// The link being written.
#[derive(Debug)]
struct Open {
    serial: u32,
    /// The next page's sequence number.
    sequence: u32,
    /// 48 kHz samples written in the link (its last page's granule position).
    granule: u64,
    /// Its header pages.
    preamble: Bytes,
}

impl OggWriter {
    /// The stream of station `station`, whose links fall back to `head` (its first track's
    /// `OpusHead`: channel count and mapping). Serial numbers come from the station's name and
    /// the link's number, the same on every replica.
    pub fn new(station: &str, head: &[u8], chain: bool) -> Option<OggWriter> {
        OpusHead::parse(head).ok()?;
        let base = super::ogg::serial_base(station);
        Some(OggWriter {
            base,
            head: Bytes::copy_from_slice(head),
            link: None,
            links: 0,
            chain,
        })
    }

    /// Starts a link as `begin` says: its header pages, appended to `out`.
    fn begin(&mut self, begin: &Begin, out: &mut BytesMut) {
        self.links += 1;
        let serial = self.base ^ (self.links as u32).wrapping_mul(0x9e37_79b9);
        let mut head = match begin.headers.as_ref().and_then(|h| h.first()) {
            Some(head) if OpusHead::parse(head).is_ok() => head.to_vec(),
            _ => self.head.to_vec(),
        };
        if !begin.from_top {
            // Joined in the middle: nothing of it is the encoder's priming.
            head[10..12].copy_from_slice(&0u16.to_le_bytes());
        }
        let mut preamble = BytesMut::new();
        write_page(&mut preamble, BOS, 0, serial, 0, &[&head]);
        let tags = tags_packet(&begin.tags);
        write_page(&mut preamble, 0, 0, serial, 1, &[&tags]);
        let preamble = preamble.freeze();
        out.extend_from_slice(&preamble);
        self.link = Some(Open {
            serial,
            sequence: 2,
            granule: 0,
            preamble,
        });
    }

    /// The pages of a chunk of carried packets: as few as the lacing allows (255 values a
    /// page), each with the granule position after its last packet; the last one ends the link
    /// when `ends` says the chunk ends its encode (with this much padding).
    fn pages(&mut self, chunk: &[u8], ends: Option<u32>, out: &mut BytesMut) {
        let packets: Vec<(&[u8], u32)> = carried(chunk).collect();
        let mut page: Vec<&[u8]> = Vec::new();
        let (mut lacing, mut samples) = (0, 0u64);
        for (i, (packet, n)) in packets.iter().enumerate() {
            let values = lacing_values(packet.len());
            if lacing + values > 255 && !page.is_empty() {
                self.flush(out, &page, samples, None);
                (page, lacing, samples) = (Vec::new(), 0, 0);
            }
            page.push(packet);
            lacing += values;
            samples += u64::from(*n);
            if i + 1 == packets.len() {
                self.flush(out, &page, samples, ends);
            }
        }
        if ends.is_some() {
            self.link = None;
        }
    }

    fn flush(&mut self, out: &mut BytesMut, packets: &[&[u8]], samples: u64, ends: Option<u32>) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        let before = link.granule;
        link.granule += samples;
        let (flags, granule) = match ends {
            // The encode's padding is left out of the last granule position (never before the
            // page's start).
            Some(padding) => (EOS, (link.granule - u64::from(padding)).max(before)),
            None => (0, link.granule),
        };
        write_page(out, flags, granule, link.serial, link.sequence, packets);
        link.sequence = link.sequence.wrapping_add(1);
    }
}

impl Packaging for OggWriter {
    fn package(&mut self, frames: &[u8], marks: &Marks) -> Packaged {
        let mut out = BytesMut::with_capacity(frames.len() + frames.len() / 8 + 256);
        // One logical stream unless chaining: its first link never ends.
        let (begin_mark, ends) = match self.chain {
            true => (marks.begins.clone(), marks.ends),
            false => (None, None),
        };
        let begins = begin_mark.is_some() || self.link.is_none();
        if begins {
            // The stream's first link, when not chaining: joined wherever the station starts.
            let begin = begin_mark.unwrap_or_else(|| Begin {
                from_top: false,
                ..marks.begins.clone().unwrap_or_default()
            });
            self.begin(&begin, &mut out);
        }
        let link = self
            .link
            .as_ref()
            .map_or_else(Bytes::new, |l| l.preamble.clone());
        self.pages(frames, ends, &mut out);
        Packaged {
            data: out.freeze(),
            link: Link {
                id: self.links,
                preamble: link,
                begins,
            },
        }
    }
}

/// An `OpusTags` packet naming onair and, where known, the track's title and artist.
fn tags_packet(tags: &crate::format::TrackTags) -> Vec<u8> {
    let comments: Vec<String> = [("TITLE", &tags.title), ("ARTIST", &tags.artist)]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key}={v}")))
        .collect();
    let mut out = b"OpusTags".to_vec();
    out.extend_from_slice(&(VENDOR.len() as u32).to_le_bytes());
    out.extend_from_slice(VENDOR.as_bytes());
    out.extend_from_slice(&(comments.len() as u32).to_le_bytes());
    for comment in comments {
        out.extend_from_slice(&(comment.len() as u32).to_le_bytes());
        out.extend_from_slice(comment.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ogg::{scan_page, Packets, PageScan};
    use crate::format::opus::OpusTags;
    use crate::format::opus_packet::carry;
    use crate::format::TrackTags;

    fn pages_of(stream: &[u8]) -> Vec<(crate::format::PageHeader, Bytes)> {
        let mut at = 0;
        let mut out = Vec::new();
        while at < stream.len() {
            let PageScan::Page(h) = scan_page(&stream[at..], true) else {
                panic!("a page at {at}")
            };
            out.push((h, Bytes::copy_from_slice(&stream[at..at + h.page_len()])));
            at += h.page_len();
        }
        out
    }

    #[test]
    fn links_start_at_encodes_and_end_with_their_padding_left_out() {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]);
        let mut writer = OggWriter::new("jazz", &head, true).expect("head");
        let mut chunk = BytesMut::new();
        // 300 packets of 20 ms: more lacing values than one page holds.
        for i in 0..300u32 {
            assert!(carry(&mut chunk, 2, &[31 << 3, i as u8, 7]));
        }
        // A track from its top, called "One", in one chunk that ends it with 648 samples of
        // padding.
        let begin = Begin {
            headers: Some(std::sync::Arc::from(vec![Bytes::from(head.clone())])),
            from_top: true,
            tags: TrackTags {
                title: Some("One".into()),
                ..TrackTags::default()
            },
        };
        let first = writer.package(
            &chunk,
            &Marks {
                begins: Some(begin),
                ends: Some(648),
            },
        );
        assert!(first.link.begins);
        assert!(first.data.starts_with(&first.link.preamble));
        let pages = pages_of(&first.data);
        let flags: Vec<u8> = pages.iter().map(|(h, _)| h.flags).collect();
        let granules: Vec<u64> = pages.iter().map(|(h, _)| h.granule).collect();
        assert_eq!(flags, vec![BOS, 0, 0, EOS]);
        assert_eq!(granules, vec![0, 0, 255 * 960, 300 * 960 - 648]);
        let mut packets = Vec::new();
        let mut reader = Packets::default();
        for (h, page) in &pages {
            reader.push(h, page, &mut packets).expect("packets");
        }
        assert_eq!(OpusHead::parse(&packets[0]).expect("head").pre_skip, 312);
        assert_eq!(
            OpusTags::parse(&packets[1]).expect("tags").title.as_deref(),
            Some("One")
        );
        assert_eq!(packets.len(), 302);
        // The next chunk carries no mark: the closed link is followed by a new one, joined in
        // the middle (no pre-skip), with another serial number; its pages count from 0 again.
        let second = writer.package(&chunk[..7], &Marks::default());
        assert!(second.link.begins && second.link.id == 2);
        let pages = pages_of(&second.data);
        assert_ne!(pages[0].0.serial, first_serial(&first.data));
        assert_eq!(pages[2].0.granule, 960);
        let mut packets = Vec::new();
        let mut reader = Packets::default();
        for (h, page) in &pages {
            reader.push(h, page, &mut packets).expect("packets");
        }
        assert_eq!(OpusHead::parse(&packets[0]).expect("head").pre_skip, 0);
        // A chunk that goes on stays in the link, and says which link a joiner needs.
        let third = writer.package(&chunk[..7], &Marks::default());
        assert!(!third.link.begins && third.link.id == 2);
        assert_eq!(third.link.preamble, second.link.preamble);
        assert_eq!(pages_of(&third.data)[0].0.sequence, 3);
        assert!(OggWriter::new("jazz", b"OpusTags", true).is_none());
        // Not chaining: one logical stream, whatever the marks say.
        let mut one = OggWriter::new("jazz", &head, false).expect("head");
        let begin = Marks {
            begins: Some(Begin::default()),
            ends: Some(648),
        };
        let a = one.package(&chunk[..7], &begin);
        let b = one.package(&chunk[..7], &begin);
        assert!(a.link.begins && !b.link.begins && b.link.id == 1);
        let pages = pages_of(&b.data);
        assert_eq!((pages[0].0.flags, pages[0].0.granule), (0, 1920));
    }

    fn first_serial(stream: &[u8]) -> u32 {
        pages_of(stream)[0].0.serial
    }
}
