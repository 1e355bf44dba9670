//! `ignore` and `unignore` (SPEC §12 "Ignore"): a player's account stops
//! hearing the account behind a character — its says, emotes, whispers,
//! tells, yells and channel lines, in every world, and its words read back
//! from the records — and nobody is told. A character is named as `tell`
//! names people (any word's start, when they play in that world), or whole,
//! and in another world as `<name>@<world id>`. Staff cannot be ignored.

use std::fmt::Write;

use super::Ctx;
use super::common::{Named, find_person, which_names};
use super::spec::{Group, Needs, Spec, done};
use crate::store::ignores::{IgnoreRefused, Ignored, MAX_IGNORES};
use crate::text::sanitize;

pub static IGNORE: Spec = Spec {
    name: "ignore",
    usage: "ignore [name or name@world]",
    summary: "Stop hearing someone, in every world; alone, list whom you ignore.",
    details: "Stops you hearing the player behind a character: their says, emotes, whispers,\ntells, yells and channel lines, in every world. Nobody is told. A character of\nanother world is name@world. Staff cannot be ignored. Alone, lists whom you ignore.",
    example: "ignore Bob, ignore Bob@lanternfall",
    run: |ctx, _, target| done(ignore(ctx, target)),
    ..Spec::player(Group::Talking)
};

pub static UNIGNORE: Spec = Spec {
    name: "unignore",
    usage: "unignore <name or name@world>",
    summary: "Hear someone you ignored again.",
    details: "Lets you hear someone you ignored again, in every world.",
    example: "unignore Bob",
    needs: Needs::Text,
    run: |ctx, _, target| done(unignore(ctx, target)),
    ..Spec::player(Group::Talking)
};

/// `ignore [name[@world]]`.
async fn ignore(ctx: &Ctx<'_>, target: &str) {
    if target.is_empty() {
        return list(ctx).await;
    }
    let Some((world, name)) = named(ctx, target) else {
        return;
    };
    match ctx.game.ignore(ctx.me, &world, &name).await {
        Ok(ignored) => ctx.reply(format!("You ignore {}.", shown(ctx, &ignored))),
        Err(refused) => refuse(ctx, &world, &name, refused),
    }
}

/// `unignore <name[@world]>`.
async fn unignore(ctx: &Ctx<'_>, target: &str) {
    let Some((world, name)) = named(ctx, target) else {
        return;
    };
    match ctx.game.unignore(ctx.me, &world, &name).await {
        Ok(ignored) => ctx.reply(format!("You stop ignoring {}.", shown(ctx, &ignored))),
        Err(refused) => refuse(ctx, &world, &name, refused),
    }
}

/// The world and the character name `target` names: `name@world`, or a name
/// in the player's own world; someone playing there may be named by any
/// word's start. `None` after telling the player what is wrong.
fn named(ctx: &Ctx<'_>, target: &str) -> Option<(String, String)> {
    let target = sanitize(target);
    let (name, world_id) = match target.rsplit_once('@') {
        Some((name, world)) => (name.trim(), world.trim()),
        None => (target.trim(), &*ctx.me.world),
    };
    let Some(world) = ctx.game.world(world_id) else {
        ctx.reply(format!("There is no world \"{world_id}\"."));
        return None;
    };
    let online = ctx.game.players_in(&world.id);
    let name = match find_person(&online, ctx.me, name) {
        Named::One(person) => person.name.to_string(),
        Named::Several(names) => {
            ctx.reply(which_names(&names));
            return None;
        }
        Named::Nobody => name.to_string(),
    };
    Some((world.id.clone(), name))
}

/// A character as the player knows it: its name, and its world if another.
fn shown(ctx: &Ctx<'_>, ignored: &Ignored) -> String {
    if ignored.world_id == *ctx.me.world {
        ignored.name.clone()
    } else {
        format!("{}@{}", ignored.name, ignored.world_id)
    }
}

fn refuse(ctx: &Ctx<'_>, world: &str, name: &str, refused: IgnoreRefused) {
    ctx.reply(match refused {
        IgnoreRefused::NoSuchCharacter => {
            let world = ctx
                .game
                .world(world)
                .map_or(world.to_string(), |w| w.name.clone());
            format!("There is nobody called {name} in {world}.")
        }
        IgnoreRefused::Yourself => "You cannot ignore yourself.".to_string(),
        IgnoreRefused::Staff => "You cannot ignore staff.".to_string(),
        IgnoreRefused::Full { limit } => {
            format!("You ignore {limit} players already; \"unignore\" one first.")
        }
        IgnoreRefused::NotIgnored(name) => format!("You are not ignoring {name}."),
        IgnoreRefused::Store(err) => crate::replies::store_error(&err).to_string(),
    });
}

/// `ignore` alone: whom the player's account ignores.
async fn list(ctx: &Ctx<'_>) {
    let entries = match ctx.game.ignore_list(ctx.me).await {
        Ok(entries) => entries,
        Err(err) => return ctx.store_trouble(&err),
    };
    if entries.is_empty() {
        return ctx.reply("You ignore nobody.");
    }
    let mut text = format!("You ignore ({} of at most {MAX_IGNORES}):", entries.len());
    for entry in &entries {
        let name = match (&entry.name, &entry.world_id) {
            (Some(name), Some(world)) if *world == *ctx.me.world => name.clone(),
            (Some(name), Some(world)) => format!("{name}@{world}"),
            _ => "a character since deleted".to_string(),
        };
        let _ = write!(text, "\n  {name}");
        if entry.staff {
            text.push_str(" (staff now, so heard all the same)");
        }
    }
    ctx.reply(text);
}
