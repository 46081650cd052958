//! Where sessions are reported: the one [`AudienceSink`] of the server. Every session that
//! begins and ends, stream or HLS, is counted in [`ServerStats`], said on the `onair::access`
//! log target, written to the access log and kept for analytics when they are on, told to the
//! webhooks that want it and, for a station whose listeners the operator's service admits, to
//! that service.

use std::sync::Arc;

use tokio::sync::watch;

use super::access_log::AccessLog;
use super::outbox::{Letter, Outbox};
use super::stats::ServerStats;
use serde_json::json;

use super::analytics::store::Store;
use super::hooks;
use crate::config::{Config, HookEvent, Listen};
use crate::http::client::form;
use crate::stations::audience::{AudienceSink, Client, Left, SessionId, Via};

/// The server's sink for every station's sessions.
#[derive(Debug)]
pub struct Sessions {
    stats: Arc<ServerStats>,
    access: AccessLog,
    outbox: Outbox,
    config: watch::Receiver<Arc<Config>>,
    analytics: Store,
    clock: Arc<dyn onair_core::WallClock>,
}

impl Sessions {
    /// Reports to `stats`, `access` and, for stations whose listeners the operator's service
    /// admits, that service (`listener_remove`, through `outbox`), as `config` says.
    pub fn new(
        stats: Arc<ServerStats>,
        (access, analytics): (AccessLog, Store),
        outbox: Outbox,
        (config, clock): (watch::Receiver<Arc<Config>>, Arc<dyn onair_core::WallClock>),
    ) -> Self {
        Sessions {
            stats,
            access,
            outbox,
            config,
            analytics,
            clock,
        }
    }

    /// Icecast's `listener_remove`, for a station whose listeners the operator's service
    /// admits: which session left, and after how many seconds.
    fn tell_service(&self, left: &Left) {
        let config = Arc::clone(&self.config.borrow());
        let Some(url) = config.access_secrets.urls.1.clone() else {
            return;
        };
        if config.listen_for(&left.station) != Listen::Url {
            return;
        }
        let server = config
            .server
            .public_url
            .as_deref()
            .and_then(|u| u.parse::<http::Uri>().ok())
            .and_then(|u| u.host().map(str::to_string))
            .unwrap_or_default();
        let port = config.server.listen.port().to_string();
        let client = left.session.get().to_string();
        let mount = format!("/{}", left.station);
        let duration = left.seconds.as_secs().to_string();
        let ip = left.client.address.to_string();
        let body = form(&[
            ("action", "listener_remove"),
            ("server", &server),
            ("port", &port),
            ("client", &client),
            ("mount", &mount),
            ("user", left.client.user.as_deref().unwrap_or("")),
            ("pass", ""),
            ("duration", &duration),
            ("ip", &ip),
            ("agent", &left.client.user_agent),
        ]);
        self.outbox.send(Letter {
            url,
            content_type: "application/x-www-form-urlencoded",
            body,
            headers: Vec::new(),
            what: "listener_remove",
        });
    }
}

impl Sessions {
    /// Tells the webhooks that want it of `event` on a station (its `details` built only when
    /// a hook is configured).
    fn hook(&self, event: (HookEvent, &str), details: impl FnOnce() -> serde_json::Value) {
        let config = Arc::clone(&self.config.borrow());
        if !config.hooks.is_empty() {
            hooks::send(&self.outbox, &config, event, details(), self.clock.now());
        }
    }
}

/// A listener in a webhook's body: how it listens, its session and who it is.
fn listener_json(via: Via, session: SessionId, client: &Client) -> serde_json::Value {
    json!({
        "via": via.as_str(),
        "session": session.to_string(),
        "address": client.address.to_string(),
        "user_agent": &*client.user_agent,
        "user": client.user.as_deref(),
    })
}

impl AudienceSink for Sessions {
    fn joined(&self, station: &str, via: Via, session: SessionId, client: &Client) {
        self.stats.count_join();
        tracing::debug!(station, via = via.as_str(), %session, "listener joined");
        self.hook((HookEvent::ListenerJoined, station), || {
            listener_json(via, session, client)
        });
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
        self.tell_service(&left);
        super::analytics::keep_session(&self.analytics, &left);
        self.hook((HookEvent::ListenerLeft, &left.station), || {
            let mut details = listener_json(left.via, left.session, &left.client);
            details["seconds"] = json!(left.seconds.as_secs_f64());
            details["bytes"] = json!(left.bytes);
            details["reason"] = json!(left.reason.as_str());
            details
        });
        if left.via == Via::Stream {
            // A stream's request is answered when it ends: its line is written then. An HLS
            // session's requests each had their own line.
            self.access.session(&left);
        }
    }
}
