//! Building items: `/create` (a new kind, one of which lies here), `/iname`,
//! `/idesc` and `/destroy` (a kind found among the things here or carried),
//! each an order for the game's build action.

use std::sync::Arc;

use super::super::super::common::{Found, carried, find_item, which_one};
use super::super::super::parse::split_word;
use super::super::super::spec::{Group, Needs, Spec, done};
use super::super::super::{Ctx, Described, Flow};
use super::{build_here, description_draft, may_build};
use crate::auth::Role;
use crate::world::plan::Order;

pub static CREATE: Spec = Spec {
    name: "create",
    usage: "/create <item name>",
    summary: "Make a new item, defined in this zone; one lies here.",
    details: "Makes a new kind of item in this zone's file, one of which lies here (the\nrooms' item lists say where items start; the database, where each one is).",
    example: "/create a tin lantern",
    needs: Needs::Text,
    run: |ctx, spec, args| done(create(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static INAME: Spec = Spec {
    name: "iname",
    usage: "/iname <item> <text>",
    summary: "Rename an item here or carried (every one of its kind).",
    details: "Renames a kind of item lying here or carried, every one of it. The first word\nnames the item; for more words, put \" = \" between the item and the new name.",
    example: "/iname lantern = a dented tin lantern",
    needs: Needs::Text,
    run: |ctx, spec, args| done(iname(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static IDESC: Spec = Spec {
    name: "idesc",
    usage: "/idesc <item> [text]",
    summary: "Describe an item here or carried; without text, in the editor.",
    details: "Sets the description of a kind of item lying here or carried (up to 4,000\ncharacters). Without text it opens the editor (end with \".\", \"~q\" throws it\naway). For an item of more words, put \" = \" before the text.",
    example: "/idesc lantern = Its glass is sooted black.",
    needs: Needs::Text,
    run: |ctx, spec, args| Box::pin(idesc(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

pub static DESTROY: Spec = Spec {
    name: "destroy",
    usage: "/destroy <item>",
    summary: "Destroy a kind of item, wherever its ones are (/undo brings it back).",
    details: "Removes a kind of item here or carried from the world files, with every place\nit starts in; every one of it, lying anywhere or carried, vanishes.",
    example: "/destroy lantern",
    needs: Needs::Text,
    abbreviable: false,
    run: |ctx, spec, args| done(destroy(ctx, spec, args)),
    ..Spec::base(Group::Building, Role::Worldbuilder)
};

/// `/create <item name>`.
async fn create(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let order = Order::Create {
        name: args.to_string(),
    };
    build_here(ctx, spec.name, order).await;
}

/// The item words and the rest: split at ` = ` when there is one, else
/// after the first word.
fn item_and_text(args: &str) -> (&str, &str) {
    match args.split_once(" = ") {
        Some((item, text)) => (item.trim(), text.trim()),
        None => split_word(args),
    }
}

/// The key of the item kind `wanted` names among the things here and those
/// carried; `None` after telling the player.
async fn item_here(ctx: &Ctx<'_>, wanted: &str) -> Option<Arc<str>> {
    let world = ctx.world()?;
    let mut instances = ctx.game.items_here(&ctx.me.room_key());
    instances.extend(carried(ctx).await?);
    match find_item(&world, &instances, wanted) {
        Found::One(item, _) => Some(item.key.clone()),
        Found::Several(names) => {
            ctx.reply(which_one(&names));
            None
        }
        Found::Nothing => {
            ctx.reply(format!("There is no {wanted} here or in your hands."));
            None
        }
    }
}

/// `/iname <item> <text>`.
async fn iname(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let (wanted, name) = item_and_text(args);
    if name.is_empty() {
        return ctx.reply(format!("Usage: {}", spec.usage));
    }
    let Some(item) = item_here(ctx, wanted).await else {
        return;
    };
    let order = Order::ItemName {
        item,
        name: name.to_string(),
    };
    build_here(ctx, spec.name, order).await;
}

/// `/idesc <item> [text]`: the text, or without it the editor.
async fn idesc(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) -> Flow {
    let (wanted, text) = item_and_text(args);
    let Some(item) = item_here(ctx, wanted).await else {
        return Flow::Continue;
    };
    if !text.is_empty() {
        let order = Order::ItemDescription {
            item,
            text: text.to_string(),
        };
        build_here(ctx, spec.name, order).await;
        return Flow::Continue;
    }
    if !may_build(ctx, spec.name).await {
        return Flow::Continue;
    }
    let name = ctx
        .world()
        .and_then(|world| world.item(&item).map(|i| i.name.clone()))
        .unwrap_or_else(|| item.to_string());
    Flow::Write(description_draft(&name, Described::Item { item }))
}

/// `/destroy <item>`.
async fn destroy(ctx: &Ctx<'_>, spec: &'static Spec, args: &str) {
    let Some(item) = item_here(ctx, args).await else {
        return;
    };
    build_here(ctx, spec.name, Order::Destroy { item }).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_item_ends_at_an_equals_sign_or_after_its_first_word() {
        assert_eq!(
            item_and_text("tin lantern = a dented lantern"),
            ("tin lantern", "a dented lantern")
        );
        assert_eq!(
            item_and_text("lantern a dented lantern"),
            ("lantern", "a dented lantern")
        );
        assert_eq!(item_and_text("lantern"), ("lantern", ""));
    }
}
