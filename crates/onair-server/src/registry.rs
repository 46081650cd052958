//! The stations on air: which programmes they play, their hubs, and the pacer tasks that feed
//! them.
//!
//! The registry is driven by one general mechanism, [`StationRegistry::reconcile`]: given the
//! stations that should be on air (each a station file or a folder of tracks), it probes every
//! track that is new or changed (in the background, in parallel, each once per version), mounts
//! the new stations, switches stations whose programme changed to the new one, and takes the
//! others off air. Start-up, the folder watcher and config reloads all go through it; whether a
//! station's programme changed, and how, is decided in one place ([`StationRegistry::apply`]).
//!
//! A station file replaced by a new version switches at the next HLS segment boundary, joining
//! the station clock where it is; a programme that changed (a track added, removed, replaced or
//! renamed, another order) switches at the next track boundary, so that no track is ever cut.
//!
//! The registry owns every pacer task (in one `TaskTracker`, under one `CancellationToken`), so
//! shutting it down ends every station and, through the hubs, every listener's stream.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use onair_core::printable;
use onair_core::{
    duration_of, frame_containing, probe_until, segment_start, tick_at, ticks_of, Format, Hub,
    Pacer, Programme, SourceError, StationInfo, Timeline,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::config::Config;
use crate::discovery::{discover, Wanted};
use crate::icy::IcyTitle;
use crate::supervisor::supervise;

/// How long after a change is seen its audio can start at the earliest (then at the next segment
/// boundary for a station file, the next track boundary for a programme): long enough for the
/// pacer's read-ahead and for replicas that see the change a moment apart to choose the same
/// boundary.
pub const SWITCH_SETTLE: Duration = Duration::from_secs(2);

/// Probes running at once: a folder of a thousand tracks is read a few files at a time, never a
/// thousand blocking threads at once.
const PARALLEL_PROBES: usize = 8;

/// What players are told about a station.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StationMeta {
    /// Title: the config's, else the file's ID3 title, else the station name.
    pub title: String,
    /// Genre, if configured.
    pub genre: Option<String>,
    /// Description, if configured.
    pub description: Option<String>,
    /// Website, if configured.
    pub url: Option<String>,
}

/// A station's live settings, from the config.
#[derive(Debug, Clone)]
struct Settings {
    meta: StationMeta,
    client_timeout: Duration,
    max_listeners: Option<usize>,
    /// The ICY block of the newest title sent (built once per title, shared by listeners).
    icy: Arc<IcyTitle>,
}

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

/// One station on air.
#[derive(Debug)]
pub struct Station {
    /// Name and mount point (`/<name>`).
    pub name: String,
    /// The broadcast listeners subscribe to.
    pub hub: Arc<Hub>,
    /// Which file plays from which tick on: the pacer and HLS both read it.
    timeline: watch::Sender<Arc<Timeline>>,
    /// Tick 0 of the station's clock (taken when the station went on air).
    pub epoch: SystemTime,
    /// HLS caches and clients.
    pub hls: crate::hls::HlsState,
    /// A folder of tracks (else a station file).
    pub folder: bool,
    settings: RwLock<Settings>,
    /// When the station went on air.
    pub started_at: SystemTime,
    stop: CancellationToken,
}

impl Station {
    /// The station's programme (the newest: a change is described as soon as it is scheduled).
    pub fn programme(&self) -> Arc<Programme> {
        let timeline = self.timeline.borrow();
        let newest = &timeline.entries()[timeline.entries().len() - 1];
        Arc::clone(&newest.programme)
    }

    /// What the station's file holds (a programme's first track).
    pub fn info(&self) -> Arc<StationInfo> {
        Arc::clone(self.programme().first())
    }

    /// What plays now on the station clock (the track, and the tick it started at) and what
    /// comes next: a function of the timeline and the wall clock, the same on every replica.
    pub fn now_and_next(&self) -> (Arc<StationInfo>, u64, Arc<StationInfo>) {
        let now = tick_at(self.epoch, SystemTime::now());
        let timeline = self.timeline();
        let entry = timeline.at(now);
        let spot = entry.programme.locate(entry.position(now));
        let end = entry.tick_of(spot.end());
        let after = timeline.at(end);
        let next = after.programme.locate(after.position(end)).track;
        (spot.track, entry.tick_of(spot.start), next)
    }

