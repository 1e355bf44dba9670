//! Opening connections and keeping the schema current.
//!
//! `schema.sql` (at the repository root, embedded here) is the whole current schema
//! and is applied to an empty database. `PRAGMA user_version` records which version a
//! file holds; [`STEPS`] lists the steps that bring an older file forward, each
//! run in its own transaction together with the version bump. The schema as it
//! was at each older version is kept, frozen, in `tests/fixtures/schema/`, and
//! the tests migrate a database built from each of them.
//!
//! After any migration, whenever a file is opened, the `chat_kinds` table is
//! brought in line with gaslamp's one list of kinds of talk
//! ([`ChatKind::ALL`]): adding a kind is a line of Rust, never a migration.
//! And a file without its identity ([`database_identity`]) is given one.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, params};

use super::chat::ChatKind;
use super::{StoreError, StoreResult, write_tx};

/// The schema as shipped: the contents of `schema.sql`.
pub const SCHEMA_SQL: &str = include_str!("../../schema.sql");

/// Version number of [`SCHEMA_SQL`].
pub const SCHEMA_VERSION: i64 = 13;

/// The version that gave each database its identity (`database_identity`),
/// which spills and backups are tied to.
pub const IDENTITY_SINCE: i64 = 7;

/// One step that brings a file from the version before it to `version`.
struct Step {
    version: i64,
    sql: &'static str,
    /// What SQL alone cannot do, run after `sql` in the same transaction.
    code: Option<fn(&Connection) -> StoreResult<()>>,
    /// The step rebuilds a table, which SQLite's procedure does with foreign
    /// keys off (they cannot be switched inside a transaction, so around it).
    rebuilds: bool,
}

/// Upgrade steps, in order. A database at version N runs every step whose
/// version is above N. Version 1 is the initial schema; each change to
/// `schema.sql` since adds its step here (and freezes the schema it replaces
/// as `tests/fixtures/schema/v<N>.sql`).
const STEPS: &[Step] = &[
    Step {
        version: 2,
        sql: "ALTER TABLE sessions ADD COLUMN transport TEXT NOT NULL DEFAULT 'plain';",
        code: None,
        rebuilds: false,
    },
    Step {
        version: 3,
        sql: "ALTER TABLE users ADD COLUMN color INTEGER NOT NULL DEFAULT 1;",
        code: None,
        rebuilds: false,
    },
    Step {
        version: 4,
        sql: "ALTER TABLE users ADD COLUMN name_key TEXT; \
              ALTER TABLE characters ADD COLUMN name_key TEXT;",
        code: Some(fill_name_keys),
        rebuilds: false,
    },
    Step {
        version: 5,
        sql: include_str!("migrations/5_chat_kinds.sql"),
        code: Some(check_rebuilt_chat),
        rebuilds: true,
    },
    Step {
        version: 6,
        sql: "CREATE TABLE IF NOT EXISTS item_placements (\
                  world_id TEXT NOT NULL REFERENCES worlds (id), room TEXT NOT NULL, \
                  item_key TEXT NOT NULL, ordinal INTEGER NOT NULL, placed_at TEXT NOT NULL, \
                  PRIMARY KEY (world_id, room, item_key, ordinal)); \
              CREATE TABLE IF NOT EXISTS placements_recorded (\
                  world_id TEXT PRIMARY KEY REFERENCES worlds (id), since TEXT NOT NULL);",
        code: None,
        rebuilds: false,
    },
    Step {
        version: 7,
        sql: "CREATE TABLE IF NOT EXISTS database_identity (\
                  id INTEGER PRIMARY KEY CHECK (id = 1), uuid TEXT NOT NULL, \
                  created_at TEXT NOT NULL); \
              CREATE TABLE IF NOT EXISTS spill_replays (\
                  spill_id TEXT PRIMARY KEY, file TEXT NOT NULL, rows INTEGER NOT NULL, \
                  replayed_at TEXT NOT NULL);",
        code: None,
        rebuilds: false,
    },
    Step {
        version: 8,
        sql: "ALTER TABLE world_permissions ADD COLUMN can_build INTEGER NOT NULL DEFAULT 0; \
              CREATE TABLE IF NOT EXISTS build_history (\
                  id INTEGER PRIMARY KEY, world_id TEXT NOT NULL REFERENCES worlds (id), \
                  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, \
                  verb TEXT NOT NULL, target TEXT NOT NULL, summary TEXT NOT NULL, forward TEXT NOT NULL, \
                  inverse TEXT NOT NULL, undone INTEGER NOT NULL DEFAULT 0, \
                  created_at TEXT NOT NULL); \
              CREATE INDEX IF NOT EXISTS build_history_by_builder \
                  ON build_history (user_id, world_id, id);",
        code: None,
        rebuilds: false,
    },
    Step {
        version: 9,
        sql: "ALTER TABLE users ADD COLUMN failed_since_login INTEGER NOT NULL DEFAULT 0; \
              CREATE TABLE IF NOT EXISTS login_addresses (\
                  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, \
                  address TEXT NOT NULL, last_login_at TEXT NOT NULL, \
                  failed_attempts INTEGER NOT NULL DEFAULT 0, lockout_until TEXT, \
                  PRIMARY KEY (user_id, address)) WITHOUT ROWID;",
        code: None,
        rebuilds: false,
    },
    Step {
        version: 10,
        sql: include_str!("migrations/10_community.sql"),
        code: None,
        rebuilds: false,
    },
    Step {
        version: 11,
        sql: include_str!("migrations/11_mail_aliases.sql"),
        code: None,
        rebuilds: false,
    },
    Step {
        version: 12,
        sql: "CREATE TABLE IF NOT EXISTS door_states (\
                  world_id TEXT NOT NULL REFERENCES worlds (id), door TEXT NOT NULL, \
                  closed INTEGER NOT NULL, locked INTEGER NOT NULL, version INTEGER NOT NULL, \
                  changed_at TEXT NOT NULL, PRIMARY KEY (world_id, door)); \
              CREATE TABLE IF NOT EXISTS container_items (\
                  id INTEGER PRIMARY KEY, container_id INTEGER NOT NULL, \
                  world_id TEXT NOT NULL, item_key TEXT NOT NULL, put_at TEXT NOT NULL); \
              CREATE INDEX IF NOT EXISTS container_items_by_container \
                  ON container_items (container_id);",
        code: None,
        rebuilds: false,
    },
    Step {
        version: 13,
        sql: include_str!("migrations/13_npcs_scripts.sql"),
        code: None,
        rebuilds: false,
    },
];

