//! What the WebSocket transport costs an idle player (issue 12); the crowded
//! room with half its players over WebSocket is `room-ws`, in `chat`.
//!
//! - `ws-idle`: the same number of players logged in and idle, first over
//!   plain telnet, then over WebSocket, each on a fresh server (with its web
//!   listener open); the difference in resident memory per connection is what
//!   a WebSocket costs an idle player.

use serde_json::json;

use super::idle::{self, Idle};
use crate::Ctx;
use crate::report::{Figure, Outcome};
use crate::stats::round3;

pub async fn idle(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let n = ctx.args.ws_idle_connections;
    let plain = idle::measure_over(ctx, "ws-idle-plain", n, false, false).await?;
    let ws = idle::measure_over(ctx, "ws-idle", n, false, true).await?;
    let (plain_kib, ws_kib) = (plain.per_connection_kib(n), ws.per_connection_kib(n));
    let mib = |kib: u64| kib as f64 / 1024.0;
    let figures = vec![
        Figure::info(
            "RSS per idle WebSocket connection",
            format!("{ws_kib:.1} KiB"),
        ),
        Figure::info(
            "RSS per idle plain connection",
            format!("{plain_kib:.1} KiB"),
        ),
        Figure::info(
            "WebSocket extra per idle connection",
            format!("{:.1} KiB", ws_kib - plain_kib),
        ),
        Figure::info(
            "server RSS, all idle: WebSocket / plain",
            format!(
                "{:.1} / {:.1} MiB",
                mib(ws.memory.rss_kib),
                mib(plain.memory.rss_kib)
            ),
        ),
        Figure::info(
            "connections dropped: WebSocket / plain",
            format!("{} / {}", ws.dropped, plain.dropped),
        ),
    ];
    let side = |m: &Idle, per: f64| {
        json!({
            "rss_mib": round3(mib(m.memory.rss_kib)),
            "hwm_mib": round3(mib(m.memory.hwm_kib)),
            "rss_empty_mib": round3(mib(m.empty.rss_kib)),
            "rss_per_connection_kib": round3(per),
            "setup_secs": round3(m.setup_secs),
            "dropped_by_server": m.dropped,
        })
    };
    let json = json!({
        "connections": n,
        "websocket": side(&ws, ws_kib),
        "plain": side(&plain, plain_kib),
        "websocket_extra_per_connection_kib": round3(ws_kib - plain_kib),
    });
    Ok(Outcome { json, figures })
}
