//! `onair check`: validates the config and every station file without serving.
//!
//! Operators run it before a deploy and in their own CI: it reads each file end to end exactly as
//! the server would, prints one row per station file or programme track, and says what is wrong
//! with the byte offset (or, for a track of another format than its programme's, that it is
//! left out). Relay URLs are read and their hosts resolved, never connected to.

use std::io::{self, Write};

use onair_core::{check_epoch, probe, SourceError, StationInfo, WallClock};

use crate::config::naming::name_of;
use crate::config::{ConfigError, ConfigSource};
use crate::stations::admission::Admission;
use crate::stations::discovery::discover;
use crate::stations::report::format_duration;

mod relay;
mod schedule;

/// What `check` found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CheckSummary {
    /// Stations that play cleanly.
    pub ok: usize,
    /// Stations that play but with something to fix (a cut last frame, garbage, a duplicate).
    pub warnings: usize,
    /// Files that cannot play.
    pub errors: usize,
}

impl CheckSummary {
    /// Whether nothing at all is wrong.
    pub fn clean(&self) -> bool {
        self.warnings == 0 && self.errors == 0
    }
}

/// Checks the config and every station, writing the table to `out`.
pub fn check(
    source: &ConfigSource,
    out: &mut impl Write,
) -> Result<io::Result<CheckSummary>, ConfigError> {
    let config = source.load()?;
    let found = discover(&config);
    let (stations, duplicates) = (&found.stations, found.duplicates.clone());
    let mut rows = vec![[
        "STATION", "MOUNT", "FILE", "DURATION", "BITRATE", "RATE", "CH", "FRAMES", "VERDICT",
    ]
    .map(String::from)];
    let mut summary = CheckSummary::default();
    let now = onair_core::SystemClock.now();
    let mut own_formats = std::collections::HashMap::new();
    for (name, wanted) in stations {
        let mount = format!("/{name}");
        // A station clock that cannot run now (an epoch ahead, or centuries back).
        if let Err(problem) = check_epoch(config.pacing_for(name).epoch, now) {
            summary.warnings += 1;
            rows.push(note_row(
                name.clone(),
                mount.clone(),
                "(epoch)".to_string(),
                format!("warning: off air: {problem}"),
            ));
        }
        // What the config names of the format, else a programme's first good track, sets its
        // format; a track of another one is left out.
        let named = config.stations.get(name).cloned().unwrap_or_default();
        // Each track's row and format, its file closed again (a library of thousands of
        // tracks is checked one open file at a time).
        let probes: Vec<_> = wanted
            .tracks
            .iter()
            .map(|path| probe(path).map(|info| (info.first.format(), row_of(&info))))
            .collect();
        let formats = probes.iter().flatten().map(|(format, _)| *format);
        // A scheduled station's slots and jingles are held to its first good track's format.
        if let Some(first) = formats.clone().next() {
            own_formats.insert(name.clone(), first);
        }
        let mut admission = Admission::new(&named, &wanted.origin, None, formats);
        for (path, probed) in wanted.tracks.iter().zip(probes) {
            let file = path.display().to_string();
            match probed {
                Ok((own, [duration, bitrate, rate, channels, frames, ok])) => {
                    let verdict = match admission.judge(own) {
                        Err(left_out) => format!("warning: left out: {own}, {left_out}"),
                        Ok(()) => ok,
                    };
                    if verdict == "ok" {
                        summary.ok += 1;
                    } else {
                        summary.warnings += 1;
                    }
                    rows.push([
                        name.clone(),
                        mount.clone(),
                        file,
                        duration,
                        bitrate,
                        rate,
                        channels,
                        frames,
                        verdict,
                    ]);
                }
                Err(error) => {
                    summary.errors += 1;
                    rows.push(note_row(
                        name.clone(),
                        mount.clone(),
                        file,
                        error_verdict(&error),
                    ));
                }
            }
        }
    }
    // Scheduled stations: their slots' and jingles' tracks, then the week grid after the table.
    let mut grids = Vec::new();
    for (name, wanted) in stations {
        let Some(station) = config.stations.get(name).filter(|s| s.is_scheduled()) else {
            continue;
        };
        let own_format = own_formats.get(name).copied();
        let report =
            schedule::check_extras(name, station, wanted, own_format, &mut rows, &mut summary);
        grids.push(schedule::week_grid(
            name,
            station,
            config.timezone_for(name),
            &report,
            now,
            &mut summary,
        ));
    }
    // Entries named like stations that cannot be one: a reserved name, a folder, a FIFO.
    for (path, why) in &found.unusable {
        summary.errors += 1;
        let dash = || "-".to_string();
        let name = name_of(path).unwrap_or_else(dash);
        rows.push(note_row(
            name.clone(),
            dash(),
            path.display().to_string(),
            format!("error: not a station: {why}"),
        ));
    }
    relay::relay_rows(&config, &mut rows, &mut summary);
    if let Some((row, severity)) = tls_row(&config, now) {
        match severity {
            Severity::Ok => summary.ok += 1,
            Severity::Warning => summary.warnings += 1,
            Severity::Error => summary.errors += 1,
        }
        rows.push(row);
    }
    for (name, kept, ignored) in duplicates {
        summary.warnings += 1;
        rows.push(note_row(
            name.clone(),
            format!("/{name}"),
            ignored.display().to_string(),
            format!("warning: ignored, /{name} plays {}", kept.display()),
        ));
    }
    let written =
        write_table(out, &rows, &config.server.stations_dir, summary).and_then(|summary| {
            for grid in &grids {
                write!(out, "\n{grid}")?;
            }
            Ok(summary)
        });
    Ok(written)
}

