//! The store: every byte gaslamp keeps on disk lives in one SQLite file, and this
//! module is the only code that speaks SQL.
//!
//! [`Store`] is a cheap, cloneable handle. Its async methods run their SQLite work on
//! tokio's blocking pool ([`Store::call`]), never on an async worker, each call in one
//! transaction; writes use `BEGIN IMMEDIATE` so a busy database is noticed at the
//! start of a transaction instead of half-way through it. Password hashing runs
//! there too, behind a semaphore, so a flood of logins cannot starve everything else.
//! Chat lines and location moves do not come through here one by one: they go to the
//! batching [`writer`], which owns its own connection.
//!
//! **Invariant:** no SQL text is ever built from user input; values are bound as
//! parameters. The store knows nothing about telnet or sessions' state machines.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod characters;
pub mod chat;
pub mod items;
pub mod lockout;
pub mod schema;
pub mod sessions;
pub mod worlds;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};
use tokio::sync::Semaphore;

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
pub fn write_tx<T>(
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
    hashing: Semaphore,
    bcrypt_cost: u32,
    /// A real hash of a random secret, verified against when an account does not
    /// exist, so a wrong name costs as much time as a wrong password.
    dummy_hash: String,
}

/// Idle connections kept for reuse; more may exist briefly under load.
const MAX_IDLE_CONNECTIONS: usize = 8;

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to
    /// date. Blocking: call it at start-up, before serving.
    pub fn open(path: &Path, options: StoreOptions) -> StoreResult<Store> {
        let mut conn = schema::open_connection(path)?;
        schema::migrate(&mut conn)?;
        let dummy_hash =
            bcrypt::non_truncating_hash(uuid::Uuid::new_v4().to_string(), options.bcrypt_cost)
                .map_err(|e| StoreError::Hash(e.to_string()))?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                idle: Mutex::new(vec![conn]),
                calls: Semaphore::new(MAX_IDLE_CONNECTIONS),
                hashing: Semaphore::new(options.hash_concurrency.max(1)),
                bcrypt_cost: options.bcrypt_cost,
                dummy_hash,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with a connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let _permit = self
            .inner
            .calls
            .acquire()
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.call_blocking(f))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// The same as [`Store::call`] for code that is already off the async workers
    /// (the command-line tools).
    pub fn call_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.take_connection()?;
        let result = f(&mut conn);
        self.return_connection(conn);
        result
    }

    fn take_connection(&self) -> StoreResult<Connection> {
        let pooled = self.inner.idle.lock().ok().and_then(|mut idle| idle.pop());
        match pooled {
            Some(conn) => Ok(conn),
            None => schema::open_connection(&self.inner.path),
        }
    }

    fn return_connection(&self, conn: Connection) {
        if let Ok(mut idle) = self.inner.idle.lock()
            && idle.len() < MAX_IDLE_CONNECTIONS
            && conn.is_autocommit()
        {
            idle.push(conn);
        }
    }

    /// Hashes a password with bcrypt at the configured cost, refusing (never
    /// truncating) input over 72 bytes.
    pub async fn hash_password(&self, password: String) -> StoreResult<String> {
        let _permit = self
            .inner
            .hashing
            .acquire()
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        let cost = self.inner.bcrypt_cost;
        tokio::task::spawn_blocking(move || bcrypt::non_truncating_hash(password, cost))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
            .map_err(|e| StoreError::Hash(e.to_string()))
    }

    /// Checks a password against a stored hash; with no hash (unknown account) it
    /// checks against the dummy hash and answers false, at the same cost.
    pub async fn verify_password(&self, password: String, hash: Option<String>) -> bool {
        let Ok(_permit) = self.inner.hashing.acquire().await else {
            return false;
        };
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.inner.dummy_hash.clone());
        let verified = tokio::task::spawn_blocking(move || {
            bcrypt::non_truncating_verify(password, &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        known && verified
    }

    /// Blocking variant of [`Store::hash_password`] for the command-line tools.
    pub fn hash_password_blocking(&self, password: &str) -> StoreResult<String> {
        bcrypt::non_truncating_hash(password, self.inner.bcrypt_cost)
            .map_err(|e| StoreError::Hash(e.to_string()))
    }
}
