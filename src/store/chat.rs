//! Stored talk: the kinds of talk ([`ChatKind`], the one list of them), the
//! history of one room as one character may see it, the admin's chat log, and
//! pruning old lines.
//!
//! Rows are inserted by the batching writer (the only code that inserts into
//! `chat_messages`); this module reads them, and `/prune` deletes old ones.
//! Private kinds (`whisper`, `tell`) are filtered in the query itself, so a row
//! meant for two people never leaves the database for anyone else.
//!
//! The kinds are listed once, in [`ChatKind`]. The `chat_kinds` table mirrors
//! that list (`schema::migrate` fills it from [`ChatKind::ALL`] whenever a
//! database is opened) and `chat_messages.kind` refers to it, so the database
//! holds no row of a kind it does not list, and a new kind is one more line
//! below: no table is rebuilt for it.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::audit::{self, AuditEntry};
use super::refusal::{Actor, ChangeRefused, acting_account, refusable};
use super::{Store, StoreResult, iso};

/// Declares [`ChatKind`] from one list: each variant with its stored name and
/// whether it is private, so the enum, its names and [`ChatKind::ALL`] cannot
/// drift apart.
macro_rules! chat_kinds {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, private: $private:literal;)*) => {
        /// What kind of talk a line is: how it is shown, stored and read back.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ChatKind {
            $($(#[$doc])* $variant,)*
        }

        impl ChatKind {
            /// Every kind, in the order they are declared.
            pub const ALL: &'static [ChatKind] = &[$(ChatKind::$variant),*];

            /// The name stored in `chat_messages.kind` (and `chat_kinds.kind`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ChatKind::$variant => $name,)*
                }
            }

            /// Whether only its speaker and its recipient may read it again.
            pub fn is_private(self) -> bool {
                match self {
                    $(ChatKind::$variant => $private,)*
                }
            }
        }
    };
}

chat_kinds! {
    Say = "say", private: false;
    Emote = "emote", private: false;
    Whisper = "whisper", private: true;
    Tell = "tell", private: true;
    Yell = "yell", private: false;
    /// A line the game itself wrote into a room's history.
    System = "system", private: false;
    /// A line of a server-wide channel (`ooc`, ...): the row names the channel.
    Channel = "channel", private: false;
}

/// A kind name this gaslamp does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown chat kind {0:?}")]
pub struct UnknownChatKind(pub String);

impl FromStr for ChatKind {
    type Err = UnknownChatKind;

    fn from_str(name: &str) -> Result<ChatKind, UnknownChatKind> {
        ChatKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownChatKind(name.to_string()))
    }
}

/// The typed front for stored talk (see [`Store::chat`]).
pub struct Chat<'s> {
    store: &'s Store,
}

impl<'s> Chat<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Chat { store }
    }

    /// The last `limit` lines said in a room, oldest first, as `viewer` may
    /// see them.
    pub async fn history(
        &self,
        world_id: &str,
        room: &str,
        viewer: Viewer,
        limit: usize,
    ) -> StoreResult<Vec<HistoryLine>> {
        let (world_id, room) = (world_id.to_string(), room.to_string());
        self.store
            .call(move |db| room_history(db, &world_id, &room, viewer, limit))
            .await
    }

    /// The latest `limit` chat lines of every room, oldest first (`/chatlog`).
    pub async fn recent(&self, limit: i64) -> StoreResult<Vec<ChatLine>> {
        self.store.call(move |db| recent_chat(db, limit)).await
    }

    /// Deletes chat older than `before`; the actor's role is checked fresh and
    /// the audit row (with the count) is written in the same transaction.
    pub async fn prune(
        &self,
        actor: Actor,
        before: DateTime<Utc>,
        mut entry: AuditEntry,
    ) -> Result<usize, ChangeRefused> {
        refusable(self.store, move |tx| {
            let acting = acting_account(tx, actor)?;
            let n = tx
                .execute(
                    "DELETE FROM chat_messages WHERE created_at < ?1",
                    [iso(before)],
                )
                .map_err(super::StoreError::from)?;
            entry.actor_user_id = acting.map(|a| a.id);
            entry.detail = Some(format!("{n} lines older than {}", iso(before)));
            audit::record(tx, &entry)?;
            Ok(n)
        })
        .await
    }
}

