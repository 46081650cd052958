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
