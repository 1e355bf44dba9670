//! Picking things up, putting them down, handing them over, and the inventory.
//!
//! The database is the truth about where an item instance is. Each move is one
//! conditional transaction in [`crate::store::items`]; the room cache
//! (`game.items`) changes only after that transaction committed, and the player
//! is told only then. When the transaction finds the instance gone (another player
//! was quicker) nothing changes and the player hears so. What a character carries
//! is not cached: it is read from the database when needed.

use std::sync::Arc;

use super::Ctx;
use super::common::{
    Found, NOT_HERE, Named, carried, find_item, not_named, person_here, tell_room, which_one,
};
use crate::game::{Data, ItemInstance, ItemRef, Place, Player};

/// The reply when the player names something they do not carry.
pub const NOT_CARRIED: &str = "You aren't carrying that.";

/// `inventory`: `You are carrying: a brass key, a copper penny (2).`
pub async fn inventory(ctx: &Ctx<'_>) {
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
pub async fn get(ctx: &Ctx<'_>, wanted: &str) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let here = ctx.me.room_key();
    let lying = ctx.game.items().in_room(&here);
    let (item, instances) = match find_item(&world, &lying, wanted) {
        Found::Nothing => return ctx.reply(NOT_HERE),
        Found::Several(names) => return ctx.reply(which_one(&names)),
        Found::One(item, instances) => (item, instances),
    };
    // Any instance of the kind will do: if a quicker player took the first, the
    // next one lying here is just as good.
    for instance in instances {
        let id = instance.id;
        let taken = ctx
            .game
            .store()
            .items()
            .take(id, &here.world, here.room.as_str(), ctx.me.character_id)
            .await;
        match taken {
            Ok(true) => {
                ctx.game.items().remove(&here, id);
                let thing = ItemRef {
                    id,
                    name: item.name.clone(),
                };
                ctx.game.room_item_changed(&here, thing.clone(), false, &[]);
                ctx.me.give(Data::ItemAdd {
                    place: Place::Inventory,
                    item: thing,
                });
                ctx.reply(format!("You pick up {}.", item.name));
                let line = format!("{} picks up {}.", ctx.me.name, item.name);
                return tell_room(ctx, &line, &[]);
            }
            Ok(false) => continue,
            Err(err) => return ctx.store_trouble(&err),
        }
    }
    ctx.reply("Someone else got to it first.");
}

/// `drop <item>`: puts something the player carries down here.
pub async fn drop(ctx: &Ctx<'_>, wanted: &str) {
    let Some((item_name, instance)) = carried_one(ctx, wanted).await else {
        return;
    };
    let here = ctx.me.room_key();
    let dropped = ctx
        .game
        .store()
        .items()
        .put_down(
            instance.id,
            ctx.me.character_id,
            &here.world,
            here.room.as_str(),
        )
        .await;
    match dropped {
        Ok(true) => {
            let thing = ItemRef {
                id: instance.id,
                name: item_name.clone(),
            };
            ctx.game.items().put(&here, instance);
            ctx.me.give(Data::ItemRemove {
                place: Place::Inventory,
                item: thing.clone(),
            });
            ctx.game.room_item_changed(&here, thing, true, &[]);
            ctx.reply(format!("You drop {item_name}."));
            tell_room(ctx, &format!("{} drops {item_name}.", ctx.me.name), &[]);
        }
        Ok(false) => ctx.reply(NOT_CARRIED),
        Err(err) => ctx.store_trouble(&err),
    }
}

/// `give <item> to <name>`: hands something to a player standing here.
pub async fn give(ctx: &Ctx<'_>, wanted: &str, target: &str) {
    let to = match person_here(ctx, target) {
        Named::One(to) => to,
        other => return not_named(ctx, other, target, "here"),
    };
    if to.character_id == ctx.me.character_id {
        return ctx.reply("You can't give things to yourself.");
    }
    let Some((item_name, instance)) = carried_one(ctx, wanted).await else {
        return;
    };
    let given = ctx
        .game
        .store()
        .items()
        .give(instance.id, ctx.me.character_id, to.character_id)
        .await;
    match given {
        Ok(true) => {
            let thing = ItemRef {
                id: instance.id,
                name: item_name.clone(),
            };
            ctx.me.give(Data::ItemRemove {
                place: Place::Inventory,
                item: thing.clone(),
            });
            to.give(Data::ItemAdd {
                place: Place::Inventory,
                item: thing,
            });
            handed_over(ctx, &to, &item_name)
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
