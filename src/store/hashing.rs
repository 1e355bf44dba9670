//! Password hashing: bcrypt on the blocking pool, a bounded number at a time,
//! queued fairly by the client address that asked.
//!
//! bcrypt is slow on purpose, so only a few hashes run at once (the core count
//! less one). A plain semaphore serves its waiters first come, first served:
//! thirty connections from one address guessing passwords then stand in front of
//! a real player's login, who waits for all thirty. [`FairGate`] keeps one queue
//! per address instead and hands each free place to the next address in turn
//! (round robin), so a login waits behind at most one hash per other address
//! that is waiting too, however many that address has queued. An address that
//! starts waiting goes before those already taking turns (behind other
//! newcomers): a player arriving during a storm waits only for the hash that
//! is running.
//!
//! Which address asks is not passed through every call that may hash (logins,
//! registration, password changes, admin resets): the session runs each
//! connection inside [`for_client`], and the gate reads the address from the
//! task. Work outside any connection (the operator's shell, start-up) queues as
//! one more client of its own.
//!
//! **Invariant:** a place given to a waiter that no longer waits (its login was
//! cancelled) goes straight to the next waiter; no place is ever lost.
//!
//! bcrypt reads at most 72 bytes and the policy allows exactly that many. The
//! crate's `non_truncating_*` functions count the terminating NUL that bcrypt
//! appends, so they refuse a 72-byte password; the plain `hash` and `verify`
//! used here truncate nothing but that terminator (for shorter passwords both
//! families hash the same bytes, so older hashes still verify). Longer input
//! is refused here, never truncated.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::{StoreError, StoreResult};
use crate::auth::password::MAX_PASSWORD_BYTES;

tokio::task_local! {
    /// The address of the client this task serves (see [`for_client`]).
    static CLIENT: IpAddr;
}

/// Runs `work` on behalf of the client at `address`: password hashing it asks
/// for is queued under that address.
pub fn for_client<F: Future>(address: IpAddr, work: F) -> impl Future<Output = F::Output> {
    // Not an `async fn`: that would keep `work` in its own state beside the
    // scope that runs it, doubling every connection's future.
    CLIENT.scope(address, work)
}

/// The client the current task serves; `None` outside any connection.
fn current_client() -> Option<IpAddr> {
    CLIENT.try_with(|address| *address).ok()
}

