//! What the store's fronts share when a request may be refused: who is
//! acting ([`Actor`], read fresh in the transaction by [`acting_account`]),
//! why a change was refused ([`ChangeRefused`]), and [`refusable`], which runs
//! a decision and its change in one transaction and keeps a refusal apart
//! from a failure.

use rusqlite::Connection;

use super::accounts::{Account, account_by_id};
use super::{Store, StoreError, write_tx};
use crate::auth::Role;

/// Who asks for a change to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// An account acting in the game. It must still hold `needs` and be active
    /// (both read fresh in the change's own transaction), and the hierarchy
    /// applies to what it may do to whom.
    Account { user_id: i64, needs: Role },
    /// The operator's shell: no hierarchy.
    Operator,
}

/// Why a change was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ChangeRefused {
    /// The acting account no longer holds the role the command needs (or was
    /// banned or deleted meanwhile).
    #[error("the acting account may not do this")]
    NotAllowed,
    #[error("no account named {0:?}")]
    NoAccount(String),
    #[error("the account {0:?} was deleted")]
    Deleted(String),
    #[error("nobody manages their own account")]
    Yourself,
    #[error("the role of {account} ({role}) is not below the actor's")]
    NotBelow { account: String, role: Role },
    #[error("only roles below {yours} may be given")]
    RoleTooHigh { yours: Role },
    #[error("there is no world {0:?}")]
    NoWorld(String),
    /// `NewCharacter` refused: the account has `limit` characters in the world.
    #[error("the account already has {limit} characters in that world")]
    SlotsFull { limit: usize },
    /// `NewCharacter` refused: a character of that world has the name.
    #[error("that character name is taken")]
    NameTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The acting account read fresh inside the caller's transaction: `None` for
/// the operator; refused when the account no longer holds the role it needs,
/// or was banned or deleted meanwhile.
pub(in crate::store) fn acting_account(
    tx: &Connection,
    actor: Actor,
) -> Result<Option<Account>, ChangeRefused> {
    match actor {
        Actor::Account { user_id, needs } => {
            let account = account_by_id(tx, user_id)?.ok_or(ChangeRefused::NotAllowed)?;
            if !account.is_active || account.tombstoned_at.is_some() || account.role < needs {
                return Err(ChangeRefused::NotAllowed);
            }
            Ok(Some(account))
        }
        Actor::Operator => Ok(None),
    }
}

/// Runs `f` in one `BEGIN IMMEDIATE` transaction on the blocking pool, keeping a
/// refusal apart from a store failure: a refusal rolls the transaction back
/// like an error does, but reaches the caller as the refusal it is.
pub(in crate::store) async fn refusable<T: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&Connection) -> Result<T, ChangeRefused> + Send + 'static,
) -> Result<T, ChangeRefused> {
    store
        .call(move |db| {
            let mut refused = None;
            let done = write_tx(db, |tx| match f(tx) {
                Ok(value) => Ok(Some(value)),
                Err(ChangeRefused::Store(err)) => Err(err),
                Err(other) => {
                    refused = Some(other);
                    Ok(None)
                }
            })?;
            Ok(done.ok_or(refused))
        })
        .await?
        .map_err(|refused| refused.unwrap_or(ChangeRefused::NotAllowed))
}
