//! `room-floor` (issue 21): the crowded room's server CPU per delivered
//! line, beside the floor's.
//!
//! The floor is `fanout` (`scripts/loadgen/src/bin/fanout.rs`), a server
//! that only writes each spoken line to every other socket. The same crowd
//! (the `room` scenario's sizes) talks to it and then to gaslamp, one after
//! the other on the same machine, and each server's CPU seconds over its
//! talk window are divided by the lines it delivered. The goal: gaslamp
//! within 1.3 times the floor.

use std::path::PathBuf;

use serde_json::json;

use super::Site;
use super::chat::{Talk, latency, talk};
use crate::Ctx;
use crate::crowd::Member;
use crate::report::{Figure, Outcome};
use crate::server::{Launch, ServerProcess};
use crate::stats::round3;

/// The goal: gaslamp's CPU per delivered line within this many times the
/// floor's.
const TARGET_RATIO: f64 = 1.3;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let crowd = |prefix: &str| Member::one_room(prefix, args.room_players, args.room_speakers);

    eprintln!("    the floor: a server that only writes");
    let fanout = fanout_binary()?;
    let site = Site::new(ctx, "room-floor", 1)?;
    let floor = ServerProcess::start(&Launch {
        binary: &fanout,
        db: &site.db,
        worlds: &site.worlds,
        bcrypt_cost: 4,
        max_connections: args.room_players + 1_000,
        env: &[],
        tls_dir: None,
        web: false,
    })
    .await?;
    let floor_talk = talk(
        ctx,
        &floor,
        floor.target(false)?,
        crowd("fl"),
        args.room_rate,
        args.room_secs,
    )
    .await;
    // It has no graceful shutdown: SIGTERM ends it, which `stop` reports as
    // a failure to stop cleanly.
    let _ = floor.stop().await;
    let mut floor_talk = floor_talk?;

    eprintln!("    then gaslamp");
    let site = Site::new(ctx, "room-floor-gaslamp", 1)?;
    let server = site.serve(ctx, 4, args.room_players).await?;
    let real = talk(
        ctx,
        &server,
        server.target(false)?,
        crowd("fg"),
        args.room_rate,
        args.room_secs,
    )
    .await;
    server.stop().await?;
    let mut real = real?;

    let (floor_us, real_us) = (cpu_per_line_us(&floor_talk), cpu_per_line_us(&real));
    let ratio = real_us / floor_us.max(1e-9);
    let (floor_latency, real_latency) =
        (latency(&mut floor_talk.totals), latency(&mut real.totals));
    let figures = vec![
        Figure::info(
            "server CPU per delivered line, floor",
            format!("{floor_us:.2} µs"),
        ),
        Figure::info(
            "server CPU per delivered line, gaslamp",
            format!("{real_us:.2} µs"),
        ),
        Figure::comparison(
            "gaslamp / floor",
            format!("{ratio:.2}×"),
            "< 1.3×",
            ratio < TARGET_RATIO && real.totals.lost == 0,
        ),
        Figure::info(
            "lines lost, floor / gaslamp",
            format!("{} / {}", floor_talk.totals.lost, real.totals.lost),
        ),
        Figure::info("latency p50 / p99 / max, floor", floor_latency.brief()),
        Figure::info("latency p50 / p99 / max, gaslamp", real_latency.brief()),
    ];
    let json = json!({
        "floor": floor_talk.json(floor_latency),
        "gaslamp": real.json(real_latency),
        "cpu_us_per_delivered_line": {
            "floor": round3(floor_us),
            "gaslamp": round3(real_us),
            "ratio": round3(ratio),
            "target_ratio": TARGET_RATIO,
        },
    });
    Ok(Outcome { json, figures })
}

/// Server CPU microseconds per delivered line over the talk window.
fn cpu_per_line_us(talk: &Talk) -> f64 {
    let cpu_secs = talk.cpu["server_cpu_pct"].as_f64().unwrap_or(0.0) / 100.0
        * talk.cpu["window_secs"].as_f64().unwrap_or(0.0);
    cpu_secs * 1e6 / (talk.totals.delivered.max(1) as f64)
}

/// `fanout`, built beside the load generator.
fn fanout_binary() -> anyhow::Result<PathBuf> {
    let path = std::env::current_exe()?.with_file_name("fanout");
    anyhow::ensure!(
        path.is_file(),
        "no {} (cargo build --release --manifest-path scripts/loadgen/Cargo.toml builds it)",
        path.display()
    );
    Ok(path)
}
