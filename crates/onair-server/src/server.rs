//! The listening socket, the accept loop, one task per connection, and shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::{App, Conn};
use crate::config::{Config, ConfigError, ConfigSource};
use crate::registry::StationRegistry;
use crate::routes;
use crate::stats::ServerStats;
use crate::timed_io::{TimedIo, WriteTimeout};
use crate::watcher::Watcher;

/// Pending connections the kernel queues before `accept`: a burst of thousands of listeners
/// tuning in at once must not be refused.
const LISTEN_BACKLOG: i32 = 4096;
/// How long shutdown waits for connections to end after their streams were ended.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Longest pause of the accept loop after an accept error (such as EMFILE).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);
/// File descriptors kept for files, the watcher and logs, beside one per listener.
const SPARE_DESCRIPTORS: u64 = 256;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The config file is missing or invalid.
    #[error("invalid config: {0}")]
    Config(#[from] ConfigError),
    /// The listening socket could not be set up.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// A bound server with its stations on air, ready to [`run`](Server::run).
pub struct Server {
    listener: TcpListener,
    app: Arc<App>,
    config: watch::Sender<Arc<Config>>,
    config_error: watch::Sender<Option<ConfigError>>,
    /// Watches files from `bind` on, so that no change after `bind` returns is missed.
    watcher: Option<Watcher>,
}

impl Server {
    /// Reads the config, binds the listening socket and puts every station on air. A station
    /// that fails is logged and left out; only a bad config or a socket that cannot be bound is
    /// an error.
    pub async fn bind(source: ConfigSource) -> Result<Server, ServerError> {
        let config = source.load()?;
        raise_descriptor_limit(config.server.max_listeners.map(|m| m.get()));
        let addr = config.server.listen;
        let listener = listen(addr).map_err(|source| ServerError::Bind { addr, source })?;
        let local_addr = listener.local_addr().unwrap_or(addr);
        let registry = StationRegistry::new();
        let config = watch::Sender::new(Arc::new(config));
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
        registry.load(&config.borrow()).await;
        let app = Arc::new(App {
            registry,
            stats: ServerStats::default(),
            config: config.subscribe(),
            closing: CancellationToken::new(),
            local_addr,
        });
        Ok(Server {
            listener,
            app,
            config,
            config_error,
            watcher,
        })
    }

    /// The address the server listens on (with the real port when the config said port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.app.local_addr
    }

    /// The stations on air.
    pub fn registry(&self) -> Arc<StationRegistry> {
        Arc::clone(&self.app.registry)
    }

    /// The shared state request handlers see.
    pub fn app(&self) -> Arc<App> {
        Arc::clone(&self.app)
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
        tracing::info!(address = %app.local_addr, stations = app.registry.list().len(), "onair listening");
        let connections = TaskTracker::new();
        if let Some(watcher) = self.watcher.take() {
            connections.spawn(watcher.run(app.closing.clone()));
        }
        tokio::select! {
            () = self.accept_loop(&connections) => {}
            () = shutdown => {}
        }
        tracing::info!(listeners = app.listeners(), "shutting down");
        // Ending the hubs ends every audio body; the event streams end on `closing`; hyper then
        // finishes those responses, and idle keep-alive connections are told to close.
        app.closing.cancel();
        app.registry.shutdown(SHUTDOWN_GRACE).await;
        connections.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close in time; dropping them");
        }
        tracing::info!("stopped");
    }

    async fn accept_loop(&self, connections: &TaskTracker) {
        let mut backoff = Duration::from_millis(10);
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(10);
                    connections.spawn(serve(stream, peer, Arc::clone(&self.app)));
                }
                // The peer gave up before we accepted: nothing to do.
                Err(e) if is_peer_error(&e) => {}
                Err(error) => {
                    // Out of file descriptors or memory: existing listeners keep playing; wait
                    // for resources to free up, then accept again.
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                }
            }
        }
    }
}

/// Serves one connection until it closes, or until shutdown plus the grace period.
fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    app: Arc<App>,
) -> impl Future<Output = ()> + Send + 'static {
    let _ = stream.set_nodelay(true);
    let config = app.config();
    let write_timeout =
        WriteTimeout::new(Duration::from_secs(config.pacing.client_timeout_s.get()));
    let header_timeout = Duration::from_secs(config.server.header_timeout_s.get());
    let io = TokioIo::new(TimedIo::new(stream, write_timeout.clone()));
    let conn = Conn {
        peer,
        write_timeout,
    };
    let closing = app.closing.clone();
    async move {
        let service = service_fn(move |req| {
            let response = routes::respond(&app, &req, &conn);
            std::future::ready(Ok::<_, Infallible>(response))
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout);
        let conn = builder.serve_connection(io, service);
        tokio::pin!(conn);
        let result = tokio::select! {
            result = conn.as_mut() => result,
            () = closing.cancelled() => {
                conn.as_mut().graceful_shutdown();
                match tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await {
                    Ok(result) => result,
                    Err(_) => return,
                }
            }
        };
        if let Err(error) = result {
            // Clients leave, time out and send junk: normal life for a radio server.
            tracing::debug!(%peer, %error, "connection ended");
        }
    }
}

/// Binds `addr` with a large backlog and address reuse (a restart must not wait for TIME_WAIT).
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// Raises the soft open-file limit to the hard limit (every listener is a descriptor), and
/// warns when `max_listeners` cannot fit in it.
fn raise_descriptor_limit(max_listeners: Option<u64>) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            tracing::debug!(limit, "open-file limit");
            if let Some(max) = max_listeners {
                if max + SPARE_DESCRIPTORS > limit {
                    tracing::warn!(
                        limit,
                        max_listeners = max,
                        "the open-file limit cannot hold max_listeners; raise it (ulimit -n, LimitNOFILE=) or lower max_listeners"
                    );
                }
            }
        }
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
    }
}

fn is_peer_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
