//! Locks against password guessing (SPEC §6): whose failures count where, the
//! rows that hold the counts, and what is kept of them in memory while the
//! disk refuses to take them.
//!
//! An address from which the account logged in within [`KNOWN_FOR_DAYS`]
//! days (a `login_addresses` row; the caller keys addresses as it keys client
//! addresses everywhere, IPv6 by its /64) is *known*: it keeps a failure count
//! and a lock of its own. Every other address is a stranger, and strangers,
//! across all their addresses, share the account's one count and lock
//! (`users.failed_attempts`, `lockout_until`). So strangers get the
//! threshold's worth of password checks between them, as before, but their
//! guesses cannot lock the owner out of the places it logs in from: NIST SP
//! 800-63B (§5.2.2) asks that throttling not let an attacker deny the owner
//! the account. Every failure also counts in `users.failed_since_login`,
//! which the owner is told at the next login.
//!
//! The rule of how long a lock lasts ([`LockoutPolicy`]) lives in `config`.
//! The decision that uses these counts — read, lock check, password check,
//! record — is made under the account's login lock in `accounts::login`, so
//! parallel attempts on one account are taken one at a time. [`record`]
//! writes an outcome; a write the disk refuses (full, read-only) is kept in
//! [`Pending`], which later decisions read over the rows, and written as soon
//! as the disk takes it again, under the same login lock.

mod kept;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreResult, iso, write_tx};
use crate::config::LockoutPolicy;
use kept::{Kept, write_kept};

pub(super) use kept::Pending;

/// How many days an address stays known after the account last logged in
/// from it.
pub const KNOWN_FOR_DAYS: i64 = 30;

/// How many addresses an account keeps (the ones it logged in from last).
pub const ADDRESSES_KEPT: i64 = 32;

/// A failure count and the lock it led to (the end, as stored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Count {
    pub failures: i64,
    pub until: Option<String>,
}

impl Count {
    /// The lock's end, while it is still ahead of `now`.
    pub fn locked_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let until = DateTime::parse_from_rfc3339(self.until.as_deref()?).ok()?;
        let until = until.with_timezone(&Utc);
        (until > now).then_some(until)
    }

    /// The count after one more failure at `now`: locked from the threshold on.
    fn failed(&self, policy: &LockoutPolicy, now: DateTime<Utc>) -> Count {
        let failures = self.failures.saturating_add(1);
        Count {
            failures,
            until: lock_end(policy, failures, now).or_else(|| self.until.clone()),
        }
    }
}

/// The minute a lock's end is shown as (to players and admins): rounded up,
/// so whoever waits until then finds it over.
pub fn shown_minute(until: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = until.timestamp();
    let into_minute = seconds.rem_euclid(60);
    if into_minute == 0 && until.timestamp_subsec_nanos() == 0 {
        return until;
    }
    DateTime::from_timestamp(seconds - into_minute + 60, 0).unwrap_or(until)
}

/// When the `failures`-th failure in a row, at `now`, locks until, if it does.
fn lock_end(policy: &LockoutPolicy, failures: i64, now: DateTime<Utc>) -> Option<String> {
    let lock = policy.lock_for(u32::try_from(failures).unwrap_or(u32::MAX))?;
    Some(iso(
        now + chrono::Duration::from_std(lock).unwrap_or_default()
    ))
}

/// The count of one of the account's addresses, and when it last logged in
/// from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressCount {
    pub count: Count,
    pub last_login_at: String,
}

/// What a login reads of an account's counts: the strangers' (on the
/// account's row), the failures to tell its owner, and the asking address's
/// row if it has one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub strangers: Count,
    pub failed_since_login: i64,
    pub address: Option<AddressCount>,
}

impl Counts {
    /// Whether the asking address is known: the account logged in from it
    /// within [`KNOWN_FOR_DAYS`] days.
    pub fn known(&self, now: DateTime<Utc>) -> bool {
        let since = iso(now - chrono::Duration::days(KNOWN_FOR_DAYS));
        self.address
            .as_ref()
            .is_some_and(|a| a.last_login_at.as_str() >= since.as_str())
    }

