//! Doors in play: their state (closed, locked), the one action that changes
//! one ([`Game::set_door`], for players' `open`, `close`, `lock`, `unlock`
//! and for scripts alike), and walking through an exit, which a closed door
//! refuses ([`Game::walk`]).
//!
//! A door is declared in a world file on one side of an exit and is the door
//! of the way back too (`world::validate`): both sides are one `Door` with
//! one id, so they always agree. Its state is stored (`store::doors`), a row
//! for each door that ever changed; a change is decided by [`decide`] inside
//! the store's transaction, on the state read fresh there and on whether the
//! player carries the key, read there too. The cache here follows each
//! committed change, newer versions only, so two changes committed in one
//! order are never cached in the other. Every change is told to the game's
//! observers ([`DoorChanged`]); the sentences rooms hear are the command
//! layer's narrator's. This file writes no sentence.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

use dashmap::DashMap;

use super::moves::How;
use super::registry::Player;
use super::{Game, MoveRefused};
use crate::store::StoreError;
use crate::store::doors::{DoorRow, Holder};
use crate::world::{Door, Exit, RoomId, World};

pub use crate::store::doors::DoorState;

/// What is done to a door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorChange {
    Open,
    Close,
    Lock,
    Unlock,
}

/// Who changes a door: a player, who needs the key to lock and unlock, or a
/// script, acting as the world (and as someone, when an NPC's script does
/// it, `name`), which needs none.
#[derive(Debug, Clone)]
pub enum DoorActor {
    Player(Arc<Player>),
    Script { name: Option<Arc<str>> },
}

/// Why a door was not changed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum DoorRefusal {
    #[error("the room has no such exit")]
    NoSuchExit,
    #[error("the exit has no door")]
    NoDoor,
    #[error("the door is open already")]
    AlreadyOpen,
    #[error("the door is closed already")]
    AlreadyClosed,
    #[error("the door is locked already")]
    AlreadyLocked,
    #[error("the door is not locked")]
    NotLocked,
    /// Opening a locked door.
    #[error("the door is locked")]
    Locked,
    /// Locking an open door.
    #[error("the door is open")]
    Open,
    /// Locking or unlocking a door the file gives no key.
    #[error("the door has no lock")]
    NoLock,
    /// A player locking or unlocking without the key in hand.
    #[error("the key is not carried")]
    NoKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A door changed, as observers hear of it: which door, by whom, and its two
/// sides — the room it was worked from and its exit, and the room beyond and
/// the exit there that leads back through the same door (when there is one).
#[derive(Debug, Clone)]
pub struct DoorChanged {
    pub world: Arc<str>,
    pub door: Arc<Door>,
    pub change: DoorChange,
    pub by: DoorActor,
    pub here: (RoomId, String),
    pub there: Option<(RoomId, String)>,
}

/// The door states in play, by world and door id, with the version of each.
#[derive(Default)]
pub struct DoorStates {
    doors: DashMap<(Arc<str>, Arc<str>), (DoorState, i64)>,
}

impl DoorStates {
    /// Takes a committed state unless a newer one is cached already.
    fn take(&self, world: &str, row: &DoorRow) {
        let key = (Arc::from(world), Arc::from(row.door.as_str()));
        self.doors
            .entry(key)
            .and_modify(|cached| {
                if row.version > cached.1 {
                    *cached = (row.state, row.version);
                }
            })
            .or_insert((row.state, row.version));
    }

    fn get(&self, world: &str, door: &Door) -> Option<DoorState> {
        let key = (Arc::from(world), door.id.clone());
        self.doors.get(&key).map(|entry| entry.0)
    }

    fn forget(&self, world: &str, door: &str) {
        self.doors.remove(&(Arc::from(world), Arc::from(door)));
    }
}

/// How a door starts, as its file says.
pub fn start_state(door: &Door) -> DoorState {
    DoorState {
        closed: door.closed || door.locked,
        locked: door.locked,
    }
}

