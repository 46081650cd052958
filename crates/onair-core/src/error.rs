//! Typed errors of the core crate: every one names the file and the byte offset it concerns.

use std::path::PathBuf;

/// Why a station file cannot be played.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Reading the file failed.
    #[error("{}: read error at byte {offset}: {source}", path.display())]
    Io {
        /// The station file.
        path: PathBuf,
        /// Where in the file the read was going.
        offset: u64,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no playable ADTS stream.
    #[error("{}: not an ADTS AAC stream (at byte {offset}): {reason}", path.display())]
    NotAdts {
        /// The station file.
        path: PathBuf,
        /// Where the problem is.
        offset: u64,
        /// What is wrong, in words an operator can act on.
        reason: String,
    },
    /// The file is ADTS, but listeners who tune in mid-stream could not decode it.
    #[error("{}: ADTS that cannot be broadcast (at byte {offset}): {reason}", path.display())]
    Unplayable {
        /// The station file.
        path: PathBuf,
        /// Where the problem is.
        offset: u64,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

impl SourceError {
    pub(crate) fn io(path: &std::path::Path, offset: u64, source: std::io::Error) -> Self {
        SourceError::Io {
            path: path.to_path_buf(),
            offset,
            source,
        }
    }

    pub(crate) fn not_adts(path: &std::path::Path, offset: u64, reason: impl Into<String>) -> Self {
        SourceError::NotAdts {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}
