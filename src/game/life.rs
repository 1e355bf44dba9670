//! The game's side of scripts (SPEC §14): each world's scripts started on a
//! thread of their own (`crate::script`), the events the game sends them
//! (someone enters, leaves, says, gets, drops, gives, types a script's verb),
//! and the calls they send back, carried out here through the game's own
//! actions — an NPC moves by `move_npc`, an item by the store's checked
//! moves, talk through the room fan-out — each checked on fresh state as a
//! player's action is. A failing script is told to the log and to the
//! world's builders online.
//!
//! **Invariant:** nothing here waits on a script: events are queued, and the
//! calls are carried out on a task of each world's own.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::Game;
use super::data::{Channel, Talk};
use super::doors::{DoorActor, DoorChange};
use super::moves::{How, Move, Mover, RoomObserver};
use super::npcs::LiveNpc;
use super::registry::{Player, RoomKey};
use crate::auth::Role;
use crate::replies;
use crate::script::{Actor, Call, Event, Hook, Limits, Out, Owner, Status, WorldScripts};
use crate::store::life::Holder;
use crate::text::sanitize;
use crate::world::{RoomId, World};

/// The scripts of every world in play.
#[derive(Default)]
pub struct Life {
    worlds: RwLock<HashMap<Arc<str>, Arc<WorldScripts>>>,
}

/// The most instances of one item kind a script may have lying in a room.
const MAX_SPAWNED_HERE: usize = 20;

impl Game {
    /// Brings every world to life: its NPCs in their places and its scripts
    /// started (at start, and again after every `/reload`, which replaces the
    /// old scripts: their threads end when dropped).
    pub async fn start_life(self: &Arc<Self>) {
        for world in self.worlds().iter() {
            self.place_npcs(world).await;
            if self.config().scripts {
                self.start_scripts(world).await;
            }
        }
    }

    async fn start_scripts(self: &Arc<Self>, world: &Arc<World>) {
        let state = match self.store().life().script_state(&world.id).await {
            Ok(state) => state,
            Err(err) => {
                tracing::warn!(%err, world = %world.id, "script state not read");
                Vec::new()
            }
        };
        let (out, calls) = tokio::sync::mpsc::unbounded_channel();
        match WorldScripts::start(world, state, Limits::default(), out) {
            Ok(scripts) => {
                let id: Arc<str> = Arc::from(world.id.as_str());
                self.life
                    .worlds
                    .write()
                    .insert(id.clone(), Arc::new(scripts));
                let game = self.clone();
                self.tasks()
                    .spawn(async move { game.carry_out(id, calls).await });
            }
            Err(err) => tracing::error!(%err, world = %world.id, "scripts not started"),
        }
    }

    /// What `/script` shows of the script attached to `owner`.
    pub fn script_status(&self, world: &str, owner: &Owner) -> Option<Status> {
        self.scripts_of(world)?.status(owner)
    }

    /// Every script with a handler paused in `wait()`, by world: what an
    /// upgrade drops (SPEC §15), as `(world, owner, handlers)`.
    pub fn paused_scripts(&self) -> Vec<(String, String, usize)> {
        let worlds: Vec<_> = self
            .life
            .worlds
            .read()
            .iter()
            .map(|(id, scripts)| (id.clone(), scripts.clone()))
            .collect();
        let mut paused = Vec::new();
        for (world, scripts) in worlds {
            for (owner, handlers) in scripts.paused() {
                paused.push((world.to_string(), owner.to_string(), handlers));
            }
        }
        paused.sort();
        paused
    }

    /// In a new image: tells the builders of the handlers the upgrade
    /// dropped from `wait()`, one line a script.
    pub fn tell_dropped_waits(&self, dropped: &[(String, String, usize)]) {
        for (world, owner, handlers) in dropped {
            tracing::warn!(
                world = %world,
                owner = %owner,
                handlers,
                "an upgrade dropped a script's paused handlers"
            );
            self.tell_builders(world, &replies::script_waits_dropped(owner, *handlers));
        }
    }

    fn scripts_of(&self, world: &str) -> Option<Arc<WorldScripts>> {
        self.life.worlds.read().get(world).cloned()
    }