    /// The text ICY, events and HLS show for `track`: `Artist - Title` from its tags; for an
    /// untagged track, the file name of a programme's track or a station file's station title.
    pub fn stream_title(&self, track: Option<&StationInfo>) -> String {
        match track {
            Some(t) if t.tags.title.is_some() || t.tags.artist.is_some() || self.folder => {
                t.now_playing()
            }
            _ => self.settings().meta.title.clone(),
        }
    }

    /// The ICY block for `title`: the one built for the newest title, or a new one.
    pub fn icy_block(&self, title: &str) -> Arc<IcyTitle> {
        {
            let settings = self.settings();
            if settings.icy.title == title {
                return Arc::clone(&settings.icy);
            }
        }
        let mut settings = self.settings.write().unwrap_or_else(|p| p.into_inner());
        if settings.icy.title != title {
            settings.icy = Arc::new(IcyTitle::new(settings.icy.version + 1, title));
        }
        Arc::clone(&settings.icy)
    }

    /// What players are told.
    pub fn meta(&self) -> StationMeta {
        self.settings().meta.clone()
    }

    /// Socket write timeout for this station's listeners.
    pub fn client_timeout(&self) -> Duration {
        self.settings().client_timeout
    }

    /// The most listeners this station takes, if limited.
    pub fn max_listeners(&self) -> Option<usize> {
        self.settings().max_listeners
    }

    fn settings(&self) -> std::sync::RwLockReadGuard<'_, Settings> {
        self.settings.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `config`'s pacing and metadata for this station (and the title of the file
    /// playing).
    fn configure(&self, config: &Config) {
        let pacing = config.pacing_for(&self.name);
        self.hub.set_tuning(pacing.tuning);
        let meta = meta_for(config, &self.name, &self.info(), self.folder);
        let max_listeners = config
            .stations
            .get(&self.name)
            .and_then(|s| s.max_listeners)
            .map(|m| m.get() as usize);
        let mut settings = self.settings.write().unwrap_or_else(|p| p.into_inner());
        settings.meta = meta;
        settings.client_timeout = pacing.client_timeout;
        settings.max_listeners = max_listeners;
    }

    /// The station's timeline now.
    pub fn timeline(&self) -> Arc<Timeline> {
        Arc::clone(&self.timeline.borrow())
    }

    /// Schedules `programme` to replace the station's audio after a settle time counted on the
    /// station clock (so that replicas which see the change a moment apart still agree):
    ///
    /// - a station file's new version at the first segment boundary, joining the timeline where
    ///   the clock puts it (the frame that holds the switch's tick);
    /// - a programme at the first track boundary, going on with the track that follows the one
    ///   that ended (see [`Programme::continue_after`]), so that no track is cut.
    ///
    /// Segments already published keep their bytes. Returns how far ahead the switch is and the
    /// track it starts with.
    async fn schedule_switch(
        &self,
        programme: Arc<Programme>,
        config: &Config,
    ) -> Result<(Duration, Arc<StationInfo>), SourceError> {
        let now = tick_at(self.epoch, SystemTime::now());
        let settle = SWITCH_SETTLE.max(self.hub.tuning().chunk + Duration::from_secs(1));
        let segment = ticks_of(Duration::from_millis(config.hls.segment_ms.get()));
        let timeline = self.timeline();
        let earliest = now + ticks_of(settle);
        let (at, offset) = if self.folder {
            let at = track_boundary(&timeline, earliest);
            let before = timeline.at(at - 1);
            let ended = before.programme.locate(before.position(at - 1));
            (
                at,
                programme.continue_after(&ended.track, ended.round).start,
            )
        } else {
            let k = earliest.div_ceil(segment);
            // The old file rewritten in place has no frames left to cut at: the plain segment
            // tick.
            let at = segment_start(&timeline, k, segment)
                .await
                .unwrap_or(k * segment);
            (at, frame_containing(&programme, at).await?.start)
        };
        let first = programme.locate(offset).track;
        // Entries are kept while a segment cut from them may still be asked for: listed in
        // the window, or removed from it less than a window and a segment ago.
        let window = 2 * ticks_of(Duration::from_secs(config.hls.window_s.get())) + 3 * segment;
        self.timeline.send_modify(|timeline| {
            let timeline = Arc::make_mut(timeline);
            timeline.switch(at, programme, offset);
            timeline.forget_before(now.saturating_sub(window));
        });
        Ok((duration_of(at.saturating_sub(now)), first))
    }

