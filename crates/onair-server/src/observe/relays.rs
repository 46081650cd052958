//! A station's relay as status and `/events` show it: what it is doing, since when, the
//! stream it reached, its last error and when it tries again.

use serde_json::{json, Value};

use crate::stations::relayed::Phase;
use crate::stations::Station;

/// `station`'s relay, or `null` for a station without one.
pub fn relay_json(station: &Station) -> Value {
    let relay = station.relay.snapshot();
    if relay.phase == Phase::Off {
        return Value::Null;
    }
    let time = |t: Option<std::time::SystemTime>| {
        t.map(|t| humantime::format_rfc3339_seconds(t).to_string())
    };
    json!({
        "url": relay.url,
        "state": relay.phase.name(),
        "on_air": relay.phase == Phase::OnAir && station.live.on_air(),
        "since": time(relay.since),
        "upstream": relay.upstream,
        "last_error": relay.last_error,
        "next_attempt": time(relay.next_attempt),
        "failures": relay.failures,
        "connects": relay.connects,
    })
}
