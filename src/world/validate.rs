//! Cross-checks the parts of a world read by `raw.rs`: every exit leads to a
//! room that exists, every spawn names a room, every item placed in a room is
//! defined. Then it builds the `World`. It reports into the shared error list
//! and never reads files; it only runs `assemble` on a world that passed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::fields::Errors;
use super::model::{Door, Exit, Item, Npc, Room, RoomId, World, Zone, room_number};
use super::raw::{Parts, RawDoor, RawRoom, ZoneFile};
use super::source::WorldSource;
use super::suggest::nearest;

/// Which rooms and items exist, by zone, for checking references.
struct Index<'a> {
    rooms: HashMap<&'a str, HashSet<&'a str>>,
    items: HashMap<&'a str, HashSet<&'a str>>,
    global: HashSet<&'a str>,
    broken: &'a HashSet<String>,
}

/// Where a reference leads.
enum Lookup<T> {
    Found(T),
    /// Into a zone that could not be read: already reported.
    Broken,
    Missing(String),
}

impl<T> Lookup<T> {
    fn found(self) -> Option<T> {
        match self {
            Lookup::Found(found) => Some(found),
            Lookup::Broken | Lookup::Missing(_) => None,
        }
    }
}

impl<'a> Index<'a> {
    fn new(parts: &'a Parts) -> Index<'a> {
        let ids = |zone: &'a ZoneFile| zone.rooms.iter().map(|room| room.id.as_str()).collect();
        let items = |zone: &'a ZoneFile| zone.items.iter().map(|item| item.id.as_str()).collect();
        Index {
            rooms: parts
                .zones
                .iter()
                .map(|zone| (zone.id.as_str(), ids(zone)))
                .collect(),
            items: parts
                .zones
                .iter()
                .map(|zone| (zone.id.as_str(), items(zone)))
                .collect(),
            global: parts
                .world
                .global_items
                .iter()
                .map(|item| item.id.as_str())
                .collect(),
            broken: &parts.broken,
        }
    }

    /// A room given as `room` (in `here`) or `zone:room`.
    fn room(&self, here: &str, target: &str) -> Lookup<RoomId> {
        if target.is_empty() {
            return Lookup::Missing("an exit must name a room".to_string());
        }
        let (zone, room) = target.split_once(':').unwrap_or((here, target));
        self.room_in(zone, room)
    }

    fn room_in(&self, zone: &str, room: &str) -> Lookup<RoomId> {
        let Some(rooms) = self.rooms.get(zone) else {
            if self.broken.contains(zone) {
                return Lookup::Broken;
            }
            return Lookup::Missing(format!(
                "unknown zone \"{zone}\" (not listed in world.json)"
            ));
        };
        if rooms.contains(room) {
            return Lookup::Found(RoomId::new(zone, room));
        }
        let mut message = format!("unknown room \"{room}\" in zone \"{zone}\"");
        // Sorted, so that of two equally near ids the same one is named every time.
        let mut ids: Vec<&str> = rooms.iter().copied().collect();
        ids.sort_unstable();
        if let Some(near) = nearest(room, ids) {
            message.push_str(&format!(" (did you mean \"{near}\"?)"));
        }
        Lookup::Missing(message)
    }

    /// An item placed in a room of `zone`: the zone's own first, then global.
    fn item(&self, zone: &str, id: &str) -> Lookup<Arc<str>> {
        if let Some((other, id)) = id.split_once(':') {
            return match self.items.get(other) {
                Some(items) if items.contains(id) => {
                    Lookup::Found(Arc::from(format!("{other}:{id}")))
                }
                None if self.broken.contains(other) => Lookup::Broken,
                _ => Lookup::Missing(format!("unknown item \"{id}\" in zone \"{other}\"")),
            };
        }
        if self.items.get(zone).is_some_and(|items| items.contains(id)) {
            Lookup::Found(Arc::from(format!("{zone}:{id}")))
        } else if self.global.contains(id) {
            Lookup::Found(Arc::from(id))
        } else {
            Lookup::Missing(format!(
                "unknown item \"{id}\" (not in this zone's items or in global_items)"
            ))
        }
    }
}

/// Reports every dangling reference in `parts`.
pub(super) fn check(parts: &Parts, errs: &mut Errors) {
    let index = Index::new(parts);
    check_default_spawn(parts, &index, errs);
    for zone in &parts.zones {
        if let Some(spawn) = &zone.spawn_room
            && let Lookup::Missing(_) = index.room_in(&zone.id, spawn)
        {
            errs.add(
                &zone.file,
                "spawn_room",
                format!("no room \"{spawn}\" in this zone"),
            );
        }
        for room in &zone.rooms {
            check_room(zone, room, &index, errs);
        }
        for npc in &zone.npcs {
            // An NPC starts, and wanders, inside its own zone.
            if let Lookup::Missing(why) = index.room_in(&zone.id, &npc.room) {
                errs.add(&zone.file, &npc.room_field, why);
            }
        }
    }
}

fn check_default_spawn(parts: &Parts, index: &Index, errs: &mut Errors) {
    // Without a readable `zones` list every zone would look unknown.
    let (Some(spawn), Some(_)) = (&parts.world.spawn, &parts.world.zones) else {
        return;
    };
    match index.room_in(&spawn.zone, &spawn.room) {
        Lookup::Found(_) | Lookup::Broken => {}
        Lookup::Missing(_) if !index.rooms.contains_key(spawn.zone.as_str()) => {
            let message = format!("unknown zone \"{}\" (not listed in zones)", spawn.zone);
            errs.add(&parts.file, "default_spawn.zone", message);
        }
        Lookup::Missing(_) => {
            let message = format!("no room \"{}\" in zone \"{}\"", spawn.room, spawn.zone);
            errs.add(&parts.file, "default_spawn.room", message);
        }
    }
}

fn check_room(zone: &ZoneFile, room: &RawRoom, index: &Index, errs: &mut Errors) {
    for exit in &room.exits {
        if let Lookup::Missing(why) = index.room(&zone.id, &exit.target) {
            let message = format!("exit leads nowhere: {why}");
            errs.add(&zone.file, &exit.target_field, message);
        }
        let key = exit.door.as_ref().and_then(|door| door.key.as_ref());
        if let Some(key) = key
            && let Lookup::Missing(why) = index.item(&zone.id, key)
        {
            let field = format!("{}.door.key", exit.field);
            errs.add(
                &zone.file,
                &field,
                format!("the door's key is no item: {why}"),
            );
        }
    }
    for placed in &room.items {
        if let Lookup::Missing(why) = index.item(&zone.id, &placed.id) {
            errs.add(&zone.file, &placed.field, why);
        }
    }
}

/// Builds the world from parts that passed `check` with no error at all,
/// keeping the documents they were read from; `None` if something it needs
/// is missing after all.
pub(super) fn assemble(parts: Parts, source: Arc<WorldSource>) -> Option<World> {
    let index = Index::new(&parts);
    let spawn = parts.world.spawn.as_ref()?;
    let default_spawn = RoomId::new(&spawn.zone, &spawn.room);
    let mut rooms = HashMap::new();
    let mut zones = Vec::new();
    for zone in &parts.zones {
        let built: Vec<Room> = zone
            .rooms
            .iter()
            .map(|room| build_room(&parts.id, zone, room, &index))
            .collect();
        zones.push(Zone {
            id: zone.id.clone(),
            name: zone.name.clone(),
            description: zone.description.clone(),
            spawn: RoomId::new(&zone.id, zone.spawn_room.as_deref()?),
            rooms: built.iter().map(|room| room.id.clone()).collect(),
        });
        rooms.extend(built.into_iter().map(|room| (room.id.clone(), room)));
    }
    let items = all_items(&parts);
    let npcs = all_npcs(&parts);
    let world = parts.world;
    Some(World {
        greeting: world
            .greeting
            .unwrap_or_else(|| format!("{}\n{}", world.name, world.description)),
        id: parts.id,
        name: world.name,
        description: world.description,
        version: world.version,
        default_spawn,
        access: world.access,
        naming: world.naming,
        active: world.active,
        inactive_reason: world.inactive_reason,
        zones,
        rooms,
        items,
        npcs,
        scripts: Default::default(),
        source,
    })
}

fn build_room(world: &str, zone: &ZoneFile, room: &RawRoom, index: &Index) -> Room {
    let id = RoomId::new(&zone.id, &room.id);
    let exits = room.exits.iter().filter_map(|exit| {
        let to = index.room(&zone.id, &exit.target).found()?;
        let door = exit
            .door
            .as_ref()
            .map(|door| Arc::new(build_door(&id, &exit.name, &zone.id, door, index)));
        Some(Exit {
            door,
            ..Exit::new(&exit.name, to)
        })
    });
    let exits = exits.collect();
    Room {
        num: room_number(world, &id),
        id,
        name: room.name.clone(),
        description: room.description.clone(),
        exits,
        items: room
            .items
            .iter()
            .filter_map(|placed| index.item(&zone.id, &placed.id).found())
            .collect(),
        commands: room.life.commands.clone(),
        script: room.life.script.clone(),
    }
}

fn build_door(room: &RoomId, exit: &str, zone: &str, door: &RawDoor, index: &Index) -> Door {
    Door {
        id: Door::id_of(room, exit),
        name: door.name.clone(),
        closed: door.closed,
        locked: door.locked,
        key: door
            .key
            .as_ref()
            .and_then(|key| index.item(zone, key).found()),
    }
}

/// Hangs each door on the way back too, so both sides are one door: the
/// exit of the other room that leads back here, the one in the opposite
/// direction when there are several. A way back that declares a door of its
/// own is an error naming both: one door has one state.
pub(super) fn share_doors(world: &mut World, errs: &mut Errors) {
    let mut ids: Vec<RoomId> = world.rooms.keys().cloned().collect();
    ids.sort();
    let mut shares = Vec::new();
    for id in &ids {
        let Some(room) = world.room(id) else { continue };
        for exit in &room.exits {
            let Some(door) = &exit.door else { continue };
            if exit.to == *id {
                continue;
            }
            let Some(back) = world
                .room(&exit.to)
                .and_then(|there| way_back(there, id, &exit.key))
            else {
                continue;
            };
            match &back.door {
                Some(other) if other.id != door.id => {
                    let file = world
                        .source()
                        .path_of(&WorldSource::zone_file_name(id.zone()));
                    let field = format!("rooms.{}.exits.{}.door", id.local(), exit.name);
                    let message = format!(
                        "the way back, exit \"{}\" of \"{}\", has a door of its own: \
                         a door declared on one side is the door of both, so declare it once",
                        back.name, exit.to
                    );
                    errs.add(&file, &field, message);
                }
                Some(_) => {}
                None => shares.push((exit.to.clone(), back.key.clone(), door.clone())),
            }
        }
    }
    for (room, key, door) in shares {
        let exit = world
            .rooms
            .get_mut(&room)
            .and_then(|room| room.exits.iter_mut().find(|exit| exit.key == key));
        if let Some(exit) = exit {
            exit.door = Some(door);
        }
    }
}

/// The exit of `there` that leads back to `here` through a door on exit
/// `key`: the one in the opposite direction if any, else the first.
fn way_back<'w>(there: &'w Room, here: &RoomId, key: &str) -> Option<&'w Exit> {
    let back: Vec<&Exit> = there.exits.iter().filter(|e| e.to == *here).collect();
    let opposite = super::plan::way_back(&long_direction(key)).map(|b| long_direction(&b));
    let facing = back
        .iter()
        .find(|exit| opposite.is_some() && Some(long_direction(&exit.key)) == opposite);
    facing.or(back.first()).copied()
}

