//! Which tracks a station admits: the one rule for a station's format, used by the registry
//! when it assembles a programme and by `onair check` when it reports one.
//!
//! What the config names of the format (`codec`, `sample_rate`, `channels`) comes first. Then a
//! programme keeps the format it plays while any of its tracks has it (a browser's `<audio>`
//! fails on a change mid-stream), and a new one takes its first admitted track's (in name
//! order). When none of its tracks has the format it plays any more (an album re-encoded and
//! renamed in), the programme takes its first admitted track's too: the new format starts at a
//! track boundary, and HLS marks the discontinuity there. A station file may change format at a
//! replacement, as it always could.

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
    /// The format every admitted track has (none for a station file).
    reference: Option<Format>,
}

impl<'a> Admission<'a> {
    /// The rule for a station of `origin` configured as `named`, playing `playing` now (if on
    /// air), whose tracks have `formats` (in name order).
    pub fn new(
        named: &'a StationConfig,
        origin: &Origin,
        playing: Option<Format>,
        formats: impl IntoIterator<Item = Format>,
    ) -> Self {
        let keeps_format = origin.keeps_format();
        let mut admitted = formats.into_iter().filter(|f| named.admits(f)).peekable();
        let first = admitted.peek().copied();
        let reference = match playing.filter(|f| keeps_format && named.admits(f)) {
            Some(playing) if admitted.any(|f| f == playing) => Some(playing),
            _ if keeps_format => first,
            _ => None,
        };
        Admission {
            named,
            keeps_format,
            reference,
        }
    }

    /// Judges the next track (in name order), of `format`.
    pub fn judge(&mut self, format: Format) -> Result<(), LeftOut> {
        if !self.named.admits(&format) {
            return Err(LeftOut::ConfigNames(
                self.named.format_named().unwrap_or_default(),
            ));
        }
        match self.reference {
            Some(reference) if self.keeps_format && format != reference => {
                Err(LeftOut::StationPlays(reference))
            }
            _ => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use onair_core::Kind;
    use std::path::PathBuf;

    fn format(sample_rate: u32, channels: u8) -> Format {
        Format {
            kind: Kind::Mpeg { layer: 3 },
            sample_rate,
            channels,
        }
    }

    #[test]
    fn a_programme_keeps_its_format_while_a_track_has_it() {
        let folder = Origin::Folder(PathBuf::from("mix"));
        let named = StationConfig::default();
        let (stereo, mono) = (format(44_100, 2), format(22_050, 1));
        // Playing stereo, one track of each: the mono one is left out.
        let mut rule = Admission::new(&named, &folder, Some(stereo), [mono, stereo]);
        assert_eq!(rule.judge(mono), Err(LeftOut::StationPlays(stereo)));
        assert_eq!(rule.judge(stereo), Ok(()));
        // Every track re-encoded to mono: the programme goes on in mono (at a track boundary).
        let mut rule = Admission::new(&named, &folder, Some(stereo), [mono, mono]);
        assert_eq!(rule.judge(mono), Ok(()));
        assert_eq!(rule.station_format(), mono.to_string());
        // A new programme takes its first track's.
        let mut rule = Admission::new(&named, &folder, None, [mono, stereo]);
        assert_eq!(rule.judge(stereo), Err(LeftOut::StationPlays(mono)));
        // What the config names comes first; a station file takes any format.
        let named_stereo = StationConfig {
            channels: Some(crate::config::Bounded(2)),
            ..StationConfig::default()
        };
        let mut rule = Admission::new(&named_stereo, &folder, None, [mono, stereo]);
        assert!(matches!(rule.judge(mono), Err(LeftOut::ConfigNames(_))));
        assert_eq!(rule.judge(stereo), Ok(()));
        let file = Origin::File(PathBuf::from("radio.mp3"));
        let mut rule = Admission::new(&named, &file, Some(stereo), [mono]);
        assert_eq!(rule.judge(mono), Ok(()));
    }
}
