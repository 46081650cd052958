//! Real encoders go live unchanged: ezstream and GStreamer's `shout2send` (both on libshout 2.4,
//! as butt and Mixxx are) and Liquidsoap's `output.icecast`, each pushing MP3 to an MP3
//! programme, where CI installs them (`.ci/run`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use onair_tests::{installed_tool, strip_icy, HttpResponse, TestServer};
use tokio::process::Command;
use tokio::time::timeout;

const SECOND: Duration = Duration::from_secs(1);
const PASSWORD: &str = "s3cret-pw";

/// ffmpeg, or `None` (skipped) on a developer machine without it.
fn ffmpeg() -> Option<PathBuf> {
    installed_tool(&["/usr/bin/ffmpeg"], "apt-get install ffmpeg")
}

/// `seconds` of a 500 Hz tone as MP3 (44.1 kHz stereo, 64 kb/s), titled `title` if given, in
/// `dir`.
async fn mp3_tone(dir: &Path, seconds: u32, title: Option<&str>) -> PathBuf {
    let path = dir.join("live.mp3");
    let mut command = Command::new("ffmpeg");
    command
        .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=500:sample_rate=44100:duration={seconds}"
        ))
        .args(["-ac", "2", "-c:a", "libmp3lame", "-b:a", "64k"]);
    if let Some(title) = title {
        command.arg("-metadata").arg(format!("title={title}"));
    }
    let made = command.arg(&path).status().await.expect("ffmpeg");
    assert!(made.success());
    path
}

/// ffmpeg pushing the MP3 file `file` as it is (`-re -c copy`), as the README says, to `mix`.
fn push_mp3(file: &Path, server: &TestServer) -> tokio::process::Child {
    Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-re", "-i"])
        .arg(file)
        .args(["-c", "copy", "-f", "mp3", "-content_type", "audio/mpeg"])
        .arg(format!(
            "icecast://source:{PASSWORD}@127.0.0.1:{}/mix",
            server.addr.port()
        ))
        .kill_on_drop(true)
        .spawn()
        .expect("run ffmpeg")
}

/// `/status.json`'s entry of the station `mix`.
async fn mix_status(server: &TestServer) -> serde_json::Value {
    let mut status = server.get("/status.json").await;
    status.read_full(5 * SECOND).await;
    let status: serde_json::Value = serde_json::from_slice(&status.body).expect("status JSON");
    status["stations"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "mix").cloned())
        .expect("mix listed")
}

/// The MP3 programme `mix`, live sources allowed with [`PASSWORD`].
async fn mix_live() -> TestServer {
    let files = onair_tests::programme_files("mix", &["01 One.mp3", "02 Two.mp3", "03 Three.mp3"]);
    let config = format!("[live]\npassword = \"{PASSWORD}\"\nbuffer_ms = 500\n");
    TestServer::start_owned(&files, &config).await
}

/// ezstream (libshout 2.4: `OPTIONS *`, an unauthenticated `SOURCE`, then the real one, and
/// metadata updates the same way) pushes an MP3 file to an MP3 programme.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ezstream_on_libshout_goes_live() {
    ezstream_goes_live(false).await;
}

/// The same over TLS: libshout's HTTPS mode to the HTTPS port, verifying the certificate. It
/// goes live at its first attempt (onair once left the go-ahead unflushed in the TLS session,
/// and libshout only streamed after timing out and trying again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ezstream_goes_live_over_tls() {
    ezstream_goes_live(true).await;
}

