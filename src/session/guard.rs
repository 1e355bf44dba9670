//! The login's guards per client address: the session's side of
//! `game::abuse`. Before a password is checked, the address must still be
//! allowed to try (asked again when the check's turn at bcrypt comes); a
//! failure counts against it; a guest account takes one of its guests.
//!
//! A refusal waits [`REFUSAL_DELAY`] before it is said: a storm of guesses
//! answered at once would turn refusals and reconnections around as fast as
//! the server can go.
//!
//! **Invariant:** no bcrypt work for an address that is shut out; this module
//! only asks and counts, the login flow decides what to say and ask next.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use super::Link;
use crate::game::Game;
use crate::game::abuse::REFUSAL_DELAY;
use crate::replies;

/// One connection's standing with the limits of its address.
pub struct AddressGuard {
    game: Arc<Game>,
    from: IpAddr,
}

impl AddressGuard {
    pub fn new(link: &Link) -> AddressGuard {
        AddressGuard {
            game: link.game().clone(),
            from: link.peer().addr.ip(),
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

    /// Counts a failed login; logs once when it shuts the address out.
    pub fn failed(&self) {
        if self
            .game
            .address_limits()
            .login_failed(self.from, Instant::now())
        {
            tracing::warn!(from = %self.from, "address shut out after too many failed logins");
        }
    }

    /// Takes one of the address's guest accounts, if it has one left.
    pub fn take_guest(&self) -> bool {
        self.game
            .address_limits()
            .take_guest(self.from, Instant::now())
    }
}
