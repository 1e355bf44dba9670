//! Tests of loading, validation and writing back: the predecessor's worlds
//! load unchanged and save and reload to the same world, each kind of mistake
//! in a world file is reported with its file and field, each warning is given,
//! the worlds shipped with the server are whole (every room reachable, every
//! exit leading somewhere) and print back to their own bytes, and a change is
//! checked, written in the file's own form, and refused when the file changed
//! on disk. The example world of `docs/worlds.md` loads without a warning.

use std::collections::{HashSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::load::{load_world, load_worlds};
use super::*;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/pipeworks_worlds"
);
const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/worlds");

fn fixture(id: &str) -> World {
    match load_world(&Path::new(FIXTURES).join(id)) {
        Ok(world) => world,
        Err(errs) => panic!("fixture {id} failed to load: {errs:#?}"),
    }
}

fn room<'w>(world: &'w World, full: &str) -> &'w Room {
    let id = RoomId::parse_full(full).expect("a full room id");
    world.room(&id).unwrap_or_else(|| panic!("no room {full}"))
}

// ---- the predecessor's worlds ----

#[test]
fn daily_undertaking_loads_unchanged() {
    let world = fixture("daily_undertaking");
    assert_eq!(world.zones.len(), 6);
    assert_eq!(world.room_count(), 27);
    assert_eq!(world.item_count(), 16);
    assert_eq!(world.default_spawn.as_str(), "crooked_pipe:spawn");
    let zones: Vec<&str> = world.zones.iter().map(|zone| zone.id.as_str()).collect();
    assert_eq!(zones[..2], ["crooked_pipe", "cobbled_street"]);
    assert_eq!(
        world.greeting,
        format!("{}\n{}", world.name, world.description)
    );
    assert_eq!((world.access, world.active), (Access::Open, true));
}

#[test]
fn pipeworks_web_has_one_room() {
    let world = fixture("pipeworks_web");
    assert_eq!(
        (world.zones.len(), world.room_count(), world.item_count()),
        (1, 1, 0)
    );
    assert!(room(&world, "pipeworks_web:spawn").exits.is_empty());
    assert_eq!(world.version.as_deref(), Some("0.1.0"));
}

#[test]
fn cross_zone_exit_resolves() {
    let world = fixture("daily_undertaking");
    let spawn = room(&world, "crooked_pipe:spawn");
    let west = spawn
        .exits
        .iter()
        .find(|exit| exit.name == "west")
        .expect("a west exit");
    assert_eq!(west.to, RoomId::new("cobbled_street", "street_middle"));
    assert_eq!(
        room(&world, "cobbled_street:street_middle").name,
        "Cobbled Street"
    );
    let names: Vec<&str> = spawn.exits.iter().map(|exit| exit.name.as_str()).collect();
    assert_eq!(names, ["north", "down", "west"], "exits keep file order");
}

#[test]
fn rooms_with_the_same_local_id_stay_apart() {
    let world = fixture("daily_undertaking");
    let gardens = room(&world, "the_north_gardens:spawn");
    let pub_room = room(&world, "crooked_pipe:spawn");
    assert_ne!(gardens.id, pub_room.id);
    assert_ne!(gardens.name, pub_room.name);
    let spawns = world
        .rooms
        .keys()
        .filter(|id| id.local() == "spawn")
        .count();
    assert_eq!(spawns, 5);
}

#[test]
fn zone_items_are_keyed_by_zone() {
    let world = fixture("daily_undertaking");
    let keys: Vec<&str> = room(&world, "crooked_pipe:spawn")
        .items
        .iter()
        .map(|k| &**k)
        .collect();
    assert_eq!(keys, ["crooked_pipe:ale_mug", "crooked_pipe:chalk"]);
    let mug = world.item("crooked_pipe:ale_mug").expect("the mug");
    assert_eq!(
        (mug.id.as_str(), mug.name.as_str()),
        ("ale_mug", "Battered Ale Mug")
    );
}

#[test]
fn load_worlds_orders_by_id() {
    let worlds = load_worlds(Path::new(FIXTURES)).unwrap_or_else(|errs| panic!("{errs:#?}"));
    assert_eq!(worlds.ids(), ["daily_undertaking", "pipeworks_web"]);
    assert_eq!((worlds.len(), worlds.is_empty()), (2, false));
    assert_eq!(
        worlds.first().map(|w| w.id.as_str()),
        Some("daily_undertaking")
    );
    assert!(worlds.get("pipeworks_web").is_some() && worlds.get("nope").is_none());
    let ids: Vec<&str> = worlds.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(ids, ["daily_undertaking", "pipeworks_web"]);
}

#[test]
fn summary_is_one_line() {
    let world = fixture("daily_undertaking");
    assert_eq!(
        summary(&world),
        "daily_undertaking: The Undertaking — 6 zones, 27 rooms, 16 items, spawn crooked_pipe:spawn"
    );
    let web = fixture("pipeworks_web");
    assert_eq!(
        summary(&web),
        "pipeworks_web: Pipeworks Web — 1 zone, 1 room, 0 items, spawn pipeworks_web:spawn"
    );
}

#[test]
fn resolve_room_by_full_or_local_id() {
    let world = fixture("daily_undertaking");
    let street = Some(RoomId::new("cobbled_street", "street_middle"));
    assert_eq!(
        world.resolve_room("cobbled_street:street_middle", None),
        street
    );
    assert_eq!(
        world.resolve_room("Cobbled_Street:STREET_MIDDLE", None),
        street
    );
    assert_eq!(
        world.resolve_room("street_middle", None),
        street,
        "unique across zones"
    );
    assert_eq!(
        world.resolve_room("spawn", None),
        None,
        "five zones have one"
    );
    let here = world.resolve_room("SPAWN", Some("the_north_gardens"));
    assert_eq!(here, Some(RoomId::new("the_north_gardens", "spawn")));
    assert_eq!(world.resolve_room("moon:spawn", None), None);
    assert_eq!(world.resolve_room("attic", Some("crooked_pipe")), None);
}

#[test]
fn room_id_parts() {
    let id = RoomId::new("dock", "quay");
    assert_eq!(
        (id.zone(), id.local(), id.as_str()),
        ("dock", "quay", "dock:quay")
    );
    assert_eq!(id.to_string(), "dock:quay");
    assert_eq!(RoomId::parse_full("dock:quay"), Some(id));
    for bad in ["quay", ":quay", "dock:", "a:b:c", ""] {
        assert_eq!(RoomId::parse_full(bad), None, "{bad:?}");
    }
}

#[test]
fn world_error_display() {
    let error = |field: &str| WorldError {
        file: PathBuf::from("w/world.json"),
        field: field.to_string(),
        message: "broken".to_string(),
    };
    assert_eq!(
        error("default_spawn.room").to_string(),
        "w/world.json: default_spawn.room: broken"
    );
    assert_eq!(error("").to_string(), "w/world.json: broken");
}

#[test]
fn worlds_from_iterator() {
    let worlds: Worlds = [fixture("pipeworks_web"), fixture("daily_undertaking")]
        .into_iter()
        .collect();
    assert_eq!(worlds.ids(), ["daily_undertaking", "pipeworks_web"]);
    assert!(Worlds::default().is_empty());
}

// ---- a small world in a temporary directory, broken one way at a time ----

/// The files of a valid world `w`: zone `town` written as maps, zone `dock`
/// as lists, one global item.
struct Files {
    world: Value,
    town: Value,
    dock: Value,
}

fn files() -> Files {
    Files {
        world: json!({
            "name": "Test", "description": "A world for tests.",
            "default_spawn": {"zone": "town", "room": "square"},
            "zones": ["town", "dock"],
            "global_items": [{"id": "coin", "name": "a coin", "description": "Round."}],
            "axis_engine": {"enabled": false}
        }),
        town: json!({
            "id": "town", "name": "Town", "description": "Houses.", "spawn_room": "square",
            "rooms": {
                "square": {"name": "Square", "description": "Open.",
                    "exits": {"north": "hall", "East": "dock:quay"}, "items": ["lamp", "coin"]},
                "hall": {"id": "hall", "name": "Hall", "description": "Echoing.",
                    "exits": {"south": "square"}}
            },
            "items": {"lamp": {"name": "a lamp", "description": "Brass."}}
        }),
        dock: json!({
            "id": "dock", "name": "Dock", "description": "Wet.", "spawn_room": "quay",
            "rooms": [{"id": "quay", "name": "Quay", "description": "Ropes.",
                "exits": {"west": "town:square"}, "items": ["rope"], "metadata": {}}],
            "items": [{"id": "rope", "name": "a rope", "description": "Coiled."}]
        }),
    }
}

