//! Building in the game (SPEC §13): the commands that change a world's files
//! from inside it, each a handler that parses its words into an order, asks
//! the game's one build action (`Game::build`: the right to build read fresh,
//! the change planned, checked as `check-worlds` checks, written, recorded
//! with its `build.<verb>` audit row, and put in play) and words what came
//! back. Every reply to a change ends with `Wrote <file>.` on a line of its
//! own for each file written (relative to the worlds folder), after the
//! sentence of SPEC §13, so client triggers on that sentence keep working.
//!
//! The families: `rooms` (`/dig`, `/link`, `/unlink`, `/rname`, `/rdesc`,
//! `/rdestroy`, `/rooms`, `/zone`), `items` (`/create`, `/iname`, `/idesc`,
//! `/destroy`), `doors` (`/door`, `/undoor`), `history` (`/undo`, `/redo`,
//! `/builds`). A description
//! written in the session's editor comes back through [`finish_draft`].

pub mod doors;
pub mod history;
pub mod items;
pub mod rooms;

use std::fmt::Write;

use super::super::common::capitalised;
use super::super::{Ctx, Described, Purpose};
use crate::game::build::{Ask, BuildFailed, Builder, Built, Did};
use crate::replies;
use crate::world::plan::{Done, MAX_DESCRIPTION_CHARS, Order, Refused};
use crate::world::{RoomId, World, WorldError};

/// The longest text the editor takes for a description, in lines.
const DESCRIPTION_LINES: usize = 100;

/// Asks the game for a build by this player, standing in `here`, and tells
/// them (and whoever saw an item go) what came of it.
async fn build(ctx: &Ctx<'_>, command: &str, here: RoomId, ask: Ask) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let by = Builder {
        user_id: ctx.me.user_id(),
        account: ctx.me.session.account.clone().into(),
        world: ctx.me.world.clone(),
        here,
    };
    match ctx.game.build(&by, ask).await {
        Ok(built) => {
            tell_vanished(ctx, &built);
            ctx.reply(built_reply(&built));
        }
        Err(failed) => ctx.reply(failed_reply(ctx, command, &world, &failed)),
    }
}

/// A build by this player where they stand.
pub(in crate::command::admin) async fn build_here(ctx: &Ctx<'_>, command: &str, order: Order) {
    build(ctx, command, ctx.me.room(), Ask::Order(order)).await;
}

/// Whether this player may build here now; tells them why not. Asked before
/// the editor opens, so nobody writes a text only to have it refused.
async fn may_build(ctx: &Ctx<'_>, command: &str) -> bool {
    let Some(world) = ctx.world() else {
        ctx.reply("You are nowhere at all.");
        return false;
    };
    match ctx.game.may_build(ctx.me.user_id(), &world.id).await {
        Ok(()) => true,
        Err(failed) => {
            ctx.reply(failed_reply(ctx, command, &world, &failed));
            false
        }
    }
}

/// A text written in the editor, for the command that asked for it.
pub async fn finish_draft(ctx: &Ctx<'_>, described: Described, text: Option<String>) {
    let Some(text) = text else {
        return ctx.reply("Description thrown away.");
    };
    if text.is_empty() {
        return ctx.reply("Nothing was written; the description stays as it was.");
    }
    match described {
        Described::Room { room } => {
            let order = Order::RoomDescription(text);
            build(ctx, rooms::RDESC.name, room, Ask::Order(order)).await;
        }
        Described::Item { item } => {
            let order = Order::ItemDescription { item, text };
            build_here(ctx, items::IDESC.name, order).await;
        }
    }
}

/// The editor's opening line for a description of `what`.
fn description_intro(what: &str) -> String {
    format!(
        "Write the description of {what}; end it with a line holding only \".\", \
         or \"~q\" to throw it away."
    )
}

/// A draft of a description (at most 4,000 characters in 100 lines).
fn description_draft(what: &str, described: Described) -> super::super::Draft {
    super::super::Draft {
        intro: description_intro(what),
        max_chars: MAX_DESCRIPTION_CHARS,
        max_lines: DESCRIPTION_LINES,
        purpose: Purpose::Describe(described),
    }
}

/// Tells whoever saw an item go: the room it lay in, the one carrying it.
fn tell_vanished(ctx: &Ctx<'_>, built: &Built) {
    for gone in &built.vanished {
        let name = capitalised(&gone.name);
        if let Some(room) = &gone.room {
            ctx.game.tell_room(room, &format!("{name} vanishes."), &[]);
        }
        if let Some(carrier) = &gone.carrier {
            carrier.tell(format!("{name} you were carrying vanishes."));
        }
    }
}

