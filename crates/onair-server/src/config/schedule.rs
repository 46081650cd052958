//! A station's schedule in the config: its time zone, its week grid of slots
//! (`[[stations.<name>.slots]]`) and its jingles. Values check themselves as they are read, so a
//! bad day, time or zone names its line, column and key.

use std::path::PathBuf;

use onair_core::schedule::{ClockTime, Days, Grid, StartRule};
use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::values::{Bounded, TrackOrder};

/// An IANA time zone name (`Europe/Berlin`, `America/New_York`, `UTC`), checked against the
/// rules built into onair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone(pub String);

impl Default for Zone {
    /// UTC: the same on every replica, whatever its system's zone.
    fn default() -> Self {
        Zone("UTC".to_string())
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Grid::zone_named(&text).map_err(de::Error::custom)?;
        Ok(Zone(text))
    }
}

/// `days`: `mon-fri`, `sat,sun`, `daily`...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaysValue(pub Days);

impl<'de> Deserialize<'de> for DaysValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Days::parse(&text).map(DaysValue).map_err(de::Error::custom)
    }
}

/// `from`, `to`: `HH:MM`, 24-hour, local time in the station's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOfDay(pub ClockTime);

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ClockTime::parse(&text)
            .map(TimeOfDay)
            .map_err(de::Error::custom)
    }
}

/// `start`: how a slot begins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartName {
    /// When the track playing at the slot's time ends (at most `max_wait_s` later).
    #[default]
    Track,
    /// At the slot's time, on a frame boundary.
    Time,
}

impl From<StartName> for StartRule {
    fn from(name: StartName) -> Self {
        match name {
            StartName::Track => StartRule::Track,
            StartName::Time => StartRule::Time,
        }
    }
}

/// `[[stations.<name>.slots]]`: one slot of the week grid.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    /// What people call it ("Morning Show").
    pub name: String,
    /// The days it starts on.
    pub days: DaysValue,
    /// Its start, local time.
    pub from: TimeOfDay,
    /// Its end, local time (at or before `from`: the next day).
    pub to: TimeOfDay,
    /// A programme folder it plays (anywhere; relative to the working directory).
    #[serde(default)]
    pub folder: Option<PathBuf>,
    /// A file it plays.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// The order its programme plays in (shuffled: another round each day).
    #[serde(default)]
    pub order: TrackOrder,
    /// How it begins (and ends).
    #[serde(default)]
    pub start: StartName,
    /// How long its start (and end) waits for the track playing to finish, in seconds.
    #[serde(default = "default_max_wait")]
    pub max_wait_s: Bounded<0, 3_600>,
    /// Live sources are taken only during this slot (and the station's other live-only
    /// slots); outside them a source is refused with the next one's time.
    #[serde(default)]
    pub live_only: bool,
}

fn default_max_wait() -> Bounded<0, 3_600> {
    Bounded(300)
}

