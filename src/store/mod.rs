//! The store: every byte gaslamp keeps on disk lives in one SQLite file, and this
//! module is the only code that speaks SQL or names rusqlite.
//!
//! [`Store`] is a cheap, cloneable handle. Callers reach the data through typed
//! fronts — `store.accounts()`, `store.characters()`, `store.sessions()`,
//! `store.worlds()`, `store.items()`, `store.chat()`, `store.admin()`,
//! `store.channels()`, `store.ignores()`, `store.profiles()`, `store.builds()` — whose async
//! methods run their SQLite work on tokio's blocking pool, each call one
//! transaction; writes use `BEGIN IMMEDIATE` so a busy database is noticed at the
//! start of a transaction instead of half-way through it. A check that guards a
//! change is made inside the transaction that makes it (the account hierarchy, a
//! ban, a slot limit, an item's place). Password hashing runs on the blocking pool
//! too, a few at a time and queued fairly by client address ([`hashing`]), so a
//! flood of logins can neither starve everything else nor the other clients'
//! logins.
//! Chat lines and location moves do not come through here one by one: they go to
//! the batching [`writer`], which owns its own connection; what it cannot write
//! at a stop on a full disk goes to the [`spill`], replayed at the next start.
//! [`backup`] makes and checks copies of the file, and [`lock`] is the lock a
//! running server holds on it.
//!
//! **Invariant:** no SQL text is ever built from user input; values are bound as
//! parameters. The store knows nothing about telnet or sessions' state machines.

pub mod accounts;
pub mod admin;
pub mod aliases;
pub mod audit;
pub mod backup;
pub mod builds;
pub mod channels;
pub mod characters;
pub mod chat;
pub mod doors;
pub mod hashing;
pub mod ignores;
pub mod items;
pub mod life;
pub mod lock;
pub mod lockout;
pub mod mail;
pub mod profiles;
pub mod refusal;
pub mod schema;
pub mod sessions;
pub mod spill;
pub mod whois;
pub mod worlds;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use dashmap::DashMap;
use parking_lot::Mutex;
use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::metrics::Metrics;
use hashing::FairGate;

/// What can go wrong in the store, sorted by what the caller does about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database stayed locked for longer than `busy_timeout`; the player is
    /// told to try again and nothing was written.
    #[error("the database is busy")]
    Busy,
    /// A uniqueness rule refused the write (an account or character name is taken).
    #[error("that name is already taken")]
    NameTaken,
    /// The thing the caller named does not exist (any more).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The database file could not be opened or created.
    #[error("cannot open database file {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    /// Any other SQLite failure: a bug or a broken disk, logged with its cause.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    /// Password hashing failed (bcrypt refused the input).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The blocking task running the query panicked or was cancelled.
    #[error("store task failed: {0}")]
    Task(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        match err.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => StoreError::Busy,
            Some(ErrorCode::ConstraintViolation) if is_unique_violation(&err) => {
                StoreError::NameTaken
            }
            _ => StoreError::Sqlite(err),
        }
    }
}

fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

impl StoreError {
    /// Whether the disk refused the call, by its state rather than the
    /// call's contents: full (SQLite says so for any write once the WAL
    /// cannot grow), read-only, an I/O error, a file it cannot open. Such a
    /// refusal passes when the operator makes room; the login's records
    /// wait in memory meanwhile (`lockout`), and the session row goes
    /// through the writer.
    pub fn disk_refused(&self) -> bool {
        match self {
            StoreError::Open { .. } => true,
            StoreError::Sqlite(err) => matches!(
                err.sqlite_error_code(),
                Some(
                    ErrorCode::DiskFull
                        | ErrorCode::ReadOnly
                        | ErrorCode::SystemIoFailure
                        | ErrorCode::CannotOpen
                )
            ),
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The current time as the UTC ISO-8601 text every timestamp column holds.
pub fn now_iso() -> String {
    iso(chrono::Utc::now())
}

/// Formats a time the way every timestamp column stores it (sortable as text).
pub fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction and commits it; on error the
/// transaction rolls back when dropped, so nothing is half-written.
pub(in crate::store) fn write_tx<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

/// Tunables of the store, set from the command line.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub bcrypt_cost: u32,
    /// How many password hashes may run at once (the core count less one).
    pub hash_concurrency: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            bcrypt_cost: 12,
            // One core is left to the game: a storm of logins must not starve
            // the players already playing.
            hash_concurrency: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1)),
        }
    }
}