    /// Switches the station to `programme` (see [`schedule_switch`](Self::schedule_switch)),
    /// and says so.
    async fn replace(&self, programme: Arc<Programme>, config: &Config) {
        match self.schedule_switch(programme, config).await {
            Ok((at, first)) => {
                self.configure(config);
                let what = if self.folder {
                    format!(
                        "programme changed; it goes on in {:.1} s, at the next track boundary, with {}",
                        at.as_secs_f64(),
                        escape(&first.now_playing())
                    )
                } else {
                    format!(
                        "station file replaced; the new audio starts in {:.1} s, at the next segment boundary",
                        at.as_secs_f64()
                    )
                };
                log_station(&self.name, &self.programme(), &what);
            }
            Err(error) => {
                tracing::warn!(station = %self.name, %error, "cannot switch to the new audio")
            }
        }
    }

    /// Takes the station off air: its pacer stops, and its listeners' streams end after the
    /// chunk each is sending. The one place a station on air ends, but for a pacer that ends by
    /// itself (its file failed for good).
    fn off_air(&self) {
        self.stop.cancel();
        self.hub.close();
    }
}

/// The first track boundary at or after tick `earliest` on `timeline` (or the start of an entry
/// scheduled before it: a switch already pending there is replaced, not followed).
fn track_boundary(timeline: &Timeline, earliest: u64) -> u64 {
    let entry = timeline.at(earliest);
    let spot = entry.programme.locate(entry.position(earliest));
    let boundary = if spot.start == entry.position(earliest) {
        earliest
    } else {
        entry.tick_of(spot.end())
    };
    match timeline.next_change(earliest) {
        Some(change) if change <= boundary => change,
        _ => boundary,
    }
}

/// A track probed good: the version probed, and what it holds.
type Probed = (Option<FileIdentity>, Arc<StationInfo>);

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
}

impl Desired {
    /// Every track any station wants, for lookups (a programme of thousands of tracks is
    /// checked in one pass, not once per track).
    fn wanted_tracks(&self) -> HashSet<&Path> {
        self.stations
            .values()
            .flat_map(|w| w.tracks.iter().map(PathBuf::as_path))
            .collect()
    }
}

/// What a station's programme should be now, as far as the probes tell.
enum Assembly {
    /// A track is still being probed: decide when it is done.
    Waiting,
    /// What plays already.
    Same,
    /// No playable track.
    Empty,
    /// Another programme.
    New(Programme),
}

/// The stations on air, by name.
#[derive(Debug)]
pub struct StationRegistry {
    stations: RwLock<BTreeMap<String, Arc<Station>>>,
    /// Probes under way, by file: the version being probed, and how to call the probe off.
    probing: Mutex<HashMap<PathBuf, (Option<FileIdentity>, CancellationToken)>>,
    /// Every track probed good, by file, with the version probed: a programme of 500 tracks
    /// probes only the one that changed. A version that fails keeps the last good one here.
    probed: Mutex<HashMap<PathBuf, Probed>>,
    /// Probes allowed to run at once.
    probe_slots: Arc<tokio::sync::Semaphore>,
    /// One change at a time per station (two probes ending together decide once).
    applying: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Told whenever a station starts another track (the `/events` publisher waits on it).
    pub track_changes: Arc<tokio::sync::Notify>,
    /// What the latest reconcile wanted: a probe that ends applies its result only if the file
    /// is still wanted under that name.
    latest: Mutex<Option<(Arc<Config>, Arc<Desired>)>>,
    /// Probes and mounts under way; 0 when the registry has caught up with `latest`.
    jobs: watch::Sender<usize>,
    /// Files that failed to probe, with the identity that failed: not retried until they change.
    failed: Mutex<HashMap<PathBuf, Option<FileIdentity>>>,
    /// Duplicate names and unusable entries already warned about.
    warned: Mutex<HashSet<String>>,
    tasks: TaskTracker,
    stop: CancellationToken,
}

