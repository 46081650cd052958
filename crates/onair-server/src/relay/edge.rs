//! An edge: a station relaying an onair origin's HLS (`relay = ".../<name>.m3u8"`). Each
//! segment's frames go into the station's live input at the origin's ticks (from the
//! segment's number and PRIV timestamp, or a fragment's time for Opus and FLAC), the edge's clock running `edge_delay_s` behind the
//! origin's; so the edge cuts the very segments the origin cut (same numbers, same bytes) and
//! its listeners hear the origin's frames, whatever the origin plays (its programme, a live
//! show, its own relay).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http::Uri;
use onair_core::clock::ticks_per_sample;
use onair_core::{
    carry_samples, ticks_of, Codec, Format, HlsPacking, LiveSession, Rank, TrackMeta, TrackTags,
};
use tokio::time::{sleep, Instant};

use super::fragment::fragment;
use super::packed::{
    agrees, packed, playlist, segment_ms, segment_tick, Packed, Playlist, MAX_MEDIA_PLAYLIST_BYTES,
    MAX_SEGMENT_BYTES,
};
use super::session::{note_delivery, Outcome, SourceShown};
use super::upstream::{fetch, resolve};
use crate::stations::live::{IceFields, SourceInfo};
use crate::stations::relayed::{Phase, RelaySettings};
use crate::stations::Station;

/// What an edge keeps between segments.
struct Edge<'a> {
    station: &'a Station,
    settings: &'a RelaySettings,
    /// Ticks per segment.
    segment: u64,
    /// The next segment wanted.
    next: Option<u64>,
    /// The session and the source shown, once the first segment came.
    live: Option<(LiveSession, SourceShown<'a>, Arc<SourceInfo>)>,
    /// What the frames are called (the segment tags' title and artist).
    track: Option<Arc<TrackMeta>>,
    /// The frames' format (the station's, or the first segment's).
    format: Option<Format>,
    /// Segments whose tick was not exact (the origin's audio off the frame grid) were said.
    said_inexact: bool,
}

/// Follows the origin's playlist at `settings.url`, pulling each new segment, until it fails.
pub async fn pull(
    station: &Station,
    settings: &RelaySettings,
    tls: &Arc<rustls::ClientConfig>,
) -> Outcome {
    let began = Instant::now();
    let mut edge = Edge {
        station,
        settings,
        segment: ticks_of(settings.segment),
        next: None,
        live: None,
        track: None,
        format: (!station.live.other_formats).then(|| station.programme().format()),
        said_inexact: false,
    };
    let failed = |why: String| Outcome::Failed(why, began.elapsed());
    let mut url = settings.url.0.clone();
    let mut hops = 0;
    let mut last_new = Instant::now();
    let poll = (settings.segment / 3).max(std::time::Duration::from_millis(250));
    let mut noted = false;
    loop {
        let (at, peer, text) = match fetch(&url, settings, tls, MAX_MEDIA_PLAYLIST_BYTES).await {
            Ok(fetched) => fetched,
            Err(error) => return failed(error.to_string()),
        };
        let text = String::from_utf8_lossy(&text);
        // The origin's grid must be the edge's: say so by name when its segments are longer or
        // shorter (more than the frame they may vary by, and a margin).
        if let Some(origin_ms) = segment_ms(&text) {
            let edge_ms = settings.segment.as_millis() as u64;
            if origin_ms.abs_diff(edge_ms) > 100 {
                return failed(format!(
                    "the origin cuts segments of {origin_ms} ms and this edge of {edge_ms} ms: give the edge the origin's [hls] segment_ms"
                ));
            }
        }
        let entries = match playlist(&text) {
            Ok(Playlist::Main(variant)) if hops < settings.timing.max_redirects => {
                hops += 1;
                match resolve(&at, &variant) {
                    Ok(variant) => url = variant,
                    Err(error) => return failed(error.to_string()),
                }
                continue;
            }
            Ok(Playlist::Main(_)) => return failed("main playlists lead nowhere".to_string()),
            Ok(Playlist::Media(entries)) => entries,
            Err(why) => return failed(format!("{}: {why}", crate::config::relay::shown(&at))),
        };
        url = at;
        let first_listed = entries.first().map(|(k, _)| *k);
        if let (Some(next), Some(first)) = (edge.next, first_listed) {
            if first > next {
                tracing::warn!(station = %station.name, missed = first - next, "edge: segments left the origin's playlist before they were fetched");
                edge.next = Some(first);
            }
        }
        let now = station.tick_now();
        if edge.next.is_none()
            && !entries.is_empty()
            && !entries.iter().any(|(k, _)| (k + 1) * edge.segment > now)
        {
            return failed(
                "the origin's newest segment has already played on this edge: is its clock behind (the same [pacing] epoch, a longer edge_delay_s)?"
                    .to_string(),
            );
        }
        for (k, uri) in entries {
            let wanted = match edge.next {
                Some(next) => k >= next,
                None => (k + 1) * edge.segment > now,
            };
            if !wanted {
                continue;
            }
            let segment_url = match resolve(&url, &uri) {
                Ok(segment_url) => segment_url,
                Err(error) => return failed(error.to_string()),
            };
            match edge.take(k, &segment_url, &url, peer, tls).await {
                Ok(()) => {
                    last_new = Instant::now();
                    note_delivery(station, began, &mut noted);
                }
                Err(Outcome::Failed(why, _)) => return failed(why),
                Err(outcome) => return outcome,
            }
        }
        let quiet = settings.timing.idle + settings.segment;
        if last_new.elapsed() > quiet {
            return failed(format!(
                "no new segment from the origin for {} s",
                quiet.as_secs()
            ));
        }
        sleep(poll).await;
    }
}

