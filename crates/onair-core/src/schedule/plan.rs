//! The schedule laid on the station clock: which programme plays from which tick, as a pure
//! function of the programmes, the grid, the jingle rule and the epoch.
//!
//! The plan is played forward from its anchor (the epoch, tick 0, with the station's own
//! programme on the clock; or the tick of the last edit, under `edits = "file_times"`), one
//! decision at a time, and every replica (and a restart) plays it alike:
//!
//! - **A slot starts** at its start time `S`. `start = "track"`: when the track playing then ends,
//!   if that is at most `max_wait` after `S`; a track that would run longer is cut at the first
//!   frame boundary at or after `S` (on time, rather than late and cut anyway). `start = "time"`:
//!   at the first frame boundary at or after `S`. The slot's programme begins with its first
//!   track (a shuffled one, with the round of the day it starts on).
//! - **A slot ends** at its end time `E` by the same rule (the track playing at `E` finishes if it
//!   ends by `E + max_wait`). A slot track that would end later than that does not start: the
//!   station's own programme takes over at the track boundary before it (but the slot's first
//!   track always plays). The own programme comes back with the track its clock plays then,
//!   from the track's start: the station's rotation goes on where the clock says, whatever the
//!   slots before.
//! - **Jingles** play between two tracks (never cutting one): after every `N` tracks, or at the
//!   first track boundary after each `M`-minute mark of the station clock; then what they
//!   interrupted goes on where it stopped. They are taken in turn from their folder. A jingle
//!   never delays a slot: one due where a slot starts or ends is left out.
//!
//! A change (an edited grid, another programme) takes effect at a track boundary the caller
//! chooses ([`Planner::change`]): the plan is played again up to it, then goes on with the new
//! inputs.

use std::collections::VecDeque;
use std::sync::Arc;

use super::calendar::{Calendar, Occ};
use super::inputs::{JingleEvery, Schedule, StartRule};
use crate::clock::ticks::ticks_per_sample;
use crate::library::{Programme, StationInfo};
use crate::timeline::{Entry, Timeline};

/// What plays, as the plan sees it.
#[derive(Debug, Clone)]
pub(super) enum Playing {
    /// The station's own programme.
    Own,
    /// A slot's programme, since tick `began`; `interrupted`: the slot it interrupted (one
    /// that overlaps it), which goes on where it stopped if it is still on when this one ends.
    Slot {
        occ: Occ,
        began: u64,
        interrupted: Option<Box<Resume>>,
    },
    /// A jingle; then `resume` goes on.
    Jingle { resume: Box<Resume> },
}

/// What a jingle interrupted.
#[derive(Debug, Clone)]
pub(super) struct Resume {
    pub(super) programme: Arc<Programme>,
    pub(super) position: u64,
    pub(super) playing: Playing,
}

/// The plan at one tick (a track boundary): enough to go on from there.
#[derive(Debug, Clone)]
pub(super) struct State {
    pub(super) entry: Entry,
    pub(super) playing: Playing,
    /// A tick where a track of `entry` starts: every decision before it is made.
    pub(super) cursor: u64,
    /// Tracks played (jingles aside), for jingles every N tracks.
    pub(super) tracks: u64,
    /// Jingles played, for taking them in turn.
    pub(super) jingles: u64,
    /// The next mark of jingles every M minutes not yet served.
    pub(super) next_mark: u64,
    /// Occurrences that start before this tick are dealt with.
    pub(super) handled: u64,
}

/// A station's schedule, played forward on its clock.
#[derive(Debug, Clone)]
pub struct Planner {
    pub(super) schedule: Arc<Schedule>,
    pub(super) calendar: Calendar,
    pub(super) state: State,
    /// The state at each entry planned lately, to play the plan again from after a change.
    pub(super) marks: VecDeque<State>,
}

impl Planner {
    /// The plan of `schedule` from its anchor: the epoch (tick 0: the own programme, on the
    /// clock), or a later tick, where the slot under way starts with its first track, or else
    /// the own programme with its first.
    pub fn new(schedule: Arc<Schedule>) -> Planner {
        let anchor = schedule.anchor;
        let mut calendar = Calendar::new(&schedule.grid, schedule.epoch, anchor);
        let mut playing = Playing::Own;
        let mut handled = anchor;
        let mut entry = Entry {
            from: 0,
            programme: Arc::clone(&schedule.own),
            offset: schedule.own_position(0),
        };
        if anchor > 0 {
            let under_way = calendar
                .under_way(&schedule.grid, anchor)
                .into_iter()
                .find(|o| programme_of(&schedule, o.slot).is_some());
            if let Some(o) = under_way {
                entry = slot_entry(&schedule, o, anchor);
                playing = Playing::Slot {
                    occ: o,
                    began: anchor,
                    interrupted: None,
                };
                handled = anchor + 1;
            }
        }
        let state = State {
            entry,
            playing,
            cursor: anchor,
            tracks: 0,
            jingles: 0,
            next_mark: match schedule.jingles.as_ref().map(|j| j.every) {
                Some(JingleEvery::Ticks(m)) => (anchor / m.max(1) + 1) * m.max(1),
                _ => u64::MAX,
            },
            handled,
        };
        Planner {
            schedule,
            calendar,
            marks: VecDeque::from([state.clone()]),
            state,
        }
    }

