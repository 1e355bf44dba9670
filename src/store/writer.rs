//! The batching writer: one thread with its own connection that turns a stream of
//! chat lines, location moves and session renewals into a few large transactions;
//! it also takes the session rows (and last logins) the store's own connections
//! could not write while the disk refused them, and their removal.
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
//! when it ends. When it ends, the WAL is checkpointed and truncated before
//! the next batch, so the space that came back is not taken again by a WAL
//! that grew meanwhile. Only at shutdown is there a limit: after
//! [`STOP_GRACE`] of refusals the writer hands everything it still holds back
//! to [`Writer::stop`]'s caller ([`Stopped::left`]), which writes it to the
//! spill (`store::spill`), to be replayed at the next start. A batch refused
//! for what it holds (a constraint) is written row by row, so only the
//! offending row is lost.
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

use rusqlite::{Connection, ErrorCode, Transaction, params};
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

/// A session row the store's own connection could not write (the disk
/// refused it), with the account's last login: written when the disk takes
/// them, in order with everything else the writer holds.
#[derive(Debug, Clone)]
pub struct SessionOpen {
    pub session_id: String,
    pub user_id: i64,
    pub peer_address: String,
    pub client_type: String,
    pub transport: String,
    pub opened_at: String,
    pub expires_at: String,
}

enum Op {
    Chat(ChatRow),
    Location(LocationRow),
    Touch(SessionTouch),
    Client(SessionClient),
    OpenSession(SessionOpen),
    CloseSession(String),
    Flush(oneshot::Sender<()>),
    Stop(oneshot::Sender<Stopped>),
}

/// Totals since the writer started, for logs and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub chat_rows: u64,
    pub location_rows: u64,
    pub transactions: u64,
    pub failed_rows: u64,
}

/// What a stopped writer reports: its totals, and what it could not commit.
pub struct Stopped {
    pub stats: WriterStats,
    /// What the disk still refused when the stop's grace ran out: every row
    /// still held, in the order it was queued. Empty when everything was
    /// committed. The caller spills it (`store::spill`).
    pub left: Leftover,
}

/// Rows the writer held but never committed (see [`Stopped::left`]).
#[derive(Default)]
pub struct Leftover(pub(super) Batch);

impl Leftover {
    /// How many rows: chat lines, locations, session renewals, client names.
    pub fn rows(&self) -> usize {
        self.0.rows()
    }

    pub fn is_empty(&self) -> bool {
        self.rows() == 0
    }

    /// The lines of talk held, in the order they were said.
    pub fn chat_lines(&self) -> usize {
        self.0.chats.len()
    }

    /// The characters whose latest place was held.
    pub fn locations(&self) -> usize {
        self.0.locations.len()
    }

    /// The rows a spill keeps: lines of talk and locations (session
    /// renewals and client names end with the sessions, see `store::spill`).
    pub fn to_spill(&self) -> usize {
        self.chat_lines() + self.locations()
    }
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
    /// Rows given up since the start because the database refused what they
    /// hold (a constraint). Rows a stop could not commit are not counted
    /// here: they are handed back for the spill ([`Stopped::left`]).
    pub dropped_rows: u64,
}

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 8192;

