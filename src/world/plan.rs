//! What a builder's order means for a world's documents: `/dig`, `/link`,
//! `/rdestroy`, `/create` and the rest turned into [`Edit`]s against the world
//! as it is, with the rules that are a builder's and not the loader's: names
//! of 1 to 80 characters, descriptions up to 4,000, ids made from names (lower
//! case, `_` for spaces, a number added when taken), the way back of a
//! direction in the form it was typed, no spawn room destroyed and no last
//! way out of the world's spawn taken away. Whether the changed world still
//! loads is the loader's business (`WorldSource::check`); who may build, and
//! the sentences a builder reads, are the game's and the command layer's.
//! This file reads only a built `World`.

use std::sync::Arc;

use super::edit::{Edit, ItemHome, new_item, new_room};
use super::fields::is_simple_id;
use super::json::Json;
use super::model::{Exit, RoomId, World};
use super::source::WorldSource;

/// The longest name a room, item or zone may have, in characters.
pub const MAX_NAME_CHARS: usize = 80;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// The longest exit name, in characters.
pub const MAX_EXIT_CHARS: usize = 40;
/// The longest id made from a name; a number added for a taken one comes on
/// top.
const MAX_ID_CHARS: usize = 40;

/// A builder's change to the world, as typed (already cleaned of control
/// characters). Rooms and items are the builder's: `here` is where the
/// builder stands, items are named by their world key (`zone:item`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    /// A new room in this zone, named `name`, through a new exit `exit`.
    Dig {
        exit: String,
        name: String,
    },
    /// An exit from here to the room typed as `to` (`room` or `zone:room`),
    /// and the way back when `both`.
    Link {
        exit: String,
        to: String,
        both: bool,
    },
    Unlink {
        exit: String,
    },
    RoomName(String),
    RoomDescription(String),
    /// This room and every exit leading to it.
    RoomDestroy,
    /// A new kind of item, one of which lies here.
    Create {
        name: String,
    },
    ItemName {
        item: Arc<str>,
        name: String,
    },
    ItemDescription {
        item: Arc<str>,
        text: String,
    },
    /// An item kind, and every listing of it in rooms.
    Destroy {
        item: Arc<str>,
    },
    /// A new zone with one room, its spawn.
    Zone {
        id: String,
        name: String,
    },
    /// A door called `name` on exit `exit` of here (the door of the way back
    /// too), closed, and locked with the item `key` (its id, `zone:item`, or
    /// its name) when one is given.
    Door {
        exit: String,
        name: String,
        key: Option<String>,
    },
    /// Takes the door off exit `exit` of here, on whichever side declares it.
    Undoor {
        exit: String,
    },
    /// A new NPC of this zone, standing here.
    Npc {
        name: String,
    },
}

impl Order {
    /// The order's verb, as the audit log names it (`build.<verb>`).
    pub fn verb(&self) -> &'static str {
        match self {
            Order::Dig { .. } => "dig",
            Order::Link { .. } => "link",
            Order::Unlink { .. } => "unlink",
            Order::RoomName(_) => "rname",
            Order::RoomDescription(_) => "rdesc",
            Order::RoomDestroy => "rdestroy",
            Order::Create { .. } => "create",
            Order::ItemName { .. } => "iname",
            Order::ItemDescription { .. } => "idesc",
            Order::Destroy { .. } => "destroy",
            Order::Zone { .. } => "zone",
            Order::Door { .. } => "door",
            Order::Undoor { .. } => "undoor",
            Order::Npc { .. } => "npc",
        }
    }
}

