//! Signed URLs: `?token=<expiry>.<signature>`, an HMAC-SHA256 of the station and the expiry
//! (and, when bound, the client's address: `<expiry>.ip.<signature>`), with any of the
//! configured keys. Made by `onair token`, or by the operator's site with the same recipe:
//!
//! ```text
//! signature = base64url(HMAC-SHA256(key, "<station>\n<expiry>\n<address or empty>"))
//! ```
//!
//! Several keys verify at once, so a key is rotated by adding the new one first, waiting out
//! the old links, then removing the old one.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use ring::hmac;

use crate::config::Secret;

/// Why a token does not admit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// It is not `<expiry>.<signature>` or `<expiry>.ip.<signature>`.
    Malformed,
    /// It expired at this time.
    Expired(SystemTime),
    /// No key signed it for this station (and address).
    Forged,
}

/// A token's text for `station` expiring at `expiry`, signed with `key`; bound to `address`
/// when one is given.
pub fn sign(key: &Secret, station: &str, expiry: SystemTime, address: Option<IpAddr>) -> String {
    let seconds = unix_seconds(expiry);
    let signature = signature(key, station, seconds, address);
    match address {
        Some(_) => format!("{seconds}.ip.{signature}"),
        None => format!("{seconds}.{signature}"),
    }
}

/// Whether `token` admits `address` to `station` at `now`, signed with one of `keys`.
pub fn verify(
    keys: &[Secret],
    token: &str,
    station: &str,
    address: IpAddr,
    now: SystemTime,
) -> Result<(), TokenError> {
    let mut parts = token.split('.');
    let (Some(expiry), Some(second), third, None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let seconds: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
    let (bound, signature) = match (second, third) {
        ("ip", Some(signature)) => (Some(address), signature),
        (signature, None) => (None, signature),
        _ => return Err(TokenError::Malformed),
    };
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    let message = message(station, seconds, bound);
    let signed = keys.iter().any(|key| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
        hmac::verify(&key, message.as_bytes(), &signature).is_ok()
    });
    if !signed {
        return Err(TokenError::Forged);
    }
    let expiry = UNIX_EPOCH + Duration::from_secs(seconds);
    if now >= expiry {
        return Err(TokenError::Expired(expiry));
    }
    Ok(())
}

fn signature(key: &Secret, station: &str, seconds: u64, address: Option<IpAddr>) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
    let tag = hmac::sign(&key, message(station, seconds, address).as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
}

fn message(station: &str, seconds: u64, address: Option<IpAddr>) -> String {
    let address = address.map(|a| a.to_string()).unwrap_or_default();
    format!("{station}\n{seconds}\n{address}")
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Secret {
        Secret::new(text.to_string())
    }

    #[test]
    fn a_token_admits_its_station_until_its_expiry() {
        let (old, new) = (
            key("an old key of 16+ chars"),
            key("a new key of 16+ chars"),
        );
        let t0 = UNIX_EPOCH + Duration::from_secs(1_796_640_000);
        let expiry = t0 + Duration::from_secs(3600);
        let me: IpAddr = [192, 0, 2, 7].into();
        let token = sign(&old, "jazz", expiry, None);
        assert!(token.starts_with("1796643600."), "{token}");
        // Either key verifies (a rotation); the other station, or a changed expiry, does not.
        let keys = [new.clone(), old.clone()];
        assert_eq!(verify(&keys, &token, "jazz", me, t0), Ok(()));
        assert_eq!(
            verify(std::slice::from_ref(&new), &token, "jazz", me, t0),
            Err(TokenError::Forged)
        );
        assert_eq!(
            verify(&keys, &token, "lounge", me, t0),
            Err(TokenError::Forged)
        );
        let stretched = token.replacen("1796643600", "1796647200", 1);
        assert_eq!(
            verify(&keys, &stretched, "jazz", me, t0),
            Err(TokenError::Forged)
        );
        // Expired at its time exactly.
        assert_eq!(
            verify(&keys, &token, "jazz", me, expiry),
            Err(TokenError::Expired(expiry))
        );
        // Bound to an address: only that address.
        let bound = sign(&new, "jazz", expiry, Some(me));
        assert!(bound.contains(".ip."), "{bound}");
        assert_eq!(verify(&keys, &bound, "jazz", me, t0), Ok(()));
        let other: IpAddr = [198, 51, 100, 1].into();
        assert_eq!(
            verify(&keys, &bound, "jazz", other, t0),
            Err(TokenError::Forged)
        );
        for bad in [
            "",
            "1796643600",
            "x.abc",
            "1796643600.ip",
            "1.2.3.4",
            "1796643600.!!",
        ] {
            assert_eq!(
                verify(&keys, bad, "jazz", me, t0),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
    }
}
