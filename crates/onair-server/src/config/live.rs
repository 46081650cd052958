//! `[live]` and `[admin]`: who may push a live source to a station, and who may use the admin
//! API; with the secrets each names, read from the config, a file or the environment.
//!
//! No password means no access: a station with no source password (its own or `[live]`'s)
//! refuses every source, and the admin API is off without an admin password.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::ConfigError;
use super::station::StationConfig;
use super::values::{Bounded, Secret};

/// `[live]`: live sources (Icecast's source protocol), for every station.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveConfig {
    /// The user name sources log in with (Icecast's is `source`).
    pub user: String,
    /// The source password of every station without its own.
    pub password: Option<Secret>,
    /// A file whose first line is that password.
    pub password_file: Option<PathBuf>,
    /// An environment variable that holds that password.
    pub password_env: Option<String>,
    /// A source that sends nothing for this long is dropped and the programme comes back, in
    /// seconds.
    pub source_timeout_s: Bounded<1, 300>,
    /// Audio buffered between a source and its listeners, in milliseconds.
    #[serde(alias = "live_buffer_ms")]
    pub buffer_ms: Bounded<0, 10_000>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            user: "source".to_string(),
            password: None,
            password_file: None,
            password_env: None,
            source_timeout_s: Bounded(5),
            buffer_ms: Bounded(1_000),
        }
    }
}

/// `[admin]`: Icecast's admin API (metadata, killsource, listclients).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// The admin user name.
    pub user: String,
    /// The admin password; the admin API is off without one.
    pub password: Option<Secret>,
    /// A file whose first line is that password.
    pub password_file: Option<PathBuf>,
    /// An environment variable that holds that password.
    pub password_env: Option<String>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            user: "admin".to_string(),
            password: None,
            password_file: None,
            password_env: None,
        }
    }
}

/// The passwords the config names, read once when it is loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// `[live]`'s source password.
    pub live: Option<Secret>,
    /// `[admin]`'s password.
    pub admin: Option<Secret>,
    /// Each station's own source password.
    pub stations: BTreeMap<String, Secret>,
}

/// The three ways to give one password: `<key>`, `<key>_file`, `<key>_env`.
struct SecretKeys<'a> {
    /// Where they are in the file (`live.password`, `stations.jazz.source_password`).
    key: String,
    value: &'a Option<Secret>,
    file: &'a Option<PathBuf>,
    env: &'a Option<String>,
}

impl SecretKeys<'_> {
    /// The password, if any; an error names the key, and never the password.
    fn read(&self, path: &Path, text: &str) -> Result<Option<Secret>, ConfigError> {
        let given = [
            self.value.is_some(),
            self.file.is_some(),
            self.env.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(ConfigError::at_key(
                path,
                text,
                &self.key,
                format!(
                    "give `{0}`, `{0}_file` or `{0}_env`, one of them",
                    self.key.rsplit('.').next().unwrap_or("password")
                ),
            ));
        }
        let secret = if let Some(value) = self.value {
            value.expose_str().to_string()
        } else if let Some(file) = self.file {
            let key = format!("{}_file", self.key);
            let read = std::fs::read_to_string(file).map_err(|e| {
                ConfigError::at_key(
                    path,
                    text,
                    &key,
                    format!("cannot read the password file {}: {e}", file.display()),
                )
            })?;
            read.lines().next().unwrap_or("").to_string()
        } else if let Some(var) = self.env {
            let key = format!("{}_env", self.key);
            std::env::var(var).map_err(|_| {
                ConfigError::at_key(
                    path,
                    text,
                    &key,
                    format!("the environment variable {var} is not set (or not UTF-8)"),
                )
            })?
        } else {
            return Ok(None);
        };
        if secret.is_empty() {
            return Err(ConfigError::at_key(
                path,
                text,
                &self.key,
                "the password is empty".to_string(),
            ));
        }
        Ok(Some(Secret::new(secret)))
    }
}

/// Reads every password `live`, `admin` and the stations name.
pub(super) fn read_secrets(
    live: &LiveConfig,
    admin: &AdminConfig,
    stations: &BTreeMap<String, StationConfig>,
    path: &Path,
    text: &str,
) -> Result<Secrets, ConfigError> {
    let mut secrets = Secrets {
        live: SecretKeys {
            key: "live.password".to_string(),
            value: &live.password,
            file: &live.password_file,
            env: &live.password_env,
        }
        .read(path, text)?,
        admin: SecretKeys {
            key: "admin.password".to_string(),
            value: &admin.password,
            file: &admin.password_file,
            env: &admin.password_env,
        }
        .read(path, text)?,
        stations: BTreeMap::new(),
    };
    for (name, station) in stations {
        let keys = SecretKeys {
            key: format!("stations.{name}.source_password"),
            value: &station.source_password,
            file: &station.source_password_file,
            env: &station.source_password_env,
        };
        if let Some(secret) = keys.read(path, text)? {
            secrets.stations.insert(name.clone(), secret);
        }
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, crate::config::ConfigError> {
        Config::parse(text, Path::new("config.toml"))
    }

    #[test]
    fn no_password_refuses_sources_and_a_station_may_have_its_own() {
        let config = parse("").expect("empty");
        assert!(config.source_password("jazz").is_none());
        assert!(config.secrets.admin.is_none());
        let config =
            parse("[live]\npassword = \"all\"\n[stations.jazz]\nsource_password = \"mine\"\n")
                .expect("valid");
        assert_eq!(
            config.source_password("jazz").map(|s| s.expose()),
            Some(&b"mine"[..])
        );
        assert_eq!(
            config.source_password("ambient").map(|s| s.expose()),
            Some(&b"all"[..])
        );
        // Never printed.
        assert!(!format!("{config:?}").contains("mine"));
    }

    #[test]
    fn a_live_only_station_names_its_format_and_has_no_files() {
        let good = "[stations.talk]\nlive_only = true\ncodec = \"mp3\"\nsample_rate = 44100\nchannels = 2\n";
        assert!(parse(good).expect("valid").stations["talk"].live_only);
        for bad in [
            "[stations.talk]\nlive_only = true\ncodec = \"mp3\"\n",
            "[stations.talk]\nlive_only = true\ncodec = \"aac\"\nsample_rate = 44100\nchannels = 2\nfile = \"x.aac\"\n",
        ] {
            let err = parse(bad).expect_err("refused");
            assert_eq!(err.key.as_deref(), Some("stations.talk"), "{err}");
            assert!(err.message.contains("live_only"), "{err}");
        }
    }

    #[test]
    fn passwords_from_a_file_or_the_environment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("secret");
        std::fs::write(&file, "from-file\n").expect("write");
        let text = format!(
            "[admin]\npassword_file = {:?}\n",
            file.display().to_string()
        );
        let config = parse(&text).expect("valid");
        assert_eq!(
            config.secrets.admin.as_ref().map(|s| s.expose()),
            Some(&b"from-file"[..])
        );
        // A variable that nothing else sets.
        let var = "ONAIR_TEST_SOURCE_PASSWORD_UNSET_42";
        let err = parse(&format!("[live]\npassword_env = \"{var}\"\n")).expect_err("unset");
        assert_eq!(err.key.as_deref(), Some("live.password_env"));
        let err = parse("[live]\npassword = \"a\"\npassword_env = \"HOME\"\n").expect_err("two");
        assert_eq!(err.key.as_deref(), Some("live.password"));
        let missing =
            parse("[live]\npassword_file = \"/nonexistent/secret\"\n").expect_err("no file");
        assert!(missing.message.contains("cannot read"), "{missing}");
    }
}
