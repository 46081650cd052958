//! Fragmented MP4 (CMAF) for HLS, for the codecs packed audio cannot carry (Opus, FLAC): an
//! initialization segment (`ftyp`, `moov` with the codec's sample entry: `Opus` with its `dOps`,
//! or `fLaC` with its `dfLa`) and media segments (`moof` with the fragment's first sample time
//! from the station clock and every sample's duration and size, then `mdat` with the samples),
//! after the ISO BMFF encapsulations of Opus (opus-codec.org) and of FLAC (xiph.org).
//!
//! Everything written is a function of the frames and the clock, so every replica writes the
//! same bytes for the same segment. FLAC frames are numbered by their first sample from the
//! station clock (modulo 2^31, as players read no longer number): a live source's own numbers
//! never reach a player.

use bytes::{Bytes, BytesMut};

use super::flac::{self, StreamInfo};
use super::flac_frame;
use super::frame::FrameHeader;
use super::opus::OpusHead;
use super::opus_packet;

/// The one track's ID.
const TRACK: u32 = 1;

/// What a station's fragments carry: the codec's sample entry and its timescale.
#[derive(Debug, Clone)]
pub struct Fmp4Track {
    /// The `stsd` sample entry (`Opus` or `fLaC` box).
    entry: Vec<u8>,
    /// Samples per second: the media timescale.
    timescale: u32,
    /// FLAC (frames renumbered), or Opus.
    flac: bool,
}

impl Fmp4Track {
    /// The track of a station whose first frame is `first` and whose first track's header
    /// packets are `headers` (Opus: its `OpusHead`; FLAC: its `STREAMINFO`); none for a codec
    /// fragmented MP4 does not carry here.
    pub fn new(first: &FrameHeader, headers: &[Bytes]) -> Option<Fmp4Track> {
        match first {
            FrameHeader::Opus(packet) => {
                let head = headers.first()?;
                let parsed = OpusHead::parse(head).ok()?;
                // dOps: the OpusHead's fields, big-endian, without its magic and version; the
                // pre-skip left at 0, since a player joins a live stream mid-encode.
                let mut dops = vec![0, parsed.channels];
                dops.extend_from_slice(&0u16.to_be_bytes());
                dops.extend_from_slice(&parsed.input_rate.to_be_bytes());
                dops.extend_from_slice(&parsed.gain.to_be_bytes());
                dops.push(parsed.mapping_family);
                if parsed.mapping_family != 0 {
                    dops.extend_from_slice(head.get(19..21 + usize::from(parsed.channels))?);
                }
                let mut entry = audio_entry(packet.channels, 16, 48_000);
                entry.extend(boxed(b"dOps", &dops));
                Some(Fmp4Track {
                    entry: boxed(b"Opus", &entry),
                    timescale: 48_000,
                    flac: false,
                })
            }
            FrameHeader::Flac(frame) => {
                let info = headers
                    .first()
                    .and_then(|h| StreamInfo::parse(h))
                    .unwrap_or(StreamInfo {
                        min_block: 16,
                        max_block: u16::MAX,
                        max_frame: 0,
                        sample_rate: frame.sample_rate,
                        channels: frame.channels,
                        bits: frame.bits,
                        total: 0,
                    });
                let mut dfla = vec![0, 0, 0, 0];
                dfla.extend_from_slice(&flac::block_header(
                    true,
                    flac::BLOCK_STREAMINFO,
                    flac::STREAMINFO_LEN,
                ));
                dfla.extend_from_slice(&info.endless());
                let mut entry = audio_entry(info.channels, u16::from(info.bits), info.sample_rate);
                entry.extend(boxed(b"dfLa", &dfla));
                Some(Fmp4Track {
                    entry: boxed(b"fLaC", &entry),
                    timescale: info.sample_rate,
                    flac: true,
                })
            }
            _ => None,
        }
    }

