//! `/status.json` (onair's own shape) and `/status-json.xsl` (Icecast's `icestats` shape, so
//! existing Icecast dashboards and monitoring read onair unchanged).

use std::time::SystemTime;

use onair_core::wall_time;
use serde_json::{json, Value};

use crate::app::App;
use crate::stations::Station;

/// Who a status view is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Anyone (`/status.json`): no client or source addresses, no user agents of sources.
    Public,
    /// The operator (`/admin/status.json`): the live source's address and user agent too.
    Admin,
}

/// `/status.json` (or, for [`View::Admin`], `/admin/status.json`).
pub fn status(app: &App, base_url: &str, view: View) -> Value {
    let stations: Vec<Value> = app
        .registry
        .list()
        .iter()
        .map(|station| station_json(station, base_url, view))
        .collect();
    json!({
        "server": {
            "version": env!("CARGO_PKG_VERSION"),
            "started_at": iso8601(app.stats.started_at),
            "uptime_s": app.stats.started.elapsed().as_secs(),
            "listeners": app.listeners(),
            "listener_peak": app.stats.listener_peak.load(std::sync::atomic::Ordering::Relaxed),
            // Open /events streams (web pages), against `server.max_event_clients`.
            "event_clients": app.events.clients(),
            // Tasks alive on the main runtime (listeners, station pacers, the watcher): a soak
            // checks that this comes back down.
            "tasks": tokio::runtime::Handle::try_current().map_or(0, |h| h.metrics().num_alive_tasks()),
        },
        "stations": stations,
    })
}

fn station_json(station: &Station, base_url: &str, view: View) -> Value {
    use std::sync::atomic::Ordering::Relaxed;
    let programme = station.programme();
    let info = programme.first();
    let meta = station.meta();
    let stats = station.hub.stats();
    let at = station.now_and_next();
    let (now, started, next) = (&at.now.track, at.now.started, &at.next.track);
    let now_playing = json!({
        "artist": now.meta.tags.artist,
        "title": station.stream_title(Some(&now.meta)),
        "track_title": now.meta.tags.title,
        "file": now.path.file_name().map(|f| f.to_string_lossy()),
        // To the millisecond: a track's start is a point on the station clock.
        "started_at": humantime::format_rfc3339_millis(wall_time(station.epoch, started)).to_string(),
        "duration_s": seconds(now.duration.as_nanos()),
    });
    let next = json!({
        "artist": next.meta.tags.artist,
        "title": station.stream_title(Some(&next.meta)),
        "track_title": next.meta.tags.title,
        "file": next.path.file_name().map(|f| f.to_string_lossy()),
        "duration_s": seconds(next.duration.as_nanos()),
    });
    // While a source is live, what plays is what the hub publishes, not the programme.
    let live = live_json(station, view);
    let now_playing = match station.hub.now_playing() {
        Some(now) if station.live.on_air() => json!({
            "artist": now.track.tags.artist,
            "title": station.stream_title(Some(&now.track)),
            "track_title": now.track.tags.title,
            "file": null,
            "started_at": humantime::format_rfc3339_millis(wall_time(station.epoch, now.started)).to_string(),
            "duration_s": null,
            "live": true,
        }),
        _ => now_playing,
    };
    json!({
        "name": station.name,
        "mount": format!("/{}", station.name),
        // A live-only station is listed between shows, off air.
        "on_air": station.is_audible(),
        "live": live,
        "url": format!("{base_url}/{}", station.name),
        "title": meta.title,
        "genre": meta.genre,
        "description": meta.description,
        "listeners": station.hub.listeners(),
        "hls_listeners": station.audience().hls_listeners(),
        // Only for codecs HLS carries.
        "hls_url": info
            .codec()
            .segment_extension()
            .map(|_| format!("{base_url}/{}.m3u8", station.name)),
        "listener_peak": stats.peak.load(Relaxed),
        "content_type": info.codec().content_type(),
        "format": programme.format().to_string(),
        "bitrate_kbps": programme.bitrate_kbps(),
        "sample_rate": info.sample_rate(),
        "channels": info.channels(),
        "tracks": programme.tracks().len(),
        "order": match programme.order() { onair_core::Order::Name => "name", onair_core::Order::Shuffle { .. } => "shuffle" },
        "duration_s": seconds(programme.duration().as_nanos()),
        "now_playing": now_playing,
        "next": next,
        "schedule": super::slots::schedule_json(station),
        "relay": super::relays::relay_json(station),
        "position_s": seconds(u128::from(stats.position_ns.load(Relaxed))),
        "loops": stats.loops.load(Relaxed),
        "bytes_sent": stats.bytes_sent.load(Relaxed),
        "started_at": iso8601(station.started_at),
    })
}

