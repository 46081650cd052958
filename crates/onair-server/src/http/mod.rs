//! HTTP's vocabulary, below everything that knows about stations: reading request heads,
//! routing a path once, building small answers, bodies, the socket writer, and the wire
//! formats around a stream. Nothing here imports a room above it.
//!
//! - [`head`]: reads a request head (bare LF, trickled, pipelined, half-closed) without hyper's
//!   per-connection buffers.
//! - [`route`]: the [`Route`](route::Route) of a path, parsed once: the one decision point for
//!   where a request goes.
//! - [`body`]: the [`Body`](body::Body) of every response: whole, or endless behind one trait.
//! - [`responses`]: text, JSON, 503, cache validators, text made safe for headers and HTML.
//! - [`writer`]: the [`StreamWriter`](writer::StreamWriter) that writes endless bodies straight
//!   to the socket, and the socket buffer bounds.
//! - [`activity`]: whether an HTTP/2 connection has responses open, and since when not.
//! - [`timed_io`]: the socket wrapper that drops clients whose socket accepts nothing.
//! - [`proxy`]: the client's address behind a trusted reverse proxy.
//! - [`icy`]: ICY metadata blocks, woven into a stream every 16,000 bytes.
//! - [`auth`]: Basic credentials, compared in constant time.
//! - [`guard`]: the [`LoginGuard`](guard::LoginGuard) that refuses an address guessing
//!   passwords for a while.
//! - [`request_body`]: a request body read as it comes (close-delimited, sized or chunked).
//! - [`client`]: one POST to the operator's services (URL authentication, webhooks).

pub mod activity;
pub mod auth;
pub mod body;
pub mod client;
pub mod guard;
pub mod head;
pub mod icy;
pub mod proxy;
pub mod request_body;
pub mod responses;
pub mod route;
pub mod timed_io;
pub mod writer;
