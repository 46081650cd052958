//! One connection, plain or TLS, from its first byte to its close: the opening (request head,
//! then a stream, a live source or hyper), the hand-off to the main runtime, and hyper for
//! whole responses over HTTP/1.1 or, where TLS negotiated it, HTTP/2.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio_rustls::server::TlsStream;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::direct::{self, Opening};
use super::listener::Slot;
use super::movable::MovableTcp;
use super::routes;
use crate::app::{App, Conn};
use crate::http::activity::{Activity, Counted};
use crate::http::head::Rewind;
use crate::http::timed_io::{TimedIo, WriteTimeout};
use crate::http::writer::{self, StreamWriter};

/// Most HTTP/2 streams open at once on one connection.
const H2_MAX_STREAMS: u32 = 100;
/// How often an HTTP/2 connection is pinged, and how long its answer may take.
const H2_PING_EVERY: Duration = Duration::from_secs(20);

/// How long shutdown lets hyper finish the responses under way.
pub(super) const HYPER_GRACE: Duration = Duration::from_secs(4);

/// A connection's byte stream: plain TCP, or TLS over it. Everything above reads and writes
/// the same way over both; what differs is where the connection lives.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send + Sized + 'static {
    /// Whether the bytes are encrypted (HSTS, the redirect to HTTPS, `https://` in playlists).
    const SECURE: bool;

    /// The TCP socket underneath (its send buffer is bounded in audio), while it is
    /// registered with a runtime.
    fn tcp(&self) -> Option<&TcpStream>;

    /// Whether ALPN chose HTTP/2: then hyper serves every request, streams included.
    fn is_h2(&self) -> bool;

    /// Carries on with `serve` on the main runtime, where the connection spends its life.
    fn carry_on<F, Fut>(io: TimedIo<Self>, connections: &TaskTracker, main: &Handle, serve: F)
    where
        F: FnOnce(TimedIo<Self>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static;
}

impl Transport for TcpStream {
    const SECURE: bool = false;

    fn tcp(&self) -> Option<&TcpStream> {
        Some(self)
    }

    fn is_h2(&self) -> bool {
        false
    }

    /// A plain connection was opened on the front runtime: the socket is taken off its IO
    /// driver and registered with the main one's, with the same write timeout.
    fn carry_on<F, Fut>(io: TimedIo<Self>, connections: &TaskTracker, main: &Handle, serve: F)
    where
        F: FnOnce(TimedIo<Self>) -> Fut + Send + 'static,
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
}

impl Transport for TlsStream<MovableTcp> {
    const SECURE: bool = true;

    fn tcp(&self) -> Option<&TcpStream> {
        self.get_ref().0.tcp()
    }

    fn is_h2(&self) -> bool {
        self.get_ref().1.alpn_protocol() == Some(b"h2")
    }

    /// A TLS connection is opened on the front runtime too (handshake, head, burst); its
    /// session moves to the main runtime with the socket under it re-registered there.
    fn carry_on<F, Fut>(io: TimedIo<Self>, connections: &TaskTracker, main: &Handle, serve: F)
    where
        F: FnOnce(TimedIo<Self>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let timeout = io.timeout().clone();
        let mut tls = io.into_inner();
        if tls.get_mut().0.leave().is_err() {
            return;
        }
        connections.spawn_on(
            async move {
                if tls.get_mut().0.arrive().is_ok() {
                    serve(TimedIo::new(tls, timeout)).await;
                }
            }
            .instrument(tracing::Span::current()),
            main,
        );
    }
}

/// What a connection's task needs besides its socket.
pub(super) struct Opened {
    pub peer: SocketAddr,
    pub app: Arc<App>,
    pub connections: TaskTracker,
    pub main: Handle,
    pub slot: Slot,
}

