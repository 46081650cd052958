//! A station's own FLAC stream, written once per station as its chunks are published, never
//! per listener: FLAC in Ogg (the mapping of xiph.org's "FLAC to Ogg" document, as Icecast
//! serves FLAC and as FLAC radio streams go out), one logical stream for as long as the station
//! is on air, whatever plays (tracks, live sources, relays).
//!
//! Why Ogg rather than native FLAC: a native stream's timestamps are its frames' own numbers,
//! which players read as time (ffmpeg's FLAC parser, and Chromium through it): a station's
//! stream would start listeners hours in, refuse them once its numbers pass 2^31 (ffmpeg reads
//! no longer coded number), and silence Chromium for good where the numbers wrap (both
//! measured). Ogg's granule positions are 64-bit, and players take time from them.
//!
//! The first page holds the mapping's first packet (`0x7F FLAC`, version 1.0, one header packet
//! to follow, `fLaC` and a `STREAMINFO` for a stream of any length and block size), the second
//! a `VORBIS_COMMENT` block; then every frame is a packet, its header numbered again by its
//! first sample (modulo 2^31) and both CRCs made anew, so that decoders that check numbers
//! see them follow on across every switch.

use bytes::{Bytes, BytesMut};

use super::flac::{
    self, block_header, StreamInfo, BLOCK_COMMENT, BLOCK_STREAMINFO, MAGIC, STREAMINFO_LEN,
};
use super::flac_frame::carried;
use super::ogg::{write_page, BOS};
use super::ogg_pager::Pager;
use crate::broadcast::{Link, Marks, Packaged, Packaging};

/// What a station's stream says made it.
const VENDOR: &str = "onair";

/// Writes a station's FLAC stream, in Ogg.
#[derive(Debug)]
pub struct FlacWriter {
    /// The stream's serial number (from the station's name).
    serial: u32,
    /// Its two header pages: what a listener gets first (empty until known).
    preamble: Bytes,
    /// The audio pages' writer, once the header pages are out.
    pager: Option<Pager>,
    /// Samples written: the granule position, and (modulo 2^31) the next frame's number.
    samples: u64,
}

impl FlacWriter {
    /// The stream of station `station`, whose first track's `STREAMINFO` is `streaminfo` (its
    /// rate, channels and sample size); where there is none (a stream read from its frames),
    /// the first frame published says them.
    pub fn new(station: &str, streaminfo: Option<&[u8]>) -> FlacWriter {
        let serial = super::ogg::serial_base(station);
        FlacWriter {
            serial,
            preamble: streaminfo
                .and_then(StreamInfo::parse)
                .map_or_else(Bytes::new, |info| preamble(serial, &info)),
            pager: None,
            samples: 0,
        }
    }
}

/// The header pages of stream `serial` saying `info`'s rate, channels and sample size.
fn preamble(serial: u32, info: &StreamInfo) -> Bytes {
    let mut first = vec![0x7F];
    first.extend_from_slice(b"FLAC");
    // Mapping version 1.0, and one header packet (the comments) after this one.
    first.extend_from_slice(&[1, 0, 0, 1]);
    first.extend_from_slice(MAGIC);
    first.extend_from_slice(&block_header(false, BLOCK_STREAMINFO, STREAMINFO_LEN));
    first.extend_from_slice(&info.endless());
    let mut comments = Vec::new();
    comments.extend_from_slice(&(VENDOR.len() as u32).to_le_bytes());
    comments.extend_from_slice(VENDOR.as_bytes());
    comments.extend_from_slice(&0u32.to_le_bytes());
    let mut second = block_header(true, BLOCK_COMMENT, comments.len()).to_vec();
    second.extend_from_slice(&comments);
    let mut out = BytesMut::new();
    write_page(&mut out, BOS, 0, serial, 0, &[&first]);
    write_page(&mut out, 0, 0, serial, 1, &[&second]);
    out.freeze()
}

