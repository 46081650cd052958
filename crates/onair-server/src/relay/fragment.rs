//! What an edge reads of an onair origin's fragmented-MP4 segment (an Opus or FLAC station):
//! the title and artist of the timed ID3 tag in its `emsg`, the fragment's first sample time
//! (`tfdt`, in the track's timescale) and each sample, cut out of the `mdat` by the sizes the
//! `trun` gives.

use bytes::Bytes;

use super::packed::id3_tag;

/// A fragment, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// Its first sample's time, in the track's timescale.
    pub time: u64,
    /// Its first sample's exact station-clock tick, where its `emsg` says it (an onair
    /// origin's: in the clock's own timescale).
    pub tick: Option<u64>,
    /// TIT2 of its timed tag.
    pub title: Option<String>,
    /// TPE1.
    pub artist: Option<String>,
    /// Its samples (frames), in order.
    pub samples: Vec<Bytes>,
}

/// A box found: its type, and where it starts and ends in what was searched.
#[derive(Debug, Clone, Copy)]
struct BoxAt {
    kind: [u8; 4],
    start: usize,
    end: usize,
}

/// The boxes at the top level of `bytes`.
fn boxes(bytes: &[u8]) -> Result<Vec<BoxAt>, &'static str> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < bytes.len() {
        let head = bytes.get(at..at + 8).ok_or("a box cut short")?;
        let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if size < 8 || at + size > bytes.len() {
            return Err("a box of a bad size");
        }
        let kind = [head[4], head[5], head[6], head[7]];
        out.push(BoxAt {
            kind,
            start: at,
            end: at + size,
        });
        at += size;
    }
    Ok(out)
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, &'static str> {
    let b = bytes.get(at..at + 4).ok_or("a box cut short")?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// What an `emsg` (version 1) carrying a timed ID3 tag says.
struct Emsg {
    /// Its time, if in the station clock's timescale.
    tick: Option<u64>,
    title: Option<String>,
    artist: Option<String>,
}

/// Reads an `emsg` (version 1) carrying a timed ID3 tag.
fn emsg(body: &[u8]) -> Result<Emsg, &'static str> {
    let timescale = u32_at(body, 4)?;
    let time = body.get(8..16).ok_or("an emsg cut short")?;
    let time = u64::from_be_bytes(time.try_into().map_err(|_| "a bad emsg")?);
    let tick = (u64::from(timescale) == onair_core::TICKS_PER_SECOND).then_some(time);
    // After version and flags: timescale, time (8), duration, id; two strings; the message.
    let strings = body.get(24..).ok_or("an emsg cut short")?;
    let scheme = strings.iter().position(|&b| b == 0).ok_or("a bad emsg")?;
    let rest = &strings[scheme + 1..];
    let value = rest.iter().position(|&b| b == 0).ok_or("a bad emsg")?;
    let (title, artist) = match id3_tag(&rest[value + 1..]) {
        Ok((tag, _)) => (tag.title, tag.artist),
        Err(_) => (None, None),
    };
    Ok(Emsg {
        tick,
        title,
        artist,
    })
}

/// A `tfdt` body's time.
fn decode_time(body: &[u8]) -> Result<u64, &'static str> {
    match body.first() {
        Some(1) => {
            let b = body.get(4..12).ok_or("a tfdt cut short")?;
            Ok(u64::from_be_bytes(b.try_into().map_err(|_| "a bad tfdt")?))
        }
        _ => Ok(u64::from(u32_at(body, 4)?)),
    }
}

/// A `trun` body's data offset (if given) and sample sizes.
fn run(body: &[u8]) -> Result<(Option<usize>, Vec<usize>), &'static str> {
    let flags = u32_at(body, 0)? & 0x00FF_FFFF;
    if flags & 0x200 == 0 {
        return Err("a track run without sample sizes");
    }
    let count = u32_at(body, 4)? as usize;
    let mut at = 8;
    let mut offset = None;
    if flags & 0x1 != 0 {
        offset = Some(u32_at(body, at)? as usize);
        at += 4;
    }
    if flags & 0x4 != 0 {
        at += 4;
    }
    // Each sample's fields, those present: duration, size, flags, composition offset.
    let per = [0x100, 0x200, 0x400, 0x800]
        .iter()
        .filter(|&&f| flags & f != 0)
        .count()
        * 4;
    let before = usize::from(flags & 0x100 != 0) * 4;
    let mut sizes = Vec::with_capacity(count.min(body.len() / per));
    for i in 0..count {
        sizes.push(u32_at(body, at + i * per + before)? as usize);
    }
    Ok((offset, sizes))
}

/// Reads a media segment of fragmented MP4 as onair writes it: an optional `emsg`, one `moof`
/// of one track run, and its `mdat`.
pub fn fragment(bytes: Bytes) -> Result<Fragment, &'static str> {
    let (mut title, mut artist, mut tick) = (None, None, None);
    let (mut time, mut sizes, mut data_start) = (None, Vec::new(), None);
    for top in boxes(&bytes)? {
        let body = &bytes[top.start + 8..top.end];
        match &top.kind {
            b"emsg" => {
                let said = emsg(body)?;
                (title, artist, tick) = (said.title, said.artist, said.tick);
            }
            b"moof" => {
                for traf in boxes(body)?.into_iter().filter(|b| &b.kind == b"traf") {
                    let traf = &body[traf.start + 8..traf.end];
                    for inner in boxes(traf)? {
                        let inner_body = &traf[inner.start + 8..inner.end];
                        match &inner.kind {
                            b"tfdt" => time = Some(decode_time(inner_body)?),
                            b"trun" => {
                                let (offset, run_sizes) = run(inner_body)?;
                                // Offsets count from the moof's first byte.
                                data_start = offset.map(|o| top.start + o);
                                sizes = run_sizes;
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut at = data_start.ok_or("a fragment without a data offset")?;
    let mut samples = Vec::with_capacity(sizes.len());
    for size in sizes {
        if at + size > bytes.len() {
            return Err("a sample runs past the segment");
        }
        samples.push(bytes.slice(at..at + size));
        at += size;
    }
    Ok(Fragment {
        time: time.ok_or("a fragment without a tfdt")?,
        tick,
        title,
        artist,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_core::{carry_samples, Codec, Fmp4Track};

    #[test]
    fn a_fragment_reads_back_as_written() {
        // Three 20 ms Opus packets (CELT silence), stereo.
        let packets: Vec<&[u8]> = vec![&[0xFC, 0xFF, 0xFE], &[0xFC, 0xFF, 0xFE, 1], &[0xFC, 0]];
        let carried = carry_samples(Codec::Opus, 2, packets.iter().copied()).expect("carried");
        let first = Codec::Opus.parse(&carried).expect("a packet");
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]);
        let track = Fmp4Track::new(&first, &[Bytes::from(head)]).expect("Opus");
        let tag = b"ID3\x04\x00\x00\x00\x00\x00\x0fTIT2\x00\x00\x00\x05\x00\x00\x03Song";
        let bytes = track.media_segment(9, 96_000 * 588 + 7, &carried, tag);
        let read = fragment(Bytes::from(bytes)).expect("a fragment");
        assert_eq!((read.time, read.tick), (96_000, Some(96_000 * 588 + 7)));
        assert_eq!(read.title.as_deref(), Some("Song"));
        let samples: Vec<&[u8]> = read.samples.iter().map(|s| &s[..]).collect();
        assert_eq!(samples, packets);
        assert!(fragment(Bytes::from_static(b"\x00\x00\x00\x09moof")).is_err());
    }
}
