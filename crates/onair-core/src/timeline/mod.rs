//! The station clock: a station's position is a function of its files and the wall clock.
//!
//! Time on a station's timeline is counted in ticks of 1/28,224,000 s: the least common multiple
//! of every ADTS sample rate (7.35 to 96 kHz; every MPEG audio rate, 8 to 48 kHz, is among them),
//! so that every frame of every rate lasts a whole number of ticks and no rounding ever
//! accumulates, across loops, tracks, files and rate changes. Tick
//! 0 is the station's epoch (`[pacing] epoch`); at wall time `t` the station plays tick
//! `(t - epoch) x 28,224,000`. Every onair process that has the same files and the same epoch
//! therefore plays the same frame at the same moment, and a restarted one resumes where it would
//! have been.
//!
//! A [`Timeline`] says which programme plays from which tick on: one entry while a station keeps
//! its programme, a new entry when it changes (a replaced station file from a segment boundary,
//! a changed programme from a track boundary). A programme's tracks are laid end to end from its
//! entry's start, looping: track boundaries and the loop point are seamless, in ticks too.
//!
//! The server asks the timeline, never programme internals: what plays at a tick and next
//! ([`Timeline::now_and_next`]), where the next track boundary is, where a change lands
//! ([`Timeline::track_switch`], [`Timeline::segment_switch`]), where segments start and what
//! they hold.
//!
//! - this module: [`Timeline`], its entries and the questions answered from them alone.
//! - `anchor`: a programme laid from an anchor other than the epoch, and one timeline going on
//!   as another from a tick ([`Timeline::splice`]), for edits that every replica times alike.
//! - `bounds`: frame boundaries read from the files (segment starts, where a new file joins).
//! - `segment`: the frames between two ticks, cut from the files ([`Segment`]).
//! - `window`: a station's HLS [`SegmentWindow`]: boundaries kept, segments kept ready, and
//!   stretches of audio held that no file can give again.

use std::sync::Arc;

use crate::library::{Programme, Spot, StationInfo};

mod anchor;
mod bounds;
mod segment;
mod window;

pub use anchor::anchored_offset;
pub use bounds::FrameSpan;
pub use segment::Segment;
pub use window::{Listing, Packed, SegmentWindow, Stretch};

/// A track placed on the station clock.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The track.
    pub track: Arc<StationInfo>,
    /// The tick its first frame plays at.
    pub started: u64,
    /// The tick after its last frame (where the next track starts).
    pub ends: u64,
    /// Its place in the programme (round and index), for choosing what follows a change.
    pub spot: Spot,
}

/// What plays at a tick, and what comes after it.
#[derive(Debug, Clone)]
pub struct NowAndNext {
    /// The track playing.
    pub now: Placed,
    /// The track that follows it (of the programme that plays then).
    pub next: Placed,
}

/// Where a programme that replaces another goes on: from tick `at`, at programme position
/// `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch {
    /// The tick (a frame boundary) the new programme plays from.
    pub at: u64,
    /// The new programme's position there.
    pub offset: u64,
}

/// One stretch of a timeline: `programme` plays from tick `from` on, at programme position
/// `offset` there.
#[derive(Debug, Clone)]
pub struct Entry {
    /// First tick of the stretch (a frame boundary).
    pub from: u64,
    /// The programme.
    pub programme: Arc<Programme>,
    /// The programme position (a frame boundary) that plays at `from`.
    pub offset: u64,
}

impl Entry {
    /// The programme position of `tick` (at or after `from`).
    pub fn position(&self, tick: u64) -> u64 {
        self.offset + tick.saturating_sub(self.from)
    }

    /// The tick at which programme position `position` (at or after `offset`) plays.
    pub fn tick_of(&self, position: u64) -> u64 {
        self.from + position.saturating_sub(self.offset)
    }
}

