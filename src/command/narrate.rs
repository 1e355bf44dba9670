//! What rooms hear when someone moves, and what the mover sees: the one place
//! these sentences are written (several are quoted in SPEC §3 and §4 and
//! players trigger on them).
//!
//! [`Narrator`] observes the game's moves (`game::moves`): whoever moves
//! someone — the walker's own task, an admin's, a reload, later an NPC or a
//! script — the game emits one [`Move`], and the narrator tells the room left
//! `<Name> leaves north.` (or `vanishes.`, or `leaves the game.`), the room
//! reached `<Name> arrives from the south.` (or `arrives.`, or `appears.`),
//! and shows a player who moved its new room.
//!
//! Entries into the game of a crowded room (a login storm) are gathered for
//! a moment (`arrivals_gathered_for`) and told together, `<Name>, <Name> and <n> others arrive.`
//! (SPEC §4), by [`Narrator::tell_arrivals`], the one task that waits here.
//!
//! **Invariant:** `moved` never waits: every sentence is queued to outboxes.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::game::{
    ConnId, DoorActor, DoorChange, DoorChanged, Game, How, Move, Player, RoomKey, RoomObserver,
};
use crate::world::{Exit, World};

use super::common::{describe_room, direction_named, exit_name, whence};

/// A gathered group this large is told in one line; a smaller one gets its
/// usual line for each (the quoted form names two and counts the others).
const TOLD_TOGETHER: usize = 4;

/// Writes what rooms hear of moves; the server registers it when it starts,
/// and runs its [`tell_arrivals`](Narrator::tell_arrivals).
#[derive(Default)]
pub struct Narrator {
    /// Entries into crowded rooms not told yet, by room, in order.
    gathered: Mutex<HashMap<RoomKey, Vec<Arc<Player>>>>,
    /// Rung by the first entry gathered.
    first_gathered: Notify,
}

impl Narrator {
    pub fn new() -> Narrator {
        Narrator::default()
    }

    /// Tells the gathered entries, a moment after the first of each round,
    /// until the server shuts down.
    pub async fn tell_arrivals(self: Arc<Self>, game: Arc<Game>) {
        let shutdown = game.shutdown_token().clone();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.first_gathered.notified() => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(game.config().arrivals_gathered_for) => {}
            }
            self.tell_gathered(&game);
        }
    }

    /// Tells every group gathered so far.
    fn tell_gathered(&self, game: &Game) {
        let gathered = std::mem::take(&mut *self.gathered.lock());
        for (room, arrived) in gathered {
            // Whoever left again before being told is not told of.
            let here = game.occupants(&room);
            let arrived: Vec<&Arc<Player>> = arrived
                .iter()
                .filter(|p| here.iter().any(|h| h.conn_id == p.conn_id))
                .collect();
            if arrived.len() < TOLD_TOGETHER {
                for player in arrived {
                    game.tell_room(
                        &room,
                        &format!("{} arrives.", player.name),
                        &[player.conn_id],
                    );
                }
                continue;
            }
            let except: Vec<ConnId> = arrived.iter().map(|p| p.conn_id).collect();
            let line = arrive_together(&arrived[0].name, &arrived[1].name, arrived.len() - 2);
            game.tell_room(&room, &line, &except);
        }
    }

    /// Gathers an entry into a crowded room instead of telling it now.
    /// False when the room is not crowded (tell it now).
    fn gather(&self, game: &Game, moved: &Move, to: &RoomKey) -> bool {
        let Some(player) = moved.who.player() else {
            return false;
        };
        if !matches!(moved.how, How::Entered)
            || game.occupants(to).len() < game.config().crowded_room
        {
            return false;
        }
        let first = {
            let mut gathered = self.gathered.lock();
            let first = gathered.is_empty();
            let room = gathered.entry(to.clone()).or_default();
            // Back to the menu and in again within the moment: told once.
            if !room.iter().any(|p| p.conn_id == player.conn_id) {
                room.push(player.clone());
            }
            first
        };
        if first {
            self.first_gathered.notify_one();
        }
        true
    }
}

/// `<Name>, <Name> and <n> others arrive.` (SPEC §4): the first two to
/// arrive, and how many more did (two at least: see [`TOLD_TOGETHER`]).
fn arrive_together(first: &str, second: &str, others: usize) -> String {
    format!("{first}, {second} and {others} others arrive.")
}

impl RoomObserver for Narrator {
    fn moved(&self, game: &Game, moved: &Move) {
        let Some(world) = game.world(moved.who.world()) else {
            return;
        };
        let not_the_mover = moved.who.except();
        if let (Some(from), Some(line)) = (moved.from_key(), leaving(moved)) {
            game.tell_room(&from, &line, not_the_mover);
        }
        let Some(to) = moved.to_key() else {
            return;
        };
        if let Some(line) = arriving(&world, moved).filter(|_| !self.gather(game, moved, &to)) {
            game.tell_room(&to, &line, not_the_mover);
        }
        let Some(player) = moved.who.player() else {
            return;
        };
        if let Some(line) = sent_by(&world, moved) {
            player.tell(line);
        }
        player.tell_styled(describe_room(game, &world, &to.room, player));
    }

