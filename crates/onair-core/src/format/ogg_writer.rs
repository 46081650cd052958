//! A station's own Ogg pages: one logical stream per station, written once per station as its
//! chunks are published, never per listener.
//!
//! Every listener first gets the station's header pages (its `OpusHead` on a `BOS` page, then
//! an `OpusTags` page of its own), then the shared pages of the broadcast. Across track changes,
//! the loop point and live switches the logical stream goes on: one serial number, page
//! sequence numbers and granule positions counting on, so that a player sees one continuous
//! stream (a listener who joins mid-stream sees the sequence jump from its header pages to the
//! broadcast's, as with every Ogg server).

use bytes::{Bytes, BytesMut};

use super::ogg::{lacing_values, write_page, BOS};
use super::opus::{tags_packet, OpusHead};
use super::opus_packet::carried;

/// What a station's stream says made it.
const VENDOR: &str = "onair";

/// Writes a station's Ogg Opus stream.
#[derive(Debug)]
pub struct OggWriter {
    serial: u32,
    /// The next page's sequence number.
    sequence: u32,
    /// 48 kHz samples published so far (the granule position of the last page written).
    granule: u64,
    /// The header pages every listener gets first.
    preamble: Bytes,
}

impl OggWriter {
    /// The stream of station `station`, of the stream whose `OpusHead` is `head` (its first
    /// track's: channel count and mapping). The serial number comes from the station's name, so
    /// that it is the same on every replica and after a restart.
    pub fn new(station: &str, head: &[u8]) -> Option<OggWriter> {
        OpusHead::parse(head).ok()?;
        let serial = station.bytes().fold(0x811c_9dc5u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        let mut preamble = BytesMut::new();
        write_page(&mut preamble, BOS, 0, serial, 0, &[head]);
        write_page(&mut preamble, 0, 0, serial, 1, &[&tags_packet(VENDOR)]);
        Some(OggWriter {
            serial,
            sequence: 2,
            granule: 0,
            preamble: preamble.freeze(),
        })
    }

    /// The header pages a listener gets before anything else.
    pub fn preamble(&self) -> Bytes {
        self.preamble.clone()
    }

    /// The pages of a chunk of carried packets: as few as the lacing allows (255 values a
    /// page), each with the granule position after its last packet.
    pub fn pages(&mut self, chunk: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(chunk.len() + chunk.len() / 8 + 64);
        let mut page: Vec<&[u8]> = Vec::new();
        let mut lacing = 0;
        let mut samples = 0u64;
        for (packet, n) in carried(chunk) {
            let values = lacing_values(packet.len());
            if lacing + values > 255 && !page.is_empty() {
                self.flush(&mut out, &page, samples);
                (page, lacing, samples) = (Vec::new(), 0, 0);
            }
            page.push(packet);
            lacing += values;
            samples += u64::from(n);
        }
        if !page.is_empty() {
            self.flush(&mut out, &page, samples);
        }
        out.freeze()
    }

    fn flush(&mut self, out: &mut BytesMut, packets: &[&[u8]], samples: u64) {
        self.granule += samples;
        write_page(out, 0, self.granule, self.serial, self.sequence, packets);
        self.sequence = self.sequence.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ogg::{scan_page, Packets, PageScan};
    use crate::format::opus_packet::carry;

    #[test]
    fn pages_carry_the_packets_with_counting_granules_and_sequence() {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]);
        let mut writer = OggWriter::new("jazz", &head).expect("head");
        let mut chunk = BytesMut::new();
        // 300 packets of 20 ms: more lacing values than one page holds.
        for i in 0..300u32 {
            assert!(carry(&mut chunk, 2, &[31 << 3, i as u8, 7]));
        }
        let pages = writer.pages(&chunk);
        let preamble = writer.preamble();
        let mut stream = preamble.to_vec();
        stream.extend_from_slice(&pages);
        let mut at = 0;
        let (mut sequences, mut granules, mut packets) = (Vec::new(), Vec::new(), Vec::new());
        let mut reader = Packets::default();
        while at < stream.len() {
            let PageScan::Page(h) = scan_page(&stream[at..], true) else {
                panic!("a page at {at}")
            };
            let page = Bytes::copy_from_slice(&stream[at..at + h.page_len()]);
            reader.push(&h, &page, &mut packets).expect("packets");
            sequences.push(h.sequence);
            granules.push(h.granule);
            at += h.page_len();
        }
        assert_eq!(sequences, vec![0, 1, 2, 3]);
        assert_eq!(granules, vec![0, 0, 255 * 960, 300 * 960]);
        assert_eq!(packets.len(), 302, "head, tags, 300 packets");
        assert!(packets[0].starts_with(b"OpusHead"));
        assert!(packets[1].starts_with(b"OpusTags"));
        assert_eq!(packets[301][1], 299u32 as u8);
        // The next chunk goes on counting.
        let next = writer.pages(&chunk[..7]);
        let PageScan::Page(h) = scan_page(&next, true) else {
            panic!("a page")
        };
        assert_eq!((h.sequence, h.granule), (4, 301 * 960));
        assert!(OggWriter::new("jazz", b"OpusTags").is_none());
    }
}