async fn ezstream_goes_live(tls: bool) {
    let Some(ezstream) = installed_tool(&["/usr/bin/ezstream"], "apt-get install ezstream") else {
        return;
    };
    let Some(_) = ffmpeg() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = onair_tests::tls::TestCa::new();
    let server = if tls {
        let (cert, key) = ca.leaf("ezstream", 86_400 * SECOND).write(dir.path());
        let files =
            onair_tests::programme_files("mix", &["01 One.mp3", "02 Two.mp3", "03 Three.mp3"]);
        let config = format!(
            "listen_tls = \"127.0.0.1:0\"\n[live]\npassword = \"{PASSWORD}\"\nbuffer_ms = 500\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            cert.display(),
            key.display()
        );
        TestServer::start_owned(&files, &config).await
    } else {
        mix_live().await
    };
    let (protocol, host, port, tls_mode) = match server.tls_addr {
        Some(addr) if tls => ("HTTPS", "localhost", addr.port(), "Required"),
        _ => ("HTTP", "127.0.0.1", server.addr.port(), "None"),
    };
    let ca_file = ca.write_ca(dir.path());
    let live = mp3_tone(dir.path(), 3, Some("EZ Tune")).await;
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ezstream>
  <servers><server><protocol>{protocol}</protocol><hostname>{host}</hostname><port>{port}</port>
    <user>source</user><password>{PASSWORD}</password><tls>{tls_mode}</tls><ca_file>{ca}</ca_file></server></servers>
  <streams><stream><mountpoint>/mix</mountpoint><format>MP3</format><stream_name>EZ Show</stream_name></stream></streams>
  <intakes><intake><type>file</type><filename>{file}</filename><stream_once>Yes</stream_once></intake></intakes>
  {metadata}
</ezstream>
"#,
        // libshout 2.4.6 fails its metadata updates over TLS before connecting ("No error"),
        // and then its stream: over TLS, ezstream sends no metadata here.
        metadata = if tls {
            ""
        } else {
            "<metadata><format_str>@t@</format_str></metadata>"
        },
        ca = ca_file.display(),
        file = live.display()
    );
    let config_path = dir.path().join("ezstream.xml");
    std::fs::write(&config_path, xml).expect("write config");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config_path, std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
    }
    let mut listener =
        HttpResponse::send(server.addr, "GET /mix HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n").await;
    let mut child = Command::new(ezstream)
        .arg("-c")
        .arg(&config_path)
        .kill_on_drop(true)
        .spawn()
        .expect("run ezstream");
    onair_tests::eventually("ezstream on air", 4 * SECOND, || {
        server.registry.get("mix").is_some_and(|s| s.live.on_air())
    })
    .await;
    listener.read_for(2 * SECOND).await;
    let exit = timeout(20 * SECOND, child.wait())
        .await
        .expect("ezstream ends")
        .expect("ran");
    assert!(exit.success(), "ezstream exit {exit:?}");
    let (audio, blocks) = strip_icy(&listener.body);
    let titles: Vec<String> = blocks.into_iter().filter_map(|(_, t)| t).collect();
    assert!(
        tls || titles.iter().any(|t| t == "StreamTitle='EZ Tune';"),
        "libshout's metadata update reached the listener: {titles:?}"
    );
    assert!(audio.len() > 10_000);
}

/// Liquidsoap (at `binary`, its script in `dir`) encoding a sine of `hz` with `encoder` and
/// pushing it to `server`'s `mount` with `output.icecast`, named `name`.
fn liquidsoap_live(
    binary: &Path,
    dir: &Path,
    server: &TestServer,
    encoder: &str,
    mount: &str,
    name: &str,
    hz: u32,
) -> tokio::process::Child {
    let script = dir.join("live.liq");
    std::fs::write(
        &script,
        format!(
            "settings.log.stdout.set(true)\nsettings.log.file.set(false)\nsettings.init.allow_root.set(true)\n\
             output.icecast({encoder}, host=\"127.0.0.1\", port={port}, password=\"{PASSWORD}\", \
             mount=\"{mount}\", name=\"{name}\", fallible=true, sine({hz}.))\n",
            port = server.addr.port()
        ),
    )
    .expect("write script");
    Command::new(binary)
        .arg(&script)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run liquidsoap")
}

