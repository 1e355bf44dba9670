//! What the command handlers share: describing a room, finding the item or
//! person a player's words name, directions, telling a room, and what a
//! character carries. Handlers borrow from here, never from each other, so
//! the command modules form no circles.

use std::sync::Arc;
use std::time::Duration;

use super::Ctx;
use super::parse::split_word;
use crate::game::data::DIRECTIONS;
use crate::game::{ConnId, Game, Holding, ItemInstance, Player, RoomKey};
use crate::replies;
use crate::store::now_iso;
use crate::store::writer::{ChatKind, ChatRow, ChatSlot, WriterFull};
use crate::text::{Style, Styled};
use crate::world::{Exit, Item, Room, RoomId, World};

pub use crate::game::data::direction_named;

/// The full description of a room as `viewer` sees it: name, description, exits,
/// items, and the others present; name, exits and items styled for colour.
pub fn describe_room(game: &Game, world: &World, room_id: &RoomId, viewer: &Player) -> Styled {
    let Some(room) = world.room(room_id) else {
        return Styled::from("You are nowhere at all.");
    };
    let mut text = Styled::with(Style::RoomName, room.name.as_str())
        .plain(format!("\n{}\n", room.description))
        .styled(Style::Exits, exits_line(world, room_id));
    for line in door_lines(game, world, room) {
        text = text.plain(format!("\n{line}"));
    }
    let key = RoomKey {
        world: Arc::from(world.id.as_str()),
        room: room_id.clone(),
    };
    let items: Vec<&str> = game
        .items_here(&key)
        .iter()
        .filter_map(|item| world.item(&item.key))
        .map(|item| item.name.as_str())
        .collect();
    if !items.is_empty() {
        text = text.plain("\nYou see: ");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                text = text.plain(", ");
            }
            text = text.styled(Style::Item, *item);
        }
        text = text.plain(".");
    }
    let mut others: Vec<String> = game
        .occupants(&key)
        .iter()
        .filter(|p| p.conn_id != viewer.conn_id)
        .map(|p| p.name.to_string())
        .collect();
    // NPCs after the players; a screen reader is told in words which they are.
    let spoken = viewer.session.profile().screen_reader();
    others.extend(game.npcs_in(&key).iter().map(|npc| {
        if spoken {
            format!("{} (NPC)", npc.name)
        } else {
            npc.name.to_string()
        }
    }));
    if !others.is_empty() {
        text = text.plain(format!("\nAlso here: {}.", others.join(", ")));
    }
    text
}

/// `Exits: north, south.` (or `Exits: none.`), in the order of
/// [`listed_exits`] and by the names of [`exit_name`].
pub fn exits_line(world: &World, room_id: &RoomId) -> String {
    let names: Vec<&str> = world
        .room(room_id)
        .map(|room| listed_exits(room).into_iter().map(exit_name).collect())
        .unwrap_or_default();
    if names.is_empty() {
        "Exits: none.".to_string()
    } else {
        format!("Exits: {}.", names.join(", "))
    }
}

/// A line for each door of a room, after the exits line, in the same order:
/// `The oak door (east) is closed.`
pub fn door_lines(game: &Game, world: &World, room: &Room) -> Vec<String> {
    listed_exits(room)
        .into_iter()
        .filter_map(|exit| {
            let door = exit.door.as_ref()?;
            let state = game.door_state(&world.id, door);
            let is = if state.closed { "closed" } else { "open" };
            Some(format!("The {} ({}) is {is}.", door.name, exit_name(exit)))
        })
        .collect()
}

