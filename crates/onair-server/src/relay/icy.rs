//! Shoutcast/Icecast in-band metadata (`Icy-MetaData: 1`): every `icy-metaint` bytes of audio
//! come a length byte and that many 16-byte blocks of `StreamTitle='...';`. [`IcyDemux`] takes
//! the blocks out of the stream and reads the titles in them.

/// The most audio bytes between two metadata blocks onair believes (Icecast sends 16,000,
/// Shoutcast 8,192 or 32,768): more is a broken or hostile upstream.
pub const MAX_METAINT: usize = 256 * 1024;

/// Checks an upstream's `icy-metaint`.
pub fn metaint(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_METAINT).contains(&n) => Ok(n),
        // The value is repeated only when it is a number: public views show this text, and
        // say nothing else an upstream answered.
        _ if value.trim().len() <= 12 && value.trim().bytes().all(|b| b.is_ascii_digit()) => {
            Err(format!(
                "icy-metaint `{}` is not an interval from 1 to {MAX_METAINT} bytes",
                value.trim()
            ))
        }
        _ => Err("a bad icy-metaint".to_string()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Audio, this many bytes until the next length byte.
    Audio(usize),
    /// The length byte is next.
    Length,
    /// Metadata, this many bytes left of the block.
    Meta(usize),
}

/// What came out of a metadata block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metadata {
    /// A `StreamTitle` (possibly empty: the upstream has no title).
    Title(String),
    /// A block with no title onair could read (junk, or other fields only).
    Unreadable,
}

/// Separates audio and metadata blocks of an upstream's body.
#[derive(Debug)]
pub struct IcyDemux {
    interval: usize,
    part: Part,
    block: Vec<u8>,
}

impl IcyDemux {
    /// Blocks every `interval` bytes of audio.
    pub fn new(interval: usize) -> IcyDemux {
        IcyDemux {
            interval,
            part: Part::Audio(interval),
            block: Vec::new(),
        }
    }

    /// Splits `bytes` (the next bytes of the body): `audio` is given each run of audio, and
    /// the metadata blocks completed are returned (empty blocks, the usual case, are not).
    pub fn split(&mut self, mut bytes: &[u8], mut audio: impl FnMut(&[u8])) -> Vec<Metadata> {
        let mut found = Vec::new();
        while !bytes.is_empty() {
            match self.part {
                Part::Audio(left) => {
                    let n = left.min(bytes.len());
                    audio(&bytes[..n]);
                    bytes = &bytes[n..];
                    self.part = if n == left {
                        Part::Length
                    } else {
                        Part::Audio(left - n)
                    };
                }
                Part::Length => {
                    let len = usize::from(bytes[0]) * 16;
                    bytes = &bytes[1..];
                    self.block.clear();
                    self.part = if len == 0 {
                        Part::Audio(self.interval)
                    } else {
                        Part::Meta(len)
                    };
                }
                Part::Meta(left) => {
                    let n = left.min(bytes.len());
                    self.block.extend_from_slice(&bytes[..n]);
                    bytes = &bytes[n..];
                    if n == left {
                        found.push(read_block(&self.block));
                        self.part = Part::Audio(self.interval);
                    } else {
                        self.part = Part::Meta(left - n);
                    }
                }
            }
        }
        found
    }
}

/// The `StreamTitle` of a block: `StreamTitle='Artist - Title';StreamUrl='...';` padded with
/// NULs. UTF-8, else Latin-1 (older encoders); control characters make it unreadable.
fn read_block(block: &[u8]) -> Metadata {
    let end = block.iter().position(|b| *b == 0).unwrap_or(block.len());
    let text = match std::str::from_utf8(&block[..end]) {
        Ok(text) => text.to_string(),
        Err(_) => block[..end].iter().map(|b| char::from(*b)).collect(),
    };
    const KEY: &str = "StreamTitle='";
    let Some(start) = text.find(KEY) else {
        return Metadata::Unreadable;
    };
    let rest = &text[start + KEY.len()..];
    // The value ends at `';` (a title may hold an apostrophe), or at the last `'`.
    let value = match rest.find("';") {
        Some(end) => &rest[..end],
        None => match rest.rfind('\'') {
            Some(end) => &rest[..end],
            None => return Metadata::Unreadable,
        },
    };
    if value.chars().any(char::is_control) {
        return Metadata::Unreadable;
    }
    Metadata::Title(value.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A metadata block holding `text`, padded to 16 bytes.
    fn block(text: &str) -> Vec<u8> {
        let len = text.len().div_ceil(16);
        let mut out = vec![len as u8];
        out.extend(text.as_bytes());
        out.resize(1 + len * 16, 0);
        out
    }

    #[test]
    fn audio_comes_out_whole_and_titles_are_read_whatever_the_reads() {
        let mut body = Vec::new();
        let mut audio_in: Vec<u8> = Vec::new();
        for i in 0..5u8 {
            let audio = vec![i; 100];
            audio_in.extend(&audio);
            body.extend(&audio);
            match i {
                1 => body.extend(block("StreamTitle='Miles Davis - So What';StreamUrl='';")),
                3 => body.extend(block("StreamTitle='Rock 'n' Roll';")),
                _ => body.push(0),
            }
        }
        for step in [1, 7, 99, 100, 101, 1000] {
            let mut demux = IcyDemux::new(100);
            let (mut audio_out, mut titles) = (Vec::new(), Vec::new());
            for piece in body.chunks(step) {
                titles.extend(demux.split(piece, |a| audio_out.extend_from_slice(a)));
            }
            assert_eq!(audio_out, audio_in, "reads of {step}");
            assert_eq!(
                titles,
                [
                    Metadata::Title("Miles Davis - So What".into()),
                    Metadata::Title("Rock 'n' Roll".into())
                ]
            );
        }
    }

    #[test]
    fn junk_blocks_and_bad_intervals_are_bounded() {
        let mut demux = IcyDemux::new(4);
        let mut junk = vec![255u8];
        junk.extend((0..255 * 16).map(|i| (i % 251) as u8));
        let mut body = b"abcd".to_vec();
        body.extend(&junk);
        body.extend(b"efgh");
        let mut audio = Vec::new();
        let found = demux.split(&body, |a| audio.extend_from_slice(a));
        assert_eq!(audio, b"abcdefgh");
        assert_eq!(found, [Metadata::Unreadable]);
        assert_eq!(
            read_block(b"StreamTitle='caf\xe9';\0\0"),
            Metadata::Title("café".into())
        );
        assert_eq!(read_block(b"StreamTitle='a\x07b';"), Metadata::Unreadable);
        assert_eq!(metaint("16000"), Ok(16000));
        for bad in ["0", "-5", "99999999999", "abc", ""] {
            assert!(metaint(bad).is_err(), "{bad}");
        }
    }
}
