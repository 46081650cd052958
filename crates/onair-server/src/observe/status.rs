//! `/status.json` (onair's own shape: each station's [`StationView`]) and `/status-json.xsl`
//! (Icecast's `icestats` shape, so existing Icecast dashboards and monitoring read onair
//! unchanged), both rendered from the one view.

use std::time::SystemTime;

use serde_json::{json, Value};

use super::view::{iso8601, StationView};
use crate::app::App;

/// Who a status document is for.
pub use super::view::For as View;

/// `/status.json` (or, for [`View::Admin`], `/admin/status.json`): the server, and each
/// station's [`StationView`] as it is.
pub fn status(app: &App, base_url: &str, view: View) -> Value {
    let stations: Vec<Value> = app
        .registry
        .list()
        .iter()
        .map(|station| json!(StationView::of(station, base_url, view)))
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

/// `/status-json.xsl`: Icecast 2.4's `icestats`, with `source` always an array.
pub fn icestats(app: &App, base_url: &str) -> Value {
    let host = host_of(base_url).unwrap_or("localhost");
    let sources: Vec<Value> = app
        .registry
        .list()
        .iter()
        .map(|station| {
            let v = StationView::of(station, base_url, View::Public);
            // While a source is live, what it says of itself (as Icecast shows it).
            let ice = v.live.as_ref().map(|l| &l.ice);
            let audio_info = ice.and_then(|i| i.audio_info.clone()).unwrap_or_else(|| {
                format!(
                    "samplerate={};channels={};bitrate={}",
                    v.sample_rate, v.channels, v.bitrate_kbps
                )
            });
            json!({
                "audio_info": audio_info,
                "bitrate": v.bitrate_kbps,
                "channels": v.channels,
                "genre": ice.and_then(|i| i.genre.clone()).or(v.genre.clone()).unwrap_or_default(),
                // While live; no `source_ip` or `user_agent` (Icecast's public status drops them:
                // `/admin/status.json` has them).
                "total_bytes_read": v.live.as_ref().map(|l| l.bytes_in),
                "listener_peak": v.listener_peak,
                // Icecast counts its listeners; onair's HLS sessions are listeners too.
                "listeners": v.listeners + v.hls_listeners,
                "listenurl": v.url,
                "samplerate": v.sample_rate,
                "server_description": ice.and_then(|i| i.description.clone()).or(v.description.clone()).unwrap_or_default(),
                "server_name": ice.and_then(|i| i.name.clone()).unwrap_or(v.title.clone()),
                "server_type": v.content_type,
                "server_url": v.more.website.clone().unwrap_or_else(|| format!("{base_url}/")),
                "stream_start": v.more.started.map(httpdate),
                "stream_start_iso8601": v.started_at,
                // Icecast's `title` is the stream title (the track), `artist` its artist.
                "title": v.more.playing,
                "artist": v.more.playing_artist,
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

/// `Sun, 22 Nov 2026 00:13:55 GMT` (an HTTP date).
fn httpdate(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

#[cfg(test)]
mod tests {
    use super::super::view::seconds;
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