/// The first pause before a refused batch is tried again; it doubles up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How long a stopping writer keeps trying a disk that refuses, before it
/// hands what is left back for the spill (the server must end some time).
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// How long the checkpoint after an outage waits for readers to move on (a
/// backup or Litestream may hold the WAL; the checkpoint is then left to the
/// usual ones).
const CHECKPOINT_WAIT: Duration = Duration::from_secs(1);

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

    /// Queues a session row (and its account's last login) that the store
    /// could not write, if there is room; never waits. Whatever is queued
    /// for the session after it (renewals, the client's name, its removal)
    /// is written after it.
    pub fn try_open_session(&self, row: SessionOpen) -> bool {
        self.tx.try_send(Op::OpenSession(row)).is_ok()
    }

    /// Queues the removal of a session row, if there is room; never waits.
    /// For a row the store could not remove, or may not have seen yet (one
    /// queued here by [`Writer::try_open_session`]).
    pub fn try_close_session(&self, session_id: &str) -> bool {
        self.tx
            .try_send(Op::CloseSession(session_id.to_string()))
            .is_ok()
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

    /// How long [`Writer::stop`] keeps trying a disk that refuses
    /// ([`STOP_GRACE`] unless set; the tests shorten it).
    pub fn set_stop_grace(&self, grace: Duration) {
        let millis = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
        self.shared.stop_grace_ms.store(millis, Ordering::SeqCst);
    }

    /// Commits everything still queued and ends the thread; later writes fail
    /// with [`WriterClosed`]. On a disk that keeps refusing, what is left
    /// after [`STOP_GRACE`] comes back in [`Stopped::left`], for the spill.
    pub async fn stop(&self) -> Result<Stopped, WriterClosed> {
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
pub(super) struct Batch {
    pub(super) chats: Vec<ChatRow>,
    /// The last location per character: earlier moves in the batch are superseded.
    pub(super) locations: HashMap<i64, LocationRow>,
    /// The last renewal per session, likewise.
    pub(super) touches: HashMap<String, SessionTouch>,
    /// The last client name per session, likewise.
    pub(super) clients: HashMap<String, String>,
    /// Session rows to write, before the renewals and names that may name
    /// them; and rows to remove, after them.
    pub(super) opens: Vec<SessionOpen>,
    pub(super) closes: Vec<String>,
    pub(super) flushes: Vec<oneshot::Sender<()>>,
    pub(super) stop: Option<oneshot::Sender<Stopped>>,
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
            Op::OpenSession(row) => self.opens.push(row),
            Op::CloseSession(session_id) => self.closes.push(session_id),
            Op::Flush(done) => self.flushes.push(done),
            Op::Stop(done) => self.stop = Some(done),
        }
    }

    pub(super) fn rows(&self) -> usize {
        self.chats.len()
            + self.locations.len()
            + self.touches.len()
            + self.clients.len()
            + self.opens.len()
            + self.closes.len()
    }

    /// The rows of `later` added after this batch's, as if queued after them.
    /// (Every field is named: a new kind of row must say how it is kept.)
    fn absorb(&mut self, later: Batch) {
        let Batch {
            chats,
            locations,
            touches,
            clients,
            opens,
            closes,
            flushes: _,
            stop: _,
        } = later;
        self.chats.extend(chats);
        self.locations.extend(locations);
        self.touches.extend(touches);
        self.clients.extend(clients);
        self.opens.extend(opens);
        self.closes.extend(closes);
    }

    /// A copy of the rows alone (no flush or stop to answer).
    fn rows_only(&self) -> Batch {
        let Batch {
            chats,
            locations,
            touches,
            clients,
            opens,
            closes,
            flushes: _,
            stop: _,
        } = self;
        Batch {
            chats: chats.clone(),
            locations: locations.clone(),
            touches: touches.clone(),
            clients: clients.clone(),
            opens: opens.clone(),
            closes: closes.clone(),
            flushes: Vec::new(),
            stop: None,
        }
    }

    /// Every row on its own, in the batch's order (chat lines in the order
    /// they were said).
    pub(super) fn singles(&self) -> Vec<Batch> {
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
        let opens = self.opens.iter().map(|row| Batch {
            opens: vec![row.clone()],
            ..Batch::default()
        });
        let closes = self.closes.iter().map(|session_id| Batch {
            closes: vec![session_id.clone()],
            ..Batch::default()
        });
        opens
            .chain(chats)
            .chain(locations)
            .chain(touches)
            .chain(clients)
            .chain(closes)
            .collect()
    }
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Op>, shared: &Shared) {
    let mut disk = Disk::new(conn, shared);
    while let Some(first) = rx.blocking_recv() {
        let mut batch = next_batch(first, &mut rx);
        let started = Instant::now();
        if let Some(mut left) = disk.commit_kept(&batch, true) {
            left.stop = batch.stop.take();
            return hand_over(disk.stats, left, rx);
        }
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
            let stopped = Stopped {
                stats: disk.stats,
                left: Leftover::default(),
            };
            let _ = done.send(stopped);
            return;
        }
    }
}

/// The next batch: `first` and what else is queued, up to [`MAX_BATCH`]
/// rows, or everything left when it holds the stop.
fn next_batch(first: Op, rx: &mut mpsc::Receiver<Op>) -> Batch {
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
    batch
}

