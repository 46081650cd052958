//! What operators and pages see of the server: counters, status documents, events, metrics and
//! the web page.
//!
//! - [`stats`]: server-wide counters.
//! - [`sessions`]: where every station's sessions are reported (counters, the access log).
//! - [`outbox`]: POSTs to the operator's services that nothing waits for (`listener_remove`),
//!   queued, bounded and retried.
//! - [`analytics`]: who heard what, kept across restarts, and the reports made of it.
//! - [`hooks`]: webhooks: what happens on air, POSTed as JSON through the outbox.
//! - [`background`]: a thread of its own behind a bounded queue, for what writes to disk.
//! - [`access_log`]: one line per request in Apache's combined format, to a file or stdout.
//! - [`events`]: `/events`, server-sent events for the web page, one publisher for all clients.
//! - [`slots`]: a scheduled station's slot on now and the next one, for status and events.
//! - [`relays`]: a station's relay, for status and events.
//! - [`view`]: the [`StationView`](view::StationView): a station as operators and pages see it,
//!   built once and rendered by every status endpoint, public or the operator's.
//! - [`status`]: `/status.json` and Icecast's `/status-json.xsl`.
//! - [`metrics`]: `/metrics` in Prometheus text format.
//! - [`dashboard`]: `GET /admin/`, the operator's dashboard (`dashboard.html`).
//! - [`page`]: `GET /`, the web page (`page.html`).

pub mod access_log;
pub mod analytics;
pub mod background;
pub mod dashboard;
pub mod events;
pub mod hooks;
pub mod metrics;
pub mod outbox;
pub mod page;
pub mod relays;
pub mod sessions;
pub mod slots;
pub mod stats;
pub mod status;
pub mod view;
