//! `config/config.toml`: the server address, the stations folder, pacing, and per-station
//! overrides and metadata.
//!
//! Every key has a default, so a missing default config file means "all defaults". Unknown keys
//! and out-of-range values are errors that name the file, line, column and key: a typo must
//! never be silently ignored on a radio that runs unattended.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use onair_core::Tuning;
use serde::de::{self, Deserializer};
use serde::Deserialize;

/// Where the config is read from when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "config/config.toml";

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[server]`
    pub server: ServerConfig,
    /// `[pacing]`: defaults for every station.
    pub pacing: PacingConfig,
    /// `[hls]`: the HLS output of every station.
    pub hls: HlsConfig,
    /// `[stations.<name>]`: per-station overrides and metadata.
    pub stations: BTreeMap<String, StationConfig>,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Folder whose `*.aac` files are the stations (relative to the working directory).
    pub stations_dir: PathBuf,
    /// Seconds a client may take to send its request headers.
    pub header_timeout_s: Bounded<1, 300>,
    /// Most listeners over all stations; none when unset.
    pub max_listeners: Option<Bounded<1, 10_000_000>>,
    /// Most `/events` clients (open web pages) at once; beyond it, 503.
    pub max_event_clients: Bounded<1, 1_000_000>,
    /// The server's public base URL (`https://radio.example.com`), for playlists and `icy-url`
    /// behind a reverse proxy; taken from each request's `Host` header when unset.
    pub public_url: Option<String>,
    /// Proxies (CIDRs) whose `X-Forwarded-For` header is believed for the listener's address.
    pub trusted_proxies: Vec<Cidr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            stations_dir: PathBuf::from("stations"),
            header_timeout_s: Bounded(10),
            max_listeners: None,
            max_event_clients: Bounded(5000),
            public_url: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// `[pacing]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PacingConfig {
    /// Audio per broadcast chunk, in milliseconds.
    pub chunk_ms: Bounded<10, 5_000>,
    /// Audio a new listener receives at once, in milliseconds.
    pub burst_ms: Bounded<0, 60_000>,
    /// How far a listener may fall behind before it is skipped forward, in milliseconds.
    pub queue_ms: Bounded<500, 600_000>,
    /// A listener whose socket accepts nothing for this long is dropped, in seconds.
    pub client_timeout_s: Bounded<1, 3_600>,
    /// Tick 0 of every station's clock.
    pub epoch: Epoch,
}

impl Default for PacingConfig {
    fn default() -> Self {
        PacingConfig {
            chunk_ms: Bounded(500),
            burst_ms: Bounded(4_000),
            queue_ms: Bounded(10_000),
            client_timeout_s: Bounded(30),
            epoch: Epoch::default(),
        }
    }
}

/// `[hls]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HlsConfig {
    /// Audio per segment, in milliseconds (cut at the first frame boundary at or after each
    /// multiple of it on the station clock, so that every replica cuts alike).
    pub segment_ms: Bounded<1_000, 30_000>,
    /// How much of the past a playlist lists, in seconds.
    pub window_s: Bounded<6, 3_600>,
}

impl Default for HlsConfig {
    fn default() -> Self {
        HlsConfig {
            segment_ms: Bounded(6_000),
            window_s: Bounded(60),
        }
    }
}

/// The wall time of tick 0 of a station clock: RFC 3339, in UTC (`2026-01-01T00:00:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch(pub SystemTime);

impl Default for Epoch {
    /// 2026-01-01T00:00:00Z: any fixed instant will do, as long as every replica has the same.
    fn default() -> Self {
        Epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600))
    }
}

impl<'de> Deserialize<'de> for Epoch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_rfc3339(&text).map(Epoch).map_err(|e| {
            de::Error::custom(format!(
                "`{text}` is not an RFC 3339 time in UTC like \"2026-01-01T00:00:00Z\" ({e})"
            ))
        })
    }
}

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

/// Pacing of one station: `[pacing]` with the station's overrides applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StationPacing {
    /// Chunk, burst and queue, for the hub.
    pub tuning: Tuning,
    /// Socket write timeout for this station's listeners.
    pub client_timeout: Duration,
    /// Tick 0 of the station's clock.
    pub epoch: SystemTime,
}

