//! Ogg Opus stations: `.opus` files and folders of them play as one Ogg stream per station, every
//! listener getting the station's header pages first; every packet sent is checked against the
//! files' own packets, so a packet lost, repeated or cut anywhere (track changes, the loop point,
//! a live source taking over and giving back) fails the test; ffmpeg decodes what a listener
//! got with no warning.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use onair_tests::ogg::{audio_packets, check_stream, ffmpeg_warnings, opus_fixture};
use onair_tests::{fixture, strip_icy, HttpResponse, TestServer};
use tokio::io::AsyncWriteExt;

const SECOND: Duration = Duration::from_secs(1);

/// The three tracks of the Opus test programme (`tests/fixtures/opus/make.sh`).
const TRACKS: [&str; 3] = ["01 One.opus", "02 Two.opus", "03 Three.opus"];

/// Where `packets` (a listener's, in order) are in the programme `tracks` played in a loop:
/// each packet must be the one after the packet before it, a track's last followed by the next
/// track's first. Returns the track of each packet.
fn follow(packets: &[Bytes], tracks: &[Vec<Bytes>]) -> Vec<usize> {
    let start = tracks
        .iter()
        .enumerate()
        .flat_map(|(t, p)| (0..p.len()).map(move |i| (t, i)))
        .find(|&(t, i)| {
            let n = (tracks[t].len() - i).min(packets.len()).min(5);
            packets[..n] == tracks[t][i..i + n]
        })
        .expect("the stream starts inside one of the tracks");
    let (mut t, mut i) = start;
    let mut played = Vec::with_capacity(packets.len());
    for (k, packet) in packets.iter().enumerate() {
        assert!(
            *packet == tracks[t][i],
            "packet {k} is not packet {i} of track {t}: a packet lost, repeated or cut"
        );
        played.push(t);
        i += 1;
        if i == tracks[t].len() {
            (t, i) = ((t + 1) % tracks.len(), 0);
        }
    }
    played
}