    /// Queues an event for a world's scripts; never waits.
    fn script_event(&self, world: &str, event: Event) {
        if let Some(scripts) = self.scripts_of(world) {
            scripts.send(event);
        }
    }

    /// The scripts that hear what happens in a room: the room's own and
    /// those of the NPCs standing there.
    fn listeners(&self, world: &World, room: &RoomKey) -> Vec<Owner> {
        let mut owners = Vec::new();
        if world.room(&room.room).is_some_and(|r| r.script.is_some()) {
            owners.push(Owner::Room(room.room.clone()));
        }
        for npc in self.npcs_in(room) {
            if world.npc(&npc.key).is_some_and(|n| n.script.is_some()) {
                owners.push(Owner::Npc(npc.key.clone()));
            }
        }
        owners
    }

    /// Tells the room's scripts that a player said something there.
    pub fn heard_in_room(&self, player: &Player, text: &str) {
        let Some(world) = self.world(&player.world) else {
            return;
        };
        let room = player.room_key();
        for owner in self.listeners(&world, &room) {
            self.script_event(
                &world.id,
                Event {
                    owner,
                    hook: Hook::Say,
                    actor: Some(actor_of(player)),
                    words: vec![text.to_string()],
                    place: Some(room.room.clone()),
                },
            );
        }
    }

    /// Tells the scripts that a player got or dropped an item here: the
    /// item kind's own, the room's and its NPCs'.
    pub fn item_moved_by(&self, player: &Player, item_key: &str, got: bool) {
        let Some(world) = self.world(&player.world) else {
            return;
        };
        let room = player.room_key();
        let mut owners = self.listeners(&world, &room);
        if world.item(item_key).is_some_and(|i| i.script.is_some()) {
            owners.push(Owner::Item(Arc::from(item_key)));
        }
        let id = world.item(item_key).map_or(item_key, |i| i.id.as_str());
        for owner in owners {
            self.script_event(
                &world.id,
                Event {
                    owner,
                    hook: if got { Hook::Get } else { Hook::Drop },
                    actor: Some(actor_of(player)),
                    words: vec![id.to_string()],
                    place: Some(room.room.clone()),
                },
            );
        }
    }

    /// A player hands an item to an NPC standing here: the NPC keeps it
    /// (one checked store move, as between characters) and its script hears
    /// `on_give`. `Ok(false)` when the player no longer carries it.
    pub async fn give_to_npc(
        &self,
        player: &Player,
        npc: &LiveNpc,
        item_id: i64,
    ) -> crate::store::StoreResult<bool> {
        let from = Holder::Character(player.character_id);
        let to = Holder::Npc(npc.key.to_string());
        let Some(key) = self
            .move_item_between(&player.world, item_id, from, to)
            .await?
        else {
            return Ok(false);
        };
        if let Some(world) = self.world(&player.world)
            && world.npc(&npc.key).is_some_and(|n| n.script.is_some())
        {
            let id = world.item(&key).map_or(key.clone(), |i| i.id.clone());
            self.script_event(
                &world.id,
                Event {
                    owner: Owner::Npc(npc.key.clone()),
                    hook: Hook::Give,
                    actor: Some(actor_of(player)),
                    words: vec![id],
                    place: Some(npc.room()),
                },
            );
        }
        Ok(true)
    }

