//! Characters: making them (within the per-account, per-world slot limit), the
//! character menu's list, and noting that one entered play.

use rusqlite::{Connection, params};

use super::{Store, StoreError, StoreResult, now_iso, write_tx};
use crate::auth::names::name_key;

/// A character to make, in a world, standing at first in `spawn_room`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCharacter {
    pub world_id: String,
    pub name: String,
    pub spawn_room: String,
}

/// Why a character was not made.
#[derive(Debug, thiserror::Error)]
pub enum CreateRefused {
    /// The account already has `limit` characters in that world.
    #[error("the account already has {limit} characters in that world")]
    SlotsFull { limit: usize },
    /// Another character of that world has the name (any case).
    #[error("that character name is taken")]
    NameTaken,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CreateRefused {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NameTaken => CreateRefused::NameTaken,
            other => CreateRefused::Store(other),
        }
    }
}

/// The typed front for characters (see [`Store::characters`]).
pub struct Characters<'s> {
    store: &'s Store,
}

impl<'s> Characters<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Characters { store }
    }

    /// Makes a character for an account unless it already has `limit` in that
    /// world: the count and the insert are one `BEGIN IMMEDIATE` transaction, so
    /// parallel requests cannot pass the limit together.
    pub async fn create(
        &self,
        user_id: i64,
        character: NewCharacter,
        limit: usize,
    ) -> Result<i64, CreateRefused> {
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    let have: i64 = tx.query_row(
                        "SELECT count(*) FROM characters WHERE user_id = ?1 AND world_id = ?2",
                        params![user_id, character.world_id],
                        |r| r.get(0),
                    )?;
                    if usize::try_from(have).unwrap_or(usize::MAX) >= limit {
                        return Ok(Err(CreateRefused::SlotsFull { limit }));
                    }
                    Ok(Ok(insert_character(tx, user_id, &character, false)?))
                })
            })
            .await?
    }

    /// Whether a character of that world already has the name, in any case or
    /// as a look-alike (the same `name_key`): what creating it would refuse.
    pub async fn name_taken(&self, world_id: &str, name: &str) -> StoreResult<bool> {
        let key = crate::auth::names::name_key(name);
        let (world_id, name) = (world_id.to_string(), name.to_string());
        self.store
            .call(move |db| {
                Ok(db.query_row(
                    "SELECT EXISTS (SELECT 1 FROM characters WHERE world_id = ?1 \
                     AND (name = ?2 OR name_key = ?3))",
                    params![world_id, name, key],
                    |r| r.get(0),
                )?)
            })
            .await
    }

    /// The characters an account has in one world, oldest first.
    pub async fn list(&self, user_id: i64, world_id: &str) -> StoreResult<Vec<CharacterSummary>> {
        let world_id = world_id.to_string();
        self.store
            .call(move |db| list_characters(db, user_id, &world_id))
            .await
    }

    /// Notes that a session now plays a character: the session row names it and
    /// the character's last-played time is now, in one transaction.
    pub async fn enter_play(
        &self,
        session_id: &str,
        character_id: i64,
        world_id: &str,
    ) -> StoreResult<()> {
        let (session_id, world_id) = (session_id.to_string(), world_id.to_string());
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    super::sessions::attach_character_in(
                        tx,
                        &session_id,
                        Some((character_id, &world_id)),
                    )?;
                    tx.execute(
                        "UPDATE characters SET last_played_at = ?2 WHERE id = ?1",
                        params![character_id, now_iso()],
                    )?;
                    Ok(())
                })
            })
            .await
    }
}

/// A character as the character menu lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharacterSummary {
    pub id: i64,
    pub name: String,
    pub world_id: String,
    /// The room it last stood in (`zone:room`), if it ever stood anywhere.
    pub room: Option<String>,
}

/// Inserts a character and its starting location inside an open transaction.
/// A name taken in that world, or one that looks like a taken one (the same
/// [`name_key`]), is [`StoreError::NameTaken`]: the unique index on the key
/// decides, inside this transaction, so two look-alikes made at once cannot
/// both succeed.
pub(crate) fn insert_character(
    conn: &Connection,
    user_id: i64,
    character: &NewCharacter,
    is_guest_created: bool,
) -> StoreResult<i64> {
    let now = now_iso();
    conn.execute(
        "INSERT INTO characters (user_id, world_id, name, name_key, is_guest_created, \
         created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            user_id,
            character.world_id,
            character.name,
            name_key(&character.name),
            is_guest_created,
            now
        ],
    )?;
    let id = conn.last_insert_rowid();
    conn.execute(
        "INSERT INTO character_locations (character_id, world_id, room, updated_at) \
         VALUES (?1, ?2, ?3, ?4)",
        params![id, character.world_id, character.spawn_room, now],
    )?;
    Ok(id)
}

/// The characters an account has in one world, oldest first.
fn list_characters(
    conn: &Connection,
    user_id: i64,
    world_id: &str,
) -> StoreResult<Vec<CharacterSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, c.name, c.world_id, l.room FROM characters c \
         LEFT JOIN character_locations l ON l.character_id = c.id \
         WHERE c.user_id = ?1 AND c.world_id = ?2 ORDER BY c.id",
    )?;
    let rows = stmt.query_map(params![user_id, world_id], |row| {
        Ok(CharacterSummary {
            id: row.get(0)?,
            name: row.get(1)?,
            world_id: row.get(2)?,
            room: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    fn named(name: &str) -> NewCharacter {
        NewCharacter {
            world_id: "w".into(),
            name: name.into(),
            spawn_room: "z:spawn".into(),
        }
    }

    #[tokio::test]
    async fn characters_are_listed_with_their_last_room() {
        let (_dir, store, user_id) = test_store("alice").await;
        let characters = store.characters();
        characters
            .create(user_id, named("Alice"), 10)
            .await
            .expect("first");
        characters
            .create(user_id, named("Alys"), 10)
            .await
            .expect("second");
        let list = characters.list(user_id, "w").await.expect("list");
        let names: Vec<_> = list.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Alice", "Alys"]);
        assert_eq!(list[0].room.as_deref(), Some("z:spawn"));
        assert!(
            characters
                .list(user_id, "other")
                .await
                .expect("list")
                .is_empty()
        );
        let taken = characters.create(user_id, named("ALICE"), 10).await;
        assert!(matches!(taken, Err(CreateRefused::NameTaken)), "{taken:?}");
    }

    #[tokio::test]
    async fn parallel_creations_never_pass_the_slot_limit() {
        let (_dir, store, user_id) = test_store("slot1").await;
        let names = [
            "Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India",
            "Juliett", "Kilo", "Lima", "Mike", "November", "Oscar", "Papa",
        ];
        let made = futures::future::join_all(names.iter().map(|name| {
            let store = store.clone();
            async move { store.characters().create(user_id, named(name), 10).await }
        }))
        .await;
        let ok = made.iter().filter(|r| r.is_ok()).count();
        let full = made
            .iter()
            .filter(|r| matches!(r, Err(CreateRefused::SlotsFull { limit: 10 })))
            .count();
        assert_eq!((ok, full), (10, 6));
        assert_eq!(
            store
                .characters()
                .list(user_id, "w")
                .await
                .expect("list")
                .len(),
            10
        );
    }
}
