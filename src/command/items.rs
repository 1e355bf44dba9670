//! Picking things up, putting them down, handing them over, and the inventory.
//!
//! A handler finds the thing the player's words name and asks the game to
//! move it (`Game::pick_up`, `put_down`, `hand_over`): one conditional
//! transaction in the store, after which the room cache and clients' views
//! follow. The player and the room are told only then; when the instance was
//! gone (another player was quicker) nothing changes and the player hears so.
//! What a character carries is not cached: it is read from the database when
//! needed; nor is what a container holds. `all` (`get all`, `drop all`,
//! `get all from <container>`) moves every thing, each by its own
//! transaction, at most [`AT_ONCE`] a command.

use std::sync::Arc;

use super::Ctx;
use super::common::{
    Found, NOT_HERE, Named, capitalised, carried, container_named, counted_list, find_item,
    not_named, npc_here, person_here, tell_room, which_one,
};
use super::spec::{Group, Needs, Spec, done};
use crate::game::{Holding, ItemInstance, Player, Stowed};
use crate::world::World;

/// The most things one `all` moves; what is left needs another.
pub const AT_ONCE: usize = 50;

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
    usage: "get <item|all> [from <container>]",
    summary: "Pick up something lying here, or take it out of a container.",
    details: "Picks up something lying here. Any word of its name, or its start, will do; when several things fit you are asked which. \"get all\" picks up everything here; \"from <container>\" takes out of a container you carry or see here.",
    example: "get penny, get all, get key from chest",
    needs: Needs::Text,
    run: |ctx, _, item| done(get(ctx, item)),
    ..Spec::player(Group::Items)
};

pub static DROP: Spec = Spec {
    name: "drop",
    usage: "drop <item|all>",
    summary: "Put down something you carry; it stays here for anyone to find.",
    details: "Puts down something you carry; it stays here, for anyone to find. \"drop all\" puts down everything you carry.",
    example: "drop penny, drop all",
    needs: Needs::Text,
    run: |ctx, _, item| done(drop(ctx, item)),
    ..Spec::player(Group::Items)
};

pub static PUT: Spec = Spec {
    name: "put",
    usage: "put <item|all> in <container>",
    summary: "Put something you carry into a container you carry or see here.",
    details: "Puts something you carry into a container (a chest, a bag) that you carry or that lies here. What is inside goes wherever the container goes; \"look in <container>\" shows it. \"put all\" puts in everything you carry but containers.",
    example: "put key in chest",
    run: |ctx, spec, argument| match split_at_word(argument, &["in", "into"]) {
        Some((item, container)) => done(put(ctx, item, container)),
        None => done(async move { ctx.reply(format!("Usage: {}", spec.usage)) }),
    },
    ..Spec::player(Group::Items)
};

/// `<first> <word> <second>`, split at the last of `words` (any case) with
/// something on both sides: `box of tin in chest` is `box of tin` in `chest`.
fn split_at_word(argument: &str, words: &[&str]) -> Option<(String, String)> {
    let parts: Vec<&str> = argument.split_whitespace().collect();
    let at = parts
        .iter()
        .rposition(|part| words.iter().any(|w| part.eq_ignore_ascii_case(w)))?;
    (at > 0 && at + 1 < parts.len()).then(|| (parts[..at].join(" "), parts[at + 1..].join(" ")))
}

/// Whether the player's words mean every thing (`all`, `everything`).
fn means_all(wanted: &str) -> bool {
    ["all", "everything"]
        .iter()
        .any(|word| wanted.trim().eq_ignore_ascii_case(word))
}

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
    if instances.is_empty() {
        return ctx.reply("You are carrying nothing.");
    }
    // Same kinds are counted on one entry, in the order first acquired.
    let names = names_of(&world, &instances);
    ctx.reply(format!("You are carrying: {}.", counted_list(&names)));
}

/// The names of instances, as their world's items name them.
fn names_of<'w>(world: &'w World, instances: &[ItemInstance]) -> Vec<&'w str> {
    instances
        .iter()
        .map(|instance| {
            world
                .item(&instance.key)
                .map_or("something unrecognisable", |item| item.name.as_str())
        })
        .collect()
}

/// `get <item>`, `get all`, and either `from <container>`.
async fn get(ctx: &Ctx<'_>, wanted: &str) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    if let Some((wanted, container)) = split_at_word(wanted, &["from"]) {
        return get_from(ctx, &world, &wanted, &container).await;
    }
    if means_all(wanted) {
        return get_all(ctx, &world).await;
    }
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

/// `get all`: picks up every thing lying here, each as `get` would.
async fn get_all(ctx: &Ctx<'_>, world: &World) {
    let lying = ctx.game.items_here(&ctx.me.room_key());
    if lying.is_empty() {
        return ctx.reply("There is nothing here to pick up.");
    }
    let mut got = Vec::new();
    for instance in lying.into_iter().take(AT_ONCE) {
        match ctx.game.pick_up(ctx.me, vec![instance]).await {
            Ok(Some(instance)) => got.push(instance),
            Ok(None) => {}
            Err(err) => {
                ctx.store_trouble(&err);
                break;
            }
        }
    }
    if got.is_empty() {
        return ctx.reply("Someone else got to it first.");
    }
    let listed = counted_list(&names_of(world, &got));
    ctx.reply(format!("You pick up {listed}."));
    tell_room(ctx, &format!("{} picks up {listed}.", ctx.me.name), &[]);
}

