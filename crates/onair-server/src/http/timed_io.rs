//! A socket wrapper that fails writes which make no progress for too long.
//!
//! hyper stops polling a response body while the socket is full, so a listener that stops
//! reading cannot be noticed from the body. This wrapper sits under hyper instead: when a write
//! stays pending past the deadline, the write fails with `TimedOut` and hyper closes the
//! connection. The timeout is shared with the request handler, which sets the station's
//! `client_timeout_s` once it knows the station.

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
}

impl<S> TimedIo<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, timeout: WriteTimeout) -> Self {
        TimedIo {
            inner,
            timeout,
            stall: None,
            stalled: false,
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
        this.check(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.check(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.check(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
