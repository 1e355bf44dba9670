//! Session rows: one per logged-in connection, from login until the connection
//! ends. The registry in memory says who is online; these rows mirror it so an
//! operator (or `/sessions`) can see the same in the database.
//!
//! A row is opened by [`Sessions::open`], which is also the login's last check:
//! in the same transaction it reads the account fresh (banned, deleted, an
//! expired guest are refused), notes the login time and writes the row. A ban
//! committed a moment earlier is therefore always seen. While the disk refuses
//! that write, [`Sessions::may_open`] makes the same checks by reading, and the
//! row goes through the batching writer instead ([`NewSession::queued`]).

use chrono::{Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::writer::SessionOpen;
use super::{Store, StoreError, StoreResult, iso, now_iso, write_tx};
use crate::auth::Role;

/// The facts recorded when a connection logs in.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub session_id: String,
    pub user_id: i64,
    pub peer_address: String,
    pub client_type: String,
    /// How the connection reached us: `plain`, `tls`, `websocket`.
    pub transport: String,
    pub ttl: Duration,
}

/// Why a login was refused at its last step.
#[derive(Debug, thiserror::Error)]
pub enum OpenRefused {
    /// With the reason the ban was given, if any (from its audit row).
    #[error("the account is banned")]
    Banned { reason: Option<String> },
    #[error("the account was deleted")]
    Deleted,
    #[error("the guest account has expired")]
    GuestExpired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The account as it stood when its session was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    pub role: Role,
}

/// The typed front for session rows (see [`Store::sessions`]).
pub struct Sessions<'s> {
    store: &'s Store,
}

impl<'s> Sessions<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Sessions { store }
    }

    /// Opens a session for an account that proved who it is, if it may still log
    /// in: one transaction reads the account, refuses a ban, a deletion or an
    /// expired guest, sets `last_login` and writes the row.
    pub async fn open(&self, session: NewSession) -> Result<Opened, OpenRefused> {
        self.store
            .call(move |db| write_tx(db, |tx| Ok(open_in(tx, &session))))
            .await?
    }

    /// The checks of [`Sessions::open`] alone, read without writing: for a
    /// login while the disk refuses the row, which then goes through the
    /// writer (see [`NewSession::queued`]). A ban committed before this
    /// read is seen by it; one committed later finds the session in the
    /// registry, as with `open`.
    pub async fn may_open(&self, user_id: i64) -> Result<Opened, OpenRefused> {
        self.store
            .call(move |db| Ok(may_open_in(db, user_id, Utc::now())))
            .await?
    }

    /// Names the character and world the session plays, or clears them (`None`).
    pub async fn attach(
        &self,
        session_id: &str,
        character: Option<(i64, &str)>,
    ) -> StoreResult<()> {
        let session_id = session_id.to_string();
        let character = character.map(|(id, world)| (id, world.to_string()));
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    let character = character.as_ref().map(|(id, w)| (*id, w.as_str()));
                    attach_character_in(tx, &session_id, character)
                })
            })
            .await
    }

    /// Deletes one connection's row, noting in the same transaction that its
    /// account left the game now (its next channel catch-up counts from
    /// here); false if it was already gone.
    pub async fn close(&self, session_id: &str) -> StoreResult<bool> {
        let session_id = session_id.to_string();
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    tx.execute(
                        "UPDATE users SET left_game_at = ?2 \
                         WHERE id = (SELECT user_id FROM sessions WHERE session_id = ?1)",
                        rusqlite::params![session_id, super::now_iso()],
                    )?;
                    Ok(tx.execute("DELETE FROM sessions WHERE session_id = ?1", [session_id])? > 0)
                })
            })
            .await
    }

    /// Deletes every row. At start-up no connection is alive, so every row left
    /// is from a crash or a kill; at the end of a shutdown none should be left.
    pub async fn remove_all(&self) -> StoreResult<usize> {
        self.store
            .call(|db| write_tx(db, |tx| Ok(tx.execute("DELETE FROM sessions", [])?)))
            .await
    }

    /// Deletes every row but those of `kept` (the sessions an upgrade's new
    /// image takes over); returns how many went.
    pub async fn remove_all_but(&self, kept: Vec<String>) -> StoreResult<usize> {
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    tx.execute_batch("CREATE TEMP TABLE IF NOT EXISTS kept_sessions(id TEXT PRIMARY KEY); DELETE FROM kept_sessions;")?;
                    {
                        let mut keep = tx.prepare("INSERT OR IGNORE INTO kept_sessions(id) VALUES (?1)")?;
                        for id in &kept {
                            keep.execute([id])?;
                        }
                    }
                    let removed = tx.execute(
                        "DELETE FROM sessions WHERE session_id NOT IN (SELECT id FROM kept_sessions)",
                        [],
                    )?;
                    tx.execute("DELETE FROM kept_sessions", [])?;
                    Ok(removed)
                })
            })
            .await
    }

    /// Deletes rows whose expiry has passed; returns their ids (the connections
    /// behind them, if any, are closed by the caller).
    pub async fn purge_expired(&self) -> StoreResult<Vec<String>> {
        self.store
            .call(|db| {
                write_tx(db, |tx| {
                    let mut stmt = tx.prepare(
                        "DELETE FROM sessions WHERE expires_at <= ?1 RETURNING session_id",
                    )?;
                    let ids = stmt.query_map([now_iso()], |r| r.get(0))?;
                    Ok(ids.collect::<Result<_, _>>()?)
                })
            })
            .await
    }

    /// How many session rows exist.
    pub async fn count(&self) -> StoreResult<i64> {
        self.store
            .call(|db| Ok(db.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))?))
            .await
    }
}

