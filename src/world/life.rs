//! What a zone file says about the world's life (SPEC §14): its `npcs`, and
//! the `commands` and `script` that rooms, items and NPCs may carry. Read
//! field by field like the rest of a zone (`raw.rs`), every error naming its
//! file and dotted field; whether an NPC's room exists is checked with the
//! other references (`validate.rs`), and the script files are read by the
//! loader (`load.rs`). Running scripts is `crate::script`'s job, not ours.

use std::time::Duration;

use super::fields::{Entry, Errors, Obj, collection, join};
use super::json::Json;

/// The keys of an NPC.
pub(super) const NPC_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "room",
    "wander",
    "commands",
    "script",
];

/// The longest command verb a script may claim, in characters, and how many
/// one room, item or NPC may claim.
const MAX_VERB: usize = 40;
const MAX_VERBS: usize = 16;
/// The shortest and longest wander: a wanderer must not spin the game.
const WANDER_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(86_400));

/// One NPC as its zone file gives it.
pub(super) struct RawNpc {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) room: String,
    pub(super) room_field: String,
    pub(super) wander: Option<Duration>,
    pub(super) life: Life,
}

/// The verbs and the script of a room, an item or an NPC.
#[derive(Default)]
pub(super) struct Life {
    pub(super) commands: Vec<String>,
    pub(super) script: Option<String>,
    /// The dotted field of `script`, for the loader's "no such file".
    pub(super) script_field: String,
}

/// Reads the `commands` and `script` of one object.
pub(super) fn life(obj: &Obj, errs: &mut Errors) -> Life {
    Life {
        commands: obj
            .get("commands", errs)
            .map_or_else(Vec::new, |json| commands(obj, json, errs)),
        script: obj
            .opt_string("script", errs)
            .and_then(|name| script_name(obj, name, errs)),
        script_field: obj.field("script"),
    }
}

/// `commands`: a short list of verbs of one or two words, lowercased.
fn commands(obj: &Obj, json: &Json, errs: &mut Errors) -> Vec<String> {
    let path = obj.field("commands");
    let Json::Array(list) = json else {
        let message = format!("expected a list of verbs, found {}", json.kind());
        errs.add(obj.file, &path, message);
        return Vec::new();
    };
    if list.len() > MAX_VERBS {
        errs.add(obj.file, &path, format!("at most {MAX_VERBS} verbs"));
    }
    let mut verbs: Vec<String> = Vec::new();
    for (index, json) in list.iter().enumerate() {
        let field = join(&path, &index.to_string());
        match verb(json) {
            Ok(verb) if verbs.contains(&verb) => {
                errs.add(obj.file, &field, format!("\"{verb}\" is listed twice"));
            }
            Ok(verb) => verbs.push(verb),
            Err(message) => errs.add(obj.file, &field, message),
        }
    }
    verbs
}

/// One verb: words of letters, as typed (`pull lever`, `ask`).
fn verb(json: &Json) -> Result<String, String> {
    let Json::String(text) = json else {
        return Err(format!("expected a verb, found {}", json.kind()));
    };
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    let letters = words
        .iter()
        .all(|w| w.chars().all(|c| c.is_alphabetic() || c == '-'));
    if words.is_empty() || words.len() > 3 || !letters || text.chars().count() > MAX_VERB {
        return Err(format!(
            "\"{text}\" is not a verb: one to three words of letters, at most {MAX_VERB} characters"
        ));
    }
    Ok(words.join(" "))
}

/// A script's file name: a plain `<name>.lua` in the world's `scripts/`.
fn script_name(obj: &Obj, name: String, errs: &mut Errors) -> Option<String> {
    let stem = name.strip_suffix(".lua").unwrap_or("");
    let plain = !stem.is_empty()
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !plain {
        let message = format!(
            "\"{name}\" is not a script file name: letters, digits, '_' and '-', ending in .lua"
        );
        errs.add(obj.file, &obj.field("script"), message);
        return None;
    }
    Some(name)
}

/// A zone's `npcs`.
pub(super) fn npcs(json: &Json, file: &std::path::Path, errs: &mut Errors) -> Vec<RawNpc> {
    let entries = collection(json, file, "npcs", "NPC", errs);
    entries.into_iter().map(|entry| npc(entry, errs)).collect()
}

fn npc(entry: Entry, errs: &mut Errors) -> RawNpc {
    let obj = &entry.obj;
    RawNpc {
        name: obj.text("name", errs).unwrap_or_default(),
        description: obj.string("description", errs).unwrap_or_default(),
        room: obj.string("room", errs).unwrap_or_default(),
        room_field: obj.field("room"),
        wander: wander(obj, errs),
        life: life(obj, errs),
        id: entry.id,
    }
}

/// `wander`: a duration (`"45s"`, `"2m"`), between a second and a day.
fn wander(obj: &Obj, errs: &mut Errors) -> Option<Duration> {
    let text = obj.opt_string("wander", errs)?;
    let field = obj.field("wander");
    match crate::config::parse_duration(&text) {
        Ok(every) if every >= WANDER_RANGE.0 && every <= WANDER_RANGE.1 => Some(every),
        Ok(_) => {
            errs.add(obj.file, &field, "must be between 1s and 24h");
            None
        }
        Err(why) => {
            errs.add(obj.file, &field, why);
            None
        }
    }
}
