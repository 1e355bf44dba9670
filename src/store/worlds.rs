//! The `worlds` catalogue and the placement of the items world files place.
//!
//! World files describe where items lie when a world is new: a room's `items`
//! lists the items placed there. Each placement is put into `room_items` once,
//! the first time a registration sees it, and recorded in `item_placements`;
//! from then on the database is the truth about where every item instance is.
//! So an item listed once more in a file appears at the next `/reload`, and
//! nothing a player carries or moved is put back.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use super::accounts::{Actor, ChangeRefused, acting_account, refusable};
use super::audit::{self, AuditEntry};
use super::{Store, StoreResult, now_iso};
use crate::world::{Access, World};

/// The typed front for the world catalogue (see [`Store::worlds`]).
pub struct WorldRows<'s> {
    store: &'s Store,
}

impl<'s> WorldRows<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        WorldRows { store }
    }

    /// Registers every world in one transaction (the one way worlds are
    /// registered: at start, by `create-superuser`, and by `/reload`, whose
    /// `audit` — the actor checked fresh — goes in the same transaction).
    /// Returns, per world id, how many item instances were placed (each
    /// placement of a world file only the first time it is seen).
    pub async fn register_all(
        &self,
        worlds: Vec<Arc<World>>,
        audit: Option<(Actor, AuditEntry)>,
    ) -> Result<Vec<(String, usize)>, ChangeRefused> {
        refusable(self.store, move |tx| {
            if let Some((actor, entry)) = audit {
                let acting = acting_account(tx, actor)?;
                let entry = AuditEntry {
                    actor_user_id: acting.map(|a| a.id),
                    ..entry
                };
                audit::record(tx, &entry)?;
            }
            let mut placed = Vec::new();
            for world in &worlds {
                placed.push((world.id.clone(), register_world(tx, world)?.len()));
            }
            // A deleted character's containers took nothing of theirs along.
            super::items::drop_orphaned_contents(tx)?;
            Ok(placed)
        })
        .await
    }

    /// Whether an account has been granted a world, or already has a character
    /// in it (either opens an invite-only world to a player).
    pub async fn has_access(&self, user_id: i64, world_id: &str) -> StoreResult<bool> {
        let world_id = world_id.to_string();
        self.store
            .call(move |db| has_world_access(db, user_id, &world_id))
            .await
    }
}

/// An item instance a registration placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedItem {
    pub id: i64,
    /// `zone:room`.
    pub room: String,
    pub item_key: String,
}

/// Records (or refreshes) a world in the catalogue inside the caller's
/// transaction and places the items its files place that were never placed.
/// Returns the item instances placed.
pub(super) fn register_world(tx: &Connection, world: &World) -> StoreResult<Vec<PlacedItem>> {
    let now = now_iso();
    let access = match world.access {
        Access::Open => "open",
        Access::Invite => "invite",
    };
    tx.execute(
        "INSERT INTO worlds (id, name, description, access, is_active, inactive_reason, \
         registered_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
         description = excluded.description, access = excluded.access, \
         is_active = excluded.is_active, inactive_reason = excluded.inactive_reason, \
         updated_at = excluded.updated_at",
        params![
            world.id,
            world.name,
            world.description,
            access,
            world.active,
            world.inactive_reason,
            now
        ],
    )?;
    place_items(tx, world, &now)
}

/// One placement of a world file: the `ordinal`-th listing (from 0) of
/// `item_key` in the `items` of `room`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Placement {
    room: String,
    item_key: String,
    ordinal: i64,
}

/// Every placement the world's files make, in file order.
fn placements(world: &World) -> Vec<Placement> {
    let mut all = Vec::new();
    for room_id in world.zones.iter().flat_map(|zone| zone.rooms.iter()) {
        let Some(room) = world.room(room_id) else {
            continue;
        };
        let mut seen: HashMap<&str, i64> = HashMap::new();
        for key in &room.items {
            let ordinal = seen.entry(key).or_default();
            all.push(Placement {
                room: room.id.as_str().to_string(),
                item_key: key.to_string(),
                ordinal: *ordinal,
            });
            *ordinal += 1;
        }
    }
    all
}