/// A cloneable handle on the database file.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Idle connections; a call takes one (or opens a new one) and puts it back.
    idle: Mutex<Vec<Connection>>,
    /// Bounds the calls running at once. Without it, a burst (10,000 players
    /// leaving together, each removing its session row) fills the blocking pool
    /// with hundreds of threads, each opening its own SQLite connection, only to
    /// queue for the one write lock.
    calls: Semaphore,
    /// bcrypt runs, a few at once, handed out to client addresses in turn.
    hashing: FairGate,
    /// How many bcrypt runs (hashes and checks) were started.
    bcrypt_runs: std::sync::atomic::AtomicU64,
    bcrypt_cost: u32,
    /// A real hash of a random secret, verified against when an account does not
    /// exist, so a wrong name costs as much time as a wrong password.
    dummy_hash: String,
    /// One lock per account name being logged into, so the attempts on one
    /// account are decided one at a time (see `accounts::Accounts::check_login`).
    login_locks: DashMap<String, Arc<tokio::sync::Mutex<()>>>,
    /// Where call times and bcrypt waits are counted, once a server attached it.
    metrics: OnceLock<Metrics>,
    /// What calls left to write behind their answers (a login attempt's
    /// record, see `accounts::Accounts::check_login`); [`Store::settle`]
    /// waits for it.
    behind: TaskTracker,
    /// Login records the disk refused, kept until it takes them.
    pending: lockout::Pending,
    /// Whether a full disk is staged on the store's connections
    /// ([`Store::stage_full_disk`]): never, now, or no longer.
    staged: AtomicU8,
}

const NEVER_STAGED: u8 = 0;
const STAGED_FULL: u8 = 1;
const STAGED_EMPTY: u8 = 2;

