//! The one way a world file is written: refuse when the file on disk is no
//! longer what was loaded, then write a temporary file `.<name>.tmp` in the
//! same folder, fsync it, rename it over the old file and fsync the folder. A
//! crash at any point leaves the old file or the new one, never a mixture; a
//! leftover temporary file is ignored by the loader (it reads only the files
//! `world.json` names) and overwritten by the next write. A file is removed
//! (a zone an undo takes back) the same careful way: only when it still holds
//! what was loaded, then the folder synced. This file knows nothing about
//! what a world file says.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why a world file was not written; nothing was changed on disk.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file is not what it was when it was loaded (someone edited it, or
    /// it appeared or vanished): writing would throw their change away.
    /// `path` is relative to the worlds folder (SPEC §13's sentence).
    #[error("{} was changed on disk; /reload first.", path.display())]
    ChangedOnDisk { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// The temporary file a write of `path` goes through: `.<name>.tmp` beside it.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Writes `bytes` to the world file at `path`, which must still hold
/// `expected` (`None`: must not exist yet). `shown` is the path messages name
/// (relative to the worlds folder).
pub fn write_world_file(
    path: &Path,
    shown: &Path,
    expected: Option<&[u8]>,
    bytes: &[u8],
) -> Result<(), WriteError> {
    write_with(path, shown, expected, bytes, &mut |_| Ok(()))
}

/// Removes the world file at `path`, which must still hold `expected` (a
/// zone taken back by an undo), and syncs the folder. Like a write, it is
/// refused when the file is no longer what was loaded.
pub fn remove_world_file(path: &Path, shown: &Path, expected: &[u8]) -> Result<(), WriteError> {
    let io_error = |source: io::Error| WriteError::Io {
        path: shown.to_path_buf(),
        source,
    };
    check_unchanged(path, shown, Some(expected))?;
    fs::remove_file(path).map_err(io_error)?;
    sync_folder(path).map_err(io_error)
}

/// A point in a write at which a test may make it fail, as a crash would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// The temporary file is written and synced; the old file is untouched.
    TempSynced,
    /// The rename is done; the folder is not yet synced.
    Renamed,
}

/// [`write_world_file`] with a hook called at each [`Step`]; an error from
/// the hook ends the write there, as a crash at that point would.
pub(super) fn write_with(
    path: &Path,
    shown: &Path,
    expected: Option<&[u8]>,
    bytes: &[u8],
    hook: &mut dyn FnMut(Step) -> io::Result<()>,
) -> Result<(), WriteError> {
    let io_error = |source: io::Error| WriteError::Io {
        path: shown.to_path_buf(),
        source,
    };
    check_unchanged(path, shown, expected)?;
    let temp = temp_path(path);
    let written = write_temp(&temp, path, bytes).and_then(|()| hook(Step::TempSynced));
    if let Err(err) = written.and_then(|()| fs::rename(&temp, path)) {
        // The old file is untouched; the temporary one would only confuse.
        let _ = fs::remove_file(&temp);
        return Err(io_error(err));
    }
    hook(Step::Renamed).map_err(io_error)?;
    sync_folder(path).map_err(io_error)
}