    /// The count that decides for the asking address: its own when it is
    /// known, the strangers' otherwise.
    pub fn deciding(&self, now: DateTime<Utc>) -> &Count {
        match &self.address {
            Some(address) if self.known(now) => &address.count,
            _ => &self.strangers,
        }
    }

    /// The counts after a failure at `now`.
    fn failed(&self, policy: &LockoutPolicy, now: DateTime<Utc>) -> Counts {
        let mut after = self.clone();
        after.failed_since_login = self.failed_since_login.saturating_add(1);
        match &mut after.address {
            Some(address) if self.known(now) => address.count = address.count.failed(policy, now),
            _ => after.strangers = self.strangers.failed(policy, now),
        }
        after
    }

    /// The counts after a right password at `now`: the deciding count is
    /// cleared and the address is known from now on; a login (`visit`) has
    /// told its owner the failures, which start again from none.
    fn succeeded(&self, now: DateTime<Utc>, visit: bool) -> Counts {
        let mut after = self.clone();
        if !self.known(now) {
            after.strangers = Count::default();
        }
        if visit {
            after.failed_since_login = 0;
        }
        after.address = Some(AddressCount {
            count: Count::default(),
            last_login_at: iso(now),
        });
        after
    }
}

/// Reads an account's counts as the login from `address` sees them (the
/// account id `-1` reads nothing, at the same cost: an unknown name).
pub(super) fn read_counts(conn: &Connection, user_id: i64, address: &str) -> StoreResult<Counts> {
    let own = conn
        .query_row(
            "SELECT failed_attempts, lockout_until, failed_since_login FROM users WHERE id = ?1",
            [user_id],
            |r| {
                Ok((
                    Count {
                        failures: r.get(0)?,
                        until: r.get(1)?,
                    },
                    r.get(2)?,
                ))
            },
        )
        .optional()?;
    let address = conn
        .query_row(
            "SELECT failed_attempts, lockout_until, last_login_at FROM login_addresses \
             WHERE user_id = ?1 AND address = ?2",
            params![user_id, address],
            |r| {
                Ok(AddressCount {
                    count: Count {
                        failures: r.get(0)?,
                        until: r.get(1)?,
                    },
                    last_login_at: r.get(2)?,
                })
            },
        )
        .optional()?;
    let (strangers, failed_since_login) = own.unwrap_or_default();
    Ok(Counts {
        strangers,
        failed_since_login,
        address,
    })
}

/// What an attempt ended in, to be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Failed,
    /// A right password; `visit` when it logs in (rather than answering the
    /// `password` command's question for the old one).
    Succeeded {
        visit: bool,
    },
}

/// The account an outcome belongs to.
pub(super) struct Attempted<'a> {
    pub user_id: i64,
    pub username: &'a str,
    /// The asking address, as stored.
    pub address: &'a str,
}

/// Writes what an attempt on an account ended in, its counts read as
/// `before` by the attempt's decision; the caller holds the account's login
/// lock. Returns the lock this failure set, if it set one. A write the disk
/// refuses is kept in memory and tried again until it is taken (see
/// [`Pending`]), and counts as written: the next decision reads it there.
pub(super) async fn record(
    store: &Store,
    attempt: Attempted<'_>,
    before: &Counts,
    outcome: Outcome,
    policy: LockoutPolicy,
) -> StoreResult<Option<String>> {
    let now = Utc::now();
    let after = match outcome {
        Outcome::Failed => before.failed(&policy, now),
        Outcome::Succeeded { visit } => before.succeeded(now, visit),
    };
    let set_lock = Some(&after.deciding(now).until)
        .filter(|_| outcome == Outcome::Failed)
        .filter(|until| *until != &before.deciding(now).until)
        .and_then(Clone::clone);
    let (user_id, address) = (attempt.user_id, attempt.address.to_string());
    let kept = store.inner.pending.get(user_id);
    let was_kept = kept.is_some();
    let mut keep = kept
        .clone()
        .unwrap_or_else(|| Kept::from_rows(attempt.username, before));
    keep.take(&address, &after);
    let written = match kept {
        // What is kept is newer than the rows: it is written whole.
        Some(_) => {
            let whole = keep.clone();
            store
                .call(move |db| write_kept(db, user_id, &whole, now))
                .await
        }
        None => {
            let known = before.known(now);
            store
                .call(move |db| write_outcome(db, user_id, &address, known, outcome, &policy, now))
                .await
        }
    };
    match written {
        Ok(()) => store.inner.pending.remove(user_id),
        Err(err) if err.disk_refused() => {
            // One line per account and outage; the attempts after it add to
            // what is kept.
            if !was_kept {
                tracing::warn!(%err, account = attempt.username, "the disk refuses a login's record; it is kept in memory until the disk takes it");
            }
            store.inner.pending.keep(user_id, keep);
            store.retry_kept_records();
        }
        Err(err) => return Err(err),
    }
    Ok(set_lock)
}

