//! Picking things up, putting them down, handing them over, and the inventory.
//!
//! A handler finds the thing the player's words name and asks the game to
//! move it (`Game::pick_up`, `put_down`, `hand_over`): one conditional
//! transaction in the store, after which the room cache and clients' views
//! follow. The player and the room are told only then; when the instance was
//! gone (another player was quicker) nothing changes and the player hears so.
//! What a character carries is not cached: it is read from the database when
//! needed.

use std::sync::Arc;

use super::Ctx;
use super::common::{
    Found, NOT_HERE, Named, carried, find_item, not_named, npc_here, person_here, tell_room,
    which_one,
};
use super::spec::{Group, Needs, Spec, done};
use crate::game::{ItemInstance, Player};

pub static INVENTORY: Spec = Spec {
    name: "inventory",
    aliases: &["inv", "i"],
    usage: "inventory",
    summary: "List what you are carrying.",
    details: "Lists what you carry; several of a kind are counted.",
    example: "inventory",
    run: |ctx, _, _| done(inventory(ctx)),
    ..Spec::player(Group::Items)
};

pub static GET: Spec = Spec {
    name: "get",
    aliases: &["take"],
    usage: "get <item>",
    summary: "Pick up something lying here. Any word of its name will do.",
    details: "Picks up something lying here. Any word of its name, or its start, will do; when several things fit you are asked which.",
    example: "get penny",
    needs: Needs::Text,
    run: |ctx, _, item| done(get(ctx, item)),
    ..Spec::player(Group::Items)
};

pub static DROP: Spec = Spec {
    name: "drop",
    usage: "drop <item>",
    summary: "Put down something you carry; it stays here for anyone to find.",
    details: "Puts down something you carry; it stays here, for anyone to find.",
    example: "drop penny",
    needs: Needs::Text,
    run: |ctx, _, item| done(drop(ctx, item)),
    ..Spec::player(Group::Items)
};

pub static GIVE: Spec = Spec {
    name: "give",
    usage: "give <item> [to] <name>",
    summary: "Hand something you carry to someone standing here.",
    details: "Hands something you carry to someone standing here. The \"to\" may be left out; people are named by any word of their name, or its start.",
    example: "give penny to Ann",
    run: |ctx, spec, argument| match gift(argument) {
        Some((item, target)) => done(give(ctx, item, target)),
        None => done(async move { ctx.reply(format!("Usage: {}", spec.usage)) }),
    },
    ..Spec::player(Group::Items)
};

/// `<item> to <name>`, or `<item> <name>`: split at the last word "to", so an
/// item whose name has a "to" in it still works; without one, the last word
/// names the person (any word of a name will do, as people are found).
fn gift(argument: &str) -> Option<(String, String)> {
    let words: Vec<&str> = argument.split_whitespace().collect();
    let to = words
        .iter()
        .rposition(|word| word.eq_ignore_ascii_case("to"));
    match (to, words.len()) {
        (Some(at), n) if at > 0 && at + 1 < n => {
            Some((words[..at].join(" "), words[at + 1..].join(" ")))
        }
        (None, n) if n >= 2 => Some((words[..n - 1].join(" "), words[n - 1].to_string())),
        _ => None,
    }
}

/// The reply when the player names something they do not carry.
pub const NOT_CARRIED: &str = "You aren't carrying that.";

/// `inventory`: `You are carrying: a brass key, a copper penny (2).`
async fn inventory(ctx: &Ctx<'_>) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let Some(instances) = carried(ctx).await else {
        return;
    };
    // Same kinds are counted on one entry, in the order first acquired.
    let mut counted: Vec<(&str, usize)> = Vec::new();
    for instance in &instances {
        let name = world
            .item(&instance.key)
            .map_or("something unrecognisable", |item| item.name.as_str());
        match counted.iter_mut().find(|(seen, _)| *seen == name) {
            Some((_, n)) => *n += 1,
            None => counted.push((name, 1)),
        }
    }
    if counted.is_empty() {
        return ctx.reply("You are carrying nothing.");
    }
    let listed: Vec<String> = counted
        .iter()
        .map(|(name, n)| match n {
            1 => name.to_string(),
            n => format!("{name} ({n})"),
        })
        .collect();
    ctx.reply(format!("You are carrying: {}.", listed.join(", ")));
}

/// `get <item>`: moves an item lying here into the player's hands.
async fn get(ctx: &Ctx<'_>, wanted: &str) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let lying = ctx.game.items_here(&ctx.me.room_key());
    let (item, instances) = match find_item(&world, &lying, wanted) {
        Found::Nothing => return ctx.reply(NOT_HERE),
        Found::Several(names) => return ctx.reply(which_one(&names)),
        Found::One(item, instances) => (item, instances),
    };
    // Any instance of the kind will do: if a quicker player took the first, the
    // next one lying here is just as good.
    match ctx.game.pick_up(ctx.me, instances).await {
        Ok(Some(_)) => {
            ctx.reply(format!("You pick up {}.", item.name));
            let line = format!("{} picks up {}.", ctx.me.name, item.name);
            tell_room(ctx, &line, &[]);
            ctx.game.item_moved_by(ctx.me, &item.key, true);
        }
        Ok(None) => ctx.reply("Someone else got to it first."),
        Err(err) => ctx.store_trouble(&err),
    }
}

