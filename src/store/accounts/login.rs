//! The login check: one decision per account, under its login lock — read,
//! lock check, password check — and what the attempt records once answered
//! (a failure's count, a success's reset, a re-hash at the current cost).
//! The `password` command's question for the old password is the same
//! decision ([`Accounts::check_own_password`]).
//!
//! Which count decides is the asking address's: its own when the account
//! logged in from it lately, the strangers' otherwise (see `store::lockout`).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{Account, Accounts, account_by_id, find_account};
use crate::config::LockoutPolicy;
use crate::store::lockout::{self, Attempted, Counts, Outcome};
use crate::store::{Store, StoreResult, write_tx};

/// The outcome of a login attempt at the password check.
#[derive(Debug, Clone)]
pub enum LoginCheck {
    /// The password is right and the account was not locked for the asking
    /// address. Its `failed_since_login` is what the owner is to be told.
    Verified(Account),
    /// A wrong password, or no such account (after the same bcrypt work).
    Wrong,
    /// The account is locked for the asking address until then; the
    /// password was not checked.
    Locked { until: DateTime<Utc> },
    /// The caller's admission was withdrawn while the attempt waited for its
    /// turn at bcrypt (see [`Accounts::check_login_if`]); nothing was checked.
    Withdrawn,
}

/// Who asks and what for, beside the name and the password.
struct Asking<'a> {
    /// The asking client's address, keyed as the caller keys client
    /// addresses (IPv6 by its /64).
    from: String,
    policy: LockoutPolicy,
    /// A login, rather than the `password` command's old-password question.
    visit: bool,
    admitted: &'a (dyn Fn() -> bool + Sync),
}