/// A segment's failure (the pull says how long it delivered).
fn fails(why: String) -> Outcome {
    Outcome::Failed(why, std::time::Duration::ZERO)
}

impl<'a> Edge<'a> {
    /// Fetches segment `k` at `url` (listed in `playlist`) and pushes its frames at the
    /// origin's ticks.
    async fn take(
        &mut self,
        k: u64,
        url: &Uri,
        playlist: &Uri,
        peer: std::net::SocketAddr,
        tls: &Arc<rustls::ClientConfig>,
    ) -> Result<(), Outcome> {
        let station = self.station;
        let (_, _, bytes) = fetch(url, self.settings, tls, MAX_SEGMENT_BYTES)
            .await
            .map_err(|e| fails(e.to_string()))?;
        let size = bytes.len() as u64;
        let codec = station.info().codec();
        let segment = match codec.spec().hls {
            HlsPacking::Fmp4 { .. } => self.unfragment(k, bytes)?,
            _ => packed(bytes).map_err(|why| fails(format!("segment {k}: {why}")))?,
        };
        let frames =
            frames(codec, &segment.audio).map_err(|why| fails(format!("segment {k}: {why}")))?;
        let Some(&(_, frame_ticks, format)) = frames.first() else {
            return Err(fails(format!("segment {k} holds no frame")));
        };
        let expected = *self.format.get_or_insert(format);
        if let Some((_, _, other)) = frames.iter().find(|(_, _, f)| *f != expected) {
            return Err(fails(format!(
                "segment {k}: the origin sends {other}; the station plays {expected}"
            )));
        }
        let found = match segment.tick {
            // A fragment says its time in samples: exact, if on this edge's grid.
            Some(tick) => {
                let nominal = k.saturating_mul(self.segment);
                (tick >= nominal && tick < nominal + frame_ticks).then_some((tick, true))
            }
            None => segment_tick(k, self.segment, segment.pts, frame_ticks),
        };
        let Some((tick, exact)) = found else {
            return Err(fails(format!(
                "segment {k} is not on this edge's grid: give the edge the origin's [pacing] epoch and [hls] segment_ms"
            )));
        };
        let ahead = ticks_of(self.settings.timing.edge_delay + 2 * self.settings.segment);
        if tick > station.tick_now() + ahead {
            return Err(fails(format!(
                "segment {k} is further ahead of this edge's clock than its delay: give the edge the origin's [pacing] epoch"
            )));
        }
        if (!exact || (segment.tick.is_none() && !agrees(tick, segment.pts)))
            && !std::mem::replace(&mut self.said_inexact, true)
        {
            tracing::warn!(station = %station.name, segment = k, "edge: the origin's audio is off the frame grid (several formats?); its frames play within 11 µs of the origin's ticks, and segments may differ from the origin's");
        }
        let track = self.track_of(segment.title, segment.artist);
        if self.live.is_none() {
            let Some(session) = station.live.input.connect_timed(
                Arc::clone(&track),
                Rank::Relay,
                self.settings.timing.edge_delay + 2 * self.settings.segment,
            ) else {
                return Err(Outcome::Outranked);
            };
            let info = Arc::new(SourceInfo::relayed(
                station.clock_now(),
                peer,
                self.settings.url.to_string(),
                codec.content_type().to_string(),
                IceFields::default(),
            ));
            let shown = SourceShown::new(station, Arc::clone(&info));
            if station.relay.enter(
                Phase::OnAir,
                station.clock_now(),
                Some(crate::config::relay::shown(playlist)),
            ) {
                tracing::info!(station = %station.name, origin = %self.settings.url, segment = k, "edge connected: playing the origin's frames at its ticks");
            }
            self.live = Some((session, shown, info));
        }
        let Some((session, _, info)) = self.live.as_ref() else {
            return Err(fails("no session".to_string()));
        };
        info.bytes_in.fetch_add(size, Ordering::Relaxed);
        let mut at = tick;
        for (frame, ticks, _) in frames {
            if session
                .push_at(frame, ticks, at, Arc::clone(&track))
                .await
                .is_err()
            {
                return Err(
                    if station.live.input.connected_rank() == Some(Rank::Pushed) {
                        Outcome::Outranked
                    } else {
                        fails("cut off".to_string())
                    },
                );
            }
            at += ticks;
        }
        self.next = Some(k + 1);
        Ok(())
    }

