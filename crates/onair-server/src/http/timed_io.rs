//! A socket wrapper that fails writes which make no progress for too long.
//!
//! hyper stops polling a response body while the socket is full, so a listener that stops
//! reading cannot be noticed from the body. This wrapper sits under hyper instead: when a write
//! stays pending past the deadline, the write fails with `TimedOut` and hyper closes the
//! connection. The timeout is shared with the request handler, which sets the station's
//! `client_timeout_s` once it knows the station.
//!
//! A client can also hold a response by reading it a few bytes at a time: every write then makes
//! a little progress, and no write stalls. Under hyper (whole responses: pages, playlists,
//! segments) the wrapper therefore also bounds how long writes may go on being taken only in
//! part: a response a client has not taken whole within the timeout ends the connection.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The write timeout of one connection, settable while it runs.
#[derive(Debug, Clone)]
pub struct WriteTimeout(Arc<(AtomicU64, AtomicBool)>);

impl WriteTimeout {
    /// A timeout of `d`.
    pub fn new(d: Duration) -> Self {
        WriteTimeout(Arc::new((
            AtomicU64::new(d.as_millis() as u64),
            AtomicBool::new(false),
        )))
    }

    /// Changes the timeout for the next pending write.
    pub fn set(&self, d: Duration) {
        self.0 .0.store(d.as_millis() as u64, Ordering::Relaxed);
    }

    /// Whether the connection was dropped for a stalled write.
    pub fn fired(&self) -> bool {
        self.0 .1.load(Ordering::Relaxed)
    }

    fn get(&self) -> Duration {
        Duration::from_millis(self.0 .0.load(Ordering::Relaxed))
    }
}

/// An IO stream whose writes time out.
pub struct TimedIo<S> {
    inner: S,
    timeout: WriteTimeout,
    /// Armed while a write is pending; allocated on the first stall only.
    stall: Option<Pin<Box<Sleep>>>,
    stalled: bool,
    /// Whole responses (under hyper): writes taken only in part are timed too.
    whole: bool,
    /// Since when writes have been taken only in part.
    partial_since: Option<Instant>,
}

impl<S> TimedIo<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, timeout: WriteTimeout) -> Self {
        TimedIo {
            inner,
            timeout,
            stall: None,
            stalled: false,
            whole: false,
            partial_since: None,
        }
    }

    /// Wraps `inner` for whole responses: a client that takes them only a little at a time is
    /// timed as one that takes nothing.
    pub fn for_whole_responses(inner: S, timeout: WriteTimeout) -> Self {
        TimedIo {
            whole: true,
            ..TimedIo::new(inner, timeout)
        }
    }

    /// The write timeout.
    pub fn timeout(&self) -> &WriteTimeout {
        &self.timeout
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped stream.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Times writes taken only in part (of `wanted` bytes), for whole responses.
    fn check_progress(
        &mut self,
        polled: Poll<io::Result<usize>>,
        wanted: usize,
    ) -> Poll<io::Result<usize>> {
        if !self.whole {
            return polled;
        }
        match polled {
            Poll::Ready(Ok(n)) if n < wanted => {
                let since = *self.partial_since.get_or_insert_with(Instant::now);
                if since.elapsed() > self.timeout.get() {
                    self.timeout.0 .1.store(true, Ordering::Relaxed);
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client took no whole response within client_timeout_s",
                    )));
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Ok(n)) => {
                self.partial_since = None;
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    /// Turns a write's `Pending` into an error once the stall outlasts the timeout.
    fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = false;
            return polled;
        }
        if !self.stalled {
            self.stalled = true;
            let deadline = Instant::now() + self.timeout.get();
            match &mut self.stall {
                Some(sleep) => sleep.as_mut().reset(deadline),
                None => self.stall = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        let expired = match &mut self.stall {
            Some(sleep) => sleep.as_mut().poll(cx).is_ready(),
            None => false,
        };
        if expired {
            self.timeout.0 .1.store(true, Ordering::Relaxed);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client accepted no data within client_timeout_s",
            )));
        }
        Poll::Pending
    }
}

use std::future::Future;

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        let polled = this.check(cx, polled);
        this.check_progress(polled, buf.len())
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        let polled = this.check(cx, polled);
        this.check_progress(polled, bufs.iter().map(|b| b.len()).sum())
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.check(cx, polled)
    }

    /// Timed too: over TLS a shutdown first sends what the session holds (and its
    /// `close_notify`), which a client that reads nothing never takes.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.check(cx, polled)
    }
}
