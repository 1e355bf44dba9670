//! Finding and reading world folders on disk, and building each world from the
//! documents read: which subfolders are worlds, reading `world.json` and each
//! zone file it lists into a `WorldSource`, and turning I/O and JSON syntax
//! failures into errors that name the file. It keeps going after a failure so
//! that one run reports every problem of every world. Only the files
//! `world.json` names are read: a temporary file of an interrupted write
//! (`.<name>.tmp`) or a draft beside them is never loaded, and folders whose
//! names start with a dot are not worlds. [`load`] is the one way gaslamp loads
//! worlds; [`load_from_memory`] reads one world's files from memory by the
//! same code, for the fuzz targets and property tests. What the fields mean is `raw.rs`'s business, and references are
//! `validate.rs`'s.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::fields::{Errors, is_simple_id};
use super::json::Json;
use super::model::World;
use super::raw::{self, Parts, WorldFile, ZoneFile};
use super::source::{SourceFile, WorldSource};
use super::{WorldError, WorldWarning, Worlds, validate};

/// The worlds of a worlds folder, checked, ready to play.
#[derive(Debug)]
pub struct Loaded {
    pub worlds: Worlds,
    /// The world new accounts start in.
    pub default: Arc<World>,
    /// What `check-worlds` warns about, in every world: nothing that stops a
    /// world from loading, but likely a mistake.
    pub warnings: Vec<WorldWarning>,
}

/// Why the worlds could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Every problem of every world, each naming its file and field.
    #[error("{}", super::list_errors(.0))]
    Invalid(Vec<WorldError>),
    #[error("default world {wanted:?} is not among the loaded worlds ({loaded})")]
    NoDefaultWorld { wanted: String, loaded: String },
}

/// Loads and checks every world under `dir` and picks the one new accounts
/// start in (`default_world`, else the first by id). This is the one way
/// worlds are loaded: by `check-worlds`, by the server's start and the
/// operator's tools (`server::load_worlds`), and by `/reload`.
pub fn load(dir: &Path, default_world: Option<&str>) -> Result<Loaded, LoadError> {
    let worlds = load_worlds(dir).map_err(LoadError::Invalid)?;
    let default = worlds
        .default_world(default_world)
        .ok_or_else(|| LoadError::NoDefaultWorld {
            wanted: default_world.unwrap_or_default().to_string(),
            loaded: worlds.ids().join(", "),
        })?;
    let warnings = worlds.warnings();
    Ok(Loaded {
        worlds,
        default,
        warnings,
    })
}

/// Loads one world from its folder; the world's id is the folder's name.
#[cfg(test)]
pub(super) fn load_world(dir: &Path) -> Result<World, Vec<WorldError>> {
    let mut errs = Errors::default();
    match read_world(dir, &mut errs) {
        Some(world) if errs.is_empty() => Ok(world),
        _ => Err(errs.into_vec()),
    }
}

/// Loads every subfolder of `dir` that holds a `world.json`, reporting the
/// errors of all of them together. Finding no world at all is an error too: a
/// server with nowhere to put players cannot start.
pub(super) fn load_worlds(dir: &Path) -> Result<Worlds, Vec<WorldError>> {
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

/// The subfolders of `dir` that hold a `world.json`, sorted by name so
/// errors come out in a stable order. Other entries, and hidden folders, are
/// ignored.
fn world_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let path = entry.path();
        if !hidden && path.is_dir() && path.join("world.json").is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Loads one world from files held in memory — `world.json` and
/// `zones/<zone>.json`, by their paths within the world's folder — exactly
/// as [`load`] reads and checks a folder on disk, `dir` standing for the
/// folder (its name is the world's id). The fuzz targets and property tests
/// load worlds through it, with no folder per input.
pub fn load_from_memory(
    dir: &Path,
    files: &[(PathBuf, Vec<u8>)],
) -> Result<World, Vec<WorldError>> {
    let mut errs = Errors::default();
    match read_world_from(dir, &InMemory(files), &mut errs) {
        Some(world) if errs.is_empty() => Ok(world),
        _ => Err(errs.into_vec()),
    }
}

/// Where a world's files are read from.
trait Files {
    /// The bytes of the file `name` within the world's folder; `None` when
    /// there is no such file.
    fn read(&self, name: &Path) -> Option<io::Result<Vec<u8>>>;
}

/// A world's folder on disk.
struct Folder<'a>(&'a Path);

