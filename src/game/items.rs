//! Item instances: those lying in rooms, cached in memory for `look`, and the
//! game's actions that move one (picking up, putting down, handing over,
//! putting into a container and taking out of one).
//!
//! The database (`room_items`, `character_items`) is the truth: each move is
//! one conditional transaction in `store::items` that first checks the
//! instance is still where the caller believes. This cache is filled from the
//! database at start and changed only after such a transaction committed;
//! clients' structured view follows then too.

use std::sync::Arc;

use dashmap::DashMap;

use super::Game;
use super::data::{Data, ItemRef, Place};
use super::registry::{Player, RoomKey};
use crate::store::StoreResult;
use crate::store::items::{Container, ContainerAt};

pub use crate::store::items::Stowed;

/// The most things one container holds.
pub const CONTAINER_ROOM: usize = 50;

/// Where a container the player works with is: in its hands or lying in its
/// room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    Carried,
    Here,
}

/// One item instance: its database id and its world item key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInstance {
    pub id: i64,
    pub key: Arc<str>,
}

/// What lies in each room.
#[derive(Default)]
pub struct RoomItems {
    rooms: DashMap<RoomKey, Vec<ItemInstance>>,
}

impl RoomItems {
    pub fn new() -> RoomItems {
        RoomItems::default()
    }

    /// The items in a room, oldest first.
    pub fn in_room(&self, room: &RoomKey) -> Vec<ItemInstance> {
        self.rooms
            .get(room)
            .map(|items| items.value().clone())
            .unwrap_or_default()
    }

    /// Adds an item instance to a room.
    pub fn put(&self, room: &RoomKey, item: ItemInstance) {
        self.rooms.entry(room.clone()).or_default().push(item);
    }

    /// Removes an item instance from a room; false if it was not there.
    pub fn remove(&self, room: &RoomKey, id: i64) -> bool {
        let Some(mut items) = self.rooms.get_mut(room) else {
            return false;
        };
        let before = items.len();
        items.retain(|item| item.id != id);
        before != items.len()
    }

    /// Forgets every room of a world (before reloading it from the database).
    pub fn clear_world(&self, world: &str) {
        self.rooms.retain(|key, _| key.world.as_ref() != world);
    }
}

impl Game {
    /// The item instances lying in a room, oldest first (from the cache).
    pub fn items_here(&self, room: &RoomKey) -> Vec<ItemInstance> {
        self.items().in_room(room)
    }

    /// What a character carries, oldest first (read from the database, the
    /// only record of it).
    pub async fn carried(&self, player: &Player) -> StoreResult<Vec<ItemInstance>> {
        let rows = self.store().items().carried(player.character_id).await?;
        Ok(rows
            .into_iter()
            .map(|row| ItemInstance {
                id: row.id,
                key: Arc::from(row.item_key),
            })
            .collect())
    }

    /// Picks up one of `candidates` (instances of one kind lying in the
    /// player's room), the first still there: another player may have been
    /// quicker with some. `None` when every one was gone.
    pub async fn pick_up(
        &self,
        player: &Player,
        candidates: Vec<ItemInstance>,
    ) -> StoreResult<Option<ItemInstance>> {
        let here = player.room_key();
        for instance in candidates {
            let taken = self
                .store()
                .items()
                .take(
                    instance.id,
                    &here.world,
                    here.room.as_str(),
                    player.character_id,
                )
                .await?;
            if taken {
                self.items().remove(&here, instance.id);
                let thing = self.item_ref(&player.world, &instance);
                self.room_item_changed(&here, thing.clone(), false, &[]);
                player.give(Data::ItemAdd {
                    place: Place::Inventory,
                    item: thing,
                });
                return Ok(Some(instance));
            }
        }
        Ok(None)
    }