impl StationRegistry {
    /// An empty registry.
    pub fn new() -> Arc<Self> {
        Arc::new(StationRegistry {
            stations: Default::default(),
            probing: Default::default(),
            probed: Default::default(),
            probe_slots: Arc::new(tokio::sync::Semaphore::new(PARALLEL_PROBES)),
            applying: Default::default(),
            track_changes: Default::default(),
            latest: Default::default(),
            jobs: Default::default(),
            failed: Default::default(),
            warned: Default::default(),
            tasks: Default::default(),
            stop: Default::default(),
        })
    }

    /// Puts on air every station the config and the stations folder name (at start-up, every
    /// file present is taken as complete). Returns at once; see [`reconcile`](Self::reconcile).
    pub fn load(self: &Arc<Self>, config: &Arc<Config>) {
        let desired = Desired {
            stations: self.discover(config),
            ..Desired::default()
        };
        self.reconcile(config, desired);
    }

    /// Brings the stations on air in line with `desired`: takes off air the stations no longer
    /// wanted, applies `config`'s pacing and metadata to all, starts a probe of every track
    /// that is new or changed, and has every station's programme decided again
    /// ([`apply`](Self::apply)). It returns at once: probes run in the background, a few at a
    /// time, each deciding its stations again when it ends, so that a huge or slow file never
    /// delays serving, the other stations, the watcher or shutdown. A file that cannot be
    /// played is logged (once per version of the file) and changes nothing else.
    pub fn reconcile(self: &Arc<Self>, config: &Arc<Config>, desired: Desired) {
        let desired = Arc::new(desired);
        *lock(&self.latest) = Some((Arc::clone(config), Arc::clone(&desired)));
        // A station whose pacer ended (a file failed for good) is gone, and so are the probes
        // of its tracks: a new version of its files mounts it again.
        let ended: Vec<Arc<Station>> = {
            let mut stations = self.write();
            let ended = stations
                .values()
                .filter(|s| s.hub.is_closed())
                .cloned()
                .collect();
            stations.retain(|_, s| !s.hub.is_closed());
            ended
        };
        for station in ended {
            let programme = station.programme();
            lock(&self.probed)
                .retain(|_, (_, info)| !programme.tracks().iter().any(|t| Arc::ptr_eq(t, info)));
        }
        for station in self.all() {
            match desired.stations.get(&station.name) {
                Some(wanted) if wanted.folder == station.folder => station.configure(config),
                Some(_) => self.unmount(&station.name, "it is now a folder (or a file) instead"),
                None => self.unmount(&station.name, "its file is gone (or its folder is empty)"),
            }
        }
        // Probes of files no longer wanted are called off, and tracks no station wants are
        // forgotten (a station playing one keeps it until its programme changes).
        let wanted_tracks = desired.wanted_tracks();
        lock(&self.probing).retain(|path, (_, cancel)| {
            let wanted = wanted_tracks.contains(path.as_path());
            if !wanted {
                cancel.cancel();
            }
            wanted
        });
        lock(&self.probed).retain(|path, _| wanted_tracks.contains(path.as_path()));
        lock(&self.failed).retain(|path, _| wanted_tracks.contains(path.as_path()));
        let mut to_probe = Vec::new();
        for wanted in desired.stations.values() {
            for path in &wanted.tracks {
                if desired.unsettled.contains(path) {
                    continue;
                }
                let identity = match desired.identities.get(path) {
                    Some(identity) => *identity,
                    None => FileIdentity::of(path),
                };
                let known = lock(&self.probed)
                    .get(path)
                    .is_some_and(|(probed, _)| *probed == identity);
                if !known && !self.failed_before(path, identity) {
                    to_probe.push((path.as_path(), identity));
                }
            }
        }
        // Every probe counts as under way before any starts: a station whose first probes end
        // at once never goes on air without the tracks whose probes were not started yet.
        let started: Vec<_> = {
            let mut probing = lock(&self.probing);
            to_probe
                .into_iter()
                .filter_map(|(path, identity)| {
                    if let Some((probed, cancel)) = probing.get(path) {
                        if *probed == identity {
                            return None;
                        }
                        cancel.cancel();
                    }
                    let cancel = self.stop.child_token();
                    probing.insert(path.to_path_buf(), (identity, cancel.clone()));
                    Some((path, identity, cancel))
                })
                .collect()
        };
        for (path, identity, cancel) in started {
            self.spawn_probe(path, identity, cancel);
        }
        for name in desired.stations.keys() {
            self.spawn_apply(name);
        }
    }

