//! The database's lock: a running server holds an exclusive lock on
//! `<database>.lock` for its whole life, and `gaslamp restore` takes the same
//! lock before it replaces the file, so a restore never pulls the database
//! out from under a server (and a second server never starts on one).
//!
//! It is the operating system's advisory lock on an open file (`flock`), not
//! the file's existence: the kernel lets go of it when the process ends,
//! however it ends, so a crashed server's leftover file locks nothing. The
//! file holds the holder's process id, for the operator's message only.
//!
//! **Invariant:** whoever holds a [`DatabaseLock`] is the only gaslamp
//! process using the database as a server or replacing it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Held for as long as it lives; dropping it lets go.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
    path: PathBuf,
}

/// The lock could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it: a server runs on the database (or a
    /// restore is under way).
    #[error(
        "a gaslamp server is running on {database} (it holds {lock}{holder}); stop it first",
        database = .database.display(),
        lock = .lock.display(),
        holder = .holder.map(|pid| format!(", process {pid}")).unwrap_or_default()
    )]
    Held {
        database: PathBuf,
        lock: PathBuf,
        holder: Option<u32>,
    },
    #[error("cannot use the lock file {lock}: {source}", lock = .lock.display())]
    Io {
        lock: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DatabaseLock {
    /// The lock file of the database at `database`: its name with `.lock`.
    pub fn path_for(database: &Path) -> PathBuf {
        let mut name = database.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        database.with_file_name(name)
    }

    /// Takes the lock of the database at `database` without waiting
    /// (creating the lock file and its folder if needed). Blocking: file I/O.
    pub fn acquire(database: &Path) -> Result<DatabaseLock, LockError> {
        let path = Self::path_for(database);
        let io = |source| LockError::Io {
            lock: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let holder = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse().ok());
                return Err(LockError::Held {
                    database: database.to_path_buf(),
                    lock: path,
                    holder,
                });
            }
            Err(TryLockError::Error(err)) => return Err(io(err)),
        }
        // Only a hint for the operator; the lock is what counts.
        let _ = file
            .set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()));
        Ok(DatabaseLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_refuses_a_second_holder_until_it_is_let_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("g.db");
        let held = DatabaseLock::acquire(&db).expect("first");
        assert_eq!(held.path(), dir.path().join("g.db.lock"));
        match DatabaseLock::acquire(&db) {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder, Some(std::process::id()));
            }
            other => panic!("a second holder got {other:?}"),
        }
        drop(held);
        // The file is still there; it locks nothing by itself.
        assert!(dir.path().join("g.db.lock").exists());
        DatabaseLock::acquire(&db).expect("free again");
    }
}
