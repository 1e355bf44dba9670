//! New passwords: the policy, then the hash (the one way a password becomes
//! a hash), and the player's own password — checked, then replaced.

use rusqlite::{Connection, params};

use super::Accounts;
use super::change::update_user;
use crate::auth::password::policy_problems;
use crate::store::{StoreError, StoreResult, write_tx};

/// Why a new password was not hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordRefused {
    /// It breaks the policy; every broken rule is named.
    #[error("{}", .0.join(" "))]
    Weak(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Accounts<'_> {
    /// Policy, then hash: the one way a new password becomes a hash, for every
    /// path that sets one (registration, guests, `password`, `/setpassword`,
    /// the shell's `user passwd`, `create-superuser`).
    pub async fn hash_new_password(&self, password: &str) -> Result<String, PasswordRefused> {
        let problems = policy_problems(password);
        if !problems.is_empty() {
            return Err(PasswordRefused::Weak(problems));
        }
        Ok(self.store.hash_password(password.to_string()).await?)
    }

    /// Replaces the player's own password hash (after they gave the old one).
    pub async fn set_own_password(&self, user_id: i64, hash: String) -> StoreResult<()> {
        self.store
            .call(move |db| write_tx(db, |tx| reset_password_in(tx, user_id, &hash)))
            .await?;
        self.store.inner.pending.forget(user_id);
        Ok(())
    }
}

/// Replaces an account's password hash within the caller's transaction and
/// lifts every login lockout of it (the strangers' and each address's): an
/// operator resetting a password is usually letting someone back in.
pub(super) fn reset_password_in(conn: &Connection, user_id: i64, hash: &str) -> StoreResult<()> {
    update_user(
        conn,
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![user_id, hash],
    )?;
    crate::store::lockout::clear_in(conn, user_id)
}
