//! Response bodies: small fixed pages, a listener's endless audio stream, and server-sent events.

use std::convert::Infallible;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use onair_core::{NowPlaying, Subscription};
use tokio::time::Instant;
use tokio_stream::Stream;

use crate::app::App;
use crate::events::EventsBody;
use crate::icy::{IcyCursor, IcyNext};
use crate::registry::Station;
use crate::stats::EndReason;
use crate::timed_io::WriteTimeout;

/// The body of every response onair sends.
pub enum Body {
    /// A whole body known up front (pages, errors). Empty for HEAD.
    Full(Option<Bytes>),
    /// A listener's audio: no length, ends when the station goes off air.
    Listener(Box<ListenerBody>),
    /// `/events`: server-sent events, ends at shutdown.
    Events(Box<EventsBody>),
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
        let data = match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take()),
            Body::Listener(listener) => listener.poll_data(cx),
            Body::Events(events) => events.poll_data(cx),
        };
        data.map(|d| d.map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Listener(_) | Body::Events(_) => SizeHint::default(),
        }
    }
}

/// One listener's session: the chunks of its [`Subscription`], each sent as one write, with
/// ICY metadata blocks woven in when the client asked for them. When it ends, one access-log
/// line says who listened to what, for how long, and why it ended.
pub struct ListenerBody {
    subscription: Subscription,
    station: Arc<Station>,
    /// Boxed: most listeners ask for no metadata, and pay one pointer for it.
    icy: Option<Box<IcyCursor>>,
    /// The track of the newest chunk sent (its first bytes are out).
    track: Option<Arc<NowPlaying>>,
    app: Arc<App>,
    /// The connection's write timeout: whether it fired says why the session ended.
    write_timeout: WriteTimeout,
    client: IpAddr,
    user_agent: Box<str>,
    since: Instant,
    bytes: u64,
    ended: bool,
}

impl ListenerBody {
    /// The body for a listener of `station`; `icy` when it asked for `Icy-MetaData: 1`. Sets the
    /// connection's write timeout to the station's `client_timeout_s`.
    pub fn new(
        subscription: Subscription,
        station: Arc<Station>,
        icy: bool,
        app: Arc<App>,
        write_timeout: WriteTimeout,
        client: IpAddr,
        user_agent: String,
    ) -> Self {
        tracing::debug!(station = %station.name, %client, icy, "listener joined");
        // The connection's writes time out after the station's `client_timeout_s` from now on.
        write_timeout.set(station.client_timeout());
        app.stats.note_listeners(app.listeners());
        ListenerBody {
            subscription,
            station,
            icy: icy.then(Box::default),
            track: None,
            app,
            write_timeout,
            client,
            user_agent: user_agent.into_boxed_str(),
            since: Instant::now(),
            bytes: 0,
            ended: false,
        }
    }

    /// The station this listener is tuned to.
    pub fn station(&self) -> &Arc<Station> {
        &self.station
    }

    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let Some(icy) = &mut self.icy else {
            return self.poll_audio(cx);
        };
        let (station, track) = (&self.station, &self.track);
        let title =
            || station.icy_block(&station.stream_title(track.as_deref().map(|t| &*t.track)));
        match icy.next(title) {
            IcyNext::Audio(audio) => Poll::Ready(Some(audio)),
            IcyNext::Block(block) => Poll::Ready(Some(block)),
            IcyNext::NeedChunk => match self.poll_audio(cx) {
                Poll::Ready(Some(audio)) => {
                    Poll::Ready(self.icy.as_mut().map(|icy| icy.feed(audio)))
                }
                other => other,
            },
        }
    }

    fn poll_audio(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        match Pin::new(&mut self.subscription).poll_next(cx) {
            Poll::Ready(Some(chunk)) => {
                self.bytes += chunk.data.len() as u64;
                if chunk.track.is_some() {
                    self.track = chunk.track;
                }
                Poll::Ready(Some(chunk.data))
            }
            Poll::Ready(None) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for ListenerBody {
    fn drop(&mut self) {
        let reason = if self.ended && self.app.closing.is_cancelled() {
            EndReason::Shutdown
        } else if self.ended {
            EndReason::OffAir
        } else if self.write_timeout.fired() {
            EndReason::Timeout
        } else {
            EndReason::ClientLeft
        };
        self.app.stats.count_end(&self.station.name, reason);
        tracing::info!(
            target: "onair::access",
            client = %self.client,
            station = %self.station.name,
            user_agent = ?self.user_agent,
            seconds = self.since.elapsed().as_secs(),
            bytes = self.bytes,
            skips = self.subscription.skips(),
            reason = reason.as_str(),
            "listener session ended"
        );
    }
}
