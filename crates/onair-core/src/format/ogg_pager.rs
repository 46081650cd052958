//! Packets of any length put into the pages of one logical stream: as few pages as the lacing
//! allows (255 values a page), a packet longer than what is left of a page going on in the next
//! (flagged as continued), each page's granule position the one at the end of the last packet
//! that ends on it (-1 where none does).

use bytes::BytesMut;

use super::ogg::{page_crc, CAPTURE, CONTINUED};

/// Writes the pages of one logical stream.
#[derive(Debug)]
pub struct Pager {
    serial: u32,
    /// The next page's sequence number.
    sequence: u32,
}

/// A page being filled.
#[derive(Default)]
struct Page<'a> {
    lacing: Vec<u8>,
    body: Vec<&'a [u8]>,
    granule: Option<u64>,
    continued: bool,
}

impl Pager {
    /// The pages of stream `serial`, numbered from `sequence`.
    pub fn new(serial: u32, sequence: u32) -> Pager {
        Pager { serial, sequence }
    }

    /// Appends pages holding `packets`, each with the granule position at its end; the last
    /// page also carries `last_flags` (`EOS`).
    pub fn write(&mut self, out: &mut BytesMut, packets: &[(&[u8], u64)], last_flags: u8) {
        let mut page = Page::default();
        for &(packet, granule) in packets {
            let mut rest = packet;
            loop {
                let room = 255 - page.lacing.len();
                let full = rest.len() / 255;
                if full < room {
                    page.lacing.extend(std::iter::repeat_n(255, full));
                    page.lacing.push((rest.len() % 255) as u8);
                    page.body.push(rest);
                    page.granule = Some(granule);
                    break;
                }
                let (now, later) = rest.split_at(room * 255);
                page.lacing.extend(std::iter::repeat_n(255, room));
                page.body.push(now);
                rest = later;
                self.flush(out, &page, 0);
                page = Page {
                    continued: true,
                    ..Page::default()
                };
            }
            if page.lacing.len() == 255 {
                self.flush(out, &page, 0);
                page = Page::default();
            }
        }
        if !page.lacing.is_empty() {
            self.flush(out, &page, last_flags);
        }
    }

    fn flush(&mut self, out: &mut BytesMut, page: &Page<'_>, flags: u8) {
        let start = out.len();
        let flags = flags | if page.continued { CONTINUED } else { 0 };
        out.extend_from_slice(CAPTURE);
        out.extend_from_slice(&[0, flags]);
        out.extend_from_slice(&page.granule.unwrap_or(u64::MAX).to_le_bytes());
        out.extend_from_slice(&self.serial.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&[page.lacing.len() as u8]);
        out.extend_from_slice(&page.lacing);
        for piece in &page.body {
            out.extend_from_slice(piece);
        }
        let crc = page_crc(&out[start..]);
        out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
        self.sequence = self.sequence.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ogg::{scan_page, Packets, PageScan, EOS};
    use bytes::Bytes;

    #[test]
    fn long_packets_go_on_across_pages_and_read_back_whole() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let small = [7u8; 510];
        let packets: Vec<(&[u8], u64)> = vec![
            (&small, 10),
            (&big, 20),
            (&small[..3], 30),
            (&big[..65_025], 40),
        ];
        let mut out = BytesMut::new();
        let mut pager = Pager::new(9, 2);
        pager.write(&mut out, &packets, EOS);
        let (mut at, mut read, mut reader) = (0, Vec::new(), Packets::default());
        let mut pages = Vec::new();
        while at < out.len() {
            let PageScan::Page(header) = scan_page(&out[at..], true) else {
                panic!("a page at {at}");
            };
            let page = Bytes::copy_from_slice(&out[at..at + header.page_len()]);
            reader.push(&header, &page, &mut read).expect("packets");
            pages.push(header);
            at += header.page_len();
        }
        let lens: Vec<usize> = read.iter().map(|p| p.len()).collect();
        assert_eq!(lens, vec![510, 200_000, 3, 65_025]);
        assert_eq!(&read[1][..], &big[..]);
        assert_eq!(pages[0].sequence, 2);
        assert_eq!(
            pages[0].granule, 10,
            "only the small packet ends on the first page"
        );
        assert_eq!(pages[1].flags & CONTINUED, CONTINUED);
        assert_eq!(
            pages.last().map(|p| (p.flags & EOS, p.granule)),
            Some((EOS, 40))
        );
        assert!(pages.iter().any(|p| p.granule == u64::MAX));
    }
}
