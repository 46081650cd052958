//! Password guessing, slowed: an address that fails to log in too often is refused for a while,
//! and guesses spread over many addresses are slowed as a whole.
//!
//! A pure state machine over instants the caller gives (tested with fixed ones). The address it
//! is given is the client's (after `trusted_proxies`), never a proxy's: counting the proxy would
//! let five wrong passwords from anywhere lock every presenter out.
//!
//! Three rules:
//! - **Per address**: [`MAX_FAILURES`] within [`WINDOW`] refuse that address for a window.
//! - **In all**: past [`GLOBAL_FAILURES`] failures within a window from any addresses, an
//!   address that has not logged in before gets one try every [`GLOBAL_PACE`] between them all,
//!   so a guesser with a thousand addresses guesses no faster than one with one. Addresses that
//!   logged in lately (presenters, the operator) are not slowed.
//! - **Bounded**: at most [`MAX_TRACKED`] addresses; past it the oldest record is evicted, never
//!   all of them (a locked-out address stays locked out however many others guess).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::sync::lock;

/// Failures an address may have within [`WINDOW`] before it is refused.
pub const MAX_FAILURES: u32 = 5;
/// How far back failures count, and how long an address is refused after too many.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Failures from all addresses within a window past which logins are slowed.
pub const GLOBAL_FAILURES: u32 = 30;
/// While slowed: one try every this long from addresses that have not logged in before.
pub const GLOBAL_PACE: Duration = Duration::from_secs(2);
/// Most addresses tracked; past it, the oldest record is evicted.
const MAX_TRACKED: usize = 10_000;
/// Addresses remembered as having logged in (not slowed by the global rule).
const MAX_KNOWN: usize = 1_000;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    first: Instant,
    last: Instant,
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

/// What a failure means for the log: one line a run, not one an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noted {
    /// Part of a run already said.
    Quiet,
    /// The first failure of a run (no failure within the window before it): say it.
    FirstOfRun,
    /// This failure put the whole server over [`GLOBAL_FAILURES`]: say that logins are slowed.
    Slowing,
}

#[derive(Debug, Default)]
struct State {
    records: HashMap<IpAddr, Record>,
    /// Addresses that logged in, oldest first.
    known: VecDeque<IpAddr>,
    /// Failures from any address in the current global window, and when it began.
    global: Option<(Instant, u32)>,
    /// While slowed: the next instant an unknown address may try.
    next_try: Option<Instant>,
}

/// Failed logins per client address, and in all.
#[derive(Debug, Default)]
pub struct LoginGuard {
    state: Mutex<State>,
}

impl LoginGuard {
    /// Whether `address` may try to log in at `now`. While logins are slowed, a yes takes the
    /// next global try.
    pub fn check(&self, address: IpAddr, now: Instant) -> Verdict {
        let mut state = lock(&self.state);
        if let Some(until) = state.records.get(&address).and_then(|r| r.refused_until) {
            if until > now {
                return Verdict::Refused(until - now);
            }
        }
        if !Self::slowed(&state, now) || state.known.contains(&address) {
            return Verdict::Allowed;
        }
        match state.next_try {
            Some(at) if at > now => Verdict::Refused(at - now),
            _ => {
                state.next_try = Some(now + GLOBAL_PACE);
                Verdict::Allowed
            }
        }
    }

    /// Records a failed login from `address` at `now`, and says whether to log it.
    pub fn failed(&self, address: IpAddr, now: Instant) -> Noted {
        let mut state = lock(&self.state);
        let state = &mut *state;
        if state.records.len() >= MAX_TRACKED && !state.records.contains_key(&address) {
            state
                .records
                .retain(|_, r| r.refused_until.is_some_and(|u| u > now) || now - r.last < WINDOW);
            if state.records.len() >= MAX_TRACKED {
                // Under a flood of addresses: the oldest goes, not everyone's record, and one
                // that is only counting before one that is refused.
                let oldest = state
                    .records
                    .iter()
                    .min_by_key(|(_, r)| (r.refused_until.is_some_and(|u| u > now), r.last))
                    .map(|(a, _)| *a);
                if let Some(oldest) = oldest {
                    state.records.remove(&oldest);
                }
            }
        }
        let record = state.records.entry(address).or_insert(Record {
            failures: 0,
            first: now,
            last: now,
            refused_until: None,
        });
        if now.saturating_duration_since(record.first) >= WINDOW {
            *record = Record {
                failures: 0,
                first: now,
                last: now,
                refused_until: None,
            };
        }
        record.failures += 1;
        record.last = now;
        if record.failures >= MAX_FAILURES {
            record.refused_until = Some(now + WINDOW);
        }
        let (began, count) = match state.global {
            Some((began, count)) if now.saturating_duration_since(began) < WINDOW => {
                (began, count + 1)
            }
            _ => (now, 1),
        };
        state.global = Some((began, count));
        if count == 1 {
            Noted::FirstOfRun
        } else if count == GLOBAL_FAILURES {
            Noted::Slowing
        } else {
            Noted::Quiet
        }
    }

