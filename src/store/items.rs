//! Moving item instances between rooms, characters and containers, and
//! reading what a character carries and what a container holds.
//!
//! An instance keeps its id for life and sits in exactly one of `room_items`,
//! `character_items` and `container_items` at any moment (the contents of a
//! container name it, so they go wherever it goes). Every move here is one `BEGIN IMMEDIATE`
//! transaction that first checks the instance is still where the caller believes
//! it is. SQLite runs such transactions one at a time, so when two players grab
//! the same thing the second transaction finds the row gone and changes nothing:
//! the item can never be in two places, nor vanish.
//!
//! A move answers `Ok(false)` when the instance was not where the caller said;
//! nothing was written then.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Store, StoreResult, now_iso, write_tx};

/// The typed front for item instances (see [`Store::items`]).
pub struct Items<'s> {
    store: &'s Store,
}

impl<'s> Items<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Items { store }
    }

    /// What a character carries, in the order it came by the things.
    pub async fn carried(&self, character_id: i64) -> StoreResult<Vec<CarriedItem>> {
        self.store
            .call(move |db| carried_items(db, character_id))
            .await
    }

    /// Every item instance lying in the rooms of a world.
    pub async fn in_world(&self, world_id: &str) -> StoreResult<Vec<RoomItem>> {
        let world_id = world_id.to_string();
        self.store.call(move |db| room_items(db, &world_id)).await
    }

    /// Moves an instance lying in `room` of `world_id` into a character's hands;
    /// false (nothing written) when it no longer lies there.
    pub async fn take(
        &self,
        item_id: i64,
        world_id: &str,
        room: &str,
        character_id: i64,
    ) -> StoreResult<bool> {
        let (world_id, room) = (world_id.to_string(), room.to_string());
        self.store
            .call(move |db| take_from_room(db, item_id, &world_id, &room, character_id))
            .await
    }

    /// Puts an instance a character carries down in `room`; false when the
    /// character no longer carries it.
    pub async fn put_down(
        &self,
        item_id: i64,
        character_id: i64,
        world_id: &str,
        room: &str,
    ) -> StoreResult<bool> {
        let (world_id, room) = (world_id.to_string(), room.to_string());
        self.store
            .call(move |db| drop_in_room(db, item_id, character_id, &world_id, &room))
            .await
    }

    /// What a container instance holds, in the order it was put there.
    pub async fn contents(&self, container_id: i64) -> StoreResult<Vec<CarriedItem>> {
        self.store
            .call(move |db| contents_of(db, container_id))
            .await
    }

    /// Puts an instance a character carries into a container that is where
    /// the caller believes, if it holds fewer than `room` things; what came
    /// of it, nothing written unless [`Stowed::Done`].
    pub async fn put_in(
        &self,
        item_id: i64,
        character_id: i64,
        container: Container,
        room: usize,
    ) -> StoreResult<Stowed> {
        self.store
            .call(move |db| put_in_container(db, item_id, character_id, &container, room))
            .await
    }

    /// Takes an instance out of a container into a character's hands; false
    /// (nothing written) when either is no longer where the caller believes.
    pub async fn take_out(
        &self,
        item_id: i64,
        container: Container,
        character_id: i64,
    ) -> StoreResult<bool> {
        self.store
            .call(move |db| take_from_container(db, item_id, &container, character_id))
            .await
    }

    /// Hands an instance from one character to another; false when `from` no
    /// longer carries it.
    pub async fn give(&self, item_id: i64, from: i64, to: i64) -> StoreResult<bool> {
        self.store
            .call(move |db| give_item(db, item_id, from, to))
            .await
    }
}

/// One item instance lying in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomItem {
    pub id: i64,
    pub room: String,
    pub item_key: String,
}

fn room_items(conn: &Connection, world_id: &str) -> StoreResult<Vec<RoomItem>> {
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

/// One item instance a character carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedItem {
    pub id: i64,
    pub item_key: String,
}