/// Version 4: every existing name gets its look-alike key, then the keys are
/// made unique. Where earlier versions let look-alikes in, the oldest keeps
/// the key and the later ones stay without (they still log in and play; no new
/// look-alike of either can be made).
fn fill_name_keys(tx: &Connection) -> StoreResult<()> {
    use crate::auth::names::name_key;
    use std::collections::HashSet;
    let fill = |select: &str, update: &str| -> StoreResult<()> {
        let rows: Vec<(i64, String, String)> = tx
            .prepare(select)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut seen = HashSet::new();
        let mut update = tx.prepare(update)?;
        for (id, scope, name) in rows {
            let key = name_key(&name);
            if seen.insert((scope, key.clone())) {
                update.execute(rusqlite::params![id, key])?;
            } else {
                tracing::warn!(%name, "a name looks like an older one; it keeps working, but gets no look-alike key");
            }
        }
        Ok(())
    };
    fill(
        "SELECT id, '', username FROM users ORDER BY id",
        "UPDATE users SET name_key = ?2 WHERE id = ?1",
    )?;
    fill(
        "SELECT id, world_id, name FROM characters ORDER BY id",
        "UPDATE characters SET name_key = ?2 WHERE id = ?1",
    )?;
    tx.execute_batch(
        "CREATE UNIQUE INDEX IF NOT EXISTS users_by_name_key ON users (name_key); \
         CREATE UNIQUE INDEX IF NOT EXISTS characters_by_name_key \
         ON characters (world_id, name_key);",
    )?;
    Ok(())
}

/// What the WAL may hold before a commit checkpoints it, and what it keeps
/// on disk after: 1 MiB. SQLite's own autocheckpoint waits for 1000 pages
/// (4 MiB), which on a small disk refilled the space an outage had freed
/// (issue 16); a checkpoint per MiB costs little.
pub const WAL_LIMIT_BYTES: i64 = 1 << 20;

/// How long a statement waits for a lock before the caller hears `Busy`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a connection with the settings every gaslamp connection uses: WAL,
/// foreign keys, a busy timeout. Creates the parent directory if needed.
pub fn open_connection(path: &Path) -> StoreResult<Connection> {
    let open_error = |reason: String| StoreError::Open {
        path: path.to_path_buf(),
        reason,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| open_error(e.to_string()))?;
    }
    let conn = Connection::open(path).map_err(|e| open_error(e.to_string()))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(e.to_string()))?;
    // journal_mode returns a row, so it is read rather than executed.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(|e| open_error(e.to_string()))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(open_error(format!("could not switch to WAL (got {mode})")));
    }
    // SQLite quietly opens a file it may not write read-only, and only the
    // first write would fail, without saying which file.
    if conn
        .is_readonly(rusqlite::MAIN_DB)
        .map_err(|e| open_error(e.to_string()))?
    {
        return Err(open_error(
            "the file is read-only (check its permissions and its file system)".into(),
        ));
    }
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
        .map_err(|e| open_error(e.to_string()))?;
    bound_the_wal(&conn).map_err(|e| open_error(e.to_string()))?;
    Ok(conn)
}

