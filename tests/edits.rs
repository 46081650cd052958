//! Edits timed by the files (`[pacing] edits = "file_times"`): a replica restarted after a
//! programme or schedule edit plays what the replicas that lived through it play, to the frame
//! and the HLS byte, with nothing shared between them but the files and their modification
//! times (which `rsync -a` and deploy tools keep).

use std::path::Path;
use std::time::{Duration, SystemTime};

use onair_core::{TestClock, WallClock};
use onair_tests::{fixture, programme_files, set_modified, HttpResponse, TestServer};

const SECOND: Duration = Duration::from_secs(1);

/// The three tracks of the test programme.
const TRACKS: [&str; 3] = ["01 One.mp3", "02 Two.mp3", "03 Three.mp3"];

/// Edits timed by the files, and short HLS segments so that several follow an edit soon.
const EDITS: &str = "[pacing]\nedits = \"file_times\"\n[hls]\nsegment_ms = 1000\nwindow_s = 10\n";

async fn fetch(server: &TestServer, path: &str) -> HttpResponse {
    let mut response = server.get(path).await;
    response.read_full(5 * SECOND).await;
    assert_eq!(response.status(), 200, "{path}");
    response
}

/// What station `name` plays now and next, as `/status.json` says.
async fn playing(server: &TestServer, name: &str) -> (serde_json::Value, serde_json::Value) {
    let status = server.status_json().await;
    let station = onair_tests::station_in(&status, name);
    (station["now_playing"].clone(), station["next"].clone())
}

/// The segments of `station`'s playlist that start at or after `from`: each URI with its bytes.
async fn segments_from(
    server: &TestServer,
    station: &str,
    from: SystemTime,
) -> Vec<(String, Vec<u8>)> {
    let playlist = fetch(server, &format!("/{station}.m3u8?session=1")).await;
    let text = String::from_utf8_lossy(&playlist.body).into_owned();
    let mut date = None;
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            date = Some(humantime::parse_rfc3339(d).expect("a date"));
        } else if !line.starts_with('#')
            && !line.is_empty()
            && date.take().is_some_and(|d| d >= from)
        {
            let uri = line.rsplit_once("://").map_or(line, |(_, rest)| {
                rest.find('/').map_or(rest, |i| &rest[i..])
            });
            let uri = if uri.starts_with('/') {
                uri.to_string()
            } else {
                format!("/{uri}")
            };
            let bytes = fetch(server, &uri).await.body;
            out.push((uri, bytes));
        }
    }
    out
}

/// Every file of the stations folder under `dir` with its bytes and modification time: what
/// `rsync -a` copies to another replica.
fn deployed(stations: &Path) -> Vec<(String, Vec<u8>, SystemTime)> {
    let mut files = Vec::new();
    for folder in std::fs::read_dir(stations).expect("stations") {
        let folder = folder.expect("entry").path();
        for file in std::fs::read_dir(&folder).expect("folder") {
            let path = file.expect("entry").path();
            let name = path
                .strip_prefix(stations)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            let modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .expect("time");
            files.push((name, std::fs::read(&path).expect("read"), modified));
        }
    }
    files
}

/// The replica restarted at `living`'s time now, with its files and config and their times.
async fn restarted(living: &TestServer, config: &str) -> TestServer {
    let clock = TestClock::starting_at(living.clock.now());
    let config_modified = std::fs::metadata(living.config_path())
        .and_then(|m| m.modified())
        .ok();
    TestServer::start_dated(
        &deployed(&living.stations()),
        config,
        config_modified,
        clock,
    )
    .await
}

/// Both replicas play the same track, started at the same moment, and list the same bytes for
/// every HLS segment from `from` on.
async fn agree(living: &TestServer, restarted: &TestServer, station: &str, from: SystemTime) {
    let (a, b) = (
        playing(living, station).await,
        playing(restarted, station).await,
    );
    assert_eq!(a, b, "now playing and next");
    let (a, b) = (
        segments_from(living, station, from).await,
        segments_from(restarted, station, from).await,
    );
    let common: Vec<_> = a
        .iter()
        .filter(|(uri, _)| b.iter().any(|(u, _)| u == uri))
        .collect();
    assert!(
        common.len() >= 3,
        "segments after the edit on both: {a:?}",
        a = a.len()
    );
    for (uri, bytes) in common {
        let other = &b.iter().find(|(u, _)| u == uri).expect("listed").1;
        assert!(bytes == other, "{uri} differs between the replicas");
    }
}

/// A replica of the three-track programme `mix`, deployed an hour ago (the files' times), with
/// the config file of that time too when `config_modified` is given.
async fn living(config_modified: Option<SystemTime>) -> TestServer {
    let files: Vec<_> = programme_files("mix", &TRACKS)
        .into_iter()
        .map(|(name, bytes)| (name, bytes, an_hour_ago()))
        .collect();
    let clock = TestClock::starting_at(SystemTime::now());
    TestServer::start_dated(&files, EDITS, config_modified, clock).await
}

