//! Analytics as a licensed webcaster files it: every track played, with how many listeners
//! heard enough of it (performances) and for how long, equal to what this test's own listeners
//! received; listening per period; SoundExchange's report of use; all kept across a restart.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use onair_core::WallClock;
use onair_tests::{programme_files, HttpResponse, TestServer};
use serde_json::Value;

const SECOND: Duration = Duration::from_secs(1);
const TRACKS: [&str; 4] = ["01 One.mp3", "02 Two.mp3", "03 Three.mp3", "04 Four.mp3"];

fn ms(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// A listener of `/mix` from now for `seconds`: when it tuned in (wall ms) and the seconds of
/// audio it received (decoded by ffmpeg; `None` without it).
async fn listen(server: &TestServer, seconds: Duration) -> (f64, Option<f64>) {
    let at = ms(server.clock.now());
    let mut listener = HttpResponse::send(
        server.addr,
        "GET /mix HTTP/1.0\r\nUser-Agent: VLC/3.0.24\r\n\r\n",
    )
    .await;
    listener.read_for(seconds).await;
    let pcm = onair_tests::ogg::ffmpeg_pcm(&listener.body).await;
    (at, pcm.map(|p| p.len() as f64 / 48_000.0))
}

async fn report(server: &TestServer, query: &str) -> (String, String) {
    let mut response = HttpResponse::send(
        server.addr,
        &format!("GET /admin/reports?{query} HTTP/1.1\r\nHost: t\r\nAuthorization: Basic YWRtaW46cHc=\r\nConnection: close\r\n\r\n"),
    )
    .await;
    response.read_full(5 * SECOND).await;
    assert_eq!(
        response.status(),
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    (
        response
            .header("content-type")
            .unwrap_or_default()
            .to_string(),
        String::from_utf8_lossy(&response.body).to_string(),
    )
}

fn overlap((a, b): (f64, f64), (c, d): (f64, f64)) -> f64 {
    (b.min(d) - a.max(c)).max(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_counts_what_listeners_heard_of_each_track_and_survives_a_restart() {
    let records = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[pacing]\nburst_ms = 0\nchunk_ms = 100\n[admin]\npassword = \"pw\"\n[analytics]\ndir = {:?}\nperformance_s = 1\n",
        records.path().display().to_string()
    );
    let files = programme_files("mix", &TRACKS);
    let server = TestServer::start_owned(&files, &config).await;
    let began = server.clock.now();
    // One listener for 6.5 s; another joining 2.5 s later, leaving after 1.5 s.
    let long = tokio::spawn({
        let addr = server.addr;
        let at = ms(server.clock.now());
        async move {
            let mut listener =
                HttpResponse::send(addr, "GET /mix HTTP/1.0\r\nUser-Agent: VLC/3.0.24\r\n\r\n")
                    .await;
            listener.read_for(SECOND * 13 / 2).await;
            (
                at,
                onair_tests::ogg::ffmpeg_pcm(&listener.body)
                    .await
                    .map(|p| p.len() as f64 / 48_000.0),
            )
        }
    });
    tokio::time::sleep(SECOND * 5 / 2).await;
    let short = listen(&server, SECOND * 3 / 2).await;
    let long = long.await.expect("listener");
    server.wait_listeners("mix", 0, 5 * SECOND).await;
    // The records are written by a thread of their own: a moment.
    tokio::time::sleep(SECOND / 2).await;
    let from = humantime::format_rfc3339_seconds(began - 10 * SECOND);
    let (_, text) = report(&server, &format!("report=tracks&from={from}")).await;
    let json: Value = serde_json::from_str(&text).expect("JSON");
    let rows = json["tracks"].as_array().expect("tracks").clone();
    assert!(rows.len() >= 4, "{text}");
    let (Some(long_heard), Some(short_heard)) = (long.1, short.1) else {
        return;
    };
    // What each listener decoded; the server counts what it sent, which runs up to half a
    // second longer (chunks in flight when the listener closed, a frame the decoder drops).
    const IN_FLIGHT_MS: f64 = 500.0;
    let spans = [
        (long.0, long.0 + long_heard * 1000.0),
        (short.0, short.0 + short_heard * 1000.0),
    ];
    let sent = spans.map(|(from, to)| (from, to + IN_FLIGHT_MS));
    let mut checked = 0;
    for row in &rows {
        let play = (
            row["start_ms"].as_f64().expect("start"),
            row["end_ms"].as_f64().expect("end"),
        );
        let heard: Vec<f64> = spans.iter().map(|s| overlap(*s, play) / 1000.0).collect();
        let most: Vec<f64> = sent.iter().map(|s| overlap(*s, play) / 1000.0).collect();
        let seconds = row["listener_seconds"].as_f64().expect("seconds");
        // At least what was decoded (less a chunk and a frame at each end), at most what was
        // sent.
        assert!(
            seconds > heard.iter().sum::<f64>() - 0.25 && seconds < most.iter().sum::<f64>() + 0.25,
            "{row} vs {heard:?} (at most {most:?})"
        );
        // Performances where what was decoded and what was sent agree on every listener.
        let counted = |h: &[f64]| h.iter().filter(|h| **h >= 1.0).count() as u64;
        let clear = heard.iter().chain(&most).all(|h| (h - 1.0).abs() > 0.25);
        if clear && counted(&heard) == counted(&most) {
            let expected = counted(&heard);
            assert_eq!(
                row["performances"].as_u64(),
                Some(expected),
                "{row} vs {heard:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "no play checked: {text}");
    // The short listener joined mid-track and left early: it is in some play's seconds, but a
    // play it heard less than the threshold of does not count it.
    let total: f64 = rows
        .iter()
        .filter_map(|r| r["listener_seconds"].as_f64())
        .sum();
    assert!(
        total > long_heard + short_heard - 0.5 && total < long_heard + short_heard + 1.25,
        "{total} vs {long_heard} + {short_heard}"
    );
    // Tags go to the report: the first track's artist and title.
    assert!(
        rows.iter()
            .any(|r| r["artist"] == "Test Trio" && r["title"] == "One"),
        "{text}"
    );

    // Listening per minute: two sessions, all of it on the stream, heard by VLC.
    let (_, text) = report(
        &server,
        &format!("report=listening&period=minute&from={from}"),
    )
    .await;
    let json: Value = serde_json::from_str(&text).expect("JSON");
    let minutes = json["listening"].as_array().expect("listening");
    let sessions: u64 = minutes.iter().filter_map(|m| m["sessions"].as_u64()).sum();
    assert_eq!(sessions, 2, "{text}");
    let vlc: f64 = minutes
        .iter()
        .filter_map(|m| m["by_player"]["VLC"].as_f64())
        .sum();
    assert!(
        vlc > long_heard + short_heard - 0.5 && vlc < long_heard + short_heard + 1.25,
        "{text}"
    );
    assert!(minutes.iter().any(|m| m["peak_listeners"] == 2), "{text}");

    // SoundExchange's report of use, in its columns.
    let (content_type, csv) = report(
        &server,
        &format!("report=soundexchange&format=csv&service=Test%20FM&from={from}"),
    )
    .await;
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("NAME_OF_SERVICE,TRANSMISSION_CATEGORY,FEATURED_ARTIST,SOUND_RECORDING_TITLE,ISRC,ALBUM_TITLE,MARKETING_LABEL,ACTUAL_TOTAL_PERFORMANCES")
    );
    assert!(
        lines.any(|l| l.starts_with("Test FM,B,Test Trio,One,")),
        "{csv}"
    );

    // Kept across a restart.
    server.shutdown().await;
    let again = TestServer::start_owned(&files, &config).await;
    let (_, after) = report(&again, &format!("report=tracks&from={from}")).await;
    let after: Value = serde_json::from_str(&after).expect("JSON");
    let kept = after["tracks"].as_array().expect("tracks");
    assert!(kept.len() >= rows.len(), "{after}");
    assert_eq!(kept[0]["listener_seconds"], rows[0]["listener_seconds"]);
    // Without admin credentials, no report.
    let mut anonymous = HttpResponse::send(
        again.addr,
        "GET /admin/reports HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .await;
    anonymous.read_full(SECOND).await;
    assert_eq!(anonymous.status(), 401);
}
