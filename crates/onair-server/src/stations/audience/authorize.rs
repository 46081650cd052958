//! Who may listen: the one decision for a stream and for HLS alike, from the station's
//! `listen` rule (`[access]`, or its own), what the request offers (a signed URL's token, a
//! user name and password) and the login guard that slows password guessing.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::token::{self, TokenError};
use crate::config::{Config, Htpasswd, Listen, Secret};
use crate::http::auth::Credentials;
use crate::http::guard::{log_failure, LoginGuard, Verdict};

/// What a request offers to be let in.
#[derive(Debug, Default)]
pub struct Offered<'a> {
    /// `?token=` of a signed URL.
    pub token: Option<&'a str>,
    /// `Authorization: Basic` (or the user and password of an `http://user:pass@` URL).
    pub credentials: Option<Credentials>,
}

/// Why a listener is not let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The station asks for a user name and password, and none came (401).
    LoginWanted,
    /// The user name or password is wrong (401).
    WrongLogin,
    /// The station asks for a signed URL, and none came (403).
    TokenWanted,
    /// The signed URL does not admit (403).
    BadToken(TokenError),
    /// Too many wrong passwords from this address lately (429).
    Throttled(Duration),
}

/// Who was let in, and what its HLS URLs carry so that every request after its login is let in
/// too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admitted {
    /// The user it logged in as.
    pub user: Option<Arc<str>>,
    /// The token its playlists and segments carry (none for an open station).
    pub token: Option<String>,
}

/// One station's rule, with the keys and users it is checked against.
#[derive(Debug, Clone)]
pub struct Policy {
    listen: Listen,
    keys: Arc<[Secret]>,
    users: Option<Arc<Htpasswd>>,
    hls_login: Duration,
}

impl Policy {
    /// The rule `config` gives station `name`.
    pub fn of(config: &Config, name: &str) -> Policy {
        let listen = config
            .stations
            .get(name)
            .and_then(|s| s.listen)
            .unwrap_or(config.access.listen);
        Policy {
            listen,
            keys: Arc::clone(&config.access_secrets.keys),
            users: config.access_secrets.users.clone(),
            hls_login: Duration::from_secs(config.access.hls_login_s.get()),
        }
    }

    /// Whether anyone may listen.
    pub fn is_open(&self) -> bool {
        self.listen == Listen::Open
    }

    /// Decides whether the client at `address` may listen to `station` with what it `offered`.
    pub async fn authorize(
        &self,
        station: &str,
        address: IpAddr,
        offered: Offered<'_>,
        guard: &LoginGuard,
        now: SystemTime,
    ) -> Result<Admitted, Denied> {
        if self.is_open() {
            return Ok(Admitted::default());
        }
        let mut refusal = None;
        if let Some(token) = offered.token {
            // A token the server minted after a password login is taken too (HLS).
            match token::verify(&self.keys, token, station, address, now) {
                Ok(()) => {
                    return Ok(Admitted {
                        user: None,
                        token: Some(token.to_string()),
                    })
                }
                Err(error) => refusal = Some(Denied::BadToken(error)),
            }
        }
        if self.listen.takes_passwords() {
            if let Some(credentials) = offered.credentials {
                return self.log_in(station, address, credentials, guard, now).await;
            }
            return Err(refusal.unwrap_or(Denied::LoginWanted));
        }
        Err(refusal.unwrap_or(Denied::TokenWanted))
    }

    async fn log_in(
        &self,
        station: &str,
        address: IpAddr,
        credentials: Credentials,
        guard: &LoginGuard,
        now: SystemTime,
    ) -> Result<Admitted, Denied> {
        if let Verdict::Refused(left) = guard.check(address, Instant::now()) {
            return Err(Denied::Throttled(left));
        }
        let users = self.users.clone();
        let user = credentials.user.clone();
        // bcrypt is slow by design: off the runtime's threads. An unknown user costs as much as
        // a known one (checked against another user's hash, the answer ignored), so no timing
        // tells which users exist.
        let matched = tokio::task::spawn_blocking(move || {
            let Some(users) = users else { return false };
            let (hash, known) = match users.hash_of(&credentials.user) {
                Some(hash) => (hash, true),
                None => (users.decoy(), false),
            };
            bcrypt::verify(&credentials.password, hash).unwrap_or(false) && known
        })
        .await
        .unwrap_or(false);
        if !matched {
            log_failure(
                guard.failed(address, Instant::now()),
                "listener",
                station,
                address,
                &user,
            );
            return Err(Denied::WrongLogin);
        }
        guard.succeeded(address);
        Ok(Admitted {
            user: Some(user.into()),
            token: self.login_token(station, now),
        })
    }

    /// The token an HLS player gets after logging in: valid `hls_login_s` and up to an hour
    /// more (rounded up to the hour, so that every player logged in within an hour carries the
    /// same one, and a cache keeps one copy of each segment for them).
    fn login_token(&self, station: &str, now: SystemTime) -> Option<String> {
        let key = self.keys.first()?;
        let until = now.duration_since(UNIX_EPOCH).unwrap_or_default() + self.hls_login;
        let hour = 3600;
        let rounded = until.as_secs().div_ceil(hour) * hour;
        Some(token::sign(
            key,
            station,
            UNIX_EPOCH + Duration::from_secs(rounded),
            None,
        ))
    }
}
