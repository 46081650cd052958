//! What should be on air: the stations the config and the folders name, with what the last look
//! saw of their files. Start-up, the folder watcher and config reloads all describe it; the
//! registry brings the stations in line with it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::discovery::Wanted;
use super::identity::FileIdentity;

/// The stations that should be on air.
#[derive(Debug, Default, Clone)]
pub struct Desired {
    /// Name to what it plays, one origin per name.
    pub stations: BTreeMap<String, Wanted>,
    /// Files still being written: a station playing one keeps its current version, and a new
    /// one waits.
    pub unsettled: HashSet<PathBuf>,
    /// Each track's identity as the folder scan saw it (a track missing here is looked at
    /// anew): the scan has read it already, so it is not read twice.
    pub identities: HashMap<PathBuf, Option<FileIdentity>>,
    /// Folders that could not be listed now: the stations in them stay as they are.
    pub unreadable: Vec<PathBuf>,
}

impl Desired {
    /// Whether what is at `path` is unknown now (it lies in a folder that could not be listed).
    pub fn cannot_see(&self, path: &Path) -> bool {
        self.unreadable.iter().any(|dir| path.starts_with(dir))
    }

    /// Every track any station wants, for lookups (a programme of thousands of tracks is
    /// checked in one pass, not once per track).
    pub fn wanted_tracks(&self) -> HashSet<&Path> {
        self.stations
            .values()
            .flat_map(|w| w.all_tracks().map(PathBuf::as_path))
            .collect()
    }
}
