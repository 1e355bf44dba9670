//! Building rooms: `/dig`, `/link`, `/unlink`, `/rname`, `/rdesc`,
//! `/rdestroy` and `/zone`, each an order for the game's build action; and
//! `/rooms`, the list a builder finds rooms by.

use std::collections::BTreeMap;

use super::super::super::Ctx;
use super::super::super::Flow;
use super::super::super::parse::split_word;
use super::super::super::spec::{Group, Needs, Spec, done};
use super::super::{authorize, table};
use super::{build_here, description_draft, may_build};
use crate::auth::Role;
use crate::command::Described;
use crate::world::plan::Order;
use crate::world::{RoomId, World};

pub static DIG: Spec = Spec {
    name: "dig",
    usage: "/dig <exit> <room name>",
    summary: "Dig a new room through a new exit (and the way back for a direction).",
    details: "Makes a new room in this zone and an exit to it from here. For a direction\n(n/s, e/w, ne/sw, nw/se, u/d, in/out) the way back is made too, in the form typed.\nThe room's id comes from its name: lower case, _ for spaces, a number when taken.",
    example: "/dig down The Coal Cellar",
    needs: Needs::Text,
    run: |ctx, spec, args| done(dig(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static LINK: Spec = Spec {
    name: "link",
    usage: "/link <exit> <room> [both]",
    summary: "Make an exit from here to a room (with \"both\", the way back too).",
    details: "Makes an exit from here to an existing room (its id, or zone:room). With \"both\"\nthe way back is made from there, for a direction. An unknown room is answered\nwith the nearest ids.",
    example: "/link east quayside:long_quay both",
    needs: Needs::Text,
    run: |ctx, spec, args| done(link(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static UNLINK: Spec = Spec {
    name: "unlink",
    usage: "/unlink <exit>",
    summary: "Remove an exit from here.",
    details: "Removes an exit from this room (the way back, if any, stays: unlink it there).\nThe last way out of the world's spawn room is never removed.",
    example: "/unlink east",
    needs: Needs::Text,
    run: |ctx, spec, args| done(unlink(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static RNAME: Spec = Spec {
    name: "rname",
    usage: "/rname <name>",
    summary: "Rename this room.",
    details: "Renames the room you stand in (1 to 80 characters); its id stays, so exits\nand saved maps still lead to it.",
    example: "/rname The Coal Cellar",
    needs: Needs::Text,
    run: |ctx, spec, args| done(rname(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static RDESC: Spec = Spec {
    name: "rdesc",
    usage: "/rdesc [text]",
    summary: "Describe this room: on one line, or alone for the editor.",
    details: "Sets the description of the room you stand in (up to 4,000 characters). Alone,\nit opens the editor: type lines, end with a line holding only \".\", or \"~q\" to\nthrow the text away.",
    example: "/rdesc Coal dust hangs in the air, and something drips.",
    run: |ctx, spec, args| Box::pin(rdesc(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static RDESTROY: Spec = Spec {
    name: "rdestroy",
    usage: "/rdestroy",
    summary: "Destroy this room and every exit to it (never a spawn room).",
    details: "Removes the room you stand in and every exit leading to it. Anyone in it is\nsent to the world's spawn. A spawn room cannot be destroyed; /undo brings\nthe room back.",
    example: "/rdestroy",
    abbreviable: false,
    run: |ctx, spec, _| done(rdestroy(ctx, spec)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static ROOMS: Spec = Spec {
    name: "rooms",
    usage: "/rooms [zone or text]",
    summary: "List rooms of this world: id, name, exits, who is there.",
    details: "Lists the rooms of this world with their ids, names, exits and who is there;\na zone id lists that zone, other text the rooms whose id or name holds it.",
    example: "/rooms quayside",
    run: |ctx, spec, args| done(rooms(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static ZONE: Spec = Spec {
    name: "zone",
    usage: "/zone <id> <name>",
    summary: "Make a new zone in this world, with one room, its spawn.",
    details: "Makes a new zone file (zones/<id>.json) with one room, the zone's spawn, and\nlists it in world.json. Go there with /goto <id>:<room>.",
    example: "/zone docks The Docks",
    needs: Needs::Text,
    run: |ctx, spec, args| done(zone(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

/// `/dig <exit> <room name>`.
async fn dig(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (exit, name) = split_word(args);
    if name.is_empty() {
        return ctx.reply(format!("Usage: {}", spec.usage));
    }
    let order = Order::Dig {
        exit: exit.to_string(),
        name: name.to_string(),
    };
    build_here(ctx, spec.name, order).await;
}

/// `/link <exit> <room> [both]`.
async fn link(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (exit, rest) = split_word(args);
    let (to, both) = split_word(rest);
    let both = match both.to_ascii_lowercase().as_str() {
        "" => false,
        "both" => true,
        _ => return ctx.reply(format!("Usage: {}", spec.usage)),
    };
    if to.is_empty() {
        return ctx.reply(format!("Usage: {}", spec.usage));
    }
    let order = Order::Link {
        exit: exit.to_string(),
        to: to.to_string(),
        both,
    };
    build_here(ctx, spec.name, order).await;
}

/// `/unlink <exit>`.
async fn unlink(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let order = Order::Unlink {
        exit: args.to_string(),
    };
    build_here(ctx, spec.name, order).await;
}

/// `/rname <name>`.
async fn rname(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    build_here(ctx, spec.name, Order::RoomName(args.to_string())).await;
}

/// `/rdesc [text]`: the text, or alone the editor (once the player is known
/// to be allowed to build here).
async fn rdesc(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) -> Flow {
    if !args.is_empty() {
        build_here(ctx, spec.name, Order::RoomDescription(args.to_string())).await;
        return Flow::Continue;
    }
    if !may_build(ctx, spec.name).await {
        return Flow::Continue;
    }
    let room = ctx.me.room();
    let what = ctx
        .world()
        .and_then(|world| world.room(&room).map(|r| r.name.clone()))
        .unwrap_or_else(|| "this room".to_string());
    Flow::Write(description_draft(&what, Described::Room { room }))
}

/// `/rdestroy`.
async fn rdestroy(ctx: &Ctx<'_>, spec: &'static Spec) {
    build_here(ctx, spec.name, Order::RoomDestroy).await;
}

/// `/zone <id> <name>`.
async fn zone(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (id, name) = split_word(args);
    if name.is_empty() {
        return ctx.reply(format!("Usage: {}", spec.usage));
    }
    let order = Order::Zone {
        id: id.to_string(),
        name: name.to_string(),
    };
    build_here(ctx, spec.name, order).await;
}

/// How many rooms `/rooms` lists at most; narrower words find the rest.
const LISTED: usize = 100;

/// `/rooms [zone or text]`: id, name, exits and who is there, zone by zone
/// in file order.
async fn rooms(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let wanted = args.trim();
    if !authorize(
        ctx,
        spec,
        None,
        (!wanted.is_empty()).then(|| wanted.to_string()),
    )
    .await
    {
        return;
    }
    let found = matching_rooms(&world, wanted);
    if found.is_empty() {
        return ctx.reply(format!(
            "No room of {} matches \"{wanted}\"; \"/rooms\" lists them all.",
            world.name
        ));
    }
    let mut who: BTreeMap<RoomId, Vec<String>> = BTreeMap::new();
    for player in ctx.game.players_in(&world.id) {
        who.entry(player.room())
            .or_default()
            .push(player.name.to_string());
    }
    let rows: Vec<Vec<String>> = found
        .iter()
        .take(LISTED)
        .filter_map(|id| world.room(id))
        .map(|room| {
            let exits: Vec<&str> = room.exits.iter().map(|e| e.name.as_str()).collect();
            let here = who.get(&room.id).map(|names| names.join(", "));
            vec![
                room.id.to_string(),
                room.name.clone(),
                exits.join(" "),
                here.unwrap_or_default(),
            ]
        })
        .collect();
    let mut text = format!("Rooms of {} ({}):\n", world.name, found.len());
    text.push_str(&table(&["id", "name", "exits", "who"], &rows));
    if found.len() > LISTED {
        text.push_str(&format!(
            "\n... and {} more; \"/rooms <zone or text>\" narrows the list.",
            found.len() - LISTED
        ));
    }
    ctx.reply(text);
}

/// The rooms `/rooms` lists for `wanted`: all, a zone's (its id), or those
/// whose id or name holds the text, in zone and file order.
fn matching_rooms(world: &World, wanted: &str) -> Vec<RoomId> {
    let all = world.zones.iter().flat_map(|zone| zone.rooms.iter());
    if wanted.is_empty() {
        return all.cloned().collect();
    }
    if let Some(zone) = world
        .zones
        .iter()
        .find(|zone| zone.id.eq_ignore_ascii_case(wanted))
    {
        return zone.rooms.clone();
    }
    let text = wanted.to_lowercase();
    all.filter(|id| {
        id.as_str().to_lowercase().contains(&text)
            || world
                .room(id)
                .is_some_and(|room| room.name.to_lowercase().contains(&text))
    })
    .cloned()
    .collect()
}