/// The reply to a build that was made: the sentence, then a line for each
/// file written, the last line being `Wrote <file>.`.
fn built_reply(built: &Built) -> String {
    let mut reply = match &built.did {
        Did::Change(done) => done_sentence(done),
        Did::Undone(summary) => format!("Undone: {summary}."),
        Did::Redone(summary) => format!("Redone: {summary}."),
    };
    if built.rescued > 0 {
        let _ = write!(
            reply,
            "\n{} player(s) whose room is gone went to the spawn.",
            built.rescued
        );
    }
    for file in built.written.iter().filter(|f| f.normalised) {
        let _ = write!(
            reply,
            "\n{} was in another layout: it is now in gaslamp's (one entry a line, two-space \
             indent), so later builds change only what they touch.",
            file.path.display()
        );
    }
    for file in built.written.iter().filter(|f| f.removed) {
        let _ = write!(reply, "\nRemoved {}.", file.path.display());
    }
    for file in built.written.iter().filter(|f| !f.removed) {
        let _ = write!(reply, "\nWrote {}.", file.path.display());
    }
    reply
}

/// The sentence of a change (SPEC §13's `Dug ...` first among them).
fn done_sentence(done: &Done) -> String {
    match done {
        Done::Dug {
            name,
            room,
            exit,
            back,
        } => match back {
            Some(back) => format!("Dug {name} ({room}): exit {exit}.\nThe way back: {back}."),
            None => format!("Dug {name} ({room}): exit {exit}."),
        },
        Done::Linked {
            exit,
            to,
            to_name,
            back,
            ..
        } => match back {
            Some(back) => {
                format!("Linked {exit} to {to_name} ({to}).\nThe way back: {back}.")
            }
            None => format!("Linked {exit} to {to_name} ({to})."),
        },
        Done::Unlinked { exit, to, .. } => format!("Unlinked {exit} (it led to {to})."),
        Done::RoomRenamed { name, .. } => format!("This room is now called {name}."),
        Done::RoomDescribed { chars, .. } => {
            format!("This room's description is set ({chars} characters).")
        }
        Done::RoomDestroyed { name, room, exits } => {
            format!("Destroyed {name} ({room}) and {exits} exit(s) to it.")
        }
        Done::Created { item, name } => format!("Created {name} ({item}); it lies here."),
        Done::ItemRenamed { item, name } => format!("{item} is now called {name}."),
        Done::ItemDescribed { item, name, chars } => {
            format!("The description of {name} ({item}) is set ({chars} characters).")
        }
        Done::ItemDestroyed {
            item,
            name,
            listings,
        } => format!("Destroyed {name} ({item}) and its {listings} place(s) in rooms."),
        Done::Zoned { zone, name, spawn } => format!(
            "Made zone {name} ({zone}) with its spawn {spawn}; \"/goto {spawn}\" takes you there."
        ),
        Done::Doored {
            exit, name, key, ..
        } => match key {
            Some(key) => {
                format!("Exit {exit} has a door now: the {name}, locked by {key}.")
            }
            None => format!("Exit {exit} has a door now: the {name}, closed."),
        },
        Done::Undoored { exit, name, .. } => format!("Took the {name} off exit {exit}."),
        Done::NpcPlaced { npc, name, .. } => format!(
            "Placed {name} ({npc}) here. Its description, wander, commands and script are \
             written in the zone file (see docs/scripting.md)."
        ),
    }
}

/// The reply to a build that was not made.
fn failed_reply(ctx: &Ctx<'_>, command: &str, world: &World, failed: &BuildFailed) -> String {
    match failed {
        BuildFailed::NotAllowed => replies::no_permission(command),
        BuildFailed::NoGrant => format!("You don't have permission to build in {}.", world.name),
        BuildFailed::NoWorld => "You are nowhere at all.".to_string(),
        BuildFailed::Refused(refused) => refused_sentence(ctx, world, refused),
        BuildFailed::NoLongerFits(why) => {
            format!("That no longer fits the world ({why}); nothing was written.")
        }
        BuildFailed::Invalid(errors) => invalid_sentence(ctx, errors),
        BuildFailed::ChangedOnDisk(path) => {
            format!("{} was changed on disk; /reload first.", path.display())
        }
        BuildFailed::NotWritten(why) => {
            format!("The world files could not be written ({why}); nothing was changed.")
        }
        BuildFailed::NothingToUndo => format!("You have nothing to undo in {}.", world.name),
        BuildFailed::NothingToRedo => format!("You have nothing to redo in {}.", world.name),
        BuildFailed::Unreadable => {
            "That change cannot be read back from the records; nothing was changed.".to_string()
        }
        BuildFailed::Store(err) => replies::store_error(err).to_string(),
    }
}

