//! A Vorbis station's own Ogg stream, written once per station as its chunks are published,
//! never per listener. A decoder cannot go on from one encode's packets to another's unless both
//! have the same setup header (encodes by one encoder at one setting do: an album, a library
//! converted in one go), so the stream is one logical stream for as long as the encodes it moves
//! to share their identification and setup headers, and a new link where they do not; or (when
//! chaining is asked for) a link per encode the broadcast moves to, whose joins are exact in
//! players that follow chains. Chromium's `<audio>` waits, up to seconds, at every link.
//!
//! A link is a `BOS` page with the encode's identification header, pages with a comment header
//! naming the track (`TITLE=`, `ARTIST=`) and the encode's setup header, then its packets in
//! pages whose granule positions count the samples they decode to from 0 (a link's first packet
//! decodes to nothing; each later one to a quarter of the block before it and a quarter of its
//! own). A link that reaches its encode's end closes with an `EOS` page whose granule position
//! leaves out the encode's padding.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::ogg::{write_page, BOS, EOS};
use super::ogg_pager::Pager;
use super::vorbis::{COMMENT, IDENTIFICATION, SETUP};
use super::vorbis_packet::carried;
use crate::broadcast::{Begin, Link, Marks, Packaged, Packaging};

/// What a station's stream says made it.
const VENDOR: &str = "onair";

/// Writes a station's Ogg Vorbis stream.
#[derive(Debug)]
pub struct VorbisWriter {
    /// The station's serial number base (from its name).
    base: u32,
    /// The header packets of links whose encode gives none (the station's first track's).
    headers: Arc<[Bytes]>,
    /// The link being written, if one is open.
    link: Option<Open>,
    /// Links begun.
    links: u64,
    /// A new link at every encode, not only where the setup header changes.
    chain: bool,
}

/// The link being written.
#[derive(Debug)]
struct Open {
    pager: Pager,
    /// Samples its packets decode to so far (its last granule position).
    granule: u64,
    /// The block size of the last packet written (none yet: the next decodes to nothing).
    last_block: Option<u8>,
    /// Its identification and setup headers.
    headers: Arc<[Bytes]>,
    /// Its header pages.
    preamble: Bytes,
}

/// Whether `headers` are a Vorbis encode's three header packets.
fn vorbis_headers(headers: &[Bytes]) -> bool {
    matches!(headers, [i, c, s] if i.starts_with(IDENTIFICATION) && c.starts_with(COMMENT) && s.starts_with(SETUP))
}

impl VorbisWriter {
    /// The stream of station `station`, whose links fall back to `headers` (its first track's
    /// header packets).
    pub fn new(station: &str, headers: &[Bytes], chain: bool) -> VorbisWriter {
        let base = super::ogg::serial_base(station);
        VorbisWriter {
            base,
            headers: Arc::from(headers),
            link: None,
            links: 0,
            chain,
        }
    }

    /// The headers a link for `begin` has: its encode's, or the station's.
    fn headers_of(&self, begin: &Begin) -> Arc<[Bytes]> {
        match &begin.headers {
            Some(headers) if vorbis_headers(headers) => Arc::clone(headers),
            _ => Arc::clone(&self.headers),
        }
    }

    /// Starts a link as `begin` says: its header pages, appended to `out`.
    fn begin(&mut self, begin: &Begin, out: &mut BytesMut) {
        self.links += 1;
        let serial = self.base ^ (self.links as u32).wrapping_mul(0x9e37_79b9);
        let headers = self.headers_of(begin);
        let mut preamble = BytesMut::new();
        let mut pager = Pager::new(serial, 1);
        if let [identification, _, setup] = &headers[..] {
            write_page(&mut preamble, BOS, 0, serial, 0, &[identification]);
            let comment = comment_packet(&begin.tags);
            pager.write(&mut preamble, &[(&comment, 0), (setup, 0)], 0);
        }
        let preamble = preamble.freeze();
        out.extend_from_slice(&preamble);
        self.link = Some(Open {
            pager,
            granule: 0,
            last_block: None,
            headers,
            preamble,
        });
    }
}

impl Packaging for VorbisWriter {
    fn package(&mut self, frames: &[u8], marks: &Marks) -> Packaged {
        let mut out = BytesMut::with_capacity(frames.len() + frames.len() / 16 + 4096);
        // A new encode goes on in the open link when chaining is not asked for and its headers
        // (but the comments) are the link's.
        let same = |link: &Open, begin: &Begin| {
            let headers = self.headers_of(begin);
            headers.first() == link.headers.first() && headers.get(2) == link.headers.get(2)
        };
        let begins = match (&self.link, &marks.begins) {
            (None, _) => true,
            (Some(link), Some(begin)) => self.chain || !same(link, begin),
            (Some(_), None) => false,
        };
        if begins {
            let begin = marks.begins.clone().unwrap_or_default();
            self.begin(&begin, &mut out);
        }
        // The encode's end closes the link only where the next one starts a new link anyway
        // (chaining); in one logical stream its padding plays.
        let ends = marks.ends.filter(|_| self.chain);
        let mut packets: Vec<(&[u8], u64)> = Vec::new();
        if let Some(link) = self.link.as_mut() {
            for (packet, header) in carried(frames) {
                if let Some(previous) = link.last_block.replace(header.block) {
                    link.granule += u64::from(super::vorbis::samples(previous, header.block));
                }
                packets.push((packet, link.granule));
            }
            // The encode's padding is left out of the last granule position (never before the
            // packet before it).
            let flags = match ends {
                Some(padding) => {
                    let before = packets.iter().rev().nth(1).map_or(0, |p| p.1);
                    if let Some(last) = packets.last_mut() {
                        last.1 = last.1.saturating_sub(u64::from(padding)).max(before);
                    }
                    EOS
                }
                None => 0,
            };
            link.pager.write(&mut out, &packets, flags);
        }
        let preamble = self
            .link
            .as_ref()
            .map_or_else(Bytes::new, |l| l.preamble.clone());
        if ends.is_some() {
            self.link = None;
        }
        Packaged {
            data: out.freeze(),
            link: Link {
                id: self.links,
                preamble,
                begins,
            },
        }
    }
}

/// A comment header naming onair and, where known, the track's title and artist.
fn comment_packet(tags: &crate::format::TrackTags) -> Vec<u8> {
    let comments: Vec<String> = [("TITLE", &tags.title), ("ARTIST", &tags.artist)]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key}={v}")))
        .collect();
    let mut out = COMMENT.to_vec();
    out.extend_from_slice(&(VENDOR.len() as u32).to_le_bytes());
    out.extend_from_slice(VENDOR.as_bytes());
    out.extend_from_slice(&(comments.len() as u32).to_le_bytes());
    for comment in comments {
        out.extend_from_slice(&(comment.len() as u32).to_le_bytes());
        out.extend_from_slice(comment.as_bytes());
    }
    // The framing bit.
    out.push(1);
    out
}
