//! What the admin commands read and change beyond single accounts: tombstones,
//! world grants, chat pruning, guest clean-up, and read-only table browsing.
//!
//! Table browsing takes a table name typed by an admin. It is only ever matched
//! against [`BROWSABLE_TABLES`]; the SQL is built from the allowlisted constant,
//! never from the typed text, and limit and offset are bound parameters.

use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Transaction, params};

use super::audit::{self, AuditEntry};
use super::{StoreError, StoreResult, iso, now_iso, write_tx};

/// Tables an admin may browse with `/rows`.
pub const BROWSABLE_TABLES: &[&str] = &[
    "audit_log",
    "character_items",
    "character_locations",
    "characters",
    "chat_messages",
    "room_items",
    "sessions",
    "users",
    "world_permissions",
    "worlds",
];

/// Columns never shown, whatever the table.
const HIDDEN_COLUMNS: &[&str] = &["password_hash", "email_hash"];

/// Rows of a table as text, with their column names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The allowlisted name matching `wanted`, if any.
pub fn browsable(wanted: &str) -> Option<&'static str> {
    BROWSABLE_TABLES
        .iter()
        .copied()
        .find(|t| t.eq_ignore_ascii_case(wanted))
}

/// Each browsable table with its row count.
pub fn table_counts(conn: &Connection) -> StoreResult<Vec<(&'static str, i64)>> {
    BROWSABLE_TABLES
        .iter()
        .map(|table| {
            let sql = format!("SELECT count(*) FROM {table}");
            let n: i64 = conn.query_row(&sql, [], |r| r.get(0))?;
            Ok((*table, n))
        })
        .collect()
}

/// Reads rows of an allowlisted table, oldest first, as text.
pub fn table_rows(
    conn: &Connection,
    table: &'static str,
    limit: i64,
    offset: i64,
) -> StoreResult<TableRows> {
    debug_assert!(BROWSABLE_TABLES.contains(&table));
    let sql = format!("SELECT * FROM {table} ORDER BY rowid LIMIT ?1 OFFSET ?2");
    let mut stmt = conn.prepare(&sql)?;
    let columns: Vec<String> = stmt.column_names().map(str::to_string).collect();
    let hidden: Vec<bool> = columns
        .iter()
        .map(|c| HIDDEN_COLUMNS.contains(&c.as_str()))
        .collect();
    let rows = stmt.query_map(params![limit, offset], |row| {
        (0..hidden.len())
            .map(|i| {
                Ok(if hidden[i] {
                    "(hidden)".to_string()
                } else {
                    value_text(row.get_ref(i)?)
                })
            })
            .collect::<rusqlite::Result<Vec<String>>>()
    })?;
    Ok(TableRows {
        columns,
        rows: rows.collect::<Result<_, _>>()?,
    })
}

fn value_text(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(x) => x.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => format!("<{} bytes>", b.len()),
    }
}

/// One stored line of talk, for `/chatlog`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    pub created_at: String,
    pub world_id: String,
    pub room: String,
    pub kind: String,
    pub speaker: Option<String>,
    pub recipient: Option<String>,
    pub message: String,
}

/// The latest `limit` chat lines of every room, oldest first.
pub fn recent_chat(conn: &Connection, limit: i64) -> StoreResult<Vec<ChatLine>> {
    let mut stmt = conn.prepare(
        "SELECT m.created_at, m.world_id, m.room, m.kind, s.name, r.name, m.message \
         FROM chat_messages m \
         LEFT JOIN characters s ON s.id = m.character_id \
         LEFT JOIN characters r ON r.id = m.recipient_character_id \
         ORDER BY m.id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(ChatLine {
            created_at: r.get(0)?,
            world_id: r.get(1)?,
            room: r.get(2)?,
            kind: r.get(3)?,
            speaker: r.get(4)?,
            recipient: r.get(5)?,
            message: r.get(6)?,
        })
    })?;
    let mut lines: Vec<ChatLine> = rows.collect::<Result<_, _>>()?;
    lines.reverse();
    Ok(lines)
}

/// Runs `change` and writes its audit row in one `BEGIN IMMEDIATE` transaction:
/// either both are stored or neither is.
pub fn audited<T>(
    conn: &mut Connection,
    entry: &AuditEntry,
    change: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    write_tx(conn, |tx| {
        let value = change(tx)?;
        audit::record(tx, entry)?;
        Ok(value)
    })
}