/// Keeps the WAL near [`WAL_LIMIT_BYTES`]: checkpointed once it holds that
/// much, and truncated back to it after each checkpoint.
fn bound_the_wal(conn: &Connection) -> rusqlite::Result<()> {
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
    let pages = (WAL_LIMIT_BYTES / page_size.max(512)).max(1);
    // Both pragmas answer with a row, so they are set and read back.
    conn.pragma_update_and_check(None, "journal_size_limit", WAL_LIMIT_BYTES, |r| {
        r.get::<_, i64>(0)
    })?;
    conn.pragma_update_and_check(None, "wal_autocheckpoint", pages, |r| r.get::<_, i64>(0))?;
    Ok(())
}

/// Reads the schema version recorded in the file.
pub fn user_version(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Brings the database to [`SCHEMA_VERSION`], then the `chat_kinds` table to
/// gaslamp's list of kinds. Refuses a file written by a newer gaslamp rather
/// than guessing.
pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let current = user_version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(refused(
            conn,
            format!(
                "schema version {current} is newer than this gaslamp understands ({SCHEMA_VERSION})"
            ),
        ));
    }
    if current == 0 {
        write_tx(conn, |tx| {
            tx.execute_batch(SCHEMA_SQL)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            Ok(())
        })?;
    } else {
        for step in STEPS.iter().filter(|step| step.version > current) {
            run_step(conn, step)?;
        }
    }
    sync_chat_kinds(conn, &our_chat_kinds())?;
    give_an_identity(conn)
}

/// The identity of the database `conn` holds (see `schema.sql`): a
/// random id drawn once for the file.
pub fn database_identity(conn: &Connection) -> StoreResult<String> {
    Ok(conn.query_row(
        "SELECT uuid FROM database_identity WHERE id = 1",
        [],
        |row| row.get(0),
    )?)
}

/// Draws the file's identity if it has none yet (a fresh file, or one just
/// migrated to version 7); writes nothing otherwise, so a file that has one
/// opens on a full disk.
fn give_an_identity(conn: &mut Connection) -> StoreResult<()> {
    let has: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM database_identity WHERE id = 1)",
        [],
        |row| row.get(0),
    )?;
    if has {
        return Ok(());
    }
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    write_tx(conn, |tx| {
        tx.execute(
            "INSERT OR IGNORE INTO database_identity (id, uuid, created_at) VALUES (1, ?1, ?2)",
            params![uuid, super::now_iso()],
        )?;
        Ok(())
    })
}

/// Runs one step in its own transaction with its version bump; a step that
/// rebuilds a table runs with foreign keys off, and they are on again after
/// it, whatever its outcome.
fn run_step(conn: &mut Connection, step: &Step) -> StoreResult<()> {
    if step.rebuilds {
        conn.pragma_update(None, "foreign_keys", false)?;
    }
    let done = write_tx(conn, |tx| {
        tx.execute_batch(step.sql)?;
        if let Some(code) = step.code {
            code(tx)?;
        }
        tx.pragma_update(None, "user_version", step.version)?;
        Ok(())
    });
    if step.rebuilds {
        conn.pragma_update(None, "foreign_keys", true)?;
    }
    done
}

/// A refusal of this file, naming it.
fn refused(conn: &Connection, reason: String) -> StoreError {
    StoreError::Open {
        path: conn.path().unwrap_or("").into(),
        reason,
    }
}

/// Version 5, after the rebuild and before its commit: fills `chat_kinds`
/// and checks every copied row against the table's foreign keys (the last
/// step of SQLite's procedure). A row that does not fit refuses the whole
/// migration, so the file stays as it was.
fn check_rebuilt_chat(tx: &Connection) -> StoreResult<()> {
    fill_chat_kinds(tx, &our_chat_kinds())?;
    let misfits: i64 = tx.query_row(
        "SELECT count(*) FROM pragma_foreign_key_check('chat_messages')",
        [],
        |r| r.get(0),
    )?;
    if misfits > 0 {
        return Err(refused(
            tx,
            format!(
                "{misfits} chat line(s) refer to a kind, character or account that does not \
                 exist; the file was left as it was"
            ),
        ));
    }
    Ok(())
}

