//! `[stations.<name>]`: one station's overrides, metadata, origin and format.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::ConfigError;
use super::relay::RelayUrl;
use super::schedule::{JinglesConfig, SlotConfig, Zone};
use super::values::{Bounded, Edits, Epoch, Secret, TrackOrder};

/// `[stations.<name>]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StationConfig {
    /// Overrides `[pacing] chunk_ms`.
    pub chunk_ms: Option<Bounded<10, 5_000>>,
    /// Overrides `[pacing] burst_ms`.
    pub burst_ms: Option<Bounded<0, 60_000>>,
    /// Overrides `[pacing] queue_ms`.
    pub queue_ms: Option<Bounded<500, 600_000>>,
    /// Overrides `[pacing] client_timeout_s`.
    pub client_timeout_s: Option<Bounded<1, 3_600>>,
    /// Overrides `[pacing] epoch`.
    pub epoch: Option<Epoch>,
    /// Overrides `[pacing] edits`.
    pub edits: Option<Edits>,
    /// Overrides `[pacing] timezone`: the zone of the station's slot times.
    pub timezone: Option<Zone>,
    /// The week grid: `[[stations.<name>.slots]]`.
    pub slots: Vec<SlotConfig>,
    /// Jingles between tracks.
    pub jingles: Option<JinglesConfig>,
    /// Station title shown to players.
    pub title: Option<String>,
    /// Genre shown to players.
    pub genre: Option<String>,
    /// One-line description shown to players.
    pub description: Option<String>,
    /// The station's website, sent as `icy-url`.
    pub url: Option<String>,
    /// Most listeners of this station; none when unset.
    pub max_listeners: Option<Bounded<1, 10_000_000>>,
    /// A station file outside the stations folder (relative to the working directory).
    pub file: Option<PathBuf>,
    /// A programme folder outside the stations folder (relative to the working directory).
    pub folder: Option<PathBuf>,
    /// The order a programme plays its tracks in.
    pub order: TrackOrder,
    /// The codec every track must have (else the first track's).
    pub codec: Option<CodecName>,
    /// The sample rate every track must have, in Hz (else the first track's).
    pub sample_rate: Option<Bounded<7_350, 96_000>>,
    /// The channels every track must have (else the first track's).
    pub channels: Option<Bounded<1, 8>>,
    /// A station of live sources only: no files, off air (404) until a source connects, its
    /// listeners kept for `source_timeout_s` after it leaves. Needs `codec`, `sample_rate` and
    /// `channels` (what sources must send).
    pub live_only: bool,
    /// Take live sources of another sample rate or channel count than the station's (same
    /// codec): they come and go on an HLS segment boundary, marked as a discontinuity. Off:
    /// such a source is refused.
    pub live_other_formats: bool,
    /// An Opus or Vorbis station's stream as a chain of Ogg links, one per track and live
    /// source: players that follow chains (ffmpeg, VLC) join tracks sample for sample; Chromium
    /// pauses briefly at some links. Off: one logical stream (for Vorbis, as long as encodes
    /// share their setup header). Called `opus_chain` before Vorbis came.
    #[serde(alias = "opus_chain")]
    pub ogg_chain: bool,
    /// A remote stream pulled as the station's live input (`http://`, `https://`, or an
    /// `.m3u`/`.pls` playlist naming one): it plays over the programme while it delivers, a
    /// pushed source outranks it.
    pub relay: Option<RelayUrl>,
    /// Pull the relay only while the station has listeners (HLS clients counted).
    pub on_demand: bool,
    /// This station's source password (else `[live]`'s).
    pub source_password: Option<Secret>,
    /// A file whose first line is this station's source password.
    pub source_password_file: Option<PathBuf>,
    /// An environment variable that holds this station's source password.
    pub source_password_env: Option<String>,
    /// Who may listen to this station (else `[access]`'s `listen`).
    pub listen: Option<super::Listen>,
}

/// `[stations.<name>] codec`: a codec by the name the codec table gives it (`"aac"`, `"mp3"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecName(pub onair_core::Codec);

