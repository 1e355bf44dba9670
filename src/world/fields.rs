//! Reading fields out of a parsed world file while collecting every problem
//! found: a missing field, a wrong type, a duplicate key, a bad id. Each error
//! names its file and the dotted path of the field. This file knows the shapes
//! JSON can take (objects, lists or maps of entries by id) but not what any
//! particular field means; `raw.rs` decides that.

use std::collections::HashSet;
use std::path::Path;

use super::WorldError;
use super::json::Json;
use super::suggest::nearest;

/// Every error found so far, across all files of all worlds being loaded.
#[derive(Debug, Default)]
pub(super) struct Errors(Vec<WorldError>);

impl Errors {
    pub(super) fn add(&mut self, file: &Path, field: &str, message: impl Into<String>) {
        self.0.push(WorldError {
            file: file.to_path_buf(),
            field: field.to_string(),
            message: message.into(),
        });
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn into_vec(self) -> Vec<WorldError> {
        self.0
    }
}

/// `path.key`, or just `key` at the top of a file.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A world or zone id: it names a directory or a file and is typed by players,
/// so it is kept to ASCII letters, digits, `_` and `-`.
pub(super) fn is_simple_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Why a room or item id cannot be used, if it cannot: `:` would make `zone:room`
/// ambiguous, and blanks could never be typed back.
pub(super) fn local_id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("an id must not be empty")
    } else if id.contains(':') {
        Some("an id must not contain ':'")
    } else if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("an id must not contain spaces or control characters")
    } else {
        None
    }
}

/// A JSON object being read, with where it sits.
pub(super) struct Obj<'a> {
    pub(super) file: &'a Path,
    pub(super) path: String,
    entries: &'a [(String, Json)],
}

impl<'a> Obj<'a> {
    /// `json` as an object at `path`, or an error saying what it was instead.
    pub(super) fn of(
        json: &'a Json,
        file: &'a Path,
        path: String,
        errs: &mut Errors,
    ) -> Option<Obj<'a>> {
        match json {
            Json::Object(entries) => Some(Obj {
                file,
                path,
                entries,
            }),
            other => {
                errs.add(
                    file,
                    &path,
                    format!("expected an object, found {}", other.kind()),
                );
                None
            }
        }
    }

    /// The dotted path of one of this object's fields.
    pub(super) fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// A field's value, or `None` when absent or null. A key written twice is
    /// an error: JSON readers disagree on which copy wins.
    pub(super) fn get(&self, key: &str, errs: &mut Errors) -> Option<&'a Json> {
        let mut found = self
            .entries
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v);
        let first = found.next();
        if found.next().is_some() {
            errs.add(
                self.file,
                &self.field(key),
                "this key appears more than once",
            );
        }
        first.filter(|value| **value != Json::Null)
    }

    /// A field that must be present. When it is missing but a key near it
    /// is there, the message names that key: it is likely the field, misspelt.
    pub(super) fn required(&self, key: &str, errs: &mut Errors) -> Option<&'a Json> {
        let value = self.get(key, errs);
        if value.is_none() {
            let present = self.entries.iter().map(|(k, _)| k.as_str());
            let message = match nearest(key, present) {
                Some(near) => format!("missing required field (is \"{near}\" meant to be it?)"),
                None => "missing required field".to_string(),
            };
            errs.add(self.file, &self.field(key), message);
        }
        value
    }

    /// A required string field.
    pub(super) fn string(&self, key: &str, errs: &mut Errors) -> Option<String> {
        let value = self.required(key, errs)?;
        self.as_string(key, value, errs)
    }

    /// A required string field that must hold more than blanks (a name).
    pub(super) fn text(&self, key: &str, errs: &mut Errors) -> Option<String> {
        let value = self.string(key, errs)?;
        if value.trim().is_empty() {
            errs.add(self.file, &self.field(key), "must not be empty");
            return None;
        }
        Some(value)
    }

    /// An optional string field.
    pub(super) fn opt_string(&self, key: &str, errs: &mut Errors) -> Option<String> {
        let value = self.get(key, errs)?;
        self.as_string(key, value, errs)
    }

    /// An optional boolean field.
    pub(super) fn opt_bool(&self, key: &str, errs: &mut Errors) -> Option<bool> {
        match self.get(key, errs)? {
            Json::Bool(b) => Some(*b),
            other => {
                let message = format!("expected true or false, found {}", other.kind());
                errs.add(self.file, &self.field(key), message);
                None
            }
        }
    }

    /// A required field that must be an object.
    pub(super) fn object(&self, key: &str, errs: &mut Errors) -> Option<Obj<'a>> {
        let value = self.required(key, errs)?;
        Obj::of(value, self.file, self.field(key), errs)
    }

    /// The entries of this object in file order.
    pub(super) fn entries(&self) -> &'a [(String, Json)] {
        self.entries
    }

    fn as_string(&self, key: &str, value: &Json, errs: &mut Errors) -> Option<String> {
        match value {
            Json::String(s) => Some(s.clone()),
            other => {
                let message = format!("expected a string, found {}", other.kind());
                errs.add(self.file, &self.field(key), message);
                None
            }
        }
    }
}

