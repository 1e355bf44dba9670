//! What `world.json` and a zone file say, read field by field into plain
//! structs before any cross-reference is checked. Every problem inside one
//! file (missing field, wrong type, bad id, duplicate) is reported here and
//! reading goes on, so one pass finds them all. The keys read here are listed
//! beside their readers (`WORLD_KEYS`, ...): any other key stays in the
//! document and is warned about (`warnings.rs`). Whether an exit's target or a
//! spawn room exists is for `validate.rs`; reading files from disk is for
//! `load.rs`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::fields::{Entry, Errors, Obj, collection, is_simple_id, join};
use super::json::Json;
use super::life::{Life, RawNpc, life, npcs};
use super::model::{Access, Naming};

/// The keys of `world.json` that gaslamp reads.
pub(super) const WORLD_KEYS: &[&str] = &[
    "name",
    "description",
    "version",
    "greeting",
    "access",
    "naming",
    "active",
    "inactive_reason",
    "default_spawn",
    "zones",
    "global_items",
];
/// The keys of `default_spawn`.
pub(super) const SPAWN_KEYS: &[&str] = &["zone", "room"];
/// The keys of a zone file.
pub(super) const ZONE_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "spawn_room",
    "rooms",
    "items",
    "npcs",
];
/// The keys of a room.
pub(super) const ROOM_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "exits",
    "items",
    "commands",
    "script",
];
/// The keys of an item (in a zone's `items` or the world's `global_items`).
pub(super) const ITEM_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "container",
    "commands",
    "script",
];
/// The keys of an exit written as an object (`{"to": ..., "door": ...}`).
pub(super) const EXIT_KEYS: &[&str] = &["to", "door"];
/// The keys of an exit's `door`.
pub(super) const DOOR_KEYS: &[&str] = &["name", "closed", "locked", "key"];

/// `world.json`, with unreadable fields left at their defaults (an error has
/// been recorded for each, so the world will not be built from them).
pub(super) struct WorldFile {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) version: Option<String>,
    pub(super) greeting: Option<String>,
    pub(super) access: Access,
    pub(super) naming: Naming,
    pub(super) active: bool,
    pub(super) inactive_reason: Option<String>,
    pub(super) spawn: Option<SpawnRef>,
    /// `None` when `zones` itself could not be read, so nothing is known
    /// about which zones exist.
    pub(super) zones: Option<Vec<Listed>>,
    pub(super) global_items: Vec<RawItem>,
}

/// Everything read for one world, ready to be cross-checked and built.
pub(super) struct Parts {
    pub(super) id: String,
    /// The path of `world.json`, for messages about it.
    pub(super) file: PathBuf,
    pub(super) world: WorldFile,
    /// The zones that could be read, in `world.json` order.
    pub(super) zones: Vec<ZoneFile>,
    /// Zones listed but unreadable: their own error has been reported, so
    /// references into them are not reported again.
    pub(super) broken: HashSet<String>,
}

/// `default_spawn`.
pub(super) struct SpawnRef {
    pub(super) zone: String,
    pub(super) room: String,
}

/// A zone id as listed in `world.json`, with its field for messages.
pub(super) struct Listed {
    pub(super) id: String,
    pub(super) field: String,
}

pub(super) struct ZoneFile {
    pub(super) file: PathBuf,
    /// The file's name, which is what `world.json` and exits refer to.
    pub(super) id: String,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) spawn_room: Option<String>,
    pub(super) rooms: Vec<RawRoom>,
    pub(super) items: Vec<RawItem>,
    pub(super) npcs: Vec<RawNpc>,
}

pub(super) struct RawRoom {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) exits: Vec<RawExit>,
    pub(super) items: Vec<Placed>,
    pub(super) life: Life,
}

pub(super) struct RawExit {
    /// Trimmed, in the case it was written.
    pub(super) name: String,
    pub(super) target: String,
    pub(super) field: String,
    /// Where the target is written: the exit itself, or its object's `to`.
    pub(super) target_field: String,
    pub(super) door: Option<RawDoor>,
}

/// An exit's `door`, as written: it starts closed unless it says not, and
/// unlocked unless it says so.
pub(super) struct RawDoor {
    pub(super) name: String,
    pub(super) closed: bool,
    pub(super) locked: bool,
    /// An item id as rooms list them, or `zone:item`.
    pub(super) key: Option<String>,
}

/// An item id listed in a room.
pub(super) struct Placed {
    pub(super) id: String,
    pub(super) field: String,
}

pub(super) struct RawItem {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) container: bool,
    pub(super) life: Life,
}

