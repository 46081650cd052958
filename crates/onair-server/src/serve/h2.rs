//! HTTP/2 audio streams held to the rules an HTTP/1.1 listener lives by.
//!
//! Over HTTP/1.1 a listener that takes nothing is found by a write that stalls. Over HTTP/2 no
//! write ever stalls: hyper simply stops asking a stream's body for data while the client
//! keeps that stream's window shut, and the stream, with its listener slot, is held for as long
//! as the connection lives (pings answered). Two things close that:
//!
//! - [`StreamExecutor`] runs each HTTP/2 stream's task (hyper hands them to its executor)
//!   beside a [`Watch`]: an audio body says, each time it is asked for data, that its client is
//!   taking ([`taking`]); a stream not asked for `client_timeout_s` is dropped (hyper's stream
//!   is reset, the listener leaves its station), as a stalled HTTP/1.1 listener is.
//! - [`StreamCap`] caps the audio streams one connection may hold at [`AUDIO_STREAMS`]: a page
//!   plays one station, not a hundred.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::sync::lock;

/// Most audio streams open at once on one HTTP/2 connection.
pub const AUDIO_STREAMS: usize = 4;

tokio::task_local! {
    /// The watch of the HTTP/2 stream whose task is running, if it is one.
    static WATCH: Arc<Watch>;
}

/// Whether one HTTP/2 stream's client is taking what it is sent.
#[derive(Debug, Default)]
pub struct Watch {
    /// The stream's timeout and when its body was last asked for data; `None` until an audio
    /// body arms it (whole responses are not watched here: their writes are bounded elsewhere).
    taken: Mutex<Option<(Duration, Instant)>>,
    armed: Notify,
}

impl Watch {
    fn note(&self, timeout: Duration, now: Instant) {
        let first = lock(&self.taken).replace((timeout, now)).is_none();
        if first {
            self.armed.notify_one();
        }
    }

    /// When the stream counts as stalled: its timeout after it was last taken from.
    fn deadline(&self) -> Option<Instant> {
        lock(&self.taken).map(|(timeout, at)| at + timeout)
    }

    /// Resolves once the stream has not been taken from for its timeout.
    async fn stalled(&self) {
        loop {
            let armed = self.armed.notified();
            match self.deadline() {
                None => armed.await,
                Some(at) if at <= Instant::now() => return,
                Some(at) => tokio::time::sleep_until(at).await,
            }
        }
    }
}

/// Says that the client of the HTTP/2 stream running now took data (its body is asked for
/// more), with the stream's timeout (asked for only then). Elsewhere (HTTP/1.1, every poll of
/// every listener) it costs a task-local look and nothing more.
pub fn taking(timeout: impl FnOnce() -> Duration) {
    let _ = WATCH.try_with(|watch| watch.note(timeout(), Instant::now()));
}

/// hyper's executor for HTTP/2 streams: each runs until it ends, or until its [`Watch`] says it
/// stalled, then it is dropped (hyper resets it).
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamExecutor;

impl<F> hyper::rt::Executor<F> for StreamExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, stream: F) {
        let watch = Arc::new(Watch::default());
        // Owned by its connection: hyper's stream ends when the connection does (or is
        // dropped here), and the connection's task is tracked and shut down by the server.
        tokio::spawn(async move {
            tokio::select! {
                _ = WATCH.scope(Arc::clone(&watch), stream) => {}
                () = watch.stalled() => {
                    tracing::debug!("HTTP/2 audio stream took nothing for its timeout; dropped");
                }
            }
        });
    }
}

/// The audio streams a connection may still open: unlimited over HTTP/1.1 (one request at a
/// time), [`AUDIO_STREAMS`] over HTTP/2.
#[derive(Debug, Clone, Default)]
pub struct StreamCap(Option<Arc<AtomicUsize>>);

/// One audio stream of a capped connection; dropping it frees its place.
#[derive(Debug)]
pub struct StreamSlot(Option<Arc<AtomicUsize>>);

impl StreamCap {
    /// The cap of an HTTP/2 connection.
    pub fn h2() -> Self {
        StreamCap(Some(Arc::new(AtomicUsize::new(0))))
    }

    /// A place for one more audio stream, if the connection has one.
    pub fn take(&self) -> Option<StreamSlot> {
        let Some(open) = &self.0 else {
            return Some(StreamSlot(None));
        };
        open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < AUDIO_STREAMS).then_some(n + 1)
        })
        .ok()?;
        Some(StreamSlot(Some(Arc::clone(open))))
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Some(open) = &self.0 {
            open.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_holds_a_few_audio_streams() {
        let cap = StreamCap::h2();
        let slots: Vec<StreamSlot> = (0..AUDIO_STREAMS).filter_map(|_| cap.take()).collect();
        assert_eq!(slots.len(), AUDIO_STREAMS);
        assert!(cap.take().is_none());
        drop(slots);
        assert!(cap.take().is_some());
        let plain = StreamCap::default();
        let many: Vec<StreamSlot> = (0..100).filter_map(|_| plain.take()).collect();
        assert_eq!(many.len(), 100);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_not_taken_from_for_its_timeout_stalls_and_one_taken_from_does_not() {
        let watch = Arc::new(Watch::default());
        let timeout = Duration::from_secs(3);
        // Unarmed: never stalls.
        let unarmed = tokio::time::timeout(Duration::from_secs(60), watch.stalled()).await;
        assert!(unarmed.is_err());
        let start = Instant::now();
        let taker = {
            let watch = Arc::clone(&watch);
            tokio::spawn(async move {
                for _ in 0..10 {
                    watch.note(timeout, Instant::now());
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            })
        };
        watch.stalled().await;
        // Taken from every 500 ms for 5 s, then no more: stalled 3 s after the last.
        let stalled_after = start.elapsed();
        assert!(
            stalled_after >= Duration::from_millis(7_500)
                && stalled_after <= Duration::from_secs(8),
            "{stalled_after:?}"
        );
        taker.await.expect("taker");
    }
}
