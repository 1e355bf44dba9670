//! How many HTTP connections the web listener holds, and for whom: a cap in
//! all, a cap per client address (`--web-max-per-ip`; IPv6 by /64, as
//! `game::abuse` counts addresses), and a reserve at the top of the total that
//! only `/health` and `/metrics` may use, so that a listener full of page
//! loads or idle sockets still answers its monitoring.
//!
//! A connection takes its slot when it is accepted, before it has sent a
//! byte, because idle sockets hold slots too; it is keyed on its TCP peer.
//! Behind `--trust-proxy` every connection comes from the proxy, whose address
//! stands for everyone, so an accepted connection counts only in the total
//! until a request on it names its client (`X-Forwarded-For`); from then on it
//! counts under that client's address, and moves with each request (a proxy's
//! kept-alive connection carries different clients' requests in turn).
//!
//! This module is bookkeeping under one lock, taken for the check and the
//! count together; it knows nothing about HTTP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::game::abuse::address_key;

/// Reserved slots one address may hold at once: a monitor's check and a
/// scrape, not a flood's worth.
const RESERVED_PER_IP: usize = 2;

/// Why a connection gets no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address holds its share already.
    Address,
    /// Every slot it may use is taken.
    Full,
}

/// The web listener's HTTP connections.
pub struct HttpSlots {
    total: usize,
    per_ip: usize,
    reserve: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Open connections, reserved ones included.
    open: usize,
    /// Open connections in reserved slots.
    reserved: usize,
    per_ip: HashMap<IpAddr, Held>,
}

/// What one address holds.
#[derive(Debug, Default, Clone, Copy)]
struct Held {
    open: usize,
    reserved: usize,
}

impl State {
    fn held(&self, key: Option<IpAddr>) -> Held {
        key.and_then(|key| self.per_ip.get(&key).copied())
            .unwrap_or_default()
    }

    fn add(&mut self, key: Option<IpAddr>, reserved: bool) {
        if let Some(key) = key {
            let held = self.per_ip.entry(key).or_default();
            held.open += 1;
            held.reserved += usize::from(reserved);
        }
    }

    fn remove(&mut self, key: Option<IpAddr>, reserved: bool) {
        let Some(key) = key else {
            return;
        };
        if let Some(held) = self.per_ip.get_mut(&key) {
            held.open = held.open.saturating_sub(1);
            held.reserved = held.reserved.saturating_sub(usize::from(reserved));
            if held.open == 0 {
                self.per_ip.remove(&key);
            }
        }
    }
}

impl HttpSlots {
    /// `total` connections at once, `per_ip` from one address. The top
    /// sixteenth of the total (at least one slot, at most half) is the
    /// reserve.
    pub fn new(total: usize, per_ip: usize) -> Arc<HttpSlots> {
        Arc::new(HttpSlots {
            total,
            per_ip,
            reserve: (total / 16).max(1).min(total / 2),
            state: Mutex::new(State::default()),
        })
    }

    /// A slot for a connection from `ip`, or `None` for a connection whose
    /// client is not known yet (behind a proxy), which only the total limits.
    /// When the ordinary slots are all taken the connection gets a reserved
    /// one, good for `/health` and `/metrics` only.
    pub fn admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Result<HttpSlot, Refusal> {
        let key = ip.map(address_key);
        let mut state = self.state.lock();
        let held = state.held(key);
        if key.is_some() && held.open >= self.per_ip {
            return Err(Refusal::Address);
        }
        let reserved = if state.open - state.reserved < self.total - self.reserve {
            false
        } else if state.reserved < self.reserve
            && (key.is_none() || held.reserved < RESERVED_PER_IP)
        {
            true
        } else {
            return Err(Refusal::Full);
        };
        state.open += 1;
        state.reserved += usize::from(reserved);
        state.add(key, reserved);
        Ok(HttpSlot {
            slots: self.clone(),
            key: Mutex::new(key),
            reserved,
        })
    }

    /// HTTP connections open now.
    pub fn open(&self) -> usize {
        self.state.lock().open
    }
}

/// One connection's slot; dropping it frees the place.
pub struct HttpSlot {
    slots: Arc<HttpSlots>,
    /// The address it counts under (`None`: not known yet).
    key: Mutex<Option<IpAddr>>,
    reserved: bool,
}

impl HttpSlot {
    /// Whether this is a reserved slot, for `/health` and `/metrics` only.
    pub fn is_reserved(&self) -> bool {
        self.reserved
    }

