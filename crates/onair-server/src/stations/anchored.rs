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

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use onair_core::{duration_of, tick_at, Programme, Schedule, Timeline};

use super::report::log_station;
use super::scheduled::{lay, same_schedule};
use super::station::Station;
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

impl Station {
    /// Under `edits = "file_times"`: plays `own` (or `schedule`'s plan) laid from its anchor,
    /// as a replica started now would, if that is not what it plays already; from the frame
    /// that holds the anchor, or where the anchor has passed, from the first frame boundary
    /// after the settle time (see [`super::anchored`]).
    pub(crate) async fn re_lay(
        &self,
        own: Arc<Programme>,
        schedule: Option<Schedule>,
        config: &Config,
    ) {
        let anchor = schedule
            .as_ref()
            .map_or_else(|| programme_anchor(config, &self.name, &own), |s| s.anchor);
        let unchanged = match (&schedule, self.schedule()) {
            (Some(new), Some(old)) => same_schedule(&old, new),
            (None, None) => Arc::ptr_eq(&self.programme(), &own) && self.anchor() == anchor,
            _ => false,
        };
        if unchanged {
            return;
        }
        let now = self.tick_now();
        let keep = Station::keep_ticks(config);
        let (planner, laid) = match schedule {
            Some(schedule) => {
                let (planner, laid) = lay(schedule, now, keep);
                (Some(planner), laid)
            }
            None => (None, Timeline::anchored(Arc::clone(&own), anchor)),
        };
        let earliest = self.earliest_switch(now);
        let at = match self.timeline().splice_point(anchor, earliest).await {
            Ok(at) => at,
            Err(error) => {
                tracing::warn!(station = %self.name, %error, "cannot switch to the new audio");
                return;
            }
        };
        self.splice(at, &laid, planner, anchor, now.saturating_sub(keep));
        self.configure(config);
        let when = duration_of(at.saturating_sub(now)).as_secs_f64();
        let what = if at <= anchor {
            format!(
                "files changed; the new programme starts from its first track in {when:.1} s, {} s after their newest modification time, as on every replica",
                EDIT_MARGIN.as_secs()
            )
        } else {
            let ago = duration_of(now.saturating_sub(anchor)) + EDIT_MARGIN;
            format!(
                "files changed {:.0} s ago; the new programme joins in {when:.1} s where every replica plays it (mid-track)",
                ago.as_secs_f64()
            )
        };
        log_station(&self.name, &own, &what);
    }
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