/// What a player's words name among the doors of a room.
pub enum DoorNamed<'r> {
    One(&'r Exit),
    /// An exit that has no door.
    NoDoor(&'r Exit),
    /// Several doors fit: `the door (east)` for each, to ask which.
    Several(Vec<String>),
    Nothing,
}

/// Finds the door `wanted` names in `room`: by its exit (`east`, `e`,
/// `trapdoor`), by the words of its name (`oak`, `oak door`), or both (`door
/// east`). A door several exits share a name with is asked back.
pub fn find_door<'r>(room: &'r Room, wanted: &str) -> DoorNamed<'r> {
    let wanted = wanted.trim();
    let wanted = wanted.strip_prefix("the ").unwrap_or(wanted).trim();
    if let Some(exit) = exit_exactly(room, wanted) {
        return match exit.door {
            Some(_) => DoorNamed::One(exit),
            None => DoorNamed::NoDoor(exit),
        };
    }
    // `door east`: a name, then the exit.
    if let Some((name, way)) = wanted.rsplit_once(' ')
        && let Some(exit) = exit_exactly(room, way)
        && exit
            .door
            .as_ref()
            .is_some_and(|door| names_a_door(&door.name, name))
    {
        return DoorNamed::One(exit);
    }
    let fits: Vec<&Exit> = listed_exits(room)
        .into_iter()
        .filter(|exit| {
            exit.door
                .as_ref()
                .is_some_and(|door| names_a_door(&door.name, wanted))
        })
        .collect();
    match fits.as_slice() {
        [] => DoorNamed::Nothing,
        [one] => DoorNamed::One(one),
        several => DoorNamed::Several(
            several
                .iter()
                .filter_map(|exit| {
                    let door = exit.door.as_ref()?;
                    Some(format!("the {} ({})", door.name, exit_name(exit)))
                })
                .collect(),
        ),
    }
}

/// The exit named exactly (any case) or by its direction in either form; no
/// prefixes, so a word meant for a thing does not find an exit.
pub fn exit_exactly<'r>(room: &'r Room, wanted: &str) -> Option<&'r Exit> {
    let wanted = wanted.trim().to_lowercase();
    room.exits.iter().find(|exit| {
        exit.key == wanted
            || direction_named(&wanted).is_some_and(|d| direction_named(&exit.key) == Some(d))
    })
}

/// Whether every typed word starts a word of the door's name (`oak` and
/// `oak door` name `oak door`; so does `door`).
fn names_a_door(name: &str, wanted: &str) -> bool {
    let name = words(name);
    let typed = words(wanted);
    !typed.is_empty()
        && typed
            .iter()
            .all(|t| name.iter().any(|n| n.starts_with(t.as_str())))
}

/// How players read an exit's name: a compass or vertical direction in one
/// form, its long name (`ne`, `NE` and `Northeast` are `northeast`); any other
/// exit as its world file writes it (`Trapdoor`).
pub fn exit_name(exit: &Exit) -> &str {
    direction_named(&exit.name).unwrap_or(&exit.name)
}

/// A room's exits in the order players see them listed: the compass's
/// directions clockwise from north, then up and down, then the other exits in
/// the order of the world file. (GMCP keeps the file's order.)
pub fn listed_exits(room: &Room) -> Vec<&Exit> {
    let mut exits: Vec<&Exit> = room.exits.iter().collect();
    exits.sort_by_key(|exit| compass_rank(&exit.name));
    exits
}

/// Where a direction stands in the compass's order; every other exit after
/// them all (the sort is stable, so those keep the file's order).
fn compass_rank(name: &str) -> usize {
    let long = direction_named(name);
    DIRECTIONS
        .iter()
        .position(|(direction, _)| Some(*direction) == long)
        .unwrap_or(DIRECTIONS.len())
}

