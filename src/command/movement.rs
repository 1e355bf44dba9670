//! Walking: the direction commands, `go <exit>` and `recall`/`home`.
//!
//! A handler finds where the player means to go and asks the game to move
//! them (`Game::move_player`); what the rooms hear and the room the player
//! then sees are the narrator's (`narrate`).

use super::Ctx;
use super::common::find_exit;
use super::spec::{Group, Needs, Spec, done};
use crate::game::{How, MoveRefused, WalkRefused};
use crate::world::RoomId;

/// A direction command: walks through the exit of that direction.
const fn direction(name: &'static str, aliases: &'static [&'static str]) -> Spec {
    Spec {
        name,
        aliases,
        usage: name,
        summary: "Walk through the exit of that name.",
        details: "Walks through the exit of that name, if the room has one; the room you leave sees you go, the one you reach sees you arrive.",
        example: name,
        run: |ctx, spec, _| done(go(ctx, spec.name)),
        ..Spec::player(Group::Moving)
    }
}

pub static NORTH: Spec = direction("north", &["n"]);
pub static SOUTH: Spec = direction("south", &["s"]);
pub static EAST: Spec = direction("east", &["e"]);
pub static WEST: Spec = direction("west", &["w"]);
pub static NORTHEAST: Spec = direction("northeast", &["ne"]);
pub static NORTHWEST: Spec = direction("northwest", &["nw"]);
pub static SOUTHEAST: Spec = direction("southeast", &["se"]);
pub static SOUTHWEST: Spec = direction("southwest", &["sw"]);
pub static UP: Spec = direction("up", &["u"]);
pub static DOWN: Spec = direction("down", &["d"]);

pub static GO: Spec = Spec {
    name: "go",
    usage: "go <exit>",
    summary: "Walk through any exit the room has, by name.",
    details: "Walks through an exit by any name the room gives it (door, stairs, in). The directions have their own short commands: n, e, s, w, ne, nw, se, sw, u, d.",
    example: "go stairs",
    needs: Needs::Text,
    run: |ctx, _, exit| done(go(ctx, exit)),
    ..Spec::player(Group::Moving)
};

pub static RECALL: Spec = Spec {
    name: "recall",
    aliases: &["home"],
    usage: "recall",
    summary: "Go back to the world's starting room.",
    details: "Takes you back to the room this world starts everyone in, wherever you are.",
    example: "recall",
    run: |ctx, _, _| done(recall(ctx)),
    ..Spec::player(Group::Moving)
};

/// Moves the player through the exit it names.
async fn go(ctx: &Ctx<'_>, wanted: &str) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let Some(exit) = world
        .room(&ctx.me.room())
        .and_then(|room| find_exit(room, wanted))
    else {
        return ctx.reply("You can't go that way.");
    };
    match ctx.game.walk(ctx.me, exit).await {
        Ok(()) => {}
        Err(WalkRefused::DoorClosed(door)) => ctx.reply(format!("The {} is closed.", door.name)),
        // Moved by someone else meanwhile: the walk is for the room it left.
        Err(WalkRefused::Moved | WalkRefused::Move(MoveRefused::NotPlaying)) => {}
        Err(WalkRefused::Move(MoveRefused::NoSuchRoom)) => ctx.reply("You can't go that way."),
    }
}

/// `recall` and `home`: back to the world's default spawn room.
async fn recall(ctx: &Ctx<'_>) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let spawn: RoomId = world.default_spawn.clone();
    let Some(room) = world.room(&spawn) else {
        return ctx.reply("There is nowhere to recall to.");
    };
    if spawn == ctx.me.room() {
        return ctx.reply(format!("You are already at {}.", room.name));
    }
    if ctx.game.move_player(ctx.me, &spawn, How::Recalled).await == Err(MoveRefused::NoSuchRoom) {
        ctx.reply("There is nowhere to recall to.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::table::COMMANDS;
    use crate::game::data::DIRECTIONS;
    use crate::world::{Exit, Room};

    fn room(exits: &[&str]) -> Room {
        Room {
            id: RoomId::new("z", "here"),
            num: 1,
            name: "Here".into(),
            description: String::new(),
            exits: exits
                .iter()
                .map(|name| Exit {
                    name: name.to_string(),
                    key: name.to_lowercase(),
                    to: RoomId::new("z", name),
                    door: None,
                })
                .collect(),
            items: Vec::new(),
            commands: Vec::new(),
            script: None,
        }
    }

    fn found(room: &Room, wanted: &str) -> Option<String> {
        find_exit(room, wanted).map(|exit| exit.name.clone())
    }

    #[test]
    fn directions_match_however_either_side_writes_them() {
        let abbreviated = room(&["se", "north", "trapdoor", "Gate"]);
        assert_eq!(found(&abbreviated, "southeast").as_deref(), Some("se"));
        assert_eq!(found(&abbreviated, "se").as_deref(), Some("se"));
        assert_eq!(found(&abbreviated, "n").as_deref(), Some("north"));
        assert_eq!(found(&abbreviated, "trap").as_deref(), Some("trapdoor"));
        assert_eq!(found(&abbreviated, "gate").as_deref(), Some("Gate"));
        assert_eq!(found(&abbreviated, "up"), None);
        let spelled = room(&["southwest", "n"]);
        assert_eq!(found(&spelled, "sw").as_deref(), Some("southwest"));
        assert_eq!(found(&spelled, "NORTH").as_deref(), Some("n"));
    }

    #[test]
    fn the_direction_commands_are_the_games_directions() {
        for (long, short) in DIRECTIONS {
            let spec = COMMANDS
                .iter()
                .find(|spec| spec.name == long)
                .unwrap_or_else(|| panic!("no command {long}"));
            assert_eq!(spec.aliases, [short], "{long}");
            assert_eq!(spec.group, Group::Moving, "{long}");
        }
    }
}
