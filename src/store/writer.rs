//! The batching writer: one thread with its own connection that turns a stream of
//! chat lines, location moves and session renewals into a few large transactions.
//!
//! Talk is delivered to players first and written here afterwards, so the fan-out
//! never waits for the disk. The queue is bounded: when the disk falls behind, the
//! speaker's own task waits to enqueue (backpressure on the one who talks), while
//! everyone else keeps playing. Each batch is one `BEGIN IMMEDIATE` transaction;
//! [`Writer::flush`] resolves once everything queued before it is committed, and
//! [`Writer::stop`] drains the queue completely before the thread ends.
//!
//! **Invariant:** this is the only writer of `chat_messages` and
//! `character_locations` while the server runs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};
use tokio::sync::{mpsc, oneshot};

use super::{StoreError, StoreResult, schema, write_tx};
use crate::metrics::Metrics;

/// What kind of talk a chat row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatKind {
    Say,
    Emote,
    Whisper,
    Tell,
    Yell,
    System,
}

impl ChatKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatKind::Say => "say",
            ChatKind::Emote => "emote",
            ChatKind::Whisper => "whisper",
            ChatKind::Tell => "tell",
            ChatKind::Yell => "yell",
            ChatKind::System => "system",
        }
    }
}

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

enum Op {
    Chat(ChatRow),
    Location(LocationRow),
    Touch(SessionTouch),
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

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 8192;

/// A cloneable handle for queueing writes.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Op>,
    /// Where the thread counts its batches, once a server attached it.
    metrics: Arc<OnceLock<Metrics>>,
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
    /// Opens the writer's own connection and starts its thread.
    pub fn start(path: &Path, capacity: usize) -> StoreResult<(Writer, WriterThread)> {
        let conn = schema::open_connection(path)?;
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let metrics = Arc::new(OnceLock::new());
        let counted = metrics.clone();
        let join = std::thread::Builder::new()
            .name("gaslamp-writer".into())
            .spawn(move || run(conn, rx, &counted))
            .map_err(|e| StoreError::Task(e.to_string()))?;
        Ok((Writer { tx, metrics }, WriterThread { join }))
    }

    /// Counts every committed batch (its rows and commit time) into `metrics`
    /// from now on.
    pub fn attach_metrics(&self, metrics: Metrics) {
        let _ = self.metrics.set(metrics);
    }

    /// Operations waiting in the queue now.
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
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

    /// Resolves when everything queued before this call is committed.
    pub async fn flush(&self) -> Result<(), WriterClosed> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Op::Flush(done))
            .await
            .map_err(|_| WriterClosed)?;
        wait.await.map_err(|_| WriterClosed)
    }

    /// Commits everything still queued and ends the thread; later writes fail
    /// with [`WriterClosed`].
    pub async fn stop(&self) -> Result<WriterStats, WriterClosed> {
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
            Op::Flush(done) => self.flushes.push(done),
            Op::Stop(done) => self.stop = Some(done),
        }
    }

    fn rows(&self) -> usize {
        self.chats.len() + self.locations.len() + self.touches.len()
    }
}

fn run(mut conn: Connection, mut rx: mpsc::Receiver<Op>, metrics: &OnceLock<Metrics>) {
    let mut stats = WriterStats::default();
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
        commit_with_retry(&mut conn, &batch, &mut stats);
        if let Some(metrics) = metrics.get().filter(|_| batch.rows() > 0) {
            metrics.writer_batch(batch.rows(), started.elapsed());
        }
        for done in batch.flushes.drain(..) {
            let _ = done.send(());
        }
        if let Some(done) = batch.stop.take() {
            tracing::info!(
                chat_rows = stats.chat_rows,
                location_rows = stats.location_rows,
                transactions = stats.transactions,
                failed_rows = stats.failed_rows,
                "writer drained and stopped"
            );
            let _ = done.send(stats);
            return;
        }
    }
}

/// Commits a batch, retrying while the database is busy. Any other failure is
/// retried a few times and then logged with the number of rows lost.
fn commit_with_retry(conn: &mut Connection, batch: &Batch, stats: &mut WriterStats) {
    if batch.rows() == 0 {
        return;
    }
    let mut other_failures = 0;
    loop {
        match commit(conn, batch) {
            Ok(()) => {
                stats.chat_rows += batch.chats.len() as u64;
                stats.location_rows += batch.locations.len() as u64;
                stats.transactions += 1;
                return;
            }
            Err(StoreError::Busy) => {
                tracing::warn!("database busy; the writer retries its batch");
            }
            Err(err) => {
                other_failures += 1;
                if other_failures >= 3 {
                    tracing::error!(%err, rows = batch.rows(), "writer gave up on a batch");
                    stats.failed_rows += batch.rows() as u64;
                    return;
                }
                tracing::error!(%err, "writer batch failed; retrying");
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn commit(conn: &mut Connection, batch: &Batch) -> StoreResult<()> {
    write_tx(conn, |tx| {
        let mut chat = tx.prepare_cached(
            "INSERT INTO chat_messages (world_id, room, character_id, user_id, \
             recipient_character_id, kind, message, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
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
                row.created_at
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
        }
    }

    #[tokio::test]
    async fn everything_queued_is_committed_by_stop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.db");
        let mut conn = schema::open_connection(&path).expect("open");
        schema::migrate(&mut conn).expect("migrate");
        let (writer, thread) = Writer::start(&path, 64).expect("start");
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
        let (writer, thread) = Writer::start(&path, 64).expect("start");
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
}
