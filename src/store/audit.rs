//! The audit log: one row per administrative action, who did it to whom.

use rusqlite::{Connection, params};

use super::{StoreResult, now_iso};

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The acting account; `None` for the operator's shell.
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// Writes an audit row inside the caller's transaction.
pub(super) fn record(conn: &Connection, entry: &AuditEntry) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO audit_log (actor_user_id, action, target, detail, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            entry.actor_user_id,
            entry.action,
            entry.target,
            entry.detail,
            now_iso()
        ],
    )?;
    Ok(())
}