impl Config {
    /// The pacing station `name` plays with.
    pub fn pacing_for(&self, name: &str) -> StationPacing {
        let p = &self.pacing;
        let s = self.stations.get(name).cloned().unwrap_or_default();
        StationPacing {
            tuning: Tuning {
                chunk: Duration::from_millis(s.chunk_ms.unwrap_or(p.chunk_ms).get()),
                burst: Duration::from_millis(s.burst_ms.unwrap_or(p.burst_ms).get()),
                queue: Duration::from_millis(s.queue_ms.unwrap_or(p.queue_ms).get()),
            },
            client_timeout: Duration::from_secs(
                s.client_timeout_s.unwrap_or(p.client_timeout_s).get(),
            ),
            epoch: s.epoch.unwrap_or(p.epoch).0,
        }
    }

    /// Parses config text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = serde_path_to_error::deserialize(toml::Deserializer::new(text))
            .map_err(|e| {
                let key = e.path().to_string();
                ConfigError::from_toml(path, text, e.inner(), &key)
            })?;
        for name in config.stations.keys() {
            if crate::naming::station_name(name) != *name {
                return Err(ConfigError::at_key(
                    path,
                    text,
                    &format!("stations.{name}"),
                    format!(
                        "station name `{name}` may only hold a-z, 0-9, `-` and `_` (it is also the mount point)"
                    ),
                ));
            }
            if config.stations[name].file.is_some() && config.stations[name].folder.is_some() {
                return Err(ConfigError::at_key(
                    path,
                    text,
                    &format!("stations.{name}"),
                    "set `file` (one station file) or `folder` (a programme of tracks), not both"
                        .to_string(),
                ));
            }
            if let Some(why) = crate::naming::reserved(name) {
                return Err(ConfigError::at_key(
                    path,
                    text,
                    &format!("stations.{name}"),
                    why,
                ));
            }
        }
        Ok(config)
    }

    /// Reads and parses the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            key: None,
            message: format!("cannot read the config file: {e}"),
        })?;
        Config::parse(&text, path)
    }
}

/// An IP network, `10.0.0.0/8` or `::1/128`; a bare address is a /32 (or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s.split_once('/').unwrap_or((s, ""));
        let addr: std::net::IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?
        };
        Ok(Cidr { addr, prefix })
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// Where the config comes from, and the command-line flags that override it: everything needed
/// to read it again when the file changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigSource {
    /// The config file; `None` for built-in defaults only.
    pub path: Option<PathBuf>,
    /// `--stations`: overrides `server.stations_dir`.
    pub stations_dir: Option<PathBuf>,
    /// `--listen`: overrides `server.listen`.
    pub listen: Option<SocketAddr>,
}

impl ConfigSource {
    /// The config as it stands now: the file (defaults when there is none), then the flags.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut config = match &self.path {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(dir) = &self.stations_dir {
            config.server.stations_dir = dir.clone();
        }
        if let Some(listen) = self.listen {
            config.server.listen = listen;
        }
        Ok(config)
    }
}

/// An integer setting that must lie in `MIN..=MAX`; checked while parsing, so the error points
/// at the value in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bounded<const MIN: u64, const MAX: u64>(pub u64);

impl<const MIN: u64, const MAX: u64> Bounded<MIN, MAX> {
    /// The value.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<const MIN: u64, const MAX: u64>(PhantomData<()>);
        impl<const MIN: u64, const MAX: u64> de::Visitor<'_> for Visit<MIN, MAX> {
            type Value = Bounded<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a whole number from {MIN} to {MAX}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!(
                        "{v} is negative; expected a whole number from {MIN} to {MAX}"
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                if (MIN..=MAX).contains(&v) {
                    Ok(Bounded(v))
                } else {
                    Err(E::custom(format!(
                        "{v} is out of range; expected a whole number from {MIN} to {MAX}"
                    )))
                }
            }
        }
        deserializer.deserialize_u64(Visit::<MIN, MAX>(PhantomData))
    }
}