/// Finds the exit a player means, without regard to case: the exact name, the
/// same direction however either is written (`se` typed or `southeast` typed
/// finds an exit a world file calls `se` or `southeast`), or a prefix only one
/// exit name starts with.
pub fn find_exit<'r>(room: &'r Room, wanted: &str) -> Option<&'r Exit> {
    let wanted = wanted.trim().to_lowercase();
    if let Some(exit) = room.exits.iter().find(|e| e.key == wanted) {
        return Some(exit);
    }
    // A direction typed in either form (`n`, `north`, `NE`).
    if let Some(direction) = direction_named(&wanted)
        && let Some(exit) = room
            .exits
            .iter()
            .find(|e| direction_named(&e.key) == Some(direction))
    {
        return Some(exit);
    }
    let mut prefixed = room.exits.iter().filter(|e| e.key.starts_with(&wanted));
    match (prefixed.next(), prefixed.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// The reply when no item or person matches what was named.
pub const NOT_HERE: &str = "You don't see that here.";

/// Whom a player's words name among some people.
#[derive(Debug)]
pub enum Named {
    One(Arc<Player>),
    /// Several people fit; their names, for `Which do you mean: ...?`.
    Several(Vec<Arc<str>>),
    Nobody,
}

/// Finds the person `wanted` names among `people`, as items are found: `me` and
/// `self` are the player; a whole name (any case) wins; else every typed word
/// must start a word of the name ("ann" finds "Mary Ann", "ma an" too). More
/// than one fit is for the player to settle.
pub fn find_person(people: &[Arc<Player>], me: &Arc<Player>, wanted: &str) -> Named {
    let wanted = wanted.trim();
    if wanted.eq_ignore_ascii_case("me") || wanted.eq_ignore_ascii_case("self") {
        return Named::One(me.clone());
    }
    if let Some(person) = people.iter().find(|p| same_name(&p.name, wanted)) {
        return Named::One(person.clone());
    }
    let typed = name_words(wanted);
    if typed.is_empty() {
        return Named::Nobody;
    }
    let mut fits: Vec<&Arc<Player>> = Vec::new();
    for person in people {
        let words = name_words(&person.name);
        let fit = typed
            .iter()
            .all(|t| words.iter().any(|w| w.starts_with(t.as_str())));
        if fit && !fits.iter().any(|f| f.character_id == person.character_id) {
            fits.push(person);
        }
    }
    match fits.as_slice() {
        [] => Named::Nobody,
        [one] => Named::One((*one).clone()),
        several => Named::Several(several.iter().map(|p| p.name.clone()).collect()),
    }
}

/// The lowercased words of a name, split at spaces, apostrophes and hyphens.
fn name_words(name: &str) -> Vec<String> {
    name.split([' ', '\'', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().flat_map(char::to_lowercase).collect())
        .collect()
}

/// Splits `<name> <text>` where the name is one of `people` (see
/// [`find_person`]): a two-word name is tried before a one-word one.
/// `Err` says why nobody was named, with the first word for `<name> isn't here.`
pub fn addressee<'a>(
    people: &[Arc<Player>],
    me: &Arc<Player>,
    argument: &'a str,
) -> Result<(Arc<Player>, &'a str), (Named, &'a str)> {
    let (first, rest) = split_word(argument);
    let (second, after_second) = split_word(rest);
    if !second.is_empty()
        && let Named::One(person) = find_person(people, me, &format!("{first} {second}"))
    {
        return Ok((person, after_second));
    }
    match find_person(people, me, first) {
        Named::One(person) => Ok((person, rest)),
        other => Err((other, first)),
    }
}

/// Tells the player who `wanted` did not name: nobody (`<name> isn't <where>.`)
/// or several (`Which do you mean: ...?`).
pub fn not_named(ctx: &Ctx<'_>, named: Named, wanted: &str, place: &str) {
    match named {
        Named::Several(names) => ctx.reply(which_names(&names)),
        _ => ctx.reply(format!("{} isn't {place}.", crate::text::sanitize(wanted))),
    }
}

/// The NPC standing in the player's room whom `name` names, matched as
/// people are (a whole name, or every typed word starting a word of it).
pub fn npc_here(ctx: &Ctx<'_>, name: &str) -> Option<Arc<crate::game::npcs::LiveNpc>> {
    let here = ctx.game.npcs_in(&ctx.me.room_key());
    let wanted = name.trim();
    if let Some(npc) = here.iter().find(|n| same_name(&n.name, wanted)) {
        return Some(npc.clone());
    }
    let typed = name_words(wanted);
    if typed.is_empty() {
        return None;
    }
    let mut fits = here.iter().filter(|npc| {
        let words = name_words(&npc.name);
        typed
            .iter()
            .all(|t| words.iter().any(|w| w.starts_with(t.as_str())))
    });
    match (fits.next(), fits.next()) {
        (Some(one), None) => Some(one.clone()),
        _ => None,
    }
}

/// The NPC a line begins with, for `tell` and `whisper` (`<name> <text>`):
/// a two-word name before a one-word one.
pub fn npc_addressed(ctx: &Ctx<'_>, argument: &str) -> Option<Arc<crate::game::npcs::LiveNpc>> {
    let (first, rest) = split_word(argument);
    let (second, _) = split_word(rest);
    if !second.is_empty()
        && let Some(npc) = npc_here(ctx, &format!("{first} {second}"))
    {
        return Some(npc);
    }
    npc_here(ctx, first)
}

/// The person standing in the same room whom `name` names (see [`find_person`]).
pub fn person_here(ctx: &Ctx<'_>, name: &str) -> Named {
    let here = ctx.game.occupants(&ctx.me.room_key());
    find_person(&here, ctx.me, name)
}

/// Whether two character names are the same without regard to case (names may
/// hold any letters, so this folds Unicode case, not only ASCII).
pub fn same_name(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.trim().chars().flat_map(char::to_lowercase))
}

