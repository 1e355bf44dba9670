//! Creating an account and, if asked, its first character, in one
//! transaction; a guest whose number is taken draws another in it.

use rusqlite::{Connection, params};

use super::Accounts;
use crate::auth::Role;
use crate::auth::names::{guest_name, name_key};
use crate::store::characters::{NewCharacter, insert_character};
use crate::store::{StoreError, StoreResult, now_iso, write_tx};

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

impl Accounts<'_> {
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::test_store;

    pub(in crate::store) fn new_account(name: &str, role: Role) -> NewAccount {
        NewAccount {
            username: name.into(),
            password_hash: "x".into(),
            role,
            is_guest: false,
            guest_expires_at: None,
            origin: "test".into(),
        }
    }

    pub(in crate::store) fn first(name: &str) -> NewCharacter {
        NewCharacter {
            world_id: "w".into(),
            name: name.into(),
            spawn_room: "z:spawn".into(),
        }
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
}
