//! Account lockout after repeated wrong passwords (the seed's `failed_attempts`
//! and `lockout_until`), as SQL on one account row.
//!
//! The rule itself ([`LockoutPolicy`]) lives in `config`. The decision that uses
//! these functions — read the lock, check the password, record the outcome — is
//! made under the account's login lock in `accounts::Accounts::check_login`, so
//! parallel attempts on one account are taken one at a time.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreResult, iso, write_tx};
use crate::config::LockoutPolicy;

/// Whether an account's `lockout_until` is still in the future.
pub fn is_locked(lockout_until: Option<&str>, now: DateTime<Utc>) -> bool {
    lockout_until.is_some_and(|until| until > iso(now).as_str())
}

/// Counts a failed login; returns the new lock's end when this failure locks.
pub(super) fn record_failure(
    conn: &mut Connection,
    user_id: i64,
    policy: &LockoutPolicy,
    now: DateTime<Utc>,
) -> StoreResult<Option<String>> {
    write_tx(conn, |tx| {
        let failures: u32 = tx.query_row(
            "UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = ?1 \
             RETURNING failed_attempts",
            [user_id],
            |r| r.get(0),
        )?;
        let Some(lock) = policy.lock_for(failures) else {
            return Ok(None);
        };
        let until = iso(now + chrono::Duration::from_std(lock).unwrap_or_default());
        tx.execute(
            "UPDATE users SET lockout_until = ?2 WHERE id = ?1",
            params![user_id, until],
        )?;
        Ok(Some(until))
    })
}

/// The write a failure makes, for no account (an unknown name): the same
/// transaction and statement, matching no row, so that an unknown name costs
/// the server what a known one does (see `Accounts::check_login`).
pub(super) fn record_nobody(conn: &mut Connection) -> StoreResult<()> {
    write_tx(conn, |tx| {
        let none: Option<u32> = tx
            .query_row(
                "UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = -1 \
                 RETURNING failed_attempts",
                [],
                |r| r.get(0),
            )
            .optional()?;
        debug_assert!(none.is_none(), "no account has the id -1");
        Ok(())
    })
}

/// Clears the failure count and any lock after a right password.
pub(super) fn record_success(conn: &mut Connection, user_id: i64) -> StoreResult<()> {
    write_tx(conn, |tx| {
        tx.execute(
            "UPDATE users SET failed_attempts = 0, lockout_until = NULL WHERE id = ?1",
            [user_id],
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_in_the_future_holds() {
        let now = Utc::now();
        let later = iso(now + chrono::Duration::seconds(5));
        let earlier = iso(now - chrono::Duration::seconds(5));
        assert!(is_locked(Some(&later), now));
        assert!(!is_locked(Some(&earlier), now));
        assert!(!is_locked(None, now));
    }

    #[test]
    fn the_threshold_th_failure_locks_and_a_success_clears() {
        let (_dir, mut conn) = crate::store::schema::test_db(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (1, 'a', 'x', '')",
        );
        let policy = LockoutPolicy::default();
        let now = Utc::now();
        for _ in 0..4 {
            assert_eq!(
                record_failure(&mut conn, 1, &policy, now).expect("fail"),
                None
            );
        }
        let until = record_failure(&mut conn, 1, &policy, now).expect("fifth");
        assert!(until.is_some_and(|u| is_locked(Some(&u), now)));
        record_success(&mut conn, 1).expect("success");
        let (n, lock): (i64, Option<String>) = conn
            .query_row(
                "SELECT failed_attempts, lockout_until FROM users WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("row");
        assert_eq!((n, lock), (0, None));
    }
}
