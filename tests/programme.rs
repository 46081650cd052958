//! Programmes: a folder of tracks is a gapless station with per-track now playing; MP3 as well as
//! AAC. Every byte a listener receives is checked against the tracks' own frames, so a frame
//! added, lost, repeated or a track cut short anywhere fails the test.

use std::path::Path;
use std::time::Duration;

use onair_core::WallClock;
use onair_server::ConfigSource;
use onair_tests::{
    eventually, ffmpeg_decode, ffprobe_packets, fixture, split_hls_segment, strip_icy,
    HttpResponse, TestServer,
};

const SECOND: Duration = Duration::from_secs(1);

/// A programme fixture (`tests/fixtures/programme/`, made by its `make.sh`).
fn programme_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture("programme").join(name)).expect("programme fixture")
}

/// The three tracks of the test programme, by file name.
const TRACKS: [&str; 3] = ["01 One.mp3", "02 Two.mp3", "03 Three.mp3"];

/// What each track's listeners are told: `Artist - Title`, the title alone, the file name.
const TITLES: [&str; 3] = ["Test Trio - One", "Café Noir", "03 Three"];

/// A track's frames as onair plays them: between its tags, without its Info header frame.
fn frames_of(path: &Path) -> Vec<u8> {
    let info = onair_core::probe(path).expect("probe");
    let bytes = std::fs::read(path).expect("read");
    bytes[info.range.start as usize..info.range.end as usize].to_vec()
}

/// The frames of every file in `folder` whose name is in `names`, in that order.
fn frames_in(folder: &Path, names: &[&str]) -> Vec<Vec<u8>> {
    names.iter().map(|n| frames_of(&folder.join(n))).collect()
}

/// Cuts `stream` into the tracks it is made of: `(track, offset in the stream)` for each. The
/// first may start anywhere inside its track (the burst starts mid-track, possibly in its last
/// frame); every later one must start at its first frame and the one before must have ended at
/// its last: a track cut short or a frame lost or repeated panics. The last may be cut by the
/// end of the capture.
fn tracks_in(stream: &[u8], tracks: &[Vec<u8>]) -> Vec<(usize, usize)> {
    // Every place in a track whose tail the stream starts with, the longest agreement first
    // (a stream starting in a track's last frame agrees with it for less than a frame).
    let mut starts: Vec<(usize, usize, usize)> = Vec::new();
    for (i, track) in tracks.iter().enumerate() {
        for skip in 0..track.len() {
            let n = (track.len() - skip).min(stream.len());
            if stream[..n] == track[skip..skip + n] {
                starts.push((n, i, skip));
            }
        }
    }
    starts.sort_by_key(|s| std::cmp::Reverse(s.0));
    assert!(
        !starts.is_empty(),
        "the stream starts inside one of the tracks"
    );
    let mut failure = String::new();
    for (_, first, skip) in starts {
        match follow(stream, tracks, first, tracks[first].len() - skip) {
            Ok(found) => return found,
            Err(e) if failure.is_empty() => failure = e,
            Err(_) => {}
        }
    }
    panic!("{failure}");
}

/// The tracks of `stream` after its first (`first`, whose rest ends at `pos`): each must start
/// exactly where the one before ended.
fn follow(
    stream: &[u8],
    tracks: &[Vec<u8>],
    first: usize,
    mut pos: usize,
) -> Result<Vec<(usize, usize)>, String> {
    let mut found = vec![(first, 0)];
    while pos < stream.len() {
        let rest = &stream[pos..];
        let next = tracks.iter().position(|t| {
            let n = t.len().min(rest.len());
            t[..n] == rest[..n]
        });
        let Some(next) = next else {
            return Err(format!(
                "byte {pos} of the stream starts no track: a track was cut or a frame lost"
            ));
        };
        found.push((next, pos));
        pos += tracks[next].len();
    }
    Ok(found)
}

