//! Metadata tags around the audio: ID3v2 at the start, ID3v1, APEv2 and ID3v2 footers at the end.
//!
//! Tags are not ADTS: a player fed them hears garbage or resyncs. The station plays only the
//! byte range between the tags, found here from the file's first and last bytes.

use std::io::{Read, Seek, SeekFrom};

/// Size of an ID3v2 header (and footer).
const ID3V2_HEADER: u64 = 10;
/// Size of an ID3v1 tag.
const ID3V1_LEN: u64 = 128;
/// Size of an APEv2 footer (and header).
const APE_FOOTER: u64 = 32;

/// The byte range `[start, end)` of a file that holds audio, tags excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioRange {
    /// First byte after any leading ID3v2 tags.
    pub start: u64,
    /// First byte of the trailing tags (the file length when there are none).
    pub end: u64,
}

/// Finds the audio range of a file of `len` bytes. A tag whose size field points past the file
/// ends the audio there (so the range may be empty).
pub fn audio_range<F: Read + Seek>(file: &mut F, len: u64) -> std::io::Result<AudioRange> {
    let mut start = 0;
    // Several ID3v2 tags may follow each other.
    while let Some(size) = read_at(file, start, len, ID3V2_HEADER)?
        .as_deref()
        .and_then(id3v2_size)
    {
        start = start.saturating_add(size).min(len);
    }
    // Trailing tags, outermost first. Every step moves `end` strictly towards `start`, so the
    // scan ends after at most `end - start` steps, whatever the tags' size fields say.
    let mut end = len;
    while let Some(tag_start) = trailing_tag(file, len, start, end)? {
        debug_assert!(tag_start < end);
        end = tag_start;
    }
    Ok(AudioRange { start, end })
}

/// Where the trailing tag ending at `end` starts (never below `start`, always below `end`), or
/// `None` when no ID3v1, APEv2 or appended ID3v2 tag ends there.
fn trailing_tag<F: Read + Seek>(
    file: &mut F,
    len: u64,
    start: u64,
    end: u64,
) -> std::io::Result<Option<u64>> {
    let room = end - start;
    if room >= ID3V1_LEN {
        if let Some(tag) = read_at(file, end - ID3V1_LEN, len, 3)? {
            if tag == b"TAG" {
                return Ok(Some(end - ID3V1_LEN));
            }
        }
    }
    let mut size = None;
    if room >= APE_FOOTER {
        if let Some(footer) = read_at(file, end - APE_FOOTER, len, APE_FOOTER)? {
            size = ape_size(&footer);
        }
    }
    if size.is_none() && room >= ID3V2_HEADER {
        if let Some(footer) = read_at(file, end - ID3V2_HEADER, len, ID3V2_HEADER)? {
            size = id3v2_footer_size(&footer);
        }
    }
    // Both sizes count the footer that was found, so a tag is at least that long: a size
    // field below it (0, say) is still a step of the footer's length, never a step of nothing.
    Ok(size.map(|size| end.saturating_sub(size.max(1)).max(start)))
}

/// Most of an ID3v2 tag read to find the title: a title frame comes early, and a giant size
/// field must not cost giant memory.
const TITLE_SEARCH: u64 = 64 * 1024;

/// The title the file's tags give: ID3v2 `TIT2` (or v2.2 `TT2`) at the start, else the ID3v1
/// title at the end.
pub fn title<F: Read + Seek>(file: &mut F, len: u64) -> std::io::Result<Option<String>> {
    if let Some(header) = read_at(file, 0, len, ID3V2_HEADER)? {
        if let Some(size) = id3v2_size(&header) {
            let body = (size - ID3V2_HEADER)
                .min(TITLE_SEARCH)
                .min(len - ID3V2_HEADER);
            if let Some(tag) = read_at(file, ID3V2_HEADER, len, body)? {
                if let Some(title) = id3v2_title(header[3], header[5], &tag) {
                    return Ok(Some(title));
                }
            }
        }
    }
    if len >= ID3V1_LEN {
        if let Some(tag) = read_at(file, len - ID3V1_LEN, len, ID3V1_LEN)? {
            if tag.starts_with(b"TAG") {
                let title = latin1(&tag[3..33]);
                let title = title.trim_matches(|c: char| c == '\0' || c.is_whitespace());
                if !title.is_empty() {
                    return Ok(Some(title.to_string()));
                }
            }
        }
    }
    Ok(None)
}

