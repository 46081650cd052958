//! Where a request goes: decided once, from its path, for the direct stream path and hyper alike.

use onair_core::Codec;

/// What an HLS request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HlsRequest {
    /// The media playlist.
    Playlist,
    /// The multivariant playlist.
    Main,
    /// Segment `k`, named with this extension (a codec's: `aac`, `mp3`, `m4s`).
    Segment(u64, &'static str),
    /// The initialization segment of a station served in fragmented MP4 (`init.mp4`).
    Init,
}

/// The first path segments the router keeps for itself (`/events`, `/healthz`, `/metrics`,
/// `/status.json` and `/status-json.xsl`, `/admin/...`): no station may be named so, or its
/// stream, playlists or segments would be answered by something else. Station naming reads
/// them here, and a test checks them against [`Route::of`].
pub const BUILT_IN: [&str; 6] = ["admin", "embed", "events", "healthz", "metrics", "status"];

/// An admin command (`/admin/<command>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCommand {
    /// `/admin/metadata` (or `metadata.xsl`): the live title.
    Metadata,
    /// `/admin/killsource`: cut the live source off.
    KillSource,
    /// `/admin/listclients`: listeners and source.
    ListClients,
    /// `/admin/status.json`: `/status.json` with what only the operator sees (the source's
    /// address and user agent).
    Status,
    /// `/admin/reports`: who heard what (analytics), as JSON or CSV.
    Reports,
    /// `/admin/killclient`: remove one stream listener (by its `id` in listclients).
    KillClient,
    /// `/admin/` (or `/admin/dashboard`): the operator's dashboard page.
    Dashboard,
    /// Any other.
    Unknown,
}

/// Where a request goes, decided once from its path (the direct stream path and hyper both
/// ask here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/`: the web page.
    Page,
    /// `/healthz`.
    Health,
    /// `/status.json`.
    Status,
    /// `/status-json.xsl`: Icecast's shape.
    Icestats,
    /// `/events`.
    Events,
    /// `/metrics`.
    Metrics,
    /// `/admin/...`: Icecast's admin API.
    Admin(AdminCommand),
    /// `/embed/<name>`: one station's player, for other sites' iframes.
    Embed(&'a str),
    /// `/<name>`, `/<name>.aac` or `/<name>.mp3`: a station's stream.
    Stream(&'a str),
    /// `/<name>.m3u` or `/<name>.pls`.
    Playlist(&'a str, PlaylistKind),
    /// `/<name>.m3u8`, `/<name>/index.m3u8`, `/<name>/<k>.aac` (or `.mp3`): HLS.
    Hls(&'a str, HlsRequest),
}

/// The playlist formats served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaylistKind {
    /// `.m3u`
    M3u,
    /// `.pls`
    Pls,
}

impl<'a> Route<'a> {
    /// The route of `path` (the path of the request target, without its query).
    pub fn of(path: &'a str) -> Route<'a> {
        match path {
            "/" => Route::Page,
            "/healthz" => Route::Health,
            "/status.json" => Route::Status,
            "/status-json.xsl" => Route::Icestats,
            "/events" => Route::Events,
            "/metrics" => Route::Metrics,
            "/admin/metadata" | "/admin/metadata.xsl" => Route::Admin(AdminCommand::Metadata),
            "/admin/killsource" | "/admin/killsource.xsl" => Route::Admin(AdminCommand::KillSource),
            "/admin/listclients" | "/admin/listclients.xsl" => {
                Route::Admin(AdminCommand::ListClients)
            }
            "/admin/status.json" => Route::Admin(AdminCommand::Status),
            "/admin" | "/admin/" | "/admin/dashboard" => Route::Admin(AdminCommand::Dashboard),
            "/admin/reports" => Route::Admin(AdminCommand::Reports),
            "/admin/killclient" | "/admin/killclient.xsl" => Route::Admin(AdminCommand::KillClient),
            _ if path.starts_with("/admin/") => Route::Admin(AdminCommand::Unknown),
            _ if path.starts_with("/embed/") => Route::Embed(&path["/embed/".len()..]),
            _ => {
                let name = path.strip_prefix('/').unwrap_or(path);
                if let Some((name, file)) = name.split_once('/') {
                    return match file {
                        "index.m3u8" => Route::Hls(name, HlsRequest::Main),
                        "init.mp4" => Route::Hls(name, HlsRequest::Init),
                        _ => match segment_name(file) {
                            Some((k, extension)) => {
                                Route::Hls(name, HlsRequest::Segment(k, extension))
                            }
                            // No station has a `/` in its name: a 404 names the stations.
                            None => Route::Stream(path),
                        },
                    };
                }
                match name.rsplit_once('.') {
                    Some((name, "m3u8")) => Route::Hls(name, HlsRequest::Playlist),
                    Some((name, "m3u")) => Route::Playlist(name, PlaylistKind::M3u),
                    Some((name, "pls")) => Route::Playlist(name, PlaylistKind::Pls),
                    Some((name, suffix)) if Codec::of_stream_extension(suffix).is_some() => {
                        Route::Stream(name)
                    }
                    _ => Route::Stream(name),
                }
            }
        }
    }
}

/// The value of `key` in a query string (as it is, not decoded), if it is there.
pub fn query_value<'a>(query: Option<&'a str>, key: &str) -> Option<&'a str> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then_some(v)
    })
}