/// Writes one outcome on the rows as they stand (counting on from them, so
/// a reset that committed meanwhile is not undone).
fn write_outcome(
    conn: &mut Connection,
    user_id: i64,
    address: &str,
    known: bool,
    outcome: Outcome,
    policy: &LockoutPolicy,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    match outcome {
        Outcome::Failed => write_failure(conn, user_id, address, known, policy, now),
        Outcome::Succeeded { visit } => write_success(conn, user_id, address, known, visit, now),
    }
}

/// A failure, counted on the row that decided it — the asking address's own
/// when it is `known`, the strangers' otherwise — and in the failures to
/// tell. Every failure runs the same statements on both tables, each adding
/// one only where it decides, so that a known address's failure, a
/// stranger's and an unknown name's decoy (the id `-1`, matching no row)
/// cost the same.
fn write_failure(
    conn: &mut Connection,
    user_id: i64,
    address: &str,
    known: bool,
    policy: &LockoutPolicy,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    write_tx(conn, |tx| {
        let strangers: Option<i64> = tx
            .query_row(
                "UPDATE users SET failed_attempts = failed_attempts + ?2, \
                 failed_since_login = failed_since_login + 1 WHERE id = ?1 \
                 RETURNING failed_attempts",
                params![user_id, i64::from(!known)],
                |r| r.get(0),
            )
            .optional()?;
        let own: Option<i64> = tx
            .query_row(
                "UPDATE login_addresses SET failed_attempts = failed_attempts + ?3 \
                 WHERE user_id = ?1 AND address = ?2 RETURNING failed_attempts",
                params![user_id, address, i64::from(known)],
                |r| r.get(0),
            )
            .optional()?;
        let deciding = if known { own } else { strangers };
        let Some(until) = deciding.and_then(|n| lock_end(policy, n, now)) else {
            return Ok(());
        };
        if known {
            tx.execute(
                "UPDATE login_addresses SET lockout_until = ?3 WHERE user_id = ?1 AND address = ?2",
                params![user_id, address, until],
            )?;
        } else {
            tx.execute(
                "UPDATE users SET lockout_until = ?2 WHERE id = ?1",
                params![user_id, until],
            )?;
        }
        Ok(())
    })
}

/// The write a failure makes, for no account (an unknown name) asked from
/// `address`: a stranger's failure on the id `-1`, matching no row, so that
/// an unknown name costs the server what a known one does (see
/// `Accounts::check_login`).
pub(super) fn record_nobody(
    conn: &mut Connection,
    address: &str,
    policy: &LockoutPolicy,
) -> StoreResult<()> {
    write_failure(conn, -1, address, false, policy, Utc::now())
}

