//! The deframer over arbitrary bytes, fed in blocks whose size the input also picks: it must
//! never panic, never stop making progress, and yield only whole valid ADTS frames.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onair_core::adts::AdtsHeader;
use onair_core::deframer::{Deframer, Next};

fuzz_target!(|data: &[u8]| {
    let (block, bytes) = match data.split_first() {
        Some((b, rest)) => (usize::from(*b).max(1) * 7, rest),
        None => return,
    };
    let mut deframer = Deframer::new(0);
    let mut fed = 0;
    let mut steps = 0usize;
    loop {
        steps += 1;
        assert!(steps < 4 * bytes.len() + 100, "no progress");
        match deframer.peek() {
            Next::Frame(header) => {
                deframer.consume(&header);
                let frame = deframer.take();
                let parsed = AdtsHeader::parse(&frame).expect("a whole frame starts with a header");
                assert_eq!(usize::from(parsed.frame_length), frame.len());
            }
            Next::NeedMore => {
                let n = block.min(bytes.len() - fed);
                deframer.input().extend_from_slice(&bytes[fed..fed + n]);
                fed += n;
                if fed == bytes.len() {
                    deframer.finish();
                }
            }
            Next::End => break,
        }
    }
});
