//! `config/config.toml`: the server address, the stations folder, pacing, and per-station
//! overrides and metadata.
//!
//! Every key has a default, so a missing default config file means "all defaults". Unknown keys
//! and out-of-range values are errors that name the file, line, column and key: a typo must
//! never be silently ignored on a radio that runs unattended.
//!
//! - this module: [`Config`] and its `[server]`, `[pacing]` and `[hls]` sections, parsing and
//!   the checks across keys.
//! - `station`: `[stations.<name>]` ([`StationConfig`]).
//! - `live`: `[live]` and `[admin]`, and the passwords they name ([`Secrets`]).
//! - `schedule`: a station's time zone, week grid and jingles ([`SlotConfig`], [`Zone`]).
//! - `relay`: `[relay]` and a station's `relay` URL ([`RelayConfig`], [`RelayUrl`]).
//! - `tls`: `[tls]`, the HTTPS listener's certificate ([`TlsConfig`]).
//! - `values`: values that parse themselves ([`Bounded`], [`Epoch`], [`Cidr`]).
//! - `error`: where the config comes from ([`ConfigSource`]) and [`ConfigError`].
//! - [`naming`]: the rules for station names and which files are stations.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use onair_core::Tuning;
use serde::Deserialize;

mod access;
mod error;
mod hooks;
mod live;
mod log;
pub mod naming;
pub(crate) mod relay;
mod schedule;
mod station;
mod tls;
mod values;

pub use access::{AccessConfig, AccessSecrets, Htpasswd, Listen, UrlDown};
pub use error::{ConfigError, ConfigSource};
pub use hooks::{HookConfig, HookEvent};
pub use live::{AdminConfig, LiveConfig, Secrets};
pub use log::{AccessTarget, AnalyticsConfig, LogConfig};
pub use relay::{RelayConfig, RelayTiming, RelayUrl};
pub use schedule::{JinglesConfig, SlotConfig, StartName, Zone};
pub use station::{CodecName, StationConfig};
pub use tls::TlsConfig;
pub use values::{Bounded, Cidr, Edits, Epoch, Secret, TrackOrder};

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
    /// `[live]`: live sources.
    pub live: LiveConfig,
    /// `[admin]`: the admin API.
    pub admin: AdminConfig,
    /// `[tls]`: the HTTPS listener's certificate and key.
    pub tls: TlsConfig,
    /// `[relay]`: how relays connect and retry.
    pub relay: RelayConfig,
    /// `[log]`: the access log.
    pub log: LogConfig,
    /// `[access]`: who may listen.
    pub access: AccessConfig,
    /// `[[hooks]]`: webhooks.
    pub hooks: Vec<HookConfig>,
    /// `[analytics]`: who heard what, kept for reports.
    pub analytics: AnalyticsConfig,
    /// The passwords the config names, read when it was loaded.
    #[serde(skip)]
    pub secrets: Secrets,
    /// The token keys and listeners' users `[access]` names, read when it was loaded.
    #[serde(skip)]
    pub access_secrets: AccessSecrets,
    /// The config file's modification time when it was read (the anchor of schedule edits
    /// under `edits = "file_times"`); none without a file.
    #[serde(skip)]
    pub modified: Option<SystemTime>,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Address to listen on for HTTPS (with `[tls] cert` and `key`); none when unset.
    pub listen_tls: Option<SocketAddr>,
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
            listen_tls: None,
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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
    /// How edits to a station's files and schedule are timed.
    pub edits: Edits,
    /// The time zone of every station's slot times (IANA name).
    pub timezone: Zone,
}

