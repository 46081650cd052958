//! Edits timed by the files (`edits = "file_times"`): an instant every replica reads from what
//! it sees on disk, so that one restarted after an edit agrees with one that lived through it.
//!
//! The rule: a station's programme (or schedule) is laid with a round starting at its
//! **anchor**, [`EDIT_MARGIN`] after the newest modification time among its tracks (and the
//! config file's, for a scheduled station, whose edits are made there). `rsync -a`, `cp -p`,
//! `tar` and deploy tools keep modification times, so replicas with the same files compute the
//! same anchor; a restarted replica lays the programme from it at start-up. A replica that lives
//! through the edit sees it before the anchor (the margin covers the write settling and the
//! switch settle) and goes on as the restarted one from there: the old audio to the frame that
//! holds the anchor, the new programme from its first track at the anchor. An edit seen too
//! late (files copied with older times, a slow disk) joins where the restarted replicas play,
//! in the middle of a track.

use std::time::{Duration, SystemTime};

use onair_core::{tick_at, Programme};

use crate::config::{Config, Edits, StationPacing};

/// How long after the newest modification time an edit takes effect: more than a file takes
/// to settle (3 s without writes) plus the switch settle (2 s) and a chunk.
pub const EDIT_MARGIN: Duration = Duration::from_secs(10);

/// The tick station `pacing`'s programmes are laid from: 0 (the epoch) unless edits are timed
/// by the files, then the anchor of `programmes` (and `config_modified`, the config file's
/// time, for a scheduled station).
pub fn anchor_of<'a>(
    pacing: &StationPacing,
    programmes: impl IntoIterator<Item = &'a Programme>,
    config_modified: Option<SystemTime>,
) -> u64 {
    if pacing.edits != Edits::FileTimes {
        return 0;
    }
    let newest = programmes
        .into_iter()
        .flat_map(|p| p.tracks().iter().filter_map(|t| t.file.modified()))
        .chain(config_modified)
        .max();
    newest.map_or(0, |t| tick_at(pacing.epoch, t + EDIT_MARGIN))
}

/// The anchor of an unscheduled station `name` playing `programme` under `config`.
pub fn programme_anchor(config: &Config, name: &str, programme: &Programme) -> u64 {
    anchor_of(&config.pacing_for(name), [programme], None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_anchor_is_the_newest_file_time_and_a_margin_only_when_edits_follow_the_files() {
        let config = Config::default();
        let mut pacing = config.pacing_for("jazz");
        let t = pacing.epoch + Duration::from_secs(1_000);
        assert_eq!(anchor_of(&pacing, [], Some(t)), 0, "next_track: the epoch");
        pacing.edits = Edits::FileTimes;
        assert_eq!(
            anchor_of(&pacing, [], Some(t)),
            onair_core::ticks_of(Duration::from_secs(1_010))
        );
        assert_eq!(
            anchor_of(&pacing, [], None),
            0,
            "nothing to read a time from"
        );
    }
}
