//! Operator tasks shared by the command line and the server's start-up: creating
//! a superuser, and the `gaslamp user` account tools (list, ban, unban, role,
//! passwd) for an operator locked out of the game.
//!
//! The account tools are safe while the server runs on the same file: each change
//! is one `BEGIN IMMEDIATE` transaction (the database is in WAL mode and every
//! connection waits out `busy_timeout`), and its `audit_log` row commits in that
//! same transaction, so there is never a change without its record. They only
//! change the database; a running server notices banned accounts on its own.
//!
//! **Invariant:** these functions are blocking (they run before the server serves,
//! or in the command-line tools); nothing here is called from a connection task.

use std::fmt::Write as _;
use std::path::Path;

use rusqlite::Connection;

use crate::auth::Role;
use crate::auth::names::{check_account_name, check_character_name, display_character_name};
use crate::auth::password::policy_problems;
use crate::command::is_command_word;
use crate::store::accounts::{self, Account, Created, FirstCharacter, NewAccount};
use crate::store::audit::{self, AuditEntry};
use crate::store::{Store, StoreError, StoreOptions, StoreResult, write_tx};
use crate::world::World;

/// Why an operator task could not be done.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{0}")]
    Invalid(String),
    #[error("the password was refused: {}", .0.join(" "))]
    WeakPassword(Vec<String>),
    #[error("an account named {0:?} already exists")]
    Exists(String),
    #[error("no account named {0:?}")]
    UnknownAccount(String),
    #[error("the account {0:?} was deleted")]
    Deleted(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OpsError {
    /// Whether the database itself could not be used (the binary exits with 2),
    /// as opposed to a request the operator can correct.
    pub fn is_database_failure(&self) -> bool {
        matches!(self, OpsError::Store(err) if is_database_failure(err))
    }
}

/// Whether a store error means the database file is unusable: it cannot be
/// opened, stays locked, or SQLite itself failed.
pub fn is_database_failure(err: &StoreError) -> bool {
    matches!(
        err,
        StoreError::Busy | StoreError::Open { .. } | StoreError::Sqlite(_) | StoreError::Task(_)
    )
}

/// Opens a database that must already exist: the account tools should not
/// create an empty file because of a mistyped `--db`.
pub fn open_existing_store(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Open {
            path: path.to_path_buf(),
            reason: "no such database file (create it with `gaslamp init-db`)".to_string(),
        });
    }
    Store::open(path, options)
}

/// Creates a superuser (and its first character in `world`), applying the same
/// name and password rules as everywhere else.
pub fn create_superuser(
    store: &Store,
    world: &World,
    username: &str,
    password: &str,
    origin: &str,
) -> Result<Created, OpsError> {
    check_account_name(username).map_err(|bad| OpsError::Invalid(bad.0))?;
    check_password(password)?;
    let account = NewAccount {
        username: username.to_string(),
        password_hash: store.hash_password_blocking(password)?,
        role: Role::Superuser,
        is_guest: false,
        guest_expires_at: None,
        origin: origin.to_string(),
    };
    let first = check_character_name(username, is_command_word)
        .ok()
        .map(|()| FirstCharacter {
            world_id: world.id.clone(),
            name: display_character_name(username),
            spawn_room: world.default_spawn.as_str().to_string(),
        });
    store
        .call_blocking(|db| accounts::create_account(db, &account, first.as_ref()))
        .map_err(|err| match err {
            StoreError::NameTaken => OpsError::Exists(username.to_string()),
            other => OpsError::Store(other),
        })
}

/// At start-up: when no account exists at all and credentials were given (from
/// `MUD_ADMIN_USER` / `MUD_ADMIN_PASSWORD`), creates that superuser.
pub fn bootstrap_superuser(
    store: &Store,
    world: &World,
    credentials: Option<&(String, String)>,
) -> Result<bool, OpsError> {
    let Some((username, password)) = credentials else {
        return Ok(false);
    };
    if store.call_blocking(|db| accounts::count_accounts(db))? > 0 {
        return Ok(false);
    }
    create_superuser(store, world, username, password, "env")?;
    tracing::info!(account = %username, "superuser created from MUD_ADMIN_USER");
    Ok(true)
}

