//! Edits of a world's documents in the form each file already has: a room
//! added to a zone written as a map by id stays a map entry, one added to a
//! list goes into the list; a changed field keeps its place; an exit is
//! matched without case, as players type it. Edits only change documents in
//! memory; `WorldSource::check` and `commit` check the whole world and write.
//!
//! Every change a builder makes is a list of [`Edit`]s, each the smallest
//! step there is (add a room, set a field, remove an exit, ...). Applying one
//! returns the edit that takes it back, placed where the old value was, so an
//! undo puts a file back to its own bytes; both lists can be kept as text
//! ([`edits_to_text`]) and applied again later, after a restart, to whatever
//! the world has become (an edit that no longer fits is refused, and the
//! whole list with it). Nothing here decides who may edit or what the reply
//! says.

use std::path::PathBuf;

use super::json::{Json, Number};
use super::model::RoomId;
use super::source::WorldSource;

/// Why an edit could not be made; the documents are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("there is no zone \"{0}\"")]
    NoZone(String),
    #[error("there is already a zone \"{0}\"")]
    ZoneExists(String),
    #[error("there is no room \"{0}\"")]
    NoRoom(RoomId),
    #[error("there is already a room \"{0}\"")]
    RoomExists(RoomId),
    #[error("room \"{room}\" has no exit \"{name}\"")]
    NoExit { room: RoomId, name: String },
    #[error("there is no item \"{0}\"")]
    NoItem(String),
    #[error("there is already an item \"{0}\"")]
    ItemExists(String),
    #[error("room \"{room}\" lists no item \"{item}\"")]
    NotPlaced { room: RoomId, item: String },
    #[error("there is no NPC \"{0}\"")]
    NoNpc(String),
    #[error("there is already an NPC \"{0}\"")]
    NpcExists(String),
    /// The document is not shaped as a loaded world's is (a field that
    /// should hold an object or a list holds something else).
    #[error("{file}: {field} is not {expected}")]
    Shape {
        file: String,
        field: String,
        expected: &'static str,
    },
}

/// Where an item kind is defined: a zone's `items` or the world's
/// `global_items` in `world.json`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemHome {
    Zone(String),
    Global,
}

impl ItemHome {
    /// Where the item with world key `key` (`zone:item` or `item`) is
    /// defined, and its id there.
    pub fn of_key(key: &str) -> (ItemHome, String) {
        match key.split_once(':') {
            Some((zone, id)) => (ItemHome::Zone(zone.to_string()), id.to_string()),
            None => (ItemHome::Global, key.to_string()),
        }
    }

    /// The world key of item `id` defined here.
    pub fn key(&self, id: &str) -> String {
        match self {
            ItemHome::Zone(zone) => format!("{zone}:{id}"),
            ItemHome::Global => id.to_string(),
        }
    }

    /// The file that defines the items, within the world's folder.
    pub fn file(&self) -> PathBuf {
        match self {
            ItemHome::Zone(zone) => WorldSource::zone_file_name(zone),
            ItemHome::Global => PathBuf::from("world.json"),
        }
    }

    /// The field of that file that holds them.
    fn field(&self) -> &'static str {
        match self {
            ItemHome::Zone(_) => "items",
            ItemHome::Global => "global_items",
        }
    }
}

