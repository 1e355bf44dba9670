//! The batching writer: one thread with its own connection that turns a stream of
//! chat lines, location moves and session renewals into a few large transactions.
//!
//! Talk is delivered to players first and written here afterwards, so the fan-out
//! never waits for the disk. But a line is only delivered once it has its place
//! in the queue ([`Writer::reserve_chat`]): the queue is bounded, and when the
//! disk has fallen that far behind, the speaker is told the records are busy and
//! nobody hears a line that could not be kept. Moves wait for room instead
//! (backpressure on the one who moves). Each batch is one `BEGIN IMMEDIATE`
//! transaction; [`Writer::flush`] resolves once everything queued before it is
//! committed, and [`Writer::stop`] drains the queue completely before the thread
//! ends.
//!
//! A batch the disk refuses (full, an I/O error, read-only, locked) is kept and
//! tried again, backing off up to a few seconds, until the disk takes it; the
//! batches behind it wait in the queue, so nothing is dropped and the order is
//! kept. Operators get one error line when such an outage begins and one line
//! when it ends. Only at shutdown is there a limit: after [`STOP_GRACE`] of
//! refusals the rest is given up (and counted in the log). A batch refused for
//! what it holds (a constraint) is written row by row, so only the offending
//! row is lost.
//!
//! **Invariant:** this is the only writer of `chat_messages` and
//! `character_locations` while the server runs.
//! **Invariant:** a committed batch is the oldest one not yet committed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, params};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};

use super::{StoreError, StoreResult, schema, write_tx};
use crate::metrics::Metrics;

// The kinds are declared once, with stored talk; queued rows name them here.
pub use super::chat::ChatKind;

/// One line of talk to store.
#[derive(Debug, Clone)]
pub struct ChatRow {
    pub world_id: Arc<str>,
    pub room: Arc<str>,
    pub character_id: Option<i64>,
    pub user_id: Option<i64>,
    pub recipient_character_id: Option<i64>,
    pub kind: ChatKind,
    pub message: String,
    pub created_at: String,
    /// The server-wide channel a line of kind `channel` was said on; `None`
    /// for room talk.
    pub channel: Option<Arc<str>>,
}

/// Where a character now stands.
#[derive(Debug, Clone)]
pub struct LocationRow {
    pub character_id: i64,
    pub world_id: Arc<str>,
    pub room: Arc<str>,
    pub updated_at: String,
}

/// Activity on a session: its row's last activity and sliding expiry move on.
#[derive(Debug, Clone)]
pub struct SessionTouch {
    pub session_id: String,
    pub last_activity: String,
    pub expires_at: String,
}

impl SessionTouch {
    /// A touch for activity now, expiring `ttl` from now.
    pub fn now(session_id: &str, ttl: Duration) -> SessionTouch {
        let now = chrono::Utc::now();
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(24));
        SessionTouch {
            session_id: session_id.to_string(),
            last_activity: super::iso(now),
            expires_at: super::iso(now + ttl),
        }
    }
}

/// The client's name on a session row, for `/sessions`.
#[derive(Debug, Clone)]
pub struct SessionClient {
    pub session_id: String,
    pub client: String,
}

enum Op {
    Chat(ChatRow),
    Location(LocationRow),
    Touch(SessionTouch),
    Client(SessionClient),
    Flush(oneshot::Sender<()>),
    Stop(oneshot::Sender<WriterStats>),
}

/// Totals since the writer started, for logs and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub chat_rows: u64,
    pub location_rows: u64,
    pub transactions: u64,
    pub failed_rows: u64,
}

/// The writer's queue is gone: the server is stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the writer has stopped")]
pub struct WriterClosed;

/// The writer's queue is full: the disk has fallen far behind (or refuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the writer's queue is full")]
pub struct WriterFull;

/// How the writer is doing, as it last reported (for `/health`, `/metrics`
/// and the tests that stage a full disk).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterHealth {
    /// The disk refuses the oldest batch; it is being tried again.
    pub failing: bool,
    /// Commits the disk refused since the start (each retry counts).
    pub refused_commits: u64,
    /// Commits refused since the last one that went through.
    pub refused_in_a_row: u64,
    /// Why the latest commit was refused, while the writer is failing.
    pub cause: Option<Arc<str>>,
    /// Batches committed since the start.
    pub transactions: u64,
    /// Rows given up since the start: refused for what they hold, or left
    /// when a stop outlasted its grace on a disk that still refused.
    pub dropped_rows: u64,
}

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 8192;

