//! Opening connections and keeping the schema current.
//!
//! `schema.sql` (at the repository root, embedded here) is the whole current schema
//! and is applied to an empty database. `PRAGMA user_version` records which version a
//! file holds; [`MIGRATIONS`] lists the steps that bring an older file forward, each
//! run in its own transaction together with the version bump.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::{StoreError, StoreResult, write_tx};

/// The schema as shipped: the contents of `schema.sql`.
pub const SCHEMA_SQL: &str = include_str!("../../schema.sql");

/// Version number of [`SCHEMA_SQL`].
pub const SCHEMA_VERSION: i64 = 5;

/// Upgrade steps: `(version reached, SQL)`, in order. A database at version N runs
/// every step whose version is above N. Version 1 is the initial schema; each
/// change to `schema.sql` since adds its step here too.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        2,
        "ALTER TABLE sessions ADD COLUMN transport TEXT NOT NULL DEFAULT 'plain';",
    ),
    (
        3,
        "ALTER TABLE users ADD COLUMN color INTEGER NOT NULL DEFAULT 1;",
    ),
    (
        4,
        "ALTER TABLE users ADD COLUMN name_key TEXT; \
         ALTER TABLE characters ADD COLUMN name_key TEXT;",
    ),
    (
        5,
        "CREATE TABLE IF NOT EXISTS item_placements (\
             world_id TEXT NOT NULL REFERENCES worlds (id), room TEXT NOT NULL, \
             item_key TEXT NOT NULL, ordinal INTEGER NOT NULL, placed_at TEXT NOT NULL, \
             PRIMARY KEY (world_id, room, item_key, ordinal)); \
         CREATE TABLE IF NOT EXISTS placements_recorded (\
             world_id TEXT PRIMARY KEY REFERENCES worlds (id), since TEXT NOT NULL);",
    ),
];

/// The part of a migration step that SQL alone cannot do, run after the step's
/// SQL in the same transaction.
fn migration_code(version: i64) -> Option<fn(&Connection) -> StoreResult<()>> {
    match version {
        4 => Some(fill_name_keys),
        _ => None,
    }
}

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
    Ok(conn)
}

/// Reads the schema version recorded in the file.
pub fn user_version(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Brings the database to [`SCHEMA_VERSION`]. Refuses a file written by a newer
/// gaslamp rather than guessing.
pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let current = user_version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Open {
            path: conn.path().unwrap_or("").into(),
            reason: format!(
                "schema version {current} is newer than this gaslamp understands ({SCHEMA_VERSION})"
            ),
        });
    }
    if current == 0 {
        return write_tx(conn, |tx| {
            tx.execute_batch(SCHEMA_SQL)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            Ok(())
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        write_tx(conn, |tx| {
            tx.execute_batch(sql)?;
            if let Some(code) = migration_code(*version) {
                code(tx)?;
            }
            tx.pragma_update(None, "user_version", version)?;
            Ok(())
        })?;
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

/// The seed most store tests need: one world, `w`.
#[cfg(test)]
pub(crate) const ONE_WORLD: &str =
    "INSERT INTO worlds (id, name, registered_at, updated_at) VALUES ('w', 'W', '', '');";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_gets_every_table_and_the_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open_connection(&dir.path().join("sub/dir/g.db")).expect("open");
        migrate(&mut conn).expect("migrate");
        assert_eq!(user_version(&conn).expect("version"), SCHEMA_VERSION);
        for table in [
            "users",
            "characters",
            "character_locations",
            "character_items",
            "room_items",
            "sessions",
            "chat_messages",
            "worlds",
            "world_permissions",
            "audit_log",
        ] {
            let n: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .expect("query");
            assert_eq!(n, 1, "table {table} missing");
        }
        // Running it again is a no-op, not an error.
        migrate(&mut conn).expect("second migrate");
    }

    #[test]
    fn a_version_1_file_is_migrated_to_the_current_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open_connection(&dir.path().join("g.db")).expect("open");
        let version_2 = version_2_schema();
        let version_1 = version_2.replace("    transport     TEXT NOT NULL DEFAULT 'plain',\n", "");
        assert_ne!(
            version_1, version_2,
            "the v1 schema is derived by removing the column"
        );
        conn.execute_batch(&version_1).expect("v1 schema");
        conn.pragma_update(None, "user_version", 1).expect("v1");
        migrate(&mut conn).expect("migrate");
        assert_eq!(user_version(&conn).expect("version"), SCHEMA_VERSION);
        let transport: String = conn
            .query_row(
                "INSERT INTO users (username, password_hash, created_at) VALUES ('a', 'x', '') \
                 RETURNING 'plain'",
                [],
                |r| r.get(0),
            )
            .expect("user");
        conn.execute(
            "INSERT INTO sessions (session_id, user_id, peer_address, created_at, \
             last_activity, expires_at) VALUES ('s', 1, 'p', '', '', '')",
            [],
        )
        .expect("session");
        let stored: String = conn
            .query_row("SELECT transport FROM sessions", [], |r| r.get(0))
            .expect("transport");
        assert_eq!(stored, transport);
        let color: i64 = conn
            .query_row("SELECT color FROM users", [], |r| r.get(0))
            .expect("color column from version 3");
        assert_eq!(color, 1, "colour is on until the player says");
    }

    /// The schema of version 2: today's without what version 4 added.
    fn version_2_schema() -> String {
        let lines: Vec<&str> = SCHEMA_SQL
            .lines()
            .filter(|line| !line.contains("name_key"))
            .filter(|line| !line.contains("    color            INTEGER"))
            .collect();
        lines.join("\n") + "\n"
    }

    #[test]
    fn version_4_gives_names_look_alike_keys_the_oldest_keeping_its_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open_connection(&dir.path().join("g.db")).expect("open");
        conn.execute_batch(&version_2_schema()).expect("v2 schema");
        conn.pragma_update(None, "user_version", 2).expect("v2");
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
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open_connection(&dir.path().join("g.db")).expect("open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("set version");
        assert!(matches!(migrate(&mut conn), Err(StoreError::Open { .. })));
    }

    #[test]
    fn connections_use_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_connection(&dir.path().join("g.db")).expect("open");
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
