//! Serving: the accept loop, each connection's opening, the one place a request is answered,
//! and a listener's stream.
//!
//! - [`server`]: binding the plain and HTTPS sockets, and the one shutdown sequence.
//! - [`front`]: the front-door runtime whose accept loops take every connection.
//! - [`connection`]: one connection, plain or TLS: its opening, its hand-off to the main
//!   runtime, and hyper (HTTP/1.1, or HTTP/2 over TLS) for everything that is not endless.
//! - [`h2`]: HTTP/2 audio streams held to HTTP/1.1's rules: dropped when they take nothing for
//!   `client_timeout_s`, a few a connection.
//! - [`movable`]: a TCP socket that moves between runtimes under a TLS session.
//! - [`listener`]: the listening socket, the open-file limit, and the connection cap that keeps
//!   descriptors for the stations' files.
//! - [`direct`]: reads each request head and answers endless requests (streams, `/events`)
//!   itself, with no hyper buffers held for hours.
//! - [`routes`]: what each request gets: the single decision point for every answer.
//! - [`urls`]: the base URL listeners reach the server at, and the redirect to HTTPS.
//! - [`gate`]: a closed station's gate: what a request offers, put to the station's rule.
//! - [`who`]: who asks (behind trusted proxies), and the request line with its secrets left out.
//! - [`body`]: a listener's stream: burst, live chunks, ICY metadata; its session's end.

pub mod body;
pub mod connection;
pub mod direct;
pub mod front;
pub mod gate;
pub mod h2;
pub mod listener;
pub mod movable;
pub mod routes;
pub mod server;
pub mod urls;
pub mod who;
