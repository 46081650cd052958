//! FLAC in Ogg, as sources send it (Liquidsoap's `%ogg(%flac)`, ffmpeg's `-f ogg -c:a flac`,
//! an Icecast FLAC mount relayed): pages taken apart into the mapping's packets. The first
//! packet (`0x7F FLAC`, the mapping version, `fLaC` and the `STREAMINFO`) and the metadata
//! blocks after it are the stream's header; every later packet is one frame.
//!
//! A new link after audio (a chained stream: a source that restarted its encoder) gives the
//! stream its header again; another logical stream beside the first (video multiplexed in) is
//! refused.

use bytes::Bytes;

use super::ogg::{Packets, PageHeader, BOS, CONTINUED};

/// What one packet of FLAC in Ogg is.
#[derive(Debug)]
pub(super) enum Packet {
    /// The mapping's first packet: the `STREAMINFO` block's body in it.
    Info(Bytes),
    /// A metadata block: its type and body.
    Block(u8, Bytes),
    /// A frame, and whether it is the first packet that begins in its page (a reader starting
    /// at the page gets it first).
    Frame(Bytes, bool),
}

/// Reads FLAC in Ogg, page by page.
#[derive(Debug, Default)]
pub(super) struct OggFlac {
    /// The logical stream read, once its first page is seen.
    serial: Option<u32>,
    packets: Packets,
    /// A frame was read (a `BOS` page after it starts a chained link).
    audio_seen: bool,
    /// The mapping's first packet was read.
    info_seen: bool,
}

impl OggFlac {
    /// The packets that `page` (whose header is `header`) completes, or why the stream cannot
    /// be played.
    pub fn page(&mut self, header: &PageHeader, page: &Bytes) -> Result<Vec<Packet>, String> {
        let bos = header.flags & BOS != 0;
        match self.serial {
            Some(serial) if serial == header.serial => {}
            Some(_) if bos && self.audio_seen => {
                self.serial = Some(header.serial);
                self.packets = Packets::default();
                self.info_seen = false;
            }
            Some(_) => {
                return Err("more than one logical stream in the Ogg (video or another track multiplexed in); keep the audio alone: `ffmpeg -i in.ogg -map 0:a:0 -c:a flac -f flac out.flac`".to_string());
            }
            None => self.serial = Some(header.serial),
        }
        let mut packets = Vec::new();
        if self.packets.push(header, page, &mut packets).is_err() {
            return Err("an Ogg packet longer than 16 MiB".to_string());
        }
        let continued = header.flags & CONTINUED != 0;
        let mut out = Vec::with_capacity(packets.len());
        for (i, packet) in packets.into_iter().enumerate() {
            if packet.starts_with(b"\x7fFLAC") {
                // 0x7F FLAC, major and minor version, header count (2), `fLaC`, a block
                // header (4), the STREAMINFO.
                if packet.get(5) != Some(&1) || packet.get(9..13) != Some(&b"fLaC"[..]) {
                    return Err("an Ogg FLAC mapping other than version 1".to_string());
                }
                self.info_seen = true;
                out.push(Packet::Info(packet.slice(17.min(packet.len())..)));
                continue;
            }
            if !self.info_seen {
                let what = super::ogg::codec_of(&packet).unwrap_or("a stream that is not FLAC");
                return Err(format!(
                    "Ogg {what}, not FLAC; convert it: `ffmpeg -i in.ogg -c:a flac out.flac`"
                ));
            }
            match packet.first() {
                Some(0xFF) => {
                    self.audio_seen = true;
                    let first_begun = if continued { i == 1 } else { i == 0 };
                    out.push(Packet::Frame(packet, first_begun));
                }
                Some(&block) if packet.len() >= 4 => {
                    out.push(Packet::Block(block & 0x7F, packet.slice(4..)));
                }
                _ => {}
            }
        }
        Ok(out)
    }
}