/// What a character carries, in the order it came by the things.
fn carried_items(conn: &Connection, character_id: i64) -> StoreResult<Vec<CarriedItem>> {
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
fn take_from_room(
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
fn drop_in_room(
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
fn give_item(conn: &mut Connection, item_id: i64, from: i64, to: i64) -> StoreResult<bool> {
    write_tx(conn, |tx| {
        let changed = tx.execute(
            "UPDATE character_items SET character_id = ?3, acquired_at = ?4 \
             WHERE id = ?1 AND character_id = ?2",
            params![item_id, from, to, now_iso()],
        )?;
        Ok(changed == 1)
    })
}

/// A container instance and where the caller believes it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: i64,
    pub world_id: String,
    pub at: ContainerAt,
}

/// Where a container is: in a character's hands, or lying in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerAt {
    Carried { character_id: i64 },
    Room { room: String },
}

/// What came of putting something in a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stowed {
    Done,
    /// The character no longer carries the thing, or the container is no
    /// longer where it was believed to be.
    Moved,
    /// The container holds as much as it may.
    Full,
}

fn contents_of(conn: &Connection, container_id: i64) -> StoreResult<Vec<CarriedItem>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, item_key FROM container_items WHERE container_id = ?1 ORDER BY put_at, id",
    )?;
    let rows = stmt.query_map([container_id], |row| {
        Ok(CarriedItem {
            id: row.get(0)?,
            item_key: row.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether the container is still where the caller believes it is.
fn container_is_there(tx: &Transaction<'_>, container: &Container) -> StoreResult<bool> {
    Ok(match &container.at {
        ContainerAt::Carried { character_id } => {
            carried_key(tx, container.id, *character_id)?.is_some()
        }
        ContainerAt::Room { room } => tx
            .query_row(
                "SELECT 1 FROM room_items WHERE id = ?1 AND world_id = ?2 AND room = ?3",
                params![container.id, container.world_id, room],
                |_| Ok(()),
            )
            .optional()?
            .is_some(),
    })
}

fn put_in_container(
    conn: &mut Connection,
    item_id: i64,
    character_id: i64,
    container: &Container,
    room: usize,
) -> StoreResult<Stowed> {
    write_tx(conn, |tx| {
        if item_id == container.id || !container_is_there(tx, container)? {
            return Ok(Stowed::Moved);
        }
        let Some(key) = carried_key(tx, item_id, character_id)? else {
            return Ok(Stowed::Moved);
        };
        let held: i64 = tx.query_row(
            "SELECT count(*) FROM container_items WHERE container_id = ?1",
            [container.id],
            |r| r.get(0),
        )?;
        if usize::try_from(held).unwrap_or(usize::MAX) >= room {
            return Ok(Stowed::Full);
        }
        tx.execute("DELETE FROM character_items WHERE id = ?1", [item_id])?;
        tx.execute(
            "INSERT INTO container_items (id, container_id, world_id, item_key, put_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![item_id, container.id, container.world_id, key, now_iso()],
        )?;
        Ok(Stowed::Done)
    })
}

fn take_from_container(
    conn: &mut Connection,
    item_id: i64,
    container: &Container,
    character_id: i64,
) -> StoreResult<bool> {
    write_tx(conn, |tx| {
        if !container_is_there(tx, container)? {
            return Ok(false);
        }
        let key: Option<String> = tx
            .query_row(
                "SELECT item_key FROM container_items WHERE id = ?1 AND container_id = ?2",
                params![item_id, container.id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(key) = key else {
            return Ok(false);
        };
        tx.execute("DELETE FROM container_items WHERE id = ?1", [item_id])?;
        tx.execute(
            "INSERT INTO character_items (id, character_id, world_id, item_key, acquired_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![item_id, character_id, container.world_id, key, now_iso()],
        )?;
        Ok(true)
    })
}

/// Takes away the contents of containers that are gone (a kind a build
/// removed, a character deleted with what it carried), so that nothing
/// waits inside a container nobody can reach.
pub(super) fn drop_orphaned_contents(tx: &Connection) -> StoreResult<usize> {
    Ok(tx.execute(
        "DELETE FROM container_items WHERE container_id NOT IN (SELECT id FROM room_items) \
         AND container_id NOT IN (SELECT id FROM character_items)",
        [],
    )?)
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

    /// Issue 16: whatever moves are tried, with right or wrong beliefs about
    /// where an item is, one after another or from several callers at once,
    /// every item is in exactly one place, keeps its id and its kind, and a
    /// move happens exactly when the item was where its caller believed.
    mod properties {
        use std::collections::BTreeMap;
        use std::sync::Arc;

        use proptest::collection::vec;
        use proptest::prelude::*;

        use crate::store::{Store, StoreResult, test_store};

        const ITEMS: i64 = 4;
        const ROOMS: [&str; 3] = ["z:a", "z:b", "z:c"];
        /// Characters 1 to 3.
        const CHARACTERS: i64 = 3;

        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Place {
            Room(usize),
            Held(i64),
        }

        /// A move as a caller tries it, believing the item is where it says.
        #[derive(Debug, Clone, Copy)]
        enum Move {
            Take { item: i64, room: usize, by: i64 },
            PutDown { item: i64, by: i64, room: usize },
            Give { item: i64, from: i64, to: i64 },
        }

        impl Move {
            /// Where the caller believes the item is, and where it goes.
            fn path(self) -> (Place, Place) {
                match self {
                    Move::Take { room, by, .. } => (Place::Room(room), Place::Held(by)),
                    Move::PutDown { by, room, .. } => (Place::Held(by), Place::Room(room)),
                    Move::Give { from, to, .. } => (Place::Held(from), Place::Held(to)),
                }
            }

            fn item(self) -> i64 {
                match self {
                    Move::Take { item, .. }
                    | Move::PutDown { item, .. }
                    | Move::Give { item, .. } => item,
                }
            }

            async fn apply(self, store: &Store) -> StoreResult<bool> {
                let items = store.items();
                match self {
                    Move::Take { item, room, by } => items.take(item, "w", ROOMS[room], by).await,
                    Move::PutDown { item, by, room } => {
                        items.put_down(item, by, "w", ROOMS[room]).await
                    }
                    Move::Give { item, from, to } => items.give(item, from, to).await,
                }
            }
        }

        fn a_move() -> impl Strategy<Value = Move> {
            let item = 1..=ITEMS;
            let room = 0..ROOMS.len();
            let character = 1..=CHARACTERS;
            prop_oneof![
                (item.clone(), room.clone(), character.clone())
                    .prop_map(|(item, room, by)| Move::Take { item, room, by }),
                (item.clone(), character.clone(), room)
                    .prop_map(|(item, by, room)| Move::PutDown { item, by, room }),
                (item, character.clone(), character).prop_map(|(item, from, to)| Move::Give {
                    item,
                    from,
                    to
                }),
            ]
        }

        /// Items 1 to 4 (kinds `k1` ...) lying in the rooms in turn, and the
        /// characters who may carry them.
        async fn seeded() -> (tempfile::TempDir, Store) {
            let (dir, store, _) = test_store("ann").await;
            store
                .call(|db| {
                    for c in 1..=CHARACTERS {
                        db.execute(
                            "INSERT INTO characters (id, world_id, name, created_at) \
                             VALUES (?1, 'w', ?2, '')",
                            rusqlite::params![c, format!("C{c}")],
                        )?;
                    }
                    for item in 1..=ITEMS {
                        let room = ROOMS[(item as usize - 1) % ROOMS.len()];
                        db.execute(
                            "INSERT INTO room_items (id, world_id, room, item_key, placed_at) \
                             VALUES (?1, 'w', ?2, ?3, '')",
                            rusqlite::params![item, room, format!("k{item}")],
                        )?;
                    }
                    Ok(())
                })
                .await
                .expect("seed");
            (dir, store)
        }

        /// Every row holding an item: its id, its kind and where it is.
        async fn rows(store: &Store) -> Vec<(i64, String, Place)> {
            store
                .call(|db| {
                    let mut rows = Vec::new();
                    let mut rooms =
                        db.prepare("SELECT id, item_key, world_id, room FROM room_items")?;
                    for row in rooms.query_map([], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    })? {
                        let (id, key, world, room) = row?;
                        assert_eq!(world, "w");
                        let at = ROOMS.iter().position(|r| *r == room).expect("a known room");
                        rows.push((id, key, Place::Room(at)));
                    }
                    let mut held =
                        db.prepare("SELECT id, item_key, character_id FROM character_items")?;
                    for row in held.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
                        let (id, key, by) = row?;
                        rows.push((id, key, Place::Held(by)));
                    }
                    rows.sort_by_key(|(id, _, _)| *id);
                    Ok(rows)
                })
                .await
                .expect("read the items")
        }

        /// Each item once, with its own kind: where each one is.
        fn one_place_each(rows: &[(i64, String, Place)]) -> BTreeMap<i64, Place> {
            let ids: Vec<i64> = rows.iter().map(|(id, _, _)| *id).collect();
            assert_eq!(
                ids,
                (1..=ITEMS).collect::<Vec<_>>(),
                "each item in exactly one place: {rows:?}"
            );
            for (id, key, _) in rows {
                assert_eq!(*key, format!("k{id}"), "item {id} changed its kind");
            }
            rows.iter().map(|(id, _, place)| (*id, *place)).collect()
        }

        fn runtime() -> tokio::runtime::Runtime {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .expect("runtime")
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

            #[test]
            fn an_item_moves_exactly_when_it_is_where_its_mover_believes(moves in vec(a_move(), 1..40)) {
                runtime().block_on(async {
                    let (_dir, store) = seeded().await;
                    let mut model = one_place_each(&rows(&store).await);
                    for m in moves {
                        let (from, to) = m.path();
                        let moved = m.apply(&store).await.expect("a move");
                        let believed = model[&m.item()] == from;
                        assert_eq!(moved, believed, "{m:?} with the items at {model:?}");
                        if moved {
                            model.insert(m.item(), to);
                        }
                        assert_eq!(one_place_each(&rows(&store).await), model, "after {m:?}");
                    }
                });
            }

            #[test]
            fn an_item_stays_in_exactly_one_place_whatever_movers_race(
                lanes in vec(vec(a_move(), 1..25), 2..5),
            ) {
                runtime().block_on(async {
                    let (_dir, store) = seeded().await;
                    let start = Arc::new(tokio::sync::Barrier::new(lanes.len()));
                    let mut racing = Vec::new();
                    for lane in lanes {
                        let (store, start) = (store.clone(), start.clone());
                        racing.push(tokio::spawn(async move {
                            start.wait().await;
                            for m in lane {
                                m.apply(&store).await.expect("a move");
                            }
                        }));
                    }
                    for lane in racing {
                        lane.await.expect("a lane of moves");
                    }
                    one_place_each(&rows(&store).await);
                });
            }
        }
    }

    /// Where an instance is, as the model of the randomised test keeps it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Place {
        Room(String),
        Hands(i64),
        Inside(i64),
    }

    /// Every instance's place as the database has it; an instance in two
    /// places (or none) fails the test.
    fn places(conn: &Connection, ids: &[i64]) -> Vec<Place> {
        let column = |sql: &str, id: i64| -> Vec<rusqlite::types::Value> {
            conn.prepare(sql)
                .and_then(|mut s| s.query_map([id], |r| r.get(0))?.collect())
                .expect("a place")
        };
        let text = |value: rusqlite::types::Value| match value {
            rusqlite::types::Value::Text(text) => text,
            other => format!("{other:?}"),
        };
        let number = |value: rusqlite::types::Value| match value {
            rusqlite::types::Value::Integer(n) => n,
            _ => -1,
        };
        ids.iter()
            .map(|&id| {
                let sql = "SELECT room FROM room_items WHERE id = ?1";
                let mut found: Vec<Place> = column(sql, id)
                    .into_iter()
                    .map(|room| Place::Room(text(room)))
                    .collect();
                let sql = "SELECT character_id FROM character_items WHERE id = ?1";
                found.extend(column(sql, id).into_iter().map(|c| Place::Hands(number(c))));
                let sql = "SELECT container_id FROM container_items WHERE id = ?1";
                found.extend(
                    column(sql, id)
                        .into_iter()
                        .map(|c| Place::Inside(number(c))),
                );
                assert_eq!(found.len(), 1, "instance {id} is in {found:?}");
                found.remove(0)
            })
            .collect()
    }

    /// A belief about where a container is, drawn at random, and whether the
    /// model says it is right.
    fn believed(rng: &mut crate::test_rng::Rng, who: i64, bag: &Place) -> (ContainerAt, bool) {
        if rng.below(2) == 0 {
            (
                ContainerAt::Carried { character_id: who },
                *bag == Place::Hands(who),
            )
        } else {
            let room = ["z:a", "z:b"][rng.below(2)].to_string();
            let right = *bag == Place::Room(room.clone());
            (ContainerAt::Room { room }, right)
        }
    }

    /// Issue 19: random moves — take, drop, give, put into a container, take
    /// out — each made on a belief that may be stale, against a model of
    /// where everything is. A move goes through exactly when the model says
    /// the thing (and the container) is where the mover believes, and after
    /// every move each instance is in one place, the model's.
    #[test]
    fn random_moves_on_stale_beliefs_keep_every_item_in_one_place() {
        let (_dir, mut conn) = schema::test_db(
            "INSERT INTO worlds (id, name, registered_at, updated_at) VALUES ('w', 'W', '', '');
             INSERT INTO characters (id, world_id, name, created_at) VALUES (1, 'w', 'Ann', '');
             INSERT INTO characters (id, world_id, name, created_at) VALUES (2, 'w', 'Ben', '');
             INSERT INTO room_items (id, world_id, room, item_key, placed_at) VALUES
                 (1, 'w', 'z:a', 'chest', ''), (2, 'w', 'z:a', 'key', ''),
                 (3, 'w', 'z:b', 'penny', ''), (4, 'w', 'z:b', 'bag', '');",
        );
        let ids = [1, 2, 3, 4];
        let mut model = places(&conn, &ids);
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        for step in 0..3000 {
            let who = 1 + rng.below(2) as i64;
            let slot = rng.below(ids.len());
            let (item, now) = (ids[slot], model[slot].clone());
            let room = ["z:a", "z:b"][rng.below(2)].to_string();
            let bag = [1, 4][rng.below(2)];
            let (at, bag_there) = believed(&mut rng, who, &model[bag as usize - 1]);
            let container = Container {
                id: bag,
                world_id: "w".into(),
                at,
            };
            let (done, expected, to) = match rng.below(5) {
                0 => (
                    take_from_room(&mut conn, item, "w", &room, who).expect("take"),
                    now == Place::Room(room.clone()),
                    Place::Hands(who),
                ),
                1 => (
                    drop_in_room(&mut conn, item, who, "w", &room).expect("drop"),
                    now == Place::Hands(who),
                    Place::Room(room),
                ),
                2 => (
                    give_item(&mut conn, item, who, 3 - who).expect("give"),
                    now == Place::Hands(who),
                    Place::Hands(3 - who),
                ),
                3 => (
                    put_in_container(&mut conn, item, who, &container, 50).expect("put")
                        == Stowed::Done,
                    bag_there && item != bag && now == Place::Hands(who),
                    Place::Inside(bag),
                ),
                _ => (
                    take_from_container(&mut conn, item, &container, who).expect("take out"),
                    bag_there && now == Place::Inside(bag),
                    Place::Hands(who),
                ),
            };
            assert_eq!(done, expected, "step {step}: a move of {item} by {who}");
            if done {
                model[slot] = to;
            }
            assert_eq!(places(&conn, &ids), model, "step {step}");
        }
    }
}