/// Refuses a password that breaks the policy, naming every broken rule.
fn check_password(password: &str) -> Result<(), OpsError> {
    let problems = policy_problems(password);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(OpsError::WeakPassword(problems))
    }
}

/// The account called `name` (without regard to case).
pub fn find_user(store: &Store, name: &str) -> Result<Account, OpsError> {
    store
        .call_blocking(|db| accounts::find_account(db, name))?
        .ok_or_else(|| OpsError::UnknownAccount(name.to_string()))
}

/// Accounts whose name contains `filter` (all without one), by name.
pub fn list_users(store: &Store, filter: Option<&str>) -> Result<Vec<Account>, OpsError> {
    Ok(store.call_blocking(|db| accounts::list_accounts(db, filter))?)
}

/// The accounts as a table for the terminal: name, role, status, guest, created,
/// last login.
pub fn user_table(users: &[Account]) -> String {
    let header = ["NAME", "ROLE", "STATUS", "GUEST", "CREATED", "LAST LOGIN"].map(String::from);
    let rows: Vec<[String; 6]> = users
        .iter()
        .map(|user| {
            [
                user.username.clone(),
                user.role.to_string(),
                status(user).to_string(),
                if user.is_guest { "yes" } else { "no" }.to_string(),
                short_time(&user.created_at),
                user.last_login
                    .as_deref()
                    .map_or("never".into(), short_time),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut table = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(table, "{}", cells.join("  ").trim_end());
    }
    table
}

/// How an account stands, in one word.
fn status(user: &Account) -> &'static str {
    if user.tombstoned_at.is_some() {
        "deleted"
    } else if !user.is_active {
        "banned"
    } else {
        "active"
    }
}

/// `2024-05-01T12:34:56.789Z` as `2024-05-01 12:34` (UTC); anything else as is.
fn short_time(iso: &str) -> String {
    match iso.get(..16) {
        Some(minutes) if iso.ends_with('Z') => minutes.replacen('T', " ", 1),
        _ => iso.to_string(),
    }
}

/// What the operator asked for, as the audit log records it.
struct Audited<'a> {
    action: &'a str,
    detail: Option<String>,
}

/// Finds `name` and runs `apply` on it in one write transaction; when `apply`
/// reports a change, the audit row is written in that same transaction. Returns
/// the account as it was before and whether anything changed.
fn change_account(
    store: &Store,
    name: &str,
    audited: Audited<'_>,
    apply: impl FnOnce(&Connection, &Account) -> StoreResult<bool>,
) -> Result<(Account, bool), OpsError> {
    let found = store.call_blocking(|db| {
        write_tx(db, |tx| {
            let Some(account) = accounts::find_account(tx, name)? else {
                return Ok(None);
            };
            if account.tombstoned_at.is_some() {
                return Ok(Some((account, None)));
            }
            let changed = apply(tx, &account)?;
            if changed {
                let entry = AuditEntry {
                    actor_user_id: None,
                    action: audited.action.to_string(),
                    target: Some(account.username.clone()),
                    detail: audited.detail,
                };
                audit::record(tx, &entry)?;
            }
            Ok(Some((account, Some(changed))))
        })
    })?;
    match found {
        None => Err(OpsError::UnknownAccount(name.to_string())),
        Some((account, None)) => Err(OpsError::Deleted(account.username)),
        Some((account, Some(changed))) => Ok((account, changed)),
    }
}

/// Bans an account (it can no longer log in); `reason` goes to the audit log.
pub fn ban_user(store: &Store, name: &str, reason: Option<&str>) -> Result<String, OpsError> {
    let audited = Audited {
        action: "cli.ban",
        detail: reason.map(str::to_string),
    };
    let (account, changed) = change_account(store, name, audited, |tx, account| {
        if !account.is_active {
            return Ok(false);
        }
        accounts::update_active_in(tx, account.id, false)?;
        Ok(true)
    })?;
    Ok(if changed {
        format!("Account {} banned.", account.username)
    } else {
        format!("Account {} was already banned.", account.username)
    })
}

