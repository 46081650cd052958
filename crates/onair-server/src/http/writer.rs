//! Writing an endless response straight onto the socket: the head, the burst, then one write per
//! chunk, with no buffer of its own; and the socket's buffers bounded in audio.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http_body::Body;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Writes a response head and then its body, as the body produces data, until it ends.
///
/// What a listener's task holds for hours is this struct and nothing more: the body and the
/// pieces not yet written. Everything the body has ready goes out in one vectored write (the
/// head and the whole burst at connect; one chunk at a time after that, with no allocation per
/// write).
pub struct StreamWriter<B> {
    body: B,
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

impl<B: Body<Data = Bytes, Error = Infallible> + Unpin> StreamWriter<B> {
    /// A writer of `head`, then `body`; `read_closed_ends` when a client that closes its side
    /// is gone (a browser's EventSource never half-closes: its close is a page gone, freeing its
    /// place at once; an audio client may half-close and go on listening).
    pub fn new(head: Bytes, body: B, read_closed_ends: bool) -> Self {
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
        // Over TLS a write may leave encrypted records in the session when the socket is full:
        // they go out now, not with the next chunk (and a client that takes none is timed as
        // a stalled write). Over plain TCP there is nothing to flush.
        std::task::ready!(Pin::new(&mut *io).poll_flush(cx))?;
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

    /// The plan for whole responses (pages, playlists, segments): 64 KiB in the send buffer,
    /// 16 KiB not yet sent.
    pub fn for_whole_responses() -> Self {
        SendBufferPlan {
            send_buffer: 64 * 1024,
            unsent: 16 * 1024,
        }
    }

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