/// Liquidsoap's `output.icecast` (`SOURCE` over HTTP/1.0, no `Host`) encodes and pushes MP3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liquidsoap_goes_live() {
    let Some(liquidsoap) = installed_tool(&["/usr/bin/liquidsoap"], "apt-get install liquidsoap")
    else {
        return;
    };
    let server = mix_live().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut listener = server.get("/mix").await;
    let encoder = "%mp3(bitrate=64, samplerate=44100, stereo=true)";
    let mut child = liquidsoap_live(
        &liquidsoap,
        dir.path(),
        &server,
        encoder,
        "mix",
        "Liq Show",
        440,
    );
    onair_tests::eventually("liquidsoap on air", 20 * SECOND, || {
        server.registry.get("mix").is_some_and(|s| s.live.on_air())
    })
    .await;
    let mix = mix_status(&server).await;
    // The source's user agent is the operator's to see (`/admin/status.json`), not the public's.
    assert!(mix["live"]["user_agent"].is_null(), "{}", mix["live"]);
    assert!(server
        .registry
        .get("mix")
        .and_then(|s| s.live.source())
        .is_some_and(|s| s.user_agent.contains("Liquidsoap")));
    assert_eq!(mix["live"]["ice"]["name"], "Liq Show");
    listener.read_for(2 * SECOND).await;
    let _ = child.kill().await;
    onair_tests::eventually("back to the programme", 10 * SECOND, || {
        server.registry.get("mix").is_some_and(|s| !s.live.on_air())
    })
    .await;
    listener.read_for(SECOND).await;
    assert!(!listener.eof, "the listener stays");
    // Every byte is a whole MPEG frame (a real decoder agrees).
    let capture = dir.path().join("capture.mp3");
    std::fs::write(&capture, &listener.body).expect("write");
    if let Some(errors) = onair_tests::ffmpeg_decode(&capture.display().to_string(), 60).await {
        // The capture's last frame may be cut by the end of the read.
        let real: Vec<&str> = errors
            .lines()
            .filter(|l| !l.contains("Header missing") && !l.trim().is_empty())
            .collect();
        assert!(real.len() <= 1, "ffmpeg: {errors}");
    }
}

/// GStreamer's `shout2send` (libshout) pushes MP3 to an MP3 programme: the station goes live
/// and a listener hears it, with the stream name the encoder gave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gstreamer_shout2send_goes_live() {
    let Some(gst) = installed_tool(
        &["/usr/bin/gst-launch-1.0"],
        "apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good",
    ) else {
        return;
    };
    let Some(_) = ffmpeg() else { return };
    let server = mix_live().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let live = mp3_tone(dir.path(), 4, Some("GStreamer Tune")).await;
    let mut listener = HttpResponse::send(server.addr, "GET /mix HTTP/1.0\r\n\r\n").await;
    let mut child = Command::new(gst)
        .args(["-q", "filesrc"])
        .arg(format!("location={}", live.display()))
        .args([
            "!",
            "id3demux",
            "!",
            "mpegaudioparse",
            "!",
            "shout2send",
            "ip=127.0.0.1",
        ])
        .arg(format!("port={}", server.addr.port()))
        .args(["mount=/mix", "username=source"])
        .arg(format!("password={PASSWORD}"))
        .arg("streamname=GStreamer Show")
        .kill_on_drop(true)
        .spawn()
        .expect("run gst-launch-1.0");
    // The first gst-launch-1.0 on a machine builds GStreamer's plugin registry first.
    onair_tests::eventually("shout2send on air", 20 * SECOND, || {
        server.registry.get("mix").is_some_and(|s| s.live.on_air())
    })
    .await;
    let mix = mix_status(&server).await;
    let live_status = &mix["live"];
    assert_eq!(
        live_status["ice"]["name"], "GStreamer Show",
        "{live_status}"
    );
    assert!(
        server
            .registry
            .get("mix")
            .and_then(|s| s.live.source())
            .is_some_and(|s| s.user_agent.starts_with("GStreamer")),
        "{live_status}"
    );
    // shout2send sends the file's tags as a metadata update (libshout's, through the admin
    // API, after the 401 challenge).
    let mut title = String::new();
    for _ in 0..40 {
        title = mix_status(&server).await["live"]["title"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if title.contains("GStreamer Tune") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(title.contains("GStreamer Tune"), "live title {title:?}");
    listener.read_for(2 * SECOND).await;
    let exit = timeout(20 * SECOND, child.wait())
        .await
        .expect("gst-launch-1.0 ends")
        .expect("ran");
    assert!(exit.success(), "gst-launch-1.0 exit {exit:?}");
    assert!(!listener.eof, "the listener stayed through the show");
    assert!(listener.body.len() > 10_000);
}

/// An MP3 file with a large ID3v2 tag pushed as it is (`ffmpeg -re -i show.mp3 -c copy -f mp3
/// icecast://...`, the README's command) goes live: ffmpeg writes the tag to a stream with no
/// size in its header (it cannot seek back), ~100 KB of it before the first frame, more than a
/// source may send without a frame; onair walks its frames by their own sizes, and its title
/// is the live title. (A picture frame, cover art, is skipped the same way; ffmpeg then holds
/// the audio back behind it for up to 10 s, which `-map 0:a` avoids: the README says so.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mp3_with_a_large_tag_goes_live_with_its_title() {
    let Some(_) = ffmpeg() else { return };
    let server = mix_live().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let show = dir.path().join("show.mp3");
    let made = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i"])
        .arg("sine=frequency=500:sample_rate=44100:duration=12")
        .args([
            "-ac",
            "2",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            "-id3v2_version",
            "3",
        ])
        .args([
            "-metadata",
            "title=Cover Tune",
            "-metadata",
            "artist=The Art",
        ])
        .arg("-metadata")
        .arg(format!("comment={}", "liner notes ".repeat(9_000)))
        .arg(&show)
        .status()
        .await
        .expect("ffmpeg");
    assert!(made.success());
    let head = std::fs::read(&show).expect("read show");
    let tag = 10
        + head[6..10]
            .iter()
            .fold(0usize, |a, &b| (a << 7) | usize::from(b));
    assert!(tag > 64 * 1024, "the notes make a tag of {tag} bytes");
    let mut child = push_mp3(&show, &server);
    // ffmpeg sends in 32 KiB writes: a quarter of a second a write at 128 kb/s.
    onair_tests::eventually("the show on air", 8 * SECOND, || {
        server.registry.get("mix").is_some_and(|s| s.live.on_air())
    })
    .await;
    let live = mix_status(&server).await["live"].clone();
    assert_eq!(live["title"], "The Art - Cover Tune", "{live}");
    let _ = child.kill().await;
}

