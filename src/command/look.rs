//! `look`, `look <thing>`, `examine` and `exits`: describing the world to the
//! player, and finding the thing or person a player's words name (shared with the
//! item commands, so every command matches names the same way).

use std::fmt::Write;
use std::sync::Arc;

use super::Ctx;
use crate::game::{Game, ItemInstance, Player, RoomKey};
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
        world: Arc::from(world.id.as_str()),
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

/// `look <thing>` and `examine <thing>`: someone standing here, or an item
/// carried or lying here.
pub async fn look_at(ctx: &Ctx<'_>, thing: &str) {
    let Some(world) = ctx.world() else {
        return ctx.reply("You are nowhere at all.");
    };
    let thing = thing.strip_prefix("at ").unwrap_or(thing).trim();
    if let Some(person) = person_here(ctx, thing) {
        let text = if person.conn_id == ctx.me.conn_id {
            "You look yourself over. Presentable enough.".to_string()
        } else {
            format!("{} is here, looking back at you.", person.name)
        };
        return ctx.reply(text);
    }
    let Some(mut instances) = super::items::carried(ctx).await else {
        return;
    };
    instances.extend(ctx.game.items.in_room(&ctx.me.room_key()));
    match find_item(&world, &instances, thing) {
        Found::Nothing => ctx.reply(NOT_HERE),
        Found::One(item, _) => ctx.reply(format!("{}\n{}", item.name, item.description)),
        Found::Several(names) => ctx.reply(which_one(&names)),
    }
}

/// The reply when no item or person matches what was named.
pub const NOT_HERE: &str = "You don't see that here.";

/// The player standing in the same room whose name is `name` (any case).
pub fn person_here(ctx: &Ctx<'_>, name: &str) -> Option<Arc<Player>> {
    ctx.game
        .registry
        .occupants(&ctx.me.room_key())
        .iter()
        .find(|p| same_name(&p.name, name))
        .cloned()
}

/// Whether two character names are the same without regard to case (names may
/// hold any letters, so this folds Unicode case, not only ASCII).
pub fn same_name(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.trim().chars().flat_map(char::to_lowercase))
}

/// `Which do you mean: a brass key, a clock key?`
pub fn which_one(names: &[&str]) -> String {
    format!("Which do you mean: {}?", names.join(", "))
}

/// What a player's words named among some item instances.
pub enum Found<'w> {
    Nothing,
    /// One kind of item, and every instance of it among those searched, in
    /// order (a player asking for "penny" where two lie wants either).
    One(&'w Item, Vec<ItemInstance>),
    /// Several kinds matched; their names, for `Which do you mean`.
    Several(Vec<&'w str>),
}

/// Finds the item kind `wanted` names among `instances` (see [`match_items`]).
pub fn find_item<'w>(world: &'w World, instances: &[ItemInstance], wanted: &str) -> Found<'w> {
    let kinds: Vec<&Item> = instances
        .iter()
        .filter_map(|instance| world.item(&instance.key))
        .collect();
    match match_items(&kinds, wanted).as_slice() {
        [] => Found::Nothing,
        [item] => {
            let of_kind = instances
                .iter()
                .filter(|instance| *instance.key == *item.key)
                .cloned()
                .collect();
            Found::One(item, of_kind)
        }
        several => Found::Several(several.iter().map(|i| i.name.as_str()).collect()),
    }
}

/// Words that name no item in particular: "get a" should not match everything.
const ARTICLES: &[&str] = &["a", "an", "the", "some"];

/// The words of a name or a request: lowercased, punctuation dropped (so
/// "keepers" finds "a keeper's logbook"), articles left out.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|word| {
            word.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|word| !word.is_empty() && !ARTICLES.contains(&word.as_str()))
        .collect()
}