/// One step of a change to a world's documents. `at` says where an entry goes
/// in its list or map (the end when `None` or past it); an undo uses it to put
/// a removed entry back in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// A room (its object, `id` inside or not, as it is to be written) into
    /// its zone's `rooms`.
    AddRoom {
        room: RoomId,
        value: Json,
        at: Option<usize>,
    },
    RemoveRoom {
        room: RoomId,
    },
    /// Sets a room's field (`None` removes it).
    SetRoomField {
        room: RoomId,
        key: String,
        value: Option<Json>,
    },
    /// Sets the exit `name` (matched without case) to `value`, a room id as
    /// written in the file; `None` removes it.
    SetExit {
        room: RoomId,
        name: String,
        value: Option<Json>,
        at: Option<usize>,
    },
    AddItem {
        home: ItemHome,
        id: String,
        value: Json,
        at: Option<usize>,
    },
    RemoveItem {
        home: ItemHome,
        id: String,
    },
    /// Sets an item's field (`None` removes it).
    SetItemField {
        home: ItemHome,
        id: String,
        key: String,
        value: Option<Json>,
    },
    /// Lists the item id `item` (as rooms write it) in a room's `items`.
    Place {
        room: RoomId,
        item: String,
        at: Option<usize>,
    },
    /// Takes one listing of `item` out of a room's `items`: the one at `at`
    /// when it is there, else the last.
    Unplace {
        room: RoomId,
        item: String,
        at: Option<usize>,
    },
    /// A new zone file with `doc`, listed in `world.json`'s `zones`.
    AddZone {
        zone: String,
        doc: Json,
        at: Option<usize>,
    },
    /// The zone unlisted and its file removed.
    RemoveZone {
        zone: String,
    },
    /// An NPC (its object as it is to be written) into its zone's `npcs`,
    /// made a list when the zone has none.
    AddNpc {
        zone: String,
        id: String,
        value: Json,
        at: Option<usize>,
    },
    RemoveNpc {
        zone: String,
        id: String,
    },
}

impl Edit {
    /// Whether applying this edit makes item kind `key` vanish.
    pub fn removes_item(&self) -> Option<String> {
        match self {
            Edit::RemoveItem { home, id } => Some(home.key(id)),
            _ => None,
        }
    }
}

impl WorldSource {
    /// Applies `edits` in order; returns the edits that take them all back,
    /// in the order to apply them. On a refusal the source is unchanged.
    pub fn apply_all(&mut self, edits: &[Edit]) -> Result<Vec<Edit>, EditError> {
        let mut copy = self.clone();
        let mut inverse = Vec::with_capacity(edits.len());
        for edit in edits {
            inverse.push(copy.apply(edit)?);
        }
        *self = copy;
        inverse.reverse();
        Ok(inverse)
    }