/// The first pause before a refused batch is tried again; it doubles up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How long a stopping writer keeps trying a disk that refuses, before it
/// gives up what is left (the server must end some time).
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// A cloneable handle for queueing writes.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Op>,
    shared: Arc<Shared>,
}

/// What the handles and the thread share outside the queue.
struct Shared {
    /// A cap on the database's pages (0: none), see [`Writer::limit_pages`].
    page_limit: AtomicU64,
    /// Set by [`Writer::stop`] before it queues the stop: a writer stuck on a
    /// refusing disk starts its grace period.
    stopping: AtomicBool,
    /// [`STOP_GRACE`], in milliseconds (shorter in tests).
    stop_grace_ms: AtomicU64,
    health: watch::Sender<WriterHealth>,
    /// Where committed batches are counted, once a server attached it.
    metrics: OnceLock<Metrics>,
}

/// A place in the writer's queue, taken before a line of talk is delivered
/// (see [`Writer::reserve_chat`]).
pub struct ChatSlot<'a> {
    /// `None` once the writer has stopped (the server is going down).
    permit: Option<mpsc::Permit<'a, Op>>,
}

impl ChatSlot<'_> {
    /// Queues the line in the place taken for it.
    pub fn store(self, row: ChatRow) {
        match self.permit {
            Some(permit) => permit.send(Op::Chat(row)),
            None => tracing::warn!("chat not stored: the writer has stopped"),
        }
    }
}

/// The writer thread; join it after [`Writer::stop`].
pub struct WriterThread {
    join: JoinHandle<()>,
}

impl WriterThread {
    /// Waits (on the blocking pool) for the thread to end.
    pub async fn join(self) {
        let _ = tokio::task::spawn_blocking(move || self.join.join()).await;
    }
}

