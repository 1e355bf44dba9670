//! Accounts (`users` rows): creation with a first character, the login check
//! under a per-account lock, the player's own password, and the one path by which
//! anybody — an admin in the game or the operator's shell — changes an account.

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::audit::{self, AuditEntry};
use super::characters::{NewCharacter, insert_character};
use super::lockout::{self, is_locked};
use super::{Store, StoreError, StoreResult, now_iso, write_tx};
use crate::auth::names::{guest_name, name_key};
use crate::auth::password::policy_problems;
use crate::auth::{self, Refusal, Role};
use crate::config::LockoutPolicy;
use crate::text::sanitize;

/// An account as login and administration see it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub is_active: bool,
    pub is_guest: bool,
    pub guest_expires_at: Option<String>,
    pub failed_attempts: i64,
    pub lockout_until: Option<String>,
    pub created_at: String,
    pub last_login: Option<String>,
    pub tombstoned_at: Option<String>,
}

const ACCOUNT_COLUMNS: &str = "id, username, password_hash, role, is_active, is_guest, \
     guest_expires_at, failed_attempts, lockout_until, created_at, last_login, tombstoned_at";

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    let role: String = row.get(3)?;
    Ok(Account {
        id: row.get(0)?,
        username: row.get(1)?,
        password_hash: row.get(2)?,
        // The CHECK constraint keeps the column to the four names.
        role: role.parse().unwrap_or(Role::Player),
        is_active: row.get(4)?,
        is_guest: row.get(5)?,
        guest_expires_at: row.get(6)?,
        failed_attempts: row.get(7)?,
        lockout_until: row.get(8)?,
        created_at: row.get(9)?,
        last_login: row.get(10)?,
        tombstoned_at: row.get(11)?,
    })
}

/// What a new account is made of; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub is_guest: bool,
    pub guest_expires_at: Option<String>,
    /// Where the account came from: "telnet", "guest", "cli", "env".
    pub origin: String,
}

/// The ids of what [`Accounts::create`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub user_id: i64,
    /// The account's name: as asked, except for a guest whose number was
    /// taken and drawn again.
    pub username: String,
    /// `None` when the character name was already taken in that world.
    pub character_id: Option<i64>,
}

/// The outcome of a login attempt at the password check.
#[derive(Debug, Clone)]
pub enum LoginCheck {
    /// The password is right and the account was not locked.
    Verified(Account),
    /// A wrong password, or no such account (after the same bcrypt work).
    Wrong,
    /// The account is locked; the password was not checked.
    Locked,
    /// The caller's admission was withdrawn while the attempt waited for its
    /// turn at bcrypt (see [`Accounts::check_login_if`]); nothing was checked.
    Withdrawn,
}

/// Why a new password was not hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordRefused {
    /// It breaks the policy; every broken rule is named.
    #[error("{}", .0.join(" "))]
    Weak(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

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

/// A change to one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// Deactivate: login refused, live connections closed by the caller.
    Ban {
        reason: Option<String>,
    },
    Unban,
    Role(Role),
    /// A new password hash (see [`Accounts::hash_new_password`]); also lifts any
    /// login lockout, since a reset usually lets someone back in.
    Password {
        hash: String,
    },
    /// Tombstone: login refused, characters kept but unlinked, sessions dropped.
    Delete,
    /// Grant (`allow`) or revoke access to an invite-only world.
    Access {
        world_id: String,
        allow: bool,
    },
    /// A new character for the account, within `slots` characters per world
    /// (`/newchar`, where players do not make their own).
    NewCharacter {
        character: NewCharacter,
        slots: usize,
    },
    /// Nothing stored changes; the hierarchy is checked and the action audited
    /// (a kick or a teleport, carried out by the caller).
    Oversee {
        detail: Option<String>,
    },
}

/// A change that was allowed.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The account as it was before the change.
    pub account: Account,
    /// False when there was nothing to do (already banned, already that role).
    pub changed: bool,
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

/// The typed front for accounts (see [`Store::accounts`]).
pub struct Accounts<'s> {
    store: &'s Store,
}

