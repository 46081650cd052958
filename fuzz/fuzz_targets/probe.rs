//! The station loader (tags, then the whole-file scan) over arbitrary file contents, named as AAC
//! and as MP3: it must never panic, and a rejection must point inside the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onair_core::{probe, SourceError};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["fuzz.aac", "fuzz.mp3"] {
        let path = dir.path().join(name);
        std::fs::write(&path, data).expect("write");
        match probe(&path) {
            Ok(info) => assert!(info.frames > 0 && info.range.end <= data.len() as u64),
            Err(SourceError::NotAudio { offset, .. })
            | Err(SourceError::Unplayable { offset, .. }) => {
                assert!(offset <= data.len() as u64)
            }
            Err(SourceError::Io { .. }) => {}
        }
    }
});