    /// A fragmented-MP4 segment `k` (an Opus or FLAC origin) as a packed one: its samples
    /// carried, its tick from its time.
    fn unfragment(&self, k: u64, bytes: Bytes) -> Result<Packed, Outcome> {
        let fragment = fragment(bytes).map_err(|why| fails(format!("segment {k}: {why}")))?;
        let format = self.station.programme().format();
        let codec = format.kind.codec();
        let audio = carry_samples(
            codec,
            format.channels,
            fragment.samples.iter().map(|s| &s[..]),
        )
        .ok_or_else(|| {
            fails(format!(
                "segment {k}: a sample that is not {}",
                codec.name()
            ))
        })?;
        // Opus's timescale is 48 kHz; FLAC's its sample rate.
        let rate = match codec {
            Codec::Opus => 48_000,
            _ => format.sample_rate,
        };
        Ok(Packed {
            pts: 0,
            tick: Some(
                fragment
                    .tick
                    .unwrap_or_else(|| fragment.time.saturating_mul(ticks_per_sample(rate))),
            ),
            title: fragment.title,
            artist: fragment.artist,
            audio,
        })
    }

    /// The track called `title` by `artist`: the one playing if it is the same.
    fn track_of(&mut self, title: Option<String>, artist: Option<String>) -> Arc<TrackMeta> {
        let tags = TrackTags {
            artist,
            title,
            ..TrackTags::default()
        };
        match &self.track {
            Some(track) if track.tags == tags => Arc::clone(track),
            _ => {
                let name = tags
                    .title
                    .clone()
                    .unwrap_or_else(|| self.station.meta().title);
                let track = Arc::new(TrackMeta { tags, name });
                self.track = Some(Arc::clone(&track));
                track
            }
        }
    }
}

/// A segment's frames, each with its ticks and format: every byte must be in a frame.
fn frames(codec: Codec, audio: &Bytes) -> Result<Vec<(Bytes, u64, Format)>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < audio.len() {
        let header = codec
            .parse(&audio[at..])
            .map_err(|_| format!("byte {at} of its audio is not a {} frame", codec.name()))?;
        let len = header.frame_length();
        if len == 0 || at + len > audio.len() {
            return Err(format!("a frame at byte {at} runs past the segment"));
        }
        let ticks = u64::from(header.samples()) * ticks_per_sample(header.sample_rate());
        out.push((audio.slice(at..at + len), ticks, header.format()));
        at += len;
    }
    Ok(out)
}