impl Accounts<'_> {
    /// Decides a login attempt from the address `from` on fresh state, one
    /// attempt per account at a time: under the account's login lock it
    /// reads the account and the counts that apply to `from`, refuses a
    /// locked one without checking the password, checks the password
    /// (against a dummy hash for no account, so timing tells nothing), and
    /// records the outcome — a failure counts towards the lock, a success
    /// clears the count — before the next attempt on that account may read
    /// it. So parallel guesses get no more password checks than the
    /// threshold allows, and a right password arriving after the lock is
    /// refused.
    ///
    /// A wrong password is answered as soon as it is checked, and its failure
    /// is counted behind the answer, still holding the account's lock: an
    /// unknown name has nothing to count, so answering only after the count
    /// would tell known names from unknown ones by time. (Behind an unknown
    /// name's answer runs a write of the same statements as any failure's,
    /// so the work that follows an answer, and how long the name stays
    /// locked, tell nothing either.) A right password is recorded before the
    /// answer (whoever has it learns nothing from time); if its hash was made
    /// at another cost, it is re-hashed at the current one behind the answer,
    /// so old hashes do not stay slower (or faster) to check than the dummy.
    pub async fn check_login(
        &self,
        name: &str,
        password: String,
        from: IpAddr,
        policy: LockoutPolicy,
    ) -> StoreResult<LoginCheck> {
        self.check_login_if(name, password, from, policy, &|| true)
            .await
    }

    /// [`Accounts::check_login`], asking `admitted` again once the attempt's
    /// turn at bcrypt has come (it may have queued behind many): when that says
    /// no, nothing is checked and the answer is [`LoginCheck::Withdrawn`]. The
    /// session uses it for its client address's failed-login limit, which the
    /// other attempts in the queue may have reached meanwhile.
    pub async fn check_login_if(
        &self,
        name: &str,
        password: String,
        from: IpAddr,
        policy: LockoutPolicy,
        admitted: &(dyn Fn() -> bool + Sync),
    ) -> StoreResult<LoginCheck> {
        let asking = Asking {
            from: from.to_string(),
            policy,
            visit: true,
            admitted,
        };
        self.check(name, password, &asking).await
    }

    /// The `password` command's question for the old password, decided as a
    /// login is (the same lock and counts, the same record): a wrong answer
    /// counts like a failed login, a locked account's answer is refused
    /// unchecked. A right one does not end the failures to tell the owner,
    /// which a login does.
    pub async fn check_own_password(
        &self,
        user_id: i64,
        password: String,
        from: IpAddr,
        policy: LockoutPolicy,
        admitted: &(dyn Fn() -> bool + Sync),
    ) -> StoreResult<LoginCheck> {
        let name = self
            .store
            .call(move |db| Ok(account_by_id(db, user_id)?.map(|a| a.username)))
            .await?;
        let Some(name) = name else {
            return Ok(LoginCheck::Wrong);
        };
        let asking = Asking {
            from: from.to_string(),
            policy,
            visit: false,
            admitted,
        };
        Ok(match self.check(&name, password, &asking).await? {
            LoginCheck::Verified(account) if account.id != user_id => LoginCheck::Wrong,
            checked => checked,
        })
    }

    /// The decision of [`Accounts::check_login`] under the name's lock, and
    /// what it leaves to record behind the answer.
    async fn check(
        &self,
        name: &str,
        password: String,
        asking: &Asking<'_>,
    ) -> StoreResult<LoginCheck> {
        let lock = self.store.login_lock(name);
        let turn = lock.clone().lock_owned().await;
        let decided = match self.decide_login(name, password, asking).await {
            Ok((check, record)) => self
                .record_success(record, asking)
                .await
                .map(|r| (check, r)),
            Err(err) => Err(err),
        };
        let (check, record) = match decided {
            Ok(decided) => decided,
            Err(err) => {
                drop(turn);
                self.store.release_login_lock(name, lock);
                return Err(err);
            }
        };
        // Behind the answer, but tracked: a shutdown settles the store before
        // the process may end, so the attempt is recorded all the same.
        let (store, name, policy) = (self.store.clone(), name.to_string(), asking.policy);
        self.store.behind_the_answer(async move {
            record_login(&store, record, policy).await;
            drop(turn);
            store.release_login_lock(&name, lock);
        });
        Ok(check)
    }

    /// Records a right password before it is answered (a success's reset);
    /// returns what is left to record behind the answer.
    async fn record_success(
        &self,
        record: LoginRecord,
        asking: &Asking<'_>,
    ) -> StoreResult<LoginRecord> {
        let LoginRecord::Success {
            account,
            counts,
            rehash,
        } = record
        else {
            return Ok(record);
        };
        let attempt = Attempted {
            user_id: account.id,
            username: &account.username,
            address: &asking.from,
        };
        let outcome = Outcome::Succeeded {
            visit: asking.visit,
        };
        lockout::record(self.store, attempt, &counts, outcome, asking.policy).await?;
        Ok(match rehash {
            Some((password, old_hash)) => LoginRecord::Rehash {
                user_id: account.id,
                password,
                old_hash,
            },
            None => LoginRecord::Nothing,
        })
    }

    /// Waits until what earlier login attempts on `name` left to write is
    /// written (tests).
    #[cfg(test)]
    pub(crate) async fn login_records_written(&self, name: &str) {
        let lock = self.store.login_lock(name);
        drop(lock.lock().await);
        self.store.release_login_lock(name, lock);
    }

    /// The part of [`Accounts::check_login`] the answer waits for: read, lock
    /// check, password check.
    async fn decide_login(
        &self,
        name: &str,
        password: String,
        asking: &Asking<'_>,
    ) -> StoreResult<(LoginCheck, LoginRecord)> {
        let (name, from) = (name.to_string(), asking.from.clone());
        let (account, counts) = self
            .store
            .call(move |db| read_for_login(db, &name, &from))
            .await?;
        let Some(mut account) = account else {
            if self
                .store
                .verify_password_if(password, None, asking.admitted)
                .await
                .is_none()
            {
                return Ok((LoginCheck::Withdrawn, LoginRecord::Nothing));
            }
            let decoy = LoginRecord::Decoy {
                address: asking.from.clone(),
            };
            return Ok((LoginCheck::Wrong, decoy));
        };
        let counts = self
            .store
            .inner
            .pending
            .over(account.id, &asking.from, counts);
        let now = Utc::now();
        if let Some(until) = counts.deciding(now).locked_until(now) {
            return Ok((LoginCheck::Locked { until }, LoginRecord::Nothing));
        }
        let hash = Some(account.password_hash.clone());
        let Some(verified) = self
            .store
            .verify_password_if(password.clone(), hash, asking.admitted)
            .await
        else {
            return Ok((LoginCheck::Withdrawn, LoginRecord::Nothing));
        };
        if !verified {
            let record = LoginRecord::Failure {
                user_id: account.id,
                username: account.username.clone(),
                address: asking.from.clone(),
                counts,
            };
            return Ok((LoginCheck::Wrong, record));
        }
        account.failed_since_login = counts.failed_since_login;
        let outdated = crate::store::hashing::cost_of(&account.password_hash)
            .is_none_or(|cost| cost != self.store.bcrypt_cost());
        let record = LoginRecord::Success {
            rehash: outdated.then(|| (password, account.password_hash.clone())),
            account: account.clone(),
            counts,
        };
        Ok((LoginCheck::Verified(account), record))
    }
}