/// The disk still refuses when a stop's grace has run out: `left` (what the
/// refused batch held) and everything queued after it, up to the stop, go
/// back to the one stopping, for the spill. Flushes waiting meanwhile are
/// not answered as done: their senders are dropped, so they hear that the
/// writer stopped.
fn hand_over(stats: WriterStats, mut left: Batch, mut rx: mpsc::Receiver<Op>) {
    while left.stop.is_none() {
        // `Writer::stop` set `stopping` before it queued the stop, which is
        // on its way (it may be waiting for room that this makes).
        match rx.blocking_recv() {
            Some(op) => left.add(op),
            None => break,
        }
        left.flushes.clear();
    }
    rx.close();
    while let Ok(op) = rx.try_recv() {
        left.add(op);
    }
    left.flushes.clear();
    tracing::error!(
        rows = left.rows(),
        chat_rows = left.chats.len(),
        location_rows = left.locations.len(),
        "the disk still refuses at the stop; the writer hands what it holds over for the spill"
    );
    match left.stop.take() {
        Some(done) => {
            let _ = done.send(Stopped {
                stats,
                left: Leftover(left),
            });
        }
        None => tracing::error!(
            rows = left.rows(),
            "the writer's handles are gone without a stop; these rows are lost"
        ),
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
    /// written row by row instead. Returns the rows not committed when a
    /// stop's grace ran out on a disk that still refused (`None` otherwise).
    fn commit_kept(&mut self, batch: &Batch, split: bool) -> Option<Batch> {
        if batch.rows() == 0 {
            return None;
        }
        let mut backoff = FIRST_BACKOFF;
        loop {
            self.apply_page_limit();
            let err = match commit(&mut self.conn, batch) {
                Ok(()) => {
                    self.committed(batch);
                    return None;
                }
                Err(err) => err,
            };
            if !is_refusal(&err) {
                if split && batch.rows() > 1 {
                    tracing::error!(%err, rows = batch.rows(), "a batch was refused for its contents; writing it row by row");
                    return self.commit_singles(batch);
                }
                tracing::error!(%err, rows = batch.rows(), "the writer dropped a row the database refuses");
                self.dropped(batch.rows());
                return None;
            }
            self.refused(&err, batch);
            if self.past_stop_grace() {
                return Some(batch.rows_only());
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Commits a batch row by row; the rows not committed when a stop's
    /// grace ran out, if it did.
    fn commit_singles(&mut self, batch: &Batch) -> Option<Batch> {
        let mut singles = batch.singles().into_iter();
        while let Some(single) = singles.next() {
            if let Some(mut left) = self.commit_kept(&single, false) {
                singles.for_each(|rest| left.absorb(rest));
                return Some(left);
            }
        }
        None
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
            self.truncate_wal();
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

    /// After an outage, before the next batch: the WAL is copied into the
    /// database and truncated to nothing. While the disk refused, the WAL
    /// kept what it had grown to; left alone, it grows on from there into
    /// the space that just came back and fills the disk again (issue 16).
    fn truncate_wal(&mut self) {
        let _ = self.conn.busy_timeout(CHECKPOINT_WAIT);
        let outcome = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            });
        let _ = self.conn.busy_timeout(schema::BUSY_TIMEOUT);
        match outcome {
            Ok((0, _)) => tracing::info!("the WAL was checkpointed and truncated after the outage"),
            Ok((_, frames)) => tracing::warn!(
                frames,
                "a reader holds the WAL (a backup, or Litestream), so it was not truncated after the outage; the usual checkpoints will shrink it"
            ),
            Err(err) => tracing::warn!(%err, "the WAL could not be checkpointed after the outage"),
        }
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
pub(super) fn is_refusal(err: &StoreError) -> bool {
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
    write_tx(conn, |tx| write_rows(tx, batch))
}

/// Writes a batch's rows in the caller's transaction: the one SQL for chat
/// lines, locations, session rows and renewals, shared by the writer's commits and
/// the spill's replay.
pub(super) fn write_rows(tx: &Transaction<'_>, batch: &Batch) -> StoreResult<()> {
    open_sessions(tx, &batch.opens)?;
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
    let mut close = tx.prepare_cached("DELETE FROM sessions WHERE session_id = ?1")?;
    for session_id in &batch.closes {
        close.execute([session_id])?;
    }
    Ok(())
}

/// Writes session rows the store could not, with their accounts' last login.
fn open_sessions(tx: &Connection, opens: &[SessionOpen]) -> StoreResult<()> {
    let mut row = tx.prepare_cached(
        "INSERT INTO sessions (session_id, user_id, peer_address, client_type, transport, \
         created_at, last_activity, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) \
         ON CONFLICT (session_id) DO NOTHING",
    )?;
    let mut login = tx.prepare_cached(
        "UPDATE users SET last_login = ?2 WHERE id = ?1 AND (last_login IS NULL OR last_login < ?2)",
    )?;
    for open in opens {
        row.execute(params![
            open.session_id,
            open.user_id,
            open.peer_address,
            open.client_type,
            open.transport,
            open.opened_at,
            open.expires_at
        ])?;
        login.execute(params![open.user_id, open.opened_at])?;
    }
    Ok(())
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
        let stats = writer.stop().await.expect("stop").stats;
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
        let stats = writer.stop().await.expect("stop").stats;
        thread.join().await;
        assert_eq!((stats.chat_rows, stats.failed_rows), (50, 0));
    }

    fn wal_len(dir: &tempfile::TempDir) -> u64 {
        std::fs::metadata(dir.path().join("w.db-wal")).map_or(0, |m| m.len())
    }

    /// Issue 16: on a small disk, the WAL grew back over the space an outage
    /// had freed and filled the disk again, a few seconds after it came back.
    /// The writer now checkpoints and truncates the WAL when an outage ends,
    /// before it takes the next batch.
    #[tokio::test]
    async fn a_writer_back_from_an_outage_truncates_the_wal_before_its_next_batch() {
        let (dir, conn, writer, thread) = fresh(1024).await;
        for n in 0..40 {
            writer.chat(long_chat(n)).await.expect("queue");
        }
        writer.flush().await.expect("flush");
        let before = wal_len(&dir);
        assert!(before > 0, "the WAL holds the lines");
        writer.limit_pages(Some(page_count(&conn)));
        for n in 40..50 {
            writer.chat(long_chat(n)).await.expect("queue");
        }
        refused(&writer, 2).await;
        writer.limit_pages(None);
        writer.flush().await.expect("flush");
        // The refused batch may hold only some of the ten lines (how many the
        // writer took before the first refusal varies); the rest are written
        // after the truncation. Either way the WAL is far shorter than the
        // forty lines it held, where without the truncation it only grows.
        let after = wal_len(&dir);
        assert!(
            after < before / 2,
            "the WAL was truncated when the outage ended: {after} bytes after, {before} before"
        );
        assert_eq!(stored_lines(&conn).len(), 50);
        writer.stop().await.expect("stop");
        thread.join().await;
    }

    /// Issue 16: after its grace, a stop on a refusing disk gave up (and
    /// lost) what the writer held. Now it hands every row back, in order,
    /// for the spill: the refused batch and everything queued behind it.
    #[tokio::test]
    async fn a_stop_on_a_disk_that_keeps_refusing_hands_back_everything_it_holds() {
        let (_dir, conn, writer, thread) = fresh(1024).await;
        writer.set_stop_grace(Duration::from_millis(100));
        writer.limit_pages(Some(page_count(&conn)));
        writer.chat(long_chat(0)).await.expect("queue");
        refused(&writer, 1).await;
        for n in 1..5 {
            writer.chat(long_chat(n)).await.expect("queue");
        }
        let flushed = {
            let writer = writer.clone();
            tokio::spawn(async move { writer.flush().await })
        };
        let stopped = writer.stop().await.expect("the writer stops");
        thread.join().await;
        assert_eq!((stopped.stats.chat_rows, stopped.stats.failed_rows), (0, 0));
        let left: Vec<&str> = stopped
            .left
            .0
            .chats
            .iter()
            .map(|row| &row.message[..9])
            .collect();
        assert_eq!(
            left,
            [
                "line 0000",
                "line 0001",
                "line 0002",
                "line 0003",
                "line 0004"
            ]
        );
        assert_eq!(writer.health().borrow().dropped_rows, 0);
        let flushed = flushed.await.expect("flush task");
        assert_eq!(
            flushed,
            Err(WriterClosed),
            "a flush is not told its rows were committed"
        );
        assert!(stored_lines(&conn).is_empty());
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
        let stats = writer.stop().await.expect("stop").stats;
        thread.join().await;
        assert_eq!(stats.failed_rows, 1);
    }

    fn session_open(id: &str, user_id: i64) -> SessionOpen {
        SessionOpen {
            session_id: id.into(),
            user_id,
            peer_address: "127.0.0.1:5".into(),
            client_type: "unknown".into(),
            transport: "plain".into(),
            opened_at: "2030-01-01T00:00:00.000Z".into(),
            expires_at: "2030-01-02T00:00:00.000Z".into(),
        }
    }

    fn session_ids(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT session_id FROM sessions ORDER BY session_id")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[tokio::test]
    async fn session_rows_queued_here_come_with_their_last_login_and_go_in_order() {
        let (_dir, conn, writer, thread) = fresh(64).await;
        conn.execute_batch(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (1, 'a', 'x', '')",
        )
        .expect("account");
        assert!(writer.try_open_session(session_open("s1", 1)));
        assert!(writer.try_set_client(SessionClient {
            session_id: "s1".into(),
            client: "Mudlet".into(),
        }));
        assert!(writer.try_open_session(session_open("s2", 1)));
        assert!(writer.try_close_session("s2"));
        // No such account: only this row is refused.
        assert!(writer.try_open_session(session_open("s3", 99)));
        writer.flush().await.expect("flush");
        assert_eq!(session_ids(&conn), ["s1"]);
        let (client, login): (String, String) = conn
            .query_row(
                "SELECT client_type, (SELECT last_login FROM users WHERE id = 1) \
                 FROM sessions WHERE session_id = 's1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("row");
        assert_eq!(
            (client.as_str(), login.as_str()),
            ("Mudlet", "2030-01-01T00:00:00.000Z")
        );
        let stats = writer.stop().await.expect("stop").stats;
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
