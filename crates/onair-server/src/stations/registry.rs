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
//! Under `edits = "file_times"` every change instead takes effect at the instant its files'
//! modification times name, the same on every replica, restarted or not ([`super::anchor`]).
//!
//! The registry owns every pacer task (in one `TaskTracker`, under one `CancellationToken`), so
//! shutting it down ends every station and, through the hubs, every listener's stream.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use onair_core::{
    check_epoch, EpochError, Hub, Programme, Schedule, SourceError, StationInfo, WallClock,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::anchor::programme_anchor;
use super::assembly::{Assembler, Assembly};
use super::audience::{Audience, AudienceSink, EndReason, Unheard};
use super::catalogue::Catalogue;
pub use super::desired::Desired;
use super::discovery::{discover, Wanted};
use super::identity::FileIdentity;
use super::report::{log_station, report_damage, report_discovery, WarnOnce};
use super::scheduled::Course;
use super::station::Station;
use super::tasks::{start_tasks, StationTask};
use crate::config::{Config, Edits};
use crate::sync::{lock, read, write};

/// One station's decisions: one at a time, and at most one more queued.
#[derive(Debug, Default)]
struct ApplyGate {
    running: tokio::sync::Mutex<()>,
    queued: AtomicBool,
}

/// The stations on air, by name.
#[derive(Debug)]
pub struct StationRegistry {
    stations: RwLock<BTreeMap<String, Arc<Station>>>,
    /// Every track probed, and the probes under way.
    catalogue: Catalogue,
    /// One change at a time per station (two probes ending together decide once).
    applying: Mutex<HashMap<String, Arc<ApplyGate>>>,
    /// Told whenever a station starts another track (the `/events` publisher waits on it).
    pub track_changes: Arc<tokio::sync::Notify>,
    /// What the latest reconcile wanted: a probe that ends applies its result only if the file
    /// is still wanted under that name.
    latest: Mutex<Option<(Arc<Config>, Arc<Desired>)>>,
    /// Probes and mounts under way; 0 when the registry has caught up with `latest`.
    jobs: watch::Sender<usize>,
    /// Duplicate names, unusable entries and left-out tracks already warned about.
    warned: WarnOnce,
    /// Where wall time comes from, for every station.
    clock: Arc<dyn WallClock>,
    tasks: TaskTracker,
    stop: CancellationToken,
    /// What runs beside each station (its relay), set once by the server.
    beside: OnceLock<StationTask>,
    /// Where every station's sessions are reported, set once by the server.
    sink: OnceLock<Arc<dyn AudienceSink>>,
}

impl StationRegistry {
    /// An empty registry whose stations read wall time from `clock`.
    pub fn new(clock: Arc<dyn WallClock>) -> Arc<Self> {
        Arc::new(StationRegistry {
            stations: Default::default(),
            catalogue: Catalogue::default(),
            applying: Default::default(),
            track_changes: Default::default(),
            latest: Default::default(),
            jobs: Default::default(),
            warned: Default::default(),
            clock,
            tasks: Default::default(),
            stop: Default::default(),
            beside: OnceLock::new(),
            sink: OnceLock::new(),
        })
    }

    /// Runs `task` beside every station mounted from now on.
    pub fn run_beside(&self, task: StationTask) {
        let _ = self.beside.set(task);
    }

    /// Reports the sessions of every station mounted from now on to `sink`.
    pub fn report_to(&self, sink: Arc<dyn AudienceSink>) {
        let _ = self.sink.set(sink);
    }

    /// Where wall time comes from.
    pub fn clock(&self) -> &Arc<dyn WallClock> {
        &self.clock
    }