    /// Applies one edit; returns the edit that takes it back. On a refusal
    /// the source is unchanged.
    pub fn apply(&mut self, edit: &Edit) -> Result<Edit, EditError> {
        match edit {
            Edit::AddRoom { room, value, at } => {
                let rooms = self.rooms_mut(room.zone())?;
                insert_entry_at(rooms, room.local(), value.clone(), *at).map_err(|refused| {
                    refused.named(|| EditError::RoomExists(room.clone()), "a room")
                })?;
                Ok(Edit::RemoveRoom { room: room.clone() })
            }
            Edit::RemoveRoom { room } => {
                let rooms = self.rooms_mut(room.zone())?;
                let (at, value) = remove_entry(rooms, room.local())
                    .ok_or_else(|| EditError::NoRoom(room.clone()))?;
                Ok(Edit::AddRoom {
                    room: room.clone(),
                    value,
                    at: Some(at),
                })
            }
            Edit::SetRoomField { room, key, value } => {
                let (file, field) = self.shape_names(room, key);
                let old = set_field(self.room_mut(room)?, key, value.clone(), file, field)?;
                Ok(Edit::SetRoomField {
                    room: room.clone(),
                    key: key.clone(),
                    value: old,
                })
            }
            Edit::SetExit {
                room,
                name,
                value,
                at,
            } => self.apply_exit(room, name, value.as_ref(), *at),
            Edit::AddNpc {
                zone,
                id,
                value,
                at,
            } => {
                let npcs = self.npcs_mut(zone, true)?;
                insert_entry_at(npcs, id, value.clone(), *at).map_err(|refused| {
                    refused.named(|| EditError::NpcExists(format!("{zone}:{id}")), "an NPC")
                })?;
                Ok(Edit::RemoveNpc {
                    zone: zone.clone(),
                    id: id.clone(),
                })
            }
            Edit::RemoveNpc { zone, id } => {
                let no_npc = || EditError::NoNpc(format!("{zone}:{id}"));
                let npcs = self.npcs_mut(zone, false)?;
                let (at, value) = remove_entry(npcs, id).ok_or_else(no_npc)?;
                Ok(Edit::AddNpc {
                    zone: zone.clone(),
                    id: id.clone(),
                    value,
                    at: Some(at),
                })
            }
            Edit::AddItem {
                home,
                id,
                value,
                at,
            } => {
                let items = self.items_mut(home, true)?;
                insert_entry_at(items, id, value.clone(), *at).map_err(|refused| {
                    refused.named(|| EditError::ItemExists(home.key(id)), "an item")
                })?;
                Ok(Edit::RemoveItem {
                    home: home.clone(),
                    id: id.clone(),
                })
            }
            Edit::RemoveItem { home, id } => {
                let no_item = || EditError::NoItem(home.key(id));
                let items = self
                    .items_mut(home, false)
                    .map_err(|err| named(err, no_item))?;
                let (at, value) = remove_entry(items, id).ok_or_else(no_item)?;
                Ok(Edit::AddItem {
                    home: home.clone(),
                    id: id.clone(),
                    value,
                    at: Some(at),
                })
            }
            Edit::SetItemField {
                home,
                id,
                key,
                value,
            } => {
                let file = self.shown(&home.file()).display().to_string();
                let field = format!("{}.{id}.{key}", home.field());
                let no_item = || EditError::NoItem(home.key(id));
                let items = self
                    .items_mut(home, false)
                    .map_err(|err| named(err, no_item))?;
                let item = entry_mut(items, id).ok_or_else(no_item)?;
                let old = set_field(item, key, value.clone(), file, field)?;
                Ok(Edit::SetItemField {
                    home: home.clone(),
                    id: id.clone(),
                    key: key.clone(),
                    value: old,
                })
            }
            Edit::Place { room, item, at } => {
                let list = self.placed_mut(room)?;
                let at = at.unwrap_or(list.len()).min(list.len());
                list.insert(at, Json::text(item.as_str()));
                Ok(Edit::Unplace {
                    room: room.clone(),
                    item: item.clone(),
                    at: Some(at),
                })
            }
            Edit::Unplace { room, item, at } => {
                let list = self.placed_mut(room)?;
                let is_it = |json: &Json| json.as_str() == Some(item.as_str());
                let found = at
                    .filter(|&i| list.get(i).is_some_and(is_it))
                    .or_else(|| list.iter().rposition(is_it))
                    .ok_or_else(|| EditError::NotPlaced {
                        room: room.clone(),
                        item: item.clone(),
                    })?;
                list.remove(found);
                Ok(Edit::Place {
                    room: room.clone(),
                    item: item.clone(),
                    at: Some(found),
                })
            }
            Edit::AddZone { zone, doc, at } => self.add_zone(zone, doc, *at),
            Edit::RemoveZone { zone } => self.remove_zone(zone),
        }
    }

    fn apply_exit(
        &mut self,
        room: &RoomId,
        name: &str,
        value: Option<&Json>,
        at: Option<usize>,
    ) -> Result<Edit, EditError> {
        let entries = self.exits_mut(room)?;
        let key = name.to_lowercase();
        let found = entries.iter().position(|(k, _)| k.to_lowercase() == key);
        let undo = |name: &str, value: Option<Json>, at: Option<usize>| Edit::SetExit {
            room: room.clone(),
            name: name.to_string(),
            value,
            at,
        };
        match (found, value) {
            (Some(i), Some(value)) => {
                let (old_name, old) =
                    std::mem::replace(&mut entries[i], (name.to_string(), value.clone()));
                Ok(undo(&old_name, Some(old), None))
            }
            (Some(i), None) => {
                let (old_name, old) = entries.remove(i);
                Ok(undo(&old_name, Some(old), Some(i)))
            }
            (None, Some(value)) => {
                let at = at.unwrap_or(entries.len()).min(entries.len());
                entries.insert(at, (name.to_string(), value.clone()));
                Ok(undo(name, None, None))
            }
            (None, None) => Err(EditError::NoExit {
                room: room.clone(),
                name: name.to_string(),
            }),
        }
    }

