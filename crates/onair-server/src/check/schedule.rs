//! `onair check` for scheduled stations: a row per slot or jingle track, and the station's week
//! grid with what is wrong with it (overlapping slots, a slot whose programme holds nothing
//! playable, a slot shorter than its first track).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use onair_core::schedule::Grid;
use onair_core::{probe, Format};

use super::{error_verdict, row_of, CheckSummary};
use crate::config::{StartName, StationConfig};
use crate::stations::discovery::{Role, Wanted};
use crate::stations::report::format_duration;

/// What a slot's (or the jingles') programme holds, as probed.
#[derive(Debug, Default)]
pub(super) struct Facts {
    /// Where it comes from.
    origin: String,
    /// Playable tracks of the station's format.
    playable: usize,
    /// Their total duration.
    duration: Duration,
    /// The first track's duration (in name order), if playable.
    first: Option<Duration>,
}

/// Every slot's and the jingles' programme, as probed.
#[derive(Debug, Default)]
pub(super) struct ExtrasReport {
    programmes: Vec<(Role, Facts)>,
}

impl ExtrasReport {
    fn facts(&self, role: Role) -> Option<&Facts> {
        self.programmes
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, f)| f)
    }
}

/// Probes station `name`'s slot and jingle tracks as the server would: one row each, a track
/// of another format than the station's (`format`) left out.
pub(super) fn check_extras(
    name: &str,
    station: &StationConfig,
    wanted: &Wanted,
    format: Option<Format>,
    rows: &mut Vec<[String; 9]>,
    summary: &mut CheckSummary,
) -> ExtrasReport {
    let mut report = ExtrasReport::default();
    let dash = || "-".to_string();
    for (role, extra) in &wanted.extras {
        let label = match role {
            Role::Slot(i) => station.slots.get(*i).map_or_else(dash, |s| s.name.clone()),
            Role::Jingles => "jingles".to_string(),
        };
        let mut facts = Facts {
            origin: extra.origin.path().display().to_string(),
            ..Facts::default()
        };
        for (i, path) in extra.tracks.iter().enumerate() {
            let (cells, verdict) = match probe(path) {
                Ok(info) => {
                    let [duration, bitrate, rate, channels, frames, ok] = row_of(&info);
                    let own = info.first.format();
                    let verdict = match format {
                        Some(station) if station != own => {
                            format!("warning: left out: {own}, not the station's {station}")
                        }
                        _ => {
                            facts.playable += 1;
                            facts.duration += info.duration;
                            if i == 0 {
                                facts.first = Some(info.duration);
                            }
                            ok
                        }
                    };
                    ([duration, bitrate, rate, channels, frames], verdict)
                }
                Err(error) => (
                    [dash(), dash(), dash(), dash(), dash()],
                    error_verdict(&error),
                ),
            };
            match verdict.split(':').next() {
                Some("ok") => summary.ok += 1,
                Some("warning") => summary.warnings += 1,
                _ => summary.errors += 1,
            }
            let [duration, bitrate, rate, channels, frames] = cells;
            rows.push([
                format!("{name} ({label})"),
                format!("/{name}"),
                path.display().to_string(),
                duration,
                bitrate,
                rate,
                channels,
                frames,
                verdict,
            ]);
        }
        report.programmes.push((*role, facts));
    }
    report
}

/// Station `name`'s week grid, day by day, in its zone, with its problems (each counted as a
/// warning in `summary`).
pub(super) fn week_grid(
    name: &str,
    station: &StationConfig,
    zone: &str,
    report: &ExtrasReport,
    now: SystemTime,
    summary: &mut CheckSummary,
) -> String {
    let times = station.slot_times();
    let grid = Grid::new(Grid::zone_or_utc(zone), times.clone());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Week grid of /{name} ({zone}, now {}):",
        grid.local(now)
    );
    let mut lines: Vec<(usize, u16, String)> = Vec::new();
    for (i, (slot, t)) in station.slots.iter().zip(&times).enumerate() {
        let plays = match report.facts(Role::Slot(i)) {
            Some(f) => format!(
                "{}: {} track(s), {}",
                f.origin,
                f.playable,
                format_duration(f.duration)
            ),
            None => "the station's programme".to_string(),
        };
        let start = match slot.start {
            StartName::Track => format!("after the track (waits {} s)", slot.max_wait_s.get()),
            StartName::Time => "on time".to_string(),
        };
        let live = if slot.live_only { ", live sources" } else { "" };
        for (day, short) in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .enumerate()
        {
            if slot.days.0.contains(day) {
                let to = if t.to <= t.from {
                    format!("{} (next day)", t.to)
                } else {
                    t.to.to_string()
                };
                lines.push((
                    day,
                    t.from.minutes(),
                    format!(
                        "  {short}  {}-{to}  {}  {plays}; starts {start}{live}",
                        t.from, slot.name
                    ),
                ));
            }
        }
    }
    lines.sort();
    if lines.is_empty() {
        let _ = writeln!(out, "  (no slots: the station's programme all week)");
    }
    for (_, _, line) in lines {
        let _ = writeln!(out, "{line}");
    }
    if let (Some(j), Some(f)) = (&station.jingles, report.facts(Role::Jingles)) {
        let every = match (j.every_tracks, j.every_minutes) {
            (Some(n), _) => format!("after every {} track(s)", n.get()),
            (None, Some(m)) => format!(
                "at the first track boundary after every {} minute(s)",
                m.get()
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  jingles: {} ({} jingle(s)), {every}",
            f.origin, f.playable
        );
        if f.playable == 0 {
            summary.warnings += 1;
            let _ = writeln!(
                out,
                "  warning: {} holds no playable jingle: none plays",
                f.origin
            );
        }
    }
    for (a, b, at) in grid.overlaps(now) {
        summary.warnings += 1;
        let _ = writeln!(
            out,
            "  warning: slots \"{}\" and \"{}\" overlap ({}): the one that starts later interrupts the other, which goes on where it stopped if it is still on",
            station.slots[a].name,
            station.slots[b].name,
            grid.local(at)
        );
    }
    for (i, (slot, t)) in station.slots.iter().zip(&times).enumerate() {
        let Some(f) = report.facts(Role::Slot(i)) else {
            continue;
        };
        if f.playable == 0 {
            summary.warnings += 1;
            let _ = writeln!(
                out,
                "  warning: slot \"{}\" plays nothing: {} holds no playable track (the station's programme plays instead)",
                slot.name, f.origin
            );
            continue;
        }
        let minutes = if t.to <= t.from {
            u64::from(t.to.minutes()) + 1440 - u64::from(t.from.minutes())
        } else {
            u64::from(t.to.minutes() - t.from.minutes())
        };
        let length = Duration::from_secs(60 * minutes);
        if let Some(first) = f.first.filter(|first| *first > length) {
            summary.warnings += 1;
            let _ = writeln!(
                out,
                "  warning: slot \"{}\" ({}) is shorter than its first track ({}): that track is cut at the slot's end",
                slot.name,
                format_duration(length),
                format_duration(first)
            );
        }
    }
    out
}
