//! Copies of the database: a consistent copy of a live file made with
//! SQLite's online backup API ([`copy`]), and the checks a copy must pass
//! before it is trusted or restored ([`check`]).
//!
//! The copy reads the source inside one read transaction, held across every
//! step: it is a snapshot of one moment. (In WAL mode the server's writer is
//! never blocked by a reader and keeps committing meanwhile; without the held
//! snapshot, each of those commits would send the backup back to its first
//! page, and under steady talk it would never finish.) It copies a number of
//! pages a step with a pause between steps ([`Pace`]), so a large copy does
//! not crowd out the players' writes on the same disk. The copy is then put
//! in rollback-journal mode, a single self-contained file, and checked with
//! `integrity_check` before anyone is told it is done.
//!
//! Everything here is blocking; callers run it on the blocking pool.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::schema::{self, SCHEMA_VERSION};

/// How fast a copy goes: pages a step, and the pause after each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub pages_per_step: i32,
    pub pause: Duration,
}

impl Pace {
    /// Beside a running server: 4 MiB a step (at 4 KiB pages), then 10 ms.
    pub const GENTLE: Pace = Pace {
        pages_per_step: 1024,
        pause: Duration::from_millis(10),
    };
    /// With no server to share the disk with (a restore).
    pub const FULL: Pace = Pace {
        pages_per_step: -1,
        pause: Duration::ZERO,
    };
}

/// A copy made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub pages: u64,
    pub bytes: u64,
    pub steps: u64,
    pub checked: Checked,
}

/// What [`check`] found in a database file it trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub schema_version: i64,
    /// The database's identity, from version 7 on.
    pub identity: Option<String>,
    pub accounts: i64,
    pub chat_lines: i64,
}

/// Why a copy could not be made or trusted.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot read the database {path}: {reason}", path = .path.display())]
    Source { path: PathBuf, reason: String },
    #[error("cannot write {path}: {reason}", path = .path.display())]
    Dest { path: PathBuf, reason: String },
    #[error("the copy was abandoned: the server is stopping")]
    Cancelled,
    /// The file is no database gaslamp can trust: it fails its integrity
    /// check, holds no gaslamp schema, or one newer than this gaslamp's.
    #[error("{path} cannot be trusted: {reason}", path = .path.display())]
    Untrusted { path: PathBuf, reason: String },
}

impl BackupError {
    /// Whether the database or the disk failed (as opposed to a file that
    /// is not a good backup, or a stop).
    pub fn is_disk_failure(&self) -> bool {
        matches!(self, BackupError::Source { .. } | BackupError::Dest { .. })
    }
}

/// Copies the database at `source` into a new file at `dest` (which must
/// not exist), at `pace`, checking `cancelled` between steps; then checks
/// the copy. On any failure the partial copy is removed.
pub fn copy(
    source: &Path,
    dest: &Path,
    pace: Pace,
    cancelled: &dyn Fn() -> bool,
) -> Result<Copied, BackupError> {
    let copied = copy_into(source, dest, pace, cancelled);
    if copied.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    copied
}

