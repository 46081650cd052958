//! Hostile Ogg: arbitrary bytes, real Ogg Opus and Ogg Vorbis files mutated at random (overwrites, insertions,
//! deletions, bit flips, a cut), lacing that claims a packet across hundreds of pages, and pages
//! of other streams: the Ogg Opus framing never panics, always terminates, and yields only
//! packets that were in the file, whole, with their durations.

use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use onair_core::ogg::{scan_page, Packets, PageScan};
use onair_core::testing::deframe_as;
use onair_core::{Codec, FrameHeader};
use proptest::prelude::*;

mod common;
use common::mutate;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/opus")
        .join(name);
    std::fs::read(path).expect("opus fixture")
}

/// The audio packets of an intact Ogg Opus file.
fn packets_of(file: &[u8]) -> Vec<Bytes> {
    let mut packets = packets_of_all(file);
    packets.split_off(2)
}

/// Every packet of an intact Ogg file.
fn packets_of_all(file: &[u8]) -> Vec<Bytes> {
    let (mut at, mut packets, mut reader) = (0, Vec::new(), Packets::default());
    while at < file.len() {
        let PageScan::Page(header) = scan_page(&file[at..], true) else {
            panic!("an intact file");
        };
        let page = Bytes::copy_from_slice(&file[at..at + header.page_len()]);
        reader.push(&header, &page, &mut packets).expect("packets");
        at += header.page_len();
    }
    packets
}

/// What the framing yields for `bytes` fed in blocks of `block`: each carried packet checked
/// (it parses, its length is its header's) and unwrapped.
fn framed(bytes: &[u8], block: usize) -> Vec<Bytes> {
    deframe_as(Codec::Opus, bytes, block)
        .into_iter()
        .map(|carried| {
            let header = Codec::Opus.parse(&carried).expect("a carried packet");
            let FrameHeader::Opus(packet) = header else {
                panic!("an Opus packet")
            };
            assert_eq!(packet.frame_length(), carried.len(), "whole");
            assert!(packet.samples > 0 && packet.samples <= 5760);
            carried.slice(3..)
        })
        .collect()
}

fn vorbis_fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/vorbis")
        .join(name);
    std::fs::read(path).expect("vorbis fixture")
}

/// The audio packets of an intact Ogg Vorbis file (after its three header packets).
fn vorbis_packets_of(file: &[u8]) -> Vec<Bytes> {
    let mut packets = packets_of_all(file);
    packets.split_off(3)
}

/// What the Vorbis framing yields for `bytes` in blocks of `block`: each carried packet checked
/// (it parses, its length is its header's, its duration one a Vorbis packet can have) and
/// unwrapped.
fn vorbis_framed(bytes: &[u8], block: usize) -> Vec<Bytes> {
    deframe_as(Codec::Vorbis, bytes, block)
        .into_iter()
        .map(|carried| {
            let header = Codec::Vorbis.parse(&carried).expect("a carried packet");
            let FrameHeader::Vorbis(packet) = header else {
                panic!("a Vorbis packet")
            };
            assert_eq!(packet.frame_length(), carried.len(), "whole");
            assert!(packet.samples() >= 32 && packet.samples() <= 4096);
            carried.slice(8..)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_never_break_the_ogg_framing(
        bytes in proptest::collection::vec(any::<u8>(), 0..6000),
        block in 1usize..5000,
    ) {
        let mut with_capture = b"OggS".to_vec();
        with_capture.extend_from_slice(&bytes);
        prop_assert!(framed(&bytes, block).is_empty() || !bytes.is_empty());
        framed(&with_capture, block);
    }

    #[test]
    fn a_mutated_opus_file_yields_only_its_own_packets(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..12),
        cut in any::<prop::sample::Index>(),
        block in 1usize..8192,
    ) {
        let file = fixture("01 One.opus");
        let original = packets_of(&file);
        let mut bytes = file.clone();
        mutate(&mut bytes, edits);
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep.max(bytes.len() / 2));
        for packet in framed(&bytes, block) {
            prop_assert!(original.contains(&packet), "a packet that was not in the file");
        }
    }

    #[test]
    fn a_mutated_vorbis_file_yields_only_its_own_packets(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..12),
        cut in any::<prop::sample::Index>(),
        block in 1usize..8192,
    ) {
        let file = vorbis_fixture("01 One.ogg");
        let original = vorbis_packets_of(&file);
        let mut bytes = file.clone();
        mutate(&mut bytes, edits);
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep.max(bytes.len() / 2));
        for packet in vorbis_framed(&bytes, block) {
            prop_assert!(original.contains(&packet), "a packet that was not in the file");
        }
    }

    #[test]
    fn an_intact_vorbis_file_comes_through_whole_in_any_block_size(block in 1usize..20_000) {
        let file = vorbis_fixture("03 Three.ogg");
        prop_assert_eq!(vorbis_framed(&file, block), vorbis_packets_of(&file));
    }

    #[test]
    fn an_intact_opus_file_comes_through_whole_in_any_block_size(block in 1usize..20_000) {
        let file = fixture("03 Three.opus");
        prop_assert_eq!(framed(&file, block), packets_of(&file));
    }
}

