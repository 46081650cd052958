//! Ogg Vorbis stations: `.ogg` files and folders of them play as a chain of Ogg links, one per
//! encode (every Vorbis encode has its own setup header), every listener getting the link's
//! header pages first; every packet sent is checked against the files' own packets, so a packet
//! lost, repeated or cut anywhere fails the test; ffmpeg decodes what a listener got.

use std::time::Duration;

use bytes::Bytes;
use onair_tests::ogg::{ffmpeg_pcm, ffmpeg_warnings, ogg, opus_fixture, quiet_windows};
use onair_tests::{fixture, strip_icy, HttpResponse, TestServer};
use tokio::io::AsyncWriteExt;

const SECOND: Duration = Duration::from_secs(1);

/// The three tracks of the Vorbis test programme (`tests/fixtures/vorbis/make.sh`).
const TRACKS: [&str; 3] = ["01 One.ogg", "02 Two.ogg", "03 Three.ogg"];

fn vorbis_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture("vorbis").join(name)).expect("vorbis fixture")
}

fn is_header(packet: &[u8]) -> bool {
    [&b"\x01vorbis"[..], b"\x03vorbis", b"\x05vorbis"]
        .iter()
        .any(|magic| packet.starts_with(magic))
}

/// The audio packets of a track file.
fn audio_packets(name: &str) -> Vec<Bytes> {
    ogg(&vorbis_fixture(name), true)
        .packets
        .into_iter()
        .filter(|p| !is_header(p))
        .collect()
}

/// What ffmpeg says of `bytes`, less its null muxer's note at each link of a chain (it says the
/// same of Vorbis files joined with `cat`: it dates a link from the one before without the
/// end trimming of its last page).
async fn decoder_warnings(bytes: &[u8]) -> Option<Vec<String>> {
    let warnings = ffmpeg_warnings(bytes).await?;
    Some(
        warnings
            .lines()
            .filter(|l| !l.contains("non monotonically increasing dts to muxer"))
            .map(str::to_string)
            .collect(),
    )
}

