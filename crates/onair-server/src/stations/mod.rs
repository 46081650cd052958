//! The stations: which ones the config and the stations folder name, what each plays, and
//! keeping them on air as files come and go.
//!
//! - [`origin`]: where a station's audio comes from ([`Origin`]: a file or a folder), and the
//!   one place that says what that means for it.
//! - [`discovery`]: the station files and programme folders the config and the stations folder
//!   name, with their tracks.
//! - [`identity`]: which version of a file is which.
//! - [`catalogue`]: every track probed, by file and version, and the probes under way.
//! - [`admission`]: the one rule for which tracks a station admits (its format).
//! - [`desired`]: what should be on air, as the last look saw it.
//! - [`assembly`]: a station's programme put together from the probes and the format rule.
//! - [`scheduled`]: a scheduled station's plan: its schedule from the config and the
//!   programmes, laid on its timeline ahead of the clock.
//! - [`anchor`]: edits timed by the files' modification times (`edits = "file_times"`), so
//!   that a replica restarted after an edit agrees with those that lived through it; and
//!   [`anchored`]: a living station going on as a replica started now would.
//! - [`silence`]: the silence a live-only station plays between shows.
//! - [`audience`]: who listens, stream and HLS: admission, sessions, and what each leaves behind.
//! - [`live`]: a station's live side: the buffer a source feeds, and who is connected.
//! - [`relayed`]: a station's relay: its settings from the config, and what it is doing.
//! - [`station`]: one station on air: hub, timeline, HLS window and audience, metadata, switches.
//! - [`registry`]: the stations on air, and the one place each station's fate is decided.
//! - [`tasks`]: the tasks that run a station (pacer, planner, relay), owned by the registry.
//! - [`supervisor`]: restarts a station's pacer that panicked.
//! - [`report`]: what the operator is told about stations.
//! - [`settle`]: decides when a file is completely written (a pure state machine).
//! - [`watcher`]: watches the stations folder and the config file, applying changes live.

pub mod admission;
pub mod anchor;
pub mod anchored;
pub mod assembly;
pub mod audience;
pub mod catalogue;
pub mod desired;
pub mod discovery;
pub mod identity;
pub mod live;
pub mod origin;
pub mod registry;
pub mod relayed;
pub mod report;
pub mod scheduled;
pub mod settle;
pub mod silence;
pub mod station;
pub mod supervisor;
pub mod tasks;
pub mod watcher;

pub use origin::Origin;
pub use registry::StationRegistry;
pub use station::{Station, StationMeta};
