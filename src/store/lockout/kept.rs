//! What a full disk leaves of the login's records: the counts the disk
//! refused to take, kept in memory by account ([`Pending`]), read over the
//! rows by every later decision on that account, and written whole as soon
//! as the disk takes them again, by a retry that backs off (50 ms doubling to
//! 2 s) and takes each account's login lock, as an attempt does. At a
//! shutdown on a disk that still refuses, they get one more try and are then
//! given up, each account named in the log.
//!
//! **Invariant:** an account's entry is read and written only under its
//! login lock, so what a decision reads here is what the last attempt on it
//! left.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use rusqlite::{Connection, params};
use tokio::sync::Notify;

use super::{AddressCount, Count, Counts, forget_old_addresses, put_address};
use crate::store::{Store, StoreResult, write_tx};

/// The first pause before records the disk refused are tried again; it
/// doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(50);
const MAX_RETRY: Duration = Duration::from_secs(2);

/// Writes what is kept of an account whole.
pub(super) fn write_kept(
    conn: &mut Connection,
    user_id: i64,
    kept: &Kept,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    write_tx(conn, |tx| {
        tx.execute(
            "UPDATE users SET failed_attempts = ?2, lockout_until = ?3, failed_since_login = ?4 \
             WHERE id = ?1",
            params![
                user_id,
                kept.strangers.failures,
                kept.strangers.until,
                kept.failed_since_login
            ],
        )?;
        for (address, row) in &kept.addresses {
            put_address(tx, user_id, address, row)?;
        }
        forget_old_addresses(tx, user_id, now)
    })
}

/// What is kept in memory of one account's counts while the disk refuses
/// them: its row's counts and the address rows the attempts touched, as they
/// are to be written (newer than the rows on disk).
#[derive(Debug, Clone)]
pub(super) struct Kept {
    /// For the account's login lock, which the retry takes.
    username: String,
    strangers: Count,
    failed_since_login: i64,
    addresses: HashMap<String, AddressCount>,
}

impl Kept {
    /// Nothing kept yet: the account's rows as an attempt read them.
    pub(super) fn from_rows(username: &str, counts: &Counts) -> Kept {
        Kept {
            username: username.to_string(),
            strangers: counts.strangers.clone(),
            failed_since_login: counts.failed_since_login,
            addresses: HashMap::new(),
        }
    }

    /// Takes in the counts an attempt from `address` left.
    pub(super) fn take(&mut self, address: &str, after: &Counts) {
        self.strangers = after.strangers.clone();
        self.failed_since_login = after.failed_since_login;
        if let Some(row) = &after.address {
            self.addresses.insert(address.to_string(), row.clone());
        }
    }

    /// `counts` as read from the rows, with what is kept over them.
    fn over(&self, address: &str, counts: Counts) -> Counts {
        Counts {
            strangers: self.strangers.clone(),
            failed_since_login: self.failed_since_login,
            address: self.addresses.get(address).cloned().or(counts.address),
        }
    }
}

/// The records the disk refused, by account, until it takes them (SPEC §10:
/// the lock's promise holds through a full disk). Every account's entry is
/// read and written under its login lock, so what a decision reads here is
/// what the last attempt on it left.
#[derive(Default)]
pub(in crate::store) struct Pending {
    kept: Mutex<HashMap<i64, Kept>>,
    /// Whether a retry is running.
    retrying: AtomicBool,
    /// Set when the store settles for a shutdown: the retry tries once more
    /// and then gives up.
    stopping: AtomicBool,
    /// Woken when the store settles, and when an entry is written.
    changed: Notify,
}

impl Pending {
    pub(super) fn get(&self, user_id: i64) -> Option<Kept> {
        self.kept.lock().get(&user_id).cloned()
    }

    pub(super) fn keep(&self, user_id: i64, kept: Kept) {
        self.kept.lock().insert(user_id, kept);
    }

    pub(super) fn remove(&self, user_id: i64) {
        if self.kept.lock().remove(&user_id).is_some() {
            self.changed.notify_waiters();
        }
    }

