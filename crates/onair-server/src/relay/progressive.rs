//! A relay of a stream (Icecast, Shoutcast, onair's progressive stream): its bytes, metadata
//! blocks taken out, through the station's pump into its live input.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use http_body_util::BodyExt;
use onair_core::{LiveSession, Rank};
use tokio::time::{timeout, Instant};

use super::icy::{IcyDemux, Metadata};
use super::session::{note_delivery, Outcome, SourceShown};
use super::upstream::Upstream;
use crate::live::ingest::ice_fields;
use crate::live::pump::{Ended, Pump};
use crate::stations::live::{live_track, SourceInfo};
use crate::stations::relayed::{Phase, RelaySettings};
use crate::stations::Station;

/// Takes `upstream`'s audio into the station until it ends.
pub async fn pull(station: &Station, settings: &RelaySettings, upstream: Upstream) -> Outcome {
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
    // The upstream as everyone sees it: no credentials, no query.
    let shown = crate::config::relay::shown(&url);
    let info = Arc::new(SourceInfo::relayed(
        station.clock_now(),
        peer,
        shown.clone(),
        content_type,
        ice,
    ));
    let source = SourceShown::new(station, Arc::clone(&info));
    if station
        .relay
        .enter(Phase::OnAir, station.clock_now(), Some(shown.clone()))
    {
        tracing::info!(station = %station.name, upstream = %shown, %peer, "relay connected: on air once its buffer is full");
    }
    let began = Instant::now();
    let mut demux = metaint.map(IcyDemux::new);
    let mut pump = Pump::new(station);
    let idle = settings.timing.idle;
    let mut noted = false;
    let ended = loop {
        note_delivery(station, began, &mut noted);
        if let Err(ended) = pump.drain(station, &session).await {
            break ended;
        }
        let frame = match timeout(idle, body.frame()).await {
            Err(_) => break Ended::Silent(idle),
            Ok(None) => break pump.close(station, &session).await,
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
