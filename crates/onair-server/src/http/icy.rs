//! ICY (Shoutcast/Icecast) in-stream metadata.
//!
//! A client that sends `Icy-MetaData: 1` is told `icy-metaint: 16000`; after every 16000 audio
//! bytes it then receives one metadata block: a length byte `L`, then `L * 16` bytes holding
//! `StreamTitle='...';`, NUL-padded. `L = 0` (a single zero byte) when the title has not changed
//! since that listener's previous block.
//!
//! The title is that of the track the listener last received audio of: a new track's title goes
//! out in the first block after its first frame, never before the listener hears it. A block is
//! built once per title and shared by every listener, like the audio.

use std::sync::Arc;

use bytes::Bytes;

/// Audio bytes between two metadata blocks.
pub const METAINT: usize = 16_000;

/// The longest text a block can hold (the length byte counts 16-byte units).
const MAX_TEXT: usize = 255 * 16;

/// The block sent when the title has not changed: `L = 0`.
pub fn unchanged_block() -> Bytes {
    Bytes::from_static(&[0])
}

/// A station's current title and its ready-made metadata block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcyTitle {
    /// Bumped on every change, so a listener knows whether it has sent this title.
    pub version: u64,
    /// The title.
    pub title: String,
    /// `L`, then `StreamTitle='<title>';` padded with NULs to `L * 16` bytes.
    pub block: Bytes,
}

impl IcyTitle {
    /// The block for `title`, as version `version`.
    pub fn new(version: u64, title: &str) -> Self {
        IcyTitle {
            version,
            title: title.to_string(),
            block: block(title),
        }
    }
}

/// Builds the metadata block for `title`. Control characters are dropped and every `'` becomes
/// `’` (U+2019): a quote ends the field for loose parsers, so a tag could otherwise smuggle a
/// `StreamUrl='...'` field of its own; an over-long title is cut on a character boundary.
pub fn block(title: &str) -> Bytes {
    let clean: String = title
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '\'' { '\u{2019}' } else { c })
        .collect();
    let overhead = "StreamTitle='';".len();
    let mut cut = clean.as_str();
    while cut.len() + overhead > MAX_TEXT {
        let mut end = cut.len() - 1;
        while !cut.is_char_boundary(end) {
            end -= 1;
        }
        cut = &cut[..end];
    }
    let text = format!("StreamTitle='{cut}';");
    let units = text.len().div_ceil(16);
    let mut block = Vec::with_capacity(1 + units * 16);
    block.push(units as u8);
    block.extend_from_slice(text.as_bytes());
    block.resize(1 + units * 16, 0);
    Bytes::from(block)
}

/// Where one listener is in the metadata rhythm.
#[derive(Debug)]
pub struct IcyCursor {
    /// Audio bytes to send before the next block.
    until_block: usize,
    /// The part of a chunk that comes after a block.
    rest: Option<Bytes>,
    /// The title this listener last received.
    sent: Option<Arc<IcyTitle>>,
}

impl Default for IcyCursor {
    fn default() -> Self {
        IcyCursor {
            until_block: METAINT,
            rest: None,
            sent: None,
        }
    }
}

/// What to send next.
#[derive(Debug, PartialEq, Eq)]
pub enum IcyNext {
    /// These audio bytes.
    Audio(Bytes),
    /// This metadata block.
    Block(Bytes),
    /// A new chunk is needed.
    NeedChunk,
}

impl IcyCursor {
    /// The next piece for the client: what is left of the last chunk, or a block when 16000
    /// audio bytes have gone since the last one. `title` gives the title now (asked only when a
    /// block is due).
    pub fn next(&mut self, title: impl FnOnce() -> Arc<IcyTitle>) -> IcyNext {
        if self.until_block == 0 {
            self.until_block = METAINT;
            let title = title();
            if self
                .sent
                .as_ref()
                .is_some_and(|sent| sent.title == title.title)
            {
                return IcyNext::Block(unchanged_block());
            }
            let block = title.block.clone();
            self.sent = Some(title);
            return IcyNext::Block(block);
        }
        match self.rest.take() {
            Some(audio) => IcyNext::Audio(self.cut(audio)),
            None => IcyNext::NeedChunk,
        }
    }

    /// Hands the cursor a new chunk of audio; returns what of it goes out now.
    pub fn feed(&mut self, audio: Bytes) -> Bytes {
        self.cut(audio)
    }

    /// Audio up to the next block boundary; the rest waits (zero-copy split).
    fn cut(&mut self, mut audio: Bytes) -> Bytes {
        if audio.len() > self.until_block {
            self.rest = Some(audio.split_off(self.until_block));
        }
        self.until_block -= audio.len();
        audio
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_padded_to_16_byte_units() {
        let b = block("Jazz");
        assert_eq!(b[0], 2); // "StreamTitle='Jazz';" is 19 bytes
        assert_eq!(b.len(), 33);
        assert_eq!(&b[1..20], b"StreamTitle='Jazz';");
        assert!(b[20..].iter().all(|&x| x == 0));
        let long = block(&"é".repeat(5000));
        assert_eq!(long.len(), 1 + 255 * 16);
        assert!(std::str::from_utf8(long[1..].split(|&b| b == 0).next().expect("text")).is_ok());
        // No quote of a tag reaches the block: a loose parser cannot be handed a second field.
        let hostile = block("x';StreamUrl='http://evil/';\n");
        let text = std::str::from_utf8(&hostile[1..]).expect("UTF-8");
        let text = text.trim_end_matches('\0');
        assert_eq!(text, "StreamTitle='x’;StreamUrl=’http://evil/’;';");
        assert_eq!(text.matches('\'').count(), 2, "only the field's own quotes");
    }

    #[test]
    fn a_block_every_16000_bytes_and_zero_when_unchanged() {
        let title = Arc::new(IcyTitle::new(1, "One"));
        let mut cursor = IcyCursor::default();
        let mut out = Vec::new();
        let mut audio_total = 0;
        let mut fed = 0u32;
        while audio_total < 3 * METAINT + 100 {
            match cursor.next(|| Arc::clone(&title)) {
                IcyNext::Audio(a) => {
                    audio_total += a.len();
                    out.push(a);
                }
                IcyNext::Block(b) => out.push(b),
                IcyNext::NeedChunk => {
                    fed += 1;
                    let a = cursor.feed(Bytes::from(vec![0xAA; 7001]));
                    audio_total += a.len();
                    out.push(a);
                }
            }
        }
        let bytes: Vec<u8> = out.concat();
        assert_eq!(bytes[METAINT], title.block[0]);
        let second = METAINT + title.block.len() + METAINT;
        assert_eq!(bytes[second], 0, "unchanged title: L = 0");
        assert!(fed > 6);
    }
}
