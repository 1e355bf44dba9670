//! The spill: what the batching writer still held when a stop found the disk
//! refusing past its grace, written to a file in `--spill-dir` (a folder on
//! another filesystem than the database) and replayed into the database at
//! the next start, in order, once. Nothing anybody heard is lost to a disk
//! that stays full.
//!
//! A spill file is named after the database's identity (drawn once for the
//! file and kept in it, `schema::database_identity`):
//! `gaslamp-<identity>-<UTC time>.spill`. The next start of a server on that
//! database finds it; no other database ever takes it. It is JSON lines: a
//! header (the spill's own id, the database's identity and path, what it
//! holds), one line per row in the order the writer held them, and an end
//! line with the count, so a file cut short is told apart from a whole one.
//! It is written under a hidden name, synced, and renamed into place: a file
//! with the final name is whole.
//!
//! The replay writes a file's rows with the writer's own SQL
//! (`writer::write_rows`) and records the spill's id in `spill_replays`, in
//! one transaction; a spill whose id is recorded is not replayed again (its
//! file is only removed). A row the database refuses for what it holds (its
//! character deleted since) is left out and counted, as the writer does. A
//! file that cannot be read is left where it is, and the log says so.
//!
//! Session renewals and client names are not spilled: the sessions end with
//! the server, and their rows are removed at the next start.
//!
//! **Invariant:** a spill is replayed only into the database whose identity
//! it names, and at most once.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use super::writer::{self, Batch, ChatKind, ChatRow, Leftover, LocationRow};
use super::{Store, StoreResult, now_iso, schema, write_tx};

/// The version of the file's layout, in its header.
const FORMAT: u32 = 1;

/// One line of a spill file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Spill(Header),
    Chat(ChatLine),
    Location(PlaceLine),
    End { rows: usize },
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: u32,
    /// This spill's own id, recorded in `spill_replays` by its replay.
    id: String,
    database_id: String,
    /// Where the database was, for the operator reading the file.
    database: String,
    written_at: String,
    chat_lines: usize,
    locations: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct ChatLine {
    world_id: String,
    room: String,
    character_id: Option<i64>,
    user_id: Option<i64>,
    recipient_character_id: Option<i64>,
    kind: String,
    message: String,
    created_at: String,
    /// The channel of a channel line (absent for room talk, and in spills
    /// written before channels existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PlaceLine {
    character_id: i64,
    world_id: String,
    room: String,
    updated_at: String,
}

/// A spill written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spilled {
    pub path: PathBuf,
    pub chat_lines: usize,
    pub locations: usize,
}

/// The spill could not be written: what it held is lost.
#[derive(Debug, thiserror::Error)]
#[error("cannot write a spill file in {dir}: {source}", dir = .dir.display())]
pub struct SpillFailed {
    pub dir: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// A spill file replayed (or found replayed already) at a start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub path: PathBuf,
    /// Rows written into the database now (0 when it was replayed before).
    pub rows: usize,
    /// Rows the database refused for what they hold.
    pub refused: usize,
    /// The spill's id was recorded already: an earlier start replayed it and
    /// could not remove the file.
    pub already: bool,
}

/// Writes what the writer left into a new spill file in `dir` (created if
/// needed) for the database at `database`, whose identity is `identity`.
/// Blocking: file I/O, with syncs.
pub fn write(
    dir: &Path,
    database: &Path,
    identity: &str,
    left: &Leftover,
) -> Result<Spilled, SpillFailed> {
    let failed = |source| SpillFailed {
        dir: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    // Two spills in one millisecond must not share a name (the rename would
    // put the second over the first): nanoseconds, then a number that only
    // grows within this process, keep the names apart and in order.
    static SPILLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SPILLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.9fZ");
    let name = format!("gaslamp-{identity}-{stamp}-{seq:06}.spill");
    let path = dir.join(&name);
    let partial = dir.join(format!(".{name}.partial"));
    let header = Header {
        format: FORMAT,
        id: uuid::Uuid::new_v4().simple().to_string(),
        database_id: identity.to_string(),
        database: database.display().to_string(),
        written_at: now_iso(),
        chat_lines: left.0.chats.len(),
        locations: left.0.locations.len(),
    };
    let written = write_lines(&partial, header, &left.0)
        .and_then(|()| std::fs::rename(&partial, &path))
        .and_then(|()| sync_dir(dir));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(failed(err));
    }
    Ok(Spilled {
        path,
        chat_lines: left.0.chats.len(),
        locations: left.0.locations.len(),
    })
}