    /// The initialization segment.
    pub fn init_segment(&self) -> Vec<u8> {
        let mut out = boxed(
            b"ftyp",
            &[&b"iso6"[..], &[0, 0, 0, 0], b"iso6cmfcmp41"].concat(),
        );
        let mvhd = full(b"mvhd", 0, 0, &mvhd_body());
        let mut tkhd = vec![0; 8]; // creation and modification times
        tkhd.extend_from_slice(&TRACK.to_be_bytes());
        tkhd.extend_from_slice(&[0; 4]); // reserved
        tkhd.extend_from_slice(&[0; 4]); // duration
        tkhd.extend_from_slice(&[0; 8]); // reserved
        tkhd.extend_from_slice(&[0, 0, 0, 0]); // layer, alternate group
        tkhd.extend_from_slice(&[1, 0, 0, 0]); // volume 1.0, reserved
        tkhd.extend_from_slice(&matrix());
        tkhd.extend_from_slice(&[0; 8]); // width, height
        let tkhd = full(b"tkhd", 0, 7, &tkhd);
        let mut mdhd = vec![0; 8];
        mdhd.extend_from_slice(&self.timescale.to_be_bytes());
        mdhd.extend_from_slice(&[0; 4]); // duration
        mdhd.extend_from_slice(&[0x55, 0xC4, 0, 0]); // language "und"
        let mdhd = full(b"mdhd", 0, 0, &mdhd);
        let mut hdlr = vec![0; 4];
        hdlr.extend_from_slice(b"soun");
        hdlr.extend_from_slice(&[0; 12]);
        hdlr.extend_from_slice(b"onair\0");
        let hdlr = full(b"hdlr", 0, 0, &hdlr);
        let smhd = full(b"smhd", 0, 0, &[0; 4]);
        let dref = full(
            b"dref",
            0,
            0,
            &[&1u32.to_be_bytes()[..], &full(b"url ", 0, 1, &[])].concat(),
        );
        let dinf = boxed(b"dinf", &dref);
        let stsd = full(
            b"stsd",
            0,
            0,
            &[&1u32.to_be_bytes()[..], &self.entry].concat(),
        );
        let empty = |kind: &[u8; 4]| full(kind, 0, 0, &[0; 4]);
        let stsz = full(b"stsz", 0, 0, &[0; 8]);
        let stbl = boxed(
            b"stbl",
            &[stsd, empty(b"stts"), empty(b"stsc"), stsz, empty(b"stco")].concat(),
        );
        let minf = boxed(b"minf", &[smhd, dinf, stbl].concat());
        let mdia = boxed(b"mdia", &[mdhd, hdlr, minf].concat());
        let trak = boxed(b"trak", &[tkhd, mdia].concat());
        let mut trex = TRACK.to_be_bytes().to_vec();
        trex.extend_from_slice(&1u32.to_be_bytes()); // sample description index
        trex.extend_from_slice(&[0; 12]); // default duration, size, flags
        let mvex = boxed(b"mvex", &full(b"trex", 0, 0, &trex));
        out.extend(boxed(b"moov", &[mvhd, trak, mvex].concat()));
        out
    }

    /// Samples per second of the track.
    pub fn timescale(&self) -> u32 {
        self.timescale
    }

    /// Station-clock tick `tick` in the track's timescale (exact at a frame boundary).
    pub fn time_of(&self, tick: u64) -> u64 {
        tick / crate::clock::ticks_per_sample(self.timescale).max(1)
    }

