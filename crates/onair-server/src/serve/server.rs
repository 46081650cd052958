//! The listening socket, the accept loop, one task per connection, and shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use onair_core::{SystemClock, WallClock};

use super::front::{Acceptor, Door};
use super::listener::{listen, raise_descriptor_limit};
use crate::app::App;
use crate::config::AccessTarget;
use crate::config::{Config, ConfigError, ConfigSource};
use crate::observe::access_log::{AccessLog, AccessWriter};
use crate::observe::analytics::store::{Store, StoreWriter};
use crate::observe::outbox::{Outbox, Postman};
use crate::observe::sessions::Sessions;
use crate::observe::stats::ServerStats;
use crate::stations::watcher::{self, Watcher};
use crate::stations::StationRegistry;
use crate::tls::reload::Reloader;
use crate::tls::{CertStore, TlsError};

/// How long shutdown waits, in all, for stations and connections to end after their streams
/// were ended (within the 5 s the README promises).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The config file is missing or invalid.
    #[error("invalid config")]
    Config(#[from] ConfigError),
    /// The listening socket could not be set up.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The HTTPS listener's certificate or key cannot be served.
    #[error("cannot serve HTTPS")]
    Tls(#[from] TlsError),
    /// The analytics folder cannot be made or written.
    #[error("cannot keep analytics in {dir:?}")]
    Analytics {
        /// The folder.
        dir: std::path::PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The access log cannot be opened.
    #[error("cannot open the access log {target:?}")]
    AccessLog {
        /// Where it was to go.
        target: crate::config::AccessTarget,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// A bound server with its stations on air, ready to [`run`](Server::run).
pub struct Server {
    listener: std::net::TcpListener,
    /// The HTTPS listener and its settings, when `[server] listen_tls` is set.
    tls: Option<(std::net::TcpListener, Arc<rustls::ServerConfig>)>,
    /// Watches the certificate's files from `bind` on.
    reloader: Option<Reloader>,
    app: Arc<App>,
    config: watch::Sender<Arc<Config>>,
    config_error: watch::Sender<Option<ConfigError>>,
    /// Watches files from `bind` on, so that no change after `bind` returns is missed.
    watcher: Option<Watcher>,
    /// Writes the access log, when one is kept.
    access_writer: Option<AccessWriter>,
    /// Sends the POSTs nothing waits for (`listener_remove`, webhooks).
    postman: Option<Postman>,
    /// The analytics records kept, and their writer (when `[analytics] dir` is set).
    analytics: (Store, Option<StoreWriter>),
}

impl Server {
    /// Reads the config, binds the listening socket and puts every station on air. A station
    /// that fails is logged and left out; only a bad config or a socket that cannot be bound is
    /// an error.
    pub async fn bind(source: ConfigSource) -> Result<Server, ServerError> {
        Server::bind_with_clock(source, SystemClock::shared()).await
    }

    /// Like [`bind`](Self::bind), with wall time from `clock` (tests step a
    /// [`TestClock`](onair_core::TestClock) instead of waiting on the system's).
    pub async fn bind_with_clock(
        source: ConfigSource,
        clock: Arc<dyn WallClock>,
    ) -> Result<Server, ServerError> {
        let config = source.load()?;
        raise_descriptor_limit(config.server.max_listeners.map(|m| m.get()));
        let addr = config.server.listen;
        let listener = listen(addr).map_err(|source| ServerError::Bind { addr, source })?;
        let local_addr = listener.local_addr().unwrap_or(addr);
        let (tls, cert_store) = match (config.server.listen_tls, config.tls.files()) {
            (Some(addr), Some((cert, key))) => {
                let store = CertStore::open(cert, key, clock.now())?;
                let settings = store.server_config()?;
                let listener = listen(addr).map_err(|source| ServerError::Bind { addr, source })?;
                (Some((listener, settings)), Some(store))
            }
            _ => (None, None),
        };
        let tls_addr = tls.as_ref().and_then(|(l, _)| l.local_addr().ok());
        let reloader = cert_store
            .as_ref()
            .map(|store| Reloader::new(Arc::clone(store)));
        let (access, access_writer) =
            AccessLog::open(config.log.access.as_ref()).map_err(|source| {
                ServerError::AccessLog {
                    target: config.log.access.clone().unwrap_or(AccessTarget::Stdout),
                    source,
                }
            })?;
        let analytics = &config.analytics;
        let (store, store_writer) = Store::open(
            analytics.dir.as_deref(),
            analytics.retention_days.get(),
            Arc::clone(&clock),
        )
        .map_err(|source| ServerError::Analytics {
            dir: analytics.dir.clone().unwrap_or_default(),
            source,
        })?;
        let stats = Arc::new(ServerStats::starting(&*clock));
        let registry = StationRegistry::new(Arc::clone(&clock));
        let (outbox, postman) = Outbox::new();
        let config = watch::Sender::new(Arc::new(config));
        registry.report_to(Arc::new(Sessions::new(
            Arc::clone(&stats),
            (access.clone(), store.clone()),
            outbox.clone(),
            (config.subscribe(), Arc::clone(&clock)),
        )));
        // Each station's relay runs beside it (idle where none is configured).
        registry.run_beside(crate::relay::task::beside_each_station());
        let config_error = watch::Sender::new(None);
        // The watcher applies file and config changes while onair runs; without it (no inotify
        // watches left, say) the stations stay as they are.
        let watcher = Watcher::new(
            Arc::clone(&registry),
            source,
            config.clone(),
            config_error.clone(),
        )
        .inspect_err(|error| {
            tracing::warn!(%error, "cannot watch files; station and config changes need a restart")
        })
        .ok();
        registry.load(&config.borrow());
        let app = Arc::new(App {
            registry,
            stats,
            access,
            outbox,
            config: config.subscribe(),
            closing: CancellationToken::new(),
            local_addr,
            tls_addr,
            cert_store,
            events: Default::default(),
            logins: Default::default(),
        });
        Ok(Server {
            listener,
            tls,
            reloader,
            app,
            config,
            config_error,
            watcher,
            access_writer,
            postman: Some(postman),
            analytics: (store, store_writer),
        })
    }

    /// The address the server listens on (with the real port when the config said port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.app.local_addr
    }

    /// The address the server listens on for HTTPS, if it does.
    pub fn local_tls_addr(&self) -> Option<SocketAddr> {
        self.app.tls_addr
    }

    /// The stations on air.
    pub fn registry(&self) -> Arc<StationRegistry> {
        Arc::clone(&self.app.registry)
    }

    /// The config in force (the last good one).
    pub fn config(&self) -> watch::Receiver<Arc<Config>> {
        self.config.subscribe()
    }

    /// Why the config file's current contents were rejected, if they were.
    pub fn config_error(&self) -> watch::Receiver<Option<ConfigError>> {
        self.config_error.subscribe()
    }

    /// Serves until `shutdown` completes, then stops accepting, ends every listener's stream
    /// and returns once the connections have closed, or after a bounded grace period.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        let app = Arc::clone(&self.app);
        match app.tls_addr {
            Some(tls) => {
                tracing::info!(address = %app.local_addr, https = %tls, "onair listening; each station says when it is on air")
            }
            None => {
                tracing::info!(address = %app.local_addr, "onair listening; each station says when it is on air")
            }
        }
        let connections = TaskTracker::new();
        let feed = Arc::clone(&app);
        connections.spawn(async move {
            feed.events
                .publish(Arc::clone(&feed.registry), feed.closing.clone())
                .await
        });
        match self.watcher.take() {
            Some(watcher) => {
                connections.spawn(watcher.run(app.closing.clone()));
            }
            None => {
                connections.spawn(watcher::hangups_without_watcher(app.closing.clone()));
            }
        }
        if app.access.is_on() {
            connections.spawn(reopen_on_hangup(app.access.clone(), app.closing.clone()));
        }
        if let Some(reloader) = self.reloader.take() {
            connections.spawn(reloader.run(
                app.config.clone(),
                Arc::clone(app.clock()),
                app.closing.clone(),
            ));
        }
        let mut doors = vec![Door {
            listener: self.listener,
            tls: None,
        }];
        if let Some((listener, settings)) = self.tls.take() {
            doors.push(Door {
                listener,
                tls: Some(settings),
            });
        }
        // The postman outlives the connections: the sessions that end at shutdown are told.
        let mail_stop = CancellationToken::new();
        // Webhooks: what happens on air, looked at every second.
        connections.spawn(crate::observe::hooks::run(
            Arc::clone(&app.registry),
            app.config.clone(),
            app.outbox.clone(),
            app.closing.clone(),
        ));
        let postman = self
            .postman
            .take()
            .map(|postman| tokio::spawn(postman.run(mail_stop.clone(), Duration::from_secs(1))));
        if self.analytics.0.is_on() {
            connections.spawn(crate::observe::analytics::keep_plays(
                Arc::clone(&app.registry),
                self.analytics.0.clone(),
                app.closing.clone(),
            ));
        }
        let after = Afterwards {
            store_writer: self.analytics.1.take(),
            access_writer: self.access_writer.take(),
            postman: postman.map(|p| (p, mail_stop)),
        };
        match Acceptor::start(doors, Arc::clone(&app), connections.clone()) {
            Ok(acceptor) => {
                shutdown.await;
                tracing::info!(listeners = app.listeners(), "shutting down");
                Self::stop(&app, &connections, Some(acceptor), after).await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot start the accept thread; stopping");
                Self::stop(&app, &connections, None, after).await;
            }
        }
        tracing::info!("stopped");
    }

    /// The one shutdown sequence, within one deadline ([`SHUTDOWN_GRACE`]): `closing` ends the
    /// accept loop, the watcher, the event feed and every event stream; the registry takes every
    /// station off air, which ends every listener's stream after a whole chunk; hyper finishes
    /// the other responses. Whatever is still open at the deadline is dropped. Then the access
    /// log writes the lines of the sessions that ended, and closes.
    async fn stop(
        app: &Arc<App>,
        connections: &TaskTracker,
        acceptor: Option<Acceptor>,
        after: Afterwards,
    ) {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        app.closing.cancel();
        if let Some(acceptor) = acceptor {
            acceptor.join().await;
        }
        app.registry.shutdown(deadline).await;
        connections.close();
        if tokio::time::timeout_at(deadline, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close in time; dropping them");
        }
        if let Some((postman, stop)) = after.postman {
            stop.cancel();
            let _ = tokio::time::timeout_at(deadline + Duration::from_secs(1), postman).await;
        }
        if let Some(writer) = after.access_writer {
            writer.stop(deadline + Duration::from_secs(1)).await;
        }
        if let Some(writer) = after.store_writer {
            writer.stop(deadline + Duration::from_secs(1)).await;
        }
    }
}

/// What ends after the connections: the postman (the sessions that ended at shutdown are
/// told) and the access log (their lines are written).
struct Afterwards {
    store_writer: Option<StoreWriter>,
    access_writer: Option<AccessWriter>,
    postman: Option<(tokio::task::JoinHandle<()>, CancellationToken)>,
}

/// Reopens the access log on every SIGHUP (logrotate moved it), until `closing`.
async fn reopen_on_hangup(access: AccessLog, closing: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangups) = signal(SignalKind::hangup())
            .inspect_err(|error| tracing::warn!(%error, "cannot listen for SIGHUP: the access log is never reopened"))
        else {
            return;
        };
        loop {
            tokio::select! {
                () = closing.cancelled() => return,
                got = hangups.recv() => match got {
                    Some(()) => access.reopen(),
                    None => return,
                },
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (access, closing);
    }
}
