//! `[relay]` and a station's `relay` URL: where a relayed station pulls its live audio from,
//! and how patiently.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::values::Bounded;

/// `[relay]`: how every relay connects and retries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// Most time to open the connection (and the TLS session), in seconds.
    pub connect_timeout_s: Bounded<1, 120>,
    /// Most time from the request to the end of the upstream's response head, in seconds.
    pub head_timeout_s: Bounded<1, 120>,
    /// An upstream that sends nothing for this long is given up on, in seconds.
    pub idle_timeout_s: Bounded<1, 300>,
    /// The first wait after a failure, in milliseconds; it doubles with each failure in a
    /// row.
    pub retry_min_ms: Bounded<100, 60_000>,
    /// The longest wait between attempts, in seconds.
    pub retry_max_s: Bounded<1, 3_600>,
    /// Most redirects (and playlists) followed to reach the stream.
    pub max_redirects: Bounded<0, 10>,
    /// How far an edge (a station relaying an onair origin's `.m3u8`) plays behind its origin,
    /// in seconds: room for a segment to be cut, listed, fetched and buffered.
    pub edge_delay_s: Bounded<4, 600>,
    /// A PEM file of certificate authorities trusted for HTTPS upstreams, besides the Mozilla
    /// roots onair ships.
    pub ca_file: Option<PathBuf>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            connect_timeout_s: Bounded(5),
            head_timeout_s: Bounded(10),
            idle_timeout_s: Bounded(10),
            retry_min_ms: Bounded(1_000),
            retry_max_s: Bounded(60),
            max_redirects: Bounded(5),
            edge_delay_s: Bounded(20),
            ca_file: None,
        }
    }
}

impl RelayConfig {
    /// The relay timings as durations.
    pub fn timing(&self) -> RelayTiming {
        RelayTiming {
            connect: Duration::from_secs(self.connect_timeout_s.get()),
            head: Duration::from_secs(self.head_timeout_s.get()),
            idle: Duration::from_secs(self.idle_timeout_s.get()),
            retry_min: Duration::from_millis(self.retry_min_ms.get()),
            retry_max: Duration::from_secs(self.retry_max_s.get()),
            max_redirects: self.max_redirects.get() as usize,
            edge_delay: Duration::from_secs(self.edge_delay_s.get()),
        }
    }
}

/// How a relay connects and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayTiming {
    /// Most time to connect.
    pub connect: Duration,
    /// Most time to the end of the response head.
    pub head: Duration,
    /// Most time without a byte.
    pub idle: Duration,
    /// The first wait after a failure.
    pub retry_min: Duration,
    /// The longest wait.
    pub retry_max: Duration,
    /// Most redirects followed.
    pub max_redirects: usize,
    /// How far an edge plays behind its origin.
    pub edge_delay: Duration,
}

/// An upstream's address: `http://` or `https://`, with a host; checked while parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayUrl(pub http::Uri);

impl RelayUrl {
    /// Checks `text` is an absolute `http`/`https` URL with a host.
    pub fn parse(text: &str) -> Result<RelayUrl, String> {
        let uri: http::Uri = text
            .trim()
            .parse()
            .map_err(|e| format!("`{text}` is not a URL: {e}"))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => {
                return Err(format!(
                    "`{text}`: a relay URL starts with http:// or https://"
                ))
            }
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("`{text}` names no host"));
        }
        Ok(RelayUrl(uri))
    }

    /// Whether it names an onair origin's HLS playlist (`.m3u8`): the station is then an edge,
    /// each frame at the origin's tick, [`RelayTiming::edge_delay`] behind.
    pub fn is_edge(&self) -> bool {
        self.0.path().to_ascii_lowercase().ends_with(".m3u8")
    }
}

/// `uri` as operators and the public may see it: no `user:password@`, no query (tokens live
/// there): `https://radio.example.com:8000/live?…`.
pub fn shown(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or_default();
    let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
    let query = if uri.query().is_some() { "?…" } else { "" };
    format!("{scheme}://{host}{port}{}{query}", uri.path())
}

/// The `user:password` a URL carries, percent-decoded: sent as a Basic login, never in the
/// `Host` header.
pub fn credentials(uri: &http::Uri) -> Option<(String, String)> {
    let authority = uri.authority()?.as_str();
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((decode(user), decode(password)))
}

/// Shown without credentials or query ([`shown`]): in status, `/events`, the page and the log.
impl fmt::Display for RelayUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shown(&self.0))
    }
}

impl<'de> Deserialize<'de> for RelayUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RelayUrl::parse(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials_or_query_and_credentials_are_a_login() {
        let url = RelayUrl::parse("https://dj:p%40ss@radio.example.com:8000/live?token=abc")
            .expect("url");
        assert_eq!(url.to_string(), "https://radio.example.com:8000/live?…");
        assert_eq!(
            credentials(&url.0),
            Some(("dj".to_string(), "p@ss".to_string()))
        );
        let plain = RelayUrl::parse("http://radio.example.com/live").expect("url");
        assert_eq!(plain.to_string(), "http://radio.example.com/live");
        assert_eq!(credentials(&plain.0), None);
    }

    #[test]
    fn urls_are_absolute_http_or_https_with_a_host() {
        assert!(RelayUrl::parse("http://example.com:8000/stream").is_ok());
        assert!(RelayUrl::parse("https://example.com/live.m3u").is_ok());
        for bad in [
            "ftp://example.com/x",
            "/stream",
            "example.com/stream",
            "http://",
        ] {
            assert!(RelayUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn relay_keys_parse_and_bad_urls_name_their_key() {
        let config = crate::config::Config::parse(
            "[relay]\nretry_max_s = 30\n[stations.news]\nlive_only = true\ncodec = \"mp3\"\nsample_rate = 44100\nchannels = 2\nrelay = \"http://origin:8080/news\"\non_demand = true\n",
            std::path::Path::new("c.toml"),
        )
        .expect("valid");
        let news = &config.stations["news"];
        assert_eq!(
            news.relay.as_ref().map(ToString::to_string).as_deref(),
            Some("http://origin:8080/news")
        );
        assert!(news.on_demand);
        assert_eq!(config.relay.timing().retry_max, Duration::from_secs(30));
        let err = crate::config::Config::parse(
            "[stations.news]\nrelay = \"ftp://origin/news\"\n",
            std::path::Path::new("c.toml"),
        )
        .expect_err("not http");
        assert_eq!(err.key.as_deref(), Some("stations.news.relay"), "{err}");
        assert_eq!(err.line, Some(2), "{err}");
        let err = crate::config::Config::parse(
            "[stations.news]\non_demand = true\n",
            std::path::Path::new("c.toml"),
        )
        .expect_err("on demand without a relay");
        assert!(err.message.contains("relay"), "{err}");
    }
}