fn remove(value: &mut Value, key: &str) {
    value.as_object_mut().expect("an object").remove(key);
}

fn push(value: &mut Value, entry: Value) {
    value.as_array_mut().expect("a list").push(entry);
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create directories");
    }
    fs::write(path, text).expect("write a file");
}

impl Files {
    /// Writes the world into `root/<id>/`.
    fn write_to(&self, root: &Path, id: &str) -> PathBuf {
        let dir = root.join(id);
        write(&dir.join("world.json"), &self.world.to_string());
        write(&dir.join("zones/town.json"), &self.town.to_string());
        write(&dir.join("zones/dock.json"), &self.dock.to_string());
        dir
    }

    /// Loads the world, expecting it to fail.
    fn errors(&self) -> Vec<WorldError> {
        let root = tempfile::tempdir().expect("a temp dir");
        let dir = self.write_to(root.path(), "w");
        match load_world(&dir) {
            Ok(_) => panic!("the world loaded but should not have"),
            Err(errs) => errs,
        }
    }
}

/// Asserts that one of `errs` is about `file` (relative to the world) and
/// `field`, with `words` in its message.
#[track_caller]
fn assert_error(errs: &[WorldError], file: &str, field: &str, words: &str) {
    let found = errs.iter().any(|err| {
        err.file.ends_with(Path::new("w").join(file))
            && err.field == field
            && err.message.contains(words)
    });
    assert!(
        found,
        "no error for {file} / {field:?} / {words:?} in {errs:#?}"
    );
}

#[test]
fn the_valid_world_loads_in_both_shapes() {
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = files().write_to(root.path(), "w");
    let world = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    assert_eq!(world.id, "w");
    assert_eq!((world.room_count(), world.item_count()), (3, 3));
    let square = room(&world, "town:square");
    let keys: Vec<&str> = square.items.iter().map(|k| &**k).collect();
    assert_eq!(
        keys,
        ["town:lamp", "coin"],
        "zone items first, then global ones"
    );
    assert_eq!(square.exits[1].name, "East", "exit names keep their case");
    assert_eq!(square.exits[1].key, "east", "and match without it");
    assert_eq!(square.exits[1].to, RoomId::new("dock", "quay"));
    assert_eq!(
        room(&world, "dock:quay").items.first().map(|k| &**k),
        Some("dock:rope")
    );
    assert_eq!(
        world.zone("dock").map(|z| z.spawn.as_str()),
        Some("dock:quay")
    );
}

#[test]
fn optional_world_keys() {
    let mut f = files();
    f.world["greeting"] = json!("Hello.");
    f.world["access"] = json!("invite");
    f.world["active"] = json!(false);
    f.world["inactive_reason"] = json!("Being painted.");
    f.world["version"] = json!(2);
    let root = tempfile::tempdir().expect("a temp dir");
    let world =
        load_world(&f.write_to(root.path(), "w")).unwrap_or_else(|errs| panic!("{errs:#?}"));
    assert_eq!(world.greeting, "Hello.");
    assert_eq!((world.access, world.active), (Access::Invite, false));
    assert_eq!(world.inactive_reason.as_deref(), Some("Being painted."));
    assert_eq!(world.version.as_deref(), Some("2"));
    assert!(summary(&world).ends_with("by invitation, closed"));
}

#[test]
fn bad_access_value() {
    let mut f = files();
    f.world["access"] = json!("secret");
    assert_error(
        &f.errors(),
        "world.json",
        "access",
        "\"open\" or \"invite\"",
    );
}

#[test]
fn bad_json_names_line_and_column() {
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = files().write_to(root.path(), "w");
    write(&dir.join("zones/dock.json"), "{\n  \"id\": \"dock\",\n}\n");
    let errs = load_world(&dir).expect_err("bad JSON");
    assert_error(&errs, "zones/dock.json", "", "line 3 column 1");
    write(&dir.join("world.json"), "{\"name\": ");
    let errs = load_world(&dir).expect_err("bad JSON");
    assert_error(&errs, "world.json", "", "invalid JSON");
}

#[test]
fn a_file_that_is_not_an_object() {
    let mut f = files();
    f.town = json!(["square"]);
    assert_error(
        &f.errors(),
        "zones/town.json",
        "",
        "expected an object, found a list",
    );
}

#[test]
fn missing_required_fields() {
    let mut f = files();
    remove(&mut f.world, "name");
    remove(&mut f.world["default_spawn"], "room");
    remove(&mut f.town["rooms"]["hall"], "description");
    remove(&mut f.dock["items"][0], "name");
    remove(&mut f.dock["rooms"][0], "id");
    let errs = f.errors();
    assert_error(&errs, "world.json", "name", "missing required field");
    assert_error(
        &errs,
        "world.json",
        "default_spawn.room",
        "missing required field",
    );
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.hall.description",
        "missing required field",
    );
    assert_error(
        &errs,
        "zones/dock.json",
        "items.rope.name",
        "missing required field",
    );
    assert_error(
        &errs,
        "zones/dock.json",
        "rooms.0.id",
        "missing required field",
    );
}

#[test]
fn wrong_types() {
    let mut f = files();
    f.town["rooms"]["square"]["name"] = json!(5);
    f.town["rooms"]["square"]["exits"]["north"] = json!(["hall"]);
    f.town["rooms"]["hall"]["items"] = json!("lamp");
    f.dock["rooms"] = json!(7);
    let errs = f.errors();
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.square.name",
        "expected a string, found a number",
    );
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.square.exits.north",
        "found a list",
    );
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.hall.items",
        "expected a list of item ids",
    );
    assert_error(
        &errs,
        "zones/dock.json",
        "rooms",
        "expected a list or an object of rooms",
    );
}

#[test]
fn zones_not_a_list() {
    let mut f = files();
    f.world["zones"] = json!("town");
    let errs = f.errors();
    assert_error(
        &errs,
        "world.json",
        "zones",
        "expected a list of zone ids, found a string",
    );
    assert_eq!(
        errs.len(),
        1,
        "the spawn is not reported as well: {errs:#?}"
    );
}

#[test]
fn zone_listed_without_a_file() {
    let mut f = files();
    f.world["zones"] = json!(["town", "dock", "cellar"]);
    f.town["rooms"]["hall"]["exits"]["down"] = json!("cellar:stairs");
    let errs = f.errors();
    assert_error(&errs, "world.json", "zones.2", "unknown zone \"cellar\"");
    assert_eq!(
        errs.len(),
        1,
        "an exit into the missing zone is not reported again: {errs:#?}"
    );
}

#[test]
fn zone_list_problems() {
    let mut f = files();
    f.world["zones"] = json!(["town", "dock", "town", 4]);
    let errs = f.errors();
    assert_error(
        &errs,
        "world.json",
        "zones.2",
        "\"town\" is listed more than once",
    );
    assert_error(
        &errs,
        "world.json",
        "zones.3",
        "expected a zone id, found a number",
    );
    f.world["zones"] = json!([]);
    assert_error(&f.errors(), "world.json", "zones", "at least one zone");
}

#[test]
fn zone_id_must_match_file_name() {
    let mut f = files();
    f.town["id"] = json!("city");
    assert_error(
        &f.errors(),
        "zones/town.json",
        "id",
        "does not match the file name",
    );
}

#[test]
fn bad_ids() {
    let mut f = files();
    f.world["zones"] = json!(["town", "dock", "sea side"]);
    f.dock["rooms"][0]["id"] = json!("the:quay");
    let errs = f.errors();
    assert_error(&errs, "world.json", "zones.2", "letters, digits");
    assert_error(
        &errs,
        "zones/dock.json",
        "rooms.0.id",
        "must not contain ':'",
    );
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = files().write_to(root.path(), "bad world");
    let errs = load_world(&dir).expect_err("bad world id");
    assert!(
        errs.iter().any(|e| e.file == dir && e.field.is_empty()),
        "{errs:#?}"
    );
}

#[test]
fn duplicate_room_ids() {
    let mut f = files();
    let quay = f.dock["rooms"][0].clone();
    push(&mut f.dock["rooms"], quay);
    assert_error(
        &f.errors(),
        "zones/dock.json",
        "rooms.quay",
        "duplicate room id \"quay\"",
    );
}

