//! A grid's occurrences as station-clock ticks, read a week at a time as the plan goes.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use super::grid::Grid;
use crate::clock::{tick_at, wall_time};

/// How much of the grid is read at once.
const READ_AHEAD: Duration = Duration::from_secs(7 * 86_400);

/// One occurrence of a slot on the station clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occ {
    /// The slot (its index in the grid).
    pub slot: usize,
    /// The tick it starts at (0 for one under way at the epoch).
    pub start: u64,
    /// The tick it ends at.
    pub end: u64,
    /// Which occurrence it is: days from 1970-01-01 to the local date it starts on (a shuffled
    /// slot plays another round each day).
    pub number: u64,
}

/// Occurrences from some tick on, read ahead by weeks.
#[derive(Debug, Clone)]
pub struct Calendar {
    epoch: SystemTime,
    /// Read up to here (wall time).
    read_until: SystemTime,
    /// Occurrences read, by start.
    ahead: VecDeque<Occ>,
}

impl Calendar {
    /// A calendar of occurrences that end after tick `from`.
    pub fn new(grid: &Grid, epoch: SystemTime, from: u64) -> Calendar {
        let start = wall_time(epoch, from);
        let mut calendar = Calendar {
            epoch,
            read_until: start,
            ahead: VecDeque::new(),
        };
        calendar.read(grid, start, true);
        calendar
    }

    /// Reads a week more: occurrences starting from `read_until` (and, the first time, those
    /// under way then).
    fn read(&mut self, grid: &Grid, from: SystemTime, under_way: bool) {
        let until = from + READ_AHEAD;
        for o in grid.occurrences(from, until) {
            if o.start < from && !under_way {
                continue;
            }
            if o.start >= until {
                continue;
            }
            let days = jiff::civil::date(1970, 1, 1)
                .until(o.day)
                .map_or(0, |span| span.get_days());
            self.ahead.push_back(Occ {
                slot: o.slot,
                start: tick_at(self.epoch, o.start),
                end: tick_at(self.epoch, o.end),
                number: u64::try_from(days).unwrap_or(0),
            });
        }
        self.read_until = until;
    }

    /// The first occurrence that starts at or after tick `from` (reading ahead as far as a
    /// fortnight past it), if any.
    pub fn first_from(&mut self, grid: &Grid, from: u64) -> Option<Occ> {
        if grid.slots().is_empty() {
            return None;
        }
        let horizon = wall_time(self.epoch, from) + 2 * READ_AHEAD;
        loop {
            while self
                .ahead
                .front()
                .is_some_and(|o| o.start < from && o.end <= from)
            {
                self.ahead.pop_front();
            }
            if let Some(o) = self.ahead.iter().find(|o| o.start >= from) {
                return Some(*o);
            }
            if self.read_until > horizon {
                return None;
            }
            let at = self.read_until;
            self.read(grid, at, false);
        }
    }

    /// The occurrences under way at tick `at` (started at or before it, not ended), by start.
    pub fn under_way(&mut self, grid: &Grid, at: u64) -> Vec<Occ> {
        // Reading up to `at` first.
        let _ = self.first_from(grid, at);
        self.ahead
            .iter()
            .filter(|o| o.start <= at && at < o.end)
            .copied()
            .collect()
    }
}