async fn listen(server: &TestServer, path: &str, seconds: u32) -> HttpResponse {
    let mut listener = server.get(path).await;
    listener.read_for(seconds * SECOND).await;
    listener
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opus_file_is_a_station_every_listener_decodes_from_wherever_it_joins() {
    let one = opus_fixture("01 One.opus");
    let server = TestServer::start(&[("one.opus", &one)], "[pacing]\nburst_ms = 1000\n").await;
    let status = server.status_json().await;
    let station = onair_tests::station_in(&status, "one");
    assert_eq!(station["format"], "Opus 48000 Hz stereo");
    assert_eq!(station["content_type"], "audio/ogg");
    assert_eq!(station["now_playing"]["title"], "Test Trio - One");
    let tracks = [audio_packets("01 One.opus")];
    // Two listeners, joined 1.3 s apart: each gets the header pages, then packets of the file
    // in order across its loop point (2 s), and ffmpeg decodes each without a warning.
    let first = tokio::spawn({
        let url = server.addr;
        async move {
            let mut r = HttpResponse::send(url, "GET /one HTTP/1.0\r\n\r\n").await;
            r.read_for(5 * SECOND).await;
            r
        }
    });
    tokio::time::sleep(1300 * Duration::from_millis(1)).await;
    let second = listen(&server, "/one", 4).await;
    let first = first.await.expect("first listener");
    for listener in [first, second] {
        assert_eq!(listener.status(), 200);
        assert_eq!(listener.header("content-type"), Some("audio/ogg"));
        // By default one logical stream, across the loop point too.
        let (packets, links) = onair_tests::ogg::check_chain(&listener.body);
        assert_eq!(links, 1, "one logical stream");
        let played = follow(&packets, &tracks);
        assert!(played.len() > 150, "{} packets", played.len());
        if let Some(warnings) = ffmpeg_warnings(&listener.body).await {
            assert_eq!(warnings, "", "ffmpeg decodes the stream cleanly");
        }
    }
    // HLS in fragmented MP4 (`tests/hls_fmp4.rs` checks it further).
    let mut hls = server.get("/one.m3u8?session=1").await;
    hls.read_full(5 * SECOND).await;
    assert_eq!(hls.status(), 200);
    assert!(String::from_utf8_lossy(&hls.body).contains("#EXT-X-MAP:URI=\"one/init.mp4\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_programme_of_opus_tracks_plays_every_packet_across_track_changes_with_titles() {
    let files: Vec<(String, Vec<u8>)> = TRACKS
        .iter()
        .map(|t| (format!("mix/{t}"), opus_fixture(t)))
        .collect();
    // Chained: a link per track, so that players trim each encode's priming and padding.
    let config = "[pacing]\nburst_ms = 1000\n[stations.mix]\nogg_chain = true\n";
    let server = TestServer::start_owned(&files, config).await;
    let tracks: Vec<Vec<Bytes>> = TRACKS.iter().map(|t| audio_packets(t)).collect();
    // Six seconds a round: sixteen seconds (cut to whole ICY intervals) cross at least four
    // track changes and the loop point.
    let mut listener =
        HttpResponse::send(server.addr, "GET /mix HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n").await;
    listener.read_for(16 * SECOND).await;
    let (audio, titles) = strip_icy(&listener.body);
    let (packets, links) = onair_tests::ogg::check_chain(&audio);
    let played = follow(&packets, &tracks);
    let changes = played.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(changes >= 4, "{changes} track changes");
    // A link per track: each from its top, its padding left out by its last granule (one
    // more where the capture ends just after a link's header pages, or the broadcast jumped).
    assert!(links > changes, "{links} links for {changes} track changes");
    // Decoded, the joins are seamless: no 5 ms of the stream is quiet (each encode's priming
    // and padding trimmed by the player), but for the decoder's first 80 ms: a listener joins
    // mid-track, with no pre-roll, and RFC 7845 section 4.6 gives a decoder 80 ms to converge
    // (seen once in CI: quiet at 25 ms).
    if let Some(pcm) = onair_tests::ogg::ffmpeg_pcm(&audio).await {
        let quiet: Vec<f64> = onair_tests::ogg::quiet_windows(&pcm)
            .into_iter()
            .filter(|&at| at > 0.08)
            .collect();
        assert!(quiet.is_empty(), "quiet at {quiet:?} s");
        // Every link decoded: the audio of every packet received, less what was trimmed.
        let received: u64 = packets
            .iter()
            .map(|p| u64::from(onair_core::opus_samples(p).unwrap_or(0)))
            .sum();
        let decoded = pcm.len() as u64;
        assert!(
            decoded <= received && decoded + (links as u64) * 960 >= received,
            "{decoded} samples decoded of {received} received in {links} links"
        );
    }
    // ICY titles change (a block every 16,000 bytes: 2.7 s of this 48 kbit/s stream, so the
    // 1.5 s track can fall between two), and every link's OpusTags names its track.
    let titles: Vec<String> = titles.into_iter().filter_map(|(_, t)| t).collect();
    let distinct: std::collections::HashSet<&String> = titles.iter().collect();
    assert!(distinct.len() >= 2, "ICY titles change: {titles:?}");
    let tags: Vec<String> = onair_tests::ogg::ogg(&audio, false)
        .packets
        .iter()
        .filter(|p| p.starts_with(b"OpusTags"))
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    for title in ["TITLE=One", "ARTIST=Test Trio", "TITLE=Café Noir"] {
        assert!(
            tags.iter().any(|t| t.contains(title)),
            "a link says {title}: {tags:?}"
        );
    }
    if let Some(warnings) = ffmpeg_warnings(&audio).await {
        // When the capture starts in the last packets of a link, ffmpeg meets the next link
        // while it still probes the first and keeps one stream for both: its null muxer (not
        // the decoder) then says the timestamps went back, once per packet of the first link's
        // time (seen about once in eight runs; every packet is decoded, checked above).
        let warnings: Vec<&str> = warnings
            .lines()
            .filter(|l| !l.contains("non monotonically increasing dts to muxer"))
            .collect();
        assert!(
            warnings.is_empty(),
            "ffmpeg decodes across the track changes: {warnings:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_opus_source_takes_over_an_opus_station_and_gives_it_back() {
    let three = opus_fixture("03 Three.opus");
    let config = "[pacing]\nburst_ms = 1000\n[live]\npassword = \"pw\"\nbuffer_ms = 300\nsource_timeout_s = 1\n[stations.talk]\nogg_chain = true\n";
    let server = TestServer::start(&[("talk.opus", &three)], config).await;
    let listener = tokio::spawn({
        let addr = server.addr;
        async move {
            let mut r = HttpResponse::send(addr, "GET /talk HTTP/1.0\r\n\r\n").await;
            r.read_for(7 * SECOND).await;
            r
        }
    });
    tokio::time::sleep(SECOND).await;
    // A source sends 01 One.opus (its own header pages, then its audio), as fast as the socket
    // takes it: the jitter buffer paces it.
    let mut source = onair_tests::live_source(&server, "talk", "audio/ogg").await;
    source
        .write_all(&opus_fixture("01 One.opus"))
        .await
        .expect("audio");
    onair_tests::eventually("live", 5 * SECOND, || {
        server.registry.get("talk").is_some_and(|s| s.live.on_air())
    })
    .await;
    drop(source);
    let listener = listener.await.expect("listener");
    // The listener heard the programme, the whole live track, and the programme again: every
    // packet of each in order, one logical stream throughout, decoded without a warning.
    let packets = check_stream(&listener.body);
    let (programme, live) = (audio_packets("03 Three.opus"), audio_packets("01 One.opus"));
    let start = packets
        .iter()
        .position(|p| *p == live[0])
        .expect("the live track's first packet");
    let end = start + live.len();
    assert_eq!(&packets[start..end], &live[..], "the live track, whole");
    // Its link starts with the source's own OpusHead: players trim its encoder's priming.
    let all = onair_tests::ogg::ogg(&listener.body, false).packets;
    let first_live = all
        .iter()
        .position(|p| *p == live[0])
        .expect("in the stream");
    let head = all[..first_live]
        .iter()
        .rev()
        .find(|p| p.starts_with(b"OpusHead"))
        .expect("the live link's OpusHead");
    assert_eq!(
        u16::from_le_bytes([head[10], head[11]]),
        312,
        "the source's pre-skip"
    );
    follow(&packets[..start], std::slice::from_ref(&programme));
    follow(&packets[end..], std::slice::from_ref(&programme));
    assert!(packets.len() > end + 20, "the programme came back");
    if let Some(warnings) = ffmpeg_warnings(&listener.body).await {
        assert_eq!(warnings, "", "ffmpeg decodes through takeover and fallback");
    }
}

#[test]
fn opus_files_that_cannot_play_are_refused_with_what_to_do() {
    for (file, says) in [
        ("vorbis.opus", "Ogg Vorbis, not Opus"),
        ("two-streams.opus", "more than one logical stream"),
    ] {
        let error = onair_core::probe(&fixture("opus").join(file)).expect_err(file);
        let text = error.to_string();
        assert!(
            text.contains(says) && text.contains("ffmpeg"),
            "{file}: {text}"
        );
    }
    let mono = onair_core::probe(&fixture("opus").join("mono.opus")).expect("mono");
    assert_eq!(mono.first.format().to_string(), "Opus 48000 Hz mono");
    let one = onair_core::probe(Path::new(&fixture("opus").join("01 One.opus"))).expect("one");
    assert_eq!(one.meta.display(), "Test Trio - One");
    assert_eq!(one.headers.len(), 2);
}

/// An Ogg source of another codec on an Opus station (Vorbis, as some encoders send by
/// default) is dropped at once, and the log says what it sent and what to do.
#[tokio::test]
async fn a_vorbis_source_on_an_opus_station_is_dropped_with_the_reason() {
    let log = onair_tests::Log::default();
    let _logging = log.capture();
    let three = opus_fixture("03 Three.opus");
    let config = "[live]\npassword = \"pw\"\nbuffer_ms = 300\n";
    let server = TestServer::start(&[("talk.opus", &three)], config).await;
    let mut source = onair_tests::live_source(&server, "talk", "audio/ogg").await;
    let _ = source.write_all(&opus_fixture("vorbis.opus")).await;
    onair_tests::eventually("the source dropped with the reason", 5 * SECOND, || {
        log.count(&["live source dropped", "Ogg Vorbis, not Opus", "libopus"]) == 1
    })
    .await;
    assert!(!server.registry.get("talk").expect("on air").live.on_air());
}
