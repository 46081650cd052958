//! A listener's endless audio stream: the station's chunks, with ICY metadata woven in when
//! asked for; when it ends, its session ends in the station's audience.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use onair_core::{NowPlaying, Subscription};
use std::time::Duration;
use tokio_stream::Stream;

use super::h2::StreamSlot;
use crate::app::App;
use crate::http::body::Endless;
use crate::http::icy::{IcyCursor, IcyNext};
use crate::http::timed_io::WriteTimeout;
use crate::http::writer::SendBufferPlan;
use crate::stations::audience::{EndReason, SessionId};
use crate::stations::Station;

/// One listener's session: the chunks of its [`Subscription`], each sent as one write, with
/// ICY metadata blocks woven in when the client asked for them. When it ends, its session ends
/// in the station's audience, with what it was sent and why it ended.
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
    /// Its session in the station's audience (who it is lives there).
    session: SessionId,
    bytes: u64,
    /// The admin removed it.
    kicked: bool,
    /// The audio it was sent, in nanoseconds.
    heard_ns: u64,
    /// The station-clock ticks of the first audio it was sent and of the end of the last.
    span: Option<(u64, u64)>,
    ended: bool,
    /// Its place among its connection's audio streams.
    _slot: StreamSlot,
}

impl ListenerBody {
    /// The body for session `session` of `station`, in `slot` of its connection; `icy` when it
    /// asked for `Icy-MetaData: 1`. Sets the connection's write timeout to the station's
    /// `client_timeout_s`.
    pub fn new(
        slot: StreamSlot,
        (subscription, session): (Subscription, SessionId),
        station: Arc<Station>,
        icy: bool,
        app: Arc<App>,
        write_timeout: WriteTimeout,
    ) -> Self {
        // The connection's writes time out after the station's `client_timeout_s` from now on.
        write_timeout.set(station.client_timeout());
        ListenerBody {
            subscription,
            station,
            icy: icy.then(Box::default),
            track: None,
            app,
            write_timeout,
            session,
            bytes: 0,
            kicked: false,
            heard_ns: 0,
            span: None,
            ended: false,
            _slot: slot,
        }
    }

    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.station.audience().is_kicked(self.session) {
            self.kicked = true;
            return Poll::Ready(None);
        }
        // Asked for data: over HTTP/2, the client is taking what it is sent.
        super::h2::taking(|| self.station.client_timeout());
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
                self.heard_ns += chunk.duration_ns;
                let end =
                    chunk.tick + onair_core::ticks_of(Duration::from_nanos(chunk.duration_ns));
                self.span = Some((self.span.map_or(chunk.tick, |(from, _)| from), end));
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

impl Endless for ListenerBody {
    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        ListenerBody::poll_data(self, cx)
    }

    fn ends_with_client_close(&self) -> bool {
        false
    }

    fn send_plan(&self, head: usize) -> Option<SendBufferPlan> {
        Some(SendBufferPlan::new(
            self.station.programme().bitrate(),
            self.station.hub.tuning(),
            head,
        ))
    }
}

impl Drop for ListenerBody {
    fn drop(&mut self) {
        let reason = if self.kicked {
            EndReason::Kicked
        } else if self.ended && self.app.closing.is_cancelled() {
            EndReason::Shutdown
        } else if self.ended {
            EndReason::OffAir
        } else if self.write_timeout.fired() {
            EndReason::Timeout
        } else {
            EndReason::ClientLeft
        };
        let epoch = self.station.epoch;
        let span = self.span.map(|(from, to)| {
            (
                onair_core::wall_time(epoch, from),
                onair_core::wall_time(epoch, to),
            )
        });
        self.station.audience().stream_left(
            self.session,
            reason,
            (self.bytes, Duration::from_nanos(self.heard_ns), span),
            self.subscription.skips(),
        );
    }
}