impl<'s> Accounts<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Accounts { store }
    }

    /// Creates an account and, if asked, its first character, in one
    /// transaction. A taken account name (or one that looks like a taken one)
    /// is [`StoreError::NameTaken`] — except for a guest, whose number is drawn
    /// again in the same transaction; a taken character name only means no
    /// character is made.
    pub async fn create(
        &self,
        account: NewAccount,
        first: Option<NewCharacter>,
    ) -> StoreResult<Created> {
        self.store
            .call(move |db| create_account(db, &account, first.as_ref(), &mut guest_name))
            .await
    }

    /// Finds an account by name, without regard to case.
    pub async fn find(&self, name: &str) -> StoreResult<Option<Account>> {
        let name = name.to_string();
        self.store.call(move |db| find_account(db, &name)).await
    }

    /// Whether an account already has the name, in any case or as a look-alike
    /// (the same `name_key`): what creating it would refuse.
    pub async fn name_taken(&self, name: &str) -> StoreResult<bool> {
        let key = crate::auth::names::name_key(name);
        let name = name.to_string();
        self.store
            .call(move |db| {
                Ok(db.query_row(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE username = ?1 OR name_key = ?2)",
                    params![name, key],
                    |r| r.get(0),
                )?)
            })
            .await
    }

    /// Accounts whose name contains `filter` (all when `None`), by name.
    pub async fn list(&self, filter: Option<&str>) -> StoreResult<Vec<Account>> {
        let filter = filter.map(str::to_string);
        self.store
            .call(move |db| list_accounts(db, filter.as_deref()))
            .await
    }

    /// How many accounts exist at all.
    pub async fn count(&self) -> StoreResult<i64> {
        self.store
            .call(|db| Ok(db.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?))
            .await
    }

    /// Whether any active superuser exists.
    pub async fn superuser_exists(&self) -> StoreResult<bool> {
        self.store
            .call(|db| {
                Ok(db.query_row(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'superuser'                      AND is_active = 1 AND tombstoned_at IS NULL)",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
    }

    /// The account's colour preference (`color on|off`); on for an account
    /// that is gone.
    pub async fn colour(&self, user_id: i64) -> StoreResult<bool> {
        self.store
            .call(move |db| {
                let wanted: Option<bool> = db
                    .query_row("SELECT color FROM users WHERE id = ?1", [user_id], |r| {
                        r.get(0)
                    })
                    .optional()?;
                Ok(wanted.unwrap_or(true))
            })
            .await
    }

    /// Records the account's colour preference.
    pub async fn set_colour(&self, user_id: i64, wanted: bool) -> StoreResult<()> {
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    tx.execute(
                        "UPDATE users SET color = ?2 WHERE id = ?1",
                        params![user_id, wanted],
                    )?;
                    Ok(())
                })
            })
            .await
    }

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

    /// Decides a login attempt on fresh state, one attempt per account at a
    /// time: under the account's login lock it reads the account, refuses a
    /// locked one without checking the password, checks the password (against a
    /// dummy hash for no account, so timing tells nothing), and records the
    /// outcome — a failure counts towards the lock, a success clears the count —
    /// before the next attempt on that account may read it. So parallel guesses
    /// get no more password checks than the threshold allows, and a right
    /// password arriving after the lock is refused.
    ///
    /// A wrong password is answered as soon as it is checked, and its failure
    /// is counted behind the answer, still holding the account's lock: an
    /// unknown name has nothing to count, so answering only after the count
    /// would tell known names from unknown ones by time. (Behind an unknown
    /// name's answer runs a write of the same shape, so the work that follows
    /// an answer, and how long the name stays locked, tell nothing either.) A
    /// right password is recorded before the answer (whoever has it learns
    /// nothing from time); if its hash was made at another cost, it is
    /// re-hashed at the current one behind the answer, so old hashes do not
    /// stay slower (or faster) to check than the dummy.
    pub async fn check_login(
        &self,
        name: &str,
        password: String,
        policy: LockoutPolicy,
    ) -> StoreResult<LoginCheck> {
        self.check_login_if(name, password, policy, &|| true).await
    }

    /// [`Accounts::check_login`], asking `admitted` again once the attempt's
    /// turn at bcrypt has come (it may have queued behind many): when that says
    /// no, nothing is checked and the answer is [`LoginCheck::Withdrawn`]. The
    /// session uses it for its client address's failed-login limit, which the
    /// other attempts in the queue may have reached meanwhile.
    pub async fn check_login_if(
        &self,
        name: &str,
        password: String,
        policy: LockoutPolicy,
        admitted: &(dyn Fn() -> bool + Sync),
    ) -> StoreResult<LoginCheck> {
        let lock = self.store.login_lock(name);
        let turn = lock.clone().lock_owned().await;
        let decided = self.decide_login(name, password, admitted).await;
        let (check, record) = match decided {
            Ok(decided) => decided,
            Err(err) => {
                drop(turn);
                self.store.release_login_lock(name, lock);
                return Err(err);
            }
        };
        let record = match record {
            LoginRecord::Success { user_id, rehash } => {
                let cleared = self
                    .store
                    .call(move |db| lockout::record_success(db, user_id))
                    .await;
                if let Err(err) = cleared {
                    drop(turn);
                    self.store.release_login_lock(name, lock);
                    return Err(err);
                }
                match rehash {
                    Some((password, old_hash)) => LoginRecord::Rehash {
                        user_id,
                        password,
                        old_hash,
                    },
                    None => LoginRecord::Nothing,
                }
            }
            other => other,
        };
        let (store, name) = (self.store.clone(), name.to_string());
        tokio::spawn(async move {
            record_login(&store, record, policy).await;
            drop(turn);
            store.release_login_lock(&name, lock);
        });
        Ok(check)
    }

    /// Waits until what earlier login attempts on `name` left to write is
    /// written (tests).
    #[cfg(test)]
    pub(crate) async fn login_records_written(&self, name: &str) {
        let lock = self.store.login_lock(name);
        drop(lock.lock().await);
        self.store.release_login_lock(name, lock);
    }

    /// The part of [`Accounts::check_login`] the answer waits for: read, lock
    /// check, password check.
    async fn decide_login(
        &self,
        name: &str,
        password: String,
        admitted: &(dyn Fn() -> bool + Sync),
    ) -> StoreResult<(LoginCheck, LoginRecord)> {
        let account = self.find(name).await?.filter(|a| a.tombstoned_at.is_none());
        let Some(account) = account else {
            if self
                .store
                .verify_password_if(password, None, admitted)
                .await
                .is_none()
            {
                return Ok((LoginCheck::Withdrawn, LoginRecord::Nothing));
            }
            return Ok((LoginCheck::Wrong, LoginRecord::Decoy));
        };
        if is_locked(account.lockout_until.as_deref(), Utc::now()) {
            return Ok((LoginCheck::Locked, LoginRecord::Nothing));
        }
        let hash = Some(account.password_hash.clone());
        let Some(verified) = self
            .store
            .verify_password_if(password.clone(), hash, admitted)
            .await
        else {
            return Ok((LoginCheck::Withdrawn, LoginRecord::Nothing));
        };
        if !verified {
            let record = LoginRecord::Failure {
                user_id: account.id,
                username: account.username.clone(),
            };
            return Ok((LoginCheck::Wrong, record));
        }
        let outdated = super::hashing::cost_of(&account.password_hash)
            .is_none_or(|cost| cost != self.store.bcrypt_cost());
        let record = LoginRecord::Success {
            user_id: account.id,
            rehash: outdated.then(|| (password, account.password_hash.clone())),
        };
        Ok((LoginCheck::Verified(account), record))
    }

    /// Whether `password` is the account's current one (the player changing it).
    pub async fn verify_password_of(&self, user_id: i64, password: String) -> StoreResult<bool> {
        let hash = self
            .store
            .call(move |db| {
                Ok(db
                    .query_row(
                        "SELECT password_hash FROM users WHERE id = ?1",
                        [user_id],
                        |r| r.get::<_, String>(0),
                    )
                    .optional()?)
            })
            .await?;
        let known = hash.is_some();
        Ok(self.store.verify_password(password, hash).await && known)
    }

    /// Replaces the player's own password hash (after they gave the old one).
    pub async fn set_own_password(&self, user_id: i64, hash: String) -> StoreResult<()> {
        self.store
            .call(move |db| write_tx(db, |tx| reset_password_in(tx, user_id, &hash)))
            .await
    }

    /// The one path that changes an account. In one `BEGIN IMMEDIATE`
    /// transaction it reads the actor fresh (it must still hold the role it
    /// needs), finds the target, applies the hierarchy, makes the change and
    /// writes the audit row (`action`, e.g. `ban` or `cli.ban`). The caller then
    /// acts on live connections (closing a banned account's, a new role for
    /// its sessions).
    pub async fn change(
        &self,
        actor: Actor,
        target: &str,
        change: AccountChange,
        action: &str,
    ) -> Result<Changed, ChangeRefused> {
        let (target, action) = (target.to_string(), action.to_string());
        refusable(self.store, move |tx| {
            change_in(tx, actor, &target, &change, &action)
        })
        .await
    }

    /// Whether `actor` may make `change` to `target` now, without making it (to
    /// refuse before asking an admin for a new password; the change itself
    /// checks again).
    pub async fn check_change(
        &self,
        actor: Actor,
        target: &str,
        change: AccountChange,
    ) -> Result<Account, ChangeRefused> {
        let target = target.to_string();
        refusable(self.store, move |tx| {
            permitted_in(tx, actor, &target, &change).map(|(_, account)| account)
        })
        .await
    }

    /// For each given account still allowed to be logged in, its role now;
    /// accounts banned, deleted or gone are left out (the upkeep job closes
    /// their connections, and brings changed roles to live sessions).
    pub async fn standing(&self, user_ids: Vec<i64>) -> StoreResult<Vec<(i64, Role)>> {
        self.store
            .call(move |db| {
                let mut stmt = db.prepare_cached(
                    "SELECT role FROM users WHERE id = ?1 AND is_active = 1                      AND tombstoned_at IS NULL",
                )?;
                let mut welcome = Vec::new();
                for id in user_ids {
                    let role: Option<String> = stmt.query_row([id], |r| r.get(0)).optional()?;
                    if let Some(role) = role {
                        welcome.push((id, role.parse().unwrap_or(Role::Player)));
                    }
                }
                Ok(welcome)
            })
            .await
    }
}