/// A config file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// 1-based column of the problem, when known.
    pub column: Option<usize>,
    /// The dotted key concerned, when known (`pacing.chunk_ms`).
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ConfigError {
    /// An error of the toml parser or of a value at `key` (serde's path to it: `.` when the
    /// text did not parse far enough to have one).
    fn from_toml(path: &Path, text: &str, error: &toml::de::Error, key: &str) -> Self {
        // toml's messages may span lines ("invalid table header\nexpected `.`"): keep one line.
        let message = error.message().trim().replace('\n', "; ");
        let Some(span) = error.span() else {
            return ConfigError {
                path: path.to_path_buf(),
                line: None,
                column: None,
                key: None,
                message,
            };
        };
        let (line, column) = line_column(text, span.start);
        let key = match key {
            "" | "." => table_at(text, span.start),
            key => Some(key.to_string()),
        };
        ConfigError {
            path: path.to_path_buf(),
            line: Some(line),
            column: Some(column),
            key,
            message,
        }
    }

    fn at_key(path: &Path, text: &str, key: &str, message: String) -> Self {
        let table_line = key.rsplit_once('.').and_then(|(table, leaf)| {
            find_line(text, &[&format!("[{table}.{leaf}]"), &format!("[{key}]")])
        });
        let (line, column) = match table_line {
            Some(at) => line_column(text, at),
            None => (0, 0),
        };
        ConfigError {
            path: path.to_path_buf(),
            line: (line > 0).then_some(line),
            column: (column > 0).then_some(column),
            key: Some(key.to_string()),
            message,
        }
    }
}

/// 1-based line and column (in characters) of byte `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Byte offset of the first line that starts with one of `starts`.
fn find_line(text: &str, starts: &[&str]) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if starts.iter().any(|s| trimmed.starts_with(s)) {
            return Some(offset + line.len() - trimmed.len());
        }
        offset += line.len();
    }
    None
}