/// What a planned order will have done, for the reply and the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Dug {
        name: String,
        room: RoomId,
        exit: String,
        back: Option<String>,
    },
    Linked {
        from: RoomId,
        exit: String,
        to: RoomId,
        to_name: String,
        back: Option<String>,
    },
    Unlinked {
        from: RoomId,
        exit: String,
        to: RoomId,
    },
    RoomRenamed {
        room: RoomId,
        name: String,
    },
    RoomDescribed {
        room: RoomId,
        chars: usize,
    },
    RoomDestroyed {
        room: RoomId,
        name: String,
        exits: usize,
    },
    Created {
        item: String,
        name: String,
    },
    ItemRenamed {
        item: String,
        name: String,
    },
    ItemDescribed {
        item: String,
        name: String,
        chars: usize,
    },
    ItemDestroyed {
        item: String,
        name: String,
        listings: usize,
    },
    Zoned {
        zone: String,
        name: String,
        spawn: RoomId,
    },
    Doored {
        room: RoomId,
        exit: String,
        name: String,
        key: Option<Arc<str>>,
    },
    Undoored {
        room: RoomId,
        exit: String,
        name: String,
    },
    NpcPlaced {
        npc: String,
        name: String,
        room: RoomId,
    },
}

impl Done {
    /// The room or item changed, as the audit log's target names it.
    pub fn target(&self) -> String {
        match self {
            Done::Dug { room, .. }
            | Done::RoomRenamed { room, .. }
            | Done::RoomDescribed { room, .. }
            | Done::RoomDestroyed { room, .. }
            | Done::Linked { from: room, .. }
            | Done::Unlinked { from: room, .. }
            | Done::Doored { room, .. }
            | Done::Undoored { room, .. } => room.to_string(),
            Done::Created { item, .. }
            | Done::ItemRenamed { item, .. }
            | Done::ItemDescribed { item, .. }
            | Done::ItemDestroyed { item, .. } => item.clone(),
            Done::Zoned { spawn, .. } => spawn.to_string(),
            Done::NpcPlaced { npc, .. } => npc.clone(),
        }
    }

    /// One line for the records (`/builds`, `/undo`'s reply): what was done.
    pub fn summary(&self) -> String {
        match self {
            Done::Dug {
                name, room, exit, ..
            } => format!("dug {name} ({room}) through {exit}"),
            Done::Linked {
                from,
                exit,
                to,
                back,
                ..
            } => match back {
                Some(back) => format!("linked {from} {exit} to {to}, {back} back"),
                None => format!("linked {from} {exit} to {to}"),
            },
            Done::Unlinked { from, exit, to } => format!("unlinked {from} {exit} (to {to})"),
            Done::RoomRenamed { room, name } => format!("renamed {room} to {name}"),
            Done::RoomDescribed { room, chars } => {
                format!("described {room} ({chars} characters)")
            }
            Done::RoomDestroyed { room, name, exits } => {
                format!("destroyed {name} ({room}) and {exits} exit(s) to it")
            }
            Done::Created { item, name } => format!("created {name} ({item})"),
            Done::ItemRenamed { item, name } => format!("renamed {item} to {name}"),
            Done::ItemDescribed { item, chars, .. } => {
                format!("described {item} ({chars} characters)")
            }
            Done::ItemDestroyed { item, name, .. } => format!("destroyed {name} ({item})"),
            Done::Zoned { zone, name, spawn } => {
                format!("made zone {name} ({zone}) with {spawn}")
            }
            Done::Doored {
                room,
                exit,
                name,
                key,
            } => match key {
                Some(key) => format!("put a {name} locked by {key} on {room} {exit}"),
                None => format!("put a {name} on {room} {exit}"),
            },
            Done::Undoored { room, exit, name } => {
                format!("took the {name} off {room} {exit}")
            }
            Done::NpcPlaced { npc, name, room } => format!("placed {name} ({npc}) in {room}"),
        }
    }
}

/// An order turned into edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub edits: Vec<Edit>,
    pub done: Done,
}

