//! Whether a multiplexed connection (HTTP/2) is doing anything: requests whose responses are
//! still being sent, and since when there have been none.
//!
//! hyper closes an idle HTTP/1.1 connection after its header timeout, but holds an HTTP/2
//! connection that asks for nothing for as long as the client likes: a descriptor per idle
//! client, which a crowd of them would exhaust. The connection's owner asks
//! [`Activity::idle_deadline`] and closes it past that.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;

use crate::sync::lock;

/// A connection's open responses and when the last one ended.
#[derive(Debug)]
pub struct Activity {
    open: AtomicUsize,
    last_end: Mutex<Instant>,
}

/// One response being sent; dropped when its body is done or dropped.
#[derive(Debug)]
pub struct Open(Arc<Activity>);

impl Activity {
    /// A connection that opened at `now`.
    pub fn new(now: Instant) -> Arc<Activity> {
        Arc::new(Activity {
            open: AtomicUsize::new(0),
            last_end: Mutex::new(now),
        })
    }

    /// A response begins.
    pub fn begin(self: &Arc<Self>) -> Open {
        self.open.fetch_add(1, Ordering::Relaxed);
        Open(Arc::clone(self))
    }

    /// When the connection counts as idle for `limit`, seen at `now`: `limit` after the last
    /// response ended while none is open; `None` while one is.
    pub fn idle_deadline(&self, limit: Duration) -> Option<Instant> {
        (self.open.load(Ordering::Relaxed) == 0).then(|| *lock(&self.last_end) + limit)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        *lock(&self.0.last_end) = Instant::now();
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that counts as open until it is done or dropped.
pub struct Counted<B> {
    body: B,
    _open: Open,
}

impl<B> Counted<B> {
    /// `body`, counted by `open`.
    pub fn new(body: B, open: Open) -> Self {
        Counted { body, _open: open }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Counted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_counts_from_the_last_response_and_never_while_one_is_open() {
        let limit = Duration::from_secs(10);
        let opened = Instant::now();
        let activity = Activity::new(opened);
        assert_eq!(activity.idle_deadline(limit), Some(opened + limit));
        let first = activity.begin();
        let second = activity.begin();
        assert_eq!(activity.idle_deadline(limit), None);
        tokio::time::advance(Duration::from_secs(30)).await;
        drop(first);
        assert_eq!(activity.idle_deadline(limit), None, "one still open");
        tokio::time::advance(Duration::from_secs(5)).await;
        drop(second);
        assert_eq!(
            activity.idle_deadline(limit),
            Some(opened + Duration::from_secs(35) + limit)
        );
    }
}
