//! The `worlds` catalogue and the first placement of a world's items.
//!
//! World files describe where items lie when a world is new. The first time a world
//! is registered its placements are copied into `room_items`; from then on the
//! database is the truth about where every item instance is.

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
    /// Returns, per world id, how many item instances were placed for the first
    /// time.
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
                placed.push((world.id.clone(), register_world(tx, world)?));
            }
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

/// Records (or refreshes) a world in the catalogue inside the caller's
/// transaction, seeding its items the first time. Returns how many item
/// instances were placed.
fn register_world(tx: &Connection, world: &World) -> StoreResult<usize> {
    {
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
        let seeded: Option<String> = tx.query_row(
            "SELECT items_seeded_at FROM worlds WHERE id = ?1",
            [&world.id],
            |r| r.get(0),
        )?;
        if seeded.is_some() {
            return Ok(0);
        }
        let mut placed = 0;
        for zone in &world.zones {
            for room_id in &zone.rooms {
                let Some(room) = world.room(room_id) else {
                    continue;
                };
                for item_key in &room.items {
                    tx.execute(
                        "INSERT INTO room_items (world_id, room, item_key, placed_at) \
                         VALUES (?1, ?2, ?3, ?4)",
                        params![world.id, room.id.as_str(), item_key.as_ref(), now],
                    )?;
                    placed += 1;
                }
            }
        }
        tx.execute(
            "UPDATE worlds SET items_seeded_at = ?2 WHERE id = ?1",
            params![world.id, now],
        )?;
        Ok(placed)
    }
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
