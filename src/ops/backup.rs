//! Backups an operator can trust: `gaslamp backup <file>` (a consistent copy
//! of the database, whether a server runs on it or not), `gaslamp restore
//! <file>` (a checked copy put in place of a database no server holds, the
//! replaced file kept aside), and the running server's own rotated copies
//! (`--backup-every`, `--backup-keep`, `--backup-dir`, see [`rotate`]).
//!
//! Every copy is made by `store::backup::copy` (SQLite's online backup API,
//! one snapshot, a few pages a step) into a hidden file beside its final
//! name, checked (`integrity_check`, schema version), and only then renamed
//! into place, so a file with a backup's name is always a whole, checked
//! copy. A restore takes the database's lock (`store::lock`), which a running
//! server holds for its life, so it never replaces a database in use.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::OpsError;
use crate::cli::CommonArgs;
use crate::config::BackupSchedule;
use crate::game::Game;
use crate::store::backup::{self, BackupError, Copied, Pace};
use crate::store::lock::DatabaseLock;
use crate::store::spill::sync_dir;

/// How long a scheduled backup waits for the writer to commit what was
/// acknowledged before it; past that (a full disk) it copies what is
/// committed.
const FLUSH_WAIT: Duration = Duration::from_secs(10);

/// `gaslamp backup <file>`: a consistent copy of the database at `--db`
/// into `file` (refused if it exists, unless `force`).
pub async fn back_up(common: &CommonArgs, file: &Path, force: bool) -> Result<String, OpsError> {
    let (source, dest) = (common.db.clone(), file.to_path_buf());
    if dest.exists() && !force {
        return Err(OpsError::Invalid(format!(
            "{} exists; pass --force to replace it",
            dest.display()
        )));
    }
    let started = Instant::now();
    let copied = blocking(move || copy_into_place(&source, &dest, Pace::GENTLE, &|| false)).await?;
    Ok(format!(
        "Backed up {} to {}: {} pages ({}), schema version {}, {} accounts, {} lines of talk; \
         integrity ok; {:.1} s.",
        common.db.display(),
        file.display(),
        copied.pages,
        mib(copied.bytes),
        copied.checked.schema_version,
        copied.checked.accounts,
        copied.checked.chat_lines,
        started.elapsed().as_secs_f64()
    ))
}

/// `gaslamp restore <file>`: checks the backup, then puts a copy of it in
/// place of the database at `--db`, which no server may hold; the file it
/// replaces (and its WAL) is kept aside under a name that says when.
pub async fn restore(common: &CommonArgs, file: &Path) -> Result<String, OpsError> {
    let (database, backup_file) = (common.db.clone(), file.to_path_buf());
    blocking(move || restore_blocking(&database, &backup_file)).await
}

fn restore_blocking(database: &Path, backup_file: &Path) -> Result<String, OpsError> {
    if same_file(database, backup_file) {
        return Err(OpsError::Invalid(format!(
            "{} is the database itself",
            backup_file.display()
        )));
    }
    // Held to the end: no server may start on the file while it is replaced.
    let _lock =
        DatabaseLock::acquire(database).map_err(|err| OpsError::Invalid(err.to_string()))?;
    let checked = backup::check(backup_file).map_err(OpsError::Backup)?;
    let incoming = hidden_beside(database, "restoring");
    let _ = std::fs::remove_file(&incoming);
    backup::copy(backup_file, &incoming, Pace::FULL, &|| false).map_err(OpsError::Backup)?;
    let aside = match set_aside(database) {
        Ok(aside) => aside,
        Err(err) => {
            let _ = std::fs::remove_file(&incoming);
            return Err(dest_failed(database, err));
        }
    };
    std::fs::rename(&incoming, database)
        .and_then(|()| sync_dir_of(database))
        .map_err(|err| dest_failed(database, err))?;
    let kept = match aside {
        Some(aside) => format!("The database it replaced is kept as {}.", aside.display()),
        None => "There was no database there before.".to_string(),
    };
    Ok(format!(
        "Restored {} from {}: schema version {}, {} accounts, {} lines of talk; integrity ok. {kept}",
        database.display(),
        backup_file.display(),
        checked.schema_version,
        checked.accounts,
        checked.chat_lines
    ))
}

