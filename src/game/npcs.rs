//! The world's NPCs in play: where each stands (kept in the database, so
//! they keep their places across a restart and a `/reload`), moving one
//! through an exit (`Game::move_npc`, emitting the same [`Move`] as a
//! player's, so rooms hear it through the same narrator and clients see it
//! through the same feed), wandering on a timer inside its zone, and what
//! NPCs carry. NPCs are not accounts, characters or sessions: nothing here
//! touches the registry's players, so `who`, `/sessions` and MSSP never count
//! them.
//!
//! **Invariant:** an NPC's room changes only under its `moving` lock, in
//! `move_npc` (or when its world is swapped in, `place_npcs`).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use super::Game;
use super::moves::{How, Move, MoveRefused, Mover};
use super::registry::RoomKey;
use crate::store::life::Holder;
use crate::world::{Npc, RoomId, World};

/// One NPC in play.
#[derive(Debug)]
pub struct LiveNpc {
    /// `zone:npc`, unique in its world.
    pub key: Arc<str>,
    pub world: Arc<str>,
    pub name: Arc<str>,
    room: Mutex<RoomId>,
    /// Held while it moves, so its moves are told in order.
    moving: Mutex<()>,
    /// When it next wanders, if it does.
    next_wander: Mutex<Option<Instant>>,
}

impl LiveNpc {
    /// The room it stands in now.
    pub fn room(&self) -> RoomId {
        self.room.lock().clone()
    }

    /// Its room within its world.
    pub fn room_key(&self) -> RoomKey {
        RoomKey::new(&self.world, &self.room())
    }
}

/// One world's NPCs in play, as a snapshot swapped whole.
type WorldNpcs = Arc<[Arc<LiveNpc>]>;

/// Every world's NPCs in play, by world id.
#[derive(Default)]
pub struct Npcs {
    by_world: RwLock<HashMap<Arc<str>, WorldNpcs>>,
}

impl Npcs {
    fn of(&self, world: &str) -> Arc<[Arc<LiveNpc>]> {
        self.by_world
            .read()
            .get(world)
            .cloned()
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }
}

/// How often the wander pass looks for NPCs whose time has come.
const WANDER_TICK: Duration = Duration::from_millis(500);

impl Game {
    /// The NPCs of a world in play, in the world file's order.
    pub fn npcs_of(&self, world: &str) -> Arc<[Arc<LiveNpc>]> {
        self.npcs.of(world)
    }

    /// The NPCs standing in a room, in the world file's order.
    pub fn npcs_in(&self, room: &RoomKey) -> Vec<Arc<LiveNpc>> {
        self.npcs
            .of(&room.world)
            .iter()
            .filter(|npc| *npc.room.lock() == room.room)
            .cloned()
            .collect()
    }

    /// One NPC in play by key.
    pub fn npc(&self, world: &str, key: &str) -> Option<Arc<LiveNpc>> {
        self.npcs
            .of(world)
            .iter()
            .find(|npc| &*npc.key == key)
            .cloned()
    }

    /// Puts a world's NPCs in their places: where the database last saw each,
    /// when that room is still in its zone, else where its file puts it. An
    /// NPC already in play (a `/reload`) keeps the room it stands in when
    /// that room still exists. Called at start and after every swap of the
    /// worlds.
    pub async fn place_npcs(&self, world: &World) {
        let saved: HashMap<String, String> = match self.store().life().places(&world.id).await {
            Ok(places) => places.into_iter().map(|p| (p.npc_key, p.room)).collect(),
            Err(err) => {
                tracing::warn!(%err, world = %world.id, "NPC places not read; they start where their files put them");
                HashMap::new()
            }
        };
        let world_id: Arc<str> = Arc::from(world.id.as_str());
        let before = self.npcs.of(&world.id);
        let live: Vec<Arc<LiveNpc>> = world
            .npcs
            .iter()
            .map(|npc| {
                let now = before.iter().find(|l| l.key == npc.key).map(|l| l.room());
                let saved = saved.get(&*npc.key).and_then(|r| RoomId::parse_full(r));
                let room = [now, saved]
                    .into_iter()
                    .flatten()
                    .find(|room| room.zone() == npc.room.zone() && world.room(room).is_some())
                    .unwrap_or_else(|| npc.room.clone());
                Arc::new(LiveNpc {
                    key: npc.key.clone(),
                    world: world_id.clone(),
                    name: Arc::from(npc.name.as_str()),
                    room: Mutex::new(room),
                    moving: Mutex::new(()),
                    next_wander: Mutex::new(npc.wander.map(|every| Instant::now() + every)),
                })
            })
            .collect();
        self.npcs.by_world.write().insert(world_id, Arc::from(live));
    }