/// A connection's opening: a station stream gets its head and burst here and carries on (see
/// [`crate::http`]); a live source goes to [`crate::live`]; anything else goes to hyper.
pub(super) async fn open<T: Transport>(stream: T, opened: Opened) {
    let Opened {
        peer,
        app,
        connections,
        main,
        slot,
    } = opened;
    if let Some(tcp) = stream.tcp() {
        let _ = tcp.set_nodelay(true);
    }
    let config = app.config();
    let write_timeout =
        WriteTimeout::new(Duration::from_secs(config.pacing.client_timeout_s.get()));
    let header_timeout = Duration::from_secs(config.server.header_timeout_s.get());
    let conn = Conn {
        peer,
        write_timeout: write_timeout.clone(),
        secure: T::SECURE,
        streams: if stream.is_h2() {
            super::h2::StreamCap::h2()
        } else {
            super::h2::StreamCap::default()
        },
    };
    let mut io = TimedIo::new(stream, write_timeout);
    let opening = if io.get_ref().is_h2() {
        Opening::Other(Bytes::new())
    } else {
        direct::open(&mut io, &app, header_timeout).await
    };
    match opening {
        Opening::Stream(request) => {
            let (head, body) = direct::answer(&app, request, &conn).await;
            let endless = body.as_endless();
            if let (Some(plan), Some(tcp)) = (
                endless.and_then(|e| e.send_plan(head.len())),
                io.get_ref().tcp(),
            ) {
                writer::bound_send_buffer(tcp, plan);
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
            T::carry_on(io, &connections, &main, move |mut io| async move {
                let _slot = slot;
                let ended = writer.run(&mut io).await;
                // The listener is gone from its station now, not after the close below.
                drop(writer);
                match ended {
                    // The stream ended (off air, shutdown): a clean close, bounded by the
                    // write timeout.
                    Ok(()) => {
                        let _ = io.shutdown().await;
                    }
                    // Listeners leave and time out: normal life for a radio server. Nothing
                    // more is sent to them.
                    Err(error) => tracing::debug!(%peer, %error, "stream ended"),
                }
            });
        }
        Opening::Other(prefix) => {
            // The kernel holds a little of a whole response, not all of it: a client that
            // takes a segment a few bytes at a time keeps the writes waiting, where they are
            // timed, instead of holding the connection for as long as it likes.
            if let Some(tcp) = io.get_ref().tcp() {
                writer::bound_send_buffer(tcp, writer::SendBufferPlan::for_whole_responses());
            }
            let h2 = io.get_ref().is_h2();
            T::carry_on(io, &connections, &main, move |io| async move {
                let _slot = slot;
                let io = TimedIo::for_whole_responses(io.into_inner(), conn.write_timeout.clone());
                let http = Http { h2, header_timeout };
                serve_http(Rewind::new(prefix, io), app, conn, http).await
            });
        }
        Opening::Source(request, already) => {
            if let Some(tcp) = io.get_ref().tcp() {
                let bitrate = crate::live::ingest::bitrate_for(&app, &request);
                crate::live::ingest::bound_receive_buffer(tcp, bitrate);
            }
            T::carry_on(io, &connections, &main, move |io| async move {
                let _slot = slot;
                crate::live::ingest::serve(io, request, already, app, peer).await;
            });
        }
        Opening::Gone => {}
    }
}

/// The HTTP version a connection speaks, and how long hyper waits for a request head.
struct Http {
    h2: bool,
    header_timeout: Duration,
}

/// Serves requests with hyper (pages, status, playlists, errors; every request over HTTP/2)
/// until the connection closes.
async fn serve_http<T: Transport>(io: Rewind<TimedIo<T>>, app: Arc<App>, conn: Conn, http: Http) {
    let Http { h2, header_timeout } = http;
    let peer = conn.peer;
    let closing = app.closing.clone();
    let io = TokioIo::new(io);
    let result = if h2 {
        // A connection that asks for nothing for the header timeout is closed, as hyper does
        // for HTTP/1.1: every response counts as open until its body is done.
        let activity = Activity::new(tokio::time::Instant::now());
        let counted = Arc::clone(&activity);
        let service = service_fn(move |req| {
            let (app, conn, open) = (Arc::clone(&app), conn.clone(), counted.begin());
            async move {
                let response = routes::respond(&app, &req, &conn).await;
                Ok::<_, Infallible>(response.map(|body| Counted::new(body, open)))
            }
        });
        // Each stream's task is watched: one whose client keeps its window shut is dropped
        // after `client_timeout_s`, as a stalled HTTP/1.1 listener is.
        let mut builder = hyper::server::conn::http2::Builder::new(super::h2::StreamExecutor);
        builder
            .timer(TokioTimer::new())
            .max_header_list_size(crate::http::head::MAX_HEAD as u32)
            // A page, its status, playlists and segments need a handful of streams at once;
            // every stream may be a listener, and listener limits apply to each.
            .max_concurrent_streams(H2_MAX_STREAMS)
            // A peer that vanished while its streams' windows are shut (no write to time out)
            // is found by a ping it does not answer.
            .keep_alive_interval(H2_PING_EVERY)
            .keep_alive_timeout(H2_PING_EVERY);
        let conn = builder.serve_connection(io, service);
        let idle = Some((&*activity, header_timeout));
        until_closing(conn, &closing, idle, |c| c.graceful_shutdown()).await
    } else {
        let service = service_fn(move |req| {
            let (app, conn) = (Arc::clone(&app), conn.clone());
            async move { Ok::<_, Infallible>(routes::respond(&app, &req, &conn).await) }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(crate::http::head::MAX_HEAD)
            // A client may shut down its side once its request is sent; it is still answered.
            .half_close(true);
        let conn = builder.serve_connection(io, service);
        until_closing(conn, &closing, None, |c| c.graceful_shutdown()).await
    };
    if let Some(Err(error)) = result {
        // Clients leave, time out and send junk: normal life for a radio server.
        tracing::debug!(%peer, %error, "connection ended");
    }
}

/// Runs `conn` to its end; at shutdown, or once idle past the limit `idle` gives, asks it to
/// finish gracefully and waits a bounded time. `None` when it did not finish in time.
async fn until_closing<C, E>(
    conn: C,
    closing: &tokio_util::sync::CancellationToken,
    idle: Option<(&Activity, Duration)>,
    graceful: impl FnOnce(std::pin::Pin<&mut C>),
) -> Option<Result<(), E>>
where
    C: Future<Output = Result<(), E>>,
{
    tokio::pin!(conn);
    loop {
        // Checked again at least every header timeout while responses are open.
        let deadline = idle.map(|(activity, limit)| {
            activity
                .idle_deadline(limit)
                .unwrap_or_else(|| tokio::time::Instant::now() + limit)
        });
        let idle_past = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = conn.as_mut() => return Some(result),
            () = closing.cancelled() => break,
            () = idle_past => {
                let now = tokio::time::Instant::now();
                let over = idle.is_some_and(|(activity, limit)| {
                    activity.idle_deadline(limit).is_some_and(|at| at <= now)
                });
                if over {
                    // Nothing is open: nothing to finish.
                    return None;
                }
            }
        }
    }
    graceful(conn.as_mut());
    tokio::time::timeout(HYPER_GRACE, conn.as_mut()).await.ok()
}

/// A TLS connection's handshake on the front runtime, bounded by the header timeout; then it
/// opens as a plain one does.
pub(super) async fn open_tls(
    stream: TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    opened: Opened,
) {
    let header_timeout = Duration::from_secs(opened.app.config().server.header_timeout_s.get());
    match tokio::time::timeout(header_timeout, acceptor.accept(MovableTcp::new(stream))).await {
        Ok(Ok(tls)) => open(tls, opened).await,
        // Scanners, plain HTTP on the TLS port, clients that distrust the certificate.
        Ok(Err(error)) => tracing::debug!(peer = %opened.peer, %error, "TLS handshake failed"),
        Err(_) => tracing::debug!(peer = %opened.peer, "TLS handshake timed out"),
    }
}
