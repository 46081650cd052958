//! HTTP Basic credentials (RFC 7617), checked in constant time.

use base64::Engine;
use http::HeaderMap;
use subtle::ConstantTimeEq;

/// User and password from an `Authorization: Basic` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: Vec<u8>,
}

impl Credentials {
    /// The credentials `headers` carry, if any (and well formed).
    pub fn of(headers: &HeaderMap) -> Option<Credentials> {
        let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, encoded) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        Some(Credentials {
            user: String::from_utf8_lossy(&decoded[..colon]).into_owned(),
            password: decoded[colon + 1..].to_vec(),
        })
    }

    /// Whether these are `user` and `password`, compared in constant time (the password's
    /// length aside).
    pub fn are(&self, user: &str, password: &[u8]) -> bool {
        let user_ok = self.user.as_bytes().ct_eq(user.as_bytes());
        let password_ok = self.password.ct_eq(password);
        bool::from(user_ok & password_ok)
    }
}

/// The `WWW-Authenticate` challenge Icecast sends (libshout waits for it before it sends
/// credentials).
pub const CHALLENGE: &str = "Basic realm=\"Icecast2 Server\"";

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            value.parse().expect("header value"),
        );
        headers
    }

    #[test]
    fn basic_credentials_are_read_and_compared() {
        // source:hackme
        let c = Credentials::of(&headers("Basic c291cmNlOmhhY2ttZQ==")).expect("credentials");
        assert!(c.are("source", b"hackme"));
        assert!(!c.are("source", b"hackm"));
        assert!(!c.are("admin", b"hackme"));
        // A password with a colon in it.
        let c = Credentials::of(&headers("basic c291cmNlOmE6Yg==")).expect("credentials");
        assert!(c.are("source", b"a:b"));
        assert_eq!(Credentials::of(&headers("Bearer abc")), None);
        assert_eq!(Credentials::of(&headers("Basic !!!")), None);
        assert_eq!(Credentials::of(&HeaderMap::new()), None);
    }
}
