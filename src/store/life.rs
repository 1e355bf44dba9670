//! The records of the world's life (issue 19): where each NPC stands, what
//! NPCs carry, and scripts' own small state. An item handed to an NPC, taken
//! from a player by a script or made by one moves like every item
//! (`store::items`): one transaction that first checks the instance is still
//! where the caller believes, so it is in exactly one place.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreResult, now_iso, write_tx};

/// The typed front for NPCs' and scripts' records (see [`Store::life`]).
pub struct Life<'s> {
    store: &'s Store,
}

/// Where an item is, for a move that checks it is still there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// Lying in a room of the world (`zone:room`).
    Room(String),
    /// In a character's hands.
    Character(i64),
    /// In an NPC's hands (`zone:npc`).
    Npc(String),
}

/// One NPC's saved place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpcPlace {
    pub npc_key: String,
    pub room: String,
}

/// One instance an NPC carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpcItem {
    pub id: i64,
    pub npc_key: String,
    pub item_key: String,
}

impl<'s> Life<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Life { store }
    }

    /// Every NPC place saved for a world.
    pub async fn places(&self, world_id: &str) -> StoreResult<Vec<NpcPlace>> {
        let world_id = world_id.to_string();
        self.store.call(move |db| places(db, &world_id)).await
    }

    /// Saves where an NPC stands now.
    pub async fn save_place(&self, world_id: &str, npc_key: &str, room: &str) -> StoreResult<()> {
        let (w, n, r) = (world_id.to_string(), npc_key.to_string(), room.to_string());
        self.store
            .call(move |db| {
                db.prepare_cached(
                    "INSERT INTO npc_places (world_id, npc_key, room, updated_at) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (world_id, npc_key) \
                     DO UPDATE SET room = excluded.room, updated_at = excluded.updated_at",
                )?
                .execute(params![w, n, r, now_iso()])?;
                Ok(())
            })
            .await
    }

    /// What the NPCs of a world carry, oldest first.
    pub async fn npc_items(&self, world_id: &str) -> StoreResult<Vec<NpcItem>> {
        let world_id = world_id.to_string();
        self.store.call(move |db| npc_items(db, &world_id)).await
    }

    /// Moves an instance from `from` to `to` within a world; `Ok(None)`
    /// (nothing written) when it is not where `from` says, else its item key.
    pub async fn move_item(
        &self,
        world_id: &str,
        item_id: i64,
        from: Holder,
        to: Holder,
    ) -> StoreResult<Option<String>> {
        let world_id = world_id.to_string();
        self.store
            .call(move |db| move_item(db, &world_id, item_id, &from, &to))
            .await
    }

    /// Makes a new instance of `item_key` lying in `room`; its id.
    pub async fn spawn(&self, world_id: &str, room: &str, item_key: &str) -> StoreResult<i64> {
        let (w, r, k) = (world_id.to_string(), room.to_string(), item_key.to_string());
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    tx.execute(
                        "INSERT INTO room_items (world_id, room, item_key, placed_at) \
                         VALUES (?1, ?2, ?3, ?4)",
                        params![w, r, k, now_iso()],
                    )?;
                    Ok(tx.last_insert_rowid())
                })
            })
            .await
    }

    /// Every script state value of a world: (owner, key, value as JSON text).
    pub async fn script_state(&self, world_id: &str) -> StoreResult<Vec<(String, String, String)>> {
        let world_id = world_id.to_string();
        self.store
            .call(move |db| {
                let mut stmt = db.prepare(
                    "SELECT owner, key, value FROM script_state WHERE world_id = ?1 \
                     ORDER BY owner, key",
                )?;
                let rows = stmt.query_map([world_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
    }

    /// Sets (or, with `None`, removes) one value of a script's state.
    pub async fn set_state(
        &self,
        world_id: &str,
        owner: &str,
        key: &str,
        value: Option<String>,
    ) -> StoreResult<()> {
        let (w, o, k) = (world_id.to_string(), owner.to_string(), key.to_string());
        self.store
            .call(move |db| {
                match value {
                    Some(value) => db
                        .prepare_cached(
                            "INSERT INTO script_state (world_id, owner, key, value, updated_at) \
                             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (world_id, owner, key) \
                             DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                        )?
                        .execute(params![w, o, k, value, now_iso()])?,
                    None => db
                        .prepare_cached(
                            "DELETE FROM script_state WHERE world_id = ?1 AND owner = ?2 AND key = ?3",
                        )?
                        .execute(params![w, o, k])?,
                };
                Ok(())
            })
            .await
    }
}

fn places(conn: &Connection, world_id: &str) -> StoreResult<Vec<NpcPlace>> {
    let mut stmt = conn.prepare("SELECT npc_key, room FROM npc_places WHERE world_id = ?1")?;
    let rows = stmt.query_map([world_id], |row| {
        Ok(NpcPlace {
            npc_key: row.get(0)?,
            room: row.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn npc_items(conn: &Connection, world_id: &str) -> StoreResult<Vec<NpcItem>> {
    let mut stmt = conn.prepare(
        "SELECT id, npc_key, item_key FROM npc_items WHERE world_id = ?1 ORDER BY acquired_at, id",
    )?;
    let rows = stmt.query_map([world_id], |row| {
        Ok(NpcItem {
            id: row.get(0)?,
            npc_key: row.get(1)?,
            item_key: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The move: the instance's key read where `from` says it is, that row
/// deleted and one written where `to` says, in one transaction.
fn move_item(
    conn: &mut Connection,
    world_id: &str,
    item_id: i64,
    from: &Holder,
    to: &Holder,
) -> StoreResult<Option<String>> {
    write_tx(conn, |tx| {
        let found: Option<String> = match from {
            Holder::Room(room) => tx
                .query_row(
                    "SELECT item_key FROM room_items WHERE id = ?1 AND world_id = ?2 AND room = ?3",
                    params![item_id, world_id, room],
                    |r| r.get(0),
                )
                .optional()?,
            Holder::Character(id) => tx
                .query_row(
                    "SELECT item_key FROM character_items WHERE id = ?1 AND character_id = ?2",
                    params![item_id, id],
                    |r| r.get(0),
                )
                .optional()?,
            Holder::Npc(npc) => tx
                .query_row(
                    "SELECT item_key FROM npc_items WHERE id = ?1 AND world_id = ?2 AND npc_key = ?3",
                    params![item_id, world_id, npc],
                    |r| r.get(0),
                )
                .optional()?,
        };
        let Some(key) = found else {
            return Ok(None);
        };
        let table = match from {
            Holder::Room(_) => "DELETE FROM room_items WHERE id = ?1",
            Holder::Character(_) => "DELETE FROM character_items WHERE id = ?1",
            Holder::Npc(_) => "DELETE FROM npc_items WHERE id = ?1",
        };
        tx.execute(table, [item_id])?;
        let now = now_iso();
        match to {
            Holder::Room(room) => tx.execute(
                "INSERT INTO room_items (id, world_id, room, item_key, placed_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![item_id, world_id, room, key, now],
            )?,
            Holder::Character(id) => tx.execute(
                "INSERT INTO character_items (id, character_id, world_id, item_key, acquired_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![item_id, id, world_id, key, now],
            )?,
            Holder::Npc(npc) => tx.execute(
                "INSERT INTO npc_items (id, world_id, npc_key, item_key, acquired_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![item_id, world_id, npc, key, now],
            )?,
        };
        Ok(Some(key))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).expect("count")
    }

    #[test]
    fn an_item_given_to_an_npc_is_in_one_place_and_moves_only_from_where_it_is() {
        let (_dir, mut conn) = schema::test_db(
            "INSERT INTO worlds (id, name, registered_at, updated_at) VALUES ('w', 'W', '', '');
             INSERT INTO characters (id, world_id, name, created_at) VALUES (1, 'w', 'Ann', '');
             INSERT INTO character_items (id, character_id, world_id, item_key, acquired_at)
                 VALUES (7, 1, 'w', 'penny', '');",
        );
        let tam = Holder::Npc("z:tam".into());
        let moved = move_item(&mut conn, "w", 7, &Holder::Character(1), &tam).expect("give");
        assert_eq!(moved.as_deref(), Some("penny"));
        let again = move_item(&mut conn, "w", 7, &Holder::Character(1), &tam).expect("again");
        assert_eq!(again, None, "the item is no longer in Ann's hands");
        assert_eq!(count(&conn, "SELECT count(*) FROM character_items"), 0);
        assert_eq!(
            count(&conn, "SELECT count(*) FROM npc_items WHERE id = 7"),
            1
        );
        let room = Holder::Room("z:square".into());
        assert!(
            move_item(&mut conn, "w", 7, &tam, &room)
                .expect("drop")
                .is_some()
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM npc_items"), 0);
        assert_eq!(
            count(&conn, "SELECT count(*) FROM room_items WHERE id = 7"),
            1
        );
    }
}
