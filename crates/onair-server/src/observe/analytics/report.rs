//! Reports from the records: pure functions of the plays and sessions in a time range.
//!
//! - [`tracks`]: every play that started in the range, with the listeners at its start, its
//!   performances (listeners that heard at least the performance threshold of it) and its
//!   listener-seconds.
//! - [`sound_exchange`]: the same summed per recording, in the columns of SoundExchange's
//!   report of use (actual total performances).
//! - [`listening`]: per station and period (a minute, an hour, a day): sessions begun,
//!   listener-seconds (aggregate tuning hours = listener-seconds / 3600), average and peak
//!   listeners, split by stream and HLS and by player family.

use std::collections::BTreeMap;

use serde::Serialize;

use super::store::{Heard, Play, Record};

/// One play of a track.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackRow {
    /// The station.
    pub station: String,
    /// When it started and ended on air (ms since 1970).
    pub start_ms: u64,
    /// When it ended (the next play's start, or now).
    pub end_ms: u64,
    /// Its tags.
    pub artist: Option<String>,
    /// Its title (its file name without a tag).
    pub title: String,
    /// Its album.
    pub album: Option<String>,
    /// Its ISRC.
    pub isrc: Option<String>,
    /// Its label.
    pub label: Option<String>,
    /// Listeners tuned in when it started.
    pub listeners_at_start: u64,
    /// Listeners that heard at least the threshold of it.
    pub performances: u64,
    /// Seconds of it heard, over all listeners.
    pub listener_seconds: f64,
}

/// Every play that started in `[from_ms, to_ms)`, with what its listeners heard of it;
/// `performance_ms`: what a listener must hear of it to count; `now_ms`: the end of a play still
/// on air.
pub fn tracks(
    records: &[Record],
    (from_ms, to_ms): (u64, u64),
    performance_ms: u64,
    now_ms: u64,
) -> Vec<TrackRow> {
    let mut plays: BTreeMap<&str, Vec<&Play>> = BTreeMap::new();
    let mut heard: BTreeMap<&str, Vec<&Heard>> = BTreeMap::new();
    for record in records {
        match record {
            Record::Play(p) => plays.entry(&p.station).or_default().push(p),
            Record::Session(h) => heard.entry(&h.station).or_default().push(h),
        }
    }
    let mut rows = Vec::new();
    for (station, mut list) in plays {
        list.sort_by_key(|p| p.at_ms);
        // A restart keeps the track playing again: one play.
        list.dedup_by_key(|p| p.at_ms);
        let sessions = heard.get(station).map_or(&[][..], Vec::as_slice);
        for (i, play) in list.iter().enumerate() {
            if play.at_ms < from_ms || play.at_ms >= to_ms {
                continue;
            }
            let end = list
                .get(i + 1)
                .map_or(now_ms.max(play.at_ms), |next| next.at_ms);
            let mut row = TrackRow {
                station: station.to_string(),
                start_ms: play.at_ms,
                end_ms: end,
                artist: play.artist.clone(),
                title: play.title.clone().unwrap_or_else(|| play.name.clone()),
                album: play.album.clone(),
                isrc: play.isrc.clone(),
                label: play.label.clone(),
                listeners_at_start: 0,
                performances: 0,
                listener_seconds: 0.0,
            };
            for session in sessions {
                let overlap = session
                    .to_ms
                    .min(end)
                    .saturating_sub(session.from_ms.max(play.at_ms));
                if overlap == 0 {
                    continue;
                }
                row.listener_seconds += overlap as f64 / 1000.0;
                if overlap >= performance_ms.min(end - play.at_ms).max(1) {
                    row.performances += 1;
                }
                if session.from_ms <= play.at_ms && play.at_ms < session.to_ms {
                    row.listeners_at_start += 1;
                }
            }
            rows.push(row);
        }
    }
    rows.sort_by_key(|r| (r.start_ms, r.station.clone()));
    rows
}

/// One recording's line of SoundExchange's report of use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoundExchangeRow {
    /// `FEATURED_ARTIST`.
    pub featured_artist: String,
    /// `SOUND_RECORDING_TITLE`.
    pub sound_recording_title: String,
    /// `ISRC`.
    pub isrc: String,
    /// `ALBUM_TITLE`.
    pub album_title: String,
    /// `MARKETING_LABEL`.
    pub marketing_label: String,
    /// `ACTUAL_TOTAL_PERFORMANCES`.
    pub actual_total_performances: u64,
}

/// `rows` summed per recording (artist, title, ISRC, album, label).
pub fn sound_exchange(rows: &[TrackRow]) -> Vec<SoundExchangeRow> {
    let mut sums: BTreeMap<(String, String, String, String, String), u64> = BTreeMap::new();
    for row in rows {
        let key = (
            row.artist.clone().unwrap_or_default(),
            row.title.clone(),
            row.isrc.clone().unwrap_or_default(),
            row.album.clone().unwrap_or_default(),
            row.label.clone().unwrap_or_default(),
        );
        *sums.entry(key).or_default() += row.performances;
    }
    sums.into_iter()
        .map(
            |((artist, title, isrc, album, label), n)| SoundExchangeRow {
                featured_artist: artist,
                sound_recording_title: title,
                isrc,
                album_title: album,
                marketing_label: label,
                actual_total_performances: n,
            },
        )
        .collect()
}

/// One station's listening in one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListeningRow {
    /// The station.
    pub station: String,
    /// The period's start (ms since 1970).
    pub start_ms: u64,
    /// Sessions that began in it.
    pub sessions: u64,
    /// Seconds listened in it, over all listeners (/ 3600: aggregate tuning hours).
    pub listener_seconds: f64,
    /// Listeners on average over the period.
    pub average_listeners: f64,
    /// Most listeners at once.
    pub peak_listeners: u64,
    /// Listener-seconds by stream and HLS.
    pub by_via: BTreeMap<String, f64>,
    /// Listener-seconds by player family.
    pub by_player: BTreeMap<String, f64>,
}