impl Writer {
    /// Starts the writer's thread, which opens the writer's own connection;
    /// resolves once it is open. The opening happens on that thread, never on
    /// the async worker awaiting this: SQLite may wait there for a lock.
    pub async fn start(path: &Path, capacity: usize) -> StoreResult<(Writer, WriterThread)> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let shared = Arc::new(Shared {
            page_limit: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            stop_grace_ms: AtomicU64::new(STOP_GRACE.as_millis() as u64),
            health: watch::Sender::new(WriterHealth::default()),
            metrics: OnceLock::new(),
        });
        let thread_shared = shared.clone();
        let (opened, open) = oneshot::channel();
        let path = path.to_path_buf();
        let join = std::thread::Builder::new()
            .name("gaslamp-writer".into())
            .spawn(move || match schema::open_connection(&path) {
                Ok(conn) => {
                    let _ = opened.send(Ok(()));
                    run(conn, rx, &thread_shared);
                }
                Err(err) => {
                    let _ = opened.send(Err(err));
                }
            })
            .map_err(|e| StoreError::Task(e.to_string()))?;
        open.await
            .map_err(|_| StoreError::Task("the writer thread ended at its start".into()))??;
        Ok((Writer { tx, shared }, WriterThread { join }))
    }

    /// Takes a place in the queue for a line of talk, without waiting: the line
    /// is delivered only once it has one, so nothing anybody heard is lost for
    /// want of room. [`WriterFull`] when the disk is that far behind.
    pub fn reserve_chat(&self) -> Result<ChatSlot<'_>, WriterFull> {
        match self.tx.try_reserve() {
            Ok(permit) => Ok(ChatSlot {
                permit: Some(permit),
            }),
            Err(TrySendError::Full(())) => Err(WriterFull),
            Err(TrySendError::Closed(())) => Ok(ChatSlot { permit: None }),
        }
    }

    /// Queues a chat line, waiting for room in the queue if the disk is behind.
    pub async fn chat(&self, row: ChatRow) -> Result<(), WriterClosed> {
        self.tx.send(Op::Chat(row)).await.map_err(|_| WriterClosed)
    }

    /// Queues a location update.
    pub async fn location(&self, row: LocationRow) -> Result<(), WriterClosed> {
        self.tx
            .send(Op::Location(row))
            .await
            .map_err(|_| WriterClosed)
    }

    /// Queues a session renewal if there is room; never waits.
    pub fn try_touch_session(&self, touch: SessionTouch) -> bool {
        self.tx.try_send(Op::Touch(touch)).is_ok()
    }

    /// Queues the client's name for a session row if there is room; never
    /// waits (the name is a courtesy for `/sessions`).
    pub fn try_set_client(&self, client: SessionClient) -> bool {
        self.tx.try_send(Op::Client(client)).is_ok()
    }

    /// Resolves when everything queued before this call is committed.
    pub async fn flush(&self) -> Result<(), WriterClosed> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Op::Flush(done))
            .await
            .map_err(|_| WriterClosed)?;
        wait.await.map_err(|_| WriterClosed)
    }

    /// Counts every committed batch (its rows and commit time) into `metrics`
    /// from now on.
    pub fn attach_metrics(&self, metrics: Metrics) {
        let _ = self.shared.metrics.set(metrics);
    }

    /// Operations waiting in the queue now.
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Operations the queue holds at most.
    pub fn queue_capacity(&self) -> usize {
        self.tx.max_capacity()
    }

    /// How the writer is doing; changes as it commits or is refused.
    pub fn health(&self) -> watch::Receiver<WriterHealth> {
        self.shared.health.subscribe()
    }

    /// Caps the database file at `pages` pages as the writer sees it (`None`
    /// lifts the cap), taking effect before its next commit. Past the cap
    /// SQLite refuses with `SQLITE_FULL`, exactly as a full disk does: this is
    /// how a full disk is staged without root (the tests and fault drills).
    pub fn limit_pages(&self, pages: Option<u64>) {
        self.shared
            .page_limit
            .store(pages.unwrap_or(0), Ordering::SeqCst);
    }

    /// Commits everything still queued and ends the thread; later writes fail
    /// with [`WriterClosed`]. On a disk that keeps refusing, what is left is
    /// given up after [`STOP_GRACE`].
    pub async fn stop(&self) -> Result<WriterStats, WriterClosed> {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Op::Stop(done))
            .await
            .map_err(|_| WriterClosed)?;
        wait.await.map_err(|_| WriterClosed)
    }
}

/// A batch taken off the queue, split by what it asks for.
#[derive(Default)]
struct Batch {
    chats: Vec<ChatRow>,
    /// The last location per character: earlier moves in the batch are superseded.
    locations: HashMap<i64, LocationRow>,
    /// The last renewal per session, likewise.
    touches: HashMap<String, SessionTouch>,
    /// The last client name per session, likewise.
    clients: HashMap<String, String>,
    flushes: Vec<oneshot::Sender<()>>,
    stop: Option<oneshot::Sender<WriterStats>>,
}

impl Batch {
    fn add(&mut self, op: Op) {
        match op {
            Op::Chat(row) => self.chats.push(row),
            Op::Location(row) => {
                self.locations.insert(row.character_id, row);
            }
            Op::Touch(touch) => {
                self.touches.insert(touch.session_id.clone(), touch);
            }
            Op::Client(row) => {
                self.clients.insert(row.session_id, row.client);
            }
            Op::Flush(done) => self.flushes.push(done),
            Op::Stop(done) => self.stop = Some(done),
        }
    }

    fn rows(&self) -> usize {
        self.chats.len() + self.locations.len() + self.touches.len() + self.clients.len()
    }

