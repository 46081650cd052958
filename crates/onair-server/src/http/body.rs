//! The body of every response onair sends: whole (pages, playlists, segments, errors) or
//! endless (a listener's audio, server-sent events), the latter behind one small trait so that
//! HTTP knows nothing of stations or events.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use super::writer::SendBufferPlan;

/// A body with no end known up front: it yields data as it comes, and ends when its source does
/// (a station off air, a shutdown).
pub trait Endless: Send {
    /// The next bytes to send; `None` at the end.
    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>>;

    /// Whether a client that closes its sending side is gone (a browser's EventSource), rather
    /// than a player that half-closes and goes on listening.
    fn ends_with_client_close(&self) -> bool;

    /// How much the socket may hold for this body, after a head of `head` bytes (audio only).
    fn send_plan(&self, head: usize) -> Option<SendBufferPlan>;
}

/// The body of every response onair sends.
pub enum Body {
    /// A whole body known up front (pages, errors). Empty for HEAD.
    Full(Option<Bytes>),
    /// A listener's audio or an events stream.
    Endless(Box<dyn Endless>),
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

    /// An endless body.
    pub fn endless(body: impl Endless + 'static) -> Self {
        Body::Endless(Box::new(body))
    }

    /// The endless body inside, if this is one.
    pub fn as_endless(&self) -> Option<&dyn Endless> {
        match self {
            Body::Endless(body) => Some(&**body),
            Body::Full(_) => None,
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let data = match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take()),
            Body::Endless(body) => body.poll_data(cx),
        };
        data.map(|d| d.map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Endless(_) => SizeHint::default(),
        }
    }
}
