//! `idle`: 10,000 players logged in and idle; the server's resident memory.
//!
//! Every player creates its account over telnet (`create`, at bcrypt cost 4 so
//! the setup takes seconds, not hours), enters the game and walks to one of the
//! world's 100 rooms (100 to a room), then sits there reading nothing but what
//! the server sends. Once everyone is in and the server has been quiet for a few
//! seconds, VmRSS (now) and VmHWM (the peak, reached during the logins) are read
//! from `/proc/<pid>/status`. Target (SPEC §11): RSS under 200 MiB.

use std::time::Duration;

use serde_json::json;

use super::Site;
use crate::Ctx;
use crate::client::name;
use crate::crowd::{Crowd, Login, Member};
use crate::report::{Figure, Outcome};
use crate::server::Memory;
use crate::stats::round3;

const ROOMS: usize = 100;
const TARGET_MIB: f64 = 200.0;
/// Issue 21's goal, tighter than SPEC §11's.
const GOAL_MIB: f64 = 100.0;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let n = ctx.args.idle_connections;
    let Idle {
        memory,
        empty,
        threads,
        setup_secs,
        dropped,
    } = measure(ctx, "idle", n, false).await?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    let per_conn_kib = (memory.rss_kib.saturating_sub(empty.rss_kib)) as f64 / n.max(1) as f64;
    let creations_per_sec = n as f64 / setup_secs.max(1e-3);
    let json = json!({
        "connections": n,
        "rooms": ROOMS,
        "rss_mib": round3(mib(memory.rss_kib)),
        "hwm_mib": round3(mib(memory.hwm_kib)),
        "rss_empty_mib": round3(mib(empty.rss_kib)),
        "rss_per_connection_kib": round3(per_conn_kib),
        "server_threads": threads,
        "setup_secs": round3(setup_secs),
        "account_creations_per_sec_cost4": round3(creations_per_sec),
        "dropped_by_server": dropped,
        "target_rss_mib": TARGET_MIB,
    });
    let figures = vec![
        Figure::target(
            "server RSS, all idle",
            format!("{:.1} MiB", mib(memory.rss_kib)),
            "< 200 MiB",
            mib(memory.rss_kib) < TARGET_MIB,
        ),
        Figure::target(
            "server RSS, all idle (issue 21)",
            format!("{:.1} MiB", mib(memory.rss_kib)),
            "< 100 MiB",
            mib(memory.rss_kib) < GOAL_MIB,
        ),
        Figure::info(
            "server peak RSS (VmHWM)",
            format!("{:.1} MiB", mib(memory.hwm_kib)),
        ),
        Figure::info("RSS per connection", format!("{per_conn_kib:.1} KiB")),
        Figure::info("connections dropped", dropped.to_string()),
        Figure::info(
            "setup: create+enter+walk (cost 4)",
            format!("{creations_per_sec:.0}/s, {setup_secs:.0} s"),
        ),
    ];
    Ok(Outcome { json, figures })
}

/// What one idle crowd cost the server.
pub struct Idle {
    /// With everyone logged in and settled.
    pub memory: Memory,
    /// Before anyone connected.
    pub empty: Memory,
    pub threads: u64,
    pub setup_secs: f64,
    pub dropped: usize,
}

impl Idle {
    /// Resident memory per connection, over the empty server's, in KiB.
    pub fn per_connection_kib(&self, n: usize) -> f64 {
        self.memory.rss_kib.saturating_sub(self.empty.rss_kib) as f64 / n.max(1) as f64
    }
}

/// Logs `n` players in (over TLS when `tls`), lets them sit, and reads the
/// server's memory.
pub async fn measure(ctx: &Ctx, site_name: &str, n: usize, tls: bool) -> anyhow::Result<Idle> {
    measure_over(ctx, site_name, n, tls, false).await
}

/// [`measure`], with every player over WebSocket when `websocket`.
pub async fn measure_over(
    ctx: &Ctx,
    site_name: &str,
    n: usize,
    tls: bool,
    websocket: bool,
) -> anyhow::Result<Idle> {
    let args = &ctx.args;
    let site = Site::new(ctx, site_name, ROOMS)?;
    let server = if websocket {
        site.serve_web(ctx, 4, n).await?
    } else {
        site.serve_over(ctx, 4, n, tls).await?
    };
    let empty = server.memory()?;
    let members = (0..n)
        .map(|i| Member {
            account: name("id", i),
            login: Login::Create,
            room: i % ROOMS,
            speaker: None,
            websocket,
            world: None,
        })
        .collect();
    // Idle members never speak, so the period is irrelevant.
    let crowd = Crowd::assemble(
        server.target(tls)?,
        members,
        args.setup_concurrency,
        Duration::from_secs(1),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(args.idle_settle_secs)).await;
    let memory = server.memory()?;
    let threads = server.threads()?;
    let setup_secs = crowd.setup_secs;
    let results = crowd.finish().await?;
    let dropped = results.iter().filter(|r| r.closed_early).count();
    server.stop().await?;
    Ok(Idle {
        memory,
        empty,
        threads,
        setup_secs,
        dropped,
    })
}

/// Idle players over a transport beside the same number over plain telnet, as
/// figures and JSON: resident memory per connection of each, the difference,
/// and what the servers dropped. `label` names the transport for people
/// ("TLS"), `key` for the JSON ("tls").
pub fn compare(n: usize, label: &str, key: &str, plain: &Idle, other: &Idle) -> Outcome {
    let (plain_kib, other_kib) = (plain.per_connection_kib(n), other.per_connection_kib(n));
    let mib = |kib: u64| kib as f64 / 1024.0;
    let figures = vec![
        Figure::info(
            &format!("RSS per idle {label} connection"),
            format!("{other_kib:.1} KiB"),
        ),
        Figure::info(
            "RSS per idle plain connection",
            format!("{plain_kib:.1} KiB"),
        ),
        Figure::info(
            &format!("{label} extra per idle connection"),
            format!("{:.1} KiB", other_kib - plain_kib),
        ),
        Figure::info(
            &format!("server RSS, all idle: {label} / plain"),
            format!(
                "{:.1} / {:.1} MiB",
                mib(other.memory.rss_kib),
                mib(plain.memory.rss_kib)
            ),
        ),
        Figure::info(
            &format!("connections dropped: {label} / plain"),
            format!("{} / {}", other.dropped, plain.dropped),
        ),
    ];
    let side = |m: &Idle, per: f64| {
        serde_json::json!({
            "rss_mib": round3(mib(m.memory.rss_kib)),
            "hwm_mib": round3(mib(m.memory.hwm_kib)),
            "rss_empty_mib": round3(mib(m.empty.rss_kib)),
            "rss_per_connection_kib": round3(per),
            "setup_secs": round3(m.setup_secs),
            "dropped_by_server": m.dropped,
        })
    };
    let mut json = serde_json::Map::new();
    json.insert("connections".into(), n.into());
    json.insert(key.into(), side(other, other_kib));
    json.insert("plain".into(), side(plain, plain_kib));
    json.insert(
        format!("{key}_extra_per_connection_kib"),
        round3(other_kib - plain_kib).into(),
    );
    Outcome {
        json: json.into(),
        figures,
    }
}
