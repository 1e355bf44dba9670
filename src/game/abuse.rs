//! Limits per client address on what one address may try in a while: failed
//! logins, new accounts and new guest accounts (SPEC §6, §10).
//!
//! The per-account lockout (`store::lockout`) protects one account; these limits
//! protect the server from one address. After `count` failed logins within
//! `window`, the address's further attempts are refused without a password
//! check (no bcrypt work); after `count` sign-ups (or guest accounts) within
//! `window`, it gets no more of them. Events older than the window no longer
//! count, so an address is let in again by itself.
//!
//! IPv6 addresses count by their /64 network, which one host usually has to
//! itself; an IPv4-mapped IPv6 address counts as its IPv4 address.
//!
//! **Invariant:** pure bookkeeping in memory, with the time passed in; it knows
//! nothing of sessions, the store or telnet. A check that takes a place
//! ([`AddressLimits::take_guest`], [`AddressLimits::take_signup`]) decides and
//! records under one lock.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::AddressLimit;

/// How long an address that is shut out waits for each refusal. Answered at
/// once, a guessing storm would turn refusals (and reconnections) around as
/// fast as the server can, and cost more than the guesses it no longer hashes;
/// a waiting task costs nothing.
pub const REFUSAL_DELAY: Duration = Duration::from_secs(1);

/// The address under which a client's events are counted (see the module).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

/// The limits of every address, shared by all connections.
pub struct AddressLimits {
    failed_logins: Window,
    guests: Window,
    signups: Window,
}

impl AddressLimits {
    pub fn new(
        failed_logins: AddressLimit,
        guests: AddressLimit,
        signups: AddressLimit,
    ) -> AddressLimits {
        AddressLimits {
            failed_logins: Window::new(failed_logins),
            guests: Window::new(guests),
            signups: Window::new(signups),
        }
    }

    /// Whether `ip` may try a password now (it has not failed too often lately).
    pub fn login_allowed(&self, ip: IpAddr, now: Instant) -> bool {
        self.failed_logins.allows(address_key(ip), now)
    }

    /// Counts a failed login from `ip`; true when this failure shuts the
    /// address out (worth one line in the log, where the refusals that follow
    /// are not).
    pub fn login_failed(&self, ip: IpAddr, now: Instant) -> bool {
        self.failed_logins.record(address_key(ip), now)
    }

    /// Starts a password check for `ip`: counted as a failure at once, in the
    /// same step as the check that the address is under its limit, so checks
    /// running side by side cannot all slip under it. `None` when the address
    /// is shut out; else whether this attempt is the one that reaches the
    /// limit. A check that succeeds gives its count back
    /// ([`AddressLimits::login_succeeded`]).
    pub fn begin_login(&self, ip: IpAddr, now: Instant) -> Option<bool> {
        self.failed_logins.take_counting(address_key(ip), now)
    }

    /// Gives back the count a successful check took in [`begin_login`].
    ///
    /// [`begin_login`]: AddressLimits::begin_login
    pub fn login_succeeded(&self, ip: IpAddr) {
        self.failed_logins.give_back(address_key(ip));
    }

    /// Takes one of `ip`'s guest accounts for the window, if it has one left.
    pub fn take_guest(&self, ip: IpAddr, now: Instant) -> bool {
        self.guests.take(address_key(ip), now)
    }

    /// Whether `ip` has a sign-up left in the window (asked before the
    /// questions of `new`, so nobody answers them for nothing).
    pub fn signup_allowed(&self, ip: IpAddr, now: Instant) -> bool {
        self.signups.allows(address_key(ip), now)
    }

    /// Takes one of `ip`'s sign-ups for the window, if it has one left: in
    /// the step that decides, so sign-ups side by side cannot all slip under.
    pub fn take_signup(&self, ip: IpAddr, now: Instant) -> bool {
        self.signups.take(address_key(ip), now)
    }