/// Every switch of an MP3 station decodes cleanly: a listener of the MP3 programme hears a
/// live MP3 show (LAME's frames lean on the bit reservoir of frames before them) take over and
/// the programme come back, and ffmpeg decodes the whole capture without a message (it said
/// "overread" at each switch, and VLC "dequantization failed!").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mp3_takeover_and_fallback_decode_without_a_message() {
    let Some(_) = ffmpeg() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    // Noise: LAME leans on the reservoir nearly every frame, the station's file and the show.
    let noise = |name: &str, seconds: u32| {
        let path = dir.path().join(name);
        let made = std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i"])
            .arg(format!(
                "anoisesrc=color=pink:amplitude=0.5:sample_rate=44100:duration={seconds}"
            ))
            .args(["-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k"])
            .arg(&path)
            .status()
            .expect("ffmpeg");
        assert!(made.success());
        path
    };
    let station = std::fs::read(noise("mix.mp3", 20)).expect("station");
    let live = noise("show.mp3", 4);
    let config = format!("[live]\npassword = \"{PASSWORD}\"\nbuffer_ms = 500\n");
    let server = TestServer::start(&[("mix.mp3", &station)], &config).await;
    let mut listener = HttpResponse::send(server.addr, "GET /mix HTTP/1.0\r\n\r\n").await;
    listener.read_for(SECOND).await;
    let mut child = push_mp3(&live, &server);
    onair_tests::eventually("the show on air", 5 * SECOND, || {
        server.registry.get("mix").is_some_and(|s| s.live.on_air())
    })
    .await;
    let _ = timeout(20 * SECOND, child.wait()).await;
    onair_tests::eventually("the programme back", 10 * SECOND, || {
        server.registry.get("mix").is_some_and(|s| !s.live.on_air())
    })
    .await;
    listener.read_for(2 * SECOND).await;
    let repairs = server
        .registry
        .get("mix")
        .map(|s| {
            s.hub
                .stats()
                .switch_repairs
                .load(std::sync::atomic::Ordering::Relaxed)
        })
        .unwrap_or(0);
    let capture = dir.path().join("capture.mp3");
    std::fs::write(&capture, &listener.body).expect("write capture");
    let decoded = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "verbose", "-i"])
        .arg(&capture)
        .args(["-f", "null", "-"])
        .output()
        .await
        .expect("ffmpeg");
    // ffmpeg 5.1 says "overread" at the verbose level. Its demuxer's notes about the file (no
    // junk skipped, the duration estimated without a Xing header) are not about the audio.
    let messages: Vec<String> = String::from_utf8_lossy(&decoded.stderr)
        .lines()
        .filter(|l| l.starts_with("[mp3"))
        .filter(|l| !l.contains("Estimating duration") && !l.contains("Skipping 0 bytes"))
        .map(str::to_string)
        .collect();
    assert!(
        decoded.status.success() && messages.is_empty(),
        "ffmpeg said (after {repairs} repaired switches): {messages:?}"
    );
    assert!(
        repairs >= 1,
        "no switch needed a repair: the test shows nothing"
    );
    // The repairs are counted where operators look.
    let mut metrics = server.get("/metrics").await;
    metrics.read_full(5 * SECOND).await;
    let metrics = String::from_utf8_lossy(&metrics.body).to_string();
    let carriers = metrics
        .lines()
        .find(|l| l.starts_with("onair_switch_carrier_frames_total{station=\"mix\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .expect("carrier frames counted");
    eprintln!("MP3 switches repaired: {repairs}, carrier frames: {carriers}");
    // The reservoir reaches back 511 bytes at most: two frames' worth at 128 kb/s.
    assert!(carriers >= repairs && carriers <= 2 * repairs, "{metrics}");
}

/// Liquidsoap's `%opus` encoder pushes Ogg Opus to an Opus station: it takes over, gives the
/// station back when it leaves, and the listener connected throughout gets one Ogg stream that
/// ffmpeg decodes without a warning, the programme's own packets around the show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liquidsoap_goes_live_with_opus() {
    let Some(liquidsoap) = installed_tool(&["/usr/bin/liquidsoap"], "apt-get install liquidsoap")
    else {
        return;
    };
    let programme = onair_tests::ogg::opus_fixture("03 Three.opus");
    let config = format!(
        "[pacing]\nburst_ms = 1000\n[live]\npassword = \"{PASSWORD}\"\nbuffer_ms = 500\nsource_timeout_s = 1\n"
    );
    let server = TestServer::start(&[("talk.opus", &programme)], &config).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut listener = server.get("/talk").await;
    let encoder = "%opus(bitrate=64, samplerate=48000, channels=2)";
    let mut child = liquidsoap_live(
        &liquidsoap,
        dir.path(),
        &server,
        encoder,
        "talk",
        "Liq Opus",
        880,
    );
    onair_tests::eventually("liquidsoap on air", 20 * SECOND, || {
        server.registry.get("talk").is_some_and(|s| s.live.on_air())
    })
    .await;
    listener.read_for(3 * SECOND).await;
    let _ = child.kill().await;
    onair_tests::eventually("back to the programme", 10 * SECOND, || {
        server
            .registry
            .get("talk")
            .is_some_and(|s| !s.live.on_air())
    })
    .await;
    listener.read_for(2 * SECOND).await;
    assert!(!listener.eof, "the listener stays");
    let packets = onair_tests::ogg::check_stream(&listener.body);
    let own = onair_tests::ogg::audio_packets("03 Three.opus");
    let last_live = packets
        .iter()
        .rposition(|p| !own.contains(p))
        .expect("the show's packets reached the listener");
    assert!(
        packets[last_live + 1..]
            .iter()
            .filter(|p| own.contains(p))
            .count()
            > 20,
        "the programme came back"
    );
    if let Some(warnings) = onair_tests::ogg::ffmpeg_warnings(&listener.body).await {
        assert_eq!(warnings, "", "ffmpeg decodes through takeover and fallback");
    }
}

