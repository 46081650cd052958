//! Ogg streams as the tests read them: pages checked and taken apart, a listener's stream
//! checked to be one station's Ogg stream, and ffmpeg's verdict on it.

use bytes::Bytes;
use onair_core::ogg::{scan_page, Packets, PageHeader, PageScan};

use crate::fixture;

/// An Opus fixture (`tests/fixtures/opus/`, made by its `make.sh`).
pub fn opus_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture("opus").join(name)).expect("opus fixture")
}

/// An Ogg stream taken apart: its pages' headers, and its packets in order.
pub struct Ogg {
    /// Its pages' headers.
    pub pages: Vec<PageHeader>,
    /// Its packets, in order.
    pub packets: Vec<Bytes>,
}

/// Every page of `bytes` (which must be nothing but whole, good pages) and the packets in them.
pub fn ogg(bytes: &[u8], whole: bool) -> Ogg {
    let (mut pages, mut packets, mut reader) = (Vec::new(), Vec::new(), Packets::default());
    let mut at = 0;
    while at < bytes.len() {
        let header = match scan_page(&bytes[at..], true) {
            PageScan::Page(header) => header,
            // A capture cut off inside its last page.
            _ if !whole => break,
            other => panic!("not a page at byte {at}: {other:?}"),
        };
        let page = Bytes::copy_from_slice(&bytes[at..at + header.page_len()]);
        reader.push(&header, &page, &mut packets).expect("packets");
        pages.push(header);
        at += header.page_len();
    }
    Ogg { pages, packets }
}

/// The audio packets of a track file (its packets after `OpusHead` and `OpusTags`).
pub fn audio_packets(name: &str) -> Vec<Bytes> {
    let file = ogg(&opus_fixture(name), true);
    assert!(file.packets[0].starts_with(b"OpusHead") && file.packets[1].starts_with(b"OpusTags"));
    file.packets[2..].to_vec()
}

/// Checks that a listener's stream is a chain of Ogg Opus links, each its header pages (an
/// `OpusHead` on a `BOS` page, then `OpusTags`) and then pages of one serial number whose
/// sequence numbers and granule positions count on (after the header pages of a link joined in
/// the middle, from where the broadcast was); returns the audio packets, in order, and how many
/// links there were.
pub fn check_chain(body: &[u8]) -> (Vec<Bytes>, usize) {
    let stream = ogg(body, false);
    assert!(stream.pages.len() > 3, "{} pages", stream.pages.len());
    assert_eq!(stream.pages[0].flags & 0x02, 0x02, "a BOS page first");
    let mut previous: Option<&PageHeader> = None;
    let mut links = 0;
    for page in &stream.pages {
        if page.flags & 0x02 != 0 {
            links += 1;
            assert_eq!(page.sequence, 0, "a link starts at page 0");
            previous = Some(page);
            continue;
        }
        let before = previous.expect("pages after a BOS page");
        assert_eq!(
            page.serial, before.serial,
            "one serial number within a link"
        );
        if before.sequence != 1 {
            assert_eq!(
                page.sequence,
                before.sequence + 1,
                "pages counted on within a link"
            );
            assert!(
                page.granule >= before.granule,
                "granules counted on within a link"
            );
        }
        previous = Some(page);
    }
    let heads = stream
        .packets
        .iter()
        .filter(|p| p.starts_with(b"OpusHead"))
        .count();
    let tags = stream
        .packets
        .iter()
        .filter(|p| p.starts_with(b"OpusTags"))
        .count();
    assert_eq!(
        (heads, tags),
        (links, links),
        "each link's header packets, once"
    );
    let audio = stream
        .packets
        .into_iter()
        .filter(|p| !p.starts_with(b"OpusHead") && !p.starts_with(b"OpusTags"))
        .collect();
    (audio, links)
}

/// The audio packets of a listener's stream (see [`check_chain`]).
pub fn check_stream(body: &[u8]) -> Vec<Bytes> {
    check_chain(body).0
}

/// What ffmpeg says of `bytes` decoded whole (warnings and errors), read from a pipe as a
/// player reads a stream (from a file, ffmpeg seeks to its end for a duration, which a chain
/// cut off anywhere does not give); `None` without ffmpeg.
pub async fn ffmpeg_warnings(bytes: &[u8]) -> Option<String> {
    let output = ffmpeg_on(bytes, &["-v", "warning", "-i", "pipe:0", "-f", "null", "-"]).await?;
    Some(String::from_utf8_lossy(&output.stderr).into_owned())
}

/// What `bytes` decode to with ffmpeg (from a pipe), 48 kHz, the left channel; `None` without
/// ffmpeg.
pub async fn ffmpeg_pcm(bytes: &[u8]) -> Option<Vec<i16>> {
    let args = [
        "-v", "error", "-i", "pipe:0", "-f", "s16le", "-ac", "2", "-ar", "48000", "-",
    ];
    let output = ffmpeg_on(bytes, &args).await?;
    Some(
        output
            .stdout
            .chunks_exact(4)
            .map(|s| i16::from_le_bytes([s[0], s[1]]))
            .collect(),
    )
}

/// What `bytes` decode to with ffmpeg (from a pipe), as they are: interleaved 16-bit samples at
/// the stream's own rate and channels (for a lossless stream, the very samples encoded); `None`
/// without ffmpeg.
pub async fn ffmpeg_samples(bytes: &[u8]) -> Option<Vec<i16>> {
    let args = ["-v", "error", "-i", "pipe:0", "-f", "s16le", "-"];
    let output = ffmpeg_on(bytes, &args).await?;
    Some(
        output
            .stdout
            .chunks_exact(2)
            .map(|s| i16::from_le_bytes([s[0], s[1]]))
            .collect(),
    )
}

/// ffmpeg run with `args`, `bytes` on its standard input; `None` without ffmpeg (outside CI).
async fn ffmpeg_on(bytes: &[u8], args: &[&str]) -> Option<std::process::Output> {
    use tokio::io::AsyncWriteExt;
    let child = tokio::process::Command::new("ffmpeg")
        .arg("-nostdin")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!(
                "SKIPPED: ffmpeg cannot run ({e}), so no real decoder checked the Ogg stream"
            );
            return None;
        }
        Err(e) => panic!("cannot run ffmpeg: {e} (apt-get install ffmpeg; .ci/run does this)"),
    };
    let mut stdin = child.stdin.take().expect("stdin");
    let input = bytes.to_vec();
    let feed = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
    });
    let output = child.wait_with_output().await.expect("ffmpeg runs");
    let _ = feed.await;
    Some(output)
}

/// Where `pcm` (48 kHz) goes quiet for a 5 ms window against its median loudness (a gap an
/// encoder's priming or padding leaves): each quiet window's start, in seconds.
pub fn quiet_windows(pcm: &[i16]) -> Vec<f64> {
    let window = 240;
    let rms: Vec<f64> = pcm
        .chunks_exact(window)
        .map(|w| {
            (w.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / window as f64).sqrt()
        })
        .collect();
    let mut sorted = rms.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    rms.iter()
        .enumerate()
        .filter(|(_, &r)| r < median * 0.25)
        .map(|(i, _)| (i * window) as f64 / 48_000.0)
        .collect()
}