#[test]
fn duplicate_keys_in_a_map_are_caught() {
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = files().write_to(root.path(), "w");
    let text = files().town.to_string().replacen(
        "\"rooms\":{",
        "\"rooms\":{\"hall\":{\"name\":\"Other\",\"description\":\"\"},",
        1,
    );
    write(&dir.join("zones/town.json"), &text);
    let errs = load_world(&dir).expect_err("duplicate key");
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.hall",
        "duplicate room id \"hall\"",
    );
}

#[test]
fn map_entry_id_must_match_its_key() {
    let mut f = files();
    f.town["rooms"]["hall"]["id"] = json!("gallery");
    let errs = f.errors();
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.hall.id",
        "does not match its key \"hall\"",
    );
    assert_eq!(
        errs.len(),
        1,
        "exits to the hall are not reported too: {errs:#?}"
    );
}

#[test]
fn duplicate_item_ids() {
    let mut f = files();
    let rope = f.dock["items"][0].clone();
    push(&mut f.dock["items"], rope);
    let coin = f.world["global_items"][0].clone();
    push(&mut f.world["global_items"], coin);
    let errs = f.errors();
    assert_error(
        &errs,
        "zones/dock.json",
        "items.rope",
        "duplicate item id \"rope\"",
    );
    assert_error(
        &errs,
        "world.json",
        "global_items.coin",
        "duplicate item id \"coin\"",
    );
}

#[test]
fn dangling_exits() {
    let mut f = files();
    f.town["rooms"]["square"]["exits"]["west"] = json!("nowhere");
    f.town["rooms"]["square"]["exits"]["up"] = json!("moon:base");
    f.dock["rooms"][0]["exits"]["south"] = json!("town:cellar");
    f.dock["rooms"][0]["exits"]["down"] = json!("");
    let errs = f.errors();
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.square.exits.west",
        "unknown room \"nowhere\"",
    );
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.square.exits.up",
        "unknown zone \"moon\"",
    );
    assert_error(
        &errs,
        "zones/dock.json",
        "rooms.quay.exits.south",
        "unknown room \"cellar\" in zone \"town\"",
    );
    assert_error(
        &errs,
        "zones/dock.json",
        "rooms.quay.exits.down",
        "must name a room",
    );
}

#[test]
fn exits_need_names_and_no_repeats() {
    let mut f = files();
    f.town["rooms"]["square"]["exits"][" "] = json!("hall");
    f.town["rooms"]["hall"]["exits"]["South"] = json!("square");
    let errs = f.errors();
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.square.exits",
        "an exit name must not be empty",
    );
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.hall.exits.South",
        "exit \"South\" is given more than once (case does not count)",
    );
}

// ---- doors and containers ----

/// The town's square with a door north to the hall, locked by the lamp.
fn with_a_door(door: Value) -> Files {
    let mut f = files();
    f.town["rooms"]["square"]["exits"]["north"] = json!({"to": "hall", "door": door});
    f
}

fn door_of<'w>(world: &'w World, room: &str, exit: &str) -> Option<&'w Door> {
    let exit = super::model::World::room(world, &RoomId::parse_full(room)?)?
        .exits
        .iter()
        .find(|e| e.key == exit)?;
    exit.door.as_deref()
}

#[test]
fn a_door_declared_on_one_side_is_the_door_of_both() {
    let root = tempfile::tempdir().expect("a temp dir");
    let f = with_a_door(json!({"name": "oak door", "locked": true, "key": "lamp"}));
    let dir = f.write_to(root.path(), "w");
    let world = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    let here = door_of(&world, "town:square", "north").expect("the door");
    let there = door_of(&world, "town:hall", "south").expect("the same door from the hall");
    assert_eq!(here, there);
    assert_eq!(&*here.id, "town:square/north");
    assert_eq!(here.name, "oak door");
    assert!(here.closed && here.locked, "closed unless said open");
    assert_eq!(here.key.as_deref(), Some("town:lamp"));
    assert_eq!(door_of(&world, "town:square", "east"), None);
    let exit = &room(&world, "town:square").exits[0];
    assert_eq!(exit.to, RoomId::new("town", "hall"), "the object's `to`");
}

#[test]
fn door_mistakes_name_their_file_and_field() {
    let f = with_a_door(json!({"name": "door", "locked": true, "key": "anchor"}));
    assert_error(
        &f.errors(),
        "zones/town.json",
        "rooms.square.exits.north.door.key",
        "unknown item \"anchor\"",
    );
    let f = with_a_door(json!({"name": "door", "locked": true}));
    assert_error(
        &f.errors(),
        "zones/town.json",
        "rooms.square.exits.north.door.key",
        "a locked door needs a key",
    );
    let f = with_a_door(json!({"name": "door", "closed": false, "locked": true, "key": "coin"}));
    assert_error(
        &f.errors(),
        "zones/town.json",
        "rooms.square.exits.north.door.locked",
        "a locked door must be closed",
    );
    let f = with_a_door(json!({"name": " ", "closed": "yes"}));
    let errs = f.errors();
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.square.exits.north.door.name",
        "must not be empty",
    );
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.square.exits.north.door.closed",
        "expected true or false",
    );
    let mut f = files();
    f.town["rooms"]["square"]["exits"]["north"] = json!({"door": {"name": "door"}});
    f.town["rooms"]["hall"]["exits"]["up"] = json!({"to": "attic"});
    let errs = f.errors();
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.square.exits.north.to",
        "missing required field",
    );
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.hall.exits.up.to",
        "unknown room \"attic\"",
    );
}

#[test]
fn a_door_declared_on_both_sides_is_refused() {
    let mut f = with_a_door(json!({"name": "door"}));
    f.town["rooms"]["hall"]["exits"]["south"] = json!({"to": "square", "door": {"name": "door"}});
    let errs = f.errors();
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.hall.exits.south.door",
        "declare it once",
    );
}

#[test]
fn exit_objects_and_doors_warn_of_unknown_keys() {
    let root = tempfile::tempdir().expect("a temp dir");
    let mut f = with_a_door(json!({"name": "door", "lockd": true}));
    f.town["rooms"]["square"]["exits"]["north"]["too"] = json!(1);
    let dir = f.write_to(root.path(), "w");
    let world = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    let fields: Vec<String> = super::warnings::of_world(&world)
        .into_iter()
        .map(|w| format!("{} {}", w.field, w.message))
        .collect();
    assert!(
        fields
            .iter()
            .any(|w| w.starts_with("rooms.square.exits.north.too unknown key")),
        "{fields:#?}"
    );
    assert!(
        fields
            .iter()
            .any(|w| w.starts_with("rooms.square.exits.north.door.lockd")
                && w.contains("did you mean \"locked\"")),
        "{fields:#?}"
    );
}

#[test]
fn items_may_be_containers() {
    let root = tempfile::tempdir().expect("a temp dir");
    let mut f = files();
    f.town["items"]["chest"] = json!({"name": "a chest", "description": "Oak.", "container": true});
    let dir = f.write_to(root.path(), "w");
    let world = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    assert!(world.item("town:chest").expect("the chest").container);
    assert!(!world.item("town:lamp").expect("the lamp").container);
    f.town["items"]["chest"]["container"] = json!("yes");
    assert_error(
        &f.errors(),
        "zones/town.json",
        "items.chest.container",
        "expected true or false",
    );
}

#[test]
fn missing_spawns() {
    let mut f = files();
    f.world["default_spawn"]["room"] = json!("attic");
    f.town["spawn_room"] = json!("attic");
    let errs = f.errors();
    assert_error(
        &errs,
        "world.json",
        "default_spawn.room",
        "no room \"attic\" in zone \"town\"",
    );
    assert_error(&errs, "zones/town.json", "spawn_room", "no room \"attic\"");
    let mut f = files();
    f.world["default_spawn"]["zone"] = json!("moon");
    assert_error(
        &f.errors(),
        "world.json",
        "default_spawn.zone",
        "unknown zone \"moon\"",
    );
}

#[test]
fn unknown_room_items() {
    let mut f = files();
    f.town["rooms"]["square"]["items"] = json!(["lamp", "sword"]);
    f.dock["rooms"][0]["items"] = json!(["lamp"]);
    let errs = f.errors();
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.square.items.1",
        "unknown item \"sword\"",
    );
    // Another zone's item is not in scope.
    assert_error(
        &errs,
        "zones/dock.json",
        "rooms.quay.items.0",
        "unknown item \"lamp\"",
    );
}