fn copy_into(
    source: &Path,
    dest: &Path,
    pace: Pace,
    cancelled: &dyn Fn() -> bool,
) -> Result<Copied, BackupError> {
    let read_failed = |err: rusqlite::Error| BackupError::Source {
        path: source.to_path_buf(),
        reason: err.to_string(),
    };
    let write_failed = |reason: String| BackupError::Dest {
        path: dest.to_path_buf(),
        reason,
    };
    if !source.is_file() {
        return Err(BackupError::Source {
            path: source.to_path_buf(),
            reason: "no such database file".into(),
        });
    }
    if dest.exists() {
        return Err(write_failed("it exists already".into()));
    }
    let src = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(read_failed)?;
    src.busy_timeout(schema::BUSY_TIMEOUT)
        .map_err(read_failed)?;
    // The snapshot every step reads from (see the module).
    src.execute_batch("BEGIN DEFERRED; SELECT count(*) FROM sqlite_master;")
        .map_err(read_failed)?;
    let mut dst = Connection::open(dest).map_err(|e| write_failed(e.to_string()))?;
    let steps = run_steps(&src, &mut dst, pace, cancelled).map_err(|err| match err {
        Stepped::Cancelled => BackupError::Cancelled,
        Stepped::Failed(err) => write_failed(err.to_string()),
    })?;
    src.execute_batch("COMMIT").map_err(read_failed)?;
    drop(src);
    // One file that stands alone, with no WAL beside it.
    dst.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
        .map_err(|e| write_failed(e.to_string()))?;
    let pages: i64 = dst
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .map_err(|e| write_failed(e.to_string()))?;
    drop(dst);
    let checked = check(dest)?;
    Ok(Copied {
        pages: pages.unsigned_abs(),
        bytes: std::fs::metadata(dest).map_or(0, |m| m.len()),
        steps,
        checked,
    })
}

enum Stepped {
    Cancelled,
    Failed(rusqlite::Error),
}

/// Steps the backup API to the end; how many steps it took.
fn run_steps(
    src: &Connection,
    dst: &mut Connection,
    pace: Pace,
    cancelled: &dyn Fn() -> bool,
) -> Result<u64, Stepped> {
    let backup = Backup::new(src, dst).map_err(Stepped::Failed)?;
    let mut steps = 0;
    loop {
        if cancelled() {
            return Err(Stepped::Cancelled);
        }
        steps += 1;
        match backup.step(pace.pages_per_step).map_err(Stepped::Failed)? {
            StepResult::Done => return Ok(steps),
            // Busy or locked: the destination is ours alone, so this passes.
            _ => std::thread::sleep(pace.pause),
        }
    }
}

