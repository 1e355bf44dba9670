//! The server-wide channels' records: which channels an account turned off,
//! its mutes, when it last left the game, a channel's history, and what a
//! player entering the game is owed (the lines it missed on each channel).
//!
//! Channel lines are `chat_messages` rows of kind `channel` that name their
//! channel; they are inserted by the batching writer like all talk, and read
//! back here. What an account ignores is left out of every read in the query
//! itself (staff are never ignored), so an ignored account's words never
//! leave the database for the ignorer.
//!
//! A mute is written by the account-change path (`accounts().change` with
//! `AccountChange::Mute`), whose transaction calls [`mute_in`] and
//! [`unmute_in`] here. The channels themselves are the server's
//! configuration: rows only name them.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreResult, now_iso, write_tx};

/// What `channel_mutes.channel` holds for a mute on every channel.
pub const ALL_CHANNELS: &str = "*";

/// The typed front for the channels' records (see [`Store::channels`]).
pub struct Channels<'s> {
    store: &'s Store,
}

/// What a player entering the game brings along from the records: its
/// account's switches and mutes, what it missed, and its character's
/// description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arrival {
    pub is_guest: bool,
    /// Channels the account turned off.
    pub off: Vec<String>,
    /// Mutes still in force.
    pub mutes: Vec<MuteRow>,
    /// Lines said on each channel since the account last left the game (none
    /// before it ever left once), its own and those of accounts it ignores
    /// left out.
    pub missed: Vec<(String, i64)>,
    pub description: String,
}

/// One mute in force: its channel (`None`: every channel) and its end
/// (`None`: for good), ISO-8601 UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MuteRow {
    pub channel: Option<String>,
    pub until: Option<String>,
}

/// A stored line of a channel, for `<channel> history`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLine {
    /// The speaking character's name; `None` once it was deleted.
    pub speaker: Option<String>,
    /// The world the speaker was in.
    pub world_id: String,
    pub message: String,
    pub created_at: String,
}

impl<'s> Channels<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Channels { store }
    }

    /// Everything a player entering the game needs from the records, in one
    /// read: see [`Arrival`].
    pub async fn arrival(&self, user_id: i64, character_id: i64) -> StoreResult<Arrival> {
        self.store
            .call(move |db| arrival(db, user_id, character_id))
            .await
    }

    /// Keeps an account's `<channel> on` or `<channel> off`.
    pub async fn set_listening(&self, user_id: i64, channel: &str, on: bool) -> StoreResult<()> {
        let channel = channel.to_string();
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    tx.execute(
                        "INSERT INTO channel_settings (user_id, channel, listening) \
                         VALUES (?1, ?2, ?3) \
                         ON CONFLICT (user_id, channel) DO UPDATE SET listening = excluded.listening",
                        params![user_id, channel, on],
                    )?;
                    Ok(())
                })
            })
            .await
    }

    /// Notes that an account left the game now: the next catch-up counts
    /// from here.
    pub async fn left_game(&self, user_id: i64) -> StoreResult<()> {
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    tx.execute(
                        "UPDATE users SET left_game_at = ?2 WHERE id = ?1",
                        params![user_id, now_iso()],
                    )?;
                    Ok(())
                })
            })
            .await
    }

    /// The last `limit` lines of a channel, oldest first, without those of
    /// accounts `viewer` (an account) ignores.
    pub async fn history(
        &self,
        channel: &str,
        viewer: i64,
        limit: usize,
    ) -> StoreResult<Vec<ChannelLine>> {
        let channel = channel.to_string();
        self.store
            .call(move |db| channel_history(db, &channel, viewer, limit))
            .await
    }
}

/// Whether `m.user_id` (of the query's `chat_messages m`) is an account the
/// account `?viewer` ignores, staff never counting: the one condition every
/// read of talk for a player adds.
const IGNORED_SPEAKER: &str = "EXISTS (SELECT 1 FROM ignores i JOIN users u ON u.id = i.ignored_user_id \
     WHERE i.user_id = :viewer AND i.ignored_user_id = m.user_id \
       AND u.role NOT IN ('admin', 'superuser'))";