fn an_hour_ago() -> SystemTime {
    SystemTime::now() - 3600 * SECOND
}

/// Adds `00 Added.mp3` (the fourth fixture) to `mix`, with modification time `modified`,
/// renamed in as deploy tools do; returns once the replica has seen it.
async fn add_track(server: &TestServer, modified: SystemTime) {
    let incoming = server.stations().join(".incoming.mp3");
    let four = std::fs::read(fixture("programme").join("04 Four.mp3")).expect("fixture");
    std::fs::write(&incoming, four).expect("write");
    set_modified(&incoming, modified);
    std::fs::rename(&incoming, server.stations().join("mix/00 Added.mp3")).expect("rename in");
    let mix = server.registry.get("mix").expect("on air");
    onair_tests::eventually("the edit is seen", 5 * SECOND, || {
        mix.programme()
            .tracks()
            .iter()
            .any(|t| t.path.ends_with("00 Added.mp3"))
    })
    .await;
}

/// Steps `server`'s clock to half a second past `anchor`, and says what plays then: a track
/// that started at the anchor itself.
async fn just_after(
    server: &TestServer,
    anchor: SystemTime,
) -> (serde_json::Value, serde_json::Value) {
    assert!(server.clock.now() < anchor, "seen before its anchor");
    let wait = anchor
        .duration_since(server.clock.now())
        .unwrap_or_default();
    server.clock.advance(wait + SECOND / 2);
    let (now, next) = playing(server, "mix").await;
    let started =
        humantime::parse_rfc3339(now["started_at"].as_str().expect("started_at")).expect("time");
    let off = started
        .duration_since(anchor)
        .unwrap_or_else(|e| e.duration());
    assert!(
        off < Duration::from_millis(2),
        "the first track starts at the anchor: {off:?} off"
    );
    (now, next)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_restarted_after_a_programme_edit_plays_what_the_living_one_plays() {
    let living = living(None).await;
    // The edit: a track added, as written 5 s ago. Its time is the anchor's: 10 s after it, 5 s
    // from now.
    let edited = living.clock.now() - 5 * SECOND;
    add_track(&living, edited).await;
    let anchor = edited + 10 * SECOND;
    // Past the anchor (the clock stepped instead of waited for): the new programme from its
    // first track, started at the anchor itself.
    let (now, _) = just_after(&living, anchor).await;
    assert_eq!(
        now["title"], "Test Trio - Four",
        "the added track, first in name order"
    );
    // A replica restarted some segments later, with the same files and times, agrees with the
    // one that lived through the edit.
    living.clock.advance(5 * SECOND);
    let replica = restarted(&living, EDITS).await;
    agree(&living, &replica, "mix", anchor + SECOND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_seen_after_its_anchor_joins_where_a_restarted_replica_plays() {
    let living = living(None).await;
    // A track copied in with the time it had elsewhere, a minute ago: its anchor has passed.
    add_track(&living, SystemTime::now() - 60 * SECOND).await;
    // It takes effect after the settle time, mid-track, where every replica plays it.
    let switched = living.clock.now() + 3 * SECOND;
    living.clock.advance(8 * SECOND);
    let replica = restarted(&living, EDITS).await;
    agree(&living, &replica, "mix", switched + SECOND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_restarted_after_a_schedule_edit_plays_what_the_living_one_plays() {
    // Jingles kept beside the stations folder, deployed with it.
    let media = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(media.path().join("ids")).expect("ids");
    let id = media.path().join("ids/id.mp3");
    std::fs::copy(fixture("programme").join("04 Four.mp3"), &id).expect("copy");
    set_modified(&id, an_hour_ago());
    let living = living(Some(an_hour_ago())).await;
    // The edit: a jingle after every 2 tracks, saved 5 s ago by a deploy that keeps times.
    let edited = living.clock.now() - 5 * SECOND;
    let scheduled = format!(
        "{EDITS}[stations.mix]\njingles = {{ folder = {:?}, every_tracks = 2 }}\n",
        media.path().join("ids").display().to_string()
    );
    living.edit_config_dated(&scheduled, Some(edited));
    let mix = living.registry.get("mix").expect("on air");
    onair_tests::eventually(
        "the schedule is seen, its jingles probed",
        5 * SECOND,
        || mix.schedule().is_some_and(|s| s.jingles.is_some()),
    )
    .await;
    let anchor = edited + 10 * SECOND;
    // From the anchor: the programme from its first track, a jingle after two tracks.
    let (now, next) = just_after(&living, anchor).await;
    assert_eq!(now["title"], "Test Trio - One");
    assert_eq!(next["title"], "Café Noir");
    living.clock.advance(5 * SECOND);
    let replica = restarted(&living, &scheduled).await;
    agree(&living, &replica, "mix", anchor + SECOND).await;
}