/// The title frame of an ID3v2 tag body (`version` 2, 3 or 4).
fn id3v2_title(version: u8, flags: u8, body: &[u8]) -> Option<String> {
    // Unsynchronised or extended-header tags are rare in audio files; skip an extended header.
    let mut pos = 0usize;
    if flags & 0x40 != 0 && version >= 3 {
        let size = if version == 4 {
            synchsafe(body.get(0..4)?)? as usize
        } else {
            u32::from_be_bytes(body.get(0..4)?.try_into().ok()?) as usize + 4
        };
        pos = size;
    }
    let (id_len, header_len, wanted): (usize, usize, &[u8]) = if version == 2 {
        (3, 6, b"TT2")
    } else {
        (4, 10, b"TIT2")
    };
    while pos + header_len <= body.len() {
        let id = &body[pos..pos + id_len];
        if id.iter().all(|&b| b == 0) {
            break;
        }
        let size = match version {
            2 => body[pos + 3..pos + 6]
                .iter()
                .fold(0usize, |a, &b| (a << 8) | usize::from(b)),
            3 => u32::from_be_bytes(body[pos + 4..pos + 8].try_into().ok()?) as usize,
            _ => synchsafe(&body[pos + 4..pos + 8])? as usize,
        };
        let start = pos + header_len;
        let end = start.checked_add(size)?;
        if id == wanted {
            return decode_text(body.get(start..end.min(body.len()))?);
        }
        pos = end;
    }
    None
}