/// Why an order cannot be carried out; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("a name must be 1 to {MAX_NAME_CHARS} characters")]
    NameLength,
    #[error("a description may be at most {MAX_DESCRIPTION_CHARS} characters")]
    DescriptionLength,
    #[error("an exit name must be 1 to {MAX_EXIT_CHARS} characters without ':'")]
    ExitName,
    #[error("the room is not in the world's files")]
    NowhereHere,
    #[error("there is already an exit {exit} from {room}, to {to}")]
    ExitTaken {
        room: RoomId,
        exit: String,
        to: RoomId,
    },
    #[error("there is no exit {0} here")]
    NoExit(String),
    #[error("there is no room \"{typed}\"")]
    NoRoom { typed: String, nearest: Vec<RoomId> },
    #[error("{0} is no direction, so there is no way back to make")]
    NoWayBack(String),
    #[error("{room} is the spawn of {of}")]
    Spawn { room: RoomId, of: String },
    #[error("there is no item {0}")]
    NoItem(String),
    #[error("a zone id may hold only letters, digits, '_' and '-' (at most {MAX_ID_CHARS})")]
    ZoneId,
    #[error("there is already a zone {0}")]
    ZoneTaken(String),
    #[error("that would take the last way out of {0}, the world's spawn")]
    LastWayOut(RoomId),
    #[error("exit {exit} already has a door, the {name}")]
    DoorThere { exit: String, name: String },
    #[error("exit {0} has no door")]
    NoDoor(String),
}

/// Turns an order into edits of `world`'s documents, for a builder standing
/// in `here`.
pub fn plan(world: &World, here: &RoomId, order: &Order) -> Result<Plan, Refused> {
    if world.room(here).is_none() && !matches!(order, Order::Zone { .. }) {
        return Err(Refused::NowhereHere);
    }
    match order {
        Order::Dig { exit, name } => dig(world, here, exit, name),
        Order::Link { exit, to, both } => link(world, here, exit, to, *both),
        Order::Unlink { exit } => unlink(world, here, exit),
        Order::RoomName(name) => {
            let name = checked_name(name)?;
            let done = Done::RoomRenamed {
                room: here.clone(),
                name: name.clone(),
            };
            Ok(one(room_field(here, "name", name), done))
        }
        Order::RoomDescription(text) => {
            let text = checked_description(text)?;
            let chars = text.chars().count();
            let done = Done::RoomDescribed {
                room: here.clone(),
                chars,
            };
            Ok(one(room_field(here, "description", text), done))
        }
        Order::RoomDestroy => destroy_room(world, here),
        Order::Create { name } => create(world, here, name),
        Order::Npc { name } => npc(world, here, name),
        Order::ItemName { item, name } => rename_item(world, item, name),
        Order::ItemDescription { item, text } => describe_item(world, item, text),
        Order::Destroy { item } => destroy_item(world, item),
        Order::Zone { id, name } => zone(world, id, name),
        Order::Door { exit, name, key } => door(world, here, exit, name, key.as_deref()),
        Order::Undoor { exit } => undoor(world, here, exit),
    }
}

/// Refuses a changed world that takes the last way out of the world's spawn
/// room (a player there could never leave it but by `recall`, which leads
/// back there). A spawn with no way out before may stay so.
pub fn keeps_a_way_out(before: &World, after: &World) -> Result<(), Refused> {
    let spawn = &after.default_spawn;
    let exits = |world: &World| world.room(spawn).map(|room| room.exits.len());
    match (exits(before), exits(after)) {
        (Some(had), Some(0)) if had > 0 => Err(Refused::LastWayOut(spawn.clone())),
        _ => Ok(()),
    }
}

fn one(edit: Edit, done: Done) -> Plan {
    Plan {
        edits: vec![edit],
        done,
    }
}

fn room_field(room: &RoomId, key: &str, text: String) -> Edit {
    Edit::SetRoomField {
        room: room.clone(),
        key: key.to_string(),
        value: Some(Json::text(text)),
    }
}

/// A name of 1 to 80 characters, trimmed.
pub fn checked_name(name: &str) -> Result<String, Refused> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(Refused::NameLength);
    }
    Ok(name.to_string())
}

