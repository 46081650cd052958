//! Analytics: who heard what, kept across restarts for reports (`[analytics] dir`).
//!
//! Every track that starts on a station (programme tracks, jingles, live and relayed titles) is
//! kept as a play, with when it started on the station clock; every listening session that ends
//! as the span of station time its audio covered. A report is then a pure function of the two
//! ([`report`]): a track's performances are the sessions that heard at least `performance_s`
//! of it, its listener-seconds what they heard of it, all on the one station clock, exactly.
//!
//! - [`store`]: the records, one JSON-lines file a day, written by a thread of their own.
//! - [`report`]: the reports: per play, per recording (SoundExchange), per period.
//! - this module: what is kept when, and `/admin/reports`.

pub mod report;
pub mod store;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use tokio::time::{interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::http::body::Body;
use crate::http::responses::{json, text};
use crate::stations::audience::Left;
use crate::stations::StationRegistry;
use store::{ms, Heard, Play, Record, Store};

/// Keeps the session `left` left behind (if it heard anything).
pub fn keep_session(store: &Store, left: &Left) {
    let Some((from, to)) = left.span else { return };
    store.keep(Record::Session(Heard {
        station: left.station.to_string(),
        via: left.via.as_str().to_string(),
        from_ms: ms(from),
        to_ms: ms(to),
        agent: player_family(&left.client.user_agent).to_string(),
    }));
}

/// Keeps every track that starts on a station, looking every second and the moment a track
/// starts, until `stop`.
pub async fn keep_plays(registry: Arc<StationRegistry>, store: Store, stop: CancellationToken) {
    let mut tick = interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut seen: HashMap<String, (usize, u64)> = HashMap::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
            () = registry.track_changes.notified() => {}
        }
        for station in registry.list() {
            let Some(now) = station.hub.now_playing() else {
                continue;
            };
            let key = (Arc::as_ptr(&now.track) as usize, now.started);
            if seen.get(&station.name) == Some(&key) {
                continue;
            }
            seen.insert(station.name.clone(), key);
            let tags = &now.track.tags;
            store.keep(Record::Play(Play {
                station: station.name.clone(),
                at_ms: ms(onair_core::wall_time(station.epoch, now.started)),
                title: tags.title.clone(),
                artist: tags.artist.clone(),
                album: tags.album.clone(),
                isrc: tags.isrc.clone(),
                label: tags.label.clone(),
                name: now.track.name.clone(),
            }));
        }
    }
}

/// The family of a player from its `User-Agent`, for reports (a handful of names, never the
/// agent itself).
pub fn player_family(agent: &str) -> &'static str {
    let a = agent.to_ascii_lowercase();
    let families: [(&str, &str); 14] = [
        ("vlc", "VLC"),
        ("mpv", "mpv"),
        ("lavf", "FFmpeg"),
        ("ffmpeg", "FFmpeg"),
        ("gstreamer", "GStreamer"),
        ("applecoremedia", "Apple"),
        ("itunes", "Apple"),
        ("exoplayer", "Android"),
        ("android", "Android"),
        ("winamp", "Winamp"),
        ("foobar", "foobar2000"),
        ("firefox", "Firefox"),
        ("edg/", "Edge"),
        ("chrome", "Chrome"),
    ];
    families
        .iter()
        .find(|(needle, _)| a.contains(needle))
        .map(|(_, name)| *name)
        .or_else(|| a.contains("safari").then_some("Safari"))
        .unwrap_or("other")
}

