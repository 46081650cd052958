//! The listening socket and the descriptors behind connections: a large backlog, the raised
//! open-file limit, and the cap that keeps a reserve of descriptors for the stations' files.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Pending connections the kernel queues before `accept`: a burst of thousands of listeners
/// tuning in at once must not be refused.
const LISTEN_BACKLOG: i32 = 4096;
/// File descriptors kept for files, the watcher and logs, beside one per listener.
const SPARE_DESCRIPTORS: u64 = 256;

/// Binds `addr` with a large backlog and address reuse (a restart must not wait for TIME_WAIT).
pub fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Raises the soft open-file limit to the hard limit (every listener is a descriptor), and
/// warns when `max_listeners` cannot fit in it.
pub fn raise_descriptor_limit(max_listeners: Option<u64>) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            tracing::debug!(limit, "open-file limit");
            if let Some(max) = max_listeners {
                if max + SPARE_DESCRIPTORS > limit {
                    tracing::warn!(
                        limit,
                        max_listeners = max,
                        "the open-file limit cannot hold max_listeners; raise it (ulimit -n, LimitNOFILE=) or lower max_listeners"
                    );
                }
            }
        }
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
    }
}

/// Connections open now, against a cap that leaves descriptors for everything else.
pub struct Slots {
    open: Arc<AtomicUsize>,
    cap: usize,
    /// The cap was reached (said once until connections are taken again).
    full: AtomicBool,
}

/// One connection's place under the cap, given back when the connection ends.
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Slots {
    /// The cap of this process: its open-file limit less a reserve (a quarter of the limit,
    /// between 16 and [`SPARE_DESCRIPTORS`]) for station files, probes, the watcher and logs.
    pub fn for_this_process() -> Slots {
        let limit = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
        let reserve = (limit / 4).clamp(16, SPARE_DESCRIPTORS);
        let cap = usize::try_from(limit.saturating_sub(reserve)).unwrap_or(usize::MAX);
        tracing::debug!(limit, cap, "connections capped");
        Slots {
            open: Arc::new(AtomicUsize::new(0)),
            cap,
            full: AtomicBool::new(false),
        }
    }

    /// A place for one more connection, if there is one.
    pub fn take(&self) -> Option<Slot> {
        let taken = self
            .open
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.cap).then_some(n + 1)
            });
        let Ok(before) = taken else {
            if !self.full.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    cap = self.cap,
                    "connection cap reached: new connections are closed until some end (descriptors are kept for the stations' files)"
                );
            }
            return None;
        };
        // Said again only after the crowd has thinned out well below the cap.
        if before < self.cap / 10 * 9 {
            self.full.store(false, Ordering::Relaxed);
        }
        Some(Slot(Arc::clone(&self.open)))
    }
}

/// Whether an accept error is the peer's (it gave up before we accepted): nothing to do.
pub fn is_peer_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
