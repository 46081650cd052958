//! Ogg pages (RFC 3533): found in a byte stream, checked, and taken apart into packets.
//!
//! A page is `OggS`, a 27-byte header (version, flags, granule position, serial number, page
//! sequence number, CRC), a segment table of lacing values and the body they measure. A packet
//! is the bytes of consecutive lacing values up to one below 255; one that ends a page with 255
//! goes on in the next page (flagged as continued). A page is accepted only whole and with the
//! CRC its header gives (computed over the page with that field zeroed), so a false `OggS` in
//! audio or a damaged page is skipped and the scan resynchronises on the next capture pattern.

use bytes::{Bytes, BytesMut};

/// The capture pattern every page starts with.
pub const CAPTURE: &[u8; 4] = b"OggS";

/// Bytes of a page header before its segment table.
pub const HEADER_LEN: usize = 27;

/// Header flag: the page's first packet goes on from the previous page.
pub const CONTINUED: u8 = 0x01;
/// Header flag: the first page of a logical stream.
pub const BOS: u8 = 0x02;
/// Header flag: the last page of a logical stream.
pub const EOS: u8 = 0x04;

/// Ogg's CRC-32 (RFC 3533 section 6): polynomial 0x04C11DB7, not reflected, initial value 0, no
/// final XOR (no catalogued CRC-32 has these parameters).
const OGG_CRC: crc::Algorithm<u32> = crc::Algorithm {
    width: 32,
    poly: 0x04c1_1db7,
    init: 0,
    refin: false,
    refout: false,
    xorout: 0,
    check: 0x89a1_897f,
    residue: 0,
};

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&OGG_CRC);

/// The CRC of a whole page, its CRC field counted as zeros.
pub fn page_crc(page: &[u8]) -> u32 {
    let mut digest = CRC.digest();
    digest.update(&page[..22]);
    digest.update(&[0; 4]);
    digest.update(&page[26..]);
    digest.finalize()
}

/// A page header, read from a whole page whose CRC matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageHeader {
    /// [`CONTINUED`], [`BOS`], [`EOS`].
    pub flags: u8,
    /// The granule position (codec-defined; for Opus, 48 kHz samples up to the end of the last
    /// packet that ends on this page); `u64::MAX` (-1) when no packet ends here.
    pub granule: u64,
    /// The logical stream's serial number.
    pub serial: u32,
    /// The page's number in its logical stream.
    pub sequence: u32,
    /// Lacing values.
    pub segments: u8,
    /// Header and segment table.
    pub header_len: usize,
    /// The body.
    pub body_len: usize,
}

impl PageHeader {
    /// The whole page's length.
    pub fn page_len(&self) -> usize {
        self.header_len + self.body_len
    }
}

/// What the start of a buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageScan {
    /// A whole page with a good CRC.
    Page(PageHeader),
    /// Bytes that start no page (or a damaged one): drop them and scan on.
    Skip(usize),
    /// The buffer ends inside what may be a page.
    NeedMore,
    /// At the end of the stream: a page cut short.
    Truncated,
}

/// Classifies the bytes at the start of `buf`; `at_end` says no bytes follow it.
pub fn scan_page(buf: &[u8], at_end: bool) -> PageScan {
    if buf.is_empty() {
        return PageScan::NeedMore;
    }
    let n = buf.len().min(CAPTURE.len());
    if buf[..n] != CAPTURE[..n] {
        return PageScan::Skip(skip_to_capture(buf));
    }
    let short = if at_end {
        PageScan::Truncated
    } else {
        PageScan::NeedMore
    };
    if buf.len() < HEADER_LEN {
        return short;
    }
    if buf[4] != 0 || buf[5] & !(CONTINUED | BOS | EOS) != 0 {
        return PageScan::Skip(1);
    }
    let segments = buf[26];
    let header_len = HEADER_LEN + usize::from(segments);
    if buf.len() < header_len {
        return short;
    }
    let body_len: usize = buf[HEADER_LEN..header_len]
        .iter()
        .map(|&v| usize::from(v))
        .sum();
    let len = header_len + body_len;
    if buf.len() < len {
        // A damaged header may claim a length the rest of the stream never gives: at the end,
        // look for a page after this capture pattern instead.
        return if at_end { PageScan::Skip(1) } else { short };
    }
    let page = &buf[..len];
    let stored = u32::from_le_bytes([page[22], page[23], page[24], page[25]]);
    if page_crc(page) != stored {
        return PageScan::Skip(1);
    }
    let u32_at = |i: usize| u32::from_le_bytes([page[i], page[i + 1], page[i + 2], page[i + 3]]);
    PageScan::Page(PageHeader {
        flags: buf[5],
        granule: u64::from(u32_at(6)) | (u64::from(u32_at(10)) << 32),
        serial: u32_at(14),
        sequence: u32_at(18),
        segments,
        header_len,
        body_len,
    })
}