#[test]
fn a_capture_may_start_in_the_last_frame_of_a_track() {
    let track = |seed: u8, len: usize| -> Vec<u8> {
        (0..len)
            .map(|i| seed.wrapping_add((i % 251) as u8))
            .collect()
    };
    let tracks = vec![track(0, 1000), track(100, 800), track(200, 900)];
    let mut stream = tracks[0][950..].to_vec();
    stream.extend_from_slice(&tracks[1]);
    stream.extend_from_slice(&tracks[2][..300]);
    assert_eq!(tracks_in(&stream, &tracks), vec![(0, 0), (1, 50), (2, 850)]);
}

/// `GET path`, the whole body.
async fn fetch(server: &TestServer, path: &str) -> HttpResponse {
    let mut response = server.get(path).await;
    response.read_full(5 * SECOND).await;
    response
}

async fn status(server: &TestServer) -> serde_json::Value {
    let response = fetch(server, "/status.json").await;
    serde_json::from_slice(&response.body).expect("status JSON")
}

fn station<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["stations"]
        .as_array()
        .expect("stations")
        .iter()
        .find(|s| s["name"] == name)
        .expect("station listed")
}

fn programme_files(folder: &str) -> Vec<(String, Vec<u8>)> {
    onair_tests::programme_files(folder, &TRACKS)
}