/// Reads `world.json`; `None` only when it is not an object at all.
pub(super) fn world_file(json: &Json, file: &Path, errs: &mut Errors) -> Option<WorldFile> {
    let obj = Obj::of(json, file, String::new(), errs)?;
    let global_items = obj.get("global_items", errs);
    Some(WorldFile {
        name: obj.text("name", errs).unwrap_or_default(),
        description: obj.string("description", errs).unwrap_or_default(),
        version: version(&obj, errs),
        greeting: obj.opt_string("greeting", errs),
        access: access(&obj, errs),
        naming: naming(&obj, errs),
        active: obj.opt_bool("active", errs).unwrap_or(true),
        inactive_reason: obj.opt_string("inactive_reason", errs),
        spawn: spawn_ref(&obj, errs),
        zones: listed_zones(&obj, errs),
        global_items: global_items
            .map_or_else(Vec::new, |json| items(json, file, "global_items", errs)),
    })
}

/// `version` is meant to be a string, but a bare number is taken as its text:
/// it is only ever shown, never compared.
fn version(obj: &Obj, errs: &mut Errors) -> Option<String> {
    match obj.get("version", errs)? {
        Json::String(text) => Some(text.clone()),
        Json::Number(n) => Some(n.to_string()),
        other => {
            let message = format!("expected a string, found {}", other.kind());
            errs.add(obj.file, &obj.field("version"), message);
            None
        }
    }
}

fn access(obj: &Obj, errs: &mut Errors) -> Access {
    match obj.opt_string("access", errs).as_deref() {
        None | Some("open") => Access::Open,
        Some("invite") => Access::Invite,
        Some(other) => {
            let message = format!("expected \"open\" or \"invite\", found \"{other}\"");
            errs.add(obj.file, &obj.field("access"), message);
            Access::Open
        }
    }
}

fn naming(obj: &Obj, errs: &mut Errors) -> Naming {
    match obj.opt_string("naming", errs).as_deref() {
        None | Some("chosen") => Naming::Chosen,
        Some("generated") => Naming::Generated,
        Some(other) => {
            let message = format!("expected \"chosen\" or \"generated\", found \"{other}\"");
            errs.add(obj.file, &obj.field("naming"), message);
            Naming::Chosen
        }
    }
}

fn spawn_ref(obj: &Obj, errs: &mut Errors) -> Option<SpawnRef> {
    let spawn = obj.object("default_spawn", errs)?;
    let zone = spawn.string("zone", errs);
    let room = spawn.string("room", errs);
    Some(SpawnRef {
        zone: zone?,
        room: room?,
    })
}

/// `zones`: a non-empty list of simple, distinct zone ids.
fn listed_zones(obj: &Obj, errs: &mut Errors) -> Option<Vec<Listed>> {
    let path = obj.field("zones");
    let json = obj.required("zones", errs)?;
    let Json::Array(list) = json else {
        let message = format!("expected a list of zone ids, found {}", json.kind());
        errs.add(obj.file, &path, message);
        return None;
    };
    if list.is_empty() {
        errs.add(obj.file, &path, "a world needs at least one zone");
    }
    let mut seen = HashSet::new();
    let mut zones = Vec::new();
    for (index, json) in list.iter().enumerate() {
        let field = join(&path, &index.to_string());
        match listed_zone(json, &mut seen) {
            Ok(id) => zones.push(Listed { id, field }),
            Err(message) => errs.add(obj.file, &field, message),
        }
    }
    Some(zones)
}

/// One entry of `zones`, or what is wrong with it.
fn listed_zone<'a>(json: &'a Json, seen: &mut HashSet<&'a str>) -> Result<String, String> {
    match json {
        Json::String(id) if !is_simple_id(id) => Err(format!(
            "zone id \"{id}\" may hold only letters, digits, '_' and '-'"
        )),
        Json::String(id) if !seen.insert(id) => {
            Err(format!("zone \"{id}\" is listed more than once"))
        }
        Json::String(id) => Ok(id.clone()),
        other => Err(format!("expected a zone id, found {}", other.kind())),
    }
}

/// Reads a zone file; `expected_id` is its file name without `.json`.
pub(super) fn zone_file(
    json: &Json,
    file: &Path,
    expected_id: &str,
    errs: &mut Errors,
) -> Option<ZoneFile> {
    let obj = Obj::of(json, file, String::new(), errs)?;
    if let Some(id) = obj.string("id", errs)
        && id != expected_id
    {
        let message =
            format!("zone id \"{id}\" does not match the file name \"{expected_id}.json\"");
        errs.add(file, "id", message);
    }
    let rooms = obj.required("rooms", errs);
    let items_json = obj.get("items", errs);
    let npcs_json = obj.get("npcs", errs);
    Some(ZoneFile {
        file: file.to_path_buf(),
        id: expected_id.to_string(),
        name: obj.text("name", errs).unwrap_or_default(),
        description: obj.string("description", errs).unwrap_or_default(),
        spawn_room: obj.string("spawn_room", errs),
        rooms: rooms.map_or_else(Vec::new, |json| {
            let entries = collection(json, file, "rooms", "room", errs);
            entries.into_iter().map(|entry| room(entry, errs)).collect()
        }),
        items: items_json.map_or_else(Vec::new, |json| items(json, file, "items", errs)),
        npcs: npcs_json.map_or_else(Vec::new, |json| npcs(json, file, errs)),
    })
}

