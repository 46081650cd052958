//! Broadcast: one station's chunks fanned out to every listener.
//!
//! - [`chunk`]: the unit of broadcast, shared by reference, and the track it belongs to
//!   ([`NowPlaying`], [`TrackMeta`]).
//! - [`hub`]: the per-station connection pool: burst ring plus broadcast channel.
//! - [`subscription`]: one listener's stream: burst, then live chunks, skipping forward on lag.
//! - [`packaging`]: a station's container (Ogg), written once per station as chunks are
//!   published, and the header pages every listener gets first.
//!
//! The hub and its subscriptions are one concern: a subscription is the hub's receiving end.

pub(crate) mod chunk;
pub(crate) mod hub;
pub(crate) mod packaging;
pub(crate) mod subscription;

pub use chunk::{Chunk, NowPlaying, TrackMeta};
pub use hub::{Hub, HubStats, Refused, Tuning};
pub use packaging::{Begin, Link, Marks, Packaged, Packaging};
pub use subscription::Subscription;
