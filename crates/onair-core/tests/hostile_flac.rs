//! Hostile FLAC: arbitrary bytes, a real FLAC file (native, and in Ogg) mutated at random (overwrites, insertions,
//! deletions, bit flips, a cut), fed in blocks of any size: the FLAC framing never panics,
//! always terminates, and yields only frames that were in the file, whole, with their
//! durations; an intact file yields every frame whatever the blocks.

use std::path::PathBuf;

use bytes::Bytes;
use onair_core::testing::deframe_as;
use onair_core::{Codec, FrameHeader};
use proptest::prelude::*;

mod common;
use common::mutate;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/flac")
        .join(name);
    std::fs::read(path).expect("flac fixture")
}

/// What the framing yields for `bytes` fed in blocks of `block`: each carried frame checked (it
/// parses, its length is its header's) and unwrapped to the native frame.
fn framed(bytes: &[u8], block: usize) -> Vec<Bytes> {
    deframe_as(Codec::Flac, bytes, block)
        .into_iter()
        .map(|carried| {
            let header = Codec::Flac.parse(&carried).expect("a carried frame");
            let FrameHeader::Flac(frame) = header else {
                panic!("a FLAC frame")
            };
            assert_eq!(frame.frame_length(), carried.len(), "whole");
            assert!(frame.samples > 0 && frame.samples <= 65_536);
            carried.slice(3..)
        })
        .collect()
}

#[test]
fn an_intact_file_yields_every_frame_whatever_the_blocks() {
    let file = fixture("01 One.flac");
    let whole = framed(&file, file.len());
    assert_eq!(whole.len(), 20);
    for block in [1, 7, 1000, 4096, 5000, 65_536] {
        assert_eq!(framed(&file, block), whole, "blocks of {block}");
    }
    // FLAC in Ogg: 1 s in 4608-sample frames.
    let ogg = fixture("ogg.flac");
    let whole = framed(&ogg, ogg.len());
    assert_eq!(whole.len(), 10);
    for block in [1, 1000, 4096, 65_536] {
        assert_eq!(framed(&ogg, block), whole, "blocks of {block}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_never_break_the_flac_framing(
        bytes in proptest::collection::vec(any::<u8>(), 0..6000),
        block in 1usize..5000,
    ) {
        let mut with_magic = b"fLaC".to_vec();
        with_magic.extend_from_slice(&bytes);
        framed(&bytes, block);
        framed(&with_magic, block);
    }

    #[test]
    fn a_mutated_flac_file_yields_only_its_own_frames(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..12),
        cut in any::<prop::sample::Index>(),
        block in 1usize..8192,
        ogg in any::<bool>(),
    ) {
        // Native FLAC, or FLAC in Ogg.
        let file = fixture(if ogg { "ogg.flac" } else { "03 Three.flac" });
        let original = framed(&file, file.len());
        let mut bytes = file.clone();
        mutate(&mut bytes, edits);
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep.max(bytes.len() / 2));
        for frame in framed(&bytes, block) {
            prop_assert!(original.contains(&frame), "a frame that was not in the file");
        }
    }
}