/// `Which do you mean: Mary, Mary Ann?` for the names of people.
pub fn which_names(names: &[Arc<str>]) -> String {
    let names: Vec<&str> = names.iter().map(|n| n.as_ref()).collect();
    which_one(&names)
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

/// Where `there` lies seen from `here`, for a sound or an arrival coming from
/// it: `the north`, `above`, `below`; `None` when no direction-named exit of
/// `here` leads there.
pub fn whence(world: &World, here: &RoomId, there: &RoomId) -> Option<String> {
    let exit = world
        .room(here)?
        .exits
        .iter()
        .find(|e| e.to == *there && direction_named(&e.name).is_some())?;
    Some(match direction_named(&exit.name)? {
        "up" => "above".to_string(),
        "down" => "below".to_string(),
        direction => format!("the {direction}"),
    })
}

/// Sends a line to everyone in the player's room but the player and `also_not`.
/// Never waits.
pub fn tell_room(ctx: &Ctx<'_>, line: &str, also_not: &[ConnId]) {
    let mut except = vec![ctx.me.conn_id];
    except.extend_from_slice(also_not);
    ctx.game.tell_room(&ctx.me.room_key(), line, &except);
}

/// The instances the player carries, oldest first; `None` (after telling the
/// player) when the database could not be read.
pub async fn carried(ctx: &Ctx<'_>) -> Option<Vec<ItemInstance>> {
    match ctx.game.carried(ctx.me).await {
        Ok(carried) => Some(carried),
        Err(err) => {
            ctx.store_trouble(&err);
            None
        }
    }
}

/// Takes the place in the writer's queue that a line of talk will need, before
/// anyone hears it; when the queue is full (the disk has fallen far behind),
/// tells the speaker the records are busy and answers `None`.
pub fn reserve_record<'a>(ctx: &Ctx<'a>) -> Option<ChatSlot<'a>> {
    match ctx.game.reserve_talk() {
        Ok(slot) => Some(slot),
        Err(WriterFull) => {
            tracing::debug!(character = %ctx.me.name, "talk refused: the writer's queue is full");
            ctx.reply(replies::RECORDS_BUSY);
            None
        }
    }
}

/// A line of talk by `me` for `chat_messages`, said where it stands now, to
/// nobody in particular and on no channel.
pub fn chat_row(me: &Player, kind: ChatKind, message: String) -> ChatRow {
    ChatRow {
        world_id: me.world.clone(),
        room: Arc::from(me.room().as_str()),
        character_id: Some(me.character_id),
        user_id: Some(me.user_id()),
        recipient_character_id: None,
        kind,
        message,
        created_at: now_iso(),
        channel: None,
    }
}

