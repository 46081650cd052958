//! Listener streams written straight onto the socket, around hyper.
//!
//! hyper keeps an 8 KiB read buffer and an 8 KiB header buffer for the life of every
//! connection. For a page that is nothing; for a radio listener connected for hours it is most
//! of what the listener costs (16 KiB x 19,000 listeners = 300 MiB). So each connection's request
//! head is read here first, into a small buffer freed once parsed: a `GET`/`HEAD` of a station
//! stream (or of `/events`) is answered by the same [`routes::respond`] as everything else, and its response is
//! written here, chunk by chunk, with no buffer of its own. Every other request (and anything
//! that does not parse cleanly) goes to hyper, which is handed the bytes already read.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::{Request, Version};
use http_body::Body as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::app::{App, Conn};
use crate::body::Body;
use crate::routes::{self, Route};

/// The longest request head read here; longer ones go to hyper, which answers 431.
const MAX_HEAD: usize = 16 * 1024;
/// Headers parsed here; more go to hyper.
const MAX_HEADERS: usize = 48;

/// What the first bytes of a connection turned out to be.
pub enum Opening {
    /// A station stream request, answered here.
    Stream(Request<()>),
    /// Anything else: hyper serves it, starting with these bytes.
    Other(Bytes),
    /// The client closed or sent nothing in time.
    Gone,
}

/// Reads the request head (bounded in size and by `timeout`) and sorts the request.
pub async fn open<S: AsyncRead + Unpin>(io: &mut S, app: &App, timeout: Duration) -> Opening {
    let read = tokio::time::timeout(timeout, read_head(io, MAX_HEAD)).await;
    match read {
        Ok(Head::Complete { bytes, len }) => match parse_stream_request(&bytes[..len], app) {
            // Bytes pipelined after a stream request are read and dropped by the writer.
            Some(request) => Opening::Stream(request),
            None => Opening::Other(bytes.freeze()),
        },
        // hyper answers 431 to an oversized head.
        Ok(Head::TooLarge(bytes)) => Opening::Other(bytes.freeze()),
        // Half a request, then silence or a close: hyper has nothing to add.
        Ok(Head::Gone) | Err(_) => Opening::Gone,
    }
}

/// What [`read_head`] read.
#[derive(Debug)]
pub enum Head {
    /// A whole head of `len` bytes at the start of `bytes`; whatever follows it was pipelined.
    Complete {
        /// Everything read.
        bytes: BytesMut,
        /// The head's length, its blank line included.
        len: usize,
    },
    /// `limit` bytes without the end of a head.
    TooLarge(BytesMut),
    /// The client closed, or the connection failed, before the head ended.
    Gone,
}

/// Reads until the blank line that ends a request head: CRLF CRLF, or bare LF line endings as
/// RFC 9112 section 2.2 allows (httparse and hyper accept them too). Each read is scanned once,
/// so a head trickled in byte by byte costs no more than one sent at once. The client may
/// half-close its side once the head is sent: the head is complete, and it is served.
pub async fn read_head<S: AsyncRead + Unpin>(io: &mut S, limit: usize) -> Head {
    let mut bytes = BytesMut::with_capacity(1024);
    let mut scanned = 0;
    loop {
        if let Some(len) = head_end(&bytes, scanned) {
            return Head::Complete { bytes, len };
        }
        // The end may straddle reads: keep the last two bytes for the next scan.
        scanned = bytes.len().saturating_sub(2);
        if bytes.len() >= limit {
            return Head::TooLarge(bytes);
        }
        bytes.reserve(1024.min(limit - bytes.len()));
        match tokio::io::AsyncReadExt::read_buf(io, &mut bytes).await {
            Ok(0) | Err(_) => return Head::Gone,
            Ok(_) => {}
        }
    }
}

/// The length of the head ending in `bytes`, looking for its blank line from `from` on.
fn head_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = bytes.get(at..)?.iter().position(|&b| b == b'\n') {
        let lf = at + i;
        match bytes.get(lf + 1..) {
            Some([b'\n', ..]) => return Some(lf + 2),
            Some([b'\r', b'\n', ..]) => return Some(lf + 3),
            _ => at = lf + 1,
        }
    }
    None
}

