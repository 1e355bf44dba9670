//! `room-mccp` and `idle-mccp`: what MCCP2 costs (SPEC §11).
//!
//! `room-mccp` runs the crowded room of `room` twice on fresh servers, once
//! plain and once with every player on MCCP2 (each client inflating what it
//! reads, as a MUD client does), and reports the two latencies side by side.
//!
//! `idle-mccp` logs in the same number of idle players twice, plain and on
//! MCCP2, and reads the server's RSS each time: the difference per connection
//! is what a compressed connection costs beyond a plain one (target: at most
//! 64 KiB, which the server's zlib settings aim at).

use std::time::Duration;

use serde_json::json;

use super::Site;
use super::chat::{latency, talk};
use crate::Ctx;
use crate::client::name;
use crate::crowd::{Crowd, Login, Member};
use crate::report::{Figure, Outcome};
use crate::stats::round3;

const TARGET_P99_MS: f64 = 10.0;
/// Issue 21: MCCP2's p99 within this many times plain's, in one run.
const TARGET_RATIO: f64 = 1.5;
const TARGET_EXTRA_KIB: f64 = 64.0;
const IDLE_ROOMS: usize = 100;

pub async fn crowded_room(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let mut runs = Vec::new();
    for mccp in [false, true] {
        let label = if mccp {
            "room-mccp-z"
        } else {
            "room-mccp-plain"
        };
        let site = Site::new(ctx, label, 1)?;
        let server = site.serve(ctx, 4, args.room_players).await?;
        let prefix = if mccp { "rz" } else { "rp" };
        let members = Member::one_room(prefix, args.room_players, args.room_speakers);
        let target = server.target(false)?.with_mccp(mccp);
        let outcome = talk(
            ctx,
            &server,
            target,
            members,
            args.room_rate,
            args.room_secs,
        )
        .await;
        server.stop().await?;
        let mut outcome = outcome?;
        let summary = latency(&mut outcome.totals);
        runs.push((outcome, summary));
    }
    let [(plain, plain_latency), (zipped, zipped_latency)] =
        <[_; 2]>::try_from(runs).map_err(|_| anyhow::anyhow!("two runs"))?;
    let ratio = zipped_latency.p99_ms / plain_latency.p99_ms.max(1e-9);
    let squeezed = zipped.totals.inflated as f64 / (zipped.totals.compressed.max(1) as f64);
    let mut figures = vec![
        Figure::info("plain: latency p50 / p99 / max", plain_latency.brief()),
        Figure::comparison(
            "MCCP2 p99 / plain p99",
            format!("{ratio:.2}×"),
            "< 1.5×",
            ratio < TARGET_RATIO,
        ),
        Figure::info(
            "MCCP2 compression (inflated / on the wire)",
            format!("{squeezed:.1}×"),
        ),
        Figure::target(
            "MCCP2: latency p50 / p99 / max",
            zipped_latency.brief(),
            "p99 < 10 ms",
            zipped_latency.p99_ms < TARGET_P99_MS,
        ),
        Figure::target(
            "MCCP2: lines lost",
            format!("{} of {}", zipped.totals.lost, zipped.totals.expected),
            "0",
            zipped.totals.lost == 0 && zipped.totals.expected > 0,
        ),
        Figure::info(
            "plain: lines lost",
            format!("{} of {}", plain.totals.lost, plain.totals.expected),
        ),
        Figure::info("CPU while talking, plain", super::cpu_brief(&plain.cpu)),
    ];
    figures.extend(
        zipped
            .common_figures()
            .into_iter()
            .map(|f| f.prefixed("MCCP2: ")),
    );
    let json = json!({
        "plain": plain.json(plain_latency),
        "mccp2": zipped.json(zipped_latency),
        "p99_ratio": round3(ratio),
        "target_p99_ratio": TARGET_RATIO,
        "compressed_bytes": zipped.totals.compressed,
        "inflated_bytes": zipped.totals.inflated,
        "compression_ratio": round3(squeezed),
    });
    Ok(Outcome { json, figures })
}

pub async fn idle(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let n = ctx.args.mccp_idle_connections;
    let mut per_conn = Vec::new();
    let mut json = serde_json::Map::new();
    for mccp in [false, true] {
        let label = if mccp {
            "idle-mccp-z"
        } else {
            "idle-mccp-plain"
        };
        let site = Site::new(ctx, label, IDLE_ROOMS)?;
        let server = site.serve(ctx, 4, n).await?;
        let empty = server.memory()?;
        let members = (0..n)
            .map(|i| Member {
                account: name(if mccp { "iz" } else { "ip" }, i),
                login: Login::Create,
                room: i % IDLE_ROOMS,
                speaker: None,
                websocket: false,
                world: None,
            })
            .collect();
        let target = server.target(false)?.with_mccp(mccp);
        let crowd = Crowd::assemble(
            target,
            members,
            ctx.args.setup_concurrency,
            Duration::from_secs(1),
        )
        .await?;
        tokio::time::sleep(Duration::from_secs(ctx.args.idle_settle_secs)).await;
        let memory = server.memory()?;
        let results = crowd.finish().await?;
        let dropped = results.iter().filter(|r| r.closed_early).count();
        server.stop().await?;
        let kib = memory.rss_kib.saturating_sub(empty.rss_kib) as f64 / n.max(1) as f64;
        per_conn.push((memory.rss_kib, kib, dropped));
        json.insert(
            if mccp { "mccp2" } else { "plain" }.into(),
            json!({
                "connections": n,
                "rss_mib": round3(memory.rss_kib as f64 / 1024.0),
                "rss_empty_mib": round3(empty.rss_kib as f64 / 1024.0),
                "rss_per_connection_kib": round3(kib),
                "dropped_by_server": dropped,
            }),
        );
    }
    let (plain_rss, plain_kib, plain_dropped) = per_conn[0];
    let (zipped_rss, zipped_kib, zipped_dropped) = per_conn[1];
    let extra = zipped_kib - plain_kib;
    json.insert(
        "extra_per_mccp2_connection_kib".into(),
        json!(round3(extra)),
    );
    json.insert("target_extra_kib".into(), json!(TARGET_EXTRA_KIB));
    let mib = |kib: u64| kib as f64 / 1024.0;
    let figures = vec![
        Figure::info(
            "RSS, plain",
            format!("{:.1} MiB, {plain_kib:.1} KiB a connection", mib(plain_rss)),
        ),
        Figure::info(
            "RSS, MCCP2",
            format!(
                "{:.1} MiB, {zipped_kib:.1} KiB a connection",
                mib(zipped_rss)
            ),
        ),
        Figure::target(
            "MCCP2 extra per connection",
            format!("{extra:.1} KiB"),
            "<= 64 KiB",
            extra <= TARGET_EXTRA_KIB,
        ),
        Figure::info(
            "connections dropped",
            format!("{plain_dropped} plain / {zipped_dropped} MCCP2"),
        ),
    ];
    Ok(Outcome {
        json: serde_json::Value::Object(json),
        figures,
    })
}