/// Liquidsoap's `%ogg(%flac)` encoder pushes FLAC in Ogg to a FLAC station: it takes over,
/// gives the station back when it leaves, and the listener connected throughout gets one Ogg
/// FLAC stream that ffmpeg decodes without a warning: the programme's own samples before and
/// after the show, and the show's sine between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liquidsoap_goes_live_with_ogg_flac() {
    let Some(liquidsoap) = installed_tool(&["/usr/bin/liquidsoap"], "apt-get install liquidsoap")
    else {
        return;
    };
    let track = std::fs::read(onair_tests::fixture("flac").join("03 Three.flac")).expect("track");
    let config = format!(
        "[pacing]\nburst_ms = 1000\n[live]\npassword = \"{PASSWORD}\"\nbuffer_ms = 1000\nsource_timeout_s = 1\n"
    );
    let server = TestServer::start(&[("talk.flac", &track)], &config).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut listener = server.get("/talk").await;
    let encoder = "%ogg(%flac(samplerate=44100, channels=2, bits_per_sample=16))";
    let mut child = liquidsoap_live(
        &liquidsoap,
        dir.path(),
        &server,
        encoder,
        "talk",
        "Liq FLAC",
        880,
    );
    onair_tests::eventually("liquidsoap on air", 20 * SECOND, || {
        server.registry.get("talk").is_some_and(|s| s.live.on_air())
    })
    .await;
    listener.read_for(3 * SECOND).await;
    let _ = child.kill().await;
    onair_tests::eventually("back to the programme", 10 * SECOND, || {
        server
            .registry
            .get("talk")
            .is_some_and(|s| !s.live.on_air())
    })
    .await;
    listener.read_for(3 * SECOND).await;
    assert!(!listener.eof, "the listener stays");
    if let Some(warnings) = onair_tests::ogg::ffmpeg_warnings(&listener.body).await {
        assert_eq!(warnings, "", "ffmpeg decodes through takeover and fallback");
    }
    let (Some(heard), Some(programme)) = (
        onair_tests::ogg::ffmpeg_samples(&listener.body).await,
        onair_tests::ogg::ffmpeg_samples(&track).await,
    ) else {
        return;
    };
    // The programme's own samples (from wherever the broadcast was) at the start and at the
    // end, and between them a stretch that is not the programme: the show.
    let in_programme = |part: &[i16]| programme.windows(part.len()).any(|w| w == part);
    let second = 2 * 44_100;
    assert!(in_programme(&heard[..second / 4]), "the programme first");
    assert!(
        in_programme(&heard[heard.len() - second / 4..]),
        "the programme came back"
    );
    let show = heard
        .chunks(second / 10)
        .filter(|tenth| !in_programme(&tenth[..64.min(tenth.len())]))
        .count();
    assert!(show >= 15, "{show} tenths of a second of the show");
}