/// Lines a history shows when no number is given, and the most it shows.
pub const DEFAULT_HISTORY: usize = 20;
pub const MAX_HISTORY: usize = 100;

/// A history's `[n]`: a number out of range is held to 1..=100 rather than
/// refused; `None` for anything but digits.
pub fn lines_asked(argument: &str) -> Option<usize> {
    if argument.is_empty() {
        return Some(DEFAULT_HISTORY);
    }
    if !argument.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n = argument.parse::<usize>().unwrap_or(MAX_HISTORY);
    Some(n.clamp(1, MAX_HISTORY))
}

/// `YYYY-MM-DD HH:MM` (UTC) from a stored ISO-8601 time; the text itself,
/// cleaned, when it is not in that form.
pub fn utc_minute(created_at: &str) -> String {
    match (created_at.get(..10), created_at.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time}"),
        _ => crate::text::sanitize(created_at),
    }
}

/// Names listed with several of a kind counted on one entry, in the order
/// first met: `a brass key, a copper penny (2)`.
pub fn counted_list(names: &[&str]) -> String {
    let mut counted: Vec<(&str, usize)> = Vec::new();
    for name in names {
        match counted.iter_mut().find(|(seen, _)| seen == name) {
            Some((_, n)) => *n += 1,
            None => counted.push((name, 1)),
        }
    }
    let listed: Vec<String> = counted
        .iter()
        .map(|(name, n)| match n {
            1 => name.to_string(),
            n => format!("{name} ({n})"),
        })
        .collect();
    listed.join(", ")
}

/// `A sea chest` from `a sea chest`: a name starting a sentence.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The container a player's words name, in its hands or lying here, its
/// kind, and where it is; `None` after telling the player why not (nothing
/// of that name, several, or a thing that holds nothing).
pub async fn container_named<'w>(
    ctx: &Ctx<'_>,
    world: &'w World,
    wanted: &str,
) -> Option<(&'w Item, ItemInstance, Holding)> {
    let carried = carried(ctx).await?;
    let here = ctx.game.items_here(&ctx.me.room_key());
    let mut all = carried.clone();
    all.extend(here);
    let (item, instances) = match find_item(world, &all, wanted) {
        Found::One(item, instances) => (item, instances),
        Found::Several(names) => {
            ctx.reply(which_one(&names));
            return None;
        }
        Found::Nothing => {
            ctx.reply(NOT_HERE);
            return None;
        }
    };
    if !item.container {
        ctx.reply(format!("{} is not a container.", capitalised(&item.name)));
        return None;
    }
    let instance = instances.into_iter().next()?;
    let holding = if carried.iter().any(|c| c.id == instance.id) {
        Holding::Carried
    } else {
        Holding::Here
    };
    Some((item, instance, holding))
}