/// Gaslamp's kinds of talk as `chat_kinds` holds them: name and privacy.
fn our_chat_kinds() -> Vec<(&'static str, bool)> {
    ChatKind::ALL
        .iter()
        .map(|kind| (kind.as_str(), kind.is_private()))
        .collect()
}

/// Brings `chat_kinds` in line with `kinds`, writing only when it differs. A
/// kind the table holds beyond them stays (old lines may be of it).
pub(crate) fn sync_chat_kinds(conn: &mut Connection, kinds: &[(&str, bool)]) -> StoreResult<()> {
    let stored: Vec<(String, bool)> = conn
        .prepare("SELECT kind, private FROM chat_kinds")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let current = kinds
        .iter()
        .all(|(kind, private)| stored.iter().any(|(k, p)| k == kind && p == private));
    if current {
        return Ok(());
    }
    write_tx(conn, |tx| fill_chat_kinds(tx, kinds))
}

/// Writes `kinds` into `chat_kinds` inside the caller's transaction.
fn fill_chat_kinds(tx: &Connection, kinds: &[(&str, bool)]) -> StoreResult<()> {
    let mut insert = tx.prepare(
        "INSERT INTO chat_kinds (kind, private) VALUES (?1, ?2) \
         ON CONFLICT (kind) DO UPDATE SET private = excluded.private",
    )?;
    for (kind, private) in kinds {
        insert.execute(params![kind, private])?;
    }
    Ok(())
}

/// Checks the file with SQLite's own `integrity_check`; `Ok(())` when it says "ok".
pub fn integrity_check(conn: &Connection) -> StoreResult<Result<(), String>> {
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
    Ok(if verdict == "ok" {
        Ok(())
    } else {
        Err(verdict)
    })
}

/// A fresh, migrated database in a temporary directory, with `seed` SQL run on
/// it (store unit tests).
#[cfg(test)]
pub(crate) fn test_db(seed: &str) -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut conn = open_connection(&dir.path().join("t.db")).expect("open");
    migrate(&mut conn).expect("migrate");
    conn.execute_batch(seed).expect("seed");
    (dir, conn)
}

/// A database as the frozen schema of version 5 made it (the kinds of talk
/// filled, as every opening did), then `seed`, for migration tests of later
/// steps.
#[cfg(test)]
pub(crate) fn version_5_db(seed: &str) -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut conn = open_connection(&dir.path().join("v5.db")).expect("open");
    conn.execute_batch(include_str!("../../tests/fixtures/schema/v5.sql"))
        .expect("version 5 schema");
    sync_chat_kinds(&mut conn, &our_chat_kinds()).expect("kinds");
    conn.execute_batch(seed).expect("seed");
    conn.pragma_update(None, "user_version", 5)
        .expect("version 5");
    (dir, conn)
}

