//! Which version of a file is which: a file replaced, renamed over or rewritten has another
//! identity, so it is probed again; one merely looked at again is not.

use std::path::Path;
use std::time::SystemTime;

/// Which version of a file is playing: a replaced or rewritten file has another identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileIdentity {
    /// An identity made up for tests of code that compares identities.
    #[cfg(test)]
    pub(crate) fn for_tests(dev: u64, ino: u64, len: u64) -> FileIdentity {
        FileIdentity {
            dev,
            ino,
            len,
            modified: None,
        }
    }

    /// The identity of the file at `path` now (following symlinks), `None` when it cannot be
    /// read or is not a regular file.
    pub fn of(path: &Path) -> Option<FileIdentity> {
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_file() {
            return None;
        }
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Some(FileIdentity {
            dev,
            ino,
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}