/// Idle connections kept for reuse; more may exist briefly under load.
const MAX_IDLE_CONNECTIONS: usize = 8;

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to
    /// date. Blocking: call it at start-up, before serving.
    pub fn open(path: &Path, options: StoreOptions) -> StoreResult<Store> {
        let mut conn = schema::open_connection(path)?;
        // A failure to bring the schema up to date is a failure of this file:
        // say which (a read-only or full file fails here first).
        schema::migrate(&mut conn).map_err(|err| match err {
            StoreError::Open { .. } => err,
            other => StoreError::Open {
                path: path.to_path_buf(),
                reason: other.to_string(),
            },
        })?;
        let dummy_hash = hashing::hash(&uuid::Uuid::new_v4().to_string(), options.bcrypt_cost)?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                idle: Mutex::new(vec![conn]),
                calls: Semaphore::new(MAX_IDLE_CONNECTIONS),
                hashing: FairGate::new(options.hash_concurrency),
                bcrypt_runs: std::sync::atomic::AtomicU64::new(0),
                bcrypt_cost: options.bcrypt_cost,
                dummy_hash,
                login_locks: DashMap::new(),
                metrics: OnceLock::new(),
                behind: TaskTracker::new(),
                pending: lockout::Pending::default(),
                staged: AtomicU8::new(NEVER_STAGED),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Counts this store's call times, bcrypt waits and lockouts into
    /// `metrics` from now on (a store has one set of metrics for its life).
    pub fn attach_metrics(&self, metrics: Metrics) {
        let _ = self.inner.metrics.set(metrics);
    }

    /// Counts into the attached metrics, if any.
    fn count(&self, f: impl FnOnce(&Metrics)) {
        if let Some(metrics) = self.inner.metrics.get() {
            f(metrics);
        }
    }

    /// Accounts: creation, login checks, and every change to an account.
    pub fn accounts(&self) -> accounts::Accounts<'_> {
        accounts::Accounts::new(self)
    }

    /// Characters: creation under the slot limit, the menu's list, entering play.
    pub fn characters(&self) -> characters::Characters<'_> {
        characters::Characters::new(self)
    }

    /// Session rows: opened together with the login's last checks, closed at the end.
    pub fn sessions(&self) -> sessions::Sessions<'_> {
        sessions::Sessions::new(self)
    }

    /// The world catalogue, first item placement, and world access.
    pub fn worlds(&self) -> worlds::WorldRows<'_> {
        worlds::WorldRows::new(self)
    }

    /// Building: who may build where, each builder's history, and the one
    /// transaction a build commits in.
    pub fn builds(&self) -> builds::Builds<'_> {
        builds::Builds::new(self)
    }

    /// Doors in play: their stored states and the one transaction that
    /// changes one.
    pub fn doors(&self) -> doors::Doors<'_> {
        doors::Doors::new(self)
    }

    /// Item instances: what lies in rooms, what characters carry, and moves.
    pub fn items(&self) -> items::Items<'_> {
        items::Items::new(self)
    }

    /// The world's life: NPCs' places and items, scripts' state.
    pub fn life(&self) -> life::Life<'_> {
        life::Life::new(self)
    }

    /// Stored talk: a room's history, the admin's chat log, pruning.
    pub fn chat(&self) -> chat::Chat<'_> {
        chat::Chat::new(self)
    }

    /// The channels' records: on/off switches, mutes, history, catch-up.
    pub fn channels(&self) -> channels::Channels<'_> {
        channels::Channels::new(self)
    }

    /// Each account's aliases.
    pub fn aliases(&self) -> aliases::Aliases<'_> {
        aliases::Aliases::new(self)
    }

    /// Which accounts ignore which.
    pub fn ignores(&self) -> ignores::Ignores<'_> {
        ignores::Ignores::new(self)
    }

    /// Mail between characters of a world: sending within its limits, a
    /// mailbox read, a letter read or deleted.
    pub fn mail(&self) -> mail::MailBox<'_> {
        mail::MailBox::new(self)
    }

    /// What characters show of themselves (their descriptions).
    pub fn profiles(&self) -> profiles::Profiles<'_> {
        profiles::Profiles::new(self)
    }

    /// A character looked up by name, for `finger`.
    pub fn whois(&self) -> whois::Whois<'_> {
        whois::Whois::new(self)
    }

    /// The admin's views and the upkeep job's clean-ups.
    pub fn admin(&self) -> admin::Admin<'_> {
        admin::Admin::new(self)
    }

    /// Runs `work`, what a call writes after it has answered, where
    /// [`Store::settle`] waits for it.
    fn behind_the_answer(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.inner.behind.spawn(work);
    }

    /// Waits until what calls left to write behind their answers is written
    /// (the records of login attempts: a failure's count, a re-hash). The
    /// server's shutdown waits here before the process may end, so that no
    /// attempt answered before it stopped goes unrecorded. Work left behind
    /// later is waited for by a later call.
    pub async fn settle(&self) {
        // Records a full disk kept in memory get one more try, then are
        // given up (and named in the log): the process is ending.
        self.inner.pending.stop();
        // A closed tracker still tracks what is spawned on it; closing only
        // lets `wait` end whenever nothing is left.
        self.inner.behind.close();
        self.inner.behind.wait().await;
    }

    /// Waits until the login records the disk refused (failure counts,
    /// locks, a success's reset) are written: at once when there are none.
    pub async fn kept_records_written(&self) {
        self.inner.pending.written().await;
    }

    /// Stages a full disk on the store's own connections (`true`) or ends
    /// it: while staged, each runs with `PRAGMA query_only`, so SQLite
    /// refuses every write transaction as it begins (`SQLITE_READONLY`) and
    /// reads go on. That is what a full disk does to them: once the WAL cannot
    /// grow, every write fails (`SQLITE_FULL`), even one that changes a row
    /// in place. (The writer's page limit, `Writer::limit_pages`, refuses
    /// only what needs a new page, which the store's small updates rarely
    /// do.) How the tests and drills stage a full disk without root.
    pub fn stage_full_disk(&self, full: bool) {
        let staged = if full { STAGED_FULL } else { STAGED_EMPTY };
        self.inner.staged.store(staged, Ordering::SeqCst);
    }

    /// The schema version the file holds.
    pub async fn schema_version(&self) -> StoreResult<i64> {
        self.call(|db| schema::user_version(db)).await
    }

    /// Runs `f` with a connection on the blocking pool. Private to the store: the
    /// rest of the program uses the typed fronts above.
    pub(in crate::store) async fn call<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let started = Instant::now();
        let _permit = self
            .inner
            .calls
            .acquire()
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        let store = self.clone();
        let result = tokio::task::spawn_blocking(move || store.call_blocking(f))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        self.count(|m| m.store_call(started.elapsed()));
        result
    }

    fn call_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.take_connection()?;
        self.apply_staging(&conn);
        let result = f(&mut conn);
        self.return_connection(conn);
        result
    }

    /// Puts a connection in or out of a staged full disk (see
    /// [`Store::stage_full_disk`]); nothing unless one was ever staged.
    fn apply_staging(&self, conn: &Connection) {
        let staged = self.inner.staged.load(Ordering::SeqCst);
        if staged == NEVER_STAGED {
            return;
        }
        if let Err(err) = conn.pragma_update(None, "query_only", staged == STAGED_FULL) {
            tracing::warn!(%err, "could not stage a full disk on a store connection");
        }
    }

    fn take_connection(&self) -> StoreResult<Connection> {
        let pooled = self.inner.idle.lock().pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => schema::open_connection(&self.inner.path),
        }
    }

    fn return_connection(&self, conn: Connection) {
        let mut idle = self.inner.idle.lock();
        if idle.len() < MAX_IDLE_CONNECTIONS && conn.is_autocommit() {
            idle.push(conn);
        }
    }

    /// Hashes a password with bcrypt at the configured cost, refusing (never
    /// truncating) input over 72 bytes. Callers go through
    /// `accounts().hash_new_password`, which applies the policy first.
    async fn hash_password(&self, password: String) -> StoreResult<String> {
        let queued = Instant::now();
        let _permit = self.inner.hashing.enter().await;
        self.count(|m| m.bcrypt_wait(queued.elapsed()));
        self.count_bcrypt_run();
        let cost = self.inner.bcrypt_cost;
        tokio::task::spawn_blocking(move || hashing::hash(&password, cost))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Checks a password against a stored hash, once `admitted` still says
    /// yes when the turn at bcrypt has come; `None` (nothing checked) when it
    /// says no. With no hash (unknown account) it checks against the dummy
    /// hash and answers false, at the same cost.
    async fn verify_password_if(
        &self,
        password: String,
        hash: Option<String>,
        admitted: &(dyn Fn() -> bool + Sync),
    ) -> Option<bool> {
        let queued = Instant::now();
        let _permit = self.inner.hashing.enter().await;
        self.count(|m| m.bcrypt_wait(queued.elapsed()));
        if !admitted() {
            return None;
        }
        self.count_bcrypt_run();
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.inner.dummy_hash.clone());
        let verified = tokio::task::spawn_blocking(move || hashing::verify(&password, &hash))
            .await
            .unwrap_or(false);
        Some(known && verified)
    }

    /// The bcrypt cost new hashes are made at.
    fn bcrypt_cost(&self) -> u32 {
        self.inner.bcrypt_cost
    }

    /// How many bcrypt runs (hashes and checks) the store has started.
    pub fn bcrypt_runs(&self) -> u64 {
        self.inner
            .bcrypt_runs
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_bcrypt_run(&self) {
        self.inner
            .bcrypt_runs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The lock that serialises login attempts on one account name.
    fn login_lock(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.inner
            .login_locks
            .entry(name.to_ascii_lowercase())
            .or_default()
            .clone()
    }

    /// Forgets an account's login lock once nobody holds or waits for it.
    fn release_login_lock(&self, name: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        drop(lock);
        self.inner
            .login_locks
            .remove_if(&name.to_ascii_lowercase(), |_, l| Arc::strong_count(l) == 1);
    }
}

/// A store on a fresh database in a temporary directory, with the world `w` and
/// one player account named `account`, whose id is returned (store unit tests).
#[cfg(test)]
pub(crate) async fn test_store(account: &str) -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = StoreOptions {
        bcrypt_cost: 4,
        hash_concurrency: 1,
    };
    let store = Store::open(&dir.path().join("t.db"), options).expect("open");
    let name = account.to_string();
    let user_id = store
        .call(move |db| {
            db.execute_batch(schema::ONE_WORLD)?;
            db.execute(
                "INSERT INTO users (username, password_hash, created_at) VALUES (?1, 'x', '')",
                [name],
            )?;
            Ok(db.last_insert_rowid())
        })
        .await
        .expect("seed");
    (dir, store, user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why the store stages a full disk with `query_only` and not with the
    /// writer's page limit: an update in place needs no new page, so the
    /// limit lets it through, where a real full disk refuses it (the WAL
    /// cannot grow).
    #[tokio::test]
    async fn a_page_limit_lets_an_update_in_place_through_and_the_staged_full_disk_does_not() {
        let (_dir, store, user_id) = test_store("ann").await;
        let update = move |db: &mut Connection| {
            write_tx(db, |tx| {
                tx.execute(
                    "UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = ?1",
                    [user_id],
                )?;
                Ok(())
            })
        };
        let limited = store
            .call(move |db| {
                let pages: i64 = db.query_row("PRAGMA page_count", [], |r| r.get(0))?;
                db.pragma_update(None, "max_page_count", pages)?;
                let done = update(db);
                db.pragma_update(None, "max_page_count", i64::from(u32::MAX - 1))?;
                done
            })
            .await;
        assert!(limited.is_ok(), "{limited:?}");
        store.stage_full_disk(true);
        let staged = store.call(update).await;
        assert!(
            staged.as_ref().is_err_and(StoreError::disk_refused),
            "{staged:?}"
        );
        let read = store.accounts().find("ann").await;
        assert!(read.is_ok_and(|a| a.is_some()), "reads go on");
        store.stage_full_disk(false);
        assert!(store.call(update).await.is_ok());
    }
}
