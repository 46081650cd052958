//! One station on air: its hub, its timeline, its HLS window and audience, what players are
//! told about it, and how it switches to new audio.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use onair_core::{
    duration_of, tick_at, ticks_of, Hub, NowAndNext, Programme, SegmentWindow, SourceError,
    StationInfo, Timeline, TrackMeta, WallClock,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::audience::{Audience, EndReason};
use super::live::StationLive;
use super::origin::{Origin, SwitchAt};
use super::relayed::{RelaySettings, RelayStatus};
use super::report::{escape, log_station};
use super::scheduled::{Course, StationPlan, EXTEND_EVERY, HORIZON, LIVE_SLOT_LOOK};
use crate::config::Config;
use crate::http::icy::IcyTitle;
use crate::sync::{read, write};

/// How long after a change is seen its audio can start at the earliest (then at the next segment
/// boundary for a station file, the next track boundary for a programme): long enough for the
/// pacer's read-ahead and for replicas that see the change a moment apart to choose the same
/// boundary.
pub const SWITCH_SETTLE: Duration = Duration::from_secs(2);

/// What players are told about a station.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StationMeta {
    /// Title: the config's, else the file's ID3 title, else the station name.
    pub title: String,
    /// Genre, if configured.
    pub genre: Option<String>,
    /// Description, if configured.
    pub description: Option<String>,
    /// Website, if configured.
    pub url: Option<String>,
}

/// A station's live settings, from the config.
#[derive(Debug, Clone)]
struct Settings {
    meta: StationMeta,
    client_timeout: Duration,
    max_listeners: Option<usize>,
    /// The ICY block of the newest title sent (built once per title, shared by listeners).
    icy: Arc<IcyTitle>,
}

/// One station on air.
#[derive(Debug)]
pub struct Station {
    /// Name and mount point (`/<name>`).
    pub name: String,
    /// The broadcast listeners subscribe to.
    pub hub: Arc<Hub>,
    /// Which programme plays from which tick on: the pacer and HLS both read it.
    timeline: watch::Sender<Arc<Timeline>>,
    /// Tick 0 of the station's clock.
    pub epoch: SystemTime,
    /// Where wall time comes from.
    clock: Arc<dyn WallClock>,
    /// HLS segment boundaries and held audio (the live feed holds what it published here).
    pub window: Arc<SegmentWindow>,
    /// Its live source, if one is connected, and the buffer it feeds.
    pub live: StationLive,
    /// Its relay (a remote stream it pulls as its live source), if it has one.
    pub relay: RelayStatus,
    /// Who listens, stream and HLS: the one seam every listener passes.
    audience: Audience,
    /// Where its audio comes from.
    pub origin: Origin,
    settings: RwLock<Settings>,
    /// Its schedule's planner, if it plays one.
    plan: StationPlan,
    /// The tick its programme is laid from (0: the epoch; see [`super::anchor`]).
    anchor: AtomicU64,
    /// When the station went on air.
    pub started_at: SystemTime,
    stop: CancellationToken,
}

impl Station {
    /// A station `name` playing its `Course` (a timeline, and the plan that lays it when it is
    /// scheduled) from `origin` to `hub` and its `audience`, with the config's settings; `stop`
    /// ends its pacer.
    pub(crate) fn new(
        name: &str,
        origin: Origin,
        (hub, audience): (Arc<Hub>, Audience),
        Course {
            timeline,
            plan,
            anchor,
        }: Course,
        clock: Arc<dyn WallClock>,
        config: &Config,
        stop: CancellationToken,
    ) -> Station {
        let pacing = config.pacing_for(name);
        let programme = match plan.schedule() {
            Some(schedule) => Arc::clone(&schedule.own),
            None => Arc::clone(timeline.borrow().newest()),
        };
        let meta = meta_for(config, name, programme.first(), &origin);
        let station = Station {
            name: name.to_string(),
            hub,
            timeline,
            epoch: pacing.epoch,
            started_at: clock.now(),
            clock,
            window: Arc::new(SegmentWindow::default()),
            live: {
                let (buffer, timeout) = config.live_timing();
                let other_formats = config
                    .stations
                    .get(name)
                    .is_some_and(|s| s.live_other_formats);
                StationLive::new(buffer, timeout, other_formats)
            },
            relay: RelayStatus::default(),
            audience,
            origin,
            settings: RwLock::new(Settings {
                icy: Arc::new(IcyTitle::new(0, &meta.title)),
                meta,
                client_timeout: pacing.client_timeout,
                max_listeners: None,
            }),
            plan,
            anchor: AtomicU64::new(anchor),
            stop,
        };
        station.configure(config);
        station
    }

