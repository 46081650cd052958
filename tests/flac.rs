//! FLAC stations: `.flac` files and folders of them play as one Ogg FLAC stream per station
//! (as Icecast serves FLAC), every listener getting the station's header pages first. FLAC is
//! lossless, so what a listener decodes must be the very samples of the files, in order: every
//! sample is checked against the programme's own, so a frame lost, repeated or cut anywhere
//! (track changes, the loop point, a live source taking over and giving back), or a click at a
//! join, fails the test; ffmpeg decodes what a listener got with no warning.

use std::time::Duration;

use onair_tests::ogg::{ffmpeg_samples, ffmpeg_warnings, ogg};
use onair_tests::{fixture, strip_icy, HttpResponse, TestServer};
use tokio::io::AsyncWriteExt;

const SECOND: Duration = Duration::from_secs(1);

/// The three tracks of the FLAC test programme (`tests/fixtures/flac/make.sh`).
const TRACKS: [&str; 3] = ["01 One.flac", "02 Two.flac", "03 Three.flac"];

fn flac_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture("flac").join(name)).expect("flac fixture")
}

/// The samples of `tracks` one after another (interleaved stereo), as ffmpeg decodes the files.
async fn programme_samples(tracks: &[&str]) -> Option<Vec<i16>> {
    let mut all = Vec::new();
    for track in tracks {
        all.extend(ffmpeg_samples(&flac_fixture(track)).await?);
    }
    Some(all)
}

/// Checks that `heard` (interleaved stereo) is `programme` played in a loop from some point:
/// every sample the one after the sample before, across the loop point. Returns the sample
/// frame it starts at.
fn follow(heard: &[i16], programme: &[i16]) -> usize {
    let probe = 4096.min(heard.len());
    let len = programme.len();
    let start = (0..len / 2)
        .map(|f| f * 2)
        .find(|&s| (0..probe).all(|k| heard[k] == programme[(s + k) % len]))
        .expect("the stream starts inside the programme");
    if let Some(k) = (0..heard.len()).find(|&k| heard[k] != programme[(start + k) % len]) {
        panic!(
            "sample {k} ({:.3} s in) is not the programme's: a frame lost, repeated or cut",
            k as f64 / 88_200.0
        );
    }
    start / 2
}

/// Where `part` (interleaved) starts inside `heard`, whole.
fn find(heard: &[i16], part: &[i16]) -> Option<usize> {
    heard.windows(part.len()).position(|w| w == part)
}

