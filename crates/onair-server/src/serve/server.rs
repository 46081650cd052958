//! The listening socket, the accept loop, one task per connection, and shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use onair_core::{SystemClock, WallClock};

use super::direct::{self, Opening};
use super::listener::{is_peer_error, listen, raise_descriptor_limit, Slot, Slots};
use super::routes;
use crate::app::{App, Conn};
use crate::config::{Config, ConfigError, ConfigSource};
use crate::http::head::Rewind;
use crate::http::timed_io::{TimedIo, WriteTimeout};
use crate::http::writer::{self, StreamWriter};
use crate::observe::stats::ServerStats;
use crate::stations::watcher::{self, Watcher};
use crate::stations::StationRegistry;

/// How long shutdown waits, in all, for stations and connections to end after their streams
/// were ended (within the 5 s the README promises).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);
/// Longest pause of the accept loop after an accept error (such as EMFILE).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

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
}

/// A bound server with its stations on air, ready to [`run`](Server::run).
pub struct Server {
    listener: std::net::TcpListener,
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
        let registry = StationRegistry::new(Arc::clone(&clock));
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
        registry.load(&config.borrow());
        let app = Arc::new(App {
            registry,
            stats: ServerStats::starting(&*clock),
            config: config.subscribe(),
            closing: CancellationToken::new(),
            local_addr,
            events: Default::default(),
            logins: Default::default(),
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
        let feed = Arc::clone(&app);
        connections.spawn(async move {
            feed.events
                .publish(
                    Arc::clone(&feed.registry),
                    feed.config.clone(),
                    feed.closing.clone(),
                )
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
        match Acceptor::start(self.listener, Arc::clone(&app), connections.clone()) {
            Ok(acceptor) => {
                shutdown.await;
                tracing::info!(listeners = app.listeners(), "shutting down");
                Self::stop(&app, &connections, Some(acceptor)).await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot start the accept thread; stopping");
                Self::stop(&app, &connections, None).await;
            }
        }
        tracing::info!("stopped");
    }

    /// The one shutdown sequence, within one deadline ([`SHUTDOWN_GRACE`]): `closing` ends the
    /// accept loop, the watcher, the event feed and every event stream; the registry takes every
    /// station off air, which ends every listener's stream after a whole chunk; hyper finishes
    /// the other responses. Whatever is still open at the deadline is dropped.
    async fn stop(app: &Arc<App>, connections: &TaskTracker, acceptor: Option<Acceptor>) {
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
    }
}

/// The front door: the accept loop and every connection's opening, on a thread of its own.
///
/// Every chunk wakes every listener's task at once; on the main runtime a new
/// connection would wait in line behind thousands of them (tens of milliseconds at 10,000
/// listeners). So the front door is a small runtime of its own: it accepts, reads the request
/// head, sends the response head and the burst, and only then hands the connection to the main
/// runtime, where it spends its hours. A new listener's first byte never waits for the crowd.
struct Acceptor {
    thread: std::thread::JoinHandle<()>,
}

impl Acceptor {
    fn start(
        listener: std::net::TcpListener,
        app: Arc<App>,
        connections: TaskTracker,
    ) -> std::io::Result<Acceptor> {
        listener.set_nonblocking(true)?;
        let front = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let main = tokio::runtime::Handle::current();
        let thread = std::thread::Builder::new()
            .name("onair-front".into())
            .spawn(move || {
                front.block_on(accept_loop(listener, app, connections, main));
                // Dropping the front runtime cancels the openings still in flight.
            })?;
        Ok(Acceptor { thread })
    }

    /// Waits for the front door to close (it stops accepting once `closing` is cancelled).
    async fn join(self) {
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    app: Arc<App>,
    connections: TaskTracker,
    main: tokio::runtime::Handle,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, "cannot listen");
            return;
        }
    };
    let mut backoff = Duration::from_millis(10);
    let slots = Slots::for_this_process();
    loop {
        let accepted = tokio::select! {
            () = app.closing.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::from_millis(10);
                // The descriptors kept for station files, probes and the watcher are never
                // spent on connections: past the cap a new one is closed at once.
                let Some(slot) = slots.take() else {
                    drop(stream);
                    continue;
                };
                // Every log line about this connection says whose it is, from RUST_LOG=debug on
                // (where the per-listener lines are): at the default level the span costs
                // nothing, where an enabled span on each of 10,000 listeners' polls cost 9% of a
                // core and 500 bytes a listener.
                let span = tracing::debug_span!("conn", %peer);
                connections.spawn(
                    open(
                        stream,
                        peer,
                        Arc::clone(&app),
                        connections.clone(),
                        main.clone(),
                        slot,
                    )
                    .instrument(span),
                );
            }
            // The peer gave up before we accepted: nothing to do.
            Err(e) if is_peer_error(&e) => {}
            Err(error) => {
                // Out of file descriptors or memory: existing listeners keep playing; wait for
                // resources to free up, then accept again.
                tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
            }
        }
    }
}

