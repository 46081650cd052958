//! `[log]`: the access log; `[analytics]`: who heard what, kept for reports.

use std::path::PathBuf;

use serde::de::{self, Deserializer};
use serde::Deserialize;

/// `[log]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Where the access log goes: `"stdout"` or a file (appended to, reopened on SIGHUP).
    /// Unset: no access log.
    pub access: Option<AccessTarget>,
}

/// Where the access log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessTarget {
    /// Standard output (for journald or a container's log).
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

impl<'de> Deserialize<'de> for AccessTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.trim() {
            "" => Err(de::Error::custom(
                "an empty access log: give \"stdout\" or a file, or leave the key out",
            )),
            "stdout" | "-" => Ok(AccessTarget::Stdout),
            path => Ok(AccessTarget::File(PathBuf::from(path))),
        }
    }
}

/// `[analytics]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// The folder of the records (one file a day, appended to). Unset: none kept.
    pub dir: Option<PathBuf>,
    /// Days of records kept; older files are deleted.
    pub retention_days: super::Bounded<1, 36_500>,
    /// Seconds of a track a listener must hear for it to count as a performance (SoundExchange:
    /// 30).
    pub performance_s: super::Bounded<1, 3_600>,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            dir: None,
            retention_days: super::Bounded(400),
            performance_s: super::Bounded(30),
        }
    }
}
