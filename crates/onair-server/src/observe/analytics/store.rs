//! The records analytics keeps: JSON lines, one file a day (`2026-12-07.jsonl`, UTC), appended
//! to by a thread of its own and read back for reports. A crash mid-line leaves a partial line,
//! which reading skips; files older than the retention are deleted.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use onair_core::WallClock;
use serde::{Deserialize, Serialize};

use crate::observe::background::{Items, Queue, Worker};

/// Records that may wait for the writer.
const QUEUE: usize = 16 * 1024;
const DAY_MS: u64 = 86_400_000;

/// A track (or live title) that started on a station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Play {
    /// The station.
    pub station: String,
    /// When it started on air (milliseconds since 1970, on the station clock).
    pub at_ms: u64,
    /// Its title tag (or the live title).
    pub title: Option<String>,
    /// Its artist tag.
    pub artist: Option<String>,
    /// Its album tag.
    pub album: Option<String>,
    /// Its ISRC tag.
    pub isrc: Option<String>,
    /// Its label (publisher) tag.
    pub label: Option<String>,
    /// What it is called without tags (its file name).
    pub name: String,
}

/// A listening session that ended: when its audio was on air.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heard {
    /// The station.
    pub station: String,
    /// `stream` or `hls`.
    pub via: String,
    /// When the first audio it heard was on air (ms since 1970).
    pub from_ms: u64,
    /// When the end of the last was (ms since 1970).
    pub to_ms: u64,
    /// Its player's family (`VLC`, `mpv`, `Chrome`, ...).
    pub agent: String,
}

/// One line of the records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// A track started.
    Play(Play),
    /// A session ended.
    Session(Heard),
}

impl Record {
    /// The time it is filed under.
    fn filed_ms(&self) -> u64 {
        match self {
            Record::Play(p) => p.at_ms,
            Record::Session(h) => h.to_ms,
        }
    }
}

/// Milliseconds since 1970 of `at`.
pub fn ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The file of the day `at_ms` falls in.
fn file_of(dir: &Path, at_ms: u64) -> PathBuf {
    let day = jiff::Timestamp::from_millisecond(i64::try_from(at_ms).unwrap_or(0))
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "1970-01-01".to_string());
    dir.join(format!("{day}.jsonl"))
}

/// The sending side (cheap to clone); off without a folder.
#[derive(Debug, Clone, Default)]
pub struct Store {
    records: Queue<Record>,
}

/// The thread that writes the records, owned by the server until shutdown.
pub type StoreWriter = Worker<Record>;

impl Store {
    /// The records kept in `dir` (none: off), with `retention` days by `clock` kept, and their
    /// writer.
    pub fn open(
        dir: Option<&Path>,
        retention: u64,
        clock: Arc<dyn WallClock>,
    ) -> std::io::Result<(Store, Option<StoreWriter>)> {
        let Some(dir) = dir else {
            return Ok((Store::default(), None));
        };
        std::fs::create_dir_all(dir)?;
        prune(dir, retention, clock.now());
        let dir = dir.to_path_buf();
        let (records, writer) = Queue::spawn(
            "onair-analytics",
            ("analytics writer", QUEUE),
            move |records| write_all(&dir, (retention, &*clock), &records),
        )?;
        Ok((Store { records }, Some(writer)))
    }

    /// Whether records are kept.
    pub fn is_on(&self) -> bool {
        self.records.is_on()
    }

    /// Keeps `record` (dropped, said once, when the writer cannot keep up).
    pub fn keep(&self, record: Record) {
        self.records.send(record);
    }
}

fn write_all(dir: &Path, (retention, clock): (u64, &dyn WallClock), records: &Items<Record>) {
    let mut pruned = clock.now();
    let mut said = false;
    while let Some((batch, stop)) = records.next_batch() {
        for record in batch {
            let written = serde_json::to_string(&record)
                .map_err(std::io::Error::other)
                .and_then(|line| {
                    let mut file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(file_of(dir, record.filed_ms()))?;
                    file.write_all(format!("{line}\n").as_bytes())
                });
            if let Err(error) = written {
                if !std::mem::replace(&mut said, true) {
                    tracing::warn!(%error, dir = %dir.display(), "cannot write analytics records");
                }
            }
        }
        if stop {
            return;
        }
        let now = clock.now();
        if now.duration_since(pruned).unwrap_or_default() > Duration::from_secs(3600) {
            prune(dir, retention, now);
            pruned = now;
        }
    }
}

/// Deletes the day files older than `retention` days before `now`.
pub fn prune(dir: &Path, retention: u64, now: SystemTime) {
    let oldest = file_of(dir, ms(now).saturating_sub(retention * DAY_MS));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_day = path.extension().is_some_and(|e| e == "jsonl");
        if is_day && path < oldest {
            if let Err(error) = std::fs::remove_file(&path) {
                tracing::warn!(%error, file = %path.display(), "cannot delete an old analytics file");
            }
        }
    }
}

/// The records filed from the day before `from_ms` on (plays started before it may run into
/// it), through the newest.
pub fn read(dir: &Path, from_ms: u64) -> std::io::Result<Vec<Record>> {
    let first = file_of(dir, from_ms.saturating_sub(DAY_MS));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl") && *p >= first)
        .collect();
    files.sort();
    let mut records = Vec::new();
    for path in files {
        let file = std::io::BufReader::new(std::fs::File::open(&path)?);
        // A line cut short by a crash is skipped.
        records.extend(
            file.lines()
                .map_while(Result::ok)
                .filter_map(|line| serde_json::from_str(&line).ok()),
        );
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_back_and_old_days_pruned() {
        let dir = tempfile::tempdir().expect("temp dir");
        let day = 1_796_601_600_000; // 2026-12-07T00:00:00Z
        let play = Record::Play(Play {
            station: "jazz".into(),
            at_ms: day + 5_000,
            title: Some("So What".into()),
            artist: Some("Miles Davis".into()),
            album: None,
            isrc: Some("USSM15900113".into()),
            label: None,
            name: "01 So What".into(),
        });
        let old = Record::Session(Heard {
            station: "jazz".into(),
            via: "stream".into(),
            from_ms: day - 40 * DAY_MS,
            to_ms: day - 40 * DAY_MS + 1000,
            agent: "VLC".into(),
        });
        for record in [&play, &old] {
            let path = file_of(dir.path(), record.filed_ms());
            let mut text = std::fs::read_to_string(&path).unwrap_or_default();
            text.push_str(&serde_json::to_string(record).expect("json"));
            text.push('\n');
            std::fs::write(&path, text).expect("write");
        }
        assert!(file_of(dir.path(), day).ends_with("2026-12-07.jsonl"));
        // A line cut short is skipped.
        let today = file_of(dir.path(), day);
        let mut text = std::fs::read_to_string(&today).expect("read");
        text.push_str("{\"type\":\"play\",\"stat");
        std::fs::write(&today, text).expect("write");
        assert_eq!(read(dir.path(), day).expect("read"), vec![play.clone()]);
        assert_eq!(read(dir.path(), day - 41 * DAY_MS).expect("read").len(), 2);
        prune(dir.path(), 30, UNIX_EPOCH + Duration::from_millis(day));
        assert_eq!(read(dir.path(), 0).expect("read"), vec![play]);
    }
}
