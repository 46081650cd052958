//! A station's HLS sessions: a pure state machine over fixed instants. A player is one session
//! however many segments it fetches: it carries its session in the media playlist's URL (the
//! playlist without one answers with a multivariant playlist that names a new one), and it is
//! listening while it asks for that playlist. A session that has not asked for `expiry` has
//! ended.
//!
//! One address holds at most [`MAX_PER_ADDRESS`] sessions: an office behind one address is
//! counted, but a client that invents session ids cannot inflate the count or grow the table
//! without bound (a new one from a full address displaces its longest silent one).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::left::{Client, SessionId};

/// The most HLS sessions one address holds.
pub const MAX_PER_ADDRESS: usize = 64;

/// One HLS session.
#[derive(Debug, Clone)]
pub struct HlsSession {
    /// Who listens.
    pub client: Client,
    /// The request line of its first playlist.
    pub request: std::sync::Arc<str>,
    /// When it began: on the wall clock, and on the monotonic one.
    pub began: (SystemTime, Instant),
    /// When it last asked for its playlist.
    pub last: Instant,
    /// Playlist bytes sent to it.
    pub bytes: u64,
}

/// What asking for a playlist did to the sessions.
#[derive(Debug)]
pub enum Touch {
    /// A session already listening asked again.
    Known,
    /// A new session began; `displaced` is one from the same address it took the place of.
    New {
        /// The session it displaced (ended), if its address was full.
        displaced: Option<(SessionId, HlsSession)>,
    },
}

/// Every HLS session of one station.
#[derive(Debug, Default)]
pub struct HlsSessions {
    sessions: HashMap<SessionId, HlsSession>,
    per_address: HashMap<IpAddr, usize>,
}

impl HlsSessions {
    /// Sessions now (as of the last [`expire`](Self::expire)).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Whether session `id` is listening.
    pub fn contains(&self, id: SessionId) -> bool {
        self.sessions.contains_key(&id)
    }

    /// Session `id` asked for its playlist at `now` and was sent `bytes`; a session not known
    /// begins (as `session`, built only then).
    pub fn touch(
        &mut self,
        id: SessionId,
        now: Instant,
        bytes: u64,
        session: impl FnOnce() -> HlsSession,
    ) -> Touch {
        if let Some(known) = self.sessions.get_mut(&id) {
            known.last = now;
            known.bytes += bytes;
            return Touch::Known;
        }
        let mut new = session();
        new.last = now;
        new.bytes = bytes;
        let address = new.client.address;
        let count = self.per_address.entry(address).or_default();
        let displaced = if *count >= MAX_PER_ADDRESS {
            let oldest = self
                .sessions
                .iter()
                .filter(|(_, s)| s.client.address == address)
                .min_by_key(|(_, s)| s.last)
                .map(|(id, _)| *id);
            oldest.and_then(|old| self.sessions.remove(&old).map(|s| (old, s)))
        } else {
            *count += 1;
            None
        };
        self.sessions.insert(id, new);
        Touch::New { displaced }
    }

    /// Every session now.
    pub fn list(&self) -> Vec<(SessionId, HlsSession)> {
        let mut all: Vec<_> = self
            .sessions
            .iter()
            .map(|(id, s)| (*id, s.clone()))
            .collect();
        all.sort_by_key(|(_, s)| s.began.1);
        all
    }

    /// Ends the sessions that have not asked since `now - expiry`, and returns them.
    pub fn expire(&mut self, now: Instant, expiry: Duration) -> Vec<(SessionId, HlsSession)> {
        let gone: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| now.saturating_duration_since(s.last) >= expiry)
            .map(|(id, _)| *id)
            .collect();
        gone.into_iter()
            .filter_map(|id| self.remove(id).map(|s| (id, s)))
            .collect()
    }

    /// Ends every session (the station goes off air), and returns them.
    pub fn end_all(&mut self) -> Vec<(SessionId, HlsSession)> {
        self.per_address.clear();
        self.sessions.drain().collect()
    }

    fn remove(&mut self, id: SessionId) -> Option<HlsSession> {
        let session = self.sessions.remove(&id)?;
        if let Some(count) = self.per_address.get_mut(&session.client.address) {
            *count -= 1;
            if *count == 0 {
                self.per_address.remove(&session.client.address);
            }
        }
        Some(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn session(address: [u8; 4], at: Instant) -> impl FnOnce() -> HlsSession {
        move || HlsSession {
            client: Client {
                address: address.into(),
                user_agent: "hls.js".into(),
                referer: None,
                user: None,
            },
            request: Arc::from("GET /jazz.m3u8 HTTP/1.1"),
            began: (SystemTime::UNIX_EPOCH, at),
            last: at,
            bytes: 0,
        }
    }

    #[test]
    fn a_player_is_one_session_until_it_stops_asking() {
        let t0 = Instant::now();
        let expiry = Duration::from_secs(12);
        let mut hls = HlsSessions::default();
        let one = SessionId::new(1);
        assert!(matches!(
            hls.touch(one, t0, 300, session([192, 0, 2, 1], t0)),
            Touch::New { displaced: None }
        ));
        for s in 1..=5 {
            let at = t0 + Duration::from_secs(6 * s);
            assert!(matches!(
                hls.touch(one, at, 300, session([192, 0, 2, 1], at)),
                Touch::Known
            ));
        }
        assert_eq!(hls.len(), 1);
        // Two more players behind the same address are two more sessions.
        for n in 2..=3 {
            hls.touch(SessionId::new(n), t0, 300, session([192, 0, 2, 1], t0));
        }
        assert_eq!(hls.len(), 3);
        // Those two stop asking; the first goes on a while longer.
        let gone = hls.expire(t0 + expiry, expiry);
        assert_eq!(gone.len(), 2);
        assert_eq!(hls.len(), 1);
        let last = t0 + Duration::from_secs(30) + expiry;
        let gone = hls.expire(last, expiry);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].1.bytes, 6 * 300);
        assert!(hls.is_empty());
    }

    #[test]
    fn invented_sessions_from_one_address_stay_bounded() {
        let t0 = Instant::now();
        let mut hls = HlsSessions::default();
        let mut displaced = 0;
        for n in 0..1000u64 {
            let at = t0 + Duration::from_millis(n);
            if let Touch::New { displaced: Some(_) } =
                hls.touch(SessionId::new(n), at, 1, session([198, 51, 100, 7], at))
            {
                displaced += 1;
            }
        }
        assert_eq!(hls.len(), MAX_PER_ADDRESS);
        assert_eq!(displaced, 1000 - MAX_PER_ADDRESS);
        // Another address is not crowded out.
        hls.touch(SessionId::new(5000), t0, 1, session([198, 51, 100, 8], t0));
        assert_eq!(hls.len(), MAX_PER_ADDRESS + 1);
        assert_eq!(hls.end_all().len(), MAX_PER_ADDRESS + 1);
    }
}