    /// Puts down an instance the player carries, in its room; false if the
    /// player no longer carries it.
    pub async fn put_down(&self, player: &Player, instance: ItemInstance) -> StoreResult<bool> {
        let here = player.room_key();
        let dropped = self
            .store()
            .items()
            .put_down(
                instance.id,
                player.character_id,
                &here.world,
                here.room.as_str(),
            )
            .await?;
        if dropped {
            let thing = self.item_ref(&player.world, &instance);
            self.items().put(&here, instance);
            player.give(Data::ItemRemove {
                place: Place::Inventory,
                item: thing.clone(),
            });
            self.room_item_changed(&here, thing, true, &[]);
        }
        Ok(dropped)
    }

    /// Hands an instance `from` carries to `to`; false if `from` no longer
    /// carries it.
    pub async fn hand_over(
        &self,
        from: &Player,
        to: &Player,
        instance: &ItemInstance,
    ) -> StoreResult<bool> {
        let given = self
            .store()
            .items()
            .give(instance.id, from.character_id, to.character_id)
            .await?;
        if given {
            let thing = self.item_ref(&from.world, instance);
            from.give(Data::ItemRemove {
                place: Place::Inventory,
                item: thing.clone(),
            });
            to.give(Data::ItemAdd {
                place: Place::Inventory,
                item: thing,
            });
        }
        Ok(given)
    }

    /// What a container instance holds, oldest first (read from the
    /// database, the only record of it).
    pub async fn contents(&self, container: &ItemInstance) -> StoreResult<Vec<ItemInstance>> {
        let rows = self.store().items().contents(container.id).await?;
        Ok(rows
            .into_iter()
            .map(|row| ItemInstance {
                id: row.id,
                key: Arc::from(row.item_key),
            })
            .collect())
    }

    /// Puts an instance the player carries into a container it carries or
    /// that lies in its room: one store transaction that checks both are
    /// still there and the container has room.
    pub async fn put_in(
        &self,
        player: &Player,
        instance: &ItemInstance,
        container: &ItemInstance,
        holding: Holding,
    ) -> StoreResult<Stowed> {
        let stowed = self
            .store()
            .items()
            .put_in(
                instance.id,
                player.character_id,
                self.container(player, container, holding),
                CONTAINER_ROOM,
            )
            .await?;
        if stowed == Stowed::Done {
            player.give(Data::ItemRemove {
                place: Place::Inventory,
                item: self.item_ref(&player.world, instance),
            });
        }
        Ok(stowed)
    }

    /// Takes one of `candidates` (instances of one kind inside `container`)
    /// into the player's hands, the first still there. `None` when every one
    /// was gone, or the container itself.
    pub async fn take_out(
        &self,
        player: &Player,
        candidates: Vec<ItemInstance>,
        container: &ItemInstance,
        holding: Holding,
    ) -> StoreResult<Option<ItemInstance>> {
        for instance in candidates {
            let at = self.container(player, container, holding);
            let taken = self
                .store()
                .items()
                .take_out(instance.id, at, player.character_id)
                .await?;
            if taken {
                player.give(Data::ItemAdd {
                    place: Place::Inventory,
                    item: self.item_ref(&player.world, &instance),
                });
                return Ok(Some(instance));
            }
        }
        Ok(None)
    }

    /// A container as the store checks it: its id, where the player finds it.
    fn container(&self, player: &Player, container: &ItemInstance, holding: Holding) -> Container {
        let at = match holding {
            Holding::Carried => ContainerAt::Carried {
                character_id: player.character_id,
            },
            Holding::Here => ContainerAt::Room {
                room: player.room().as_str().to_string(),
            },
        };
        Container {
            id: container.id,
            world_id: player.world.to_string(),
            at,
        }
    }

    /// One instance as clients list it, named by its world's item.
    fn item_ref(&self, world: &str, instance: &ItemInstance) -> ItemRef {
        match self.world(world) {
            Some(world) => super::feed::item_ref(&world, instance),
            None => ItemRef {
                id: instance.id,
                name: "something".to_string(),
            },
        }
    }
}
