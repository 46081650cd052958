//! Watches the stations folder and the config file, and keeps the stations on air in line with
//! them while onair runs.
//!
//! File events (notify) only say *when* to look; what to do is always decided the same way: read
//! the config and the folder, decide which files are complete, and hand the result to
//! [`StationRegistry::reconcile`]. A periodic look catches anything an event missed.
//!
//! Whether a file is completely written is decided by [`Settle`], a pure state machine fed with
//! the events and the folder's state. A file still being written is never mounted: a station
//! playing it keeps its current audio until the write ends.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::identity::FileIdentity;
use super::registry::{Desired, StationRegistry};
use super::settle::{FileEvent, Settle};
use crate::config::{Config, ConfigError, ConfigSource};
use onair_core::printable;

/// Events are gathered for this long before acting, so a burst of them costs one look.
const DEBOUNCE: Duration = Duration::from_millis(100);
/// How often to look while files are settling, or while a watched folder is missing.
const BUSY_LOOK: Duration = Duration::from_millis(250);
/// How often to look when nothing happens (a safety net for missed events).
const IDLE_LOOK: Duration = Duration::from_secs(2);

/// The folder and config watcher task.
pub struct Watcher {
    registry: Arc<StationRegistry>,
    source: ConfigSource,
    config: watch::Sender<Arc<Config>>,
    config_error: watch::Sender<Option<ConfigError>>,
    events: mpsc::UnboundedReceiver<notify::Result<Event>>,
    notify: RecommendedWatcher,
    /// The stations folder being watched.
    folder: Option<WatchedFolder>,
    /// The folders watched for the config file, canonical: the one holding the path named,
    /// and the one holding what it resolves to (a symlink's target: a Kubernetes ConfigMap swaps
    /// `..data`, an operator edits the file a link points at).
    config_folders: Vec<PathBuf>,
    /// The config file's identity (through symlinks) when it was last read.
    config_seen: Option<FileIdentity>,
    /// Which station files are completely written.
    settle: Settle,
    /// The config file itself changed: read it again.
    config_dirty: bool,
    /// SIGHUP: reload, as Icecast does. `None` where signals cannot be had.
    hangup: Option<Hangup>,
}

#[cfg(unix)]
type Hangup = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangup = ();

/// Listens for SIGHUP from now on (so that it no longer ends the process).
fn hangup() -> Option<Hangup> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::hangup())
            .inspect_err(|error| tracing::warn!(%error, "cannot listen for SIGHUP"))
            .ok()
    }
    #[cfg(not(unix))]
    None
}

/// Without a watcher (no inotify watches left), SIGHUP still must not end the process: each
/// one is answered with a warning until `stop`.
pub async fn hangups_without_watcher(stop: CancellationToken) {
    let mut signal = hangup();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = next_hangup(&mut signal) => {
                tracing::warn!("SIGHUP: cannot reload; the file watcher could not start");
            }
        }
    }
}

/// The next SIGHUP (never, without a listener).
async fn next_hangup(hangup: &mut Option<Hangup>) {
    #[cfg(unix)]
    if let Some(signal) = hangup {
        if signal.recv().await.is_some() {
            return;
        }
    }
    let _ = hangup;
    std::future::pending::<()>().await
}

/// A folder's device and inode: a folder deleted and recreated is another folder.
type FileIdentityKey = (u64, u64);

/// The stations folder as watched.
#[derive(Debug)]
struct WatchedFolder {
    /// As configured (`stations_dir`): station paths are built on it.
    configured: PathBuf,
    /// What it resolved to when the watch was set: event paths are under it.
    canonical: PathBuf,
    /// Its identity then.
    identity: Option<FileIdentityKey>,
}

impl Watcher {
    /// A watcher that applies changes of the folder and of `source`'s config file to
    /// `registry`, publishing each new config on `config` and each rejected edit on
    /// `config_error` (`None` again once a good config is read).
    pub fn new(
        registry: Arc<StationRegistry>,
        source: ConfigSource,
        config: watch::Sender<Arc<Config>>,
        config_error: watch::Sender<Option<ConfigError>>,
    ) -> notify::Result<Watcher> {
        let (tx, events) = mpsc::unbounded_channel();
        let notify = notify::recommended_watcher(move |event| {
            // The receiver is gone only when the watcher stops.
            let _ = tx.send(event);
        })?;
        let mut watcher = Watcher {
            registry,
            source,
            config,
            config_error,
            events,
            notify,
            folder: None,
            config_folders: Vec::new(),
            config_seen: None,
            settle: Settle::default(),
            config_dirty: false,
            hangup: hangup(),
        };
        watcher.config_seen = watcher.source.path.as_deref().and_then(FileIdentity::of);
        watcher.ensure_watches();
        Ok(watcher)
    }

