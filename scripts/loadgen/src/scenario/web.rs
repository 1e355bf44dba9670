//! What the WebSocket transport costs an idle player (issue 12); the crowded
//! room with half its players over WebSocket is `room-ws`, in `chat`.
//!
//! - `ws-idle`: the same number of players logged in and idle, first over
//!   plain telnet, then over WebSocket, each on a fresh server (with its web
//!   listener open); the difference in resident memory per connection is what
//!   a WebSocket costs an idle player.

use super::idle;
use crate::Ctx;
use crate::report::Outcome;

pub async fn idle(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let n = ctx.args.ws_idle_connections;
    let plain = idle::measure_over(ctx, "ws-idle-plain", n, false, false).await?;
    let ws = idle::measure_over(ctx, "ws-idle", n, false, true).await?;
    Ok(idle::compare(n, "WebSocket", "websocket", &plain, &ws))
}