/// The listener's stream is one Ogg FLAC logical stream: the mapping's header packet first,
/// the comments, then frames on pages whose sequence numbers and granule positions count on.
fn check_ogg_flac(body: &[u8]) {
    let stream = ogg(body, false);
    assert!(
        stream.packets[0].starts_with(b"\x7fFLAC\x01\x00"),
        "FLAC in Ogg first"
    );
    assert!(stream.packets[0][9..].starts_with(b"fLaC"));
    assert_eq!(stream.packets[1][0] & 0x7F, 4, "then the comments block");
    let serial = stream.pages[0].serial;
    assert!(
        stream.pages.iter().all(|p| p.serial == serial),
        "one logical stream"
    );
    let granules: Vec<u64> = stream
        .pages
        .iter()
        .map(|p| p.granule)
        .filter(|&g| g != u64::MAX)
        .collect();
    assert!(
        granules.windows(2).all(|w| w[0] <= w[1]),
        "granules count on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_programme_of_flac_tracks_plays_every_sample_across_track_changes_with_titles() {
    let files: Vec<(String, Vec<u8>)> = TRACKS
        .iter()
        .map(|t| (format!("lossless/{t}"), flac_fixture(t)))
        .collect();
    let server = TestServer::start_owned(&files, "[pacing]\nburst_ms = 1000\n").await;
    let status = server.status_json().await;
    let station = onair_tests::station_in(&status, "lossless");
    assert_eq!(station["format"], "FLAC 16-bit 44100 Hz stereo");
    assert_eq!(station["content_type"], "audio/ogg");
    // Six seconds a round: fifteen seconds cross at least four track changes and the loop
    // point. A second listener joins 1.3 s later, wherever the broadcast is then.
    let first = tokio::spawn({
        let addr = server.addr;
        async move {
            let mut r =
                HttpResponse::send(addr, "GET /lossless HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n").await;
            r.read_for(15 * SECOND).await;
            r
        }
    });
    tokio::time::sleep(1300 * Duration::from_millis(1)).await;
    let mut second = server.get("/lossless.flac").await;
    second.read_for(4 * SECOND).await;
    let first = first.await.expect("first listener");
    assert_eq!(first.header("content-type"), Some("audio/ogg"));
    let (audio, titles) = strip_icy(&first.body);
    let titles: Vec<String> = titles.into_iter().filter_map(|(_, t)| t).collect();
    for title in ["Test Trio - One", "Café Noir", "03 Three"] {
        assert!(
            titles.iter().any(|t| t.contains(title)),
            "ICY says {title}: {titles:?}"
        );
    }
    for body in [&audio[..], &second.body[..]] {
        check_ogg_flac(body);
        if let Some(warnings) = ffmpeg_warnings(body).await {
            assert_eq!(warnings, "", "ffmpeg decodes the stream cleanly");
        }
    }
    let Some(programme) = programme_samples(&TRACKS).await else {
        return;
    };
    let heard = ffmpeg_samples(&audio).await.expect("decoded");
    assert!(heard.len() > 2 * 44_100 * 12, "{} samples", heard.len());
    follow(&heard, &programme);
    let heard = ffmpeg_samples(&second.body).await.expect("decoded");
    follow(&heard, &programme);
    // HLS in fragmented MP4 (`tests/hls_fmp4.rs` checks it further).
    let mut hls = server.get("/lossless.m3u8?session=1").await;
    hls.read_full(5 * SECOND).await;
    assert_eq!(hls.status(), 200);
    assert!(String::from_utf8_lossy(&hls.body).contains("lossless/init.mp4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_flac_source_takes_over_a_flac_station_and_gives_it_back() {
    let three = flac_fixture("03 Three.flac");
    let config =
        "[pacing]\nburst_ms = 1000\n[live]\npassword = \"pw\"\nbuffer_ms = 300\nsource_timeout_s = 1\n";
    let server = TestServer::start(&[("talk.flac", &three)], config).await;
    let listener = tokio::spawn({
        let addr = server.addr;
        async move {
            let mut r = HttpResponse::send(addr, "GET /talk HTTP/1.0\r\n\r\n").await;
            r.read_for(7 * SECOND).await;
            r
        }
    });
    tokio::time::sleep(SECOND).await;
    // A source sends 01 One.flac as ffmpeg's `-f flac` does (`fLaC`, its metadata blocks, cover
    // art among them, then frames), as fast as the socket takes it: the jitter buffer paces it.
    let mut source = onair_tests::live_source(&server, "talk", "audio/flac").await;
    source
        .write_all(&flac_fixture("01 One.flac"))
        .await
        .expect("audio");
    onair_tests::eventually("live", 5 * SECOND, || {
        server.registry.get("talk").is_some_and(|s| s.live.on_air())
    })
    .await;
    drop(source);
    let listener = listener.await.expect("listener");
    check_ogg_flac(&listener.body);
    if let Some(warnings) = ffmpeg_warnings(&listener.body).await {
        assert_eq!(warnings, "", "ffmpeg decodes through takeover and fallback");
    }
    let (Some(programme), Some(live)) = (
        programme_samples(&["03 Three.flac"]).await,
        programme_samples(&["01 One.flac"]).await,
    ) else {
        return;
    };
    // The listener heard the programme, every sample of the live track, and the programme
    // again, each sample by sample.
    let heard = ffmpeg_samples(&listener.body).await.expect("decoded");
    let start = find(&heard, &live).expect("the live track, whole");
    let end = start + live.len();
    follow(&heard[..start], &programme);
    assert!(heard.len() > end + 2 * 44_100, "the programme came back");
    follow(&heard[end..], &programme);
}

/// `file` (a FLAC file) with its `STREAMINFO`'s packed rate, channels, size and length field
/// changed by `edit`.
fn with_streaminfo(mut file: Vec<u8>, edit: impl Fn(u64) -> u64) -> Vec<u8> {
    let packed = u64::from_be_bytes(file[18..26].try_into().expect("8 bytes"));
    file[18..26].copy_from_slice(&edit(packed).to_be_bytes());
    file
}

#[test]
fn flac_files_that_cannot_play_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let three = flac_fixture("03 Three.flac");
    let thirty_two = with_streaminfo(three.clone(), |p| p | (31 << 36));
    let odd_rate = with_streaminfo(three.clone(), |p| (p & ((1 << 44) - 1)) | (37_800 << 44));
    let mut no_streaminfo = three.clone();
    no_streaminfo[4] = 0x04;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "opus.flac",
            onair_tests::ogg::opus_fixture("01 One.opus"),
            "Ogg Opus, not FLAC",
        ),
        ("s32.flac", thirty_two, "32-bit samples"),
        ("odd.flac", odd_rate, "37800 Hz"),
        ("first.flac", no_streaminfo, "not a STREAMINFO"),
    ];
    for (name, bytes, says) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).expect("write");
        let text = onair_core::probe(&path).expect_err(name).to_string();
        assert!(text.contains(says), "{name}: {text}");
        assert!(
            text.contains("ffmpeg") || name == "first.flac",
            "{name} says what to do: {text}"
        );
    }
    // What plays: the tags from the comments, cover art passed over, a hi-res file, FLAC in
    // Ogg, an ID3v2 tag before `fLaC` (some taggers write one).
    let one = onair_core::probe(&fixture("flac").join("01 One.flac")).expect("one");
    assert_eq!(one.meta.display(), "Test Trio - One");
    assert_eq!((one.frames, one.damage.garbage_bytes), (20, 0));
    let hires = onair_core::probe(&fixture("flac").join("hires.flac")).expect("hires");
    assert_eq!(
        hires.first.format().to_string(),
        "FLAC 24-bit 96000 Hz stereo"
    );
    let mut tagged = b"ID3\x04\x00\x00\x00\x00\x00\x05hello".to_vec();
    tagged.extend_from_slice(&three);
    let path = dir.path().join("tagged.flac");
    std::fs::write(&path, &tagged).expect("write");
    let tagged = onair_core::probe(&path).expect("tagged");
    assert_eq!(tagged.damage.garbage_bytes, 0);
    assert_eq!(tagged.duration, Duration::from_millis(2500));
}