    /// Decides station `name`'s programme again, in the background.
    fn spawn_apply(self: &Arc<Self>, name: &str) {
        self.jobs.send_modify(|n| *n += 1);
        let registry = Arc::clone(self);
        let name = name.to_string();
        self.tasks.spawn(async move {
            registry.apply(&name).await;
            registry.jobs.send_modify(|n| *n -= 1);
        });
    }

    /// Probes `path` (version `identity`, registered as under way with `cancel`) in the
    /// background, once a probe slot is free.
    fn spawn_probe(
        self: &Arc<Self>,
        path: &Path,
        identity: Option<FileIdentity>,
        cancel: CancellationToken,
    ) {
        self.jobs.send_modify(|n| *n += 1);
        let registry = Arc::clone(self);
        let path = path.to_path_buf();
        self.tasks.spawn(async move {
            let slot = Arc::clone(&registry.probe_slots).acquire_owned().await;
            let probe_path = path.clone();
            let probe_cancel = cancel.clone();
            let probed =
                tokio::task::spawn_blocking(move || probe_until(&probe_path, &probe_cancel))
                    .await
                    .unwrap_or_else(|e| {
                        Err(SourceError::Io {
                            path: path.clone(),
                            offset: 0,
                            source: std::io::Error::other(e),
                        })
                    });
            drop(slot);
            registry.probed(&path, identity, &cancel, probed);
            registry.jobs.send_modify(|n| *n -= 1);
        });
    }

    /// Records the end of a probe (a good track, or a file reported once), if the file is still
    /// wanted as it was probed, and has the stations that play it decide again.
    fn probed(
        self: &Arc<Self>,
        path: &Path,
        identity: Option<FileIdentity>,
        cancel: &CancellationToken,
        probed: Result<StationInfo, SourceError>,
    ) {
        // The result is recorded before the probe stops counting as under way (both under the
        // locks `assemble` takes, in its order): a station never sees a track neither probing
        // nor probed, and never goes on air without it.
        let done = || {
            let mut probing = lock(&self.probing);
            if probing.get(path).is_some_and(|(_, c)| c == cancel) {
                probing.remove(path);
            }
        };
        let latest = lock(&self.latest).clone();
        let Some((_, desired)) = latest.filter(|_| !cancel.is_cancelled()) else {
            return done();
        };
        let users: Vec<&String> = desired
            .stations
            .iter()
            .filter(|(_, w)| w.has(path))
            .map(|(name, _)| name)
            .collect();
        // Removed, replaced or rewritten while it was probed: a newer reconcile has started the
        // probe that counts.
        if users.is_empty()
            || desired.unsettled.contains(path)
            || FileIdentity::of(path) != identity
        {
            return done();
        }
        match probed {
            Ok(info) => {
                for name in &users {
                    report_damage(name, &info);
                }
                let mut probing = lock(&self.probing);
                lock(&self.failed).remove(path);
                lock(&self.probed).insert(path.to_path_buf(), (identity, Arc::new(info)));
                if probing.get(path).is_some_and(|(_, c)| c == cancel) {
                    probing.remove(path);
                }
            }
            Err(error) => {
                let playing = lock(&self.probed).contains_key(path);
                for name in &users {
                    tracing::warn!(
                        station = %name,
                        %error,
                        "{}",
                        if playing { "new version refused; the last good one keeps playing" } else { "file refused" }
                    );
                }
                lock(&self.failed).insert(path.to_path_buf(), identity);
                done();
            }
        }
        for name in users {
            self.spawn_apply(name);
        }
    }