/// bcrypt at `cost`, refusing (never truncating) more than 72 bytes.
pub(super) fn hash(password: &str, cost: u32) -> StoreResult<String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(StoreError::Hash(format!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    bcrypt::hash(password, cost).map_err(|e| StoreError::Hash(e.to_string()))
}

/// Whether `password` matches `hash`; input bcrypt could not read whole is never
/// a match.
pub(super) fn verify(password: &str, hash: &str) -> bool {
    password.len() <= MAX_PASSWORD_BYTES && bcrypt::verify(password, hash).unwrap_or(false)
}

/// The cost a bcrypt hash was made at, if it is one.
pub(super) fn cost_of(hash: &str) -> Option<u32> {
    hash.parse::<bcrypt::HashParts>()
        .ok()
        .map(|parts| parts.get_cost())
}

/// A bounded number of places, handed out to client addresses in turn.
#[derive(Clone)]
pub struct FairGate {
    inner: Arc<GateInner>,
}

struct GateInner {
    /// Never held across an `.await`. Every value it holds is valid at all
    /// times, so a panic while it is held leaves nothing to repair (and
    /// `parking_lot`'s lock is not poisoned by one).
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    free: usize,
    /// Clients that started waiting since they were last served, first come
    /// first served; they go before `turn`.
    fresh: VecDeque<Option<IpAddr>>,
    /// Clients served before that still have someone waiting, in turn.
    turn: VecDeque<Option<IpAddr>>,
    waiting: HashMap<Option<IpAddr>, VecDeque<oneshot::Sender<GatePermit>>>,
}

impl GateState {
    /// The next waiter in turn; its client goes to the back of the line if it
    /// has more waiting.
    fn next_waiter(&mut self) -> Option<oneshot::Sender<GatePermit>> {
        while let Some(client) = self.fresh.pop_front().or_else(|| self.turn.pop_front()) {
            let Some(queue) = self.waiting.get_mut(&client) else {
                continue;
            };
            let next = queue.pop_front();
            if queue.is_empty() {
                self.waiting.remove(&client);
            } else {
                self.turn.push_back(client);
            }
            if next.is_some() {
                return next;
            }
        }
        None
    }
}

/// A place at the gate; dropping it hands the place on.
pub struct GatePermit {
    gate: Option<Arc<GateInner>>,
}

impl Drop for GatePermit {
    fn drop(&mut self) {
        if let Some(gate) = self.gate.take() {
            release(gate);
        }
    }
}

/// Hands a freed place to the next waiter in turn, or puts it back.
fn release(gate: Arc<GateInner>) {
    loop {
        let waiter = {
            let mut state = gate.state.lock();
            match state.next_waiter() {
                Some(waiter) => waiter,
                None => {
                    state.free += 1;
                    return;
                }
            }
        };
        let permit = GatePermit {
            gate: Some(gate.clone()),
        };
        match waiter.send(permit) {
            Ok(()) => return,
            // That waiter gave up; the same place goes to the next one (taken
            // out of the permit so that dropping it does not release it twice).
            Err(mut unclaimed) => {
                unclaimed.gate = None;
            }
        }
    }
}

impl FairGate {
    pub fn new(places: usize) -> FairGate {
        FairGate {
            inner: Arc::new(GateInner {
                state: Mutex::new(GateState {
                    free: places.max(1),
                    ..GateState::default()
                }),
            }),
        }
    }

    /// Whether `client` has someone waiting (tests).
    #[cfg(test)]
    pub(crate) fn is_waiting(&self, client: Option<IpAddr>) -> bool {
        self.inner.state.lock().waiting.contains_key(&client)
    }

    /// Waits for a place, in the queue of the current task's client.
    pub async fn enter(&self) -> GatePermit {
        self.enter_as(current_client()).await
    }

    /// Waits for a place in `client`'s queue.
    pub async fn enter_as(&self, client: Option<IpAddr>) -> GatePermit {
        let waiting = {
            let mut state = self.inner.state.lock();
            if state.free > 0 && state.fresh.is_empty() && state.turn.is_empty() {
                state.free -= 1;
                None
            } else {
                let (tx, rx) = oneshot::channel();
                let state = &mut *state;
                let queue = state.waiting.entry(client).or_default();
                if queue.is_empty() {
                    state.fresh.push_back(client);
                }
                queue.push_back(tx);
                Some(rx)
            }
        };
        match waiting {
            None => GatePermit {
                gate: Some(self.inner.clone()),
            },
            // The sender is only dropped after a send, so the wait always ends
            // with a permit; should it not, a place of its own is still owed.
            Some(rx) => rx.await.unwrap_or(GatePermit { gate: None }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn addr(n: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)))
    }

    /// Queues `n` waiters for `client`, each reporting its tag when it gets in
    /// (and then holding its place until told to go).
    fn queue_up(
        gate: &FairGate,
        client: Option<IpAddr>,
        tags: std::ops::Range<u32>,
        order: &tokio::sync::mpsc::UnboundedSender<(u32, oneshot::Sender<()>)>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        tags.map(|tag| {
            let (gate, order) = (gate.clone(), order.clone());
            tokio::spawn(async move {
                let _permit = gate.enter_as(client).await;
                let (done, wait) = oneshot::channel();
                let _ = order.send((tag, done));
                let _ = wait.await;
            })
        })
        .collect()
    }

    #[tokio::test]
    async fn one_address_with_many_waiting_does_not_hold_up_another() {
        let gate = FairGate::new(1);
        let holder = gate.enter_as(addr(9)).await;
        let (order, mut served) = tokio::sync::mpsc::unbounded_channel();
        let flood = queue_up(&gate, addr(1), 0..10, &order);
        while gate
            .inner
            .state
            .lock()
            .waiting
            .get(&addr(1))
            .map(VecDeque::len)
            != Some(10)
        {
            tokio::task::yield_now().await;
        }
        // The flood's first guess runs; the rest of it is now taking turns.
        drop(holder);
        let (first, done) = served.recv().await.expect("served");
        let mut tags = vec![first];
        // A real player arrives while that guess runs.
        let player = queue_up(&gate, addr(2), 100..101, &order);
        while !gate.inner.state.lock().waiting.contains_key(&addr(2)) {
            tokio::task::yield_now().await;
        }
        let _ = done.send(());
        for _ in 0..10 {
            let (tag, done) = served.recv().await.expect("served");
            tags.push(tag);
            let _ = done.send(());
        }
        for task in flood.into_iter().chain(player) {
            task.await.expect("task");
        }
        assert_eq!(
            tags.iter().position(|t| *t == 100),
            Some(1),
            "the player waits only for the guess that was running: {tags:?}"
        );
        // The holder and all eleven waiters were served, and every place came
        // back: none lost, none handed out twice.
        assert_eq!(tags.len(), 11, "{tags:?}");
        let state = gate.inner.state.lock();
        assert_eq!((state.free, state.fresh.len(), state.turn.len()), (1, 0, 0));
        assert!(state.waiting.is_empty());
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_passes_its_place_on() {
        let gate = FairGate::new(1);
        let holder = gate.enter_as(addr(1)).await;
        let quitter = {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _permit = gate.enter_as(addr(2)).await;
            })
        };
        while gate.inner.state.lock().waiting.is_empty() {
            tokio::task::yield_now().await;
        }
        quitter.abort();
        let _ = quitter.await;
        let later = {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _permit = gate.enter_as(addr(3)).await;
            })
        };
        drop(holder);
        later.await.expect("the later waiter gets the place");
        let state = gate.inner.state.lock();
        assert_eq!((state.free, state.fresh.len(), state.turn.len()), (1, 0, 0));
    }

    #[test]
    fn seventy_two_bytes_hash_and_verify_and_seventy_three_are_refused() {
        let p72 = "gaslamp fog ".repeat(6);
        assert_eq!(p72.len(), 72);
        let hashed = hash(&p72, 4).expect("72 bytes hash");
        assert!(verify(&p72, &hashed));
        assert!(!verify(&p72[..71], &hashed));
        let p73 = format!("{p72}x");
        assert!(matches!(hash(&p73, 4), Err(StoreError::Hash(_))));
        assert!(!verify(&p73, &hashed), "never truncated into a match");
        assert_eq!(cost_of(&hashed), Some(4));
    }

    #[test]
    fn hashes_of_the_earlier_non_truncating_kind_still_verify() {
        let password = "correct horse battery";
        let older = bcrypt::non_truncating_hash(password, 4).expect("older hash");
        assert!(verify(password, &older));
        assert!(!verify("correct horse batterY", &older));
    }
}