    /// Runs until `stop` is cancelled.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut next_look = Instant::now() + IDLE_LOOK;
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return,
                Some(event) = self.events.recv() => {
                    // Only a change brings the next look closer: the look's own reads of the
                    // folder are events too, and must not call for another look (a folder of
                    // 20,000 tracks was scanned without pause).
                    if self.note(event) {
                        next_look = next_look.min(Instant::now() + DEBOUNCE);
                    }
                }
                () = next_hangup(&mut self.hangup) => {
                    tracing::info!("SIGHUP: reloading the config and rescanning the stations");
                    self.config_dirty = true;
                    next_look = Instant::now();
                }
                () = tokio::time::sleep_until(next_look) => {
                    let busy = self.look().await;
                    next_look = Instant::now() + if busy { BUSY_LOOK } else { IDLE_LOOK };
                }
            }
        }
    }

    /// Records what an event says about a file; whether it is a change (not a mere read).
    fn note(&mut self, event: notify::Result<Event>) -> bool {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, "file watch error; rescanning");
                return true;
            }
        };
        let now = Instant::now();
        let reads = matches!(
            event.kind,
            EventKind::Access(AccessKind::Open(_))
                | EventKind::Access(AccessKind::Close(AccessMode::Read))
        );
        // Opening, reading and closing after reading change nothing (the scans and probes
        // cause them); a file closed after writing does.
        let change = !matches!(
            event.kind,
            EventKind::Access(
                AccessKind::Open(_)
                    | AccessKind::Read
                    | AccessKind::Close(AccessMode::Read)
                    | AccessKind::Any
                    | AccessKind::Other
            )
        );
        for path in &event.paths {
            // Anything else in a config folder (a `..data` link swapped, the target rewritten)
            // is looked at by the config file's identity at the next look.
            if self.is_config_file(path) {
                self.config_dirty |= !reads;
                continue;
            }
            if let Some(folder) = &self.folder {
                if *path == folder.canonical
                    && matches!(
                        event.kind,
                        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
                    )
                {
                    // The folder itself was deleted or moved: watch it again when it is back.
                    self.folder = None;
                    continue;
                }
            }
            let Some(key) = self.folder_file(path) else {
                continue;
            };
            let file_event = match event.kind {
                EventKind::Create(_)
                | EventKind::Modify(ModifyKind::Data(_))
                | EventKind::Modify(ModifyKind::Any) => FileEvent::Written,
                EventKind::Access(AccessKind::Close(AccessMode::Write)) => FileEvent::Closed,
                EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
                    if path.exists() =>
                {
                    FileEvent::Arrived
                }
                _ => continue,
            };
            self.settle.event(&key, file_event, now);
        }
        change
    }

    /// Reloads the config if it changed, keeps the watches up, and reconciles the stations.
    /// Returns whether another look is due soon (files settling, a folder missing).
    async fn look(&mut self) -> bool {
        // The identity check (one stat through the symlinks) also catches what no event named.
        let identity = self.source.path.as_deref().and_then(FileIdentity::of);
        if std::mem::take(&mut self.config_dirty) || identity != self.config_seen {
            self.config_seen = identity;
            self.reload_config();
        }
        self.ensure_watches();
        let config = Arc::clone(&self.config.borrow());
        // The folder scan and a stat per file, on the blocking pool: a slow disk or a folder of
        // thousands of files never stalls the runtime that serves listeners.
        let registry = Arc::clone(&self.registry);
        let scan_config = Arc::clone(&config);
        let scanned = tokio::task::spawn_blocking(move || {
            let (stations, unreadable) = registry.discover(&scan_config);
            // Every track of every station, in the stations folder or elsewhere: a file whose
            // writes no event reports settles when it has not changed for a while.
            let identities: HashMap<PathBuf, Option<FileIdentity>> = stations
                .values()
                .flat_map(|wanted| wanted.all_tracks())
                .map(|p| (p.clone(), FileIdentity::of(p)))
                .collect();
            (stations, unreadable, identities)
        })
        .await;
        let Ok((stations, unreadable, identities)) = scanned else {
            return true;
        };
        let unsettled = self.settle.look(
            identities.iter().map(|(p, id)| (p.as_path(), *id)),
            Instant::now(),
        );
        tracing::debug!(
            stations = stations.len(),
            unsettled = unsettled.len(),
            unreadable = unreadable.len(),
            "looked at the stations"
        );
        // A folder that could not be listed is looked at again soon.
        let busy = !unsettled.is_empty() || self.folder.is_none() || !unreadable.is_empty();
        let desired = Desired {
            stations,
            unsettled,
            identities,
            unreadable,
        };
        self.registry.reconcile(&config, desired);
        busy
    }

    /// Reads the config file again; a bad one is reported once and changes nothing.
    fn reload_config(&mut self) {
        let old = Arc::clone(&self.config.borrow());
        match self.source.load() {
            Ok(mut new) => {
                self.config_error.send_replace(None);
                let keys = new.keep_bound(&old);
                if !keys.is_empty() {
                    tracing::warn!(
                        keys = %keys.join(", "),
                        "these keys cannot change while onair runs (its sockets are bound); the running values stay until a restart"
                    );
                }
                if new != *old {
                    tracing::info!(file = %self.config_path_display(), "config reloaded");
                    self.config.send_replace(Arc::new(new));
                }
            }
            Err(error) => {
                let new = Some(error.clone());
                if *self.config_error.borrow() != new {
                    tracing::error!(%error, "config not reloaded; the last good config stays in force");
                    self.config_error.send_replace(new);
                }
            }
        }
    }

    fn config_path_display(&self) -> String {
        self.source
            .path
            .as_ref()
            .map_or_else(String::new, |p| printable(p))
    }

    /// Watches the stations folder and the config file's folder, again if they were replaced.
    fn ensure_watches(&mut self) {
        let dir = self.config.borrow().server.stations_dir.clone();
        if let Some(folder) = &self.folder {
            if folder.configured != dir || folder_identity(&dir) != folder.identity {
                let _ = self.notify.unwatch(&folder.canonical);
                self.folder = None;
            }
        }
        if self.folder.is_none() {
            if let Ok(canonical) = std::fs::canonicalize(&dir) {
                // Recursive: the tracks of programme folders inside it are watched too.
                match self.notify.watch(&canonical, RecursiveMode::Recursive) {
                    Ok(()) => {
                        tracing::debug!(dir = %printable(&dir), "watching the stations folder");
                        self.folder = Some(WatchedFolder {
                            identity: folder_identity(&canonical),
                            configured: dir,
                            canonical,
                        });
                    }
                    Err(error) => {
                        tracing::warn!(dir = %printable(&dir), %error, "cannot watch the stations folder")
                    }
                }
            }
        }
        let wanted: Vec<PathBuf> = self
            .source
            .path
            .as_deref()
            .map(config_folders)
            .unwrap_or_default();
        if wanted != self.config_folders {
            for folder in &self.config_folders {
                if !wanted.contains(folder)
                    && Some(folder) != self.folder.as_ref().map(|f| &f.canonical)
                {
                    let _ = self.notify.unwatch(folder);
                }
            }
            for folder in &wanted {
                if !self.config_folders.contains(folder) {
                    if let Err(error) = self.notify.watch(folder, RecursiveMode::NonRecursive) {
                        tracing::debug!(folder = %printable(folder), %error, "cannot watch the config folder");
                    }
                }
            }
            self.config_folders = wanted;
        }
    }

    /// Whether `path` is the config file, by the name it was given or the one it resolves to.
    fn is_config_file(&self, path: &Path) -> bool {
        let Some(config) = &self.source.path else {
            return false;
        };
        let resolved = std::fs::canonicalize(config).ok();
        self.config_folders.iter().any(|folder| {
            path.parent() == Some(folder.as_path())
                && (path.file_name() == config.file_name()
                    || resolved.as_deref().and_then(Path::file_name) == path.file_name())
        })
    }

    /// The key (`stations_dir/<file>` or `stations_dir/<folder>/<track>`) of an event path
    /// inside the stations folder.
    fn folder_file(&self, path: &Path) -> Option<PathBuf> {
        let folder = self.folder.as_ref()?;
        let relative = path.strip_prefix(&folder.canonical).ok()?;
        match relative.components().count() {
            1 | 2 => Some(folder.configured.join(relative)),
            _ => None,
        }
    }
}

/// The canonical folders to watch for the config file: the one holding the path as named, and
/// the one holding the file it resolves to, when that is elsewhere.
fn config_folders(config: &Path) -> Vec<PathBuf> {
    let parent = config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut folders: Vec<PathBuf> = std::fs::canonicalize(parent).into_iter().collect();
    if let Some(target) = std::fs::canonicalize(config)
        .ok()
        .and_then(|t| t.parent().map(Path::to_path_buf))
    {
        if !folders.contains(&target) {
            folders.push(target);
        }
    }
    folders
}

fn folder_identity(dir: &Path) -> Option<FileIdentityKey> {
    let meta = std::fs::metadata(dir).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Some((0, 0))
    }
}