    /// A line that names a verb of the room, an NPC here, or an item here or
    /// carried (`pull lever`, `ask tam about the bell`): the script is told
    /// `on_command(actor, verb, rest)`, and the verb is returned. `None` when
    /// no script here claims the line.
    pub fn script_verb(
        &self,
        player: &Player,
        line: &str,
        carried: &[super::ItemInstance],
    ) -> Option<String> {
        let world = self.world(&player.world)?;
        let room = player.room_key();
        let typed = line.trim().to_lowercase();
        let fits = |verbs: &[String]| {
            verbs
                .iter()
                .filter(|verb| typed == **verb || typed.starts_with(&format!("{verb} ")))
                .max_by_key(|verb| verb.len())
                .cloned()
        };
        let mut claims: Vec<(Owner, String)> = Vec::new();
        if let Some(here) = world.room(&room.room)
            && let Some(verb) = fits(&here.commands)
        {
            claims.push((Owner::Room(room.room.clone()), verb));
        }
        for npc in self.npcs_in(&room) {
            if let Some(verb) = world.npc(&npc.key).and_then(|n| fits(&n.commands)) {
                claims.push((Owner::Npc(npc.key.clone()), verb));
            }
        }
        let items = self
            .items_here(&room)
            .into_iter()
            .chain(carried.iter().cloned());
        for instance in items {
            if let Some(verb) = world.item(&instance.key).and_then(|i| fits(&i.commands)) {
                let owner = Owner::Item(instance.key.clone());
                if !claims.iter().any(|(o, _)| *o == owner) {
                    claims.push((owner, verb));
                }
            }
        }
        // A script that is off claims nothing: the player hears `Huh?`.
        claims.retain(|(owner, _)| {
            self.script_status(&world.id, owner)
                .is_some_and(|status| status.on)
        });
        // The longest verb is the one meant: `pull lever` before `pull`.
        let (owner, verb) = claims.into_iter().max_by_key(|(_, verb)| verb.len())?;
        let rest = typed[verb.len()..].trim().to_string();
        self.script_event(
            &world.id,
            Event {
                owner,
                hook: Hook::Command,
                actor: Some(actor_of(player)),
                words: vec![verb.clone(), rest],
                place: Some(room.room.clone()),
            },
        );
        Some(verb)
    }

    /// Carries out what one world's scripts ask, in order, until they stop.
    async fn carry_out(
        self: Arc<Self>,
        world: Arc<str>,
        mut calls: tokio::sync::mpsc::UnboundedReceiver<Out>,
    ) {
        loop {
            let out = tokio::select! {
                // At shutdown the scripts are let go: their threads end.
                _ = self.shutdown_token().cancelled() => {
                    self.life.worlds.write().clear();
                    return;
                }
                out = calls.recv() => out,
            };
            // `None`: the world's scripts were replaced (a `/reload`).
            let Some(out) = out else { return };
            match out {
                Out::Act { owner, place, call } => self.act(&world, &owner, place, call).await,
                Out::Failed {
                    owner,
                    message,
                    switched_off,
                } => self.script_failed(&world, &owner, &message, switched_off),
            }
        }
    }

    /// Where a script's owner is: an NPC's room now, a room itself, an
    /// item where its event happened.
    fn owner_room(
        &self,
        world: &Arc<str>,
        owner: &Owner,
        place: Option<RoomId>,
    ) -> Option<RoomKey> {
        let room = match owner {
            Owner::Npc(key) => Some(self.npc(world, key)?.room()),
            Owner::Room(room) => Some(room.clone()),
            Owner::Item(_) => place,
        }?;
        Some(RoomKey::new(world, &room))
    }

    async fn act(&self, world: &Arc<str>, owner: &Owner, place: Option<RoomId>, call: Call) {
        let npc = match owner {
            Owner::Npc(key) => self.npc(world, key),
            _ => None,
        };
        let room = self.owner_room(world, owner, place);
        match call {
            Call::Say(text) | Call::Emote(text) if room.is_none() => {
                tracing::debug!(%owner, "a script spoke from nowhere: {text}");
            }
            Call::Say(text) => self.script_says(room.as_ref(), npc.as_deref(), &text, false),
            Call::Emote(text) => self.script_says(room.as_ref(), npc.as_deref(), &text, true),
            Call::Tell { to, text } => self.script_tells(world, npc.as_deref(), &to, &text),
            Call::Move(exit) => {
                if let Some(npc) = npc
                    && self.move_npc(&npc, &exit, false).is_err()
                {
                    tracing::info!(%owner, exit, "a script's NPC found no such exit");
                }
            }
            Call::Give { to, item } => {
                if let (Some(npc), Some(room)) = (npc, room) {
                    self.npc_gives(&npc, &room, &to, &item).await;
                }
            }
            Call::Take { from, item } => {
                if let (Some(npc), Some(room)) = (npc, room) {
                    self.npc_takes(&npc, &room, &from, &item).await;
                }
            }
            Call::Spawn(item) => {
                if let Some(room) = room {
                    self.script_spawns(&room, &item).await;
                }
            }
            Call::Door { exit, open } => {
                if let Some(room) = room {
                    let name = npc.as_ref().map(|npc| npc.name.clone());
                    self.script_door(&room, &exit, open, name).await;
                }
            }
            Call::SetState { key, value } => {
                let owner = owner.to_string();
                if let Err(err) = self
                    .store()
                    .life()
                    .set_state(world, &owner, &key, value)
                    .await
                {
                    tracing::warn!(%err, owner, "script state not saved");
                }
            }
        }
    }

