//! Characters: making them — the one way any character is made, within the
//! per-account, per-world slot limit — the character menu's list, and noting
//! that one entered play.
//!
//! The menu's `new <name>`, the admin's `/newchar` and an account's first
//! character all come to [`create_in`], inside the transaction that inserts:
//! the name is checked against the rules there (a made-up one is drawn again
//! while taken), the account's characters in the world are counted there, and
//! the unique index on the name's look-alike key refuses a taken name there,
//! so nothing decided can change before the insert.

use rusqlite::{Connection, OptionalExtension, params};

use super::accounts::account_by_id;
use super::refusal::{CharacterRefused, decide};
use super::{Store, StoreError, StoreResult, now_iso, write_tx};
use crate::auth::Role;
use crate::auth::generate::{self, Entropy};
use crate::auth::names::{check_character_name, display_character_name, name_key};
use crate::world::World;

/// A character to make, in a world, standing at first in `spawn_room`.
#[derive(Debug, Clone)]
pub struct NewCharacter {
    pub world_id: String,
    pub spawn_room: String,
    pub name: CharacterName,
    /// Whether a word is a command word, which no character may be called
    /// (the store knows no commands: `command::is_command_word`).
    pub is_command_word: fn(&str) -> bool,
}

/// The server's limits on an account's characters, checked by [`create_in`]
/// in the transaction that inserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharacterLimits {
    /// Characters one account may have in one world (`--character-slots`).
    pub slots: usize,
    /// Whether an account's characters all live in one world
    /// (`--multi-world-characters off`); accounts of admins and above are
    /// exempt.
    pub one_world: bool,
}

impl CharacterLimits {
    /// Only the slots: an account's first character, or a test's.
    pub fn slots(slots: usize) -> CharacterLimits {
        CharacterLimits {
            slots,
            one_world: false,
        }
    }
}

/// How a new character gets its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CharacterName {
    /// As a player or an admin typed it: checked against the character name
    /// rules and shown capitalised (`mary-ann` is `Mary-Ann`).
    Typed(String),
    /// Made up and pronounceable (a world that gives names, or a guest who
    /// left the choice to the game), drawn again while taken.
    Generated,
}

impl NewCharacter {
    /// A character named so in `world`, standing at first at its spawn.
    pub fn in_world(
        world: &World,
        name: CharacterName,
        is_command_word: fn(&str) -> bool,
    ) -> NewCharacter {
        NewCharacter {
            world_id: world.id.clone(),
            spawn_room: world.default_spawn.as_str().to_string(),
            name,
            is_command_word,
        }
    }

