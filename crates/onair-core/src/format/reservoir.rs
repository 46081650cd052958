//! Layer III's bit reservoir at a switch: where a listener's MP3 stream goes on with audio
//! from elsewhere (a live source taking over, the programme coming back, a relay, a schedule
//! slot, a programme edit), the first frames of the new audio may begin their main data in
//! frames the listener never got. Decoders then complain (ffmpeg "overread", VLC
//! "dequantization failed") and lose 20-50 ms.
//!
//! [`startable`] makes the incoming run start cleanly: each leading frame whose main data
//! reaches back further than the frames before it in the run is turned into a *carrier*: its
//! side information zeroed (`main_data_begin` 0, no granule data, so it decodes to silence),
//! its main-data bytes kept as they are. Those bytes are the very bytes the next frame reaches
//! back into, so from the first frame that asks no more than the carriers hold, every frame
//! decodes exactly as in the original stream. The cost: one frame of silence (26 ms at 44.1
//! kHz), or two where the reservoir reaches back further than one frame holds; none where the
//! incoming frame does not lean on the reservoir.

use bytes::{Bytes, BytesMut};

use super::mpeg::{MpegHeader, Version};

/// `frames`, whole MPEG audio frames that start a run after a switch, made decodable from
/// their first byte; and how many frames were turned into silent carriers. Anything that is not
/// Layer III (AAC, MP2) comes back as it is.
pub fn startable(frames: Bytes) -> (Bytes, u32) {
    let mut held = 0usize;
    let mut at = 0usize;
    let mut carriers = Vec::new();
    while let Ok(header) = MpegHeader::parse(&frames[at..]) {
        if header.layer != 3 {
            break;
        }
        let len = usize::from(header.frame_length);
        let Some(frame) = frames.get(at..at + len) else {
            break;
        };
        let Some(side) = SideInfo::of(&header, frame) else {
            break;
        };
        if side.main_data_begin(frame) <= held {
            break;
        }
        carriers.push((at, header, side));
        held += len - side.end;
        at += len;
    }
    if carriers.is_empty() {
        return (frames, 0);
    }
    let mut out = BytesMut::from(&frames[..]);
    for (at, header, side) in &carriers {
        let frame = &mut out[*at..*at + usize::from(header.frame_length)];
        frame[side.start..side.end].fill(0);
        if header.has_crc {
            let crc = crc16(&[&frame[2..4], &frame[side.start..side.end]]);
            frame[4..6].copy_from_slice(&crc.to_be_bytes());
        }
    }
    (out.freeze(), carriers.len() as u32)
}

/// Where a Layer III frame's side information lies.
#[derive(Debug, Clone, Copy)]
struct SideInfo {
    start: usize,
    end: usize,
    mpeg1: bool,
}

impl SideInfo {
    fn of(header: &MpegHeader, frame: &[u8]) -> Option<SideInfo> {
        let mono = header.mode == 3;
        let mpeg1 = header.version == Version::Mpeg1;
        let len = match (mpeg1, mono) {
            (true, true) => 17,
            (true, false) => 32,
            (false, true) => 9,
            (false, false) => 17,
        };
        let start = if header.has_crc { 6 } else { 4 };
        (frame.len() >= start + len).then_some(SideInfo {
            start,
            end: start + len,
            mpeg1,
        })
    }

    /// How many bytes before this frame's main-data area its main data begins.
    fn main_data_begin(&self, frame: &[u8]) -> usize {
        let side = &frame[self.start..];
        if self.mpeg1 {
            (usize::from(side[0]) << 1) | usize::from(side[1] >> 7)
        } else {
            usize::from(side[0])
        }
    }
}

/// MPEG audio's CRC-16 (polynomial 0x8005, initial value 0xFFFF) over `parts`.
fn crc16(parts: &[&[u8]]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        for bit in (0..8).rev() {
            let top = (crc >> 15) & 1;
            let input = u16::from(byte >> bit) & 1;
            crc <<= 1;
            if top ^ input == 1 {
                crc ^= 0x8005;
            }
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An MPEG-1 Layer III frame, 44.1 kHz stereo at 128 kb/s (417 bytes), whose main data
    /// begins `mdb` bytes back, its main-data area filled with `fill`.
    fn frame(mdb: u16, fill: u8, crc: bool) -> Vec<u8> {
        let mut f = vec![fill; 417];
        f[0] = 0xFF;
        f[1] = if crc { 0xFA } else { 0xFB };
        f[2] = 0x90;
        f[3] = 0x00;
        let side = if crc { 6 } else { 4 };
        f[side..side + 32].fill(0x33);
        f[side] = (mdb >> 1) as u8;
        f[side + 1] = ((mdb & 1) as u8) << 7 | 0x33;
        f
    }

    #[test]
    fn frames_that_reach_back_before_the_run_become_silent_carriers_of_their_bytes() {
        // The first leans 300 bytes back (not there), the second 200 (inside the first's 381
        // bytes of main data), the third 500 (inside the first two).
        let run = [
            frame(300, 1, false),
            frame(200, 2, false),
            frame(500, 3, false),
        ]
        .concat();
        let (out, carriers) = startable(Bytes::from(run.clone()));
        assert_eq!(carriers, 1);
        assert_eq!(out.len(), run.len());
        assert!(out[4..36].iter().all(|&b| b == 0), "side info zeroed");
        assert_eq!(&out[36..417], &run[36..417], "its main data kept");
        assert_eq!(&out[417..], &run[417..], "the rest untouched");
        // A frame reaching back further than one frame holds needs two carriers.
        let run = [
            frame(500, 1, false),
            frame(450, 2, false),
            frame(0, 3, false),
        ]
        .concat();
        assert_eq!(startable(Bytes::from(run)).1, 2);
        // A frame that starts its main data in itself needs none.
        let run = [frame(0, 1, false), frame(300, 2, false)].concat();
        let (out, carriers) = startable(Bytes::from(run.clone()));
        assert_eq!((carriers, &out[..]), (0, &run[..]));
    }

    #[test]
    fn a_carrier_with_a_crc_gets_its_crc_again_and_aac_is_left_alone() {
        let run = [frame(100, 1, true), frame(50, 2, true)].concat();
        let (out, carriers) = startable(Bytes::from(run));
        assert_eq!(carriers, 1);
        let crc = crc16(&[&out[2..4], &out[6..38]]);
        assert_eq!(u16::from_be_bytes([out[4], out[5]]), crc);
        assert_ne!(crc, 0);
        let aac = crate::testing::adts_frame(&crate::testing::FrameSpec::default());
        assert_eq!(startable(Bytes::from(aac.clone())), (Bytes::from(aac), 0));
    }

    #[test]
    fn the_crc_is_mpeg_audios() {
        // CRC-16/ANSI with initial value 0xFFFF ("CRC-16/CMS"): check value of "123456789".
        assert_eq!(crc16(&[b"123456789"]), 0xAEE7);
    }
}