/// A description of up to 4,000 characters, trailing blanks trimmed.
pub fn checked_description(text: &str) -> Result<String, Refused> {
    let text = text.trim_end();
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Refused::DescriptionLength);
    }
    Ok(text.to_string())
}

fn checked_exit(exit: &str) -> Result<String, Refused> {
    let exit = exit.trim();
    let chars = exit.chars().count();
    if chars == 0 || chars > MAX_EXIT_CHARS || exit.contains(':') {
        return Err(Refused::ExitName);
    }
    Ok(exit.to_string())
}

/// Refuses an exit name `room` already has (in any case).
fn exit_free(world: &World, room: &RoomId, exit: &str) -> Result<(), Refused> {
    let key = exit.to_lowercase();
    let taken = world
        .room(room)
        .and_then(|r| r.exits.iter().find(|e| e.key == key));
    match taken {
        Some(taken) => Err(Refused::ExitTaken {
            room: room.clone(),
            exit: taken.name.clone(),
            to: taken.to.clone(),
        }),
        None => Ok(()),
    }
}

/// How a room is written as an exit's target from `from`: its local id in
/// the same zone, `zone:room` from another.
fn target_text(from: &RoomId, to: &RoomId) -> String {
    if from.zone() == to.zone() {
        to.local().to_string()
    } else {
        to.to_string()
    }
}

fn set_exit(room: &RoomId, exit: &str, to: &RoomId) -> Edit {
    Edit::SetExit {
        room: room.clone(),
        name: exit.to_string(),
        value: Some(Json::text(target_text(room, to))),
        at: None,
    }
}

fn dig(world: &World, here: &RoomId, exit: &str, name: &str) -> Result<Plan, Refused> {
    let exit = checked_exit(exit)?;
    let name = checked_name(name)?;
    exit_free(world, here, &exit)?;
    let zone = world.zone(here.zone()).ok_or(Refused::NowhereHere)?;
    let id = id_from_name(&name, "room", |id| {
        zone.rooms.iter().any(|room| room.local() == id)
    });
    let room = RoomId::new(here.zone(), &id);
    let back = way_back(&exit);
    let mut edits = vec![
        Edit::AddRoom {
            room: room.clone(),
            value: world
                .source()
                .shaped_room(here.zone(), &id, new_room(&name, "")),
            at: None,
        },
        set_exit(here, &exit, &room),
    ];
    if let Some(back) = &back {
        edits.push(set_exit(&room, back, here));
    }
    let done = Done::Dug {
        name,
        room,
        exit,
        back,
    };
    Ok(Plan { edits, done })
}

fn link(world: &World, here: &RoomId, exit: &str, to: &str, both: bool) -> Result<Plan, Refused> {
    let exit = checked_exit(exit)?;
    let target = world
        .resolve_room(to, Some(here.zone()))
        .ok_or_else(|| Refused::NoRoom {
            typed: to.to_string(),
            nearest: world.nearest_rooms(to, 3),
        })?;
    exit_free(world, here, &exit)?;
    let back = if both {
        let back = way_back(&exit).ok_or_else(|| Refused::NoWayBack(exit.clone()))?;
        exit_free(world, &target, &back)?;
        Some(back)
    } else {
        None
    };
    let mut edits = vec![set_exit(here, &exit, &target)];
    if let Some(back) = &back {
        edits.push(set_exit(&target, back, here));
    }
    let to_name = world
        .room(&target)
        .map(|room| room.name.clone())
        .unwrap_or_default();
    let done = Done::Linked {
        from: here.clone(),
        exit,
        to: target,
        to_name,
        back,
    };
    Ok(Plan { edits, done })
}

