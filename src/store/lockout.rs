//! Account lockout after repeated wrong passwords (the seed's `failed_attempts`
//! and `lockout_until`).
//!
//! Consecutive failures are counted per account. From the `threshold`-th failure
//! on, each failure locks the account for `base`, doubling with every further
//! failure up to `max`. A success clears both.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{StoreResult, iso, write_tx};

/// The lockout rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures in a row before the first lock.
    pub threshold: u32,
    /// Length of the first lock.
    pub base: Duration,
    /// The longest lock.
    pub max: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            threshold: 5,
            base: Duration::from_secs(60),
            max: Duration::from_secs(3600),
        }
    }
}

impl LockoutPolicy {
    /// How long the `failures`-th failure in a row locks the account, if at all.
    pub fn lock_for(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.threshold)?;
        let factor = 1u32.checked_shl(over.min(31)).unwrap_or(u32::MAX);
        Some(self.base.saturating_mul(factor).min(self.max))
    }
}

/// Whether an account's `lockout_until` is still in the future.
pub fn is_locked(lockout_until: Option<&str>, now: DateTime<Utc>) -> bool {
    lockout_until.is_some_and(|until| until > iso(now).as_str())
}

/// Counts a failed login; returns the new lock's end when this failure locks.
pub fn record_failure(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_at_the_threshold_and_double_to_the_cap() {
        let policy = LockoutPolicy::default();
        assert_eq!(policy.lock_for(4), None);
        assert_eq!(policy.lock_for(5), Some(Duration::from_secs(60)));
        assert_eq!(policy.lock_for(6), Some(Duration::from_secs(120)));
        assert_eq!(policy.lock_for(7), Some(Duration::from_secs(240)));
        assert_eq!(policy.lock_for(11), Some(Duration::from_secs(3600)));
        assert_eq!(policy.lock_for(500), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn a_lock_in_the_future_holds() {
        let now = Utc::now();
        let later = iso(now + chrono::Duration::seconds(5));
        let earlier = iso(now - chrono::Duration::seconds(5));
        assert!(is_locked(Some(&later), now));
        assert!(!is_locked(Some(&earlier), now));
        assert!(!is_locked(None, now));
    }
}