    /// The station's programme (the newest: a change is described as soon as it is scheduled;
    /// a scheduled station's own programme, which plays outside its slots).
    pub fn programme(&self) -> Arc<Programme> {
        match self.plan.schedule() {
            Some(schedule) => Arc::clone(&schedule.own),
            None => Arc::clone(self.timeline.borrow().newest()),
        }
    }

    /// Who listens: the seam every listener passes, and where every count is kept.
    pub fn audience(&self) -> &Audience {
        &self.audience
    }

    /// The schedule the station plays, if any.
    pub fn schedule(&self) -> Option<Arc<onair_core::Schedule>> {
        self.plan.schedule()
    }

    /// How long entries are kept on the timeline: while a segment cut from them may still be
    /// asked for (listed in the window, or removed from it less than a window and a segment
    /// ago).
    pub(crate) fn keep_ticks(config: &Config) -> u64 {
        let segment = ticks_of(Duration::from_millis(config.hls.segment_ms.get()));
        2 * ticks_of(Duration::from_secs(config.hls.window_s.get())) + 3 * segment
    }

    /// Lays a scheduled station's plan further ahead of the clock, every [`EXTEND_EVERY`],
    /// until the station stops.
    pub(crate) async fn keep_planning(&self, config: &Config) {
        let keep = Self::keep_ticks(config);
        loop {
            let now = self.tick_now();
            self.plan.extend(
                &self.timeline,
                now + ticks_of(HORIZON),
                now.saturating_sub(keep),
            );
            let wake = match self.end_live_slot() {
                Some(end) => end.min(LIVE_SLOT_LOOK),
                None => EXTEND_EVERY,
            };
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = tokio::time::sleep(wake) => {}
            }
        }
    }

    /// Where live sources are taken only in live-only slots: ends a source still on when its
    /// slot is over (the schedule takes the station back), and returns how long until the
    /// next look (none for a station without live-only slots).
    fn end_live_slot(&self) -> Option<Duration> {
        let schedule = self.schedule().filter(|s| s.has_live_slots())?;
        let now = self.clock.now();
        if !schedule.takes_sources_at(now) && self.live.cut_off() {
            tracing::info!(station = %self.name, "live source ended: its live slot is over");
        }
        let end = schedule
            .slot_at(now)
            .filter(|o| schedule.slots[o.slot].live_only)
            .map_or(LIVE_SLOT_LOOK, |o| {
                o.end.duration_since(now).unwrap_or_default() + Duration::from_millis(10)
            });
        Some(end)
    }

    /// Plays `schedule` (with `own` outside its slots; none: `own` alone) from the next track
    /// boundary after the settle time, and says so when anything changed.
    pub(crate) async fn reschedule(
        &self,
        own: Arc<Programme>,
        schedule: Option<onair_core::Schedule>,
        config: &Config,
    ) {
        let Some(schedule) = schedule else {
            if self.plan.stop() {
                self.replace(own, config).await;
            }
            return;
        };
        let now = self.tick_now();
        let timeline = self.timeline();
        let at = timeline.next_track_boundary(self.earliest_switch(now));
        let ended = timeline.track_at(at.saturating_sub(1));
        let until = now + ticks_of(HORIZON);
        if self.plan.change(
            &self.timeline,
            schedule,
            at,
            (&ended.track, ended.spot.round),
            until,
        ) {
            self.configure(config);
            let what = format!(
                "schedule changed; it takes effect in {:.1} s, at the next track boundary",
                duration_of(at.saturating_sub(now)).as_secs_f64()
            );
            log_station(&self.name, &own, &what);
        }
    }

    /// The earliest tick a change seen at tick `now` may take effect: [`SWITCH_SETTLE`] later,
    /// or a chunk and a second for long chunks (the pacer reads a chunk ahead).
    pub(super) fn earliest_switch(&self, now: u64) -> u64 {
        now + ticks_of(SWITCH_SETTLE.max(self.hub.tuning().chunk + Duration::from_secs(1)))
    }

    /// The tick its programme is laid from (0: the epoch; see [`super::anchor`]).
    pub(super) fn anchor(&self) -> u64 {
        self.anchor.load(Ordering::Acquire)
    }

    /// Goes on from tick `at` as `laid` plays (laid from `anchor`, by `planner` for a
    /// scheduled station), forgetting what is older than `forget`.
    pub(super) fn splice(
        &self,
        at: u64,
        laid: &Timeline,
        planner: Option<onair_core::Planner>,
        anchor: u64,
        forget: u64,
    ) {
        self.timeline.send_modify(|timeline| {
            let timeline = Arc::make_mut(timeline);
            timeline.splice(at, laid);
            timeline.forget_before(forget);
        });
        self.window.forget_before(forget);
        self.plan.replace(planner);
        self.anchor.store(anchor, Ordering::Release);
    }

    /// What the station's file holds (a programme's first track).
    pub fn info(&self) -> Arc<StationInfo> {
        Arc::clone(self.programme().first())
    }

    /// Whether listeners can tune in: always, but for a live-only station, which is heard only
    /// while a show is on (a source connected, or gone less than `source_timeout_s` ago) or
    /// while it has a relay (through the relay's failures and returns).
    pub fn is_audible(&self) -> bool {
        !self.origin.is_live_only() || self.live.show_on() || self.relay.is_configured()
    }

    /// Whether this is a live-only station whose show is over (a source came, and left more
    /// than `source_timeout_s` ago): its listeners' streams are to end.
    pub fn show_is_over(&self) -> bool {
        self.origin.is_live_only()
            && self.live.input.counters().sessions > 0
            && !self.live.show_on()
            && !self.relay.is_configured()
    }

    /// The wall time now, from the injected clock.
    pub fn clock_now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The station-clock tick now.
    pub fn tick_now(&self) -> u64 {
        tick_at(self.epoch, self.clock.now())
    }

    /// What plays now on the station clock and what comes next: a function of the timeline and
    /// the wall clock, the same on every replica.
    pub fn now_and_next(&self) -> NowAndNext {
        self.timeline().now_and_next(self.tick_now())
    }

    /// The text ICY, events and HLS show for `track`: `Artist - Title` from its tags; for an
    /// untagged track, the file name of a programme's track or a station file's station title.
    pub fn stream_title(&self, track: Option<&TrackMeta>) -> String {
        match track {
            Some(t) if t.is_tagged() || self.origin.tracks_name_themselves() => t.display(),
            _ => self.settings().meta.title.clone(),
        }
    }

    /// The title and artist an HLS segment starting in `track` carries (ID3 TIT2 and TPE1):
    /// the title alone beside the artist, since players show both; a track without a title is
    /// called as the stream calls it.
    pub fn tag_fields(&self, track: &TrackMeta) -> (String, Option<String>) {
        match (&track.tags.title, &track.tags.artist) {
            (Some(title), artist) => (title.clone(), artist.clone()),
            (None, Some(artist)) => (track.name.clone(), Some(artist.clone())),
            (None, None) => (self.stream_title(Some(track)), None),
        }
    }

    /// The ICY block for `title`: the one built for the newest title, or a new one.
    pub fn icy_block(&self, title: &str) -> Arc<IcyTitle> {
        {
            let settings = self.settings();
            if settings.icy.title == title {
                return Arc::clone(&settings.icy);
            }
        }
        let mut settings = write(&self.settings);
        if settings.icy.title != title {
            settings.icy = Arc::new(IcyTitle::new(settings.icy.version + 1, title));
        }
        Arc::clone(&settings.icy)
    }

    /// What players are told.
    pub fn meta(&self) -> StationMeta {
        self.settings().meta.clone()
    }

    /// Socket write timeout for this station's listeners.
    pub fn client_timeout(&self) -> Duration {
        self.settings().client_timeout
    }

    /// The most listeners this station takes, if limited.
    pub fn max_listeners(&self) -> Option<usize> {
        self.settings().max_listeners
    }

    fn settings(&self) -> std::sync::RwLockReadGuard<'_, Settings> {
        read(&self.settings)
    }

    /// Applies `config`'s pacing and metadata for this station (and the title of the file
    /// playing).
    pub(crate) fn configure(&self, config: &Config) {
        let pacing = config.pacing_for(&self.name);
        self.hub.set_tuning(pacing.tuning);
        let meta = meta_for(config, &self.name, &self.info(), &self.origin);
        let max_listeners = config
            .stations
            .get(&self.name)
            .and_then(|s| s.max_listeners)
            .map(|m| m.get() as usize);
        self.relay
            .configure(config.stations.get(&self.name).and_then(|s| {
                Some(RelaySettings {
                    url: s.relay.clone()?,
                    on_demand: s.on_demand,
                    timing: config.relay.timing(),
                    ca_file: config.relay.ca_file.clone(),
                    segment: Duration::from_millis(config.hls.segment_ms.get()),
                })
            }));
        let mut settings = write(&self.settings);
        settings.meta = meta;
        settings.client_timeout = pacing.client_timeout;
        settings.max_listeners = max_listeners;
    }

    /// The station's timeline now.
    pub fn timeline(&self) -> Arc<Timeline> {
        Arc::clone(&self.timeline.borrow())
    }

    /// Schedules `programme` to replace the station's audio after a settle time counted on the
    /// station clock (so that replicas which see the change a moment apart still agree), where
    /// the station's origin says ([`SwitchAt`]). Segments already published keep their bytes.
    /// Returns how far ahead the switch is and the track it starts with.
    async fn schedule_switch(
        &self,
        programme: Arc<Programme>,
        config: &Config,
    ) -> Result<(Duration, Arc<StationInfo>), SourceError> {
        let now = self.tick_now();
        let segment = ticks_of(Duration::from_millis(config.hls.segment_ms.get()));
        let timeline = self.timeline();
        let earliest = self.earliest_switch(now);
        let switch = match self.origin.switch_at() {
            SwitchAt::TrackBoundary => timeline.track_switch(earliest, &programme),
            SwitchAt::SegmentBoundary => {
                timeline
                    .segment_switch(earliest, segment, &programme)
                    .await?
            }
        };
        let first = programme.locate(switch.offset).track;
        let window = Self::keep_ticks(config);
        self.timeline.send_modify(|timeline| {
            let timeline = Arc::make_mut(timeline);
            timeline.switch(switch, programme);
            timeline.forget_before(now.saturating_sub(window));
        });
        self.window.forget_before(now.saturating_sub(window));
        Ok((duration_of(switch.at.saturating_sub(now)), first))
    }

    /// Switches the station to `programme` (see [`schedule_switch`](Self::schedule_switch)),
    /// and says so.
    pub(crate) async fn replace(&self, programme: Arc<Programme>, config: &Config) {
        match self.schedule_switch(programme, config).await {
            Ok((at, first)) => {
                self.configure(config);
                let what = match self.origin.switch_at() {
                    SwitchAt::TrackBoundary => format!(
                        "programme changed; it goes on in {:.1} s, at the next track boundary, with {}",
                        at.as_secs_f64(),
                        escape(&first.now_playing())
                    ),
                    SwitchAt::SegmentBoundary => format!(
                        "station file replaced; the new audio starts in {:.1} s, at the next segment boundary",
                        at.as_secs_f64()
                    ),
                };
                log_station(&self.name, &self.programme(), &what);
            }
            Err(error) => {
                tracing::warn!(station = %self.name, %error, "cannot switch to the new audio")
            }
        }
    }

    /// The token that stops the station's tasks (cancelled when it goes off air).
    pub(crate) fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Takes the station off air: its pacer stops, and its listeners' streams end after the
    /// chunk each is sending. The one place a station on air ends, but for a pacer that ends by
    /// itself (its file failed for good). Its HLS sessions end for `reason`.
    pub(crate) fn off_air(&self, reason: EndReason) {
        self.live.cut_off();
        self.stop.cancel();
        self.hub.close();
        self.audience.end_hls(reason);
    }
}

/// What players are told about station `name`, from the config and what it plays.
fn meta_for(config: &Config, name: &str, info: &StationInfo, origin: &Origin) -> StationMeta {
    let station = config.stations.get(name);
    // A station file's title tag names the station; a programme's tracks name themselves.
    let tagged = (!origin.tracks_name_themselves())
        .then(|| info.meta.tags.title.clone())
        .flatten();
    StationMeta {
        title: station
            .and_then(|s| s.title.clone())
            .or(tagged)
            .unwrap_or_else(|| name.to_string()),
        genre: station.and_then(|s| s.genre.clone()),
        description: station.and_then(|s| s.description.clone()),
        url: station.and_then(|s| s.url.clone()),
    }
}