/// The seed most store tests need: one world, `w`.
#[cfg(test)]
pub(crate) const ONE_WORLD: &str =
    "INSERT INTO worlds (id, name, registered_at, updated_at) VALUES ('w', 'W', '', '');";

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::types::Value;
    use std::collections::BTreeMap;

    /// The schema as it was at each older version, frozen.
    const SNAPSHOTS: [(i64, &str); 12] = [
        (1, include_str!("../../tests/fixtures/schema/v1.sql")),
        (2, include_str!("../../tests/fixtures/schema/v2.sql")),
        (3, include_str!("../../tests/fixtures/schema/v3.sql")),
        (4, include_str!("../../tests/fixtures/schema/v4.sql")),
        (5, include_str!("../../tests/fixtures/schema/v5.sql")),
        (6, include_str!("../../tests/fixtures/schema/v6.sql")),
        (7, include_str!("../../tests/fixtures/schema/v7.sql")),
        (8, include_str!("../../tests/fixtures/schema/v8.sql")),
        (9, include_str!("../../tests/fixtures/schema/v9.sql")),
        (10, include_str!("../../tests/fixtures/schema/v10.sql")),
        (11, include_str!("../../tests/fixtures/schema/v11.sql")),
        (12, include_str!("../../tests/fixtures/schema/v12.sql")),
    ];

    /// Rows every version since the first can hold: something in every table,
    /// a chat line of every kind the first version knew, ids with gaps.
    const OLD_ROWS: &str = "
        INSERT INTO worlds (id, name, registered_at, updated_at) VALUES ('w', 'W', 't0', 't0');
        INSERT INTO users (id, username, password_hash, role, is_guest, guest_expires_at,
                           created_at, last_login)
            VALUES (1, 'Ann', 'h1', 'player', 0, NULL, 't1', 't9'),
                   (4, 'Bo', 'h2', 'admin', 0, NULL, 't2', NULL),
                   (7, 'guest_00042', 'h3', 'player', 1, 't8', 't3', NULL);
        INSERT INTO characters (id, user_id, world_id, name, is_guest_created, created_at)
            VALUES (1, 1, 'w', 'Ann', 0, 't1'), (2, 4, 'w', 'Bo', 0, 't2'),
                   (5, 7, 'w', 'Wren', 1, 't3'), (6, NULL, 'w', 'Orphan', 0, 't3');
        INSERT INTO character_locations VALUES (1, 'w', 'z:a', 't4'), (2, 'w', 'z:b', 't4');
        INSERT INTO room_items (id, world_id, room, item_key, placed_at)
            VALUES (3, 'w', 'z:a', 'lamp', 't4');
        INSERT INTO character_items (id, character_id, world_id, item_key, acquired_at)
            VALUES (9, 1, 'w', 'key', 't4');
        INSERT INTO sessions (session_id, user_id, character_id, world_id, peer_address,
                              client_type, created_at, last_activity, expires_at)
            VALUES ('s1', 1, 1, 'w', '127.0.0.1:5000', 'Mudlet', 't5', 't5', 't6');
        INSERT INTO chat_messages (id, world_id, room, character_id, user_id,
                                   recipient_character_id, kind, message, created_at)
            VALUES (1, 'w', 'z:a', 1, 1, NULL, 'say', 'hello', 't7'),
                   (2, 'w', 'z:a', 2, 4, NULL, 'emote', 'waves', 't7'),
                   (3, 'w', 'z:a', 1, 1, 2, 'whisper', 'psst', 't7'),
                   (5, 'w', 'z:b', 2, 4, 1, 'tell', 'noted', 't7'),
                   (8, 'w', 'z:b', 5, 7, NULL, 'yell', 'oi', 't8'),
                   (13, 'w', 'z:a', NULL, NULL, NULL, 'system', 'Dawn.', 't8');
        INSERT INTO world_permissions (user_id, world_id, can_access, granted_by, granted_at)
            VALUES (1, 'w', 1, 4, 't8');
        INSERT INTO audit_log (id, actor_user_id, action, target, detail, created_at)
            VALUES (2, 4, 'grant', 'Ann', 'w', 't8');
    ";

    fn open(dir: &tempfile::TempDir, name: &str) -> Connection {
        open_connection(&dir.path().join(name)).expect("open")
    }

    /// A database as the frozen schema of `version` made it, with [`OLD_ROWS`].
    fn old_database(dir: &tempfile::TempDir, version: i64, schema: &str) -> Connection {
        let mut conn = open(dir, &format!("v{version}.db"));
        conn.execute_batch(schema).expect("old schema");
        if version >= 5 {
            // From version 5 on, every opening fills the kinds of talk.
            sync_chat_kinds(&mut conn, &our_chat_kinds()).expect("kinds");
        }
        conn.execute_batch(OLD_ROWS).expect("old rows");
        conn.pragma_update(None, "user_version", version)
            .expect("old version");
        conn
    }

    fn names(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(sql).expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("names")
    }

    fn tables(conn: &Connection) -> Vec<String> {
        names(
            conn,
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
    }

    fn columns(conn: &Connection, table: &str) -> Vec<String> {
        names(
            conn,
            &format!("SELECT name FROM pragma_table_info('{table}')"),
        )
    }

    /// Every row of every table, by table, each row as its named values (in
    /// the order the rows were made).
    fn all_rows(conn: &Connection) -> BTreeMap<String, Vec<BTreeMap<String, Value>>> {
        let mut all = BTreeMap::new();
        for table in tables(conn) {
            let columns = columns(conn, &table);
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
                .or_else(|_| conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1")))
                .expect("select");
            let rows = stmt
                .query_map([], |r| {
                    let mut row = BTreeMap::new();
                    for (i, column) in columns.iter().enumerate() {
                        row.insert(column.clone(), r.get::<_, Value>(i)?);
                    }
                    Ok(row)
                })
                .expect("rows")
                .collect::<Result<Vec<_>, _>>()
                .expect("rows");
            all.insert(table, rows);
        }
        all
    }

    /// The CHECK constraints in a table's SQL, whitespace made single.
    fn checks(sql: &str) -> Vec<String> {
        let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut found = Vec::new();
        let mut rest = flat.as_str();
        while let Some(at) = rest.find("CHECK (") {
            let tail = &rest[at + "CHECK ".len()..];
            let mut depth = 0;
            let end = tail
                .char_indices()
                .find_map(|(i, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    (depth == 0).then_some(i + 1)
                })
                .unwrap_or(tail.len());
            found.push(tail[..end].to_string());
            rest = &tail[end..];
        }
        found.sort();
        found
    }

    /// What a file's schema is made of, told apart from how it got there:
    /// each table's columns by name (ALTER TABLE appends where `schema.sql`
    /// may have put a column in the middle), CHECKs, foreign keys, indexes
    /// with their columns and collations, and whether it has a rowid.
    fn shape(conn: &Connection) -> BTreeMap<String, Vec<String>> {
        let mut shape = BTreeMap::new();
        for table in tables(conn) {
            let pragma = |sql: String| -> Vec<String> {
                let mut stmt = conn.prepare(&sql).expect("pragma");
                let width = stmt.column_count();
                let mut rows: Vec<String> = stmt
                    .query_map([], |r| {
                        let cells: Vec<String> = (0..width)
                            .map(|i| match r.get::<_, Value>(i) {
                                Ok(Value::Integer(n)) => n.to_string(),
                                Ok(Value::Text(text)) => text,
                                Ok(Value::Null) => "NULL".into(),
                                other => format!("{other:?}"),
                            })
                            .collect();
                        Ok(cells.join(" "))
                    })
                    .expect("rows")
                    .collect::<Result<_, _>>()
                    .expect("rows");
                rows.sort();
                rows
            };
            let sql: String = conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [&table],
                    |r| r.get(0),
                )
                .expect("table sql");
            let mut parts = pragma(format!(
                "SELECT 'column', name, type, \"notnull\", dflt_value, pk \
                 FROM pragma_table_info('{table}')"
            ));
            parts.extend(checks(&sql).into_iter().map(|c| format!("check {c}")));
            parts.extend(pragma(format!(
                "SELECT 'foreign key', \"from\", \"table\", \"to\", on_update, on_delete \
                 FROM pragma_foreign_key_list('{table}')"
            )));
            for index in names(
                conn,
                &format!("SELECT name FROM pragma_index_list('{table}')"),
            ) {
                parts.extend(pragma(format!(
                    "SELECT 'index', l.name, l.\"unique\", l.origin, l.partial, \
                     x.seqno, x.name, x.coll, x.\"desc\", x.key \
                     FROM pragma_index_list('{table}') l, pragma_index_xinfo('{index}') x \
                     WHERE l.name = '{index}'"
                )));
            }
            let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            parts.push(format!(
                "without rowid: {}",
                flat.ends_with("WITHOUT ROWID")
            ));
            parts.sort();
            shape.insert(table, parts);
        }
        let partial = names(
            conn,
            "SELECT name || ': ' || sql FROM sqlite_master WHERE type = 'index' \
             AND sql LIKE '% WHERE %' ORDER BY name",
        );
        shape.insert("partial indexes".into(), partial);
        shape
    }

    fn fresh(dir: &tempfile::TempDir) -> Connection {
        let mut conn = open(dir, "fresh.db");
        migrate(&mut conn).expect("migrate");
        conn
    }

    #[test]
    fn fresh_database_gets_every_table_the_version_and_the_kinds_of_talk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir, "sub/dir/g.db");
        migrate(&mut conn).expect("migrate");
        assert_eq!(user_version(&conn).expect("version"), SCHEMA_VERSION);
        assert_eq!(
            tables(&conn),
            [
                "aliases",
                "audit_log",
                "build_history",
                "channel_mutes",
                "channel_settings",
                "character_items",
                "character_locations",
                "characters",
                "chat_kinds",
                "chat_messages",
                "container_items",
                "database_identity",
                "door_states",
                "ignores",
                "item_placements",
                "login_addresses",
                "mail",
                "mail_sent",
                "npc_items",
                "npc_places",
                "placements_recorded",
                "room_items",
                "script_state",
                "sessions",
                "spill_replays",
                "users",
                "world_permissions",
                "worlds",
            ]
        );
        let kinds = names(
            &conn,
            "SELECT kind FROM chat_kinds WHERE private ORDER BY kind",
        );
        assert_eq!(kinds, ["tell", "whisper"]);
        let all = names(&conn, "SELECT kind FROM chat_kinds");
        assert_eq!(all.len(), ChatKind::ALL.len());
        let identity = database_identity(&conn).expect("identity");
        assert_eq!(identity.len(), 32, "{identity}");
        // Running it again is a no-op, not an error, and keeps the identity.
        migrate(&mut conn).expect("second migrate");
        assert_eq!(database_identity(&conn).expect("identity"), identity);
        let other = open(&dir, "other.db");
        let mut other = other;
        migrate(&mut other).expect("migrate another");
        assert_ne!(database_identity(&other).expect("identity"), identity);
    }

    #[test]
    fn every_frozen_schema_migrates_to_the_fresh_schema_keeping_every_row() {
        let dir = tempfile::tempdir().expect("tempdir");
        let want = shape(&fresh(&dir));
        for (version, schema) in SNAPSHOTS {
            let mut conn = old_database(&dir, version, schema);
            let before = all_rows(&conn);
            migrate(&mut conn).unwrap_or_else(|e| panic!("v{version}: {e}"));
            assert_eq!(user_version(&conn).expect("version"), SCHEMA_VERSION);
            let got = shape(&conn);
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>()
            );
            for (table, parts) in &want {
                assert_eq!(&got[table], parts, "v{version}: {table} after migrating");
            }
            let after = all_rows(&conn);
            for (table, rows) in &before {
                let Some(first) = rows.first() else {
                    // A table the old version had but left empty (the
                    // identity a later opening writes) has no rows to keep.
                    continue;
                };
                let kept: Vec<BTreeMap<String, Value>> = after[table]
                    .iter()
                    .map(|row| {
                        row.iter()
                            .filter(|(column, _)| first.contains_key(*column))
                            .map(|(c, v)| (c.clone(), v.clone()))
                            .collect()
                    })
                    .collect();
                assert_eq!(&kept, rows, "v{version}: the rows of {table}");
            }
            let misfits: i64 = conn
                .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })
                .expect("foreign key check");
            assert_eq!(misfits, 0, "v{version}");
            assert_eq!(integrity_check(&conn).expect("check"), Ok(()));
            let on: bool = conn
                .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
                .expect("foreign keys");
            assert!(on, "v{version}: foreign keys are on again");
            what_later_versions_added(&conn, version);
        }
    }

    /// The columns added since `version` hold what their step gave them.
    fn what_later_versions_added(conn: &Connection, version: i64) {
        let pairs = |sql: &str| -> Vec<(String, Value)> {
            let mut stmt = conn.prepare(sql).expect("prepare");
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
        };
        let transports = pairs("SELECT session_id, transport FROM sessions");
        assert_eq!(transports, [("s1".into(), Value::Text("plain".into()))]);
        let identity = database_identity(conn).unwrap_or_else(|e| panic!("v{version}: {e}"));
        assert_eq!(identity.len(), 32, "v{version}: an identity was drawn");
        let failures = pairs("SELECT username, failed_since_login FROM users");
        assert!(
            failures.iter().all(|(_, n)| *n == Value::Integer(0)),
            "v{version}: no failures told yet: {failures:?}"
        );
        if version < 3 {
            let colours = pairs("SELECT username, color FROM users WHERE color <> 1");
            assert!(colours.is_empty(), "colour is on until the player says");
        }
        if version < 10 {
            let described =
                pairs("SELECT name, description FROM characters WHERE description <> ''");
            assert!(described.is_empty(), "no character is described yet");
            let channelled =
                pairs("SELECT id, channel FROM chat_messages WHERE channel IS NOT NULL");
            assert!(channelled.is_empty(), "old talk is room talk");
            let left =
                pairs("SELECT username, left_game_at FROM users WHERE left_game_at IS NOT NULL");
            assert!(left.is_empty(), "nobody has left the game since version 10");
        }
        for (name, key) in pairs("SELECT username, name_key FROM users")
            .into_iter()
            .chain(pairs("SELECT name, name_key FROM characters"))
        {
            let want = crate::auth::names::name_key(&name);
            if version < 4 {
                assert_eq!(key, Value::Text(want), "{name}");
            }
        }
        // Version 8: a grant of a world is no grant to build in it.
        let builds = pairs(
            "SELECT u.username, p.can_build FROM world_permissions p \
             JOIN users u ON u.id = p.user_id",
        );
        assert_eq!(builds, [("Ann".to_string(), Value::Integer(0))]);
    }

    #[test]
    fn version_4_gives_names_look_alike_keys_the_oldest_keeping_its_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir, "g.db");
        conn.execute_batch(SNAPSHOTS[2].1).expect("v3 schema");
        conn.pragma_update(None, "user_version", 3).expect("v3");
        conn.execute_batch(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES
                 (1, 'Alice', 'x', ''), (2, 'A1ice', 'x', ''), (3, 'Bob', 'x', '');
             INSERT INTO worlds (id, name, registered_at, updated_at) VALUES
                 ('w', 'W', '', ''), ('v', 'V', '', '');
             INSERT INTO characters (id, world_id, name, created_at) VALUES
                 (1, 'w', 'Ålice', ''), (2, 'w', 'Alice', ''), (3, 'v', 'Alice', '');",
        )
        .expect("seed");
        migrate(&mut conn).expect("migrate");
        assert_eq!(user_version(&conn).expect("version"), SCHEMA_VERSION);
        let keys = |sql: &str| -> Vec<Option<String>> {
            let mut stmt = conn.prepare(sql).expect("prepare");
            stmt.query_map([], |r| r.get(0))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
        };
        let alice = Some(crate::auth::names::name_key("Alice"));
        assert_eq!(
            keys("SELECT name_key FROM users ORDER BY id"),
            [alice.clone(), None, Some("bob".into())]
        );
        assert_eq!(
            keys("SELECT name_key FROM characters ORDER BY id"),
            [alice.clone(), None, alice]
        );
        let look_alike = conn.execute(
            "INSERT INTO users (username, name_key, password_hash, created_at) \
             VALUES ('AIice', ?1, 'x', '')",
            [crate::auth::names::name_key("AIice")],
        );
        assert!(look_alike.is_err(), "the key is unique from now on");
    }

    #[test]
    fn a_chat_line_the_rebuild_cannot_keep_leaves_the_file_as_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = old_database(&dir, 4, SNAPSHOTS[3].1);
        // Only a file edited by hand (its CHECK switched off) can hold this.
        conn.execute_batch(
            "PRAGMA ignore_check_constraints = ON;
             INSERT INTO chat_messages (world_id, room, kind, message, created_at)
                 VALUES ('w', 'z:a', 'shout', 'HEY', 't9');
             PRAGMA ignore_check_constraints = OFF;",
        )
        .expect("a line of no known kind");
        let before = all_rows(&conn);
        let sql_before = names(
            &conn,
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name",
        );
        let refused = migrate(&mut conn).expect_err("refused");
        assert!(refused.to_string().contains("1 chat line(s)"), "{refused}");
        assert_eq!(user_version(&conn).expect("version"), 4);
        assert_eq!(all_rows(&conn), before);
        assert_eq!(
            names(
                &conn,
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
            ),
            sql_before
        );
        let on: bool = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .expect("foreign keys");
        assert!(on, "foreign keys are on again after a refused rebuild");
    }

    #[test]
    fn a_new_kind_of_talk_is_stored_without_a_migration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = fresh(&dir);
        conn.execute_batch(ONE_WORLD).expect("world");
        let insert = |conn: &Connection, kind: &str| {
            conn.execute(
                "INSERT INTO chat_messages (world_id, room, kind, message, created_at) \
                 VALUES ('w', 'z:a', ?1, 'text', 't')",
                [kind],
            )
        };
        assert!(
            insert(&conn, "chant").is_err(),
            "the table lists no such kind yet"
        );
        // What opening the file does with gaslamp's list, here with one more.
        let mut kinds = our_chat_kinds();
        kinds.push(("chant", false));
        sync_chat_kinds(&mut conn, &kinds).expect("sync");
        insert(&conn, "chant").expect("the new kind is stored");
        assert_eq!(user_version(&conn).expect("version"), SCHEMA_VERSION);
        assert!(
            insert(&conn, "shout").is_err(),
            "an unlisted kind is refused"
        );
    }

    #[test]
    fn an_unknown_kind_is_refused_by_the_rust_gate() {
        for kind in ChatKind::ALL {
            assert_eq!(kind.as_str().parse::<ChatKind>(), Ok(*kind));
        }
        assert_eq!(
            "shout".parse::<ChatKind>(),
            Err(crate::store::chat::UnknownChatKind("shout".into()))
        );
        assert!("Say".parse::<ChatKind>().is_err(), "names are exact");
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir, "g.db");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("set version");
        assert!(matches!(migrate(&mut conn), Err(StoreError::Open { .. })));
    }

    /// Issue 16: the WAL grew to the default autocheckpoint's 4 MiB on a
    /// 4 MiB disk. Every connection now checkpoints sooner and truncates what
    /// the WAL keeps on disk.
    #[test]
    fn connections_keep_the_wal_small() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open(&dir, "g.db");
        let limit: i64 = conn
            .query_row("PRAGMA journal_size_limit", [], |r| r.get(0))
            .expect("limit");
        let pages: i64 = conn
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .expect("autocheckpoint");
        let page_size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("page size");
        assert_eq!(limit, WAL_LIMIT_BYTES);
        assert!(
            pages * page_size <= WAL_LIMIT_BYTES,
            "{pages} pages of {page_size}"
        );
    }

    #[test]
    fn connections_use_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open(&dir, "g.db");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("mode");
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .expect("fk");
        assert_eq!(mode, "wal");
        assert_eq!(fk, 1);
    }
}