/// What a login attempt leaves to be written once it is answered.
enum LoginRecord {
    /// A locked account (answered differently anyway): nothing changes.
    Nothing,
    /// No such account: nothing changes, but a write transaction of the same
    /// shape as a failure's runs all the same, under the name's lock, so that
    /// the work behind an answer (and how long the name stays locked) does
    /// not tell a known name from an unknown one.
    Decoy,
    /// A wrong password: it counts towards the account's lock.
    Failure { user_id: i64, username: String },
    /// A right password: the count is cleared; with `rehash`, the password and
    /// the hash it matched, made at another cost than the current one.
    Success {
        user_id: i64,
        rehash: Option<(String, String)>,
    },
    /// A right password whose hash is to be made again at the current cost.
    Rehash {
        user_id: i64,
        password: String,
        old_hash: String,
    },
}

/// Writes what a login attempt left to write (see [`Accounts::check_login`]).
/// Its answer has gone out already, so a failure here can only be logged.
async fn record_login(store: &Store, record: LoginRecord, policy: LockoutPolicy) {
    match record {
        LoginRecord::Nothing => {}
        LoginRecord::Decoy => {
            if let Err(err) = store.call(lockout::record_nobody).await {
                tracing::debug!(%err, "the decoy write for an unknown name failed");
            }
        }
        LoginRecord::Failure { user_id, username } => {
            let locked = store
                .call(move |db| lockout::record_failure(db, user_id, &policy, Utc::now()))
                .await;
            match locked {
                Ok(Some(until)) => {
                    store.count(|m| m.lockout());
                    tracing::warn!(account = %username, %until, "account locked after failed logins");
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::error!(%err, account = %username, "could not count a failed login");
                }
            }
        }
        // Recorded before the answer (see `check_login`).
        LoginRecord::Success { .. } => {}
        LoginRecord::Rehash {
            user_id,
            password,
            old_hash,
        } => rehash_password(store, user_id, password, old_hash).await,
    }
}

