//! What `check-worlds` warns about in a world that loads: keys gaslamp does not
//! read (with the nearest key it does read), rooms with no way out, and rooms
//! that no exit leads to. None of these stops a world from loading, but each
//! is likely a mistake that strands players: a misspelt `exits` leaves a room
//! without a way out, a misspelt `access` leaves an invitation-only world open
//! to all. Warnings name their file and dotted field as errors do. This file
//! only reads a built `World` and the documents it came from.

use std::collections::HashSet;
use std::path::Path;

use super::WorldWarning;
use super::fields::join;
use super::json::Json;
use super::model::{RoomId, World};
use super::raw::{DOOR_KEYS, EXIT_KEYS, ITEM_KEYS, ROOM_KEYS, SPAWN_KEYS, WORLD_KEYS, ZONE_KEYS};
use super::source::WorldSource;
use super::suggest::nearest;

/// Every warning about `world`, file by file in the world's order.
pub(super) fn of_world(world: &World) -> Vec<WorldWarning> {
    let mut found = Vec::new();
    unknown_keys(world, &mut found);
    rooms_without_a_way_out(world, &mut found);
    rooms_nothing_leads_to(world, &mut found);
    found
}

fn warn(found: &mut Vec<WorldWarning>, file: &Path, field: &str, message: String) {
    found.push(WorldWarning {
        file: file.to_path_buf(),
        field: field.to_string(),
        message,
    });
}

/// Keys of `world.json` and of each zone file that gaslamp does not read.
fn unknown_keys(world: &World, found: &mut Vec<WorldWarning>) {
    let source = world.source();
    let name = Path::new("world.json");
    if let Some(file) = source.file(name) {
        let (doc, path) = (file.doc(), source.path_of(name));
        check_keys(doc, WORLD_KEYS, &path, "", found);
        if let Some(spawn) = doc.get("default_spawn") {
            check_keys(spawn, SPAWN_KEYS, &path, "default_spawn", found);
        }
        check_entries(
            doc.get("global_items"),
            ITEM_KEYS,
            &path,
            "global_items",
            found,
        );
    }
    for zone in &world.zones {
        let name = WorldSource::zone_file_name(&zone.id);
        let Some(file) = source.file(&name) else {
            continue;
        };
        let (doc, path) = (file.doc(), source.path_of(&name));
        check_keys(doc, ZONE_KEYS, &path, "", found);
        check_entries(doc.get("rooms"), ROOM_KEYS, &path, "rooms", found);
        check_entries(doc.get("items"), ITEM_KEYS, &path, "items", found);
        check_entries(doc.get("npcs"), super::life::NPC_KEYS, &path, "npcs", found);
        for (field, room) in entries(doc.get("rooms"), "rooms") {
            check_exit_objects(room, &path, &field, found);
        }
    }
}

/// The keys of each exit written as an object, and of its door.
fn check_exit_objects(room: &Json, file: &Path, path: &str, found: &mut Vec<WorldWarning>) {
    let Some(Json::Object(exits)) = room.get("exits") else {
        return;
    };
    let path = join(path, "exits");
    for (name, exit) in exits {
        if !matches!(exit, Json::Object(_)) {
            continue;
        }
        let field = join(&path, name);
        check_keys(exit, EXIT_KEYS, file, &field, found);
        if let Some(door) = exit.get("door") {
            check_keys(door, DOOR_KEYS, file, &join(&field, "door"), found);
        }
    }
}

/// The entries of a collection written as a map by id or as a list, each
/// with its field as errors name it (`rooms.<id>`).
fn entries<'a>(collection: Option<&'a Json>, path: &str) -> Vec<(String, &'a Json)> {
    match collection {
        Some(Json::Object(entries)) => entries
            .iter()
            .map(|(id, entry)| (join(path, id), entry))
            .collect(),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                let id = entry.get("id").and_then(Json::as_str);
                (join(path, id.unwrap_or(&index.to_string())), entry)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Warns about each key of the object `json` that is not in `known`.
fn check_keys(json: &Json, known: &[&str], file: &Path, path: &str, found: &mut Vec<WorldWarning>) {
    let Json::Object(entries) = json else {
        return;
    };
    for (key, _) in entries {
        if known.contains(&key.as_str()) {
            continue;
        }
        let message = match nearest(key, known.iter().copied()) {
            Some(near) => {
                format!("unknown key \"{key}\", kept but not read: did you mean \"{near}\"?")
            }
            None => format!("unknown key \"{key}\", kept but not read"),
        };
        warn(found, file, &join(path, key), message);
    }
}

/// Checks the keys of every entry of a collection written as a map by id or
/// as a list (whose entries are named by their `id`, as errors name them).
fn check_entries(
    collection: Option<&Json>,
    known: &[&str],
    file: &Path,
    path: &str,
    found: &mut Vec<WorldWarning>,
) {
    for (field, entry) in entries(collection, path) {
        check_keys(entry, known, file, &field, found);
    }
}

/// The rooms of `world` in file order: zone by zone, as listed.
fn rooms_in_order(world: &World) -> impl Iterator<Item = &RoomId> {
    world.zones.iter().flat_map(|zone| zone.rooms.iter())
}

/// Where a room's warnings point: its zone file and `rooms.<id>`.
fn room_place(world: &World, room: &RoomId) -> (std::path::PathBuf, String) {
    let name = WorldSource::zone_file_name(room.zone());
    (world.source().path_of(&name), join("rooms", room.local()))
}

/// A room whose every exit (if any) leads back into itself: players there
/// can only recall. A world of one room is left alone; there is nowhere
/// else to go.
fn rooms_without_a_way_out(world: &World, found: &mut Vec<WorldWarning>) {
    if world.room_count() < 2 {
        return;
    }
    for id in rooms_in_order(world) {
        let Some(room) = world.room(id) else { continue };
        if room.exits.iter().all(|exit| exit.to == *id) {
            let (file, field) = room_place(world, id);
            let message = "no way out: no exit leads from this room to another, \
                           so players here can only recall"
                .to_string();
            warn(found, &file, &field, message);
        }
    }
}

/// A room that no exit of another room leads to, so players reach it only
/// by `/goto`. The world's spawn and each zone's spawn are where players are
/// put, so they need no way in.
fn rooms_nothing_leads_to(world: &World, found: &mut Vec<WorldWarning>) {
    let mut reached: HashSet<&RoomId> = HashSet::new();
    reached.insert(&world.default_spawn);
    reached.extend(world.zones.iter().map(|zone| &zone.spawn));
    for room in world.rooms.values() {
        reached.extend(
            room.exits
                .iter()
                .map(|exit| &exit.to)
                .filter(|to| **to != room.id),
        );
    }
    for id in rooms_in_order(world) {
        if !reached.contains(id) {
            let (file, field) = room_place(world, id);
            let message = format!(
                "nothing leads here: no exit of another room leads to \"{id}\", \
                 so players reach it only by /goto"
            );
            warn(found, &file, &field, message);
        }
    }
}