/// Bytes before the next possible capture pattern (keeping a possible partial one at the end).
fn skip_to_capture(buf: &[u8]) -> usize {
    (1..buf.len())
        .find(|&i| {
            let n = (buf.len() - i).min(CAPTURE.len());
            buf[i..i + n] == CAPTURE[..n]
        })
        .unwrap_or(buf.len())
}

/// Packets out of the pages of one logical stream, in order: whole ones sliced from their page,
/// one that spans pages put together.
#[derive(Debug, Default)]
pub struct Packets {
    /// The start of a packet that goes on in the next page.
    partial: BytesMut,
    /// A partial packet is being put together (its page ended with a lacing value of 255).
    open: bool,
    /// The sequence number of the last page pushed: a gap means a page was lost, and a packet
    /// begun before it cannot be completed.
    last_sequence: Option<u32>,
}

/// The longest packet put together across pages (a comment header with cover art may be
/// megabytes; audio packets are a few hundred bytes).
pub const MAX_PACKET: usize = 16 * 1024 * 1024;

/// Why a page's packets cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    /// A packet longer than [`MAX_PACKET`].
    TooLong,
}

impl Packets {
    /// The packets that end in `page` (a whole page whose header is `header`), in order; a
    /// packet left open at its end is kept for the next page.
    pub fn push(
        &mut self,
        header: &PageHeader,
        page: &Bytes,
        out: &mut Vec<Bytes>,
    ) -> Result<(), PacketError> {
        let lacing = &page[HEADER_LEN..header.header_len];
        let continued = header.flags & CONTINUED != 0;
        let lost = self
            .last_sequence
            .is_some_and(|last| header.sequence != last.wrapping_add(1));
        self.last_sequence = Some(header.sequence);
        if lost && self.open {
            self.partial.clear();
            self.open = false;
        }
        // A continuation nobody began (reading started at this page, or the page with its
        // beginning was lost) is dropped; so is a beginning whose continuation never came.
        let mut dropping = continued && !self.open;
        if !continued && self.open {
            self.partial.clear();
            self.open = false;
        }
        let mut at = header.header_len;
        let mut start = at;
        for &value in lacing {
            at += usize::from(value);
            if value == 255 {
                continue;
            }
            // A packet ends at `at`.
            if dropping {
                dropping = false;
            } else if self.open {
                self.take_on(&page[start..at])?;
                out.push(std::mem::take(&mut self.partial).freeze());
                self.open = false;
            } else {
                out.push(page.slice(start..at));
            }
            start = at;
        }
        if start < at || lacing.last() == Some(&255) {
            // The page ends inside a packet: kept for the next page (unless it is the rest of
            // one being dropped, whose next part is dropped too).
            if !dropping {
                self.take_on(&page[start..at])?;
                self.open = true;
            }
        }
        Ok(())
    }

    fn take_on(&mut self, bytes: &[u8]) -> Result<(), PacketError> {
        if self.partial.len() + bytes.len() > MAX_PACKET {
            self.partial.clear();
            self.open = false;
            return Err(PacketError::TooLong);
        }
        self.partial.extend_from_slice(bytes);
        Ok(())
    }
}

/// Writes one page of `packets` (each whole, at most 255 lacing values in all) for logical
/// stream `serial`: sequence number `sequence`, granule position `granule`, `flags`.
pub fn write_page(
    out: &mut BytesMut,
    flags: u8,
    granule: u64,
    serial: u32,
    sequence: u32,
    packets: &[&[u8]],
) {
    let start = out.len();
    out.extend_from_slice(CAPTURE);
    out.extend_from_slice(&[0, flags]);
    out.extend_from_slice(&granule.to_le_bytes());
    out.extend_from_slice(&serial.to_le_bytes());
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let lacing: Vec<u8> = packets
        .iter()
        .flat_map(|p| {
            let full = p.len() / 255;
            std::iter::repeat_n(255u8, full).chain(std::iter::once((p.len() % 255) as u8))
        })
        .collect();
    debug_assert!(lacing.len() <= 255, "a page of at most 255 lacing values");
    out.extend_from_slice(&[lacing.len() as u8]);
    out.extend_from_slice(&lacing);
    for packet in packets {
        out.extend_from_slice(packet);
    }
    let crc = page_crc(&out[start..]);
    out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
}

