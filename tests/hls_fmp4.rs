//! HLS of Opus and FLAC stations in fragmented MP4 (CMAF): the playlist names an initialization
//! segment (`EXT-X-MAP`), segments are `moof` and `mdat` cut on the station's grid with their
//! time from the station clock, replicas started apart serve the same bytes, and ffmpeg decodes
//! the playlist: for FLAC, to the files' own samples, in order, across segment boundaries,
//! track changes and the loop point.

use std::time::Duration;

use onair_tests::ogg::{ffmpeg_samples, opus_fixture};
use onair_tests::{fixture, HttpResponse, TestServer};

const SECOND: Duration = Duration::from_secs(1);
/// 2 s segments of 6 s programmes: track changes and the loop point inside segments.
const CONFIG: &str = "[hls]\nsegment_ms = 2000\nwindow_s = 12\n";

fn opus_files() -> Vec<(String, Vec<u8>)> {
    ["01 One.opus", "02 Two.opus", "03 Three.opus"]
        .iter()
        .map(|t| (format!("mix/{t}"), opus_fixture(t)))
        .collect()
}

fn flac_track(name: &str) -> Vec<u8> {
    std::fs::read(fixture("flac").join(name)).expect("flac fixture")
}

const FLAC_TRACKS: [&str; 3] = ["01 One.flac", "02 Two.flac", "03 Three.flac"];

fn flac_files() -> Vec<(String, Vec<u8>)> {
    FLAC_TRACKS
        .iter()
        .map(|t| (format!("mix/{t}"), flac_track(t)))
        .collect()
}

async fn fetch(server: &TestServer, path: &str) -> HttpResponse {
    let mut response = HttpResponse::send(
        server.addr,
        &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
    )
    .await;
    response.read_full(5 * SECOND).await;
    response
}

