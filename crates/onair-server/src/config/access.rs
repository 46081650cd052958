//! `[access]`: who may listen. Every station is open unless the config says otherwise, here
//! for every station or in a station's own table (`listen = ...`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::error::ConfigError;
use super::values::{Bounded, Secret};

/// Who may listen to a station.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Listen {
    /// Anyone.
    #[default]
    Open,
    /// Listeners with a signed URL (`?token=`, made with `onair token`).
    Token,
    /// Listeners with a user name and password from the htpasswd file.
    Password,
    /// Either.
    TokenOrPassword,
    /// Whoever the operator's service admits (Icecast's URL authentication: `listener_add`).
    Url,
}

impl Listen {
    /// Whether a signed URL admits.
    pub fn takes_tokens(self) -> bool {
        matches!(self, Listen::Token | Listen::TokenOrPassword)
    }

    /// Whether a user name and password admit.
    pub fn takes_passwords(self) -> bool {
        matches!(self, Listen::Password | Listen::TokenOrPassword)
    }

    /// Whether the operator's service decides.
    pub fn asks_service(self) -> bool {
        self == Listen::Url
    }
}

/// `[access]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessConfig {
    /// Who may listen to every station that does not say otherwise.
    pub listen: Listen,
    /// The keys signed URLs are signed with: the first signs, every one verifies (several for
    /// a rotation). At least 16 characters each.
    pub token_keys: Vec<Secret>,
    /// A file of more keys, one per line (read when the config is).
    pub token_keys_file: Option<PathBuf>,
    /// The htpasswd file of listeners' user names and bcrypt hashes (`htpasswd -B`).
    pub htpasswd: Option<PathBuf>,
    /// How long the link an HLS player is given after logging in with a password stays valid,
    /// in seconds (it is rounded up to the hour, so that players share cached segments).
    pub hls_login_s: Bounded<600, 604_800>,
    /// Icecast's `listener_add`: the URL asked whether a listener may listen.
    pub url_add: Option<String>,
    /// Icecast's `listener_remove`: the URL told when a listener left, and after how long.
    pub url_remove: Option<String>,
    /// How long `listener_add` may take, in milliseconds.
    pub url_timeout_ms: Bounded<100, 30_000>,
    /// What to do when `listener_add` does not answer in time, or fails.
    pub url_down: UrlDown,
}

/// What to do with a listener when the service that decides is down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlDown {
    /// Refuse (503): nobody listens unchecked.
    #[default]
    Refuse,
    /// Admit: the programme goes on for everyone while the service is down.
    Admit,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            listen: Listen::Open,
            token_keys: Vec::new(),
            token_keys_file: None,
            htpasswd: None,
            hls_login_s: Bounded(43_200),
            url_add: None,
            url_remove: None,
            url_timeout_ms: Bounded(2_000),
            url_down: UrlDown::Refuse,
        }
    }
}

/// A well-formed bcrypt hash, for a file of no users.
const DECOY: &str = "$2b$05$abcdefghijklmnopqrstuuQhYkZL8rB7f0eWfWmXoGJpJ1xYQJYHe";

/// The shortest token key.
const MIN_KEY: usize = 16;

/// The keys and the users, read when the config is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessSecrets {
    /// Token keys: the first signs.
    pub keys: Arc<[Secret]>,
    /// Users and their bcrypt hashes.
    pub users: Option<Arc<Htpasswd>>,
    /// `listener_add` and `listener_remove`.
    pub urls: (Option<http::Uri>, Option<http::Uri>),
}

/// An htpasswd file of bcrypt hashes.
#[derive(Clone, PartialEq, Eq)]
pub struct Htpasswd {
    users: Vec<(String, String)>,
}

impl std::fmt::Debug for Htpasswd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Htpasswd({} users)", self.users.len())
    }
}

impl Htpasswd {
    /// Reads `text` (an htpasswd file): `user:hash` lines, bcrypt hashes only (`$2y$`, `$2b$`,
    /// `$2a$`); blank lines and `#` comments are skipped. An error says which line and why.
    pub fn parse(text: &str) -> Result<Htpasswd, String> {
        let mut users = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else {
                return Err(format!("line {}: not user:hash", n + 1));
            };
            if !["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p)) {
                return Err(format!(
                    "line {} ({user}): not a bcrypt hash; make it with htpasswd -B",
                    n + 1
                ));
            }
            users.push((user.to_string(), hash.to_string()));
        }
        Ok(Htpasswd { users })
    }

    /// The bcrypt hash of `user`, if the file names it.
    pub fn hash_of(&self, user: &str) -> Option<&str> {
        self.users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, h)| h.as_str())
    }

    /// A hash to check an unknown user's password against, so that it costs what a known
    /// one's does (the answer is ignored).
    pub fn decoy(&self) -> &str {
        self.users.first().map_or(DECOY, |(_, hash)| hash.as_str())
    }

    /// How many users it names.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether it names none.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// Reads the keys and the users `access` names, and checks that every station's `listen` has