    /// Moves an NPC through an exit of the room it stands in (named as
    /// players type it, any case): refused when there is no such exit, or
    /// when `in_zone` and the exit leaves its zone. The room hears it as it
    /// hears a player walk; the new place is saved behind the move.
    pub fn move_npc(
        &self,
        npc: &Arc<LiveNpc>,
        exit: &str,
        in_zone: bool,
    ) -> Result<RoomId, MoveRefused> {
        let moved = {
            let _one_at_a_time = npc.moving.lock();
            let world = self.world(&npc.world).ok_or(MoveRefused::NoSuchRoom)?;
            let here = npc.room();
            let wanted = exit.trim().to_lowercase();
            let wanted = crate::game::data::direction_named(&wanted).unwrap_or(&wanted);
            let way = world.room(&here).and_then(|room| {
                room.exits.iter().find(|e| {
                    e.key == wanted || crate::game::data::direction_named(&e.key) == Some(wanted)
                })
            });
            let way = way.filter(|e| world.room(&e.to).is_some());
            let way = way.filter(|e| !in_zone || e.to.zone() == here.zone());
            let Some(way) = way.cloned() else {
                return Err(MoveRefused::NoSuchRoom);
            };
            *npc.room.lock() = way.to.clone();
            self.emit(&Move {
                who: Mover::Npc(npc.clone()),
                from: Some(here),
                to: Some(way.to.clone()),
                how: How::Walked { exit: way.name },
            });
            way.to
        };
        self.save_npc_place(npc, &moved);
        Ok(moved)
    }

    /// Saves an NPC's place behind its move, on the game's tracker.
    fn save_npc_place(&self, npc: &LiveNpc, room: &RoomId) {
        let store = self.store().clone();
        let (world, key, room) = (npc.world.clone(), npc.key.clone(), room.to_string());
        self.tasks().spawn(async move {
            if let Err(err) = store.life().save_place(&world, &key, &room).await {
                tracing::warn!(%err, npc = %key, "NPC place not saved");
            }
        });
    }

    /// Starts the wander pass on the game's tracker: every NPC with a
    /// `wander` walks, when its time comes, through a random exit that stays
    /// in its zone. Ends at shutdown.
    pub fn start_wandering(self: &Arc<Self>) {
        let game = self.clone();
        self.tasks().spawn(async move {
            let mut tick = tokio::time::interval(WANDER_TICK);
            loop {
                tokio::select! {
                    _ = game.shutdown_token().cancelled() => return,
                    _ = tick.tick() => game.wander_once(Instant::now()),
                }
            }
        });
    }

    /// One wander pass: each NPC whose time has come takes a step.
    fn wander_once(&self, now: Instant) {
        for world in self.worlds().iter() {
            for npc in self.npcs.of(&world.id).iter() {
                let Some(every) = world.npc(&npc.key).and_then(|n| n.wander) else {
                    continue;
                };
                let due = {
                    let mut next = npc.next_wander.lock();
                    let due = next.is_some_and(|at| at <= now);
                    if due || next.is_none() {
                        *next = Some(now + every);
                    }
                    due
                };
                if due && let Some(exit) = wander_exit(world, npc) {
                    let _ = self.move_npc(npc, &exit, true);
                }
            }
        }
    }