fn arrival(conn: &Connection, user_id: i64, character_id: i64) -> StoreResult<Arrival> {
    let account: Option<(bool, Option<String>)> = conn
        .query_row(
            "SELECT is_guest, left_game_at FROM users WHERE id = ?1",
            [user_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((is_guest, left_at)) = account else {
        return Ok(Arrival::default());
    };
    let off = column(
        conn,
        "SELECT channel FROM channel_settings WHERE user_id = ?1 AND NOT listening ORDER BY channel",
        user_id,
    )?;
    let mutes = mutes_in_force(conn, user_id)?;
    let missed = match left_at {
        Some(left_at) => missed_since(conn, user_id, &left_at)?,
        None => Vec::new(),
    };
    let description = conn
        .query_row(
            "SELECT description FROM characters WHERE id = ?1",
            [character_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default();
    Ok(Arrival {
        is_guest,
        off,
        mutes,
        missed,
        description,
    })
}

/// The account's mutes that have not ended.
fn mutes_in_force(conn: &Connection, user_id: i64) -> StoreResult<Vec<MuteRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT channel, until FROM channel_mutes WHERE user_id = ?1 \
         AND (until IS NULL OR until > ?2) ORDER BY channel",
    )?;
    let rows = stmt.query_map(params![user_id, now_iso()], |r| {
        let channel: String = r.get(0)?;
        Ok(MuteRow {
            channel: (channel != ALL_CHANNELS).then_some(channel),
            until: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Lines per channel since `since`, but the account's own and those of the
/// accounts it ignores. A line of the very millisecond the account left
/// counts: better told once too often than a line missed unseen.
fn missed_since(conn: &Connection, user_id: i64, since: &str) -> StoreResult<Vec<(String, i64)>> {
    let sql = format!(
        "SELECT m.channel, count(*) FROM chat_messages m \
         WHERE m.channel IS NOT NULL AND m.created_at >= :since \
           AND m.user_id IS NOT :viewer AND NOT {IGNORED_SPEAKER} \
         GROUP BY m.channel ORDER BY m.channel"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        rusqlite::named_params! {":since": since, ":viewer": user_id},
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn channel_history(
    conn: &Connection,
    channel: &str,
    viewer: i64,
    limit: usize,
) -> StoreResult<Vec<ChannelLine>> {
    let sql = format!(
        "SELECT s.name, m.world_id, m.message, m.created_at FROM chat_messages m \
         LEFT JOIN characters s ON s.id = m.character_id \
         WHERE m.channel = :channel AND NOT {IGNORED_SPEAKER} \
         ORDER BY m.id DESC LIMIT :limit"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(
        rusqlite::named_params! {":channel": channel, ":viewer": viewer, ":limit": limit},
        |r| {
            Ok(ChannelLine {
                speaker: r.get(0)?,
                world_id: r.get(1)?,
                message: r.get(2)?,
                created_at: r.get(3)?,
            })
        },
    )?;
    let mut lines: Vec<ChannelLine> = rows.collect::<Result<_, _>>()?;
    lines.reverse();
    Ok(lines)
}

fn column(conn: &Connection, sql: &str, id: i64) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Mutes an account on a channel (`None`: every channel) until a time
/// (`None`: for good), inside the account change's transaction; a mute
/// already there is replaced.
pub(in crate::store) fn mute_in(
    tx: &Connection,
    user_id: i64,
    channel: Option<&str>,
    until: Option<&str>,
    reason: Option<&str>,
    muted_by: Option<i64>,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO channel_mutes (user_id, channel, until, reason, muted_by, muted_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (user_id, channel) DO UPDATE SET until = excluded.until, \
         reason = excluded.reason, muted_by = excluded.muted_by, muted_at = excluded.muted_at",
        params![
            user_id,
            channel.unwrap_or(ALL_CHANNELS),
            until,
            reason,
            muted_by,
            now_iso()
        ],
    )?;
    Ok(())
}

/// Lifts an account's mute on a channel (`None`: every mute it has), inside
/// the account change's transaction; how many mutes in force it lifted.
pub(in crate::store) fn unmute_in(
    tx: &Connection,
    user_id: i64,
    channel: Option<&str>,
) -> StoreResult<usize> {
    let in_force: i64 = tx.query_row(
        "SELECT count(*) FROM channel_mutes WHERE user_id = ?1 \
         AND (?2 IS NULL OR channel = ?2) AND (until IS NULL OR until > ?3)",
        params![user_id, channel, now_iso()],
        |r| r.get(0),
    )?;
    tx.execute(
        "DELETE FROM channel_mutes WHERE user_id = ?1 AND (?2 IS NULL OR channel = ?2)",
        params![user_id, channel],
    )?;
    Ok(usize::try_from(in_force).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    /// Ann (1) and Ben (2) in world `w`, Cyd (3) an admin; Ann left the game
    /// at t1.
    fn seeded() -> (tempfile::TempDir, Connection) {
        let (dir, conn) = schema::test_db(
            "INSERT INTO worlds (id, name, registered_at, updated_at) VALUES ('w', 'W', '', '');
             INSERT INTO users (id, username, password_hash, role, created_at, left_game_at) VALUES
                 (1, 'ann', 'x', 'player', '', '2026-01-01T00:00:01.000Z'),
                 (2, 'ben', 'x', 'player', '', NULL), (3, 'cyd', 'x', 'admin', '', NULL);
             INSERT INTO characters (id, user_id, world_id, name, created_at, description) VALUES
                 (1, 1, 'w', 'Ann', '', 'A tall woman.'), (2, 2, 'w', 'Ben', '', ''),
                 (3, 3, 'w', 'Cyd', '', '');",
        );
        let lines = [
            (1, "ooc", "before", "2026-01-01T00:00:00.000Z"),
            (2, "ooc", "b1", "2026-01-01T00:00:02.000Z"),
            (3, "ooc", "c1", "2026-01-01T00:00:03.000Z"),
            (1, "ooc", "mine", "2026-01-01T00:00:04.000Z"),
            (2, "newbie", "b2", "2026-01-01T00:00:05.000Z"),
        ];
        for (who, channel, message, at) in lines {
            conn.execute(
                "INSERT INTO chat_messages (world_id, room, character_id, user_id, kind, message, \
                 created_at, channel) VALUES ('w', 'z:a', ?1, ?1, 'channel', ?2, ?3, ?4)",
                params![who, message, at, channel],
            )
            .expect("line");
        }
        (dir, conn)
    }

    #[test]
    fn an_arrival_counts_what_was_missed_but_its_own_and_the_ignored() {
        let (_dir, conn) = seeded();
        let got = arrival(&conn, 1, 1).expect("arrival");
        assert_eq!(got.missed, [("newbie".into(), 1), ("ooc".into(), 2)]);
        assert_eq!(got.description, "A tall woman.");
        conn.execute_batch(
            "INSERT INTO ignores (user_id, ignored_user_id, since) VALUES (1, 2, ''), (1, 3, '')",
        )
        .expect("ignores");
        let got = arrival(&conn, 1, 1).expect("arrival");
        // Ben is ignored; Cyd is staff, whom nobody ignores.
        assert_eq!(got.missed, [("ooc".into(), 1)]);
        // Ben never left the game: nothing to catch up on.
        assert!(arrival(&conn, 2, 2).expect("arrival").missed.is_empty());
    }

    #[test]
    fn history_is_the_latest_lines_in_order_without_the_ignored() {
        let (_dir, conn) = seeded();
        let messages = |viewer, limit| -> Vec<String> {
            channel_history(&conn, "ooc", viewer, limit)
                .expect("history")
                .into_iter()
                .map(|l| l.message)
                .collect()
        };
        assert_eq!(messages(2, 20), ["before", "b1", "c1", "mine"]);
        assert_eq!(messages(2, 2), ["c1", "mine"]);
        conn.execute_batch(
            "INSERT INTO ignores (user_id, ignored_user_id, since) VALUES (2, 1, '')",
        )
        .expect("ignore");
        assert_eq!(messages(2, 20), ["b1", "c1"]);
    }

    #[test]
    fn mutes_in_force_come_with_the_arrival_and_unmuting_counts_them() {
        let (_dir, conn) = seeded();
        mute_in(
            &conn,
            1,
            Some("ooc"),
            Some("2999-01-01T00:00:00.000Z"),
            None,
            Some(3),
        )
        .expect("mute");
        mute_in(
            &conn,
            1,
            None,
            Some("2000-01-01T00:00:00.000Z"),
            None,
            Some(3),
        )
        .expect("old");
        let got = arrival(&conn, 1, 1).expect("arrival");
        assert_eq!(
            got.mutes,
            [MuteRow {
                channel: Some("ooc".into()),
                until: Some("2999-01-01T00:00:00.000Z".into())
            }]
        );
        assert_eq!(unmute_in(&conn, 1, None).expect("unmute"), 1);
        assert!(arrival(&conn, 1, 1).expect("arrival").mutes.is_empty());
        assert_eq!(unmute_in(&conn, 1, None).expect("again"), 0);
    }
}