/// Lifts a ban.
pub fn unban_user(store: &Store, name: &str) -> Result<String, OpsError> {
    let audited = Audited {
        action: "cli.unban",
        detail: None,
    };
    let (account, changed) = change_account(store, name, audited, |tx, account| {
        if account.is_active {
            return Ok(false);
        }
        accounts::update_active_in(tx, account.id, true)?;
        Ok(true)
    })?;
    Ok(if changed {
        format!("Account {} unbanned.", account.username)
    } else {
        format!("Account {} was not banned.", account.username)
    })
}

/// Gives an account another role; `role` is the role's name.
pub fn set_user_role(store: &Store, name: &str, role: &str) -> Result<String, OpsError> {
    let role: Role = role
        .parse()
        .map_err(|err: crate::auth::UnknownRole| OpsError::Invalid(err.to_string()))?;
    // The audit detail is the role given; the reply also says the one it replaced.
    let audited = Audited {
        action: "cli.role",
        detail: Some(role.to_string()),
    };
    let (account, changed) = change_account(store, name, audited, |tx, account| {
        if account.role == role {
            return Ok(false);
        }
        accounts::update_role_in(tx, account.id, role)?;
        Ok(true)
    })?;
    Ok(if changed {
        format!(
            "Account {} is now {role} (was {}).",
            account.username, account.role
        )
    } else {
        format!("Account {} already is {role}.", account.username)
    })
}

