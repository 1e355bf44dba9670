//! Walking: the direction commands, `go <exit>` and `recall`.

use std::sync::Arc;

use super::Ctx;
use super::common::{describe_room, direction_named, save_location};
use super::parse::Verb;
use crate::game::RoomKey;
use crate::world::{Exit, Room, RoomId, World};

/// Finds the exit a player means: the exact name, the same direction however
/// either is written (`se` typed or `southeast` typed finds an exit a world file
/// calls `se` or `southeast`), or a prefix only one exit name starts with.
pub fn find_exit<'r>(room: &'r Room, wanted: &str) -> Option<&'r Exit> {
    let wanted = wanted.trim().to_lowercase();
    if let Some(exit) = room.exits.iter().find(|e| e.key == wanted) {
        return Some(exit);
    }
    if let Ok(spec) = super::parse::lookup(&wanted)
        && let Verb::Direction(direction) = spec.verb
        && let Some(exit) = room
            .exits
            .iter()
            .find(|e| direction_named(&e.key) == Some(direction))
    {
        return Some(exit);
    }
    let mut prefixed = room.exits.iter().filter(|e| e.key.starts_with(&wanted));
    match (prefixed.next(), prefixed.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// Moves the player through an exit, telling both rooms, and queues the new
/// location for the database.
pub async fn go(ctx: &Ctx<'_>, wanted: &str) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let here = ctx.me.room();
    let Some(exit) = world.room(&here).and_then(|room| find_exit(room, wanted)) else {
        return ctx.reply("You can't go that way.");
    };
    if world.room(&exit.to).is_none() {
        return ctx.reply("You can't go that way.");
    }
    let leaving = format!("{} leaves {}.", ctx.me.name, exit.name);
    move_player(ctx, &world, &exit.to, &leaving).await;
}

/// `recall`: back to the spawn room of the zone the player stands in, with the
/// same leaves/arrives lines as walking.
pub async fn recall(ctx: &Ctx<'_>) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let here = ctx.me.room();
    let spawn = world
        .zone(here.zone())
        .map_or_else(|| world.default_spawn.clone(), |zone| zone.spawn.clone());
    let Some(room) = world.room(&spawn) else {
        return ctx.reply("There is nowhere to recall to.");
    };
    if spawn == here {
        return ctx.reply(format!("You are already at {}.", room.name));
    }
    let leaving = format!("{} leaves.", ctx.me.name);
    move_player(ctx, &world, &spawn, &leaving).await;
}

/// Takes the player from its room to `to`: the old room hears `leaving`, the new
/// one `<Name> arrives.`, the player sees the new room, and the move is queued
/// for the database.
async fn move_player(ctx: &Ctx<'_>, world: &World, to: &RoomId, leaving: &str) {
    let me = ctx.me;
    let registry = ctx.game.registry();
    let Some(left) = registry.move_to(me, to) else {
        return;
    };
    let left = RoomKey::new(&me.world, &left);
    registry.say_to_room(&left, &Arc::from(leaving), &[]);
    let arriving: Arc<str> = Arc::from(format!("{} arrives.", me.name));
    registry.say_to_room(&me.room_key(), &arriving, &[me.conn_id]);
    ctx.reply_styled(describe_room(ctx.game, world, to, me.conn_id));
    ctx.game.moved_in(me, Some(&left));
    save_location(ctx.game, me).await;
}

#[cfg(test)]
mod tests {
    use super::*;

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
                })
                .collect(),
            items: Vec::new(),
        }
    }

    fn found(room: &Room, wanted: &str) -> Option<String> {
        find_exit(room, wanted).map(|exit| exit.name.clone())
    }

    #[test]
    fn directions_match_however_either_side_writes_them() {
        let abbreviated = room(&["se", "north", "trapdoor"]);
        assert_eq!(found(&abbreviated, "southeast").as_deref(), Some("se"));
        assert_eq!(found(&abbreviated, "se").as_deref(), Some("se"));
        assert_eq!(found(&abbreviated, "n").as_deref(), Some("north"));
        assert_eq!(found(&abbreviated, "trap").as_deref(), Some("trapdoor"));
        assert_eq!(found(&abbreviated, "up"), None);
        let spelled = room(&["southwest"]);
        assert_eq!(found(&spelled, "sw").as_deref(), Some("southwest"));
    }

    #[test]
    fn only_exact_direction_words_are_directions() {
        assert_eq!(direction_named("ne"), Some("northeast"));
        assert_eq!(direction_named("down"), Some("down"));
        assert_eq!(direction_named("do"), None);
        assert_eq!(direction_named("door"), None);
    }
}
