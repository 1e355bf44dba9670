//! Item instances lying in rooms, cached in memory for `look`.
//!
//! The database (`room_items`) is the truth; this cache is filled from it at start
//! and updated only after a database change that moved an item has committed.

use std::sync::Arc;

use dashmap::DashMap;

use super::registry::RoomKey;

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