/// The header, each row, and the end line, synced to disk.
fn write_lines(path: &Path, header: Header, batch: &Batch) -> std::io::Result<()> {
    // Every field is named: a new kind of row must say whether it is spilled.
    let Batch {
        chats,
        locations,
        touches: _,
        clients: _,
        // Session rows describe live connections, which a stop ends: the
        // next start removes whatever rows are left, so none are spilled.
        opens: _,
        closes: _,
        flushes: _,
        stop: _,
    } = batch;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    let mut out = std::io::BufWriter::new(file);
    let mut put = |line: &Line| -> std::io::Result<()> {
        serde_json::to_writer(&mut out, line)?;
        out.write_all(b"\n")
    };
    put(&Line::Spill(header))?;
    for row in chats {
        put(&Line::Chat(ChatLine::from(row)))?;
    }
    for row in locations.values() {
        put(&Line::Location(PlaceLine::from(row)))?;
    }
    put(&Line::End {
        rows: chats.len() + locations.len(),
    })?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Makes a rename in `dir` durable: on POSIX systems a rename lives in the
/// folder, which is synced too.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Elsewhere a folder cannot be opened to be synced; the rename is as
/// durable as the file system makes it.
#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

impl From<&ChatRow> for ChatLine {
    fn from(row: &ChatRow) -> ChatLine {
        ChatLine {
            world_id: row.world_id.to_string(),
            room: row.room.to_string(),
            character_id: row.character_id,
            user_id: row.user_id,
            recipient_character_id: row.recipient_character_id,
            kind: row.kind.as_str().to_string(),
            message: row.message.clone(),
            created_at: row.created_at.clone(),
            channel: row.channel.as_deref().map(str::to_string),
        }
    }
}

impl From<&LocationRow> for PlaceLine {
    fn from(row: &LocationRow) -> PlaceLine {
        PlaceLine {
            character_id: row.character_id,
            world_id: row.world_id.to_string(),
            room: row.room.to_string(),
            updated_at: row.updated_at.clone(),
        }
    }
}

impl Leftover {
    /// Logs every row held, one error line each: what a stop whose spill
    /// failed says about what it lost (the log is the last place it can be
    /// read).
    pub fn log_lost(&self) {
        for row in &self.0.chats {
            tracing::error!(
                world = %row.world_id,
                room = %row.room,
                character_id = row.character_id,
                kind = row.kind.as_str(),
                at = %row.created_at,
                message = %row.message,
                "lost chat line"
            );
        }
        for row in self.0.locations.values() {
            tracing::error!(
                character_id = row.character_id,
                world = %row.world_id,
                room = %row.room,
                at = %row.updated_at,
                "lost location"
            );
        }
    }
}

/// What is wrong with `dir` as a spill folder for the database at
/// `database`: it cannot be made or written, or it shares the database's
/// filesystem (a disk that fills would take the spill with it). Empty when
/// nothing is. Blocking.
pub fn check_dir(dir: &Path, database: &Path) -> Vec<String> {
    if let Err(err) = std::fs::create_dir_all(dir) {
        return vec![format!("it cannot be created: {err}")];
    }
    let probe = dir.join(format!(".gaslamp-probe-{}", std::process::id()));
    let writable = std::fs::write(&probe, b"probe").and_then(|()| std::fs::remove_file(&probe));
    let mut problems = Vec::new();
    if let Err(err) = writable {
        problems.push(format!("it is not writable: {err}"));
    }
    if shares_filesystem(dir, database) {
        problems.push(
            "it is on the database's own filesystem, which a full disk would fill too".into(),
        );
    }
    problems
}

/// Whether the folder `dir` is on the filesystem of the database at
/// `database` (their devices, `st_dev`, are one). Blocking.
#[cfg(unix)]
pub fn shares_filesystem(dir: &Path, database: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let database_dir = database
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (std::fs::metadata(dir), std::fs::metadata(database_dir)) {
        (Ok(dir), Ok(db)) => dir.dev() == db.dev(),
        _ => false,
    }
}

/// Elsewhere there is no device number to compare: no warning.
#[cfg(not(unix))]
pub fn shares_filesystem(_dir: &Path, _database: &Path) -> bool {
    false
}

impl Store {
    /// The database's identity (see `schema.sql`).
    pub async fn identity(&self) -> StoreResult<String> {
        self.call(|db| schema::database_identity(db)).await
    }

    /// Replays every spill file of this database found in `dir`, oldest
    /// first, and removes each once its rows are in. Run at the start,
    /// before the writer: a failure here (the disk still full) stops the
    /// start and leaves the files for the next one.
    pub async fn replay_spills(&self, dir: &Path) -> StoreResult<Vec<Replayed>> {
        let dir = dir.to_path_buf();
        self.call(move |db| replay_all(db, &dir)).await
    }
}

fn replay_all(conn: &mut Connection, dir: &Path) -> StoreResult<Vec<Replayed>> {
    let identity = schema::database_identity(conn)?;
    let mut replayed = Vec::new();
    for path in spill_files(dir, &identity) {
        let spill = match read_spill(&path, &identity) {
            Ok(spill) => spill,
            Err(problem) => {
                tracing::error!(file = %path.display(), %problem, "a spill file of this database cannot be read; it is left where it is, not replayed");
                continue;
            }
        };
        let done = replay_one(conn, &path, &spill)?;
        match std::fs::remove_file(&path).and_then(|()| sync_dir(dir)) {
            Ok(()) => {}
            Err(err) => {
                tracing::warn!(file = %path.display(), %err, "a replayed spill file could not be removed; it is recorded as replayed, so it is not replayed again")
            }
        }
        replayed.push(done);
    }
    Ok(replayed)
}

/// The spill files named after `identity` in `dir`, oldest first (their
/// names end in the UTC time they were written).
fn spill_files(dir: &Path, identity: &str) -> Vec<PathBuf> {
    let prefix = format!("gaslamp-{identity}-");
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(err) => {
            tracing::error!(dir = %dir.display(), %err, "the spill folder cannot be read; a spill left there is not replayed");
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".spill")
        })
        .map(|entry| entry.path())
        .collect();
    files.sort();
    files
}