/// what it needs (`stations`: each station's own `listen`, if it has one).
pub(super) fn read_access(
    access: &AccessConfig,
    stations: &[(String, Option<Listen>)],
    path: &Path,
    text: &str,
) -> Result<AccessSecrets, ConfigError> {
    let mut keys: Vec<Secret> = access.token_keys.clone();
    if let Some(file) = &access.token_keys_file {
        let read = std::fs::read_to_string(file).map_err(|e| {
            ConfigError::at_key(
                path,
                text,
                "access.token_keys_file",
                format!("cannot read the token key file {}: {e}", file.display()),
            )
        })?;
        keys.extend(
            read.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| Secret::new(l.to_string())),
        );
    }
    if keys.iter().any(|k| k.expose().len() < MIN_KEY) {
        return Err(ConfigError::at_key(
            path,
            text,
            "access.token_keys",
            format!("a token key is shorter than {MIN_KEY} characters (make one with: head -c 32 /dev/urandom | base64)"),
        ));
    }
    let users = match &access.htpasswd {
        Some(file) => {
            let read = std::fs::read_to_string(file).map_err(|e| {
                ConfigError::at_key(
                    path,
                    text,
                    "access.htpasswd",
                    format!("cannot read the htpasswd file {}: {e}", file.display()),
                )
            })?;
            let users = Htpasswd::parse(&read).map_err(|why| {
                ConfigError::at_key(
                    path,
                    text,
                    "access.htpasswd",
                    format!("{}: {why}", file.display()),
                )
            })?;
            Some(Arc::new(users))
        }
        None => None,
    };
    let url = |key: &str, value: &Option<String>| -> Result<Option<http::Uri>, ConfigError> {
        let Some(value) = value else { return Ok(None) };
        let uri: http::Uri = value
            .parse()
            .map_err(|_| ConfigError::at_key(path, text, key, "not a URL".to_string()))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(ConfigError::at_key(
                path,
                text,
                key,
                "an http:// or https:// URL with a host, please".to_string(),
            ));
        }
        Ok(Some(uri))
    };
    let urls = (
        url("access.url_add", &access.url_add)?,
        url("access.url_remove", &access.url_remove)?,
    );
    let mut wanted = vec![("access.listen".to_string(), access.listen)];
    for (name, listen) in stations {
        if let Some(listen) = listen {
            wanted.push((format!("stations.{name}.listen"), *listen));
        }
    }
    for (key, listen) in wanted {
        if listen != Listen::Open && keys.is_empty() {
            return Err(ConfigError::at_key(
                path,
                text,
                &key,
                "a closed station needs a key to sign its links (HLS players carry one after a login): set [access] token_keys or token_keys_file (make one with: head -c 32 /dev/urandom | base64)".to_string(),
            ));
        }
        if listen.asks_service() && urls.0.is_none() {
            return Err(ConfigError::at_key(
                path,
                text,
                &key,
                "URL authentication needs the service's address: set [access] url_add (and url_remove)".to_string(),
            ));
        }
        if listen.takes_passwords() && users.is_none() {
            return Err(ConfigError::at_key(
                path,
                text,
                &key,
                "passwords need a file of users: set [access] htpasswd (made with htpasswd -B)"
                    .to_string(),
            ));
        }
    }
    Ok(AccessSecrets {
        keys: keys.into(),
        users,
        urls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htpasswd_takes_bcrypt_only() {
        let users = Htpasswd::parse(
            "# listeners\nann:$2y$05$abcdefghijklmnopqrstuu5s1wHvU3yVJ1W6zF0oK3p3v5lC2y6e\n\nbob:$2b$10$x\n",
        )
        .expect("bcrypt lines");
        assert_eq!(users.len(), 2);
        assert!(users
            .hash_of("ann")
            .is_some_and(|h| h.starts_with("$2y$05$")));
        assert_eq!(users.hash_of("eve"), None);
        let md5 = Htpasswd::parse("ann:$apr1$salt$hash\n").expect_err("MD5 refused");
        assert!(
            md5.contains("line 1 (ann)") && md5.contains("htpasswd -B"),
            "{md5}"
        );
        assert!(Htpasswd::parse("no colon here").is_err());
    }
}
