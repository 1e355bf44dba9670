//! Mail (SPEC §12 "Mail"): letters between characters of one world, kept
//! until their recipient deletes them.
//!
//! [`MailBox::send`] decides in the transaction that stores the letter, on
//! fresh state: the sender's account is no guest, the recipient is still a
//! character of that world with an account, its mailbox shows fewer than
//! [`MAILBOX_LIMIT`] letters (those of accounts it ignores do not count, so
//! a pest cannot fill it; past that many of theirs, a letter of theirs is
//! not kept, its sender told nothing of it), and the sender's account sent fewer than
//! [`RATE_LIMIT`] in the last [`RATE_WINDOW`] (counted in `mail_sent`, so a
//! deleted letter still counts). Parallel senders of one account therefore
//! cannot pass the rate together.
//!
//! A mailbox as read leaves out, in its SQL, the letters of accounts the
//! reader's account ignores (staff never counting): they are kept, never
//! shown. A letter is named by its position among those shown, oldest
//! first, found again in the transaction that acts on it.

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};

use super::refusal::{Refusal, decide};
use super::{Store, StoreError, StoreResult, iso, now_iso, write_tx};

/// Most letters a mailbox holds.
pub const MAILBOX_LIMIT: i64 = 500;
/// Most letters one account sends within [`RATE_WINDOW`].
pub const RATE_LIMIT: i64 = 10;
/// The window of the sending rate.
pub const RATE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// The typed front for mail (see [`Store::mail`]).
pub struct MailBox<'s> {
    store: &'s Store,
}

/// A character mail can be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub character_id: i64,
    /// The name as stored.
    pub name: String,
    pub user_id: i64,
}

/// A letter to send: from a character of an account, in its world.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub world_id: String,
    pub sender_id: i64,
    pub sender_user_id: i64,
    pub sender_name: String,
    pub recipient_id: i64,
    pub subject: String,
    pub body: String,
}

/// Whose mailbox is read: the character, and the account whose ignores
/// hide letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader {
    pub character_id: i64,
    pub user_id: i64,
}

/// One line of a mailbox's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub from: String,
    pub subject: String,
    pub sent_at: String,
    pub unread: bool,
}

/// A letter as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub from: String,
    /// The sending character, if it still exists (a reply goes to it).
    pub sender_id: Option<i64>,
    pub subject: String,
    pub body: String,
    pub sent_at: String,
}

/// Why a letter was not sent; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum MailRefused {
    #[error("guests cannot send mail")]
    Guest,
    /// No character of that name (or id) in the world, or none with an account.
    #[error("no such character")]
    NoSuchCharacter,
    /// The recipient's mailbox is full; its name as stored.
    #[error("{0}'s mailbox is full")]
    Full(String),
    #[error("too much mail sent lately")]
    TooMuch,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for MailRefused {
    fn failure(self) -> Result<StoreError, Self> {
        match self {
            MailRefused::Store(err) => Ok(err),
            other => Err(other),
        }
    }
}

/// Leaves out the letters of accounts `?2` ignores (but staff's); `m` is
/// the mail row.
const SHOWN: &str = "m.recipient_id = ?1 AND NOT EXISTS (SELECT 1 FROM ignores i \
     JOIN users u ON u.id = i.ignored_user_id \
     WHERE i.user_id = ?2 AND i.ignored_user_id = m.sender_user_id \
       AND u.role NOT IN ('admin', 'superuser'))";

