//! A station's programme: its tracks laid end to end, gapless, looped for ever.
//!
//! Positions in a programme are counted in timeline ticks from the start of its first round and
//! never wrap: position `p` lies in round `p / ticks` (the programme's length), so a shuffled
//! programme knows which round's order applies. A single station file is a programme of one
//! track.
//!
//! Shuffle plays every track once per round, in an order derived from the station's name and
//! the round number only (a fixed hash and a fixed generator, never the process's random state),
//! so that replicas agree and a restart does not reshuffle.

use std::sync::Arc;
use std::time::Duration;

use crate::format::frame::Format;
use crate::library::probe::StationInfo;

/// The order a programme plays its tracks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// In file-name order, every round alike.
    Name,
    /// Every track once per round, in an order drawn from `seed` and the round number.
    Shuffle {
        /// Derived from the station's name ([`Order::shuffle_for`]).
        seed: u64,
    },
}

impl Order {
    /// Shuffled with a seed derived from the station's name.
    pub fn shuffle_for(station: &str) -> Order {
        Order::Shuffle {
            seed: fnv1a(station.as_bytes()),
        }
    }
}

/// A track at a place in a programme.
#[derive(Debug, Clone)]
pub struct Spot {
    /// The round (pass through the programme) it plays in.
    pub round: u64,
    /// Its place in that round's order.
    pub index: usize,
    /// The track.
    pub track: Arc<StationInfo>,
    /// The programme position of its first frame.
    pub start: u64,
}

impl Spot {
    /// The programme position where the track ends (and the next one starts).
    pub fn end(&self) -> u64 {
        self.start + self.track.ticks
    }
}

/// Tracks end to end, looped.
#[derive(Debug)]
pub struct Programme {
    tracks: Vec<Arc<StationInfo>>,
    order: Order,
    /// Where each track starts in a round played in name order.
    starts: Vec<u64>,
    /// Length of one round.
    ticks: u64,
}

impl Programme {
    /// A programme of `tracks` (in name order) played in `order`; `None` without tracks.
    pub fn new(tracks: Vec<Arc<StationInfo>>, order: Order) -> Option<Programme> {
        if tracks.is_empty() {
            return None;
        }
        let mut starts = Vec::with_capacity(tracks.len());
        let mut ticks = 0u64;
        for track in &tracks {
            starts.push(ticks);
            // A probed track has a frame at least; a track of no ticks would never end.
            ticks += track.ticks.max(1);
        }
        Some(Programme {
            tracks,
            order,
            starts,
            ticks,
        })
    }

    /// The programme of one station file.
    pub fn single(info: Arc<StationInfo>) -> Programme {
        Programme {
            ticks: info.ticks.max(1),
            tracks: vec![info],
            order: Order::Name,
            starts: vec![0],
        }
    }

    /// The tracks, in name order.
    pub fn tracks(&self) -> &[Arc<StationInfo>] {
        &self.tracks
    }

    /// The order they play in.
    pub fn order(&self) -> Order {
        self.order
    }

    /// The first track (in name order): the stream's format and a station file's description.
    pub fn first(&self) -> &Arc<StationInfo> {
        &self.tracks[0]
    }

    /// Length of one round, in ticks.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The format every track shares.
    pub fn format(&self) -> Format {
        self.first().first.format()
    }

    /// Audio duration of one round.
    pub fn duration(&self) -> Duration {
        self.tracks.iter().map(|t| t.duration).sum()
    }

    /// Average bitrate over every track, in bits per second.
    pub fn bitrate(&self) -> u64 {
        let bytes: u64 = self.tracks.iter().map(|t| t.audio_bytes).sum();
        let nanos = self.duration().as_nanos().max(1);
        (u128::from(bytes) * 8 * 1_000_000_000 / nanos) as u64
    }

    /// Average bitrate in kb/s, rounded.
    pub fn bitrate_kbps(&self) -> u64 {
        (self.bitrate() + 500) / 1000
    }

    /// Track indexes (into [`tracks`](Self::tracks)) in the order round `round` plays them.
    pub fn round_order(&self, round: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.tracks.len()).collect();
        if let Order::Shuffle { seed } = self.order {
            // Fisher-Yates with splitmix64: the same everywhere, for ever.
            let mut state = seed ^ round.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            for i in (1..order.len()).rev() {
                let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
        }
        order
    }

    /// The track playing at programme position `position`.
    pub fn locate(&self, position: u64) -> Spot {
        let (round, within) = (position / self.ticks, position % self.ticks);
        if self.order == Order::Name {
            let index = self.starts.partition_point(|&s| s <= within) - 1;
            return self.spot_in(round, index, index, self.starts[index]);
        }
        let order = self.round_order(round);
        let last = order.len() - 1;
        let mut start = 0;
        let index = order[..last]
            .iter()
            .position(|&t| {
                let end = start + self.tracks[t].ticks.max(1);
                let here = within < end;
                if !here {
                    start = end;
                }
                here
            })
            .unwrap_or(last);
        self.spot_in(round, index, order[index], start)
    }

    /// The track at place `index` of round `round` (`index` past the round's end goes on into
    /// the next round).
    pub fn spot(&self, round: u64, index: usize) -> Spot {
        let (round, index) = (
            round + (index / self.tracks.len()) as u64,
            index % self.tracks.len(),
        );
        if self.order == Order::Name {
            return self.spot_in(round, index, index, self.starts[index]);
        }
        let order = self.round_order(round);
        let start = order[..index]
            .iter()
            .map(|&t| self.tracks[t].ticks.max(1))
            .sum();
        self.spot_in(round, index, order[index], start)
    }

