//! `/metrics`: Prometheus text format, encoded by `prometheus-client`.
//!
//! The numbers already live in the hubs and the server counters (atomics on the hot path), so a
//! scrape takes a snapshot of them and encodes it; nothing is counted twice.

use std::sync::atomic::Ordering::Relaxed;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::app::App;
use crate::stations::relayed::{Phase, RelaySnapshot};

/// The numbers of one scrape.
#[derive(Debug)]
struct Snapshot {
    stations: Vec<StationNumbers>,
    ends: Vec<(String, &'static str, &'static str, u64)>,
    sources: Vec<(String, &'static str, u64)>,
    rejected_full: u64,
    /// POSTs to the operator's services (webhooks, `listener_remove`), and access-log lines
    /// dropped.
    outbox: super::outbox::Tally,
    access_dropped: u64,
    uptime_s: f64,
    /// The HTTPS certificate's end of validity (Unix seconds), and reloads loaded and refused.
    tls: Option<(f64, u64, u64)>,
}

#[derive(Debug)]
struct StationNumbers {
    name: String,
    listeners: i64,
    peak: i64,
    connects: u64,
    bytes_sent: u64,
    skips: u64,
    late_s: f64,
    late_max_s: f64,
    hls_listeners: i64,
    hls_playlists: u64,
    hls_segments: u64,
    live_connected: i64,
    live_on_air: i64,
    live_bytes: u64,
    live_underruns: u64,
    live_dropped: u64,
    switch_repairs: u64,
    switch_carriers: u64,
    /// Its relay, if it has one.
    relay: Option<RelaySnapshot>,
}

/// The metrics text for `app` now.
pub fn render(app: &App) -> Result<String, std::fmt::Error> {
    let stations = app
        .registry
        .list()
        .iter()
        .map(|s| {
            let stats = s.hub.stats();
            let live = s.live.input.counters();
            StationNumbers {
                name: s.name.clone(),
                listeners: s.hub.listeners() as i64,
                peak: stats.peak.load(Relaxed) as i64,
                connects: stats.connects.load(Relaxed),
                bytes_sent: stats.bytes_sent.load(Relaxed),
                skips: stats.skips.load(Relaxed),
                late_s: stats.late_ns.load(Relaxed) as f64 / 1e9,
                late_max_s: stats.late_max_ns.load(Relaxed) as f64 / 1e9,
                hls_listeners: s.audience().hls_listeners() as i64,
                hls_playlists: s.audience().hls_requests().playlists,
                hls_segments: s.audience().hls_requests().segments,
                live_connected: i64::from(s.live.input.is_connected()),
                live_on_air: i64::from(s.live.on_air()),
                live_bytes: live.bytes_in,
                live_underruns: live.underruns,
                live_dropped: live.dropped_frames,
                switch_repairs: stats.switch_repairs.load(Relaxed),
                switch_carriers: stats.switch_carriers.load(Relaxed),
                relay: Some(s.relay.snapshot()).filter(|r| r.phase != Phase::Off),
            }
        })
        .collect();
    let ends = app
        .stats
        .ends()
        .into_iter()
        .map(|(station, via, reason, n)| (station, via.as_str(), reason.as_str(), n))
        .collect();
    let sources = app
        .stats
        .sources()
        .into_iter()
        .map(|(station, result, n)| (station, result.as_str(), n))
        .collect();
    let snapshot = Snapshot {
        stations,
        ends,
        sources,
        rejected_full: app.stats.rejected_full.load(Relaxed),
        outbox: app.outbox.tally(),
        access_dropped: app.access.dropped(),
        uptime_s: app.stats.started.elapsed().as_secs_f64(),
        tls: app.cert_store.as_ref().map(|store| {
            let not_after = store.current().not_after;
            let expiry = match not_after.duration_since(std::time::UNIX_EPOCH) {
                Ok(after) => after.as_secs_f64(),
                Err(before) => -before.duration().as_secs_f64(),
            };
            let (loaded, refused) = store.reloads();
            (expiry, loaded, refused)
        }),
    };
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    Ok(text)
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let per_station = |encoder: &mut DescriptorEncoder,
                           name: &str,
                           help: &str,
                           kind: MetricType,
                           value: &dyn Fn(&StationNumbers) -> Box<dyn EncodeMetric>|
         -> Result<(), std::fmt::Error> {
            let mut family = encoder.encode_descriptor(name, help, None, kind)?;
            for station in &self.stations {
                let labels = [("station", station.name.as_str())];
                value(station).encode(family.encode_family(&labels)?)?;
            }
            Ok(())
        };
        let gauge = |v: i64| -> Box<dyn EncodeMetric> { Box::new(ConstGauge::new(v)) };
        let gauge_f = |v: f64| -> Box<dyn EncodeMetric> { Box::new(ConstGauge::new(v)) };
        let counter = |v: u64| -> Box<dyn EncodeMetric> { Box::new(ConstCounter::new(v)) };
        per_station(
            &mut encoder,
            "onair_listeners",
            "Listeners tuned in now",
            MetricType::Gauge,
            &|s| gauge(s.listeners),
        )?;
        per_station(
            &mut encoder,
            "onair_hls_listeners",
            "HLS sessions now (players that asked for their playlist in the last two target durations)",
            MetricType::Gauge,
            &|s| gauge(s.hls_listeners),
        )?;
        per_station(
            &mut encoder,
            "onair_hls_playlist_requests",
            "HLS playlist requests answered (what an origin behind a cache sees)",
            MetricType::Counter,
            &|s| counter(s.hls_playlists),
        )?;
        per_station(
            &mut encoder,
            "onair_hls_segment_requests",
            "HLS segment requests answered",
            MetricType::Counter,
            &|s| counter(s.hls_segments),
        )?;
        per_station(
            &mut encoder,
            "onair_listener_peak",
            "Most listeners at once",
            MetricType::Gauge,
            &|s| gauge(s.peak),
        )?;
        per_station(
            &mut encoder,
            "onair_connects",
            "Listeners that tuned in",
            MetricType::Counter,
            &|s| counter(s.connects),
        )?;
        per_station(
            &mut encoder,
            "onair_sent_bytes",
            "Audio bytes sent to listeners",
            MetricType::Counter,
            &|s| counter(s.bytes_sent),
        )?;
        per_station(
            &mut encoder,
            "onair_skipped_forward",
            "Lagging listeners skipped forward to the live edge",
            MetricType::Counter,
            &|s| counter(s.skips),
        )?;
        per_station(
            &mut encoder,
            "onair_pacer_lateness_seconds",
            "How late the pacer published its latest chunk",
            MetricType::Gauge,
            &|s| gauge_f(s.late_s),
        )?;
        per_station(
            &mut encoder,
            "onair_pacer_lateness_max_seconds",
            "The most the pacer was ever late",
            MetricType::Gauge,
            &|s| gauge_f(s.late_max_s),
        )?;
        per_station(
            &mut encoder,
            "onair_live_sources",
            "Live sources connected now (0 or 1)",
            MetricType::Gauge,
            &|s| gauge(s.live_connected),
        )?;
        per_station(
            &mut encoder,
            "onair_live_on_air",
            "Whether live audio plays now (0 or 1)",
            MetricType::Gauge,
            &|s| gauge(s.live_on_air),
        )?;
        per_station(
            &mut encoder,
            "onair_live_ingest_bytes",
            "Bytes of whole frames received from live sources",
            MetricType::Counter,
            &|s| counter(s.live_bytes),
        )?;
        per_station(
            &mut encoder,
            "onair_live_underruns",
            "Times the live buffer ran dry while a source was connected (the programme filled in)",
            MetricType::Counter,
            &|s| counter(s.live_underruns),
        )?;
        per_station(
            &mut encoder,
            "onair_live_dropped_frames",
            "Live frames received but never played (a source cut off with audio buffered)",
            MetricType::Counter,
            &|s| counter(s.live_dropped),
        )?;
        per_station(
            &mut encoder,
            "onair_switch_repairs",
            "MP3 switches whose new audio leaned on frames listeners never got (played from a silent carrier frame)",
            MetricType::Counter,
            &|s| counter(s.switch_repairs),
        )?;
        per_station(
            &mut encoder,
            "onair_switch_carrier_frames",
            "Frames played as silence at MP3 switches, carrying the bytes the next frames lean on",
            MetricType::Counter,
            &|s| counter(s.switch_carriers),
        )?;
        let mut family = encoder.encode_descriptor(
            "onair_live_connects",
            "Live source attempts, by result (accepted, unauthorized, throttled, not_configured, busy, unsupported, no_station, bad_audio)",
            None,
            MetricType::Counter,
        )?;
        for (station, result, n) in &self.sources {
            let labels = [("station", station.as_str()), ("result", result)];
            ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
        }

        let relays = || {
            self.stations
                .iter()
                .filter_map(|s| s.relay.as_ref().map(|r| (s.name.as_str(), r)))
        };
        let mut family = encoder.encode_descriptor(
            "onair_relay_state",
            "A relayed station's relay state: 1 for the state it is in (idle, connecting, on_air, outranked, backing_off)",
            None,
            MetricType::Gauge,
        )?;
        for (station, relay) in relays() {
            for phase in Phase::ALL.into_iter().filter(|p| *p != Phase::Off) {
                let labels = [("station", station), ("state", phase.name())];
                ConstGauge::new(i64::from(relay.phase == phase))
                    .encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "onair_relay_connects",
            "Times a relay reached its upstream's audio",
            None,
            MetricType::Counter,
        )?;
        for (station, relay) in relays() {
            ConstCounter::new(relay.connects)
                .encode(family.encode_family(&[("station", station)])?)?;
        }
        let mut family = encoder.encode_descriptor(
            "onair_relay_failures_in_a_row",
            "A relay's failures since it last reached its upstream",
            None,
            MetricType::Gauge,
        )?;
        for (station, relay) in relays() {
            ConstGauge::new(i64::from(relay.failures))
                .encode(family.encode_family(&[("station", station)])?)?;
        }

        let mut family = encoder.encode_descriptor(
            "onair_disconnects",
            "Listener sessions ended, by stream or hls and reason (client_left, timeout = dropped slow listener, off_air, shutdown, displaced = an HLS session replaced by another from its address, kicked = removed by the admin)",
            None,
            MetricType::Counter,
        )?;
        for (station, via, reason, n) in &self.ends {
            let labels = [
                ("station", station.as_str()),
                ("via", via),
                ("reason", reason),
            ];
            ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
        }
        let dropped: u64 = self
            .ends
            .iter()
            .filter(|(_, _, r, _)| *r == "timeout")
            .map(|(_, _, _, n)| n)
            .sum();
        let family = encoder.encode_descriptor(
            "onair_dropped_slow",
            "Listeners dropped because their socket accepted nothing for client_timeout_s",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(dropped).encode(family)?;
        let mut family = encoder.encode_descriptor(
            "onair_outbox_posts",
            "POSTs to the operator's services (webhooks, listener_remove), by result: sent (2xx), failed (after three attempts), dropped (the queue was full)",
            None,
            MetricType::Counter,
        )?;
        for (result, n) in [
            ("sent", self.outbox.sent),
            ("failed", self.outbox.failed),
            ("dropped", self.outbox.dropped),
        ] {
            ConstCounter::new(n).encode(family.encode_family(&[("result", result)])?)?;
        }
        let family = encoder.encode_descriptor(
            "onair_access_log_dropped",
            "Access-log lines dropped because the writer could not keep up",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(self.access_dropped).encode(family)?;
        let family = encoder.encode_descriptor(
            "onair_rejected_full",
            "Requests answered 503 because a listener limit was reached",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(self.rejected_full).encode(family)?;
        let family = encoder.encode_descriptor(
            "onair_uptime_seconds",
            "Seconds since start",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(self.uptime_s).encode(family)?;
        if let Some((expiry, loaded, refused)) = self.tls {
            let family = encoder.encode_descriptor(
                "onair_tls_certificate_expiry_timestamp_seconds",
                "When the HTTPS certificate served now expires (Unix time)",
                None,
                MetricType::Gauge,
            )?;
            ConstGauge::new(expiry).encode(family)?;
            let mut family = encoder.encode_descriptor(
                "onair_tls_reloads",
                "Certificate reloads, by result (loaded: new handshakes use it; refused: the old one is kept)",
                None,
                MetricType::Counter,
            )?;
            for (result, n) in [("loaded", loaded), ("refused", refused)] {
                ConstCounter::new(n).encode(family.encode_family(&[("result", result)])?)?;
            }
        }
        Ok(())
    }
}