/// Puts one instance into `room_items` for each placement never placed
/// before, and records it, so that no placement is ever placed twice: the
/// files say what a world holds when new, and from then on the database says
/// where each thing is. Listing an item once more in a room places one more;
/// taking a listing away takes nothing out of the world. A world placed before
/// placements were recorded one by one (schema version 6) got every placement
/// its files had then; the files as they are now are taken for those.
fn place_items(tx: &Connection, world: &World, now: &str) -> StoreResult<Vec<PlacedItem>> {
    let placed_before: Option<String> = tx.query_row(
        "SELECT items_seeded_at FROM worlds WHERE id = ?1",
        [&world.id],
        |r| r.get(0),
    )?;
    let recorded: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM placements_recorded WHERE world_id = ?1)",
        [&world.id],
        |r| r.get(0),
    )?;
    let only_record = placed_before.is_some() && !recorded;
    let known = recorded_placements(tx, &world.id)?;
    let mut placed = Vec::new();
    for placement in placements(world) {
        if known.contains(&placement) {
            continue;
        }
        if !only_record {
            tx.execute(
                "INSERT INTO room_items (world_id, room, item_key, placed_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![world.id, placement.room, placement.item_key, now],
            )?;
            placed.push(PlacedItem {
                id: tx.last_insert_rowid(),
                room: placement.room.clone(),
                item_key: placement.item_key.clone(),
            });
        }
        tx.execute(
            "INSERT INTO item_placements (world_id, room, item_key, ordinal, placed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                world.id,
                placement.room,
                placement.item_key,
                placement.ordinal,
                now
            ],
        )?;
    }
    tx.execute(
        "INSERT OR IGNORE INTO placements_recorded (world_id, since) VALUES (?1, ?2)",
        params![world.id, now],
    )?;
    tx.execute(
        "UPDATE worlds SET items_seeded_at = coalesce(items_seeded_at, ?2) WHERE id = ?1",
        params![world.id, now],
    )?;
    Ok(placed)
}

