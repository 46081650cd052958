//! The stations on air: which files they play, their hubs, and the pacer tasks that feed them.
//!
//! The registry is driven by one general mechanism, [`StationRegistry::reconcile`]: given the
//! station files that should be on air, it mounts the new ones, switches stations whose file
//! changed to the new audio, and takes the others off air. Start-up, the folder watcher and
//! config reloads all go through it.
//!
//! The registry owns every pacer task (in one `TaskTracker`, under one `CancellationToken`), so
//! shutting it down ends every station and, through the hubs, every listener's stream.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use onair_core::printable;
use onair_core::{
    duration_of, frame_containing, probe_until, segment_start, tick_at, ticks_of, Hub, Pacer,
    SourceError, StationInfo, Timeline,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::config::Config;
use crate::icy::IcyTitle;
use crate::naming::{is_station_file, name_of};
use crate::supervisor::supervise;

/// How long after a replaced file is seen its audio can start at the earliest (then at the next
/// segment boundary): long enough for the pacer's read-ahead and for replicas that see the file
/// a moment apart to choose the same boundary.
pub const SWITCH_SETTLE: Duration = Duration::from_secs(2);

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
    identity: Mutex<Option<FileIdentity>>,
    settings: RwLock<Settings>,
    /// When the station went on air.
    pub started_at: SystemTime,
    stop: CancellationToken,
}

