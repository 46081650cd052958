//! Which stations the config and the stations folder name: station files (`*.aac`, `*.mp3`) and
//! programme folders of them, each with its tracks in name order. Reading the folders is all this
//! does; what goes on air is the registry's to decide.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use onair_core::Order;

use super::origin::Origin;
use super::silence;
use crate::config::naming::{self, is_hidden, is_station_file, name_of, name_of_folder};
use crate::config::{Config, TrackOrder};

/// Entries that cannot be stations or tracks, with why.
pub type Unusable = Vec<(PathBuf, String)>;

/// What one station should play: a station file, or a folder of tracks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The station file, or the programme folder.
    pub origin: Origin,
    /// The tracks, in name order (the station file alone for a file).
    pub tracks: Vec<PathBuf>,
    /// The order they play in.
    pub order: Order,
    /// The other programmes a scheduled station plays: its slots' and its jingles.
    pub extras: Vec<(Role, Wanted)>,
}

/// What an extra programme of a scheduled station is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Slot `n` of the station's grid (its index in the config).
    Slot(usize),
    /// The station's jingles.
    Jingles,
}

impl Wanted {
    /// Whether `path` is one of the tracks, the extras' included (each kept in name order: a
    /// binary search).
    pub fn has(&self, path: &Path) -> bool {
        self.tracks
            .binary_search_by(|t| t.as_path().cmp(path))
            .is_ok()
            || self.extras.iter().any(|(_, extra)| extra.has(path))
    }

    /// Every track, the extras' included.
    pub fn all_tracks(&self) -> impl Iterator<Item = &PathBuf> {
        self.tracks.iter().chain(
            self.extras
                .iter()
                .flat_map(|(_, extra)| extra.tracks.iter()),
        )
    }
}

/// The extra programmes station `name`'s schedule names: each slot's folder or file, and the
/// jingles' folder. A folder that cannot be listed now is noted in `unreadable`.
fn extras_of(
    name: &str,
    station: &crate::config::StationConfig,
    unreadable: &mut Vec<(PathBuf, String)>,
) -> Vec<(Role, Wanted)> {
    let order = |o: TrackOrder, key: &str| match o {
        TrackOrder::Shuffle => Order::shuffle_for(&format!("{name}/{key}")),
        TrackOrder::Name => Order::Name,
    };
    let mut extras = Vec::new();
    let mut add = |role: Role, origin: Origin, order: Order| {
        let tracks = match &origin {
            Origin::Folder(folder) => match audio_files(folder) {
                Ok((tracks, _)) => tracks,
                Err(error) => {
                    unreadable.push((folder.clone(), error.to_string()));
                    return;
                }
            },
            Origin::File(file) | Origin::LiveOnly(file) => {
                if file.is_file() {
                    vec![file.clone()]
                } else {
                    Vec::new()
                }
            }
        };
        extras.push((
            role,
            Wanted {
                origin,
                tracks,
                order,
                extras: Vec::new(),
            },
        ));
    };
    for (i, slot) in station.slots.iter().enumerate() {
        let origin = match (&slot.folder, &slot.file) {
            (Some(folder), _) => Origin::Folder(folder.clone()),
            (None, Some(file)) => Origin::File(file.clone()),
            (None, None) => continue,
        };
        add(Role::Slot(i), origin, order(slot.order, &slot.name));
    }
    if let Some(jingles) = &station.jingles {
        add(
            Role::Jingles,
            Origin::Folder(jingles.folder.clone()),
            order(jingles.order, "jingles"),
        );
    }
    extras
}

/// Two files that claim one station name: `(name, kept, ignored)`.
pub type Duplicate = (String, PathBuf, PathBuf);

/// What the config and the stations folder name.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Name to what it plays, one origin per name.
    pub stations: BTreeMap<String, Wanted>,
    /// Files or folders that lost their name to another.
    pub duplicates: Vec<Duplicate>,
    /// Entries named like stations or tracks that cannot be one (a FIFO, a dangling or looping
    /// symlink, a name that is not UTF-8), with why.
    pub unusable: Unusable,
    /// Folders that could not be listed now (out of descriptors, an I/O error), with why: what
    /// they hold is unknown, not gone.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// The stations to mount, by name: `[stations.<name>] file = ...` and `folder = ...` entries
