//! What the login and the character menu ask about accounts, each by what it
//! needs: a login attempt (and the `password` command's old password) decided
//! under the server's lockout policy, the client's address keyed as
//! `abuse` keys addresses (IPv6 by /64), whether
//! a name is free, signing up and opening a guest account (through the one
//! path that makes accounts), checking and changing the player's own
//! password, and the colour preference a session starts with.
//!
//! **Invariant:** every decision is the store's, on fresh state in the
//! transaction (or under the account's login lock) that acts on it; these
//! methods say what is asked and return its values and refusals, which the
//! session words.

use std::net::IpAddr;

use chrono::Utc;

use super::Game;
use super::abuse::address_key;
use crate::store::accounts::PasswordRefused;
use crate::store::accounts::{AccountRefused, Created, FirstCharacter, LoginCheck, Opener};
use crate::store::{StoreResult, iso};

impl Game {
    /// Decides a login attempt from the client address `from` under the
    /// server's lockout policy (see `Accounts::check_login_if`): the lock
    /// that applies is `from`'s own where the account logged in from it
    /// lately, the strangers' otherwise; `admitted` is asked again when the
    /// attempt's turn at bcrypt comes, and a no withdraws it unchecked.
    pub async fn check_login(
        &self,
        name: &str,
        password: String,
        from: IpAddr,
        admitted: &(dyn Fn() -> bool + Sync),
    ) -> StoreResult<LoginCheck> {
        let policy = self.config().lockout;
        self.store()
            .accounts()
            .check_login_if(name, password, address_key(from), policy, admitted)
            .await
    }

    /// Whether an account already has the name, or a look-alike of it (what
    /// signing up would refuse).
    pub async fn account_name_taken(&self, name: &str) -> StoreResult<bool> {
        self.store().accounts().name_taken(name).await
    }

    /// Signs a player up from the client address `from`: the account
    /// `username` with its first character and its `signup` audit row, in
    /// one transaction; `from` is known to the account from then on.
    pub async fn sign_up(
        &self,
        username: &str,
        password: &str,
        first: FirstCharacter,
        from: IpAddr,
    ) -> Result<Created, AccountRefused> {
        let opener = Opener::SignUp {
            username: username.to_string(),
            from: Some(address_key(from)),
        };
        self.store()
            .accounts()
            .create(opener, password, first)
            .await
    }

    /// Opens a guest account for the client address `from`, which expires
    /// after the server's guest time, with its first character and its
    /// `guest` audit row.
    pub async fn open_guest(
        &self,
        password: &str,
        first: FirstCharacter,
        from: IpAddr,
    ) -> Result<Created, AccountRefused> {
        let ttl = chrono::Duration::from_std(self.config().guest_ttl).unwrap_or_default();
        let opener = Opener::Guest {
            expires_at: iso(Utc::now() + ttl),
            from: Some(address_key(from)),
        };
        self.store()
            .accounts()
            .create(opener, password, first)
            .await
    }

    /// Whether `password` is the account's own (the `password` command asks
    /// for the old one first), decided as a login from `from` is: a wrong
    /// answer counts towards the lock, a locked account's is refused
    /// unchecked (see `Accounts::check_own_password`).
    pub async fn check_own_password(
        &self,
        user_id: i64,
        password: String,
        from: IpAddr,
        admitted: &(dyn Fn() -> bool + Sync),
    ) -> StoreResult<LoginCheck> {
        let policy = self.config().lockout;
        self.store()
            .accounts()
            .check_own_password(user_id, password, address_key(from), policy, admitted)
            .await
    }

    /// Sets the account's own new password, once it passed the policy.
    pub async fn change_own_password(
        &self,
        user_id: i64,
        password: &str,
    ) -> Result<(), PasswordRefused> {
        let hash = self.hash_new_password(password).await?;
        self.store()
            .accounts()
            .set_own_password(user_id, hash)
            .await?;
        Ok(())
    }

    /// The account's colour preference (`color on|off`).
    pub async fn colour_wanted(&self, user_id: i64) -> StoreResult<bool> {
        self.store().accounts().colour(user_id).await
    }
}