/// Sets a new password (policy applied) and lifts any login lockout.
pub fn set_user_password(store: &Store, name: &str, password: &str) -> Result<String, OpsError> {
    check_password(password)?;
    // Hashing is slow on purpose; it happens before the write transaction so the
    // running server is never kept waiting for it.
    let hash = store.hash_password_blocking(password)?;
    let audited = Audited {
        action: "cli.passwd",
        detail: None,
    };
    let (account, _) = change_account(store, name, audited, |tx, account| {
        accounts::reset_password_in(tx, account.id, &hash)?;
        Ok(true)
    })?;
    Ok(format!("Password of {} changed.", account.username))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "correct horse battery";

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = StoreOptions {
            bcrypt_cost: 4,
            hash_concurrency: 1,
        };
        let store = Store::open(&dir.path().join("ops.db"), options).expect("open");
        (dir, store)
    }

    fn add(store: &Store, name: &str, role: Role) -> i64 {
        let account = NewAccount {
            username: name.into(),
            password_hash: store.hash_password_blocking(GOOD).expect("hash"),
            role,
            is_guest: false,
            guest_expires_at: None,
            origin: "test".into(),
        };
        store
            .call_blocking(|db| accounts::create_account(db, &account, None))
            .expect("create")
            .user_id
    }

    fn audit_rows(store: &Store) -> Vec<(Option<i64>, String, String, Option<String>)> {
        store
            .call_blocking(|db| {
                let mut stmt = db.prepare(
                    "SELECT actor_user_id, action, target, detail FROM audit_log ORDER BY id",
                )?;
                let rows =
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .expect("audit rows")
    }

    #[test]
    fn ban_and_unban_change_the_account_and_are_audited_once() {
        let (_dir, store) = store();
        add(&store, "Alice", Role::Player);
        assert_eq!(
            ban_user(&store, "alice", Some("spam")).expect("ban"),
            "Account Alice banned."
        );
        assert!(!find_user(&store, "Alice").expect("found").is_active);
        let again = ban_user(&store, "ALICE", None).expect("ban again");
        assert_eq!(again, "Account Alice was already banned.");
        assert_eq!(
            unban_user(&store, "alice").expect("unban"),
            "Account Alice unbanned."
        );
        assert!(find_user(&store, "Alice").expect("found").is_active);
        assert_eq!(
            audit_rows(&store),
            [
                (None, "cli.ban".into(), "Alice".into(), Some("spam".into())),
                (None, "cli.unban".into(), "Alice".into(), None),
            ]
        );
    }

    #[test]
    fn role_changes_name_the_new_role_and_refuse_unknown_ones() {
        let (_dir, store) = store();
        add(&store, "Bob", Role::Player);
        let said = set_user_role(&store, "bob", "Admin").expect("role");
        assert_eq!(said, "Account Bob is now admin (was player).");
        assert_eq!(find_user(&store, "bob").expect("found").role, Role::Admin);
        let err = set_user_role(&store, "bob", "wizard").expect_err("bad role");
        assert!(err.to_string().contains("unknown role \"wizard\""), "{err}");
        assert!(!err.is_database_failure());
        assert_eq!(
            audit_rows(&store),
            [(None, "cli.role".into(), "Bob".into(), Some("admin".into()))]
        );
    }

    #[test]
    fn unknown_and_deleted_accounts_are_refused_without_an_audit_row() {
        let (_dir, store) = store();
        let id = add(&store, "Gone", Role::Player);
        store
            .call_blocking(|db| {
                db.execute(
                    "UPDATE users SET tombstoned_at = 'then' WHERE id = ?1",
                    [id],
                )?;
                Ok(())
            })
            .expect("tombstone");
        let unknown = ban_user(&store, "nobody", None).expect_err("unknown");
        assert!(matches!(unknown, OpsError::UnknownAccount(_)), "{unknown}");
        assert_eq!(unknown.to_string(), "no account named \"nobody\"");
        let deleted = unban_user(&store, "gone").expect_err("deleted");
        assert!(matches!(deleted, OpsError::Deleted(_)), "{deleted}");
        assert!(audit_rows(&store).is_empty());
    }

    #[test]
    fn passwd_applies_the_policy_and_lifts_a_lockout() {
        let (_dir, store) = store();
        let id = add(&store, "Cy", Role::Player);
        store
            .call_blocking(|db| {
                db.execute(
                    "UPDATE users SET failed_attempts = 7, lockout_until = 'x' WHERE id = ?1",
                    [id],
                )?;
                Ok(())
            })
            .expect("lock out");
        let weak = set_user_password(&store, "cy", "password").expect_err("weak");
        let text = weak.to_string();
        assert!(
            text.contains("at least 12") && text.contains("common"),
            "{text}"
        );
        let new = "lamplighter on fog street";
        assert_eq!(
            set_user_password(&store, "cy", new).expect("passwd"),
            "Password of Cy changed."
        );
        let cy = find_user(&store, "cy").expect("found");
        assert!(bcrypt::verify(new, &cy.password_hash).expect("verify"));
        assert_eq!((cy.failed_attempts, cy.lockout_until), (0, None));
        assert_eq!(
            audit_rows(&store),
            [(None, "cli.passwd".into(), "Cy".into(), None)]
        );
    }

    #[test]
    fn the_table_lists_every_column() {
        let (_dir, store) = store();
        add(&store, "Alice", Role::Superuser);
        add(&store, "Bob", Role::Player);
        ban_user(&store, "bob", None).expect("ban");
        let table = user_table(&list_users(&store, None).expect("list"));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("NAME   ROLE"), "{table}");
        assert!(lines[0].ends_with("LAST LOGIN"), "{table}");
        assert!(
            lines[1].starts_with("Alice  superuser  active  no"),
            "{table}"
        );
        assert!(
            lines[2].starts_with("Bob    player     banned  no"),
            "{table}"
        );
        assert!(lines[2].ends_with("never"), "{table}");
        assert_eq!(list_users(&store, Some("LI")).expect("filter").len(), 1);
    }

    #[test]
    fn times_are_shortened_to_the_minute() {
        assert_eq!(short_time("2024-05-01T12:34:56.789Z"), "2024-05-01 12:34");
        assert_eq!(short_time("then"), "then");
    }

    #[test]
    fn a_missing_database_file_is_not_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("typo.db");
        let err = open_existing_store(&path, StoreOptions::default())
            .err()
            .expect("refused");
        assert!(is_database_failure(&err));
        assert!(err.to_string().contains("typo.db"), "{err}");
        assert!(!path.exists());
    }
}
