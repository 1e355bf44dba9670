//! The state of doors in play: closed or open, locked or not, one row per
//! door that ever changed (a door without one is as its world file starts
//! it), and the one transaction that changes a door.
//!
//! A change reads the door's row fresh, asks the caller's decision (the
//! game's rules, given whether the character carries the door's key, also
//! read in the transaction), and writes what the decision allows, all in one
//! `BEGIN IMMEDIATE`: two players working one door at once are decided one
//! after the other, each on the state the other left. Every change counts up
//! the row's `version`, so a cache of the rows can take the changes in order.
//! What the states mean is the game's business; this file only keeps them.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Store, StoreResult, now_iso, write_tx};

/// Whether a door is closed and locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoorState {
    pub closed: bool,
    pub locked: bool,
}

/// One door's stored state, with the count of its changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorRow {
    pub door: String,
    pub state: DoorState,
    pub version: i64,
}

/// A character changing a door, and the door's key, for the key check (a
/// script changes doors as the world, with no holder and no key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub character_id: i64,
    /// The world key of the door's key item.
    pub key: String,
}

/// The typed front for doors (see [`Store::doors`]).
pub struct Doors<'s> {
    store: &'s Store,
}

impl<'s> Doors<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Doors { store }
    }

    /// Every stored door state of a world.
    pub async fn in_world(&self, world_id: &str) -> StoreResult<Vec<DoorRow>> {
        let world_id = world_id.to_string();
        self.store.call(move |db| door_rows(db, &world_id)).await
    }

    /// Changes a door in one transaction: its state read fresh (`start`
    /// when it has no row), whether `holder` carries the key, then
    /// `decide`'s new state written, or nothing at all when it refuses.
    pub async fn change<R, F>(
        &self,
        world_id: &str,
        door: &str,
        start: DoorState,
        holder: Option<Holder>,
        decide: F,
    ) -> StoreResult<Result<DoorRow, R>>
    where
        R: Send + 'static,
        F: FnOnce(DoorState, bool) -> Result<DoorState, R> + Send + 'static,
    {
        let (world_id, door) = (world_id.to_string(), door.to_string());
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    change_door(tx, &world_id, &door, start, holder.as_ref(), decide)
                })
            })
            .await
    }

    /// Forgets a door's state, so it starts again as its file says (a door
    /// a builder took away or declared anew).
    pub async fn forget(&self, world_id: &str, door: &str) -> StoreResult<()> {
        let (world_id, door) = (world_id.to_string(), door.to_string());
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    tx.execute(
                        "DELETE FROM door_states WHERE world_id = ?1 AND door = ?2",
                        params![world_id, door],
                    )?;
                    Ok(())
                })
            })
            .await
    }
}

fn door_rows(conn: &Connection, world_id: &str) -> StoreResult<Vec<DoorRow>> {
    let mut stmt = conn.prepare(
        "SELECT door, closed, locked, version FROM door_states WHERE world_id = ?1 ORDER BY door",
    )?;
    let rows = stmt.query_map([world_id], |row| {
        Ok(DoorRow {
            door: row.get(0)?,
            state: DoorState {
                closed: row.get(1)?,
                locked: row.get(2)?,
            },
            version: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn change_door<R>(
    tx: &Transaction<'_>,
    world_id: &str,
    door: &str,
    start: DoorState,
    holder: Option<&Holder>,
    decide: impl FnOnce(DoorState, bool) -> Result<DoorState, R>,
) -> StoreResult<Result<DoorRow, R>> {
    let stored: Option<(bool, bool, i64)> = tx
        .query_row(
            "SELECT closed, locked, version FROM door_states WHERE world_id = ?1 AND door = ?2",
            params![world_id, door],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (state, version) = match stored {
        Some((closed, locked, version)) => (DoorState { closed, locked }, version),
        None => (start, 0),
    };
    let has_key = match holder {
        Some(holder) => tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM character_items WHERE character_id = ?1 AND item_key = ?2)",
            params![holder.character_id, holder.key],
            |r| r.get(0),
        )?,
        None => false,
    };
    let new = match decide(state, has_key) {
        Ok(new) => new,
        Err(refused) => return Ok(Err(refused)),
    };
    let version = version + 1;
    tx.execute(
        "INSERT INTO door_states (world_id, door, closed, locked, version, changed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (world_id, door) DO UPDATE SET closed = ?3, locked = ?4, version = ?5, \
         changed_at = ?6",
        params![world_id, door, new.closed, new.locked, version, now_iso()],
    )?;
    Ok(Ok(DoorRow {
        door: door.to_string(),
        state: new,
        version,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    const SHUT: DoorState = DoorState {
        closed: true,
        locked: false,
    };

    /// Opens a door that is closed; refuses one that is open already.
    fn open(state: DoorState, _: bool) -> Result<DoorState, &'static str> {
        if state.closed {
            Ok(DoorState {
                closed: false,
                ..state
            })
        } else {
            Err("already open")
        }
    }

    #[test]
    fn a_change_is_decided_on_the_stored_state_and_counted() {
        let (_dir, mut conn) = schema::test_db(schema::ONE_WORLD);
        let first = write_tx(&mut conn, |tx| {
            change_door(tx, "w", "z:a/east", SHUT, None, open)
        });
        let first = first.expect("change").expect("opened");
        assert_eq!((first.state.closed, first.version), (false, 1));
        let second = write_tx(&mut conn, |tx| {
            change_door(tx, "w", "z:a/east", SHUT, None, open)
        });
        assert_eq!(second.expect("change"), Err("already open"));
        let rows = door_rows(&conn, "w").expect("rows");
        assert_eq!(rows, [first]);
    }

    #[test]
    fn the_key_is_looked_for_in_the_characters_hands() {
        let (_dir, mut conn) = schema::test_db(
            "INSERT INTO worlds (id, name, registered_at, updated_at) VALUES ('w', 'W', '', '');
             INSERT INTO characters (id, world_id, name, created_at) VALUES (1, 'w', 'Ann', '');
             INSERT INTO character_items (id, character_id, world_id, item_key, acquired_at)
                 VALUES (5, 1, 'w', 'z:key', '');",
        );
        let saw = |holder: Holder, conn: &mut Connection| {
            write_tx(conn, |tx| {
                change_door(tx, "w", "d", SHUT, Some(&holder), |_, has| {
                    Err::<DoorState, bool>(has)
                })
            })
            .expect("change")
        };
        let ann = |key: &str| Holder {
            character_id: 1,
            key: key.into(),
        };
        assert_eq!(saw(ann("z:key"), &mut conn), Err(true));
        assert_eq!(saw(ann("z:other"), &mut conn), Err(false));
        assert!(
            door_rows(&conn, "w").expect("rows").is_empty(),
            "a refusal writes nothing"
        );
    }
}
