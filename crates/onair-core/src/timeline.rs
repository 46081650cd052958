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

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::programme::Programme;

/// Timeline ticks per second: the least common multiple of every ADTS sample rate.
pub const TICKS_PER_SECOND: u64 = 28_224_000;

/// The MPEG-TS / HLS clock: 90 kHz, 33 bits.
const PTS_HZ: u128 = 90_000;
const PTS_WRAP: u64 = 1 << 33;

/// Ticks of one sample at `rate` Hz (a whole number for every ADTS rate; 0 for rate 0).
pub fn ticks_per_sample(rate: u32) -> u64 {
    if rate == 0 {
        return 0;
    }
    TICKS_PER_SECOND / u64::from(rate)
}

/// Ticks in `d` (rounded down).
pub fn ticks_of(d: Duration) -> u64 {
    u64::try_from(d.as_nanos() * u128::from(TICKS_PER_SECOND) / 1_000_000_000).unwrap_or(u64::MAX)
}

/// The duration of `ticks` (rounded down to the nanosecond).
pub fn duration_of(ticks: u64) -> Duration {
    let nanos = u128::from(ticks) * 1_000_000_000 / u128::from(TICKS_PER_SECOND);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// The tick playing at wall time `at` on a timeline that starts at `epoch` (0 before it).
pub fn tick_at(epoch: SystemTime, at: SystemTime) -> u64 {
    at.duration_since(epoch).map_or(0, ticks_of)
}

/// The wall time of `tick` on a timeline that starts at `epoch`.
pub fn wall_time(epoch: SystemTime, tick: u64) -> SystemTime {
    epoch + duration_of(tick)
}

/// `tick` on the 33-bit 90 kHz clock of MPEG-TS and HLS, from the exact tick count (never a sum
/// of rounded frame durations: at 44.1 kHz a frame is 2089.8 of its ticks).
pub fn pts_90k(tick: u64) -> u64 {
    (u128::from(tick) * PTS_HZ / u128::from(TICKS_PER_SECOND)) as u64 % PTS_WRAP
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

    /// Plays `programme` from tick `from` on (a frame boundary of the timeline), at programme
    /// position `offset`; entries that would start later are dropped.
    pub fn switch(&mut self, from: u64, programme: Arc<Programme>, offset: u64) {
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
    use crate::adts::SAMPLE_RATES;

    #[test]
    fn every_rate_has_whole_ticks_per_sample() {
        for rate in SAMPLE_RATES {
            assert_eq!(TICKS_PER_SECOND % u64::from(rate), 0, "{rate}");
        }
        assert_eq!(ticks_per_sample(44_100), 640);
        assert_eq!(ticks_per_sample(48_000), 588);
    }

    #[test]
    fn the_90k_clock_is_exact_and_wraps() {
        // One second is 90,000 exactly; a 44.1 kHz frame is 2089.8 of them, so ten frames from
        // a running count are 20,897 or 20,898 ticks apart, never a drifting sum.
        assert_eq!(pts_90k(TICKS_PER_SECOND), 90_000);
        let frame = 1024 * ticks_per_sample(44_100);
        assert_eq!(pts_90k(frame * 10), 20_897);
        assert_eq!(pts_90k(frame * 100_000), 208_979_591);
        // Five turns of the 33-bit clock: 5 x 2^33 x 28,224,000 / 90,000 ticks, exactly.
        let wrap = (1u64 << 33) * 1568;
        assert_eq!(pts_90k(wrap), 0);
        assert_eq!(pts_90k(wrap + TICKS_PER_SECOND), 90_000);
    }

    #[test]
    fn wall_time_and_ticks_agree() {
        let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let at = epoch + Duration::from_millis(123_456);
        let tick = tick_at(epoch, at);
        assert_eq!(tick, 123_456 * 28_224);
        assert_eq!(wall_time(epoch, tick), at);
        assert_eq!(tick_at(epoch, epoch - Duration::from_secs(1)), 0);
    }
}

/// The first frame boundary at or after `tick` on the stretch `entry` plays (reads at most one
/// index interval of a file).
pub async fn frame_boundary(entry: &Entry, tick: u64) -> Result<u64, crate::SourceError> {
    let position = entry.position(tick);
    let start = frame_containing(&entry.programme, position).await?;
    if start.start == position {
        return Ok(tick);
    }
    // A file that shrank under its reader may yield a frame of the next track: then the tick
    // itself is as good a boundary as any.
    Ok(tick + (start.start + start.ticks).saturating_sub(position))
}

/// The first tick of segment `k` (segments of `segment_ticks`): the first frame boundary at or
/// after `k x segment_ticks`, so that every replica cuts at the same frame.
pub async fn segment_start(
    timeline: &Timeline,
    k: u64,
    segment_ticks: u64,
) -> Result<u64, crate::SourceError> {
    let tick = k.saturating_mul(segment_ticks);
    frame_boundary(timeline.at(tick), tick).await
}

/// The frame of `programme` that holds programme position `position`: where it starts and how
/// long it lasts.
pub async fn frame_containing(
    programme: &Arc<Programme>,
    position: u64,
) -> Result<FrameSpan, crate::SourceError> {
    let mut source = crate::source::StationSource::open_at(programme, position);
    let frame = source.next_chunk(Duration::ZERO).await?;
    Ok(FrameSpan {
        start: frame.start,
        ticks: frame.ticks,
    })
}

/// Where a frame starts in its programme and how long it lasts, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpan {
    /// Programme position.
    pub start: u64,
    /// Length.
    pub ticks: u64,
}
