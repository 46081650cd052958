//! Who may listen: the one decision for a stream and for HLS alike, from the station's
//! `listen` rule (`[access]`, or its own), what the request offers (a signed URL's token, a
//! user name and password) and the login guard that slows password guessing.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// A form's content type.
const FORM: &str = "application/x-www-form-urlencoded";

use super::left::SessionId;
use super::token::{self, TokenError};
use crate::config::{Config, Htpasswd, Listen, Secret, UrlDown};
use crate::http::auth::Credentials;
use crate::http::client::{form, post};
use crate::http::guard::{log_failure, LoginGuard, Verdict};

/// What a request offers to be let in.
#[derive(Debug, Default)]
pub struct Offered<'a> {
    /// `?token=` of a signed URL.
    pub token: Option<&'a str>,
    /// `Authorization: Basic` (or the user and password of an `http://user:pass@` URL).
    pub credentials: Option<Credentials>,
    /// What the operator's service is told of the request (URL authentication).
    pub asker: Asker<'a>,
}

/// A request as Icecast's `listener_add` describes it.
#[derive(Debug, Default)]
pub struct Asker<'a> {
    /// The path and query asked for (`/jazz?member=42`).
    pub target: &'a str,
    /// Its `User-Agent`.
    pub user_agent: &'a str,
    /// Its `Referer`, if any.
    pub referer: Option<&'a str>,
    /// The session it will be (Icecast's `client`).
    pub session: Option<SessionId>,
    /// The host it asked (its `Host` header, without the port).
    pub host: &'a str,
    /// The port it asked.
    pub port: u16,
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
    /// The operator's service said no, with its reason if it gave one (403).
    ServiceRefused(Option<String>),
    /// The operator's service did not answer, and `url_down = "refuse"` (503).
    ServiceDown,
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
    service: Option<Service>,
}

/// The operator's service that decides (Icecast's URL authentication).
#[derive(Debug, Clone)]
struct Service {
    add: http::Uri,
    timeout: Duration,
    down: UrlDown,
}

impl Policy {
    /// The rule `config` gives station `name`.
    pub fn of(config: &Config, name: &str) -> Policy {
        Policy {
            listen: config.listen_for(name),
            keys: Arc::clone(&config.access_secrets.keys),
            users: config.access_secrets.users.clone(),
            hls_login: Duration::from_secs(config.access.hls_login_s.get()),
            service: config.access_secrets.urls.0.clone().map(|add| Service {
                add,
                timeout: Duration::from_millis(config.access.url_timeout_ms.get()),
                down: config.access.url_down,
            }),
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
        if self.listen.asks_service() {
            if let Some(service) = &self.service {
                return self.ask(service, station, address, offered, now).await;
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

    /// Asks the operator's service (Icecast's `listener_add`): admitted when it answers with
    /// `icecast-auth-user: 1`.
    async fn ask(
        &self,
        service: &Service,
        station: &str,
        address: IpAddr,
        offered: Offered<'_>,
        now: SystemTime,
    ) -> Result<Admitted, Denied> {
        let Offered {
            credentials, asker, ..
        } = offered;
        let (user, pass) = credentials.map_or((String::new(), String::new()), |c| {
            let pass = String::from_utf8_lossy(&c.password).into_owned();
            (c.user, pass)
        });
        let client = asker
            .session
            .map(|s| s.get().to_string())
            .unwrap_or_default();
        let (ip, port) = (address.to_string(), asker.port.to_string());
        let body = form(&[
            ("action", "listener_add"),
            ("server", asker.host),
            ("port", &port),
            ("client", &client),
            ("mount", asker.target),
            ("user", &user),
            ("pass", &pass),
            ("ip", &ip),
            ("agent", asker.user_agent),
            ("referer", asker.referer.unwrap_or("")),
        ]);
        let admitted = || Admitted {
            user: Some(user.clone()).filter(|u| !u.is_empty()).map(Into::into),
            token: self.login_token(station, now),
        };
        let header = |answer: &crate::http::client::Answer, name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string())
        };
        match post(&service.add, (FORM, &[]), body, service.timeout).await {
            Ok(answer) if header(&answer, "icecast-auth-user").as_deref() == Some("1") => {
                Ok(admitted())
            }
            Ok(answer) if answer.status.is_server_error() => self.service_down(
                service,
                station,
                &format!("answered {}", answer.status),
                admitted,
            ),
            Ok(answer) => Err(Denied::ServiceRefused(
                header(&answer, "icecast-auth-message")
                    .map(|m| crate::http::responses::escape_text(&m)),
            )),
            Err(error) => self.service_down(service, station, &error.to_string(), admitted),
        }
    }

    fn service_down(
        &self,
        service: &Service,
        station: &str,
        why: &str,
        admitted: impl FnOnce() -> Admitted,
    ) -> Result<Admitted, Denied> {
        tracing::warn!(station, url = %crate::config::relay::shown(&service.add), why, down = ?service.down, "the listener_add service did not decide");
        match service.down {
            UrlDown::Admit => Ok(admitted()),
            UrlDown::Refuse => Err(Denied::ServiceDown),
        }
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