fn unlink(world: &World, here: &RoomId, exit: &str) -> Result<Plan, Refused> {
    let key = exit.trim().to_lowercase();
    let found = world
        .room(here)
        .and_then(|room| room.exits.iter().find(|e| e.key == key))
        .ok_or_else(|| Refused::NoExit(exit.trim().to_string()))?;
    let edit = Edit::SetExit {
        room: here.clone(),
        name: found.name.clone(),
        value: None,
        at: None,
    };
    let done = Done::Unlinked {
        from: here.clone(),
        exit: found.name.clone(),
        to: found.to.clone(),
    };
    Ok(one(edit, done))
}

fn destroy_room(world: &World, here: &RoomId) -> Result<Plan, Refused> {
    if world.default_spawn == *here {
        return Err(Refused::Spawn {
            room: here.clone(),
            of: world.name.clone(),
        });
    }
    if let Some(zone) = world.zones.iter().find(|zone| zone.spawn == *here) {
        return Err(Refused::Spawn {
            room: here.clone(),
            of: zone.name.clone(),
        });
    }
    let mut edits = Vec::new();
    for room_id in world.zones.iter().flat_map(|zone| &zone.rooms) {
        let Some(room) = world.room(room_id).filter(|room| room.id != *here) else {
            continue;
        };
        for exit in room.exits.iter().filter(|exit| exit.to == *here) {
            edits.push(Edit::SetExit {
                room: room.id.clone(),
                name: exit.name.clone(),
                value: None,
                at: None,
            });
        }
    }
    let exits = edits.len();
    edits.push(Edit::RemoveRoom { room: here.clone() });
    let name = world.room(here).map(|r| r.name.clone()).unwrap_or_default();
    let done = Done::RoomDestroyed {
        room: here.clone(),
        name,
        exits,
    };
    Ok(Plan { edits, done })
}

fn create(world: &World, here: &RoomId, name: &str) -> Result<Plan, Refused> {
    let name = checked_name(name)?;
    let zone = here.zone();
    // A zone's item shadows a global one of the same id in the zone's rooms,
    // so a new id must be free in both.
    let id = id_from_name(&name, "item", |id| {
        world.item(&format!("{zone}:{id}")).is_some() || world.item(id).is_some()
    });
    let home = ItemHome::Zone(zone.to_string());
    let item = home.key(&id);
    let value = world.source().shaped_item(&home, &id, new_item(&name, ""));
    let edits = vec![
        Edit::AddItem {
            home,
            id: id.clone(),
            value,
            at: None,
        },
        Edit::Place {
            room: here.clone(),
            item: id,
            at: None,
        },
    ];
    Ok(Plan {
        edits,
        done: Done::Created { item, name },
    })
}

/// `/npc <name>`: a new NPC of this zone, standing here, with an empty
/// description (written in the file, or later in the game).
fn npc(world: &World, here: &RoomId, name: &str) -> Result<Plan, Refused> {
    let name = checked_name(name)?;
    let zone = here.zone();
    let id = id_from_name(&name, "npc", |id| {
        world.npc(&format!("{zone}:{id}")).is_some()
    });
    let value = Json::Object(vec![
        ("id".to_string(), Json::text(&id)),
        ("name".to_string(), Json::text(&name)),
        ("description".to_string(), Json::text("")),
        ("room".to_string(), Json::text(here.local())),
    ]);
    let edits = vec![Edit::AddNpc {
        zone: zone.to_string(),
        id: id.clone(),
        value,
        at: None,
    }];
    Ok(Plan {
        edits,
        done: Done::NpcPlaced {
            npc: format!("{zone}:{id}"),
            name,
            room: here.clone(),
        },
    })
}

/// The home and id of an existing item kind.
fn item_of(world: &World, key: &str) -> Result<(ItemHome, String, String), Refused> {
    let item = world
        .item(key)
        .ok_or_else(|| Refused::NoItem(key.to_string()))?;
    let (home, id) = ItemHome::of_key(key);
    Ok((home, id, item.name.clone()))
}

