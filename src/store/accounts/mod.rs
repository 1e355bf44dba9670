//! Accounts (`users` rows), one job a file: [`create`] (a new account with
//! its first character), [`login`] (the password check under a per-account
//! lock, and what it records), [`password`] (policy and hashing, the player's
//! own password), and [`change`] (the one path by which anybody — an admin in
//! the game or the operator's shell — changes an account). This file holds the
//! account as it is read, the front [`Accounts`], and its plain reads.
//!
//! Refusals shared with the other fronts (who acts, why a change was refused)
//! are in [`super::refusal`].

mod change;
mod create;
mod login;
mod password;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Store, StoreResult, write_tx};
use crate::auth::Role;

pub use super::refusal::{Actor, ChangeRefused};
pub(in crate::store) use super::refusal::{acting_account, refusable};
pub(in crate::store) use change::unlink_and_log_out;
pub use change::{AccountChange, Changed};
pub use create::{AccountRefused, Created, FirstCharacter, FirstName, Opener};
pub use login::LoginCheck;
pub use password::PasswordRefused;

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
    /// Failed password checks since the last login, from anywhere (what the
    /// owner is told at the next one).
    pub failed_since_login: i64,
}

const ACCOUNT_COLUMNS: &str = "id, username, password_hash, role, is_active, is_guest, \
     guest_expires_at, failed_attempts, lockout_until, created_at, last_login, tombstoned_at, \
     failed_since_login";

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
        failed_since_login: row.get(12)?,
    })
}

/// How an account stands, as [`Accounts::standing`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// It may be logged in, with this role.
    Active(Role),
    /// It is banned (`is_active` off).
    Banned,
    /// It was deleted: tombstoned, or its row is gone.
    Deleted,
}

/// The typed front for accounts (see [`Store::accounts`]).
pub struct Accounts<'s> {
    store: &'s Store,
}

impl<'s> Accounts<'s> {
    pub(in crate::store) fn new(store: &'s Store) -> Self {
        Accounts { store }
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

    /// How each given account stands now: allowed in with its role, banned,
    /// or deleted (tombstoned, or its row gone, as an expired guest's). The
    /// upkeep job closes the connections of the latter two, saying which, and
    /// brings changed roles to live sessions.
    pub async fn standing(&self, user_ids: Vec<i64>) -> StoreResult<Vec<(i64, Standing)>> {
        self.store
            .call(move |db| {
                let mut stmt = db.prepare_cached(
                    "SELECT role, is_active, tombstoned_at IS NOT NULL FROM users WHERE id = ?1",
                )?;
                let mut standing = Vec::with_capacity(user_ids.len());
                for id in user_ids {
                    let row: Option<(String, bool, bool)> = stmt
                        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()?;
                    let now = match row {
                        None | Some((_, _, true)) => Standing::Deleted,
                        Some((_, false, false)) => Standing::Banned,
                        // The CHECK constraint keeps the column to the four names.
                        Some((role, true, false)) => {
                            Standing::Active(role.parse().unwrap_or(Role::Player))
                        }
                    };
                    standing.push((id, now));
                }
                Ok(standing)
            })
            .await
    }
}

/// Finds an account by name, without regard to case.
pub(in crate::store) fn find_account(
    conn: &Connection,
    username: &str,
) -> StoreResult<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE username = ?1");
    Ok(conn
        .query_row(&sql, [username], account_from_row)
        .optional()?)
}

/// Finds an account by id.
pub(in crate::store) fn account_by_id(conn: &Connection, id: i64) -> StoreResult<Option<Account>> {
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

/// Adds an account row with `role` and password `hash`, as the store's own
/// tests need it (no policy, no character, no audit row); returns its id.
#[cfg(test)]
pub(in crate::store) async fn add_account(
    store: &Store,
    name: &str,
    role: Role,
    hash: &str,
) -> i64 {
    let (name, hash) = (name.to_string(), hash.to_string());
    store
        .call(move |db| {
            db.execute(
                "INSERT INTO users (username, name_key, password_hash, role, created_at) \
                 VALUES (?1, ?2, ?3, ?4, '')",
                params![
                    name,
                    crate::auth::names::name_key(&name),
                    hash,
                    role.as_str()
                ],
            )?;
            Ok(db.last_insert_rowid())
        })
        .await
        .expect("account row")
}

#[cfg(test)]
mod tests {
    use crate::store::test_store;

    #[tokio::test]
    async fn account_names_are_unique_without_regard_to_case() {
        let (_dir, store, _) = test_store("Alice").await;
        assert!(store.accounts().name_taken("alice").await.expect("query"));
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
}
