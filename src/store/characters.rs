//! Characters, where they stand, and the item instances in rooms and pockets.

use rusqlite::{Connection, OptionalExtension, params};

use super::accounts::FirstCharacter;
use super::{StoreResult, now_iso, write_tx};

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
pub(crate) fn insert_character(
    conn: &Connection,
    user_id: i64,
    character: &FirstCharacter,
    is_guest_created: bool,
) -> StoreResult<i64> {
    let now = now_iso();
    conn.execute(
        "INSERT INTO characters (user_id, world_id, name, is_guest_created, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            user_id,
            character.world_id,
            character.name,
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

/// Creates a character for an existing account.
pub fn create_character(
    conn: &mut Connection,
    user_id: i64,
    character: &FirstCharacter,
) -> StoreResult<i64> {
    write_tx(conn, |tx| insert_character(tx, user_id, character, false))
}

/// The characters an account has in one world, oldest first.
pub fn list_characters(
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

/// The room a character last stood in.
pub fn character_room(conn: &Connection, character_id: i64) -> StoreResult<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT room FROM character_locations WHERE character_id = ?1",
            [character_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Notes that a character entered play now.
pub fn mark_played(conn: &mut Connection, character_id: i64) -> StoreResult<()> {
    write_tx(conn, |tx| {
        tx.execute(
            "UPDATE characters SET last_played_at = ?2 WHERE id = ?1",
            params![character_id, now_iso()],
        )?;
        Ok(())
    })
}

/// One item instance lying in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomItem {
    pub id: i64,
    pub room: String,
    pub item_key: String,
}

/// Every item instance lying in the rooms of a world.
pub fn room_items(conn: &Connection, world_id: &str) -> StoreResult<Vec<RoomItem>> {
    let mut stmt =
        conn.prepare("SELECT id, room, item_key FROM room_items WHERE world_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([world_id], |row| {
        Ok(RoomItem {
            id: row.get(0)?,
            room: row.get(1)?,
            item_key: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::store::accounts::{NewAccount, create_account};
    use crate::store::schema;

    #[test]
    fn characters_are_listed_with_their_last_room() {
        let (_dir, mut conn) = schema::test_db(schema::ONE_WORLD);
        let account = NewAccount {
            username: "alice".into(),
            password_hash: "x".into(),
            role: Role::Player,
            is_guest: false,
            guest_expires_at: None,
            origin: "test".into(),
        };
        let first = FirstCharacter {
            world_id: "w".into(),
            name: "Alice".into(),
            spawn_room: "z:spawn".into(),
        };
        let created = create_account(&mut conn, &account, Some(&first)).expect("create");
        let second = FirstCharacter {
            name: "Alys".into(),
            ..first.clone()
        };
        create_character(&mut conn, created.user_id, &second).expect("second");
        let list = list_characters(&conn, created.user_id, "w").expect("list");
        let names: Vec<_> = list.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Alice", "Alys"]);
        assert_eq!(list[0].room.as_deref(), Some("z:spawn"));
        assert!(
            list_characters(&conn, created.user_id, "other")
                .expect("list")
                .is_empty()
        );
    }
}
