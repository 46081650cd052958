//! The deframer over arbitrary bytes, fed in blocks whose size the input also picks, read as ADTS
//! and as MPEG audio: it must never panic, never stop making progress, and yield only whole valid
//! frames.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onair_core::testing::deframe_as;
use onair_core::{AdtsHeader, Codec, MpegHeader};

fuzz_target!(|data: &[u8]| {
    let Some((block, bytes)) = data.split_first() else {
        return;
    };
    let block = usize::from(*block) * 7;
    for frame in deframe_as(Codec::Adts, bytes, block) {
        let header = AdtsHeader::parse(&frame).expect("a whole frame starts with a header");
        assert_eq!(usize::from(header.frame_length), frame.len());
    }
    for frame in deframe_as(Codec::Mpeg, bytes, block) {
        let header = MpegHeader::parse(&frame).expect("a whole frame starts with a header");
        assert_eq!(usize::from(header.frame_length), frame.len());
    }
});
