//! Ignores (SPEC §12 "Ignore"): an account ignores the account behind a
//! character, in every world. One row per pair of accounts, naming the
//! character it was asked by, for the list.
//!
//! [`Ignores::ignore`] decides in its own transaction, on fresh state: the
//! character found by its name in its world, the account behind it, whether
//! that is the ignorer's own or staff's (admin+, who cannot be ignored), and
//! the ignorer's count against [`MAX_IGNORES`]. The game keeps every pair in
//! memory for the fan-out (read once at start with [`Ignores::all`], then
//! changed alongside these rows); reads of stored talk filter in SQL.

use rusqlite::{Connection, OptionalExtension, params};

use super::refusal::{Refusal, decide};
use super::{Store, StoreError, StoreResult, now_iso};
use crate::auth::Role;

/// Most accounts one account may ignore.
pub const MAX_IGNORES: usize = 100;

/// The typed front for ignores (see [`Store::ignores`]).
pub struct Ignores<'s> {
    store: &'s Store,
}

/// Whom an ignore names: the character, as stored, and its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub name: String,
    pub world_id: String,
    pub user_id: i64,
}

/// One entry of an account's ignore list: the character it named (`None`
/// once that character is gone) and its world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEntry {
    pub name: Option<String>,
    pub world_id: Option<String>,
    /// The ignored account is staff now, so the ignore does nothing.
    pub staff: bool,
}

