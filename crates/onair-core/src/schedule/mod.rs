//! Schedules: a station's week grid of slots, each playing its own programme, and jingles
//! between tracks, laid on the station clock as a pure function of the files, the config and
//! the wall time, so that every replica (and a restart) plays the same frame.
//!
//! - `grid`: the week grid in an IANA time zone, and when each slot occurs (daylight-saving
//!   changes included).
//! - `calendar`: the grid's occurrences as station-clock ticks, read ahead by weeks.
//! - `inputs`: what a plan is a function of ([`Schedule`]: programmes, grid, jingles, epoch),
//!   and what it says about slots and live sources at an instant.
//! - `change`: a running plan going on with new inputs from a track boundary.
//! - `plan`: the [`Planner`] that plays the schedule forward from the epoch into
//!   [`Entry`](crate::Entry)s of a [`Timeline`](crate::Timeline).

mod calendar;
mod change;
mod grid;
mod inputs;
mod plan;

pub use grid::{ClockTime, Days, Grid, Occurrence, SlotTimes};
pub use inputs::{JingleEvery, Jingles, Schedule, SlotPlay, StartRule};
pub use plan::Planner;
