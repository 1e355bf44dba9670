//! `/script [room|item|npc]`: which script a room, an item kind or an NPC
//! here has, whether it is on, and its last error (SPEC §14); and `/npc
//! <name>`, a new NPC here through the world writer (undoable like every
//! build). Scripts themselves stay files: `check-worlds` checks them,
//! `/reload` loads them.

use super::super::Ctx;
use super::super::common::{Found, carried, find_item, npc_here};
use super::super::spec::{Group, Needs, Spec, done};
use super::authorize;
use super::build::build_here;
use crate::auth::Role;
use crate::script::Owner;
use crate::world::plan::Order;

pub static SCRIPT: Spec = Spec {
    name: "script",
    usage: "/script [npc or item]",
    summary: "Show the script of this room, or of an NPC or item here: file, on or off, last error.",
    details: "Without a word, this room's script; with one, the script of an NPC here or of an item here or carried. Shows the file under the world's scripts/ folder, whether it is on (a script that fails 3 times in a row is off until /reload), and its last error with file and line.",
    example: "/script tam",
    run: |ctx, spec, args| done(script(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static NPC: Spec = Spec {
    name: "npc",
    usage: "/npc <name>",
    summary: "Place a new NPC of this zone here, written in the zone file (undoable).",
    details: "Places a new NPC standing here, written in this zone's file under \"npcs\" with an empty description; its description, wander, commands and script are written in the file (docs/scripting.md). /undo takes it away again.",
    example: "/npc Old Tam",
    needs: Needs::Text,
    run: |ctx, spec, args| {
        done(build_here(
            ctx,
            spec.name,
            Order::Npc {
                name: args.to_string(),
            },
        ))
    },
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

async fn script(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
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
    let (owner, what, file) = if wanted.is_empty() || wanted == "here" || wanted == "room" {
        let here = ctx.me.room();
        let file = world.room(&here).and_then(|r| r.script.clone());
        let name = world
            .room(&here)
            .map_or("This room", |r| r.name.as_str())
            .to_string();
        (Owner::Room(here), name, file)
    } else if let Some(npc) = npc_here(ctx, wanted) {
        let file = world.npc(&npc.key).and_then(|n| n.script.clone());
        (Owner::Npc(npc.key.clone()), npc.name.to_string(), file)
    } else {
        let Some(mut instances) = carried(ctx).await else {
            return;
        };
        instances.extend(ctx.game.items_here(&ctx.me.room_key()));
        match find_item(&world, &instances, wanted) {
            Found::One(item, _) => (
                Owner::Item(item.key.clone()),
                item.name.clone(),
                item.script.clone(),
            ),
            Found::Several(names) => return ctx.reply(super::super::common::which_one(&names)),
            Found::Nothing => {
                return ctx.reply(format!("No NPC or item here answers to \"{wanted}\"."));
            }
        }
    };
    let Some(file) = file else {
        return ctx.reply(format!("{what} has no script."));
    };
    let status = ctx.game.script_status(&world.id, &owner);
    let (on, error) = match &status {
        Some(status) => (status.on, status.last_error.clone()),
        None => (false, Some("not loaded; /reload loads it".to_string())),
    };
    let state = if on { "on" } else { "off until /reload" };
    let mut reply = format!("{what} ({owner}): scripts/{file}, {state}.");
    reply.push_str(&format!(
        "\nLast error: {}.",
        error.as_deref().unwrap_or("none")
    ));
    ctx.reply(reply);
}