    /// What the plan is a function of.
    pub fn schedule(&self) -> &Arc<Schedule> {
        &self.schedule
    }

    /// The first entry (at tick 0, or at the anchor).
    pub fn first_entry(&self) -> Entry {
        self.marks
            .front()
            .map_or_else(|| self.state.entry.clone(), |m| m.entry.clone())
    }

    /// Plans on until every entry that starts before `until` is known; returns the new entries,
    /// in order (an entry may start at `until` or after it).
    pub fn plan_until(&mut self, until: u64) -> Vec<Entry> {
        let mut out = Vec::new();
        while self.state.cursor < until {
            self.step(until, &mut out);
        }
        out
    }

    /// The timeline from tick `from` (its first entry the one playing there) up to `until`,
    /// planned from wherever the plan is (the epoch, for a new planner).
    pub fn timeline(&mut self, from: u64, until: u64) -> Timeline {
        let mut current = self.state.entry.clone();
        // A day at a time, keeping only the entry playing at the end of each.
        let day = 86_400 * crate::clock::TICKS_PER_SECOND;
        while self.state.cursor < from {
            let step = from.min(self.state.cursor.saturating_add(day));
            let entries = self.plan_until(step);
            if let Some(last) = entries.into_iter().rev().find(|e| e.from <= from) {
                current = last;
            }
            self.forget_before(self.state.cursor.saturating_sub(day));
        }
        let mut entries = vec![current];
        entries.extend(self.plan_until(until));
        let keep = entries.iter().rposition(|e| e.from <= from).unwrap_or(0);
        let mut timeline = Timeline::planned(entries.split_off(keep))
            .unwrap_or_else(|| Timeline::new(Arc::clone(&self.schedule.own)));
        timeline.forget_before(from);
        timeline
    }

    /// Forgets what is needed only to plan again before `tick`.
    pub fn forget_before(&mut self, tick: u64) {
        while self.marks.len() > 1 && self.marks[1].cursor <= tick {
            self.marks.pop_front();
        }
    }

