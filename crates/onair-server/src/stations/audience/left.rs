//! What a session leaves behind when it ends: one typed [`Left`], given to the sinks (the
//! server's counters, the access log) through one seam, [`AudienceSink`].

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A session's number among its station's sessions, stream and HLS alike: random for HLS
/// (it is in the player's playlist URL), counted for streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u64);

impl SessionId {
    /// The session numbered `n`.
    pub fn new(n: u64) -> Self {
        SessionId(n)
    }

    /// A fresh random one (for HLS, where a player carries it in its playlist URL).
    pub fn random() -> Self {
        SessionId(fastrand::u64(..))
    }

    /// A session named in a URL: 1 to 16 hexadecimal digits.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(SessionId)
    }

    /// Its number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// How a listener listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    /// The endless ICY/HTTP stream.
    Stream,
    /// HLS: a player polling the station's playlist.
    Hls,
}

impl Via {
    /// The label used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Stream => "stream",
            Via::Hls => "hls",
        }
    }
}

/// Why a listener's session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EndReason {
    /// The client closed the connection (a stream), or stopped asking for the playlist (HLS).
    ClientLeft,
    /// The client's socket accepted nothing for `client_timeout_s`.
    Timeout,
    /// The station went off air (its file was removed or failed).
    OffAir,
    /// onair is shutting down.
    Shutdown,
    /// Another HLS session from the same address took its place (the per-address cap).
    Displaced,
    /// The admin removed it (`/admin/killclient`).
    Kicked,
}

impl EndReason {
    /// The label used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::ClientLeft => "client_left",
            EndReason::Timeout => "timeout",
            EndReason::OffAir => "off_air",
            EndReason::Shutdown => "shutdown",
            EndReason::Displaced => "displaced",
            EndReason::Kicked => "kicked",
        }
    }
}

/// Who a listener is: what the request said, after trusted proxies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its address (the proxy's `X-Forwarded-For` when the proxy is trusted).
    pub address: IpAddr,
    /// Its `User-Agent` (at most 200 characters), `-` when it sent none.
    pub user_agent: Arc<str>,
    /// Its `Referer`, if it sent one (at most 200 characters).
    pub referer: Option<Arc<str>>,
    /// The user it logged in as, when the station asks for one.
    pub user: Option<Arc<str>>,
}

/// A session that ended: who, how, how long, how much, and why.
#[derive(Debug, Clone)]
pub struct Left {
    /// The station.
    pub station: Arc<str>,
    /// Its session.
    pub session: SessionId,
    /// Stream or HLS.
    pub via: Via,
    /// Who listened.
    pub client: Client,
    /// The request line that began it (`GET /jazz HTTP/1.1`).
    pub request: Arc<str>,
    /// When it began (wall clock).
    pub began: SystemTime,
    /// How long it lasted.
    pub seconds: Duration,
    /// Bytes sent to it (a stream: audio and ICY metadata; HLS: its playlists, since segments
    /// are shared and cached, never one player's).
    pub bytes: u64,
    /// The audio it was sent, in time (a stream; HLS: the time it listened).
    pub heard: Duration,
    /// When the audio it heard was on air (the station clock's wall times of the first and
    /// the end of the last audio sent; HLS: when it first and last asked), if it heard any.
    pub span: Option<(SystemTime, SystemTime)>,
    /// Times it was skipped forward for falling behind (a stream).
    pub skips: u64,
    /// Why it ended.
    pub reason: EndReason,
}

/// Where sessions are reported: the server's counters, the access log, later analytics and
/// hooks. A sink must return at once (it is called where a session ends, beside the audio).
pub trait AudienceSink: Send + Sync + fmt::Debug {
    /// Session `session` of `client` began on `station`.
    fn joined(&self, station: &str, via: Via, session: SessionId, client: &Client);
    /// A session ended.
    fn left(&self, left: Left);
}

/// The sink of a registry that reports to nobody (tools and tests that build one bare).
#[derive(Debug, Default)]
pub struct Unheard;

impl AudienceSink for Unheard {
    fn joined(&self, _: &str, _: Via, _: SessionId, _: &Client) {}
    fn left(&self, _: Left) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_id_reads_back_as_it_is_written() {
        let id = SessionId::random();
        assert_eq!(SessionId::parse(&id.to_string()), Some(id));
        assert_eq!(SessionId::parse("00ff"), Some(SessionId::new(255)));
        for bad in ["", "g1", "0123456789abcdef0", "-1", "+1"] {
            assert_eq!(SessionId::parse(bad), None, "{bad}");
        }
    }
}
