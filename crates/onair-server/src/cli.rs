//! The command line: `onair [--config PATH] [--stations DIR] [--listen ADDR]`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::config::{Config, ConfigError, DEFAULT_CONFIG_PATH};

/// onair: an internet-radio server for file-based stations.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "onair", version, about)]
pub struct Cli {
    /// Config file [default: config/config.toml; built-in defaults when that file is missing]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Folder of *.aac station files (overrides server.stations_dir) [default: stations]
    #[arg(long, value_name = "DIR")]
    pub stations: Option<PathBuf>,
    /// Address to listen on (overrides server.listen) [default: 0.0.0.0:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

impl Cli {
    /// The config this command line asks for: the named file (which must exist and be valid),
    /// else the default file if present, else built-in defaults; then the flags on top.
    pub fn load_config(&self) -> Result<Config, ConfigError> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
                Config::load(Path::new(DEFAULT_CONFIG_PATH))?
            }
            None => Config::default(),
        };
        if let Some(dir) = &self.stations {
            config.server.stations_dir = dir.clone();
        }
        if let Some(listen) = self.listen {
            config.server.listen = listen;
        }
        Ok(config)
    }
}
