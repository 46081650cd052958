//! The front door: the accept loops of the plain and the TLS listener, and every plain
//! connection's opening, on a thread of its own.
//!
//! Every chunk wakes every listener's task at once; on the main runtime a new connection would
//! wait in line behind thousands of them (tens of milliseconds at 10,000 listeners). So the
//! front door is a small runtime of its own: it accepts, reads the request head, sends the
//! response head and the burst, and only then hands the connection to the main runtime, where
//! it spends its hours. A new listener's first byte never waits for the crowd.
//!
//! A TLS connection is opened here too: its handshake, head and burst, before its session moves
//! to the main runtime with the socket under it (see [`super::movable`]).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::connection::{self, Opened};
use super::listener::{is_peer_error, Slots};
use crate::app::App;

/// Longest pause of an accept loop after an accept error (such as EMFILE).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// A listening socket and what its connections speak.
pub(super) struct Door {
    /// The bound socket.
    pub listener: std::net::TcpListener,
    /// TLS settings for an HTTPS door; none for plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// The front door's thread.
pub(super) struct Acceptor {
    thread: std::thread::JoinHandle<()>,
}

impl Acceptor {
    /// Starts accepting on every door, until `app.closing`.
    pub fn start(
        doors: Vec<Door>,
        app: Arc<App>,
        connections: TaskTracker,
    ) -> std::io::Result<Acceptor> {
        for door in &doors {
            door.listener.set_nonblocking(true)?;
        }
        let front = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let main = tokio::runtime::Handle::current();
        let thread = std::thread::Builder::new()
            .name("onair-front".into())
            .spawn(move || {
                // Descriptors are counted over all doors: one cap for the process.
                let slots = Arc::new(Slots::for_this_process());
                let loops = doors.into_iter().map(|door| {
                    accept_loop(
                        door,
                        Arc::clone(&app),
                        connections.clone(),
                        main.clone(),
                        Arc::clone(&slots),
                    )
                });
                front.block_on(async move {
                    let mut set = tokio::task::JoinSet::new();
                    for accept in loops {
                        set.spawn(accept);
                    }
                    while set.join_next().await.is_some() {}
                });
                // Dropping the front runtime cancels the openings still in flight.
            })?;
        Ok(Acceptor { thread })
    }

    /// Waits for the front door to close (it stops accepting once `closing` is cancelled).
    pub async fn join(self) {
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}

async fn accept_loop(
    door: Door,
    app: Arc<App>,
    connections: TaskTracker,
    main: tokio::runtime::Handle,
    slots: Arc<Slots>,
) {
    let listener = match tokio::net::TcpListener::from_std(door.listener) {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, "cannot listen");
            return;
        }
    };
    let tls = door.tls.map(tokio_rustls::TlsAcceptor::from);
    let mut backoff = Duration::from_millis(10);
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
                let opened = Opened {
                    peer,
                    app: Arc::clone(&app),
                    connections: connections.clone(),
                    main: main.clone(),
                    slot,
                };
                match &tls {
                    None => {
                        connections.spawn(connection::open(stream, opened).instrument(span));
                    }
                    Some(acceptor) => {
                        connections.spawn(
                            connection::open_tls(stream, acceptor.clone(), opened).instrument(span),
                        );
                    }
                }
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