/// Replaces a hash made at another cost with one at the current cost, unless
/// the password was changed meanwhile.
async fn rehash_password(store: &Store, user_id: i64, password: String, old_hash: String) {
    let hash = match store.hash_password(password).await {
        Ok(hash) => hash,
        Err(err) => {
            tracing::warn!(%err, user_id, "could not re-hash a password at the current cost");
            return;
        }
    };
    let replaced = store
        .call(move |db| {
            write_tx(db, |tx| {
                Ok(tx.execute(
                    "UPDATE users SET password_hash = ?2 WHERE id = ?1 AND password_hash = ?3",
                    params![user_id, hash, old_hash],
                )? > 0)
            })
        })
        .await;
    match replaced {
        Ok(true) => tracing::info!(user_id, "password re-hashed at the current bcrypt cost"),
        Ok(false) => {}
        Err(err) => tracing::warn!(%err, user_id, "could not store a re-hashed password"),
    }
}

/// The checks of a change, inside the caller's transaction: the actor read
/// fresh, the target found, the hierarchy applied. Returns both accounts.
fn permitted_in(
    tx: &Connection,
    actor: Actor,
    target: &str,
    change: &AccountChange,
) -> Result<(Option<Account>, Account), ChangeRefused> {
    let acting = acting_account(tx, actor)?;
    let account =
        find_account(tx, target)?.ok_or_else(|| ChangeRefused::NoAccount(target.into()))?;
    if account.tombstoned_at.is_some() {
        return Err(ChangeRefused::Deleted(account.username));
    }
    if let Some(acting) = &acting {
        let giving = match change {
            AccountChange::Role(role) => Some(*role),
            _ => None,
        };
        auth::may_manage((acting.id, acting.role), (account.id, account.role), giving).map_err(
            |refusal| match refusal {
                Refusal::Yourself => ChangeRefused::Yourself,
                Refusal::NotBelow => ChangeRefused::NotBelow {
                    account: account.username.clone(),
                    role: account.role,
                },
                Refusal::RoleTooHigh => ChangeRefused::RoleTooHigh { yours: acting.role },
            },
        )?;
    }
    Ok((acting, account))
}

/// The body of [`Accounts::change`], inside its transaction.
fn change_in(
    tx: &Connection,
    actor: Actor,
    target: &str,
    change: &AccountChange,
    action: &str,
) -> Result<Changed, ChangeRefused> {
    let (acting, account) = permitted_in(tx, actor, target, change)?;
    let (changed, detail) = apply(tx, &account, change, acting.as_ref().map(|a| a.id))?;
    // An in-game admin's every permitted command is on record; the shell's
    // only when it changed something.
    if changed || acting.is_some() {
        audit::record(
            tx,
            &AuditEntry {
                actor_user_id: acting.as_ref().map(|a| a.id),
                action: action.to_string(),
                target: Some(account.username.clone()),
                detail,
            },
        )?;
    }
    Ok(Changed { account, changed })
}