/// Moves the database at `database` (and its WAL, which belongs with it)
/// aside as `<name>.before-restore-<UTC time>`; its shared-memory index is
/// only removed. `None` when there was no database.
fn set_aside(database: &Path) -> std::io::Result<Option<PathBuf>> {
    if !database.exists() {
        return Ok(None);
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let aside = with_suffix(database, &format!(".before-restore-{stamp}"));
    std::fs::rename(database, &aside)?;
    let wal = with_suffix(database, "-wal");
    if wal.exists() {
        std::fs::rename(&wal, with_suffix(&aside, "-wal"))?;
    }
    let _ = std::fs::remove_file(with_suffix(database, "-shm"));
    Ok(Some(aside))
}

/// What the running server's rotation has done, for the log's readers and
/// the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Copies made since the start.
    pub made: u64,
    /// Copies that failed since the start.
    pub failed: u64,
    /// The latest copy made.
    pub latest: Option<PathBuf>,
    /// Why the latest attempt failed, if it did.
    pub error: Option<String>,
}

/// The running server's backups: every `schedule.every`, the writer is
/// flushed (so the copy holds every line acknowledged before it) and a copy
/// is made into `schedule.dir`, named by UTC time; the oldest are removed so
/// that there are never more than `schedule.keep`. Ends when the game shuts
/// down, abandoning a copy under way.
pub async fn rotate(game: Arc<Game>, schedule: BackupSchedule, report: watch::Sender<Rotation>) {
    warn_if_beside_the_database(&schedule, &game.config().db_path).await;
    let stop = game.shutdown_token().clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(schedule.every) => {}
            _ = stop.cancelled() => return,
        }
        let started = Instant::now();
        match make_one(&game, &schedule).await {
            Ok((path, copied)) => {
                tracing::info!(file = %path.display(), pages = copied.pages, secs = started.elapsed().as_secs_f64(), keep = schedule.keep, "backup made");
                report.send_modify(|r| {
                    r.made += 1;
                    r.latest = Some(path);
                    r.error = None;
                });
            }
            Err(BackupError::Cancelled) => return,
            Err(err) => {
                tracing::error!(%err, dir = %schedule.dir.display(), "the backup failed; the next one is tried on schedule");
                report.send_modify(|r| {
                    r.failed += 1;
                    r.error = Some(err.to_string());
                });
            }
        }
    }
}

/// One scheduled copy: the writer flushed, then [`rotate_once`] on the
/// blocking pool, abandoned if the server starts to stop.
async fn make_one(
    game: &Game,
    schedule: &BackupSchedule,
) -> Result<(PathBuf, Copied), BackupError> {
    if tokio::time::timeout(FLUSH_WAIT, game.writer().flush())
        .await
        .is_err()
    {
        tracing::warn!(
            "the writer is behind (a full disk?): the backup holds what it has committed"
        );
    }
    let source = game.config().db_path.clone();
    let (plan, stopping) = (schedule.clone(), game.shutdown_token().clone());
    tokio::task::spawn_blocking(move || rotate_once(&source, &plan, &|| stopping.is_cancelled()))
        .await
        .unwrap_or_else(|join| {
            Err(BackupError::Dest {
                path: schedule.dir.clone(),
                reason: join.to_string(),
            })
        })
}

/// Backups on the database's own disk die with it: says so.
async fn warn_if_beside_the_database(schedule: &BackupSchedule, database: &Path) {
    let (dir, database) = (schedule.dir.clone(), database.to_path_buf());
    let beside = tokio::task::spawn_blocking(move || {
        let _ = std::fs::create_dir_all(&dir);
        crate::store::spill::shares_filesystem(&dir, &database)
    })
    .await
    .unwrap_or(false);
    if beside {
        tracing::warn!(
            backup_dir = %schedule.dir.display(),
            "the backups are on the database's own filesystem: a disk that dies takes them too; copy them elsewhere, or replicate (docs/backups.md)"
        );
    }
}

