//! Hostile files: property tests over arbitrary and mutated bytes. The parser never panics, never
//! loops for ever, never yields anything but whole valid frames (ADTS or MPEG audio), and a
//! rejected file is rejected with an offset inside the file.

use onair_core::testing::{adts_frame, adts_stream, deframe_as, mp3_frame, FrameSpec};
use onair_core::{probe, SourceError};
use onair_core::{AdtsHeader, Codec, MpegHeader};
use proptest::prelude::*;

mod common;
use common::mutate;

/// Every frame the deframer yields for `bytes` fed in blocks of `block`.
fn deframe(bytes: &[u8], block: usize) -> Vec<Vec<u8>> {
    onair_core::testing::deframe(bytes, block)
        .into_iter()
        .map(|frame| frame.to_vec())
        .collect()
}

/// Every frame is one whole ADTS frame: a valid header whose length is the frame's length.
fn assert_whole_frames(frames: &[Vec<u8>]) {
    for frame in frames {
        let header = AdtsHeader::parse(frame).expect("a yielded frame starts with a valid header");
        assert_eq!(
            usize::from(header.frame_length),
            frame.len(),
            "a yielded frame is whole"
        );
    }
}

/// A valid stream of `count` frames with varied shapes (all one stream: same rate and channels).
fn valid_stream(count: usize, crc: bool, seed: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        out.extend(adts_frame(&FrameSpec {
            crc,
            blocks: 1 + (i % 4) as u8,
            payload_len: 20 + (i * 37 + usize::from(seed)) % 400,
            fill: seed.wrapping_add(i as u8) & 0x7F,
            ..FrameSpec::default()
        }));
    }
    out
}

/// Every frame is one whole MPEG audio frame: a valid header whose length is the frame's.
fn assert_whole_mpeg_frames(bytes: &[u8], block: usize) -> Vec<Vec<u8>> {
    let frames: Vec<Vec<u8>> = deframe_as(Codec::Mpeg, bytes, block)
        .into_iter()
        .map(|f| f.to_vec())
        .collect();
    for frame in &frames {
        let header = MpegHeader::parse(frame).expect("a yielded frame starts with a valid header");
        assert_eq!(
            usize::from(header.frame_length),
            frame.len(),
            "a yielded frame is whole"
        );
    }
    frames
}