    /// Gives back the sign-up taken last by `ip` (it was refused before any
    /// work: a bad or taken name, a weak password).
    pub fn give_back_signup(&self, ip: IpAddr) {
        self.signups.give_back(address_key(ip));
    }
}

/// Events per address within a sliding window.
struct Window {
    limit: AddressLimit,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    by_address: HashMap<IpAddr, VecDeque<Instant>>,
    /// Events recorded since the last sweep of idle addresses.
    since_sweep: usize,
}

/// How many events may be recorded between sweeps of addresses whose events
/// have all expired (so many addresses seen once do not pile up).
const SWEEP_EVERY: usize = 1024;

impl Window {
    fn new(limit: AddressLimit) -> Window {
        Window {
            limit,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Events of `ip` still inside the window at `now`, after dropping older ones.
    fn recent(&self, seen: &mut Seen, ip: IpAddr, now: Instant) -> usize {
        let window = self.limit.window;
        let Some(events) = seen.by_address.get_mut(&ip) else {
            return 0;
        };
        while events
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= window)
        {
            events.pop_front();
        }
        let n = events.len();
        if n == 0 {
            seen.by_address.remove(&ip);
        }
        n
    }

    fn allows(&self, ip: IpAddr, now: Instant) -> bool {
        if self.limit.is_off() {
            return true;
        }
        let mut seen = self.seen.lock();
        self.recent(&mut seen, ip, now) < self.limit.count as usize
    }

    /// Records an event; true when it is the one that reaches the limit.
    fn record(&self, ip: IpAddr, now: Instant) -> bool {
        if self.limit.is_off() {
            return false;
        }
        let mut seen = self.seen.lock();
        let before = self.recent(&mut seen, ip, now);
        self.add(&mut seen, ip, now);
        before + 1 == self.limit.count as usize
    }

    fn take(&self, ip: IpAddr, now: Instant) -> bool {
        if self.limit.is_off() {
            return true;
        }
        let mut seen = self.seen.lock();
        if self.recent(&mut seen, ip, now) >= self.limit.count as usize {
            return false;
        }
        self.add(&mut seen, ip, now);
        true
    }

    /// Like `take`, answering also whether the event taken reached the limit.
    fn take_counting(&self, ip: IpAddr, now: Instant) -> Option<bool> {
        if self.limit.is_off() {
            return Some(false);
        }
        let mut seen = self.seen.lock();
        let before = self.recent(&mut seen, ip, now);
        if before >= self.limit.count as usize {
            return None;
        }
        self.add(&mut seen, ip, now);
        Some(before + 1 == self.limit.count as usize)
    }

    /// Removes the newest event of `ip` (one that turned out not to count).
    fn give_back(&self, ip: IpAddr) {
        if self.limit.is_off() {
            return;
        }
        let mut seen = self.seen.lock();
        if let Some(events) = seen.by_address.get_mut(&ip) {
            events.pop_back();
            if events.is_empty() {
                seen.by_address.remove(&ip);
            }
        }
    }

    fn add(&self, seen: &mut Seen, ip: IpAddr, now: Instant) {
        let events = seen.by_address.entry(ip).or_default();
        events.push_back(now);
        // Only the newest `count` events can matter.
        while events.len() > self.limit.count as usize {
            events.pop_front();
        }
        seen.since_sweep += 1;
        if seen.since_sweep >= SWEEP_EVERY {
            seen.since_sweep = 0;
            let window = self.limit.window;
            seen.by_address.retain(|_, events| {
                events
                    .back()
                    .is_some_and(|at| now.saturating_duration_since(*at) < window)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))
    }

    #[test]
    fn checks_begun_on_many_threads_at_once_never_pass_the_limit() {
        let limits = std::sync::Arc::new(limits(5, 300));
        let now = Instant::now();
        let begun: usize = (0..16)
            .map(|_| {
                let limits = limits.clone();
                std::thread::spawn(move || limits.begin_login(ip(9), now).is_some())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| usize::from(t.join().expect("thread")))
            .sum();
        assert_eq!(begun, 5);
        // A check that succeeded gives its count back: one more may begin.
        limits.login_succeeded(ip(9));
        assert_eq!(limits.begin_login(ip(9), now), Some(true));
        assert_eq!(limits.begin_login(ip(9), now), None);
        assert!(!limits.login_allowed(ip(9), now));
    }

    fn limits(count: u32, secs: u64) -> AddressLimits {
        let limit = AddressLimit {
            count,
            window: Duration::from_secs(secs),
        };
        AddressLimits::new(limit, limit, limit)
    }

    #[test]
    fn five_failures_shut_an_address_out_until_they_age() {
        let limits = limits(5, 300);
        let start = Instant::now();
        for n in 0..5 {
            assert!(limits.login_allowed(ip(1), start), "attempt {n}");
            let shut_out = limits.login_failed(ip(1), start + Duration::from_secs(n));
            assert_eq!(shut_out, n == 4, "failure {n}");
        }
        let after = start + Duration::from_secs(10);
        assert!(!limits.login_allowed(ip(1), after));
        assert!(
            limits.login_allowed(ip(2), after),
            "other addresses are not touched"
        );
        // The first failure ages out at 300 s: one more try.
        let later = start + Duration::from_secs(300);
        assert!(limits.login_allowed(ip(1), later));
        limits.login_failed(ip(1), later);
        assert!(!limits.login_allowed(ip(1), later));
    }

    #[test]
    fn guests_are_taken_from_the_same_kind_of_window() {
        let limits = limits(2, 60);
        let now = Instant::now();
        assert!(limits.take_guest(ip(1), now));
        assert!(limits.take_guest(ip(1), now));
        assert!(!limits.take_guest(ip(1), now));
        assert!(limits.take_guest(ip(2), now));
        assert!(limits.take_guest(ip(1), now + Duration::from_secs(60)));
    }

    #[test]
    fn sign_ups_are_counted_apart_from_guests_and_a_refused_one_comes_back() {
        let limits = limits(2, 600);
        let now = Instant::now();
        assert!(limits.take_signup(ip(1), now));
        assert!(limits.take_guest(ip(1), now));
        assert!(limits.take_signup(ip(1), now));
        assert!(!limits.signup_allowed(ip(1), now));
        assert!(!limits.take_signup(ip(1), now));
        assert!(limits.take_guest(ip(1), now), "guests have their own count");
        limits.give_back_signup(ip(1));
        assert!(limits.take_signup(ip(1), now));
        assert!(
            limits.take_signup(ip(2), now),
            "other addresses are not touched"
        );
        assert!(limits.take_signup(ip(1), now + Duration::from_secs(600)));
    }

    #[test]
    fn a_count_of_zero_turns_a_limit_off() {
        let limits = limits(0, 60);
        let now = Instant::now();
        for _ in 0..100 {
            limits.login_failed(ip(1), now);
            assert!(limits.take_guest(ip(1), now));
            assert!(limits.take_signup(ip(1), now));
        }
        assert!(limits.login_allowed(ip(1), now));
    }

    #[test]
    fn ipv6_counts_per_network_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("v6");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("v6");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("v6");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("mapped");
        assert_eq!(address_key(mapped), ip(7));
    }

    #[test]
    fn addresses_seen_long_ago_are_swept_away() {
        let limits = limits(5, 60);
        let start = Instant::now();
        for n in 0..SWEEP_EVERY as u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n));
            limits.login_failed(ip, start);
        }
        let later = start + Duration::from_secs(61);
        for n in 0..SWEEP_EVERY as u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + n));
            limits.login_failed(ip, later);
        }
        let kept = limits.failed_logins.seen.lock().by_address.len();
        assert!(kept <= SWEEP_EVERY, "{kept} addresses kept");
    }
}
