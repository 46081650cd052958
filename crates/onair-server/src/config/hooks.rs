//! `[[hooks]]`: webhooks, JSON POSTed to the operator's URLs when something happens on air.

use std::path::Path;

use serde::Deserialize;

use super::error::ConfigError;
use super::values::Secret;

/// What a hook is told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookEvent {
    /// A station went on air (or was on air when onair started).
    StationOnAir,
    /// A station went off air.
    StationOffAir,
    /// A live source connected.
    SourceConnected,
    /// A live source left (or was cut off).
    SourceLeft,
    /// Live audio went on air (the source's buffer filled).
    LiveOn,
    /// The programme came back after live audio.
    LiveOff,
    /// A relay's audio went on air.
    RelayOn,
    /// A relay's audio stopped (the upstream failed or a pushed source outranked it).
    RelayOff,
    /// Another track (or live title) started.
    Track,
    /// A listener joined (stream or HLS). Off unless named.
    ListenerJoined,
    /// A listener left, with how long and why. Off unless named.
    ListenerLeft,
}

impl HookEvent {
    /// Its name in the JSON sent.
    pub fn name(self) -> &'static str {
        match self {
            HookEvent::StationOnAir => "station_on_air",
            HookEvent::StationOffAir => "station_off_air",
            HookEvent::SourceConnected => "source_connected",
            HookEvent::SourceLeft => "source_left",
            HookEvent::LiveOn => "live_on",
            HookEvent::LiveOff => "live_off",
            HookEvent::RelayOn => "relay_on",
            HookEvent::RelayOff => "relay_off",
            HookEvent::Track => "track",
            HookEvent::ListenerJoined => "listener_joined",
            HookEvent::ListenerLeft => "listener_left",
        }
    }

    /// Whether a hook that names no events is told of it (every event but the listeners').
    pub fn by_default(self) -> bool {
        !matches!(self, HookEvent::ListenerJoined | HookEvent::ListenerLeft)
    }
}

/// One `[[hooks]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// Where to POST.
    pub url: String,
    /// What it is told of (default: every event but the listeners').
    #[serde(default)]
    pub events: Option<Vec<HookEvent>>,
    /// Signs each body: `X-Onair-Signature: sha256=<hex HMAC-SHA256 of the body>`.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Only these stations (default: every station).
    #[serde(default)]
    pub stations: Option<Vec<String>>,
}

impl HookConfig {
    /// Whether this hook is told of `event` on `station`.
    pub fn wants(&self, event: HookEvent, station: &str) -> bool {
        let event_ok = match &self.events {
            Some(events) => events.contains(&event),
            None => event.by_default(),
        };
        event_ok
            && self
                .stations
                .as_ref()
                .is_none_or(|s| s.iter().any(|n| n == station))
    }

    /// Its URL, parsed (checked when the config was read).
    pub fn uri(&self) -> Option<http::Uri> {
        self.url.parse().ok()
    }
}

/// Checks every hook's URL.
pub(super) fn check_hooks(
    hooks: &[HookConfig],
    path: &Path,
    text: &str,
) -> Result<(), ConfigError> {
    for hook in hooks {
        let ok = hook.uri().is_some_and(|u| {
            matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some()
        });
        if !ok {
            return Err(ConfigError::at_key(
                path,
                text,
                "hooks",
                format!(
                    "{:?} is not an http:// or https:// URL with a host",
                    hook.url
                ),
            ));
        }
    }
    Ok(())
}