/// The base of a station's Ogg serial numbers: a hash of its name (FNV-1a), the same on every
/// replica, so that the streams replicas write agree.
pub fn serial_base(station: &str) -> u32 {
    station.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The codec a logical stream's first packet names, if it is one onair knows of.
pub fn codec_of(packet: &[u8]) -> Option<&'static str> {
    [
        (&b"OpusHead"[..], "Opus"),
        (b"\x01vorbis", "Vorbis"),
        (b"\x7fFLAC", "FLAC"),
        (b"Speex   ", "Speex"),
        (b"\x80theora", "Theora video"),
        (b"OVP80", "VP8 video"),
    ]
    .into_iter()
    .find(|(magic, _)| packet.starts_with(magic))
    .map(|(_, name)| name)
}

/// Lacing values a packet of `len` bytes takes.
pub fn lacing_values(len: usize) -> usize {
    len / 255 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(flags: u8, granule: u64, sequence: u32, packets: &[&[u8]]) -> Bytes {
        let mut out = BytesMut::new();
        write_page(&mut out, flags, granule, 7, sequence, packets);
        out.freeze()
    }

    fn packets_of(pages: &[Bytes]) -> Vec<Vec<u8>> {
        let mut packets = Packets::default();
        let mut out = Vec::new();
        for p in pages {
            let PageScan::Page(header) = scan_page(p, true) else {
                panic!("a page");
            };
            assert_eq!(header.page_len(), p.len());
            packets.push(&header, p, &mut out).expect("packets");
        }
        out.iter().map(|b| b.to_vec()).collect()
    }

    #[test]
    fn the_crc_is_ogg_s() {
        assert_eq!(CRC.checksum(b"123456789"), 0x89a1_897f);
        // The first page of an Ogg stream written by libogg (the ogg crate's test vector).
        let page = [
            0x4f, 0x67, 0x67, 0x53, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0x74, 0xa3, 0x90, 0x5b, 0,
            0, 0, 0, 0x6d, 0x94, 0x4e, 0x3d, 0x01, 0x1e, 0x01, 0x76, 0x6f, 0x72, 0x62, 0x69, 0x73,
            0, 0, 0, 0, 0x02, 0x44, 0xac, 0, 0, 0, 0, 0, 0, 0x80, 0xb5, 0x01, 0, 0, 0, 0, 0, 0xb8,
            0x01,
        ];
        assert_eq!(page_crc(&page), 0x3d4e_946d);
        assert!(matches!(scan_page(&page, true), PageScan::Page(h) if h.flags == BOS));
    }

    #[test]
    fn pages_are_found_checked_and_resynchronised() {
        let p = page(BOS, 0, 0, &[b"hello"]);
        let PageScan::Page(h) = scan_page(&p, false) else {
            panic!("a page")
        };
        assert_eq!((h.serial, h.sequence, h.granule, h.body_len), (7, 0, 0, 5));
        // Cut short: more is needed, or at the end, it is truncated.
        assert_eq!(scan_page(&p[..10], false), PageScan::NeedMore);
        assert_eq!(scan_page(&p[..30], false), PageScan::NeedMore);
        assert_eq!(scan_page(&p[..30], true), PageScan::Skip(1));
        assert_eq!(scan_page(&p[..10], true), PageScan::Truncated);
        // Garbage before a page is skipped up to its capture pattern.
        assert_eq!(scan_page(b"xxOgxOggS", false), PageScan::Skip(5));
        assert_eq!(scan_page(b"OgxOggS", false), PageScan::Skip(3));
        // One flipped bit: the CRC says so.
        let mut bad = p.to_vec();
        bad[30] ^= 1;
        assert_eq!(scan_page(&bad, false), PageScan::Skip(1));
        // A partial capture pattern at the end is kept.
        assert_eq!(scan_page(b"abcOg", false), PageScan::Skip(3));
    }

    #[test]
    fn packets_are_whole_across_pages_and_lacing() {
        let long = vec![9u8; 600];
        let exact = vec![8u8; 255];
        // A 600-byte packet split over two pages, a 255-byte one (laced 255, 0), a small one.
        let mut first = BytesMut::new();
        write_page(&mut first, BOS, 0, 7, 0, &[b"a"]);
        let head = page(0, 0, 1, &[b"bc"]);
        // Built by hand: the long packet's first 510 bytes end page 2.
        let mut two = BytesMut::new();
        two.extend_from_slice(CAPTURE);
        two.extend_from_slice(&[0, 0]);
        two.extend_from_slice(&u64::MAX.to_le_bytes());
        two.extend_from_slice(&7u32.to_le_bytes());
        two.extend_from_slice(&2u32.to_le_bytes());
        two.extend_from_slice(&[0; 4]);
        two.extend_from_slice(&[2, 255, 255]);
        two.extend_from_slice(&long[..510]);
        let crc = page_crc(&two);
        two[22..26].copy_from_slice(&crc.to_le_bytes());
        let mut three = BytesMut::new();
        three.extend_from_slice(CAPTURE);
        three.extend_from_slice(&[0, CONTINUED]);
        three.extend_from_slice(&100u64.to_le_bytes());
        three.extend_from_slice(&7u32.to_le_bytes());
        three.extend_from_slice(&3u32.to_le_bytes());
        three.extend_from_slice(&[0; 4]);
        three.extend_from_slice(&[4, 90, 255, 0, 1]);
        three.extend_from_slice(&long[510..]);
        three.extend_from_slice(&exact);
        three.extend_from_slice(b"z");
        let crc = page_crc(&three);
        three[22..26].copy_from_slice(&crc.to_le_bytes());
        let pages = [first.freeze(), head, two.freeze(), three.freeze()];
        let packets = packets_of(&pages);
        assert_eq!(packets.len(), 5, "a, bc, long, exact, z");
        assert_eq!(packets[0], b"a");
        assert_eq!(packets[1], b"bc");
        assert_eq!(packets[2], long);
        assert_eq!(packets[3], exact);
        assert_eq!(packets[4], b"z");
        // Read from page 3 on: the continuation is dropped, the rest whole.
        let from_three = packets_of(&pages[3..]);
        assert_eq!(from_three.len(), 2);
        assert_eq!(from_three[0], exact);
        // Page 2 lost: its continuation in page 3 is dropped with it.
        let lost = packets_of(&[pages[0].clone(), pages[1].clone(), pages[3].clone()]);
        assert_eq!(lost.len(), 4);
    }

    #[test]
    fn written_pages_read_back() {
        let big = vec![1u8; 300];
        let p = page(EOS, 960, 5, &[&big, b"x", b""]);
        let PageScan::Page(h) = scan_page(&p, true) else {
            panic!("a page")
        };
        assert_eq!(
            (h.flags, h.granule, h.sequence, h.segments),
            (EOS, 960, 5, 4)
        );
        assert_eq!(lacing_values(300) + lacing_values(1) + lacing_values(0), 4);
        let mut packets = Packets::default();
        let mut out = Vec::new();
        packets.push(&h, &p, &mut out).expect("packets");
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].len(), 300);
    }

    /// A page with any lacing over `body`.
    fn laced(flags: u8, sequence: u32, lacing: &[u8], body: &[u8]) -> Bytes {
        let mut page = BytesMut::new();
        page.extend_from_slice(CAPTURE);
        page.extend_from_slice(&[0, flags]);
        page.extend_from_slice(&u64::MAX.to_le_bytes());
        page.extend_from_slice(&7u32.to_le_bytes());
        page.extend_from_slice(&sequence.to_le_bytes());
        page.extend_from_slice(&[0; 4]);
        page.extend_from_slice(&[lacing.len() as u8]);
        page.extend_from_slice(lacing);
        page.extend_from_slice(body);
        let crc = page_crc(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        page.freeze()
    }

    #[test]
    fn a_lost_page_in_the_middle_of_a_packet_loses_that_packet_only() {
        let begin = laced(0, 1, &[255], &[1; 255]);
        let middle = laced(CONTINUED, 2, &[255], &[2; 255]);
        let end = laced(
            CONTINUED,
            3,
            &[10, 3],
            &[[3u8; 10], [4u8; 10]].concat()[..13],
        );
        let whole = packets_of(&[begin.clone(), middle, end.clone()]);
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0].len(), 520);
        // The middle page lost: the packet it carried part of is dropped, never stitched from
        // the parts around the hole; the next packet is whole.
        let holed = packets_of(&[begin, end]);
        assert_eq!(holed, vec![vec![4u8; 3]]);
    }
}
