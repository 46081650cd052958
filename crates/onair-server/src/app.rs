//! What every request handler shares: the stations, the counters, the config in force, and
//! the clock.

use std::net::SocketAddr;
use std::sync::Arc;

use onair_core::WallClock;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::http::guard::LoginGuard;
use crate::http::timed_io::WriteTimeout;
use crate::observe::access_log::AccessLog;
use crate::observe::events::EventFeed;
use crate::observe::outbox::Outbox;
use crate::observe::stats::ServerStats;
use crate::stations::StationRegistry;
use crate::tls::CertStore;

/// The server's shared state.
#[derive(Debug)]
pub struct App {
    /// The stations on air.
    pub registry: Arc<StationRegistry>,
    /// Server-wide counters.
    pub stats: Arc<ServerStats>,
    /// The access log (off unless `[log] access` is set).
    pub access: AccessLog,
    /// POSTs to the operator's services (webhooks, `listener_remove`).
    pub outbox: Outbox,
    /// The config in force.
    pub config: watch::Receiver<Arc<Config>>,
    /// Cancelled when the server shuts down: endless bodies (streams, events) end.
    pub closing: CancellationToken,
    /// Where the server listens.
    pub local_addr: SocketAddr,
    /// Where the server listens for HTTPS, if it does.
    pub tls_addr: Option<SocketAddr>,
    /// The HTTPS certificate served, if any.
    pub cert_store: Option<Arc<CertStore>>,
    /// `/events`: one feed, shared by every client.
    pub events: EventFeed,
    /// Failed source and admin logins, by address.
    pub logins: LoginGuard,
}

impl App {
    /// Listeners over all stations now, stream and HLS.
    pub fn listeners(&self) -> usize {
        self.registry
            .list()
            .iter()
            .map(|s| s.hub.listeners() + s.audience().hls_listeners())
            .sum()
    }

    /// The config in force now.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.borrow())
    }

    /// Where wall time comes from.
    pub fn clock(&self) -> &Arc<dyn WallClock> {
        self.registry.clock()
    }
}

/// One connection, as a request handler sees it.
#[derive(Debug, Clone)]
pub struct Conn {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// The connection's write timeout, set to the station's `client_timeout_s`.
    pub write_timeout: WriteTimeout,
    /// Whether the connection is HTTPS.
    pub secure: bool,
    /// The audio streams it may still open (a few over HTTP/2).
    pub streams: crate::serve::h2::StreamCap,
}
