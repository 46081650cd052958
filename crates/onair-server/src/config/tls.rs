//! `[tls]`: the certificate and key of the HTTPS listener (`[server] listen_tls`), and the
//! optional redirect of plain HTTP to it and HSTS.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::ConfigError;
use super::values::Bounded;

/// `[tls]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, PEM, leaf first (certbot's `fullchain.pem`).
    pub cert: Option<PathBuf>,
    /// The private key, PEM: PKCS#8, RSA or EC (certbot's `privkey.pem`).
    pub key: Option<PathBuf>,
    /// Plain HTTP requests (pages, streams, playlists) are answered with a redirect to HTTPS.
    pub redirect_http: bool,
    /// `Strict-Transport-Security: max-age=<this>` on HTTPS answers; none when unset.
    pub hsts_max_age_s: Option<Bounded<0, 63_072_000>>,
}

impl TlsConfig {
    /// The certificate and key files, when both are set.
    pub fn files(&self) -> Option<(&Path, &Path)> {
        Some((self.cert.as_deref()?, self.key.as_deref()?))
    }

    /// The checks across `[server]` and `[tls]`: an HTTPS listener needs both files, and the
    /// TLS keys mean nothing without one (a typo must not leave a server silently plain).
    pub(super) fn check(
        &self,
        listen_tls: Option<SocketAddr>,
        path: &Path,
        text: &str,
    ) -> Result<(), ConfigError> {
        let error = |key: &str, message: &str| {
            Err(ConfigError::at_key(path, text, key, message.to_string()))
        };
        match (listen_tls, self.cert.is_some(), self.key.is_some()) {
            (Some(_), true, true) => Ok(()),
            (Some(_), false, _) => error(
                "server.listen_tls",
                "an HTTPS listener needs `[tls] cert` (the PEM certificate chain) and `key`",
            ),
            (Some(_), true, false) => error(
                "tls.cert",
                "`[tls] cert` needs `key` beside it (the PEM private key)",
            ),
            (None, true, _) | (None, _, true) => error(
                "tls",
                "`[tls]` names a certificate but no HTTPS listener is set: add `[server] listen_tls = \"0.0.0.0:8443\"`",
            ),
            (None, false, false) if self.redirect_http => error(
                "tls.redirect_http",
                "`redirect_http` needs an HTTPS listener (`[server] listen_tls`)",
            ),
            (None, false, false) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("config.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn an_https_listener_needs_a_certificate_and_a_key_and_tls_keys_need_a_listener() {
        let both =
            "[server]\nlisten_tls = \"0.0.0.0:8443\"\n[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n";
        let config = parse(both).expect("a listener with both files");
        assert_eq!(
            config.tls.files(),
            Some((Path::new("c.pem"), Path::new("k.pem")))
        );
        let error = parse("[server]\nlisten_tls = \"0.0.0.0:8443\"\n").unwrap_err();
        assert!(
            error.contains("server.listen_tls") && error.contains("[tls] cert"),
            "{error}"
        );
        let error = parse("[server]\nlisten_tls = \"0.0.0.0:8443\"\n[tls]\ncert = \"c.pem\"\n")
            .unwrap_err();
        assert!(
            error.contains("tls.cert") && error.contains("key"),
            "{error}"
        );
        let error = parse("[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n").unwrap_err();
        assert!(error.contains("listen_tls"), "{error}");
        let error = parse("[tls]\nredirect_http = true\n").unwrap_err();
        assert!(error.contains("tls.redirect_http"), "{error}");
        let error = parse(&format!("{both}hsts_max_age_s = -1\n")).unwrap_err();
        assert!(error.contains("hsts_max_age_s"), "{error}");
        assert_eq!(parse("").expect("defaults").server.listen_tls, None);
    }
}