impl<'s> MailBox<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        MailBox { store }
    }

    /// Whether `sender_user_id` may mail the character `name` of `world_id`
    /// now (asked before the letter is written; [`MailBox::send`] decides
    /// again).
    pub async fn may_send(
        &self,
        sender_user_id: i64,
        world_id: &str,
        name: &str,
    ) -> Result<Recipient, MailRefused> {
        let (world_id, name) = (world_id.to_string(), name.to_string());
        decide(self.store, move |tx| {
            let recipient = by_name(tx, &world_id, &name)?;
            allowed(tx, sender_user_id, &recipient)?;
            Ok(recipient)
        })
        .await
    }

    /// The character `character_id` as a recipient, if it still is one.
    pub async fn recipient(&self, character_id: i64) -> StoreResult<Option<Recipient>> {
        self.store
            .call(move |db| {
                Ok(db
                    .query_row(
                        "SELECT id, name, user_id FROM characters \
                         WHERE id = ?1 AND user_id IS NOT NULL",
                        [character_id],
                        |r| {
                            Ok(Recipient {
                                character_id: r.get(0)?,
                                name: r.get(1)?,
                                user_id: r.get(2)?,
                            })
                        },
                    )
                    .optional()?)
            })
            .await
    }

    /// Sends a letter (see the module for what is decided, and where).
    pub async fn send(&self, letter: Outgoing) -> Result<Recipient, MailRefused> {
        decide(self.store, move |tx| send_in(tx, &letter)).await
    }

    /// A mailbox's letters as shown, oldest first.
    pub async fn list(&self, reader: Reader) -> StoreResult<Vec<Header>> {
        self.store
            .call(move |db| {
                let sql = format!(
                    "SELECT m.sender_name, m.subject, m.sent_at, m.read_at IS NULL FROM mail m \
                     WHERE {SHOWN} ORDER BY m.id"
                );
                let mut stmt = db.prepare(&sql)?;
                let rows = stmt.query_map(params![reader.character_id, reader.user_id], |r| {
                    Ok(Header {
                        from: r.get(0)?,
                        subject: r.get(1)?,
                        sent_at: r.get(2)?,
                        unread: r.get(3)?,
                    })
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
    }

    /// How many letters shown are unread.
    pub async fn unread(&self, reader: Reader) -> StoreResult<i64> {
        self.store
            .call(move |db| {
                let sql =
                    format!("SELECT count(*) FROM mail m WHERE {SHOWN} AND m.read_at IS NULL");
                Ok(
                    db.query_row(&sql, params![reader.character_id, reader.user_id], |r| {
                        r.get(0)
                    })?,
                )
            })
            .await
    }

    /// The `n`th letter shown (from 1); marked read when `mark` says so.
    pub async fn open(&self, reader: Reader, n: usize, mark: bool) -> StoreResult<Option<Letter>> {
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    let Some(id) = nth(tx, reader, n)? else {
                        return Ok(None);
                    };
                    if mark {
                        tx.execute(
                            "UPDATE mail SET read_at = ?2 WHERE id = ?1 AND read_at IS NULL",
                            params![id, now_iso()],
                        )?;
                    }
                    let letter = tx.query_row(
                        "SELECT sender_name, sender_id, subject, body, sent_at FROM mail \
                         WHERE id = ?1",
                        [id],
                        |r| {
                            Ok(Letter {
                                from: r.get(0)?,
                                sender_id: r.get(1)?,
                                subject: r.get(2)?,
                                body: r.get(3)?,
                                sent_at: r.get(4)?,
                            })
                        },
                    )?;
                    Ok(Some(letter))
                })
            })
            .await
    }

    /// Deletes the `n`th letter shown; whether there was one.
    pub async fn delete(&self, reader: Reader, n: usize) -> StoreResult<bool> {
        self.store
            .call(move |db| {
                write_tx(db, |tx| {
                    let Some(id) = nth(tx, reader, n)? else {
                        return Ok(false);
                    };
                    tx.execute("DELETE FROM mail WHERE id = ?1", [id])?;
                    Ok(true)
                })
            })
            .await
    }
}

/// The id of the `n`th letter shown to `reader` (from 1).
fn nth(tx: &Connection, reader: Reader, n: usize) -> StoreResult<Option<i64>> {
    let Some(offset) = n.checked_sub(1).and_then(|o| i64::try_from(o).ok()) else {
        return Ok(None);
    };
    let sql = format!("SELECT m.id FROM mail m WHERE {SHOWN} ORDER BY m.id LIMIT 1 OFFSET ?3");
    Ok(tx
        .query_row(
            &sql,
            params![reader.character_id, reader.user_id, offset],
            |r| r.get(0),
        )
        .optional()?)
}

/// The character called `name` (without regard to case) in `world_id`,
/// which must belong to an account.
fn by_name(tx: &Connection, world_id: &str, name: &str) -> Result<Recipient, MailRefused> {
    tx.query_row(
        "SELECT id, name, user_id FROM characters \
         WHERE world_id = ?1 AND name = ?2 AND user_id IS NOT NULL",
        params![world_id, name],
        |r| {
            Ok(Recipient {
                character_id: r.get(0)?,
                name: r.get(1)?,
                user_id: r.get(2)?,
            })
        },
    )
    .optional()
    .map_err(StoreError::from)?
    .ok_or(MailRefused::NoSuchCharacter)
}

/// Whether a letter that may be sent is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    Yes,
    /// From an account the recipient ignores, whose hidden letters already
    /// fill a mailbox's worth: not kept, and the sender, told it was sent
    /// as always, learns nothing.
    No,
}