/// A connection's opening, on the front runtime: a station stream gets its head and burst
/// here and moves on to the main runtime (see [`crate::http`]); anything else goes to hyper there.
async fn open(
    stream: TcpStream,
    peer: SocketAddr,
    app: Arc<App>,
    connections: TaskTracker,
    main: tokio::runtime::Handle,
    slot: Slot,
) {
    let _ = stream.set_nodelay(true);
    let config = app.config();
    let write_timeout =
        WriteTimeout::new(Duration::from_secs(config.pacing.client_timeout_s.get()));
    let header_timeout = Duration::from_secs(config.server.header_timeout_s.get());
    let conn = Conn {
        peer,
        write_timeout: write_timeout.clone(),
    };
    let mut io = TimedIo::new(stream, write_timeout);
    match direct::open(&mut io, &app, header_timeout).await {
        Opening::Stream(request) => {
            let (head, body) = direct::answer(&app, request, &conn).await;
            let endless = body.as_endless();
            if let Some(plan) = endless.and_then(|e| e.send_plan(head.len())) {
                writer::bound_send_buffer(io.get_ref(), plan);
            }
            let read_closed_ends = endless.is_some_and(|e| e.ends_with_client_close());
            let mut writer = StreamWriter::new(head, body, read_closed_ends);
            match writer.write_ready(&mut io).await {
                Ok(false) => {}
                // Done already (a refusal, a HEAD, a probe) or gone.
                Ok(true) | Err(_) => {
                    let _ = io.shutdown().await;
                    return;
                }
            }
            move_to_main(io, &connections, &main, move |mut io| async move {
                let _slot = slot;
                if let Err(error) = writer.run(&mut io).await {
                    // Listeners leave and time out: normal life for a radio server.
                    tracing::debug!(%peer, %error, "stream ended");
                }
                let _ = io.shutdown().await;
            });
        }
        Opening::Other(prefix) => {
            // The kernel holds a little of a whole response, not all of it: a client that
            // takes a segment a few bytes at a time keeps the writes waiting, where they are
            // timed, instead of holding the connection for as long as it likes.
            writer::bound_send_buffer(io.get_ref(), writer::SendBufferPlan::for_whole_responses());
            move_to_main(io, &connections, &main, move |io| async move {
                let _slot = slot;
                let io = TimedIo::for_whole_responses(io.into_inner(), conn.write_timeout.clone());
                serve_http(Rewind::new(prefix, io), app, conn, header_timeout).await
            });
        }
        Opening::Source(request, already) => {
            move_to_main(io, &connections, &main, move |io| async move {
                let _slot = slot;
                crate::live::ingest::serve(io, request, already, app, peer).await;
            });
        }
        Opening::Gone => {}
    }
}

/// Hands a connection from the front runtime to the main one: the socket is taken off the front
/// runtime's IO driver and registered with the main one's, and `serve` carries on there with the
/// same write timeout.
fn move_to_main<F, Fut>(
    io: TimedIo<TcpStream>,
    connections: &TaskTracker,
    main: &tokio::runtime::Handle,
    serve: F,
) where
    F: FnOnce(TimedIo<TcpStream>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let timeout = io.timeout().clone();
    // `into_std` leaves the socket non-blocking, as `from_std` wants it.
    let Ok(stream) = io.into_inner().into_std() else {
        return;
    };
    connections.spawn_on(
        async move {
            if let Ok(stream) = TcpStream::from_std(stream) {
                serve(TimedIo::new(stream, timeout)).await;
            }
        }
        .instrument(tracing::Span::current()),
        main,
    );
}

/// Serves requests with hyper (pages, status, playlists, errors) until the connection closes.
async fn serve_http(
    io: Rewind<TimedIo<TcpStream>>,
    app: Arc<App>,
    conn: Conn,
    header_timeout: Duration,
) {
    let peer = conn.peer;
    let closing = app.closing.clone();
    let service = service_fn(move |req| {
        let (app, conn) = (Arc::clone(&app), conn.clone());
        async move { Ok::<_, Infallible>(routes::respond(&app, &req, &conn).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(crate::http::head::MAX_HEAD)
        // A client may shut down its side once its request is sent; it is still answered.
        .half_close(true);
    let conn = builder.serve_connection(TokioIo::new(io), service);
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