    /// Media segment number `sequence` holding `carried` (whole carried frames, as a segment
    /// is cut), whose first sample is at station-clock tick `tick`, behind an `emsg` carrying
    /// `id3` (a timed ID3 tag: the title) when given. The fragment's time is in samples (the
    /// media timescale players expect); the `emsg`'s, in its own timescale, is the exact tick,
    /// which an edge needs (a station's frames need not start on a whole sample of the clock).
    pub fn media_segment(&self, sequence: u32, tick: u64, carried: &[u8], id3: &[u8]) -> Vec<u8> {
        let time = self.time_of(tick);
        let mut samples: Vec<(u32, usize)> = Vec::new();
        let mut data = BytesMut::with_capacity(carried.len());
        if self.flac {
            let mut number = time;
            for frame in flac_frame::carried(carried) {
                let Ok(header) = flac::parse_header(frame) else {
                    continue;
                };
                let before = data.len();
                if flac::rewrite(frame, &header, true, number, &mut data) {
                    samples.push((header.samples, data.len() - before));
                    number += u64::from(header.samples);
                }
            }
        } else {
            for (packet, n) in opus_packet::carried(carried) {
                data.extend_from_slice(packet);
                samples.push((n, packet.len()));
            }
        }
        let mut out = Vec::with_capacity(data.len() + samples.len() * 8 + 256);
        if !id3.is_empty() {
            out.extend(emsg(sequence, tick, id3));
        }
        let mfhd = full(b"mfhd", 0, 0, &sequence.to_be_bytes());
        // default-base-is-moof: sample offsets count from the moof's first byte.
        let tfhd = full(b"tfhd", 0, 0x02_0000, &TRACK.to_be_bytes());
        let tfdt = full(b"tfdt", 1, 0, &time.to_be_bytes());
        let trun_len = 12 + 8 + samples.len() * 8;
        let traf_len = 8 + tfhd.len() + tfdt.len() + trun_len;
        let moof_len = 8 + mfhd.len() + traf_len;
        let mut trun = (samples.len() as u32).to_be_bytes().to_vec();
        trun.extend_from_slice(&((moof_len + 8) as u32).to_be_bytes()); // data offset
        for (duration, size) in &samples {
            trun.extend_from_slice(&duration.to_be_bytes());
            trun.extend_from_slice(&(*size as u32).to_be_bytes());
        }
        // data-offset-present, sample-duration-present, sample-size-present.
        let trun = full(b"trun", 0, 0x0301, &trun);
        let traf = boxed(b"traf", &[tfhd, tfdt, trun].concat());
        let moof = boxed(b"moof", &[mfhd, traf].concat());
        debug_assert_eq!(moof.len(), moof_len);
        out.extend(moof);
        out.extend(boxed(b"mdat", &data));
        out
    }
}

/// An `emsg` (version 1) carrying a timed ID3 tag at station-clock tick `tick` (its timescale
/// the clock's), as hls.js reads titles from fragmented MP4.
fn emsg(id: u32, tick: u64, id3: &[u8]) -> Vec<u8> {
    let mut body = (crate::clock::TICKS_PER_SECOND as u32)
        .to_be_bytes()
        .to_vec();
    body.extend_from_slice(&tick.to_be_bytes());
    body.extend_from_slice(&u32::MAX.to_be_bytes()); // duration: until the next
    body.extend_from_slice(&id.to_be_bytes());
    body.extend_from_slice(b"https://aomedia.org/emsg/ID3\0");
    body.push(0); // value ""
    body.extend_from_slice(id3);
    full(b"emsg", 1, 0, &body)
}

/// The samples of a fragment of `codec` (Opus packets of a `channels`-channel stream, or
/// native FLAC frames), carried as the pacer and the clock take frames; none for another
/// codec, or a sample no frame of it can be.
pub fn carry_samples<'a>(
    codec: super::Codec,
    channels: u8,
    samples: impl IntoIterator<Item = &'a [u8]>,
) -> Option<Bytes> {
    let mut out = BytesMut::new();
    for sample in samples {
        let carried = match codec {
            super::Codec::Opus => opus_packet::carry(&mut out, channels, sample),
            super::Codec::Flac => flac_frame::carry(&mut out, sample),
            _ => false,
        };
        if !carried {
            return None;
        }
    }
    Some(out.freeze())
}

/// The common part of an audio sample entry: reserved, data reference 1, channels, sample
/// size, and the rate (16.16; 0 where it does not fit, as the FLAC encapsulation says).
fn audio_entry(channels: u8, bits: u16, rate: u32) -> Vec<u8> {
    let mut entry = vec![0; 6];
    entry.extend_from_slice(&1u16.to_be_bytes());
    entry.extend_from_slice(&[0; 8]);
    entry.extend_from_slice(&u16::from(channels).to_be_bytes());
    entry.extend_from_slice(&bits.to_be_bytes());
    entry.extend_from_slice(&[0; 4]);
    let rate = if rate <= 0xFFFF { rate << 16 } else { 0 };
    entry.extend_from_slice(&rate.to_be_bytes());
    entry
}

