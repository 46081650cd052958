//! Stations and config change while onair runs: files come, change and go; config.toml is
//! edited. Every wait is bounded; nothing sleeps a fixed time to "let things happen".

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use onair_core::testing::{adts_frame, FrameSpec};
use onair_tests::{config_text, eventually, sample, walk, HttpResponse, TestServer};

const SECOND: Duration = Duration::from_secs(1);

/// `frames` synthetic 44.1 kHz frames whose payload bytes are all `fill`: a test can tell which
/// file a listener is hearing.
fn audio(fill: u8, frames: usize) -> Vec<u8> {
    adts_frame(&FrameSpec {
        fill,
        ..FrameSpec::default()
    })
    .repeat(frames)
}

/// The fill byte of the last whole frame in `bytes`.
fn last_fill(bytes: &[u8]) -> u8 {
    let w = walk(bytes);
    let end = bytes.len() - w.tail;
    bytes[end - 1]
}

fn on_air(server: &TestServer, name: &str) -> bool {
    server.registry.get(name).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_file_goes_on_air_within_a_second() {
    let server = TestServer::start(&[], "").await;
    std::fs::write(server.stations().join("Late Night.aac"), audio(1, 500)).expect("copy");
    let took = eventually("/late-night on air", SECOND, || {
        on_air(&server, "late-night")
    })
    .await;
    eprintln!("on air after {took:?}");
    let mut response = server.get("/late-night").await;
    assert_eq!(response.status(), 200);
    response.read_for(Duration::from_millis(200)).await;
    assert!(walk(&response.body).frames > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_copy_is_never_mounted_half_written() {
    let server = TestServer::start(&[], "").await;
    let whole = audio(2, 2000);
    let path = server.stations().join("slow.aac");
    let mut file = std::fs::File::create(&path).expect("create");
    for piece in whole.chunks(whole.len() / 10 + 1) {
        file.write_all(piece).expect("write");
        file.flush().expect("flush");
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            !on_air(&server, "slow"),
            "mounted while still being written"
        );
    }
    drop(file);
    eventually("/slow on air", SECOND, || on_air(&server, "slow")).await;
    let info = server.registry.get("slow").expect("on air").info();
    assert_eq!(info.frames, 2000, "the whole file, not a part");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_moved_in_goes_on_air() {
    let server = TestServer::start(&[], "").await;
    let outside = server.dir.path().join("incoming.aac");
    std::fs::write(&outside, audio(3, 300)).expect("write outside");
    std::fs::rename(&outside, server.stations().join("moved.aac")).expect("mv");
    eventually("/moved on air", SECOND, || on_air(&server, "moved")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temp_hidden_and_other_files_are_not_stations() {
    let server = TestServer::start(&[], "").await;
    let stations = server.stations();
    for name in [
        ".hidden.aac",
        "upload.aac.part",
        "x.tmp",
        "jazz.aac~",
        "notes.txt",
        ".jazz.aac.Xy12Ab",
    ] {
        std::fs::write(stations.join(name), audio(4, 100)).expect("write");
    }
    std::fs::create_dir(stations.join("folder.aac")).expect("subfolder");
    std::fs::write(stations.join("folder.aac").join("inner.aac"), audio(4, 100)).expect("write");
    // A real station written last: once it is on air, the others have been looked at too.
    std::fs::write(stations.join("real.aac"), audio(5, 100)).expect("write");
    eventually("/real on air", SECOND, || on_air(&server, "real")).await;
    let names: Vec<String> = server
        .registry
        .list()
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(names, ["real"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_file_switches_audio_and_keeps_listeners() {
    // 1 s segments: a replacement starts at the first segment boundary 2 s or more on.
    let server = TestServer::start(
        &[("jazz.aac", &audio(0x11, 2000))],
        "[hls]\nsegment_ms = 1000\n",
    )
    .await;
    let mut listener = server.get("/jazz").await;
    listener.read_for(Duration::from_millis(300)).await;
    assert_eq!(last_fill(&listener.body), 0x11);

    // An editor or rsync: write a hidden temp file, then rename it over the station.
    let temp = server.stations().join(".jazz.aac.tmp");
    std::fs::write(&temp, audio(0x22, 2000)).expect("write temp");
    std::fs::rename(&temp, server.stations().join("jazz.aac")).expect("rename over");
    listener.read_for(SECOND).await;
    assert_eq!(
        last_fill(&listener.body),
        0x11,
        "the old audio until the switch"
    );
    listener.read_for(3 * SECOND).await;
    assert!(!listener.eof, "the listener stays connected");
    assert_eq!(
        last_fill(&listener.body),
        0x22,
        "new audio within settle + a segment"
    );

    // In place: truncate and rewrite the same file.
    std::fs::write(server.stations().join("jazz.aac"), audio(0x33, 2000)).expect("overwrite");
    // The write settles (the watcher waits for it to go quiet), then the new audio starts at
    // the first segment boundary 2 s or more on.
    let written = std::time::Instant::now();
    while last_fill(&listener.body) != 0x33 {
        assert!(
            written.elapsed() < 8 * SECOND,
            "the rewritten file never played"
        );
        listener.read_for(SECOND / 4).await;
    }
    listener.read_for(SECOND).await;
    assert!(!listener.eof, "the listener stays connected");
    assert_eq!(last_fill(&listener.body), 0x33);
    // Every byte the listener got, across both switches, is whole frames.
    let w = walk(&listener.body);
    assert!(w.audio > 8 * SECOND, "{w:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_file_renamed_over_a_station_keeps_its_audio_past_the_loop_point() {
    // 40 frames: the station loops about once a second.
    let server = TestServer::start(&[("short.aac", &audio(0x44, 40))], "").await;
    let mut listener = server.get("/short").await;
    listener.read_for(Duration::from_millis(300)).await;
    let outside = server.dir.path().join("upload.aac");
    std::fs::write(&outside, [0x49u8, 0x44, 0x33, 1, 2, 3].repeat(500)).expect("write bad");
    std::fs::rename(&outside, server.stations().join("short.aac")).expect("mv over");
    // Five loop points later the station still plays its old audio, without a pause (a
    // station whose file fails waits 3 s for a new one, then goes off air).
    let before = walk(&listener.body).audio;
    listener.read_for(5 * SECOND).await;
    assert!(!listener.eof, "the listener stays connected");
    assert!(on_air(&server, "short"), "the station stays on air");
    assert_eq!(last_fill(&listener.body), 0x44, "the audio playing is kept");
    let w = walk(&listener.body);
    assert_eq!(w.tail, 0);
    let played = w.audio - before;
    assert!(
        played > Duration::from_millis(4500),
        "only {played:?} in 5 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_file_ends_its_listeners_streams() {
    let server = TestServer::start(
        &[
            ("gone.aac", &audio(6, 2000)),
            ("stays.aac", &audio(7, 2000)),
        ],
        "",
    )
    .await;
    let mut listener = server.get("/gone").await;
    let mut other = server.get("/stays").await;
    listener.read_for(Duration::from_millis(300)).await;
    std::fs::remove_file(server.stations().join("gone.aac")).expect("rm");
    listener.read_to_end(2 * SECOND).await;
    assert_eq!(
        walk(&listener.body).tail,
        0,
        "the stream ends after a whole frame"
    );
    assert_eq!(server.get("/gone").await.status(), 404);
    other.read_for(SECOND).await;
    assert!(!other.eof, "other stations are untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_file_moves_to_its_new_mount() {
    let server = TestServer::start(&[("jazz.aac", &audio(8, 500))], "").await;
    std::fs::rename(
        server.stations().join("jazz.aac"),
        server.stations().join("blues.aac"),
    )
    .expect("mv");
    eventually("/blues on air, /jazz off", SECOND, || {
        on_air(&server, "blues") && !on_air(&server, "jazz")
    })
    .await;
    assert_eq!(server.get("/jazz").await.status(), 404);
    assert_eq!(server.get("/blues").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_turns_bad_never_stops_the_server() {
    let server = TestServer::start(
        &[("bad.aac", &audio(9, 40)), ("good.aac", &audio(10, 2000))],
        "",
    )
    .await;
    let mut good = server.get("/good").await;
    // Emptied in place: the new version is refused, and the station ends once its old audio is
    // gone from the file.
    std::fs::write(server.stations().join("bad.aac"), b"").expect("truncate");
    eventually("/bad off air", 10 * SECOND, || !on_air(&server, "bad")).await;
    assert_eq!(server.get("/bad").await.status(), 404);
    good.read_for(SECOND).await;
    assert!(!good.eof);
    // Fixed: back on air.
    std::fs::write(server.stations().join("bad.aac"), audio(11, 500)).expect("fix");
    eventually("/bad back on air", SECOND, || on_air(&server, "bad")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stations_folder_can_be_deleted_and_recreated() {
    let server = TestServer::start(
        &[("a.aac", &audio(12, 500)), ("b.aac", &audio(13, 500))],
        "",
    )
    .await;
    std::fs::remove_dir_all(server.stations()).expect("rm -r");
    eventually("all off air", 2 * SECOND, || {
        server.registry.list().is_empty()
    })
    .await;
    std::fs::create_dir(server.stations()).expect("mkdir");
    std::fs::write(server.stations().join("c.aac"), audio(14, 500)).expect("write");
    eventually("/c on air", 2 * SECOND, || on_air(&server, "c")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_files_at_once() {
    let server = TestServer::start(&[], "").await;
    let bytes = audio(15, 100);
    for i in 0..300 {
        std::fs::write(server.stations().join(format!("s{i:03}.aac")), &bytes).expect("write");
    }
    let took = eventually("300 stations on air", 10 * SECOND, || {
        server.registry.list().len() == 300
    })
    .await;
    eprintln!("300 stations on air after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_edits_retune_live_and_bad_edits_change_nothing() {
    let server = TestServer::start(
        &[("jazz.aac", &audio(16, 3000))],
        "[pacing]\nchunk_ms = 200\n",
    )
    .await;
    let mut listener = server.get("/jazz").await;
    listener.read_for(Duration::from_millis(300)).await;
    let hub = server.registry.get("jazz").expect("on air").hub.clone();
    assert_eq!(hub.tuning().chunk, Duration::from_millis(200));

    server.edit_config("[pacing]\nchunk_ms = 500\nburst_ms = 2000\n");
    eventually("chunk_ms = 500 applied", SECOND, || {
        hub.tuning().chunk == Duration::from_millis(500)
    })
    .await;
    assert_eq!(hub.tuning().burst, Duration::from_millis(2000));

    // Bad edits: each is reported (file, line, column, key), and the last good config stays.
    for (bad, key) in [
        ("[pacing]\nchunk_ms = 0\n", Some("pacing.chunk_ms")),
        ("[pacing]\nchunk_ms = -3\n", Some("pacing.chunk_ms")),
        ("[pacing\n", Some("pacing")),
        ("[pacing]\nchunkms = 100\n", Some("pacing.chunkms")),
        ("[pacing]\nchunk_ms = \"fast\"\n", Some("pacing.chunk_ms")),
    ] {
        let mut errors = server.config_error.clone();
        let previous = errors.borrow().clone();
        server.edit_config(bad);
        let fresh = |e: &Option<onair_server::ConfigError>| {
            e.as_ref()
                .is_some_and(|e| e.key.as_deref() == key && Some(e) != previous.as_ref())
        };
        let error = tokio::time::timeout(SECOND, errors.wait_for(fresh))
            .await
            .unwrap_or_else(|_| panic!("{bad:?} reported within a second"))
            .expect("watch")
            .clone()
            .expect("an error");
        assert!(
            error.path.ends_with("config.toml") && error.line.is_some() && error.column.is_some(),
            "{error}"
        );
        assert_eq!(
            hub.tuning().chunk,
            Duration::from_millis(500),
            "after {bad:?}"
        );
    }
    server.edit_config("[pacing]\nchunk_ms = 300\nburst_ms = 2000\n");
    eventually("chunk_ms = 300 applied", SECOND, || {
        hub.tuning().chunk == Duration::from_millis(300)
    })
    .await;

    // The listener never noticed any of it but the chunk size.
    listener.read_for(SECOND).await;
    assert!(!listener.eof);
    let w = walk(&listener.body);
    assert!(w.audio > 4 * SECOND, "{w:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_edit_keeps_the_old_pacing_for_good() {
    let server = TestServer::start(
        &[("jazz.aac", &audio(17, 500))],
        "[pacing]\nchunk_ms = 250\n",
    )
    .await;
    let mut config = server.config.clone();
    server.edit_config("[pacing]\nchunk_ms = 0\n");
    // Give the watcher time to read it (several looks), bounded.
    let changed = tokio::time::timeout(2 * SECOND, config.changed()).await;
    assert!(changed.is_err(), "a bad config was published");
    let hub = server.registry.get("jazz").expect("on air").hub.clone();
    assert_eq!(hub.tuning().chunk, Duration::from_millis(250));
    assert_eq!(server.get("/jazz").await.status(), 200, "still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_and_config_stations_apply_live() {
    let server = TestServer::start(&[("jazz.aac", &audio(18, 500))], "").await;
    let elsewhere = server.dir.path().join("talk-show.aac");
    std::fs::write(&elsewhere, audio(19, 500)).expect("write");
    let talk = format!(
        "[stations.talk]\nfile = {:?}\n",
        elsewhere.display().to_string()
    );
    server.edit_config(&format!(
        "[stations.jazz]\ntitle = \"Late Jazz\"\ngenre = \"Jazz\"\n{talk}"
    ));
    eventually("title and /talk", SECOND, || {
        on_air(&server, "talk")
            && server
                .registry
                .get("jazz")
                .is_some_and(|s| s.meta().title == "Late Jazz")
    })
    .await;
    assert_eq!(
        server
            .registry
            .get("jazz")
            .expect("on air")
            .meta()
            .genre
            .as_deref(),
        Some("Jazz")
    );
    server.edit_config("");
    eventually("/talk off air, title back", SECOND, || {
        !on_air(&server, "talk")
            && server
                .registry
                .get("jazz")
                .is_some_and(|s| s.meta().title == "jazz")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listen_address_cannot_change_live() {
    let server = TestServer::start(&[("jazz.aac", &audio(20, 500))], "").await;
    let mut config = server.config.clone();
    // Same address, other port; with a title change that proves the edit was read.
    let text = std::fs::read_to_string(server.config_path()).expect("read config");
    assert!(text.contains("127.0.0.1:0"));
    let stations = server.stations().display().to_string();
    std::fs::write(
        server.dir.path().join(".tmp"),
        format!("[server]\nlisten = \"127.0.0.1:1\"\nstations_dir = {stations:?}\n[stations.jazz]\ntitle = \"T\"\n"),
    )
    .expect("write");
    std::fs::rename(server.dir.path().join(".tmp"), server.config_path()).expect("rename");
    tokio::time::timeout(2 * SECOND, config.changed())
        .await
        .expect("reloaded")
        .expect("watch");
    assert_eq!(
        config.borrow().server.listen.port(),
        0,
        "the old address stays"
    );
    let response = HttpResponse::send(server.addr, "GET /jazz HTTP/1.0\r\n\r\n").await;
    assert_eq!(response.status(), 200);
    assert!(Path::new(&stations).exists());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_behind_a_symlink_is_reloaded_when_its_target_changes() {
    use std::os::unix::fs::symlink;
    let server = TestServer::start(&[("jazz.aac", &audio(0x10, 500))], "").await;
    let dir = server.dir.path();
    let title_is = |title: &str| {
        server
            .registry
            .get("jazz")
            .is_some_and(|s| s.meta().title == title)
    };
    // A Kubernetes ConfigMap volume: config.toml -> ..data/config.toml, ..data -> ..v1.
    let version = |n: u32, title: &str| {
        let folder = dir.join(format!("..v{n}"));
        std::fs::create_dir(&folder).expect("version folder");
        let text = config_text(dir, &format!("[stations.jazz]\ntitle = \"{title}\"\n"));
        std::fs::write(folder.join("config.toml"), text).expect("write version");
        let temp = dir.join("..data_tmp");
        symlink(format!("..v{n}"), &temp).expect("link");
        std::fs::rename(&temp, dir.join("..data")).expect("swap ..data");
    };
    version(1, "One");
    let temp = dir.join("config.toml.link");
    symlink("..data/config.toml", &temp).expect("link");
    std::fs::rename(&temp, server.config_path()).expect("config.toml becomes a link");
    eventually("title One", 3 * SECOND, || title_is("One")).await;
    // The update: only `..data` changes; no event names config.toml.
    version(2, "Two");
    let took = eventually("title Two", 3 * SECOND, || title_is("Two")).await;
    eprintln!("a ..data swap applied after {took:?}");
    assert!(took < SECOND, "took {took:?}");
    // An edit of the link's target in place.
    let text = config_text(dir, "[stations.jazz]\ntitle = \"Three\"\n");
    std::fs::write(dir.join("..v2").join("config.toml"), text).expect("edit target");
    let took = eventually("title Three", 3 * SECOND, || title_is("Three")).await;
    assert!(took < SECOND, "took {took:?}");
}

/// Keys that need a restart (the bound sockets) are named in a warning when a running server's
/// config changes them, `listen_tls` as well as `listen` (an added `listen_tls` was dropped
/// without a word), and the rest of the edit applies.
#[tokio::test]
async fn a_config_edit_of_a_bound_address_is_warned_about_by_name() {
    let log = onair_tests::Log::default();
    let _logging = log.capture();
    let server = TestServer::start(&[("jazz.aac", &sample("jazz.aac"))], "").await;
    let ca = onair_tests::tls::TestCa::new();
    let certs = tempfile::tempdir().expect("temp dir");
    let (cert, key) = ca
        .leaf("added", Duration::from_secs(30 * 86_400))
        .write(certs.path());
    server.edit_config(&format!(
        "listen_tls = \"127.0.0.1:0\"\nmax_listeners = 1\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        cert.display(),
        key.display()
    ));
    onair_tests::eventually("the warning", 10 * SECOND, || {
        log.count(&["server.listen_tls", "restart"]) == 1
    })
    .await;
    // The rest of the edit applies: one listener at most.
    let mut first = server.get("/jazz").await;
    first.read_for(SECOND / 2).await;
    let second = server.get("/jazz").await;
    assert!(second.status_line.contains("503"), "{}", second.status_line);
}
