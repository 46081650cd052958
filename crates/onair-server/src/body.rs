//! Response bodies: small fixed pages, and a listener's endless audio stream.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use onair_core::Subscription;
use tokio::time::Instant;
use tokio_stream::Stream;

/// The body of every response onair sends.
pub enum Body {
    /// A whole body known up front (pages, errors). Empty for HEAD.
    Full(Option<Bytes>),
    /// A listener's audio: no length, ends when the station goes off air.
    Listener(ListenerBody),
}

impl Body {
    /// A fixed body.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Body::Full(Some(bytes.into()))
    }

    /// No body.
    pub fn empty() -> Self {
        Body::Full(None)
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Listener(listener) => Pin::new(listener).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Listener(_) => SizeHint::default(),
        }
    }
}

/// One listener's audio: the chunks of its [`Subscription`], each sent as one write.
pub struct ListenerBody {
    subscription: Subscription,
    peer: SocketAddr,
    since: Instant,
    bytes: u64,
}

impl ListenerBody {
    /// The body for a listener at `peer`.
    pub fn new(subscription: Subscription, peer: SocketAddr) -> Self {
        tracing::debug!(station = subscription.hub().name(), %peer, "listener joined");
        ListenerBody {
            subscription,
            peer,
            since: Instant::now(),
            bytes: 0,
        }
    }

    fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match Pin::new(&mut self.subscription).poll_next(cx) {
            Poll::Ready(Some(chunk)) => {
                self.bytes += chunk.data.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(chunk.data))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for ListenerBody {
    fn drop(&mut self) {
        tracing::debug!(
            station = self.subscription.hub().name(),
            peer = %self.peer,
            seconds = self.since.elapsed().as_secs(),
            bytes = self.bytes,
            skips = self.subscription.skips(),
            "listener left"
        );
    }
}