/// A VBR MP3 stream of `count` frames: bitrates and padding vary, one stream throughout.
fn mp3_stream(count: usize, seed: u8) -> Vec<u8> {
    const RATES: [u16; 6] = [32, 64, 96, 128, 192, 320];
    (0..count)
        .flat_map(|i| {
            let kbps = RATES[(i + usize::from(seed)) % RATES.len()];
            mp3_frame(
                kbps,
                (i + usize::from(seed)) % 3 == 0,
                seed.wrapping_add(i as u8) & 0x7F,
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_break_the_mpeg_deframer(bytes in proptest::collection::vec(any::<u8>(), 0..6000), block in 1usize..5000) {
        assert_whole_mpeg_frames(&bytes, block);
    }

    #[test]
    fn plausible_mpeg_headers_in_noise_yield_only_whole_frames(
        noise in proptest::collection::vec(prop_oneof![Just(0xFFu8), Just(0xFB), Just(0xE3), Just(0x90), Just(0x64), any::<u8>()], 0..4000),
        block in 1usize..3000,
    ) {
        assert_whole_mpeg_frames(&noise, block);
    }

    #[test]
    fn mutated_mp3_streams_yield_only_whole_frames(
        count in 1usize..60,
        seed in any::<u8>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 0..12),
        block in 1usize..4096,
    ) {
        let mut bytes = mp3_stream(count, seed);
        mutate(&mut bytes, edits);
        assert_whole_mpeg_frames(&bytes, block);
    }

    #[test]
    fn intact_mp3_streams_come_through_whole(count in 1usize..80, seed in any::<u8>(), block in 1usize..4096) {
        let bytes = mp3_stream(count, seed);
        let frames = assert_whole_mpeg_frames(&bytes, block);
        prop_assert_eq!(frames.len(), count);
        prop_assert_eq!(frames.concat(), bytes);
    }

    #[test]
    fn probing_mp3_never_panics_and_rejects_with_an_offset_inside_the_file(
        prefix in proptest::collection::vec(any::<u8>(), 0..300),
        frames in 0usize..30,
        suffix in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.mp3");
        let mut bytes = prefix;
        bytes.extend(mp3_stream(frames, 5));
        bytes.extend(suffix);
        std::fs::write(&path, &bytes).expect("write");
        match probe(&path) {
            Ok(info) => prop_assert!(info.frames > 0),
            Err(SourceError::NotAudio { offset, .. }) | Err(SourceError::Unplayable { offset, .. }) => prop_assert!(offset <= bytes.len() as u64),
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }

    #[test]
    fn arbitrary_bytes_never_break_the_deframer(bytes in proptest::collection::vec(any::<u8>(), 0..6000), block in 1usize..5000) {
        assert_whole_frames(&deframe(&bytes, block));
    }

    #[test]
    fn plausible_headers_in_noise_yield_only_whole_frames(
        noise in proptest::collection::vec(prop_oneof![Just(0xFFu8), Just(0xF1), Just(0x50), Just(0x80), any::<u8>()], 0..4000),
        block in 1usize..3000,
    ) {
        assert_whole_frames(&deframe(&noise, block));
    }

    #[test]
    fn mutated_streams_yield_only_whole_frames(
        count in 1usize..60,
        crc in any::<bool>(),
        seed in any::<u8>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 0..12),
        cut in any::<prop::sample::Index>(),
        block in 1usize..4096,
    ) {
        let mut bytes = valid_stream(count, crc, seed);
        mutate(&mut bytes, edits);
        if !bytes.is_empty() {
            let keep = cut.index(bytes.len()) + 1;
            bytes.truncate(keep.max(bytes.len() / 2));
        }
        assert_whole_frames(&deframe(&bytes, block));
    }

    #[test]
    fn intact_streams_come_through_whole(count in 1usize..80, crc in any::<bool>(), seed in any::<u8>(), block in 1usize..4096) {
        let bytes = valid_stream(count, crc, seed);
        let frames = deframe(&bytes, block);
        prop_assert_eq!(frames.len(), count);
        prop_assert_eq!(frames.concat(), bytes);
    }

    #[test]
    fn tag_scans_end_on_any_trailing_tag_shapes(
        audio in 0usize..400,
        tags in proptest::collection::vec((0u8..3, any::<u32>(), any::<u32>()), 0..20),
    ) {
        // Tags stacked at the end with arbitrary size fields (0, tiny, huge): the scan ends and
        // the range stays inside the file.
        let mut bytes = vec![0xFFu8; audio];
        for (kind, size, flags) in tags {
            match kind {
                0 => {
                    bytes.extend(b"APETAGEX");
                    bytes.extend(2000u32.to_le_bytes());
                    bytes.extend(size.to_le_bytes());
                    bytes.extend(0u32.to_le_bytes());
                    bytes.extend(flags.to_le_bytes());
                    bytes.extend([0; 8]);
                }
                1 => {
                    bytes.extend(b"3DI\x04\x00\x10");
                    bytes.extend(size.to_be_bytes().map(|b| b & 0x7F));
                }
                _ => {
                    let mut v1 = b"TAG".to_vec();
                    v1.resize(128, (size & 0xFF) as u8);
                    bytes.extend(v1);
                }
            }
        }
        let len = bytes.len() as u64;
        let range = onair_core::audio_range(&mut std::io::Cursor::new(&bytes), len).expect("in memory");
        prop_assert!(range.start <= range.end && range.end <= len);
    }

    #[test]
    fn probe_never_panics_and_rejects_with_an_offset_inside_the_file(
        prefix in proptest::collection::vec(any::<u8>(), 0..300),
        frames in 0usize..30,
        suffix in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.aac");
        let mut bytes = prefix;
        bytes.extend(valid_stream(frames, false, 3));
        bytes.extend(suffix);
        std::fs::write(&path, &bytes).expect("write");
        match probe(&path) {
            Ok(info) => prop_assert!(info.frames > 0),
            Err(SourceError::NotAudio { offset, .. }) | Err(SourceError::Unplayable { offset, .. }) => prop_assert!(offset <= bytes.len() as u64),
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }
}

#[test]
fn frame_length_zero_and_past_the_end() {
    let mut zero = adts_frame(&FrameSpec::default());
    // frame_length = 0: not even a header.
    zero[3] &= !0x03;
    zero[4] = 0;
    zero[5] &= 0x1F;
    assert!(deframe(&zero.repeat(5), 64).is_empty());
    // The last frame claims more bytes than the file has: dropped, the rest plays.
    let mut stream = adts_stream(&FrameSpec::default(), 3);
    let mut long = adts_frame(&FrameSpec::default());
    long[4] = 0xFF; // frame_length far past the end
    stream.extend(&long[..20]);
    let frames = deframe(&stream, 100);
    assert_eq!(frames.len(), 3);
}

#[test]
fn crc_headers_cut_short() {
    let frame = adts_frame(&FrameSpec {
        crc: true,
        ..FrameSpec::default()
    });
    for cut in 1..9 {
        assert!(deframe(&frame[..cut], 4).is_empty(), "cut at {cut}");
    }
    let mut two = frame.clone();
    two.extend(&frame[..8]);
    assert_eq!(deframe(&two, 3).len(), 1);
}

#[test]
fn a_sample_rate_change_mid_file() {
    let mut bytes = adts_stream(&FrameSpec::default(), 20);
    bytes.extend(adts_stream(
        &FrameSpec {
            sample_rate_index: 3,
            ..FrameSpec::default()
        },
        20,
    ));
    let frames = deframe(&bytes, 500);
    assert_whole_frames(&frames);
    // The last 44.1 kHz frame cannot be confirmed (the next header is another stream's); every
    // other frame plays.
    assert_eq!(frames.len(), 39);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("mixed.aac");
    std::fs::write(&path, &bytes).expect("write");
    let info = probe(&path).expect("plays");
    assert!(info.mixed_format);
}

#[test]
fn an_ape_footer_of_size_zero_at_the_end_of_a_file() {
    // Once a loop for ever: `onair check` hung, start-up never served, the watcher wedged.
    let mut bytes = adts_stream(&FrameSpec::default(), 10);
    bytes.extend(b"APETAGEX");
    bytes.extend(2000u32.to_le_bytes());
    bytes.extend(0u32.to_le_bytes());
    bytes.extend([0; 16]);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ape0.aac");
    std::fs::write(&path, &bytes).expect("write");
    let info = probe(&path).expect("the audio before the tag plays");
    assert_eq!(info.frames, 10);
    assert_eq!(info.range.end, 10 * 207);
}

#[test]
fn a_giant_id3v2_size_is_rejected_with_an_offset() {
    let mut bytes = b"ID3\x04\x00\x00\x7F\x7F\x7F\x7F".to_vec();
    bytes.extend(adts_stream(&FrameSpec::default(), 10));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tag.aac");
    std::fs::write(&path, &bytes).expect("write");
    match probe(&path) {
        Err(SourceError::NotAudio { offset, .. }) => assert_eq!(offset, bytes.len() as u64),
        other => panic!("expected a rejection, got {other:?}"),
    }
}