#[test]
fn every_error_of_every_world_is_reported() {
    let root = tempfile::tempdir().expect("a temp dir");
    let mut a = files();
    a.world["default_spawn"]["room"] = json!("attic");
    a.town["rooms"]["square"]["exits"]["west"] = json!("nowhere");
    a.dock["items"][0]["name"] = json!(false);
    a.write_to(root.path(), "alpha");
    let mut b = files();
    b.town["spawn_room"] = json!("attic");
    b.write_to(root.path(), "beta");
    files().write_to(root.path(), "gamma");
    let errs = load_worlds(root.path()).expect_err("two broken worlds");
    assert_eq!(errs.len(), 4, "{errs:#?}");
    let in_world = |id: &str| {
        errs.iter()
            .filter(|e| e.file.starts_with(root.path().join(id)))
            .count()
    };
    assert_eq!(
        (in_world("alpha"), in_world("beta"), in_world("gamma")),
        (3, 1, 0)
    );
}

#[test]
fn empty_or_missing_worlds_directory() {
    let root = tempfile::tempdir().expect("a temp dir");
    fs::create_dir(root.path().join("not_a_world")).expect("mkdir");
    let errs = load_worlds(root.path()).expect_err("no worlds");
    assert_eq!(errs.len(), 1);
    assert_eq!(
        (errs[0].file.as_path(), errs[0].field.as_str()),
        (root.path(), "")
    );
    let missing = root.path().join("missing");
    let errs = load_worlds(&missing).expect_err("no directory");
    assert_eq!(errs[0].file, missing);
}

#[test]
fn unlisted_zone_files_are_ignored() {
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = files().write_to(root.path(), "w");
    write(&dir.join("zones/draft.json"), "not even JSON");
    write(&root.path().join("README.md"), "not a world");
    let worlds = load_worlds(root.path()).unwrap_or_else(|errs| panic!("{errs:#?}"));
    assert_eq!(worlds.ids(), ["w"]);
}

// ---- the worlds shipped with the server ----

fn shipped() -> Worlds {
    load_worlds(Path::new(SHIPPED)).unwrap_or_else(|errs| panic!("shipped worlds: {errs:#?}"))
}

/// Every room reachable from `world`'s default spawn by following exits.
fn reachable(world: &World) -> HashSet<RoomId> {
    let mut seen = HashSet::from([world.default_spawn.clone()]);
    let mut queue = VecDeque::from([world.default_spawn.clone()]);
    while let Some(id) = queue.pop_front() {
        let exits = world
            .room(&id)
            .map(|room| room.exits.as_slice())
            .unwrap_or_default();
        for exit in exits {
            if seen.insert(exit.to.clone()) {
                queue.push_back(exit.to.clone());
            }
        }
    }
    seen
}

#[test]
fn shipped_worlds_are_whole() {
    let worlds = shipped();
    assert!(!worlds.is_empty());
    for world in worlds.iter() {
        for room in world.rooms.values() {
            for exit in &room.exits {
                assert!(
                    world.room(&exit.to).is_some(),
                    "{}: {} leads nowhere",
                    room.id,
                    exit.name
                );
            }
        }
        let seen = reachable(world);
        let mut unreachable: Vec<&RoomId> = world
            .rooms
            .keys()
            .filter(|id| !seen.contains(*id))
            .collect();
        unreachable.sort();
        assert!(
            unreachable.is_empty(),
            "{}: unreachable rooms {unreachable:?}",
            world.id
        );
    }
}

/// The way back for a compass or vertical exit.
fn opposite(name: &str) -> Option<&'static str> {
    let pairs = [
        ("north", "south"),
        ("east", "west"),
        ("northeast", "southwest"),
        ("northwest", "southeast"),
        ("ne", "sw"),
        ("nw", "se"),
        ("up", "down"),
        ("in", "out"),
    ];
    pairs.iter().find_map(|&(a, b)| match name {
        _ if name == a => Some(b),
        _ if name == b => Some(a),
        _ => None,
    })
}

#[test]
fn lanternfall_is_laid_out_as_promised() {
    let worlds = shipped();
    let world = worlds.get("lanternfall").expect("the lanternfall world");
    assert!(world.zones.len() >= 4 && world.room_count() >= 14 && world.item_count() >= 10);
    assert_ne!(
        world.greeting,
        format!("{}\n{}", world.name, world.description),
        "it has its own greeting"
    );
    let mut names = HashSet::new();
    for room in world.rooms.values() {
        assert!(
            room.description.len() > 60,
            "{} needs a real description",
            room.id
        );
        for exit in &room.exits {
            names.insert(exit.name.as_str());
            let back = opposite(&exit.name)
                .unwrap_or_else(|| panic!("{}: odd exit {}", room.id, exit.name));
            let there = world.room(&exit.to).expect("checked above");
            let paired = there
                .exits
                .iter()
                .any(|e| e.name == back && e.to == room.id);
            assert!(
                paired,
                "{} --{}--> {} has no way {back} back",
                room.id, exit.name, exit.to
            );
        }
    }
    for needed in ["up", "down", "ne", "sw"] {
        assert!(names.contains(needed), "no {needed} exit anywhere");
    }
    let crossings = |room: &Room| {
        room.exits
            .iter()
            .filter(|e| e.to.zone() != room.id.zone())
            .count()
    };
    let cross: usize = world.rooms.values().map(crossings).sum();
    assert!(cross >= 6, "only {cross} cross-zone exits");
}

#[test]
fn lanternfall_uses_both_file_shapes() {
    let zones = Path::new(SHIPPED).join("lanternfall/zones");
    let (mut lists, mut maps) = (0, 0);
    for entry in fs::read_dir(&zones).expect("zone files") {
        let text = fs::read_to_string(entry.expect("an entry").path()).expect("readable");
        let zone: Value = serde_json::from_str(&text).expect("JSON");
        for key in ["rooms", "items"] {
            match &zone[key] {
                Value::Array(_) => lists += 1,
                Value::Object(_) => maps += 1,
                _ => {}
            }
        }
    }
    assert!(lists > 0 && maps > 0, "lists {lists}, maps {maps}");
}

// ---- room numbers ----

#[test]
fn room_numbers_are_stable_31_bit_and_never_zero() {
    // The same input gives the same number on every machine: these values are
    // part of players' saved maps and must never change.
    let square = RoomId::new("old_town", "lantern_square");
    assert_eq!(
        room_number("lanternfall", &square),
        room_number("lanternfall", &square)
    );
    assert_eq!(
        room_number("w", &RoomId::new("town", "square")),
        0x4c2c_d67d
    );
    let a = room_number("lanternfall", &square);
    let b = room_number("otherworld", &square);
    assert_ne!(a, b, "the world is part of the number");
    for (world, zone, room) in [("w", "z", "a"), ("lanternfall", "quayside", "harbour_gate")] {
        let n = room_number(world, &RoomId::new(zone, room));
        assert!(n != 0 && n <= 0x7fff_ffff, "{n}");
    }
    let world = fixture("daily_undertaking");
    for (id, room) in &world.rooms {
        assert_eq!(room.num, room_number(&world.id, id));
    }
}

/// Two room ids of zone `town` in world `w` with the same number, found by
/// trying ids until two collide (a 31-bit hash collides within a few tens of
/// thousands of tries).
fn colliding_rooms() -> (String, String) {
    let mut seen = std::collections::HashMap::new();
    for i in 0u32.. {
        let id = format!("r{i}");
        let n = room_number("w", &RoomId::new("town", &id));
        if let Some(other) = seen.insert(n, id.clone()) {
            return (other, id);
        }
    }
    unreachable!("the loop only ends by returning")
}

#[test]
fn a_room_number_collision_is_a_load_error_naming_both_rooms() {
    let (first, second) = colliding_rooms();
    let mut f = files();
    let rooms = f.town["rooms"].as_object_mut().expect("rooms map");
    for id in [&first, &second] {
        rooms.insert(
            id.clone(),
            json!({"name": id, "description": "", "exits": {"out": "square"}}),
        );
    }
    let errs = f.errors();
    assert_error(&errs, "world.json", "rooms", "same room number");
    let message = &errs
        .iter()
        .find(|e| e.message.contains("same room number"))
        .expect("the collision")
        .message;
    assert!(
        message.contains(&format!("town:{first}")) && message.contains(&format!("town:{second}")),
        "{message}"
    );
}

// ---- the document model: round trips ----