/// A direction in its long form (`n` is `north`); any other name as it is.
fn long_direction(name: &str) -> String {
    const SHORT: [(&str, &str); 10] = [
        ("n", "north"),
        ("e", "east"),
        ("s", "south"),
        ("w", "west"),
        ("ne", "northeast"),
        ("nw", "northwest"),
        ("se", "southeast"),
        ("sw", "southwest"),
        ("u", "up"),
        ("d", "down"),
    ];
    let lower = name.to_lowercase();
    SHORT
        .iter()
        .find(|(short, _)| *short == lower)
        .map_or(lower, |(_, long)| long.to_string())
}

/// Every NPC, zone by zone in file order.
fn all_npcs(parts: &Parts) -> Vec<Npc> {
    let npcs = parts.zones.iter().flat_map(|zone| {
        zone.npcs.iter().map(move |npc| Npc {
            key: Arc::from(format!("{}:{}", zone.id, npc.id)),
            id: npc.id.clone(),
            name: npc.name.clone(),
            description: npc.description.clone(),
            room: RoomId::new(&zone.id, &npc.room),
            wander: npc.wander,
            commands: npc.life.commands.clone(),
            script: npc.life.script.clone(),
        })
    });
    npcs.collect()
}

/// Reports two rooms of a built world whose numbers ([`room_number`]) are the
/// same: a client's map could not tell them apart. The error names both.
pub(super) fn check_room_numbers(world: &World, file: &std::path::Path, errs: &mut Errors) {
    let mut ids: Vec<&RoomId> = world.rooms.keys().collect();
    ids.sort();
    let mut seen: HashMap<u32, &RoomId> = HashMap::new();
    for id in ids {
        let Some(room) = world.room(id) else { continue };
        if let Some(other) = seen.insert(room.num, id) {
            errs.add(
                file,
                "rooms",
                format!(
                    "rooms \"{other}\" and \"{id}\" have the same room number {} \
                     (clients' maps could not tell them apart): rename one of them",
                    room.num
                ),
            );
        }
    }
}

/// Every item by key: `item` for global ones, `zone:item` for a zone's.
fn all_items(parts: &Parts) -> HashMap<Arc<str>, Item> {
    let global = parts
        .world
        .global_items
        .iter()
        .map(|item| (item.id.clone(), item));
    let zoned = parts.zones.iter().flat_map(|zone| {
        zone.items
            .iter()
            .map(move |item| (format!("{}:{}", zone.id, item.id), item))
    });
    global
        .chain(zoned)
        .map(|(key, item)| {
            let key: Arc<str> = Arc::from(key);
            let item = Item {
                key: key.clone(),
                id: item.id.clone(),
                name: item.name.clone(),
                description: item.description.clone(),
                container: item.container,
                commands: item.life.commands.clone(),
                script: item.life.script.clone(),
            };
            (key, item)
        })
        .collect()
}