/// Why an ignore or unignore was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreRefused {
    /// No character of that name in that world (or none with an account).
    #[error("no such character")]
    NoSuchCharacter,
    #[error("that is the ignorer's own account")]
    Yourself,
    #[error("staff cannot be ignored")]
    Staff,
    #[error("the ignore list is full ({limit})")]
    Full { limit: usize },
    /// `unignore` of someone not ignored; the character's name as stored.
    #[error("{0} is not ignored")]
    NotIgnored(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for IgnoreRefused {
    fn failure(self) -> Result<StoreError, Self> {
        match self {
            IgnoreRefused::Store(err) => Ok(err),
            other => Err(other),
        }
    }
}

impl<'s> Ignores<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Ignores { store }
    }

    /// Every ignore there is: (ignoring account, ignored account).
    pub async fn all(&self) -> StoreResult<Vec<(i64, i64)>> {
        self.store
            .call(|db| {
                let mut stmt = db.prepare("SELECT user_id, ignored_user_id FROM ignores")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
    }

    /// `user_id` ignores the account behind the character `name` of
    /// `world_id` (see the module for what is decided, and where).
    pub async fn ignore(
        &self,
        user_id: i64,
        world_id: &str,
        name: &str,
    ) -> Result<Ignored, IgnoreRefused> {
        let (world_id, name) = (world_id.to_string(), name.to_string());
        decide(self.store, move |tx| {
            ignore_in(tx, user_id, &world_id, &name)
        })
        .await
    }

    /// `user_id` stops ignoring the account behind the character `name` of
    /// `world_id`.
    pub async fn unignore(
        &self,
        user_id: i64,
        world_id: &str,
        name: &str,
    ) -> Result<Ignored, IgnoreRefused> {
        let (world_id, name) = (world_id.to_string(), name.to_string());
        decide(self.store, move |tx| {
            let target = character(tx, &world_id, &name)?.ignored;
            let gone = tx
                .execute(
                    "DELETE FROM ignores WHERE user_id = ?1 AND ignored_user_id = ?2",
                    params![user_id, target.user_id],
                )
                .map_err(StoreError::from)?;
            if gone == 0 {
                return Err(IgnoreRefused::NotIgnored(target.name));
            }
            Ok(target)
        })
        .await
    }

    /// The accounts `user_id` ignores, by the characters it named, by name.
    pub async fn list(&self, user_id: i64) -> StoreResult<Vec<IgnoreEntry>> {
        self.store
            .call(move |db| {
                let mut stmt = db.prepare(
                    "SELECT c.name, c.world_id, u.role FROM ignores i \
                     JOIN users u ON u.id = i.ignored_user_id \
                     LEFT JOIN characters c ON c.id = i.character_id \
                     WHERE i.user_id = ?1 ORDER BY c.name COLLATE NOCASE, i.since",
                )?;
                let rows = stmt.query_map([user_id], |r| {
                    let role: String = r.get(2)?;
                    let role = role.parse().unwrap_or(Role::Player);
                    Ok(IgnoreEntry {
                        name: r.get(0)?,
                        world_id: r.get(1)?,
                        staff: role >= Role::Admin,
                    })
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
    }
}

fn ignore_in(
    tx: &Connection,
    user_id: i64,
    world_id: &str,
    name: &str,
) -> Result<Ignored, IgnoreRefused> {
    let Target {
        character_id,
        ignored: target,
    } = character(tx, world_id, name)?;
    if target.user_id == user_id {
        return Err(IgnoreRefused::Yourself);
    }
    let role: String = tx
        .query_row(
            "SELECT role FROM users WHERE id = ?1",
            [target.user_id],
            |r| r.get(0),
        )
        .map_err(StoreError::from)?;
    if role.parse().unwrap_or(Role::Player) >= Role::Admin {
        return Err(IgnoreRefused::Staff);
    }
    let (count, already): (i64, bool) = tx
        .query_row(
            "SELECT count(*), coalesce(max(ignored_user_id = ?2), 0) FROM ignores WHERE user_id = ?1",
            params![user_id, target.user_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(StoreError::from)?;
    if !already && usize::try_from(count).unwrap_or(usize::MAX) >= MAX_IGNORES {
        return Err(IgnoreRefused::Full { limit: MAX_IGNORES });
    }
    tx.execute(
        "INSERT INTO ignores (user_id, ignored_user_id, character_id, since) \
         VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (user_id, ignored_user_id) DO UPDATE SET character_id = excluded.character_id",
        params![user_id, target.user_id, character_id, now_iso()],
    )
    .map_err(StoreError::from)?;
    Ok(target)
}

/// A character found by name in a world, with its account.
struct Target {
    character_id: i64,
    ignored: Ignored,
}

/// The character called `name` (without regard to case) in `world_id`, which
/// must belong to an account.
fn character(tx: &Connection, world_id: &str, name: &str) -> Result<Target, IgnoreRefused> {
    let found: Option<(i64, String, Option<i64>)> = tx
        .query_row(
            "SELECT id, name, user_id FROM characters WHERE world_id = ?1 AND name = ?2",
            params![world_id, name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(StoreError::from)?;
    match found {
        Some((character_id, name, Some(user_id))) => Ok(Target {
            character_id,
            ignored: Ignored {
                name,
                world_id: world_id.to_string(),
                user_id,
            },
        }),
        _ => Err(IgnoreRefused::NoSuchCharacter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    fn seeded() -> (tempfile::TempDir, Connection) {
        schema::test_db(
            "INSERT INTO worlds (id, name, registered_at, updated_at) VALUES ('w', 'W', '', '');
             INSERT INTO users (id, username, password_hash, role, created_at) VALUES
                 (1, 'ann', 'x', 'player', ''), (2, 'ben', 'x', 'player', ''),
                 (3, 'cyd', 'x', 'admin', '');
             INSERT INTO characters (id, user_id, world_id, name, created_at) VALUES
                 (1, 1, 'w', 'Ann', ''), (2, 2, 'w', 'Ben', ''), (3, 3, 'w', 'Cyd', ''),
                 (4, NULL, 'w', 'Orphan', ''), (5, 1, 'w', 'Annette', '');",
        )
    }

    fn refused(result: Result<Ignored, IgnoreRefused>) -> String {
        match result {
            Ok(ignored) => format!("ignored {}", ignored.name),
            Err(refusal) => refusal.to_string(),
        }
    }

    #[test]
    fn an_ignore_is_decided_on_the_character_its_account_and_the_count() {
        let (_dir, conn) = seeded();
        let ignore = |name: &str| refused(ignore_in(&conn, 1, "w", name));
        assert_eq!(ignore("ben"), "ignored Ben");
        assert_eq!(ignore("BEN"), "ignored Ben", "again is no error");
        assert_eq!(ignore("Cyd"), "staff cannot be ignored");
        assert_eq!(ignore("Annette"), "that is the ignorer's own account");
        assert_eq!(ignore("Orphan"), "no such character");
        assert_eq!(ignore("Nobody"), "no such character");
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM ignores", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 1);
    }

    #[test]
    fn the_list_is_capped() {
        let (_dir, conn) = seeded();
        for n in 0..MAX_IGNORES {
            let id = 100 + n as i64;
            conn.execute_batch(&format!(
                "INSERT INTO users (id, username, password_hash, created_at) VALUES ({id}, 'u{id}', 'x', '');
                 INSERT INTO characters (id, user_id, world_id, name, created_at) VALUES ({id}, {id}, 'w', 'P{id}', '');"
            ))
            .expect("seed");
            ignore_in(&conn, 1, "w", &format!("P{id}")).expect("room on the list");
        }
        let full = refused(ignore_in(&conn, 1, "w", "Ben"));
        assert!(full.contains("full (100)"), "{full}");
        // One already on the list may be named again.
        assert_eq!(refused(ignore_in(&conn, 1, "w", "P100")), "ignored P100");
    }
}