/// Copies a folder tree (a world set to change in a test).
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Every file of a world folder: `world.json` and `zones/*.json`.
fn world_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![dir.join("world.json")];
    let mut zones: Vec<PathBuf> = fs::read_dir(dir.join("zones"))
        .expect("zones")
        .map(|e| e.expect("entry").path())
        .collect();
    zones.sort();
    files.extend(zones);
    files
}

fn parse_file(path: &Path) -> Json {
    let text = fs::read_to_string(path).expect("readable");
    Json::parse(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn every_shipped_file_prints_back_to_its_own_bytes() {
    let dir = Path::new(SHIPPED).join("lanternfall");
    for path in world_files(&dir) {
        let text = fs::read_to_string(&path).expect("readable");
        assert_eq!(parse_file(&path).to_canonical(), text, "{}", path.display());
    }
    let world = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    assert_eq!(world.source().files().len(), 5);
    for file in world.source().files() {
        assert!(file.is_canonical(), "{}", file.name().display());
        assert!(!file.is_changed(), "{}", file.name().display());
    }
}

#[test]
fn saving_the_unchanged_shipped_world_writes_the_same_bytes() {
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = root.path().join("lanternfall");
    copy_dir(&Path::new(SHIPPED).join("lanternfall"), &dir);
    let world = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    let mut source = (**world.source()).clone();
    assert!(source.normalise().expect("nothing to write").is_empty());
    let committed = source.commit().expect("nothing changed");
    assert!(committed.written.is_empty());
    for path in world_files(&dir) {
        let shipped = Path::new(SHIPPED)
            .join("lanternfall")
            .join(path.strip_prefix(&dir).expect("inside"));
        assert_eq!(
            fs::read(&path).expect("copy"),
            fs::read(shipped).expect("shipped")
        );
    }
}

#[test]
fn every_fixture_file_loads_saves_and_reloads_to_the_same_world() {
    let root = tempfile::tempdir().expect("a temp dir");
    copy_dir(Path::new(FIXTURES), root.path());
    let before = load_worlds(root.path()).unwrap_or_else(|errs| panic!("{errs:#?}"));
    let mut normalised = 0;
    for world in before.iter() {
        let docs: Vec<Json> = world
            .source()
            .files()
            .iter()
            .map(|f| f.doc().clone())
            .collect();
        let mut source = (**world.source()).clone();
        let written = source.normalise().expect("written");
        normalised += written.iter().filter(|w| w.normalised).count();
        // Nothing is lost: every file reads back to the document it was.
        let dir = root.path().join(&world.id);
        for (file, doc) in world.source().files().iter().zip(docs) {
            assert_eq!(
                parse_file(&dir.join(file.name())),
                doc,
                "{}",
                file.name().display()
            );
        }
        let again = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
        assert_eq!(&again, &**world, "{} reloads the same", world.id);
        for file in again.source().files() {
            assert!(file.is_canonical(), "{}", file.name().display());
        }
    }
    assert!(normalised > 0, "the fixtures are in another layout");
    // Unknown keys stay where they were, numbers as written.
    let saved = parse_file(&root.path().join("daily_undertaking/world.json"));
    let Json::Object(entries) = &saved else {
        panic!("an object");
    };
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "name",
            "description",
            "version",
            "default_spawn",
            "zones",
            "global_items",
            "translation_layer",
            "axis_engine"
        ]
    );
    let layer = saved.get("translation_layer").expect("kept");
    let timeout = layer.get("timeout_seconds").expect("kept");
    assert_eq!(
        timeout,
        &Json::Number(Number::parse("10.0").expect("a number")),
        "as written"
    );
    let text = fs::read_to_string(root.path().join("daily_undertaking/world.json")).expect("text");
    assert!(text.contains("\"timeout_seconds\": 10.0,"), "{text}");
}

#[test]
fn worlds_are_equal_by_what_they_say_not_where_their_files_are() {
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = root.path().join("daily_undertaking");
    copy_dir(&Path::new(FIXTURES).join("daily_undertaking"), &dir);
    let here = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    assert_eq!(here, fixture("daily_undertaking"));
    assert_ne!(here, fixture("pipeworks_web"));
}

#[test]
fn temporary_files_and_hidden_folders_are_not_loaded() {
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = files().write_to(root.path(), "w");
    write(&dir.join("zones/.town.json.tmp"), "{ half written");
    write(&dir.join(".world.json.tmp"), "{ half written");
    write(&root.path().join(".trash/world.json"), "not a world");
    let worlds = load_worlds(root.path()).unwrap_or_else(|errs| panic!("{errs:#?}"));
    assert_eq!(worlds.ids(), ["w"]);
    assert_eq!(
        temp_path(&dir.join("zones/town.json")),
        dir.join("zones/.town.json.tmp")
    );
}

// ---- warnings ----

/// The warnings of the small world after `change`, as (file, field, message).
fn warnings_after(change: impl FnOnce(&mut Files)) -> Vec<WorldWarning> {
    let mut f = files();
    change(&mut f);
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = f.write_to(root.path(), "w");
    let world = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    world.warnings()
}

#[track_caller]
fn assert_warning(warnings: &[WorldWarning], file: &str, field: &str, words: &str) {
    let found = warnings.iter().any(|w| {
        w.file.ends_with(Path::new("w").join(file)) && w.field == field && w.message.contains(words)
    });
    assert!(
        found,
        "no warning for {file} / {field:?} / {words:?} in {warnings:#?}"
    );
}

#[test]
fn unknown_keys_are_warned_with_file_path_and_did_you_mean() {
    let warnings = warnings_after(|f| {
        f.world["acess"] = json!("invite");
        f.world["default_spawn"]["rooom"] = json!("square");
        f.world["global_items"][0]["nmae"] = json!("x");
        f.town["spawn_rom"] = json!("square");
        f.town["rooms"]["hall"]["exitz"] = json!({"up": "square"});
        f.town["items"]["lamp"]["descripton"] = json!("x");
    });
    assert_warning(
        &warnings,
        "world.json",
        "acess",
        "unknown key \"acess\", kept but not read: did you mean \"access\"?",
    );
    assert_warning(
        &warnings,
        "world.json",
        "axis_engine",
        "unknown key \"axis_engine\", kept but not read",
    );
    assert_warning(
        &warnings,
        "world.json",
        "default_spawn.rooom",
        "did you mean \"room\"?",
    );
    assert_warning(
        &warnings,
        "world.json",
        "global_items.coin.nmae",
        "did you mean \"name\"?",
    );
    assert_warning(
        &warnings,
        "zones/town.json",
        "spawn_rom",
        "did you mean \"spawn_room\"?",
    );
    assert_warning(
        &warnings,
        "zones/town.json",
        "rooms.hall.exitz",
        "did you mean \"exits\"?",
    );
    assert_warning(
        &warnings,
        "zones/town.json",
        "items.lamp.descripton",
        "did you mean \"description\"?",
    );
    assert_warning(
        &warnings,
        "zones/dock.json",
        "rooms.quay.metadata",
        "unknown key \"metadata\"",
    );
    let unknown = warnings
        .iter()
        .filter(|w| w.message.starts_with("unknown key"))
        .count();
    assert_eq!(unknown, 8, "{warnings:#?}");
    let no_suggestion = warnings
        .iter()
        .find(|w| w.field == "axis_engine")
        .expect("warned");
    assert!(
        !no_suggestion.message.contains("did you mean"),
        "{no_suggestion:?}"
    );
}

#[test]
fn the_shipped_world_has_no_warnings_and_a_fixture_only_its_unknown_keys() {
    assert_eq!(shipped().warnings(), []);
    let warnings = fixture("daily_undertaking").warnings();
    let fields: Vec<&str> = warnings.iter().map(|w| w.field.as_str()).collect();
    assert_eq!(
        fields,
        ["translation_layer", "axis_engine", "metadata", "metadata"]
    );
    assert!(
        fixture("pipeworks_web")
            .warnings()
            .iter()
            .all(|w| w.message.starts_with("unknown key")),
        "a world of one room needs no way out"
    );
}