    /// Every row on its own, in the batch's order (chat lines in the order
    /// they were said).
    fn singles(&self) -> Vec<Batch> {
        let chats = self.chats.iter().map(|row| Batch {
            chats: vec![row.clone()],
            ..Batch::default()
        });
        let locations = self.locations.values().map(|row| Batch {
            locations: HashMap::from([(row.character_id, row.clone())]),
            ..Batch::default()
        });
        let touches = self.touches.values().map(|touch| Batch {
            touches: HashMap::from([(touch.session_id.clone(), touch.clone())]),
            ..Batch::default()
        });
        let clients = self.clients.iter().map(|(session_id, client)| Batch {
            clients: HashMap::from([(session_id.clone(), client.clone())]),
            ..Batch::default()
        });
        chats
            .chain(locations)
            .chain(touches)
            .chain(clients)
            .collect()
    }
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Op>, shared: &Shared) {
    let mut disk = Disk::new(conn, shared);
    while let Some(first) = rx.blocking_recv() {
        let mut batch = Batch::default();
        batch.add(first);
        while batch.rows() < MAX_BATCH && batch.stop.is_none() {
            match rx.try_recv() {
                Ok(op) => batch.add(op),
                Err(_) => break,
            }
        }
        if batch.stop.is_some() {
            // Nothing new may arrive; whatever is already queued still belongs in
            // this last commit.
            rx.close();
            while let Ok(op) = rx.try_recv() {
                batch.add(op);
            }
        }
        let started = Instant::now();
        disk.commit_kept(&batch, true);
        if let Some(metrics) = shared.metrics.get().filter(|_| batch.rows() > 0) {
            metrics.writer_batch(batch.rows(), started.elapsed());
        }
        for done in batch.flushes.drain(..) {
            let _ = done.send(());
        }
        if let Some(done) = batch.stop.take() {
            tracing::info!(
                chat_rows = disk.stats.chat_rows,
                location_rows = disk.stats.location_rows,
                transactions = disk.stats.transactions,
                failed_rows = disk.stats.failed_rows,
                "writer drained and stopped"
            );
            let _ = done.send(disk.stats);
            return;
        }
    }
}

/// The writer thread's connection and what it knows about the disk.
struct Disk<'s> {
    conn: Connection,
    shared: &'s Shared,
    stats: WriterStats,
    /// When the disk began refusing, while it does.
    outage: Option<Outage>,
    /// The page cap applied to the connection (0: none), and SQLite's own
    /// maximum to go back to.
    page_limit: u64,
    default_max_pages: u64,
    /// When the writer first saw that it is stopping while the disk refused.
    stop_seen: Option<Instant>,
}

struct Outage {
    since: Instant,
    refusals: u64,
}

