//! Accounts (`users` rows): creation with a first character, lookup for login,
//! and the login bookkeeping.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::characters::insert_character;
use super::{StoreError, StoreResult, now_iso, write_tx};
use crate::auth::Role;

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

/// The character made together with an account.
#[derive(Debug, Clone)]
pub struct FirstCharacter {
    pub world_id: String,
    pub name: String,
    pub spawn_room: String,
}

/// The ids of what [`create_account`] made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    pub user_id: i64,
    /// `None` when the character name was already taken in that world.
    pub character_id: Option<i64>,
}

/// Creates an account and, if asked, its first character, in one transaction.
/// A taken account name is [`StoreError::NameTaken`]; a taken character name only
/// means no character is made.
pub fn create_account(
    conn: &mut Connection,
    account: &NewAccount,
    first: Option<&FirstCharacter>,
) -> StoreResult<Created> {
    write_tx(conn, |tx| {
        tx.execute(
            "INSERT INTO users (username, password_hash, role, is_guest, guest_expires_at, \
             account_origin, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                account.username,
                account.password_hash,
                account.role.as_str(),
                account.is_guest,
                account.guest_expires_at,
                account.origin,
                now_iso()
            ],
        )?;
        let user_id = tx.last_insert_rowid();
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
            character_id,
        })
    })
}

/// Finds an account by name, without regard to case.
pub fn find_account(conn: &Connection, username: &str) -> StoreResult<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE username = ?1");
    Ok(conn
        .query_row(&sql, [username], account_from_row)
        .optional()?)
}

/// Finds an account by id.
pub fn account_by_id(conn: &Connection, id: i64) -> StoreResult<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], account_from_row).optional()?)
}

/// Records a successful login: last_login now, failure count cleared.
pub fn record_login_success(conn: &mut Connection, user_id: i64) -> StoreResult<()> {
    write_tx(conn, |tx| {
        tx.execute(
            "UPDATE users SET last_login = ?2, failed_attempts = 0, lockout_until = NULL \
             WHERE id = ?1",
            params![user_id, now_iso()],
        )?;
        Ok(())
    })
}

/// Replaces an account's password hash (the player's own `password`).
pub fn set_password_hash(conn: &mut Connection, user_id: i64, hash: &str) -> StoreResult<()> {
    write_tx(conn, |tx| reset_password_in(tx, user_id, hash))
}

/// Accounts whose name contains `filter` (all when `None`), by name.
pub fn list_accounts(conn: &Connection, filter: Option<&str>) -> StoreResult<Vec<Account>> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM users \
         WHERE ?1 IS NULL OR instr(lower(username), lower(?1)) > 0 ORDER BY username"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([filter], account_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many accounts exist at all.
pub fn count_accounts(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

/// Whether any active superuser exists.
pub fn superuser_exists(conn: &Connection) -> StoreResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'superuser' AND is_active = 1 \
         AND tombstoned_at IS NULL)",
        [],
        |r| r.get(0),
    )?)
}

// The updates below run inside a write transaction the caller already holds, so
// a change and its audit row commit together (the admin commands and the
// command-line `user` tools, through `admin::audited`).

