//! A capture's ADTS frames, and which file each came from (a station's programme or a live
//! source's), by their audio payloads.

use std::collections::HashMap;

/// ADTS frames of `bytes` from byte 0: panics at a byte that does not continue the chain; a
/// frame cut by the end of a capture is left out.
pub fn frames(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 7 <= bytes.len() {
        let header = onair_core::AdtsHeader::parse(&bytes[at..])
            .unwrap_or_else(|e| panic!("byte {at} of {} is not a frame: {e:?}", bytes.len()));
        let len = usize::from(header.frame_length);
        if at + len > bytes.len() {
            break;
        }
        out.push(&bytes[at..at + len]);
        at += len;
    }
    out
}

/// A frame's audio, without its header (ffmpeg writes its own ADTS headers when it copies).
pub fn payload(frame: &[u8]) -> &[u8] {
    let header_len = if frame[1] & 1 == 1 { 7 } else { 9 };
    &frame[header_len..]
}

/// Where each frame of a capture came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The station file's frame `i`.
    Programme(usize),
    /// The live file's frame `i`.
    Live(usize),
}

/// Names every frame of `capture` by the file it came from; panics on a frame of neither.
pub fn origins(capture: &[u8], programme: &[u8], live: &[u8]) -> Vec<Origin> {
    let index = |file: &[u8]| -> HashMap<Vec<u8>, usize> {
        frames(file)
            .iter()
            .enumerate()
            .map(|(i, f)| (payload(f).to_vec(), i))
            .collect()
    };
    let (programme, live) = (index(programme), index(live));
    frames(capture)
        .iter()
        .enumerate()
        .map(|(n, f)| {
            let p = payload(f);
            if let Some(&i) = live.get(p) {
                Origin::Live(i)
            } else if let Some(&i) = programme.get(p) {
                Origin::Programme(i)
            } else {
                panic!("frame {n} of the capture is neither the programme's nor the source's")
            }
        })
        .collect()
}

/// The audio of a station file (between its tags: the frames onair plays).
pub fn station_frames(bytes: &[u8]) -> Vec<u8> {
    let range = onair_core::audio_range(&mut std::io::Cursor::new(bytes), bytes.len() as u64)
        .expect("audio range");
    bytes[range.start as usize..range.end as usize].to_vec()
}