impl<'de> Deserialize<'de> for CodecName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        onair_core::Codec::of_config_name(&name)
            .map(CodecName)
            .ok_or_else(|| {
                let known: Vec<String> = onair_core::CODECS
                    .iter()
                    .map(|c| format!("`{}`", c.config_name))
                    .collect();
                serde::de::Error::custom(format!(
                    "unknown codec `{name}`, expected one of {}",
                    known.join(", ")
                ))
            })
    }
}

impl StationConfig {
    /// When each of its slots happens, in config order.
    pub fn slot_times(&self) -> Vec<onair_core::schedule::SlotTimes> {
        self.slots
            .iter()
            .map(|s| onair_core::schedule::SlotTimes {
                days: s.days.0,
                from: s.from.0,
                to: s.to.0,
            })
            .collect()
    }

    /// Whether the station plays a schedule (slots or jingles) rather than its programme alone.
    pub fn is_scheduled(&self) -> bool {
        !self.slots.is_empty() || self.jingles.is_some()
    }

    /// Whether a track of `format` has what this station's config names (everything, when it
    /// names nothing).
    pub fn admits(&self, format: &onair_core::Format) -> bool {
        self.codec.is_none_or(|c| c.0 == format.kind.codec())
            && self
                .sample_rate
                .is_none_or(|r| r.get() == u64::from(format.sample_rate))
            && self
                .channels
                .is_none_or(|c| c.get() == u64::from(format.channels))
    }

    /// What this station's config names of the format, in words (`MP3 44100 Hz`), if anything.
    pub fn format_named(&self) -> Option<String> {
        let mut words = Vec::new();
        if let Some(codec) = self.codec {
            words.push(codec.0.spec().short_name.to_string());
        }
        if let Some(rate) = self.sample_rate {
            words.push(format!("{} Hz", rate.get()));
        }
        if let Some(channels) = self.channels {
            words.push(format!("{} channel(s)", channels.get()));
        }
        (!words.is_empty()).then(|| words.join(" "))
    }
}

/// The most slots a station's grid holds (a week of 15-minute slots is 672).
pub const MAX_SLOTS: usize = 1_000;

/// The checks across a station's schedule keys.
pub(super) fn check_schedule(
    name: &str,
    station: &StationConfig,
    path: &Path,
    text: &str,
) -> Result<(), ConfigError> {
    let at =
        |key: String, message: &str| ConfigError::at_key(path, text, &key, message.to_string());
    if station.live_only && (!station.slots.is_empty() || station.jingles.is_some()) {
        return Err(at(
            format!("stations.{name}"),
            "a `live_only` station has no programme to schedule: give the station files and mark slots `live_only` instead",
        ));
    }
    if station.slots.len() > MAX_SLOTS {
        return Err(at(
            format!("stations.{name}.slots"),
            &format!("at most {MAX_SLOTS} slots a station"),
        ));
    }
    for (i, slot) in station.slots.iter().enumerate() {
        let key = format!("stations.{name}.slots[{i}]");
        if slot.folder.is_some() && slot.file.is_some() {
            return Err(at(key, "set `folder` or `file`, not both"));
        }
        if slot.folder.is_none() && slot.file.is_none() && !slot.live_only {
            return Err(at(
                key,
                "a slot plays a `folder` or a `file` (or is `live_only`, for live shows over the station's programme)",
            ));
        }
        if slot.from == slot.to {
            return Err(at(
                key,
                "`from` and `to` are the same time: a slot lasts less than a day",
            ));
        }
        if slot.name.trim().is_empty() {
            return Err(at(key, "a slot has a `name`"));
        }
    }
    if let Some(jingles) = &station.jingles {
        if jingles.every_tracks.is_some() == jingles.every_minutes.is_some() {
            return Err(at(
                format!("stations.{name}.jingles"),
                "set one of `every_tracks` and `every_minutes`",
            ));
        }
    }
    Ok(())
}