/// The rules of doors: what `change` makes of `state`, for someone who needs
/// the key (`needs_key`) and carries it or not. Pure; run inside the store's
/// transaction.
pub fn decide(
    state: DoorState,
    change: DoorChange,
    has_lock: bool,
    needs_key: bool,
    has_key: bool,
) -> Result<DoorState, DoorRefusal> {
    let keyed = || match (has_lock, needs_key, has_key) {
        (false, true, _) => Err(DoorRefusal::NoLock),
        (_, true, false) => Err(DoorRefusal::NoKey),
        _ => Ok(()),
    };
    match change {
        DoorChange::Open if !state.closed => Err(DoorRefusal::AlreadyOpen),
        DoorChange::Open if state.locked => Err(DoorRefusal::Locked),
        DoorChange::Open => Ok(DoorState {
            closed: false,
            locked: false,
        }),
        DoorChange::Close if state.closed => Err(DoorRefusal::AlreadyClosed),
        DoorChange::Close => Ok(DoorState {
            closed: true,
            locked: false,
        }),
        DoorChange::Lock if state.locked => Err(DoorRefusal::AlreadyLocked),
        DoorChange::Lock if !state.closed => Err(DoorRefusal::Open),
        DoorChange::Lock => keyed().map(|()| DoorState {
            closed: true,
            locked: true,
        }),
        DoorChange::Unlock if !state.locked => Err(DoorRefusal::NotLocked),
        DoorChange::Unlock => keyed().map(|()| DoorState {
            closed: true,
            locked: false,
        }),
    }
}

/// Why a walk was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkRefused {
    /// The exit's door is closed.
    DoorClosed(Arc<Door>),
    /// The player no longer stands where the exit is (moved meanwhile).
    Moved,
    Move(MoveRefused),
}

impl Game {
    /// A door's state now: as last changed, or as its file starts it.
    pub fn door_state(&self, world: &str, door: &Door) -> DoorState {
        self.doors()
            .get(world, door)
            .unwrap_or_else(|| start_state(door))
    }

    /// Fills the door cache of a world from the database (at start).
    pub async fn load_doors(&self, world_id: &str) -> Result<usize, StoreError> {
        let rows = self.store().doors().in_world(world_id).await?;
        for row in &rows {
            self.doors().take(world_id, row);
        }
        Ok(rows.len())
    }

    /// Opens, closes, locks or unlocks the door on exit `exit` (its name, any
    /// case) of `room`, decided in one store transaction on the door's
    /// stored state (and, for a player locking or unlocking, the key in its
    /// hands); then the cache and the observers, who tell both sides.
    pub async fn set_door(
        &self,
        world: &World,
        room: &RoomId,
        exit: &str,
        change: DoorChange,
        by: DoorActor,
    ) -> Result<DoorChanged, DoorRefusal> {
        let key = exit.to_lowercase();
        let exit = world
            .room(room)
            .and_then(|here| here.exits.iter().find(|e| e.key == key))
            .ok_or(DoorRefusal::NoSuchExit)?;
        let door = exit.door.clone().ok_or(DoorRefusal::NoDoor)?;
        let (needs_key, holder) = key_check(&by, &door, change);
        let has_lock = door.key.is_some();
        let row = self
            .store()
            .doors()
            .change(
                &world.id,
                &door.id,
                start_state(&door),
                holder,
                move |state, has_key| decide(state, change, has_lock, needs_key, has_key),
            )
            .await??;
        self.doors().take(&world.id, &row);
        let changed = DoorChanged {
            world: Arc::from(world.id.as_str()),
            there: far_side(world, room, exit),
            here: (room.clone(), exit.name.clone()),
            door,
            change,
            by,
        };
        for observer in self.observers() {
            observer.door_changed(self, &changed);
        }
        Ok(changed)
    }

    /// Forgets a door's stored state, so it is again as its file starts it
    /// (a builder took the door away or declared it anew).
    pub async fn forget_door(&self, world: &str, door: &str) -> Result<(), StoreError> {
        self.store().doors().forget(world, door).await?;
        self.doors().forget(world, door);
        Ok(())
    }

    /// Forgets the stored state of each door whose declaration a change to
    /// the world's files changed or took away, so a door put on anew starts
    /// as its file says; doors the change left alone keep their state.
    pub async fn forget_changed_doors(&self, old: &World, new: &World) {
        let (before, after) = (declared_doors(old), declared_doors(new));
        let changed = before
            .iter()
            .filter(|(id, door)| after.get(*id) != Some(*door))
            .map(|(id, _)| id)
            .chain(after.keys().filter(|id| !before.contains_key(*id)));
        for id in changed {
            if let Err(err) = self.forget_door(&new.id, id).await {
                tracing::warn!(%err, door = %id, "could not forget a changed door's state");
            }
        }
    }

    /// Walks a player through `exit` of the room it stands in, unless the
    /// exit's door is closed: both decided under the player's moving lock,
    /// on the room it stands in then and the door's state then.
    pub async fn walk(&self, player: &Arc<Player>, exit: &Exit) -> Result<(), WalkRefused> {
        let from = player.room();
        let shut = Cell::new(false);
        let how = How::Walked {
            exit: exit.name.clone(),
        };
        let passable = |here: &RoomId| {
            if *here != from {
                return false;
            }
            let closed = exit
                .door
                .as_ref()
                .is_some_and(|door| self.door_state(&player.world, door).closed);
            shut.set(closed);
            !closed
        };
        match self.move_player_if(player, &exit.to, how, passable) {
            Err(refused) => Err(WalkRefused::Move(refused)),
            Ok(true) => {
                self.save_location(player).await;
                Ok(())
            }
            Ok(false) if shut.get() => match &exit.door {
                Some(door) => Err(WalkRefused::DoorClosed(door.clone())),
                None => Err(WalkRefused::Moved),
            },
            Ok(false) => Err(WalkRefused::Moved),
        }
    }
}