/// The checks that guard a letter: no guest sends, the mailbox has room
/// (the letters its owner sees: a pest it ignores cannot fill it; their
/// hidden letters have a bound of their own), the sender is within the
/// rate. Also drops the sender's sends older than the rate's window.
fn allowed(tx: &Connection, sender_user_id: i64, to: &Recipient) -> Result<Kept, MailRefused> {
    let guest: bool = tx
        .query_row(
            "SELECT is_guest FROM users WHERE id = ?1",
            [sender_user_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::from)?
        .ok_or(StoreError::NotFound("account"))?;
    if guest {
        return Err(MailRefused::Guest);
    }
    let shown_sql = format!(
        "SELECT count(*), (SELECT count(*) FROM mail WHERE recipient_id = ?1), \
                EXISTS (SELECT 1 FROM ignores i JOIN users u ON u.id = i.ignored_user_id \
                        WHERE i.user_id = ?2 AND i.ignored_user_id = ?3 \
                          AND u.role NOT IN ('admin', 'superuser')) \
         FROM mail m WHERE {SHOWN}"
    );
    let (shown, all, ignored): (i64, i64, bool) = tx
        .query_row(
            &shown_sql,
            params![to.character_id, to.user_id, sender_user_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(StoreError::from)?;
    if shown >= MAILBOX_LIMIT {
        return Err(MailRefused::Full(to.name.clone()));
    }
    let kept = if ignored && all - shown >= MAILBOX_LIMIT {
        Kept::No
    } else {
        Kept::Yes
    };
    let since = iso(Utc::now() - RATE_WINDOW);
    tx.execute(
        "DELETE FROM mail_sent WHERE user_id = ?1 AND sent_at <= ?2",
        params![sender_user_id, since],
    )
    .map_err(StoreError::from)?;
    let sent: i64 = tx
        .query_row(
            "SELECT count(*) FROM mail_sent WHERE user_id = ?1",
            [sender_user_id],
            |r| r.get(0),
        )
        .map_err(StoreError::from)?;
    if sent >= RATE_LIMIT {
        return Err(MailRefused::TooMuch);
    }
    Ok(kept)
}

fn send_in(tx: &Connection, letter: &Outgoing) -> Result<Recipient, MailRefused> {
    let to: Recipient = tx
        .query_row(
            "SELECT id, name, user_id FROM characters \
             WHERE id = ?1 AND world_id = ?2 AND user_id IS NOT NULL",
            params![letter.recipient_id, letter.world_id],
            |r| {
                Ok(Recipient {
                    character_id: r.get(0)?,
                    name: r.get(1)?,
                    user_id: r.get(2)?,
                })
            },
        )
        .optional()
        .map_err(StoreError::from)?
        .ok_or(MailRefused::NoSuchCharacter)?;
    let kept = allowed(tx, letter.sender_user_id, &to)?;
    let now = now_iso();
    tx.execute(
        "INSERT INTO mail_sent (user_id, sent_at) VALUES (?1, ?2)",
        params![letter.sender_user_id, now],
    )
    .map_err(StoreError::from)?;
    if kept == Kept::No {
        return Ok(to);
    }
    tx.execute(
        "INSERT INTO mail (world_id, recipient_id, sender_id, sender_user_id, sender_name, \
                           subject, body, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            letter.world_id,
            to.character_id,
            letter.sender_id,
            letter.sender_user_id,
            letter.sender_name,
            letter.subject,
            letter.body,
            now
        ],
    )
    .map_err(StoreError::from)?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    fn seeded() -> (tempfile::TempDir, Connection) {
        schema::test_db(
            "INSERT INTO worlds (id, name, registered_at, updated_at) VALUES ('w', 'W', '', '');
             INSERT INTO users (id, username, password_hash, role, is_guest, created_at) VALUES
                 (1, 'ann', 'x', 'player', 0, ''), (2, 'ben', 'x', 'player', 0, ''),
                 (3, 'cyd', 'x', 'admin', 0, ''), (4, 'guest1', 'x', 'player', 1, '');
             INSERT INTO characters (id, user_id, world_id, name, created_at) VALUES
                 (1, 1, 'w', 'Ann', ''), (2, 2, 'w', 'Ben', ''), (3, 3, 'w', 'Cyd', ''),
                 (4, 4, 'w', 'Guest1', ''), (5, NULL, 'w', 'Orphan', '');",
        )
    }

    fn letter(from_user: i64, from: i64, to: i64) -> Outgoing {
        Outgoing {
            world_id: "w".into(),
            sender_id: from,
            sender_user_id: from_user,
            sender_name: format!("c{from}"),
            recipient_id: to,
            subject: "s".into(),
            body: "b".into(),
        }
    }

    fn outcome(result: Result<Recipient, MailRefused>) -> String {
        match result {
            Ok(to) => format!("sent to {}", to.name),
            Err(refused) => refused.to_string(),
        }
    }

    #[test]
    fn a_letter_is_decided_on_the_sender_the_recipient_and_the_rate() {
        let (_dir, conn) = seeded();
        assert_eq!(
            outcome(send_in(&conn, &letter(4, 4, 1))),
            "guests cannot send mail"
        );
        assert_eq!(
            outcome(send_in(&conn, &letter(2, 2, 5))),
            "no such character"
        );
        assert_eq!(outcome(by_name(&conn, "w", "ANN")), "sent to Ann");
        for _ in 0..RATE_LIMIT {
            assert_eq!(outcome(send_in(&conn, &letter(2, 2, 1))), "sent to Ann");
        }
        assert_eq!(
            outcome(send_in(&conn, &letter(2, 2, 1))),
            "too much mail sent lately"
        );
        conn.execute("DELETE FROM mail", []).expect("deleted");
        assert_eq!(
            outcome(send_in(&conn, &letter(2, 2, 1))),
            "too much mail sent lately",
            "a deleted letter still counts"
        );
        conn.execute(
            "UPDATE mail_sent SET sent_at = '2000-01-01T00:00:00.000Z'",
            [],
        )
        .expect("aged");
        assert_eq!(outcome(send_in(&conn, &letter(2, 2, 1))), "sent to Ann");
        assert_eq!(
            conn.query_row("SELECT count(*) FROM mail_sent", [], |r| r.get::<_, i64>(0))
                .expect("count"),
            1,
            "sends older than the window are dropped"
        );
    }

    #[test]
    fn a_full_mailbox_refuses() {
        let (_dir, conn) = seeded();
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
             INSERT INTO mail (world_id, recipient_id, sender_name, subject, body, sent_at) \
             SELECT 'w', 1, 'x', 's', 'b', '' FROM n",
            [MAILBOX_LIMIT],
        )
        .expect("filled");
        assert_eq!(
            outcome(send_in(&conn, &letter(2, 2, 1))),
            "Ann's mailbox is full"
        );
    }

    #[test]
    fn an_ignored_sender_cannot_fill_the_mailbox_and_its_hidden_letters_are_bounded() {
        let (_dir, conn) = seeded();
        // 500 letters from Ben, whom Ann ignores: hidden, so her mailbox
        // still takes Cyd's; Ben's next is told sent but not kept.
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
             INSERT INTO mail (world_id, recipient_id, sender_user_id, sender_name, subject, \
                               body, sent_at) SELECT 'w', 1, 2, 'Ben', 's', 'b', '' FROM n",
            [MAILBOX_LIMIT],
        )
        .expect("filled");
        conn.execute(
            "INSERT INTO ignores (user_id, ignored_user_id, since) VALUES (1, 2, '')",
            [],
        )
        .expect("ignored");
        let count = || -> i64 {
            conn.query_row("SELECT count(*) FROM mail", [], |r| r.get(0))
                .expect("count")
        };
        assert_eq!(outcome(send_in(&conn, &letter(3, 3, 1))), "sent to Ann");
        assert_eq!(count(), MAILBOX_LIMIT + 1);
        assert_eq!(outcome(send_in(&conn, &letter(2, 2, 1))), "sent to Ann");
        assert_eq!(count(), MAILBOX_LIMIT + 1, "not kept");
        let sends: i64 = conn
            .query_row(
                "SELECT count(*) FROM mail_sent WHERE user_id = 2",
                [],
                |r| r.get(0),
            )
            .expect("sends");
        assert_eq!(sends, 1, "it counts against Ben's rate all the same");
    }

    #[test]
    fn an_ignored_accounts_letters_are_kept_but_not_shown_and_positions_skip_them() {
        let (_dir, conn) = seeded();
        for from in [2, 3, 2, 1] {
            send_in(&conn, &letter(from, from, 1)).expect("sent");
        }
        conn.execute_batch(
            "INSERT INTO ignores (user_id, ignored_user_id, since) VALUES (1, 2, ''), (1, 3, '');",
        )
        .expect("ignores");
        let reader = Reader {
            character_id: 1,
            user_id: 1,
        };
        let first = nth(&conn, reader, 1).expect("nth");
        let second = nth(&conn, reader, 2).expect("nth");
        let names: Vec<String> = [first, second]
            .iter()
            .flatten()
            .map(|id| {
                conn.query_row("SELECT sender_name FROM mail WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .expect("name")
            })
            .collect();
        assert_eq!(names, ["c3", "c1"], "Ben's are hidden; Cyd is staff");
        assert_eq!(nth(&conn, reader, 3).expect("nth"), None);
        assert_eq!(nth(&conn, reader, 0).expect("nth"), None);
        let kept: i64 = conn
            .query_row("SELECT count(*) FROM mail", [], |r| r.get(0))
            .expect("count");
        assert_eq!(kept, 4);
    }
}