    /// Puts on air every station the config and the stations folder name (at start-up, every
    /// file present is taken as complete). Returns at once; see [`reconcile`](Self::reconcile).
    pub fn load(self: &Arc<Self>, config: &Arc<Config>) {
        let (stations, unreadable) = self.discover(config);
        let desired = Desired {
            stations,
            unreadable,
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
            let mut stations = write(&self.stations);
            let ended = stations
                .values()
                .filter(|s| s.hub.is_closed())
                .cloned()
                .collect();
            stations.retain(|_, s| !s.hub.is_closed());
            ended
        };
        for station in ended {
            self.catalogue.forget_tracks_of(&station.programme());
        }
        // A station in a folder that could not be listed now (out of descriptors, an I/O
        // error) is not gone: it stays on air as it is, with its tracks.
        let mut kept = Vec::new();
        for station in self.all() {
            match desired.stations.get(&station.name) {
                Some(wanted) if wanted.origin.same_kind(&station.origin) => {
                    station.configure(config)
                }
                Some(_) => self.unmount(&station.name, "it is now a folder (or a file) instead"),
                None if desired.cannot_see(station.origin.path()) => kept.push(station),
                None => self.unmount(&station.name, "its file is gone (or its folder is empty)"),
            }
        }
        // Probes of files no longer wanted are called off, and tracks no station wants are
        // forgotten (a station playing one keeps it until its programme changes).
        let kept_tracks: Vec<_> = kept
            .iter()
            .flat_map(|s| s.programme().tracks().to_vec())
            .collect();
        let mut wanted = desired.wanted_tracks();
        wanted.extend(kept_tracks.iter().map(|t| t.path.as_path()));
        self.catalogue.keep_only(&wanted);
        let seen = desired
            .stations
            .values()
            .flat_map(|wanted| wanted.all_tracks())
            .filter(|path| !desired.unsettled.contains(*path))
            .map(|path| {
                let identity = match desired.identities.get(path) {
                    Some(identity) => *identity,
                    None => FileIdentity::of(path),
                };
                (path.as_path(), identity)
            })
            .collect();
        for (path, identity, cancel) in self.catalogue.begin(seen, &self.stop) {
            self.spawn_probe(path, identity, cancel);
        }
        for name in desired.stations.keys() {
            self.spawn_apply(name);
        }
    }