fn rename_item(world: &World, key: &str, name: &str) -> Result<Plan, Refused> {
    let name = checked_name(name)?;
    let (home, id, _) = item_of(world, key)?;
    let edit = Edit::SetItemField {
        home,
        id,
        key: "name".to_string(),
        value: Some(Json::text(name.as_str())),
    };
    let done = Done::ItemRenamed {
        item: key.to_string(),
        name,
    };
    Ok(one(edit, done))
}

fn describe_item(world: &World, key: &str, text: &str) -> Result<Plan, Refused> {
    let text = checked_description(text)?;
    let (home, id, name) = item_of(world, key)?;
    let chars = text.chars().count();
    let edit = Edit::SetItemField {
        home,
        id,
        key: "description".to_string(),
        value: Some(Json::text(text)),
    };
    let done = Done::ItemDescribed {
        item: key.to_string(),
        name,
        chars,
    };
    Ok(one(edit, done))
}

fn destroy_item(world: &World, key: &str) -> Result<Plan, Refused> {
    let (home, id, name) = item_of(world, key)?;
    let mut edits = Vec::new();
    for room_id in world.zones.iter().flat_map(|zone| &zone.rooms) {
        let Some(room) = world.room(room_id) else {
            continue;
        };
        // Every listing is the id as written; from the last, so the places
        // of the earlier ones stay as they were.
        let listed = room.items.iter().enumerate().rev();
        for (at, _) in listed.filter(|(_, placed)| placed.as_ref() == key) {
            edits.push(Edit::Unplace {
                room: room.id.clone(),
                item: id.clone(),
                at: Some(at),
            });
        }
    }
    let listings = edits.len();
    edits.push(Edit::RemoveItem { home, id });
    let done = Done::ItemDestroyed {
        item: key.to_string(),
        name,
        listings,
    };
    Ok(Plan { edits, done })
}

fn zone(world: &World, id: &str, name: &str) -> Result<Plan, Refused> {
    let id = id.trim();
    if !is_simple_id(id) || id.chars().count() > MAX_ID_CHARS {
        return Err(Refused::ZoneId);
    }
    if world
        .zones
        .iter()
        .any(|zone| zone.id.eq_ignore_ascii_case(id))
        || world
            .source()
            .file(&WorldSource::zone_file_name(id))
            .is_some()
    {
        return Err(Refused::ZoneTaken(id.to_string()));
    }
    let name = checked_name(name)?;
    let room_id = id_from_name(&name, "room", |_| false);
    let room = Json::Object(
        std::iter::once(("id".to_string(), Json::text(room_id.as_str())))
            .chain(match new_room(&name, "") {
                Json::Object(fields) => fields,
                _ => Vec::new(),
            })
            .collect(),
    );
    let doc = Json::Object(vec![
        ("id".to_string(), Json::text(id)),
        ("name".to_string(), Json::text(name.as_str())),
        ("description".to_string(), Json::text("")),
        ("spawn_room".to_string(), Json::text(room_id.as_str())),
        (
            "rooms".to_string(),
            Json::Object(vec![(room_id.clone(), room)]),
        ),
        ("items".to_string(), Json::Object(Vec::new())),
    ]);
    let edit = Edit::AddZone {
        zone: id.to_string(),
        doc,
        at: None,
    };
    let done = Done::Zoned {
        zone: id.to_string(),
        name,
        spawn: RoomId::new(id, &room_id),
    };
    Ok(one(edit, done))
}

/// The exit of `here` named `exit` (any case).
fn exit_here<'w>(world: &'w World, here: &RoomId, exit: &str) -> Result<&'w Exit, Refused> {
    let key = exit.trim().to_lowercase();
    world
        .room(here)
        .and_then(|room| room.exits.iter().find(|e| e.key == key))
        .ok_or_else(|| Refused::NoExit(exit.trim().to_string()))
}