/// Deletes chat older than `before`; returns how many lines went.
pub fn prune_chat(conn: &Connection, before: DateTime<Utc>) -> StoreResult<usize> {
    Ok(conn.execute(
        "DELETE FROM chat_messages WHERE created_at < ?1",
        [iso(before)],
    )?)
}

/// Tombstones an account: login refused from now on, its characters kept but
/// unlinked, its session rows gone.
pub fn tombstone(conn: &Connection, user_id: i64) -> StoreResult<()> {
    let n = conn.execute(
        "UPDATE users SET tombstoned_at = ?2, is_active = 0 WHERE id = ?1 \
         AND tombstoned_at IS NULL",
        params![user_id, now_iso()],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound("account"));
    }
    unlink_and_log_out(conn, user_id)
}

/// Unlinks an account's characters (they are kept) and drops its session rows.
fn unlink_and_log_out(conn: &Connection, user_id: i64) -> StoreResult<()> {
    conn.execute(
        "UPDATE characters SET user_id = NULL WHERE user_id = ?1",
        [user_id],
    )?;
    conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
    Ok(())
}

/// Grants (`true`) or revokes (`false`) an account's access to a world.
pub fn set_world_access(
    conn: &Connection,
    user_id: i64,
    world_id: &str,
    granted_by: i64,
    allow: bool,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO world_permissions (user_id, world_id, can_access, granted_by, granted_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, world_id) DO UPDATE SET \
         can_access = excluded.can_access, granted_by = excluded.granted_by, \
         granted_at = excluded.granted_at",
        params![user_id, world_id, allow, granted_by, now_iso()],
    )?;
    Ok(())
}

/// Guest accounts whose time is up: (id, name).
pub fn expired_guests(conn: &Connection, now: DateTime<Utc>) -> StoreResult<Vec<(i64, String)>> {
    let mut stmt = conn
        .prepare("SELECT id, username FROM users WHERE is_guest = 1 AND guest_expires_at <= ?1")?;
    let rows = stmt.query_map([iso(now)], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes an expired guest account: characters unlinked (kept), sessions and
/// grants removed, the account row deleted.
pub fn delete_guest(conn: &mut Connection, user_id: i64) -> StoreResult<()> {
    write_tx(conn, |tx| {
        unlink_and_log_out(tx, user_id)?;
        tx.execute(
            "DELETE FROM users WHERE id = ?1 AND is_guest = 1",
            [user_id],
        )?;
        Ok(())
    })
}

/// Of the given accounts, those that may no longer be logged in (banned,
/// tombstoned or deleted).
pub fn unwelcome_accounts(conn: &Connection, user_ids: &[i64]) -> StoreResult<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT count(*) FROM users WHERE id = ?1 AND is_active = 1 AND tombstoned_at IS NULL",
    )?;
    let mut unwelcome = Vec::new();
    for &id in user_ids {
        let ok: i64 = stmt.query_row([id], |r| r.get(0))?;
        if ok == 0 {
            unwelcome.push(id);
        }
    }
    Ok(unwelcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audited_change_and_its_row_commit_together_or_not_at_all() {
        let (_dir, mut conn) = crate::store::schema::test_db(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (1, 'a', 'x', '')",
        );
        let entry = AuditEntry {
            actor_user_id: None,
            action: "ban".into(),
            target: Some("a".into()),
            detail: None,
        };
        let count = |conn: &Connection| -> i64 {
            conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
                .expect("count")
        };
        let missing = audited(&mut conn, &entry, |tx| {
            crate::store::accounts::update_active_in(tx, 99, false)
        });
        assert!(matches!(missing, Err(StoreError::NotFound(_))));
        assert_eq!(count(&conn), 0);
        audited(&mut conn, &entry, |tx| {
            crate::store::accounts::update_active_in(tx, 1, false)
        })
        .expect("ban");
        assert_eq!(count(&conn), 1);
    }

    #[test]
    fn only_allowlisted_tables_are_browsable() {
        assert_eq!(browsable("USERS"), Some("users"));
        assert_eq!(browsable("users; DROP TABLE users"), None);
        assert_eq!(browsable("sqlite_master"), None);
    }
}
