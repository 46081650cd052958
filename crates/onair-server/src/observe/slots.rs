//! What status pages and `/events` say of a scheduled station: the slot on now and the next
//! one, in the station's zone and in UTC, and whether it takes a live source now.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::stations::{Station, StationRegistry};

/// The slot each scheduled station was in at the last look, to say in the log when one starts
/// and ends (by the grid: a `track` start may wait a little longer for its track to end).
#[derive(Debug, Default)]
pub struct SlotLog {
    on: HashMap<String, Option<String>>,
}

impl SlotLog {
    /// Looks at every scheduled station now; one `info` line per slot that started or ended
    /// since the last look.
    pub fn look(&mut self, registry: &StationRegistry) {
        let mut seen = HashMap::new();
        for station in registry.list() {
            let Some(schedule) = station.schedule() else {
                continue;
            };
            let now = schedule
                .slot_at(station.clock_now())
                .map(|o| schedule.slots[o.slot].name.clone());
            let before = self.on.get(&station.name).cloned().flatten();
            if before != now {
                if let Some(ended) = &before {
                    tracing::info!(station = %station.name, slot = %ended, "schedule slot ended");
                }
                if let Some(started) = &now {
                    tracing::info!(station = %station.name, slot = %started, "schedule slot started");
                }
            }
            seen.insert(station.name.clone(), now);
        }
        self.on = seen;
    }
}

/// A scheduled station's slot on now and the next one (local times in its zone, and UTC), and
/// whether it takes a live source now; `null` for a station without a schedule.
pub fn schedule_json(station: &Station) -> Value {
    let Some(schedule) = station.schedule() else {
        return Value::Null;
    };
    let now = station.clock_now();
    let grid = &schedule.grid;
    let slot = |o: onair_core::schedule::Occurrence| {
        let play = &schedule.slots[o.slot];
        json!({
            "name": play.name,
            "start": grid.rfc3339(o.start),
            "start_utc": humantime::format_rfc3339_seconds(o.start).to_string(),
            "end": grid.rfc3339(o.end),
            "end_utc": humantime::format_rfc3339_seconds(o.end).to_string(),
            "at": grid.short(o.start, now),
            "live_only": play.live_only,
        })
    };
    json!({
        "timezone": grid.zone_name(),
        "slot": schedule.slot_at(now).map(slot),
        "next_slot": schedule.next_slot(now).map(slot),
        "takes_sources": schedule.takes_sources_at(now),
    })
}