/// Runs one `UPDATE users ... WHERE id = ?1`; no such row is `NotFound`.
fn update_user(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StoreResult<()> {
    if conn.execute(sql, params)? == 0 {
        return Err(StoreError::NotFound("account"));
    }
    Ok(())
}

/// Bans (`false`) or unbans (`true`) an account within the caller's transaction.
pub fn update_active_in(conn: &Connection, user_id: i64, active: bool) -> StoreResult<()> {
    update_user(
        conn,
        "UPDATE users SET is_active = ?2 WHERE id = ?1",
        params![user_id, active],
    )
}

/// Changes an account's role within the caller's transaction.
pub fn update_role_in(conn: &Connection, user_id: i64, role: Role) -> StoreResult<()> {
    update_user(
        conn,
        "UPDATE users SET role = ?2 WHERE id = ?1",
        params![user_id, role.as_str()],
    )
}

/// Replaces an account's password hash within the caller's transaction and
/// lifts any login lockout: an operator resetting a password is usually
/// letting someone back in.
pub fn reset_password_in(conn: &Connection, user_id: i64, hash: &str) -> StoreResult<()> {
    update_user(
        conn,
        "UPDATE users SET password_hash = ?2, failed_attempts = 0, lockout_until = NULL \
         WHERE id = ?1",
        params![user_id, hash],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    pub(crate) fn test_db() -> (tempfile::TempDir, Connection) {
        schema::test_db(schema::ONE_WORLD)
    }

    fn new_account(name: &str) -> NewAccount {
        NewAccount {
            username: name.into(),
            password_hash: "x".into(),
            role: Role::Player,
            is_guest: false,
            guest_expires_at: None,
            origin: "test".into(),
        }
    }

    fn first(name: &str) -> FirstCharacter {
        FirstCharacter {
            world_id: "w".into(),
            name: name.into(),
            spawn_room: "z:spawn".into(),
        }
    }

    #[test]
    fn account_names_are_unique_without_regard_to_case() {
        let (_dir, mut conn) = test_db();
        create_account(&mut conn, &new_account("Alice"), None).expect("first");
        let again = create_account(&mut conn, &new_account("alice"), None);
        assert!(matches!(again, Err(StoreError::NameTaken)));
        let found = find_account(&conn, "ALICE").expect("query").expect("found");
        assert_eq!(found.username, "Alice");
    }

    #[test]
    fn ban_role_and_listing() {
        let (_dir, mut conn) = test_db();
        let a = create_account(&mut conn, &new_account("Alice"), None).expect("alice");
        create_account(&mut conn, &new_account("Bob"), None).expect("bob");
        write_tx(&mut conn, |tx| {
            update_active_in(tx, a.user_id, false)?;
            update_role_in(tx, a.user_id, Role::Admin)
        })
        .expect("ban and promote");
        let alice = find_account(&conn, "alice").expect("q").expect("found");
        assert!(!alice.is_active);
        assert_eq!(alice.role, Role::Admin);
        let names: Vec<String> = list_accounts(&conn, Some("LI"))
            .expect("list")
            .into_iter()
            .map(|a| a.username)
            .collect();
        assert_eq!(names, ["Alice"]);
        assert_eq!(list_accounts(&conn, None).expect("all").len(), 2);
        assert!(matches!(
            write_tx(&mut conn, |tx| update_active_in(tx, 999, true)),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn first_character_is_made_unless_its_name_is_taken() {
        let (_dir, mut conn) = test_db();
        let a =
            create_account(&mut conn, &new_account("Alice"), Some(&first("Alice"))).expect("alice");
        assert!(a.character_id.is_some());
        let b = create_account(&mut conn, &new_account("Bob"), Some(&first("ALICE")))
            .expect("bob still created");
        assert_eq!(b.character_id, None);
        assert!(find_account(&conn, "bob").expect("query").is_some());
    }

    #[test]
    fn updates_inside_a_transaction_commit_with_it_or_not_at_all() {
        let (_dir, mut conn) = test_db();
        let a = create_account(&mut conn, &new_account("Alice"), None).expect("alice");
        conn.execute(
            "UPDATE users SET failed_attempts = 5, lockout_until = 'later' WHERE id = ?1",
            [a.user_id],
        )
        .expect("lock out");
        let refused: StoreResult<()> = write_tx(&mut conn, |tx| {
            update_active_in(tx, a.user_id, false)?;
            Err(StoreError::NotFound("something else"))
        });
        assert!(refused.is_err());
        assert!(
            find_account(&conn, "alice")
                .expect("q")
                .expect("found")
                .is_active
        );
        write_tx(&mut conn, |tx| {
            update_active_in(tx, a.user_id, false)?;
            update_role_in(tx, a.user_id, Role::Admin)?;
            reset_password_in(tx, a.user_id, "new hash")
        })
        .expect("commit");
        let alice = find_account(&conn, "alice").expect("q").expect("found");
        assert!(!alice.is_active);
        assert_eq!(alice.role, Role::Admin);
        assert_eq!(alice.password_hash, "new hash");
        assert_eq!((alice.failed_attempts, alice.lockout_until), (0, None));
        let missing = write_tx(&mut conn, |tx| update_role_in(tx, 999, Role::Admin));
        assert!(matches!(missing, Err(StoreError::NotFound(_))));
    }
}