/// Refuses unless the file at `path` holds exactly `expected` (or is absent
/// when `expected` is `None`).
pub(super) fn check_unchanged(
    path: &Path,
    shown: &Path,
    expected: Option<&[u8]>,
) -> Result<(), WriteError> {
    let holds = match fs::read(path) {
        Ok(now) => expected == Some(now.as_slice()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => expected.is_none(),
        Err(source) => {
            return Err(WriteError::Io {
                path: shown.to_path_buf(),
                source,
            });
        }
    };
    if holds {
        Ok(())
    } else {
        Err(WriteError::ChangedOnDisk {
            path: shown.to_path_buf(),
        })
    }
}

/// Writes and syncs the temporary file, with the old file's permissions when
/// there is one (an operator's `chmod` survives a build).
fn write_temp(temp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(temp)?;
    if let Ok(old) = fs::metadata(path) {
        file.set_permissions(old.permissions())?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes the rename itself durable: on POSIX systems a rename lives in the
/// folder, which has to be synced too.
#[cfg(unix)]
fn sync_folder(path: &Path) -> io::Result<()> {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    File::open(folder)?.sync_all()
}

/// Elsewhere a folder cannot be opened to be synced; the rename is as durable
/// as the file system makes it.
#[cfg(not(unix))]
fn sync_folder(_path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(old: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("zone.json");
        fs::write(&path, old).expect("the old file");
        (dir, path)
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).expect("readable")
    }

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary_file() {
        let (dir, path) = setup("old\n");
        write_world_file(&path, Path::new("w/zone.json"), Some(b"old\n"), b"new\n")
            .expect("written");
        assert_eq!(read(&path), "new\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["zone.json"]);
        assert_eq!(temp_path(&path), dir.path().join(".zone.json.tmp"));
    }

    #[test]
    fn a_crash_at_any_step_leaves_the_old_file_or_the_new_one() {
        for (fail_at, expected) in [(Step::TempSynced, "old\n"), (Step::Renamed, "new\n")] {
            let (_dir, path) = setup("old\n");
            let mut crash = |step: Step| {
                if step == fail_at {
                    Err(io::Error::other("crash"))
                } else {
                    Ok(())
                }
            };
            let result = write_with(&path, &path, Some(b"old\n"), b"new\n", &mut crash);
            assert!(matches!(result, Err(WriteError::Io { .. })), "{fail_at:?}");
            assert_eq!(read(&path), expected, "crash at {fail_at:?}");
            assert!(!temp_path(&path).exists(), "{fail_at:?}");
        }
    }

    #[test]
    fn readers_see_the_old_file_or_the_new_one_never_a_mixture() {
        let short = "{}\n".to_string();
        let long = format!("{{\"a\": \"{}\"}}\n", "x".repeat(200_000));
        let (_dir, path) = setup(&short);
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut reads = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                    let text = read(&path);
                    assert!(
                        text == short || text == long,
                        "a mixture of {} bytes",
                        text.len()
                    );
                    reads += 1;
                }
                reads
            });
            let mut on_disk = short.clone();
            for n in 0..50 {
                let next = if n % 2 == 0 { &long } else { &short };
                write_world_file(&path, &path, Some(on_disk.as_bytes()), next.as_bytes())
                    .expect("written");
                on_disk = next.clone();
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            assert!(reader.join().expect("the reader") > 0);
        });
    }

    #[test]
    fn a_file_changed_since_it_was_loaded_is_not_overwritten() {
        let (_dir, path) = setup("edited by hand\n");
        let shown = Path::new("w/zones/zone.json");
        let err =
            write_world_file(&path, shown, Some(b"as loaded\n"), b"new\n").expect_err("refused");
        assert_eq!(
            err.to_string(),
            "w/zones/zone.json was changed on disk; /reload first."
        );
        assert_eq!(read(&path), "edited by hand\n");
        // A file that should be new but appeared meanwhile is refused too, and
        // one that vanished since it was loaded.
        assert!(matches!(
            write_world_file(&path, shown, None, b"new\n"),
            Err(WriteError::ChangedOnDisk { .. })
        ));
        let gone = path.with_file_name("gone.json");
        assert!(matches!(
            write_world_file(&gone, shown, Some(b"x"), b"new\n"),
            Err(WriteError::ChangedOnDisk { .. })
        ));
        write_world_file(&gone, shown, None, b"new\n").expect("a new file");
        assert_eq!(read(&gone), "new\n");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let (_dir, path) = setup("old\n");
        // A directory where the temporary file would go makes the write fail
        // before anything is renamed.
        fs::create_dir(temp_path(&path)).expect("block the temporary file");
        let result = write_world_file(&path, &path, Some(b"old\n"), b"new\n");
        assert!(matches!(result, Err(WriteError::Io { .. })));
        assert_eq!(read(&path), "old\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_write_keeps_the_file_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, path) = setup("old\n");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
        write_world_file(&path, &path, Some(b"old\n"), b"new\n").expect("written");
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
}
