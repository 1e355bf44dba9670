//! `look`, `look <thing>` and `exits`: describing the world to the player.

use std::fmt::Write;

use super::Ctx;
use crate::game::{Game, RoomKey};
use crate::world::{Item, RoomId, World};

/// The full description of a room as `viewer` sees it: name, description, exits,
/// items, and the others present.
pub fn describe_room(game: &Game, world: &World, room_id: &RoomId, viewer: u64) -> String {
    let Some(room) = world.room(room_id) else {
        return "You are nowhere at all.".to_string();
    };
    let mut text = format!(
        "{}\n{}\n{}",
        room.name,
        room.description,
        exits_line(world, room_id)
    );
    let key = RoomKey {
        world: std::sync::Arc::from(world.id.as_str()),
        room: room_id.clone(),
    };
    let items: Vec<&str> = game
        .items
        .in_room(&key)
        .iter()
        .filter_map(|item| world.item(&item.key))
        .map(|item| item.name.as_str())
        .collect();
    if !items.is_empty() {
        let _ = write!(text, "\nYou see: {}.", items.join(", "));
    }
    let others: Vec<String> = game
        .registry
        .occupants(&key)
        .iter()
        .filter(|p| p.conn_id != viewer)
        .map(|p| p.name.to_string())
        .collect();
    if !others.is_empty() {
        let _ = write!(text, "\nAlso here: {}.", others.join(", "));
    }
    text
}

/// `Exits: north, south.` (or `Exits: none.`).
pub fn exits_line(world: &World, room_id: &RoomId) -> String {
    let names: Vec<&str> = world
        .room(room_id)
        .map(|room| room.exits.iter().map(|e| e.name.as_str()).collect())
        .unwrap_or_default();
    if names.is_empty() {
        "Exits: none.".to_string()
    } else {
        format!("Exits: {}.", names.join(", "))
    }
}

/// `look` with no argument.
pub fn look_room(ctx: &Ctx<'_>) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    ctx.reply(describe_room(
        ctx.game,
        &world,
        &ctx.me.room(),
        ctx.me.conn_id,
    ));
}

/// `look <thing>`: an item in the room, or someone standing here.
pub fn look_at(ctx: &Ctx<'_>, thing: &str) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let thing = thing.strip_prefix("at ").unwrap_or(thing).trim();
    let here = ctx.me.room_key();
    if let Some(person) = ctx
        .game
        .registry
        .occupants(&here)
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(thing))
    {
        let text = if person.conn_id == ctx.me.conn_id {
            "You look yourself over. Presentable enough.".to_string()
        } else {
            format!("{} is here, looking back at you.", person.name)
        };
        return ctx.reply(text);
    }
    let items: Vec<&Item> = ctx
        .game
        .items
        .in_room(&here)
        .iter()
        .filter_map(|item| world.item(&item.key))
        .collect();
    match match_items(&items, thing).as_slice() {
        [] => ctx.reply(format!("You see no \"{thing}\" here.")),
        [item] => ctx.reply(format!("{}\n{}", item.name, item.description)),
        several => {
            let names: Vec<&str> = several.iter().map(|i| i.name.as_str()).collect();
            ctx.reply(format!("Which do you mean: {}?", names.join(", ")))
        }
    }
}

/// Items whose name (or any word of it, or id) matches `wanted`, case-insensitive.
/// An exact full-name match wins over word matches; duplicates of the same item
/// count once.
pub fn match_items<'a>(items: &[&'a Item], wanted: &str) -> Vec<&'a Item> {
    let wanted = wanted.trim().to_lowercase();
    if wanted.is_empty() {
        return Vec::new();
    }
    let exact: Vec<&Item> = items
        .iter()
        .copied()
        .filter(|i| i.name.to_lowercase() == wanted || i.id.to_lowercase() == wanted)
        .collect();
    let mut found = if exact.is_empty() {
        items
            .iter()
            .copied()
            .filter(|i| {
                i.name
                    .to_lowercase()
                    .split_whitespace()
                    .any(|word| word == wanted)
            })
            .collect()
    } else {
        exact
    };
    found.dedup_by(|a, b| a.key == b.key);
    found
}

/// `exits`: each exit and the room it leads to.
pub fn exits(ctx: &Ctx<'_>) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let here = ctx.me.room();
    let Some(room) = world.room(&here) else {
        return ctx.reply("You are nowhere at all.");
    };
    if room.exits.is_empty() {
        return ctx.reply("There is no way out of here.");
    }
    let width = room.exits.iter().map(|e| e.name.len()).max().unwrap_or(0);
    let mut text = String::from("Exits:");
    for exit in &room.exits {
        let to = world
            .room(&exit.to)
            .map_or("somewhere", |r| r.name.as_str());
        let _ = write!(text, "\n  {:width$}  {}", exit.name, to);
        if exit.to.zone() != here.zone()
            && let Some(zone) = world.zone(exit.to.zone())
        {
            let _ = write!(text, " ({})", zone.name);
        }
    }
    ctx.reply(text);
}