/// The account called `name` (none if deleted) and its counts as the login
/// from `address` reads them; for no account, the same reads on no row.
fn read_for_login(
    conn: &Connection,
    name: &str,
    address: &str,
) -> StoreResult<(Option<Account>, Counts)> {
    let account = find_account(conn, name)?.filter(|a| a.tombstoned_at.is_none());
    let counts = lockout::read_counts(conn, account.as_ref().map_or(-1, |a| a.id), address)?;
    Ok((account, counts))
}

/// What a login attempt leaves to be written once it is answered.
enum LoginRecord {
    /// A locked account (answered differently anyway): nothing changes.
    Nothing,
    /// No such account: nothing changes, but a write transaction of the same
    /// shape as a failure's runs all the same, under the name's lock, so that
    /// the work behind an answer (and how long the name stays locked) does
    /// not tell a known name from an unknown one.
    Decoy { address: String },
    /// A wrong password: it counts towards the lock that decided it (the
    /// address's own or the strangers'), read as `counts`.
    Failure {
        user_id: i64,
        username: String,
        address: String,
        counts: Counts,
    },
    /// A right password, recorded before the answer: the count that decided
    /// it is cleared; with `rehash`, the password and the hash it matched,
    /// made at another cost than the current one.
    Success {
        account: Account,
        counts: Counts,
        rehash: Option<(String, String)>,
    },
    /// A right password whose hash is to be made again at the current cost.
    Rehash {
        user_id: i64,
        password: String,
        old_hash: String,
    },
}

/// Writes what a login attempt left to write (see [`Accounts::check_login`]).
/// Its answer has gone out already, so a failure here can only be logged.
async fn record_login(store: &Store, record: LoginRecord, policy: LockoutPolicy) {
    match record {
        LoginRecord::Nothing => {}
        LoginRecord::Decoy { address } => {
            if let Err(err) = store
                .call(move |db| lockout::record_nobody(db, &address, &policy))
                .await
            {
                tracing::debug!(%err, "the decoy write for an unknown name failed");
            }
        }
        LoginRecord::Failure {
            user_id,
            username,
            address,
            counts,
        } => {
            let attempt = Attempted {
                user_id,
                username: &username,
                address: &address,
            };
            match lockout::record(store, attempt, &counts, Outcome::Failed, policy).await {
                Ok(Some(until)) => {
                    store.count(|m| m.lockout());
                    tracing::warn!(account = %username, %until, from = %address, "account locked after failed logins");
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::error!(%err, account = %username, "could not count a failed login");
                }
            }
        }
        // Recorded before the answer (see `check_login`).
        LoginRecord::Success { .. } => {}
        LoginRecord::Rehash {
            user_id,
            password,
            old_hash,
        } => rehash_password(store, user_id, password, old_hash).await,
    }
}