/// A right password from `address`: the count that decided it cleared (the
/// strangers' unless the address is `known`), the failures told at a
/// `visit`, and the address known from now, its own count cleared.
fn write_success(
    conn: &mut Connection,
    user_id: i64,
    address: &str,
    known: bool,
    visit: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    write_tx(conn, |tx| {
        tx.execute(
            "UPDATE users SET \
             failed_attempts = CASE WHEN ?2 THEN failed_attempts ELSE 0 END, \
             lockout_until = CASE WHEN ?2 THEN lockout_until ELSE NULL END, \
             failed_since_login = CASE WHEN ?3 THEN 0 ELSE failed_since_login END \
             WHERE id = ?1",
            params![user_id, known, visit],
        )?;
        let fresh = AddressCount {
            count: Count::default(),
            last_login_at: iso(now),
        };
        put_address(tx, user_id, address, &fresh)?;
        forget_old_addresses(tx, user_id, now)
    })
}

/// Writes an account's address row as given.
pub(super) fn put_address(
    tx: &Connection,
    user_id: i64,
    address: &str,
    row: &AddressCount,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO login_addresses (user_id, address, last_login_at, failed_attempts, \
         lockout_until) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, address) DO UPDATE \
         SET last_login_at = excluded.last_login_at, failed_attempts = excluded.failed_attempts, \
         lockout_until = excluded.lockout_until",
        params![
            user_id,
            address,
            row.last_login_at,
            row.count.failures,
            row.count.until
        ],
    )?;
    Ok(())
}

/// Makes `address` known to a new account (it signed up from there),
/// within the caller's transaction.
pub(super) fn remember_in(
    tx: &Connection,
    user_id: i64,
    address: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let row = AddressCount {
        count: Count::default(),
        last_login_at: iso(now),
    };
    put_address(tx, user_id, address, &row)
}

/// Drops the account's addresses that are no longer known, and all but the
/// newest [`ADDRESSES_KEPT`].
pub(super) fn forget_old_addresses(
    tx: &Connection,
    user_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let since = iso(now - chrono::Duration::days(KNOWN_FOR_DAYS));
    tx.execute(
        "DELETE FROM login_addresses WHERE user_id = ?1 AND (last_login_at < ?2 \
         OR address NOT IN (SELECT address FROM login_addresses WHERE user_id = ?1 \
         ORDER BY last_login_at DESC LIMIT ?3))",
        params![user_id, since, ADDRESSES_KEPT],
    )?;
    Ok(())
}