/// Segment `k` from `<k>.<extension>` (a codec's segment extension: `aac`, `mp3`), where `<k>`
/// is written the one way onair writes it (decimal digits, no sign, no leading zero): every
/// other spelling of a segment is not one, so a client cannot make a cache miss of one segment
/// under many names.
fn segment_name(file: &str) -> Option<(u64, &'static str)> {
    let (digits, extension) = file.rsplit_once('.')?;
    let extension = Codec::of_segment_extension(extension)?.segment_extension()?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    let k = digits.parse().ok().filter(|_| canonical)?;
    Some((k, extension))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_names_are_exactly_those_the_router_keeps_from_stations() {
        // A station's paths: its stream, playlists and segments.
        let station_paths = |name: &str| {
            [
                format!("/{name}"),
                format!("/{name}.json"),
                format!("/{name}-json.xsl"),
                format!("/{name}.m3u8"),
                format!("/{name}/index.m3u8"),
                format!("/{name}/0.aac"),
                format!("/{name}/metadata"),
            ]
        };
        let taken = |name: &str| {
            station_paths(name).iter().any(|path| {
                !matches!(
                    Route::of(path),
                    Route::Stream(_) | Route::Hls(..) | Route::Playlist(..)
                )
            })
        };
        for name in BUILT_IN {
            assert!(taken(name), "{name} is not taken by the router");
        }
        for name in ["jazz", "admins", "event", "lounge", "status-fm"] {
            assert!(!taken(name), "{name} is taken");
        }
    }

    #[test]
    fn paths() {
        assert_eq!(Route::of("/"), Route::Page);
        assert_eq!(Route::of("/jazz"), Route::Stream("jazz"));
        assert_eq!(Route::of("/jazz.aac"), Route::Stream("jazz"));
        assert_eq!(
            Route::of("/jazz.pls"),
            Route::Playlist("jazz", PlaylistKind::Pls)
        );
        assert_eq!(
            Route::of("/jazz.m3u8"),
            Route::Hls("jazz", HlsRequest::Playlist)
        );
        assert_eq!(
            Route::of("/jazz/index.m3u8"),
            Route::Hls("jazz", HlsRequest::Main)
        );
        assert_eq!(
            Route::of("/jazz/42.aac"),
            Route::Hls("jazz", HlsRequest::Segment(42, "aac"))
        );
        assert_eq!(
            Route::of("/jazz/42.mp3"),
            Route::Hls("jazz", HlsRequest::Segment(42, "mp3"))
        );
        assert_eq!(
            Route::of("/jazz/0.aac"),
            Route::Hls("jazz", HlsRequest::Segment(0, "aac"))
        );
        // One name per segment: no sign, no leading zero, no other spelling.
        for other in [
            "/jazz/042.aac",
            "/jazz/+42.aac",
            "/jazz/00.aac",
            "/jazz/.aac",
        ] {
            assert_eq!(Route::of(other), Route::Stream(other), "{other}");
        }
        assert_eq!(Route::of("/jazz.mp3"), Route::Stream("jazz"));
        assert_eq!(Route::of("/jazz/x.aac"), Route::Stream("/jazz/x.aac"));
        assert_eq!(Route::of("/../etc/passwd"), Route::Stream("/../etc/passwd"));
    }
}
