//! `GET /health` and `GET /metrics`: what operators and their monitoring
//! read. Both are read from the live game state at request time.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Web;
use crate::metrics::{self, Sample};
use crate::store::writer::WriterHealth;

/// `/health`: 200 and `"ok": true` while the server runs, its `"status"`
/// `"running"`, or `"degraded"` with the `"reasons"` (the database writer is
/// failing, or its queue is filling): players still play, and what they were
/// told is kept, but an operator should look. 503 and `"ok": false` only
/// once it has begun to shut down (so a load balancer stops sending players
/// here).
pub async fn health(State(web): State<Web>) -> Response {
    let game = &web.game;
    let running = !game.is_shutting_down();
    let writer = game.writer();
    let health = writer.health().borrow().clone();
    let (queue, capacity) = (writer.queue_depth(), writer.queue_capacity());
    let reasons = degraded_reasons(&health, queue, capacity);
    let status = match (running, reasons.is_empty()) {
        (false, _) => "shutting down",
        (true, true) => "running",
        (true, false) => "degraded",
    };
    let connections: Map<String, Value> = game
        .connections()
        .by_transport()
        .iter()
        .map(|(transport, open)| (transport.as_str().to_string(), json!(open)))
        .collect();
    let body = json!({
        "ok": running,
        "status": status,
        "reasons": reasons,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": game.started_at().elapsed().as_secs(),
        "players": game.player_count(),
        "connections": connections,
        "writer_queue": queue,
        "writer": {
            "failing": health.failing,
            "queue": queue,
            "capacity": capacity,
            "failed_in_a_row": health.refused_in_a_row,
            "failed_commits": health.refused_commits,
            "dropped_rows": health.dropped_rows,
        },
    });
    let code = if running {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// What makes the server degraded, in sentences for an operator: empty when
/// nothing does. A writer whose queue is half full has fallen far behind the
/// disk; when it is full, talk is refused.
fn degraded_reasons(writer: &WriterHealth, queue: usize, capacity: usize) -> Vec<String> {
    let mut reasons = Vec::new();
    if writer.failing {
        let n = writer.refused_in_a_row;
        let batches = if n == 1 { "batch" } else { "batches" };
        let cause = writer.cause.as_deref().unwrap_or("no cause given");
        reasons.push(format!(
            "the database writer has failed {n} {batches} in a row: {cause}"
        ));
    }
    if capacity > 0 && queue * 2 >= capacity {
        let percent = queue * 100 / capacity;
        reasons.push(format!(
            "the database writer's queue is {percent}% full ({queue} of {capacity} operations)"
        ));
    }
    reasons
}

/// `/metrics`: every metric in the Prometheus text format.
pub async fn metrics(State(web): State<Web>) -> Response {
    let text = web.game.metrics().render(&sample(&web));
    (
        [
            (header::CONTENT_TYPE, metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// The values the metrics read from where they live.
fn sample(web: &Web) -> Sample {
    let game = &web.game;
    Sample {
        connections: game
            .connections()
            .by_transport()
            .iter()
            .map(|(transport, open)| (transport.as_str(), *open))
            .collect(),
        players: game.players_per_world(),
        writer_queue: game.writer().queue_depth() as u64,
        writer_queue_capacity: game.writer().queue_capacity() as u64,
        writer_failing: game.writer().health().borrow().failing,
        uptime_secs: game.started_at().elapsed().as_secs(),
        http_connections: web.slots.open() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degraded_reasons_in_a_table() {
        let well = WriterHealth::default();
        let failing = |n, cause: Option<&str>| WriterHealth {
            failing: true,
            refused_commits: n + 10,
            refused_in_a_row: n,
            cause: cause.map(Into::into),
            ..WriterHealth::default()
        };
        let full = "database error: database or disk is full";
        let cases: Vec<(WriterHealth, usize, Vec<String>)> = vec![
            (well.clone(), 0, vec![]),
            (well.clone(), 49, vec![]),
            (
                well.clone(),
                50,
                vec!["the database writer's queue is 50% full (50 of 100 operations)".into()],
            ),
            (
                failing(1, Some(full)),
                0,
                vec![format!(
                    "the database writer has failed 1 batch in a row: {full}"
                )],
            ),
            (
                failing(3, Some(full)),
                100,
                vec![
                    format!("the database writer has failed 3 batches in a row: {full}"),
                    "the database writer's queue is 100% full (100 of 100 operations)".into(),
                ],
            ),
            (
                failing(2, None),
                0,
                vec!["the database writer has failed 2 batches in a row: no cause given".into()],
            ),
            // Past refusals that ended do not count.
            (
                WriterHealth {
                    refused_commits: 40,
                    dropped_rows: 2,
                    ..WriterHealth::default()
                },
                0,
                vec![],
            ),
        ];
        for (health, queue, want) in cases {
            assert_eq!(
                degraded_reasons(&health, queue, 100),
                want,
                "{health:?} {queue}"
            );
        }
    }
}
