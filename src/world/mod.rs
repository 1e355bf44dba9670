//! Worlds: loading them from their files, validating them, the immutable
//! `World` the game plays in, and writing a changed world back. A world is a
//! directory holding `world.json` and `zones/<zone>.json`; room ids are scoped
//! by zone (`zone:room`). Loading ([`load`], the one way worlds are loaded)
//! reports every problem of every world at once, each naming its file and
//! field, and what `check-worlds` warns about. Each `World` keeps the
//! documents it came from ([`WorldSource`]): keys gaslamp does not read, the
//! order of keys, maps and lists and numbers stay as written, and a file in
//! the canonical layout (the shipped world's) prints back to its own bytes. A
//! change edits a copy of the source, is checked as the loader checks, and is
//! written through [`write_world_file`], the one atomic writer. This module
//! knows nothing about players, sessions or the database: it only says what a
//! world is.

mod edit;
mod fields;
mod fuzz;
mod json;
mod life;
mod load;
mod model;
pub mod plan;
mod raw;
mod source;
mod suggest;
mod validate;
mod warnings;
mod write;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

pub use edit::{Edit, EditError, ItemHome, edits_from_text, edits_to_text};
pub use fuzz::check_builds;
pub use json::{Json, Number, ParseError};
pub use load::{LoadError, Loaded, load, load_from_memory};
pub use model::{Access, Door, Exit, Item, Naming, Npc, Room, RoomId, World, Zone, room_number};
pub use source::{Checked, CommitError, Committed, NotWritten, SourceFile, WorldSource, Written};
pub use write::{WriteError, remove_world_file, temp_path, write_world_file};

/// One problem in a world's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorldError {
    pub file: PathBuf,
    /// Dotted path of the field, like `rooms.spawn.exits.west`; empty when the
    /// problem is with the whole file.
    pub field: String,
    pub message: String,
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for WorldError {}

/// Something in a world's files that loads but is likely a mistake (an
/// unknown key, a room with no way out, a room nothing leads to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorldWarning {
    pub file: PathBuf,
    /// Dotted path of the field, like `rooms.cellar.exitz`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for WorldWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Errors as one text: a line saying how many, then one line each.
pub(crate) fn list_errors(errors: &[WorldError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    format!("invalid worlds:\n{}", lines.join("\n"))
}

impl World {
    /// What `check-worlds` warns about in this world.
    pub fn warnings(&self) -> Vec<WorldWarning> {
        warnings::of_world(self)
    }
}

/// All loaded worlds, ordered by id.
#[derive(Clone, Debug, Default)]
pub struct Worlds {
    worlds: BTreeMap<String, Arc<World>>,
}

impl Worlds {
    fn from_map(worlds: BTreeMap<String, Arc<World>>) -> Worlds {
        Worlds { worlds }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<World>> {
        self.worlds.get(id)
    }

    /// Every world, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<World>> {
        self.worlds.values()
    }

    pub fn ids(&self) -> Vec<String> {
        self.worlds.keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.worlds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.worlds.is_empty()
    }

    /// The world with the smallest id: the default when none is configured.
    pub fn first(&self) -> Option<&Arc<World>> {
        self.worlds.values().next()
    }

    /// The same set with `world` in place of the world of its id (a build).
    pub fn with(&self, world: Arc<World>) -> Worlds {
        let mut worlds = self.worlds.clone();
        worlds.insert(world.id.clone(), world);
        Worlds { worlds }
    }

    /// Every world's warnings, world by world in id order.
    pub fn warnings(&self) -> Vec<WorldWarning> {
        self.iter().flat_map(|world| world.warnings()).collect()
    }

    /// The world new accounts start in: the one named `wanted`, else the first
    /// by id. `None` when `wanted` names no loaded world (or there is none).
    pub fn default_world(&self, wanted: Option<&str>) -> Option<Arc<World>> {
        match wanted {
            Some(id) => self.get(id).cloned(),
            None => self.first().cloned(),
        }
    }
}

/// Builds a set of worlds from worlds made elsewhere (by tests, mostly); a
/// later world with the same id replaces an earlier one.
impl FromIterator<World> for Worlds {
    fn from_iter<I: IntoIterator<Item = World>>(iter: I) -> Worlds {
        Worlds::from_map(
            iter.into_iter()
                .map(|world| (world.id.clone(), Arc::new(world)))
                .collect(),
        )
    }
}

/// One line about a world, as printed by `check-worlds` and at start-up.
pub fn summary(world: &World) -> String {
    let mut line = format!(
        "{}: {} — {}, {}, {}, spawn {}",
        world.id,
        world.name,
        count(world.zones.len(), "zone"),
        count(world.room_count(), "room"),
        count(world.item_count(), "item"),
        world.default_spawn,
    );
    if world.access == Access::Invite {
        line.push_str(", by invitation");
    }
    if world.naming == Naming::Generated {
        line.push_str(", names given");
    }
    if !world.active {
        line.push_str(", closed");
    }
    line
}

/// `1 room`, `2 rooms`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
