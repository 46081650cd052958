//! One listener's view of a hub: the burst, then the live chunks, skipping forward when it lags.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::Stream;

use crate::broadcast::chunk::Chunk;
use crate::broadcast::hub::{Hub, Refused};

/// A listener's stream of chunks. Every chunk it yields is whole frames, so the bytes it yields,
/// concatenated, are a valid ADTS stream from the first byte on, also across a skip forward.
///
/// It ends when the hub closes (the station went off air or the server is shutting down).
/// Dropping it removes the listener from the hub's count.
pub struct Subscription {
    hub: Arc<Hub>,
    /// Burst chunks not yet yielded, oldest first.
    burst: std::vec::IntoIter<Chunk>,
    live: BroadcastStream<Chunk>,
    skips: u64,
    /// The link of a chained container the listener is in (the last chunk's).
    link: Option<u64>,
    /// A chunk held back while its link's header pages go first.
    pending: Option<Chunk>,
}

impl Hub {
    /// Tunes a new listener in: the most recent burst of audio, then the live chunks. `None`
    /// when the station has gone off air.
    pub fn subscribe(self: &Arc<Self>) -> Option<Subscription> {
        self.subscribe_within(usize::MAX).ok()
    }

    /// Like [`subscribe`](Self::subscribe), but refuses when `max` listeners are tuned in
    /// already (checked under the hub's lock, so concurrent listeners never overshoot).
    pub fn subscribe_within(self: &Arc<Self>, max: usize) -> Result<Subscription, Refused> {
        let (burst, live) = self.tune_in(max)?;
        Ok(Subscription::new(Arc::clone(self), burst, live))
    }
}

impl Subscription {
    pub(crate) fn new(hub: Arc<Hub>, burst: Vec<Chunk>, live: broadcast::Receiver<Chunk>) -> Self {
        Subscription {
            hub,
            burst: burst.into_iter(),
            live: BroadcastStream::new(live),
            skips: 0,
            link: None,
            pending: None,
        }
    }

    /// `chunk`, or first the header pages of its link when the listener joins that link in the
    /// middle (tuning in, or skipped forward into it); the chunk then comes next.
    fn in_link(&mut self, chunk: Chunk) -> Chunk {
        let Some(link) = &chunk.link else {
            return chunk;
        };
        if self.link.replace(link.id) == Some(link.id) || link.begins {
            return chunk;
        }
        let preamble = Chunk {
            data: link.preamble.clone(),
            seq: chunk.seq,
            pts_ns: chunk.pts_ns,
            tick: chunk.tick,
            duration_ns: 0,
            frames: 0,
            track: None,
            link: None,
        };
        self.pending = Some(chunk);
        preamble
    }

    /// Times this listener was skipped forward.
    pub fn skips(&self) -> u64 {
        self.skips
    }

    /// Drops everything queued and continues at the live edge. `false` when the hub closed.
    fn skip_forward(&mut self, behind: std::time::Duration) -> bool {
        let Some(live) = self.hub.resubscribe_live() else {
            return false;
        };
        self.live = BroadcastStream::new(live);
        self.skips += 1;
        self.hub.count_skip();
        tracing::debug!(
            station = self.hub.name(),
            behind_ms = behind.as_millis() as u64,
            "listener fell behind; skipped forward to the live edge"
        );
        true
    }
}

impl Stream for Subscription {
    type Item = Chunk;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        let this = self.get_mut();
        if this.hub.is_closed() {
            return Poll::Ready(None);
        }
        if let Some(chunk) = this.pending.take() {
            this.hub.count_sent(chunk.data.len());
            return Poll::Ready(Some(chunk));
        }
        if let Some(chunk) = this.burst.next() {
            if this.burst.len() == 0 {
                // Free the burst list: a listener connected for hours keeps nothing of it.
                this.burst = Vec::new().into_iter();
            }
            let chunk = this.in_link(chunk);
            this.hub.count_sent(chunk.data.len());
            return Poll::Ready(Some(chunk));
        }
        let queue = this.hub.tuning().queue;
        loop {
            match ready!(Pin::new(&mut this.live).poll_next(cx)) {
                Some(Ok(chunk)) => {
                    let behind = this.hub.lag(&chunk);
                    if behind <= queue {
                        let chunk = this.in_link(chunk);
                        this.hub.count_sent(chunk.data.len());
                        return Poll::Ready(Some(chunk));
                    }
                    if !this.skip_forward(behind) {
                        return Poll::Ready(None);
                    }
                }
                Some(Err(BroadcastStreamRecvError::Lagged(missed))) => {
                    let behind =
                        this.hub.tuning().chunk * u32::try_from(missed).unwrap_or(u32::MAX);
                    if !this.skip_forward(behind) {
                        return Poll::Ready(None);
                    }
                }
                None => return Poll::Ready(None),
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.listener_left();
    }
}
