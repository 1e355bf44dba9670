//! The files of one world as documents, with what each file held when it was
//! read. This is what a change to a world works on: copy the source of a
//! loaded `World`, edit its documents (`edit.rs`), check the whole world as the
//! loader would (`build`), and write back the files that changed (`commit`),
//! each through the one atomic writer (`write.rs`), refused when the file on
//! disk is no longer what was loaded. A file written here is in the canonical
//! layout, so it reads back to the same document and prints to the same bytes:
//! a later one-field change is a one-hunk diff. This file does not decide what
//! a world means (`raw.rs`, `validate.rs`) and never runs at a player's
//! request without a caller deciding so.

use std::collections::HashSet;
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
        let read_back = self
            .on_disk()
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(|text| Json::parse(text).ok());
        read_back.as_ref() != Some(&self.doc)
    }
}

/// A file written by [`WorldSource::commit`] or [`WorldSource::normalise`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Relative to the worlds folder, as replies name it (`lanternfall/zones/old_town.json`).
    pub path: PathBuf,
    /// The file was not in the canonical layout before, and now is.
    pub normalised: bool,
}

/// A change that was checked and written.
#[derive(Debug)]
pub struct Committed {
    /// The world as the files now say, holding the new records.
    pub world: World,
    pub written: Vec<Written>,
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

    /// Adds a file that is not on disk yet (a new zone); false when the
    /// source has one by that name already.
    pub fn add_file(&mut self, name: &Path, doc: Json) -> bool {
        if self.file(name).is_some() {
            return false;
        }
        self.files.push(SourceFile {
            name: name.to_path_buf(),
            doc,
            on_disk: None,
            canonical: false,
        });
        true
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

    /// Checks the changed world, then writes every file whose document
    /// changed (see [`WorldSource::write`] for the order). A refusal writes
    /// nothing.
    pub fn commit(&mut self) -> Result<Committed, CommitError> {
        self.build().map_err(CommitError::Invalid)?;
        let changed = (0..self.files.len())
            .filter(|&i| self.files[i].is_changed())
            .collect();
        let written = self.write(changed)?;
        let world = self.build().map_err(CommitError::Invalid)?;
        Ok(Committed { world, written })
    }

    /// Writes every file that is not in the canonical layout, changing
    /// nothing that it says.
    pub fn normalise(&mut self) -> Result<Vec<Written>, WriteError> {
        let odd = (0..self.files.len())
            .filter(|&i| !self.files[i].canonical || self.files[i].is_changed())
            .collect();
        self.write(odd)
    }

    /// Writes the files at `picked`. New files go first and `world.json`
    /// last, so a crash between two writes leaves files that refer only to
    /// what is already there. Every file is checked against the disk before
    /// any is written, so a file changed by hand stops the whole change.
    fn write(&mut self, mut picked: Vec<usize>) -> Result<Vec<Written>, WriteError> {
        picked.sort_by_key(|&i| (self.files[i].on_disk.is_some(), i == 0, i));
        for &i in &picked {
            let file = &self.files[i];
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
            });
            file.on_disk = Some(bytes.into());
            file.canonical = true;
        }
        Ok(written)
    }
}