    /// One decision: what happens during the track that starts at the cursor (jumping to the
    /// track that holds the next event when nothing needs deciding before it, but never past
    /// `limit`).
    pub(super) fn step(&mut self, limit: u64, out: &mut Vec<Entry>) {
        let schedule = Arc::clone(&self.schedule);
        let t = self.state.cursor;
        let (spot, end) = {
            let entry = &self.state.entry;
            let spot = entry.programme.locate(entry.position(t));
            let end = entry.tick_of(spot.end()).max(t + 1);
            (spot, end)
        };
        if let Playing::Jingle { resume } = &self.state.playing {
            let resume = (**resume).clone();
            let entry = Entry {
                from: end,
                programme: resume.programme,
                offset: resume.position,
            };
            return self.enter(end, entry, resume.playing, out);
        }
        let next = self.calendar.first_from(&schedule.grid, self.state.handled);
        // The slot playing: its end, when it began, and how long its end waits for a track.
        let slot_end = match &self.state.playing {
            Playing::Slot { occ, began, .. } => {
                let wait = schedule.slots.get(occ.slot).map_or(0, |s| s.max_wait);
                Some((occ.end, *began, wait))
            }
            _ => None,
        };
        // Nothing to decide before the track that holds the next event: go there at once.
        let per_track = matches!(
            schedule.jingles.as_ref().map(|j| j.every),
            Some(JingleEvery::Tracks(_))
        );
        if !per_track {
            let event = [
                next.map(|o| o.start),
                slot_end.map(|(e, _, _)| e),
                Some(self.state.next_mark),
                Some(limit),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(u64::MAX);
            if event >= end && event != u64::MAX {
                let entry = &self.state.entry;
                let there = entry.tick_of(entry.programme.locate(entry.position(event)).start);
                if there > t {
                    self.state.cursor = there;
                    return;
                }
            }
        }
        let frame = |tick: u64| {
            frame_after(
                entry_track_start(&self.state.entry, &spot),
                &spot.track,
                tick,
                end,
            )
        };
        // A slot that starts during this track.
        if let Some(o) = next.filter(|o| o.start < end) {
            let ends_first = slot_end.is_some_and(|(e, _, _)| e < o.start);
            if !ends_first {
                self.state.handled = o.start + 1;
                if o.end <= t || programme_of(&schedule, o.slot).is_none() {
                    return;
                }
                let play = &schedule.slots[o.slot];
                let at = if o.start <= t {
                    t
                } else if play.start == StartRule::Track && end <= o.start + play.max_wait {
                    end
                } else {
                    frame(o.start)
                };
                self.count_played(at);
                let interrupted = match &self.state.playing {
                    Playing::Slot { occ, .. } if occ.end > at => Some(Box::new(Resume {
                        programme: Arc::clone(&self.state.entry.programme),
                        position: self.state.entry.position(at),
                        playing: self.state.playing.clone(),
                    })),
                    _ => None,
                };
                let entry = slot_entry(&schedule, o, at);
                let playing = Playing::Slot {
                    occ: o,
                    began: at,
                    interrupted,
                };
                return self.enter(at, entry, playing, out);
            }
        }
        // The slot playing ends during this track.
        if let Some((e, began, wait)) = slot_end.filter(|&(e, _, _)| e < end) {
            let at = if e <= t {
                t
            } else if end <= e + wait {
                end
            } else if t > began {
                t
            } else {
                frame(e)
            };
            self.count_played(at);
            // A slot this one interrupted goes on where it stopped, if it is still on.
            if let Playing::Slot {
                interrupted: Some(resume),
                ..
            } = &self.state.playing
            {
                if matches!(&resume.playing, Playing::Slot { occ, .. } if occ.end > at) {
                    let resume = (**resume).clone();
                    let entry = Entry {
                        from: at,
                        programme: resume.programme,
                        offset: resume.position,
                    };
                    return self.enter(at, entry, resume.playing, out);
                }
            }
            let entry = own_entry(&schedule, at);
            return self.enter(at, entry, Playing::Own, out);
        }
        // The track plays to its end; a jingle may follow.
        self.state.tracks += 1;
        self.state.cursor = end;
        let due = match schedule.jingles.as_ref().map(|j| j.every) {
            Some(JingleEvery::Tracks(n)) => self.state.tracks.is_multiple_of(n.max(1)),
            Some(JingleEvery::Ticks(m)) if end >= self.state.next_mark => {
                self.state.next_mark = (end / m.max(1) + 1) * m.max(1);
                true
            }
            _ => false,
        };
        let slot_here =
            next.is_some_and(|o| o.start <= end) || slot_end.is_some_and(|(e, _, _)| e <= end);
        if let (true, false, Some(jingles)) = (due, slot_here, schedule.jingles.as_ref()) {
            let spot = jingles.programme.spot(0, self.state.jingles as usize);
            self.state.jingles += 1;
            let resume = Resume {
                programme: Arc::clone(&self.state.entry.programme),
                position: self.state.entry.position(end),
                playing: self.state.playing.clone(),
            };
            let entry = Entry {
                from: end,
                programme: Arc::clone(&jingles.programme),
                offset: spot.start,
            };
            self.enter(
                end,
                entry,
                Playing::Jingle {
                    resume: Box::new(resume),
                },
                out,
            );
        }
    }

    /// Counts the track that ends (or is cut) at `at`, if it played at all.
    fn count_played(&mut self, at: u64) {
        if at > self.state.cursor {
            self.state.tracks += 1;
        }
    }

    /// `entry` plays from `at` on.
    pub(super) fn enter(&mut self, at: u64, entry: Entry, playing: Playing, out: &mut Vec<Entry>) {
        if out.last().is_some_and(|e| e.from == at) {
            out.pop();
        }
        out.push(entry.clone());
        self.state.entry = entry;
        self.state.playing = playing;
        self.state.cursor = at;
        self.marks.push_back(self.state.clone());
    }
}

/// The programme slot `slot` plays, if it has one.
pub(super) fn programme_of(schedule: &Schedule, slot: usize) -> Option<&Arc<Programme>> {
    schedule.slots.get(slot).and_then(|s| s.programme.as_ref())
}

/// Occurrence `o` of a slot begins at `at` with its first track (of the round its day names).
pub(super) fn slot_entry(schedule: &Schedule, o: Occ, at: u64) -> Entry {
    let programme = programme_of(schedule, o.slot).unwrap_or(&schedule.own);
    Entry {
        from: at,
        programme: Arc::clone(programme),
        offset: programme.spot(o.number, 0).start,
    }
}

/// The own programme comes back at `at` with the track its clock plays there, from its start.
pub(super) fn own_entry(schedule: &Schedule, at: u64) -> Entry {
    Entry {
        from: at,
        programme: Arc::clone(&schedule.own),
        offset: schedule.own.locate(schedule.own_position(at)).start,
    }
}

/// The tick at which `spot` (a track of `entry`) starts (before the entry, for one it starts
/// in the middle of).
fn entry_track_start(entry: &Entry, spot: &crate::library::Spot) -> u64 {
    if spot.start >= entry.offset {
        entry.from + (spot.start - entry.offset)
    } else {
        entry.from.saturating_sub(entry.offset - spot.start)
    }
}

/// The first frame boundary of `track` (started at tick `start`, ending at `end`) at or after
/// `tick`.
fn frame_after(start: u64, track: &StationInfo, tick: u64, end: u64) -> u64 {
    let frame = u64::from(track.first.samples()) * ticks_per_sample(track.first.sample_rate());
    if frame == 0 || tick <= start {
        return tick.clamp(start, end);
    }
    (start + (tick - start).div_ceil(frame) * frame).min(end)
}
