//! `/events`: server-sent events that push now-playing titles and listener counts.
//!
//! One publisher task per server looks at the stations once a second, and at once when a
//! station starts another track, and, when something changed, builds one `stations` event,
//! once, for every client (and a keep-alive comment after
//! 15 quiet seconds, so that proxies keep idle streams open). Each client's body only hands on
//! the shared bytes it is given: 7,000 open pages cost 7,000 small writes a change, not 7,000
//! JSON documents a second. The clients are counted and capped (`server.max_event_clients`);
//! every stream ends when the server shuts down.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use tokio::sync::watch;
use tokio::time::{interval, MissedTickBehavior};
use tokio_stream::wrappers::WatchStream;
use tokio_stream::Stream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::view::{For, StationView};
use crate::http::body::Endless;
use crate::http::writer::SendBufferPlan;
use crate::stations::StationRegistry;

/// How often the publisher looks for changes.
const TICK: Duration = Duration::from_secs(1);
/// Quiet ticks before a keep-alive comment.
const KEEPALIVE_TICKS: u32 = 15;

/// What the publisher last sent.
#[derive(Debug, Clone, Default)]
struct Latest {
    /// The newest `stations` event: a new client's first message.
    stations: Bytes,
    /// The message every client sends now (the `stations` event, or a keep-alive comment).
    message: Bytes,
}

/// The shared event feed: one publisher, any number of clients.
#[derive(Debug)]
pub struct EventFeed {
    latest: watch::Sender<Latest>,
    clients: Arc<AtomicUsize>,
}

impl Default for EventFeed {
    fn default() -> Self {
        EventFeed {
            latest: watch::Sender::new(Latest::default()),
            clients: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl EventFeed {
    /// Clients connected now.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// A new client's stream, unless `max` clients are connected already. It starts with the
    /// latest `stations` event and ends when `closing` is cancelled.
    pub fn subscribe(&self, max: usize, closing: &CancellationToken) -> Option<EventsBody> {
        let counted = self
            .clients
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            });
        counted.ok()?;
        let receiver = self.latest.subscribe();
        let first = receiver.borrow().stations.clone();
        Some(EventsBody {
            first: (!first.is_empty()).then_some(first),
            changes: WatchStream::from_changes(receiver),
            closing: Box::pin(closing.clone().cancelled_owned()),
            clients: Arc::clone(&self.clients),
        })
    }

    /// Publishes until `stop`: one look at the stations a second (and one when a track starts),
    /// one event per change.
    pub async fn publish(&self, registry: Arc<StationRegistry>, stop: CancellationToken) {
        let mut tick = interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last = String::new();
        let mut quiet = 0;
        // The same look says when a schedule slot starts and ends.
        let mut slots = super::slots::SlotLog::default();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
                () = registry.track_changes.notified() => {}
            }
            slots.look(&registry);
            let now = snapshot(&registry);
            if now != last {
                // The server's wall time goes with each event (not into the comparison): a
                // page sets its clock by it to follow the station clock.
                let at_ms = registry
                    .clock()
                    .now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let data = format!("{{\"at_ms\":{at_ms},{}", &now[1..]);
                let event = Bytes::from(format!("event: stations\ndata: {data}\n\n"));
                last = now;
                quiet = 0;
                self.latest.send_replace(Latest {
                    stations: event.clone(),
                    message: event,
                });
            } else {
                quiet += 1;
                if quiet >= KEEPALIVE_TICKS {
                    quiet = 0;
                    self.latest.send_modify(|latest| {
                        latest.message = Bytes::from_static(b": keep-alive\n\n");
                    });
                }
            }
        }
    }
}

/// One `/events` client: the shared messages, as they come.
pub struct EventsBody {
    first: Option<Bytes>,
    changes: WatchStream<Latest>,
    closing: Pin<Box<WaitForCancellationFutureOwned>>,
    clients: Arc<AtomicUsize>,
}

impl EventsBody {
    pub(crate) fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.closing.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(first));
        }
        match std::task::ready!(Pin::new(&mut self.changes).poll_next(cx)) {
            Some(latest) => Poll::Ready(Some(latest.message)),
            None => Poll::Ready(None),
        }
    }
}

impl Endless for EventsBody {
    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        EventsBody::poll_data(self, cx)
    }

    fn ends_with_client_close(&self) -> bool {
        true
    }

    fn send_plan(&self, _head: usize) -> Option<SendBufferPlan> {
        None
    }
}

impl Drop for EventsBody {
    fn drop(&mut self) {
        self.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

use std::future::Future;

/// What the page shows live: per station, its title, what plays, stream listeners and HLS
/// clients; and the total.
fn snapshot(registry: &StationRegistry) -> String {
    let stations = registry.list();
    let listeners: usize = stations.iter().map(|s| s.hub.listeners()).sum();
    let stations: Vec<_> = stations
        .iter()
        .map(|s| {
            // The page needs no URL: its own origin is the stations'.
            let v = StationView::of(s, "", For::Public);
            json!({
                "name": v.name,
                "title": v.title,
                "live": v.live.as_ref().is_some_and(|l| l.on_air),
                "on_air": v.on_air,
                "now_playing": v.more.playing,
                // A station of one track would announce itself as next: nothing to say.
                "next": (v.tracks > 1).then_some(v.next.title),
                // What played before, for the page (the titles, newest first).
                "recent": v.recent.iter().take(5).map(|r| r.title.clone()).collect::<Vec<_>>(),
                "schedule": v.schedule,
                "relay": v.relay,
                // When the track started on the station clock, and how far behind the live
                // edge a new listener starts (its burst): a page shows a title when its own
                // audio gets there, not when the track starts on air.
                "started_at_ms": v.more.playing_since_ms,
                "burst_ms": v.more.burst_ms,
                "listeners": v.listeners,
                "hls_listeners": v.hls_listeners,
                // Whether the station is served over HLS.
                "hls": v.more.hls,
            })
        })
        .collect();
    json!({"listeners": listeners, "stations": stations}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_event_per_change_shared_by_every_client_and_a_cap() {
        let feed = Arc::new(EventFeed::default());
        let registry = StationRegistry::new(onair_core::SystemClock::shared());
        let stop = CancellationToken::new();
        let publisher = tokio::spawn({
            let (feed, registry, stop) = (Arc::clone(&feed), Arc::clone(&registry), stop.clone());
            async move { feed.publish(registry, stop).await }
        });
        let closing = CancellationToken::new();
        let mut a = feed.subscribe(2, &closing).expect("first client");
        // Wait for the first event.
        let first = std::future::poll_fn(|cx| a.poll_data(cx))
            .await
            .expect("event");
        assert!(first.starts_with(b"event: stations\ndata: {"), "{first:?}");
        let mut b = feed.subscribe(2, &closing).expect("second client");
        let b_first = std::future::poll_fn(|cx| b.poll_data(cx))
            .await
            .expect("event");
        // The same bytes, built once.
        assert_eq!(first.as_ptr(), b_first.as_ptr());
        assert!(feed.subscribe(2, &closing).is_none(), "capped at 2");
        assert_eq!(feed.clients(), 2);
        // Nothing changes: a keep-alive after 15 s, the same bytes for both.
        let keep = std::future::poll_fn(|cx| a.poll_data(cx))
            .await
            .expect("keep-alive");
        assert_eq!(&keep[..], b": keep-alive\n\n");
        drop(b);
        assert_eq!(feed.clients(), 1);
        closing.cancel();
        assert!(std::future::poll_fn(|cx| a.poll_data(cx)).await.is_none());
        stop.cancel();
        publisher.await.expect("publisher stops");
    }
}
