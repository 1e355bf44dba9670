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
//! A password check holds a place against the failed-login limit while it
//! runs ([`AddressLimits::reserve_login`]), so parallel guesses get no more
//! checks than the limit; a check that finds every place held by checks still
//! running waits for one to end instead of being refused, so a household
//! behind one address logging in at once is not told it failed.
//!
//! IPv6 addresses count by their /64 network, which one host usually has to
//! itself; an IPv4-mapped IPv6 address counts as its IPv4 address.
//!
//! **Invariant:** pure bookkeeping in memory, with the time passed in; it knows
//! nothing of sessions, the store or telnet (its one wait is a [`Notify`]).
//! A check that takes a place ([`AddressLimits::reserve_login`],
//! [`AddressLimits::take_guest`], [`AddressLimits::take_signup`]) decides and
//! records under one lock.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

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

    /// Reserves a place for a password check from `ip`: the address's recent
    /// failures and the checks it has under way together stay within its
    /// limit, decided under one lock, so checks running side by side cannot
    /// all slip under it. [`Reservation::Busy`] when the places are held by
    /// checks still running: one of them may end well and free its place, so
    /// the caller waits on the notice it carries (the address's own: an end
    /// elsewhere wakes nobody here) and asks again, rather than refuse a right
    /// password for the guesses of others. A reservation is ended by
    /// [`AddressLimits::end_login`].
    pub fn reserve_login(&self, ip: IpAddr, now: Instant) -> Reservation {
        self.failed_logins.reserve(address_key(ip), now)
    }

    /// Ends a reservation of [`AddressLimits::reserve_login`]: a failed check
    /// counts as a failed login, any other end frees the place. True when the
    /// failure shuts the address out. Wakes the waiters either way.
    pub fn end_login(&self, ip: IpAddr, now: Instant, failed: bool) -> bool {
        self.failed_logins
            .end_reserved(address_key(ip), now, failed)
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

/// What [`AddressLimits::reserve_login`] decided.
#[derive(Clone, Debug)]
pub enum Reservation {
    /// A place is held for this check.
    Taken,
    /// Every place is held, some by checks still under way: wait for one of
    /// them to end (this is notified when one does) and ask again.
    Busy(Arc<Notify>),
    /// The address failed too often lately.
    ShutOut,
}

/// Events per address within a sliding window.
struct Window {
    limit: AddressLimit,
    seen: Mutex<Seen>,
}

/// The places an address holds for attempts under way.
struct Held {
    count: u32,
    /// Notified when one of them is given up (see [`Window::reserve`]).
    ended: Arc<Notify>,
}

#[derive(Default)]
struct Seen {
    by_address: HashMap<IpAddr, VecDeque<Instant>>,
    /// Places reserved per address by attempts still under way, which count
    /// against the limit beside the events.
    reserved: HashMap<IpAddr, Held>,
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

    /// Holds a place for an attempt under way, if the events and the places
    /// already held leave one.
    fn reserve(&self, ip: IpAddr, now: Instant) -> Reservation {
        if self.limit.is_off() {
            return Reservation::Taken;
        }
        let mut seen = self.seen.lock();
        let events = self.recent(&mut seen, ip, now);
        let held = seen.reserved.get(&ip);
        let count = held.map_or(0, |held| held.count);
        if events + count as usize >= self.limit.count as usize {
            return match held {
                Some(held) if held.count > 0 => Reservation::Busy(held.ended.clone()),
                _ => Reservation::ShutOut,
            };
        }
        seen.reserved
            .entry(ip)
            .or_insert_with(|| Held {
                count: 0,
                ended: Arc::new(Notify::new()),
            })
            .count += 1;
        Reservation::Taken
    }

    /// Gives up a place held by [`Window::reserve`], recording an event in
    /// its stead when `happened`; true when that event reaches the limit.
    fn end_reserved(&self, ip: IpAddr, now: Instant, happened: bool) -> bool {
        if self.limit.is_off() {
            return false;
        }
        let (reached, ended) = {
            let mut seen = self.seen.lock();
            let mut ended = None;
            if let Some(held) = seen.reserved.get_mut(&ip) {
                held.count = held.count.saturating_sub(1);
                ended = Some(held.ended.clone());
                if held.count == 0 {
                    seen.reserved.remove(&ip);
                }
            }
            let reached = if happened {
                let before = self.recent(&mut seen, ip, now);
                self.add(&mut seen, ip, now);
                before + 1 == self.limit.count as usize
            } else {
                false
            };
            (reached, ended)
        };
        // Every waiter of the address asks again: one may now have a place,
        // or all may now be shut out.
        if let Some(ended) = ended {
            ended.notify_waiters();
        }
        reached
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
    fn checks_reserved_on_many_threads_at_once_never_pass_the_limit() {
        let limits = std::sync::Arc::new(limits(5, 300));
        let now = Instant::now();
        let taken: usize = (0..16)
            .map(|_| {
                let limits = limits.clone();
                std::thread::spawn(move || {
                    matches!(limits.reserve_login(ip(9), now), Reservation::Taken)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| usize::from(t.join().expect("thread")))
            .sum();
        assert_eq!(taken, 5);
        // Every place is held by a check under way: the next one waits.
        assert!(matches!(
            limits.reserve_login(ip(9), now),
            Reservation::Busy(_)
        ));
        // A check that ended well frees its place for one more.
        assert!(!limits.end_login(ip(9), now, false));
        assert!(matches!(
            limits.reserve_login(ip(9), now),
            Reservation::Taken
        ));
        // Five failures shut the address out; the fifth says so.
        let reached: Vec<bool> = (0..5).map(|_| limits.end_login(ip(9), now, true)).collect();
        assert_eq!(reached, [false, false, false, false, true]);
        assert!(matches!(
            limits.reserve_login(ip(9), now),
            Reservation::ShutOut
        ));
        assert!(!limits.login_allowed(ip(9), now));
        assert!(matches!(
            limits.reserve_login(ip(8), now),
            Reservation::Taken
        ));
    }

    #[test]
    fn a_busy_address_has_its_own_notice_which_an_end_there_rings() {
        let limits = limits(1, 300);
        let now = Instant::now();
        assert!(matches!(
            limits.reserve_login(ip(1), now),
            Reservation::Taken
        ));
        assert!(matches!(
            limits.reserve_login(ip(2), now),
            Reservation::Taken
        ));
        let notice = |ip| match limits.reserve_login(ip, now) {
            Reservation::Busy(notice) => notice,
            other => panic!("not busy: {other:?}"),
        };
        let (one, again, two) = (notice(ip(1)), notice(ip(1)), notice(ip(2)));
        assert!(Arc::ptr_eq(&one, &again), "one notice per address");
        assert!(!Arc::ptr_eq(&one, &two), "addresses wait apart");
        let waiting = one.notified();
        tokio::pin!(waiting);
        assert!(!waiting.as_mut().enable(), "nothing ended yet");
        limits.end_login(ip(2), now, false);
        assert!(
            !waiting.as_mut().enable(),
            "an end elsewhere rings nobody here"
        );
        limits.end_login(ip(1), now, false);
        assert!(waiting.as_mut().enable(), "the end here rings its waiters");
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
