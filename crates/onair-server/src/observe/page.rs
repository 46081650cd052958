//! `GET /`: the web page listing every station on air (`page.html`, no external assets), with
//! live titles and counts pushed over `/events`; `GET /embed/<name>`: the same page with one
//! station, for other sites' iframes.

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::Response;

use super::view::{For, StationView};
use std::sync::Arc;

use crate::app::App;
use crate::http::body::Body;
use crate::http::responses::html_escape;
use crate::stations::Station;

/// The web page: every station on air, with its stream, playlists and HLS.
pub fn page(app: &App) -> Response<Body> {
    let stations = app.registry.list();
    let summary = match stations.len() {
        0 => "no stations on air".to_string(),
        1 => "1 station on air".to_string(),
        n => format!("{n} stations on air"),
    };
    render(&stations, &summary, None)
}

/// `/embed/<name>`: the page with one station, for another site's `<iframe>` (no header; the
/// same player, titles, counts and Media Session).
pub fn embed(station: &Arc<Station>) -> Response<Body> {
    render(std::slice::from_ref(station), "", Some(&station.name))
}

fn render(stations: &[Arc<Station>], summary: &str, only: Option<&str>) -> Response<Body> {
    let mut list = String::new();
    for station in stations {
        let view = StationView::of(station, "", For::Public);
        let name = html_escape(&view.name);
        let title = html_escape(&view.title);
        let playing = html_escape(&view.more.playing);
        list.push_str(&format!(
            "<article class=\"card plain\"><h2 class=\"title\"><a href=\"/{name}\">{title}</a></h2>"
        ));
        if let Some(genre) = &view.genre {
            list.push_str(&format!("<p class=\"genre\">{}</p>", html_escape(genre)));
        }
        if let Some(description) = &view.description {
            list.push_str(&format!(
                "<p class=\"description\">{}</p>",
                html_escape(description)
            ));
        }
        let hls = match view.more.hls {
            true => format!(" <a href=\"/{name}.m3u8\">HLS</a>"),
            false => String::new(),
        };
        list.push_str(&format!(
            "<p class=\"now\">Now playing: {playing}</p><p class=\"links\"><a href=\"/{name}\">stream</a> <a href=\"/{name}.m3u\">.m3u</a> <a href=\"/{name}.pls\">.pls</a>{hls}</p></article>\n"
        ));
    }
    let mut html = include_str!("page.html")
        .replacen("<!--stations-->", &list, 1)
        .replacen("<!--summary-->", summary, 1);
    if let Some(only) = only {
        html = html.replacen(
            "<body>",
            &format!("<body data-only=\"{}\">", html_escape(only)),
            1,
        );
    }
    let mut response = Response::new(Body::full(html));
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