    /// Forgets `address`'s failures (it logged in) and remembers it as a known address.
    pub fn succeeded(&self, address: IpAddr) {
        let mut state = lock(&self.state);
        state.records.remove(&address);
        if let Some(at) = state.known.iter().position(|a| *a == address) {
            state.known.remove(at);
        }
        if state.known.len() >= MAX_KNOWN {
            state.known.pop_front();
        }
        state.known.push_back(address);
    }

    fn slowed(state: &State, now: Instant) -> bool {
        state.global.is_some_and(|(began, count)| {
            count >= GLOBAL_FAILURES && now.saturating_duration_since(began) < WINDOW
        })
    }
}

/// Says a failed login of `what` (`"admin"`, `"live source"`) in the log as the guard noted it:
/// the first of a run with its address and user, the global rule once when it starts.
pub fn log_failure(noted: Noted, what: &str, station: &str, address: IpAddr, user: &str) {
    match noted {
        Noted::Quiet => {}
        Noted::FirstOfRun => {
            tracing::warn!(station, %address, user, "{what} login failed (more failures this minute are not logged one by one)");
        }
        Noted::Slowing => tracing::warn!(
            failures = GLOBAL_FAILURES,
            "many failed logins from many addresses within a minute: logins from addresses that have not logged in before are slowed to one every {} s",
            GLOBAL_PACE.as_secs()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(0xC000_0200 + n))
    }

    #[test]
    fn too_many_failures_refuse_an_address_for_a_while_and_no_other() {
        let guard = LoginGuard::default();
        let t0 = Instant::now();
        let (bad, good) = (ip(1), ip(2));
        assert_eq!(
            guard.failed(bad, t0),
            Noted::FirstOfRun,
            "the first failure is said"
        );
        for i in 1..MAX_FAILURES {
            let t = t0 + Duration::from_secs(u64::from(i));
            assert_eq!(guard.check(bad, t), Verdict::Allowed);
            assert_eq!(guard.failed(bad, t), Noted::Quiet);
        }
        let t = t0 + Duration::from_secs(10);
        assert!(matches!(guard.check(bad, t), Verdict::Refused(_)));
        assert_eq!(guard.check(good, t), Verdict::Allowed);
        // A while later it may try again.
        let later = t0 + Duration::from_secs(4) + WINDOW + Duration::from_secs(1);
        assert_eq!(guard.check(bad, later), Verdict::Allowed);
        assert_eq!(
            guard.failed(bad, later),
            Noted::FirstOfRun,
            "a new run is said again"
        );
        guard.succeeded(bad);
        assert_eq!(guard.check(bad, later), Verdict::Allowed);
    }

    #[test]
    fn a_run_of_failures_from_many_addresses_is_said_once() {
        let guard = LoginGuard::default();
        let t0 = Instant::now();
        let said: Vec<Noted> = (0..10).map(|n| guard.failed(ip(n), t0)).collect();
        assert_eq!(said[0], Noted::FirstOfRun);
        assert!(said[1..].iter().all(|n| *n == Noted::Quiet), "{said:?}");
    }

    #[test]
    fn a_locked_out_address_stays_locked_out_while_others_flood() {
        let guard = LoginGuard::default();
        let t0 = Instant::now();
        let bad = IpAddr::from(std::net::Ipv4Addr::new(203, 0, 113, 1));
        for _ in 0..MAX_FAILURES {
            guard.failed(bad, t0);
        }
        // 10,050 other addresses guess once each, a second later.
        let t1 = t0 + Duration::from_secs(1);
        for n in 0..(MAX_TRACKED as u32 + 50) {
            guard.failed(IpAddr::from(std::net::Ipv4Addr::from(0x0A00_0000 + n)), t1);
        }
        assert!(lock(&guard.state).records.len() <= MAX_TRACKED);
        assert!(
            matches!(guard.check(bad, t1), Verdict::Refused(_)),
            "the locked-out address was forgotten"
        );
    }

    #[test]
    fn guesses_spread_over_many_addresses_are_slowed_but_known_addresses_are_not() {
        let guard = LoginGuard::default();
        let t0 = Instant::now();
        let presenter = ip(200);
        guard.succeeded(presenter);
        let mut said = Vec::new();
        for n in 0..GLOBAL_FAILURES {
            assert_eq!(guard.check(ip(n), t0), Verdict::Allowed, "not slowed yet");
            said.push(guard.failed(ip(n), t0));
        }
        assert_eq!(said.last(), Some(&Noted::Slowing));
        // A new address now gets one try, and the next one waits its turn.
        let t = t0 + Duration::from_millis(100);
        assert_eq!(guard.check(ip(100), t), Verdict::Allowed);
        assert_eq!(guard.check(ip(101), t), Verdict::Refused(GLOBAL_PACE));
        assert_eq!(guard.check(ip(101), t + GLOBAL_PACE), Verdict::Allowed);
        // One that logged in before is not held back.
        assert_eq!(guard.check(presenter, t), Verdict::Allowed);
        // A window later, logins are no longer slowed.
        let later = t0 + WINDOW;
        assert_eq!(guard.check(ip(102), later), Verdict::Allowed);
        assert_eq!(guard.check(ip(103), later), Verdict::Allowed);
    }
}