/// Items that `wanted` names, case-insensitive, each kind once, in the order
/// given. Tried in turn, the first tier that matches anything wins: the whole
/// name (or the item's id); every typed word being a word of the name ("brass
/// key" finds "a brass key"); every typed word starting a word of the name
/// ("spy" finds "a brass spyglass").
pub fn match_items<'a>(items: &[&'a Item], wanted: &str) -> Vec<&'a Item> {
    let wanted_words = words(wanted);
    if wanted_words.is_empty() {
        return Vec::new();
    }
    let id = wanted.trim().to_lowercase();
    let named: Vec<(&Item, Vec<String>)> = items
        .iter()
        .map(|&item| (item, words(&item.name)))
        .collect();
    for fit in [Fit::Whole, Fit::Words, Fit::Prefixes] {
        let mut found: Vec<&Item> = Vec::new();
        for (item, name) in &named {
            let fits = fit.accepts(&wanted_words, name)
                || (fit == Fit::Whole && item.id.to_lowercase() == id);
            if fits && !found.iter().any(|f| f.key == item.key) {
                found.push(item);
            }
        }
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// How closely a request must fit an item's name; tried closest first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// The same words as the whole name.
    Whole,
    /// Every typed word is a word of the name.
    Words,
    /// Every typed word starts a word of the name.
    Prefixes,
}

impl Fit {
    fn accepts(self, wanted: &[String], name: &[String]) -> bool {
        match self {
            Fit::Whole => name == wanted,
            Fit::Words => wanted.iter().all(|w| name.contains(w)),
            Fit::Prefixes => wanted
                .iter()
                .all(|w| name.iter().any(|n| n.starts_with(w.as_str()))),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, name: &str) -> Item {
        Item {
            key: Arc::from(key),
            id: key.rsplit(':').next().unwrap_or(key).to_string(),
            name: name.to_string(),
            description: String::new(),
        }
    }

    fn names(found: Vec<&Item>) -> Vec<&str> {
        found.into_iter().map(|i| i.name.as_str()).collect()
    }

    #[test]
    fn items_match_by_any_word_whole_names_and_prefixes() {
        let brass = item("brass_key", "a brass key");
        let clock = item("z:clock_key", "a clock key");
        let glass = item("z:spyglass", "a brass spyglass");
        let log = item("z:keepers_log", "a keeper's logbook");
        let all = [&brass, &clock, &glass, &log];
        assert_eq!(
            names(match_items(&all, "key")),
            ["a brass key", "a clock key"]
        );
        assert_eq!(names(match_items(&all, "BRASS KEY")), ["a brass key"]);
        assert_eq!(names(match_items(&all, "the clock key")), ["a clock key"]);
        assert_eq!(
            names(match_items(&all, "brass")),
            ["a brass key", "a brass spyglass"]
        );
        assert_eq!(names(match_items(&all, "spy")), ["a brass spyglass"]);
        assert_eq!(names(match_items(&all, "keepers")), ["a keeper's logbook"]);
        assert_eq!(
            names(match_items(&all, "keeper's log")),
            ["a keeper's logbook"]
        );
        assert_eq!(names(match_items(&all, "clock_key")), ["a clock key"]);
        assert!(match_items(&all, "a").is_empty());
        assert!(match_items(&all, "lantern").is_empty());
        assert!(match_items(&all, "  ").is_empty());
    }

    #[test]
    fn a_whole_name_beats_a_word_and_kinds_count_once() {
        let key = item("key", "a key");
        let brass = item("brass_key", "a brass key");
        let penny = item("penny", "a copper penny");
        assert_eq!(names(match_items(&[&brass, &key], "key")), ["a key"]);
        assert_eq!(
            names(match_items(&[&penny, &brass, &penny], "a")),
            Vec::<&str>::new()
        );
        assert_eq!(
            names(match_items(&[&penny, &brass, &penny], "penny")),
            ["a copper penny"]
        );
    }

    #[test]
    fn names_compare_without_case() {
        assert!(same_name("Ann", "ann"));
        assert!(same_name("Élodie", "éLODIE "));
        assert!(!same_name("Ann", "Anne"));
    }
}