    /// Decides station `name`'s programme again, in the background.
    /// Decisions asked for while one is queued are one decision: it reads the latest state when
    /// it runs (the probes of a programme of 20,000 tracks end 20,000 times, and each decision
    /// reads every track).
    fn spawn_apply(self: &Arc<Self>, name: &str) {
        let gate = Arc::clone(lock(&self.applying).entry(name.to_string()).or_default());
        if gate.queued.swap(true, Ordering::AcqRel) {
            return;
        }
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
        path: PathBuf,
        identity: Option<FileIdentity>,
        cancel: CancellationToken,
    ) {
        self.jobs.send_modify(|n| *n += 1);
        let registry = Arc::clone(self);
        self.tasks.spawn(async move {
            let probed = registry.catalogue.probe(&path, &cancel).await;
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
        let latest = lock(&self.latest).clone();
        let Some((_, desired)) = latest.filter(|_| !cancel.is_cancelled()) else {
            return self.catalogue.end(path, cancel);
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
            return self.catalogue.end(path, cancel);
        }
        match probed {
            Ok(info) => {
                for name in &users {
                    report_damage(name, &info);
                }
                self.catalogue
                    .record_good(path, identity, cancel, Arc::new(info));
                self.warned
                    .forget(&format!("unreadable {}", path.display()));
            }
            // Out of descriptors, an I/O error: not a verdict on the file. It stays under way
            // (its stations wait: what plays keeps playing, a new one is not put on air
            // without it) and is probed again at the next look.
            Err(error) if error.is_transient() && self.catalogue.retry_later(path, cancel) => {
                if self.warned.first(format!("unreadable {}", path.display())) {
                    tracing::warn!(%error, "cannot read a track now; trying again");
                }
            }
            Err(error) => {
                let playing = self.catalogue.record_failed(path, identity, cancel);
                for name in &users {
                    tracing::warn!(
                        station = %name,
                        %error,
                        "{}",
                        if playing { "new version refused; the last good one keeps playing" } else { "file refused" }
                    );
                }
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
        let _one_at_a_time = gate.running.lock().await;
        // From here on, a new change queues another decision.
        gate.queued.store(false, Ordering::Release);
        let Some((config, desired)) = lock(&self.latest).clone() else {
            return;
        };
        let Some(wanted) = desired.stations.get(name) else {
            return;
        };
        if self.stop.is_cancelled() {
            return;
        }
        let mut station = self.get(name);
        // A live-only station whose show is over starts afresh: its listeners' streams end.
        if station.as_ref().is_some_and(|s| s.show_is_over()) {
            self.unmount(name, "its live show is over");
            station = None;
        }
        let assembler = Assembler {
            catalogue: &self.catalogue,
            warned: &self.warned,
        };
        let own = match assembler.assemble(name, wanted, &desired, station.as_deref(), &config) {
            Assembly::Waiting => return,
            Assembly::Same => match &station {
                Some(station) => station.programme(),
                None => return,
            },
            Assembly::Empty => {
                if station.is_some() {
                    self.unmount(name, "its folder holds no playable track");
                }
                return;
            }
            Assembly::New(programme) => Arc::new(programme),
        };
        let changed = station
            .as_ref()
            .is_none_or(|s| !Arc::ptr_eq(&s.programme(), &own));
        // A scheduled station: its slots' and jingles' programmes too.
        let Some(schedule) =
            assembler.assemble_schedule(name, wanted, &desired, station.as_deref(), &config, &own)
        else {
            return;
        };
        match station {
            Some(station) if config.pacing_for(name).edits == Edits::FileTimes => {
                station.re_lay(own, schedule, &config).await
            }
            Some(station) if schedule.is_some() || station.schedule().is_some() => {
                station.reschedule(own, schedule, &config).await
            }
            Some(station) if changed => station.replace(own, &config).await,
            Some(_) => {}
            None if self.clock_runs(name, &config) => {
                let station = self.mount(name, own, schedule, wanted, &config);
                self.go_live(station).await;
            }
            None => {}
        }
    }

    /// Whether station `name`'s clock runs now (its epoch is past, by at most 500 years). A
    /// station whose epoch is ahead goes on air at its epoch (on every replica alike: tick 0
    /// then); one whose epoch is too far back stays off air. Each is said once.
    fn clock_runs(self: &Arc<Self>, name: &str, config: &Config) -> bool {
        let epoch = config.pacing_for(name).epoch;
        let Err(problem) = check_epoch(epoch, self.clock.now()) else {
            return true;
        };
        if !self.warned.first(format!("epoch {name} {epoch:?}")) {
            return false;
        }
        tracing::warn!(station = %name, "station off air: {problem}");
        if let EpochError::Future(ahead) = problem {
            // Decided again at the epoch (a little after: the clock must have passed it).
            self.decide_later(name, ahead + Duration::from_millis(10));
        }
        false
    }

    /// Completes once every probe and mount under way has ended (for tests and start-up
    /// reports: serving never waits for it).
    pub async fn settled(&self) {
        let mut jobs = self.jobs.subscribe();
        let _ = jobs.wait_for(|n| *n == 0).await;
    }

    /// A new station `name` playing `programme` from `wanted`'s origin, its pacer started; to
    /// be inserted once its first audio is out ([`go_live`](Self::go_live)).
    fn mount(
        &self,
        name: &str,
        programme: Arc<Programme>,
        schedule: Option<Schedule>,
        wanted: &Wanted,
        config: &Config,
    ) -> Arc<Station> {
        let pacing = config.pacing_for(name);
        let hub = Hub::new(name, pacing.tuning);
        let first = programme.first();
        let chain = config.stations.get(name).is_some_and(|s| s.ogg_chain);
        if let Some(packaging) = first.codec().packaging(name, &first.headers, chain) {
            hub.set_packaging(packaging);
        }
        hub.notify_track_changes(Arc::clone(&self.track_changes));
        let stop = self.stop.child_token();
        let keep = Station::keep_ticks(config);
        let anchor = programme_anchor(config, name, &programme);
        let now = onair_core::tick_at(pacing.epoch, self.clock.now());
        let (course, timelines) = Course::new(programme, schedule, anchor, now, keep);
        let sink = self
            .sink
            .get()
            .map_or_else(|| Arc::new(Unheard) as Arc<dyn AudienceSink>, Arc::clone);
        let station = Arc::new(Station::new(
            name,
            wanted.origin.clone(),
            (Arc::clone(&hub), Audience::new(name, sink)),
            course,
            Arc::clone(&self.clock),
            config,
            stop.clone(),
        ));
        start_tasks(
            &self.tasks,
            &station,
            timelines,
            Arc::clone(&self.clock),
            config,
            self.beside.get(),
        );
        station
    }

    /// Waits (briefly) until a new station has published its first audio, then mounts it: a
    /// station is reachable only once it has a burst to give.
    async fn go_live(&self, station: Arc<Station>) {
        let _ = tokio::time::timeout(Duration::from_secs(2), station.hub.first_chunk()).await;
        if self.stop.is_cancelled() {
            return;
        }
        let what = if station.origin.is_live_only() && station.relay.is_configured() {
            "relayed live-only station ready: its relay's audio, silence while it is down"
        } else if station.origin.is_live_only() {
            "live-only station ready: off air until a source connects"
        } else {
            "station on air"
        };
        log_station(&station.name, &station.programme(), what);
        if let Some(previous) = write(&self.stations).insert(station.name.clone(), station) {
            previous.off_air(EndReason::OffAir);
        }
    }

    /// Takes station `name` off air: its listeners' streams end after a whole chunk.
    pub fn unmount(&self, name: &str, why: &str) {
        if let Some(station) = write(&self.stations).remove(name) {
            station.off_air(EndReason::OffAir);
            tracing::info!(station = %name, mount = %format!("/{name}"), listeners = station.hub.listeners(), "station off air: {why}");
        }
    }

    /// The station at `name`, if it is on air.
    pub fn get(&self, name: &str) -> Option<Arc<Station>> {
        read(&self.stations)
            .get(name)
            .filter(|s| !s.hub.is_closed())
            .cloned()
    }

    /// The station at `name`, if listeners can tune in to it now (a live-only station only
    /// while a show is on).
    pub fn audible(&self, name: &str) -> Option<Arc<Station>> {
        self.get(name).filter(|s| s.is_audible())
    }

    /// Decides station `name`'s fate again `after` from now (an epoch reached, a live show
    /// over).
    pub fn decide_later(self: &Arc<Self>, name: &str, after: Duration) {
        let (registry, name) = (Arc::clone(self), name.to_string());
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(after) => registry.spawn_apply(&name),
            }
        });
    }

    /// Every station on air, by name.
    pub fn list(&self) -> Vec<Arc<Station>> {
        self.all()
            .into_iter()
            .filter(|s| !s.hub.is_closed())
            .collect()
    }

    fn all(&self) -> Vec<Arc<Station>> {
        read(&self.stations).values().cloned().collect()
    }

    /// Takes every station off air (ending every listener's stream), calls off the probes, and
    /// waits until `deadline` at most for the station tasks to finish.
    pub async fn shutdown(&self, deadline: tokio::time::Instant) {
        self.stop.cancel();
        for station in self.all() {
            station.off_air(EndReason::Shutdown);
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
    pub fn discover(&self, config: &Config) -> (BTreeMap<String, Wanted>, Vec<PathBuf>) {
        let found = discover(config);
        report_discovery(&found, &config.server.stations_dir, &self.warned);
        let unreadable = found.unreadable.into_iter().map(|(dir, _)| dir).collect();
        (found.stations, unreadable)
    }
}
