//! `.m3u` and `.pls` playlists that name a stream (what radio directories and Shoutcast hand
//! out): the first stream URL they list.

/// Most bytes of a playlist read: a playlist naming a stream is a few lines.
pub const MAX_PLAYLIST_BYTES: usize = 64 * 1024;

/// What kind of document an upstream answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Audio.
    Stream,
    /// An `.m3u` playlist (one URL a line, `#` comments).
    M3u,
    /// A `.pls` playlist (`File1=...`).
    Pls,
    /// An HLS playlist (`#EXT-X-...`), not a stream.
    Hls,
}

/// What the upstream answered with, by its content type, else the URL's extension.
pub fn answer_kind(content_type: Option<&str>, path: &str) -> Answer {
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match essence.as_str() {
        "audio/x-scpls" | "audio/scpls" => return Answer::Pls,
        "application/vnd.apple.mpegurl" => return Answer::Hls,
        "audio/x-mpegurl" | "audio/mpegurl" | "application/x-mpegurl" => return Answer::M3u,
        _ => {}
    }
    let path = path.to_ascii_lowercase();
    if essence.starts_with("audio/") && !essence.contains("url") {
        Answer::Stream
    } else if path.ends_with(".pls") {
        Answer::Pls
    } else if path.ends_with(".m3u8") {
        Answer::Hls
    } else if path.ends_with(".m3u") {
        Answer::M3u
    } else {
        Answer::Stream
    }
}

/// The first stream URL in a playlist `text` of `kind` (an `.m3u` may also turn out to be HLS).
pub fn first_url(kind: Answer, text: &str) -> Result<String, &'static str> {
    let lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    match kind {
        Answer::Pls => lines
            .filter_map(|l| l.split_once('='))
            .find(|(key, _)| key.trim().to_ascii_lowercase().starts_with("file"))
            .map(|(_, url)| url.trim().to_string())
            .ok_or("the .pls playlist names no File1="),
        _ => {
            if text.contains("#EXT-X-") {
                return Err("an HLS playlist, not a stream: relay the station's stream URL");
            }
            lines
                .map(|l| l.trim_start_matches('\u{feff}'))
                .find(|l| !l.starts_with('#'))
                .map(str::to_string)
                .ok_or("the .m3u playlist names no URL")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlists_name_their_first_stream() {
        let pls = "[playlist]\nNumberOfEntries=2\nFile1=http://a.example:8000/live\nTitle1=A\nFile2=http://b.example/live\n";
        assert_eq!(
            first_url(Answer::Pls, pls).as_deref(),
            Ok("http://a.example:8000/live")
        );
        let m3u =
            "\u{feff}#EXTM3U\n#EXTINF:-1,Radio\r\nhttp://a.example/stream\r\nhttp://b.example/\n";
        assert_eq!(
            first_url(Answer::M3u, m3u).as_deref(),
            Ok("http://a.example/stream")
        );
        assert!(first_url(Answer::M3u, "#EXTM3U\n#EXT-X-TARGETDURATION:6\nseg.ts\n").is_err());
        assert!(first_url(Answer::Pls, "[playlist]\n").is_err());
        assert!(first_url(Answer::M3u, "#EXTM3U\n").is_err());
    }

    #[test]
    fn the_content_type_says_first_then_the_extension() {
        assert_eq!(answer_kind(Some("audio/mpeg"), "/x.m3u"), Answer::Stream);
        assert_eq!(answer_kind(Some("audio/x-scpls"), "/listen"), Answer::Pls);
        assert_eq!(answer_kind(Some("audio/x-mpegurl"), "/listen"), Answer::M3u);
        assert_eq!(answer_kind(Some("text/plain"), "/listen.pls"), Answer::Pls);
        assert_eq!(answer_kind(None, "/live.m3u"), Answer::M3u);
        assert_eq!(answer_kind(None, "/live.m3u8"), Answer::Hls);
        assert_eq!(answer_kind(None, "/live"), Answer::Stream);
    }
}
