//! The silence a live-only station plays between shows: a short file of silent frames in the
//! station's format, written once under the temporary folder, then probed and played like any
//! station file. So a live-only station has a clock, a hub and HLS like every other, and its
//! listeners hear silence, never a stalled stream, when its source runs dry.

use std::io::Write;
use std::path::{Path, PathBuf};

use onair_core::Format;

use crate::config::StationConfig;

/// Seconds of silence in the file (it loops).
const SECONDS: u32 = 2;

/// The format a live-only station's config names, if it names all of it.
pub fn configured_format(station: &StationConfig) -> Option<Format> {
    let kind = station.codec?.0.spec().live_kind;
    Some(Format {
        kind,
        sample_rate: u32::try_from(station.sample_rate?.get()).ok()?,
        channels: u8::try_from(station.channels?.get()).ok()?,
    })
}

/// The silence file of live-only station `name` in `format`, written if it is not there yet.
pub fn silence_file(name: &str, format: &Format) -> Result<PathBuf, String> {
    let bytes = onair_core::silence_file(format, SECONDS).ok_or_else(|| {
        format!("onair makes silence in AAC-LC, MP3 or Opus (mono or stereo) or FLAC, not {format}")
    })?;
    let extension = format.kind.codec().spec().extensions[0];
    let file = format!(
        "{name}-{}-{}ch.{extension}",
        format.sample_rate, format.channels
    );
    // One folder for every onair on the host (the files are the same for the same station and
    // format); one of this process's own where that one is not writable (another user's).
    let shared = std::env::temp_dir().join("onair-silence");
    let own = std::env::temp_dir().join(format!("onair-silence-{}", std::process::id()));
    let path = write_once(&shared.join(&file), &bytes)
        .or_else(|_| write_once(&own.join(&file), &bytes))
        .map_err(|e| format!("cannot write its silence under {}: {e}", own.display()))?;
    Ok(path)
}

/// Writes `bytes` at `path` unless it holds them already: written aside, then renamed in, so a
/// probe never sees half of it.
fn write_once(path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    if std::fs::read(path).is_ok_and(|held| held == bytes) {
        return Ok(path.to_path_buf());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let part = path.with_extension(format!("part{}", std::process::id()));
    std::fs::File::create(&part)?.write_all(bytes)?;
    std::fs::rename(&part, path)?;
    Ok(path.to_path_buf())
}
