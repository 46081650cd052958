//! One simulated HLS player: polls a live playlist and fetches each new segment once, as
//! players do, checking what it gets.
//!
//! Over one keep-alive connection (reopened if the server closes it), it fetches the playlist,
//! then every half target duration again, and each segment it has not fetched yet, in order. It
//! checks that every segment starts with the ID3 PRIV timestamp, holds whole frames (ADTS or MPEG audio), and
//! follows the previous one: the next index (none missing) and a timestamp equal to the
//! previous one plus its duration on the 90 kHz clock.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use crate::listener::{connect, Target};
use crate::stream_check::FrameWalker;

/// What one player saw.
#[derive(Debug, Default, Clone)]
pub struct HlsOutcome {
    /// Playlist requests answered 200.
    pub playlists: u64,
    /// Segment requests answered 200.
    pub segments: u64,
    /// Failed requests, by reason.
    pub errors: BTreeMap<String, u64>,
    /// Segment fetch times (request to last byte), in milliseconds.
    pub segment_ms: Vec<f64>,
    /// Segments whose timestamp does not follow the previous one's.
    pub continuity_faults: u64,
    /// Segments skipped over (an index missing from what the player fetched).
    pub missing: u64,
    /// Segments that are not an ID3 tag followed by whole frames.
    pub bad_segments: u64,
}

/// Plays `target` (a media playlist URL) for `seconds`; `n` numbers the player.
pub async fn play(target: &Target, seconds: Duration, n: u32) -> HlsOutcome {
    let mut outcome = HlsOutcome::default();
    let mut conn: Option<TcpStream> = None;
    let until = Instant::now() + seconds;
    let base = target
        .path
        .rsplit_once('/')
        .map_or("", |(dir, _)| dir)
        .to_string();
    // (index, timestamp, duration in 90 kHz ticks) of the last segment fetched.
    let mut last: Option<(u64, u64, u64)> = None;
    let mut poll = Duration::from_secs(3);
    while Instant::now() < until {
        let listed = match get(&mut conn, target, &target.path, n).await {
            Ok((200, body)) => {
                outcome.playlists += 1;
                parse_playlist(&String::from_utf8_lossy(&body))
            }
            Ok((status, _)) => {
                note(&mut outcome, format!("playlist: HTTP {status}"));
                None
            }
            Err(e) => {
                note(&mut outcome, format!("playlist: {e}"));
                None
            }
        };
        if let Some((target_duration, segments)) = listed {
            poll = Duration::from_secs(target_duration.max(1)) / 2;
            let newest = segments.last().map_or(0, |(k, _)| *k);
            for (k, uri) in segments {
                if last.is_some_and(|(seen, _, _)| k <= seen) {
                    continue;
                }
                // A player joins near the live edge: the last three segments.
                if last.is_none() && k + 2 < newest {
                    continue;
                }
                let path = if uri.starts_with('/') {
                    uri.clone()
                } else {
                    format!("{base}/{uri}")
                };
                let asked = Instant::now();
                match get(&mut conn, target, &path, n).await {
                    Ok((200, body)) => {
                        outcome.segments += 1;
                        outcome
                            .segment_ms
                            .push(asked.elapsed().as_secs_f64() * 1000.0);
                        check_segment(&mut outcome, &mut last, k, &body);
                    }
                    Ok((status, _)) => note(&mut outcome, format!("segment: HTTP {status}")),
                    Err(e) => note(&mut outcome, format!("segment: {e}")),
                }
            }
        }
        let next = Instant::now() + poll;
        if next >= until {
            break;
        }
        tokio::time::sleep_until(next).await;
    }
    outcome
}

fn note(outcome: &mut HlsOutcome, error: String) {
    *outcome.errors.entry(error).or_insert(0) += 1;
}

fn check_segment(
    outcome: &mut HlsOutcome,
    last: &mut Option<(u64, u64, u64)>,
    k: u64,
    body: &[u8],
) {
    let Some((pts, frames)) = split_segment(body) else {
        outcome.bad_segments += 1;
        return;
    };
    let mut walker = FrameWalker::default();
    walker.feed(frames);
    if walker.resyncs > 0
        || walker.garbage > 0
        || walker.frames == 0
        || walker.sync_at_start != Some(true)
        || !walker.between_frames()
    {
        outcome.bad_segments += 1;
    }
    let ticks = (u128::from(walker.audio_ns) * 90_000 / 1_000_000_000) as u64;
    if let Some((prev_k, prev_pts, prev_ticks)) = *last {
        if k != prev_k + 1 {
            outcome.missing += k.saturating_sub(prev_k + 1);
        } else if pts.abs_diff((prev_pts + prev_ticks) % (1 << 33)) > 1 {
            outcome.continuity_faults += 1;
        }
    }
    *last = Some((k, pts, ticks));
}