/// The acting account read fresh inside the caller's transaction: `None` for
/// the operator; refused when the account no longer holds the role it needs,
/// or was banned or deleted meanwhile.
pub(super) fn acting_account(
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
pub(super) async fn refusable<T: Send + 'static>(
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

/// Makes one change; returns whether anything changed and the audit detail.
fn apply(
    tx: &Connection,
    account: &Account,
    change: &AccountChange,
    granted_by: Option<i64>,
) -> Result<(bool, Option<String>), ChangeRefused> {
    let id = account.id;
    Ok(match change {
        AccountChange::Ban { reason } => {
            if account.is_active {
                update_user(
                    tx,
                    "UPDATE users SET is_active = 0 WHERE id = ?1",
                    params![id],
                )?;
            }
            // The reason is shown to the banned player at login: it is kept
            // as clean as anything else players see, whoever typed it.
            let reason = reason.as_deref().map(sanitize).filter(|r| !r.is_empty());
            (account.is_active, reason)
        }
        AccountChange::Unban => {
            if !account.is_active {
                update_user(
                    tx,
                    "UPDATE users SET is_active = 1 WHERE id = ?1",
                    params![id],
                )?;
            }
            (!account.is_active, None)
        }
        AccountChange::Role(role) => {
            if account.role != *role {
                update_user(
                    tx,
                    "UPDATE users SET role = ?2 WHERE id = ?1",
                    params![id, role.as_str()],
                )?;
            }
            (
                account.role != *role,
                Some(format!("{} -> {role}", account.role)),
            )
        }
        AccountChange::Password { hash } => {
            reset_password_in(tx, id, hash)?;
            (true, None)
        }
        AccountChange::Delete => {
            tombstone(tx, id)?;
            (true, None)
        }
        AccountChange::Access { world_id, allow } => {
            let known: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM worlds WHERE id = ?1)",
                    [world_id],
                    |r| r.get(0),
                )
                .map_err(StoreError::from)?;
            if !known {
                return Err(ChangeRefused::NoWorld(world_id.clone()));
            }
            set_world_access(tx, id, world_id, granted_by, *allow)?;
            (true, Some(world_id.clone()))
        }
        AccountChange::NewCharacter { character, slots } => {
            let have: i64 = tx
                .query_row(
                    "SELECT count(*) FROM characters WHERE user_id = ?1 AND world_id = ?2",
                    params![id, character.world_id],
                    |r| r.get(0),
                )
                .map_err(StoreError::from)?;
            if usize::try_from(have).unwrap_or(usize::MAX) >= *slots {
                return Err(ChangeRefused::SlotsFull { limit: *slots });
            }
            match insert_character(tx, id, character, false) {
                Ok(_) => {}
                Err(StoreError::NameTaken) => return Err(ChangeRefused::NameTaken),
                Err(err) => return Err(err.into()),
            }
            (
                true,
                Some(format!("{} in {}", character.name, character.world_id)),
            )
        }
        AccountChange::Oversee { detail } => (false, detail.clone()),
    })
}

/// How many numbers a new guest draws before giving up (a guest number is
/// taken with the chance that the 100,000 are in use, so this is never reached
/// in practice).
const GUEST_NAME_DRAWS: usize = 50;

/// Creates an account and, if asked, its first character, in one transaction.
/// A taken account name is [`StoreError::NameTaken`], unless the account is a
/// guest's: then `next_guest_name` draws another. A taken character name only
/// means no character is made.
fn create_account(
    conn: &mut Connection,
    account: &NewAccount,
    first: Option<&NewCharacter>,
    next_guest_name: &mut dyn FnMut() -> String,
) -> StoreResult<Created> {
    write_tx(conn, |tx| {
        let mut username = account.username.clone();
        let mut draws = 1;
        let user_id = loop {
            // A refused INSERT undoes only itself; the transaction goes on.
            match insert_user(tx, account, &username) {
                Ok(id) => break id,
                Err(StoreError::NameTaken) if account.is_guest && draws < GUEST_NAME_DRAWS => {
                    username = next_guest_name();
                    draws += 1;
                }
                Err(err) => return Err(err),
            }
        };
        let character_id = match first {
            None => None,
            Some(first) => {
                tx.execute("SAVEPOINT first_character", [])?;
                match insert_character(tx, user_id, first, account.is_guest) {
                    Ok(id) => {
                        tx.execute("RELEASE first_character", [])?;
                        Some(id)
                    }
                    Err(StoreError::NameTaken) => {
                        tx.execute("ROLLBACK TO first_character", [])?;
                        tx.execute("RELEASE first_character", [])?;
                        None
                    }
                    Err(other) => return Err(other),
                }
            }
        };
        Ok(Created {
            user_id,
            username,
            character_id,
        })
    })
}

/// Inserts the `users` row; a name taken, or looking like a taken one (the
/// same [`name_key`], kept unique by an index), is [`StoreError::NameTaken`].
fn insert_user(conn: &Connection, account: &NewAccount, username: &str) -> StoreResult<i64> {
    conn.execute(
        "INSERT INTO users (username, name_key, password_hash, role, is_guest, \
         guest_expires_at, account_origin, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            username,
            name_key(username),
            account.password_hash,
            account.role.as_str(),
            account.is_guest,
            account.guest_expires_at,
            account.origin,
            now_iso()
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Finds an account by name, without regard to case.
pub(super) fn find_account(conn: &Connection, username: &str) -> StoreResult<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE username = ?1");
    Ok(conn
        .query_row(&sql, [username], account_from_row)
        .optional()?)
}

/// Finds an account by id.
fn account_by_id(conn: &Connection, id: i64) -> StoreResult<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], account_from_row).optional()?)
}

