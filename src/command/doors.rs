//! `open`, `close`, `lock` and `unlock`: working the doors on a room's exits.
//!
//! A handler finds the door the player's words name (`common::find_door`)
//! and asks the game to change it (`Game::set_door`, the one action scripts
//! call too), which decides in one store transaction on the door's stored
//! state and, to lock or unlock, the key in the player's hands. The player
//! is answered here; both sides of the door hear it from the narrator.

use super::Ctx;
use super::common::{DoorNamed, exit_name, find_door, which_one};
use super::spec::{Group, Needs, Spec, done};
use crate::game::{DoorActor, DoorChange, DoorRefusal};

pub static OPEN: Spec = Spec {
    name: "open",
    usage: "open <door>",
    summary: "Open a door on one of the room's exits.",
    details: "Opens a closed door, named by its name or by the exit it is on (open door, open east). A locked door must be unlocked first.",
    example: "open door",
    needs: Needs::Text,
    run: |ctx, _, door| done(work(ctx, door, DoorChange::Open)),
    ..Spec::player(Group::Moving)
};

pub static CLOSE: Spec = Spec {
    name: "close",
    usage: "close <door>",
    summary: "Close an open door.",
    details: "Closes an open door, named by its name or by the exit it is on. Nobody walks through a closed door.",
    example: "close east",
    needs: Needs::Text,
    run: |ctx, _, door| done(work(ctx, door, DoorChange::Close)),
    ..Spec::player(Group::Moving)
};

pub static LOCK: Spec = Spec {
    name: "lock",
    usage: "lock <door>",
    summary: "Lock a closed door with its key, which you must carry.",
    details: "Locks a closed door with its key; you must be carrying the key. A locked door cannot be opened until it is unlocked.",
    example: "lock oak door",
    needs: Needs::Text,
    run: |ctx, _, door| done(work(ctx, door, DoorChange::Lock)),
    ..Spec::player(Group::Moving)
};

pub static UNLOCK: Spec = Spec {
    name: "unlock",
    usage: "unlock <door>",
    summary: "Unlock a locked door with its key, which you must carry.",
    details: "Unlocks a locked door with its key; you must be carrying the key. The door stays closed until it is opened.",
    example: "unlock door",
    needs: Needs::Text,
    run: |ctx, _, door| done(work(ctx, door, DoorChange::Unlock)),
    ..Spec::player(Group::Moving)
};

/// Finds the door and changes it, and tells the player how it went.
async fn work(ctx: &Ctx<'_>, wanted: &str, change: DoorChange) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let here = ctx.me.room();
    let Some(room) = world.room(&here) else {
        return ctx.reply("You are nowhere at all.");
    };
    let exit = match find_door(room, wanted) {
        DoorNamed::One(exit) => exit,
        DoorNamed::NoDoor(exit) => {
            return ctx.reply(format!("There is no door {}.", exit_name(exit)));
        }
        DoorNamed::Several(doors) => {
            let doors: Vec<&str> = doors.iter().map(String::as_str).collect();
            return ctx.reply(which_one(&doors));
        }
        DoorNamed::Nothing => return ctx.reply("You see no such door here."),
    };
    let name = exit.door.as_ref().map_or("door", |door| door.name.as_str());
    let by = DoorActor::Player(ctx.me.clone());
    match ctx
        .game
        .set_door(&world, &here, &exit.name, change, by)
        .await
    {
        Ok(_) => ctx.reply(format!("You {} the {name}.", verb(change))),
        Err(refused) => ctx.reply(refusal(&refused, name)),
    }
}

/// The verb of a change, as the doer says it.
pub fn verb(change: DoorChange) -> &'static str {
    match change {
        DoorChange::Open => "open",
        DoorChange::Close => "close",
        DoorChange::Lock => "lock",
        DoorChange::Unlock => "unlock",
    }
}

/// Why the door `name` did not change, in a sentence.
fn refusal(refused: &DoorRefusal, name: &str) -> String {
    match refused {
        DoorRefusal::NoSuchExit | DoorRefusal::NoDoor => "You see no such door here.".to_string(),
        DoorRefusal::AlreadyOpen => format!("The {name} is already open."),
        DoorRefusal::AlreadyClosed => format!("The {name} is already closed."),
        DoorRefusal::AlreadyLocked => format!("The {name} is already locked."),
        DoorRefusal::NotLocked => format!("The {name} is not locked."),
        DoorRefusal::Locked => format!("The {name} is locked."),
        DoorRefusal::Open => format!("Close the {name} first."),
        DoorRefusal::NoLock => format!("The {name} has no lock."),
        DoorRefusal::NoKey => "You don't have the key.".to_string(),
        DoorRefusal::Store(err) => crate::replies::store_error(err).to_string(),
    }
}