/// The request in `head` if it is a clean `GET`/`HEAD` of a station on air, or of `/events`.
fn parse_stream_request(head: &[u8], app: &App) -> Option<Request<()>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    if !matches!(parsed.parse(head), Ok(httparse::Status::Complete(_))) {
        return None;
    }
    let method = parsed.method?;
    if method != "GET" && method != "HEAD" {
        return None;
    }
    let path = parsed.path?;
    // Web players add cache-busting queries (`/jazz?t=1700000000`): the station is the path.
    match Route::of(path.split('?').next()?) {
        Route::Stream(name) => {
            app.registry.get(name)?;
        }
        // Endless too: written here, with no hyper buffers held per open page.
        Route::Events => {}
        _ => return None,
    }
    let mut request =
        Request::builder()
            .method(method)
            .uri(path)
            .version(if parsed.version == Some(0) {
                Version::HTTP_10
            } else {
                Version::HTTP_11
            });
    for header in parsed.headers.iter() {
        request = request.header(header.name, header.value);
    }
    request.body(()).ok()
}

/// Answers a stream request: the response head, ready to send, and the body to follow it.
pub fn answer(app: &Arc<App>, request: Request<()>, conn: &Conn) -> (Bytes, Body) {
    let response = routes::respond(app, &request, conn);
    let head_only = request.method() == http::Method::HEAD;
    let (parts, body) = response.into_parts();
    (Bytes::from(response_head(&parts, &body, head_only)), body)
}

/// The status line and headers.
fn response_head(parts: &http::response::Parts, body: &Body, head_only: bool) -> Vec<u8> {
    let mut head = Vec::with_capacity(1024);
    let version = if parts.version == Version::HTTP_10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    let reason = parts.status.canonical_reason().unwrap_or("");
    head.extend_from_slice(format!("{version} {} {reason}\r\n", parts.status.as_u16()).as_bytes());
    for (name, value) in &parts.headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    // A HEAD answer carries the headers a GET would, and a GET of a stream has no length.
    if let Some(length) = body.size_hint().exact().filter(|_| !head_only) {
        head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes());
    }
    if !parts.headers.contains_key(http::header::CONNECTION) {
        head.extend_from_slice(b"connection: close\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// Writes a response head and then its body, as the body produces data, until it ends.
///
/// What a listener's task holds for hours is this struct and nothing more: the body and the
/// pieces not yet written. Everything the body has ready goes out in one vectored write (the
/// head and the whole burst at connect; one chunk at a time after that, with no allocation per
/// write).
pub struct StreamWriter {
    body: Body,
    pieces: Vec<Bytes>,
    body_done: bool,
    /// The client half-closed (sent its FIN): it may still read, so the stream goes on, and a
    /// client that is really gone is noticed by the next write.
    read_closed: bool,
    /// A close of the client's side ends the response (event streams).
    read_closed_ends: bool,
    /// The first write (head and burst) was tried: from then on the body is polled only when
    /// everything before has been written, so that a listener whose socket is full keeps no
    /// chunks here and falls behind in its subscription, where `queue_ms` skips it forward.
    opened: bool,
}

/// Most pieces gathered into one write.
const MAX_PIECES: usize = 64;

impl StreamWriter {
    /// A writer of `head`, then `body`.
    pub fn new(head: Bytes, body: Body) -> Self {
        // A browser's EventSource never half-closes: its close is a page gone, freeing its place
        // at once. An audio client may half-close and go on listening.
        let read_closed_ends = matches!(body, Body::Events(_));
        StreamWriter {
            read_closed_ends,
            body,
            pieces: vec![head],
            body_done: false,
            read_closed: false,
            opened: false,
        }
    }

    /// Writes until the response is complete, or the client leaves.
    pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(&mut self, io: &mut S) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_progress(io, cx)).await
    }

    /// Writes what can be written now; `Ok(true)` when the response is complete, `Ok(false)`
    /// when the rest has to wait (for the socket or for the body).
    pub async fn write_ready<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
    ) -> io::Result<bool> {
        std::future::poll_fn(|cx| match self.poll_progress(io, cx) {
            Poll::Ready(done) => Poll::Ready(done.map(|()| true)),
            Poll::Pending => Poll::Ready(Ok(false)),
        })
        .await
    }

    fn poll_progress<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.read_closed {
            match poll_client_gone(io, cx) {
                Poll::Ready(gone)
                    if gone.kind() == io::ErrorKind::UnexpectedEof && !self.read_closed_ends =>
                {
                    self.read_closed = true;
                }
                Poll::Ready(gone) => return Poll::Ready(Err(gone)),
                Poll::Pending => {}
            }
        }
        loop {
            // Gather what the body has ready: at the opening (head and burst in one write), and
            // afterwards only once the socket has taken everything gathered before.
            let idle = self.pieces.is_empty() || !self.opened;
            self.opened = true;
            while idle && !self.body_done && self.pieces.len() < MAX_PIECES {
                match Pin::new(&mut self.body).poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            self.pieces.push(data);
                        }
                    }
                    Poll::Ready(Some(Err(never))) => match never {},
                    Poll::Ready(None) => self.body_done = true,
                    Poll::Pending => break,
                }
            }
            if self.pieces.is_empty() {
                // Waiting for the body (its waker is registered), or finished.
                return if self.body_done {
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                };
            }
            std::task::ready!(self.poll_write_pieces(io, cx))?;
        }
    }

    /// Writes from the pieces; `Ready(Ok)` once they are all out.
    fn poll_write_pieces<S: AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        while !self.pieces.is_empty() {
            let io = Pin::new(&mut *io);
            let written = if self.pieces.len() == 1 {
                std::task::ready!(io.poll_write(cx, &self.pieces[0]))?
            } else {
                let mut slices = [io::IoSlice::new(&[]); MAX_PIECES];
                for (slice, piece) in slices.iter_mut().zip(&self.pieces) {
                    *slice = io::IoSlice::new(piece);
                }
                let n = self.pieces.len().min(MAX_PIECES);
                std::task::ready!(io.poll_write_vectored(cx, &slices[..n]))?
            };
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            let mut written = written;
            while written > 0 {
                let first = &mut self.pieces[0];
                if written >= first.len() {
                    written -= first.len();
                    self.pieces.remove(0);
                } else {
                    first.advance(written);
                    written = 0;
                }
            }
        }
        // After the burst, one piece at a time: keep no room for twenty.
        self.pieces.shrink_to(2);
        Poll::Ready(Ok(()))
    }
}