/// Replaces a hash made at another cost with one at the current cost, unless
/// the password was changed meanwhile.
async fn rehash_password(store: &Store, user_id: i64, password: String, old_hash: String) {
    let hash = match store.hash_password(password).await {
        Ok(hash) => hash,
        Err(err) => {
            tracing::warn!(%err, user_id, "could not re-hash a password at the current cost");
            return;
        }
    };
    let replaced = store
        .call(move |db| {
            write_tx(db, |tx| {
                Ok(tx.execute(
                    "UPDATE users SET password_hash = ?2 WHERE id = ?1 AND password_hash = ?3",
                    params![user_id, hash, old_hash],
                )? > 0)
            })
        })
        .await;
    match replaced {
        Ok(true) => tracing::info!(user_id, "password re-hashed at the current bcrypt cost"),
        Ok(false) => {}
        Err(err) => tracing::warn!(%err, user_id, "could not store a re-hashed password"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::store::accounts::add_account;
    use crate::store::test_store;
    use std::time::Duration;

    /// The address the tests' attempts come from.
    fn home() -> IpAddr {
        IpAddr::from([192, 0, 2, 1])
    }

    #[tokio::test]
    async fn parallel_wrong_passwords_get_at_most_the_threshold_of_checks() {
        let (_dir, store, _) = test_store("someone").await;
        let hash = store
            .hash_password("the right one here".into())
            .await
            .expect("hash");
        add_account(&store, "Lou", Role::Player, &hash).await;
        let policy = LockoutPolicy::default();
        let tries = futures::future::join_all((0..30).map(|n| {
            let store = store.clone();
            let password = if n == 29 {
                "the right one here"
            } else {
                "wrong"
            };
            async move {
                store
                    .accounts()
                    .check_login("lou", password.into(), home(), policy)
                    .await
            }
        }))
        .await;
        let wrong = tries
            .iter()
            .filter(|t| matches!(t, Ok(LoginCheck::Wrong)))
            .count();
        let locked = tries
            .iter()
            .filter(|t| matches!(t, Ok(LoginCheck::Locked { .. })))
            .count();
        let verified = tries
            .iter()
            .filter(|t| matches!(t, Ok(LoginCheck::Verified(_))))
            .count();
        assert_eq!(wrong + locked + verified, 30);
        if verified == 1 {
            assert!(wrong < 2 * 5, "wrong {wrong}");
        } else {
            assert!(wrong <= 5, "wrong {wrong}");
        }
        store.accounts().login_records_written("lou").await;
        assert!(
            store.inner.login_locks.is_empty(),
            "login locks are forgotten"
        );
    }

    /// Holds the database's write lock from another connection until dropped.
    fn hold_write_lock(store: &Store) -> rusqlite::Connection {
        let blocker = rusqlite::Connection::open(store.path()).expect("open");
        blocker
            .execute_batch("BEGIN IMMEDIATE")
            .expect("write lock");
        blocker
    }

    #[tokio::test]
    async fn a_wrong_password_is_answered_before_its_failure_is_written() {
        let (_dir, store, _) = test_store("someone").await;
        let hash = store.hash_password("the right one here".into()).await;
        add_account(&store, "Kit", Role::Player, &hash.expect("hash")).await;
        let policy = LockoutPolicy::default();
        // Nobody can write while this is held: an answer that waited for the
        // failure's record would be `Busy` after the busy timeout.
        let blocker = hold_write_lock(&store);
        let known = store
            .accounts()
            .check_login("kit", "wrong".into(), home(), policy)
            .await;
        let unknown = store
            .accounts()
            .check_login("kat", "wrong".into(), home(), policy)
            .await;
        assert!(matches!(known, Ok(LoginCheck::Wrong)), "{known:?}");
        assert!(matches!(unknown, Ok(LoginCheck::Wrong)), "{unknown:?}");
        blocker.execute_batch("COMMIT").expect("release");
        store.accounts().login_records_written("kit").await;
        let kit = store.accounts().find("kit").await.expect("q").expect("kit");
        assert_eq!(kit.failed_attempts, 1, "the failure still counts");
    }

    /// Issue 15: what a login attempt records behind its answer was written
    /// by a task nothing tracked, so a server stopping right after a wrong
    /// password could end the process before the failure was counted. The
    /// shutdown waits on `Store::settle`, which must wait for that record.
    #[tokio::test]
    async fn a_failed_login_recorded_while_the_server_stops_is_not_lost() {
        let (_dir, store, _) = test_store("someone").await;
        let hash = store.hash_password("the right one here".into()).await;
        add_account(&store, "Kit", Role::Player, &hash.expect("hash")).await;
        let policy = LockoutPolicy::default();
        // The failure cannot be written while this is held.
        let blocker = hold_write_lock(&store);
        let answer = store
            .accounts()
            .check_login("kit", "wrong".into(), home(), policy)
            .await;
        assert!(matches!(answer, Ok(LoginCheck::Wrong)), "{answer:?}");
        let mut settling = std::pin::pin!(store.settle());
        let waited = futures::poll!(&mut settling).is_pending();
        blocker.execute_batch("COMMIT").expect("release");
        assert!(waited, "settling did not wait for the failure's record");
        settling.await;
        let kit = store.accounts().find("kit").await.expect("q").expect("kit");
        assert_eq!(
            kit.failed_attempts, 1,
            "the failure is counted once settled"
        );
    }

    #[tokio::test]
    async fn a_right_password_hashed_at_another_cost_is_rehashed_at_the_current_one() {
        let (_dir, store, _) = test_store("someone").await;
        add_account(
            &store,
            "Old",
            Role::Player,
            &bcrypt::hash("an older hash here", 5).expect("cost 5"),
        )
        .await;
        let policy = LockoutPolicy::default();
        let first = store
            .accounts()
            .check_login("old", "an older hash here".into(), home(), policy)
            .await;
        assert!(matches!(first, Ok(LoginCheck::Verified(_))), "{first:?}");
        store.accounts().login_records_written("old").await;
        let old = store.accounts().find("old").await.expect("q").expect("old");
        assert_eq!(crate::store::hashing::cost_of(&old.password_hash), Some(4));
        let again = store
            .accounts()
            .check_login("old", "an older hash here".into(), home(), policy)
            .await;
        assert!(matches!(again, Ok(LoginCheck::Verified(_))), "{again:?}");
    }

    /// Issue 16: while the disk refused writes, a login's record failed and
    /// the login with it. The counts are kept in memory, decided on as one
    /// decision per account (the lock holds), and written once the disk
    /// takes them again.
    #[tokio::test]
    async fn failures_the_disk_refuses_are_kept_decided_on_and_written_when_it_takes_them() {
        let (_dir, store, _) = test_store("someone").await;
        let hash = store.hash_password("the right one here".into()).await;
        add_account(&store, "Hal", Role::Player, &hash.expect("hash")).await;
        let policy = LockoutPolicy::default();
        store.stage_full_disk(true);
        let mut answers = Vec::new();
        for _ in 0..policy.threshold + 1 {
            let answer = store
                .accounts()
                .check_login("hal", "wrong".into(), home(), policy)
                .await;
            answers.push(answer);
            store.accounts().login_records_written("hal").await;
        }
        let right = store
            .accounts()
            .check_login("hal", "the right one here".into(), home(), policy)
            .await;
        assert!(
            answers[..5]
                .iter()
                .all(|a| matches!(a, Ok(LoginCheck::Wrong))),
            "{answers:?}"
        );
        assert!(
            matches!(answers[5], Ok(LoginCheck::Locked { .. })),
            "{answers:?}"
        );
        assert!(matches!(right, Ok(LoginCheck::Locked { .. })), "{right:?}");
        let hal = store.accounts().find("hal").await.expect("q").expect("hal");
        assert_eq!(hal.failed_attempts, 0, "nothing reached the disk");
        store.stage_full_disk(false);
        tokio::time::timeout(Duration::from_secs(15), store.kept_records_written())
            .await
            .expect("written once the disk takes them");
        let hal = store.accounts().find("hal").await.expect("q").expect("hal");
        assert_eq!((hal.failed_attempts, hal.failed_since_login), (5, 5));
        assert!(hal.lockout_until.is_some());
    }

    /// On a full disk too, the count, the lock and the check are one
    /// decision per account: parallel guesses get no more checks than the
    /// threshold.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_wrong_passwords_on_a_full_disk_get_at_most_the_threshold_of_checks() {
        let (_dir, store, _) = test_store("someone").await;
        let hash = store.hash_password("the right one here".into()).await;
        add_account(&store, "Kim", Role::Player, &hash.expect("hash")).await;
        store.stage_full_disk(true);
        let policy = LockoutPolicy::default();
        let runs = store.bcrypt_runs();
        let tries = futures::future::join_all((0..30).map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .accounts()
                    .check_login("kim", "wrong".into(), home(), policy)
                    .await
            })
        }))
        .await;
        let wrong = tries
            .iter()
            .filter(|t| matches!(t, Ok(Ok(LoginCheck::Wrong))))
            .count();
        let locked = tries
            .iter()
            .filter(|t| matches!(t, Ok(Ok(LoginCheck::Locked { .. }))))
            .count();
        assert_eq!((wrong, locked), (5, 25));
        assert_eq!(store.bcrypt_runs() - runs, 5);
    }

    /// A right password on a full disk lets its owner in: the reset it
    /// records waits in memory.
    #[tokio::test]
    async fn a_right_password_on_a_full_disk_gets_in_and_its_reset_waits() {
        let (_dir, store, _) = test_store("someone").await;
        let hash = store.hash_password("the right one here".into()).await;
        add_account(&store, "Ida", Role::Player, &hash.expect("hash")).await;
        let policy = LockoutPolicy::default();
        let wrong = store
            .accounts()
            .check_login("ida", "wrong".into(), home(), policy)
            .await;
        assert!(matches!(wrong, Ok(LoginCheck::Wrong)), "{wrong:?}");
        store.accounts().login_records_written("ida").await;
        store.stage_full_disk(true);
        let right = store
            .accounts()
            .check_login("ida", "the right one here".into(), home(), policy)
            .await;
        let Ok(LoginCheck::Verified(ida)) = right else {
            panic!("{right:?}");
        };
        assert_eq!(ida.failed_since_login, 1, "the failure is told");
        store.stage_full_disk(false);
        tokio::time::timeout(Duration::from_secs(15), store.kept_records_written())
            .await
            .expect("written");
        let ida = store.accounts().find("ida").await.expect("q").expect("ida");
        assert_eq!((ida.failed_attempts, ida.failed_since_login), (0, 0));
    }

    /// A shutdown on a disk that still refuses gives the kept records up
    /// rather than wait for ever.
    #[tokio::test]
    async fn records_kept_when_the_store_settles_on_a_full_disk_are_given_up() {
        let (_dir, store, _) = test_store("someone").await;
        let hash = store.hash_password("the right one here".into()).await;
        add_account(&store, "Jo", Role::Player, &hash.expect("hash")).await;
        store.stage_full_disk(true);
        let policy = LockoutPolicy::default();
        let wrong = store
            .accounts()
            .check_login("jo", "wrong".into(), home(), policy)
            .await;
        assert!(matches!(wrong, Ok(LoginCheck::Wrong)), "{wrong:?}");
        store.accounts().login_records_written("jo").await;
        tokio::time::timeout(Duration::from_secs(15), store.settle())
            .await
            .expect("the store settles");
        store.kept_records_written().await;
    }

    #[tokio::test]
    async fn an_admission_withdrawn_while_queued_checks_nothing() {
        let (_dir, store, _) = test_store("someone").await;
        let hash = store.hash_password("the right one here".into()).await;
        add_account(&store, "Ivo", Role::Player, &hash.expect("hash")).await;
        let runs = store.bcrypt_runs();
        let policy = LockoutPolicy::default();
        for name in ["ivo", "nobody"] {
            let checked = store
                .accounts()
                .check_login_if(name, "the right one here".into(), home(), policy, &|| false)
                .await;
            assert!(matches!(checked, Ok(LoginCheck::Withdrawn)), "{checked:?}");
        }
        assert_eq!(store.bcrypt_runs(), runs, "nothing was hashed");
        store.accounts().login_records_written("ivo").await;
        let ivo = store.accounts().find("ivo").await.expect("q").expect("ivo");
        assert_eq!(ivo.failed_attempts, 0, "nothing was counted");
    }
}
