//! What a station's plan is a function of, and what the grid says at an instant (the slot on
//! now, the next one, whether live sources are taken).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::grid::{Grid, Occurrence};
use crate::library::Programme;

/// How a slot starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartRule {
    /// When the track playing at its start time ends (waiting at most `max_wait`).
    #[default]
    Track,
    /// At its start time, on a frame boundary (for news at the top of the hour).
    Time,
}

/// What a slot plays, and how it starts.
#[derive(Debug, Clone)]
pub struct SlotPlay {
    /// Its name (for people).
    pub name: String,
    /// Its programme; none for a slot that only marks when live sources are taken (the
    /// station's own programme plays on).
    pub programme: Option<Arc<Programme>>,
    /// How it starts (and ends).
    pub start: StartRule,
    /// How long a transition waits for the track playing to end, in ticks.
    pub max_wait: u64,
    /// Whether live sources are taken only during this slot (and the station's other live-only
    /// slots).
    pub live_only: bool,
}

/// When a jingle plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JingleEvery {
    /// After every this many tracks.
    Tracks(u64),
    /// At the first track boundary after every mark of this many ticks on the station clock.
    Ticks(u64),
}

/// A station's jingles.
#[derive(Debug, Clone)]
pub struct Jingles {
    /// The jingles, taken in turn.
    pub programme: Arc<Programme>,
    /// When one plays.
    pub every: JingleEvery,
}

/// Everything a station's plan is a function of.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The station's own programme: what plays outside every slot.
    pub own: Arc<Programme>,
    /// The week grid.
    pub grid: Grid,
    /// What each of the grid's slots plays (same order).
    pub slots: Vec<SlotPlay>,
    /// Jingles between tracks, if any.
    pub jingles: Option<Jingles>,
    /// The station clock's tick 0.
    pub epoch: SystemTime,
    /// The tick the plan starts from: 0 (the epoch), or the anchor of the last edit under
    /// `edits = "file_times"` (then the plan is played forward from there, with the slot on
    /// there from its first track and the own programme from its first).
    pub anchor: u64,
}

impl Schedule {
    /// The own programme's position at `tick`: its tracks laid end to end with a round starting
    /// at the anchor.
    pub fn own_position(&self, tick: u64) -> u64 {
        tick + crate::timeline::anchored_offset(self.own.ticks(), self.anchor)
    }

    /// The occurrence under way at `now`, if any (the first to start, where slots overlap).
    pub fn slot_at(&self, now: SystemTime) -> Option<Occurrence> {
        self.grid
            .occurrences(now, now + Duration::from_secs(1))
            .into_iter()
            .find(|o| o.start <= now)
    }

    /// The next occurrence to start after `now` (within a fortnight).
    pub fn next_slot(&self, now: SystemTime) -> Option<Occurrence> {
        self.grid
            .occurrences(now, now + Duration::from_secs(14 * 86_400))
            .into_iter()
            .find(|o| o.start > now)
    }

    /// Whether this schedule takes live sources only in some slots.
    pub fn has_live_slots(&self) -> bool {
        self.slots.iter().any(|s| s.live_only)
    }

    /// Whether a live source is taken at `now`: always without live-only slots, else during
    /// one of them.
    pub fn takes_sources_at(&self, now: SystemTime) -> bool {
        !self.has_live_slots()
            || self
                .grid
                .occurrences(now, now + Duration::from_secs(1))
                .iter()
                .any(|o| o.start <= now && self.slots[o.slot].live_only)
    }

    /// The next live-only slot to start after `now`.
    pub fn next_live_slot(&self, now: SystemTime) -> Option<Occurrence> {
        self.grid
            .occurrences(now, now + Duration::from_secs(14 * 86_400))
            .into_iter()
            .find(|o| o.start > now && self.slots[o.slot].live_only)
    }
}
