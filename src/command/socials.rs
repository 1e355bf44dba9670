//! Socials, and `finger` (SPEC §12 "Socials and pose"): a social's name is
//! a command of its own (`smile`, `bow Ann`), found by the parser after the
//! commands, the room's exits and the channels; `socials` lists them, and
//! `finger <name>` tells where a character is from, whether it plays now
//! and how idle, or when it was last seen, and its role when it is staff.
//! (`pose` is `emote`'s other name, beside it.)
//!
//! A social's sentences come from the operator's data file
//! ([`crate::socials`]); this file fills them in and says them. Nobody whose
//! account ignores the actor sees the social, the one it was made at
//! included, and nobody is told. Socials are gestures, not talk: they are
//! not kept in the records, as moves are not.

use std::fmt::Write;

use super::Ctx;
use super::common::{Named, not_named, person_here, short_duration, utc_minute, which_names};
use super::spec::{Group, Needs, Spec, done, finished};
use crate::auth::Role;
use crate::replies;
use crate::socials::Social;
use crate::text::sanitize;

pub static SOCIALS: Spec = Spec {
    name: "socials",
    usage: "socials",
    summary: "List the socials: gestures such as smile, or \"bow <name>\" at someone here.",
    details: "Lists the socials. Type a social's name alone to make it at the room\n\
              (\"smile\": You smile.), or with someone's name to make it at them\n\
              (\"smile Ann\": You smile at Ann.). Commands and exits come first: a social\n\
              named like an exit of the room is the exit there.",
    example: "socials",
    run: |ctx, _, _| {
        list(ctx);
        finished()
    },
    ..Spec::player(Group::Talking)
};

pub static FINGER: Spec = Spec {
    name: "finger",
    usage: "finger <name or name@world>",
    summary: "Where a character is from, whether it plays now, or when it was last seen.",
    details: "Tells a character's world, whether it plays now and how long it has been idle,\n\
              or when it was last seen, and its role when it is staff. A character of\n\
              another world is name@world.",
    example: "finger Ann",
    needs: Needs::Text,
    run: |ctx, _, target| done(finger(ctx, target)),
    ..Spec::player(Group::Information)
};

/// A social typed as a command, with what followed it.
pub fn social_command(ctx: &Ctx<'_>, name: &str, args: &str) {
    let Some(social) = ctx.game.socials().get(&name.to_lowercase()).cloned() else {
        return ctx.reply(replies::UNKNOWN_COMMAND);
    };
    if args.is_empty() {
        return alone(ctx, &social);
    }
    match person_here(ctx, args) {
        Named::One(target) if target.conn_id == ctx.me.conn_id => alone(ctx, &social),
        Named::One(target) => {
            let me = ctx.me;
            ctx.reply(Social::fill(&social.you_at, &me.name, &target.name));
            if ctx.game.deaf_to(me).hears(&target) {
                target.tell(Social::fill(&social.target, &me.name, &target.name));
            }
            let seen = Social::fill(&social.room_at, &me.name, &target.name);
            ctx.game
                .tell_room_from(me, &me.room_key(), &seen, &[me.conn_id, target.conn_id]);
        }
        named => not_named(ctx, named, args, "here"),
    }
}

/// A social made at nobody: the player, then the room.
fn alone(ctx: &Ctx<'_>, social: &Social) {
    let me = ctx.me;
    ctx.reply(Social::fill(&social.you, &me.name, ""));
    let seen = Social::fill(&social.room, &me.name, "");
    ctx.game
        .tell_room_from(me, &me.room_key(), &seen, &[me.conn_id]);
}

/// `socials`: the names, wrapped as the client's lines.
fn list(ctx: &Ctx<'_>) {
    let socials = ctx.game.socials();
    if socials.is_empty() {
        return ctx.reply("There are no socials here.");
    }
    let mut text = format!(
        "Socials ({}; \"<social> <name>\" makes one at someone here):\n ",
        socials.len()
    );
    for name in socials.names() {
        let _ = write!(text, " {name}");
    }
    ctx.reply(text);
}

/// `finger <name[@world]>`.
async fn finger(ctx: &Ctx<'_>, target: &str) {
    let target = sanitize(target);
    let (name, world_id) = match target.rsplit_once('@') {
        Some((name, world)) => (name.trim(), world.trim()),
        None => (target.trim(), &*ctx.me.world),
    };
    let Some(world) = ctx.game.world(world_id) else {
        return ctx.reply(format!("There is no world \"{world_id}\"."));
    };
    // Someone playing in that world may be named as `tell` names them.
    let online = ctx.game.players_in(&world.id);
    let name = match super::common::find_person(&online, ctx.me, name) {
        Named::One(person) => person.name.to_string(),
        Named::Several(names) => return ctx.reply(which_names(&names)),
        Named::Nobody => name.to_string(),
    };
    let fingered = match ctx.game.finger(&world.id, &name).await {
        Ok(Some(fingered)) => fingered,
        Ok(None) => {
            return ctx.reply(format!("There is nobody called {name} in {}.", world.name));
        }
        Err(err) => return ctx.store_trouble(&err),
    };
    let found = &fingered.found;
    let mut text = format!("{}, of {}", found.name, world.name);
    if found.role >= Role::Admin {
        let _ = write!(text, " ({})", found.role);
    }
    match (fingered.idle, &found.last_seen) {
        (Some(idle), _) => {
            let _ = write!(text, ": playing now, idle {}.", short_duration(idle));
        }
        (None, Some(seen)) => {
            let _ = write!(text, ": last seen {} UTC.", utc_minute(seen));
        }
        (None, None) => text.push_str(": never seen playing."),
    }
    ctx.reply(text);
}