    /// A made-up name that passes the rules (not yet known to be free).
    pub(in crate::store) fn draw_name(&self) -> String {
        generate::character_name(&mut Entropy, self.is_command_word)
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

    /// Makes a character for an account within `limits` (see [`create_in`]):
    /// one `BEGIN IMMEDIATE` transaction, so parallel requests cannot pass the
    /// limits or take one name together.
    pub async fn create(
        &self,
        user_id: i64,
        character: NewCharacter,
        limits: CharacterLimits,
    ) -> Result<CharacterSummary, CharacterRefused> {
        decide(self.store, move |tx| {
            let draw = &mut || character.draw_name();
            create_in(tx, user_id, &character, limits, false, draw)
        })
        .await
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
    /// Whether it was ever played (a new character stands at its spawn but
    /// was never seen there).
    pub played: bool,
}

/// How many made-up names one creation draws before it gives up (each is
/// taken only by bad luck, so this is never reached in practice).
const NAME_DRAWS: usize = 50;

/// Makes a character inside the caller's transaction: the one way any
/// character is made (the menu's `new`, `/newchar`, an account's first). In
/// order: the name is checked against the character name rules; the owner's
/// characters in that world are counted against the slots; where the server
/// keeps accounts to one world, an owner below admin with characters in
/// another world is refused; the row and its first location are inserted. A name taken in that world, or looking like a taken
/// one, is refused by the unique index on its key in this same transaction; a
/// made-up name is then drawn again with `draw_name`. A refused insert undoes
/// only itself, so the transaction goes on.
pub(in crate::store) fn create_in(
    tx: &Connection,
    owner: i64,
    character: &NewCharacter,
    limits: CharacterLimits,
    is_guest_created: bool,
    draw_name: &mut dyn FnMut() -> String,
) -> Result<CharacterSummary, CharacterRefused> {
    let mut name = match &character.name {
        CharacterName::Typed(typed) => {
            let typed = typed.trim();
            check_character_name(typed, character.is_command_word)
                .map_err(|bad| CharacterRefused::BadName(bad.0))?;
            display_character_name(typed)
        }
        CharacterName::Generated => draw_name(),
    };
    check_slots(tx, owner, &character.world_id, limits.slots)?;
    if limits.one_world {
        check_one_world(tx, owner, &character.world_id)?;
    }
    let mut draws = 1;
    let id = loop {
        match insert_character(tx, owner, character, &name, is_guest_created) {
            Ok(id) => break id,
            Err(StoreError::NameTaken)
                if character.name == CharacterName::Generated && draws < NAME_DRAWS =>
            {
                name = draw_name();
                draws += 1;
            }
            Err(StoreError::NameTaken) => return Err(CharacterRefused::NameTaken { name }),
            Err(err) => return Err(err.into()),
        }
    };
    Ok(CharacterSummary {
        id,
        name,
        world_id: character.world_id.clone(),
        room: Some(character.spawn_room.clone()),
        played: false,
    })
}

/// Refuses a new character for `owner` in `world_id` when it has `slots`
/// there already.
fn check_slots(
    tx: &Connection,
    owner: i64,
    world_id: &str,
    slots: usize,
) -> Result<(), CharacterRefused> {
    let have: i64 = tx
        .query_row(
            "SELECT count(*) FROM characters WHERE user_id = ?1 AND world_id = ?2",
            params![owner, world_id],
            |r| r.get(0),
        )
        .map_err(StoreError::from)?;
    if usize::try_from(have).unwrap_or(usize::MAX) >= slots {
        return Err(CharacterRefused::SlotsFull { limit: slots });
    }
    Ok(())
}

/// Refuses a new character in `world_id` for an `owner` below admin whose
/// characters live in another world (admins are exempt: they keep a
/// character wherever they look after players).
fn check_one_world(tx: &Connection, owner: i64, world_id: &str) -> Result<(), CharacterRefused> {
    let exempt = account_by_id(tx, owner)?.is_some_and(|account| account.role >= Role::Admin);
    if exempt {
        return Ok(());
    }
    let elsewhere: Option<String> = tx
        .query_row(
            "SELECT world_id FROM characters WHERE user_id = ?1 AND world_id <> ?2 \
             ORDER BY id LIMIT 1",
            params![owner, world_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::from)?;
    match elsewhere {
        Some(world_id) => Err(CharacterRefused::OtherWorld { world_id }),
        None => Ok(()),
    }
}

/// Inserts a character called `name` and its starting location. A name taken
/// in that world, or one that looks like a taken one (the same [`name_key`]),
/// is [`StoreError::NameTaken`].
fn insert_character(
    conn: &Connection,
    owner: i64,
    character: &NewCharacter,
    name: &str,
    is_guest_created: bool,
) -> StoreResult<i64> {
    let now = now_iso();
    conn.execute(
        "INSERT INTO characters (user_id, world_id, name, name_key, is_guest_created, \
         created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            owner,
            character.world_id,
            name,
            name_key(name),
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
        "SELECT c.id, c.name, c.world_id, l.room, c.last_played_at IS NOT NULL \
         FROM characters c \
         LEFT JOIN character_locations l ON l.character_id = c.id \
         WHERE c.user_id = ?1 AND c.world_id = ?2 ORDER BY c.id",
    )?;
    let rows = stmt.query_map(params![user_id, world_id], |row| {
        Ok(CharacterSummary {
            id: row.get(0)?,
            name: row.get(1)?,
            world_id: row.get(2)?,
            room: row.get(3)?,
            played: row.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    fn never(_: &str) -> bool {
        false
    }

    fn typed(name: &str) -> NewCharacter {
        NewCharacter {
            world_id: "w".into(),
            spawn_room: "z:spawn".into(),
            name: CharacterName::Typed(name.into()),
            is_command_word: |word| word.eq_ignore_ascii_case("look"),
        }
    }

    #[tokio::test]
    async fn characters_are_listed_with_their_last_room() {
        let (_dir, store, user_id) = test_store("alice").await;
        let characters = store.characters();
        let made = characters
            .create(user_id, typed("alice"), CharacterLimits::slots(10))
            .await
            .expect("first");
        assert_eq!(made.name, "Alice", "shown capitalised");
        characters
            .create(user_id, typed("Alys"), CharacterLimits::slots(10))
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
        let taken = characters
            .create(user_id, typed("ALICE"), CharacterLimits::slots(10))
            .await;
        assert!(
            matches!(&taken, Err(CharacterRefused::NameTaken { name }) if name == "ALICE"),
            "{taken:?}"
        );
    }

    #[tokio::test]
    async fn names_are_checked_where_they_are_inserted() {
        let (_dir, store, user_id) = test_store("bo").await;
        for bad in ["look", "x", "R2D2"] {
            let refused = store
                .characters()
                .create(user_id, typed(bad), CharacterLimits::slots(10))
                .await;
            assert!(
                matches!(refused, Err(CharacterRefused::BadName(_))),
                "{bad}: {refused:?}"
            );
        }
        assert!(
            store
                .characters()
                .list(user_id, "w")
                .await
                .expect("list")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_made_up_name_that_is_taken_is_drawn_again() {
        let (_dir, store, user_id) = test_store("cy").await;
        store
            .characters()
            .create(user_id, typed("Brae"), CharacterLimits::slots(10))
            .await
            .expect("Brae");
        let made = store
            .call(move |db| {
                let generated = NewCharacter {
                    name: CharacterName::Generated,
                    is_command_word: never,
                    ..typed("")
                };
                let mut draws = ["Brae", "Bráe", "Thoun"].into_iter().map(String::from);
                let draw = &mut || draws.next().unwrap_or_default();
                write_tx(db, |tx| {
                    create_in(
                        tx,
                        user_id,
                        &generated,
                        CharacterLimits::slots(10),
                        false,
                        draw,
                    )
                    .map_err(|refused| StoreError::Task(refused.to_string()))
                })
            })
            .await
            .expect("made");
        assert_eq!(made.name, "Thoun", "Brae and its look-alike were taken");
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
            async move {
                store
                    .characters()
                    .create(user_id, typed(name), CharacterLimits::slots(10))
                    .await
            }
        }))
        .await;
        let ok = made.iter().filter(|r| r.is_ok()).count();
        let full = made
            .iter()
            .filter(|r| matches!(r, Err(CharacterRefused::SlotsFull { limit: 10 })))
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