/// Accounts whose name contains `filter` (all when `None`), by name.
fn list_accounts(conn: &Connection, filter: Option<&str>) -> StoreResult<Vec<Account>> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM users \
         WHERE ?1 IS NULL OR instr(lower(username), lower(?1)) > 0 ORDER BY username"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([filter], account_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

// The updates below run inside the write transaction of `Accounts::change` (or
// `set_own_password`), so a change and its audit row commit together.

/// Runs one `UPDATE users ... WHERE id = ?1`; no such row is `NotFound`.
fn update_user(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StoreResult<()> {
    if conn.execute(sql, params)? == 0 {
        return Err(StoreError::NotFound("account"));
    }
    Ok(())
}

/// Replaces an account's password hash within the caller's transaction and
/// lifts any login lockout: an operator resetting a password is usually
/// letting someone back in.
fn reset_password_in(conn: &Connection, user_id: i64, hash: &str) -> StoreResult<()> {
    update_user(
        conn,
        "UPDATE users SET password_hash = ?2, failed_attempts = 0, lockout_until = NULL \
         WHERE id = ?1",
        params![user_id, hash],
    )
}

/// Tombstones an account: login refused from now on, its characters kept but
/// unlinked, its session rows gone.
pub(super) fn tombstone(conn: &Connection, user_id: i64) -> StoreResult<()> {
    let n = conn.execute(
        "UPDATE users SET tombstoned_at = ?2, is_active = 0 WHERE id = ?1 \
         AND tombstoned_at IS NULL",
        params![user_id, now_iso()],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound("account"));
    }
    unlink_and_log_out(conn, user_id)
}

/// Unlinks an account's characters (they are kept) and drops its session rows.
pub(super) fn unlink_and_log_out(conn: &Connection, user_id: i64) -> StoreResult<()> {
    conn.execute(
        "UPDATE characters SET user_id = NULL WHERE user_id = ?1",
        [user_id],
    )?;
    conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
    Ok(())
}