/// The account facts the last login check needs.
struct Standing {
    active: bool,
    deleted: bool,
    guest_expires_at: Option<String>,
    role: Role,
}

impl NewSession {
    /// The row as the writer writes it, opened now (with the account's last
    /// login), when the store's own connection could not.
    pub fn queued(&self) -> SessionOpen {
        let now = Utc::now();
        SessionOpen {
            session_id: self.session_id.clone(),
            user_id: self.user_id,
            peer_address: self.peer_address.clone(),
            client_type: self.client_type.clone(),
            transport: self.transport.clone(),
            opened_at: iso(now),
            expires_at: iso(now + self.ttl),
        }
    }
}

fn open_in(tx: &Connection, session: &NewSession) -> Result<Opened, OpenRefused> {
    let now = Utc::now();
    let opened = may_open_in(tx, session.user_id, now)?;
    tx.execute(
        "UPDATE users SET last_login = ?2 WHERE id = ?1",
        params![session.user_id, iso(now)],
    )
    .map_err(StoreError::from)?;
    tx.execute(
        "INSERT INTO sessions (session_id, user_id, peer_address, client_type, transport, \
         created_at, last_activity, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
        params![
            session.session_id,
            session.user_id,
            session.peer_address,
            session.client_type,
            session.transport,
            iso(now),
            iso(now + session.ttl)
        ],
    )
    .map_err(StoreError::from)?;
    Ok(opened)
}

/// Whether the account may still log in at `now`: not banned, deleted, or
/// an expired guest.
fn may_open_in(
    tx: &Connection,
    user_id: i64,
    now: chrono::DateTime<Utc>,
) -> Result<Opened, OpenRefused> {
    let standing = tx
        .query_row(
            "SELECT is_active, tombstoned_at IS NOT NULL, \
             CASE WHEN is_guest = 1 THEN guest_expires_at END, role FROM users WHERE id = ?1",
            [user_id],
            |r| {
                let role: String = r.get(3)?;
                Ok(Standing {
                    active: r.get(0)?,
                    deleted: r.get(1)?,
                    guest_expires_at: r.get(2)?,
                    // The CHECK constraint keeps the column to the four names.
                    role: role.parse().unwrap_or(Role::Player),
                })
            },
        )
        .optional()
        .map_err(StoreError::from)?;
    match standing {
        None => Err(OpenRefused::Deleted),
        Some(s) if s.deleted => Err(OpenRefused::Deleted),
        Some(s) if !s.active => Err(OpenRefused::Banned {
            reason: ban_reason(tx, user_id)?,
        }),
        Some(s)
            if s.guest_expires_at
                .as_deref()
                .is_some_and(|at| at <= iso(now).as_str()) =>
        {
            Err(OpenRefused::GuestExpired)
        }
        Some(s) => Ok(Opened { role: s.role }),
    }
}

/// The reason of an account's latest ban, as its audit row recorded it.
fn ban_reason(tx: &Connection, user_id: i64) -> Result<Option<String>, OpenRefused> {
    let reason: Option<Option<String>> = tx
        .query_row(
            "SELECT a.detail FROM audit_log a JOIN users u ON u.username = a.target \
             WHERE u.id = ?1 AND a.action IN ('ban', 'cli.ban') ORDER BY a.id DESC LIMIT 1",
            [user_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::from)?;
    Ok(reason.flatten())
}

/// Binds the character and world a session chose (or clears them with `None`),
/// inside the caller's transaction.
pub(super) fn attach_character_in(
    conn: &Connection,
    session_id: &str,
    character: Option<(i64, &str)>,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE sessions SET character_id = ?2, world_id = ?3, last_activity = ?4 \
         WHERE session_id = ?1",
        params![
            session_id,
            character.map(|c| c.0),
            character.map(|c| c.1),
            now_iso()
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    fn row(id: &str, user_id: i64) -> NewSession {
        NewSession {
            session_id: id.into(),
            user_id,
            peer_address: "127.0.0.1:5".into(),
            client_type: "unknown".into(),
            transport: "plain".into(),
            ttl: Duration::hours(1),
        }
    }

    #[tokio::test]
    async fn session_rows_come_and_go() {
        let (_dir, store, user_id) = test_store("alice").await;
        let sessions = store.sessions();
        sessions.open(row("s1", user_id)).await.expect("open");
        assert_eq!(sessions.count().await.expect("count"), 1);
        assert!(sessions.close("s1").await.expect("close"));
        assert!(!sessions.close("s1").await.expect("close again"));
        sessions.open(row("s1", user_id)).await.expect("open");
        assert_eq!(sessions.remove_all().await.expect("purge"), 1);
    }

    #[tokio::test]
    async fn a_banned_account_gets_no_session() {
        let (_dir, store, user_id) = test_store("alice").await;
        store
            .call(move |db| {
                db.execute("UPDATE users SET is_active = 0 WHERE id = ?1", [user_id])?;
                Ok(())
            })
            .await
            .expect("ban");
        let refused = store.sessions().open(row("s1", user_id)).await;
        assert!(
            matches!(refused, Err(OpenRefused::Banned { reason: None })),
            "{refused:?}"
        );
        assert_eq!(store.sessions().count().await.expect("count"), 0);
    }
}