/// A short idle time: `12s`, `4m`, `2h`.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
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
            container: false,
            commands: Vec::new(),
            script: None,
        }
    }

    /// A room with an oak door east, a door west, a doorless north.
    fn doors_room() -> Room {
        let exit = |name: &str, door: Option<&str>| Exit {
            door: door.map(|door| {
                Arc::new(crate::world::Door {
                    id: Arc::from(format!("z:here/{name}")),
                    name: door.to_string(),
                    closed: true,
                    locked: false,
                    key: None,
                })
            }),
            ..Exit::new(name, RoomId::new("z", name))
        };
        Room {
            id: RoomId::new("z", "here"),
            num: 1,
            name: "Here".into(),
            description: String::new(),
            exits: vec![
                exit("north", None),
                exit("e", Some("oak door")),
                exit("west", Some("door")),
            ],
            items: Vec::new(),
            commands: Vec::new(),
            script: None,
        }
    }

    #[test]
    fn doors_are_found_by_their_exit_their_name_or_both() {
        let room = doors_room();
        let found = |wanted: &str| match find_door(&room, wanted) {
            DoorNamed::One(exit) => format!("one {}", exit.name),
            DoorNamed::NoDoor(exit) => format!("no door {}", exit.name),
            DoorNamed::Several(doors) => doors.join(" | "),
            DoorNamed::Nothing => "nothing".to_string(),
        };
        assert_eq!(found("east"), "one e");
        assert_eq!(found("E"), "one e");
        assert_eq!(found("oak"), "one e");
        assert_eq!(found("the oak door"), "one e");
        assert_eq!(found("door west"), "one west");
        assert_eq!(found("door e"), "one e");
        assert_eq!(found("door"), "the oak door (east) | the door (west)");
        assert_eq!(found("n"), "no door north");
        assert_eq!(found("gate"), "nothing");
        assert_eq!(found("oak west"), "nothing");
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

    #[test]
    fn the_number_of_lines_is_held_between_one_and_a_hundred() {
        assert_eq!(lines_asked(""), Some(DEFAULT_HISTORY));
        assert_eq!(lines_asked("5"), Some(5));
        assert_eq!(lines_asked("0"), Some(1));
        assert_eq!(lines_asked("5000"), Some(MAX_HISTORY));
        assert_eq!(lines_asked("99999999999999999999999"), Some(MAX_HISTORY));
        assert_eq!(lines_asked("lots"), None);
        assert_eq!(lines_asked("-3"), None);
    }

    #[test]
    fn stored_times_read_as_utc_minutes() {
        assert_eq!(utc_minute("2026-03-04T09:15:42.001Z"), "2026-03-04 09:15");
        assert_eq!(utc_minute("odd\u{1b}[2J"), "odd");
    }

    #[test]
    fn idle_times_are_short() {
        assert_eq!(short_duration(Duration::from_secs(5)), "5s");
        assert_eq!(short_duration(Duration::from_secs(125)), "2m");
        assert_eq!(short_duration(Duration::from_secs(7300)), "2h");
        assert_eq!(short_duration(Duration::from_secs(200_000)), "2d");
    }

    fn people(names: &[&str]) -> Vec<Arc<Player>> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                crate::game::registry::test_player(
                    i as u64 + 1,
                    i as i64 + 1,
                    name,
                    RoomId::new("z", "r"),
                )
            })
            .collect()
    }

    fn who(people: &[Arc<Player>], wanted: &str) -> String {
        match find_person(people, &people[0], wanted) {
            Named::One(p) => p.name.to_string(),
            Named::Several(names) => format!("several: {}", names.join(", ")),
            Named::Nobody => "nobody".into(),
        }
    }

    #[test]
    fn people_are_named_like_items_in_a_table() {
        let here = people(&["Ann", "Mary Ann", "Mary", "Mike", "Élodie", "O'Brien"]);
        let cases = [
            ("ann", "Ann"),
            ("ANN", "Ann"),
            ("mary ann", "Mary Ann"),
            ("mary", "Mary"),
            ("ma an", "Mary Ann"),
            ("mi", "Mike"),
            ("m", "several: Mary Ann, Mary, Mike"),
            ("é", "Élodie"),
            ("brien", "O'Brien"),
            ("me", "Ann"),
            ("SELF", "Ann"),
            ("zed", "nobody"),
            ("", "nobody"),
        ];
        for (wanted, want) in cases {
            assert_eq!(who(&here, wanted), want, "{wanted:?}");
        }
    }

    #[test]
    fn the_addressee_takes_two_words_before_one() {
        let here = people(&["Mary", "Mary Ann", "Bo"]);
        let split = |argument| {
            addressee(&here, &here[2], argument)
                .map(|(p, text)| (p.name.to_string(), text.to_string()))
                .map_err(|(_, word)| word.to_string())
        };
        assert_eq!(
            split("mary ann  hello there"),
            Ok(("Mary Ann".into(), "hello there".into()))
        );
        assert_eq!(split("MARY hello"), Ok(("Mary".into(), "hello".into())));
        assert_eq!(split("ann hi"), Ok(("Mary Ann".into(), "hi".into())));
        assert_eq!(split("me hush"), Ok(("Bo".into(), "hush".into())));
        assert_eq!(split("Zed hi"), Err("Zed".into()));
    }
}