/// `get <item> from <container>` and `get all from <container>`.
async fn get_from(ctx: &Ctx<'_>, world: &World, wanted: &str, container: &str) {
    let Some((bag, bag_instance, holding)) = container_named(ctx, world, container).await else {
        return;
    };
    let inside = match ctx.game.contents(&bag_instance).await {
        Ok(inside) => inside,
        Err(err) => return ctx.store_trouble(&err),
    };
    if inside.is_empty() {
        return ctx.reply(format!("There is nothing in {}.", bag.name));
    }
    let wanted: Vec<Vec<ItemInstance>> = if means_all(wanted) {
        inside
            .into_iter()
            .take(AT_ONCE)
            .map(|one| vec![one])
            .collect()
    } else {
        match find_item(world, &inside, wanted) {
            Found::One(_, instances) => vec![instances],
            Found::Several(names) => return ctx.reply(which_one(&names)),
            Found::Nothing => return ctx.reply(format!("There is no such thing in {}.", bag.name)),
        }
    };
    let mut got = Vec::new();
    for candidates in wanted {
        match ctx
            .game
            .take_out(ctx.me, candidates, &bag_instance, holding)
            .await
        {
            Ok(Some(instance)) => got.push(instance),
            Ok(None) => {}
            Err(err) => {
                ctx.store_trouble(&err);
                break;
            }
        }
    }
    if got.is_empty() {
        return ctx.reply("Someone else got to it first.");
    }
    let listed = counted_list(&names_of(world, &got));
    ctx.reply(format!("You take {listed} from {}.", bag.name));
    let line = format!("{} takes {listed} from {}.", ctx.me.name, bag.name);
    tell_room(ctx, &line, &[]);
}

/// `put <item> in <container>`: into a container carried or lying here.
async fn put(ctx: &Ctx<'_>, wanted: String, container: String) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let Some((bag, bag_instance, holding)) = container_named(ctx, &world, &container).await else {
        return;
    };
    if means_all(&wanted) {
        return put_all(ctx, &world, bag, &bag_instance, holding).await;
    }
    let Some((item_name, instance)) = carried_one(ctx, &wanted).await else {
        return;
    };
    if instance.id == bag_instance.id {
        return ctx.reply(format!(
            "{} won't go inside itself.",
            capitalised(&item_name)
        ));
    }
    if world.item(&instance.key).is_some_and(|item| item.container) {
        return ctx.reply("You can't put a container inside another.");
    }
    match ctx
        .game
        .put_in(ctx.me, &instance, &bag_instance, holding)
        .await
    {
        Ok(Stowed::Done) => {
            ctx.reply(format!("You put {item_name} in {}.", bag.name));
            let line = format!("{} puts {item_name} in {}.", ctx.me.name, bag.name);
            tell_room(ctx, &line, &[]);
        }
        Ok(Stowed::Full) => ctx.reply(format!("{} is full.", capitalised(&bag.name))),
        Ok(Stowed::Moved) if holding == Holding::Here => ctx.reply(NOT_HERE),
        Ok(Stowed::Moved) => ctx.reply(NOT_CARRIED),
        Err(err) => ctx.store_trouble(&err),
    }
}

/// `put all in <container>`: everything carried but containers, until the
/// container is full.
async fn put_all(
    ctx: &Ctx<'_>,
    world: &World,
    bag: &crate::world::Item,
    bag_instance: &ItemInstance,
    holding: Holding,
) {
    let Some(instances) = carried(ctx).await else {
        return;
    };
    let fitting = instances
        .into_iter()
        .filter(|one| world.item(&one.key).is_some_and(|item| !item.container))
        .take(AT_ONCE);
    let (mut put, mut full) = (Vec::new(), false);
    for instance in fitting {
        match ctx
            .game
            .put_in(ctx.me, &instance, bag_instance, holding)
            .await
        {
            Ok(Stowed::Done) => put.push(instance),
            Ok(Stowed::Moved) => {}
            Ok(Stowed::Full) => {
                full = true;
                break;
            }
            Err(err) => {
                ctx.store_trouble(&err);
                break;
            }
        }
    }
    let mut reply = if put.is_empty() {
        format!("You have nothing to put in {}.", bag.name)
    } else {
        let listed = counted_list(&names_of(world, &put));
        let line = format!("{} puts {listed} in {}.", ctx.me.name, bag.name);
        tell_room(ctx, &line, &[]);
        format!("You put {listed} in {}.", bag.name)
    };
    if full {
        reply.push_str(&format!("\n{} is full.", capitalised(&bag.name)));
    }
    ctx.reply(reply);
}

/// `drop all`: puts down everything the player carries.
async fn drop_all(ctx: &Ctx<'_>, world: &World) {
    let Some(instances) = carried(ctx).await else {
        return;
    };
    if instances.is_empty() {
        return ctx.reply("You are carrying nothing.");
    }
    let mut dropped = Vec::new();
    for instance in instances.into_iter().take(AT_ONCE) {
        match ctx.game.put_down(ctx.me, instance.clone()).await {
            Ok(true) => dropped.push(instance),
            Ok(false) => {}
            Err(err) => {
                ctx.store_trouble(&err);
                break;
            }
        }
    }
    if dropped.is_empty() {
        return ctx.reply(NOT_CARRIED);
    }
    let listed = counted_list(&names_of(world, &dropped));
    ctx.reply(format!("You drop {listed}."));
    tell_room(ctx, &format!("{} drops {listed}.", ctx.me.name), &[]);
}

/// `drop <item>`: puts something the player carries down here.
async fn drop(ctx: &Ctx<'_>, wanted: &str) {
    if means_all(wanted) {
        let Some(world) = ctx.world() else {
            return ctx.reply("You are nowhere at all.");
        };
        return drop_all(ctx, &world).await;
    }
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