    fn door_changed(&self, game: &Game, changed: &DoorChanged) {
        let Some(world) = game.world(&changed.world) else {
            return;
        };
        let (here, line) = door_here(&world, changed);
        let except = match &changed.by {
            DoorActor::Player(player) => vec![player.conn_id],
            DoorActor::Script { .. } => Vec::new(),
        };
        game.tell_room(&RoomKey::new(&changed.world, &here), &line, &except);
        if let Some((there, exit)) = &changed.there {
            let line = door_there(&world, changed, there, exit);
            game.tell_room(&RoomKey::new(&changed.world, there), &line, &[]);
        }
    }
}

/// What the room a door was worked from hears: `Ann opens the oak door.`,
/// or, when a script did it as nobody, `The oak door (east) opens.`
fn door_here(world: &World, changed: &DoorChanged) -> (crate::world::RoomId, String) {
    let (room, exit) = &changed.here;
    let name = &changed.door.name;
    let doer = match &changed.by {
        DoorActor::Player(player) => Some(player.name.clone()),
        DoorActor::Script { name } => name.clone(),
    };
    let line = match doer {
        Some(doer) => {
            let verb = match changed.change {
                DoorChange::Open => "opens",
                DoorChange::Close => "closes",
                DoorChange::Lock => "locks",
                DoorChange::Unlock => "unlocks",
            };
            format!("{doer} {verb} the {name}.")
        }
        None => format!(
            "The {name} ({}) {}.",
            way(world, room, exit),
            happened(changed.change)
        ),
    };
    (room.clone(), line)
}

/// What the room beyond a door hears: `The oak door (west) opens from the
/// other side.`
fn door_there(
    world: &World,
    changed: &DoorChanged,
    room: &crate::world::RoomId,
    exit: &str,
) -> String {
    format!(
        "The {} ({}) {} from the other side.",
        changed.door.name,
        way(world, room, exit),
        happened(changed.change)
    )
}

/// What happened to a door, said of the door.
fn happened(change: DoorChange) -> &'static str {
    match change {
        DoorChange::Open => "opens",
        DoorChange::Close => "closes",
        DoorChange::Lock => "is locked",
        DoorChange::Unlock => "is unlocked",
    }
}

/// The exit as players read it (`east`, `trapdoor`).
fn way(world: &World, room: &crate::world::RoomId, exit: &str) -> String {
    let key = exit.to_lowercase();
    world
        .room(room)
        .and_then(|room| room.exits.iter().find(|e| e.key == key))
        .map_or(exit.to_string(), |e: &Exit| exit_name(e).to_string())
}

/// What the room left hears.
fn leaving(moved: &Move) -> Option<String> {
    let name = moved.who.name();
    match &moved.how {
        // A direction in one form, as the exits are listed (`s` is `south`).
        How::Walked { exit } => {
            let exit = direction_named(exit).unwrap_or(exit);
            Some(format!("{name} leaves {exit}."))
        }
        How::Recalled => Some(format!("{name} leaves.")),
        How::Sent { .. } | How::Rescued => Some(format!("{name} vanishes.")),
        How::LeftGame => Some(left_the_game(name)),
        How::Entered | How::TookOver => None,
    }
}

/// `<Name> leaves the game.` (SPEC §3): what the room hears of a player
/// who quit, and of one whose connection an upgrade could not keep.
pub fn left_the_game(name: &str) -> String {
    format!("{name} leaves the game.")
}

/// What the room reached hears: a walker arrives from the direction whose exit
/// leads back (SPEC §4), anyone else simply arrives or appears.
fn arriving(world: &World, moved: &Move) -> Option<String> {
    let name = moved.who.name();
    match &moved.how {
        How::Walked { .. } => {
            let back = moved.from.as_ref().zip(moved.to.as_ref());
            Some(match back.and_then(|(from, to)| whence(world, to, from)) {
                Some(whence) => format!("{name} arrives from {whence}."),
                None => format!("{name} arrives."),
            })
        }
        How::Recalled | How::Entered => Some(format!("{name} arrives.")),
        How::Sent { .. } | How::Rescued => Some(format!("{name} appears.")),
        How::TookOver | How::LeftGame => None,
    }
}

