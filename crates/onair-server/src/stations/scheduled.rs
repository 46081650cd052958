//! A scheduled station's plan: its [`Schedule`] put together from the config and the
//! programmes, laid on its timeline ahead of the clock, and changed at a track boundary when the
//! config or a programme changes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use onair_core::schedule::{Grid, JingleEvery, Jingles, Planner, Schedule, SlotPlay};
use onair_core::{ticks_of, Programme, StationInfo, Timeline};
use tokio::sync::watch;

use super::anchor::anchor_of;
use super::discovery::Role;
use crate::config::Config;
use crate::sync::lock;

/// How far ahead of the clock the plan is laid on the timeline: what plays next is known for
/// at least this long.
pub const HORIZON: Duration = Duration::from_secs(15 * 60);

/// How often the plan is laid further ahead.
pub const EXTEND_EVERY: Duration = Duration::from_secs(30);

/// How often a station with live-only slots looks whether one is on (a source still on when
/// its slot is over is ended): often, since the wall clock may be stepped.
pub const LIVE_SLOT_LOOK: Duration = Duration::from_secs(1);

/// The programmes a schedule names, as assembled: each slot's (none for one that plays nothing
/// of its own, or whose folder holds no playable track) and the jingles'.
pub type Extras = Vec<(Role, Option<Arc<Programme>>)>;

/// Station `name`'s schedule from `config`, playing `own` outside its slots and `extras` in
/// them.
pub fn schedule_for(
    name: &str,
    config: &Config,
    own: Arc<Programme>,
    extras: &Extras,
    epoch: SystemTime,
) -> Schedule {
    let station = config.stations.get(name).cloned().unwrap_or_default();
    let programmes = std::iter::once(&own)
        .chain(extras.iter().filter_map(|(_, p)| p.as_ref()))
        .map(|p| &**p);
    let anchor = anchor_of(&config.pacing_for(name), programmes, config.modified);
    let zone = Grid::zone_or_utc(config.timezone_for(name));
    let extra = |role: Role| {
        extras
            .iter()
            .find(|(r, _)| *r == role)
            .and_then(|(_, p)| p.clone())
    };
    let times = station.slot_times();
    let slots = station
        .slots
        .iter()
        .enumerate()
        .map(|(i, s)| SlotPlay {
            name: s.name.clone(),
            programme: extra(Role::Slot(i)),
            start: s.start.into(),
            max_wait: ticks_of(Duration::from_secs(s.max_wait_s.get())),
            live_only: s.live_only,
        })
        .collect();
    let jingles = station.jingles.as_ref().and_then(|j| {
        let every = match (j.every_tracks, j.every_minutes) {
            (Some(n), _) => JingleEvery::Tracks(n.get()),
            (None, Some(m)) => JingleEvery::Ticks(ticks_of(Duration::from_secs(60 * m.get()))),
            (None, None) => return None,
        };
        Some(Jingles {
            programme: extra(Role::Jingles)?,
            every,
        })
    });
    Schedule {
        own,
        grid: Grid::new(zone, times),
        slots,
        jingles,
        epoch,
        anchor,
    }
}

/// Whether two schedules plan alike (the same programmes, by identity, and the same rules).
pub fn same_schedule(a: &Schedule, b: &Schedule) -> bool {
    let same_programme = |x: &Option<Arc<Programme>>, y: &Option<Arc<Programme>>| match (x, y) {
        (Some(x), Some(y)) => Arc::ptr_eq(x, y),
        (None, None) => true,
        _ => false,
    };
    Arc::ptr_eq(&a.own, &b.own)
        && a.grid == b.grid
        && a.epoch == b.epoch
        && a.anchor == b.anchor
        && a.slots.len() == b.slots.len()
        && a.slots.iter().zip(&b.slots).all(|(x, y)| {
            x.name == y.name
                && same_programme(&x.programme, &y.programme)
                && x.start == y.start
                && x.max_wait == y.max_wait
                && x.live_only == y.live_only
        })
        && match (&a.jingles, &b.jingles) {
            (Some(x), Some(y)) => Arc::ptr_eq(&x.programme, &y.programme) && x.every == y.every,
            (None, None) => true,
            _ => false,
        }
}