/// One entry of a collection of rooms or items, with its id settled.
pub(super) struct Entry<'a> {
    pub(super) id: String,
    pub(super) obj: Obj<'a>,
}

/// Reads a collection written either as a list of objects with `id`s or as a
/// map by id (where `id` may be left out but, if present, must equal the key).
/// Entries with a bad or repeated id are reported and left out; `what` names
/// the kind of entry in messages ("room", "item").
pub(super) fn collection<'a>(
    json: &'a Json,
    file: &'a Path,
    path: &str,
    what: &str,
    errs: &mut Errors,
) -> Vec<Entry<'a>> {
    let entries = match json {
        Json::Array(list) => list_entries(list, file, path, errs),
        Json::Object(map) => map_entries(map, file, path, errs),
        other => {
            let message = format!(
                "expected a list or an object of {what}s, found {}",
                other.kind()
            );
            errs.add(file, path, message);
            return Vec::new();
        }
    };
    let mut seen = HashSet::new();
    entries
        .into_iter()
        .filter(|entry| {
            let fresh = seen.insert(entry.id.clone());
            if !fresh {
                errs.add(
                    file,
                    &entry.obj.path,
                    format!("duplicate {what} id \"{}\"", entry.id),
                );
            }
            fresh
        })
        .collect()
}

fn list_entries<'a>(
    list: &'a [Json],
    file: &'a Path,
    path: &str,
    errs: &mut Errors,
) -> Vec<Entry<'a>> {
    let mut entries = Vec::new();
    for (index, json) in list.iter().enumerate() {
        let Some(mut obj) = Obj::of(json, file, join(path, &index.to_string()), errs) else {
            continue;
        };
        let Some(id) = obj.string("id", errs) else {
            continue;
        };
        if let Some(problem) = local_id_problem(&id) {
            errs.add(
                file,
                &obj.field("id"),
                format!("{problem} (found \"{id}\")"),
            );
            continue;
        }
        // From here on the entry is known by its id, which reads better in
        // messages than its position.
        obj.path = join(path, &id);
        entries.push(Entry { id, obj });
    }
    entries
}

fn map_entries<'a>(
    map: &'a [(String, Json)],
    file: &'a Path,
    path: &str,
    errs: &mut Errors,
) -> Vec<Entry<'a>> {
    let mut entries = Vec::new();
    for (key, json) in map {
        let Some(obj) = Obj::of(json, file, join(path, key), errs) else {
            continue;
        };
        if let Some(problem) = local_id_problem(key) {
            errs.add(file, &obj.path, format!("{problem} (found \"{key}\")"));
            continue;
        }
        if let Some(id) = obj.opt_string("id", errs)
            && id != *key
        {
            let message = format!("id \"{id}\" does not match its key \"{key}\"");
            // Still kept under its key, so rooms that refer to it are
            // not reported as well.
            errs.add(file, &obj.field("id"), message);
        }
        entries.push(Entry {
            id: key.clone(),
            obj,
        });
    }
    entries
}