    /// An NPC's line through the room's fan-out as a player's is; a room's
    /// or an item's as a plain line.
    fn script_says(&self, room: Option<&RoomKey>, npc: Option<&LiveNpc>, text: &str, emote: bool) {
        let (Some(room), text) = (room, sanitize(text)) else {
            return;
        };
        match npc {
            Some(npc) => {
                let (channel, line) = if emote {
                    (Channel::Emote, replies::npc_emotes(&npc.name, &text))
                } else {
                    (Channel::Say, replies::npc_says(&npc.name, &text))
                };
                self.talk_to_room(room, &Talk::new(channel, &npc.name, line), &[]);
            }
            None => self.tell_room(room, &text, &[]),
        }
    }

    fn script_tells(&self, world: &Arc<str>, npc: Option<&LiveNpc>, to: &str, text: &str) {
        let text = sanitize(text);
        let Some(player) = self.player_named(world, to) else {
            return;
        };
        match npc {
            Some(npc) => {
                let line = replies::npc_tells(&npc.name, &text);
                player.hear(&Talk::new(Channel::Tell, &npc.name, line));
            }
            None => {
                player.tell(text);
            }
        }
    }

    /// A player of the world by name, any case.
    fn player_named(&self, world: &str, name: &str) -> Option<Arc<Player>> {
        let name = name.trim().to_lowercase();
        self.players_in(world)
            .into_iter()
            .find(|p| p.name.to_lowercase() == name)
    }

    /// An NPC hands one of the items of a kind it carries to a player in
    /// its room.
    async fn npc_gives(&self, npc: &LiveNpc, room: &RoomKey, to: &str, item: &str) {
        let Some(world) = self.world(&npc.world) else {
            return;
        };
        let Some(player) = self
            .player_named(&npc.world, to)
            .filter(|p| p.room() == room.room)
        else {
            return;
        };
        let held = self.npc_items(&npc.world).await;
        let kind = |key: &str| same_kind(&world, room, key, item);
        let Some((id, key)) = held
            .get(&*npc.key)
            .and_then(|items| items.iter().find(|(_, key)| kind(key)).cloned())
        else {
            tracing::info!(npc = %npc.key, item, "a script's NPC does not carry that");
            return;
        };
        let from = Holder::Npc(npc.key.to_string());
        let moved = self
            .move_item_between(&npc.world, id, from, Holder::Character(player.character_id))
            .await;
        if let Ok(Some(_)) = moved {
            let name = world.item(&key).map_or("something", |i| i.name.as_str());
            player.tell(replies::npc_gives_you(&npc.name, name));
            self.tell_room(
                room,
                &replies::npc_gives(&npc.name, name, &player.name),
                &[player.conn_id],
            );
            if let Ok(carried) = self.carried(&player).await {
                self.send_inventory_data(&player, &carried);
            }
        }
    }

    /// An NPC takes an item of a kind from a player in its room.
    async fn npc_takes(&self, npc: &LiveNpc, room: &RoomKey, from: &str, item: &str) {
        let Some(world) = self.world(&npc.world) else {
            return;
        };
        let Some(player) = self
            .player_named(&npc.world, from)
            .filter(|p| p.room() == room.room)
        else {
            return;
        };
        let Ok(carried) = self.carried(&player).await else {
            return;
        };
        let Some(instance) = carried
            .iter()
            .find(|i| same_kind(&world, room, &i.key, item))
        else {
            return;
        };
        let to = Holder::Npc(npc.key.to_string());
        let moved = self
            .move_item_between(
                &npc.world,
                instance.id,
                Holder::Character(player.character_id),
                to,
            )
            .await;
        if let Ok(Some(key)) = moved {
            let name = world.item(&key).map_or("something", |i| i.name.as_str());
            player.tell(replies::npc_takes_from_you(&npc.name, name));
            if let Ok(carried) = self.carried(&player).await {
                self.send_inventory_data(&player, &carried);
            }
        }
    }