/// An ID3v2 text frame's content: encoding byte, then the text.
fn decode_text(frame: &[u8]) -> Option<String> {
    let (&encoding, text) = frame.split_first()?;
    let text = match encoding {
        0 => latin1(text),
        1 | 2 => {
            let (big_endian, text) = match text {
                [0xFE, 0xFF, rest @ ..] => (true, rest),
                [0xFF, 0xFE, rest @ ..] => (false, rest),
                rest => (encoding == 2, rest),
            };
            let units: Vec<u16> = text
                .chunks_exact(2)
                .map(|c| {
                    if big_endian {
                        u16::from_be_bytes([c[0], c[1]])
                    } else {
                        u16::from_le_bytes([c[0], c[1]])
                    }
                })
                .take_while(|&u| u != 0)
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(text).into_owned(),
    };
    let text = text
        .split('\0')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    (!text.is_empty()).then_some(text)
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Reads `n` bytes at `offset`, or `None` when the file is shorter.
fn read_at<F: Read + Seek>(
    file: &mut F,
    offset: u64,
    len: u64,
    n: u64,
) -> std::io::Result<Option<Vec<u8>>> {
    if offset.saturating_add(n) > len {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0; n as usize];
    file.read_exact(&mut buf)?;
    Ok(Some(buf))
}

/// A 28-bit "synchsafe" integer: four bytes of seven bits each.
fn synchsafe(bytes: &[u8]) -> Option<u64> {
    if bytes.len() != 4 || bytes.iter().any(|b| b & 0x80 != 0) {
        return None;
    }
    Some(bytes.iter().fold(0, |acc, &b| (acc << 7) | u64::from(b)))
}

/// Total size of the ID3v2 tag whose header is `h`, header and footer included.
pub(crate) fn id3v2_size(h: &[u8]) -> Option<u64> {
    if h.len() < 10 || &h[..3] != b"ID3" || h[3] == 0xFF || h[4] == 0xFF {
        return None;
    }
    let footer = if h[5] & 0x10 != 0 { ID3V2_HEADER } else { 0 };
    Some(ID3V2_HEADER + synchsafe(&h[6..10])? + footer)
}

/// Total size of the appended ID3v2 tag whose footer is `f` (`3DI`), header and footer included.
fn id3v2_footer_size(f: &[u8]) -> Option<u64> {
    if f.len() < 10 || &f[..3] != b"3DI" {
        return None;
    }
    Some(2 * ID3V2_HEADER + synchsafe(&f[6..10])?)
}

/// Total size of the APEv2 tag whose 32-byte footer is `f`, its optional header included.
fn ape_size(f: &[u8]) -> Option<u64> {
    if f.len() < 32 || &f[..8] != b"APETAGEX" {
        return None;
    }
    // The size counts the items and the footer: anything smaller is a broken field, taken as
    // the footer alone.
    let size = u64::from(u32::from_le_bytes(f[12..16].try_into().ok()?)).max(APE_FOOTER);
    let flags = u32::from_le_bytes(f[20..24].try_into().ok()?);
    let header = if flags & 0x8000_0000 != 0 {
        APE_FOOTER
    } else {
        0
    };
    Some(size + header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn range(bytes: &[u8]) -> AudioRange {
        audio_range(&mut Cursor::new(bytes), bytes.len() as u64).expect("in-memory read")
    }

    fn id3v2(payload: usize) -> Vec<u8> {
        let mut tag = b"ID3\x04\x00\x00".to_vec();
        let n = payload as u32;
        tag.extend([
            (n >> 21) as u8 & 0x7F,
            (n >> 14) as u8 & 0x7F,
            (n >> 7) as u8 & 0x7F,
            n as u8 & 0x7F,
        ]);
        tag.resize(10 + payload, 0);
        tag
    }

    fn frame(id: &[u8], text: &[u8]) -> Vec<u8> {
        let mut f = id.to_vec();
        f.extend((text.len() as u32).to_be_bytes());
        f.extend([0, 0]);
        f.extend(text);
        f
    }

    #[test]
    fn titles_from_id3v2_and_id3v1() {
        let mut v23 = frame(b"TALB", b"\0An album");
        v23.extend(frame(b"TIT2", b"\x03Caf\xc3\xa9 Jazz"));
        let mut file = b"ID3\x03\x00\x00".to_vec();
        file.extend([0, 0, (v23.len() >> 7) as u8, (v23.len() & 0x7F) as u8]);
        file.extend(&v23);
        file.extend([0xFF; 20]);
        let t = title(&mut Cursor::new(&file), file.len() as u64).expect("read");
        assert_eq!(t.as_deref(), Some("Café Jazz"));

        let utf16 = frame(b"TIT2", b"\x01\xFF\xFEH\0i\0");
        let mut file = b"ID3\x03\x00\x00\0\0\0".to_vec();
        file.push(utf16.len() as u8);
        file.extend(&utf16);
        assert_eq!(
            title(&mut Cursor::new(&file), file.len() as u64)
                .expect("read")
                .as_deref(),
            Some("Hi")
        );

        let mut file = vec![0xFF; 100];
        let mut v1 = b"TAGOld Title".to_vec();
        v1.resize(128, 0);
        file.extend(v1);
        assert_eq!(
            title(&mut Cursor::new(&file), file.len() as u64)
                .expect("read")
                .as_deref(),
            Some("Old Title")
        );
        assert_eq!(
            title(&mut Cursor::new(&[0xFFu8; 300]), 300).expect("read"),
            None
        );
    }

    #[test]
    fn no_tags() {
        assert_eq!(range(&[0xFF; 50]), AudioRange { start: 0, end: 50 });
    }

    #[test]
    fn leading_id3v2_tags_are_skipped() {
        let mut file = id3v2(300);
        file.extend(id3v2(20));
        file.extend([0xFF; 40]);
        assert_eq!(
            range(&file),
            AudioRange {
                start: 340,
                end: 380
            }
        );
    }

    #[test]
    fn giant_id3v2_size_ends_at_the_file() {
        let mut file = b"ID3\x04\x00\x00\x7F\x7F\x7F\x7F".to_vec();
        file.extend([0xFF; 40]);
        assert_eq!(range(&file), AudioRange { start: 50, end: 50 });
    }

    #[test]
    fn an_ape_footer_with_size_zero_is_cut_and_the_scan_ends() {
        let mut file = vec![0xFF; 500];
        let mut ape = b"APETAGEX".to_vec();
        ape.extend(2000u32.to_le_bytes());
        ape.extend(0u32.to_le_bytes()); // size 0: once read again and again for ever
        ape.extend([0; 16]);
        file.extend(&ape);
        assert_eq!(range(&file), AudioRange { start: 0, end: 500 });
        // Footers stacked to the file's start: the scan still ends, at the start.
        let stacked = ape.repeat(40);
        assert_eq!(range(&stacked), AudioRange { start: 0, end: 0 });
    }

    #[test]
    fn trailing_id3v1_and_ape_are_cut() {
        let mut file = vec![0xFF; 1000];
        let mut ape = Vec::new();
        ape.extend(b"APETAGEX");
        ape.extend(2000u32.to_le_bytes());
        ape.extend((64u32 + 32).to_le_bytes()); // items + footer
        ape.extend(0u32.to_le_bytes());
        ape.extend(0x8000_0000u32.to_le_bytes()); // has a header
        ape.extend([0; 8]);
        file.extend([0u8; 32 + 64]); // APE header + items
        file.extend(&ape);
        let mut v1 = b"TAG".to_vec();
        v1.resize(128, b' ');
        file.extend(&v1);
        assert_eq!(
            range(&file),
            AudioRange {
                start: 0,
                end: 1000
            }
        );
    }
}