/// Checks that the file at `path` is a gaslamp database to trust: SQLite's
/// `integrity_check` says "ok", and its schema is gaslamp's, of this
/// version or an older one (which the server migrates when it opens it).
/// Opens it read-only and changes nothing.
pub fn check(path: &Path) -> Result<Checked, BackupError> {
    let untrusted = |reason: String| BackupError::Untrusted {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_file() {
        return Err(untrusted("no such file".into()));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| untrusted(e.to_string()))?;
    let sqlite = |e: super::StoreError| untrusted(e.to_string());
    if let Err(verdict) = schema::integrity_check(&conn).map_err(sqlite)? {
        return Err(untrusted(format!("its integrity check says: {verdict}")));
    }
    let version = schema::user_version(&conn).map_err(sqlite)?;
    if version == 0 {
        return Err(untrusted("it holds no gaslamp schema".into()));
    }
    if version > SCHEMA_VERSION {
        return Err(untrusted(format!(
            "its schema version {version} is newer than this gaslamp understands ({SCHEMA_VERSION})"
        )));
    }
    let count = |table: &str| -> Result<i64, BackupError> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .map_err(|e| untrusted(format!("it is not a gaslamp database: {e}")))
    };
    let (accounts, chat_lines) = (count("users")?, count("chat_messages")?);
    let identity = if version >= schema::IDENTITY_SINCE {
        schema::database_identity(&conn).ok()
    } else {
        None
    };
    Ok(Checked {
        schema_version: version,
        identity,
        accounts,
        chat_lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn database(dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("g.db");
        let mut conn = schema::open_connection(&path).expect("open");
        schema::migrate(&mut conn).expect("migrate");
        conn.execute_batch(schema::ONE_WORLD).expect("world");
        path
    }

    fn insert_lines(conn: &Connection, from: usize, to: usize) {
        for n in from..to {
            conn.execute(
                "INSERT INTO chat_messages (world_id, room, kind, message, created_at) \
                 VALUES ('w', 'z:a', 'say', ?1, 't')",
                [format!("line {n:05} {}", "x".repeat(300))],
            )
            .expect("insert");
        }
    }

    /// Under writes committed by another connection between its steps, a
    /// copy made step by step still finishes in one pass (no restarts: about
    /// one step a page) and holds the moment it began, whole.
    #[test]
    fn a_copy_under_steady_writes_finishes_in_one_pass_and_holds_one_moment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = database(&dir);
        let conn = schema::open_connection(&path).expect("open");
        insert_lines(&conn, 0, 2000);
        let done = Arc::new(AtomicBool::new(false));
        let writing = {
            let (path, done) = (path.clone(), done.clone());
            std::thread::spawn(move || {
                let conn = schema::open_connection(&path).expect("open");
                let mut n = 2000;
                while !done.load(Ordering::SeqCst) {
                    insert_lines(&conn, n, n + 1);
                    n += 1;
                }
                n
            })
        };
        let pace = Pace {
            pages_per_step: 1,
            pause: Duration::from_micros(200),
        };
        let dest = dir.path().join("copy.db");
        let copied = copy(&path, &dest, pace, &|| false).expect("copy");
        done.store(true, Ordering::SeqCst);
        let written = writing.join().expect("writer");
        assert!(written > 2000, "the other connection kept writing");
        // One step a page, and the last one that finds it done.
        assert!(
            copied.steps <= copied.pages + 1,
            "{} steps for {} pages: the copy restarted",
            copied.steps,
            copied.pages
        );
        let lines = copied.checked.chat_lines;
        assert!((2000..written as i64).contains(&lines), "{lines}");
        let copy = Connection::open(&dest).expect("open copy");
        let last: String = copy
            .query_row(
                "SELECT substr(message, 1, 10) FROM chat_messages ORDER BY id DESC",
                [],
                |r| r.get(0),
            )
            .expect("last");
        assert_eq!(
            last,
            format!("line {:05}", lines - 1),
            "no line is missing before the last"
        );
        let mode: String = copy
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "delete", "the copy stands alone");
    }

    #[test]
    fn a_cancelled_copy_leaves_no_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = database(&dir);
        let dest = dir.path().join("copy.db");
        let refused = copy(&path, &dest, Pace::GENTLE, &|| true);
        assert!(
            matches!(refused, Err(BackupError::Cancelled)),
            "{refused:?}"
        );
        assert!(!dest.exists());
        std::fs::write(&dest, b"x").expect("a file in the way");
        let refused = copy(&path, &dest, Pace::GENTLE, &|| false);
        assert!(
            matches!(refused, Err(BackupError::Dest { .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn check_refuses_what_is_no_trustworthy_gaslamp_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = database(&dir);
        let good = check(&path).expect("a fresh database");
        assert_eq!(good.schema_version, SCHEMA_VERSION);
        assert!(good.identity.is_some());
        let empty = dir.path().join("empty.db");
        Connection::open(&empty)
            .expect("open")
            .execute_batch("CREATE TABLE t (x)")
            .expect("table");
        let refused = check(&empty).expect_err("no schema");
        assert!(
            refused.to_string().contains("no gaslamp schema"),
            "{refused}"
        );
        let newer = dir.path().join("newer.db");
        std::fs::copy(&path, &newer).expect("copy");
        Connection::open(&newer)
            .expect("open")
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("newer");
        let refused = check(&newer).expect_err("newer");
        assert!(refused.to_string().contains("newer"), "{refused}");
        let broken = dir.path().join("broken.db");
        let mut bytes = std::fs::read(&path).expect("read");
        let (at, len) = (bytes.len() / 2, bytes.len());
        bytes[at..(at + 4096).min(len)].fill(0x55);
        std::fs::write(&broken, bytes).expect("write");
        let refused = check(&broken).expect_err("broken");
        assert!(!refused.is_disk_failure());
        assert!(
            matches!(refused, BackupError::Untrusted { .. }),
            "{refused}"
        );
    }
}
