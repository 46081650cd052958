//! The stations on air: which files they play, their hubs, and the pacer tasks that feed them.
//!
//! The registry owns every pacer task (in one `TaskTracker`, under one `CancellationToken`), so
//! shutting it down ends every station and, through the hubs, every listener's stream.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use onair_core::{probe, Hub, Pacer, SourceError, StationInfo, StationSource};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::naming::{is_station_file, name_of};

/// What players are told about a station.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StationMeta {
    /// Title; the station name when the config sets none.
    pub title: String,
    /// Genre, if configured.
    pub genre: Option<String>,
    /// Description, if configured.
    pub description: Option<String>,
}

/// One station on air.
#[derive(Debug)]
pub struct Station {
    /// Name and mount point (`/<name>`).
    pub name: String,
    /// What the file holds.
    pub info: StationInfo,
    /// The broadcast listeners subscribe to.
    pub hub: Arc<Hub>,
    /// What players are told.
    pub meta: StationMeta,
    /// Socket write timeout for this station's listeners.
    pub client_timeout: Duration,
    stop: CancellationToken,
}

/// The stations on air, by name.
#[derive(Debug, Default)]
pub struct StationRegistry {
    stations: RwLock<BTreeMap<String, Arc<Station>>>,
    tasks: TaskTracker,
    stop: CancellationToken,
}

impl StationRegistry {
    /// An empty registry.
    pub fn new() -> Arc<Self> {
        Arc::new(StationRegistry::default())
    }

    /// Mounts every station the config and the stations folder name. A file that cannot be
    /// played is logged and left out; the others go on air. Returns the stations that failed.
    pub async fn load(&self, config: &Config) -> Vec<(String, SourceError)> {
        let mut failed = Vec::new();
        for (name, path) in discover(config) {
            if let Err(error) = self.mount(&name, &path, config).await {
                tracing::warn!(station = %name, %error, "station not mounted");
                failed.push((name, error));
            }
        }
        failed
    }

    /// Probes `path` and puts it on air as station `name`.
    pub async fn mount(&self, name: &str, path: &Path, config: &Config) -> Result<(), SourceError> {
        let probe_path = path.to_path_buf();
        let info = tokio::task::spawn_blocking(move || probe(&probe_path))
            .await
            .map_err(|e| SourceError::Io {
                path: path.to_path_buf(),
                offset: 0,
                source: std::io::Error::other(e),
            })??;
        report_damage(name, &info);
        let source = StationSource::open(&info)?;
        let pacing = config.pacing_for(name);
        let hub = Hub::new(name, pacing.tuning);
        let stop = self.stop.child_token();
        let station = Arc::new(Station {
            name: name.to_string(),
            meta: meta_for(config, name),
            client_timeout: pacing.client_timeout,
            hub: Arc::clone(&hub),
            info,
            stop: stop.clone(),
        });
        let pacer = Pacer::new(source, hub);
        let task_name = name.to_string();
        self.tasks.spawn(async move {
            if let Err(error) = pacer.run(stop).await {
                tracing::warn!(station = %task_name, %error, "station went off air");
            }
        });
        tracing::info!(
            station = %name,
            mount = %format!("/{name}"),
            duration = %format_duration(station.info.duration),
            bitrate_kbps = station.info.bitrate() / 1000,
            sample_rate = station.info.sample_rate(),
            channels = station.info.channels(),
            file = %station.info.path.display(),
            "station on air"
        );
        let previous = self
            .stations
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), station);
        if let Some(previous) = previous {
            previous.stop.cancel();
        }
        Ok(())
    }

    /// The station at `name`, if it is on air.
    pub fn get(&self, name: &str) -> Option<Arc<Station>> {
        let stations = self.stations.read().unwrap_or_else(|p| p.into_inner());
        stations.get(name).filter(|s| !s.hub.is_closed()).cloned()
    }

    /// Every station on air, by name.
    pub fn list(&self) -> Vec<Arc<Station>> {
        let stations = self.stations.read().unwrap_or_else(|p| p.into_inner());
        stations
            .values()
            .filter(|s| !s.hub.is_closed())
            .cloned()
            .collect()
    }

    /// Takes every station off air (ending every listener's stream) and waits up to `grace` for
    /// the pacer tasks to finish.
    pub async fn shutdown(&self, grace: Duration) {
        self.stop.cancel();
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("station tasks did not stop within {grace:?}");
        }
    }
}

/// The station files to mount, by name: `[stations.<name>] file = ...` entries first, then the
/// `*.aac` files of the stations folder in name order. A name claimed twice keeps its first file
/// and a warning names both.
pub fn discover(config: &Config) -> Vec<(String, PathBuf)> {
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut claim = |name: String, path: PathBuf| match found.get(&name) {
        Some(first) => tracing::warn!(
            station = %name,
            kept = %first.display(),
            ignored = %path.display(),
            "two station files map to one name; the first one wins"
        ),
        None => {
            found.insert(name, path);
        }
    };
    for (name, station) in &config.stations {
        if let Some(file) = &station.file {
            claim(name.clone(), file.clone());
        }
    }
    let dir = &config.server.stations_dir;
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut files: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| is_station_file(p))
                .collect();
            files.sort();
            for path in files {
                if let Some(name) = name_of(&path) {
                    claim(name, path);
                }
            }
        }
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "cannot read the stations folder")
        }
    }
    found.into_iter().collect()
}

fn meta_for(config: &Config, name: &str) -> StationMeta {
    let station = config.stations.get(name);
    StationMeta {
        title: station
            .and_then(|s| s.title.clone())
            .unwrap_or_else(|| name.to_string()),
        genre: station.and_then(|s| s.genre.clone()),
        description: station.and_then(|s| s.description.clone()),
    }
}

/// Warns about what the probe passed over: it plays, but the operator should know.
fn report_damage(name: &str, info: &StationInfo) {
    let file = info.path.display();
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