/// The table whose header is on the line of byte `at`, for syntax errors (a header cut short),
/// where serde has no path yet.
fn table_at(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = text[line_start..line_end].trim();
    line.starts_with('[').then(|| {
        line.trim_matches(|c| c == '[' || c == ']')
            .trim()
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("config.toml"))
    }

    #[test]
    fn empty_is_all_defaults() {
        let config = parse("").expect("empty config");
        assert_eq!(config, Config::default());
        assert_eq!(config.server.listen.port(), 8080);
        let pacing = config.pacing_for("jazz");
        assert_eq!(pacing.tuning, Tuning::default());
        assert_eq!(pacing.client_timeout, Duration::from_secs(30));
    }

    #[test]
    fn the_shipped_config_parses_and_states_the_defaults() {
        let shipped = include_str!("../../../config/config.toml");
        let config = parse(shipped).expect("shipped config");
        assert_eq!(config.server, ServerConfig::default());
        assert_eq!(config.pacing, PacingConfig::default());
        assert_eq!(config.hls, HlsConfig::default());
    }

    #[test]
    fn epochs_are_rfc3339_in_utc() {
        let config = parse("[pacing]\nepoch = \"2027-03-04T05:06:07Z\"\n[stations.jazz]\nepoch = \"2020-01-01T00:00:00Z\"\n").expect("valid");
        let at = |s: &str| humantime::parse_rfc3339(s).expect("time");
        assert_eq!(
            config.pacing_for("ambient").epoch,
            at("2027-03-04T05:06:07Z")
        );
        assert_eq!(config.pacing_for("jazz").epoch, at("2020-01-01T00:00:00Z"));
        let err = parse("[pacing]\nepoch = \"yesterday\"\n").expect_err("bad epoch");
        assert_eq!(err.key.as_deref(), Some("pacing.epoch"));
        assert!(err.message.contains("RFC 3339"), "{err}");
    }

    #[test]
    fn station_overrides_apply_to_that_station_only() {
        let config =
            parse("[pacing]\nchunk_ms = 100\n[stations.jazz]\nburst_ms = 2000\ntitle = \"Jazz\"\n")
                .expect("valid");
        let jazz = config.pacing_for("jazz");
        assert_eq!(jazz.tuning.chunk, Duration::from_millis(100));
        assert_eq!(jazz.tuning.burst, Duration::from_millis(2000));
        let other = config.pacing_for("ambient");
        assert_eq!(other.tuning.burst, Duration::from_millis(4000));
        assert_eq!(config.stations["jazz"].title.as_deref(), Some("Jazz"));
    }

    #[test]
    fn errors_name_line_column_and_key() {
        let cases = [
            (
                "[pacing]\nchunk_ms = 0\n",
                2,
                "pacing.chunk_ms",
                "out of range",
            ),
            (
                "[pacing]\nqueue_ms = -5\n",
                2,
                "pacing.queue_ms",
                "negative",
            ),
            (
                "[pacing]\nburst_ms = \"lots\"\n",
                2,
                "pacing.burst_ms",
                "whole number",
            ),
            (
                "[server]\nlisten = \"0.0.0.0:8080\"\nlistne = 1\n",
                3,
                "server.listne",
                "unknown field",
            ),
            (
                "[stations.jazz]\ngenre = \"x\"\ncolour = \"red\"\n",
                3,
                "stations.jazz.colour",
                "unknown field",
            ),
            ("[pacing\nchunk_ms = 1\n", 1, "pacing", ""),
            // Inline tables and multi-line arrays, where a guess from the text went wrong.
            (
                "[stations]\njazz = { title = \"x\", chunk_ms = 0 }\n",
                2,
                "stations.jazz.chunk_ms",
                "out of range",
            ),
            (
                "[server]\ntrusted_proxies = [\n  \"127.0.0.1\",\n  \"not a cidr\",\n]\n",
                // toml places a value's error at the array that holds it.
                2,
                "server.trusted_proxies[1]",
                "",
            ),
        ];
        for (text, line, key, words) in cases {
            let err = parse(text).expect_err(text);
            assert_eq!(err.line, Some(line), "{text}: {err}");
            assert_eq!(err.key.as_deref(), Some(key), "{text}: {err}");
            assert!(err.column.is_some(), "{err}");
            assert!(err.to_string().contains(words), "{text}: {err}");
            assert!(err.to_string().starts_with("config.toml:"), "{err}");
        }
    }

    #[test]
    fn cidrs() {
        let net: Cidr = "10.0.0.0/8".parse().expect("cidr");
        assert!(net.contains("10.1.2.3".parse().expect("ip")));
        assert!(!net.contains("11.0.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.0.0.1".parse().expect("ip")));
        let one: Cidr = "127.0.0.1".parse().expect("ip");
        assert!(one.contains("127.0.0.1".parse().expect("ip")));
        assert!(!one.contains("127.0.0.2".parse().expect("ip")));
        let all: Cidr = "::/0".parse().expect("cidr");
        assert!(all.contains("2001:db8::1".parse().expect("ip")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        let err = parse("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"nope\"]\n")
            .expect_err("bad cidr");
        assert_eq!(err.key.as_deref(), Some("server.trusted_proxies[1]"));
    }

    #[test]
    fn programmes_have_an_order_and_a_file_or_a_folder() {
        let config =
            parse("[stations.jazz]\nfolder = \"/srv/jazz\"\norder = \"shuffle\"\n").expect("valid");
        assert_eq!(config.stations["jazz"].order, TrackOrder::Shuffle);
        assert_eq!(
            config.stations["jazz"].folder.as_deref(),
            Some(Path::new("/srv/jazz"))
        );
        let err = parse("[stations.jazz]\norder = \"random\"\n").expect_err("bad order");
        assert_eq!(err.key.as_deref(), Some("stations.jazz.order"));
        let err = parse("[stations.jazz]\nfile = \"a.aac\"\nfolder = \"b\"\n").expect_err("both");
        assert!(err.message.contains("not both"), "{err}");
        let config = parse("[stations.jazz]\ncodec = \"mp3\"\nsample_rate = 44100\nchannels = 2\n")
            .expect("valid");
        let jazz = &config.stations["jazz"];
        assert_eq!(
            jazz.format_named().as_deref(),
            Some("MP3 44100 Hz 2 channel(s)")
        );
        let err = parse("[stations.jazz]\ncodec = \"ogg\"\n").expect_err("bad codec");
        assert_eq!(err.key.as_deref(), Some("stations.jazz.codec"));
    }

    #[test]
    fn station_names_must_be_mount_points() {
        let err = parse("[stations.\"Jazz FM\"]\ntitle = \"x\"\n").expect_err("bad name");
        assert_eq!(err.key.as_deref(), Some("stations.Jazz FM"));
        let err = parse("[stations.metrics]\ntitle = \"x\"\n").expect_err("reserved");
        assert_eq!(err.key.as_deref(), Some("stations.metrics"));
        assert!(err.message.contains("/metrics"), "{err}");
    }
}
