//! The catalogue of probed tracks: every track probed good, by file and version, the probes
//! under way and the versions that failed, so that a programme of 500 tracks probes only the one
//! that changed, a file that cannot play is reported once per version, and a station never goes
//! on air without a track whose probe has not ended.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use onair_core::{probe_until, Programme, SourceError, StationInfo};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::discovery::Wanted;
use super::identity::FileIdentity;
use crate::sync::lock;

/// Probes running at once: a folder of a thousand tracks is read a few files at a time, never a
/// thousand blocking threads at once.
const PARALLEL_PROBES: usize = 8;

/// Probes in a row that may fail for a passing reason before the file counts as failed (a file
/// that stays unreadable must not hold its station back for ever).
pub const MAX_RETRIES: u32 = 5;

/// A track probed good: the version probed, and what it holds.
type Probed = (Option<FileIdentity>, Arc<StationInfo>);

/// A probe to start: the file, the version seen, and how to call it off.
pub type ProbeJob = (PathBuf, Option<FileIdentity>, CancellationToken);

/// What the probes found, by file.
#[derive(Debug)]
pub struct Catalogue {
    /// Probes under way, by file: the version being probed, and how to call the probe off.
    probing: Mutex<HashMap<PathBuf, (Option<FileIdentity>, CancellationToken)>>,
    /// Every track probed good, by file, with the version probed. A version that fails keeps
    /// the last good one here.
    probed: Mutex<HashMap<PathBuf, Probed>>,
    /// Files that failed to probe, with the identity that failed: not retried until they change.
    failed: Mutex<HashMap<PathBuf, Option<FileIdentity>>>,
    /// Files whose probe failed for a reason that may pass (out of descriptors, an I/O error),
    /// with how many times in a row: still counted as under way, so that their stations wait
    /// instead of changing, and probed again at the next look, [`MAX_RETRIES`] times at most.
    retry: Mutex<HashMap<PathBuf, (u32, bool)>>,
    /// Probes allowed to run at once.
    slots: Arc<Semaphore>,
}

impl Default for Catalogue {
    fn default() -> Self {
        Catalogue {
            probing: Default::default(),
            probed: Default::default(),
            failed: Default::default(),
            retry: Default::default(),
            slots: Arc::new(Semaphore::new(PARALLEL_PROBES)),
        }
    }
}

impl Catalogue {
    /// Forgets every file not in `wanted`, calling off its probe.
    pub fn keep_only(&self, wanted: &HashSet<&Path>) {
        lock(&self.probing).retain(|path, (_, cancel)| {
            let keep = wanted.contains(path.as_path());
            if !keep {
                cancel.cancel();
            }
            keep
        });
        lock(&self.probed).retain(|path, _| wanted.contains(path.as_path()));
        lock(&self.failed).retain(|path, _| wanted.contains(path.as_path()));
        lock(&self.retry).retain(|path, _| wanted.contains(path.as_path()));
    }

    /// Forgets the tracks of `programme` (a station that ended: a new version of its files
    /// mounts it again).
    pub fn forget_tracks_of(&self, programme: &Programme) {
        lock(&self.probed)
            .retain(|_, (_, info)| !programme.tracks().iter().any(|t| Arc::ptr_eq(t, info)));
    }

    /// Registers a probe of each version in `seen` that is neither known nor failed before, and
    /// returns them to start. Every one counts as under way before any starts: a station whose
    /// first probes end at once never goes on air without the tracks whose probes had not
    /// started.
    pub fn begin(
        &self,
        seen: Vec<(&Path, Option<FileIdentity>)>,
        stop: &CancellationToken,
    ) -> Vec<ProbeJob> {
        let fresh: Vec<_> = {
            let probed = lock(&self.probed);
            let failed = lock(&self.failed);
            seen.into_iter()
                .filter(|(path, identity)| {
                    let known = probed.get(*path).is_some_and(|(p, _)| p == identity);
                    !known && failed.get(*path) != Some(identity)
                })
                .collect()
        };
        let mut probing = lock(&self.probing);
        let mut retry = lock(&self.retry);
        fresh
            .into_iter()
            .filter_map(|(path, identity)| {
                if let Some((under_way, cancel)) = probing.get(path) {
                    // A probe due again after a passing failure is started anew.
                    let due = retry
                        .get_mut(path)
                        .is_some_and(|(_, due)| std::mem::take(due));
                    if *under_way == identity && !due {
                        return None;
                    }
                    cancel.cancel();
                }
                let cancel = stop.child_token();
                probing.insert(path.to_path_buf(), (identity, cancel.clone()));
                Some((path.to_path_buf(), identity, cancel))
            })
            .collect()
    }

    /// Probes `path` once a probe slot is free, on the blocking pool.
    pub async fn probe(
        &self,
        path: &Path,
        cancel: &CancellationToken,
    ) -> Result<StationInfo, SourceError> {
        let _slot = Arc::clone(&self.slots).acquire_owned().await;
        let (probe_path, probe_cancel) = (path.to_path_buf(), cancel.clone());
        tokio::task::spawn_blocking(move || probe_until(&probe_path, &probe_cancel))
            .await
            .unwrap_or_else(|e| {
                Err(SourceError::Io {
                    path: path.to_path_buf(),
                    offset: 0,
                    source: std::io::Error::other(e),
                })
            })
    }