/// GStreamer pushing Ogg with `shout2send` (libshout, as butt and Mixxx do), Opus from
/// `opusenc ! oggmux` and FLAC from `flacenc ! oggmux`: each takes over its station, the
/// listener connected throughout decodes the show and the programme around it with no warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gstreamer_pushes_ogg_opus_and_ogg_flac() {
    let Some(gst) = installed_tool(
        &["/usr/bin/gst-launch-1.0"],
        "apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good",
    ) else {
        return;
    };
    let opus = onair_tests::ogg::opus_fixture("03 Three.opus");
    let flac = std::fs::read(onair_tests::fixture("flac").join("03 Three.flac")).expect("flac");
    let config = format!(
        "[pacing]\nburst_ms = 1000\n[live]\npassword = \"{PASSWORD}\"\nbuffer_ms = 1000\nsource_timeout_s = 1\n"
    );
    let server =
        TestServer::start(&[("talk.opus", &opus), ("lossless.flac", &flac)], &config).await;
    for (mount, encode) in [
        ("talk", "audio/x-raw,rate=48000,channels=2 ! opusenc"),
        (
            "lossless",
            "audio/x-raw,rate=44100,channels=2,format=S16LE ! flacenc",
        ),
    ] {
        let mut listener = server.get(&format!("/{mount}")).await;
        // 4 s of a 660 Hz tone at its own pace (shout2send paces by the Ogg granules).
        let pipeline = format!(
            "audiotestsrc num-buffers=180 freq=660 ! audioconvert ! audioresample ! {encode} ! oggmux ! shout2send ip=127.0.0.1 port={port} mount=/{mount} username=source password={PASSWORD}",
            port = server.addr.port()
        );
        let mut child = Command::new(&gst)
            .arg("-q")
            .args(pipeline.split(' '))
            .kill_on_drop(true)
            .spawn()
            .expect("run gst-launch-1.0");
        onair_tests::eventually("shout2send on air", 20 * SECOND, || {
            server.registry.get(mount).is_some_and(|s| s.live.on_air())
        })
        .await;
        let exit = timeout(20 * SECOND, child.wait())
            .await
            .expect("gst-launch-1.0 ends")
            .expect("ran");
        assert!(exit.success(), "{mount}: gst-launch-1.0 exit {exit:?}");
        onair_tests::eventually("back to the programme", 10 * SECOND, || {
            server.registry.get(mount).is_some_and(|s| !s.live.on_air())
        })
        .await;
        listener.read_for(2 * SECOND).await;
        assert!(!listener.eof, "{mount}: the listener stays");
        if let Some(warnings) = onair_tests::ogg::ffmpeg_warnings(&listener.body).await {
            assert_eq!(warnings, "", "{mount}: ffmpeg decodes through the show");
        }
        if mount == "talk" {
            let packets = onair_tests::ogg::check_stream(&listener.body);
            let own = onair_tests::ogg::audio_packets("03 Three.opus");
            let show = packets.iter().filter(|p| !own.contains(p)).count();
            assert!(show > 150, "{show} packets of the show (20 ms each)");
        } else if let (Some(heard), Some(programme)) = (
            onair_tests::ogg::ffmpeg_samples(&listener.body).await,
            onair_tests::ogg::ffmpeg_samples(&flac).await,
        ) {
            let in_programme = |part: &[i16]| programme.windows(part.len()).any(|w| w == part);
            let tenth = 2 * 4_410;
            let show = heard
                .chunks(tenth)
                .filter(|t| !in_programme(&t[..64.min(t.len())]))
                .count();
            assert!(show >= 30, "{show} tenths of a second of the show");
        }
    }
}