async fn start(files: &[(String, Vec<u8>)], extra: &str) -> TestServer {
    TestServer::start_owned(files, extra).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_is_a_gapless_station_with_a_title_per_track() {
    let server = start(&programme_files("mix"), "").await;
    let tracks = frames_in(&server.stations().join("mix"), &TRACKS);
    let mut response = HttpResponse::send(
        server.addr,
        "GET /mix HTTP/1.1\r\nHost: test\r\nIcy-MetaData: 1\r\n\r\n",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-type"), Some("audio/mpeg"));
    assert_eq!(
        response.header("icy-name"),
        Some("mix"),
        "the station's name"
    );
    // The 4 s burst, then 7 s live: the 6 s programme's every boundary and its loop point.
    response.read_for(11 * SECOND).await;
    let (audio, blocks) = strip_icy(&response.body);
    let played = tracks_in(&audio, &tracks);
    let order: Vec<usize> = played.iter().map(|(t, _)| *t).collect();
    assert!(played.len() >= 4, "crossed the loop point: {order:?}");
    for pair in order.windows(2) {
        assert_eq!(pair[1], (pair[0] + 1) % 3, "name order, looped: {played:?}");
    }
    // No Info header frame is ever sent (it would be a frame of silence at each track start).
    assert!(
        !audio.windows(4).any(|w| w == b"Info" || w == b"Xing"),
        "an Info frame was sent"
    );
    // Each block names the track whose audio the listener received last: a new title comes in
    // the first block after its track's first frame, never before.
    let track_at = |offset: usize| {
        played
            .iter()
            .rev()
            .find(|(_, start)| *start < offset)
            .map(|(t, _)| *t)
            .expect("a track")
    };
    let mut titles = Vec::new();
    let mut last: Option<String> = None;
    for (offset, block) in &blocks {
        if let Some(text) = block {
            last = Some(text.clone());
        }
        let expected = format!("StreamTitle='{}';", TITLES[track_at(*offset)]);
        assert_eq!(
            last.as_deref(),
            Some(expected.as_str()),
            "block after {offset} audio bytes"
        );
        titles.push(expected);
    }
    titles.dedup();
    assert!(titles.len() >= 3, "titles changed: {titles:?}");
    // A real decoder agrees: the whole capture decodes without an error.
    let capture = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(capture.path(), &audio).expect("write capture");
    if let Some(errors) = ffmpeg_decode(&capture.path().display().to_string(), 30).await {
        assert!(errors.trim().is_empty(), "ffmpeg: {errors}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_playing_and_next_follow_the_station_clock() {
    let server = start(&programme_files("mix"), "").await;
    let first = status(&server).await;
    let mix = station(&first, "mix");
    assert_eq!(mix["tracks"], 3);
    assert_eq!(mix["content_type"], "audio/mpeg");
    assert_eq!(mix["format"], "MP3 44100 Hz stereo");
    let now = &mix["now_playing"];
    let title = now["title"].as_str().expect("title").to_string();
    let i = TITLES
        .iter()
        .position(|t| *t == title)
        .expect("a known title");
    assert_eq!(mix["next"]["title"], TITLES[(i + 1) % 3]);
    if i == 0 {
        assert_eq!(now["artist"], "Test Trio");
    }
    // `started_at` + `duration_s` is when the next track starts: then it is now playing. The
    // server's clock is stepped there instead of waiting for it.
    let started =
        humantime::parse_rfc3339(now["started_at"].as_str().expect("started_at")).expect("time");
    let ends = started + Duration::from_secs_f64(now["duration_s"].as_f64().expect("duration"));
    let wait = ends.duration_since(server.clock.now()).unwrap_or_default();
    assert!(wait < 3 * SECOND, "{wait:?}");
    server.clock.advance(wait + Duration::from_millis(300));
    let later = status(&server).await;
    assert_eq!(
        station(&later, "mix")["now_playing"]["title"],
        TITLES[(i + 1) % 3]
    );
    // The stream follows the stepped clock within a chunk: its newest chunk is of the next track.
    let hub = &server.registry.get("mix").expect("on air").hub;
    eventually("the stream plays the next track", 3 * SECOND, || {
        hub.now_playing()
            .is_some_and(|n| n.track.display() == TITLES[(i + 1) % 3])
    })
    .await;
    // Icecast's shape names the track too.
    let icestats = fetch(&server, "/status-json.xsl").await;
    let icestats: serde_json::Value = serde_json::from_slice(&icestats.body).expect("json");
    let source = &icestats["icestats"]["source"][0];
    assert_eq!(source["server_type"], "audio/mpeg");
    assert!(TITLES.contains(&source["title"].as_str().expect("title")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_of_an_mp3_programme_is_continuous_with_each_tracks_title() {
    // 1 s segments, so that a few seconds cover several segments and track boundaries.
    let server = start(
        &programme_files("mix"),
        "[hls]\nsegment_ms = 1000\nwindow_s = 12\n",
    )
    .await;
    let tracks = frames_in(&server.stations().join("mix"), &TRACKS);
    // The window is full at once: the station's history is on the clock.
    let playlist = fetch(&server, "/mix.m3u8?session=1").await;
    let text = String::from_utf8(playlist.body.clone()).expect("playlist text");
    let uris: Vec<&str> = text.lines().filter(|l| l.ends_with(".mp3")).collect();
    assert!(uris.len() >= 6, "{text}");
    let main = fetch(&server, "/mix/index.m3u8").await;
    assert!(
        String::from_utf8_lossy(&main.body).contains("CODECS=\"mp4a.40.34\""),
        "MP3 in the multivariant playlist"
    );
    let mut audio = Vec::new();
    let mut expected_pts: Option<u64> = None;
    let mut titles = Vec::new();
    for uri in &uris {
        let segment = fetch(&server, &format!("/{uri}")).await;
        assert_eq!(segment.header("content-type"), Some("audio/mpeg"));
        let (pts, frames) = split_hls_segment(&segment.body);
        let tag = &segment.body[..segment.body.len() - frames.len()];
        // TIT2 is the title alone and TPE1 the artist (players show both: "Artist - Title" in
        // TIT2 would show the artist twice); an untagged track is called by its file name.
        let (title, artist) = (id3_text(tag, b"TIT2"), id3_text(tag, b"TPE1"));
        let track = ["One", "Café Noir", "03 Three"]
            .iter()
            .position(|t| title.as_deref() == Some(*t))
            .unwrap_or_else(|| panic!("TIT2 names a track: {title:?}"));
        let expected_artist = (track == 0).then(|| "Test Trio".to_string());
        assert_eq!(artist, expected_artist, "TPE1 of {title:?}");
        titles.push(track);
        // Every frame is 1152 samples at 44.1 kHz: the next segment's timestamp is this one's
        // plus its frames, exactly (to the 90 kHz tick, rounded).
        if let Some(expected) = expected_pts {
            assert!(
                pts.abs_diff(expected) <= 1,
                "pts {pts}, expected {expected}"
            );
        }
        let count = walk_mp3(frames);
        expected_pts = Some(pts + (count as u64 * 1152 * 90_000 + 22_050) / 44_100);
        audio.extend_from_slice(frames);
    }
    tracks_in(&audio, &tracks);
    titles.dedup();
    assert!(titles.len() >= 2, "titles {titles:?}");
    // ffmpeg decodes the HLS programme (6 s segments, the default) across its boundaries
    // without a decoding error. Its HLS demuxer dates MP3 packets from each segment's ID3
    // timestamp a packet or two late (its own read-ahead; the timestamps checked above are
    // exact, and hls.js plays them without a fault, see tests/browser.rs): the null muxer's
    // complaint about that is not a decoding error.
    let server = start(&programme_files("mix"), "").await;
    let url = format!("http://{}/mix.m3u8", server.addr);
    if let Some(errors) = ffmpeg_decode(&url, 8).await {
        let errors: Vec<&str> = errors
            .lines()
            .filter(|l| !l.contains("non monotonically increasing dts"))
            .collect();
        assert!(errors.is_empty(), "ffmpeg: {errors:#?}");
    }
}

/// The length of MPEG-1 Layer III (44.1 kHz) frames from `at`, checking the header.
fn mp3_frame_len(bytes: &[u8], at: usize) -> usize {
    const RATES: [usize; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    assert_eq!(&bytes[at..at + 2], &[0xFF, 0xFB], "a frame at {at}");
    let bitrate = RATES[usize::from(bytes[at + 2] >> 4)];
    let padding = usize::from((bytes[at + 2] >> 1) & 1);
    144 * bitrate * 1000 / 44_100 + padding
}

/// Bytes of the first `n` frames of `bytes`.
fn mp3_frames_len(bytes: &[u8], n: usize) -> usize {
    (0..n).fold(0, |pos, _| pos + mp3_frame_len(bytes, pos))
}

/// Counts the frames of `bytes`, which must be whole frames.
fn walk_mp3(bytes: &[u8]) -> usize {
    let (mut pos, mut count) = (0, 0);
    while pos < bytes.len() {
        pos += mp3_frame_len(bytes, pos);
        count += 1;
    }
    assert_eq!(pos, bytes.len(), "whole frames");
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mp3_of_every_mpeg_version_rate_and_mode_plays() {
    let folder = fixture("mp3");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("mp3 fixtures")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".mp3"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    let files: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| (n.clone(), std::fs::read(folder.join(n)).expect("read")))
        .collect();
    let server = start(&files, "").await;
    for name in &names {
        let mount = name.trim_end_matches(".mp3").to_string();
        let info = server
            .registry
            .get(&mount)
            .unwrap_or_else(|| panic!("{name} is on air"))
            .info();
        assert_eq!(info.damage.garbage_bytes, 0, "{name}");
        // ffprobe reads the same frames: the Info/Xing frame is not audio for it either.
        let path = folder.join(name).display().to_string();
        if let Some((packets, errors)) = ffprobe_packets(&path, 60).await {
            assert!(errors.trim().is_empty(), "{name}: {errors}");
            assert_eq!(info.frames, packets.len() as u64, "{name}: frames");
        }
        // The burst (4 s: the 2 s file looped) decodes without an error.
        let mut response = server.get(&format!("/{mount}")).await;
        assert_eq!(
            response.header("content-type"),
            Some("audio/mpeg"),
            "{name}"
        );
        response.read_for(Duration::from_millis(300)).await;
        let capture = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(capture.path(), &response.body).expect("write");
        if let Some(errors) = ffmpeg_decode(&capture.path().display().to_string(), 30).await {
            assert!(errors.trim().is_empty(), "{name}: {errors}");
        }
        if name.contains("tagged") {
            let status = status(&server).await;
            let artist = &station(&status, &mount)["now_playing"]["artist"];
            assert_eq!(artist, "The Fixtures", "{name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_track_of_another_format_is_left_out_and_check_lists_it() {
    let mut files = programme_files("mix");
    files.push((
        "mix/04 Mono.mp3".to_string(),
        programme_fixture("mono-22050.mp3"),
    ));
    let server = start(&files, "").await;
    let first = status(&server).await;
    assert_eq!(
        station(&first, "mix")["tracks"],
        3,
        "the mono track is left out"
    );
    let mut out = Vec::new();
    let source = ConfigSource {
        path: Some(server.config_path()),
        ..ConfigSource::default()
    };
    let summary = onair_server::check(&source, &mut out)
        .expect("config")
        .expect("write");
    let table = String::from_utf8(out).expect("text");
    let row = table
        .lines()
        .find(|l| l.contains("04 Mono.mp3"))
        .expect("the track is listed");
    assert!(
        row.contains("left out: MP3 22050 Hz mono, the station plays MP3 44100 Hz stereo"),
        "{row}"
    );
    assert_eq!((summary.ok, summary.warnings), (3, 1), "{table}");
    // The config may name the format instead: then only the mono track fits.
    let named = start(
        &files,
        "[stations.mix]\nsample_rate = 22050\nchannels = 1\n",
    )
    .await;
    let named = status(&named).await;
    let mix = station(&named, "mix");
    assert_eq!(
        (mix["tracks"].as_u64(), mix["format"].as_str()),
        (Some(1), Some("MP3 22050 Hz mono"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_changes_land_on_track_boundaries_without_dropping_a_listener() {
    let server = start(&programme_files("mix"), "[pacing]\nburst_ms = 1000\n").await;
    let folder = server.stations().join("mix");
    let mut listener = server.get("/mix").await;
    listener.read_for(SECOND).await;
    // A track added (written elsewhere, renamed in), one removed, one renamed.
    let added = server.stations().join(".incoming.mp3");
    std::fs::write(&added, programme_fixture("04 Four.mp3")).expect("write");
    std::fs::rename(&added, folder.join("00 Added.mp3")).expect("rename in");
    std::fs::remove_file(folder.join("02 Two.mp3")).expect("remove");
    // The change is scheduled (the station's newest programme has the added track), then the
    // next change comes.
    let mix = server.registry.get("mix").expect("on air");
    eventually("the first change scheduled", 5 * SECOND, || {
        let tracks = mix.programme().tracks().to_vec();
        tracks.iter().any(|t| t.path.ends_with("00 Added.mp3"))
            && !tracks.iter().any(|t| t.path.ends_with("02 Two.mp3"))
    })
    .await;
    std::fs::rename(folder.join("03 Three.mp3"), folder.join("04 Three.mp3")).expect("rename");
    listener.read_for(12 * SECOND).await;
    assert!(!listener.eof, "the listener stays");
    let mut candidates = frames_in(&folder, &["00 Added.mp3", "01 One.mp3", "04 Three.mp3"]);
    candidates.push(frames_of(&fixture("programme").join("02 Two.mp3")));
    let played = tracks_in(&listener.body, &candidates);
    let order: Vec<usize> = played.iter().map(|(t, _)| *t).collect();
    // The new programme plays in name order: 00, 01, 04 (index 2), and never 02 again after it
    // went.
    let start = order
        .iter()
        .position(|&t| t == 0)
        .unwrap_or_else(|| panic!("the added track plays: {order:?}"));
    for pair in order[start..].windows(2) {
        assert_eq!(pair[1], (pair[0] + 1) % 3, "new name order: {order:?}");
    }
    let status = status(&server).await;
    assert_eq!(station(&status, "mix")["tracks"], 3);
    // Emptied: off air, the listener's stream ends.
    for name in ["00 Added.mp3", "01 One.mp3", "04 Three.mp3"] {
        std::fs::remove_file(folder.join(name)).expect("remove");
    }
    eventually("off air", 5 * SECOND, || {
        server.registry.get("mix").is_none()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_programme_of_500_tracks_starts_fast_and_plays_gapless() {
    // 500 tracks of 0.5 s each: copies of the three fixtures cut to their first 19 frames.
    let mut files = Vec::new();
    let mut tracks = Vec::new();
    for i in 0..500 {
        let frames = frames_of(&fixture("programme").join(TRACKS[i % 3]));
        let short = frames[..mp3_frames_len(&frames, 19)].to_vec();
        files.push((format!("big/{i:03}.mp3"), short.clone()));
        tracks.push(short);
    }
    let started = std::time::Instant::now();
    let server = start(&files, "[pacing]\nburst_ms = 2000\n").await;
    eprintln!("500 tracks probed and on air in {:?}", started.elapsed());
    let status = status(&server).await;
    assert_eq!(station(&status, "big")["tracks"], 500);
    let mut listener = server.get("/big").await;
    listener.read_for(3 * SECOND).await;
    let played = tracks_in(&listener.body, &tracks);
    assert!(played.len() >= 8, "{} tracks", played.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffle_is_the_same_on_two_servers() {
    let files = programme_files("mix");
    let config = "[stations.mix]\norder = \"shuffle\"\n";
    let (one, two) = (start(&files, config).await, start(&files, config).await);
    // Asked of both between two looks at the first that agree (no track boundary in between).
    for _ in 0..10 {
        let (a, b, again) = (status(&one).await, status(&two).await, status(&one).await);
        let (a, b, again) = (
            station(&a, "mix"),
            station(&b, "mix"),
            station(&again, "mix"),
        );
        if a["now_playing"] != again["now_playing"] {
            continue;
        }
        assert_eq!(a["order"], "shuffle");
        assert_eq!(a["now_playing"], b["now_playing"]);
        assert_eq!(a["next"], b["next"]);
        return;
    }
    panic!("a track boundary fell inside every look");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_kept_elsewhere_is_a_station_by_config() {
    let elsewhere = tempfile::tempdir().expect("temp dir");
    for track in TRACKS {
        std::fs::write(elsewhere.path().join(track), programme_fixture(track)).expect("write");
    }
    let config = format!(
        "[stations.library]\nfolder = {:?}\norder = \"shuffle\"\ntitle = \"The Library\"\n",
        elsewhere.path().display().to_string()
    );
    let server = start(&[], &config).await;
    let status = status(&server).await;
    let library = station(&status, "library");
    assert_eq!(
        (library["tracks"].as_u64(), library["order"].as_str()),
        (Some(3), Some("shuffle"))
    );
    assert_eq!(library["title"], "The Library");
    let mut listener = server.get("/library").await;
    assert_eq!(listener.header("icy-name"), Some("The Library"));
    listener.read_for(Duration::from_millis(300)).await;
    let tracks = frames_in(elsewhere.path(), &TRACKS);
    tracks_in(&listener.body, &tracks);
    // A track added there joins the programme (found by the periodic look).
    std::fs::write(
        elsewhere.path().join("04 Four.mp3"),
        programme_fixture("04 Four.mp3"),
    )
    .expect("write");
    eventually("four tracks", 8 * SECOND, || {
        server
            .registry
            .get("library")
            .is_some_and(|s| s.programme().tracks().len() == 4)
    })
    .await;
}

/// The text of ID3v2.4 text frame `id` in `tag` (UTF-8), if there is one.
fn id3_text(tag: &[u8], id: &[u8; 4]) -> Option<String> {
    let at = tag.windows(4).position(|w| w == id)?;
    let size = tag[at + 4..at + 8]
        .iter()
        .fold(0usize, |a, &b| (a << 7) | usize::from(b));
    let data = &tag[at + 10..at + 10 + size];
    assert_eq!(data[0], 3, "UTF-8");
    Some(String::from_utf8(data[1..].to_vec()).expect("UTF-8 text"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracks_truncated_while_they_play_keep_the_playlist_up() {
    let server = start(
        &programme_files("mix"),
        "[hls]\nsegment_ms = 1000\nwindow_s = 12\n",
    )
    .await;
    assert_eq!(fetch(&server, "/mix.m3u8?session=1").await.status(), 200);
    // Every track cut to a quarter in place, while the station plays them: most of the audio
    // the clock had laid out is gone from under it.
    let folder = server.stations().join("mix");
    for track in TRACKS {
        let path = folder.join(track);
        let len = std::fs::metadata(&path).expect("track").len();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open");
        file.set_len(len / 4).expect("truncate");
    }
    // A player polling for 4 s: the playlist always answers, and so does its newest segment.
    let started = tokio::time::Instant::now();
    while started.elapsed() < 4 * SECOND {
        let playlist = fetch(&server, "/mix.m3u8?session=1").await;
        let text = String::from_utf8_lossy(&playlist.body).to_string();
        assert_eq!(playlist.status(), 200, "{text}");
        let newest = text
            .lines()
            .rfind(|l| l.ends_with(".mp3"))
            .unwrap_or_else(|| panic!("segments listed: {text}"));
        assert_eq!(
            fetch(&server, &format!("/{newest}")).await.status(),
            200,
            "{newest}"
        );
        tokio::time::sleep(SECOND / 4).await;
    }
    assert!(server.registry.get("mix").is_some(), "still on air");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_programme_re_encoded_to_another_format_changes_at_a_track_boundary() {
    let server = start(
        &programme_files("mix"),
        "[pacing]\nburst_ms = 1000\n[hls]\nsegment_ms = 1000\nwindow_s = 12\n",
    )
    .await;
    let folder = server.stations().join("mix");
    let stereo = frames_in(&folder, &TRACKS);
    let mut listener = server.get("/mix").await;
    listener.read_for(SECOND).await;
    // The album re-encoded to 22.05 kHz mono: every track replaced, each renamed in.
    let mono = programme_fixture("mono-22050.mp3");
    for track in TRACKS {
        let temp = server.stations().join(".incoming.mp3");
        std::fs::write(&temp, &mono).expect("write");
        std::fs::rename(&temp, folder.join(track)).expect("rename in");
    }
    listener.read_for(8 * SECOND).await;
    assert!(!listener.eof, "the listener stays");
    // Whole stereo frames, then whole mono ones: one change, where a track ended.
    let body = &listener.body;
    let (mut pos, mut formats) = (0, Vec::new());
    while pos < body.len() {
        let header = onair_core::MpegHeader::parse(&body[pos..]).expect("a frame");
        let format = (header.sample_rate, header.channels());
        if formats.last().is_none_or(|(f, _)| *f != format) {
            formats.push((format, pos));
        }
        pos += usize::from(header.frame_length);
    }
    let changes: Vec<_> = formats.iter().map(|(f, _)| *f).collect();
    assert_eq!(changes, [(44_100, 2), (22_050, 1)], "one change of format");
    let switch = formats[1].1;
    // The stereo part is whole tracks after the first (no track cut at the switch).
    let played = tracks_in(&body[..switch], &stereo);
    let (last, at) = *played.last().expect("tracks");
    assert_eq!(at + stereo[last].len(), switch, "the switch ends a track");
    // HLS marks the discontinuity.
    let started = tokio::time::Instant::now();
    loop {
        let playlist = fetch(&server, "/mix.m3u8?session=1").await;
        let text = String::from_utf8_lossy(&playlist.body).to_string();
        if text.contains("#EXT-X-DISCONTINUITY\n") {
            break;
        }
        assert!(started.elapsed() < 10 * SECOND, "no discontinuity:\n{text}");
        tokio::time::sleep(SECOND / 2).await;
    }
}