    /// A new instance of an item kind lying in the room, within a cap.
    async fn script_spawns(&self, room: &RoomKey, item: &str) {
        let Some(world) = self.world(&room.world) else {
            return;
        };
        let Some(key) = item_key(&world, room, item) else {
            tracing::info!(item, "a script spawned no such item");
            return;
        };
        let here = self
            .items_here(room)
            .iter()
            .filter(|i| *i.key == *key)
            .count();
        if here >= MAX_SPAWNED_HERE {
            return;
        }
        if let Err(err) = self.spawn_item(room, &key).await {
            tracing::warn!(%err, item = %key, "a script's item was not made");
        }
    }

    /// Opening or closing an exit's door, as the world (no key needed) or as
    /// the NPC whose script asks: the one door path players use too
    /// (`Game::set_door`), so both sides agree and both rooms hear it. A
    /// refusal (no such exit, no door, locked) changes nothing and is logged.
    async fn script_door(&self, room: &RoomKey, exit: &str, open: bool, name: Option<Arc<str>>) {
        let Some(world) = self.world(&room.world) else {
            return;
        };
        let change = if open {
            DoorChange::Open
        } else {
            DoorChange::Close
        };
        let by = DoorActor::Script { name };
        if let Err(refused) = self.set_door(&world, &room.room, exit, change, by).await {
            tracing::info!(room = %room.room, exit, open, %refused, "a script's door call changed nothing");
        }
    }

    /// A script failed: the log, and the `builder` channel (or, where the
    /// operator configured none, the world's builders online).
    fn script_failed(&self, world: &str, owner: &Owner, message: &str, switched_off: bool) {
        tracing::warn!(world, %owner, switched_off, "script failed: {message}");
        let line = replies::script_failed(&owner.to_string(), message, switched_off);
        self.tell_builders(world, &line);
    }

    /// The builder channel (SPEC §14), naming the world, since it is heard
    /// in every world; without one, the world's builders online.
    fn tell_builders(&self, world: &str, line: &str) {
        if self.announce_on("builder", &format!("{world}: {line}")) {
            return;
        }
        for player in self.players_in(world) {
            if player.role() >= Role::Worldbuilder {
                player.tell(line.to_string());
            }
        }
    }
}

/// The actor of an event: who set it off.
fn actor_of(player: &Player) -> Actor {
    Actor {
        name: player.name.to_string(),
        npc: false,
    }
}

/// The key of the item kind a script names (its id in the room's zone,
/// else a global id, else a full key).
fn item_key(world: &World, room: &RoomKey, item: &str) -> Option<Arc<str>> {
    let zoned = format!("{}:{item}", room.room.zone());
    [zoned.as_str(), item]
        .into_iter()
        .find_map(|key| world.item(key).map(|i| i.key.clone()))
}

fn same_kind(world: &World, room: &RoomKey, key: &str, item: &str) -> bool {
    item_key(world, room, item).is_some_and(|k| &*k == key)
}

/// Tells the scripts of the rooms left and reached, and of the NPCs there,
/// who came and went. Told after every observer of a move (`Game::emit`).
pub struct ScriptFeed;

impl RoomObserver for ScriptFeed {
    fn moved(&self, game: &Game, moved: &Move) {
        let Some(world) = game.world(moved.who.world()) else {
            return;
        };
        let actor = match &moved.who {
            Mover::Player(player) => actor_of(player),
            Mover::Npc(npc) => Actor {
                name: npc.name.to_string(),
                npc: true,
            },
        };
        let me = match &moved.who {
            Mover::Npc(npc) => Some(Owner::Npc(npc.key.clone())),
            Mover::Player(_) => None,
        };
        let quiet = matches!(moved.how, How::TookOver);
        let sides = [
            (moved.from_key(), Hook::Leave),
            (moved.to_key(), Hook::Enter),
        ];
        for (room, hook) in sides {
            let Some(room) = room.filter(|_| !quiet) else {
                continue;
            };
            for owner in game.listeners(&world, &room) {
                if Some(&owner) == me.as_ref() {
                    continue;
                }
                game.script_event(
                    &world.id,
                    Event {
                        owner,
                        hook,
                        actor: Some(actor.clone()),
                        words: Vec::new(),
                        place: Some(room.room.clone()),
                    },
                );
            }
        }
    }
}
