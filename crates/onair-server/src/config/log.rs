//! `[log]`: the access log.

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