impl Station {
    /// What the station's file holds (the newest: a replacement is described as soon as it is
    /// scheduled).
    pub fn info(&self) -> Arc<StationInfo> {
        let timeline = self.timeline.borrow();
        let newest = &timeline.entries()[timeline.entries().len() - 1];
        Arc::clone(&newest.info)
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

    /// The title and its ready-made ICY metadata block.
    pub fn icy_title(&self) -> Arc<IcyTitle> {
        Arc::clone(&self.settings().icy)
    }

    fn settings(&self) -> std::sync::RwLockReadGuard<'_, Settings> {
        self.settings.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `config`'s pacing and metadata for this station (and the title of the file
    /// playing). A new title gets a new ICY block, once for all listeners.
    fn configure(&self, config: &Config) {
        let pacing = config.pacing_for(&self.name);
        self.hub.set_tuning(pacing.tuning);
        let meta = meta_for(config, &self.name, &self.info());
        let max_listeners = config
            .stations
            .get(&self.name)
            .and_then(|s| s.max_listeners)
            .map(|m| m.get() as usize);
        let mut settings = self.settings.write().unwrap_or_else(|p| p.into_inner());
        if settings.meta.title != meta.title {
            settings.icy = Arc::new(IcyTitle::new(settings.icy.version + 1, &meta.title));
        }
        settings.meta = meta;
        settings.client_timeout = pacing.client_timeout;
        settings.max_listeners = max_listeners;
    }

    /// The station's timeline now.
    pub fn timeline(&self) -> Arc<Timeline> {
        Arc::clone(&self.timeline.borrow())
    }

    /// Schedules `info` to replace the station's audio at the first segment boundary after a
    /// settle time (counted on the station clock, so that replicas which see the change a moment
    /// apart still agree), joining the timeline where the clock puts it: the frame of the new
    /// file that holds the switch's tick (modulo its length). Segments already published keep
    /// their bytes. Returns how far ahead the switch is.
    async fn schedule_switch(
        &self,
        info: Arc<StationInfo>,
        config: &Config,
    ) -> Result<Duration, SourceError> {
        let now = tick_at(self.epoch, SystemTime::now());
        let settle = SWITCH_SETTLE.max(self.hub.tuning().chunk + Duration::from_secs(1));
        let segment = ticks_of(Duration::from_millis(config.hls.segment_ms.get()));
        let timeline = self.timeline();
        let k = (now + ticks_of(settle)).div_ceil(segment);
        // The old file rewritten in place has no frames left to cut at: the plain segment tick.
        let at = segment_start(&timeline, k, segment)
            .await
            .unwrap_or(k * segment);
        let offset = frame_containing(&info, at % info.ticks.max(1)).await?.start;
        let window = ticks_of(Duration::from_secs(config.hls.window_s.get())) + 2 * segment;
        self.timeline.send_modify(|timeline| {
            let timeline = Arc::make_mut(timeline);
            timeline.switch(at, info, offset);
            timeline.forget_before(now.saturating_sub(window));
        });
        Ok(duration_of(at.saturating_sub(now)))
    }

    /// Switches the station to `info` at the next segment boundary (see
    /// [`schedule_switch`](Self::schedule_switch)), and says so.
    async fn replace(&self, info: Arc<StationInfo>, config: &Config) {
        match self.schedule_switch(info, config).await {
            Ok(at) => {
                self.configure(config);
                log_station(
                    &self.name,
                    &self.info(),
                    &format!(
                        "station file replaced; the new audio starts in {:.1} s, at the next segment boundary",
                        at.as_secs_f64()
                    ),
                );
            }
            Err(error) => {
                tracing::warn!(station = %self.name, %error, "cannot switch to the new file")
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

    fn identity(&self) -> Option<FileIdentity> {
        *lock(&self.identity)
    }
}

/// The station files that should be on air.
#[derive(Debug, Default, Clone)]
pub struct Desired {
    /// Name to file, one file per name.
    pub stations: BTreeMap<String, PathBuf>,
    /// Files still being written: a station playing one keeps its current audio, and one not on
    /// air yet waits.
    pub unsettled: HashSet<PathBuf>,
}

/// The stations on air, by name.
#[derive(Debug, Default)]
pub struct StationRegistry {
    stations: RwLock<BTreeMap<String, Arc<Station>>>,
    /// Probes under way, by file: the version being probed, and how to call the probe off.
    probing: Mutex<HashMap<PathBuf, (Option<FileIdentity>, CancellationToken)>>,
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
        Arc::new(StationRegistry::default())
    }

    /// Puts on air every station the config and the stations folder name (at start-up, every
    /// file present is taken as complete). Returns at once; see [`reconcile`](Self::reconcile).
    pub fn load(self: &Arc<Self>, config: &Arc<Config>) {
        let desired = Desired {
            stations: self.discover(config),
            unsettled: HashSet::new(),
        };
        self.reconcile(config, desired);
    }

    /// Brings the stations on air in line with `desired`: takes off air the stations no longer
    /// wanted, applies `config`'s pacing and metadata to all, and starts a probe of every file
    /// that is new or changed. It returns at once: probes run in the background, in parallel,
    /// each putting its station on air (or switching it to the new audio) when it ends, so that
    /// a huge or slow file never delays serving, the other stations, the watcher or shutdown. A
    /// file that cannot be played is logged (once per version of the file) and changes nothing
    /// else.
    pub fn reconcile(self: &Arc<Self>, config: &Arc<Config>, desired: Desired) {
        let desired = Arc::new(desired);
        *lock(&self.latest) = Some((Arc::clone(config), Arc::clone(&desired)));
        // A station whose pacer ended (its file failed for good) is gone: a new version of its
        // file mounts it again.
        self.write().retain(|_, s| !s.hub.is_closed());
        let current: Vec<Arc<Station>> = self.all();
        for station in &current {
            if !desired.stations.contains_key(&station.name) {
                self.unmount(&station.name, "its file is gone");
            } else {
                station.configure(config);
            }
        }
        // Probes of files no longer wanted are called off.
        lock(&self.probing).retain(|path, (_, cancel)| {
            let wanted = desired.stations.values().any(|p| p == path);
            if !wanted {
                cancel.cancel();
            }
            wanted
        });
        for (name, path) in &desired.stations {
            if desired.unsettled.contains(path) {
                continue;
            }
            let identity = FileIdentity::of(path);
            let playing = current.iter().find(|s| &s.name == name);
            if let Some(station) = playing {
                if station.info().path == *path && station.identity() == identity {
                    continue;
                }
            }
            if self.failed_before(path, identity) {
                continue;
            }
            self.start_probe(name, path, identity);
        }
        lock(&self.failed).retain(|path, _| desired.stations.values().any(|p| p == path));
    }

    /// Probes `path` (version `identity`) for station `name` in the background, unless that
    /// version is being probed already; a probe of an older version is called off.
    fn start_probe(self: &Arc<Self>, name: &str, path: &Path, identity: Option<FileIdentity>) {
        let cancel = {
            let mut probing = lock(&self.probing);
            if let Some((probed, cancel)) = probing.get(path) {
                if *probed == identity {
                    return;
                }
                cancel.cancel();
            }
            let cancel = self.stop.child_token();
            probing.insert(path.to_path_buf(), (identity, cancel.clone()));
            cancel
        };
        self.jobs.send_modify(|n| *n += 1);
        let registry = Arc::clone(self);
        let (name, path) = (name.to_string(), path.to_path_buf());
        self.tasks.spawn(async move {
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
            registry
                .probed(&name, &path, identity, &cancel, probed)
                .await;
            registry.jobs.send_modify(|n| *n -= 1);
        });
    }

    /// Applies the end of a probe: the station goes on air (or switches to the new audio), or
    /// the file is reported, if the file is still wanted as it was probed.
    async fn probed(
        &self,
        name: &str,
        path: &Path,
        identity: Option<FileIdentity>,
        cancel: &CancellationToken,
        probed: Result<StationInfo, SourceError>,
    ) {
        {
            let mut probing = lock(&self.probing);
            if probing.get(path).is_some_and(|(_, c)| c == cancel) {
                probing.remove(path);
            }
        }
        if cancel.is_cancelled() {
            return;
        }
        let Some((config, desired)) = lock(&self.latest).clone() else {
            return;
        };
        // Renamed away, replaced or rewritten while it was probed: a newer reconcile has
        // started the probe that counts.
        if desired.stations.get(name).map(PathBuf::as_path) != Some(path)
            || desired.unsettled.contains(path)
            || FileIdentity::of(path) != identity
        {
            return;
        }
        match probed {
            Ok(info) => {
                lock(&self.failed).remove(path);
                report_damage(name, &info);
                let info = Arc::new(info);
                match self.get(name) {
                    Some(station) => {
                        *lock(&station.identity) = identity;
                        station.replace(info, &config).await;
                    }
                    None => {
                        let station = self.mount(name, info, identity, &config);
                        self.go_live(station).await;
                    }
                }
            }
            Err(error) => {
                let playing = self.get(name).is_some();
                tracing::warn!(
                    station = %name,
                    %error,
                    "{}",
                    if playing { "new file refused; the station keeps its current audio" } else { "station not mounted" }
                );
                lock(&self.failed).insert(path.to_path_buf(), identity);
            }
        }
    }

    /// Completes once every probe and mount under way has ended (for tests and start-up
    /// reports: serving never waits for it).
    pub async fn settled(&self) {
        let mut jobs = self.jobs.subscribe();
        let _ = jobs.wait_for(|n| *n == 0).await;
    }

    /// A new station `name` playing `info`, its pacer started; to be inserted once its first
    /// audio is out ([`go_live`](Self::go_live)).
    fn mount(
        &self,
        name: &str,
        info: Arc<StationInfo>,
        identity: Option<FileIdentity>,
        config: &Config,
    ) -> Arc<Station> {
        let pacing = config.pacing_for(name);
        let hub = Hub::new(name, pacing.tuning);
        let stop = self.stop.child_token();
        let (timeline, timelines) = watch::channel(Arc::new(Timeline::new(Arc::clone(&info))));
        let meta = meta_for(config, name, &info);
        let epoch = pacing.epoch;
        let station = Arc::new(Station {
            name: name.to_string(),
            hub: Arc::clone(&hub),
            timeline,
            epoch,
            hls: Default::default(),
            identity: Mutex::new(identity),
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
        log_station(&station.name, &station.info(), "station on air");
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

    /// The station files the config and the stations folder name; see [`discover`]. Each
    /// duplicate name and each unusable entry is warned about once.
    pub fn discover(&self, config: &Config) -> BTreeMap<String, PathBuf> {
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
                    "two station files map to one name; the first one wins"
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

/// Two files that claim one station name: `(name, kept, ignored)`.
pub type Duplicate = (String, PathBuf, PathBuf);

/// What the config and the stations folder name.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Name to file, one file per name.
    pub stations: BTreeMap<String, PathBuf>,
    /// Files that lost their name to another file.
    pub duplicates: Vec<Duplicate>,
    /// Entries named like stations that cannot be one (a folder, a FIFO, a dangling or looping
    /// symlink), with why.
    pub unusable: Vec<(PathBuf, String)>,
}

/// The station files to mount, by name: `[stations.<name>] file = ...` entries first, then the
/// `*.aac` files of the stations folder in name order. A name claimed twice keeps its first
/// file.
pub fn discover(config: &Config) -> Discovery {
    let mut found = Discovery::default();
    let claim = |found: &mut Discovery, name: String, path: PathBuf| match found.stations.get(&name)
    {
        Some(first) => found.duplicates.push((name, first.clone(), path)),
        None => {
            found.stations.insert(name, path);
        }
    };
    for (name, station) in &config.stations {
        if let Some(file) = &station.file {
            claim(&mut found, name.clone(), file.clone());
        }
    }
    let (files, unusable) = station_files(&config.server.stations_dir);
    found.unusable = unusable;
    for path in files {
        if let Some(name) = name_of(&path) {
            match crate::naming::reserved(&name) {
                Some(why) => found.unusable.push((path, why)),
                None => claim(&mut found, name, path),
            }
        }
    }
    found
}

/// The station files in `dir`, in name order, and the entries named like station files that are
/// not regular files (empty when the folder cannot be read). Symlinks are followed.
pub fn station_files(dir: &Path) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (Vec::new(), Vec::new());
    };
    let mut files = Vec::new();
    let mut unusable = Vec::new();
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if !is_station_file(&path) {
            if crate::naming::is_non_utf8_station_file(&path) {
                unusable.push((
                    path,
                    "the file name is not valid UTF-8, so it has no station name; rename it"
                        .to_string(),
                ));
            }
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => files.push(path),
            Ok(meta) if meta.is_dir() => unusable.push((path, "a folder, not a file".to_string())),
            Ok(_) => unusable.push((
                path,
                "not a regular file (a FIFO, socket or device)".to_string(),
            )),
            Err(error) => unusable.push((path, format!("cannot be read: {error}"))),
        }
    }
    files.sort();
    unusable.sort();
    (files, unusable)
}

fn meta_for(config: &Config, name: &str, info: &StationInfo) -> StationMeta {
    let station = config.stations.get(name);
    StationMeta {
        title: station
            .and_then(|s| s.title.clone())
            .or_else(|| info.title.clone())
            .unwrap_or_else(|| name.to_string()),
        genre: station.and_then(|s| s.genre.clone()),
        description: station.and_then(|s| s.description.clone()),
        url: station.and_then(|s| s.url.clone()),
    }
}

/// One `info` line for a station whose audio is new.
fn log_station(name: &str, info: &StationInfo, what: &str) {
    tracing::info!(
        station = %name,
        mount = %format!("/{name}"),
        duration = %format_duration(info.duration),
        bitrate_kbps = info.bitrate_kbps(),
        sample_rate = info.sample_rate(),
        channels = info.channels(),
        file = %printable(&info.path),
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
            "non-ADTS bytes between frames are skipped"
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
