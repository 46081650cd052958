//! The station clock's home: its units (ticks) and where wall time comes from.
//!
//! - [`ticks`]: ticks of 1/28,224,000 s and every conversion to and from them.
//! - [`wall`]: the one injected source of wall time ([`WallClock`]): the system's in
//!   production, a [`TestClock`] that tests step by hand.
//! - [`anchor`]: ties wall time to tokio's monotonic clock, and notices when the wall clock
//!   steps (NTP correcting a slow boot clock), as a pure state machine.

pub mod anchor;
pub mod ticks;
pub mod wall;

pub use anchor::{Anchor, Step};
pub use ticks::{
    check_epoch, duration_of, duration_to_samples, pts_90k, samples_to_duration, tick_at, ticks_of,
    ticks_per_sample, wall_time, EpochError, MAX_SPAN, TICKS_PER_SECOND,
};
pub use wall::{SystemClock, TestClock, WallClock};