/// Which programme plays from which tick on. Entries are in order of `from`; the first one covers
/// everything before the second.
#[derive(Debug, Clone)]
pub struct Timeline {
    entries: Vec<Entry>,
    /// Discontinuities (a change of sample rate, channels or profile at a switch) among the
    /// entries forgotten: HLS's `EXT-X-DISCONTINUITY-SEQUENCE` only ever grows.
    forgotten_discontinuities: u64,
}

impl Timeline {
    /// A timeline that has always played `programme`: its tracks laid end to end from tick 0,
    /// so tick `t` is programme position `t` (round `t / length`).
    pub fn new(programme: Arc<Programme>) -> Self {
        Timeline {
            entries: vec![Entry {
                from: 0,
                programme,
                offset: 0,
            }],
            forgotten_discontinuities: 0,
        }
    }

    /// A timeline of `entries` (by `from`; the first covers everything before the second),
    /// as a schedule plans them; none without entries.
    pub fn planned(entries: Vec<Entry>) -> Option<Self> {
        let mut iter = entries.into_iter();
        let mut timeline = Timeline {
            entries: vec![iter.next()?],
            forgotten_discontinuities: 0,
        };
        timeline.extend(iter);
        Some(timeline)
    }

    /// Plays each of `entries` from its tick on (see [`switch`](Self::switch)).
    pub fn extend(&mut self, entries: impl IntoIterator<Item = Entry>) {
        for entry in entries {
            if self
                .entries
                .last()
                .is_some_and(|last| last.from < entry.from)
            {
                self.entries.push(entry);
                continue;
            }
            let switch = Switch {
                at: entry.from,
                offset: entry.offset,
            };
            self.switch(switch, entry.programme);
        }
    }

    /// Drops every entry that starts at or after `tick` (but the first): what was planned from
    /// there is planned again.
    pub fn truncate_from(&mut self, tick: u64) {
        let keep = self.entries.partition_point(|e| e.from < tick).max(1);
        self.entries.truncate(keep);
    }

    /// The entry playing at `tick`.
    pub fn at(&self, tick: u64) -> &Entry {
        let i = self.entries.partition_point(|e| e.from <= tick);
        &self.entries[i.saturating_sub(1)]
    }

    /// The first tick after `tick` at which another entry starts, if any.
    pub fn next_change(&self, tick: u64) -> Option<u64> {
        self.entries
            .iter()
            .map(|e| e.from)
            .find(|&from| from > tick)
    }

    /// Every entry.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The newest programme: the one the latest switch plays (described as soon as it is
    /// scheduled).
    pub fn newest(&self) -> &Arc<Programme> {
        &self.entries[self.entries.len() - 1].programme
    }

    /// The track playing at `tick`, placed on the clock.
    pub fn track_at(&self, tick: u64) -> Placed {
        let entry = self.at(tick);
        let spot = entry.programme.locate(entry.position(tick));
        Placed {
            track: Arc::clone(&spot.track),
            started: entry.tick_of(spot.start),
            ends: entry.tick_of(spot.end()),
            spot,
        }
    }

    /// What plays at `tick` and what follows it: a function of the timeline alone, the same on
    /// every replica.
    pub fn now_and_next(&self, tick: u64) -> NowAndNext {
        let now = self.track_at(tick);
        let next = self.track_at(now.ends);
        NowAndNext { now, next }
    }

    /// The first track boundary at or after `tick` (or the start of an entry scheduled before
    /// it: a switch already pending there is replaced, not followed).
    pub fn next_track_boundary(&self, tick: u64) -> u64 {
        let placed = self.track_at(tick);
        let boundary = if placed.started == tick {
            tick
        } else {
            placed.ends
        };
        match self.next_change(tick) {
            Some(change) if change <= boundary => change,
            _ => boundary,
        }
    }

    /// Where `programme` goes on when it replaces what plays at the first track boundary at or
    /// after `earliest`: with the track that follows the one that ended there (see
    /// [`Programme::continue_after`]), so that no track is cut or played twice in a row.
    pub fn track_switch(&self, earliest: u64, programme: &Programme) -> Switch {
        let at = self.next_track_boundary(earliest);
        let ended = self.track_at(at.saturating_sub(1));
        Switch {
            at,
            offset: programme
                .continue_after(&ended.track, ended.spot.round)
                .start,
        }
    }

