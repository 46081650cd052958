//! Typed errors of the core crate: every one names the file and the byte offset it concerns.

use std::path::{Path, PathBuf};

use crate::format::frame::Codec;

/// A path as a message or a log line may show it: control characters (a newline that would
/// forge a log line, a terminal escape) escaped, everything else as it is.
pub fn printable(path: &Path) -> String {
    escape_controls(&path.to_string_lossy())
}

/// `text` with its control characters escaped (`\n`, `\u{1b}`).
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Why a station file cannot be played.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Reading the file failed.
    #[error("{}: read error at byte {offset}: {source}", printable(path))]
    Io {
        /// The station file.
        path: PathBuf,
        /// Where in the file the read was going.
        offset: u64,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no playable stream of the codec its name says.
    #[error(
        "{}: not {} stream (at byte {offset}): {reason}",
        printable(path),
        codec.spec().a_file
    )]
    NotAudio {
        /// The station file.
        path: PathBuf,
        /// The codec its name says.
        codec: Codec,
        /// Where the problem is.
        offset: u64,
        /// What is wrong, in words an operator can act on.
        reason: String,
    },
    /// The file is ADTS, but listeners who tune in mid-stream could not decode it.
    #[error(
        "{}: audio that cannot be broadcast (at byte {offset}): {reason}",
        printable(path)
    )]
    Unplayable {
        /// The station file.
        path: PathBuf,
        /// Where the problem is.
        offset: u64,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// Audio that was on the station clock is gone: the file was truncated or emptied while it
    /// plays (its frames are no longer where its probe found them).
    #[error(
        "{}: no frame where the audio was (at byte {offset}): the file was truncated or emptied while it plays",
        printable(path)
    )]
    Lost {
        /// The station file.
        path: PathBuf,
        /// Where a frame was expected.
        offset: u64,
    },
    /// The path names another file than the one probed (a new version renamed over it): its
    /// audio is the registry's to probe and switch to, never read in place of the old.
    #[error("{}: another file is there now than the one probed", printable(path))]
    Replaced {
        /// The station file.
        path: PathBuf,
    },
}

impl SourceError {
    /// Whether this is audio gone from under a file that played (truncated, emptied), rather
    /// than a file that cannot be read at all.
    pub fn is_lost_audio(&self) -> bool {
        matches!(
            self,
            SourceError::Lost { .. } | SourceError::Replaced { .. }
        )
    }

    /// Whether this may pass by itself: reading or opening failed (out of descriptors, an I/O
    /// error, a file briefly missing). A station never goes off air for it; it tries again.
    pub fn is_transient(&self) -> bool {
        matches!(self, SourceError::Io { .. })
    }

    pub(crate) fn io(path: &std::path::Path, offset: u64, source: std::io::Error) -> Self {
        SourceError::Io {
            path: path.to_path_buf(),
            offset,
            source,
        }
    }

    pub(crate) fn not_audio(
        path: &std::path::Path,
        codec: Codec,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        SourceError::NotAudio {
            path: path.to_path_buf(),
            codec,
            offset,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_lines_are_escaped() {
        let path = Path::new("stations/x.aac\nWARN forged line\x1b[31m");
        let error = SourceError::not_audio(path, Codec::Adts, 0, "no ADTS frame found");
        let shown = error.to_string();
        assert!(!shown.contains('\n') && !shown.contains('\x1b'), "{shown}");
        assert!(
            shown.starts_with("stations/x.aac\\nWARN forged line\\u{1b}[31m: "),
            "{shown}"
        );
    }
}