/// Whether `by` needs the door's key for `change` (a player locking or
/// unlocking), and whose hands the store looks in for it.
fn key_check(by: &DoorActor, door: &Door, change: DoorChange) -> (bool, Option<Holder>) {
    let needs_key = matches!(by, DoorActor::Player(_))
        && matches!(change, DoorChange::Lock | DoorChange::Unlock);
    let holder = match (by, &door.key) {
        (DoorActor::Player(player), Some(key)) if needs_key => Some(Holder {
            character_id: player.character_id,
            key: key.to_string(),
        }),
        _ => None,
    };
    (needs_key, holder)
}

/// Every door of a world by id.
fn declared_doors(world: &World) -> HashMap<Arc<str>, Arc<Door>> {
    world
        .rooms
        .values()
        .flat_map(|room| &room.exits)
        .filter_map(|exit| exit.door.clone())
        .map(|door| (door.id.clone(), door))
        .collect()
}

/// The other side of a door on `exit` of `room`: the room beyond and its
/// exit through the same door.
fn far_side(world: &World, room: &RoomId, exit: &Exit) -> Option<(RoomId, String)> {
    let door = exit.door.as_ref()?;
    let there = world.room(&exit.to).filter(|there| there.id != *room)?;
    let back = there
        .exits
        .iter()
        .find(|e| e.to == *room && e.door.as_ref().is_some_and(|d| d.id == door.id))?;
    Some((there.id.clone(), back.name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: DoorState = DoorState {
        closed: false,
        locked: false,
    };
    const SHUT: DoorState = DoorState {
        closed: true,
        locked: false,
    };
    const LOCKED: DoorState = DoorState {
        closed: true,
        locked: true,
    };

    /// Two changes committed in one order and cached in the other: the
    /// cache keeps the later commit's state.
    #[test]
    fn the_cache_keeps_the_newest_committed_state() {
        let cache = DoorStates::default();
        let door = Door {
            id: Arc::from("z:a/east"),
            name: "door".into(),
            closed: true,
            locked: false,
            key: None,
        };
        let row = |state, version| DoorRow {
            door: "z:a/east".into(),
            state,
            version,
        };
        cache.take("w", &row(OPEN, 2));
        cache.take("w", &row(SHUT, 1));
        assert_eq!(cache.get("w", &door), Some(OPEN));
        cache.take("w", &row(LOCKED, 3));
        assert_eq!(cache.get("w", &door), Some(LOCKED));
        assert_eq!(cache.get("other", &door), None);
    }

    /// (state, change, has a lock, needs the key, has the key) -> outcome.
    type Case = (
        DoorState,
        DoorChange,
        bool,
        bool,
        bool,
        Result<DoorState, &'static str>,
    );

    #[test]
    fn the_rules_of_doors() {
        use DoorChange::*;
        let cases: [Case; 14] = [
            (SHUT, Open, true, false, false, Ok(OPEN)),
            (
                OPEN,
                Open,
                true,
                false,
                false,
                Err("the door is open already"),
            ),
            (LOCKED, Open, true, false, false, Err("the door is locked")),
            (OPEN, Close, false, false, false, Ok(SHUT)),
            (
                SHUT,
                Close,
                false,
                false,
                false,
                Err("the door is closed already"),
            ),
            (SHUT, Lock, true, true, true, Ok(LOCKED)),
            (SHUT, Lock, true, true, false, Err("the key is not carried")),
            (SHUT, Lock, false, true, true, Err("the door has no lock")),
            (SHUT, Lock, false, false, false, Ok(LOCKED)),
            (OPEN, Lock, true, true, true, Err("the door is open")),
            (
                LOCKED,
                Lock,
                true,
                true,
                true,
                Err("the door is locked already"),
            ),
            (LOCKED, Unlock, true, true, true, Ok(SHUT)),
            (LOCKED, Unlock, true, false, false, Ok(SHUT)),
            (
                SHUT,
                Unlock,
                true,
                true,
                true,
                Err("the door is not locked"),
            ),
        ];
        for (state, change, lock, needs, has, want) in cases {
            let got = decide(state, change, lock, needs, has).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "{state:?} {change:?}");
        }
    }
}