impl Files for Folder<'_> {
    fn read(&self, name: &Path) -> Option<io::Result<Vec<u8>>> {
        let path = self.0.join(name);
        path.is_file().then(|| fs::read(&path))
    }
}

/// A world's files in memory.
struct InMemory<'a>(&'a [(PathBuf, Vec<u8>)]);

impl Files for InMemory<'_> {
    fn read(&self, name: &Path) -> Option<io::Result<Vec<u8>>> {
        let (_, bytes) = self.0.iter().find(|(path, _)| path == name)?;
        Some(Ok(bytes.clone()))
    }
}

/// Reads, checks and builds one world; `None` if anything was reported.
fn read_world(dir: &Path, errs: &mut Errors) -> Option<World> {
    read_world_from(dir, &Folder(dir), errs)
}

fn read_world_from(dir: &Path, files: &dyn Files, errs: &mut Errors) -> Option<World> {
    let start = errs.len();
    // A bad id was reported; reading on still finds the world's other errors.
    let id = world_id(dir, errs).unwrap_or_default();
    let (source, broken) = read_source(dir, &id, files, errs)?;
    let world = build_into(source, &broken, errs);
    world.filter(|_| errs.len() == start)
}

/// Checks and builds a world from its documents; `broken` names zones whose
/// files could not be read (already reported, so references into them are
/// not reported again).
pub(super) fn build(
    source: WorldSource,
    broken: &HashSet<String>,
) -> Result<World, Vec<WorldError>> {
    let mut errs = Errors::default();
    match build_into(source, broken, &mut errs) {
        Some(world) if errs.is_empty() => Ok(world),
        _ => Err(errs.into_vec()),
    }
}

fn build_into(source: WorldSource, broken: &HashSet<String>, errs: &mut Errors) -> Option<World> {
    let start = errs.len();
    let name = Path::new("world.json");
    let file = source.path_of(name);
    let world = raw::world_file(source.file(name)?.doc(), &file, errs)?;
    let mut broken = broken.clone();
    let zones = zone_files(&source, &file, &world, &mut broken, errs);
    let parts = Parts {
        id: source.id().to_string(),
        file: file.clone(),
        world,
        zones,
        broken,
    };
    validate::check(&parts, errs);
    let scripts = read_scripts(&parts, source.dir(), errs);
    if errs.len() > start {
        return None;
    }
    let mut world = validate::assemble(parts, Arc::new(source))?;
    world.scripts = scripts;
    validate::check_room_numbers(&world, &file, errs);
    validate::share_doors(&mut world, errs);
    (errs.len() == start).then_some(world)
}

/// The longest script file the loader reads.
const MAX_SCRIPT_BYTES: u64 = 64 * 1024;

/// The text of every script file the world names, from its `scripts/`
/// folder; a file that is missing, too big or not UTF-8 is reported at the
/// field that names it. Compiling them is `crate::script`'s job.
fn read_scripts(parts: &Parts, dir: &Path, errs: &mut Errors) -> BTreeMap<String, Arc<str>> {
    let mut named: Vec<(&Path, &super::life::Life)> = Vec::new();
    named.extend(
        parts
            .world
            .global_items
            .iter()
            .map(|i| (parts.file.as_path(), &i.life)),
    );
    for zone in &parts.zones {
        let file = zone.file.as_path();
        named.extend(zone.rooms.iter().map(|r| (file, &r.life)));
        named.extend(zone.items.iter().map(|i| (file, &i.life)));
        named.extend(zone.npcs.iter().map(|n| (file, &n.life)));
    }
    let mut scripts = BTreeMap::new();
    for (file, life) in named {
        let Some(name) = &life.script else { continue };
        if scripts.contains_key(name) {
            continue;
        }
        match read_script(&dir.join("scripts").join(name)) {
            Ok(text) => {
                scripts.insert(name.clone(), Arc::from(text));
            }
            Err(why) => errs.add(file, &life.script_field, why),
        }
    }
    scripts
}