impl Packaging for FlacWriter {
    fn package(&mut self, frames: &[u8], _marks: &Marks) -> Packaged {
        if self.preamble.is_empty() {
            if let Some(first) = carried(frames).find_map(|f| flac::parse_header(f).ok()) {
                let info = StreamInfo {
                    min_block: 16,
                    max_block: u16::MAX,
                    max_frame: 0,
                    sample_rate: first.sample_rate,
                    channels: first.channels,
                    bits: first.bits,
                    total: 0,
                };
                self.preamble = preamble(self.serial, &info);
            }
        }
        let mut out = BytesMut::with_capacity(frames.len() + frames.len() / 64 + 256);
        let begins = self.pager.is_none();
        if begins {
            out.extend_from_slice(&self.preamble);
        }
        let pager = self.pager.get_or_insert_with(|| Pager::new(self.serial, 2));
        // The frames numbered again, one after another in one buffer, then paged.
        let mut renumbered = BytesMut::with_capacity(frames.len() + 64);
        let mut ends = Vec::new();
        for frame in carried(frames) {
            let Ok(header) = flac::parse_header(frame) else {
                continue;
            };
            if flac::rewrite(frame, &header, true, self.samples, &mut renumbered) {
                self.samples += u64::from(header.samples);
                ends.push((renumbered.len(), self.samples));
            }
        }
        let mut packets = Vec::with_capacity(ends.len());
        let mut from = 0;
        for (end, granule) in ends {
            packets.push((&renumbered[from..end], granule));
            from = end;
        }
        pager.write(&mut out, &packets, 0);
        Packaged {
            data: out.freeze(),
            link: Link {
                id: 1,
                preamble: self.preamble.clone(),
                begins,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::flac::{crc16, parse_header};
    use crate::format::flac_frame::carry;
    use crate::format::ogg::{scan_page, Packets, PageScan};
    use crate::format::silence::flac_silence as silent_native;
    use crate::format::{Format, Kind};

    fn packets_of(stream: &[u8]) -> (Vec<Bytes>, Vec<u64>) {
        let (mut at, mut packets, mut reader) = (0, Vec::new(), Packets::default());
        let mut granules = Vec::new();
        while at < stream.len() {
            let PageScan::Page(header) = scan_page(&stream[at..], true) else {
                panic!("a page at {at}");
            };
            let page = Bytes::copy_from_slice(&stream[at..at + header.page_len()]);
            reader.push(&header, &page, &mut packets).expect("packets");
            granules.push(header.granule);
            at += header.page_len();
        }
        (packets, granules)
    }

    #[test]
    fn frames_go_out_in_ogg_numbered_on_by_their_first_sample() {
        let format = Format {
            kind: Kind::Flac { bits: 16 },
            sample_rate: 48_000,
            channels: 2,
        };
        let info = StreamInfo {
            min_block: 4096,
            max_block: 4096,
            max_frame: 0,
            sample_rate: 48_000,
            channels: 2,
            bits: 16,
            total: 0,
        };
        let mut writer = FlacWriter::new("lossless", Some(&info.endless()));
        // Two tracks' frames, each numbered from 0 by its own encoder.
        let mut chunk = BytesMut::new();
        for number in [0, 1, 2, 0, 1] {
            carry(&mut chunk, &silent_native(&format, number).expect("frame"));
        }
        let first = writer.package(&chunk, &Marks::default());
        assert!(first.link.begins && first.data.starts_with(&first.link.preamble));
        let second = writer.package(&chunk, &Marks::default());
        assert!(!second.link.begins && second.link.id == 1);
        assert_eq!(second.link.preamble, first.link.preamble);
        let (packets, granules) = packets_of(&first.data);
        // The mapping's first packet: FLAC 1.0, one header packet after it, the STREAMINFO.
        assert!(packets[0].starts_with(b"\x7fFLAC\x01\x00\x00\x01fLaC\x00\x00\x00\x22"));
        let streaminfo = StreamInfo::parse(&packets[0][17..]).expect("streaminfo");
        assert_eq!((streaminfo.sample_rate, streaminfo.bits), (48_000, 16));
        assert_eq!(
            packets[1][0],
            0x80 | BLOCK_COMMENT,
            "the last metadata block"
        );
        assert_eq!(granules, vec![0, 0, 5 * 4096]);
        let (more, granules) = packets_of(&second.data);
        assert_eq!(granules, vec![10 * 4096]);
        let numbers: Vec<u64> = packets[2..]
            .iter()
            .chain(more.iter())
            .map(|frame| {
                assert_eq!(crc16(frame), 0, "its CRC made anew");
                let header = parse_header(frame).expect("a frame");
                assert!(header.variable);
                header.number
            })
            .collect();
        let expected: Vec<u64> = (0..10).map(|i| i * 4096).collect();
        assert_eq!(numbers, expected);
        // Without a STREAMINFO, the first frame says what the stream is.
        let mut bare = FlacWriter::new("lossless", None);
        let first_bare = bare.package(&chunk, &Marks::default());
        assert_eq!(first_bare.link.preamble, first.link.preamble);
        // Numbers wrap at 2^31 (ffmpeg reads no longer number); granules do not.
        writer.samples = (1 << 31) - 4096;
        writer.package(&chunk[..chunk.len() / 5], &Marks::default());
        let wrapped = writer.package(&chunk[..chunk.len() / 5], &Marks::default());
        let (frames, granules) = packets_of(&wrapped.data);
        assert_eq!(parse_header(&frames[0]).map(|h| h.number), Ok(0));
        assert_eq!(granules, vec![(1 << 31) + 4096]);
    }
}