    /// Records a track probed good. The result is recorded before the probe stops counting as
    /// under way (both under the locks [`tracks_for`](Self::tracks_for) takes, in its order): a
    /// station never sees a track neither probing nor probed.
    pub fn record_good(
        &self,
        path: &Path,
        identity: Option<FileIdentity>,
        cancel: &CancellationToken,
        info: Arc<StationInfo>,
    ) {
        let mut probing = lock(&self.probing);
        lock(&self.failed).remove(path);
        lock(&self.retry).remove(path);
        lock(&self.probed).insert(path.to_path_buf(), (identity, info));
        if probing.get(path).is_some_and(|(_, c)| c == cancel) {
            probing.remove(path);
        }
    }

    /// Records a version that failed; returns whether a good version of it is known (and keeps
    /// playing).
    pub fn record_failed(
        &self,
        path: &Path,
        identity: Option<FileIdentity>,
        cancel: &CancellationToken,
    ) -> bool {
        let playing = lock(&self.probed).contains_key(path);
        lock(&self.failed).insert(path.to_path_buf(), identity);
        lock(&self.retry).remove(path);
        self.end(path, cancel);
        playing
    }

    /// Keeps the probe `cancel` belongs to as under way, to be started again at the next look
    /// (it failed for a reason that may pass); after [`MAX_RETRIES`] in a row, returns `false`:
    /// the caller records it as failed instead.
    pub fn retry_later(&self, path: &Path, cancel: &CancellationToken) -> bool {
        let probing = lock(&self.probing);
        if !probing.get(path).is_some_and(|(_, c)| c == cancel) {
            return true;
        }
        let mut retry = lock(&self.retry);
        let (tries, due) = retry.entry(path.to_path_buf()).or_default();
        *tries += 1;
        if *tries >= MAX_RETRIES {
            retry.remove(path);
            return false;
        }
        *due = true;
        true
    }

    /// Ends the probe `cancel` belongs to, whatever came of it.
    pub fn end(&self, path: &Path, cancel: &CancellationToken) {
        let mut probing = lock(&self.probing);
        if probing.get(path).is_some_and(|(_, c)| c == cancel) {
            probing.remove(path);
        }
    }

    /// The tracks of `wanted` as probed, in its order (a track still being written keeps the
    /// version `playing` has); `None` while one of them is being probed.
    pub fn tracks_for(
        &self,
        wanted: &Wanted,
        unsettled: &HashSet<PathBuf>,
        playing: Option<&Programme>,
    ) -> Option<Vec<Arc<StationInfo>>> {
        let probing = lock(&self.probing);
        // Probes end roughly in name order: a track still probing is found first from the end.
        if wanted
            .tracks
            .iter()
            .rev()
            .any(|path| probing.contains_key(path) && !unsettled.contains(path))
        {
            return None;
        }
        let mut tracks = Vec::with_capacity(wanted.tracks.len());
        let probed = lock(&self.probed);
        // The tracks playing, by path, for the ones still being written (looked up once each:
        // at start-up every file of a large library counts as being written for a moment).
        let playing: HashMap<&Path, &Arc<StationInfo>> = match playing {
            Some(p) if !unsettled.is_empty() => {
                p.tracks().iter().map(|t| (t.path.as_path(), t)).collect()
            }
            _ => HashMap::new(),
        };
        for path in &wanted.tracks {
            if unsettled.contains(path) {
                tracks.extend(playing.get(path.as_path()).map(|t| Arc::clone(t)));
                continue;
            }
            if let Some((_, info)) = probed.get(path) {
                tracks.push(Arc::clone(info));
            }
        }
        Some(tracks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stations::origin::Origin;

    #[test]
    fn a_probe_that_may_pass_keeps_its_station_waiting_and_runs_again() {
        let catalogue = Catalogue::default();
        let stop = CancellationToken::new();
        let path = PathBuf::from("mix/a.aac");
        let wanted = Wanted {
            origin: Origin::Folder(PathBuf::from("mix")),
            tracks: vec![path.clone()],
            order: onair_core::Order::Name,
            extras: Vec::new(),
        };
        let identity = Some(FileIdentity::for_tests(1, 2, 3));
        let jobs = catalogue.begin(vec![(path.as_path(), identity)], &stop);
        assert_eq!(jobs.len(), 1);
        // Out of descriptors: the station waits for the track, it is not left out.
        assert!(catalogue.retry_later(&path, &jobs[0].2));
        assert!(catalogue
            .tracks_for(&wanted, &HashSet::new(), None)
            .is_none());
        // The next look probes it again (a probe under way of the same version is not).
        let mut again = catalogue.begin(vec![(path.as_path(), identity)], &stop);
        assert_eq!(again.len(), 1);
        assert!(catalogue
            .begin(vec![(path.as_path(), identity)], &stop)
            .is_empty());
        // A file that stays unreadable counts as failed after a few tries.
        for _ in 2..MAX_RETRIES {
            assert!(catalogue.retry_later(&path, &again[0].2));
            again = catalogue.begin(vec![(path.as_path(), identity)], &stop);
        }
        assert!(!catalogue.retry_later(&path, &again[0].2));
    }
}