/// An item kind named by its world key, its id in `zone` or among the
/// global items, or else by its whole name (with or without its article)
/// when only one kind has it.
fn item_named(world: &World, zone: &str, typed: &str) -> Option<Arc<str>> {
    let typed = typed.trim();
    let by_id = [format!("{zone}:{typed}"), typed.to_string()];
    if let Some(item) = by_id.iter().find_map(|key| world.item(key)) {
        return Some(item.key.clone());
    }
    let bare = |name: &str| {
        let lower = name.trim().to_lowercase();
        ["a ", "an ", "the ", "some "]
            .iter()
            .find_map(|article| lower.strip_prefix(article).map(str::to_string))
            .unwrap_or(lower)
    };
    let wanted = bare(typed);
    let mut named = world
        .items
        .values()
        .filter(|item| bare(&item.name) == wanted);
    match (named.next(), named.next()) {
        (Some(only), None) => Some(only.key.clone()),
        _ => None,
    }
}

/// How a door's key is written in the file of `zone`: a local id for the
/// zone's own item or a global one, `zone:item` for another zone's.
fn key_text(zone: &str, key: &str) -> String {
    match key.split_once(':') {
        Some((home, id)) if home == zone => id.to_string(),
        _ => key.to_string(),
    }
}

fn door(
    world: &World,
    here: &RoomId,
    exit: &str,
    name: &str,
    key: Option<&str>,
) -> Result<Plan, Refused> {
    let found = exit_here(world, here, exit)?;
    if let Some(door) = &found.door {
        return Err(Refused::DoorThere {
            exit: found.name.clone(),
            name: door.name.clone(),
        });
    }
    let name = checked_name(name)?;
    let key = match key {
        Some(typed) => Some(
            item_named(world, here.zone(), typed)
                .ok_or_else(|| Refused::NoItem(typed.trim().to_string()))?,
        ),
        None => None,
    };
    let mut fields = vec![
        ("name".to_string(), Json::text(name.as_str())),
        ("closed".to_string(), Json::Bool(true)),
        ("locked".to_string(), Json::Bool(key.is_some())),
    ];
    if let Some(key) = &key {
        fields.push(("key".to_string(), Json::text(key_text(here.zone(), key))));
    }
    let value = Json::Object(vec![
        ("to".to_string(), Json::text(target_text(here, &found.to))),
        ("door".to_string(), Json::Object(fields)),
    ]);
    let edit = Edit::SetExit {
        room: here.clone(),
        name: found.name.clone(),
        value: Some(value),
        at: None,
    };
    let done = Done::Doored {
        room: here.clone(),
        exit: found.name.clone(),
        name,
        key,
    };
    Ok(one(edit, done))
}

/// The door is taken off the side that declares it, which may be the room
/// beyond: its exit goes back to naming only its room.
fn undoor(world: &World, here: &RoomId, exit: &str) -> Result<Plan, Refused> {
    let found = exit_here(world, here, exit)?;
    let door = found
        .door
        .as_ref()
        .ok_or_else(|| Refused::NoDoor(found.name.clone()))?;
    let (room, key) = door
        .id
        .rsplit_once('/')
        .and_then(|(room, key)| Some((RoomId::parse_full(room)?, key)))
        .ok_or(Refused::NowhereHere)?;
    let declared = world
        .room(&room)
        .and_then(|r| r.exits.iter().find(|e| e.key == key))
        .ok_or(Refused::NowhereHere)?;
    let edit = Edit::SetExit {
        room: room.clone(),
        name: declared.name.clone(),
        value: Some(Json::text(target_text(&room, &declared.to))),
        at: None,
    };
    let done = Done::Undoored {
        room: here.clone(),
        exit: found.name.clone(),
        name: door.name.clone(),
    };
    Ok(one(edit, done))
}