impl<'s> Disk<'s> {
    fn new(conn: Connection, shared: &'s Shared) -> Disk<'s> {
        let default_max_pages = conn
            .query_row("PRAGMA max_page_count", [], |r| r.get::<_, i64>(0))
            .map_or(u64::from(u32::MAX - 1), |n| n.unsigned_abs());
        Disk {
            conn,
            shared,
            stats: WriterStats::default(),
            outage: None,
            page_limit: 0,
            default_max_pages,
            stop_seen: None,
        }
    }

    /// Commits a batch, keeping it and trying again while the disk refuses
    /// (see the module). With `split`, a batch refused for what it holds is
    /// written row by row instead.
    fn commit_kept(&mut self, batch: &Batch, split: bool) {
        if batch.rows() == 0 {
            return;
        }
        let mut backoff = FIRST_BACKOFF;
        loop {
            self.apply_page_limit();
            let err = match commit(&mut self.conn, batch) {
                Ok(()) => return self.committed(batch),
                Err(err) => err,
            };
            if !is_refusal(&err) {
                if split && batch.rows() > 1 {
                    tracing::error!(%err, rows = batch.rows(), "a batch was refused for its contents; writing it row by row");
                    for single in batch.singles() {
                        self.commit_kept(&single, false);
                    }
                } else {
                    tracing::error!(%err, rows = batch.rows(), "the writer dropped a row the database refuses");
                    self.dropped(batch.rows());
                }
                return;
            }
            self.refused(&err, batch);
            if self.past_stop_grace() {
                tracing::error!(%err, rows = batch.rows(), "the writer stops on a disk that still refuses; these rows are lost");
                self.dropped(batch.rows());
                return;
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn committed(&mut self, batch: &Batch) {
        self.stats.chat_rows += batch.chats.len() as u64;
        self.stats.location_rows += batch.locations.len() as u64;
        self.stats.transactions += 1;
        if let Some(outage) = self.outage.take() {
            tracing::warn!(
                secs = outage.since.elapsed().as_secs(),
                refusals = outage.refusals,
                "the disk takes the writer's batches again; nothing was lost"
            );
        }
        self.shared.health.send_modify(|health| {
            health.failing = false;
            health.refused_in_a_row = 0;
            health.cause = None;
            health.transactions += 1;
        });
    }

    /// Counts rows given up.
    fn dropped(&mut self, rows: usize) {
        self.stats.failed_rows += rows as u64;
        if let Some(metrics) = self.shared.metrics.get() {
            metrics.writer_dropped_rows(rows);
        }
        self.shared
            .health
            .send_modify(|health| health.dropped_rows += rows as u64);
    }

    /// Notes a refusal: one error line when an outage begins, none after.
    fn refused(&mut self, err: &StoreError, batch: &Batch) {
        match &mut self.outage {
            Some(outage) => outage.refusals += 1,
            None => {
                tracing::error!(
                    %err,
                    rows = batch.rows(),
                    "the database refuses the writer's batch; it is kept and tried again until the disk takes it"
                );
                self.outage = Some(Outage {
                    since: Instant::now(),
                    refusals: 1,
                });
            }
        }
        // Counted first: whoever sees the health sees the count too.
        if let Some(metrics) = self.shared.metrics.get() {
            metrics.writer_refused();
        }
        let cause: Arc<str> = Arc::from(err.to_string());
        self.shared.health.send_modify(|health| {
            health.failing = true;
            health.refused_commits += 1;
            health.refused_in_a_row += 1;
            health.cause = Some(cause);
        });
    }

    /// Whether the server is stopping and the disk has refused for longer
    /// than [`STOP_GRACE`] since the writer noticed.
    fn past_stop_grace(&mut self) -> bool {
        if !self.shared.stopping.load(Ordering::SeqCst) {
            return false;
        }
        let seen = *self.stop_seen.get_or_insert_with(Instant::now);
        let grace = Duration::from_millis(self.shared.stop_grace_ms.load(Ordering::SeqCst));
        seen.elapsed() >= grace
    }

    fn apply_page_limit(&mut self) {
        let wanted = self.shared.page_limit.load(Ordering::SeqCst);
        if wanted == self.page_limit {
            return;
        }
        let pages = if wanted == 0 {
            self.default_max_pages
        } else {
            wanted
        };
        let pages = i64::try_from(pages).unwrap_or(i64::MAX);
        match self
            .conn
            .pragma_update_and_check(None, "max_page_count", pages, |r| r.get::<_, i64>(0))
        {
            Ok(_) => self.page_limit = wanted,
            Err(err) => tracing::warn!(%err, "could not set the page limit"),
        }
    }
}

/// Whether a failure is the disk's or the database's state (full, I/O, locked,
/// read-only, out of memory), which passes, rather than the batch's contents.
fn is_refusal(err: &StoreError) -> bool {
    match err {
        StoreError::Busy => true,
        StoreError::Sqlite(err) => matches!(
            err.sqlite_error_code(),
            Some(
                ErrorCode::DiskFull
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::ReadOnly
                    | ErrorCode::CannotOpen
                    | ErrorCode::OutOfMemory
                    | ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::FileLockingProtocolFailed
            )
        ),
        _ => false,
    }
}

fn commit(conn: &mut Connection, batch: &Batch) -> StoreResult<()> {
    write_tx(conn, |tx| {
        let mut chat = tx.prepare_cached(
            "INSERT INTO chat_messages (world_id, room, character_id, user_id, \
             recipient_character_id, kind, message, created_at, channel) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for row in &batch.chats {
            chat.execute(params![
                row.world_id.as_ref(),
                row.room.as_ref(),
                row.character_id,
                row.user_id,
                row.recipient_character_id,
                row.kind.as_str(),
                row.message,
                row.created_at,
                row.channel.as_deref()
            ])?;
        }
        let mut location = tx.prepare_cached(
            "INSERT INTO character_locations (character_id, world_id, room, updated_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (character_id) DO UPDATE SET \
             world_id = excluded.world_id, room = excluded.room, updated_at = excluded.updated_at",
        )?;
        for row in batch.locations.values() {
            location.execute(params![
                row.character_id,
                row.world_id.as_ref(),
                row.room.as_ref(),
                row.updated_at
            ])?;
        }
        let mut touch = tx.prepare_cached(
            "UPDATE sessions SET last_activity = ?2, expires_at = ?3 WHERE session_id = ?1",
        )?;
        for row in batch.touches.values() {
            touch.execute(params![row.session_id, row.last_activity, row.expires_at])?;
        }
        let mut client =
            tx.prepare_cached("UPDATE sessions SET client_type = ?2 WHERE session_id = ?1")?;
        for (session_id, name) in &batch.clients {
            client.execute(params![session_id, name])?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::now_iso;

    fn chat(n: usize) -> ChatRow {
        ChatRow {
            world_id: "w".into(),
            room: "z:r".into(),
            character_id: None,
            user_id: None,
            recipient_character_id: None,
            kind: ChatKind::Say,
            message: format!("line {n}"),
            created_at: now_iso(),
            channel: None,
        }
    }

    #[tokio::test]
    async fn everything_queued_is_committed_by_stop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.db");
        let mut conn = schema::open_connection(&path).expect("open");
        schema::migrate(&mut conn).expect("migrate");
        let (writer, thread) = Writer::start(&path, 64).await.expect("start");
        for n in 0..1000 {
            writer.chat(chat(n)).await.expect("queue");
        }
        let stats = writer.stop().await.expect("stop");
        thread.join().await;
        assert_eq!(stats.chat_rows, 1000);
        assert!(stats.transactions >= 1);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM chat_messages", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 1000);
        assert!(
            writer.chat(chat(0)).await.is_err(),
            "writes after stop fail"
        );
    }

    #[tokio::test]
    async fn flush_waits_for_the_commit_and_locations_coalesce() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.db");
        let mut conn = schema::open_connection(&path).expect("open");
        schema::migrate(&mut conn).expect("migrate");
        conn.execute_batch(
            "INSERT INTO worlds (id, name, registered_at, updated_at) VALUES ('w','W','','');
             INSERT INTO characters (id, world_id, name, created_at) VALUES (7, 'w', 'Ann', '');",
        )
        .expect("seed");
        let (writer, thread) = Writer::start(&path, 64).await.expect("start");
        for room in ["z:a", "z:b", "z:c"] {
            writer
                .location(LocationRow {
                    character_id: 7,
                    world_id: "w".into(),
                    room: room.into(),
                    updated_at: now_iso(),
                })
                .await
                .expect("queue");
        }
        writer.flush().await.expect("flush");
        let room: String = conn
            .query_row(
                "SELECT room FROM character_locations WHERE character_id = 7",
                [],
                |r| r.get(0),
            )
            .expect("row");
        assert_eq!(room, "z:c");
        writer.stop().await.expect("stop");
        thread.join().await;
    }

    /// `Writer::start` used to open its connection on the async worker that
    /// called it: while SQLite waited there for a lock, nothing else on that
    /// worker ran, here not even the task that would release the lock.
    #[tokio::test(flavor = "current_thread")]
    async fn writer_start_does_not_block_the_async_worker_opening_its_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.db");
        // A file in rollback-journal mode, locked: opening a connection (which
        // switches to WAL) waits for the lock.
        let holder = Connection::open(&path).expect("open");
        holder
            .execute_batch("CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);")
            .expect("lock");
        let releaser = tokio::spawn(async move {
            holder.execute_batch("COMMIT").expect("release");
        });
        let started = Writer::start(&path, 8).await;
        let (writer, thread) = started.expect("the writer opened once the lock was released");
        releaser.await.expect("released");
        writer.stop().await.expect("stop");
        thread.join().await;
    }

    /// A fresh database and a writer on it, with `conn` to look inside.
    async fn fresh(capacity: usize) -> (tempfile::TempDir, Connection, Writer, WriterThread) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.db");
        let mut conn = schema::open_connection(&path).expect("open");
        schema::migrate(&mut conn).expect("migrate");
        let (writer, thread) = Writer::start(&path, capacity).await.expect("start");
        (dir, conn, writer, thread)
    }

    /// A line longer than a page: storing it always needs new pages.
    fn long_chat(n: usize) -> ChatRow {
        ChatRow {
            message: format!("line {n:04} {}", "x".repeat(5000)),
            ..chat(n)
        }
    }

    fn page_count(conn: &Connection) -> u64 {
        conn.query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0))
            .expect("page count")
            .unsigned_abs()
    }

    fn stored_lines(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT substr(message, 1, 9) FROM chat_messages ORDER BY id")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    /// Waits until the writer has been refused at least `n` times.
    async fn refused(writer: &Writer, n: u64) {
        let mut health = writer.health();
        let waited = tokio::time::timeout(
            Duration::from_secs(15),
            health.wait_for(|h| h.refused_commits >= n),
        )
        .await;
        assert!(
            matches!(waited, Ok(Ok(_))),
            "the writer was not refused {n} times: {:?}",
            *writer.health().borrow()
        );
    }

    #[tokio::test]
    async fn a_full_disk_loses_nothing_and_keeps_the_order() {
        let (_dir, conn, writer, thread) = fresh(1024).await;
        writer.limit_pages(Some(page_count(&conn)));
        for n in 0..50 {
            writer.chat(long_chat(n)).await.expect("queue");
        }
        // The writer used to give up after three refusals.
        refused(&writer, 4).await;
        let failing = writer.health().borrow().clone();
        assert!(
            failing.failing && failing.refused_in_a_row >= 4,
            "{failing:?}"
        );
        let cause = failing.cause.as_deref().unwrap_or_default();
        assert!(cause.contains("full"), "{cause}");
        assert!(stored_lines(&conn).len() < 50, "the disk was full");
        writer.limit_pages(None);
        writer.flush().await.expect("flush");
        let want: Vec<String> = (0..50).map(|n| format!("line {n:04}")).collect();
        assert_eq!(stored_lines(&conn), want);
        let healthy = writer.health().borrow().clone();
        assert!(!healthy.failing, "{healthy:?}");
        assert_eq!((healthy.refused_in_a_row, healthy.cause), (0, None));
        assert_eq!(healthy.dropped_rows, 0);
        let stats = writer.stop().await.expect("stop");
        thread.join().await;
        assert_eq!((stats.chat_rows, stats.failed_rows), (50, 0));
    }

    #[tokio::test]
    async fn a_stop_on_a_disk_that_keeps_refusing_gives_up_after_the_grace() {
        let (_dir, conn, writer, thread) = fresh(1024).await;
        writer.shared.stop_grace_ms.store(100, Ordering::SeqCst);
        writer.limit_pages(Some(page_count(&conn)));
        for n in 0..3 {
            writer.chat(long_chat(n)).await.expect("queue");
        }
        refused(&writer, 1).await;
        let stats = writer.stop().await.expect("the writer stops");
        thread.join().await;
        assert_eq!((stats.chat_rows, stats.failed_rows), (0, 3));
        assert_eq!(writer.health().borrow().dropped_rows, 3);
    }

    #[tokio::test]
    async fn a_row_the_database_refuses_costs_only_that_row() {
        let (_dir, conn, writer, thread) = fresh(1024).await;
        for n in 0..10 {
            let mut row = chat(n);
            if n == 4 {
                // No such character: the foreign key refuses this one row.
                row.character_id = Some(999);
            }
            writer.chat(row).await.expect("queue");
        }
        writer.flush().await.expect("flush");
        let stored: Vec<String> = stored_lines(&conn);
        let want: Vec<String> = (0..10)
            .filter(|n| *n != 4)
            .map(|n| format!("line {n}"))
            .collect();
        assert_eq!(stored, want);
        let stats = writer.stop().await.expect("stop");
        thread.join().await;
        assert_eq!(stats.failed_rows, 1);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_a_place_for_talk_instead_of_waiting() {
        let (_dir, conn, writer, thread) = fresh(4).await;
        writer.limit_pages(Some(page_count(&conn)));
        let mut placed = 0;
        loop {
            match writer.reserve_chat() {
                Ok(slot) => {
                    slot.store(long_chat(placed));
                    placed += 1;
                }
                Err(WriterFull) => break,
            }
            if placed == 4 {
                // The first batch is now with the refusing disk; the queue fills.
                refused(&writer, 1).await;
            }
            assert!(placed < 100, "the queue never filled");
        }
        writer.limit_pages(None);
        writer.flush().await.expect("flush");
        assert_eq!(stored_lines(&conn).len(), placed);
        writer.stop().await.expect("stop");
        thread.join().await;
    }
}
