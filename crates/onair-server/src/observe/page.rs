//! `GET /`: the web page listing every station on air (`page.html`, no external assets), with
//! live titles and counts pushed over `/events`.

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::Response;

use crate::app::App;
use crate::http::body::Body;
use crate::http::responses::html_escape;

/// The web page: every station on air, with its stream, playlists and HLS.
pub fn page(app: &App) -> Response<Body> {
    let stations = app.registry.list();
    let mut list = String::new();
    for station in &stations {
        let meta = station.meta();
        let name = html_escape(&station.name);
        let title = html_escape(&meta.title);
        let now = station.hub.now_playing();
        let playing = html_escape(&station.stream_title(now.as_deref().map(|n| &*n.track)));
        list.push_str(&format!(
            "<article class=\"card plain\"><h2 class=\"title\"><a href=\"/{name}\">{title}</a></h2>"
        ));
        if let Some(genre) = &meta.genre {
            list.push_str(&format!("<p class=\"genre\">{}</p>", html_escape(genre)));
        }
        if let Some(description) = &meta.description {
            list.push_str(&format!(
                "<p class=\"description\">{}</p>",
                html_escape(description)
            ));
        }
        let hls = match station.info().codec().segment_extension() {
            Some(_) => format!(" <a href=\"/{name}.m3u8\">HLS</a>"),
            None => String::new(),
        };
        list.push_str(&format!(
            "<p class=\"now\">Now playing: {playing}</p><p class=\"links\"><a href=\"/{name}\">stream</a> <a href=\"/{name}.m3u\">.m3u</a> <a href=\"/{name}.pls\">.pls</a>{hls}</p></article>\n"
        ));
    }
    let summary = match stations.len() {
        0 => "no stations on air".to_string(),
        1 => "1 station on air".to_string(),
        n => format!("{n} stations on air"),
    };
    let html = include_str!("page.html")
        .replacen("<!--stations-->", &list, 1)
        .replacen("<!--summary-->", &summary, 1);
    let mut response = Response::new(Body::full(html));
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