/// A spill file read whole: its header and its rows.
struct Spill {
    header: Header,
    rows: Vec<Line>,
}

/// Reads and checks a spill file: its header names `identity`, and its end
/// line counts the rows before it.
fn read_spill(path: &Path, identity: &str) -> Result<Spill, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut lines = text.lines().map(serde_json::from_str::<Line>);
    let header = match lines.next() {
        Some(Ok(Line::Spill(header))) => header,
        _ => return Err("it has no spill header".into()),
    };
    if header.format != FORMAT {
        return Err(format!("its format is {}, not {FORMAT}", header.format));
    }
    if header.database_id != identity {
        return Err(format!("it names database {}", header.database_id));
    }
    let mut rows = Vec::new();
    for line in lines {
        match line.map_err(|e| e.to_string())? {
            Line::End { rows: counted } if counted == rows.len() => {
                return Ok(Spill { header, rows });
            }
            Line::End { rows: counted } => {
                return Err(format!(
                    "its end counts {counted} rows, it holds {}",
                    rows.len()
                ));
            }
            Line::Spill(_) => return Err("it has a second header".into()),
            row => rows.push(row),
        }
    }
    Err("it was cut short (no end line)".into())
}

/// Writes one spill's rows and records its id, in one transaction.
fn replay_one(conn: &mut Connection, path: &Path, spill: &Spill) -> StoreResult<Replayed> {
    let id = spill.header.id.clone();
    let file = path.display().to_string();
    let replayed = write_tx(conn, |tx| {
        let seen: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM spill_replays WHERE spill_id = ?1)",
            [&id],
            |row| row.get(0),
        )?;
        if seen {
            return Ok(Replayed {
                path: path.to_path_buf(),
                rows: 0,
                refused: 0,
                already: true,
            });
        }
        let (batches, mut refused) = batches_of(&spill.rows);
        let mut rows = 0;
        for single in batches {
            // A refused statement is undone alone; the transaction goes on.
            match writer::write_rows(tx, &single) {
                Ok(()) => rows += single.rows(),
                Err(err) if !writer::is_refusal(&err) => {
                    tracing::warn!(%err, file, "a spilled row the database refuses is left out");
                    refused += single.rows();
                }
                Err(err) => return Err(err),
            }
        }
        tx.execute(
            "INSERT INTO spill_replays (spill_id, file, rows, replayed_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, file, rows as i64, now_iso()],
        )?;
        Ok(Replayed {
            path: path.to_path_buf(),
            rows,
            refused,
            already: false,
        })
    })?;
    Ok(replayed)
}

