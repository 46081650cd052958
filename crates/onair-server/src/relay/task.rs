//! A station's relay task: pulls its upstream into the station's live input while it delivers,
//! waits its turn while a pushed source is live, waits for listeners when on demand, and backs
//! off between failures; the programme (or silence) plays whenever the relay does not.

use std::sync::Arc;
use std::time::Duration;

use onair_core::Rank;
use tokio::time::{sleep, Instant};
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::session::{Outcome, DELIVERED_ENOUGH};
use super::upstream::{reach, tls_config};
use super::{edge, progressive};
use crate::config::Config;
use crate::stations::relayed::{Phase, RelaySettings};
use crate::stations::tasks::StationTask;
use crate::stations::Station;

/// How often a waiting relay looks again (is the pushed source gone, are there listeners).
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// An on-demand relay stops this long after its last listener left.
const ON_DEMAND_LINGER: Duration = Duration::from_secs(5);

/// The relay task as the registry runs it beside every station.
pub fn beside_each_station() -> StationTask {
    StationTask(Arc::new(|station, config, stop| {
        Box::pin(run(station, config, stop))
    }))
}

/// Runs station `station`'s relay, as its settings say (none: it waits for some), until
/// `stop`.
pub async fn run(station: Arc<Station>, _config: Arc<Config>, stop: CancellationToken) {
    let mut settings = station.relay.settings();
    loop {
        let current = settings.borrow_and_update().clone();
        let pull = async {
            match &current {
                Some(current) => relay(&station, current).await,
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
async fn relay(station: &Station, settings: &RelaySettings) {
    let url = settings.url.to_string();
    station.relay.set_url(url.clone());
    let mut backoff = Backoff::new(settings.timing.retry_min, settings.timing.retry_max);
    tracing::info!(station = %station.name, %url, on_demand = settings.on_demand, "relay started");
    let tls = tls_config(settings.ca_file.as_deref());
    loop {
        if settings.on_demand && audience(station) == 0 {
            if station.relay.enter(Phase::Idle, station.clock_now(), None) {
                tracing::info!(station = %station.name, "relay idle: no listeners");
            }
            while audience(station) == 0 {
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
        let gone = async {
            if settings.on_demand {
                audience_gone(station).await
            } else {
                std::future::pending().await
            }
        };
        let attempt = async {
            let tls = match &tls {
                Ok(tls) => tls,
                Err(error) => return Outcome::Failed(error.to_string(), Duration::ZERO),
            };
            if settings.url.is_edge() {
                return edge::pull(station, settings, tls).await;
            }
            match reach(settings, tls, station.info().codec()).await {
                Ok(upstream) => progressive::pull(station, settings, upstream).await,
                Err(error) => Outcome::Failed(error.to_string(), Duration::ZERO),
            }
        };
        let outcome = tokio::select! {
            outcome = attempt => outcome,
            () = gone => Outcome::NoAudience,
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
fn audience(station: &Station) -> usize {
    station.hub.listeners() + station.audience().hls_listeners()
}

/// Ends once `station` has had no listener for [`ON_DEMAND_LINGER`].
async fn audience_gone(station: &Station) {
    let mut alone_since = None;
    loop {
        if audience(station) > 0 {
            alone_since = None;
        } else if alone_since.get_or_insert_with(Instant::now).elapsed() >= ON_DEMAND_LINGER {
            return;
        }
        sleep(LOOK_EVERY).await;
    }
}
