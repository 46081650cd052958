//! Webhooks (`[[hooks]]`): what happens on air, as JSON POSTed to the operator's URLs through
//! the [`Outbox`] (bounded, retried: a slow or dead receiver never touches audio).
//!
//! Station, source, live, relay and track events come from one look at the stations a second
//! (and one the moment a track starts), compared with the look before ([`changes`], a pure
//! function); listener events come from the audience's sink as sessions begin and end.
//!
//! ```json
//! {"event": "track", "station": "jazz", "at": "2026-12-07T11:25:02Z", "title": "Artist - Title"}
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::time::{interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::outbox::{Letter, Outbox};
use crate::config::{Config, HookEvent};
use crate::stations::StationRegistry;

/// A station as one look saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// Listeners can tune in.
    pub audible: bool,
    /// The live source connected, if any: when it connected, its user agent and content type.
    pub source: Option<(SystemTime, String, String)>,
    /// Live audio is on air.
    pub live: bool,
    /// A relay's audio is on air.
    pub relay: bool,
    /// What plays, as players are told.
    pub title: String,
}

/// Every station as one look saw it.
pub type Look = BTreeMap<String, Seen>;

/// Looks at every station on air.
pub fn look(registry: &StationRegistry) -> Look {
    registry
        .list()
        .iter()
        .map(|s| {
            let now = s.hub.now_playing();
            let seen = Seen {
                audible: s.is_audible(),
                source: s
                    .live
                    .source()
                    .map(|src| (src.since, src.user_agent.clone(), src.content_type.clone())),
                live: s.live.on_air(),
                relay: s.relay.snapshot().phase == crate::stations::relayed::Phase::OnAir,
                title: s.stream_title(now.as_deref().map(|n| &*n.track)),
            };
            (s.name.clone(), seen)
        })
        .collect()
}

/// What changed from `before` to `after`: each event with its station and details, in the order
/// it happened (a station comes before its source, a source before its live audio, and back).
pub fn changes(before: &Look, after: &Look) -> Vec<(HookEvent, String, Value)> {
    let mut events = Vec::new();
    let gone = Seen::default();
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for name in names {
        let (old, new) = (
            before.get(name).unwrap_or(&gone),
            after.get(name).unwrap_or(&gone),
        );
        let mut push = |event, details: Value| events.push((event, name.clone(), details));
        if new.audible && !old.audible {
            push(HookEvent::StationOnAir, json!({}));
        }
        if let Some((since, agent, content_type)) = &new.source {
            if old.source.as_ref().map(|s| s.0) != Some(*since) {
                if old.source.is_some() {
                    push(HookEvent::SourceLeft, json!({}));
                }
                push(
                    HookEvent::SourceConnected,
                    json!({"user_agent": agent, "content_type": content_type}),
                );
            }
        }
        if new.relay && !old.relay {
            push(HookEvent::RelayOn, json!({}));
        }
        if new.live && !old.live {
            push(HookEvent::LiveOn, json!({}));
        }
        if new.audible && !new.title.is_empty() && new.title != old.title {
            push(HookEvent::Track, json!({"title": new.title}));
        }
        if old.live && !new.live {
            push(HookEvent::LiveOff, json!({}));
        }
        if old.relay && !new.relay {
            push(HookEvent::RelayOff, json!({}));
        }
        if old.source.is_some() && new.source.is_none() {
            push(HookEvent::SourceLeft, json!({}));
        }
        if old.audible && !new.audible {
            push(HookEvent::StationOffAir, json!({}));
        }
    }
    events
}

/// Sends `event` on `station`, with `details`, to every hook of `config` that wants it.
pub fn send(
    outbox: &Outbox,
    config: &Config,
    (event, station): (HookEvent, &str),
    details: Value,
    at: SystemTime,
) {
    let wanting: Vec<_> = config
        .hooks
        .iter()
        .filter(|h| h.wants(event, station))
        .collect();
    if wanting.is_empty() {
        return;
    }
    let mut body = json!({
        "event": event.name(),
        "station": station,
        "at": humantime::format_rfc3339_millis(at).to_string(),
    });
    if let (Some(body), Value::Object(details)) = (body.as_object_mut(), details) {
        body.extend(details);
    }
    let body = Bytes::from(body.to_string());
    for hook in wanting {
        let Some(url) = hook.uri() else { continue };
        let headers = hook
            .secret
            .as_ref()
            .map(|secret| vec![("x-onair-signature", signature(secret.expose(), &body))])
            .unwrap_or_default();
        outbox.send(Letter {
            url,
            content_type: "application/json",
            body: body.clone(),
            headers,
            what: event.name(),
        });
    }
}

/// `sha256=<hex HMAC-SHA256 of body with secret>`, as GitHub signs its webhooks.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Looks at the stations every second (and when a track starts) and sends what changed, until
/// `stop`.
pub async fn run(
    registry: Arc<StationRegistry>,
    config: watch::Receiver<Arc<Config>>,
    outbox: Outbox,
    stop: CancellationToken,
) {
    let mut tick = interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut before = Look::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
            () = registry.track_changes.notified() => {}
        }
        let config = Arc::clone(&config.borrow());
        if config.hooks.is_empty() {
            before.clear();
            continue;
        }
        let after = look(&registry);
        let at = registry.clock().now();
        for (event, station, details) in changes(&before, &after) {
            send(&outbox, &config, (event, &station), details, at);
        }
        before = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(audible: bool, title: &str) -> Seen {
        Seen {
            audible,
            title: title.to_string(),
            ..Seen::default()
        }
    }

    fn names(events: &[(HookEvent, String, Value)]) -> Vec<&'static str> {
        events.iter().map(|(e, _, _)| e.name()).collect()
    }

    #[test]
    fn a_show_comes_and_goes_in_order() {
        let at = SystemTime::UNIX_EPOCH;
        let start = Look::new();
        let on: Look = [("jazz".to_string(), seen(true, "A - One"))].into();
        assert_eq!(names(&changes(&start, &on)), ["station_on_air", "track"]);
        assert!(changes(&on, &on).is_empty());
        let mut live = on.clone();
        if let Some(s) = live.get_mut("jazz") {
            s.source = Some((at, "butt".into(), "audio/mpeg".into()));
            s.live = true;
            s.title = "Live show".into();
        }
        assert_eq!(
            names(&changes(&on, &live)),
            ["source_connected", "live_on", "track"]
        );
        let events = changes(&on, &live);
        assert_eq!(events[0].2["user_agent"], "butt");
        // The source leaves and the programme comes back in one look; then the station goes.
        let back: Look = [("jazz".to_string(), seen(true, "B - Two"))].into();
        assert_eq!(
            names(&changes(&live, &back)),
            ["track", "live_off", "source_left"]
        );
        assert_eq!(names(&changes(&back, &Look::new())), ["station_off_air"]);
        // A second source right after the first: one left, the other connected.
        let mut again = live.clone();
        if let Some(s) = again.get_mut("jazz") {
            s.source = Some((
                at + Duration::from_secs(5),
                "ffmpeg".into(),
                "audio/mpeg".into(),
            ));
        }
        assert_eq!(
            names(&changes(&live, &again)),
            ["source_left", "source_connected"]
        );
    }

    #[test]
    fn bodies_are_signed_as_github_signs_its_webhooks() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
