//! Edits of a world's documents in the form each file already has: a room
//! added to a zone written as a map by id stays a map entry, one added to a
//! list is appended to the list; a changed field keeps its place; an exit is
//! matched without case, as players type it. Edits only change documents in
//! memory; `WorldSource::commit` checks the whole world and writes. Nothing
//! here decides who may edit or what the reply says.

use super::json::Json;
use super::model::RoomId;
use super::source::WorldSource;

/// Why an edit could not be made; the documents are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("there is no zone \"{0}\"")]
    NoZone(String),
    #[error("there is no room \"{0}\"")]
    NoRoom(RoomId),
    #[error("there is already a room \"{0}\"")]
    RoomExists(RoomId),
    /// The document is not shaped as a loaded world's is (a field that
    /// should hold an object or a list holds something else).
    #[error("{file}: {field} is not {expected}")]
    Shape {
        file: String,
        field: String,
        expected: &'static str,
    },
}

impl WorldSource {
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
        let room_id = RoomId::new(zone, id);
        let rooms = self.rooms_mut(zone)?;
        if entry_mut(rooms, id).is_some() {
            return Err(EditError::RoomExists(room_id));
        }
        let fields = vec![
            ("name".to_string(), Json::text(name)),
            ("description".to_string(), Json::text(description)),
            ("exits".to_string(), Json::Object(Vec::new())),
            ("items".to_string(), Json::Array(Vec::new())),
        ];
        insert_entry(rooms, id, fields);
        Ok(room_id)
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
        let (file, field) = self.shape_names(room, key);
        if self.room_mut(room)?.set(key, value) {
            Ok(())
        } else {
            Err(EditError::Shape {
                file,
                field,
                expected: "an object",
            })
        }
    }

    /// Sets the exit `name` of a room to lead to `target` (`room` or
    /// `zone:room`, as it should be written). An exit of the same name in any
    /// case is replaced in its place, taking the new spelling.
    pub fn set_exit(&mut self, room: &RoomId, name: &str, target: &str) -> Result<(), EditError> {
        let entries = self.exits_mut(room)?;
        let key = name.to_lowercase();
        let value = Json::text(target);
        match entries.iter_mut().find(|(k, _)| k.to_lowercase() == key) {
            Some(exit) => *exit = (name.to_string(), value),
            None => entries.push((name.to_string(), value)),
        }
        Ok(())
    }

    /// Removes the exit `name` (in any case) from a room; false when it had
    /// no such exit.
    pub fn remove_exit(&mut self, room: &RoomId, name: &str) -> Result<bool, EditError> {
        let entries = self.exits_mut(room)?;
        let key = name.to_lowercase();
        let before = entries.len();
        entries.retain(|(k, _)| k.to_lowercase() != key);
        Ok(entries.len() != before)
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

    /// The file and dotted field of a room's `key`, for messages.
    fn shape_names(&self, room: &RoomId, key: &str) -> (String, String) {
        let name = WorldSource::zone_file_name(room.zone());
        let file = self.shown(&name).display().to_string();
        (file, format!("rooms.{}.{key}", room.local()))
    }
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

/// Adds an entry to a collection in its form. A list entry always carries
/// its `id`; a map entry does when the map's first entry does, or when the
/// map is empty (an `id` is never wrong there).
fn insert_entry(collection: &mut Json, id: &str, fields: Vec<(String, Json)>) {
    let with_id = |fields: Vec<(String, Json)>| {
        let mut all = vec![("id".to_string(), Json::text(id))];
        all.extend(fields);
        Json::Object(all)
    };
    match collection {
        Json::Object(entries) => {
            let ids_inside = entries
                .first()
                .is_none_or(|(_, first)| first.get("id").is_some());
            let entry = if ids_inside {
                with_id(fields)
            } else {
                Json::Object(fields)
            };
            entries.push((id.to_string(), entry));
        }
        Json::Array(items) => items.push(with_id(fields)),
        _ => {}
    }
}
