//! Moving item instances between rooms and characters, and reading what a
//! character carries.
//!
//! An instance keeps its id for life and sits in exactly one of `room_items` and
//! `character_items` at any moment. Every move here is one `BEGIN IMMEDIATE`
//! transaction that first checks the instance is still where the caller believes
//! it is. SQLite runs such transactions one at a time, so when two players grab
//! the same thing the second transaction finds the row gone and changes nothing:
//! the item can never be in two places, nor vanish.
//!
//! A move answers `Ok(false)` when the instance was not where the caller said;
//! nothing was written then.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{StoreResult, now_iso, write_tx};

/// One item instance a character carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedItem {
    pub id: i64,
    pub item_key: String,
}

/// What a character carries, in the order it came by the things.
pub fn carried_items(conn: &Connection, character_id: i64) -> StoreResult<Vec<CarriedItem>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, item_key FROM character_items WHERE character_id = ?1 \
         ORDER BY acquired_at, id",
    )?;
    let rows = stmt.query_map([character_id], |row| {
        Ok(CarriedItem {
            id: row.get(0)?,
            item_key: row.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Moves an instance lying in `room` of `world_id` into a character's hands.
pub fn take_from_room(
    conn: &mut Connection,
    item_id: i64,
    world_id: &str,
    room: &str,
    character_id: i64,
) -> StoreResult<bool> {
    write_tx(conn, |tx| {
        let key: Option<String> = tx
            .query_row(
                "SELECT item_key FROM room_items WHERE id = ?1 AND world_id = ?2 AND room = ?3",
                params![item_id, world_id, room],
                |r| r.get(0),
            )
            .optional()?;
        let Some(key) = key else {
            return Ok(false);
        };
        tx.execute("DELETE FROM room_items WHERE id = ?1", [item_id])?;
        tx.execute(
            "INSERT INTO character_items (id, character_id, world_id, item_key, acquired_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![item_id, character_id, world_id, key, now_iso()],
        )?;
        Ok(true)
    })
}

/// Puts an instance a character carries down in `room` of `world_id`.
pub fn drop_in_room(
    conn: &mut Connection,
    item_id: i64,
    character_id: i64,
    world_id: &str,
    room: &str,
) -> StoreResult<bool> {
    write_tx(conn, |tx| {
        let Some(key) = carried_key(tx, item_id, character_id)? else {
            return Ok(false);
        };
        tx.execute("DELETE FROM character_items WHERE id = ?1", [item_id])?;
        tx.execute(
            "INSERT INTO room_items (id, world_id, room, item_key, placed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![item_id, world_id, room, key, now_iso()],
        )?;
        Ok(true)
    })
}

/// Hands an instance from one character to another.
pub fn give_item(conn: &mut Connection, item_id: i64, from: i64, to: i64) -> StoreResult<bool> {
    write_tx(conn, |tx| {
        let changed = tx.execute(
            "UPDATE character_items SET character_id = ?3, acquired_at = ?4 \
             WHERE id = ?1 AND character_id = ?2",
            params![item_id, from, to, now_iso()],
        )?;
        Ok(changed == 1)
    })
}

/// The item key of an instance if `character_id` carries it.
fn carried_key(
    tx: &Transaction<'_>,
    item_id: i64,
    character_id: i64,
) -> StoreResult<Option<String>> {
    Ok(tx
        .query_row(
            "SELECT item_key FROM character_items WHERE id = ?1 AND character_id = ?2",
            params![item_id, character_id],
            |r| r.get(0),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    /// A database with one world, two characters (1 and 2) and a penny (id 1)
    /// lying in `z:square`.
    fn seeded() -> (tempfile::TempDir, Connection) {
        let (dir, conn) = schema::test_db(
            "INSERT INTO worlds (id, name, registered_at, updated_at) VALUES ('w', 'W', '', '');
             INSERT INTO characters (id, world_id, name, created_at) VALUES (1, 'w', 'Ann', '');
             INSERT INTO characters (id, world_id, name, created_at) VALUES (2, 'w', 'Ben', '');
             INSERT INTO room_items (world_id, room, item_key, placed_at)
                 VALUES ('w', 'z:square', 'penny', '');",
        );
        (dir, conn)
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).expect("count")
    }

    #[test]
    fn an_item_can_be_taken_only_once() {
        let (_dir, mut conn) = seeded();
        assert!(take_from_room(&mut conn, 1, "w", "z:square", 1).expect("take"));
        assert!(!take_from_room(&mut conn, 1, "w", "z:square", 2).expect("second take"));
        assert_eq!(count(&conn, "SELECT count(*) FROM room_items"), 0);
        let ann = carried_items(&conn, 1).expect("carried");
        assert_eq!(
            ann,
            [CarriedItem {
                id: 1,
                item_key: "penny".into()
            }]
        );
        assert!(carried_items(&conn, 2).expect("carried").is_empty());
    }

    #[test]
    fn an_item_is_only_taken_from_the_room_it_lies_in() {
        let (_dir, mut conn) = seeded();
        assert!(!take_from_room(&mut conn, 1, "w", "z:elsewhere", 1).expect("take"));
        assert_eq!(count(&conn, "SELECT count(*) FROM room_items"), 1);
    }

    #[test]
    fn dropped_and_given_items_keep_their_id_and_one_place() {
        let (_dir, mut conn) = seeded();
        take_from_room(&mut conn, 1, "w", "z:square", 1).expect("take");
        assert!(!give_item(&mut conn, 1, 2, 1).expect("give from the wrong hands"));
        assert!(give_item(&mut conn, 1, 1, 2).expect("give"));
        assert!(carried_items(&conn, 1).expect("carried").is_empty());
        assert!(!drop_in_room(&mut conn, 1, 1, "w", "z:yard").expect("drop by the giver"));
        assert!(drop_in_room(&mut conn, 1, 2, "w", "z:yard").expect("drop"));
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM room_items WHERE id = 1 AND room = 'z:yard'"
            ),
            1
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM character_items"), 0);
        // A new instance after all this still gets a fresh id.
        conn.execute(
            "INSERT INTO room_items (world_id, room, item_key, placed_at) \
             VALUES ('w', 'z:square', 'penny', '')",
            [],
        )
        .expect("insert");
        assert_eq!(count(&conn, "SELECT max(id) FROM room_items"), 2);
    }
}