/// Files from other people's encoders and taggers (`tests/fixtures/real-world/NOTICE.md`): what
/// plays is a station ffmpeg decodes without a warning, and what is broken is refused or
/// trimmed with a reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_world_files_play_or_are_refused_with_a_reason() {
    let real = |name: &str| fixture("real-world").join(name);
    let silence = onair_core::probe(&real("silence-44-s.flac")).expect("libFLAC 1.1.0");
    assert_eq!(
        silence.first.format().to_string(),
        "FLAC 16-bit 44100 Hz stereo"
    );
    assert_eq!(
        (silence.samples, silence.damage.garbage_bytes),
        (162_496, 0)
    );
    assert_eq!(silence.meta.tags.artist.as_deref(), Some("piman"));
    let variable = onair_core::probe(&real("variable-block.flac")).expect("variable blocks");
    assert!(variable.frames >= 9, "{} frames", variable.frames);
    assert!(
        variable.damage.truncated_at.is_some(),
        "its cut-off last frame"
    );
    let opus = onair_core::probe(&real("example.opus")).expect("libopus 0.9");
    assert_eq!(opus.first.format().to_string(), "Opus 48000 Hz mono");
    let error = onair_core::probe(&real("ooming-header.flac")).expect_err("86 bytes");
    assert!(error.to_string().contains("no FLAC frame"), "{error}");
    let files = [
        (
            "silence.flac",
            std::fs::read(real("silence-44-s.flac")).expect("file"),
        ),
        (
            "example.opus",
            std::fs::read(real("example.opus")).expect("file"),
        ),
    ];
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, &b[..])).collect();
    let server = TestServer::start(&files, "[pacing]\nburst_ms = 1000\n").await;
    for station in ["/silence", "/example"] {
        let mut listener = server.get(station).await;
        listener.read_for(3 * SECOND).await;
        assert_eq!(listener.header("content-type"), Some("audio/ogg"));
        if let Some(warnings) = ffmpeg_warnings(&listener.body).await {
            assert_eq!(warnings, "", "{station}: ffmpeg decodes it cleanly");
        }
    }
}