    /// Plays `programme` from tick `from` on (a frame boundary of the timeline), at programme
    /// position `offset`; entries that would start later are dropped.
    pub fn switch(&mut self, Switch { at: from, offset }: Switch, programme: Arc<Programme>) {
        self.entries.retain(|e| e.from < from);
        self.entries.push(Entry {
            from,
            programme,
            offset,
        });
    }

    /// Forgets entries that ended before `tick` (they left every window), keeping the one that
    /// plays at `tick`.
    pub fn forget_before(&mut self, tick: u64) {
        let i = self.entries.partition_point(|e| e.from <= tick);
        if i > 1 {
            // The switches into entries 1..i-1 are forgotten with the entries before them.
            self.forgotten_discontinuities +=
                (1..i).filter(|&j| self.is_discontinuity(j)).count() as u64;
            self.entries.drain(..i - 1);
        }
    }

    /// Whether the switch into entry `j` changes the stream's format (a decoder must start
    /// over).
    fn is_discontinuity(&self, j: usize) -> bool {
        j > 0
            && j < self.entries.len()
            && self.entries[j - 1].programme.format() != self.entries[j].programme.format()
    }

    /// The tick of a switch that changes the stream's format within `half` of `tick` (after
    /// `tick - half`, at `tick + half` at the latest), if any.
    pub fn format_change_near(&self, tick: u64, half: u64) -> Option<u64> {
        (1..self.entries.len())
            .filter(|&j| self.is_discontinuity(j))
            .map(|j| self.entries[j].from)
            .find(|&from| from > tick.saturating_sub(half) && from <= tick + half)
    }

    /// Whether a switch that changes the stream's format happens exactly at `tick`.
    pub fn discontinuity_at(&self, tick: u64) -> bool {
        self.entries
            .iter()
            .position(|e| e.from == tick)
            .is_some_and(|j| self.is_discontinuity(j))
    }

    /// Discontinuities strictly before `tick` since the timeline began (for HLS's
    /// `EXT-X-DISCONTINUITY-SEQUENCE`).
    pub fn discontinuities_before(&self, tick: u64) -> u64 {
        self.forgotten_discontinuities
            + (1..self.entries.len())
                .filter(|&j| self.entries[j].from < tick && self.is_discontinuity(j))
                .count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::programme_of as programme;

    #[test]
    fn what_plays_now_and_next_and_where_tracks_change() {
        let timeline = Timeline::new(programme(&[("a.aac", 10), ("b.aac", 20), ("c.aac", 30)]));
        let at = timeline.now_and_next(75);
        assert_eq!(at.now.track.path.to_str(), Some("b.aac"));
        assert_eq!((at.now.started, at.now.ends), (70, 90));
        assert_eq!(at.next.track.path.to_str(), Some("c.aac"));
        assert_eq!(timeline.next_track_boundary(75), 90);
        assert_eq!(timeline.next_track_boundary(90), 90);
        // A programme changed at the boundary after 75 goes on after the track that ended
        // there (b): with c, then a.
        let new = programme(&[("a.aac", 10), ("c.aac", 30), ("d.aac", 5)]);
        let switch = timeline.track_switch(75, &new);
        assert_eq!(switch.at, 90);
        let mut changed = timeline.clone();
        changed.switch(switch, Arc::clone(&new));
        assert_eq!(changed.track_at(90).track.path.to_str(), Some("c.aac"));
        assert_eq!(changed.newest().tracks().len(), 3);
        // A switch pending before the next boundary is where the next change lands.
        assert_eq!(changed.next_track_boundary(80), 90);
        assert_eq!(
            changed.now_and_next(85).next.track.path.to_str(),
            Some("c.aac")
        );
    }
}
