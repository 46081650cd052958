//! A station's relay task: pulls its upstream into the station's live input while it delivers,
//! waits its turn while a pushed source is live, waits for listeners when on demand, and backs
//! off between failures; the programme (or silence) plays whenever the relay does not.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use onair_core::{LiveSession, Rank};
use tokio::time::{sleep, timeout, Instant};
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::icy::{IcyDemux, Metadata};
use super::upstream::{reach, tls_config, Upstream};
use crate::config::Config;
use crate::live::ingest::ice_fields;
use crate::live::pump::{Ended, Pump};
use crate::stations::live::{live_track, SourceInfo};
use crate::stations::registry::StationTask;
use crate::stations::relayed::{Phase, RelaySettings};
use crate::stations::Station;

/// An upstream that delivered this long before failing starts the waits over.
const DELIVERED_ENOUGH: Duration = Duration::from_secs(10);

/// How often a waiting relay looks again (is the pushed source gone, are there listeners).
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// An on-demand relay stops this long after its last listener left.
const ON_DEMAND_LINGER: Duration = Duration::from_secs(5);

/// How one pull of the upstream ended.
enum Outcome {
    /// A pushed source took the station over.
    Outranked,
    /// On demand, and the listeners left.
    NoAudience,
    /// It failed, after delivering for this long.
    Failed(String, Duration),
}

/// The relay task as the registry runs it beside every station.
pub fn beside_each_station() -> StationTask {
    StationTask(Arc::new(|station, config, stop| {
        Box::pin(run(station, config, stop))
    }))
}

