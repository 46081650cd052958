//! What operators and pages see of a station, built once, typed, and rendered by each endpoint:
//! `/status.json` (the view itself), `/admin/status.json` (with what only the operator sees),
//! Icecast's `/status-json.xsl` and the `/events` the page follows.
//!
//! Whether something is public or the operator's is decided here, once ([`For`]): a live
//! source's address and user agent are in the admin view only.

use std::sync::atomic::Ordering::Relaxed;
use std::time::SystemTime;

use onair_core::wall_time;
use serde::Serialize;
use serde_json::Value;

use crate::stations::live::IceFields;
use crate::stations::Station;

/// Who a view is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum For {
    /// Anyone: no client or source addresses, no user agents of sources.
    Public,
    /// The operator (admin credentials): the live source's address and user agent too.
    Admin,
}

/// One station, as status pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct StationView {
    /// Its name.
    pub name: String,
    /// `/<name>`.
    pub mount: String,
    /// Whether listeners can tune in (a live-only station is listed between shows, off air).
    pub on_air: bool,
    /// Its live source, if one is connected.
    pub live: Option<LiveView>,
    /// Its stream's URL.
    pub url: String,
    /// What players are told it is called.
    pub title: String,
    /// Its genre, if configured.
    pub genre: Option<String>,
    /// Its description, if configured.
    pub description: Option<String>,
    /// Stream listeners now.
    pub listeners: usize,
    /// HLS sessions now.
    pub hls_listeners: usize,
    /// Its HLS URL, for codecs HLS carries.
    pub hls_url: Option<String>,
    /// Most stream listeners at once.
    pub listener_peak: usize,
    /// Its stream's content type.
    pub content_type: &'static str,
    /// Its format in words.
    pub format: String,
    /// Its bitrate.
    pub bitrate_kbps: u64,
    /// Its sample rate.
    pub sample_rate: u32,
    /// Its channels.
    pub channels: u8,
    /// Tracks in its programme.
    pub tracks: usize,
    /// `name` or `shuffle`.
    pub order: &'static str,
    /// One round of its programme, in seconds.
    pub duration_s: f64,
    /// What plays now.
    pub now_playing: NowView,
    /// What comes next.
    pub next: NextView,
    /// What played before, newest first (a few; repeats of what plays now left out).
    pub recent: Vec<PlayedView>,
    /// Its schedule's slot now and next, if scheduled.
    pub schedule: Value,
    /// Its relay, if it has one.
    pub relay: Value,
    /// The position in the playing track, in seconds.
    pub position_s: f64,
    /// Loops of its programme so far.
    pub loops: u64,
    /// Bytes sent to its listeners.
    pub bytes_sent: u64,
    /// When it went on air (ISO 8601).
    pub started_at: String,
    /// What the endpoints that are not this document read besides.
    #[serde(skip)]
    pub more: More,
}

/// What plays now.
#[derive(Debug, Clone, Serialize)]
pub struct NowView {
    /// Its artist tag.
    pub artist: Option<String>,
    /// Its title as players are told it.
    pub title: String,
    /// Its title tag.
    pub track_title: Option<String>,
    /// Its file's name (none for live audio).
    pub file: Option<String>,
    /// When it started on the station clock, to the millisecond.
    pub started_at: String,
    /// Its length (none for live audio).
    pub duration_s: Option<f64>,
    /// `true` while it is live audio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<bool>,
}

/// A track that played.
#[derive(Debug, Clone, Serialize)]
pub struct PlayedView {
    /// Its title as players were told it.
    pub title: String,
    /// Its artist tag.
    pub artist: Option<String>,
    /// When it started on the station clock, to the millisecond.
    pub started_at: String,
}

/// What comes next.
#[derive(Debug, Clone, Serialize)]
pub struct NextView {
    /// Its artist tag.
    pub artist: Option<String>,
    /// Its title as players will be told it.
    pub title: String,
    /// Its title tag.
    pub track_title: Option<String>,
    /// Its file's name.
    pub file: Option<String>,
    /// Its length.
    pub duration_s: f64,
}

