//! A change to a running plan (an edited grid, another programme): the plan played again up
//! to a track boundary, then on with the new inputs.

use std::sync::Arc;

use super::calendar::Calendar;
use super::inputs::{JingleEvery, Schedule};
use super::plan::{own_entry, programme_of, slot_entry, Planner, Playing};
use crate::library::{Programme, StationInfo};
use crate::timeline::Entry;

impl Planner {
    /// Goes on with `schedule` from tick `at` (a track boundary of the plan, after which nothing
    /// has played yet); `ended` is the track that ended there, in its programme's round. Returns
    /// the entries from `at` on, which replace the old ones: what plays at `at` stays if it is
    /// the same slot (or the own programme) with the same programme; the same with another
    /// programme goes on after the track that ended; anything else starts as the new grid says.
    /// `fresh`: what played up to `at` was not this plan's (a station that was not scheduled),
    /// so what the plan says at `at` is always entered there.
    pub fn change(
        &mut self,
        at: u64,
        schedule: Arc<Schedule>,
        ended: Option<(&StationInfo, u64)>,
        until: u64,
        fresh: bool,
    ) -> Vec<Entry> {
        // The plan played again up to `at`, with the old inputs.
        while self.marks.len() > 1 && self.marks.back().is_some_and(|m| m.cursor > at) {
            self.marks.pop_back();
        }
        if let Some(mark) = self.marks.back() {
            if mark.cursor <= at {
                self.state = mark.clone();
                self.calendar =
                    Calendar::new(&self.schedule.grid, self.schedule.epoch, mark.cursor);
            }
        }
        let mut replayed = Vec::new();
        while self.state.cursor < at {
            self.step(at, &mut replayed);
        }
        let mut calendar = Calendar::new(&schedule.grid, schedule.epoch, at);
        let nominal = calendar
            .under_way(&schedule.grid, at)
            .into_iter()
            .find(|o| programme_of(&schedule, o.slot).is_some());
        let state = &mut self.state;
        let mut playing = match &state.playing {
            Playing::Jingle { resume } => resume.playing.clone(),
            other => other.clone(),
        };
        let current = Arc::clone(match &state.playing {
            Playing::Jingle { resume } => &resume.programme,
            _ => &state.entry.programme,
        });
        let continuing = |new: &Arc<Programme>| -> Option<Entry> {
            if !fresh
                && Arc::ptr_eq(new, &current)
                && !matches!(state.playing, Playing::Jingle { .. })
            {
                return None;
            }
            let offset = match ended {
                Some((track, round)) => new.continue_after(track, round).start,
                None => new.locate(state.entry.position(at)).start,
            };
            Some(Entry {
                from: at,
                programme: Arc::clone(new),
                offset,
            })
        };
        let entry = match (&playing, nominal) {
            (Playing::Slot { occ, .. }, Some(o)) if occ.slot == o.slot && occ.start == o.start => {
                programme_of(&schedule, o.slot).and_then(continuing)
            }
            (Playing::Own, None) => continuing(&schedule.own),
            (_, Some(o)) => {
                playing = Playing::Slot {
                    occ: o,
                    began: at,
                    interrupted: None,
                };
                Some(slot_entry(&schedule, o, at))
            }
            (_, None) => {
                playing = Playing::Own;
                Some(own_entry(&schedule, at))
            }
        };
        let entry = match (entry, &state.playing) {
            (Some(entry), _) => Some(entry),
            (None, Playing::Jingle { resume }) => Some(Entry {
                from: at,
                programme: Arc::clone(&resume.programme),
                offset: resume.position,
            }),
            (None, _) => None,
        };
        if let Some(entry) = &entry {
            state.entry = entry.clone();
        }
        state.playing = playing;
        state.handled = at + 1;
        if let Some(JingleEvery::Ticks(m)) = schedule.jingles.as_ref().map(|j| j.every) {
            let m = m.max(1);
            state.next_mark = (at / m + 1) * m;
        } else {
            state.next_mark = u64::MAX;
        }
        self.schedule = schedule;
        self.calendar = calendar;
        self.marks.push_back(self.state.clone());
        let mut out: Vec<Entry> = entry.into_iter().collect();
        out.extend(self.plan_until(until));
        out
    }
}
