//! The world loader (`world::load`'s reading and checks, through
//! `world::load_from_memory`) and our JSON document (`world::Json`): any
//! files either load into a world whose every reference holds, or are
//! refused with errors naming files of the world; every file that parses
//! prints back (canonically) to a document equal to what was parsed, and
//! that print prints to itself; and the world's files printed canonically
//! say the same as the files themselves — the same world, or the same
//! errors.
//!
//! Input: `world.json`, then each zone file it lists in its order,
//! separated by NUL bytes.

#![no_main]

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use gaslamp::world::{Json, World, WorldError, load_from_memory, room_number};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut chunks = data.split(|&b| b == 0);
    let Some(world_json) = chunks.next() else {
        return;
    };
    let mut files = vec![(PathBuf::from("world.json"), world_json.to_vec())];
    for (zone, bytes) in listed_zones(world_json).into_iter().zip(chunks) {
        files.push((PathBuf::from(format!("zones/{zone}.json")), bytes.to_vec()));
    }
    let mut every_file_parses = true;
    let printed: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|(name, bytes)| match parse(bytes) {
            Some(doc) => (name.clone(), print_back(&doc).into_bytes()),
            None => {
                every_file_parses = false;
                (name.clone(), bytes.clone())
            }
        })
        .collect();
    let dir = Path::new("fuzzworld");
    let loaded = load_from_memory(dir, &files);
    let reloaded = load_from_memory(dir, &printed);
    match (&loaded, &reloaded) {
        (Ok(world), Ok(again)) => {
            check_world(world);
            assert_eq!(world, again, "the canonical print loads another world");
        }
        (Err(errors), Err(again)) => {
            check_errors(dir, errors);
            if every_file_parses {
                assert_eq!(errors, again, "the canonical print has other errors");
            }
        }
        (Ok(_), Err(errors)) => panic!("the canonical print is refused: {errors:?}"),
        (Err(errors), Ok(_)) => panic!("only the canonical print loads; the files: {errors:?}"),
    }
});

/// The zone ids `world.json` lists, each once, as the loader reads them.
fn listed_zones(world_json: &[u8]) -> Vec<String> {
    let Some(Json::Array(zones)) = parse(world_json).and_then(|doc| doc.get("zones").cloned())
    else {
        return Vec::new();
    };
    let mut seen = HashSet::new();
    zones
        .iter()
        .filter_map(Json::as_str)
        .filter(|id| seen.insert(id.to_string()))
        .map(str::to_string)
        .collect()
}

fn parse(bytes: &[u8]) -> Option<Json> {
    Json::parse(std::str::from_utf8(bytes).ok()?).ok()
}

/// The canonical print of a document, checked to read back as the same
/// document and to print as itself.
fn print_back(doc: &Json) -> String {
    let text = doc.to_canonical();
    let again =
        Json::parse(&text).unwrap_or_else(|err| panic!("the print does not parse: {err}\n{text}"));
    assert_eq!(
        &again, doc,
        "the print reads back as another document:\n{text}"
    );
    assert_eq!(
        again.to_canonical(),
        text,
        "the print does not print as itself"
    );
    text
}

/// What a loaded world promises: every reference was checked.
fn check_world(world: &World) {
    assert!(world.room(&world.default_spawn).is_some(), "default spawn");
    let mut numbers = HashSet::new();
    let mut placed = 0;
    for zone in &world.zones {
        assert!(zone.rooms.contains(&zone.spawn), "zone {}'s spawn", zone.id);
        for id in &zone.rooms {
            assert_eq!(id.zone(), zone.id);
            placed += 1;
        }
    }
    assert_eq!(placed, world.rooms.len(), "every room in exactly one zone");
    for (id, room) in &world.rooms {
        assert_eq!(&room.id, id);
        assert_eq!(room.num, room_number(&world.id, id));
        assert!(numbers.insert(room.num), "room number {} twice", room.num);
        assert_eq!(world.resolve_room(id.as_str(), None).as_ref(), Some(id));
        for exit in &room.exits {
            assert!(
                world.room(&exit.to).is_some(),
                "{id} exit {} to {}",
                exit.name,
                exit.to
            );
            assert_eq!(exit.key, exit.name.to_lowercase());
        }
        for item in &room.items {
            assert!(world.item(item).is_some(), "{id} item {item}");
        }
    }
    let _ = world.warnings();
    let _ = gaslamp::world::summary(world);
}

/// Every error names a file of the world and says something.
fn check_errors(dir: &Path, errors: &[WorldError]) {
    assert!(!errors.is_empty());
    for error in errors {
        assert!(error.file.starts_with(dir), "{error}");
        assert!(!error.message.is_empty(), "{error:?}");
    }
}
