//! Which tracks a station admits: the one rule for a station's format, used by the registry
//! when it assembles a programme and by `onair check` when it reports one.
//!
//! What the config names of the format (`codec`, `sample_rate`, `channels`) comes first. Then a
//! programme keeps the format it plays, and a new one takes its first admitted track's (in name
//! order): a browser's `<audio>` fails on a change mid-stream. A station file may change format
//! at a replacement (HLS marks a discontinuity).

use std::fmt;

use onair_core::Format;

use super::origin::Origin;
use crate::config::StationConfig;

/// Why a track is left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeftOut {
    /// The config names another format (in words).
    ConfigNames(String),
    /// The station plays another format.
    StationPlays(Format),
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeftOut::ConfigNames(named) => write!(f, "the config names {named}"),
            LeftOut::StationPlays(format) => write!(f, "the station plays {format}"),
        }
    }
}

/// The format rule of one station, judging its tracks in name order.
#[derive(Debug)]
pub struct Admission<'a> {
    named: &'a StationConfig,
    keeps_format: bool,
    /// The format every admitted track has, once known.
    reference: Option<Format>,
}

impl<'a> Admission<'a> {
    /// The rule for a station of `origin` configured as `named`, playing `playing` now (if on
    /// air).
    pub fn new(named: &'a StationConfig, origin: &Origin, playing: Option<Format>) -> Self {
        let keeps_format = origin.keeps_format();
        Admission {
            named,
            keeps_format,
            reference: playing.filter(|f| keeps_format && named.admits(f)),
        }
    }

    /// Judges the next track (in name order), of `format`.
    pub fn judge(&mut self, format: Format) -> Result<(), LeftOut> {
        if !self.named.admits(&format) {
            return Err(LeftOut::ConfigNames(
                self.named.format_named().unwrap_or_default(),
            ));
        }
        if !self.keeps_format {
            return Ok(());
        }
        let reference = *self.reference.get_or_insert(format);
        if format == reference {
            Ok(())
        } else {
            Err(LeftOut::StationPlays(reference))
        }
    }

    /// The station's format in words: what the config names, else what it plays.
    pub fn station_format(&self) -> String {
        self.named
            .format_named()
            .or_else(|| self.reference.map(|f| f.to_string()))
            .unwrap_or_default()
    }
}