/// Whether the client has reset the connection (a listener that leaves is noticed at once, not
/// at the next write), or closed its side (`UnexpectedEof`: a half-close, or a close that the
/// next write will confirm). Anything it sends meanwhile is read and dropped (a stream takes no
/// further requests). `Pending` while the connection is open.
fn poll_client_gone<S: AsyncRead + Unpin>(io: &mut S, cx: &mut Context<'_>) -> Poll<io::Error> {
    let mut scratch = [0u8; 512];
    // Bounded: a client that keeps sending is dealt with again at the next poll.
    for _ in 0..8 {
        let mut buf = ReadBuf::new(&mut scratch);
        match Pin::new(&mut *io).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed its side of the connection",
                ));
            }
            Poll::Ready(Ok(())) => continue,
            Poll::Ready(Err(error)) => return Poll::Ready(error),
            Poll::Pending => return Poll::Pending,
        }
    }
    Poll::Pending
}

/// Bounds what the kernel holds for one listener, in audio: about the head and burst plus two
/// chunks in the send buffer, and about one chunk not yet sent.
///
/// Left alone, Linux grows a socket's send buffer to megabytes for a client that stops reading
/// (tens of seconds of audio queued where `queue_ms` cannot see it, and kernel memory that 500
/// stalled clients turn into half a gigabyte). With the send buffer sized to the burst, the burst
/// still goes out in one write; with `TCP_NOTSENT_LOWAT` at one chunk the socket takes a new
/// chunk only once the previous one is on its way, so a listener that stops reading stalls
/// the writer within a chunk: its lag then grows in the hub (skipped forward past `queue_ms`)
/// and its stalled write is timed (`client_timeout_s`).
pub fn bound_send_buffer(socket: &tokio::net::TcpStream, plan: SendBufferPlan) {
    let socket = socket2::SockRef::from(socket);
    if let Err(error) = socket.set_send_buffer_size(plan.send_buffer) {
        tracing::debug!(%error, "cannot set the send buffer size");
    }
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    if let Err(error) = socket.set_tcp_notsent_lowat(plan.unsent as u32) {
        tracing::debug!(%error, "cannot set TCP_NOTSENT_LOWAT");
    }
}