/// An id made from a name: ASCII (accents dropped), lower case, `_` for every
/// run of anything but letters and digits, at most 40 characters; `fallback`
/// when nothing is left. A number (`_2`, `_3`, ...) is added while `taken`
/// says the id is taken.
pub fn id_from_name(name: &str, fallback: &str, taken: impl Fn(&str) -> bool) -> String {
    let ascii = deunicode::deunicode(name).to_lowercase();
    let mut id = String::new();
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else if !id.is_empty() && !id.ends_with('_') {
            id.push('_');
        }
    }
    let mut id: String = id
        .trim_end_matches('_')
        .chars()
        .take(MAX_ID_CHARS)
        .collect();
    id.truncate(id.trim_end_matches('_').len());
    if id.is_empty() {
        id = fallback.to_string();
    }
    if !taken(&id) {
        return id;
    }
    (2..)
        .map(|n| format!("{id}_{n}"))
        .find(|numbered| !taken(numbered))
        .unwrap_or(id)
}

/// The way back through an exit named as a direction, in the form typed:
/// `north` gives `south`, `n` gives `s`, `NE` gives `SW`, `in` gives `out`.
/// `None` for any other exit name.
pub fn way_back(exit: &str) -> Option<String> {
    const PAIRS: [(&str, &str); 12] = [
        ("north", "south"),
        ("east", "west"),
        ("northeast", "southwest"),
        ("northwest", "southeast"),
        ("up", "down"),
        ("in", "out"),
        ("n", "s"),
        ("e", "w"),
        ("ne", "sw"),
        ("nw", "se"),
        ("u", "d"),
        ("inside", "outside"),
    ];
    let lower = exit.to_lowercase();
    let back = PAIRS.iter().find_map(|&(a, b)| {
        if lower == a {
            Some(b)
        } else if lower == b {
            Some(a)
        } else {
            None
        }
    })?;
    Some(in_the_same_case(exit, back))
}

/// `back` (lower case) in the case `typed` is written in: all capitals,
/// a capital first letter, or lower case.
fn in_the_same_case(typed: &str, back: &str) -> String {
    let letters: Vec<char> = typed.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()) {
        return back.to_uppercase();
    }
    match typed.chars().next() {
        Some(first) if first.is_uppercase() => {
            let mut chars = back.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
        _ => back.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_names_with_a_number_when_taken() {
        let none = |_: &str| false;
        assert_eq!(id_from_name("The Cellar", "room", none), "the_cellar");
        assert_eq!(
            id_from_name("  Old  Mill-Pond! ", "room", none),
            "old_mill_pond"
        );
        assert_eq!(id_from_name("Café Über", "room", none), "cafe_uber");
        assert_eq!(id_from_name("!!!", "room", none), "room");
        assert_eq!(id_from_name("", "item", none), "item");
        let long = "a".repeat(100);
        assert_eq!(id_from_name(&long, "room", none).len(), MAX_ID_CHARS);
        let taken = |id: &str| ["cellar", "cellar_2"].contains(&id);
        assert_eq!(id_from_name("Cellar", "room", taken), "cellar_3");
    }

    #[test]
    fn the_way_back_is_in_the_form_typed() {
        let cases = [
            ("north", Some("south")),
            ("n", Some("s")),
            ("S", Some("N")),
            ("North", Some("South")),
            ("NE", Some("SW")),
            ("nw", Some("se")),
            ("up", Some("down")),
            ("d", Some("u")),
            ("in", Some("out")),
            ("Out", Some("In")),
            ("west", Some("east")),
            ("trapdoor", None),
            ("", None),
        ];
        for (typed, want) in cases {
            assert_eq!(way_back(typed).as_deref(), want, "{typed}");
        }
    }

    #[test]
    fn names_and_descriptions_have_their_lengths() {
        assert_eq!(checked_name("  The Cellar "), Ok("The Cellar".to_string()));
        assert_eq!(checked_name("   "), Err(Refused::NameLength));
        assert!(
            checked_name(&"é".repeat(80)).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(checked_name(&"x".repeat(81)), Err(Refused::NameLength));
        assert!(checked_description("").is_ok());
        assert!(checked_description(&"x".repeat(4000)).is_ok());
        assert_eq!(
            checked_description(&"x".repeat(4001)),
            Err(Refused::DescriptionLength)
        );
    }
}
