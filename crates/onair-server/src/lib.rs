//! The onair server: config, station registry, HTTP routes, the accept loop and shutdown.
//!
//! The `onair` binary is a thin shell over [`run`]; tests start the same [`Server`] on
//! `127.0.0.1:0` and talk to it over TCP.
//!
//! # Layout
//!
//! One folder per concern; a folder imports only the ones above it in this list (and the
//! core), so there are no circles between modules.
//!
//! - [`sync`]: locks that shrug off poisoning.
//! - [`http`]: HTTP's vocabulary, below everything that knows about stations: request heads,
//!   the one [`Route`](http::route::Route) of a path, bodies, small answers, the stream writer,
//!   the timed socket, proxies, ICY metadata.
//! - [`config`]: `config/config.toml`, its defaults and its errors (file, line, column, key),
//!   and the rules for station names.
//! - [`stations`]: discovery, probes, the format rule, each [`Station`] and the
//!   [`StationRegistry`] that decides each station's fate in one place, the folder watcher.
//! - [`hls`]: HLS playlists and packed-audio segments, cut from each station's segment window.
//! - [`tls`]: the HTTPS listener's certificate, checked, and reloaded when renewed.
//! - [`observe`]: counters, `/status.json`, `/events`, `/metrics`, the web page.
//! - [`app`]: what every request handler shares.
//! - [`live`]: live sources: Icecast's source protocol (ingest) and admin API.
//! - [`relay`]: relays: a station pulls its live audio from another server.
//! - [`serve`]: the accept loops (plain and HTTPS) and connections, the direct path for endless
//!   responses, the one place every request is answered, and a listener's stream.
//! - [`check`]: `onair check`, which validates the config and every station without serving.
//! - [`cli`]: the command line, and how it combines with the config file.
//!
//! A request: [`serve::front`] accepts (a TLS one decrypted by rustls, [`tls`]'s certificate)
//! -> [`serve::direct`] reads its head -> [`http::route`]
//! names it -> [`serve::routes`] answers it (a stream, [`hls`], [`observe`]). A chunk: the
//! core's pacer -> hub -> [`serve::body`] -> [`http::writer`] -> [`http::timed_io`] -> socket.
//! A segment: [`hls`] -> the station's `SegmentWindow` -> the timeline's files. A config edit or
//! a new file: [`stations::watcher`] -> [`stations::registry`] (reconcile, apply). A live
//! source: [`serve::direct`] -> [`live::ingest`] -> the station's live input -> the core's
//! live feed -> the same pacer and hub.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod check;
pub mod cli;
pub mod config;
pub mod hls;
pub mod http;
pub mod live;
pub mod observe;
pub mod relay;
pub mod serve;
pub mod stations;
mod sync;
pub mod tls;

// The seams: what the binary, the tests and the benches build on.
pub use check::{check, CheckSummary};
pub use cli::{Cli, Command};
pub use config::{Config, ConfigError, ConfigSource};
pub use http::icy::{IcyCursor, IcyNext, IcyTitle, METAINT};
pub use serve::server::{Server, ServerError};
pub use stations::{Station, StationMeta, StationRegistry};

/// Runs onair with the config from `source` until SIGINT or SIGTERM: what `main` does.
pub async fn run(source: ConfigSource) -> Result<(), ServerError> {
    let server = Server::bind(source).await?;
    server.run(shutdown_signal()).await;
    Ok(())
}

/// Routes panics to the log: a panic in a connection or a station task is contained by its task
/// (the connection closes, the pacer restarts) and logged here with where it happened.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| l.to_string()).unwrap_or_default();
        let message = stations::supervisor::panic_message(info.payload());
        tracing::error!(%location, panic = %message, "a task panicked; it is contained");
    }));
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