/// Clears every count and lock of an account (its password was reset):
/// within the caller's transaction.
pub(super) fn clear_in(tx: &Connection, user_id: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE users SET failed_attempts = 0, lockout_until = NULL WHERE id = ?1",
        [user_id],
    )?;
    tx.execute(
        "UPDATE login_addresses SET failed_attempts = 0, lockout_until = NULL WHERE user_id = ?1",
        [user_id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LockoutPolicy {
        LockoutPolicy::default()
    }

    #[test]
    fn a_lock_in_the_future_holds() {
        let now = Utc::now();
        let lock = |at: chrono::DateTime<Utc>| Count {
            failures: 5,
            until: Some(iso(at)),
        };
        let later = now + chrono::Duration::seconds(5);
        assert_eq!(lock(later).locked_until(now).map(iso), Some(iso(later)));
        assert_eq!(
            lock(now - chrono::Duration::seconds(5)).locked_until(now),
            None
        );
        assert_eq!(Count::default().locked_until(now), None);
    }

    fn known(last_login_at: DateTime<Utc>) -> Counts {
        Counts {
            address: Some(AddressCount {
                count: Count::default(),
                last_login_at: iso(last_login_at),
            }),
            ..Counts::default()
        }
    }

    #[test]
    fn a_lock_is_shown_ending_at_the_minute_after_it_ends() {
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .expect("time")
                .with_timezone(&Utc)
        };
        let shown = |text: &str| iso(shown_minute(at(text)));
        assert_eq!(
            shown("2026-05-01T12:34:00.000Z"),
            "2026-05-01T12:34:00.000Z"
        );
        assert_eq!(
            shown("2026-05-01T12:34:00.001Z"),
            "2026-05-01T12:35:00.000Z"
        );
        assert_eq!(
            shown("2026-05-01T23:59:30.000Z"),
            "2026-05-02T00:00:00.000Z"
        );
        assert_eq!(
            shown("2999-01-02T03:04:05.000Z"),
            "2999-01-02T03:05:00.000Z"
        );
    }

    #[test]
    fn an_address_is_known_for_thirty_days_after_a_login_from_it() {
        let now = Utc::now();
        assert!(known(now - chrono::Duration::days(29)).known(now));
        assert!(!known(now - chrono::Duration::days(31)).known(now));
        assert!(!Counts::default().known(now));
    }

    #[test]
    fn a_known_address_counts_its_own_failures_and_a_stranger_the_strangers() {
        let now = Utc::now();
        let mut home = known(now - chrono::Duration::days(1));
        let mut away = Counts::default();
        for _ in 0..5 {
            home = home.failed(&policy(), now);
            away = away.failed(&policy(), now);
        }
        assert!(home.deciding(now).locked_until(now).is_some());
        assert_eq!(home.strangers, Count::default(), "strangers untouched");
        assert!(away.deciding(now).locked_until(now).is_some());
        assert_eq!((home.failed_since_login, away.failed_since_login), (5, 5));
        // A right password clears the count that decided and makes the
        // address known; only a login starts the failures to tell again.
        let checked = away.succeeded(now, false);
        assert_eq!(checked.strangers, Count::default());
        assert!(checked.known(now));
        assert_eq!(checked.failed_since_login, 5);
        assert_eq!(checked.succeeded(now, true).failed_since_login, 0);
    }

    /// Runs `f` in a write transaction on a fresh database with account 1.
    fn db() -> (tempfile::TempDir, Connection) {
        crate::store::schema::test_db(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (1, 'a', 'x', '')",
        )
    }

    #[test]
    fn the_rows_follow_failures_and_successes_as_the_counts_do() {
        let (_dir, mut conn) = db();
        let now = Utc::now();
        for _ in 0..5 {
            write_failure(&mut conn, 1, "192.0.2.1", false, &policy(), now).expect("fail");
        }
        let away = read_counts(&conn, 1, "192.0.2.1").expect("read");
        assert_eq!(away.strangers.failures, 5);
        assert!(away.deciding(now).locked_until(now).is_some());
        write_success(&mut conn, 1, "192.0.2.9", true, true, now).expect("home");
        let home = read_counts(&conn, 1, "192.0.2.9").expect("read");
        assert!(home.known(now));
        assert_eq!(home.strangers.failures, 5, "a known address clears its own");
        assert_eq!(home.failed_since_login, 0);
        write_failure(&mut conn, 1, "192.0.2.9", true, &policy(), now).expect("home fail");
        let home = read_counts(&conn, 1, "192.0.2.9").expect("read");
        assert_eq!(home.address.map(|a| a.count.failures), Some(1));
        assert_eq!((home.strangers.failures, home.failed_since_login), (5, 1));
        let nobody = read_counts(&conn, -1, "192.0.2.9").expect("read");
        assert_eq!(nobody, Counts::default());
        record_nobody(&mut conn, "192.0.2.9", &policy()).expect("decoy");
        let after = read_counts(&conn, 1, "192.0.2.9").expect("read");
        assert_eq!(after.failed_since_login, 1, "the decoy counts nothing");
    }

    #[test]
    fn an_account_keeps_its_newest_addresses_and_forgets_the_stale() {
        let (_dir, mut conn) = db();
        let now = Utc::now();
        let old = now - chrono::Duration::days(KNOWN_FOR_DAYS + 1);
        write_success(&mut conn, 1, "198.51.100.1", false, true, old).expect("old");
        for n in 0..40 {
            let at = now - chrono::Duration::minutes(40 - n);
            write_success(&mut conn, 1, &format!("192.0.2.{n}"), false, true, at).expect("new");
        }
        let kept: Vec<String> = conn
            .prepare("SELECT address FROM login_addresses ORDER BY last_login_at")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(kept.len(), ADDRESSES_KEPT as usize);
        assert_eq!(kept[0], "192.0.2.8");
        assert!(!kept.contains(&"198.51.100.1".to_string()));
    }
}
