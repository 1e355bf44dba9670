//! `GET /health` and `GET /metrics`: what operators and their monitoring
//! read. Both are read from the live game state at request time.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Web;
use crate::metrics::{self, Sample};

/// `/health`: 200 and `"ok": true` while the server runs; 503 and
/// `"ok": false` once it has begun to shut down (so a load balancer stops
/// sending players here).
pub async fn health(State(web): State<Web>) -> Response {
    let game = &web.game;
    let running = !game.is_shutting_down();
    let connections: Map<String, Value> = game
        .connections()
        .by_transport()
        .iter()
        .map(|(transport, open)| (transport.as_str().to_string(), json!(open)))
        .collect();
    let body = json!({
        "ok": running,
        "status": if running { "running" } else { "shutting down" },
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": game.started_at().elapsed().as_secs(),
        "players": game.registry().len(),
        "connections": connections,
        "writer_queue": game.writer().queue_depth(),
    });
    let status = if running {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
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
    let players = game.registry().players(None);
    let worlds = game.worlds();
    let per_world = worlds
        .iter()
        .map(|world| {
            let here = players
                .iter()
                .filter(|p| p.world.as_ref() == world.id.as_str())
                .count();
            (world.id.to_string(), here as u64)
        })
        .collect();
    Sample {
        connections: game
            .connections()
            .by_transport()
            .iter()
            .map(|(transport, open)| (transport.as_str(), *open))
            .collect(),
        players: per_world,
        writer_queue: game.writer().queue_depth() as u64,
        uptime_secs: game.started_at().elapsed().as_secs(),
        http_connections: web.slots.open() as u64,
    }
}
