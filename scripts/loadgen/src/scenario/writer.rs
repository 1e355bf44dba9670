//! `writer`: chat rows a second through the batching writer into SQLite.
//!
//! No server and no sockets: this drives `gaslamp::store::writer::Writer`
//! directly, the way the server's `say` handlers do, against a fresh database
//! made by `Store::open` (so the schema, WAL mode and pragmas are the server's).
//! Several tasks queue rows as fast as the writer's bounded queue takes them;
//! the clock runs from the first row queued until `stop()` returns, which is
//! when the last batch is committed. Target (SPEC §11): 50,000 rows a second.
//!
//! The database lives on the real disk (not tmpfs), with the server's
//! `synchronous = NORMAL`, so commits cost what they cost in production.

use std::sync::Arc;
use std::time::Instant;

use gaslamp::store::writer::{ChatKind, ChatRow, Writer};
use gaslamp::store::{Store, StoreOptions, now_iso};
use serde_json::json;

use crate::Ctx;
use crate::report::{Figure, Outcome};
use crate::server::own_cpu_seconds;
use crate::stats::round3;

const TARGET_ROWS_PER_SEC: f64 = 50_000.0;
const ROOMS: usize = 100;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let dir = ctx.dir("writer")?;
    let db = dir.join("gaslamp.db");
    let open_at = db.clone();
    let options = StoreOptions {
        bcrypt_cost: 4,
        hash_concurrency: 1,
    };
    tokio::task::spawn_blocking(move || Store::open(&open_at, options)).await??;
    let (writer, thread) = Writer::start(&db, args.writer_queue).await?;
    let tasks = args.writer_tasks.max(1);
    let rows = args.writer_rows;
    let cpu_before = own_cpu_seconds()?;
    let started = Instant::now();
    let producers: Vec<_> = (0..tasks)
        .map(|task| {
            let writer = writer.clone();
            let count = rows / tasks + usize::from(task < rows % tasks);
            tokio::spawn(produce(writer, task, count))
        })
        .collect();
    for producer in producers {
        producer.await??;
    }
    let queued_secs = started.elapsed().as_secs_f64();
    let stats = writer.stop().await?.stats;
    let secs = started.elapsed().as_secs_f64();
    let cpu_pct = (own_cpu_seconds()? - cpu_before) / secs * 100.0;
    thread.join().await;
    let stored = count_rows(&db)?;
    let per_sec = stored as f64 / secs;
    let per_batch = stats.chat_rows as f64 / stats.transactions.max(1) as f64;
    let db_mib = std::fs::metadata(&db).map_or(0, |m| m.len()) as f64 / 1_048_576.0;
    let json = json!({
        "rows": rows,
        "rows_stored": stored,
        "producer_tasks": tasks,
        "queue_capacity": args.writer_queue,
        "secs": round3(secs),
        "queueing_secs": round3(queued_secs),
        "rows_per_sec": round3(per_sec),
        "transactions": stats.transactions,
        "rows_per_transaction": round3(per_batch),
        "failed_rows": stats.failed_rows,
        "db_mib": round3(db_mib),
        "process_cpu_pct": round3(cpu_pct),
        "target_rows_per_sec": TARGET_ROWS_PER_SEC,
    });
    let figures = vec![
        Figure::target(
            "rows/s committed",
            format!("{per_sec:.0}"),
            ">= 50000/s",
            per_sec >= TARGET_ROWS_PER_SEC && stored == rows as u64,
        ),
        Figure::info("rows stored", format!("{stored} of {rows}")),
        Figure::info(
            "transactions (rows each)",
            format!("{} ({per_batch:.0})", stats.transactions),
        ),
        Figure::info("CPU (writer + producers)", format!("{cpu_pct:.0}%")),
    ];
    Ok(Outcome { json, figures })
}

/// Queues `count` rows shaped like the server's `say` rows.
async fn produce(writer: Writer, task: usize, count: usize) -> anyhow::Result<()> {
    let world: Arc<str> = Arc::from(crate::world::WORLD_ID);
    let rooms: Vec<Arc<str>> = (0..ROOMS)
        .map(|k| Arc::from(crate::world::room_id(k)))
        .collect();
    let mut created_at = now_iso();
    for i in 0..count {
        if i % 1000 == 0 {
            created_at = now_iso();
        }
        let row = ChatRow {
            world_id: world.clone(),
            room: rooms[(task * 31 + i) % ROOMS].clone(),
            character_id: None,
            user_id: None,
            recipient_character_id: None,
            kind: ChatKind::Say,
            message: format!("line {i} from task {task}: the lamps are lit along the quay"),
            created_at: created_at.clone(),
            channel: None,
        };
        writer.chat(row).await?;
    }
    Ok(())
}

fn count_rows(db: &std::path::Path) -> anyhow::Result<u64> {
    let conn = rusqlite::Connection::open(db)?;
    let n: i64 = conn.query_row("SELECT count(*) FROM chat_messages", [], |r| r.get(0))?;
    Ok(n as u64)
}
