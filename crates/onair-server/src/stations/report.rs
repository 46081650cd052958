//! What the operator is told about stations: one `info` line when a station's audio is new,
//! warnings about what a probe passed over, and durations and text fit for a log line.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use onair_core::{printable, Programme, StationInfo};

use super::discovery::Discovery;
use crate::sync::lock;

/// What has been warned about already: a problem that persists is logged once, not at every
/// look at the folder.
#[derive(Debug, Default)]
pub struct WarnOnce(Mutex<HashSet<String>>);

impl WarnOnce {
    /// Whether `key` is new (then it is remembered).
    pub fn first(&self, key: String) -> bool {
        lock(&self.0).insert(key)
    }

    /// Forgets `key` (the problem went away: warn again if it comes back).
    pub fn forget(&self, key: &str) {
        lock(&self.0).remove(key);
    }

    /// Forgets every key that starts with `prefix`.
    pub fn forget_prefix(&self, prefix: &str) {
        lock(&self.0).retain(|key| !key.starts_with(prefix));
    }
}

/// Warns once about what discovery found wrong: a missing stations folder, two origins for one
/// name, entries that cannot be stations.
pub fn report_discovery(found: &Discovery, dir: &Path, warned: &WarnOnce) {
    let missing = format!("missing {}", dir.display());
    if dir.is_dir() {
        warned.forget(&missing);
    } else if warned.first(missing) {
        tracing::warn!(
            dir = %printable(dir),
            "the stations folder does not exist (or is not a folder); its stations go on air when it appears"
        );
    }
    for (name, kept, ignored) in &found.duplicates {
        if warned.first(format!("dup {} {}", kept.display(), ignored.display())) {
            tracing::warn!(
                station = %name,
                kept = %printable(kept),
                ignored = %printable(ignored),
                "two station files or folders map to one name; the first one wins"
            );
        }
    }
    for (dir, error) in &found.unreadable {
        if warned.first(format!("unlisted {}", dir.display())) {
            tracing::warn!(
                dir = %printable(dir),
                %error,
                "cannot list a folder now; its stations stay on air as they are"
            );
        }
    }
    if found.unreadable.is_empty() {
        warned.forget_prefix("unlisted ");
    }
    for (path, reason) in &found.unusable {
        if warned.first(format!("unusable {} {reason}", path.display())) {
            tracing::warn!(file = %printable(path), "not a station: {reason}");
        }
    }
}

/// One `info` line for a station whose audio is new.
pub fn log_station(name: &str, programme: &Programme, what: &str) {
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
pub fn report_damage(name: &str, info: &StationInfo) {
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

/// Text from a file's tags, fit for a log line.
pub fn escape(text: &str) -> String {
    printable(Path::new(text))
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