/// A station's live source.
#[derive(Debug, Clone, Serialize)]
pub struct LiveView {
    /// Whether its audio is on air (its buffer filled).
    pub on_air: bool,
    /// When it connected (ISO 8601).
    pub since: String,
    /// The content type it announced.
    pub content_type: String,
    /// The station's format.
    pub format: String,
    /// Bytes it sent.
    pub bytes_in: u64,
    /// Audio buffered now.
    pub buffered_ms: u64,
    /// Its title now.
    pub title: Option<String>,
    /// The relay URL it comes from, as shown, if it is a relay.
    pub relay: Option<String>,
    /// What it says of itself.
    pub ice: IceFields,
    /// Times its buffer ran dry.
    pub underruns: u64,
    /// Its address (admin view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Its user agent (admin view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// What Icecast's status and the page's events read besides the status document.
#[derive(Debug, Clone, Default)]
pub struct More {
    /// The title players are told now (the hub's: live audio while a show is on).
    pub playing: String,
    /// Its artist tag.
    pub playing_artist: Option<String>,
    /// When it started on the station clock (ms since 1970).
    pub playing_since_ms: Option<u64>,
    /// The station's website, if configured.
    pub website: Option<String>,
    /// When the station went on air.
    pub started: Option<SystemTime>,
    /// A new listener's burst, in milliseconds.
    pub burst_ms: u64,
    /// Whether it is served over HLS.
    pub hls: bool,
}

impl StationView {
    /// `station` as `who` may see it, its URLs under `base_url`.
    pub fn of(station: &Station, base_url: &str, who: For) -> StationView {
        let programme = station.programme();
        let info = programme.first();
        let meta = station.meta();
        let stats = station.hub.stats();
        let at = station.now_and_next();
        let (now, started, next) = (&at.now.track, at.now.started, &at.next.track);
        let file =
            |path: &std::path::Path| path.file_name().map(|f| f.to_string_lossy().into_owned());
        let playing = station.hub.now_playing();
        // While a source is live, what plays is what the hub publishes, not the programme.
        let now_playing = match &playing {
            Some(now) if station.live.on_air() => NowView {
                artist: now.track.tags.artist.clone(),
                title: station.stream_title(Some(&now.track)),
                track_title: now.track.tags.title.clone(),
                file: None,
                started_at: millis(wall_time(station.epoch, now.started)),
                duration_s: None,
                live: Some(true),
            },
            _ => NowView {
                artist: now.meta.tags.artist.clone(),
                title: station.stream_title(Some(&now.meta)),
                track_title: now.meta.tags.title.clone(),
                file: file(&now.path),
                // To the millisecond: a track's start is a point on the station clock.
                started_at: millis(wall_time(station.epoch, started)),
                duration_s: Some(seconds(now.duration.as_nanos())),
                live: None,
            },
        };
        let codec = info.codec();
        let playing_title = station.stream_title(playing.as_deref().map(|n| &*n.track));
        let mut recent: Vec<PlayedView> = Vec::new();
        for played in station.hub.recent() {
            let title = station.stream_title(Some(&played.track));
            // A station file's loops, and one title said twice, are not tracks before this one.
            if title == playing_title || recent.last().is_some_and(|r| r.title == title) {
                continue;
            }
            recent.push(PlayedView {
                title,
                artist: played.track.tags.artist.clone(),
                started_at: millis(wall_time(station.epoch, played.started)),
            });
        }
        StationView {
            name: station.name.clone(),
            mount: format!("/{}", station.name),
            on_air: station.is_audible(),
            live: live_view(station, who),
            url: format!("{base_url}/{}", station.name),
            title: meta.title.clone(),
            genre: meta.genre.clone(),
            description: meta.description.clone(),
            listeners: station.hub.listeners(),
            hls_listeners: station.audience().hls_listeners(),
            hls_url: codec
                .segment_extension()
                .map(|_| format!("{base_url}/{}.m3u8", station.name)),
            listener_peak: stats.peak.load(Relaxed),
            content_type: codec.content_type(),
            format: programme.format().to_string(),
            bitrate_kbps: programme.bitrate_kbps(),
            sample_rate: info.sample_rate(),
            channels: info.channels(),
            tracks: programme.tracks().len(),
            order: match programme.order() {
                onair_core::Order::Name => "name",
                onair_core::Order::Shuffle { .. } => "shuffle",
            },
            duration_s: seconds(programme.duration().as_nanos()),
            now_playing,
            next: NextView {
                artist: next.meta.tags.artist.clone(),
                title: station.stream_title(Some(&next.meta)),
                track_title: next.meta.tags.title.clone(),
                file: file(&next.path),
                duration_s: seconds(next.duration.as_nanos()),
            },
            recent,
            schedule: super::slots::schedule_json(station),
            relay: super::relays::relay_json(station),
            position_s: seconds(u128::from(stats.position_ns.load(Relaxed))),
            loops: stats.loops.load(Relaxed),
            bytes_sent: stats.bytes_sent.load(Relaxed),
            started_at: iso8601(station.started_at),
            more: More {
                playing: playing_title,
                playing_artist: playing.as_ref().and_then(|n| n.track.tags.artist.clone()),
                playing_since_ms: playing.as_ref().map(|n| {
                    wall_time(station.epoch, n.started)
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64)
                }),
                website: meta.url.clone(),
                started: Some(station.started_at),
                burst_ms: station.hub.tuning().burst.as_millis() as u64,
                hls: codec.segment_extension().is_some(),
            },
        }
    }
}

/// A station's live source, if one is connected: who (for the admin), since when, what it sent
/// and says of itself.
fn live_view(station: &Station, who: For) -> Option<LiveView> {
    let source = station.live.source()?;
    let counters = station.live.input.counters();
    // A presenter's address is the operator's business, not the public's (Icecast's public
    // status drops `source_ip` too).
    let admin = who == For::Admin;
    Some(LiveView {
        on_air: station.live.on_air(),
        since: iso8601(source.since),
        content_type: source.content_type.clone(),
        format: station.programme().format().to_string(),
        bytes_in: source.bytes_in(),
        buffered_ms: station.live.input.buffered().as_millis() as u64,
        title: source.title(),
        relay: source.relay.clone(),
        ice: source.ice.clone(),
        underruns: counters.underruns,
        address: admin.then(|| source.address.ip().to_string()),
        user_agent: admin.then(|| source.user_agent.clone()),
    })
}

/// `2026-11-22T00:13:55+0000`, as Icecast writes it (and valid ISO 8601).
pub fn iso8601(t: SystemTime) -> String {
    let rfc3339 = humantime::format_rfc3339_seconds(t).to_string();
    rfc3339.trim_end_matches('Z').to_string() + "+0000"
}

fn millis(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Seconds as a status page shows them: to the millisecond, without float artefacts
/// (`7.848`, not `7.8483446709999996`).
pub fn seconds(ns: u128) -> f64 {
    (ns / 1_000_000) as f64 / 1e3
}