    /// The one place a station's fate is decided: from the latest reconcile and the probes,
    /// its programme is assembled; a new one goes on air, a changed one is switched to, an
    /// empty one goes off air.
    async fn apply(self: &Arc<Self>, name: &str) {
        let gate = Arc::clone(lock(&self.applying).entry(name.to_string()).or_default());
        let _one_at_a_time = gate.lock().await;
        let Some((config, desired)) = lock(&self.latest).clone() else {
            return;
        };
        let Some(wanted) = desired.stations.get(name) else {
            return;
        };
        if self.stop.is_cancelled() {
            return;
        }
        let station = self.get(name);
        match self.assemble(name, wanted, &desired, station.as_deref(), &config) {
            Assembly::Waiting | Assembly::Same => {}
            Assembly::Empty => {
                if station.is_some() {
                    self.unmount(name, "its folder holds no playable track");
                }
            }
            Assembly::New(programme) => {
                let programme = Arc::new(programme);
                match station {
                    Some(station) => station.replace(programme, &config).await,
                    None => {
                        let station = self.mount(name, programme, wanted.folder, &config);
                        self.go_live(station).await;
                    }
                }
            }
        }
    }

    /// The programme `wanted` makes now: its tracks as probed (a track still being written
    /// keeps the version playing), those of another format left out with a warning.
    fn assemble(
        &self,
        name: &str,
        wanted: &Wanted,
        desired: &Desired,
        station: Option<&Station>,
        config: &Config,
    ) -> Assembly {
        let playing = station.map(Station::programme);
        let mut tracks = Vec::with_capacity(wanted.tracks.len());
        {
            let probing = lock(&self.probing);
            let probed = lock(&self.probed);
            for path in &wanted.tracks {
                if desired.unsettled.contains(path) {
                    let current = playing
                        .as_ref()
                        .and_then(|p| p.tracks().iter().find(|t| t.path == *path).cloned());
                    tracks.extend(current);
                    continue;
                }
                if probing.contains_key(path) {
                    return Assembly::Waiting;
                }
                if let Some((_, info)) = probed.get(path) {
                    tracks.push(Arc::clone(info));
                }
            }
        }
        // What the config names of the format comes first; then a programme keeps the format
        // it plays, and a new one takes its first (admitted) track's. A station file may change
        // format (a discontinuity), as it always could.
        let named = config.stations.get(name).cloned().unwrap_or_default();
        let (tracks, mut left_out): (Vec<_>, Vec<_>) = tracks
            .into_iter()
            .partition(|t| named.admits(&t.first.format()));
        let reference = match (&playing, wanted.folder) {
            (Some(playing), true) if named.admits(&playing.format()) => Some(playing.format()),
            _ if wanted.folder => tracks.first().map(|t| t.first.format()),
            _ => None,
        };
        let (tracks, other) = admit(tracks, reference);
        left_out.extend(other);
        let station_format = named
            .format_named()
            .or_else(|| reference.map(|f| f.to_string()))
            .unwrap_or_default();
        for track in left_out {
            let format = track.first.format();
            let key = format!("format {} {format} {station_format}", track.path.display());
            if lock(&self.warned).insert(key) {
                tracing::warn!(
                    station = %name,
                    track = %printable(&track.path),
                    track_format = %format,
                    %station_format,
                    "track left out: every track of a station must share codec, sample rate and channels"
                );
            }
        }
        let order = wanted.order;
        let same = playing.as_ref().is_some_and(|p| {
            p.order() == order
                && p.tracks().len() == tracks.len()
                && p.tracks()
                    .iter()
                    .zip(&tracks)
                    .all(|(a, b)| Arc::ptr_eq(a, b))
        });
        if same {
            return Assembly::Same;
        }
        match Programme::new(tracks, order) {
            Some(programme) => Assembly::New(programme),
            None => Assembly::Empty,
        }
    }