impl Default for PacingConfig {
    fn default() -> Self {
        PacingConfig {
            chunk_ms: Bounded(500),
            burst_ms: Bounded(4_000),
            queue_ms: Bounded(10_000),
            client_timeout_s: Bounded(30),
            epoch: Epoch::default(),
            edits: Edits::default(),
            timezone: Zone::default(),
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

impl HlsConfig {
    /// `EXT-X-TARGETDURATION`: the longest segment (at most half a segment and a frame longer
    /// than `segment_ms`, where a live source's frames fall), rounded to whole seconds.
    pub fn target_duration(&self) -> Duration {
        let longest = self.segment_ms.get() * 3 / 2 + 600;
        Duration::from_secs((longest + 500) / 1000)
    }

    /// How long an HLS session lasts after its player last asked for its playlist: two target
    /// durations (a player asks at least once per target duration).
    pub fn session_expiry(&self) -> Duration {
        2 * self.target_duration()
    }
}

impl Default for HlsConfig {
    fn default() -> Self {
        HlsConfig {
            segment_ms: Bounded(6_000),
            window_s: Bounded(60),
        }
    }
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
    /// How edits to its files and schedule are timed.
    pub edits: Edits,
}

impl Config {
    /// Keeps `running`'s values of the keys that need a restart (the sockets onair bound at
    /// start: `server.listen`, `server.listen_tls`), and names each that differed.
    pub fn keep_bound(&mut self, running: &Config) -> Vec<&'static str> {
        let mut kept = Vec::new();
        if self.server.listen != running.server.listen {
            self.server.listen = running.server.listen;
            kept.push("server.listen");
        }
        if self.server.listen_tls != running.server.listen_tls {
            self.server.listen_tls = running.server.listen_tls;
            kept.push("server.listen_tls");
        }
        kept
    }

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
            // An edge's clock is its origin's, `edge_delay_s` behind.
            epoch: s.epoch.unwrap_or(p.epoch).0
                + match s.relay.as_ref().filter(|r| r.is_edge()) {
                    Some(_) => Duration::from_secs(self.relay.edge_delay_s.get()),
                    None => Duration::ZERO,
                },
            edits: s.edits.unwrap_or(p.edits),
        }
    }

    /// The time zone of station `name`'s slot times: its own, else `[pacing]`'s.
    pub fn timezone_for(&self, name: &str) -> &str {
        self.stations
            .get(name)
            .and_then(|s| s.timezone.as_ref())
            .unwrap_or(&self.pacing.timezone)
            .0
            .as_str()
    }

    /// Who may listen to station `name`: its own `listen`, else `[access]`'s.
    pub fn listen_for(&self, name: &str) -> Listen {
        self.stations
            .get(name)
            .and_then(|s| s.listen)
            .unwrap_or(self.access.listen)
    }

    /// The source password of station `name`: its own, else `[live]`'s; none refuses sources.
    pub fn source_password(&self, name: &str) -> Option<&Secret> {
        self.secrets
            .stations
            .get(name)
            .or(self.secrets.live.as_ref())
    }

    /// How a live source feeds station `name`: its jitter buffer, and how long it may be
    /// silent.
    pub fn live_timing(&self) -> (Duration, Duration) {
        (
            Duration::from_millis(self.live.buffer_ms.get()),
            Duration::from_secs(self.live.source_timeout_s.get()),
        )
    }