/// `/admin/reports`: `report=tracks` (default), `soundexchange` or `listening`; `from` and `to`
/// (RFC 3339; default: the last 24 hours); `format=json` (default) or `csv`; for `listening`,
/// `period=minute`, `hour` (default) or `day`; for `soundexchange`, `service` (the
/// `NAME_OF_SERVICE` column; default: onair) and `category` (`TRANSMISSION_CATEGORY`; default: B).
pub fn respond(
    config: &Config,
    now: std::time::SystemTime,
    params: &dyn Fn(&str) -> Option<String>,
) -> Response<Body> {
    let Some(dir) = config.analytics.dir.as_deref() else {
        return text(
            StatusCode::NOT_FOUND,
            "no analytics are kept: set [analytics] dir\n",
        );
    };
    // A time given, or the default; `None` when it is not RFC 3339.
    let time = |key: &str, default: std::time::SystemTime| match params(key) {
        Some(value) => humantime::parse_rfc3339_weak(&value).ok(),
        None => Some(default),
    };
    let (from, to) = match (
        time("from", now - Duration::from_secs(86_400)),
        time("to", now),
    ) {
        (Some(from), Some(to)) => (ms(from), ms(to)),
        _ => {
            return text(
                StatusCode::BAD_REQUEST,
                "from and to: RFC 3339 times (2026-12-07T00:00:00Z)\n",
            )
        }
    };
    let records = match store::read(dir, from) {
        Ok(records) => records,
        Err(error) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read the analytics records: {error}\n"),
            )
        }
    };
    let csv = params("format").as_deref() == Some("csv");
    let performance = config.analytics.performance_s.get() * 1000;
    let body = match params("report").as_deref().unwrap_or("tracks") {
        "tracks" => {
            let rows = report::tracks(&records, (from, to), performance, ms(now));
            if !csv {
                return json(&serde_json::json!({ "tracks": rows }));
            }
            report::csv(
                &[
                    "station",
                    "start",
                    "end",
                    "artist",
                    "title",
                    "album",
                    "isrc",
                    "label",
                    "listeners_at_start",
                    "performances",
                    "listener_seconds",
                ],
                &rows,
                |r| {
                    vec![
                        r.station.clone(),
                        rfc3339(r.start_ms),
                        rfc3339(r.end_ms),
                        r.artist.clone().unwrap_or_default(),
                        r.title.clone(),
                        r.album.clone().unwrap_or_default(),
                        r.isrc.clone().unwrap_or_default(),
                        r.label.clone().unwrap_or_default(),
                        r.listeners_at_start.to_string(),
                        r.performances.to_string(),
                        format!("{:.1}", r.listener_seconds),
                    ]
                },
            )
        }
        "soundexchange" => {
            let rows =
                report::sound_exchange(&report::tracks(&records, (from, to), performance, ms(now)));
            if !csv {
                return json(&serde_json::json!({ "recordings": rows }));
            }
            let service = params("service").unwrap_or_else(|| "onair".to_string());
            let category = params("category").unwrap_or_else(|| "B".to_string());
            report::csv(
                &[
                    "NAME_OF_SERVICE",
                    "TRANSMISSION_CATEGORY",
                    "FEATURED_ARTIST",
                    "SOUND_RECORDING_TITLE",
                    "ISRC",
                    "ALBUM_TITLE",
                    "MARKETING_LABEL",
                    "ACTUAL_TOTAL_PERFORMANCES",
                ],
                &rows,
                |r| {
                    vec![
                        service.clone(),
                        category.clone(),
                        r.featured_artist.clone(),
                        r.sound_recording_title.clone(),
                        r.isrc.clone(),
                        r.album_title.clone(),
                        r.marketing_label.clone(),
                        r.actual_total_performances.to_string(),
                    ]
                },
            )
        }
        "listening" => {
            let period = match params("period").as_deref().unwrap_or("hour") {
                "minute" => 60_000,
                "hour" => 3_600_000,
                "day" => 86_400_000,
                _ => return text(StatusCode::BAD_REQUEST, "period: minute, hour or day\n"),
            };
            let rows = report::listening(&records, (from, to), period);
            if !csv {
                return json(&serde_json::json!({ "listening": rows }));
            }
            report::csv(
                &[
                    "station",
                    "start",
                    "sessions",
                    "listener_seconds",
                    "tuning_hours",
                    "average_listeners",
                    "peak_listeners",
                    "stream_seconds",
                    "hls_seconds",
                ],
                &rows,
                |r| {
                    vec![
                        r.station.clone(),
                        rfc3339(r.start_ms),
                        r.sessions.to_string(),
                        format!("{:.1}", r.listener_seconds),
                        format!("{:.3}", r.listener_seconds / 3600.0),
                        format!("{:.2}", r.average_listeners),
                        r.peak_listeners.to_string(),
                        format!("{:.1}", r.by_via.get("stream").copied().unwrap_or(0.0)),
                        format!("{:.1}", r.by_via.get("hls").copied().unwrap_or(0.0)),
                    ]
                },
            )
        }
        _ => {
            return text(
                StatusCode::BAD_REQUEST,
                "report: tracks, soundexchange or listening\n",
            )
        }
    };
    let mut response = Response::new(Body::full(body));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    response
}

fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn players_are_named_by_family() {
        assert_eq!(player_family("VLC/3.0.24 LibVLC/3.0.24"), "VLC");
        assert_eq!(player_family("libmpv"), "mpv");
        assert_eq!(player_family("Lavf/59.27.100"), "FFmpeg");
        assert_eq!(player_family("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"), "Chrome");
        assert_eq!(
            player_family(
                "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Version/18.0 Mobile/15E148 Safari/604.1"
            ),
            "Safari"
        );
        assert_eq!(player_family("-"), "other");
    }
}
