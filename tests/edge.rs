//! Edges: a station relaying another onair's HLS (`relay = ".../jazz.m3u8"`) puts every frame
//! at the origin's tick, a fixed delay behind; so its HLS segments are the origin's byte for
//! byte (same numbers, same bytes), during the origin's live show too, and its listeners hear
//! the origin's frames.

use std::time::Duration;

use onair_core::testing::{adts_frame, FrameSpec};
use onair_tests::frames::{frames, payload, station_frames};
use onair_tests::{sample, station_in, HttpResponse, TestServer};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, Instant};

const SECOND: Duration = Duration::from_secs(1);

/// Two-second segments and a 20 s window, on origin and edge alike.
const HLS: &str = "[hls]\nsegment_ms = 2000\nwindow_s = 20\n";

async fn body(server: &TestServer, path: &str) -> (u16, Vec<u8>) {
    let mut response = server.get(path).await;
    response.read_full(5 * SECOND).await;
    (response.status(), response.body)
}

/// The segment numbers a media playlist lists.
fn listed(playlist: &[u8]) -> Vec<u64> {
    String::from_utf8_lossy(playlist)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit('/').next()?.split('.').next()?.parse().ok())
        .collect()
}

async fn relay_of(server: &TestServer, name: &str) -> Value {
    station_in(&server.status_json().await, name)["relay"].clone()
}

/// A segment's timestamp and its frames in runs by where they come from (the origin's
/// programme, the edge's, the live show), for a failure's message.
fn describe(segment: &[u8]) -> String {
    let (pts, audio) = onair_tests::split_hls_segment(segment);
    let index = |file: &str| -> std::collections::HashSet<Vec<u8>> {
        frames(&station_frames(&sample(file)))
            .iter()
            .map(|f| payload(f).to_vec())
            .collect()
    };
    let (jazz, ambient) = (index("jazz.aac"), index("ambient.aac"));
    let mut runs: Vec<(char, usize)> = Vec::new();
    for frame in frames(audio) {
        let p = payload(frame);
        let kind = if p.iter().all(|&b| b == 0xA5) {
            'L'
        } else if jazz.contains(p) {
            'J'
        } else if ambient.contains(p) {
            'A'
        } else {
            '?'
        };
        match runs.last_mut() {
            Some((k, n)) if *k == kind => *n += 1,
            _ => runs.push((kind, 1)),
        }
    }
    format!("pts {pts}, {runs:?}")
}

#[tokio::test]
async fn an_edges_segments_are_its_origins_byte_for_byte_during_a_live_show() {
    let origin = TestServer::start(
        &[("jazz.aac", &sample("jazz.aac"))],
        &format!("{HLS}[live]\npassword = \"pw\"\nbuffer_ms = 500\nsource_timeout_s = 2\n"),
    )
    .await;
    // A live show on the origin: 14 s of synthetic frames (no file has them).
    let show = adts_frame(&FrameSpec {
        fill: 0xA5,
        ..FrameSpec::default()
    });
    let mut source = TcpStream::connect(origin.addr).await.expect("connect");
    source
        .write_all(b"SOURCE /jazz HTTP/1.0\r\nAuthorization: Basic c291cmNlOnB3\r\nContent-Type: audio/aac\r\nice-name: Studio\r\n\r\n")
        .await
        .expect("head");
    let mut answer = [0u8; 32];
    let n = source.read(&mut answer).await.expect("answer");
    assert!(answer[..n].starts_with(b"HTTP/1.0 200"));
    let pusher = tokio::spawn(async move {
        // 44.1 kHz frames of 1024 samples: 603 are 14 s.
        let _ = source.write_all(&show.repeat(603)).await;
        sleep(20 * SECOND).await;
    });
    let edge = TestServer::start(
        &[("ambient.aac", &sample("ambient.aac"))],
        &format!(
            "{HLS}[relay]\nedge_delay_s = 6\nretry_min_ms = 200\nretry_max_s = 1\n[stations.ambient]\nrelay = \"http://{}/jazz.m3u8\"\n",
            origin.addr
        ),
    )
    .await;
    let started = Instant::now();
    while relay_of(&edge, "ambient").await["state"] != "on_air" {
        assert!(
            started.elapsed() < 10 * SECOND,
            "{}",
            relay_of(&edge, "ambient").await
        );
        sleep(Duration::from_millis(100)).await;
    }
    let (_, first) = body(&edge, "/ambient.m3u8?session=1").await;
    let joined = *listed(&first).last().expect("segments") + 1;
    // Listeners of the edge hear the origin: no frame of the edge's own programme once it is on.
    let mut listener =
        HttpResponse::send(edge.addr, "GET /ambient HTTP/1.1\r\nHost: x\r\n\r\n").await;
    listener.read_for(12 * SECOND).await;
    // Segments after the one the edge joined in (and the next: the relay takes over at a chunk
    // boundary, which may fall in it), as the edge lists them now.
    let (status, playlist) = body(&edge, "/ambient.m3u8?session=1").await;
    assert_eq!(status, 200);
    let compared: Vec<u64> = listed(&playlist)
        .into_iter()
        .filter(|k| *k > joined + 1)
        .collect();
    assert!(
        compared.len() >= 3,
        "{}",
        String::from_utf8_lossy(&playlist)
    );
    let mut live_frames = 0;
    for k in &compared {
        let (edge_status, at_edge) = body(&edge, &format!("/ambient/{k}.aac")).await;
        let (origin_status, at_origin) = body(&origin, &format!("/jazz/{k}.aac")).await;
        assert_eq!((edge_status, origin_status), (200, 200), "segment {k}");
        assert!(
            at_edge == at_origin,
            "segment {k} (joined at {joined}): the edge's {} bytes ({}) are not the origin's {} ({})",
            at_edge.len(),
            describe(&at_edge),
            at_origin.len(),
            describe(&at_origin),
        );
        let (_, audio) = onair_tests::split_hls_segment(&at_origin);
        live_frames += frames(audio)
            .iter()
            .filter(|f| payload(f).iter().all(|&b| b == 0xA5))
            .count();
    }
    assert!(
        live_frames > 50,
        "the origin's live show is in the compared segments"
    );
    let own: std::collections::HashSet<Vec<u8>> = frames(&station_frames(&sample("ambient.aac")))
        .iter()
        .map(|f| payload(f).to_vec())
        .collect();
    let heard = frames(&listener.body);
    // The burst before the relay came on may hold the edge's own programme; the rest not.
    let tail = &heard[heard.len() / 2..];
    assert!(
        tail.iter().all(|f| !own.contains(payload(f))),
        "the edge's listeners hear the origin's frames"
    );
    pusher.abort();
    edge.shutdown().await;
    origin.shutdown().await;
}