/// `drop <item>`: puts something the player carries down here.
async fn drop(ctx: &Ctx<'_>, wanted: &str) {
    let Some((item_name, instance)) = carried_one(ctx, wanted).await else {
        return;
    };
    let key = instance.key.clone();
    match ctx.game.put_down(ctx.me, instance).await {
        Ok(true) => {
            ctx.reply(format!("You drop {item_name}."));
            tell_room(ctx, &format!("{} drops {item_name}.", ctx.me.name), &[]);
            ctx.game.item_moved_by(ctx.me, &key, false);
        }
        Ok(false) => ctx.reply(NOT_CARRIED),
        Err(err) => ctx.store_trouble(&err),
    }
}

/// `give <item> to <name>`: hands something to a player standing here, or
/// to an NPC, who keeps it (and whose script hears `on_give`).
async fn give(ctx: &Ctx<'_>, wanted: String, target: String) {
    let to = match person_here(ctx, &target) {
        Named::One(to) => to,
        Named::Nobody if let Some(npc) = npc_here(ctx, &target) => {
            return give_to_npc(ctx, &wanted, &npc).await;
        }
        other => return not_named(ctx, other, &target, "here"),
    };
    if to.character_id == ctx.me.character_id {
        return ctx.reply("You can't give things to yourself.");
    }
    let Some((item_name, instance)) = carried_one(ctx, &wanted).await else {
        return;
    };
    match ctx.game.hand_over(ctx.me, &to, &instance).await {
        Ok(true) => handed_over(ctx, &to, &item_name),
        Ok(false) => ctx.reply(NOT_CARRIED),
        Err(err) => ctx.store_trouble(&err),
    }
}

/// `give <item> to <npc>`: the NPC keeps it, like a character would.
async fn give_to_npc(ctx: &Ctx<'_>, wanted: &str, npc: &crate::game::npcs::LiveNpc) {
    let Some((item_name, instance)) = carried_one(ctx, wanted).await else {
        return;
    };
    match ctx.game.give_to_npc(ctx.me, npc, instance.id).await {
        Ok(true) => {
            ctx.reply(format!("You give {item_name} to {}.", npc.name));
            let line = format!("{} gives {item_name} to {}.", ctx.me.name, npc.name);
            tell_room(ctx, &line, &[]);
            if let Some(carried) = carried(ctx).await {
                ctx.game.send_inventory_data(ctx.me, &carried);
            }
        }
        Ok(false) => ctx.reply(NOT_CARRIED),
        Err(err) => ctx.store_trouble(&err),
    }
}

/// Tells the giver, the receiver and the rest of the room about a gift.
fn handed_over(ctx: &Ctx<'_>, to: &Arc<Player>, item_name: &str) {
    let me = ctx.me;
    ctx.reply(format!("You give {item_name} to {}.", to.name));
    to.tell(format!("{} gives you {item_name}.", me.name));
    let line = format!("{} gives {item_name} to {}.", me.name, to.name);
    tell_room(ctx, &line, &[to.conn_id]);
}

/// The one carried instance the player's words name, with its item's name.
/// Replies and answers `None` when there is none, or several kinds match.
async fn carried_one(ctx: &Ctx<'_>, wanted: &str) -> Option<(String, ItemInstance)> {
    let Some(world) = ctx.world() else {
        ctx.reply("You are nowhere at all.");
        return None;
    };
    let instances = carried(ctx).await?;
    match find_item(&world, &instances, wanted) {
        Found::One(item, of_kind) => Some((item.name.clone(), of_kind.into_iter().next()?)),
        Found::Several(names) => {
            ctx.reply(which_one(&names));
            None
        }
        Found::Nothing => {
            ctx.reply(NOT_CARRIED);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gift_splits_at_the_last_to_or_before_the_last_word() {
        let split = |argument| gift(argument).map(|(item, to)| format!("{item} | {to}"));
        let cases = [
            (
                "a tin of wicks TO Mary Ann",
                Some("a tin of wicks | Mary Ann"),
            ),
            ("copper penny ben", Some("copper penny | ben")),
            ("box to go to Ann", Some("box to go | Ann")),
            ("penny", None),
            ("to Ben", None),
            ("penny to", None),
            ("", None),
        ];
        for (argument, want) in cases {
            assert_eq!(split(argument).as_deref(), want, "{argument:?}");
        }
    }
}
