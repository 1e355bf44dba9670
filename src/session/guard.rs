//! The login's guards per client address: the session's side of
//! `game::abuse`. Before a password is checked, the attempt reserves a place
//! under the address's failed-login limit ([`AddressGuard::admit`]), waiting
//! while every place is held by checks still running; a failed check turns
//! its place into a failure, any other end gives it back, so parallel guesses
//! get no more checks than the limit and parallel right passwords all get
//! theirs. A guest account takes one of its guests, and a sign-up one of its
//! sign-ups.
//!
//! A refusal waits [`REFUSAL_DELAY`] before it is said: a storm of guesses
//! answered at once would turn refusals and reconnections around as fast as
//! the server can go.
//!
//! **Invariant:** no bcrypt work for an address that is shut out; this module
//! only asks and counts, the login flow decides what to say and ask next. A
//! guard dropped with its place still held (the connection went away during
//! the check) ends it as the check would have: a check that had its turn at
//! bcrypt counts as a failure, one that had not is given back.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use super::Link;
use crate::game::Game;
use crate::game::abuse::{REFUSAL_DELAY, Reservation};
use crate::replies;

/// One connection's standing with the limits of its address.
pub struct AddressGuard {
    game: Arc<Game>,
    from: IpAddr,
    /// Where the attempt is: no place held, a place held, or a place held by
    /// a check that has had its turn at bcrypt.
    held: AtomicU8,
}

const HOLDS_NOTHING: u8 = 0;
const HOLDS_A_PLACE: u8 = 1;
const CHECKING: u8 = 2;

impl AddressGuard {
    pub fn new(link: &Link) -> AddressGuard {
        AddressGuard {
            game: link.game().clone(),
            from: link.peer().addr.ip(),
            held: AtomicU8::new(HOLDS_NOTHING),
        }
    }

    /// Reserves a place for a password check; false when the address is shut
    /// out. While every place is held by other checks from the address still
    /// running, waits for one of them to end and asks again: each wait ends
    /// with a check that does, so it is as long as the bcrypt queue.
    pub async fn admit(&self) -> bool {
        let limits = self.game.address_limits();
        let decided = |reservation: Reservation| match reservation {
            Reservation::Taken => {
                self.held.store(HOLDS_A_PLACE, Ordering::Relaxed);
                Ok(true)
            }
            Reservation::ShutOut => Ok(false),
            Reservation::Busy(ended) => Err(ended),
        };
        loop {
            let ended = match decided(limits.reserve_login(self.from, Instant::now())) {
                Ok(admitted) => return admitted,
                Err(ended) => ended,
            };
            // Listening, then asking again, so an end between the first
            // answer and the wait is not missed.
            let notified = ended.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match decided(limits.reserve_login(self.from, Instant::now())) {
                Ok(admitted) => return admitted,
                Err(now) if Arc::ptr_eq(&now, &ended) => notified.await,
                // Every place was given up and taken again meanwhile: the
                // places have a new notice, listened to on the next turn.
                Err(_) => {}
            }
        }
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

    /// At the password check's own turn at bcrypt: true when this attempt
    /// holds its place (it always does after [`AddressGuard::admit`]), which
    /// from now on counts as a failure unless the check ends otherwise.
    pub fn begin_check(&self) -> bool {
        self.held
            .compare_exchange(
                HOLDS_A_PLACE,
                CHECKING,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// The check did not end in a wrong password (it was right, or the store
    /// failed): the place is given back.
    pub fn succeeded(&self) {
        if self.held.swap(HOLDS_NOTHING, Ordering::Relaxed) != HOLDS_NOTHING {
            self.game
                .address_limits()
                .end_login(self.from, Instant::now(), false);
        }
    }

    /// The password was wrong, or the account was locked: one failure for the
    /// address; logs once when that shuts the address out.
    pub fn failed(&self) {
        let limits = self.game.address_limits();
        let reached = if self.held.swap(HOLDS_NOTHING, Ordering::Relaxed) == HOLDS_NOTHING {
            limits.login_failed(self.from, Instant::now())
        } else {
            limits.end_login(self.from, Instant::now(), true)
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

impl Drop for AddressGuard {
    fn drop(&mut self) {
        match self.held.swap(HOLDS_NOTHING, Ordering::Relaxed) {
            HOLDS_NOTHING => {}
            held => {
                self.game
                    .address_limits()
                    .end_login(self.from, Instant::now(), held == CHECKING);
            }
        }
    }
}