    fn add_zone(&mut self, zone: &str, doc: &Json, at: Option<usize>) -> Result<Edit, EditError> {
        let name = WorldSource::zone_file_name(zone);
        if self.file(&name).is_some() {
            return Err(EditError::ZoneExists(zone.to_string()));
        }
        let zones = self.zone_list_mut()?;
        if zones.iter().any(|z| z.as_str() == Some(zone)) {
            return Err(EditError::ZoneExists(zone.to_string()));
        }
        let at = at.unwrap_or(zones.len()).min(zones.len());
        zones.insert(at, Json::text(zone));
        self.add_file(&name, doc.clone());
        Ok(Edit::RemoveZone {
            zone: zone.to_string(),
        })
    }

    fn remove_zone(&mut self, zone: &str) -> Result<Edit, EditError> {
        let name = WorldSource::zone_file_name(zone);
        let zones = self.zone_list_mut()?;
        let at = zones
            .iter()
            .position(|z| z.as_str() == Some(zone))
            .ok_or_else(|| EditError::NoZone(zone.to_string()))?;
        let doc = self
            .remove_file(&name)
            .ok_or_else(|| EditError::NoZone(zone.to_string()))?;
        if let Some(Json::Array(zones)) = self
            .doc_mut(std::path::Path::new("world.json"))
            .and_then(|doc| doc.get_mut("zones"))
        {
            zones.remove(at);
        }
        Ok(Edit::AddZone {
            zone: zone.to_string(),
            doc,
            at: Some(at),
        })
    }

    /// Adds a room to `zone` with the keys a shipped room has, in their order
    /// (`id`, `name`, `description`, `exits`, `items`). In a map of rooms the
    /// `id` is written inside the entry too when the zone's other rooms do.
    pub fn add_room(
        &mut self,
        zone: &str,
        id: &str,
        name: &str,
        description: &str,
    ) -> Result<RoomId, EditError> {
        let room = RoomId::new(zone, id);
        let value = self.shaped_room(zone, id, new_room(name, description));
        self.apply(&Edit::AddRoom {
            room: room.clone(),
            value,
            at: None,
        })?;
        Ok(room)
    }

    /// A room's object in its zone's document, to change its fields.
    pub fn room_mut(&mut self, room: &RoomId) -> Result<&mut Json, EditError> {
        let rooms = self.rooms_mut(room.zone())?;
        entry_mut(rooms, room.local()).ok_or_else(|| EditError::NoRoom(room.clone()))
    }

    /// Sets one field of a room (`name`, `description`, ...), in its place.
    pub fn set_room_field(
        &mut self,
        room: &RoomId,
        key: &str,
        value: Json,
    ) -> Result<(), EditError> {
        self.apply(&Edit::SetRoomField {
            room: room.clone(),
            key: key.to_string(),
            value: Some(value),
        })
        .map(drop)
    }

    /// Sets the exit `name` of a room to lead to `target` (`room` or
    /// `zone:room`, as it should be written). An exit of the same name in any
    /// case is replaced in its place, taking the new spelling.
    pub fn set_exit(&mut self, room: &RoomId, name: &str, target: &str) -> Result<(), EditError> {
        self.apply(&Edit::SetExit {
            room: room.clone(),
            name: name.to_string(),
            value: Some(Json::text(target)),
            at: None,
        })
        .map(drop)
    }