/// The socket buffer sizes for one listener, from the station's bitrate and pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendBufferPlan {
    /// `SO_SNDBUF`: the head, the burst and two chunks (Linux doubles it for its bookkeeping,
    /// and caps it at `net.core.wmem_max`).
    pub send_buffer: usize,
    /// `TCP_NOTSENT_LOWAT`: one chunk.
    pub unsent: usize,
}

impl SendBufferPlan {
    /// Smallest send buffer asked for.
    const MIN_SEND_BUFFER: usize = 32 * 1024;
    /// Smallest unsent allowance (a chunk of a low-bitrate station is tiny).
    const MIN_UNSENT: usize = 8 * 1024;

    /// The plan for a station of `bitrate` bits per second, paced as `tuning`, after a response
    /// head of `head` bytes.
    pub fn new(bitrate: u64, tuning: onair_core::Tuning, head: usize) -> Self {
        let bytes_for = |d: Duration| (bitrate as u128 * d.as_millis() / 8000) as usize;
        let chunk = bytes_for(tuning.chunk);
        SendBufferPlan {
            send_buffer: (head + bytes_for(tuning.burst) + 2 * chunk).max(Self::MIN_SEND_BUFFER),
            unsent: chunk.max(Self::MIN_UNSENT),
        }
    }
}

/// An IO stream that first yields bytes already read from it (for hyper, after the head was
/// read here).
pub struct Rewind<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Rewind<S> {
    /// `inner`, preceded by `prefix`.
    pub fn new(prefix: Bytes, inner: S) -> Self {
        Rewind { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn head_of(bytes: &[u8]) -> Head {
        let mut io = bytes;
        read_head(&mut io, 1024).await
    }

    fn complete(head: Head) -> (Vec<u8>, usize) {
        match head {
            Head::Complete { bytes, len } => (bytes.to_vec(), len),
            other => panic!("expected a complete head, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn crlf_and_bare_lf_heads() {
        let crlf = b"GET /jazz HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(complete(head_of(crlf).await).1, crlf.len());
        let lf = b"GET /healthz HTTP/1.1\nHost: x\n\n";
        assert_eq!(complete(head_of(lf).await).1, lf.len());
        let mixed = b"GET / HTTP/1.0\r\nHost: x\n\r\n";
        assert_eq!(complete(head_of(mixed).await).1, mixed.len());
    }

    #[tokio::test]
    async fn pipelined_bytes_after_the_head_are_kept_apart() {
        let (bytes, len) =
            complete(head_of(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n").await);
        assert_eq!(&bytes[..len], b"GET /a HTTP/1.1\r\n\r\n");
        assert_eq!(&bytes[len..], b"GET /b HTTP/1.1\r\n\r\n");
    }

    #[tokio::test]
    async fn a_head_trickled_byte_by_byte() {
        let head = b"GET /jazz HTTP/1.1\r\nHost: x\r\nIcy-MetaData: 1\r\n\r\n";
        let (mut client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            for byte in head {
                client.write_all(&[*byte]).await.expect("write");
                tokio::task::yield_now().await;
            }
            client
        });
        let (bytes, len) = complete(read_head(&mut server, 1024).await);
        assert_eq!(&bytes[..len], head);
        drop(writer.await.expect("writer"));
    }

    #[tokio::test]
    async fn a_half_close_after_the_head_is_served_and_half_a_head_is_not() {
        // `&[u8]` ends (reads 0) right after the bytes: a client that shut down its side.
        let (_, len) = complete(head_of(b"GET /jazz HTTP/1.0\r\n\r\n").await);
        assert_eq!(len, 22);
        assert!(matches!(
            head_of(b"GET /jazz HTTP/1.0\r\nHo").await,
            Head::Gone
        ));
        assert!(matches!(head_of(b"").await, Head::Gone));
    }

    #[tokio::test]
    async fn an_oversized_head_stops_at_the_limit() {
        let long = [b'a'; 5000];
        match head_of(&long).await {
            Head::TooLarge(bytes) => assert!(bytes.len() >= 1024 && bytes.len() < 2048),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn the_end_is_found_across_reads() {
        let head = b"GET / HTTP/1.1\r\n\r\n";
        // Scanning from any earlier resume point finds the same end.
        for from in 0..head.len() - 2 {
            assert_eq!(head_end(head, from), Some(head.len()), "from {from}");
        }
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n", 0), None);
    }
}
