//! `look`, `look <thing>`, `examine` and `exits`: describing the world to the
//! player (the shared describing and name matching live in `common`, so every
//! command matches names the same way).

use std::fmt::Write;

use super::Ctx;
use super::common::{
    Found, NOT_HERE, Named, carried, container_named, counted_list, describe_room, direction_named,
    exit_exactly, exit_name, find_item, listed_exits, npc_here, person_here, which_names,
    which_one,
};
use super::spec::{Group, Needs, Spec, done, finished};
use crate::world::{Exit, World};

pub static LOOK: Spec = Spec {
    name: "look",
    aliases: &["l"],
    usage: "look [thing]",
    summary: "Describe the room, or a thing or person in it.",
    details: "Shows the room: its name, description, exits, what lies here and who is here. With a word, looks at a person here or a thing here or in your hands; with a way out, says where it leads and whether its door is closed; \"look in <container>\" shows what it holds.",
    example: "look, look lamp, look north",
    run: |ctx, _, thing| {
        if thing.is_empty() {
            look_room(ctx);
            finished()
        } else {
            done(look_at(ctx, thing))
        }
    },
    ..Spec::player(Group::Looking)
};

pub static EXAMINE: Spec = Spec {
    name: "examine",
    aliases: &["x"],
    usage: "examine <thing>",
    summary: "Look closely at a thing you carry or see here, or at someone here.",
    details: "Looks closely at a thing you carry or see here, or at someone here. Any word of a thing's name will do.",
    example: "examine key",
    needs: Needs::Text,
    run: |ctx, _, thing| done(look_at(ctx, thing)),
    ..Spec::player(Group::Looking)
};

pub static EXITS: Spec = Spec {
    name: "exits",
    usage: "exits",
    summary: "List the exits and where they lead.",
    details: "Lists every way out of the room and the room each one leads to.",
    example: "exits",
    run: |ctx, _, _| {
        exits(ctx);
        finished()
    },
    ..Spec::player(Group::Moving)
};

/// `look` with no argument.
fn look_room(ctx: &Ctx<'_>) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    ctx.reply_styled(describe_room(ctx.game, &world, &ctx.me.room(), ctx.me));
}

/// `look <thing>` and `examine <thing>`: someone standing here, or an item
/// carried or lying here.
async fn look_at(ctx: &Ctx<'_>, thing: &str) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let thing = thing.strip_prefix("at ").unwrap_or(thing).trim();
    if let Some(container) = thing.strip_prefix("in ") {
        return look_in(ctx, &world, container).await;
    }
    // An exit named whole, or a direction, before anything else: `look
    // north` is a look that way.
    if let Some(exit) = world
        .room(&ctx.me.room())
        .and_then(|room| exit_exactly(room, thing))
    {
        return ctx.reply(look_through(ctx, &world, exit));
    }
    // People first, as items are: a thing is only looked for when nobody here
    // answers to the words.
    let person = match person_here(ctx, thing) {
        Named::One(person) => person,
        Named::Several(names) => return ctx.reply(which_names(&names)),
        Named::Nobody if let Some(npc) = npc_here(ctx, thing) => {
            let described = world.npc(&npc.key).map_or("", |n| n.description.as_str());
            return ctx.reply(format!("{}\n{described}", npc.name));
        }
        Named::Nobody => {
            let Some(mut instances) = carried(ctx).await else {
                return;
            };
            instances.extend(ctx.game.items_here(&ctx.me.room_key()));
            return match find_item(&world, &instances, thing) {
                Found::Nothing => ctx.reply(NOT_HERE),
                Found::One(item, _) => ctx.reply(format!("{}\n{}", item.name, item.description)),
                Found::Several(names) => ctx.reply(which_one(&names)),
            };
        }
    };
    let described = ctx.game.description_of(person.character_id);
    let text = match (person.conn_id == ctx.me.conn_id, described) {
        (true, Some(description)) => format!("You look yourself over.\n{description}"),
        (true, None) => "You look yourself over. Presentable enough.".to_string(),
        (false, Some(description)) => format!("{}\n{description}", person.name),
        (false, None) => format!("{} is here, looking back at you.", person.name),
    };
    ctx.reply(text);
}

/// `look in <container>`: what it holds, several of a kind counted.
async fn look_in(ctx: &Ctx<'_>, world: &World, container: &str) {
    let Some((bag, instance, _)) = container_named(ctx, world, container).await else {
        return;
    };
    let inside = match ctx.game.contents(&instance).await {
        Ok(inside) => inside,
        Err(err) => return ctx.store_trouble(&err),
    };
    if inside.is_empty() {
        return ctx.reply(format!("There is nothing in {}.", bag.name));
    }
    let names: Vec<&str> = inside
        .iter()
        .map(|one| {
            world
                .item(&one.key)
                .map_or("something", |item| item.name.as_str())
        })
        .collect();
    ctx.reply(format!("In {}: {}.", bag.name, counted_list(&names)));
}

/// `look <direction>`: where the exit leads, and whether its door is shut:
/// `To the south lies The Bonded Warehouse.` then `The iron door is closed.`
fn look_through(ctx: &Ctx<'_>, world: &World, exit: &Exit) -> String {
    let to = world
        .room(&exit.to)
        .map_or("somewhere", |room| room.name.as_str());
    let mut text = match direction_named(&exit.name) {
        Some("up") => format!("Above lies {to}."),
        Some("down") => format!("Below lies {to}."),
        Some(direction) => format!("To the {direction} lies {to}."),
        None => format!("The {} leads to {to}.", exit.name),
    };
    if let Some(door) = &exit.door {
        let state = ctx.game.door_state(&world.id, door);
        let is = if state.closed { "closed" } else { "open" };
        let _ = write!(text, "\nThe {} is {is}.", door.name);
    }
    text
}

/// `exits`: each exit and the room it leads to.
fn exits(ctx: &Ctx<'_>) {
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
    let exits = listed_exits(room);
    // A screen reader reads padding aloud: no columns for it.
    let width = if ctx.screen_reader() {
        0
    } else {
        exits.iter().map(|e| exit_name(e).len()).max().unwrap_or(0)
    };
    let mut text = String::from("Exits:");
    for exit in exits {
        let to = world
            .room(&exit.to)
            .map_or("somewhere", |r| r.name.as_str());
        let name = exit_name(exit);
        if width == 0 {
            let _ = write!(text, "\n{name}: {to}");
        } else {
            let _ = write!(text, "\n  {name:width$}  {to}");
        }
        if exit.to.zone() != here.zone()
            && let Some(zone) = world.zone(exit.to.zone())
        {
            let _ = write!(text, " ({})", zone.name);
        }
        if let Some(door) = &exit.door {
            let state = ctx.game.door_state(&world.id, door);
            let is = if state.closed { "closed" } else { "open" };
            let _ = write!(text, ", through the {} ({is})", door.name);
        }
    }
    ctx.reply(text);
}
