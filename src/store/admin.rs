//! What the admin commands read beyond single accounts, the audit gate every
//! admin command passes, and the upkeep job's clean-ups (expired guests); plus
//! the in-transaction steps of tombstoning and world grants that
//! `accounts::Accounts::change` uses.
//!
//! Table browsing takes a table name typed by an admin. It is only ever matched
//! against [`BROWSABLE_TABLES`]; the SQL is built from the allowlisted constant,
//! never from the typed text, and limit and offset are bound parameters.

use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};

use super::accounts::unlink_and_log_out;
use super::audit::{self, AuditEntry};
use super::refusal::{Actor, ChangeRefused, acting_account, refusable};
use super::{Store, StoreResult, iso, write_tx};

/// The typed front for the admin's views and upkeep (see [`Store::admin`]).
pub struct Admin<'s> {
    store: &'s Store,
}

impl<'s> Admin<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Admin { store }
    }

    /// The gate of an admin command that changes no account: in one
    /// transaction the actor's role is read fresh (a demoted or banned admin is
    /// refused) and the audit row is written. The command acts only after.
    pub async fn authorize(&self, actor: Actor, entry: AuditEntry) -> Result<(), ChangeRefused> {
        refusable(self.store, move |tx| {
            let acting = acting_account(tx, actor)?;
            let entry = AuditEntry {
                actor_user_id: acting.map(|a| a.id),
                ..entry
            };
            audit::record(tx, &entry)?;
            Ok(())
        })
        .await
    }

    /// Each browsable table with its row count.
    pub async fn table_counts(&self) -> StoreResult<Vec<(&'static str, i64)>> {
        self.store.call(|db| table_counts(db)).await
    }

    /// Rows of an allowlisted table (see [`browsable`]), oldest first, as text.
    pub async fn table_rows(
        &self,
        table: &'static str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<TableRows> {
        self.store
            .call(move |db| table_rows(db, table, limit, offset))
            .await
    }

    /// Guest accounts whose time is up: (id, name).
    pub async fn expired_guests(&self, now: DateTime<Utc>) -> StoreResult<Vec<(i64, String)>> {
        self.store.call(move |db| expired_guests(db, now)).await
    }

    /// Deletes an expired guest account: characters unlinked (kept), sessions
    /// and grants removed, the account row deleted.
    pub async fn delete_guest(&self, user_id: i64) -> StoreResult<()> {
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    unlink_and_log_out(tx, user_id)?;
                    tx.execute(
                        "DELETE FROM users WHERE id = ?1 AND is_guest = 1",
                        [user_id],
                    )?;
                    Ok(())
                })
            })
            .await
    }
}

/// Tables an admin may browse with `/rows`.
pub const BROWSABLE_TABLES: &[&str] = &[
    "audit_log",
    "build_history",
    "character_items",
    "character_locations",
    "characters",
    "chat_kinds",
    "chat_messages",
    "container_items",
    "door_states",
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
fn table_counts(conn: &Connection) -> StoreResult<Vec<(&'static str, i64)>> {
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
fn table_rows(
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

/// Guest accounts whose time is up: (id, name).
fn expired_guests(conn: &Connection, now: DateTime<Utc>) -> StoreResult<Vec<(i64, String)>> {
    let mut stmt = conn
        .prepare("SELECT id, username FROM users WHERE is_guest = 1 AND guest_expires_at <= ?1")?;
    let rows = stmt.query_map([iso(now)], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::store::test_store;

    #[tokio::test]
    async fn the_gate_refuses_an_actor_without_the_role_and_writes_nothing() {
        let (_dir, store, user_id) = test_store("ada").await;
        let entry = AuditEntry {
            actor_user_id: None,
            action: "wall".into(),
            target: None,
            detail: None,
        };
        let as_admin = Actor::Account {
            user_id,
            needs: Role::Admin,
        };
        let refused = store.admin().authorize(as_admin, entry.clone()).await;
        assert!(
            matches!(refused, Err(ChangeRefused::NotAllowed)),
            "{refused:?}"
        );
        let as_player = Actor::Account {
            user_id,
            needs: Role::Player,
        };
        store
            .admin()
            .authorize(as_player, entry)
            .await
            .expect("allowed");
        let rows: Vec<(Option<i64>, String)> = store
            .call(|db| {
                let mut stmt = db.prepare("SELECT actor_user_id, action FROM audit_log")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .expect("rows");
        assert_eq!(rows, [(Some(user_id), "wall".to_string())]);
    }

    #[test]
    fn only_allowlisted_tables_are_browsable() {
        assert_eq!(browsable("USERS"), Some("users"));
        assert_eq!(browsable("users; DROP TABLE users"), None);
        assert_eq!(browsable("sqlite_master"), None);
    }
}