/// A station's live source, or `null`: who, since when, what it sent and says of itself.
fn live_json(station: &Station, view: View) -> Value {
    let Some(source) = station.live.source() else {
        return Value::Null;
    };
    let counters = station.live.input.counters();
    let mut live = json!({
        "on_air": station.live.on_air(),
        "since": iso8601(source.since),
        "content_type": source.content_type,
        "format": station.programme().format().to_string(),
        "bytes_in": source.bytes_in(),
        "buffered_ms": station.live.input.buffered().as_millis() as u64,
        "title": source.title(),
        "relay": source.relay,
        "ice": {
            "name": source.ice.name,
            "description": source.ice.description,
            "genre": source.ice.genre,
            "url": source.ice.url,
            "public": source.ice.public,
            "audio_info": source.ice.audio_info,
        },
        "underruns": counters.underruns,
    });
    if view == View::Admin {
        // A presenter's address is the operator's business, not the public's (Icecast's
        // public status drops `source_ip` too).
        live["address"] = json!(source.address.ip().to_string());
        live["user_agent"] = json!(source.user_agent);
    }
    live
}

/// `/status-json.xsl`: Icecast 2.4's `icestats`, with `source` always an array.
pub fn icestats(app: &App, base_url: &str) -> Value {
    use std::sync::atomic::Ordering::Relaxed;
    let host = host_of(base_url).unwrap_or("localhost");
    let sources: Vec<Value> = app
        .registry
        .list()
        .iter()
        .map(|station| {
            let programme = station.programme();
            let info = programme.first();
            let meta = station.meta();
            let kbps = programme.bitrate_kbps();
            let now = station.hub.now_playing();
            let now = now.as_deref().map(|n| &*n.track);
            // While a source is live, what it says of itself (as Icecast shows it).
            let source = station.live.source();
            let ice = source.as_ref().map(|s| &s.ice);
            let audio_info = ice.and_then(|i| i.audio_info.clone()).unwrap_or_else(|| {
                format!("samplerate={};channels={};bitrate={kbps}", info.sample_rate(), info.channels())
            });
            json!({
                "audio_info": audio_info,
                "bitrate": kbps,
                "channels": info.channels(),
                "genre": ice.and_then(|i| i.genre.clone()).or(meta.genre.clone()).unwrap_or_default(),
                // While live; no `source_ip` or `user_agent` (Icecast's public status drops them:
                // `/admin/status.json` has them).
                "total_bytes_read": source.as_ref().map(|s| s.bytes_in()),
                "listener_peak": station.hub.stats().peak.load(Relaxed),
                // Icecast counts its listeners; onair's HLS clients are listeners too.
                "listeners": station.hub.listeners() + station.audience().hls_listeners(),
                "listenurl": format!("{base_url}/{}", station.name),
                "samplerate": info.sample_rate(),
                "server_description": ice.and_then(|i| i.description.clone()).or(meta.description.clone()).unwrap_or_default(),
                "server_name": ice.and_then(|i| i.name.clone()).unwrap_or(meta.title),
                "server_type": info.codec().content_type(),
                "server_url": meta.url.clone().unwrap_or_else(|| format!("{base_url}/")),
                "stream_start": httpdate(station.started_at),
                "stream_start_iso8601": iso8601(station.started_at),
                // Icecast's `title` is the stream title (the track), `artist` its artist.
                "title": station.stream_title(now),
                "artist": now.and_then(|t| t.tags.artist.clone()),
                "dummy": null,
            })
        })
        .collect();
    json!({
        "icestats": {
            "admin": "",
            "host": host,
            "location": "",
            "server_id": concat!("onair ", env!("CARGO_PKG_VERSION")),
            "server_start": httpdate(app.stats.started_at),
            "server_start_iso8601": iso8601(app.stats.started_at),
            "source": sources,
        }
    })
}

/// The host of a base URL, without its port: `radio.example.com`, `127.0.0.1`, `[::1]`.
fn host_of(base_url: &str) -> Option<&str> {
    let authority = base_url.split("://").nth(1)?.split('/').next()?;
    if authority.starts_with('[') {
        // An IPv6 literal keeps its brackets; its colons are not a port.
        return authority.find(']').map(|end| &authority[..=end]);
    }
    authority.split(':').next().filter(|h| !h.is_empty())
}

/// `2026-11-22T00:13:55+0000`, as Icecast writes it (and valid ISO 8601).
fn iso8601(t: SystemTime) -> String {
    let rfc3339 = humantime::format_rfc3339_seconds(t).to_string();
    rfc3339.trim_end_matches('Z').to_string() + "+0000"
}

/// `Sun, 22 Nov 2026 00:13:55 GMT` (an HTTP date).
fn httpdate(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// Seconds as a status page shows them: to the millisecond, without float artefacts
/// (`7.848`, not `7.8483446709999996`).
fn seconds(ns: u128) -> f64 {
    (ns / 1_000_000) as f64 / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_307_635);
        assert_eq!(iso8601(t), "2026-11-22T00:33:55+0000");
        assert_eq!(httpdate(t), "Sun, 22 Nov 2026 00:33:55 GMT");
    }

    #[test]
    fn hosts_and_seconds() {
        assert_eq!(host_of("http://[::1]:8080"), Some("[::1]"));
        assert_eq!(host_of("http://[2001:db8::1]/x"), Some("[2001:db8::1]"));
        assert_eq!(
            host_of("https://radio.example.com:443/"),
            Some("radio.example.com")
        );
        assert_eq!(host_of("http://127.0.0.1"), Some("127.0.0.1"));
        assert_eq!(seconds(7_848_344_670), 7.848);
        assert_eq!(
            serde_json::json!(seconds(7_848_344_670)).to_string(),
            "7.848"
        );
    }
}