    /// Counts the connection under `ip` from now on (behind a proxy: the
    /// client its latest request came for). False, and nothing moved, when
    /// that address holds its share already.
    pub fn attribute(&self, ip: IpAddr) -> bool {
        let new = Some(address_key(ip));
        let mut key = self.key.lock();
        if *key == new {
            return true;
        }
        let mut state = self.slots.state.lock();
        let there = state.held(new);
        if there.open >= self.slots.per_ip || (self.reserved && there.reserved >= RESERVED_PER_IP) {
            return false;
        }
        state.remove(*key, self.reserved);
        state.add(new, self.reserved);
        *key = new;
        true
    }
}

impl Drop for HttpSlot {
    fn drop(&mut self) {
        let key = *self.key.get_mut();
        let mut state = self.slots.state.lock();
        state.open = state.open.saturating_sub(1);
        state.reserved = state.reserved.saturating_sub(usize::from(self.reserved));
        state.remove(key, self.reserved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    /// `n` slots from `ip`, all of which must be given.
    fn take(slots: &Arc<HttpSlots>, ip: Option<IpAddr>, n: usize) -> Vec<HttpSlot> {
        (0..n)
            .map(|i| {
                slots
                    .admit(ip)
                    .unwrap_or_else(|refusal| panic!("slot {i} from {ip:?}: {refusal:?}"))
            })
            .collect()
    }

    #[test]
    fn an_address_gets_its_share_and_no_more() {
        let slots = HttpSlots::new(64, 4);
        let held = take(&slots, Some(ip("192.0.2.1")), 4);
        assert_eq!(
            slots.admit(Some(ip("192.0.2.1"))).err(),
            Some(Refusal::Address)
        );
        let other = slots.admit(Some(ip("192.0.2.2"))).expect("another address");
        drop(held);
        let again = slots.admit(Some(ip("192.0.2.1"))).expect("room again");
        assert_eq!(slots.open(), 2);
        drop((other, again));
        assert_eq!(slots.open(), 0);
    }

    #[test]
    fn ipv6_addresses_are_counted_by_their_64() {
        let slots = HttpSlots::new(64, 2);
        let _held = take(&slots, Some(ip("2001:db8:1:2::1")), 2);
        let same_network = slots.admit(Some(ip("2001:db8:1:2:ffff::9")));
        assert_eq!(same_network.err(), Some(Refusal::Address));
        assert!(slots.admit(Some(ip("2001:db8:1:3::1"))).is_ok());
    }

    #[test]
    fn a_full_listener_keeps_its_reserve_and_shares_it_out() {
        // 64 slots: 60 ordinary, 4 reserved.
        let slots = HttpSlots::new(64, 32);
        let first = take(&slots, Some(ip("192.0.2.1")), 32);
        let second = take(&slots, Some(ip("192.0.2.2")), 28);
        assert!(first.iter().chain(&second).all(|s| !s.is_reserved()));
        // Reserved slots now, two per address.
        let third = take(&slots, Some(ip("192.0.2.2")), 2);
        assert!(third.iter().all(HttpSlot::is_reserved));
        assert_eq!(
            slots.admit(Some(ip("192.0.2.2"))).err(),
            Some(Refusal::Full)
        );
        let monitor = take(&slots, Some(ip("192.0.2.9")), 2);
        assert_eq!(
            slots.admit(Some(ip("192.0.2.10"))).err(),
            Some(Refusal::Full)
        );
        // An ordinary slot given back is ordinary again.
        drop(second);
        let again = slots.admit(Some(ip("192.0.2.10"))).expect("a slot");
        assert!(!again.is_reserved());
        drop((monitor, third, again));
        assert_eq!(slots.open(), 32);
    }

    #[test]
    fn connections_behind_a_proxy_move_to_their_clients_address() {
        let slots = HttpSlots::new(64, 2);
        // The proxy's connections: not counted under any address yet.
        let pool = take(&slots, None, 10);
        assert!(pool[0].attribute(ip("203.0.113.1")));
        assert!(pool[1].attribute(ip("203.0.113.1")));
        assert!(!pool[2].attribute(ip("203.0.113.1")), "over its share");
        assert!(pool[2].attribute(ip("203.0.113.2")));
        // The same client again costs nothing; a new client moves the count.
        assert!(pool[0].attribute(ip("203.0.113.1")));
        assert!(pool[0].attribute(ip("203.0.113.3")));
        assert!(pool[3].attribute(ip("203.0.113.1")));
        drop(pool);
        assert_eq!(slots.open(), 0);
        assert!(slots.state.lock().per_ip.is_empty());
    }
}