/// Liquidsoap's `%vorbis` encoder pushes Ogg Vorbis to a Vorbis station: it takes over, gives
/// the station back when it leaves, and the listener connected throughout decodes the show and
/// the programme's own packets around it (ffmpeg's null-muxer note at a chain's link aside: it
/// says the same of Vorbis files joined with `cat`). At 24 kbit/s libogg sends a page about
/// every 1.3 s, so the source timeout is longer than the other tests' second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liquidsoap_goes_live_with_vorbis() {
    let Some(liquidsoap) = installed_tool(&["/usr/bin/liquidsoap"], "apt-get install liquidsoap")
    else {
        return;
    };
    let programme =
        std::fs::read(onair_tests::fixture("vorbis").join("03 Three.ogg")).expect("programme");
    let config = format!(
        "[pacing]\nburst_ms = 1000\n[live]\npassword = \"{PASSWORD}\"\nbuffer_ms = 500\nsource_timeout_s = 3\n"
    );
    let server = TestServer::start(&[("talk.ogg", &programme)], &config).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut listener = server.get("/talk").await;
    let encoder = "%vorbis(samplerate=44100, channels=2, quality=0.2)";
    let mut child = liquidsoap_live(
        &liquidsoap,
        dir.path(),
        &server,
        encoder,
        "talk",
        "Liq Vorbis",
        880,
    );
    onair_tests::eventually("liquidsoap on air", 20 * SECOND, || {
        server.registry.get("talk").is_some_and(|s| s.live.on_air())
    })
    .await;
    listener.read_for(3 * SECOND).await;
    let _ = child.kill().await;
    onair_tests::eventually("back to the programme", 10 * SECOND, || {
        server
            .registry
            .get("talk")
            .is_some_and(|s| !s.live.on_air())
    })
    .await;
    listener.read_for(3 * SECOND).await;
    assert!(!listener.eof, "the listener stays");
    let stream = onair_tests::ogg::ogg(&listener.body, false);
    let own: Vec<bytes::Bytes> = onair_tests::ogg::ogg(&programme, true).packets[3..].to_vec();
    let audio: Vec<&bytes::Bytes> = stream
        .packets
        .iter()
        .filter(|p| !p.ends_with(b"vorbis") && p.first().is_some_and(|b| b & 1 == 0))
        .collect();
    let last_show = audio
        .iter()
        .rposition(|p| !own.contains(p))
        .expect("the show's packets reached the listener");
    assert!(
        audio[last_show + 1..]
            .iter()
            .filter(|p| own.contains(p))
            .count()
            > 20,
        "the programme came back"
    );
    if let Some(warnings) = onair_tests::ogg::ffmpeg_warnings(&listener.body).await {
        let warnings: Vec<&str> = warnings
            .lines()
            .filter(|l| !l.contains("non monotonically increasing dts to muxer"))
            .collect();
        assert!(
            warnings.is_empty(),
            "ffmpeg decodes through the show: {warnings:?}"
        );
    }
}