/// What a player moved by someone else is told first.
fn sent_by(world: &World, moved: &Move) -> Option<String> {
    match &moved.how {
        How::Sent { by: Some(by) } => Some(format!("{by} moves you elsewhere.")),
        How::Rescued => {
            let room = moved.to.as_ref().and_then(|to| world.room(to));
            let name = room.map_or("the world's spawn", |room| room.name.as_str());
            Some(format!(
                "The room you stood in is gone; you are back at {name}."
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::game::Mover;
    use crate::game::registry::test_player;
    use crate::world::RoomId;

    /// A world of rooms `hall` (north to `yard`, up to `loft`, a door to
    /// `shed`), `yard` (`s` to `hall`), `loft` (down to `hall`) and `shed`
    /// (a door back), loaded from its files as any world is.
    fn world() -> World {
        let worlds = tempfile::tempdir().expect("temporary directory");
        let dir = worlds.path().join("w");
        let zones = dir.join("zones");
        std::fs::create_dir_all(&zones).expect("zones folder");
        std::fs::write(
            dir.join("world.json"),
            r#"{"name": "W", "description": "", "default_spawn": {"zone": "z", "room": "hall"}, "zones": ["z"]}"#,
        )
        .expect("world.json");
        let room = |id: &str, exits: &str| {
            format!(
                r#"{{"id": "{id}", "name": "{id}", "description": "", "exits": {{{exits}}}, "items": []}}"#
            )
        };
        let rooms = [
            room("hall", r#""north": "yard", "up": "loft", "door": "shed""#),
            room("yard", r#""s": "hall""#),
            room("loft", r#""down": "hall""#),
            room("shed", r#""door": "hall""#),
        ];
        let zone = format!(
            r#"{{"id": "z", "name": "Z", "description": "", "spawn_room": "hall", "rooms": [{}]}}"#,
            rooms.join(", ")
        );
        std::fs::write(zones.join("z.json"), zone).expect("zone file");
        let loaded = crate::world::load(worlds.path(), None).expect("the world loads");
        World::clone(&loaded.default)
    }

    fn walked(from: &str, to: &str, exit: &str) -> Move {
        Move {
            who: Mover::Player(test_player(1, 1, "Ann", RoomId::new("z", to))),
            from: Some(RoomId::new("z", from)),
            to: Some(RoomId::new("z", to)),
            how: How::Walked { exit: exit.into() },
        }
    }

    #[test]
    fn walkers_arrive_from_the_direction_that_leads_back() {
        let world = world();
        let cases = [
            (
                walked("hall", "yard", "north"),
                "Ann leaves north.",
                "Ann arrives from the south.",
            ),
            (
                walked("yard", "hall", "s"),
                "Ann leaves south.",
                "Ann arrives from the north.",
            ),
            (
                walked("hall", "loft", "up"),
                "Ann leaves up.",
                "Ann arrives from below.",
            ),
            (
                walked("loft", "hall", "down"),
                "Ann leaves down.",
                "Ann arrives from above.",
            ),
            (
                walked("hall", "shed", "door"),
                "Ann leaves door.",
                "Ann arrives.",
            ),
        ];
        for (moved, left, reached) in cases {
            assert_eq!(leaving(&moved).as_deref(), Some(left));
            assert_eq!(arriving(&world, &moved).as_deref(), Some(reached));
        }
    }

    #[test]
    fn other_moves_vanish_appear_arrive_and_leave_the_game() {
        let world = world();
        let with = |how: How, from: Option<&str>, to: Option<&str>| Move {
            how,
            from: from.map(|r| RoomId::new("z", r)),
            to: to.map(|r| RoomId::new("z", r)),
            ..walked("hall", "yard", "north")
        };
        let ada: Arc<str> = Arc::from("Ada");
        let cases = [
            (
                with(How::Recalled, Some("yard"), Some("hall")),
                Some("Ann leaves."),
                Some("Ann arrives."),
                None,
            ),
            (
                with(How::Sent { by: Some(ada) }, Some("yard"), Some("hall")),
                Some("Ann vanishes."),
                Some("Ann appears."),
                Some("Ada moves you elsewhere."),
            ),
            (
                with(How::Sent { by: None }, Some("yard"), Some("hall")),
                Some("Ann vanishes."),
                Some("Ann appears."),
                None,
            ),
            (
                with(How::Rescued, Some("gone"), Some("hall")),
                Some("Ann vanishes."),
                Some("Ann appears."),
                Some("The room you stood in is gone; you are back at hall."),
            ),
            (
                with(How::Entered, None, Some("hall")),
                None,
                Some("Ann arrives."),
                None,
            ),
            (with(How::TookOver, None, Some("hall")), None, None, None),
            (
                with(How::LeftGame, Some("hall"), None),
                Some("Ann leaves the game."),
                None,
                None,
            ),
        ];
        for (moved, left, reached, told) in cases {
            assert_eq!(leaving(&moved).as_deref(), left, "{:?}", moved.how);
            assert_eq!(
                arriving(&world, &moved).as_deref(),
                reached,
                "{:?}",
                moved.how
            );
            assert_eq!(sent_by(&world, &moved).as_deref(), told, "{:?}", moved.how);
        }
    }
}
