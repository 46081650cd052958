//! Where sessions are reported: the one [`AudienceSink`] of the server. Every session that
//! begins and ends, stream or HLS, is counted in [`ServerStats`], said on the `onair::access`
//! log target, and written to the access log when one is kept.

use std::sync::Arc;

use super::access_log::AccessLog;
use super::stats::ServerStats;
use crate::stations::audience::{AudienceSink, Left, Via};

/// The server's sink for every station's sessions.
#[derive(Debug)]
pub struct Sessions {
    stats: Arc<ServerStats>,
    access: AccessLog,
}

impl Sessions {
    /// Reports to `stats` and `access`.
    pub fn new(stats: Arc<ServerStats>, access: AccessLog) -> Self {
        Sessions { stats, access }
    }
}

impl AudienceSink for Sessions {
    fn joined(&self, station: &str, via: Via) {
        self.stats.count_join();
        tracing::debug!(station, via = via.as_str(), "listener joined");
    }

    fn left(&self, left: Left) {
        self.stats.count_end(&left.station, left.via, left.reason);
        tracing::info!(
            target: "onair::access",
            client = %left.client.address,
            station = %left.station,
            via = left.via.as_str(),
            session = %left.session,
            user_agent = ?left.client.user_agent,
            seconds = left.seconds.as_secs(),
            bytes = left.bytes,
            skips = left.skips,
            reason = left.reason.as_str(),
            "listener session ended"
        );
        if left.via == Via::Stream {
            // A stream's request is answered when it ends: its line is written then. An HLS
            // session's requests each had their own line.
            self.access.session(&left);
        }
    }
}