/// One stored line of talk, for `/chatlog`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    pub created_at: String,
    pub world_id: String,
    pub room: String,
    /// The kind, and a channel line's channel after it: `channel:ooc`.
    pub kind: String,
    pub speaker: Option<String>,
    pub recipient: Option<String>,
    pub message: String,
}

/// The latest `limit` chat lines of every room, oldest first.
fn recent_chat(conn: &Connection, limit: i64) -> StoreResult<Vec<ChatLine>> {
    let mut stmt = conn.prepare(
        "SELECT m.created_at, m.world_id, m.room, \
                coalesce(m.kind || ':' || m.channel, m.kind), s.name, r.name, m.message \
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

/// Who reads stored talk back: the character (whispers and tells are only
/// its own) and the account behind it (whose ignores leave lines out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub character_id: i64,
    pub user_id: i64,
}

/// One stored line of talk, with the names of its speaker and recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    pub kind: ChatKind,
    /// `None` when the speaking character has since been deleted.
    pub speaker: Option<String>,
    pub recipient: Option<String>,
    pub message: String,
    pub created_at: String,
}

/// The last `limit` lines said in a room, oldest first. Whispers and tells appear
/// only when the viewing character sent or received them; lines of accounts
/// the viewing account ignores (but staff's) do not appear; the channels'
/// lines, which name the speaker's room too, are no room's talk.
fn room_history(
    conn: &Connection,
    world_id: &str,
    room: &str,
    viewer: Viewer,
    limit: usize,
) -> StoreResult<Vec<HistoryLine>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.kind, s.name, r.name, m.message, m.created_at FROM chat_messages m \
         LEFT JOIN characters s ON s.id = m.character_id \
         LEFT JOIN characters r ON r.id = m.recipient_character_id \
         WHERE m.world_id = ?1 AND m.room = ?2 AND m.channel IS NULL \
           AND (m.kind NOT IN (SELECT kind FROM chat_kinds WHERE private) \
                OR m.character_id = ?3 OR m.recipient_character_id = ?3) \
           AND NOT EXISTS (SELECT 1 FROM ignores i JOIN users u ON u.id = i.ignored_user_id \
                WHERE i.user_id = ?5 AND i.ignored_user_id = m.user_id \
                  AND u.role NOT IN ('admin', 'superuser')) \
         ORDER BY m.id DESC LIMIT ?4",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let params = params![world_id, room, viewer.character_id, limit, viewer.user_id];
    let rows = stmt.query_map(params, |row| {
        let kind: String = row.get(0)?;
        // A kind the table lists but this gaslamp does not know (added by
        // hand, or by a newer version) is left out: how it should read is
        // not known here, and it is no say or emote.
        let Ok(kind) = kind.parse::<ChatKind>() else {
            return Ok(None);
        };
        Ok(Some(HistoryLine {
            kind,
            speaker: row.get(1)?,
            recipient: row.get(2)?,
            message: row.get(3)?,
            created_at: row.get(4)?,
        }))
    })?;
    let mut lines = Vec::new();
    for line in rows {
        lines.extend(line?);
    }
    lines.reverse();
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    fn seeded() -> (tempfile::TempDir, Connection) {
        let (dir, conn) = schema::test_db(
            "INSERT INTO worlds (id, name, registered_at, updated_at) VALUES ('w', 'W', '', '');
             INSERT INTO characters (id, world_id, name, created_at) VALUES (1, 'w', 'Ann', '');
             INSERT INTO characters (id, world_id, name, created_at) VALUES (2, 'w', 'Ben', '');
             INSERT INTO characters (id, world_id, name, created_at) VALUES (3, 'w', 'Cyd', '');",
        );
        let rows: [(&str, i64, Option<i64>, &str, &str); 5] = [
            ("z:a", 1, None, "say", "hello"),
            ("z:a", 1, Some(2), "whisper", "psst"),
            ("z:b", 3, None, "say", "elsewhere"),
            ("z:a", 2, Some(1), "tell", "noted"),
            ("z:a", 3, None, "emote", "waves"),
        ];
        for (room, from, to, kind, message) in rows {
            conn.execute(
                "INSERT INTO chat_messages (world_id, room, character_id, \
                 recipient_character_id, kind, message, created_at) \
                 VALUES ('w', ?1, ?2, ?3, ?4, ?5, '2026-01-01T00:00:00.000Z')",
                params![room, from, to, kind, message],
            )
            .expect("chat row");
        }
        (dir, conn)
    }

    /// The character `viewer`, played by an account of the same id.
    fn as_character(viewer: i64) -> Viewer {
        Viewer {
            character_id: viewer,
            user_id: viewer,
        }
    }

    fn messages(conn: &Connection, viewer: i64, limit: usize) -> Vec<String> {
        room_history(conn, "w", "z:a", as_character(viewer), limit)
            .expect("history")
            .into_iter()
            .map(|line| line.message)
            .collect()
    }

    #[test]
    fn private_lines_show_only_to_their_two_people() {
        let (_dir, conn) = seeded();
        assert_eq!(messages(&conn, 1, 20), ["hello", "psst", "noted", "waves"]);
        assert_eq!(messages(&conn, 2, 20), ["hello", "psst", "noted", "waves"]);
        assert_eq!(messages(&conn, 3, 20), ["hello", "waves"]);
    }

    #[test]
    fn a_line_of_a_kind_gaslamp_does_not_know_is_left_out_of_history() {
        let (_dir, conn) = seeded();
        conn.execute_batch(
            "INSERT INTO chat_kinds (kind, private) VALUES ('shout', 0);
             INSERT INTO chat_messages (world_id, room, character_id, kind, message, created_at)
                 VALUES ('w', 'z:a', 1, 'shout', 'HEY', '2026-01-01T00:00:00.000Z');",
        )
        .expect("a kind added by hand");
        assert_eq!(messages(&conn, 3, 20), ["hello", "waves"]);
    }

    /// Issue 17: a room's history must not deliver the words of an account
    /// the reader ignores (staff are never ignored), nor the channels' lines,
    /// which name the speaker's room.
    #[test]
    fn history_leaves_out_ignored_accounts_and_channel_lines() {
        let (_dir, conn) = seeded();
        conn.execute_batch(
            "INSERT INTO users (id, username, password_hash, role, created_at) VALUES
                 (1, 'ann', 'x', 'player', ''), (2, 'ben', 'x', 'player', ''),
                 (3, 'cyd', 'x', 'admin', '');
             UPDATE chat_messages SET user_id = character_id;
             INSERT INTO ignores (user_id, ignored_user_id, since) VALUES (1, 2, ''), (1, 3, '');
             INSERT INTO chat_messages (world_id, room, character_id, user_id, kind, message,
                                        created_at, channel)
                 VALUES ('w', 'z:a', 3, 3, 'channel', 'on ooc', '2026-01-02T00:00:00.000Z', 'ooc');",
        )
        .expect("accounts, ignores and a channel line");
        // Ann ignores Ben (his tell to her is gone) and Cyd, who is staff.
        assert_eq!(messages(&conn, 1, 20), ["hello", "psst", "waves"]);
        assert_eq!(messages(&conn, 2, 20), ["hello", "psst", "noted", "waves"]);
    }

    #[test]
    fn the_limit_keeps_the_latest_lines_in_order() {
        let (_dir, conn) = seeded();
        assert_eq!(messages(&conn, 1, 2), ["noted", "waves"]);
        let lines = room_history(&conn, "w", "z:a", as_character(1), 20).expect("history");
        assert_eq!(lines[1].kind, ChatKind::Whisper);
        assert_eq!(lines[1].speaker.as_deref(), Some("Ann"));
        assert_eq!(lines[1].recipient.as_deref(), Some("Ben"));
    }
}
