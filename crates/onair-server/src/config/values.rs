//! Values of config keys that parse themselves, so that an error points at the value in the
//! file: bounded integers, epochs, networks, and passwords that never print.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, SystemTime};

use serde::de::{self, Deserializer};
use serde::Deserialize;

/// An integer setting that must lie in `MIN..=MAX`; checked while parsing, so the error points
/// at the value in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bounded<const MIN: u64, const MAX: u64>(pub u64);

impl<const MIN: u64, const MAX: u64> Bounded<MIN, MAX> {
    /// The value.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<const MIN: u64, const MAX: u64>(PhantomData<()>);
        impl<const MIN: u64, const MAX: u64> de::Visitor<'_> for Visit<MIN, MAX> {
            type Value = Bounded<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a whole number from {MIN} to {MAX}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!(
                        "{v} is negative; expected a whole number from {MIN} to {MAX}"
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                if (MIN..=MAX).contains(&v) {
                    Ok(Bounded(v))
                } else {
                    Err(E::custom(format!(
                        "{v} is out of range; expected a whole number from {MIN} to {MAX}"
                    )))
                }
            }
        }
        deserializer.deserialize_u64(Visit::<MIN, MAX>(PhantomData))
    }
}

/// The wall time of tick 0 of a station clock: RFC 3339, in UTC (`2026-01-01T00:00:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch(pub SystemTime);

impl Default for Epoch {
    /// 2026-01-01T00:00:00Z: any fixed instant will do, as long as every replica has the same.
    fn default() -> Self {
        Epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600))
    }
}

impl<'de> Deserialize<'de> for Epoch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_rfc3339(&text).map(Epoch).map_err(|e| {
            de::Error::custom(format!(
                "`{text}` is not an RFC 3339 time in UTC like \"2026-01-01T00:00:00Z\" ({e})"
            ))
        })
    }
}

/// An IP network, `10.0.0.0/8` or `::1/128`; a bare address is a /32 (or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s.split_once('/').unwrap_or((s, ""));
        let addr: std::net::IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?
        };
        Ok(Cidr { addr, prefix })
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// A password, never printed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A password.
    pub fn new(password: String) -> Secret {
        Secret(password)
    }

    /// The password's bytes (to compare in constant time).
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The password as text.
    pub fn expose_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// `[stations.<name>] order`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackOrder {
    /// In file-name order.
    #[default]
    Name,
    /// Every track once per round, in an order drawn from the station's name and the round
    /// number (the same on every replica and after a restart).
    Shuffle,
}

/// `[pacing] edits`: how a change to a station's files or schedule is timed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edits {
    /// At the first track boundary (segment boundary for a station file) after it is seen:
    /// no track is cut, but a replica restarted after the change lays the programme from the
    /// epoch again and is elsewhere than replicas that lived through it.
    #[default]
    NextTrack,
    /// At an instant every replica reads from its files: 10 s after the newest modification
    /// time of the station's tracks (and of the config file, for a scheduled station), where
    /// the programme starts from its first track. Replicas restarted after an edit agree with
    /// the ones that lived through it; a track playing then is cut.
    FileTimes,
}
