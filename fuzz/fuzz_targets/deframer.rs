//! The deframer over arbitrary bytes, fed in blocks whose size the input also picks: it must
//! never panic, never stop making progress, and yield only whole valid ADTS frames.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onair_core::AdtsHeader;
use onair_core::testing::deframe;

fuzz_target!(|data: &[u8]| {
    let Some((block, bytes)) = data.split_first() else {
        return;
    };
    for frame in deframe(bytes, usize::from(*block) * 7) {
        let header = AdtsHeader::parse(&frame).expect("a whole frame starts with a header");
        assert_eq!(usize::from(header.frame_length), frame.len());
    }
});
