//! A track's file: which file it is, and reading its audio range in blocks.
//!
//! A probed track remembers its file's identity (device and inode), not an open descriptor: it
//! is opened again when its audio is read and checked to be the very file probed. While it is
//! open (the track playing), every reader shares that one descriptor: a segment cut from the
//! playing track, or the track looping, reads the file that plays even after another file was
//! renamed over its path. A programme of 20,000 tracks then costs a descriptor or two per
//! station, whatever the descriptor limit; a file renamed over a track is another file, never a
//! change under the listeners (the registry probes it and switches).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use crate::error::SourceError;
use crate::format::AudioRange;

/// How many bytes a station reads from its file at a time.
pub const READ_BLOCK: usize = 64 * 1024;

/// The file a track was probed from: its path and identity, and the file itself while some
/// reader has it open.
#[derive(Debug, Clone)]
pub struct TrackFile {
    path: PathBuf,
    /// Device and inode of the file probed (0, 0 where the platform has none).
    id: (u64, u64),
    /// The file, while a reader holds it open.
    open: Arc<Mutex<Weak<File>>>,
    /// Its modification time when it was probed.
    modified: Option<SystemTime>,
}

impl PartialEq for TrackFile {
    fn eq(&self, other: &TrackFile) -> bool {
        self.path == other.path && self.id == other.id
    }
}

impl Eq for TrackFile {}

impl TrackFile {
    /// The identity of `file`, open at `path`.
    pub fn of(path: &Path, file: &File) -> io::Result<TrackFile> {
        let meta = file.metadata()?;
        Ok(TrackFile {
            path: path.to_path_buf(),
            id: id_of(&meta),
            open: Arc::default(),
            modified: meta.modified().ok(),
        })
    }

    /// The file's modification time when it was probed (none where the platform has none).
    pub fn modified(&self) -> Option<SystemTime> {
        self.modified
    }

    /// A track file of no real file (for tests of programme arithmetic).
    #[cfg(any(test, feature = "testing"))]
    pub fn nowhere(path: &Path) -> TrackFile {
        TrackFile {
            path: path.to_path_buf(),
            id: (0, 0),
            open: Arc::default(),
            modified: None,
        }
    }

    /// The file, open: the one a reader holds already, else opened again if the path still
    /// names the file probed.
    pub fn open(&self) -> Result<Arc<File>, SourceError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(file) = open.upgrade() {
            return Ok(file);
        }
        let file = File::open(&self.path).map_err(|e| SourceError::io(&self.path, 0, e))?;
        let id = file
            .metadata()
            .map(|m| id_of(&m))
            .map_err(|e| SourceError::io(&self.path, 0, e))?;
        if id != self.id {
            return Err(SourceError::Replaced {
                path: self.path.clone(),
            });
        }
        let file = Arc::new(file);
        *open = Arc::downgrade(&file);
        Ok(file)
    }

    /// The file if a reader holds it open now (nothing is opened).
    pub(crate) fn held(&self) -> Option<Arc<File>> {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .upgrade()
    }
}

#[cfg(unix)]
fn id_of(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn id_of(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Reads a track's audio range in blocks, with positional reads: every reader has its own
/// position. The file is opened at the first read (on the blocking pool, where reads run).
pub(crate) struct RangeReader {
    /// The file, once open.
    file: Option<Arc<File>>,
    /// What to open.
    track: Option<TrackFile>,
    path: PathBuf,
    pos: u64,
    end: u64,
}

impl RangeReader {
    /// A reader of `range` of `file`, open already (the probe's).
    pub(crate) fn open(file: File, path: &Path, range: AudioRange) -> Self {
        RangeReader {
            file: Some(Arc::new(file)),
            track: None,
            path: path.to_path_buf(),
            pos: range.start,
            end: range.end,
        }
    }

    /// A reader of `range` of `track`, positioned at byte `at` (a frame inside the range): of
    /// the file some reader holds open now, else opened at its first read.
    pub(crate) fn starting_at(track: &TrackFile, range: AudioRange, at: u64) -> Self {
        RangeReader {
            file: track.held(),
            track: Some(track.clone()),
            path: track.path.clone(),
            pos: at.clamp(range.start, range.end),
            end: range.end,
        }
    }

    /// Appends up to one block to `buf`; `false` at the end of the range (or of a file that
    /// shrank).
    pub(crate) fn fill(&mut self, buf: &mut bytes::BytesMut) -> Result<bool, SourceError> {
        let want = (self.end.saturating_sub(self.pos)).min(READ_BLOCK as u64) as usize;
        if want == 0 {
            return Ok(false);
        }
        let file = match (&self.file, &self.track) {
            (Some(file), _) => Arc::clone(file),
            (None, Some(track)) => Arc::clone(self.file.insert(track.open()?)),
            (None, None) => return Ok(false),
        };
        let start = buf.len();
        buf.resize(start + want, 0);
        let n = loop {
            match read_at(&file, &mut buf[start..], self.pos) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    buf.truncate(start);
                    return Err(SourceError::io(&self.path, self.pos, e));
                }
            }
        };
        buf.truncate(start + n);
        self.pos += n as u64;
        Ok(n > 0)
    }
}

/// Reads at `offset` without moving the file's shared position.
#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

/// Reads at `offset` (Windows moves the shared position, which no reader here relies on).
#[cfg(windows)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_track_file_opens_only_as_the_file_probed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a.aac");
        std::fs::write(&path, b"one").expect("write");
        let track = TrackFile::of(&path, &File::open(&path).expect("open")).expect("identity");
        assert!(track.open().is_ok());
        // Rewritten in place: the same file.
        std::fs::write(&path, b"two").expect("write");
        assert!(track.open().is_ok());
        // Renamed over: another file, unless a reader holds the one probed open.
        let held = track.open().expect("open");
        let other = dir.path().join("b.aac");
        std::fs::write(&other, b"three").expect("write");
        std::fs::rename(&other, &path).expect("rename");
        let again = track.open().expect("the file held");
        assert!(Arc::ptr_eq(&held, &again));
        drop((held, again));
        assert!(matches!(track.open(), Err(SourceError::Replaced { .. })));
        // Gone: an I/O error, which may pass.
        std::fs::remove_file(&path).expect("remove");
        assert!(matches!(track.open(), Err(SourceError::Io { .. })));
    }
}
