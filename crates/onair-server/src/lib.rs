//! The onair server: config, station registry, HTTP routes, the accept loop and shutdown.
//!
//! The `onair` binary is a thin shell over [`run`]; tests start the same [`Server`] on
//! `127.0.0.1:0` and talk to it over TCP.
//!
//! # Layout
//!
//! - [`cli`]: the command line, and how it combines with the config file.
//! - [`check`]: `onair check`, which validates the config and every station without serving.
//! - [`config`]: `config/config.toml`, its defaults and its errors (file, line, column, key).
//! - [`naming`]: which files are stations, and the mount point of each.
//! - [`discovery`]: the station files and programme folders the config and the stations folder
//!   name, with their tracks.
//! - [`registry`]: the stations on air: one [`onair_core::Hub`] and one pacer task each.
//! - [`supervisor`]: restarts a station's pacer that panicked.
//! - [`app`]: what every request handler shares.
//! - [`routes`]: what each request gets (the table of endpoints is there).
//! - [`body`]: response bodies, among them a listener's endless audio stream.
//! - [`icy`]: ICY metadata blocks woven into a stream every 16000 bytes.
//! - [`hls`]: HLS playlists and segments, cut on demand from the station clock.
//! - [`status`]: `/status.json` and Icecast's `/status-json.xsl`.
//! - [`events`]: `/events`, server-sent events for the web page (`page.html`).
//! - [`metrics`]: `/metrics` in Prometheus text format.
//! - [`stats`]: server-wide counters, and why listener sessions end.
//! - [`proxy`]: the listener's address behind a trusted reverse proxy.
//! - [`timed_io`]: the socket wrapper that drops listeners whose socket accepts nothing.
//! - [`watcher`]: watches the stations folder and the config file, applying changes live.
//! - [`settle`]: decides when a station file is completely written (a pure state machine).
//! - [`http`]: one decision point per request: reads each request head, parses its `Route`
//!   once, writes station streams straight to the socket (no per-connection hyper buffers for
//!   hours-long listeners), and hands the rest to hyper.
//! - [`server`]: the listening socket, the accept loop, connections and shutdown.
//!
//! Audio flows: station file -> `onair_core` source and pacer -> hub -> one
//! [`body::ListenerBody`] per listener -> [`http`]'s stream writer -> [`timed_io::TimedIo`] ->
//! socket.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod app;
mod body;
mod check;
mod cli;
mod config;
mod discovery;
mod events;
mod hls;
mod http;
mod icy;
mod metrics;
mod naming;
mod proxy;
mod registry;
mod routes;
mod server;
mod settle;
mod stats;
mod status;
mod supervisor;
mod timed_io;
mod watcher;

// The seams: what the binary, the tests and the benches build on.
pub use check::{check, CheckSummary};
pub use cli::{Cli, Command};
pub use config::{Config, ConfigError, ConfigSource};
pub use icy::{IcyCursor, IcyNext, IcyTitle, METAINT};
pub use registry::{Station, StationMeta, StationRegistry};
pub use server::{Server, ServerError};

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
        let message = supervisor::panic_message(info.payload());
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
