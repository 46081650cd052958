//! Serving: the accept loop, each connection's opening, the one place a request is answered,
//! and a listener's stream.
//!
//! - [`server`]: the listening socket, the front-door runtime that accepts and opens
//!   connections, hyper for everything that is not endless, and the one shutdown sequence.
//! - [`listener`]: the listening socket, the open-file limit, and the connection cap that keeps
//!   descriptors for the stations' files.
//! - [`direct`]: reads each request head and answers endless requests (streams, `/events`)
//!   itself, with no hyper buffers held for hours.
//! - [`routes`]: what each request gets: the single decision point for every answer.
//! - [`body`]: a listener's stream: burst, live chunks, ICY metadata, the access-log line.

pub mod body;
pub mod direct;
pub mod listener;
pub mod routes;
pub mod server;
