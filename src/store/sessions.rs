//! Session rows: one per logged-in connection, from login until the connection
//! ends. The registry in memory says who is online; these rows mirror it so an
//! operator (or `/sessions`) can see the same in the database.

use chrono::{Duration, Utc};
use rusqlite::{Connection, params};

use super::{StoreResult, iso, now_iso, write_tx};

/// The facts recorded when a connection logs in.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub session_id: String,
    pub user_id: i64,
    pub peer_address: String,
    pub client_type: String,
    pub ttl: Duration,
}

/// Writes the row for a freshly logged-in connection.
pub fn create_session(conn: &mut Connection, session: &NewSession) -> StoreResult<()> {
    let now = Utc::now();
    write_tx(conn, |tx| {
        tx.execute(
            "INSERT INTO sessions (session_id, user_id, peer_address, client_type, created_at, \
             last_activity, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
            params![
                session.session_id,
                session.user_id,
                session.peer_address,
                session.client_type,
                iso(now),
                iso(now + session.ttl)
            ],
        )?;
        Ok(())
    })
}

/// Binds the character and world the connection chose (or clears them with None).
pub fn attach_character(
    conn: &mut Connection,
    session_id: &str,
    character: Option<(i64, &str)>,
) -> StoreResult<()> {
    write_tx(conn, |tx| {
        tx.execute(
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
    })
}

/// Records the client name a connection announced (telnet TTYPE).
pub fn set_client_type(conn: &mut Connection, session_id: &str, client: &str) -> StoreResult<()> {
    write_tx(conn, |tx| {
        tx.execute(
            "UPDATE sessions SET client_type = ?2 WHERE session_id = ?1",
            params![session_id, client],
        )?;
        Ok(())
    })
}

/// Deletes one connection's row.
pub fn remove_session(conn: &mut Connection, session_id: &str) -> StoreResult<bool> {
    write_tx(conn, |tx| {
        Ok(tx.execute("DELETE FROM sessions WHERE session_id = ?1", [session_id])? > 0)
    })
}

/// Deletes every row. At start-up no connection is alive, so every row left is
/// from a crash or a kill.
pub fn remove_all_sessions(conn: &mut Connection) -> StoreResult<usize> {
    write_tx(conn, |tx| Ok(tx.execute("DELETE FROM sessions", [])?))
}

/// Deletes rows whose expiry has passed; returns their ids (the connections
/// behind them, if any, are closed by the caller).
pub fn purge_expired(conn: &mut Connection) -> StoreResult<Vec<String>> {
    write_tx(conn, |tx| {
        let mut stmt =
            tx.prepare("DELETE FROM sessions WHERE expires_at <= ?1 RETURNING session_id")?;
        let ids = stmt.query_map([now_iso()], |r| r.get(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    })
}

/// How many session rows exist.
pub fn count_sessions(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    #[test]
    fn session_rows_come_and_go() {
        let (_dir, mut conn) = schema::test_db(
            "INSERT INTO users (username, password_hash, created_at) VALUES ('a', 'x', '')",
        );
        let session = NewSession {
            session_id: "s1".into(),
            user_id: 1,
            peer_address: "127.0.0.1:5".into(),
            client_type: "unknown".into(),
            ttl: Duration::hours(1),
        };
        create_session(&mut conn, &session).expect("create");
        assert_eq!(count_sessions(&conn).expect("count"), 1);
        assert!(remove_session(&mut conn, "s1").expect("remove"));
        assert!(!remove_session(&mut conn, "s1").expect("remove again"));
        create_session(&mut conn, &session).expect("create");
        assert_eq!(remove_all_sessions(&mut conn).expect("purge"), 1);
    }
}
