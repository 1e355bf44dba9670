//! The files of one world as documents, with what each file held when it was
//! read. This is what a change to a world works on: copy the source of a
//! loaded `World`, edit its documents (`edit.rs`), check the whole world as the
//! loader would (`check`), and write back the files that changed (`write`),
//! each through the one atomic writer (`write.rs`), refused when the file on
//! disk is no longer what was loaded. A file written here is in the canonical
//! layout, so it reads back to the same document and prints to the same bytes:
//! a later one-field change is a one-hunk diff. Of a change that touches
//! several files, those that gain what others may refer to (a room, an item)
//! or drop a reference (a zone unlisted) are written first, and those that
//! lose something or gain a reference (a zone listed) last, so that a crash
//! between two writes leaves files that load. This file does not decide what
//! a world means (`raw.rs`, `validate.rs`) and never runs at a player's
//! request without a caller deciding so.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::json::Json;
use super::write::{self, WriteError};
use super::{World, WorldError, load};

/// The documents of one world: `world.json` first, then its zone files.
#[derive(Clone, Debug)]
pub struct WorldSource {
    /// The world's folder, as the loader was given it.
    dir: PathBuf,
    /// The world's id: its folder's name.
    id: String,
    files: Vec<SourceFile>,
    /// Files taken out (a zone removed) that are still on disk: the next
    /// write removes them, last.
    removed: Vec<SourceFile>,
}

/// One world file: its document and what the file held when it was read.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Within the world's folder: `world.json`, `zones/<zone>.json`.
    name: PathBuf,
    doc: Json,
    /// The bytes read (or last written); `None` for a file made in memory
    /// that is not on disk yet.
    on_disk: Option<Arc<[u8]>>,
    /// Whether `on_disk` is exactly the canonical print of its document.
    canonical: bool,
}

impl SourceFile {
    /// A file as read from disk.
    pub(super) fn read(name: PathBuf, doc: Json, bytes: Vec<u8>) -> SourceFile {
        let canonical = doc.to_canonical().as_bytes() == bytes.as_slice();
        SourceFile {
            name,
            doc,
            on_disk: Some(bytes.into()),
            canonical,
        }
    }

    /// Its path within the world's folder.
    pub fn name(&self) -> &Path {
        &self.name
    }

    pub fn doc(&self) -> &Json {
        &self.doc
    }

    /// What the file held when it was read or last written.
    pub fn on_disk(&self) -> Option<&[u8]> {
        self.on_disk.as_deref()
    }

    /// Whether the file on disk is in the canonical layout (the shipped
    /// world's, and every file gaslamp writes). A file that is not gets
    /// normalised when it is first written.
    pub fn is_canonical(&self) -> bool {
        self.canonical
    }

    /// Whether the document says something other than the file on disk.
    pub fn is_changed(&self) -> bool {
        self.doc_on_disk().as_ref() != Some(&self.doc)
    }

    /// The document the file on disk holds, if it is on disk and reads.
    fn doc_on_disk(&self) -> Option<Json> {
        self.on_disk()
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(|text| Json::parse(text).ok())
    }
}

/// A file written by [`Checked::write`] or [`WorldSource::normalise`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Relative to the worlds folder, as replies name it (`lanternfall/zones/old_town.json`).
    pub path: PathBuf,
    /// The file was not in the canonical layout before, and now is.
    pub normalised: bool,
    /// The file was removed (a zone taken back), not written.
    pub removed: bool,
}

/// A change that was checked and written.
#[derive(Debug)]
pub struct Committed {
    /// The world as the files now say, holding the new records.
    pub world: World,
    /// In the order they were written.
    pub written: Vec<Written>,
}

/// A changed world that passed the loader's checks, not yet written.
#[derive(Debug)]
pub struct Checked {
    source: WorldSource,
    world: World,
}

/// A write of a checked change that failed: why, and the source as far as
/// the write got (the files before the failing one are written; put them
/// back with [`WorldSource::put_back`]).
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct NotWritten {
    pub error: WriteError,
    /// As far as the write got.
    pub written: Box<WorldSource>,
}