    /// Parses config text; `path` is only used in errors. Password files and variables are
    /// read here.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = serde_path_to_error::deserialize(toml::Deserializer::new(text))
            .map_err(|e| {
                let key = e.path().to_string();
                ConfigError::from_toml(path, text, e.inner(), &key)
            })?;
        for name in config.stations.keys() {
            if naming::station_name(name) != *name {
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
            let station = &config.stations[name];
            if station.live_only
                && (station.file.is_some()
                    || station.folder.is_some()
                    || station.codec.is_none()
                    || station.sample_rate.is_none()
                    || station.channels.is_none())
            {
                return Err(ConfigError::at_key(
                    path,
                    text,
                    &format!("stations.{name}"),
                    "a `live_only` station has no `file` or `folder`, and names the format its sources send: `codec`, `sample_rate` and `channels`".to_string(),
                ));
            }
            if station.live_only
                && station
                    .codec
                    .is_some_and(|c| c.0 == onair_core::Codec::Vorbis)
            {
                return Err(ConfigError::at_key(
                    path,
                    text,
                    &format!("stations.{name}.codec"),
                    "onair cannot make Vorbis silence for a live-only station between shows (it has no Vorbis encoder): instead of `live_only`, give the station a `file` of silence for sources to take over, made with `ffmpeg -f lavfi -i anullsrc=r=44100:cl=stereo -t 10 -c:a libvorbis silence.ogg`, or take Opus".to_string(),
                ));
            }
            if station
                .codec
                .is_some_and(|c| c.0 == onair_core::Codec::Opus)
                && station.sample_rate.is_some_and(|r| r.get() != 48_000)
            {
                return Err(ConfigError::at_key(
                    path,
                    text,
                    &format!("stations.{name}.sample_rate"),
                    "Opus always decodes at 48000 Hz (whatever rate went into the encoder): set `sample_rate = 48000` or leave it out".to_string(),
                ));
            }
            if let Some(rate) = station
                .sample_rate
                .filter(|r| !onair_core::TICKS_PER_SECOND.is_multiple_of(r.get()))
            {
                return Err(ConfigError::at_key(
                    path,
                    text,
                    &format!("stations.{name}.sample_rate"),
                    format!(
                        "{} Hz is not a rate the station clock counts exactly (it ticks 28,224,000 times a second: every rate of 8000-96000 Hz in use divides that, 44100 and 48000 among them)",
                        rate.get()
                    ),
                ));
            }
            if station.relay.as_ref().is_some_and(|r| r.is_edge())
                && config.relay.edge_delay_s.get() * 1000 < 2 * config.hls.segment_ms.get() + 1000
            {
                return Err(ConfigError::at_key(
                    path,
                    text,
                    "relay.edge_delay_s",
                    format!(
                        "an edge plays {} s behind its origin: less than two segments and a second ([hls] segment_ms = {}) leaves no time to fetch them",
                        config.relay.edge_delay_s.get(),
                        config.hls.segment_ms.get()
                    ),
                ));
            }
            if station.on_demand && station.relay.is_none() {
                return Err(ConfigError::at_key(
                    path,
                    text,
                    &format!("stations.{name}.on_demand"),
                    "`on_demand` is for a station with a `relay` URL".to_string(),
                ));
            }
            station::check_schedule(name, station, path, text)?;
            if let Some(why) = naming::reserved(name) {
                return Err(ConfigError::at_key(
                    path,
                    text,
                    &format!("stations.{name}"),
                    why,
                ));
            }
        }
        config.tls.check(config.server.listen_tls, path, text)?;
        config.secrets =
            live::read_secrets(&config.live, &config.admin, &config.stations, path, text)?;
        let rules: Vec<_> = config
            .stations
            .iter()
            .map(|(name, s)| (name.clone(), s.listen))
            .collect();
        config.access_secrets = access::read_access(&config.access, &rules, path, text)?;
        hooks::check_hooks(&config.hooks, path, text)?;
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
        let mut config = Config::parse(&text, path)?;
        config.modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("config.toml"))
    }
    #[test]
    fn a_password_key_error_points_at_the_key_line_not_the_table() {
        let err = parse("[server]\nlisten = \"127.0.0.1:8080\"\n[live]\nuser = \"source\"\n\npassword_env = \"ONAIR_TEST_NO_SUCH_VARIABLE\"\n")
            .expect_err("unset variable");
        assert_eq!(err.line, Some(6), "{err}");
        assert_eq!(err.key.as_deref(), Some("live.password_env"), "{err}");
    }

    #[test]
    fn a_snippet_pasted_below_an_existing_table_is_told_where_its_keys_go() {
        let err =
            parse("[live]\npassword = \"a\"\n[live]\nbuffer_ms = 500\n").expect_err("duplicate");
        assert!(err.message.contains("existing table"), "{err}");
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
        let shipped = include_str!("../../../../config/config.toml");
        let config = parse(shipped).expect("shipped config");
        assert_eq!(config.server, ServerConfig::default());
        assert_eq!(config.pacing, PacingConfig::default());
        assert_eq!(config.hls, HlsConfig::default());
        assert_eq!(config.live, LiveConfig::default());
        assert_eq!(config.admin, AdminConfig::default());
        assert!(
            config.source_password("jazz").is_none(),
            "no ingest by default"
        );
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
        let vorbis = parse("[stations.talk]\nlive_only = true\ncodec = \"vorbis\"\nsample_rate = 44100\nchannels = 2\n")
            .expect_err("no Vorbis silence");
        assert_eq!(vorbis.key.as_deref(), Some("stations.talk.codec"));
        let odd = parse("[stations.talk]\ncodec = \"flac\"\nsample_rate = 37800\n")
            .expect_err("a rate the clock does not count");
        assert_eq!(odd.key.as_deref(), Some("stations.talk.sample_rate"));
        let opus = parse("[stations.talk]\ncodec = \"opus\"\nsample_rate = 44100\n")
            .expect_err("Opus at 44.1 kHz");
        assert_eq!(opus.key.as_deref(), Some("stations.talk.sample_rate"));
        assert!(parse("[stations.talk]\ncodec = \"ogg\"\n")
            .expect_err("unknown codec")
            .message
            .contains("expected one of `aac`, `mp3`, `opus`, `flac`, `vorbis`"));
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
