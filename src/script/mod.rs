//! Scripts in Luau (SPEC §14): the sandboxed VMs, the events they handle and
//! the calls they make. One thread per world (`host.rs`) owns that world's
//! VMs — one VM per scripted room, item kind or NPC, measured and chosen for
//! isolation: each has its own memory cap, and one that is switched off or
//! runs out of memory takes nobody else's state with it — and is fed
//! [`Event`]s by a bounded channel. A handler runs as a coroutine: `wait`
//! yields it, and the host resumes it when its time has come, so no script
//! ever holds a thread or the game. What a script asks for comes back as
//! [`Out::Act`]; the game carries it out through its own actions
//! (`game::life`), which check it as they check a player's.
//!
//! **Invariant:** this module knows nothing about players, sessions, the
//! store or telnet; it reads a `World`'s scripts and speaks in events and
//! calls.
//! **Invariant:** the game never waits on a script: events are queued with
//! `try_send`, and a full queue drops the event (logged), never the game.

mod api;
mod host;
pub mod probe;
mod vm;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use api::StateValue;
pub use host::{Status, WorldScripts};
pub use vm::compile_error;

use crate::world::{RoomId, World};

/// The budgets of one slice of a script (a handler's run up to its end or
/// its next `wait`), and each VM's memory cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Interrupt ticks (Luau interrupts at calls and loop back-edges).
    pub ticks: u64,
    /// Wall-clock time.
    pub wall: Duration,
    /// Bytes the world's VM may hold, all its scripts together.
    pub memory: usize,
    /// Calls to the API (say, emote, ...) in one slice.
    pub calls: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            ticks: 200_000,
            wall: Duration::from_millis(50),
            memory: 32 * 1024 * 1024,
            calls: 20,
        }
    }
}

/// A script that failed this many times in a row is switched off until
/// `/reload`.
pub const FAILURES_TO_OFF: u32 = 3;

/// What a script is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    Room(RoomId),
    /// An item kind, by key: every instance shares its script.
    Item(Arc<str>),
    /// An NPC, by key (`zone:npc`).
    Npc(Arc<str>),
}

impl fmt::Display for Owner {
    /// `room:<zone:room>`, `item:<key>`, `npc:<zone:npc>`: the key of its
    /// state in the database.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Room(room) => write!(f, "room:{room}"),
            Owner::Item(key) => write!(f, "item:{key}"),
            Owner::Npc(key) => write!(f, "npc:{key}"),
        }
    }
}

/// Who set an event off: the first argument of its handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub npc: bool,
}

/// The events a script may handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Enter,
    Leave,
    Say,
    Get,
    Drop,
    Give,
    Command,
}

impl Hook {
    /// The global function that handles it.
    pub fn handler(self) -> &'static str {
        match self {
            Hook::Enter => "on_enter",
            Hook::Leave => "on_leave",
            Hook::Say => "on_say",
            Hook::Get => "on_get",
            Hook::Drop => "on_drop",
            Hook::Give => "on_give",
            Hook::Command => "on_command",
        }
    }
}

/// One event for one script.
#[derive(Debug, Clone)]
pub struct Event {
    pub owner: Owner,
    pub hook: Hook,
    pub actor: Option<Actor>,
    /// The handler's arguments after the actor: what was said, the item's
    /// id, the verb and the rest of the line.
    pub words: Vec<String>,
    /// Where it happened.
    pub place: Option<RoomId>,
}

/// What a script asked for, as the API wrote it down.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Say(String),
    Emote(String),
    Tell {
        to: String,
        text: String,
    },
    /// An NPC walks through an exit of its room.
    Move(String),
    /// The owner (an NPC) hands an item kind it carries to someone here.
    Give {
        to: String,
        item: String,
    },
    /// The owner (an NPC, or a room or item, which destroys it) takes an
    /// item of a kind from someone here.
    Take {
        from: String,
        item: String,
    },
    /// A new instance of an item kind, lying where the script is.
    Spawn(String),
    /// An exit's door opened or closed.
    Door {
        exit: String,
        open: bool,
    },
    /// The script's state changed: the value as JSON, `None` removed.
    SetState {
        key: String,
        value: Option<String>,
    },
}

/// What the scripts of a world send the game.
#[derive(Debug, Clone)]
pub enum Out {
    /// Carry out a call for `owner`, which ran for an event at `place`.
    Act {
        owner: Owner,
        place: Option<RoomId>,
        call: Call,
    },
    /// A script failed: its error (file, line, event), and whether that
    /// switched it off.
    Failed {
        owner: Owner,
        message: String,
        switched_off: bool,
    },
}

/// Every script the world names, each with what it is attached to.
pub fn attached(world: &World) -> Vec<(Owner, String)> {
    let mut found = Vec::new();
    for zone in &world.zones {
        for id in &zone.rooms {
            if let Some(script) = world.room(id).and_then(|r| r.script.clone()) {
                found.push((Owner::Room(id.clone()), script));
            }
        }
    }
    let mut items: Vec<_> = world
        .items
        .values()
        .filter_map(|i| Some((Owner::Item(i.key.clone()), i.script.clone()?)))
        .collect();
    items.sort();
    found.extend(items);
    for npc in &world.npcs {
        if let Some(script) = &npc.script {
            found.push((Owner::Npc(npc.key.clone()), script.clone()));
        }
    }
    found
}

/// The compile errors of a world's scripts, each naming the script's file
/// and the line (`check-worlds`, `/reload`).
pub fn check(world: &World) -> Vec<crate::world::WorldError> {
    let dir = world.source().dir().join("scripts");
    world
        .scripts
        .iter()
        .filter_map(|(file, text)| {
            let message = compile_error(file, text)?;
            // `bell.lua:3: Expected ...` reads `<dir>/bell.lua: line 3: Expected ...`.
            let rest = message
                .strip_prefix(&format!("{file}:"))
                .unwrap_or(&message);
            let (field, message) = match rest.split_once(':') {
                Some((line, what)) if line.trim().parse::<u32>().is_ok() => {
                    (format!("line {}", line.trim()), what.trim().to_string())
                }
                _ => (String::new(), rest.trim().to_string()),
            };
            Some(crate::world::WorldError {
                file: dir.join(file),
                field,
                message,
            })
        })
        .collect()
}

/// The compile errors of every world's scripts.
pub fn check_all(worlds: &crate::world::Worlds) -> Vec<crate::world::WorldError> {
    worlds.iter().flat_map(|world| check(world)).collect()
}
