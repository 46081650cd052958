//! Where a request goes: decided once, from its path, for the direct stream path and hyper alike.

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
    /// `/<name>` or `/<name>.aac`: a station's stream.
    Stream(&'a str),
    /// `/<name>.m3u` or `/<name>.pls`.
    Playlist(&'a str, PlaylistKind),
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
            _ => {
                let name = path.strip_prefix('/').unwrap_or(path);
                match name.rsplit_once('.') {
                    Some((name, "m3u")) => Route::Playlist(name, PlaylistKind::M3u),
                    Some((name, "pls")) => Route::Playlist(name, PlaylistKind::Pls),
                    Some((name, "aac")) => Route::Stream(name),
                    _ => Route::Stream(name),
                }
            }
        }
    }
}
