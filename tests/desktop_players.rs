//! Desktop players on Ogg stations: mpv and VLC play an Ogg Opus and an Ogg FLAC programme and
//! show the tracks' titles as they change (ICY metadata, which both ask for and read for Ogg
//! too).

use std::path::Path;
use std::time::Duration;

use onair_tests::{fixture, installed_tool, TestServer};

/// The three tracks of each programme, and the titles their tags give.
const TITLES: [&str; 3] = ["Test Trio - One", "Café Noir", "03 Three"];

async fn ogg_stations() -> TestServer {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (dir, ext) in [("opus", "opus"), ("flac", "flac")] {
        for track in ["01 One", "02 Two", "03 Three"] {
            let bytes =
                std::fs::read(fixture(dir).join(format!("{track}.{ext}"))).expect("fixture");
            files.push((format!("{ext}/{track}.{ext}"), bytes));
        }
    }
    TestServer::start_owned(&files, "").await
}

/// What `program` printed (stdout and stderr) playing for at most `seconds` (it is stopped then).
async fn output_of(mut command: tokio::process::Command, seconds: u64) -> String {
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("the player runs");
    let output = tokio::time::timeout(Duration::from_secs(seconds + 10), child.wait_with_output())
        .await
        .expect("the player stops")
        .expect("its output");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpv_shows_the_titles_of_ogg_opus_and_ogg_flac_stations() {
    let Some(mpv) = installed_tool(&["/usr/bin/mpv"], "apt-get install mpv") else {
        return;
    };
    let server = ogg_stations().await;
    for (station, codec) in [("opus", "opus"), ("flac", "flac")] {
        // Stopped after 9 s of wall time (`--length` counts media time, which an Ogg FLAC
        // stream's first page jumps: see below).
        let mut command = tokio::process::Command::new("timeout");
        command
            .arg("9")
            .arg(&mpv)
            .args(["--no-config", "--no-video", "--ao=null"])
            .arg(format!("http://{}/{station}", server.addr));
        let said = output_of(command, 9).await;
        assert!(said.contains(&format!("({codec} 2ch")), "{station}: {said}");
        // A metadata block every 16,000 bytes (2.7 s of this Opus) meets most of the 2 s
        // tracks: the titles change on screen.
        let shown = TITLES
            .iter()
            .filter(|t| said.contains(&format!("icy-title: {t}")))
            .count();
        assert!(
            shown >= 2,
            "{station}: mpv shows the titles as they change: {said}"
        );
        assert!(!said.contains("rror"), "{station}: {said}");
        // Measured, and left as it is: mpv dates an Ogg FLAC stream's first page from the header
        // pages' granule position (0: it has no FLAC packet durations to count back from the
        // first audio page's), so it says once that the time jumped, then plays on.
        let jumps = said.matches("Invalid audio PTS").count();
        assert!(jumps <= usize::from(station == "flac"), "{station}: {said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vlc_shows_the_titles_of_ogg_opus_and_ogg_flac_stations() {
    let Some(vlc) = installed_tool(
        &["/usr/bin/cvlc"],
        "apt-get install vlc-bin vlc-plugin-base",
    ) else {
        return;
    };
    let server = ogg_stations().await;
    for (station, decoder) in [("opus", "opus"), ("flac", "flac")] {
        // VLC refuses to run as root: as `nobody` there (CI runs as root).
        let root = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false);
        let mut command = if root {
            let mut c = tokio::process::Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "env",
                "HOME=/tmp",
            ])
            .arg(Path::new(&vlc));
            c
        } else {
            tokio::process::Command::new(&vlc)
        };
        command
            .args(["--intf", "dummy", "-vv", "--run-time=8", "--play-and-exit"])
            .args(["--aout", "dummy"])
            .arg(format!("http://{}/{station}", server.addr));
        let said = output_of(command, 8).await;
        assert!(
            said.contains("using demux module \"ogg\""),
            "{station}: {said}"
        );
        assert!(
            said.contains(&format!("using audio decoder module \"{decoder}\"")),
            "{station}: {said}"
        );
        let shown = TITLES
            .iter()
            .filter(|t| said.contains(&format!("New Icy-Title={t}")))
            .count();
        assert!(shown >= 2, "{station}: VLC shows the titles as they change");
    }
}
