//! The tasks that run a station on air, all owned by the registry's task tracker and ended by
//! the station's `stop`: its pacer (restarted if it panics), its schedule's planner, the end of
//! its HLS sessions whose players stopped asking, and what
//! the server runs beside every station ([`StationTask`]: its relay).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use onair_core::{LiveFeed, Pacer, Timeline, TimelineFeed, WallClock};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::station::Station;
use super::supervisor::supervise;
use crate::config::Config;

/// A task that runs beside a station from its mount until its `stop` (the relay: the
/// registry knows it only by this seam). It gets the config the station was mounted with.
#[derive(Clone)]
pub struct StationTask(
    #[allow(clippy::type_complexity)]
    pub  Arc<
        dyn Fn(
                Arc<Station>,
                Arc<Config>,
                CancellationToken,
            ) -> Pin<Box<dyn Future<Output = ()> + Send>>
            + Send
            + Sync,
    >,
);

impl std::fmt::Debug for StationTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StationTask")
    }
}

/// Starts `station`'s tasks on `tasks`: its planner (when scheduled), `beside`, and its pacer
/// playing `timelines` on `clock`.
pub(super) fn start_tasks(
    tasks: &TaskTracker,
    station: &Arc<Station>,
    timelines: watch::Receiver<Arc<Timeline>>,
    clock: Arc<dyn WallClock>,
    config: &Config,
    beside: Option<&StationTask>,
) {
    let stop = station.stop_token();
    if station.schedule().is_some() {
        let (planning, config) = (Arc::clone(station), config.clone());
        tasks.spawn(async move { planning.keep_planning(&config).await });
    }
    // HLS sessions end when their players stop asking: looked at every second.
    let (watching, expiry, ending) = (
        Arc::clone(station),
        config.hls.session_expiry(),
        stop.clone(),
    );
    tasks.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = ending.cancelled() => return,
                _ = every.tick() => watching.audience().expire_hls(expiry),
            }
        }
    });
    if let Some(beside) = beside {
        tasks.spawn((beside.0)(
            Arc::clone(station),
            Arc::new(config.clone()),
            stop.clone(),
        ));
    }
    let hub = Arc::clone(&station.hub);
    let epoch = station.epoch;
    // Files that played are held while a segment may be cut from them: listed in the
    // window, or removed from it less than a window and a segment ago.
    let keep = Duration::from_secs(2 * config.hls.window_s.get())
        + 3 * Duration::from_millis(config.hls.segment_ms.get());
    let task_name = station.name.clone();
    let span = tracing::info_span!("station", name = %task_name);
    let (input, window) = (Arc::clone(&station.live.input), Arc::clone(&station.window));
    let (codec, format) = (station.info().codec(), station.programme().format());
    let segment = Duration::from_millis(config.hls.segment_ms.get());
    tasks.spawn(async move {
        let start = || {
            // A live source's frames over the station's files (see `onair_core::feed`).
            let files = TimelineFeed::new(timelines.clone(), keep);
            let feed = LiveFeed::new(
                files,
                Arc::clone(&input),
                Arc::clone(&window),
                codec,
                format,
                keep,
                segment,
            );
            Pacer::new(feed, Arc::clone(&hub), epoch, Arc::clone(&clock))
                .run(stop.clone())
                .instrument(span.clone())
        };
        // A pacer that ends closes its hub (its listeners' streams end); one that is stopped
        // belongs to a station taken off air, whose hub `Station::off_air` closed.
        if let Some(Err(error)) = supervise(&task_name, &stop, start).await {
            tracing::warn!(station = %task_name, %error, "station went off air");
        }
    });
}