    /// Forgets what is kept of an account (its counts were cleared).
    pub(in crate::store) fn forget(&self, user_id: i64) {
        self.remove(user_id);
    }

    fn accounts(&self) -> Vec<(i64, String)> {
        let kept = self.kept.lock();
        kept.iter()
            .map(|(id, k)| (*id, k.username.clone()))
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.kept.lock().is_empty()
    }

    /// `counts` read for `user_id` from `address`, with what is kept over them.
    pub(in crate::store) fn over(&self, user_id: i64, address: &str, counts: Counts) -> Counts {
        match self.kept.lock().get(&user_id) {
            Some(kept) => kept.over(address, counts),
            None => counts,
        }
    }

    /// Forgets everything kept (a shutdown on a disk that still refuses).
    fn give_up(&self) {
        self.kept.lock().clear();
        self.retrying.store(false, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// Tells a retry to try once more and give up (a shutdown).
    pub(in crate::store) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// Waits until nothing is kept (every refused record is written).
    pub(in crate::store) async fn written(&self) {
        loop {
            let mut changed = pin!(self.changed.notified());
            changed.as_mut().enable();
            if self.is_empty() {
                return;
            }
            changed.await;
        }
    }
}

impl Store {
    /// Starts the retry of kept records unless one runs.
    pub(super) fn retry_kept_records(&self) {
        if !self.inner.pending.retrying.swap(true, Ordering::SeqCst) {
            let store = self.clone();
            self.behind_the_answer(async move { retry(&store).await });
        }
    }
}

/// Tries the kept records again, backing off, until all are written; at a
/// shutdown, once more, and then what is left is given up (and logged).
async fn retry(store: &Store) {
    let pending = &store.inner.pending;
    let mut pause = FIRST_RETRY;
    loop {
        let mut woken = pin!(pending.changed.notified());
        woken.as_mut().enable();
        if !pending.stopping.load(Ordering::SeqCst) {
            let _ = tokio::time::timeout(pause, woken).await;
        }
        let stopping = pending.stopping.load(Ordering::SeqCst);
        write_all_kept(store).await;
        if pending.is_empty() {
            pending.retrying.store(false, Ordering::SeqCst);
            // Kept after that look, with the retry thought to be running.
            if pending.is_empty() || pending.retrying.swap(true, Ordering::SeqCst) {
                return;
            }
        } else if stopping {
            for (_, username) in pending.accounts() {
                tracing::error!(account = %username, "the disk still refuses at shutdown: this account's failed-login count is lost");
            }
            pending.give_up();
            return;
        }
        pause = (pause * 2).min(MAX_RETRY);
    }
}

/// Writes each kept account whole, under its login lock; stops at the first
/// refusal (the disk is still full).
async fn write_all_kept(store: &Store) {
    for (user_id, username) in store.inner.pending.accounts() {
        let lock = store.login_lock(&username);
        let turn = lock.clone().lock_owned().await;
        let refused = write_one_kept(store, user_id, &username).await;
        drop(turn);
        store.release_login_lock(&username, lock);
        if refused {
            return;
        }
    }
}

/// Writes what is kept of one account, its login lock held; true when the
/// disk still refuses it. Its entry goes once written (under the same lock:
/// an attempt that follows may keep a new one).
async fn write_one_kept(store: &Store, user_id: i64, username: &str) -> bool {
    let Some(kept) = store.inner.pending.get(user_id) else {
        return false;
    };
    let now = Utc::now();
    let written = store
        .call(move |db| write_kept(db, user_id, &kept, now))
        .await;
    match written {
        Ok(()) => {
            tracing::info!(account = %username, "a login's record kept through a disk outage is written");
        }
        Err(err) if err.disk_refused() => return true,
        Err(err) => {
            // Not the disk's state: trying again will not help.
            tracing::error!(%err, account = %username, "a login's kept record cannot be written; it is given up");
        }
    }
    store.inner.pending.remove(user_id);
    false
}