/// A row with no audio figures: `station`, `mount`, `file` and the verdict.
fn note_row(station: String, mount: String, file: String, verdict: String) -> [String; 9] {
    let dash = || "-".to_string();
    [
        station,
        mount,
        file,
        dash(),
        dash(),
        dash(),
        dash(),
        dash(),
        verdict,
    ]
}

enum Severity {
    Ok,
    Warning,
    Error,
}

/// The HTTPS certificate's row: read and checked as the server would (key matching, dates),
/// with a warning from 14 days before it expires.
fn tls_row(config: &crate::Config, now: std::time::SystemTime) -> Option<([String; 9], Severity)> {
    let listen = config.server.listen_tls?;
    let (cert, key) = config.tls.files()?;
    let provider = rustls::crypto::ring::default_provider();
    let (verdict, severity) = match crate::tls::CertPair::load(cert, key, &provider)
        .and_then(|pair| pair.check_validity(now, cert).map(|()| pair))
    {
        Ok(pair) => {
            let days = pair.remaining(now).as_secs() / 86_400;
            let what = format!(
                "{}{}, expires {} ({days} days)",
                pair.subject,
                if pair.names.is_empty() {
                    String::new()
                } else {
                    format!(" for {}", pair.names.join(", "))
                },
                humantime::format_rfc3339_seconds(pair.not_after),
            );
            if pair.remaining(now) < crate::tls::timing::EXPIRY_WARNING {
                (format!("warning: expires soon: {what}"), Severity::Warning)
            } else {
                (format!("ok: {what}"), Severity::Ok)
            }
        }
        Err(error) => (format!("error: {error}"), Severity::Error),
    };
    let row = note_row(
        "(https)".to_string(),
        listen.to_string(),
        cert.display().to_string(),
        verdict,
    );
    Some((row, severity))
}

fn write_table(
    out: &mut impl Write,
    rows: &[[String; 9]],
    dir: &std::path::Path,
    summary: CheckSummary,
) -> io::Result<CheckSummary> {
    let mut widths = [0usize; 9];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(
        out,
        "\n{} file(s) in {} and the config: {} ok, {} with warnings, {} with errors",
        rows.len() - 1,
        dir.display(),
        summary.ok,
        summary.warnings,
        summary.errors
    )?;
    Ok(summary)
}

/// A track's columns: duration, bitrate, rate, channels, frames, and its own verdict.
pub(super) fn row_of(info: &StationInfo) -> [String; 6] {
    [
        format_duration(info.duration),
        format!("{} kb/s", info.bitrate_kbps()),
        format!("{} Hz", info.sample_rate()),
        info.channels().to_string(),
        info.frames.to_string(),
        verdict(info),
    ]
}

fn verdict(info: &StationInfo) -> String {
    let mut problems = Vec::new();
    if let Some(at) = info.damage.truncated_at {
        problems.push(format!("last frame cut short at byte {at}"));
    }
    if let Some(at) = info.damage.first_garbage_at {
        problems.push(format!(
            "{} bytes that are not frames skipped, first at byte {at}",
            info.damage.garbage_bytes
        ));
    }
    if info.mixed_format {
        problems.push("sample rate or channels change mid-file".to_string());
    }
    if problems.is_empty() {
        "ok".to_string()
    } else {
        format!("warning: {}", problems.join("; "))
    }
}

pub(super) fn error_verdict(error: &SourceError) -> String {
    match error {
        SourceError::NotAudio { offset, reason, .. }
        | SourceError::Unplayable { offset, reason, .. } => {
            format!("error at byte {offset}: {reason}")
        }
        SourceError::Io { offset, source, .. } => format!("error at byte {offset}: {source}"),
        SourceError::Lost { offset, .. } => format!("error at byte {offset}: {error}"),
        SourceError::Replaced { .. } => format!("error: {error}"),
    }
}
