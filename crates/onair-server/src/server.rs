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

use crate::config::{Config, ConfigError, ConfigSource};
use crate::registry::StationRegistry;
use crate::routes;
use crate::timed_io::{TimedIo, WriteTimeout};
use crate::watcher::Watcher;

/// Pending connections the kernel queues before `accept`: a burst of thousands of listeners
/// tuning in at once must not be refused.
const LISTEN_BACKLOG: i32 = 4096;
/// How long shutdown waits for connections to end after their streams were ended.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Longest pause of the accept loop after an accept error (such as EMFILE).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

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
    registry: Arc<StationRegistry>,
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
        let addr = config.server.listen;
        let listener = listen(addr).map_err(|source| ServerError::Bind { addr, source })?;
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
        .inspect_err(|error| tracing::warn!(%error, "cannot watch files; station and config changes need a restart"))
        .ok();
        registry.load(&config.borrow()).await;
        Ok(Server {
            listener,
            registry,
            config,
            config_error,
            watcher,
        })
    }

    /// The address the server listens on (with the real port when the config said port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.config.borrow().server.listen)
    }

    /// The config in force (the last good one).
    pub fn config(&self) -> watch::Receiver<Arc<Config>> {
        self.config.subscribe()
    }

    /// Why the config file's current contents were rejected, if they were.
    pub fn config_error(&self) -> watch::Receiver<Option<ConfigError>> {
        self.config_error.subscribe()
    }

    /// The stations on air.
    pub fn registry(&self) -> Arc<StationRegistry> {
        Arc::clone(&self.registry)
    }

    /// Serves until `shutdown` completes, then stops accepting, ends every listener's stream
    /// and returns once the connections have closed, or after a bounded grace period.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tracing::info!(address = %self.local_addr(), stations = self.registry.list().len(), "onair listening");
        let connections = TaskTracker::new();
        let closing = CancellationToken::new();
        if let Some(watcher) = self.watcher.take() {
            connections.spawn(watcher.run(closing.clone()));
        }
        tokio::select! {
            () = self.accept_loop(&connections, &closing) => {}
            () = shutdown => {}
        }
        tracing::info!(listeners = self.listener_count(), "shutting down");
        // Ending the hubs ends every audio body; hyper then finishes those responses and idle
        // keep-alive connections are told to close.
        self.registry.shutdown(SHUTDOWN_GRACE).await;
        closing.cancel();
        connections.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close in time; dropping them");
        }
        tracing::info!("stopped");
    }

    fn listener_count(&self) -> usize {
        self.registry.list().iter().map(|s| s.hub.listeners()).sum()
    }

    async fn accept_loop(&self, connections: &TaskTracker, closing: &CancellationToken) {
        let mut backoff = Duration::from_millis(10);
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(10);
                    let config = Arc::clone(&self.config.borrow());
                    let conn = serve(
                        stream,
                        peer,
                        Arc::clone(&self.registry),
                        &config,
                        closing.clone(),
                    );
                    connections.spawn(conn);
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
    registry: Arc<StationRegistry>,
    config: &Config,
    closing: CancellationToken,
) -> impl Future<Output = ()> + Send + 'static {
    let _ = stream.set_nodelay(true);
    let write_timeout =
        WriteTimeout::new(Duration::from_secs(config.pacing.client_timeout_s.get()));
    let header_timeout = Duration::from_secs(config.server.header_timeout_s.get());
    let io = TokioIo::new(TimedIo::new(stream, write_timeout.clone()));
    async move {
        let service = service_fn(move |req| {
            let response = routes::respond(&registry, &req, peer, &write_timeout);
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

fn is_peer_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
