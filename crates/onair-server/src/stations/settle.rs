//! When a station file is completely written: the watcher's decision, as a pure state machine.
//!
//! Events and time go in, decisions come out; nothing here reads the disk or a clock, so every
//! rule is tested with fixed instants. A file is complete ("settled") when:
//!
//! - its writer closed it (`cp`, an editor, an upload), or it arrived by rename (`mv`, rsync,
//!   editors that save to a temp file), and it has not been written since;
//! - a writer that stopped writing without closing it has been silent for [`WRITE_QUIET`];
//! - nothing is known of its history (it was there at start-up, or events were missed) and it has
//!   not changed for [`SCAN_QUIET`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use super::identity::FileIdentity;

/// A file with no write in flight and unknown history is complete after this long unchanged.
pub const SCAN_QUIET: Duration = Duration::from_millis(300);
/// A writer that stops writing without closing the file is taken as done after this long.
pub const WRITE_QUIET: Duration = Duration::from_secs(3);

/// What an event says about a station file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileEvent {
    /// Created or written to: a write is in flight.
    Written,
    /// Its writer closed it.
    Closed,
    /// It arrived whole, by rename.
    Arrived,
}

/// What is known of one file's writes.
#[derive(Debug)]
struct FileState {
    identity: Option<FileIdentity>,
    /// When `identity` was last seen to change.
    seen_at: Instant,
    /// A write event came and no close since.
    writing: bool,
    /// When the last write event came.
    written_at: Instant,
    /// The writer closed it, or it arrived by rename.
    complete: bool,
}

impl FileState {
    fn new(identity: Option<FileIdentity>, now: Instant) -> Self {
        FileState {
            identity,
            seen_at: now,
            writing: false,
            written_at: now,
            complete: false,
        }
    }
}

/// The settling state of every station file in the folder.
#[derive(Debug, Default)]
pub struct Settle {
    files: HashMap<PathBuf, FileState>,
}

impl Settle {
    /// Records `event` for the file at `path`, at `now`.
    pub fn event(&mut self, path: &Path, event: FileEvent, now: Instant) {
        let state = self
            .files
            .entry(path.to_path_buf())
            .or_insert_with(|| FileState::new(None, now));
        match event {
            FileEvent::Written => {
                state.writing = true;
                state.written_at = now;
                state.complete = false;
            }
            FileEvent::Closed | FileEvent::Arrived => {
                state.writing = false;
                state.complete = true;
            }
        }
    }

    /// Looks at the files present now, each with its identity, and returns those not settled
    /// yet. Files no longer present are forgotten.
    pub fn look<'a>(
        &mut self,
        present: impl IntoIterator<Item = (&'a Path, Option<FileIdentity>)>,
        now: Instant,
    ) -> HashSet<PathBuf> {
        let mut seen = HashSet::new();
        let mut unsettled = HashSet::new();
        for (path, identity) in present {
            seen.insert(path.to_path_buf());
            let state = self
                .files
                .entry(path.to_path_buf())
                .or_insert_with(|| FileState::new(identity, now));
            if state.identity != identity {
                state.identity = identity;
                state.seen_at = now;
            }
            let settled = if state.writing {
                now.duration_since(state.written_at) >= WRITE_QUIET
            } else {
                state.complete || now.duration_since(state.seen_at) >= SCAN_QUIET
            };
            if !settled {
                unsettled.insert(path.to_path_buf());
            }
        }
        self.files.retain(|path, _| seen.contains(path));
        unsettled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn identity(len: u64) -> Option<FileIdentity> {
        Some(FileIdentity::for_tests(1, 42, len))
    }

    fn unsettled(settle: &mut Settle, path: &Path, len: u64, now: Instant) -> bool {
        settle.look([(path, identity(len))], now).contains(path)
    }

    #[test]
    fn a_file_of_unknown_history_settles_once_unchanged_for_scan_quiet() {
        let (t0, path) = (Instant::now(), Path::new("s/a.aac"));
        let mut settle = Settle::default();
        assert!(unsettled(&mut settle, path, 100, t0));
        assert!(unsettled(&mut settle, path, 200, t0 + 200 * MS), "it grew");
        assert!(
            unsettled(&mut settle, path, 200, t0 + 400 * MS),
            "200 ms unchanged"
        );
        assert!(
            !unsettled(&mut settle, path, 200, t0 + 500 * MS),
            "300 ms unchanged"
        );
    }

    #[test]
    fn a_closed_or_renamed_file_settles_at_once_and_a_new_write_unsettles_it() {
        let (t0, path) = (Instant::now(), Path::new("s/a.aac"));
        let mut settle = Settle::default();
        settle.event(path, FileEvent::Written, t0);
        assert!(unsettled(&mut settle, path, 100, t0 + 10 * MS));
        settle.event(path, FileEvent::Closed, t0 + 20 * MS);
        assert!(!unsettled(&mut settle, path, 100, t0 + 20 * MS));
        settle.event(path, FileEvent::Written, t0 + 30 * MS);
        assert!(unsettled(&mut settle, path, 150, t0 + 40 * MS));
        let moved = Path::new("s/b.aac");
        settle.event(moved, FileEvent::Arrived, t0);
        assert!(!unsettled(&mut settle, moved, 100, t0));
    }

    #[test]
    fn a_writer_silent_for_write_quiet_without_closing_counts_as_done() {
        let (t0, path) = (Instant::now(), Path::new("s/a.aac"));
        let mut settle = Settle::default();
        settle.event(path, FileEvent::Written, t0);
        assert!(unsettled(&mut settle, path, 100, t0 + 2999 * MS));
        settle.event(path, FileEvent::Written, t0 + 2000 * MS);
        assert!(
            unsettled(&mut settle, path, 100, t0 + 4999 * MS),
            "the clock restarts"
        );
        assert!(!unsettled(&mut settle, path, 100, t0 + 5000 * MS));
    }

    #[test]
    fn files_that_are_gone_are_forgotten() {
        let (t0, path) = (Instant::now(), Path::new("s/a.aac"));
        let mut settle = Settle::default();
        settle.event(path, FileEvent::Closed, t0);
        assert!(settle.look([], t0 + MS).is_empty());
        // Back with unknown history: it waits SCAN_QUIET again.
        assert!(unsettled(&mut settle, path, 100, t0 + 2 * MS));
    }
}
