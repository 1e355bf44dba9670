//! Keeping clients' structured view of the game current (see [`super::data`]):
//! which room a character stands in, who is there, what lies there and what
//! it carries. Each function sends only to clients that take structured data.
//!
//! **Invariant:** these functions never wait on anyone; the one that reads
//! the inventory waits only for the store.

use std::sync::Arc;

use super::data::{Data, ItemRef, Place, RoomInfo};
use super::registry::{Player, RoomKey};
use super::{Game, ItemInstance};
use crate::world::World;

impl Game {
    /// Tells the player's client the room it stands in: the room itself, who
    /// else is here and what lies here.
    pub fn send_room_data(&self, player: &Player) {
        if !player.session.profile().structured() {
            return;
        }
        let Some(world) = self.world(&player.world) else {
            return;
        };
        let room = player.room();
        if let Some(info) = RoomInfo::of(&world, &room) {
            player.give(Data::RoomInfo(Arc::new(info)));
        }
        let key = RoomKey::new(&player.world, &room);
        let others = self
            .registry()
            .occupants(&key)
            .iter()
            .filter(|p| p.conn_id != player.conn_id)
            .map(|p| p.name.clone())
            .collect();
        player.give(Data::RoomPlayers(others));
        let items = item_refs(&world, &self.items().in_room(&key));
        player.give(Data::Items {
            place: Place::Room,
            items,
        });
    }

    /// A character arrived in its room (from `left`, if it came from one):
    /// the room it left loses it, the new one gains it, and its own client
    /// gets the new room.
    pub fn moved_in(&self, player: &Player, left: Option<&RoomKey>) {
        if let Some(left) = left {
            self.left_room(left, &player.name);
        }
        self.registry().data_to_room(
            &player.room_key(),
            Data::RoomAddPlayer(player.name.clone()),
            &[player.conn_id],
        );
        self.send_room_data(player);
    }

    /// A character is gone from `room` (walked out, or left the game).
    pub fn left_room(&self, room: &RoomKey, name: &Arc<str>) {
        self.registry()
            .data_to_room(room, Data::RoomRemovePlayer(name.clone()), &[]);
    }

    /// Tells the player's client what the character carries.
    pub fn send_inventory_data(&self, player: &Player, carried: &[ItemInstance]) {
        if !player.session.profile().structured() {
            return;
        }
        let Some(world) = self.world(&player.world) else {
            return;
        };
        player.give(Data::Items {
            place: Place::Inventory,
            items: item_refs(&world, carried),
        });
    }

    /// One item instance appeared (`added`) or vanished in a room, for every
    /// client there but `except`'s.
    pub fn room_item_changed(
        &self,
        room: &RoomKey,
        item: ItemRef,
        added: bool,
        except: &[super::ConnId],
    ) {
        let place = Place::Room;
        let data = if added {
            Data::ItemAdd { place, item }
        } else {
            Data::ItemRemove { place, item }
        };
        self.registry().data_to_room(room, data, except);
    }
}

/// The instances as clients list them, with their items' names.
pub fn item_refs(world: &World, instances: &[ItemInstance]) -> Vec<ItemRef> {
    instances
        .iter()
        .map(|instance| item_ref(world, instance))
        .collect()
}

/// One instance as clients list it.
pub fn item_ref(world: &World, instance: &ItemInstance) -> ItemRef {
    ItemRef {
        id: instance.id,
        name: world
            .item(&instance.key)
            .map_or_else(|| "something".to_string(), |item| item.name.clone()),
    }
}