/// Grants (`true`) or revokes (`false`) an account's access to a world.
pub(super) fn set_world_access(
    conn: &Connection,
    user_id: i64,
    world_id: &str,
    granted_by: Option<i64>,
    allow: bool,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO world_permissions (user_id, world_id, can_access, granted_by, granted_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, world_id) DO UPDATE SET \
         can_access = excluded.can_access, granted_by = excluded.granted_by, \
         granted_at = excluded.granted_at",
        params![user_id, world_id, allow, granted_by, now_iso()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    fn new_account(name: &str, role: Role) -> NewAccount {
        NewAccount {
            username: name.into(),
            password_hash: "x".into(),
            role,
            is_guest: false,
            guest_expires_at: None,
            origin: "test".into(),
        }
    }

    fn first(name: &str) -> NewCharacter {
        NewCharacter {
            world_id: "w".into(),
            name: name.into(),
            spawn_room: "z:spawn".into(),
        }
    }

    async fn add(store: &Store, name: &str, role: Role) -> i64 {
        store
            .accounts()
            .create(new_account(name, role), None)
            .await
            .expect("create")
            .user_id
    }

    async fn audit_count(store: &Store) -> i64 {
        store
            .call(|db| Ok(db.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))?))
            .await
            .expect("count")
    }

    #[tokio::test]
    async fn account_names_are_unique_without_regard_to_case() {
        let (_dir, store, _) = test_store("Alice").await;
        let again = store
            .accounts()
            .create(new_account("alice", Role::Player), None)
            .await;
        assert!(matches!(again, Err(StoreError::NameTaken)));
        let found = store
            .accounts()
            .find("ALICE")
            .await
            .expect("query")
            .expect("found");
        assert_eq!(found.username, "Alice");
        let names: Vec<String> = store
            .accounts()
            .list(Some("LI"))
            .await
            .expect("list")
            .into_iter()
            .map(|a| a.username)
            .collect();
        assert_eq!(names, ["Alice"]);
    }

    #[tokio::test]
    async fn first_character_is_made_unless_its_name_is_taken() {
        let (_dir, store, _) = test_store("someone").await;
        let accounts = store.accounts();
        let a = accounts
            .create(new_account("Alice", Role::Player), Some(first("Alice")))
            .await
            .expect("alice");
        assert!(a.character_id.is_some());
        let b = accounts
            .create(new_account("Bob", Role::Player), Some(first("ALICE")))
            .await
            .expect("bob still created");
        assert_eq!(b.character_id, None);
        assert!(accounts.find("bob").await.expect("query").is_some());
    }

    #[tokio::test]
    async fn changes_check_the_actor_fresh_and_the_hierarchy_in_one_transaction() {
        let (_dir, store, _) = test_store("someone").await;
        let admin = add(&store, "Ada", Role::Admin).await;
        add(&store, "Pat", Role::Player).await;
        add(&store, "Sue", Role::Superuser).await;
        let accounts = store.accounts();
        let as_admin = Actor::Account {
            user_id: admin,
            needs: Role::Admin,
        };
        let ban = AccountChange::Ban {
            reason: Some("spam".into()),
        };
        let done = accounts
            .change(as_admin, "pat", ban.clone(), "ban")
            .await
            .expect("ban");
        assert!(done.changed);
        assert!(
            !accounts
                .find("pat")
                .await
                .expect("q")
                .expect("found")
                .is_active
        );
        let again = accounts
            .change(as_admin, "pat", ban.clone(), "ban")
            .await
            .expect("again");
        assert!(!again.changed);
        let up = accounts.change(as_admin, "sue", ban.clone(), "ban").await;
        assert!(matches!(up, Err(ChangeRefused::NotBelow { .. })), "{up:?}");
        let me = accounts.change(as_admin, "ada", ban.clone(), "ban").await;
        assert!(matches!(me, Err(ChangeRefused::Yourself)), "{me:?}");
        let nobody = accounts
            .change(as_admin, "zed", AccountChange::Unban, "unban")
            .await;
        assert!(
            matches!(nobody, Err(ChangeRefused::NoAccount(_))),
            "{nobody:?}"
        );
        assert_eq!(audit_count(&store).await, 2);
        // Demoted: the same request is now refused, on fresh state.
        store
            .call(move |db| {
                db.execute("UPDATE users SET role = 'player' WHERE id = ?1", [admin])?;
                Ok(())
            })
            .await
            .expect("demote");
        let demoted = accounts
            .change(as_admin, "pat", AccountChange::Unban, "unban")
            .await;
        assert!(
            matches!(demoted, Err(ChangeRefused::NotAllowed)),
            "{demoted:?}"
        );
        assert!(
            !accounts
                .find("pat")
                .await
                .expect("q")
                .expect("found")
                .is_active
        );
        assert_eq!(audit_count(&store).await, 2);
    }

    #[tokio::test]
    async fn the_operator_changes_anyone_and_is_audited_only_for_changes() {
        let (_dir, store, _) = test_store("someone").await;
        add(&store, "Sue", Role::Superuser).await;
        let accounts = store.accounts();
        let role = AccountChange::Role(Role::Admin);
        let done = accounts
            .change(Actor::Operator, "sue", role.clone(), "cli.role")
            .await;
        assert!(done.expect("role").changed);
        let same = accounts
            .change(Actor::Operator, "sue", role, "cli.role")
            .await;
        assert!(!same.expect("same").changed);
        assert_eq!(audit_count(&store).await, 1);
        let lock = store
            .call(|db| {
                db.execute(
                    "UPDATE users SET failed_attempts = 9, lockout_until = 'x'",
                    [],
                )?;
                Ok(())
            })
            .await;
        lock.expect("lock out");
        let hash = accounts
            .hash_new_password("lamplighter on fog street")
            .await
            .expect("hash");
        accounts
            .change(
                Actor::Operator,
                "sue",
                AccountChange::Password { hash },
                "cli.passwd",
            )
            .await
            .expect("passwd");
        let sue = accounts.find("sue").await.expect("q").expect("found");
        assert_eq!((sue.failed_attempts, sue.lockout_until), (0, None));
        let weak = accounts.hash_new_password("password").await;
        assert!(matches!(weak, Err(PasswordRefused::Weak(_))), "{weak:?}");
    }

    #[tokio::test]
    async fn parallel_wrong_passwords_get_at_most_the_threshold_of_checks() {
        let (_dir, store, _) = test_store("someone").await;
        let hash = store
            .hash_password("the right one here".into())
            .await
            .expect("hash");
        let mut account = new_account("Lou", Role::Player);
        account.password_hash = hash;
        store
            .accounts()
            .create(account, None)
            .await
            .expect("create");
        let policy = LockoutPolicy::default();
        let tries = futures::future::join_all((0..30).map(|n| {
            let store = store.clone();
            let password = if n == 29 {
                "the right one here"
            } else {
                "wrong"
            };
            async move {
                store
                    .accounts()
                    .check_login("lou", password.into(), policy)
                    .await
            }
        }))
        .await;
        let wrong = tries
            .iter()
            .filter(|t| matches!(t, Ok(LoginCheck::Wrong)))
            .count();
        let locked = tries
            .iter()
            .filter(|t| matches!(t, Ok(LoginCheck::Locked)))
            .count();
        let verified = tries
            .iter()
            .filter(|t| matches!(t, Ok(LoginCheck::Verified(_))))
            .count();
        assert_eq!(wrong + locked + verified, 30);
        if verified == 1 {
            assert!(wrong < 2 * 5, "wrong {wrong}");
        } else {
            assert!(wrong <= 5, "wrong {wrong}");
        }
        store.accounts().login_records_written("lou").await;
        assert!(
            store.inner.login_locks.is_empty(),
            "login locks are forgotten"
        );
    }

    /// Holds the database's write lock from another connection until dropped.
    fn hold_write_lock(store: &Store) -> rusqlite::Connection {
        let blocker = rusqlite::Connection::open(store.path()).expect("open");
        blocker
            .execute_batch("BEGIN IMMEDIATE")
            .expect("write lock");
        blocker
    }

    #[tokio::test]
    async fn a_wrong_password_is_answered_before_its_failure_is_written() {
        let (_dir, store, _) = test_store("someone").await;
        let hash = store.hash_password("the right one here".into()).await;
        let mut account = new_account("Kit", Role::Player);
        account.password_hash = hash.expect("hash");
        store
            .accounts()
            .create(account, None)
            .await
            .expect("create");
        let policy = LockoutPolicy::default();
        // Nobody can write while this is held: an answer that waited for the
        // failure's record would be `Busy` after the busy timeout.
        let blocker = hold_write_lock(&store);
        let known = store
            .accounts()
            .check_login("kit", "wrong".into(), policy)
            .await;
        let unknown = store
            .accounts()
            .check_login("kat", "wrong".into(), policy)
            .await;
        assert!(matches!(known, Ok(LoginCheck::Wrong)), "{known:?}");
        assert!(matches!(unknown, Ok(LoginCheck::Wrong)), "{unknown:?}");
        blocker.execute_batch("COMMIT").expect("release");
        store.accounts().login_records_written("kit").await;
        let kit = store.accounts().find("kit").await.expect("q").expect("kit");
        assert_eq!(kit.failed_attempts, 1, "the failure still counts");
    }

    #[tokio::test]
    async fn a_right_password_hashed_at_another_cost_is_rehashed_at_the_current_one() {
        let (_dir, store, _) = test_store("someone").await;
        let mut account = new_account("Old", Role::Player);
        account.password_hash = bcrypt::hash("an older hash here", 5).expect("cost 5");
        store
            .accounts()
            .create(account, None)
            .await
            .expect("create");
        let policy = LockoutPolicy::default();
        let first = store
            .accounts()
            .check_login("old", "an older hash here".into(), policy)
            .await;
        assert!(matches!(first, Ok(LoginCheck::Verified(_))), "{first:?}");
        store.accounts().login_records_written("old").await;
        let old = store.accounts().find("old").await.expect("q").expect("old");
        assert_eq!(super::super::hashing::cost_of(&old.password_hash), Some(4));
        let again = store
            .accounts()
            .check_login("old", "an older hash here".into(), policy)
            .await;
        assert!(matches!(again, Ok(LoginCheck::Verified(_))), "{again:?}");
    }

    #[tokio::test]
    async fn a_guest_whose_number_is_taken_draws_another() {
        let (_dir, store, _) = test_store("guest_00001").await;
        let mut guest = new_account("guest_00001", Role::Player);
        guest.is_guest = true;
        let mut draws = vec!["guest_00001".to_string(), "guest_00002".to_string()].into_iter();
        let created = store
            .call(move |db| {
                create_account(db, &guest, None, &mut || draws.next().unwrap_or_default())
            })
            .await
            .expect("created");
        assert_eq!(created.username, "guest_00002");
        // Anyone else's taken name is still refused.
        let again = store
            .accounts()
            .create(new_account("GUEST_00002", Role::Player), None)
            .await;
        assert!(matches!(again, Err(StoreError::NameTaken)), "{again:?}");
    }

    #[tokio::test]
    async fn look_alike_names_made_at_once_cannot_both_exist() {
        let (_dir, store, _) = test_store("someone").await;
        for round in 0..5 {
            let names = [format!("Kel{round}y"), format!("KeI{round}y")];
            let made = futures::future::join_all(names.iter().map(|name| {
                let store = store.clone();
                let first = first(&format!("Lina{}", "x".repeat(round)));
                let name = name.clone();
                async move {
                    store
                        .accounts()
                        .create(new_account(&name, Role::Player), Some(first))
                        .await
                }
            }))
            .await;
            let ok: Vec<&Created> = made.iter().filter_map(|m| m.as_ref().ok()).collect();
            assert_eq!(ok.len(), 1, "round {round}: {made:?}");
            assert!(
                made.iter().any(|m| matches!(m, Err(StoreError::NameTaken))),
                "{made:?}"
            );
        }
        let characters = store
            .accounts()
            .create(new_account("Other", Role::Player), Some(first("Iina")))
            .await
            .expect("account made");
        assert_eq!(characters.character_id, None, "Iina looks like Lina");
    }

    #[tokio::test]
    async fn an_admission_withdrawn_while_queued_checks_nothing() {
        let (_dir, store, _) = test_store("someone").await;
        let hash = store.hash_password("the right one here".into()).await;
        let mut account = new_account("Ivo", Role::Player);
        account.password_hash = hash.expect("hash");
        store
            .accounts()
            .create(account, None)
            .await
            .expect("create");
        let runs = store.bcrypt_runs();
        let policy = LockoutPolicy::default();
        for name in ["ivo", "nobody"] {
            let checked = store
                .accounts()
                .check_login_if(name, "the right one here".into(), policy, &|| false)
                .await;
            assert!(matches!(checked, Ok(LoginCheck::Withdrawn)), "{checked:?}");
        }
        assert_eq!(store.bcrypt_runs(), runs, "nothing was hashed");
        store.accounts().login_records_written("ivo").await;
        let ivo = store.accounts().find("ivo").await.expect("q").expect("ivo");
        assert_eq!(ivo.failed_attempts, 0, "nothing was counted");
    }
}