    /// Place `index` of round `round`: track `track` (into [`tracks`](Self::tracks)), starting
    /// `start` ticks into the round.
    fn spot_in(&self, round: u64, index: usize, track: usize, start: u64) -> Spot {
        Spot {
            round,
            index,
            track: Arc::clone(&self.tracks[track]),
            start: round * self.ticks + start,
        }
    }

    /// The track after `spot`.
    pub fn next(&self, spot: &Spot) -> Spot {
        self.spot(spot.round, spot.index + 1)
    }

    /// Where this programme goes on after `ended` (a track of another version of the programme,
    /// ending in round `round`): with the track that follows it here, so that a change to the
    /// programme never repeats or cuts a track. The track that ended is recognised by its path,
    /// or by its audio when it was renamed (a renamed track never plays twice in a row). In name
    /// order what follows is the track after it, or the first whose name sorts after it when it
    /// is no longer here; shuffled, the one after it in this round's order, or the next round's
    /// first when it is no longer here.
    pub fn continue_after(&self, ended: &StationInfo, round: u64) -> Spot {
        let is_ended = |t: &StationInfo| t.path == ended.path || t.same_audio(ended);
        match self.order {
            Order::Name => {
                let index = match self.tracks.iter().position(|t| is_ended(t)) {
                    Some(index) => index + 1,
                    None => self.tracks.partition_point(|t| t.path <= ended.path),
                };
                self.spot(round, index)
            }
            Order::Shuffle { .. } => {
                let order = self.round_order(round);
                match order.iter().position(|&t| is_ended(&self.tracks[t])) {
                    Some(index) => self.spot(round, index + 1),
                    None => self.spot(round + 1, 0),
                }
            }
        }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, 64 bits: a hash that never changes between versions or machines.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::track;

    fn programme(lengths: &[u64], order: Order) -> Programme {
        let tracks = lengths
            .iter()
            .enumerate()
            .map(|(i, &ticks)| track(&format!("{i:03}.aac"), ticks))
            .collect();
        Programme::new(tracks, order).expect("tracks")
    }

    #[test]
    fn tracks_lie_end_to_end_and_loop() {
        let p = programme(&[10, 20, 30], Order::Name);
        assert_eq!(p.ticks(), 60);
        let at = |pos| {
            let s = p.locate(pos);
            (s.round, s.index, s.start)
        };
        assert_eq!(at(0), (0, 0, 0));
        assert_eq!(at(9), (0, 0, 0));
        assert_eq!(at(10), (0, 1, 10));
        assert_eq!(at(59), (0, 2, 30));
        assert_eq!(at(60), (1, 0, 60));
        assert_eq!(at(125), (2, 0, 120));
        let last = p.locate(59);
        assert_eq!(last.end(), 60);
        let next = p.next(&last);
        assert_eq!((next.round, next.index, next.start), (1, 0, 60));
    }

    #[test]
    fn shuffle_plays_every_track_once_per_round_the_same_everywhere() {
        let lengths: Vec<u64> = (1..=20).collect();
        let p = programme(&lengths, Order::shuffle_for("jazz"));
        let again = programme(&lengths, Order::shuffle_for("jazz"));
        let other = programme(&lengths, Order::shuffle_for("ambient"));
        for round in 0..5 {
            let order = p.round_order(round);
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..20).collect::<Vec<_>>(), "round {round}");
            assert_eq!(order, again.round_order(round));
        }
        assert_ne!(p.round_order(0), p.round_order(1));
        assert_ne!(p.round_order(0), other.round_order(0));
        // Walking track by track tiles the rounds exactly, as `locate` says.
        let mut spot = p.locate(0);
        for _ in 0..60 {
            let found = p.locate(spot.start + spot.track.ticks / 2);
            assert_eq!(
                (found.round, found.index, found.start),
                (spot.round, spot.index, spot.start)
            );
            let next = p.next(&spot);
            assert_eq!(next.start, spot.end());
            spot = next;
        }
        assert_eq!(spot.round, 3);
    }

    #[test]
    fn a_changed_programme_goes_on_after_the_track_that_ended() {
        let old = programme(&[10, 20, 30], Order::Name);
        let ended = Arc::clone(&old.tracks()[1]); // 001.aac
                                                  // 001 removed, 000 and 002 stay, 0015 added: the first name after 001 is 0015.
        let tracks = vec![
            track("000.aac", 10),
            track("0015.aac", 5),
            track("002.aac", 30),
        ];
        let new = Programme::new(tracks, Order::Name).expect("tracks");
        let spot = new.continue_after(&ended, 4);
        assert_eq!(spot.track.path.to_str(), Some("0015.aac"));
        assert_eq!((spot.round, spot.start), (4, 4 * 45 + 10));
        // 002 renamed to 0001 (the same audio): it ended, so 0015 follows, not 0001 again.
        let renamed = Arc::new(crate::library::probe::StationInfo {
            path: "0001.aac".into(),
            ..(*old.tracks()[2]).clone()
        });
        let tracks = vec![
            Arc::clone(&renamed),
            track("0015.aac", 5),
            track("003.aac", 7),
        ];
        let after_rename = Programme::new(tracks, Order::Name).expect("tracks");
        let spot = after_rename.continue_after(&old.tracks()[2], 1);
        assert_eq!(spot.track.path.to_str(), Some("0015.aac"));
        // After the last name comes the next round's first.
        let last = Arc::clone(&old.tracks()[2]);
        let spot = new.continue_after(&last, 4);
        assert_eq!((spot.round, spot.index), (5, 0));
    }
}