/// The placements of a world already placed.
fn recorded_placements(tx: &Connection, world_id: &str) -> StoreResult<HashSet<Placement>> {
    let mut stmt =
        tx.prepare("SELECT room, item_key, ordinal FROM item_placements WHERE world_id = ?1")?;
    let rows = stmt.query_map([world_id], |r| {
        Ok(Placement {
            room: r.get(0)?,
            item_key: r.get(1)?,
            ordinal: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether an account has been granted a world, or already has a character in it
/// (either opens an invite-only world to a player).
fn has_world_access(conn: &Connection, user_id: i64, world_id: &str) -> StoreResult<bool> {
    let granted: Option<bool> = conn
        .query_row(
            "SELECT can_access FROM world_permissions WHERE user_id = ?1 AND world_id = ?2",
            params![user_id, world_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(granted) = granted {
        return Ok(granted);
    }
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM characters WHERE user_id = ?1 AND world_id = ?2)",
        params![user_id, world_id],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;
    use std::path::Path;

    /// World `w` whose room `z:a` lists `items` (ids of the zone's items).
    fn world_placing(root: &Path, items: &[&str]) -> World {
        let dir = root.join("w");
        std::fs::create_dir_all(dir.join("zones")).expect("mkdir");
        let world = r#"{"name": "W", "description": "", "default_spawn": {"zone": "z", "room": "a"}, "zones": ["z"]}"#;
        std::fs::write(dir.join("world.json"), world).expect("world.json");
        let zone = serde_json::json!({
            "id": "z", "name": "Z", "description": "", "spawn_room": "a",
            "rooms": {"a": {"name": "A", "description": "", "items": items}},
            "items": {"lamp": {"name": "a lamp", "description": ""},
                      "rope": {"name": "a rope", "description": ""}}
        });
        std::fs::write(dir.join("zones/z.json"), zone.to_string()).expect("zone");
        let loaded = crate::world::load(root, None).expect("the world loads");
        (*loaded.default).clone()
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).expect("count")
    }

    #[test]
    fn each_placement_is_placed_once() {
        let root = tempfile::tempdir().expect("a temp dir");
        let (_dir, conn) = schema::test_db("");
        let lamps = "SELECT count(*) FROM room_items WHERE room = 'z:a' AND item_key = 'z:lamp'";
        assert_eq!(
            register_world(&conn, &world_placing(root.path(), &["lamp"]))
                .expect("first")
                .len(),
            1
        );
        assert_eq!(
            register_world(&conn, &world_placing(root.path(), &["lamp"]))
                .expect("again")
                .len(),
            0
        );
        let two = world_placing(root.path(), &["lamp", "rope", "lamp"]);
        assert_eq!(
            register_world(&conn, &two).expect("more").len(),
            2,
            "one more lamp, a rope"
        );
        assert_eq!(count(&conn, lamps), 2);
        assert_eq!(
            register_world(&conn, &world_placing(root.path(), &[]))
                .expect("none")
                .len(),
            0
        );
        assert_eq!(
            count(&conn, lamps),
            2,
            "taking a listing away takes nothing away"
        );
        assert_eq!(
            register_world(&conn, &two).expect("back").len(),
            0,
            "placed before"
        );
    }

    #[test]
    fn a_world_placed_before_placements_were_recorded_is_not_placed_again() {
        let root = tempfile::tempdir().expect("a temp dir");
        // As version 4 left it: the world placed once, its lamp picked up since.
        let (_dir, conn) = schema::test_db(
            "INSERT INTO worlds (id, name, items_seeded_at, registered_at, updated_at) \
             VALUES ('w', 'W', 'then', '', '');",
        );
        let world = world_placing(root.path(), &["lamp"]);
        assert_eq!(register_world(&conn, &world).expect("registered").len(), 0);
        assert_eq!(count(&conn, "SELECT count(*) FROM room_items"), 0);
        assert_eq!(count(&conn, "SELECT count(*) FROM item_placements"), 1);
        let more = world_placing(root.path(), &["lamp", "rope"]);
        assert_eq!(
            register_world(&conn, &more).expect("registered").len(),
            1,
            "the rope is new"
        );
    }

    #[test]
    fn a_world_placed_before_with_nothing_to_place_places_what_is_added_later() {
        let root = tempfile::tempdir().expect("a temp dir");
        let (_dir, conn) = schema::test_db(
            "INSERT INTO worlds (id, name, items_seeded_at, registered_at, updated_at) \
             VALUES ('w', 'W', 'then', '', '');",
        );
        assert_eq!(
            register_world(&conn, &world_placing(root.path(), &[]))
                .expect("empty")
                .len(),
            0
        );
        let lamp = world_placing(root.path(), &["lamp"]);
        assert_eq!(register_world(&conn, &lamp).expect("a lamp").len(), 1);
    }

    #[test]
    fn a_version_5_database_gets_the_placement_tables_and_keeps_its_items() {
        let root = tempfile::tempdir().expect("a temp dir");
        // A file of the frozen version 5 schema (no placement tables), a world
        // placed, its lamp lying in its room.
        let (_dir, mut conn) = schema::version_5_db(
            "INSERT INTO worlds (id, name, items_seeded_at, registered_at, updated_at) \
                 VALUES ('w', 'W', 'then', '', ''); \
             INSERT INTO room_items (world_id, room, item_key, placed_at) \
                 VALUES ('w', 'z:a', 'z:lamp', 'then');",
        );
        schema::migrate(&mut conn).expect("migrated");
        assert_eq!(
            schema::user_version(&conn).expect("version"),
            schema::SCHEMA_VERSION
        );
        let world = world_placing(root.path(), &["lamp"]);
        assert_eq!(register_world(&conn, &world).expect("registered").len(), 0);
        assert_eq!(count(&conn, "SELECT count(*) FROM room_items"), 1);
    }
}