#[test]
fn rooms_with_no_way_out_and_rooms_nothing_leads_to_are_warned() {
    let warnings = warnings_after(|f| {
        f.town["rooms"]["cellar"] =
            json!({"name": "Cellar", "description": "Dark.", "exits": {"self": "cellar"}});
        f.town["rooms"]["attic"] =
            json!({"name": "Attic", "description": "Dusty.", "exits": {"down": "hall"}});
        f.town["rooms"]["hall"]["exits"]["down"] = json!("cellar");
    });
    assert_warning(&warnings, "zones/town.json", "rooms.cellar", "no way out");
    assert_warning(
        &warnings,
        "zones/town.json",
        "rooms.attic",
        "nothing leads here",
    );
    assert_warning(
        &warnings,
        "zones/town.json",
        "rooms.attic",
        "\"town:attic\"",
    );
    assert_eq!(
        warnings
            .iter()
            .filter(|w| !w.message.starts_with("unknown key"))
            .count(),
        2,
        "{warnings:#?}"
    );
    // Spawn rooms need nothing leading to them: the dock's spawn is left alone
    // once the square's way there is gone.
    let warnings = warnings_after(|f| {
        remove(&mut f.town["rooms"]["square"]["exits"], "East");
    });
    assert!(
        !warnings.iter().any(|w| w.field == "rooms.quay"),
        "{warnings:#?}"
    );
}

#[test]
fn a_missing_field_or_room_names_the_near_one() {
    let mut f = files();
    remove(&mut f.town["rooms"]["hall"], "name");
    f.town["rooms"]["hall"]["nmae"] = json!("Hall");
    f.town["rooms"]["hall"]["exits"]["north"] = json!("sqare");
    let errs = f.errors();
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.hall.name",
        "missing required field (is \"nmae\" meant to be it?)",
    );
    assert_error(
        &errs,
        "zones/town.json",
        "rooms.hall.exits.north",
        "unknown room \"sqare\" in zone \"town\" (did you mean \"square\"?)",
    );
}

// ---- changing a world: edit, check, write ----

/// A copy of the shipped world in a temporary folder, loaded.
fn lanternfall_copy() -> (tempfile::TempDir, PathBuf, World) {
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = root.path().join("lanternfall");
    copy_dir(&Path::new(SHIPPED).join("lanternfall"), &dir);
    let world = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    (root, dir, world)
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn a_field_changed_is_one_line_changed() {
    let (_root, dir, world) = lanternfall_copy();
    let file = dir.join("zones/old_town.json");
    let before = fs::read_to_string(&file).expect("before");
    let mut source = (**world.source()).clone();
    let belfry = RoomId::new("old_town", "clocktower_belfry");
    source
        .set_room_field(&belfry, "name", Json::text("The Bell Loft"))
        .expect("set");
    let committed = source.commit().expect("committed");
    assert_eq!(
        committed.written,
        [Written {
            path: PathBuf::from("lanternfall/zones/old_town.json"),
            normalised: false,
            removed: false,
        }]
    );
    let after = fs::read_to_string(&file).expect("after");
    let (old, new) = (lines(&before), lines(&after));
    assert_eq!(old.len(), new.len());
    let changed: Vec<(&&str, &&str)> = old.iter().zip(&new).filter(|(a, b)| a != b).collect();
    assert_eq!(
        changed,
        [(
            &"      \"name\": \"The Belfry\",",
            &"      \"name\": \"The Bell Loft\","
        )]
    );
    assert_eq!(
        committed.world.room(&belfry).map(|r| r.name.as_str()),
        Some("The Bell Loft")
    );
    let again = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    assert_eq!(again, committed.world, "a restart loads the same world");
}

#[test]
fn a_room_added_in_each_form_reads_back_and_round_trips() {
    let (_root, dir, world) = lanternfall_copy();
    let mut source = (**world.source()).clone();
    // Old town's rooms are a map whose entries carry their id; the
    // undercroft's a map whose entries do not.
    let roof = source
        .add_room("old_town", "roof", "The Roof", "Slates and gulls.")
        .expect("added");
    let belfry = RoomId::new("old_town", "clocktower_belfry");
    source.set_exit(&belfry, "up", "roof").expect("up");
    source
        .set_exit(&roof, "down", "clocktower_belfry")
        .expect("down");
    let sump = source
        .add_room("undercroft", "sump", "The Sump", "Water.")
        .expect("added");
    source.set_exit(&sump, "up", "outflow_tunnel").expect("up");
    let tunnel = RoomId::new("undercroft", "outflow_tunnel");
    source.set_exit(&tunnel, "Down", "sump").expect("down");
    let committed = source.commit().expect("committed");
    let paths: Vec<&Path> = committed.written.iter().map(|w| w.path.as_path()).collect();
    assert_eq!(
        paths,
        [
            Path::new("lanternfall/zones/old_town.json"),
            Path::new("lanternfall/zones/undercroft.json")
        ]
    );
    let old_town = parse_file(&dir.join("zones/old_town.json"));
    let roof_doc = old_town
        .get("rooms")
        .and_then(|r| r.get("roof"))
        .expect("the roof");
    assert_eq!(roof_doc.get("id"), Some(&Json::text("roof")));
    let undercroft = parse_file(&dir.join("zones/undercroft.json"));
    let sump_doc = undercroft
        .get("rooms")
        .and_then(|r| r.get("sump"))
        .expect("the sump");
    assert_eq!(sump_doc.get("id"), None, "as the zone's other rooms");
    let again = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    assert_eq!(again, committed.world);
    let down = &again
        .room(&tunnel)
        .expect("tunnel")
        .exits
        .last()
        .expect("an exit");
    assert_eq!((down.name.as_str(), down.key.as_str()), ("Down", "down"));
    for file in again.source().files() {
        assert!(file.is_canonical(), "{}", file.name().display());
    }
}

#[test]
fn an_exit_is_replaced_and_removed_whatever_its_case() {
    let (_root, _dir, world) = lanternfall_copy();
    let mut source = (**world.source()).clone();
    let square = RoomId::new("old_town", "lantern_square");
    source
        .set_exit(&square, "North", "clocktower_base")
        .expect("replaced");
    let exits = source
        .room_mut(&square)
        .expect("room")
        .get("exits")
        .cloned()
        .expect("exits");
    let Json::Object(entries) = exits else {
        panic!("an object");
    };
    assert_eq!(
        entries[0],
        ("North".to_string(), Json::text("clocktower_base")),
        "in its place"
    );
    assert_eq!(entries.len(), 4);
    assert_eq!(source.remove_exit(&square, "NORTH"), Ok(true));
    assert_eq!(source.remove_exit(&square, "north"), Ok(false));
}

#[test]
fn edits_name_what_is_missing() {
    let (_root, _dir, world) = lanternfall_copy();
    let mut source = (**world.source()).clone();
    assert_eq!(
        source.add_room("old_town", "lantern_square", "x", "y"),
        Err(EditError::RoomExists(RoomId::new(
            "old_town",
            "lantern_square"
        )))
    );
    assert_eq!(
        source.add_room("moon", "base", "x", "y"),
        Err(EditError::NoZone("moon".into()))
    );
    let attic = RoomId::new("old_town", "attic");
    assert!(matches!(source.room_mut(&attic), Err(EditError::NoRoom(id)) if id == attic));
    assert!(
        !source.add_file(Path::new("world.json"), Json::Null),
        "there is one already"
    );
}

#[test]
fn an_invalid_change_writes_nothing() {
    let (_root, dir, world) = lanternfall_copy();
    let before: Vec<Vec<u8>> = world_files(&dir)
        .iter()
        .map(|p| fs::read(p).expect("file"))
        .collect();
    let mut source = (**world.source()).clone();
    let square = RoomId::new("old_town", "lantern_square");
    source
        .set_exit(&square, "up", "nowhere")
        .expect("edited in memory");
    let Err(CommitError::Invalid(errs)) = source.commit() else {
        panic!("an invalid change must be refused");
    };
    let refused = &errs[0];
    assert!(
        refused.file.ends_with("lanternfall/zones/old_town.json"),
        "{errs:#?}"
    );
    assert_eq!(refused.field, "rooms.lantern_square.exits.up");
    assert!(
        refused.message.contains("unknown room \"nowhere\""),
        "{errs:#?}"
    );
    let after: Vec<Vec<u8>> = world_files(&dir)
        .iter()
        .map(|p| fs::read(p).expect("file"))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn a_file_changed_on_disk_since_it_was_loaded_is_not_overwritten() {
    let (_root, dir, world) = lanternfall_copy();
    let file = dir.join("zones/old_town.json");
    let by_hand = fs::read_to_string(&file)
        .expect("read")
        .replace("Lantern Square", "Lamp Square");
    fs::write(&file, &by_hand).expect("someone edits the file");
    let mut source = (**world.source()).clone();
    let belfry = RoomId::new("old_town", "clocktower_belfry");
    source
        .set_room_field(&belfry, "name", Json::text("The Bell Loft"))
        .expect("set");
    // An untouched file changed on disk does not stop the change.
    let other = dir.join("zones/heights.json");
    let mut heights = fs::read_to_string(&other).expect("read");
    heights.push('\n');
    fs::write(&other, &heights).expect("an edit elsewhere");
    let refused = source.commit().expect_err("refused");
    assert_eq!(
        refused.to_string(),
        "lanternfall/zones/old_town.json was changed on disk; /reload first."
    );
    assert!(matches!(
        refused,
        CommitError::Write(WriteError::ChangedOnDisk { .. })
    ));
    assert_eq!(
        fs::read_to_string(&file).expect("read"),
        by_hand,
        "the hand edit is kept"
    );
    assert_eq!(fs::read_to_string(&other).expect("read"), heights);
}

#[test]
fn a_hand_written_file_is_normalised_on_its_first_write_and_says_so() {
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = root.path().join("daily_undertaking");
    copy_dir(&Path::new(FIXTURES).join("daily_undertaking"), &dir);
    let world = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    let mut source = (**world.source()).clone();
    let name = Path::new("zones/crooked_pipe.json");
    assert!(
        !source.file(name).expect("the zone").is_canonical(),
        "inline lists"
    );
    let spawn = RoomId::new("crooked_pipe", "spawn");
    source
        .set_room_field(&spawn, "name", Json::text("The Straight Pipe"))
        .expect("set");
    let first = source.commit().expect("committed");
    assert_eq!(first.written.len(), 1);
    assert!(first.written[0].normalised, "{first:?}");
    source
        .set_room_field(&spawn, "name", Json::text("The Crooked Pipe"))
        .expect("set");
    let second = source.commit().expect("committed");
    assert!(!second.written[0].normalised, "already canonical");
    assert_eq!(
        second.world, world,
        "back to what it said, in the new layout"
    );
}

#[test]
fn a_new_zone_is_written_before_the_world_file_that_lists_it() {
    let (_root, dir, world) = lanternfall_copy();
    let mut source = (**world.source()).clone();
    let zone = Json::parse(
        r#"{"id": "docks", "name": "The Docks", "description": "Tar.", "spawn_room": "slip",
            "rooms": {"slip": {"id": "slip", "name": "Slipway", "description": "Wet.",
                "exits": {"north": "quayside:long_quay"}, "items": []}}, "items": []}"#,
    )
    .expect("a zone");
    assert!(source.add_file(&WorldSource::zone_file_name("docks"), zone));
    let zones = source
        .doc_mut(Path::new("world.json"))
        .and_then(|doc| doc.get_mut("zones"));
    let Some(Json::Array(zones)) = zones else {
        panic!("zones is a list");
    };
    zones.push(Json::text("docks"));
    let committed = source.commit().expect("committed");
    let paths: Vec<&Path> = committed.written.iter().map(|w| w.path.as_path()).collect();
    assert_eq!(
        paths,
        [
            Path::new("lanternfall/zones/docks.json"),
            Path::new("lanternfall/world.json")
        ]
    );
    assert!(
        !committed.written[0].normalised,
        "a new file is not a normalised one"
    );
    assert!(committed.world.zone("docks").is_some());
    let again = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    assert_eq!(again, committed.world);
}

// ---- building: orders planned, applied, written and undone ----

/// Plans `order` for a builder in `here`, applies it and writes it; returns
/// the commit and the edits that undo it.
fn build(world: &World, here: &str, order: plan::Order) -> (Committed, Vec<Edit>) {
    let here = RoomId::parse_full(here).expect("a full id");
    let planned = plan::plan(world, &here, &order).unwrap_or_else(|e| panic!("{e}"));
    let mut source = (**world.source()).clone();
    let undo = source.apply_all(&planned.edits).expect("applies");
    let checked = source.check().unwrap_or_else(|e| panic!("{e}"));
    plan::keeps_a_way_out(world, checked.world()).expect("a way out");
    (checked.write().expect("written"), undo)
}

/// Applies `edits` to `world` and writes them.
fn apply_and_write(world: &World, edits: &[Edit]) -> Committed {
    let mut source = (**world.source()).clone();
    source.apply_all(edits).expect("applies");
    source.check().expect("checks").write().expect("written")
}

fn bytes_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    world_files(dir)
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).expect("read");
            (p, bytes)
        })
        .collect()
}