/// One page of `serial`, sequence `sequence`, whose lacing is `lacing` over `body`.
fn raw_page(flags: u8, serial: u32, sequence: u32, lacing: &[u8], body: &[u8]) -> Vec<u8> {
    let mut page = BytesMut::new();
    page.extend_from_slice(b"OggS");
    page.extend_from_slice(&[0, flags]);
    page.extend_from_slice(&u64::MAX.to_le_bytes());
    page.extend_from_slice(&serial.to_le_bytes());
    page.extend_from_slice(&sequence.to_le_bytes());
    page.extend_from_slice(&[0; 4]);
    page.extend_from_slice(&[lacing.len() as u8]);
    page.extend_from_slice(lacing);
    page.extend_from_slice(body);
    let crc = onair_core::ogg::page_crc(&page);
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    page.to_vec()
}

#[test]
fn a_packet_laced_across_hundreds_of_pages_is_refused_without_holding_it_all() {
    // The file's headers, then pages of 255 lacing values of 255 that never end a packet:
    // 17 MiB claimed as one packet.
    let file = fixture("01 One.opus");
    let mut bytes = Vec::new();
    let mut at = 0;
    for _ in 0..2 {
        let PageScan::Page(header) = scan_page(&file[at..], true) else {
            panic!("a page")
        };
        bytes.extend_from_slice(&file[at..at + header.page_len()]);
        at += header.page_len();
    }
    let PageScan::Page(first) = scan_page(&file, true) else {
        panic!("a page")
    };
    let body = vec![0x55u8; 255 * 255];
    for sequence in 2..280 {
        let flags = if sequence == 2 { 0 } else { 0x01 };
        bytes.extend_from_slice(&raw_page(flags, first.serial, sequence, &[255; 255], &body));
    }
    let mut framing = Codec::Opus.framing(0);
    framing.input().extend_from_slice(&bytes);
    framing.finish();
    while let onair_core::Next::Frame(header) = framing.peek() {
        framing.consume(&header);
    }
    assert!(
        framing
            .refusal()
            .is_some_and(|r| r.contains("longer than 16 MiB")),
        "{:?}",
        framing.refusal()
    );
}

#[test]
fn zero_and_backward_granules_and_a_chain_of_another_codec() {
    // Granules are not trusted for durations (each packet's own TOC is): a file whose pages all
    // say granule -1 or go backwards still plays every packet.
    let file = fixture("02 Two.opus");
    let original = packets_of(&file);
    let mut rewritten = Vec::new();
    let mut at = 0;
    let mut n = 0u64;
    while at < file.len() {
        let PageScan::Page(header) = scan_page(&file[at..], true) else {
            panic!("a page")
        };
        let mut page = file[at..at + header.page_len()].to_vec();
        let granule = if n.is_multiple_of(2) { 0 } else { u64::MAX - n };
        page[6..14].copy_from_slice(&granule.to_le_bytes());
        page[22..26].copy_from_slice(&[0; 4]);
        let crc = onair_core::ogg::page_crc(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        rewritten.extend_from_slice(&page);
        at += header.page_len();
        n += 1;
    }
    assert_eq!(framed(&rewritten, 4096), original);
    // A chained link of Vorbis after the Opus: refused, with what it is.
    let mut chained = file.clone();
    chained.extend_from_slice(&fixture("vorbis.opus"));
    let mut framing = Codec::Opus.framing(0);
    framing.input().extend_from_slice(&chained);
    framing.finish();
    while let onair_core::Next::Frame(header) = framing.peek() {
        framing.consume(&header);
    }
    assert!(framing.refusal().is_some_and(|r| r.contains("Vorbis")));
}