/// first, then the stations folder's `*.aac` and `*.mp3` files and its folders that hold some,
/// in name order. A name claimed twice keeps its first origin.
pub fn discover(config: &Config) -> Discovery {
    let mut found = Discovery::default();
    let order_of = |name: &str| match config.stations.get(name).map(|s| s.order) {
        Some(TrackOrder::Shuffle) => Order::shuffle_for(name),
        _ => Order::Name,
    };
    let claim = |found: &mut Discovery, name: String, origin: Origin| {
        if let Some(first) = found.stations.get(&name) {
            let (kept, ignored) = (
                first.origin.path().to_path_buf(),
                origin.path().to_path_buf(),
            );
            found.duplicates.push((name, kept, ignored));
            return;
        }
        let tracks = match &origin {
            Origin::Folder(folder) => {
                let (tracks, unusable) = match audio_files(folder) {
                    Ok(listing) => listing,
                    Err(error) => {
                        found.unreadable.push((folder.clone(), error.to_string()));
                        return;
                    }
                };
                found.unusable.extend(unusable);
                if tracks.is_empty() {
                    return;
                }
                tracks
            }
            Origin::File(file) | Origin::LiveOnly(file) => vec![file.clone()],
        };
        let order = order_of(&name);
        found.stations.insert(
            name,
            Wanted {
                origin,
                tracks,
                order,
                extras: Vec::new(),
            },
        );
    };
    for (name, station) in &config.stations {
        if let Some(file) = &station.file {
            claim(&mut found, name.clone(), Origin::File(file.clone()));
        }
        if let Some(folder) = &station.folder {
            claim(&mut found, name.clone(), Origin::Folder(folder.clone()));
        }
        if station.live_only {
            // The config's checks made sure it names a whole format.
            let Some(format) = silence::configured_format(station) else {
                continue;
            };
            match silence::silence_file(name, &format) {
                Ok(file) => claim(&mut found, name.clone(), Origin::LiveOnly(file)),
                Err(why) => found.unusable.push((PathBuf::from(name), why)),
            }
        }
    }
    let dir = &config.server.stations_dir;
    let (entries, unusable) = station_entries(dir).unwrap_or_else(|error| {
        found.unreadable.push((dir.clone(), error.to_string()));
        Default::default()
    });
    found.unusable.extend(unusable);
    for origin in entries {
        let name = match &origin {
            Origin::Folder(path) => name_of_folder(path),
            Origin::File(path) | Origin::LiveOnly(path) => name_of(path),
        };
        if let Some(name) = name {
            match naming::reserved(&name) {
                Some(why) => found.unusable.push((origin.path().to_path_buf(), why)),
                None => claim(&mut found, name, origin),
            }
        }
    }
    for (name, station) in &config.stations {
        // A relay plays over a programme or over silence: with neither, nothing would mount.
        if station.relay.is_some() && !found.stations.contains_key(name) {
            found.unusable.push((
                PathBuf::from(name),
                "a relay with no programme: give the station files, or make it relay-only with \
                 `live_only = true` and its `codec`, `sample_rate` and `channels`"
                    .to_string(),
            ));
        }
        if station.is_scheduled() {
            let extras = extras_of(name, station, &mut found.unreadable);
            if let Some(wanted) = found.stations.get_mut(name) {
                wanted.extras = extras;
            }
        }
    }
    found
}

/// The station files and programme folders in `dir`, in name order, and the entries named like
/// station files that are not regular files (none when the folder does not exist; an error when
/// it cannot be listed now). Symlinks are followed.
pub fn station_entries(dir: &Path) -> std::io::Result<(Vec<Origin>, Unusable)> {
    let (files, mut unusable) = audio_files(dir)?;
    let listed = !files.is_empty() || dir.is_dir();
    let mut entries: Vec<Origin> = files.into_iter().map(Origin::File).collect();
    if listed {
        for path in std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
        {
            if is_station_file(&path) || !path.is_dir() {
                continue;
            }
            if !is_hidden(&path) {
                entries.push(Origin::Folder(path));
            } else if naming::is_non_utf8_name(&path) {
                unusable.push((
                    path,
                    "the folder name is not valid UTF-8, so it has no station name; rename it"
                        .to_string(),
                ));
            }
        }
    }
    entries.sort_by(|a, b| a.path().cmp(b.path()));
    unusable.sort();
    Ok((entries, unusable))
}

/// The audio files (`*.aac`, `*.mp3`) directly in `dir`, in name order, and the entries named
/// like them that are not regular files. A folder that does not exist (or is not a folder) holds
/// none; one that cannot be listed now (out of descriptors, an I/O error) is an error: what it
/// holds is unknown, never taken as nothing.
pub fn audio_files(dir: &Path) -> std::io::Result<(Vec<PathBuf>, Unusable)> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Default::default())
        }
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    let mut unusable = Vec::new();
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if !is_station_file(&path) {
            if naming::is_non_utf8_station_file(&path) {
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
    Ok((files, unusable))
}