#[test]
fn a_dug_room_gets_its_way_back_and_its_undo_gives_back_the_same_bytes() {
    let (_root, dir, world) = lanternfall_copy();
    let before = bytes_of(&dir);
    let order = plan::Order::Dig {
        exit: "d".into(),
        name: "The Coal Cellar".into(),
    };
    let (dug, undo) = build(&world, "old_town:lantern_square", order);
    let cellar = RoomId::new("old_town", "the_coal_cellar");
    let room = dug.world.room(&cellar).expect("the new room");
    assert_eq!(room.exits[0].name, "u", "the way back, in the form typed");
    assert_eq!(room.num, room_number("lanternfall", &cellar));
    assert_eq!(dug.written.len(), 1);
    assert_eq!(load_world(&dir).expect("loads"), dug.world);
    let undone = apply_and_write(&dug.world, &undo);
    assert!(undone.world.room(&cellar).is_none());
    assert_eq!(
        bytes_of(&dir),
        before,
        "the files are back to their own bytes"
    );
}

#[test]
fn a_destroyed_room_takes_every_exit_to_it_and_its_files_go_in_a_crash_safe_order() {
    let (_root, dir, world) = lanternfall_copy();
    let before = bytes_of(&dir);
    // Chandler's Row is linked from the heights (another file).
    let row = RoomId::new("old_town", "chandlers_row");
    let linked_from: Vec<&RoomId> = world
        .rooms
        .values()
        .filter(|r| r.exits.iter().any(|e| e.to == row))
        .map(|r| &r.id)
        .collect();
    assert!(
        linked_from.iter().any(|r| r.zone() == "heights"),
        "{linked_from:?}"
    );
    let (gone, undo) = build(&world, "old_town:chandlers_row", plan::Order::RoomDestroy);
    assert!(gone.world.room(&row).is_none());
    assert!(
        gone.world
            .rooms
            .values()
            .all(|r| r.exits.iter().all(|e| e.to != row)),
        "no exit leads there any more"
    );
    let paths: Vec<&Path> = gone.written.iter().map(|w| w.path.as_path()).collect();
    assert_eq!(
        paths.last(),
        Some(&Path::new("lanternfall/zones/old_town.json")),
        "the file that loses the room is written last: {paths:?}"
    );
    let back = apply_and_write(&gone.world, &undo);
    let paths: Vec<&Path> = back.written.iter().map(|w| w.path.as_path()).collect();
    assert_eq!(
        paths.first(),
        Some(&Path::new("lanternfall/zones/old_town.json")),
        "the file that gets the room back is written first: {paths:?}"
    );
    assert_eq!(bytes_of(&dir), before);
}

#[test]
fn spawn_rooms_are_not_destroyed_and_the_spawn_keeps_a_way_out() {
    let (_root, _dir, world) = lanternfall_copy();
    let spawn = world.default_spawn.clone();
    assert!(matches!(
        plan::plan(&world, &spawn, &plan::Order::RoomDestroy),
        Err(plan::Refused::Spawn { .. })
    ));
    let mut source = (**world.source()).clone();
    for exit in &world.room(&spawn).expect("spawn").exits {
        let unlink = plan::Order::Unlink {
            exit: exit.name.clone(),
        };
        let planned = plan::plan(&world, &spawn, &unlink).expect("planned");
        source.apply_all(&planned.edits).expect("applies");
    }
    let checked = source.check().expect("it loads");
    assert_eq!(
        plan::keeps_a_way_out(&world, checked.world()),
        Err(plan::Refused::LastWayOut(spawn))
    );
}

#[test]
fn a_new_zone_is_listed_after_its_file_is_written_and_its_undo_removes_the_file() {
    let (_root, dir, world) = lanternfall_copy();
    let before = bytes_of(&dir);
    let order = plan::Order::Zone {
        id: "docks".into(),
        name: "The Docks".into(),
    };
    let (made, undo) = build(&world, "old_town:lantern_square", order);
    let paths: Vec<&Path> = made.written.iter().map(|w| w.path.as_path()).collect();
    assert_eq!(
        paths,
        [
            Path::new("lanternfall/zones/docks.json"),
            Path::new("lanternfall/world.json")
        ]
    );
    let docks = made.world.zone("docks").expect("the zone");
    assert_eq!(docks.spawn, RoomId::new("docks", "the_docks"));
    assert_eq!(load_world(&dir).expect("loads"), made.world);
    let undone = apply_and_write(&made.world, &undo);
    let paths: Vec<(&Path, bool)> = undone
        .written
        .iter()
        .map(|w| (w.path.as_path(), w.removed))
        .collect();
    assert_eq!(
        paths,
        [
            (Path::new("lanternfall/world.json"), false),
            (Path::new("lanternfall/zones/docks.json"), true)
        ]
    );
    assert_eq!(bytes_of(&dir), before);
    assert!(!dir.join("zones/docks.json").exists());
}