/// Listening per station and `period_ms` in `[from_ms, to_ms)` (periods aligned to the epoch).
pub fn listening(
    records: &[Record],
    (from_ms, to_ms): (u64, u64),
    period_ms: u64,
) -> Vec<ListeningRow> {
    let period_ms = period_ms.max(1000);
    let mut rows: BTreeMap<(String, u64), ListeningRow> = BTreeMap::new();
    let mut edges: BTreeMap<(String, u64), Vec<(u64, i64)>> = BTreeMap::new();
    for record in records {
        let Record::Session(h) = record else { continue };
        let (from, to) = (h.from_ms.max(from_ms), h.to_ms.min(to_ms));
        if from >= to && !(from_ms..to_ms).contains(&h.from_ms) {
            continue;
        }
        let mut start = from / period_ms * period_ms;
        while start < to.max(from + 1) {
            let end = start + period_ms;
            let overlap = to.min(end).saturating_sub(from.max(start));
            let row = rows
                .entry((h.station.clone(), start))
                .or_insert_with(|| ListeningRow {
                    station: h.station.clone(),
                    start_ms: start,
                    sessions: 0,
                    listener_seconds: 0.0,
                    average_listeners: 0.0,
                    peak_listeners: 0,
                    by_via: BTreeMap::new(),
                    by_player: BTreeMap::new(),
                });
            if (start..end).contains(&h.from_ms) {
                row.sessions += 1;
            }
            let seconds = overlap as f64 / 1000.0;
            row.listener_seconds += seconds;
            *row.by_via.entry(h.via.clone()).or_default() += seconds;
            *row.by_player.entry(h.agent.clone()).or_default() += seconds;
            let cuts = edges.entry((h.station.clone(), start)).or_default();
            cuts.push((from.max(start), 1));
            cuts.push((to.min(end), -1));
            start = end;
        }
    }
    for (key, row) in rows.iter_mut() {
        row.average_listeners = row.listener_seconds / (period_ms as f64 / 1000.0);
        if let Some(cuts) = edges.get_mut(key) {
            // Leaving before joining at the same instant: a hand-over is not two at once.
            cuts.sort_by_key(|&(at, d)| (at, d));
            let mut now = 0i64;
            for (_, d) in cuts.iter() {
                now += d;
                row.peak_listeners = row.peak_listeners.max(u64::try_from(now).unwrap_or(0));
            }
        }
    }
    rows.into_values().collect()
}

/// `rows` as CSV with `header`, each row's fields given by `fields` (quoted where they need to
/// be, RFC 4180).
pub fn csv<T>(header: &[&str], rows: &[T], fields: impl Fn(&T) -> Vec<String>) -> String {
    let quote = |field: &str| {
        if field.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", field.replace('"', "\"\""))
        } else {
            field.to_string()
        }
    };
    let mut out = header.join(",");
    out.push_str("\r\n");
    for row in rows {
        let line: Vec<String> = fields(row).iter().map(|f| quote(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn play(at_ms: u64, title: &str) -> Record {
        Record::Play(Play {
            station: "jazz".into(),
            at_ms,
            title: Some(title.into()),
            artist: Some("Miles Davis".into()),
            album: None,
            isrc: None,
            label: None,
            name: title.into(),
        })
    }

    fn heard(from_ms: u64, to_ms: u64, via: &str) -> Record {
        Record::Session(Heard {
            station: "jazz".into(),
            via: via.into(),
            from_ms,
            to_ms,
            agent: "VLC".into(),
        })
    }

    #[test]
    fn performances_count_listeners_that_heard_enough_of_a_track() {
        // Two tracks of 100 s; one listener throughout, one for 20 s of the first, one joining
        // 50 s into the second.
        let records = [
            play(0, "So What"),
            play(100_000, "Blue in Green"),
            // Kept again by a restart.
            play(100_000, "Blue in Green"),
            play(200_000, "All Blues"),
            heard(0, 200_000, "stream"),
            heard(10_000, 30_000, "hls"),
            heard(150_000, 300_000, "stream"),
        ];
        let rows = tracks(&records, (0, 200_000), 30_000, 300_000);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].title, "So What");
        assert_eq!((rows[0].listeners_at_start, rows[0].performances), (1, 1));
        assert_eq!(rows[0].listener_seconds, 120.0);
        assert_eq!((rows[1].listeners_at_start, rows[1].performances), (1, 2));
        assert_eq!(rows[1].listener_seconds, 150.0);
        let sums = sound_exchange(&rows);
        assert_eq!(sums.len(), 2);
        assert_eq!(
            sums.iter()
                .map(|s| s.actual_total_performances)
                .sum::<u64>(),
            3
        );

        let minutes = listening(&records, (0, 120_000), 60_000);
        assert_eq!(minutes.len(), 2);
        assert_eq!(minutes[0].sessions, 2);
        assert_eq!(minutes[0].listener_seconds, 80.0);
        assert_eq!(minutes[0].peak_listeners, 2);
        assert_eq!(minutes[0].by_via["hls"], 20.0);
        assert_eq!((minutes[1].sessions, minutes[1].peak_listeners), (0, 1));
        assert_eq!(minutes[1].average_listeners, 1.0);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let rows = [("A, B", "say \"hi\"")];
        let text = csv(&["X", "Y"], &rows, |r| {
            vec![r.0.to_string(), r.1.to_string()]
        });
        assert_eq!(text, "X,Y\r\n\"A, B\",\"say \"\"hi\"\"\"\r\n");
    }
}