    /// What the NPCs of a world carry, by NPC key.
    pub async fn npc_items(&self, world: &str) -> HashMap<String, Vec<(i64, String)>> {
        let mut held: HashMap<String, Vec<(i64, String)>> = HashMap::new();
        match self.store().life().npc_items(world).await {
            Ok(items) => {
                for item in items {
                    held.entry(item.npc_key)
                        .or_default()
                        .push((item.id, item.item_key));
                }
            }
            Err(err) => tracing::warn!(%err, "NPC items not read"),
        }
        held
    }

    /// Moves an item instance between holders of one world in one checked
    /// store transaction, then brings the room cache along; `Ok(None)` when
    /// the instance was not where `from` says.
    pub async fn move_item_between(
        &self,
        world: &Arc<str>,
        item_id: i64,
        from: Holder,
        to: Holder,
    ) -> crate::store::StoreResult<Option<String>> {
        let moved = self
            .store()
            .life()
            .move_item(world, item_id, from.clone(), to.clone())
            .await?;
        let Some(key) = moved else {
            return Ok(None);
        };
        let instance = super::ItemInstance {
            id: item_id,
            key: Arc::from(key.as_str()),
        };
        if let Holder::Room(room) = &from
            && let Some(room) = RoomId::parse_full(room)
        {
            let room = RoomKey::new(world, &room);
            self.items().remove(&room, item_id);
            self.item_left_room(&room, &instance);
        }
        if let Holder::Room(room) = &to
            && let Some(room) = RoomId::parse_full(room)
        {
            let room = RoomKey::new(world, &room);
            self.items().put(&room, instance.clone());
            self.item_came_to_room(&room, &instance);
        }
        Ok(Some(key))
    }

    /// Makes a new instance of an item kind lying in a room; its id.
    pub async fn spawn_item(
        &self,
        room: &RoomKey,
        item_key: &str,
    ) -> crate::store::StoreResult<i64> {
        let id = self
            .store()
            .life()
            .spawn(&room.world, room.room.as_str(), item_key)
            .await?;
        let instance = super::ItemInstance {
            id,
            key: Arc::from(item_key),
        };
        self.items().put(room, instance.clone());
        self.item_came_to_room(room, &instance);
        Ok(id)
    }

    fn item_left_room(&self, room: &RoomKey, instance: &super::ItemInstance) {
        if let Some(world) = self.world(&room.world) {
            let item = super::feed::item_ref(&world, instance);
            self.room_item_changed(room, item, false, &[]);
        }
    }

    fn item_came_to_room(&self, room: &RoomKey, instance: &super::ItemInstance) {
        if let Some(world) = self.world(&room.world) {
            let item = super::feed::item_ref(&world, instance);
            self.room_item_changed(room, item, true, &[]);
        }
    }
}

/// A random exit of the NPC's room that leads to a room of its own zone.
fn wander_exit(world: &World, npc: &LiveNpc) -> Option<String> {
    let here = npc.room();
    let exits: Vec<&str> = world
        .room(&here)?
        .exits
        .iter()
        .filter(|e| e.to.zone() == here.zone() && world.room(&e.to).is_some())
        .map(|e| e.key.as_str())
        .collect();
    if exits.is_empty() {
        return None;
    }
    // A fresh RandomState is seeded from the operating system: a fair
    // enough draw for a stroll, with no generator to keep.
    let draw = RandomState::new().hash_one(npc.key.as_ref()) as usize;
    Some(exits[draw % exits.len()].to_string())
}

/// The file's NPC for one in play.
pub fn npc_of<'w>(world: &'w World, npc: &LiveNpc) -> Option<&'w Npc> {
    world.npc(&npc.key)
}
