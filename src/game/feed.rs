//! Keeping clients' structured view of the game current (see [`super::data`]):
//! who the character is, which room it stands in, who is there, what lies
//! there and what it carries. Each function sends only to clients that take
//! structured data. [`ClientFeed`] is the first observer of every move.
//!
//! **Invariant:** these functions never wait on anyone.

use std::sync::Arc;

use super::data::{Data, ItemRef, Place, Present, RoomInfo};
use super::moves::{How, Move, RoomObserver};
use super::registry::{Player, RoomKey};
use super::{Game, ItemInstance};
use crate::world::World;

/// Keeps clients' structured view current as people move: the room left
/// loses the mover, the room reached gains it, and the mover's client gets
/// its new room (and, on entering the game, who it is).
pub struct ClientFeed;

impl RoomObserver for ClientFeed {
    fn moved(&self, game: &Game, moved: &Move) {
        let name = moved.who.name();
        if let Some(from) = moved.from_key() {
            game.left_room(&from, name);
        }
        let Some(to) = moved.to_key() else {
            return;
        };
        if moved.how != How::TookOver {
            let npc = matches!(moved.who, super::moves::Mover::Npc(_));
            let added = Data::RoomAddPlayer(Present {
                name: name.clone(),
                npc,
            });
            game.registry().data_to_room(&to, added, moved.who.except());
        }
        let Some(player) = moved.who.player() else {
            return;
        };
        if matches!(moved.how, How::Entered | How::TookOver) {
            game.send_character(player);
        }
        game.send_room_data(player);
    }
}

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
            .map(|p| Present {
                name: p.name.clone(),
                npc: false,
            })
            .chain(self.npcs_in(&key).iter().map(|npc| Present {
                name: npc.name.clone(),
                npc: true,
            }))
            .collect();
        player.give(Data::RoomPlayers(others));
        let items = item_refs(&world, &self.items().in_room(&key));
        player.give(Data::Items {
            place: Place::Room,
            items,
        });
    }

    /// Tells the player's client who the character is: its name, account,
    /// world and role.
    fn send_character(&self, player: &Player) {
        if !player.session.profile().structured() {
            return;
        }
        player.give(Data::CharName {
            name: player.name.clone(),
        });
        player.give(Data::CharStatus {
            account: player.session.account.clone(),
            world: player.world.clone(),
            role: player.role(),
        });
    }

    /// A character is gone from `room` (walked out, or left the game).
    fn left_room(&self, room: &RoomKey, name: &Arc<str>) {
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