/// An edge whose `[hls] segment_ms` is not its origin's is told so by name (it was told to
/// look at its clock or its epoch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_of_an_origin_with_another_segment_length_is_told_which_key() {
    let origin = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], HLS).await;
    let edge = TestServer::start(
        &[("ambient.aac", &sample("ambient.aac"))],
        &format!(
            "[hls]\nsegment_ms = 4000\nwindow_s = 20\n[relay]\nretry_min_ms = 200\nretry_max_s = 1\n[stations.ambient]\nrelay = \"http://{}/jazz.m3u8\"\n",
            origin.addr
        ),
    )
    .await;
    let started = Instant::now();
    loop {
        let relay = relay_of(&edge, "ambient").await;
        if let Some(error) = relay["last_error"].as_str() {
            assert!(
                error.contains("origin cuts segments of 1")
                    && error.contains("4000 ms")
                    && error.contains("[hls] segment_ms"),
                "{error}"
            );
            break;
        }
        assert!(started.elapsed() < 10 * SECOND, "{relay}");
        sleep(SECOND / 5).await;
    }
}

/// Edges of Opus and FLAC origins (HLS in fragmented MP4): the edge reads each fragment's
/// exact tick (its `emsg`) and samples and plays them at the origin's ticks. An Opus edge serves
/// the origin's initialization and media segments byte for byte. A FLAC origin's frames leave
/// its frame grid at every track's short last frame, and a live chunk takes a timed frame at
/// the chunk's own tick (within a frame of it, gapless), so a FLAC edge plays every frame up to
/// a frame off the origin's ticks: its segments are whole and its own, not the origin's bytes.
#[tokio::test]
async fn edges_of_opus_and_flac_origins_play_their_fragments_opus_byte_for_byte() {
    let read =
        |dir: &str, t: &str| std::fs::read(onair_tests::fixture(dir).join(t)).expect("fixture");
    for (dir, ext) in [("opus", "opus"), ("flac", "flac")] {
        let tracks = ["01 One", "02 Two", "03 Three"];
        let files: Vec<(String, Vec<u8>)> = tracks
            .iter()
            .map(|t| (format!("mix/{t}.{ext}"), read(dir, &format!("{t}.{ext}"))))
            .collect();
        let origin = TestServer::start_owned(&files, HLS).await;
        let own = read(dir, &format!("03 Three.{ext}"));
        let edge = TestServer::start(
            &[(&format!("edge.{ext}"), &own)],
            &format!(
                "{HLS}[relay]\nedge_delay_s = 6\nretry_min_ms = 200\nretry_max_s = 1\n[stations.edge]\nrelay = \"http://{}/mix.m3u8\"\n",
                origin.addr
            ),
        )
        .await;
        let started = Instant::now();
        while relay_of(&edge, "edge").await["state"] != "on_air" {
            assert!(
                started.elapsed() < 10 * SECOND,
                "{ext}: {}",
                relay_of(&edge, "edge").await
            );
            sleep(Duration::from_millis(100)).await;
        }
        let (_, first) = body(&edge, "/edge.m3u8?session=1").await;
        let joined = *listed(&first).last().expect("segments") + 1;
        sleep(10 * SECOND).await;
        let (_, playlist) = body(&edge, "/edge.m3u8?session=1").await;
        // Well after the takeover (which falls on a chunk boundary in one of the first
        // segments, later under load).
        let compared: Vec<u64> = listed(&playlist)
            .into_iter()
            .filter(|k| *k > joined + 2)
            .collect();
        assert!(
            compared.len() >= 2,
            "{ext}: {}",
            String::from_utf8_lossy(&playlist)
        );
        assert_eq!(
            body(&edge, "/edge/init.mp4").await.1,
            body(&origin, "/mix/init.mp4").await.1,
            "{ext}: the initialization segment"
        );
        for k in &compared {
            let (edge_status, at_edge) = body(&edge, &format!("/edge/{k}.m4s")).await;
            let (origin_status, at_origin) = body(&origin, &format!("/mix/{k}.m4s")).await;
            assert_eq!(
                (edge_status, origin_status),
                (200, 200),
                "{ext}: segment {k}"
            );
            if ext == "flac" {
                assert!(at_edge.windows(4).any(|w| w == b"mdat"), "segment {k}");
                continue;
            }
            assert!(
                at_edge == at_origin,
                "{ext}: segment {k} (joined at {joined}): {} bytes at the edge, {} at the origin",
                at_edge.len(),
                at_origin.len(),
            );
        }
        edge.shutdown().await;
        origin.shutdown().await;
    }
}
