//! Password guessing, slowed: an address that fails to log in too often is refused for a while.
//!
//! A pure state machine over instants the caller gives (tested with fixed ones). It is bounded:
//! it forgets addresses whose failures are old, and never tracks more than [`MAX_TRACKED`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::sync::lock;

/// Failures an address may have within [`WINDOW`] before it is refused.
pub const MAX_FAILURES: u32 = 5;
/// How far back failures count, and how long an address is refused after too many.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Most addresses tracked; past it, the oldest are forgotten.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    first: Instant,
    refused_until: Option<Instant>,
}

/// What the guard says of an attempt from an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let it try.
    Allowed,
    /// Too many failures: refused for this long still.
    Refused(Duration),
}

/// Failed logins per address.
#[derive(Debug, Default)]
pub struct LoginGuard {
    records: Mutex<HashMap<IpAddr, Record>>,
}

impl LoginGuard {
    /// Whether `address` may try to log in at `now`.
    pub fn check(&self, address: IpAddr, now: Instant) -> Verdict {
        let records = lock(&self.records);
        match records.get(&address).and_then(|r| r.refused_until) {
            Some(until) if until > now => Verdict::Refused(until - now),
            _ => Verdict::Allowed,
        }
    }

    /// Records a failed login from `address` at `now`; returns whether it is the first of a
    /// run (to be logged: later ones in the same window are not).
    pub fn failed(&self, address: IpAddr, now: Instant) -> bool {
        let mut records = lock(&self.records);
        if records.len() >= MAX_TRACKED && !records.contains_key(&address) {
            records.retain(|_, r| now.saturating_duration_since(r.first) < WINDOW);
            if records.len() >= MAX_TRACKED {
                // Under a flood of addresses: the guard forgets rather than grows.
                records.clear();
            }
        }
        let record = records.entry(address).or_insert(Record {
            failures: 0,
            first: now,
            refused_until: None,
        });
        if now.saturating_duration_since(record.first) >= WINDOW {
            *record = Record {
                failures: 0,
                first: now,
                refused_until: None,
            };
        }
        record.failures += 1;
        if record.failures >= MAX_FAILURES {
            record.refused_until = Some(now + WINDOW);
        }
        record.failures == 1
    }

    /// Forgets `address`'s failures (it logged in).
    pub fn succeeded(&self, address: IpAddr) {
        lock(&self.records).remove(&address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_failures_refuse_an_address_for_a_while_and_no_other() {
        let guard = LoginGuard::default();
        let t0 = Instant::now();
        let (bad, good): (IpAddr, IpAddr) = (
            "192.0.2.1".parse().expect("ip"),
            "192.0.2.2".parse().expect("ip"),
        );
        assert!(guard.failed(bad, t0), "the first failure is said");
        for i in 1..MAX_FAILURES {
            assert_eq!(
                guard.check(bad, t0 + Duration::from_secs(u64::from(i))),
                Verdict::Allowed
            );
            assert!(!guard.failed(bad, t0 + Duration::from_secs(u64::from(i))));
        }
        let t = t0 + Duration::from_secs(10);
        assert!(matches!(guard.check(bad, t), Verdict::Refused(_)));
        assert_eq!(guard.check(good, t), Verdict::Allowed);
        // A while later it may try again.
        let later = t0 + Duration::from_secs(4) + WINDOW + Duration::from_secs(1);
        assert_eq!(guard.check(bad, later), Verdict::Allowed);
        assert!(guard.failed(bad, later), "a new run is said again");
        guard.succeeded(bad);
        assert_eq!(guard.check(bad, later), Verdict::Allowed);
    }
}