/// ezstream (libshout, as butt and Mixxx) streams Ogg files as they are (`<format>Ogg</format>`,
/// paced by libshout from their granule positions): an Ogg Opus file to an Opus station and an
/// Ogg Vorbis file to a Vorbis station each take over, and the listener connected throughout
/// decodes the show's packets and the programme's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ezstream_streams_ogg_opus_and_ogg_vorbis() {
    let Some(ezstream) = installed_tool(&["/usr/bin/ezstream"], "apt-get install ezstream") else {
        return;
    };
    let read = |dir: &str, name: &str| {
        std::fs::read(onair_tests::fixture(dir).join(name)).expect("fixture")
    };
    let config = format!(
        "[pacing]\nburst_ms = 1000\n[live]\npassword = \"{PASSWORD}\"\nbuffer_ms = 500\nsource_timeout_s = 3\n"
    );
    let server = TestServer::start(
        &[
            ("talk.opus", &read("opus", "03 Three.opus")),
            ("vorbis.ogg", &read("vorbis", "03 Three.ogg")),
        ],
        &config,
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    for (mount, show, programme) in [
        ("talk", ("opus", "01 One.opus"), ("opus", "03 Three.opus")),
        (
            "vorbis",
            ("vorbis", "01 One.ogg"),
            ("vorbis", "03 Three.ogg"),
        ),
    ] {
        let file = dir.path().join(show.1);
        std::fs::write(&file, read(show.0, show.1)).expect("write");
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ezstream>
  <servers><server><protocol>HTTP</protocol><hostname>127.0.0.1</hostname><port>{port}</port>
    <user>source</user><password>{PASSWORD}</password><tls>None</tls></server></servers>
  <streams><stream><mountpoint>/{mount}</mountpoint><format>Ogg</format><stream_name>EZ Ogg</stream_name></stream></streams>
  <intakes><intake><type>file</type><filename>{file}</filename><stream_once>Yes</stream_once></intake></intakes>
</ezstream>
"#,
            port = server.addr.port(),
            file = file.display()
        );
        let config_path = dir.path().join(format!("{mount}.xml"));
        std::fs::write(&config_path, xml).expect("write config");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&config_path, std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
        }
        let mut listener = server.get(&format!("/{mount}")).await;
        let mut child = Command::new(&ezstream)
            .arg("-c")
            .arg(&config_path)
            .kill_on_drop(true)
            .spawn()
            .expect("run ezstream");
        onair_tests::eventually("ezstream on air", 10 * SECOND, || {
            server.registry.get(mount).is_some_and(|s| s.live.on_air())
        })
        .await;
        let exit = timeout(20 * SECOND, child.wait())
            .await
            .expect("ezstream ends")
            .expect("ran");
        assert!(exit.success(), "{mount}: ezstream exit {exit:?}");
        onair_tests::eventually("back to the programme", 10 * SECOND, || {
            server.registry.get(mount).is_some_and(|s| !s.live.on_air())
        })
        .await;
        listener.read_for(2 * SECOND).await;
        let stream = onair_tests::ogg::ogg(&listener.body, false);
        let packets_of = |bytes: &[u8]| onair_tests::ogg::ogg(bytes, true).packets;
        let shown = packets_of(&read(show.0, show.1));
        let own = packets_of(&read(programme.0, programme.1));
        let heard_show = stream
            .packets
            .iter()
            .filter(|p| shown.contains(p) && !own.contains(p))
            .count();
        assert!(heard_show > 50, "{mount}: {heard_show} packets of the show");
        if let Some(warnings) = onair_tests::ogg::ffmpeg_warnings(&listener.body).await {
            let warnings: Vec<&str> = warnings
                .lines()
                .filter(|l| !l.contains("non monotonically increasing dts to muxer"))
                .collect();
            assert!(
                warnings.is_empty(),
                "{mount}: ffmpeg decodes it: {warnings:?}"
            );
        }
    }
}
