//! `/events`: server-sent events that push now-playing titles and listener counts.
//!
//! Each connection looks at the stations once a second and sends a `stations` event when
//! something changed since its last event (and a comment every 15 s to keep proxies from
//! closing it). It ends when the server shuts down.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use tokio::time::{interval, Interval, MissedTickBehavior};
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::app::App;

/// How often a connection looks for changes.
const TICK: Duration = Duration::from_secs(1);
/// Ticks between keep-alive comments.
const KEEPALIVE_TICKS: u32 = 15;

/// One `/events` connection.
pub struct EventsBody {
    app: Arc<App>,
    tick: Interval,
    closing: std::pin::Pin<Box<WaitForCancellationFutureOwned>>,
    last: String,
    quiet_ticks: u32,
}

impl EventsBody {
    /// A new event stream; its first event is sent at once.
    pub fn new(app: Arc<App>) -> Self {
        let mut tick = interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let closing = Box::pin(app.closing.clone().cancelled_owned());
        EventsBody {
            app,
            tick,
            closing,
            last: String::new(),
            quiet_ticks: 0,
        }
    }

    pub(crate) fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.closing.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        loop {
            std::task::ready!(self.tick.poll_tick(cx));
            let now = snapshot(&self.app);
            if now != self.last {
                self.quiet_ticks = 0;
                let event = format!("event: stations\ndata: {now}\n\n");
                self.last = now;
                return Poll::Ready(Some(Bytes::from(event)));
            }
            self.quiet_ticks += 1;
            if self.quiet_ticks >= KEEPALIVE_TICKS {
                self.quiet_ticks = 0;
                return Poll::Ready(Some(Bytes::from_static(b": keep-alive\n\n")));
            }
        }
    }
}

use std::future::Future;

/// What the page shows live: per station, its title and listeners; and the total.
fn snapshot(app: &App) -> String {
    let stations: Vec<_> = app
        .registry
        .list()
        .iter()
        .map(|s| json!({"name": s.name, "title": s.meta().title, "listeners": s.hub.listeners()}))
        .collect();
    json!({"listeners": app.listeners(), "stations": stations}).to_string()
}
