//! HTTP around hyper: one decision point for where a request goes, and the direct path that
//! writes station streams straight onto the socket.
//!
//! - [`head`]: reads a request head (bare LF, trickled, pipelined, half-closed) and sorts it.
//! - [`route`]: the [`Route`](route::Route) of a path, parsed once.
//! - [`writer`]: the [`StreamWriter`](writer::StreamWriter) and the socket buffer bounds.

pub mod head;
pub mod route;
pub mod writer;