/// What a station plays: its timeline (which the pacer and HLS read), and the planner that
/// lays it when the station plays a schedule.
#[derive(Debug)]
pub struct Course {
    /// The timeline.
    pub timeline: watch::Sender<Arc<Timeline>>,
    /// The plan, if any.
    pub plan: StationPlan,
    /// The tick the programme or plan is laid from (see [`anchor_of`]).
    pub anchor: u64,
}

impl Course {
    /// What a new station plays: `programme` alone with a round starting at `anchor` (0: the
    /// epoch), or `schedule`'s plan laid from its anchor up to a little ahead of tick `now`,
    /// `keep` ticks of the past on it; and the receiver its pacer reads the timeline from.
    pub fn new(
        programme: Arc<Programme>,
        schedule: Option<Schedule>,
        anchor: u64,
        now: u64,
        keep: u64,
    ) -> (Course, watch::Receiver<Arc<Timeline>>) {
        let (plan, timeline, anchor) = match schedule {
            Some(schedule) => {
                let anchor = schedule.anchor;
                let (planner, timeline) = lay(schedule, now, keep);
                (StationPlan::with(Some(planner)), timeline, anchor)
            }
            None => (
                StationPlan::default(),
                Timeline::anchored(programme, anchor),
                anchor,
            ),
        };
        let (timeline, timelines) = watch::channel(Arc::new(timeline));
        (
            Course {
                timeline,
                plan,
                anchor,
            },
            timelines,
        )
    }
}

/// `schedule`'s plan from its anchor, and its timeline from `keep` ticks before tick `now` to
/// [`HORIZON`] after it.
pub fn lay(schedule: Schedule, now: u64, keep: u64) -> (Planner, Timeline) {
    let mut planner = Planner::new(Arc::new(schedule));
    let timeline = planner.timeline(now.saturating_sub(keep), now + ticks_of(HORIZON));
    (planner, timeline)
}

/// A station's planner, if it plays a schedule.
#[derive(Debug, Default)]
pub struct StationPlan {
    planner: Mutex<Option<Planner>>,
}

impl StationPlan {
    /// A station's plan: `planner`'s, or none.
    pub fn with(planner: Option<Planner>) -> StationPlan {
        StationPlan {
            planner: Mutex::new(planner),
        }
    }

    /// Plans with `planner` from now on (none: the station plays its programme alone).
    pub fn replace(&self, planner: Option<Planner>) {
        *lock(&self.planner) = planner;
    }

    /// The schedule played, if any.
    pub fn schedule(&self) -> Option<Arc<Schedule>> {
        lock(&self.planner)
            .as_ref()
            .map(|p| Arc::clone(p.schedule()))
    }

    /// Lays the plan on `timeline` up to `until`, forgetting what is older than `forget`.
    pub fn extend(&self, timeline: &watch::Sender<Arc<Timeline>>, until: u64, forget: u64) {
        let mut planner = lock(&self.planner);
        let Some(planner) = planner.as_mut() else {
            return;
        };
        let entries = planner.plan_until(until);
        planner.forget_before(forget);
        timeline.send_modify(|timeline| {
            let timeline = Arc::make_mut(timeline);
            timeline.extend(entries);
            timeline.forget_before(forget);
        });
    }

    /// Plays `schedule` from tick `at` (a track boundary of `timeline`; `ended` the track that
    /// ended there, in its round), laid up to `until`. Returns whether anything changed.
    pub fn change(
        &self,
        timeline: &watch::Sender<Arc<Timeline>>,
        schedule: Schedule,
        at: u64,
        ended: (&StationInfo, u64),
        until: u64,
    ) -> bool {
        let mut guard = lock(&self.planner);
        if guard
            .as_ref()
            .is_some_and(|p| same_schedule(p.schedule(), &schedule))
        {
            return false;
        }
        let schedule = Arc::new(schedule);
        let fresh = guard.is_none();
        let planner = guard.get_or_insert_with(|| Planner::new(Arc::clone(&schedule)));
        let entries = planner.change(at, schedule, Some(ended), until, fresh);
        timeline.send_modify(|timeline| {
            let timeline = Arc::make_mut(timeline);
            timeline.truncate_from(at);
            timeline.extend(entries);
        });
        true
    }

    /// Stops planning (the station plays its programme alone from now on); returns whether it
    /// had a plan.
    pub fn stop(&self) -> bool {
        lock(&self.planner).take().is_some()
    }
}
