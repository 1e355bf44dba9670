//! What the store's fronts share when a request may be refused: who is
//! acting ([`Actor`], read fresh in the transaction by [`acting_account`]),
//! why a change to an account was refused ([`ChangeRefused`]), why a
//! character was not made ([`CharacterRefused`], whichever path asked), and
//! [`decide`], which runs a decision and what it allows in one transaction
//! and keeps a refusal apart from a failure.
//!
//! Refusals are values, not sentences: the command and session layers say
//! them to players in their own words.

use rusqlite::{Connection, TransactionBehavior};

use super::accounts::{Account, account_by_id};
use super::{Store, StoreError};
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
    /// `NewCharacter` was allowed, but the character could not be made.
    #[error(transparent)]
    Character(CharacterRefused),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a character was not made, on any path that makes one; nothing was
/// written.
#[derive(Debug, thiserror::Error)]
pub enum CharacterRefused {
    /// The name breaks the character name rules: the rule, in a sentence.
    #[error("{0}")]
    BadName(String),
    /// The account has `limit` characters in that world already.
    #[error("the account already has {limit} characters in that world")]
    SlotsFull { limit: usize },
    /// A character of that world has the name, or one that looks like it.
    #[error("the character name {name} is taken")]
    NameTaken { name: String },
    /// The server keeps each account to one world
    /// (`--multi-world-characters off`), and the account's characters live
    /// in `world_id`.
    #[error("the account's characters live in {world_id}")]
    OtherWorld { world_id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CharacterRefused> for ChangeRefused {
    fn from(refused: CharacterRefused) -> Self {
        match refused {
            CharacterRefused::Store(err) => ChangeRefused::Store(err),
            other => ChangeRefused::Character(other),
        }
    }
}

/// A refusal type of a front: a store failure is one of its cases, and is
/// told apart from the refusals proper by [`decide`].
pub(in crate::store) trait Refusal: From<StoreError> + Send + 'static {
    /// The store failure this is, or the refusal itself.
    fn failure(self) -> Result<StoreError, Self>;
}

impl Refusal for ChangeRefused {
    fn failure(self) -> Result<StoreError, Self> {
        match self {
            ChangeRefused::Store(err) => Ok(err),
            other => Err(other),
        }
    }
}

impl Refusal for CharacterRefused {
    fn failure(self) -> Result<StoreError, Self> {
        match self {
            CharacterRefused::Store(err) => Ok(err),
            other => Err(other),
        }
    }
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

/// Runs `f` in one `BEGIN IMMEDIATE` transaction on the blocking pool: the
/// decision and what it allows commit together, or nothing does. A refusal
/// rolls the transaction back like a failure, but reaches the caller as the
/// refusal it is.
pub(in crate::store) async fn decide<T, R>(
    store: &Store,
    f: impl FnOnce(&Connection) -> Result<T, R> + Send + 'static,
) -> Result<T, R>
where
    T: Send + 'static,
    R: Refusal,
{
    store
        .call(move |db| {
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
            match f(&tx) {
                Ok(value) => {
                    tx.commit()?;
                    Ok(Ok(value))
                }
                // Dropping the transaction rolls it back, in both cases.
                Err(refused) => match refused.failure() {
                    Ok(failure) => Err(failure),
                    Err(refused) => Ok(Err(refused)),
                },
            }
        })
        .await?
}

/// [`decide`] for the account changes and admin gates, whose refusals are
/// [`ChangeRefused`].
pub(in crate::store) async fn refusable<T: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&Connection) -> Result<T, ChangeRefused> + Send + 'static,
) -> Result<T, ChangeRefused> {
    decide(store, f).await
}