/// The PRIV timestamp and the bytes after the ID3 tag.
fn split_segment(body: &[u8]) -> Option<(u64, &[u8])> {
    if body.len() < 10 || &body[..3] != b"ID3" {
        return None;
    }
    let size = body[6..10]
        .iter()
        .fold(0usize, |a, &b| (a << 7) | usize::from(b & 0x7F));
    let tag = body.get(..10 + size)?;
    let owner = b"com.apple.streaming.transportStreamTimestamp\0";
    let at = tag.windows(owner.len()).position(|w| w == owner)? + owner.len();
    let pts = u64::from_be_bytes(tag.get(at..at + 8)?.try_into().ok()?);
    Some((pts, &body[10 + size..]))
}

/// The target duration and the `(index, uri)` of each listed segment.
fn parse_playlist(text: &str) -> Option<(u64, Vec<(u64, String)>)> {
    if !text.starts_with("#EXTM3U") {
        return None;
    }
    let mut target = 6;
    let mut sequence = 0;
    let mut uris = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            target = t.trim().parse().ok()?;
        } else if let Some(s) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            sequence = s.trim().parse().ok()?;
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            uris.push(line.trim().to_string());
        }
    }
    let segments = uris
        .into_iter()
        .enumerate()
        .map(|(i, uri)| (sequence + i as u64, uri))
        .collect();
    Some((target, segments))
}

/// `GET path` on the keep-alive connection (opened or reopened as needed): status and body.
async fn get(
    conn: &mut Option<TcpStream>,
    target: &Target,
    path: &str,
    n: u32,
) -> Result<(u16, Vec<u8>), String> {
    let mut last_error = String::new();
    for _ in 0..2 {
        let mut stream = match conn.take() {
            Some(stream) => stream,
            None => match timeout(Duration::from_secs(10), connect(target.addr, n)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return Err(format!("connect: {}", e.kind())),
                Err(_) => return Err("connect: timed out".into()),
            },
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: onair-loadgen-hls/{n}\r\n\r\n",
            target.host
        );
        match timeout(Duration::from_secs(10), exchange(&mut stream, &request)).await {
            Ok(Ok((status, body, keep))) => {
                if keep {
                    *conn = Some(stream);
                }
                return Ok((status, body));
            }
            // A keep-alive connection the server closed: once more on a new one.
            Ok(Err(e)) => last_error = e,
            Err(_) => return Err("timed out".into()),
        }
    }
    Err(last_error)
}

/// Sends `request` and reads one response with a `Content-Length`: status, body, and whether
/// the connection stays open.
async fn exchange(stream: &mut TcpStream, request: &str) -> Result<(u16, Vec<u8>, bool), String> {
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send: {}", e.kind()))?;
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err("head too long".into());
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) => return Err("closed before the head".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("read: {}", e.kind())),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.strip_prefix(&format!("{name}:"))
                .map(|v| v.trim().to_string())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .ok_or("no content-length")?;
    let keep = header("connection").is_none_or(|v| v != "close");
    let mut body = buf.split_off(head_end);
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
        match stream.read(&mut chunk).await {
            Ok(0) => return Err("closed inside the body".into()),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("read: {}", e.kind())),
        }
    }
    body.truncate(length);
    Ok((status, body, keep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlists_and_segments() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:7\n#EXT-X-MEDIA-SEQUENCE:41\n#EXTINF:6.0,\njazz/41.aac\n#EXTINF:6.0,\njazz/42.aac\n";
        let (target, segments) = parse_playlist(text).expect("playlist");
        assert_eq!(target, 7);
        assert_eq!(
            segments,
            vec![(41, "jazz/41.aac".into()), (42, "jazz/42.aac".into())]
        );
        assert!(parse_playlist("<html>").is_none());
        assert!(split_segment(b"\xFF\xF1").is_none());
    }
}