/// Where `packets` (a listener's, in order) are in `tracks` played in a loop: each packet the
/// one after the packet before it, a track's last followed by the next track's first. Returns
/// the track of each packet.
fn follow(packets: &[Bytes], tracks: &[Vec<Bytes>]) -> Vec<usize> {
    let (mut t, mut i) = tracks
        .iter()
        .enumerate()
        .flat_map(|(t, p)| (0..p.len()).map(move |i| (t, i)))
        .find(|&(t, i)| {
            let n = (tracks[t].len() - i).min(packets.len()).min(5);
            packets[..n] == tracks[t][i..i + n]
        })
        .expect("the stream starts inside one of the tracks");
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

/// The listener's stream as a chain: each link a `BOS` page with an identification header,
/// then a comment and a setup header; returns the audio packets and the number of links.
fn chain(body: &[u8]) -> (Vec<Bytes>, usize) {
    let stream = ogg(body, false);
    assert!(stream.packets[0].starts_with(b"\x01vorbis"), "a link first");
    let links = stream.pages.iter().filter(|p| p.flags & 0x02 != 0).count();
    let idents = stream
        .packets
        .iter()
        .filter(|p| p.starts_with(b"\x01vorbis"))
        .count();
    assert_eq!(links, idents, "an identification header opens every link");
    let audio = stream
        .packets
        .into_iter()
        .filter(|p| !is_header(p))
        .collect();
    (audio, links)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_programme_of_vorbis_tracks_plays_every_packet_across_track_changes_with_titles() {
    let files: Vec<(String, Vec<u8>)> = TRACKS
        .iter()
        .map(|t| (format!("mix/{t}"), vorbis_fixture(t)))
        .collect();
    // Chained: a link per track, exact joins (one logical stream blends them: see below).
    let config = "[pacing]\nburst_ms = 1000\n[stations.mix]\nogg_chain = true\n";
    let server = TestServer::start_owned(&files, config).await;
    let status = server.status_json().await;
    let station = onair_tests::station_in(&status, "mix");
    assert_eq!(station["format"], "Vorbis 44100 Hz stereo");
    assert_eq!(station["content_type"], "audio/ogg");
    let tracks: Vec<Vec<Bytes>> = TRACKS.iter().map(|t| audio_packets(t)).collect();
    let mut listener =
        HttpResponse::send(server.addr, "GET /mix HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n").await;
    listener.read_for(16 * SECOND).await;
    let (audio, titles) = strip_icy(&listener.body);
    let (packets, links) = chain(&audio);
    let played = follow(&packets, &tracks);
    let changes = played.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(changes >= 4, "{changes} track changes");
    assert!(links > changes, "{links} links for {changes} track changes");
    // ICY titles change (a block every 16,000 bytes: about 5 s of this 24 kbit/s stream, so
    // not every 2 s track is seen), and every link's comment header names its track.
    let titles: Vec<String> = titles.into_iter().filter_map(|(_, t)| t).collect();
    let distinct: std::collections::HashSet<&String> = titles.iter().collect();
    assert!(distinct.len() >= 2, "ICY titles change: {titles:?}");
    let comments: Vec<String> = ogg(&audio, false)
        .packets
        .iter()
        .filter(|p| p.starts_with(b"\x03vorbis"))
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    for title in ["TITLE=One", "ARTIST=Test Trio", "TITLE=Café Noir"] {
        assert!(
            comments.iter().any(|c| c.contains(title)),
            "a link says {title}: {comments:?}"
        );
    }
    if let Some(warnings) = decoder_warnings(&audio).await {
        assert!(
            warnings.is_empty(),
            "ffmpeg decodes the chain: {warnings:?}"
        );
    }
    // Decoded, the joins are seamless: no 5 ms quiet after the capture's first seconds (the
    // link it joined in the middle of an encode may start with a block of nothing).
    if let Some(pcm) = ffmpeg_pcm(&audio).await {
        let quiet: Vec<f64> = quiet_windows(&pcm)
            .into_iter()
            .filter(|&at| at > 3.0)
            .collect();
        assert!(quiet.is_empty(), "quiet at {quiet:?} s");
        // Every packet came (checked above); what they decode to is most of the 16 s read.
        assert!(pcm.len() > 48_000 * 13, "{} samples decoded", pcm.len());
    }
    // No HLS for Vorbis: said, not a broken playlist.
    let mut hls = server.get("/mix.m3u8?session=1").await;
    hls.read_full(5 * SECOND).await;
    assert_eq!(hls.status(), 404);
    assert!(String::from_utf8_lossy(&hls.body).contains("no HLS for this station"));
}

/// By default, tracks whose encodes share their setup header (one encoder, one setting) go on
/// in one logical stream: what Chromium plays through (a chain makes it wait at every link).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracks_encoded_alike_play_as_one_logical_stream() {
    let files: Vec<(String, Vec<u8>)> = TRACKS
        .iter()
        .map(|t| (format!("mix/{t}"), vorbis_fixture(t)))
        .collect();
    let server = TestServer::start_owned(&files, "[pacing]\nburst_ms = 1000\n").await;
    let tracks: Vec<Vec<Bytes>> = TRACKS.iter().map(|t| audio_packets(t)).collect();
    let mut listener = server.get("/mix").await;
    listener.read_for(9 * SECOND).await;
    let (packets, links) = chain(&listener.body);
    let played = follow(&packets, &tracks);
    let changes = played.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(changes >= 2, "{changes} track changes");
    assert_eq!(
        links, 1,
        "one logical stream across {changes} track changes"
    );
    let stream = ogg(&listener.body, false);
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
    if let Some(warnings) = decoder_warnings(&listener.body).await {
        assert!(warnings.is_empty(), "ffmpeg decodes it: {warnings:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_vorbis_source_takes_over_a_vorbis_station_and_gives_it_back() {
    let three = vorbis_fixture("03 Three.ogg");
    let config =
        "[pacing]\nburst_ms = 1000\n[live]\npassword = \"pw\"\nbuffer_ms = 500\nsource_timeout_s = 1\n";
    let server = TestServer::start(&[("talk.ogg", &three)], config).await;
    let listener = tokio::spawn({
        let addr = server.addr;
        async move {
            let mut r = HttpResponse::send(addr, "GET /talk HTTP/1.0\r\n\r\n").await;
            r.read_for(7 * SECOND).await;
            r
        }
    });
    tokio::time::sleep(SECOND).await;
    let mut source = onair_tests::live_source(&server, "talk", "application/ogg").await;
    source
        .write_all(&vorbis_fixture("01 One.ogg"))
        .await
        .expect("audio");
    onair_tests::eventually("live", 5 * SECOND, || {
        server.registry.get("talk").is_some_and(|s| s.live.on_air())
    })
    .await;
    drop(source);
    let listener = listener.await.expect("listener");
    let (packets, _) = chain(&listener.body);
    let (programme, live) = (audio_packets("03 Three.ogg"), audio_packets("01 One.ogg"));
    let start = packets
        .iter()
        .position(|p| *p == live[0])
        .expect("the live track's first packet");
    let end = start + live.len();
    assert_eq!(&packets[start..end], &live[..], "the live track, whole");
    follow(&packets[..start], std::slice::from_ref(&programme));
    follow(&packets[end..], std::slice::from_ref(&programme));
    assert!(packets.len() > end + 20, "the programme came back");
    if let Some(warnings) = decoder_warnings(&listener.body).await {
        assert!(
            warnings.is_empty(),
            "ffmpeg decodes through the show: {warnings:?}"
        );
    }
}

#[test]
fn ogg_files_of_other_codecs_named_ogg_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flac_in_ogg = std::fs::read(fixture("flac").join("ogg.flac")).expect("fixture");
    for (name, bytes, says) in [
        (
            "opus.ogg",
            opus_fixture("01 One.opus"),
            "Ogg Opus, not Vorbis; name it `.opus`",
        ),
        (
            "flac.ogg",
            flac_in_ogg,
            "Ogg FLAC, not Vorbis; name it `.flac`",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).expect("write");
        let text = onair_core::probe(&path).expect_err(name).to_string();
        assert!(text.contains(says), "{name}: {text}");
    }
    let mono = onair_core::probe(&fixture("vorbis").join("mono.ogg")).expect("mono");
    assert_eq!(mono.first.format().to_string(), "Vorbis 44100 Hz mono");
    let one = onair_core::probe(&fixture("vorbis").join("01 One.ogg")).expect("one");
    assert_eq!(one.meta.display(), "Test Trio - One");
    assert_eq!(one.headers.len(), 3);
    // Every packet found, and the clock's length within a block of the file's 2 s.
    assert_eq!(one.frames, 88);
    let off = one.duration.as_secs_f64() - 2.0;
    assert!(off.abs() < 2048.0 / 44_100.0, "{:?}", one.duration);
}