fn mvhd_body() -> Vec<u8> {
    let mut mvhd = vec![0; 8];
    mvhd.extend_from_slice(&1000u32.to_be_bytes()); // timescale
    mvhd.extend_from_slice(&[0; 4]); // duration
    mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    mvhd.extend_from_slice(&[1, 0]); // volume 1.0
    mvhd.extend_from_slice(&[0; 10]);
    mvhd.extend_from_slice(&matrix());
    mvhd.extend_from_slice(&[0; 24]); // pre-defined
    mvhd.extend_from_slice(&(TRACK + 1).to_be_bytes()); // next track ID
    mvhd
}

/// The identity matrix.
fn matrix() -> [u8; 36] {
    let mut m = [0u8; 36];
    m[0..4].copy_from_slice(&0x0001_0000u32.to_be_bytes());
    m[16..20].copy_from_slice(&0x0001_0000u32.to_be_bytes());
    m[32..36].copy_from_slice(&0x4000_0000u32.to_be_bytes());
    m
}

/// A box of `kind` around `body`.
fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

/// A full box (version and flags) of `kind` around `body`.
fn full(kind: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
    let mut inner = (flags & 0x00FF_FFFF | u32::from(version) << 24)
        .to_be_bytes()
        .to_vec();
    inner.extend_from_slice(body);
    boxed(kind, &inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::flac_frame::carry;
    use crate::format::silence::flac_silence as silent_native;
    use crate::format::{Codec, Format, Kind};

    /// The boxes at the top level of `bytes`: (type, size).
    fn boxes(bytes: &[u8]) -> Vec<(String, usize)> {
        let mut at = 0;
        let mut out = Vec::new();
        while at + 8 <= bytes.len() {
            let size = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4")) as usize;
            out.push((
                String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned(),
                size,
            ));
            assert!(size >= 8, "a box of {size} bytes");
            at += size;
        }
        assert_eq!(at, bytes.len(), "boxes end where the bytes do");
        out
    }

    #[test]
    fn a_flac_fragment_holds_its_frames_numbered_from_the_clock() {
        let format = Format {
            kind: Kind::Flac { bits: 16 },
            sample_rate: 44_100,
            channels: 2,
        };
        let mut carried = BytesMut::new();
        for n in 0..3 {
            carry(&mut carried, &silent_native(&format, n).expect("frame"));
        }
        let first = Codec::Flac.parse(&carried).expect("frame");
        let track = Fmp4Track::new(&first, &[]).expect("FLAC");
        let init = track.init_segment();
        let top: Vec<String> = boxes(&init).into_iter().map(|(k, _)| k).collect();
        assert_eq!(top, ["ftyp", "moov"]);
        assert!(init.windows(4).any(|w| w == b"dfLa"));
        let segment = track.media_segment(7, 441_000 * 640 + 5, &carried, b"ID3tag");
        let top: Vec<String> = boxes(&segment).into_iter().map(|(k, _)| k).collect();
        assert_eq!(top, ["emsg", "moof", "mdat"]);
        // The first frame in the mdat says sample 441,000; the next 445,096.
        let mdat = segment.windows(4).position(|w| w == b"mdat").expect("mdat") + 4;
        let header = flac::parse_header(&segment[mdat..]).expect("a frame");
        assert_eq!((header.number, header.variable), (441_000, true));
        // tfdt: the time from the clock.
        let tfdt = segment.windows(4).position(|w| w == b"tfdt").expect("tfdt") + 8;
        assert_eq!(
            u64::from_be_bytes(segment[tfdt..tfdt + 8].try_into().expect("8")),
            441_000
        );
        // The same frames and time give the same bytes (replicas agree).
        assert_eq!(
            segment,
            track.media_segment(7, 441_000 * 640 + 5, &carried, b"ID3tag")
        );
        // The emsg says the exact tick, in the clock's timescale.
        let emsg = 12;
        assert_eq!(
            u32::from_be_bytes(segment[emsg..emsg + 4].try_into().expect("4")),
            28_224_000
        );
        assert_eq!(
            u64::from_be_bytes(segment[emsg + 4..emsg + 12].try_into().expect("8")),
            441_000 * 640 + 5
        );
    }
}
