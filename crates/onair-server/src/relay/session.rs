//! What the two kinds of relay (a stream, an onair origin's HLS) share: how a pull ended, and
//! the relay shown as the station's source while it is connected.

use std::sync::Arc;
use std::time::Duration;

use crate::stations::live::SourceInfo;
use crate::stations::Station;

/// An upstream that delivered this long is back for good: the waits start over, and a relay
/// that was failing says it is on air again.
pub const DELIVERED_ENOUGH: Duration = Duration::from_secs(10);

/// Notes (once per pull, from `began`) that the relay of `station` delivered long enough.
pub fn note_delivery(station: &Station, began: tokio::time::Instant, noted: &mut bool) {
    if !*noted && began.elapsed() >= DELIVERED_ENOUGH {
        *noted = true;
        if station.relay.delivered() {
            tracing::info!(station = %station.name, "relay on air again after failing");
        }
    }
}

/// How one pull of the upstream ended.
pub enum Outcome {
    /// A pushed source took the station over.
    Outranked,
    /// On demand, and the listeners left.
    NoAudience,
    /// It failed, after delivering for this long.
    Failed(String, Duration),
}

/// The relay shown as the station's source while it is connected.
pub struct SourceShown<'a> {
    station: &'a Station,
    info: Arc<SourceInfo>,
}

impl<'a> SourceShown<'a> {
    /// Shows `info` as `station`'s source until dropped.
    pub fn new(station: &'a Station, info: Arc<SourceInfo>) -> Self {
        station.live.set_source(Arc::clone(&info));
        SourceShown { station, info }
    }
}

impl Drop for SourceShown<'_> {
    fn drop(&mut self) {
        self.station.live.clear_source(&self.info);
    }
}