    /// Completes once every probe and mount under way has ended (for tests and start-up
    /// reports: serving never waits for it).
    pub async fn settled(&self) {
        let mut jobs = self.jobs.subscribe();
        let _ = jobs.wait_for(|n| *n == 0).await;
    }

    /// A new station `name` playing `programme`, its pacer started; to be inserted once its
    /// first audio is out ([`go_live`](Self::go_live)).
    fn mount(
        &self,
        name: &str,
        programme: Arc<Programme>,
        folder: bool,
        config: &Config,
    ) -> Arc<Station> {
        let pacing = config.pacing_for(name);
        let hub = Hub::new(name, pacing.tuning);
        hub.notify_track_changes(Arc::clone(&self.track_changes));
        let stop = self.stop.child_token();
        let meta = meta_for(config, name, programme.first(), folder);
        let (timeline, timelines) = watch::channel(Arc::new(Timeline::new(programme)));
        let epoch = pacing.epoch;
        let station = Arc::new(Station {
            name: name.to_string(),
            hub: Arc::clone(&hub),
            timeline,
            epoch,
            hls: Default::default(),
            folder,
            settings: RwLock::new(Settings {
                icy: Arc::new(IcyTitle::new(0, &meta.title)),
                meta,
                client_timeout: pacing.client_timeout,
                max_listeners: None,
            }),
            started_at: SystemTime::now(),
            stop: stop.clone(),
        });
        station.configure(config);
        let task_name = name.to_string();
        let span = tracing::info_span!("station", name = %task_name);
        self.tasks.spawn(async move {
            let start = || {
                Pacer::new(timelines.clone(), Arc::clone(&hub), epoch)
                    .run(stop.clone())
                    .instrument(span.clone())
            };
            // A pacer that ends closes its hub (its listeners' streams end); one that is stopped
            // belongs to a station taken off air, whose hub `Station::off_air` closed.
            if let Some(Err(error)) = supervise(&task_name, &stop, start).await {
                tracing::warn!(station = %task_name, %error, "station went off air");
            }
        });
        station
    }

    /// Waits (briefly) until a new station has published its first audio, then mounts it: a
    /// station is reachable only once it has a burst to give.
    async fn go_live(&self, station: Arc<Station>) {
        let _ = tokio::time::timeout(Duration::from_secs(2), station.hub.first_chunk()).await;
        if self.stop.is_cancelled() {
            return;
        }
        log_station(&station.name, &station.programme(), "station on air");
        if let Some(previous) = self.write().insert(station.name.clone(), station) {
            previous.off_air();
        }
    }

    /// Takes station `name` off air: its listeners' streams end after a whole chunk.
    pub fn unmount(&self, name: &str, why: &str) {
        if let Some(station) = self.write().remove(name) {
            station.off_air();
            tracing::info!(station = %name, mount = %format!("/{name}"), listeners = station.hub.listeners(), "station off air: {why}");
        }
    }

    /// The station at `name`, if it is on air.
    pub fn get(&self, name: &str) -> Option<Arc<Station>> {
        let stations = self.stations.read().unwrap_or_else(|p| p.into_inner());
        stations.get(name).filter(|s| !s.hub.is_closed()).cloned()
    }

    /// Every station on air, by name.
    pub fn list(&self) -> Vec<Arc<Station>> {
        self.all()
            .into_iter()
            .filter(|s| !s.hub.is_closed())
            .collect()
    }

