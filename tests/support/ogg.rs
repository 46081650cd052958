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

/// Checks that a listener's stream is the station's header pages, then pages of one logical
/// stream whose sequence numbers and granule positions count on; returns its audio packets.
pub fn check_stream(body: &[u8]) -> Vec<Bytes> {
    let stream = ogg(body, false);
    assert!(stream.pages.len() > 3, "{} pages", stream.pages.len());
    let (head, tags) = (&stream.pages[0], &stream.pages[1]);
    assert_eq!(head.flags, 0x02, "a BOS page first");
    assert_eq!((head.sequence, tags.sequence), (0, 1));
    assert!(stream.packets[0].starts_with(b"OpusHead"));
    assert!(stream.packets[1].starts_with(b"OpusTags"));
    let audio = &stream.pages[2..];
    for pair in audio.windows(2) {
        assert_eq!(pair[1].serial, head.serial, "one logical stream");
        assert_eq!(pair[1].sequence, pair[0].sequence + 1, "pages counted on");
        assert!(pair[1].granule > pair[0].granule, "granules counted on");
    }
    assert!(audio[0].sequence > 1);
    stream.packets[2..].to_vec()
}

/// What ffmpeg says of `bytes` decoded whole (warnings and errors), `None` without ffmpeg.
pub async fn ffmpeg_warnings(bytes: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("capture.ogg");
    std::fs::write(&path, bytes).expect("write capture");
    let output = tokio::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "warning", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .await;
    match output {
        Ok(output) => Some(String::from_utf8_lossy(&output.stderr).into_owned()),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!(
                "SKIPPED: ffmpeg cannot run ({e}), so no real decoder checked the Opus stream"
            );
            None
        }
        Err(e) => panic!("cannot run ffmpeg: {e} (apt-get install ffmpeg; .ci/run does this)"),
    }
}