/// `[stations.<name>.jingles]`: one jingle between two tracks, in turn from a folder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JinglesConfig {
    /// The folder of jingles (played in name order, or shuffled).
    pub folder: PathBuf,
    /// One after every this many tracks.
    #[serde(default)]
    pub every_tracks: Option<Bounded<1, 10_000>>,
    /// One at the first track boundary after every this many minutes of the station clock.
    #[serde(default)]
    pub every_minutes: Option<Bounded<1, 1_440>>,
    /// The order jingles are taken in.
    #[serde(default)]
    pub order: TrackOrder,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigError, StartName};

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("config.toml"))
    }

    #[test]
    fn a_week_grid_parses() {
        let config = parse(
            "[pacing]\ntimezone = \"America/New_York\"\n[stations.jazz]\ntimezone = \"Europe/Berlin\"\n\
             jingles = { folder = \"ids\", every_tracks = 4 }\n\
             [[stations.jazz.slots]]\nname = \"Morning\"\ndays = \"mon-fri\"\nfrom = \"07:00\"\nto = \"10:00\"\nfolder = \"shows/morning\"\n\
             [[stations.jazz.slots]]\nname = \"News\"\ndays = \"daily\"\nfrom = \"12:00\"\nto = \"12:05\"\nfile = \"news.mp3\"\nstart = \"time\"\nmax_wait_s = 0\n",
        )
        .expect("valid");
        assert_eq!(config.timezone_for("jazz"), "Europe/Berlin");
        assert_eq!(config.timezone_for("other"), "America/New_York");
        let jazz = &config.stations["jazz"];
        assert!(jazz.is_scheduled());
        assert_eq!(jazz.slots.len(), 2);
        assert_eq!(jazz.slots[0].days.0.to_string(), "mon,tue,wed,thu,fri");
        assert_eq!(jazz.slots[0].max_wait_s.get(), 300);
        assert_eq!(jazz.slots[1].start, StartName::Time);
        assert_eq!(
            jazz.jingles
                .as_ref()
                .and_then(|j| j.every_tracks)
                .map(|n| n.get()),
            Some(4)
        );
        assert_eq!(parse("").expect("empty").timezone_for("x"), "UTC");
    }

    #[test]
    fn bad_zones_days_times_and_slots_name_line_column_and_key() {
        let err = parse("[stations.jazz]\ntimezone = \"Europe/Berlinn\"\n").expect_err("zone");
        assert_eq!(err.key.as_deref(), Some("stations.jazz.timezone"));
        assert_eq!((err.line, err.column), (Some(2), Some(12)));
        assert!(err.message.contains("IANA"), "{err}");
        let slot = "[[stations.jazz.slots]]\nname = \"A\"\nfolder = \"a\"\n";
        let err = parse(&format!("[stations.jazz]\n{slot}days = \"mon-fri\"\nfrom = \"07:00\"\nto = \"10:00\"\n{slot}days = \"mon-funday\"\nfrom = \"07:00\"\nto = \"10:00\"\n"))
            .expect_err("days");
        assert_eq!(err.key.as_deref(), Some("stations.jazz.slots[1].days"));
        assert_eq!(err.line, Some(11));
        let err = parse(&format!(
            "{slot}days = \"sat\"\nfrom = \"25:00\"\nto = \"10:00\"\n"
        ))
        .expect_err("time");
        assert_eq!(err.key.as_deref(), Some("stations.jazz.slots[0].from"));
        // Across keys: the slot's header line.
        let err = parse(&format!(
            "[stations.jazz]\n{slot}days = \"sat\"\nfrom = \"07:00\"\nto = \"07:00\"\n"
        ))
        .expect_err("same times");
        assert_eq!(err.key.as_deref(), Some("stations.jazz.slots[0]"));
        assert_eq!(err.line, Some(2));
        let err = parse("[[stations.jazz.slots]]\nname = \"A\"\ndays = \"sat\"\nfrom = \"07:00\"\nto = \"08:00\"\n").expect_err("plays nothing");
        assert!(err.message.contains("folder"), "{err}");
        let many = "[[stations.jazz.slots]]\nname = \"A\"\ndays = \"sat\"\nfrom = \"07:00\"\nto = \"08:00\"\nlive_only = true\n".repeat(1001);
        let err = parse(&many).expect_err("too many slots");
        assert_eq!(err.key.as_deref(), Some("stations.jazz.slots"));
        let err = parse("[stations.jazz]\njingles = { folder = \"ids\" }\n").expect_err("jingles");
        assert_eq!(err.key.as_deref(), Some("stations.jazz.jingles"));
        let err = parse("[[stations.jazz.slots]]\nname = \"A\"\ndays = \"sat\"\nfrom = \"07:00\"\nto = \"08:00\"\nfolder = \"a\"\nrelay = \"http://x\"\n").expect_err("unknown key");
        assert_eq!(err.key.as_deref(), Some("stations.jazz.slots[0].relay"));
    }
}