/// Why a change was not committed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The changed world does not pass the loader's checks.
    #[error("{}", super::list_errors(.0))]
    Invalid(Vec<WorldError>),
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl WorldSource {
    pub(super) fn new(dir: &Path, id: &str) -> WorldSource {
        WorldSource {
            dir: dir.to_path_buf(),
            id: id.to_string(),
            files: Vec::new(),
            removed: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, file: SourceFile) {
        self.files.push(file);
    }

    /// The world's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The world's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every file, `world.json` first.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// A file by its path within the world's folder.
    pub fn file(&self, name: &Path) -> Option<&SourceFile> {
        self.files.iter().find(|file| file.name == name)
    }

    /// The path of a zone's file within the world's folder.
    pub fn zone_file_name(zone: &str) -> PathBuf {
        Path::new("zones").join(format!("{zone}.json"))
    }

    /// A file's document, to edit it.
    pub fn doc_mut(&mut self, name: &Path) -> Option<&mut Json> {
        let file = self.files.iter_mut().find(|file| file.name == name)?;
        Some(&mut file.doc)
    }

    /// Adds a file that is not in the source (a new zone); false when the
    /// source has one by that name already. A file removed earlier and still
    /// on disk comes back as that file, changed.
    pub fn add_file(&mut self, name: &Path, doc: Json) -> bool {
        if self.file(name).is_some() {
            return false;
        }
        let file = match self.removed.iter().position(|file| file.name == name) {
            Some(at) => SourceFile {
                doc,
                ..self.removed.remove(at)
            },
            None => SourceFile {
                name: name.to_path_buf(),
                doc,
                on_disk: None,
                canonical: false,
            },
        };
        self.files.push(file);
        true
    }

    /// Takes a file out of the source (a zone removed); the next write
    /// removes it from disk. Returns its document; `None` when there is no
    /// such file (`world.json` is never taken out).
    pub fn remove_file(&mut self, name: &Path) -> Option<Json> {
        let at = self
            .files
            .iter()
            .position(|file| file.name == name && at_least_a_zone(&file.name))?;
        let file = self.files.remove(at);
        let doc = file.doc.clone();
        if file.on_disk.is_some() {
            self.removed.push(file);
        }
        Some(doc)
    }

    /// Where a file of this world lies on disk.
    pub fn path_of(&self, name: &Path) -> PathBuf {
        self.dir.join(name)
    }

    /// How replies name a file: relative to the worlds folder.
    pub fn shown(&self, name: &Path) -> PathBuf {
        Path::new(&self.id).join(name)
    }

    /// Checks the whole world as the loader does and builds it from these
    /// documents; nothing is read or written.
    pub fn build(&self) -> Result<World, Vec<WorldError>> {
        load::build(self.clone(), &HashSet::new())
    }

    /// Checks the changed world as the loader does; nothing is written.
    pub fn check(self) -> Result<Checked, CommitError> {
        let world = self.build().map_err(CommitError::Invalid)?;
        Ok(Checked {
            source: self,
            world,
        })
    }

    /// Checks the changed world, then writes every file whose document
    /// changed (see [`Checked::write`] for the order). A refusal writes
    /// nothing.
    pub fn commit(&mut self) -> Result<Committed, CommitError> {
        let committed = self
            .clone()
            .check()?
            .write()
            .map_err(|failed| CommitError::Write(failed.error))?;
        *self = WorldSource::clone(committed.world.source());
        Ok(committed)
    }

    /// Writes every file that is not in the canonical layout, changing
    /// nothing that it says.
    pub fn normalise(&mut self) -> Result<Vec<Written>, WriteError> {
        let odd = (0..self.files.len())
            .filter(|&i| !self.files[i].canonical || self.files[i].is_changed())
            .collect();
        self.write(odd)
    }

    /// Puts the files on disk back as `before` had them, where this source
    /// (written since) left them otherwise: the way back from a change whose
    /// records could not be kept. Best effort, file by file; the first
    /// failure is returned after the others were tried.
    pub fn put_back(&self, before: &WorldSource) -> Result<(), WriteError> {
        let names: BTreeSet<&Path> = [self, before]
            .into_iter()
            .flat_map(|source| source.files.iter().chain(&source.removed))
            .map(|file| file.name.as_path())
            .collect();
        let on_disk = |source: &WorldSource, name: &Path| {
            let present = source.files.iter().chain(&source.removed);
            present
                .filter(|f| f.name == name)
                .find_map(|f| f.on_disk.clone())
        };
        let mut first_failure = Ok(());
        for name in names {
            let (now, then) = (on_disk(self, name), on_disk(before, name));
            let (path, shown) = (self.path_of(name), self.shown(name));
            let result = match (&now, &then) {
                (now, then) if now == then => Ok(()),
                (now, Some(then)) => write::write_world_file(&path, &shown, now.as_deref(), then),
                (Some(now), None) => write::remove_world_file(&path, &shown, now),
                (None, None) => Ok(()),
            };
            if first_failure.is_ok() {
                first_failure = result;
            }
        }
        first_failure
    }

    /// Writes the files at `picked` in an order that survives a crash
    /// between two writes (see [`order_rank`]), then removes the files taken
    /// out. Every file is checked against the disk before any is written, so
    /// a file changed by hand stops the whole change.
    fn write(&mut self, picked: Vec<usize>) -> Result<Vec<Written>, WriteError> {
        let picked = self.ordered(picked);
        for &i in &picked {
            let file = &self.files[i];
            let path = self.path_of(&file.name);
            write::check_unchanged(&path, &self.shown(&file.name), file.on_disk())?;
        }
        for file in &self.removed {
            let path = self.path_of(&file.name);
            write::check_unchanged(&path, &self.shown(&file.name), file.on_disk())?;
        }
        let mut written = Vec::new();
        for i in picked {
            let (path, shown) = (
                self.path_of(&self.files[i].name),
                self.shown(&self.files[i].name),
            );
            let file = &mut self.files[i];
            let bytes = file.doc.to_canonical().into_bytes();
            write::write_world_file(&path, &shown, file.on_disk(), &bytes)?;
            written.push(Written {
                path: shown,
                normalised: file.on_disk.is_some() && !file.canonical,
                removed: false,
            });
            file.on_disk = Some(bytes.into());
            file.canonical = true;
        }
        while let Some(file) = self.removed.first() {
            let (path, shown) = (self.path_of(&file.name), self.shown(&file.name));
            let expected = file.on_disk().unwrap_or_default();
            write::remove_world_file(&path, &shown, expected)?;
            self.removed.remove(0);
            written.push(Written {
                path: shown,
                normalised: false,
                removed: true,
            });
        }
        Ok(written)
    }
}

impl WorldSource {
    /// `picked` (indices of files) in the order they are written.
    fn ordered(&self, mut picked: Vec<usize>) -> Vec<usize> {
        picked.sort_by_key(|&i| (order_rank(&self.files[i]), i == 0, i));
        picked
    }

    /// The files a write of this source's changes would write, in the order
    /// written; removed files last.
    pub(super) fn write_order(&self) -> Vec<PathBuf> {
        let changed = (0..self.files.len())
            .filter(|&i| self.files[i].is_changed())
            .collect();
        let written = self.ordered(changed).into_iter().map(|i| &self.files[i]);
        written
            .chain(&self.removed)
            .map(|file| file.name.clone())
            .collect()
    }

    /// The source as it would be once written, without writing (the
    /// fuzzer's worlds never touch the disk).
    pub(super) fn as_if_written(&mut self) {
        for file in &mut self.files {
            file.on_disk = Some(file.doc.to_canonical().into_bytes().into());
            file.canonical = true;
        }
        self.removed.clear();
    }
}

impl Checked {
    /// The world as it will be once written.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Writes every file whose document changed, in an order that survives
    /// a crash between two writes: a new file, or one that gains what others
    /// may refer to, first; one that loses something, or lists a new zone,
    /// last; removed files after all of them. A refusal of the first file
    /// writes nothing; a failure later leaves the files written before it,
    /// which load (the caller puts them back with [`WorldSource::put_back`]).
    pub fn write(self) -> Result<Committed, NotWritten> {
        let Checked { mut source, world } = self;
        let changed = (0..source.files.len())
            .filter(|&i| source.files[i].is_changed())
            .collect();
        let written = match source.write(changed) {
            Ok(written) => written,
            Err(error) => {
                return Err(NotWritten {
                    error,
                    written: Box::new(source),
                });
            }
        };
        let world = World {
            source: Arc::new(source),
            ..world
        };
        Ok(Committed { world, written })
    }
}

/// Only zone files are ever taken out of a world.
fn at_least_a_zone(name: &Path) -> bool {
    name != Path::new("world.json")
}

/// When a changed file is written among the others of one change: 0 for a
/// new file or one that gains something others may refer to (a room, an
/// item) or stops referring to a zone; 2 for one that loses something or
/// lists a zone it did not; 1 for the rest (and for a file that does both,
/// which no single build does).
fn order_rank(file: &SourceFile) -> u8 {
    let Some(old) = file.doc_on_disk() else {
        return 0;
    };
    let (had, referred) = outline(&old);
    let (has, refers) = outline(&file.doc);
    let early =
        has.difference(&had).next().is_some() || referred.difference(&refers).next().is_some();
    let late =
        had.difference(&has).next().is_some() || refers.difference(&referred).next().is_some();
    match (early, late) {
        (true, false) => 0,
        (false, true) => 2,
        _ => 1,
    }
}

/// What a world file provides that other files may refer to (rooms, items)
/// and which zones it refers to by listing them.
fn outline(doc: &Json) -> (BTreeSet<String>, BTreeSet<String>) {
    let ids = |field: &str, kind: &str| -> Vec<String> {
        let ids: Vec<String> = match doc.get(field) {
            Some(Json::Object(entries)) => entries.iter().map(|(k, _)| k.clone()).collect(),
            Some(Json::Array(list)) => list
                .iter()
                .filter_map(|entry| entry.get("id").and_then(Json::as_str))
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        ids.into_iter().map(|id| format!("{kind}:{id}")).collect()
    };
    let mut provides: BTreeSet<String> = BTreeSet::new();
    provides.extend(ids("rooms", "room"));
    provides.extend(ids("items", "item"));
    provides.extend(ids("global_items", "item"));
    let refers = match doc.get("zones") {
        Some(Json::Array(list)) => list
            .iter()
            .filter_map(Json::as_str)
            .map(str::to_string)
            .collect(),
        _ => BTreeSet::new(),
    };
    (provides, refers)
}