fn read_script(path: &Path) -> Result<String, String> {
    let shown = format!(
        "scripts/{}",
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    let meta = fs::metadata(path).map_err(|_| format!("there is no file {shown}"))?;
    if meta.len() > MAX_SCRIPT_BYTES {
        return Err(format!("{shown} is over {} KiB", MAX_SCRIPT_BYTES / 1024));
    }
    let bytes = fs::read(path).map_err(|err| format!("cannot read {shown}: {err}"))?;
    String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text"))
}

/// The world's id: its folder's name, which must be a simple id.
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

/// Reads `world.json` and every zone file it lists that exists (a listed
/// zone without a file is reported by the build). A zone file that cannot be
/// read is reported here once and named in the returned set.
fn read_source(
    dir: &Path,
    id: &str,
    files: &dyn Files,
    errs: &mut Errors,
) -> Option<(WorldSource, HashSet<String>)> {
    let mut source = WorldSource::new(dir, id);
    let name = Path::new("world.json");
    let Some(bytes) = files.read(name) else {
        errs.add(&dir.join(name), "", "file not found");
        return None;
    };
    let world = read_file(dir, name, bytes, errs)?;
    let zones = listed_zone_ids(world.doc());
    source.push(world);
    let mut broken = HashSet::new();
    for zone in zones {
        let name = WorldSource::zone_file_name(&zone);
        let Some(bytes) = files.read(&name) else {
            continue;
        };
        match read_file(dir, &name, bytes, errs) {
            Some(file) => source.push(file),
            None => {
                broken.insert(zone);
            }
        }
    }
    Some((source, broken))
}

/// The zone ids `world.json` lists, as far as they can be read, each once;
/// what is wrong with the list is reported by the build. Only simple ids are
/// taken, so no listed name can lead out of the `zones` folder.
fn listed_zone_ids(doc: &Json) -> Vec<String> {
    let Some(Json::Array(list)) = doc.get("zones") else {
        return Vec::new();
    };
    let mut seen = HashSet::new();
    list.iter()
        .filter_map(Json::as_str)
        .filter(|id| is_simple_id(id) && seen.insert(*id))
        .map(str::to_string)
        .collect()
}

/// A world file's document, or an error naming the file (with the line and
/// column of a syntax error).
fn read_file(
    dir: &Path,
    name: &Path,
    read: io::Result<Vec<u8>>,
    errs: &mut Errors,
) -> Option<SourceFile> {
    let file = dir.join(name);
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            errs.add(&file, "", "file not found");
            return None;
        }
        Err(err) => {
            errs.add(&file, "", format!("cannot read: {err}"));
            return None;
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        errs.add(&file, "", "cannot read: the file is not UTF-8 text");
        return None;
    };
    match Json::parse(text) {
        Ok(doc) => Some(SourceFile::read(name.to_path_buf(), doc, bytes)),
        Err(err) => {
            errs.add(&file, "", format!("invalid JSON: {err}"));
            None
        }
    }
}

/// Reads each zone listed in `world.json` from the source, in that order. A
/// listed zone with no file is reported and remembered as broken.
fn zone_files(
    source: &WorldSource,
    world_file: &Path,
    world: &WorldFile,
    broken: &mut HashSet<String>,
    errs: &mut Errors,
) -> Vec<ZoneFile> {
    let mut zones = Vec::new();
    for listed in world.zones.iter().flatten() {
        if broken.contains(&listed.id) {
            continue;
        }
        let name = WorldSource::zone_file_name(&listed.id);
        let path = source.path_of(&name);
        let Some(file) = source.file(&name) else {
            let message = format!(
                "unknown zone \"{}\": there is no file zones/{}.json",
                listed.id, listed.id
            );
            errs.add(world_file, &listed.field, message);
            broken.insert(listed.id.clone());
            continue;
        };
        match raw::zone_file(file.doc(), &path, &listed.id, errs) {
            Some(zone) => zones.push(zone),
            None => {
                broken.insert(listed.id.clone());
            }
        }
    }
    zones
}