/// Runs station `station`'s relay, as its settings say (none: it waits for some), until
/// `stop`; `config` says how long an HLS client counts as a listener after it asked.
pub async fn run(station: Arc<Station>, config: Arc<Config>, stop: CancellationToken) {
    let hls_expiry = 2 * crate::hls::playlist::target_duration(&config.hls);
    let mut settings = station.relay.settings();
    loop {
        let current = settings.borrow_and_update().clone();
        let pull = async {
            match &current {
                Some(current) => relay(&station, current, hls_expiry).await,
                None => {
                    station.relay.enter(Phase::Off, station.clock_now(), None);
                    std::future::pending().await
                }
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            changed = settings.changed() => if changed.is_err() { return },
            () = pull => {}
        }
    }
}

/// Pulls the upstream `settings` names, for ever.
async fn relay(station: &Station, settings: &RelaySettings, hls_expiry: Duration) {
    let url = settings.url.to_string();
    station.relay.set_url(url.clone());
    let mut backoff = Backoff::new(settings.timing.retry_min, settings.timing.retry_max);
    tracing::info!(station = %station.name, %url, on_demand = settings.on_demand, "relay started");
    let tls = tls_config(settings.ca_file.as_deref());
    loop {
        if settings.on_demand && audience(station, hls_expiry) == 0 {
            if station.relay.enter(Phase::Idle, station.clock_now(), None) {
                tracing::info!(station = %station.name, "relay idle: no listeners");
            }
            while audience(station, hls_expiry) == 0 {
                sleep(LOOK_EVERY).await;
            }
        }
        if station.live.input.connected_rank() == Some(Rank::Pushed) {
            if station
                .relay
                .enter(Phase::Outranked, station.clock_now(), None)
            {
                tracing::info!(station = %station.name, "relay waits: a pushed source is live");
            }
            while station.live.input.connected_rank() == Some(Rank::Pushed) {
                sleep(LOOK_EVERY).await;
            }
        }
        station
            .relay
            .enter(Phase::Connecting, station.clock_now(), None);
        let outcome = match &tls {
            Ok(tls) => match reach(settings, tls, station.info().codec()).await {
                Ok(upstream) => {
                    let gone = async {
                        if settings.on_demand {
                            audience_gone(station, hls_expiry).await
                        } else {
                            std::future::pending().await
                        }
                    };
                    tokio::select! {
                        outcome = pull(station, settings, upstream) => outcome,
                        () = gone => Outcome::NoAudience,
                    }
                }
                Err(error) => Outcome::Failed(error.to_string(), Duration::ZERO),
            },
            Err(error) => Outcome::Failed(error.to_string(), Duration::ZERO),
        };
        match outcome {
            Outcome::Outranked | Outcome::NoAudience => backoff.reset(),
            Outcome::Failed(error, delivered) => {
                if delivered >= DELIVERED_ENOUGH {
                    backoff.reset();
                }
                let wait = backoff.next(fastrand::f64());
                let now = station.clock_now();
                if station.relay.failed(&error, now, now + wait) {
                    tracing::warn!(
                        station = %station.name,
                        %url,
                        %error,
                        retry_in_s = format!("{:.1}", wait.as_secs_f64()),
                        "relay failed; the station plays on without it, retrying with backoff"
                    );
                }
                sleep(wait).await;
            }
        }
    }
}

/// Listeners of `station` now: stream listeners and HLS clients.
fn audience(station: &Station, hls_expiry: Duration) -> usize {
    station.hub.listeners() + station.audience.listeners(hls_expiry)
}

/// Ends once `station` has had no listener for [`ON_DEMAND_LINGER`].
async fn audience_gone(station: &Station, hls_expiry: Duration) {
    let mut alone_since = None;
    loop {
        if audience(station, hls_expiry) > 0 {
            alone_since = None;
        } else if alone_since.get_or_insert_with(Instant::now).elapsed() >= ON_DEMAND_LINGER {
            return;
        }
        sleep(LOOK_EVERY).await;
    }
}

/// Takes `upstream`'s audio into the station until it ends.
async fn pull(station: &Station, settings: &RelaySettings, upstream: Upstream) -> Outcome {
    let Upstream {
        url,
        peer,
        headers,
        metaint,
        mut body,
        ..
    } = upstream;
    let ice = ice_fields(&headers);
    let Some(session) = station
        .live
        .input
        .connect(live_track(&ice, &station.meta().title), Rank::Relay)
    else {
        return Outcome::Outranked;
    };
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let info = Arc::new(SourceInfo::relayed(
        station.clock_now(),
        peer,
        url.to_string(),
        content_type,
        ice,
    ));
    let source = SourceShown::new(station, Arc::clone(&info));
    station
        .relay
        .enter(Phase::OnAir, station.clock_now(), Some(url.to_string()));
    tracing::info!(station = %station.name, upstream = %url, %peer, "relay connected: on air once its buffer is full");
    let began = Instant::now();
    let mut demux = metaint.map(IcyDemux::new);
    let mut pump = Pump::new(station);
    let idle = settings.timing.idle;
    let ended = loop {
        if let Err(ended) = pump.drain(station, &session).await {
            break ended;
        }
        let frame = match timeout(idle, body.frame()).await {
            Err(_) => break Ended::Silent(idle),
            Ok(None) => {
                pump.finish();
                break match pump.drain(station, &session).await {
                    Err(ended @ (Ended::Format(_) | Ended::CutOff)) => ended,
                    _ => Ended::Closed,
                };
            }
            Ok(Some(Err(error))) => break Ended::Failed(error.to_string()),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        info.bytes_in
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        match demux.as_mut() {
            None => pump.extend(&data),
            Some(demux) => {
                for metadata in demux.split(&data, |audio| pump.extend(audio)) {
                    retitle(station, &session, metadata);
                }
            }
        }
    };
    drop(source);
    drop(session);
    if matches!(ended, Ended::CutOff) && station.live.input.connected_rank() == Some(Rank::Pushed) {
        return Outcome::Outranked;
    }
    let why = match ended {
        Ended::Closed => "the upstream ended its stream".to_string(),
        other => other.describe(),
    };
    Outcome::Failed(why, began.elapsed())
}

/// Passes an upstream's title on to listeners.
fn retitle(station: &Station, session: &LiveSession, metadata: Metadata) {
    match metadata {
        Metadata::Title(title) if session.is_connected() => {
            tracing::debug!(station = %station.name, %title, "relay title");
            station.live.set_title(Some(&title), None, None);
        }
        Metadata::Title(_) => {}
        Metadata::Unreadable => {
            tracing::debug!(station = %station.name, "relay metadata block without a readable title ignored");
        }
    }
}

/// The relay shown as the station's source while it is connected.
struct SourceShown<'a> {
    station: &'a Station,
    info: Arc<SourceInfo>,
}

impl<'a> SourceShown<'a> {
    fn new(station: &'a Station, info: Arc<SourceInfo>) -> Self {
        station.live.set_source(Some(Arc::clone(&info)));
        SourceShown { station, info }
    }
}

impl Drop for SourceShown<'_> {
    fn drop(&mut self) {
        self.station.live.clear_source(&self.info);
    }
}
