//! The login's guards per client address: the session's side of
//! `game::abuse`. Before a password is checked, the address must still be
//! allowed to try; when the check's turn at bcrypt comes it takes a count from
//! the address's limit in the same step (given back if the password was
//! right), so parallel guesses get no more checks than the limit; a guest
//! account takes one of its guests, and a sign-up one of its sign-ups.
//!
//! A refusal waits [`REFUSAL_DELAY`] before it is said: a storm of guesses
//! answered at once would turn refusals and reconnections around as fast as
//! the server can go.
//!
//! **Invariant:** no bcrypt work for an address that is shut out; this module
//! only asks and counts, the login flow decides what to say and ask next.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use super::Link;
use crate::game::Game;
use crate::game::abuse::REFUSAL_DELAY;
use crate::replies;

/// One connection's standing with the limits of its address.
pub struct AddressGuard {
    game: Arc<Game>,
    from: IpAddr,
    /// What [`AddressGuard::begin_check`] took: nothing yet, a count, or the
    /// count that reached the limit.
    took: AtomicU8,
}

const TOOK_NOTHING: u8 = 0;
const TOOK_ONE: u8 = 1;
const TOOK_THE_LAST: u8 = 2;

impl AddressGuard {
    pub fn new(link: &Link) -> AddressGuard {
        AddressGuard {
            game: link.game().clone(),
            from: link.peer().addr.ip(),
            took: AtomicU8::new(TOOK_NOTHING),
        }
    }

    /// Whether the address may try a password now.
    pub fn admits(&self) -> bool {
        self.game
            .address_limits()
            .login_allowed(self.from, Instant::now())
    }

    /// Waits out the refusal delay; returns what to say.
    pub async fn refusal(&self, account: &str) -> &'static str {
        tracing::debug!(
            account,
            "login refused: too many failed logins from this address"
        );
        tokio::time::sleep(REFUSAL_DELAY).await;
        replies::LOCKED_OUT
    }

    /// At the password check's own turn: takes a count from the address's
    /// limit, in the same step as asking whether it is still under it, so
    /// checks from one address running side by side cannot all slip under.
    /// False (nothing taken) when the address is shut out.
    pub fn begin_check(&self) -> bool {
        match self
            .game
            .address_limits()
            .begin_login(self.from, Instant::now())
        {
            None => false,
            Some(reached) => {
                let took = if reached { TOOK_THE_LAST } else { TOOK_ONE };
                self.took.store(took, Ordering::Relaxed);
                true
            }
        }
    }

    /// The check did not end in a wrong password (it was right, or the store
    /// failed): the count it took is given back.
    pub fn succeeded(&self) {
        if self.took.swap(TOOK_NOTHING, Ordering::Relaxed) != TOOK_NOTHING {
            self.game.address_limits().login_succeeded(self.from);
        }
    }

    /// The password was wrong (already counted when its check began), or the
    /// account was locked (counted now); logs once when the address is shut
    /// out.
    pub fn failed(&self) {
        let reached = match self.took.swap(TOOK_NOTHING, Ordering::Relaxed) {
            TOOK_NOTHING => self
                .game
                .address_limits()
                .login_failed(self.from, Instant::now()),
            took => took == TOOK_THE_LAST,
        };
        if reached {
            tracing::warn!(from = %self.from, "address shut out after too many failed logins");
        }
    }

    /// Takes one of the address's guest accounts, if it has one left.
    pub fn take_guest(&self) -> bool {
        self.game
            .address_limits()
            .take_guest(self.from, Instant::now())
    }

    /// Whether the address has a sign-up left now.
    pub fn signup_allowed(&self) -> bool {
        self.game
            .address_limits()
            .signup_allowed(self.from, Instant::now())
    }

    /// Takes one of the address's sign-ups, if it has one left.
    pub fn take_signup(&self) -> bool {
        self.game
            .address_limits()
            .take_signup(self.from, Instant::now())
    }

    /// Gives back the sign-up taken by [`AddressGuard::take_signup`]: it was
    /// refused before any work.
    pub fn give_back_signup(&self) {
        self.game.address_limits().give_back_signup(self.from);
    }
}