/// One rotated copy: made, checked, the oldest copies removed down to one
/// fewer than `keep`, then renamed into place.
fn rotate_once(
    source: &Path,
    schedule: &BackupSchedule,
    cancelled: &dyn Fn() -> bool,
) -> Result<(PathBuf, Copied), BackupError> {
    let dest_failed = |err: std::io::Error| BackupError::Dest {
        path: schedule.dir.clone(),
        reason: err.to_string(),
    };
    std::fs::create_dir_all(&schedule.dir).map_err(dest_failed)?;
    let stem = stem_of(source);
    let name = format!(
        "{stem}-{}.db",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    );
    let dest = schedule.dir.join(&name);
    let hidden = schedule.dir.join(format!(".{name}.partial"));
    let copied = backup::copy(source, &hidden, Pace::GENTLE, cancelled)?;
    let mut old = rotated_copies(&schedule.dir, &stem);
    let excess = (old.len() + 1).saturating_sub(schedule.keep.max(1));
    for path in old.drain(..excess) {
        if let Err(err) = std::fs::remove_file(&path) {
            tracing::warn!(file = %path.display(), %err, "an old backup could not be removed");
        }
    }
    std::fs::rename(&hidden, &dest)
        .and_then(|()| sync_dir(&schedule.dir))
        .map_err(|err| {
            let _ = std::fs::remove_file(&hidden);
            dest_failed(err)
        })?;
    Ok((dest, copied))
}

/// The rotated copies of the database named `stem` in `dir`, oldest first:
/// `<stem>-<UTC time>.db`, whose time reads back.
pub fn rotated_copies(dir: &Path, stem: &str) -> Vec<PathBuf> {
    let prefix = format!("{stem}-");
    let mut copies: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    copies.retain(|path| {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        name.strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".db"))
            .is_some_and(|stamp| {
                chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S%.3fZ").is_ok()
            })
    });
    copies.sort();
    copies
}

/// The database file's name without its extension (`gaslamp` of
/// `data/gaslamp.db`).
fn stem_of(database: &Path) -> String {
    database.file_stem().map_or_else(
        || "gaslamp".to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Copies `source` into a hidden file beside `dest`, checks it, and renames
/// it over `dest`.
fn copy_into_place(
    source: &Path,
    dest: &Path,
    pace: Pace,
    cancelled: &dyn Fn() -> bool,
) -> Result<Copied, OpsError> {
    let hidden = hidden_beside(dest, "partial");
    let _ = std::fs::remove_file(&hidden);
    let copied = backup::copy(source, &hidden, pace, cancelled).map_err(OpsError::Backup)?;
    std::fs::rename(&hidden, dest)
        .and_then(|()| sync_dir_of(dest))
        .map_err(|err| {
            let _ = std::fs::remove_file(&hidden);
            dest_failed(dest, err)
        })?;
    Ok(copied)
}

/// `.<name>.<what>` in the folder of `path`.
fn hidden_beside(path: &Path, what: &str) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{what}"))
}

/// `path` with `suffix` added to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

fn sync_dir_of(path: &Path) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    sync_dir(dir)
}

fn dest_failed(path: &Path, err: std::io::Error) -> OpsError {
    OpsError::Backup(BackupError::Dest {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

/// Runs blocking file and SQLite work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OpsError> + Send + 'static,
) -> Result<T, OpsError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| OpsError::Store(crate::store::StoreError::Task(err.to_string())))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path) -> PathBuf {
        let path = dir.join("g.db");
        let mut conn = crate::store::schema::open_connection(&path).expect("open");
        crate::store::schema::migrate(&mut conn).expect("migrate");
        path
    }

    #[test]
    fn rotation_keeps_no_more_than_it_is_told_naming_copies_by_utc_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = database(dir.path());
        let schedule = BackupSchedule {
            every: Duration::from_secs(1),
            keep: 3,
            dir: dir.path().join("backups"),
        };
        std::fs::create_dir_all(&schedule.dir).expect("dir");
        std::fs::write(schedule.dir.join("notes.txt"), b"not a copy").expect("other file");
        let mut made = Vec::new();
        for _ in 0..5 {
            let (path, _) = rotate_once(&source, &schedule, &|| false).expect("copy");
            made.push(path);
            assert!(rotated_copies(&schedule.dir, "g").len() <= 3);
        }
        assert_eq!(rotated_copies(&schedule.dir, "g"), made[2..]);
        let name = made[4]
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with("g-20") && name.ends_with("Z.db"), "{name}");
        assert!(
            schedule.dir.join("notes.txt").exists(),
            "other files are left alone"
        );
        let hidden: Vec<_> = std::fs::read_dir(&schedule.dir)
            .expect("dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(hidden.is_empty(), "no partial copy is left");
    }
}