/// The rows of a spill as one-row batches in the file's order, and how many
/// rows name a kind of talk gaslamp does not know.
fn batches_of(lines: &[Line]) -> (Vec<Batch>, usize) {
    let mut batches = Vec::new();
    let mut unknown = 0;
    for line in lines {
        let mut batch = Batch::default();
        match line {
            Line::Chat(chat) => match chat.kind.parse::<ChatKind>() {
                Ok(kind) => batch.chats.push(ChatRow {
                    world_id: chat.world_id.as_str().into(),
                    room: chat.room.as_str().into(),
                    character_id: chat.character_id,
                    user_id: chat.user_id,
                    recipient_character_id: chat.recipient_character_id,
                    kind,
                    message: chat.message.clone(),
                    created_at: chat.created_at.clone(),
                    channel: chat.channel.as_deref().map(std::sync::Arc::from),
                }),
                Err(_) => {
                    unknown += 1;
                    continue;
                }
            },
            Line::Location(place) => {
                batch.locations = HashMap::from([(
                    place.character_id,
                    LocationRow {
                        character_id: place.character_id,
                        world_id: place.world_id.as_str().into(),
                        room: place.room.as_str().into(),
                        updated_at: place.updated_at.clone(),
                    },
                )]);
            }
            Line::Spill(_) | Line::End { .. } => continue,
        }
        batches.push(batch);
    }
    (batches, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    /// Line n: room talk when n is even, a line on `ooc` when it is odd.
    fn chat(n: usize) -> ChatRow {
        let on_ooc = n % 2 == 1;
        ChatRow {
            world_id: "w".into(),
            room: "z:r".into(),
            character_id: None,
            user_id: None,
            recipient_character_id: None,
            kind: if on_ooc {
                ChatKind::Channel
            } else {
                ChatKind::Say
            },
            message: format!("line {n:02}"),
            created_at: now_iso(),
            channel: on_ooc.then(|| "ooc".into()),
        }
    }

    async fn channel_lines(store: &Store) -> Vec<String> {
        store
            .call(|db| {
                let mut stmt = db.prepare(
                    "SELECT message FROM chat_messages WHERE channel = 'ooc' AND kind = 'channel' ORDER BY id",
                )?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .await
            .expect("channel lines")
    }

    fn leftover(lines: std::ops::Range<usize>) -> Leftover {
        let mut batch = Batch::default();
        batch.chats.extend(lines.map(chat));
        Leftover(batch)
    }

    async fn stored(store: &Store) -> Vec<String> {
        store
            .call(|db| {
                let mut stmt = db.prepare("SELECT message FROM chat_messages ORDER BY id")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .await
            .expect("lines")
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_spill_is_replayed_in_order_once_and_its_file_removed() {
        let (dir, store, _) = test_store("ann").await;
        let spills = dir.path().join("spill");
        let identity = store.identity().await.expect("identity");
        let first = write(&spills, store.path(), &identity, &leftover(0..3)).expect("spill");
        assert_eq!((first.chat_lines, first.locations), (3, 0));
        let name = first
            .path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with(&format!("gaslamp-{identity}-")), "{name}");
        write(&spills, store.path(), &identity, &leftover(3..5)).expect("second spill");
        let replayed = store.replay_spills(&spills).await.expect("replay");
        assert_eq!(replayed.iter().map(|r| r.rows).collect::<Vec<_>>(), [3, 2]);
        let want: Vec<String> = (0..5).map(|n| format!("line {n:02}")).collect();
        assert_eq!(stored(&store).await, want);
        // A channel line comes back on its channel, not as room talk.
        assert_eq!(channel_lines(&store).await, ["line 01", "line 03"]);
        assert!(files(&spills).is_empty(), "{:?}", files(&spills));
        assert!(
            store
                .replay_spills(&spills)
                .await
                .expect("again")
                .is_empty()
        );
        assert_eq!(stored(&store).await, want);
    }

    #[tokio::test]
    async fn a_spill_whose_file_outlived_its_replay_is_not_replayed_again() {
        let (dir, store, _) = test_store("ann").await;
        let spills = dir.path().join("spill");
        let identity = store.identity().await.expect("identity");
        let spilled = write(&spills, store.path(), &identity, &leftover(0..2)).expect("spill");
        let kept = std::fs::read(&spilled.path).expect("read");
        store.replay_spills(&spills).await.expect("replay");
        // As if the removal had failed after the commit.
        std::fs::write(&spilled.path, kept).expect("put back");
        let again = store.replay_spills(&spills).await.expect("again");
        assert_eq!(again.len(), 1);
        assert!(again[0].already && again[0].rows == 0, "{again:?}");
        assert_eq!(stored(&store).await.len(), 2);
        assert!(files(&spills).is_empty());
    }

    #[tokio::test]
    async fn another_databases_spill_and_a_file_cut_short_are_left_alone() {
        let (dir, store, _) = test_store("ann").await;
        let spills = dir.path().join("spill");
        let identity = store.identity().await.expect("identity");
        write(
            &spills,
            store.path(),
            "0123456789abcdef0123456789abcdef",
            &leftover(0..2),
        )
        .expect("another's spill");
        let ours = write(&spills, store.path(), &identity, &leftover(2..4)).expect("spill");
        let text = std::fs::read_to_string(&ours.path).expect("read");
        let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
        std::fs::write(&ours.path, cut).expect("cut short");
        let replayed = store.replay_spills(&spills).await.expect("replay");
        assert!(replayed.is_empty(), "{replayed:?}");
        assert!(stored(&store).await.is_empty());
        assert_eq!(files(&spills).len(), 2, "both files are still there");
    }

    #[tokio::test]
    async fn a_spilled_row_the_database_refuses_costs_only_that_row() {
        let (dir, store, _) = test_store("ann").await;
        let spills = dir.path().join("spill");
        let identity = store.identity().await.expect("identity");
        let mut left = leftover(0..3);
        left.0.chats[1].character_id = Some(999);
        write(&spills, store.path(), &identity, &left).expect("spill");
        let replayed = store.replay_spills(&spills).await.expect("replay");
        assert_eq!((replayed[0].rows, replayed[0].refused), (2, 1));
        assert_eq!(stored(&store).await, ["line 00", "line 02"]);
    }

    #[test]
    fn a_spill_dir_on_the_databases_filesystem_is_named_as_a_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let problems = check_dir(&dir.path().join("spill"), &dir.path().join("g.db"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("filesystem"), "{problems:?}");
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"").expect("file");
        let problems = check_dir(&file, &dir.path().join("g.db"));
        assert!(problems[0].contains("cannot be created"), "{problems:?}");
    }
}