fn room(entry: Entry, errs: &mut Errors) -> RawRoom {
    let obj = &entry.obj;
    let exits = obj
        .get("exits", errs)
        .map_or_else(Vec::new, |json| exits(obj, json, errs));
    let items = obj
        .get("items", errs)
        .map_or_else(Vec::new, |json| placed(obj, json, errs));
    RawRoom {
        name: obj.text("name", errs).unwrap_or_default(),
        description: obj.string("description", errs).unwrap_or_default(),
        exits,
        items,
        life: life(obj, errs),
        id: entry.id,
    }
}

/// A room's `exits`: an object from exit name to target. Names keep their
/// case but are compared without it, since that is how players type them.
fn exits(room: &Obj, json: &Json, errs: &mut Errors) -> Vec<RawExit> {
    let Some(obj) = Obj::of(json, room.file, room.field("exits"), errs) else {
        return Vec::new();
    };
    let mut seen = HashSet::new();
    let mut exits = Vec::new();
    for (name, target) in obj.entries() {
        let field = obj.field(name);
        let name = name.trim().to_string();
        if name.is_empty() {
            // `exits.` would be a confusing field name; the list itself is meant.
            errs.add(obj.file, &obj.path, "an exit name must not be empty");
            continue;
        }
        if !seen.insert(name.to_lowercase()) {
            errs.add(
                obj.file,
                &field,
                format!("exit \"{name}\" is given more than once (case does not count)"),
            );
            continue;
        }
        match target {
            Json::String(target) => exits.push(RawExit {
                name,
                target: target.trim().to_string(),
                target_field: field.clone(),
                field,
                door: None,
            }),
            Json::Object(_) => {
                if let Some(exit) = exit_object(obj.file, name, target, field, errs) {
                    exits.push(exit);
                }
            }
            other => errs.add(
                obj.file,
                &field,
                format!(
                    "expected a room id or an exit object ({{\"to\": ...}}), found {}",
                    other.kind()
                ),
            ),
        }
    }
    exits
}

/// An exit written as an object: `{"to": "<room>", "door": {...}}`.
fn exit_object(
    file: &Path,
    name: String,
    json: &Json,
    field: String,
    errs: &mut Errors,
) -> Option<RawExit> {
    let obj = Obj::of(json, file, field.clone(), errs)?;
    let target = obj.string("to", errs);
    let door = obj
        .get("door", errs)
        .and_then(|json| door(&obj, json, errs));
    Some(RawExit {
        name,
        target: target?.trim().to_string(),
        target_field: obj.field("to"),
        field,
        door,
    })
}

/// An exit's `door`. A locked door must be closed and have a key: else no
/// player could ever open it.
fn door(exit: &Obj, json: &Json, errs: &mut Errors) -> Option<RawDoor> {
    let obj = Obj::of(json, exit.file, exit.field("door"), errs)?;
    let name = obj.text("name", errs);
    let closed = obj.opt_bool("closed", errs).unwrap_or(true);
    let locked = obj.opt_bool("locked", errs).unwrap_or(false);
    let key = obj
        .opt_string("key", errs)
        .map(|key| key.trim().to_string());
    if locked && !closed {
        errs.add(
            obj.file,
            &obj.field("locked"),
            "a locked door must be closed",
        );
    }
    if locked && key.is_none() {
        let message = "a locked door needs a key (an item id) to be opened by";
        errs.add(obj.file, &obj.field("key"), message);
    }
    Some(RawDoor {
        name: name?.trim().to_string(),
        closed,
        locked,
        key,
    })
}

/// A room's `items`: a list of item ids.
fn placed(room: &Obj, json: &Json, errs: &mut Errors) -> Vec<Placed> {
    let path = room.field("items");
    let Json::Array(list) = json else {
        errs.add(
            room.file,
            &path,
            format!("expected a list of item ids, found {}", json.kind()),
        );
        return Vec::new();
    };
    let mut placed = Vec::new();
    for (index, json) in list.iter().enumerate() {
        let field = join(&path, &index.to_string());
        match json {
            Json::String(id) => placed.push(Placed {
                id: id.clone(),
                field,
            }),
            other => errs.add(
                room.file,
                &field,
                format!("expected an item id, found {}", other.kind()),
            ),
        }
    }
    placed
}

/// A zone's `items` or the world's `global_items`.
fn items(json: &Json, file: &Path, path: &str, errs: &mut Errors) -> Vec<RawItem> {
    let entries = collection(json, file, path, "item", errs);
    let read = |entry: Entry, errs: &mut Errors| RawItem {
        name: entry.obj.text("name", errs).unwrap_or_default(),
        description: entry.obj.string("description", errs).unwrap_or_default(),
        container: entry.obj.opt_bool("container", errs).unwrap_or(false),
        life: life(&entry.obj, errs),
        id: entry.id,
    };
    entries.into_iter().map(|entry| read(entry, errs)).collect()
}
