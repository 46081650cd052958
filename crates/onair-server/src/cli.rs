//! The command line: `onair [--config PATH] [--stations DIR] [--listen ADDR]`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::config::{ConfigSource, DEFAULT_CONFIG_PATH};

/// onair: an internet-radio server for file-based stations.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "onair",
    version,
    about = "onair, an internet-radio server: every .aac, .mp3, .opus, .flac or .ogg file, or folder of them, in the stations folder is a station at /<name> (a stream with ICY titles, HLS, playlists), with schedules, live shows from Icecast encoders, relays and HTTPS"
)]
pub struct Cli {
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Config file [default: config/config.toml; built-in defaults when that file is missing]
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Stations folder: *.aac, *.mp3, *.opus, *.flac and *.ogg station files, and folders of them (programmes)
    /// (overrides server.stations_dir) [default: stations]
    #[arg(long, value_name = "DIR", global = true)]
    pub stations: Option<PathBuf>,
    /// Address to listen on (overrides server.listen) [default: 0.0.0.0:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

/// Subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Validate the config and every station file without serving; prints a table and exits
    /// non-zero when anything is wrong (1: a station has a problem, 2: the config is invalid).
    Check,
    /// Make a signed link to a closed station (`listen = "token"`): prints the token and the
    /// station's stream and HLS URLs with it, signed with the first of `[access] token_keys`.
    Token {
        /// The station (its name, as in its URL).
        station: String,
        /// How long the link works, e.g. 90m, 24h, 30days.
        #[arg(long = "for", value_name = "DURATION", default_value = "24h")]
        valid_for: humantime::Duration,
        /// Only a listener at this address may use it.
        #[arg(long, value_name = "IP")]
        address: Option<std::net::IpAddr>,
    },
}

/// `onair token`: the signed link to `station`, valid `valid_for` from now (for `address`
/// only, when given), written to `out`; an error says what is missing.
pub fn print_token(
    source: &ConfigSource,
    station: &str,
    valid_for: std::time::Duration,
    address: Option<std::net::IpAddr>,
    out: &mut dyn std::io::Write,
) -> Result<(), String> {
    let config = source.load().map_err(|e| format!("invalid config: {e}"))?;
    let key = config.access_secrets.keys.first().ok_or(
        "no key to sign with: set [access] token_keys (make one with: head -c 32 /dev/urandom | base64)",
    )?;
    if station.is_empty() || crate::config::naming::station_name(station) != station {
        return Err(format!(
            "{station:?} is not a station name (a-z, 0-9, - and _, as in its URL)"
        ));
    }
    let expiry = onair_core::SystemClock::shared().now() + valid_for;
    let token = crate::stations::audience::token::sign(key, station, expiry, address);
    let base = config.server.public_url.clone().unwrap_or_else(|| {
        let listen = config.server.listen;
        let host = if listen.ip().is_unspecified() {
            "localhost".to_string()
        } else {
            listen.ip().to_string()
        };
        format!("http://{host}:{}", listen.port())
    });
    let base = base.trim_end_matches('/');
    let written = writeln!(
        out,
        "token:   {token}\nexpires: {}\nstream:  {base}/{station}?token={token}\nhls:     {base}/{station}.m3u8?token={token}",
        humantime::format_rfc3339_seconds(expiry)
    );
    written.map_err(|e| format!("cannot write: {e}"))
}

impl Cli {
    /// Where the config comes from: the named file (which must exist), else the default file
    /// when it exists, else built-in defaults; with the flags on top.
    pub fn config_source(&self) -> ConfigSource {
        let path = match &self.config {
            Some(path) => Some(path.clone()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.exists()),
        };
        ConfigSource {
            path,
            stations_dir: self.stations.clone(),
            listen: self.listen,
        }
    }
}
