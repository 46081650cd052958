//! `[stations.<name>]`: one station's overrides, metadata, origin and format.

use std::path::PathBuf;

use serde::Deserialize;

use super::values::{Bounded, Epoch, Secret};

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
    /// This station's source password (else `[live]`'s).
    pub source_password: Option<Secret>,
    /// A file whose first line is this station's source password.
    pub source_password_file: Option<PathBuf>,
    /// An environment variable that holds this station's source password.
    pub source_password_env: Option<String>,
}

/// `[stations.<name>] codec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodecName {
    /// AAC (ADTS `.aac` files).
    Aac,
    /// MPEG audio (`.mp3` files: MP3, or MP2).
    Mp3,
}

impl StationConfig {
    /// Whether a track of `format` has what this station's config names (everything, when it
    /// names nothing).
    pub fn admits(&self, format: &onair_core::Format) -> bool {
        let codec = match format.kind {
            onair_core::Kind::Aac { .. } => CodecName::Aac,
            onair_core::Kind::Mpeg { .. } => CodecName::Mp3,
        };
        self.codec.is_none_or(|c| c == codec)
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
            words.push(match codec {
                CodecName::Aac => "AAC".to_string(),
                CodecName::Mp3 => "MP3".to_string(),
            });
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

/// `[stations.<name>] order`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackOrder {
    /// In file-name order.
    #[default]
    Name,
    /// Every track once per round, in an order drawn from the station's name and the round
    /// number (the same on every replica and after a restart).
    Shuffle,
}
