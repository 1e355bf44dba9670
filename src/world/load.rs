//! Finding and reading world directories on disk: which subdirectories are
//! worlds, reading `world.json` and each listed zone file, and turning I/O and
//! JSON syntax failures into errors that name the file. It keeps going after a
//! failure so that one run reports every problem of every world. What the
//! fields mean is `raw.rs`'s business, and references are `validate.rs`'s.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::fields::{Errors, is_simple_id};
use super::json::Json;
use super::model::World;
use super::raw::{self, Parts, WorldFile, ZoneFile};
use super::{WorldError, Worlds, validate};

/// Loads one world from its directory; the world's id is the directory's name.
pub fn load_world(dir: &Path) -> Result<World, Vec<WorldError>> {
    let mut errs = Errors::default();
    match read_world(dir, &mut errs) {
        Some(world) if errs.is_empty() => Ok(world),
        _ => Err(errs.into_vec()),
    }
}

/// Loads every subdirectory of `dir` that holds a `world.json`, reporting the
/// errors of all of them together. Finding no world at all is an error too: a
/// server with nowhere to put players cannot start.
pub fn load_worlds(dir: &Path) -> Result<Worlds, Vec<WorldError>> {
    let whole_dir = |message: String| {
        vec![WorldError {
            file: dir.to_path_buf(),
            field: String::new(),
            message,
        }]
    };
    let dirs = world_dirs(dir)
        .map_err(|err| whole_dir(format!("cannot read the worlds directory: {err}")))?;
    if dirs.is_empty() {
        return Err(whole_dir(
            "no worlds here: no subdirectory holds a world.json".to_string(),
        ));
    }
    let mut errs = Errors::default();
    let mut worlds = BTreeMap::new();
    for world_dir in dirs {
        if let Some(world) = read_world(&world_dir, &mut errs) {
            worlds.insert(world.id.clone(), Arc::new(world));
        }
    }
    if !errs.is_empty() {
        return Err(errs.into_vec());
    }
    Ok(Worlds::from_map(worlds))
}

/// The subdirectories of `dir` that hold a `world.json`, sorted by name so
/// errors come out in a stable order. Other entries are ignored.
fn world_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() && path.join("world.json").is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Reads, checks and builds one world; `None` if anything was reported.
fn read_world(dir: &Path, errs: &mut Errors) -> Option<World> {
    let start = errs.len();
    let id = world_id(dir, errs);
    let file = dir.join("world.json");
    let json = read_json(&file, errs)?;
    let world = raw::world_file(&json, &file, errs)?;
    let (zones, broken) = read_zones(dir, &file, &world, errs);
    // A bad id was reported; reading on still finds the world's other errors.
    let parts = Parts {
        id: id.unwrap_or_default(),
        file,
        world,
        zones,
        broken,
    };
    validate::check(&parts, errs);
    if errs.len() > start {
        return None;
    }
    let world = validate::assemble(parts)?;
    validate::check_room_numbers(&world, &dir.join("world.json"), errs);
    (errs.len() == start).then_some(world)
}

/// The world's id: its directory's name, which must be a simple id.
fn world_id(dir: &Path, errs: &mut Errors) -> Option<String> {
    // `load_world(".")` has no name in the path itself; the real one does.
    let named = dir
        .file_name()
        .map(PathBuf::from)
        .or_else(|| dir.canonicalize().ok());
    let name = named
        .as_deref()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str());
    match name {
        Some(id) if is_simple_id(id) => Some(id.to_string()),
        _ => {
            let message = "a world's directory name is its id: letters, digits, '_' and '-' only";
            errs.add(dir, "", message);
            None
        }
    }
}

/// Reads each zone listed in `world.json`, in that order. A zone that cannot
/// be read is reported once and remembered as broken.
fn read_zones(
    dir: &Path,
    world_file: &Path,
    world: &WorldFile,
    errs: &mut Errors,
) -> (Vec<ZoneFile>, HashSet<String>) {
    let mut zones = Vec::new();
    let mut broken = HashSet::new();
    for listed in world.zones.iter().flatten() {
        let file = dir.join("zones").join(format!("{}.json", listed.id));
        if !file.is_file() {
            let message = format!(
                "unknown zone \"{}\": there is no file zones/{}.json",
                listed.id, listed.id
            );
            errs.add(world_file, &listed.field, message);
            broken.insert(listed.id.clone());
            continue;
        }
        let zone =
            read_json(&file, errs).and_then(|json| raw::zone_file(&json, &file, &listed.id, errs));
        match zone {
            Some(zone) => zones.push(zone),
            None => {
                broken.insert(listed.id.clone());
            }
        }
    }
    (zones, broken)
}

/// A file's JSON, or an error naming the file (with serde's line and column
/// for a syntax error).
fn read_json(file: &Path, errs: &mut Errors) -> Option<Json> {
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            errs.add(file, "", "file not found");
            return None;
        }
        Err(err) => {
            errs.add(file, "", format!("cannot read: {err}"));
            return None;
        }
    };
    match Json::parse(&text) {
        Ok(json) => Some(json),
        Err(err) => {
            errs.add(file, "", format!("invalid JSON: {err}"));
            None
        }
    }
}