    /// Removes the exit `name` (in any case) from a room; false when it had
    /// no such exit.
    pub fn remove_exit(&mut self, room: &RoomId, name: &str) -> Result<bool, EditError> {
        let removed = self.apply(&Edit::SetExit {
            room: room.clone(),
            name: name.to_string(),
            value: None,
            at: None,
        });
        match removed {
            Ok(_) => Ok(true),
            Err(EditError::NoExit { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// A room's `exits` object, made when the room has none.
    fn exits_mut(&mut self, room: &RoomId) -> Result<&mut Vec<(String, Json)>, EditError> {
        let (file, field) = self.shape_names(room, "exits");
        let obj = self.room_mut(room)?;
        // The loader reads a null as no exits at all.
        if matches!(obj.get("exits"), None | Some(Json::Null)) {
            obj.set("exits", Json::Object(Vec::new()));
        }
        match obj.get_mut("exits") {
            Some(Json::Object(entries)) => Ok(entries),
            _ => Err(EditError::Shape {
                file,
                field,
                expected: "an object",
            }),
        }
    }

    /// A room's `items` list, made when the room has none.
    fn placed_mut(&mut self, room: &RoomId) -> Result<&mut Vec<Json>, EditError> {
        let (file, field) = self.shape_names(room, "items");
        let obj = self.room_mut(room)?;
        if matches!(obj.get("items"), None | Some(Json::Null)) {
            obj.set("items", Json::Array(Vec::new()));
        }
        match obj.get_mut("items") {
            Some(Json::Array(list)) => Ok(list),
            _ => Err(EditError::Shape {
                file,
                field,
                expected: "a list",
            }),
        }
    }

    /// A zone's `rooms`, a list or a map.
    fn rooms_mut(&mut self, zone: &str) -> Result<&mut Json, EditError> {
        let name = WorldSource::zone_file_name(zone);
        let file = self.shown(&name).display().to_string();
        let doc = self
            .doc_mut(&name)
            .ok_or_else(|| EditError::NoZone(zone.to_string()))?;
        match doc.get_mut("rooms") {
            Some(rooms @ (Json::Array(_) | Json::Object(_))) => Ok(rooms),
            _ => Err(EditError::Shape {
                file,
                field: "rooms".to_string(),
                expected: "a list or an object",
            }),
        }
    }

    /// The items defined at `home`, a list or a map; made (as a map, the
    /// shipped form) when there are none and `make` says so. With none and
    /// no `make`, `NoItem` (the caller names the item).
    fn items_mut(&mut self, home: &ItemHome, make: bool) -> Result<&mut Json, EditError> {
        let name = home.file();
        let file = self.shown(&name).display().to_string();
        let missing = || match home {
            ItemHome::Zone(zone) => EditError::NoZone(zone.clone()),
            ItemHome::Global => EditError::Shape {
                file: file.clone(),
                field: String::new(),
                expected: "a world file",
            },
        };
        let doc = self.doc_mut(&name).ok_or_else(missing)?;
        let field = home.field();
        if make && matches!(doc.get(field), None | Some(Json::Null)) {
            doc.set(field, Json::Object(Vec::new()));
        }
        match doc.get_mut(field) {
            Some(items @ (Json::Array(_) | Json::Object(_))) => Ok(items),
            None | Some(Json::Null) => Err(EditError::NoItem(String::new())),
            _ => Err(EditError::Shape {
                file,
                field: field.to_string(),
                expected: "a list or an object",
            }),
        }
    }

    /// A zone's `npcs`, a list or a map; made a list (SPEC §14's form)
    /// when there are none and `make` says so.
    fn npcs_mut(&mut self, zone: &str, make: bool) -> Result<&mut Json, EditError> {
        let name = WorldSource::zone_file_name(zone);
        let file = self.shown(&name).display().to_string();
        let doc = self
            .doc_mut(&name)
            .ok_or_else(|| EditError::NoZone(zone.to_string()))?;
        if make && matches!(doc.get("npcs"), None | Some(Json::Null)) {
            doc.set("npcs", Json::Array(Vec::new()));
        }
        match doc.get_mut("npcs") {
            Some(npcs @ (Json::Array(_) | Json::Object(_))) => Ok(npcs),
            None | Some(Json::Null) => Err(EditError::NoNpc(zone.to_string())),
            _ => Err(EditError::Shape {
                file,
                field: "npcs".to_string(),
                expected: "a list or an object",
            }),
        }
    }

    /// `world.json`'s `zones` list.
    fn zone_list_mut(&mut self) -> Result<&mut Vec<Json>, EditError> {
        let name = std::path::Path::new("world.json");
        let file = self.shown(name).display().to_string();
        let shape = || EditError::Shape {
            file: file.clone(),
            field: "zones".to_string(),
            expected: "a list",
        };
        match self.doc_mut(name).and_then(|doc| doc.get_mut("zones")) {
            Some(Json::Array(zones)) => Ok(zones),
            _ => Err(shape()),
        }
    }

    /// The file and dotted field of a room's `key`, for messages.
    fn shape_names(&self, room: &RoomId, key: &str) -> (String, String) {
        let name = WorldSource::zone_file_name(room.zone());
        let file = self.shown(&name).display().to_string();
        (file, format!("rooms.{}.{key}", room.local()))
    }
}

/// The fields of a new room, in the shipped order (the `id` is added where
/// the zone's form wants it).
pub fn new_room(name: &str, description: &str) -> Json {
    Json::Object(vec![
        ("name".to_string(), Json::text(name)),
        ("description".to_string(), Json::text(description)),
        ("exits".to_string(), Json::Object(Vec::new())),
        ("items".to_string(), Json::Array(Vec::new())),
    ])
}

/// The fields of a new item, in the shipped order.
pub fn new_item(name: &str, description: &str) -> Json {
    Json::Object(vec![
        ("name".to_string(), Json::text(name)),
        ("description".to_string(), Json::text(description)),
    ])
}

/// A `NoItem` without its name gets the item's.
fn named(err: EditError, no_item: impl Fn() -> EditError) -> EditError {
    match err {
        EditError::NoItem(_) => no_item(),
        other => other,
    }
}

/// Why an entry could not go into a collection.
enum NotInserted {
    /// An entry has the id already.
    Taken,
    /// The entry (or the collection) is not an object.
    NotAnObject,
}

impl NotInserted {
    /// As an edit's error: `taken` for a taken id, else a shape error naming
    /// what the entry should have been.
    fn named(self, taken: impl FnOnce() -> EditError, what: &'static str) -> EditError {
        match self {
            NotInserted::Taken => taken(),
            NotInserted::NotAnObject => EditError::Shape {
                file: String::new(),
                field: String::new(),
                expected: what,
            },
        }
    }
}

/// Sets (or with `None` removes) `key` of `obj`; returns what it held.
fn set_field(
    obj: &mut Json,
    key: &str,
    value: Option<Json>,
    file: String,
    field: String,
) -> Result<Option<Json>, EditError> {
    if !matches!(obj, Json::Object(_)) {
        return Err(EditError::Shape {
            file,
            field,
            expected: "an object",
        });
    }
    let old = obj.get(key).cloned();
    match value {
        Some(value) => {
            obj.set(key, value);
        }
        None => {
            obj.remove(key);
        }
    }
    Ok(old)
}

/// The entry `id` of a collection written as a map by id or as a list of
/// objects with `id`s.
fn entry_mut<'a>(collection: &'a mut Json, id: &str) -> Option<&'a mut Json> {
    match collection {
        Json::Object(entries) => entries.iter_mut().find(|(k, _)| k == id).map(|(_, v)| v),
        Json::Array(items) => items
            .iter_mut()
            .find(|item| item.get("id").and_then(Json::as_str) == Some(id)),
        _ => None,
    }
}

/// Takes the entry `id` out of a collection: its place and its object as
/// written.
fn remove_entry(collection: &mut Json, id: &str) -> Option<(usize, Json)> {
    match collection {
        Json::Object(entries) => {
            let at = entries.iter().position(|(k, _)| k == id)?;
            Some((at, entries.remove(at).1))
        }
        Json::Array(items) => {
            let at = items
                .iter()
                .position(|item| item.get("id").and_then(Json::as_str) == Some(id))?;
            Some((at, items.remove(at)))
        }
        _ => None,
    }
}

/// Puts an entry into a collection at `at`, exactly as given (see
/// [`WorldSource::shaped_room`] for a new one).
fn insert_entry_at(
    collection: &mut Json,
    id: &str,
    value: Json,
    at: Option<usize>,
) -> Result<(), NotInserted> {
    if entry_mut(collection, id).is_some() {
        return Err(NotInserted::Taken);
    }
    if !matches!(value, Json::Object(_)) {
        return Err(NotInserted::NotAnObject);
    }
    match collection {
        Json::Object(entries) => {
            let at = at.unwrap_or(entries.len()).min(entries.len());
            entries.insert(at, (id.to_string(), value));
        }
        Json::Array(items) => {
            let at = at.unwrap_or(items.len()).min(items.len());
            items.insert(at, value);
        }
        _ => return Err(NotInserted::NotAnObject),
    }
    Ok(())
}

/// A new entry `id` with `fields`, in the form of `collection`'s entries: a
/// list entry always carries its `id`; a map entry does when the map's first
/// entry does, or when the map is empty or missing (an `id` is never wrong
/// there).
fn shaped(collection: Option<&Json>, id: &str, fields: Json) -> Json {
    let Json::Object(mut fields) = fields else {
        return fields;
    };
    let ids_inside = match collection {
        Some(Json::Object(entries)) => entries
            .first()
            .is_none_or(|(_, first)| first.get("id").is_some()),
        _ => true,
    };
    if ids_inside && !fields.iter().any(|(k, _)| k == "id") {
        fields.insert(0, ("id".to_string(), Json::text(id)));
    }
    Json::Object(fields)
}

impl WorldSource {
    /// A new room `id` of `zone` with `fields` (see [`new_room`]), shaped as
    /// the zone's other rooms are.
    pub fn shaped_room(&self, zone: &str, id: &str, fields: Json) -> Json {
        let doc = self
            .file(&WorldSource::zone_file_name(zone))
            .map(|f| f.doc());
        shaped(doc.and_then(|doc| doc.get("rooms")), id, fields)
    }

    /// A new item `id` defined at `home` with `fields` (see [`new_item`]),
    /// shaped as the other items there are.
    pub fn shaped_item(&self, home: &ItemHome, id: &str, fields: Json) -> Json {
        let doc = self.file(&home.file()).map(|f| f.doc());
        shaped(doc.and_then(|doc| doc.get(home.field())), id, fields)
    }
}

// ---- edits as text, to keep them ----

/// A list of edits as text (a JSON list), to keep in the database.
pub fn edits_to_text(edits: &[Edit]) -> String {
    Json::Array(edits.iter().map(Edit::to_json).collect()).to_canonical()
}

/// Edits kept by [`edits_to_text`]; `None` when the text is not such a list.
pub fn edits_from_text(text: &str) -> Option<Vec<Edit>> {
    match Json::parse(text).ok()? {
        Json::Array(list) => list.iter().map(Edit::from_json).collect(),
        _ => None,
    }
}

impl Edit {
    /// The edit as one JSON object: `op`, then its fields.
    pub fn to_json(&self) -> Json {
        let s = |text: &str| Json::text(text);
        let mut fields: Vec<(&str, Json)> = Vec::new();
        let op = match self {
            Edit::AddRoom { room, value, at } => {
                fields.extend([("room", s(room.as_str())), ("value", value.clone())]);
                fields.extend(at_field(*at));
                "add_room"
            }
            Edit::RemoveRoom { room } => {
                fields.push(("room", s(room.as_str())));
                "remove_room"
            }
            Edit::SetRoomField { room, key, value } => {
                fields.extend([("room", s(room.as_str())), ("key", s(key))]);
                fields.extend(value.clone().map(|v| ("value", v)));
                "set_room_field"
            }
            Edit::SetExit {
                room,
                name,
                value,
                at,
            } => {
                fields.extend([("room", s(room.as_str())), ("name", s(name))]);
                fields.extend(value.clone().map(|v| ("value", v)));
                fields.extend(at_field(*at));
                "set_exit"
            }
            Edit::AddItem {
                home,
                id,
                value,
                at,
            } => {
                fields.extend([("item", s(&home.key(id))), ("value", value.clone())]);
                fields.extend(at_field(*at));
                "add_item"
            }
            Edit::RemoveItem { home, id } => {
                fields.push(("item", s(&home.key(id))));
                "remove_item"
            }
            Edit::AddNpc {
                zone,
                id,
                value,
                at,
            } => {
                fields.extend([
                    ("npc", s(&format!("{zone}:{id}"))),
                    ("value", value.clone()),
                ]);
                fields.extend(at_field(*at));
                "add_npc"
            }
            Edit::RemoveNpc { zone, id } => {
                fields.push(("npc", s(&format!("{zone}:{id}"))));
                "remove_npc"
            }
            Edit::SetItemField {
                home,
                id,
                key,
                value,
            } => {
                fields.extend([("item", s(&home.key(id))), ("key", s(key))]);
                fields.extend(value.clone().map(|v| ("value", v)));
                "set_item_field"
            }
            Edit::Place { room, item, at } | Edit::Unplace { room, item, at } => {
                fields.extend([("room", s(room.as_str())), ("item", s(item))]);
                fields.extend(at_field(*at));
                if matches!(self, Edit::Place { .. }) {
                    "place"
                } else {
                    "unplace"
                }
            }
            Edit::AddZone { zone, doc, at } => {
                fields.extend([("zone", s(zone)), ("doc", doc.clone())]);
                fields.extend(at_field(*at));
                "add_zone"
            }
            Edit::RemoveZone { zone } => {
                fields.push(("zone", s(zone)));
                "remove_zone"
            }
        };
        let mut all = vec![("op".to_string(), s(op))];
        all.extend(fields.into_iter().map(|(k, v)| (k.to_string(), v)));
        Json::Object(all)
    }

    /// An edit from [`Edit::to_json`]'s object; `None` when it is not one.
    pub fn from_json(json: &Json) -> Option<Edit> {
        let text = |key: &str| json.get(key).and_then(Json::as_str).map(str::to_string);
        let room = || text("room").and_then(|r| RoomId::parse_full(&r));
        let value = || json.get("value").cloned();
        let at = || {
            json.get("at").and_then(|at| match at {
                Json::Number(n) => n.as_str().parse::<usize>().ok(),
                _ => None,
            })
        };
        let item = || text("item").map(|key| ItemHome::of_key(&key));
        let npc = || {
            let key = text("npc")?;
            let (zone, id) = key.split_once(':')?;
            Some((zone.to_string(), id.to_string()))
        };
        Some(match text("op")?.as_str() {
            "add_room" => Edit::AddRoom {
                room: room()?,
                value: value()?,
                at: at(),
            },
            "remove_room" => Edit::RemoveRoom { room: room()? },
            "set_room_field" => Edit::SetRoomField {
                room: room()?,
                key: text("key")?,
                value: value(),
            },
            "set_exit" => Edit::SetExit {
                room: room()?,
                name: text("name")?,
                value: value(),
                at: at(),
            },
            "add_item" => {
                let (home, id) = item()?;
                Edit::AddItem {
                    home,
                    id,
                    value: value()?,
                    at: at(),
                }
            }
            "remove_item" => {
                let (home, id) = item()?;
                Edit::RemoveItem { home, id }
            }
            "add_npc" => {
                let (zone, id) = npc()?;
                Edit::AddNpc {
                    zone,
                    id,
                    value: value()?,
                    at: at(),
                }
            }
            "remove_npc" => {
                let (zone, id) = npc()?;
                Edit::RemoveNpc { zone, id }
            }
            "set_item_field" => {
                let (home, id) = item()?;
                Edit::SetItemField {
                    home,
                    id,
                    key: text("key")?,
                    value: value(),
                }
            }
            "place" => Edit::Place {
                room: room()?,
                item: text("item")?,
                at: at(),
            },
            "unplace" => Edit::Unplace {
                room: room()?,
                item: text("item")?,
                at: at(),
            },
            "add_zone" => Edit::AddZone {
                zone: text("zone")?,
                doc: json.get("doc")?.clone(),
                at: at(),
            },
            "remove_zone" => Edit::RemoveZone {
                zone: text("zone")?,
            },
            _ => return None,
        })
    }
}

fn at_field(at: Option<usize>) -> Option<(&'static str, Json)> {
    let n = i64::try_from(at?).ok()?;
    Some(("at", Json::Number(Number::from(n))))
}
