//! A living station going on as a replica started now would, after an edit timed by the files
//! (see [`super::anchor`]): what it played stays, and from the frame that holds the edit's
//! anchor it plays the programme (or week) laid from that anchor.

use std::sync::Arc;

use onair_core::{duration_of, Programme, Schedule, Timeline};

use super::anchor::{programme_anchor, EDIT_MARGIN};
use super::report::log_station;
use super::scheduled::{lay, same_schedule};
use super::station::Station;
use crate::config::Config;

impl Station {
    /// Under `edits = "file_times"`: plays `own` (or `schedule`'s plan) laid from its anchor,
    /// as a replica started now would, if that is not what it plays already; from the frame
    /// that holds the anchor, or where the anchor has passed, from the first frame boundary
    /// after the settle time (see [`super::anchor`]).
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