#[test]
fn an_item_created_is_defined_in_its_zone_and_placed_here_and_destroyed_everywhere() {
    let (_root, _dir, world) = lanternfall_copy();
    let order = plan::Order::Create {
        name: "A Brass Key".into(),
    };
    let (made, _) = build(&world, "old_town:lantern_square", order);
    // A global `brass_key` exists: the zone's new item may not shadow it.
    let square = made
        .world
        .room(&RoomId::new("old_town", "lantern_square"))
        .expect("square");
    assert_eq!(
        square.items.last().map(|k| k.as_ref()),
        Some("old_town:a_brass_key")
    );
    let penny: std::sync::Arc<str> = "copper_penny".into();
    let placed = |world: &World| {
        world
            .rooms
            .values()
            .map(|r| r.items.iter().filter(|k| **k == penny).count())
            .sum::<usize>()
    };
    assert!(placed(&made.world) > 0);
    let (gone, _) = build(
        &made.world,
        "old_town:lantern_square",
        plan::Order::Destroy {
            item: penny.clone(),
        },
    );
    assert_eq!(placed(&gone.world), 0);
    assert!(gone.world.item("copper_penny").is_none());
}

#[test]
fn a_dug_room_whose_number_collides_with_another_is_refused() {
    let (first, second) = colliding_rooms();
    let mut f = files();
    let rooms = f.town["rooms"].as_object_mut().expect("rooms map");
    rooms.insert(
        first.clone(),
        json!({"name": first, "description": "", "exits": {"out": "square"}}),
    );
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = f.write_to(root.path(), "w");
    let world = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    // A room named after the second id gets that id, whose number is taken.
    let here = RoomId::new("town", "square");
    let order = plan::Order::Dig {
        exit: "down".into(),
        name: second.clone(),
    };
    let planned = plan::plan(&world, &here, &order).expect("planned");
    let mut source = (**world.source()).clone();
    source.apply_all(&planned.edits).expect("applies");
    let Err(CommitError::Invalid(errs)) = source.check() else {
        panic!("a collision must be refused");
    };
    assert!(
        errs.iter().any(|e| e.message.contains("same room number")),
        "{errs:#?}"
    );
}

#[test]
fn kept_edits_read_back_as_they_were() {
    let (_root, _dir, world) = lanternfall_copy();
    let order = plan::Order::Zone {
        id: "docks".into(),
        name: "The Docks".into(),
    };
    let here = RoomId::new("old_town", "lantern_square");
    let mut edits = plan::plan(&world, &here, &order).expect("planned").edits;
    let dig = plan::Order::Dig {
        exit: "in".into(),
        name: "Yard".into(),
    };
    edits.extend(plan::plan(&world, &here, &dig).expect("planned").edits);
    let mut source = (**world.source()).clone();
    edits.extend(source.apply_all(&edits).expect("applies"));
    let text = edits_to_text(&edits);
    assert_eq!(edits_from_text(&text), Some(edits));
    assert_eq!(edits_from_text("[{\"op\": \"fly\"}]"), None);
    assert_eq!(edits_from_text("not json"), None);
}

#[test]
fn unknown_rooms_are_answered_with_the_nearest_ids() {
    let (_root, _dir, world) = lanternfall_copy();
    let near = world.nearest_rooms("lantern_squar", 3);
    assert_eq!(near[0], RoomId::new("old_town", "lantern_square"));
    assert_eq!(near.len(), 3);
    let contained = world.nearest_rooms("belfry", 1);
    assert_eq!(contained, [RoomId::new("old_town", "clocktower_belfry")]);
}

// ---- the example in docs/worlds.md ----

/// The files of the example world in `docs/worlds.md`: each code block whose
/// info string is `json <path>`.
fn documented_example() -> Vec<(String, String)> {
    let doc = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/worlds.md"))
        .expect("docs/worlds.md");
    let mut files = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in doc.lines() {
        match open.take() {
            Some((path, text)) if line == "```" => files.push((path, text)),
            Some((path, mut text)) => {
                text.push_str(line);
                text.push('\n');
                open = Some((path, text));
            }
            None => {
                if let Some(path) = line.strip_prefix("```json ") {
                    open = Some((path.to_string(), String::new()));
                }
            }
        }
    }
    files
}

#[test]
fn the_documented_example_loads_without_a_warning_in_the_canonical_layout() {
    let files = documented_example();
    assert_eq!(files.len(), 3, "{files:#?}");
    let root = tempfile::tempdir().expect("a temp dir");
    for (path, text) in &files {
        write(&root.path().join(path), text);
        assert_eq!(
            &Json::parse(text).expect("JSON").to_canonical(),
            text,
            "{path}"
        );
    }
    let loaded = load(root.path(), None).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(loaded.warnings, []);
    let world = loaded.default;
    assert_eq!(
        (world.id.as_str(), world.room_count(), world.item_count()),
        ("harbour", 3, 3)
    );
    let lane = room(&world, "town:lane");
    assert_eq!(lane.exits[1].name, "Trapdoor");
    let door = lane.exits[1].door.as_ref().expect("the trapdoor");
    assert_eq!(
        (door.name.as_str(), door.closed, door.locked),
        ("trapdoor", true, false)
    );
    // The pier leads back to the square, not the lane: a door on one side only.
    assert_eq!(room(&world, "pier:end").exits[0].door, None);
    assert!(world.item("town:crate").expect("the crate").container);
}

// ---- NPCs, commands and scripts (issue 19) ----

#[test]
fn npcs_commands_and_scripts_load_with_their_scripts_text() {
    let mut f = files();
    f.town["npcs"] = json!([{"id": "tam", "name": "Old Tam", "description": "Stooped.",
        "room": "hall", "wander": "45s", "commands": ["Ask", "pull  lever"], "script": "tam.lua"}]);
    f.town["rooms"]["square"]["script"] = json!("square.lua");
    let root = tempfile::tempdir().expect("a temp dir");
    let dir = f.write_to(root.path(), "w");
    write(&dir.join("scripts/tam.lua"), "function on_say() end");
    write(&dir.join("scripts/square.lua"), "-- quiet");
    let world = load_world(&dir).unwrap_or_else(|errs| panic!("{errs:#?}"));
    let tam = world.npc("town:tam").expect("Old Tam");
    assert_eq!(tam.room, RoomId::new("town", "hall"));
    assert_eq!(tam.wander, Some(std::time::Duration::from_secs(45)));
    assert_eq!(tam.commands, ["ask", "pull lever"]);
    assert_eq!(world.scripts.len(), 2);
    assert_eq!(&*world.scripts["tam.lua"], "function on_say() end");
    assert_eq!(
        room(&world, "town:square").script.as_deref(),
        Some("square.lua")
    );
}

#[test]
fn mistakes_in_npcs_name_their_file_and_field() {
    let mut f = files();
    f.town["npcs"] = json!({
        "tam": {"name": "Old Tam", "description": "", "room": "hal", "wander": "soon",
                "commands": ["ask?"], "script": "../tam.lua"},
        "bo": {"name": "", "description": "", "room": "dock:quay", "script": "bo.lua"}
    });
    let errs = f.errors();
    let town = "zones/town.json";
    assert_error(
        &errs,
        town,
        "npcs.tam.room",
        "unknown room \"hal\" in zone \"town\" (did you mean \"hall\"?)",
    );
    assert_error(&errs, town, "npcs.tam.wander", "is not");
    assert_error(&errs, town, "npcs.tam.commands.0", "is not a verb");
    assert_error(&errs, town, "npcs.tam.script", "is not a script file name");
    assert_error(&errs, town, "npcs.bo.name", "must not be empty");
    assert_error(&errs, town, "npcs.bo.room", "unknown room \"dock:quay\"");
    assert_error(
        &errs,
        town,
        "npcs.bo.script",
        "there is no file scripts/bo.lua",
    );
}