/// The segment URIs a playlist lists.
fn segments(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The four-letter types of the top-level boxes of `bytes`.
fn boxes(bytes: &[u8]) -> Vec<String> {
    let (mut at, mut out) = (0, Vec::new());
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4")) as usize;
        out.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
        assert!(size >= 8 && at + size <= bytes.len(), "a whole box at {at}");
        at += size;
    }
    assert_eq!(at, bytes.len());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_and_flac_stations_serve_fragmented_mp4_that_replicas_agree_on() {
    for (files, entry, codecs) in [
        (opus_files(), &b"dOps"[..], "opus"),
        (flac_files(), &b"dfLa"[..], "fLaC"),
    ] {
        let a = TestServer::start_owned(&files, CONFIG).await;
        tokio::time::sleep(SECOND).await;
        let b = TestServer::start_owned(&files, CONFIG).await;
        let main = fetch(&a, "/mix/index.m3u8").await;
        let main = String::from_utf8_lossy(&main.body).to_string();
        assert!(main.contains(&format!("CODECS=\"{codecs}\"")), "{main}");
        let playlist =
            String::from_utf8_lossy(&fetch(&a, "/mix.m3u8?session=1").await.body).to_string();
        assert!(playlist.contains("#EXT-X-VERSION:6\n"), "{playlist}");
        assert!(
            playlist.contains("#EXT-X-MAP:URI=\"mix/init.mp4\"\n"),
            "{playlist}"
        );
        let in_a = segments(&playlist);
        assert!(in_a.len() >= 6 && in_a.iter().all(|s| s.ends_with(".m4s")));
        // The initialization segment: the codec's sample entry; the same from either replica.
        let init = fetch(&a, "/mix/init.mp4").await;
        assert_eq!(init.header("content-type"), Some("audio/mp4"));
        assert_eq!(boxes(&init.body), ["ftyp", "moov"]);
        assert!(init.body.windows(4).any(|w| w == entry), "{codecs} entry");
        assert_eq!(fetch(&b, "/mix/init.mp4").await.body, init.body);
        // Media segments: a timed title, then a fragment; byte-identical across replicas.
        let in_b = segments(&String::from_utf8_lossy(
            &fetch(&b, "/mix.m3u8?session=1").await.body,
        ));
        let common: Vec<&String> = in_a.iter().filter(|s| in_b.contains(s)).collect();
        assert!(common.len() >= 4, "{in_a:?} vs {in_b:?}");
        for uri in common.iter().take(3) {
            let from_a = fetch(&a, &format!("/{uri}")).await;
            let from_b = fetch(&b, &format!("/{uri}")).await;
            assert_eq!(from_a.header("content-type"), Some("audio/mp4"));
            assert_eq!(boxes(&from_a.body), ["emsg", "moof", "mdat"], "{uri}");
            assert_eq!(from_a.body, from_b.body, "{uri}");
        }
        // A packed-audio name is not a segment of these stations.
        let k = common[0]
            .rsplit('/')
            .next()
            .and_then(|f| f.strip_suffix(".m4s"));
        let wrong = fetch(&a, &format!("/mix/{}.aac", k.unwrap_or("0"))).await;
        assert_eq!(wrong.status(), 404);
    }
}

/// ffmpeg reading a live playlist for `seconds`, decoded to 16-bit samples as they are, and
/// what it logged; `None` without ffmpeg (outside CI).
async fn ffmpeg_playlist(url: &str, seconds: u32) -> Option<(Vec<i16>, String)> {
    let args = [
        "-nostdin",
        "-v",
        "warning",
        "-i",
        url,
        "-t",
        &seconds.to_string(),
    ];
    let output = tokio::process::Command::new("ffmpeg")
        .args(args)
        .args(["-f", "s16le", "-"])
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(30 * SECOND, output)
        .await
        .expect("ffmpeg finishes")
    {
        Ok(output) => output,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: ffmpeg cannot run ({e})");
            return None;
        }
        Err(e) => panic!("cannot run ffmpeg: {e} (.ci/run installs it)"),
    };
    let samples = output
        .stdout
        .chunks_exact(2)
        .map(|s| i16::from_le_bytes([s[0], s[1]]))
        .collect();
    // ffmpeg 5.1 reads the initialization segment again at every playlist reload (each reload
    // makes a new one of the same URI) and says so: not a fault of the stream, and nothing is
    // lost (the samples are checked).
    let log = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| {
            !l.contains("Found duplicated MOOV Atom") && !l.contains("Last message repeated")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    Some((samples, log))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_decodes_flac_hls_to_the_files_own_samples_and_opus_hls_cleanly() {
    let server = TestServer::start_owned(&flac_files(), CONFIG).await;
    let url = format!("http://{}/mix.m3u8", server.addr);
    let Some((heard, log)) = ffmpeg_playlist(&url, 8).await else {
        return;
    };
    assert_eq!(log, "", "ffmpeg decodes the FLAC playlist cleanly");
    let mut programme = Vec::new();
    for track in FLAC_TRACKS {
        programme.extend(ffmpeg_samples(&flac_track(track)).await.expect("decoded"));
    }
    // 8 s of 2 s segments of a 6 s programme: every sample the programme's, in order.
    assert!(heard.len() >= 2 * 44_100 * 7, "{} samples", heard.len());
    let len = programme.len();
    let start = (0..len / 2)
        .map(|f| f * 2)
        .find(|&s| (0..4096).all(|k| heard[k] == programme[(s + k) % len]))
        .expect("the playlist starts inside the programme");
    let off = (0..heard.len()).find(|&k| heard[k] != programme[(start + k) % len]);
    assert_eq!(off, None, "a sample that is not the programme's");
    let opus = TestServer::start_owned(&opus_files(), CONFIG).await;
    let url = format!("http://{}/mix.m3u8", opus.addr);
    let (heard, log) = ffmpeg_playlist(&url, 8).await.expect("ffmpeg ran before");
    assert_eq!(log, "", "ffmpeg decodes the Opus playlist cleanly");
    assert!(heard.len() >= 2 * 48_000 * 7, "{} samples", heard.len());
}