    fn all(&self) -> Vec<Arc<Station>> {
        let stations = self.stations.read().unwrap_or_else(|p| p.into_inner());
        stations.values().cloned().collect()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Station>>> {
        self.stations.write().unwrap_or_else(|p| p.into_inner())
    }

    fn failed_before(&self, path: &Path, identity: Option<FileIdentity>) -> bool {
        lock(&self.failed).get(path) == Some(&identity)
    }

    /// Takes every station off air (ending every listener's stream), calls off the probes, and
    /// waits until `deadline` at most for the station tasks to finish.
    pub async fn shutdown(&self, deadline: tokio::time::Instant) {
        self.stop.cancel();
        for station in self.all() {
            station.off_air();
        }
        self.tasks.close();
        if tokio::time::timeout_at(deadline, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("station tasks did not stop in time");
        }
    }

    /// The stations the config and the stations folder name; see [`discover`]. Each duplicate
    /// name and each unusable entry is warned about once.
    pub fn discover(&self, config: &Config) -> BTreeMap<String, Wanted> {
        let found = discover(config);
        let mut warned = lock(&self.warned);
        let dir = &config.server.stations_dir;
        let missing = format!("missing {}", dir.display());
        if dir.is_dir() {
            warned.remove(&missing);
        } else if warned.insert(missing) {
            tracing::warn!(
                dir = %printable(dir),
                "the stations folder does not exist (or is not a folder); its stations go on air when it appears"
            );
        }
        for (name, kept, ignored) in found.duplicates {
            if warned.insert(format!("dup {} {}", kept.display(), ignored.display())) {
                tracing::warn!(
                    station = %name,
                    kept = %printable(&kept),
                    ignored = %printable(&ignored),
                    "two station files or folders map to one name; the first one wins"
                );
            }
        }
        for (path, reason) in found.unusable {
            if warned.insert(format!("unusable {} {reason}", path.display())) {
                tracing::warn!(file = %printable(&path), "not a station: {reason}");
            }
        }
        found.stations
    }
}

/// Locks a mutex, ignoring poisoning: every critical section guarded this way is a few
/// assignments, so what a panic left behind is still consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Splits `tracks` into those of `reference`'s format (all of them without one) and those left
/// out.
pub fn admit(
    tracks: Vec<Arc<StationInfo>>,
    reference: Option<Format>,
) -> (Vec<Arc<StationInfo>>, Vec<Arc<StationInfo>>) {
    match reference {
        Some(format) => tracks.into_iter().partition(|t| t.first.format() == format),
        None => (tracks, Vec::new()),
    }
}

fn meta_for(config: &Config, name: &str, info: &StationInfo, folder: bool) -> StationMeta {
    let station = config.stations.get(name);
    // A station file's title tag names the station; a programme's tracks name themselves.
    let tagged = (!folder).then(|| info.tags.title.clone()).flatten();
    StationMeta {
        title: station
            .and_then(|s| s.title.clone())
            .or(tagged)
            .unwrap_or_else(|| name.to_string()),
        genre: station.and_then(|s| s.genre.clone()),
        description: station.and_then(|s| s.description.clone()),
        url: station.and_then(|s| s.url.clone()),
    }
}

/// Text from a file's tags, fit for a log line.
fn escape(text: &str) -> String {
    onair_core::printable(Path::new(text))
}

/// One `info` line for a station whose audio is new.
fn log_station(name: &str, programme: &Programme, what: &str) {
    let format = programme.format();
    tracing::info!(
        station = %name,
        mount = %format!("/{name}"),
        tracks = programme.tracks().len(),
        duration = %format_duration(programme.duration()),
        bitrate_kbps = programme.bitrate_kbps(),
        sample_rate = format.sample_rate,
        channels = format.channels,
        format = %format,
        file = %printable(&programme.first().path),
        "{what}"
    );
}

/// Warns about what the probe passed over: it plays, but the operator should know.
fn report_damage(name: &str, info: &StationInfo) {
    let file = printable(&info.path);
    if let Some(at) = info.damage.truncated_at {
        tracing::warn!(station = %name, %file, offset = at, "the last frame is cut short; it is dropped");
    }
    if let Some(at) = info.damage.first_garbage_at {
        tracing::warn!(
            station = %name,
            %file,
            offset = at,
            bytes = info.damage.garbage_bytes,
            "bytes that are not audio frames are skipped"
        );
    }
    if info.mixed_format {
        tracing::warn!(station = %name, %file, "the sample rate or channels change inside the file; some players will glitch");
    }
}

/// `1:02:03` or `4:05`.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}