/// Why an order was refused, in a builder's words.
fn refused_sentence(ctx: &Ctx<'_>, world: &World, refused: &Refused) -> String {
    let here = ctx.me.room();
    match refused {
        Refused::NameLength => "A name must be 1 to 80 characters.".to_string(),
        Refused::DescriptionLength => "A description may be at most 4,000 characters.".to_string(),
        Refused::ExitName => "An exit name must be 1 to 40 characters, without ':'.".to_string(),
        Refused::NowhereHere => "That room is no longer in the world's files.".to_string(),
        Refused::ExitTaken { room, exit, to } if *room == here => {
            format!("There is already an exit {exit} here, to {to}; \"/unlink {exit}\" first.")
        }
        Refused::ExitTaken { room, exit, to } => {
            format!("{room} already has an exit {exit}, to {to}.")
        }
        Refused::NoExit(exit) => format!("There is no exit {exit} here."),
        Refused::NoRoom { typed, nearest } => no_room(world, typed, nearest),
        Refused::NoWayBack(exit) => format!(
            "\"both\" makes the way back only for a direction, and {exit} is none; \
             link the way back from there."
        ),
        Refused::Spawn { room, of } => {
            format!("{room} is the spawn of {of}, so it cannot be destroyed.")
        }
        Refused::NoItem(item) => format!("There is no item {item}."),
        Refused::ZoneId => {
            "A zone id may hold only letters, digits, '_' and '-' (at most 40).".to_string()
        }
        Refused::ZoneTaken(zone) => format!("There is already a zone {zone}."),
        Refused::DoorThere { exit, name } => {
            format!("Exit {exit} already has a door, the {name}; \"/undoor {exit}\" first.")
        }
        Refused::NoDoor(exit) => format!("Exit {exit} has no door."),
        Refused::LastWayOut(room) => format!(
            "That would take the last way out of {room}, the world's spawn; nothing was written."
        ),
    }
}

/// `There is no room "x" in <World>. Nearest: a, b, c.`
pub fn no_room(world: &World, typed: &str, nearest: &[RoomId]) -> String {
    let mut text = format!("There is no room \"{typed}\" in {}.", world.name);
    if !nearest.is_empty() {
        let ids: Vec<&str> = nearest.iter().map(RoomId::as_str).collect();
        let _ = write!(text, " Nearest: {}.", ids.join(", "));
    }
    text
}

/// The check that refused a change: its first error, the file named from
/// the worlds folder.
fn invalid_sentence(ctx: &Ctx<'_>, errors: &[WorldError]) -> String {
    let dir = &ctx.game.config().worlds_dir;
    let mut text = String::from("That change was refused; nothing was written:");
    for error in errors.iter().take(3) {
        let file = error
            .file
            .strip_prefix(dir)
            .unwrap_or(&error.file)
            .display();
        if error.field.is_empty() {
            let _ = write!(text, "\n  {file}: {}", error.message);
        } else {
            let _ = write!(text, "\n  {file}: {}: {}", error.field, error.message);
        }
    }
    if errors.len() > 3 {
        let _ = write!(text, "\n  ... and {} more.", errors.len() - 3);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Written;
    use std::path::PathBuf;

    #[test]
    fn a_reply_ends_with_the_files_written() {
        let written = |path: &str, normalised, removed| Written {
            path: PathBuf::from(path),
            normalised,
            removed,
        };
        let built = Built {
            did: Did::Change(Done::Dug {
                name: "The Cellar".into(),
                room: RoomId::new("town", "the_cellar"),
                exit: "d".into(),
                back: Some("u".into()),
            }),
            written: vec![
                written("w/world.json", false, false),
                written("w/zones/old.json", false, true),
                written("w/zones/town.json", true, false),
            ],
            vanished: Vec::new(),
            rescued: 0,
        };
        let reply = built_reply(&built);
        let lines: Vec<&str> = reply.lines().collect();
        assert_eq!(lines[0], "Dug The Cellar (town:the_cellar): exit d.");
        assert_eq!(lines[1], "The way back: u.");
        assert!(lines[2].starts_with("w/zones/town.json was in another layout"));
        assert_eq!(
            &lines[3..],
            [
                "Removed w/zones/old.json.",
                "Wrote w/world.json.",
                "Wrote w/zones/town.json."
            ]
        );
        assert_eq!(capitalised("a brass key"), "A brass key");
    }
}
